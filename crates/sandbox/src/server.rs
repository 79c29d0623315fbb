//! A sandbox served over HTTP: binds, then runs the marketplace's router, the buyer simulator,
//! the ticker and the webhook dispatcher until stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::buyer;
use crate::config::SandboxConfig;
use crate::dispatch::Dispatcher;
use crate::error::SandboxError;
use crate::marketplaces;
use crate::sandbox::Sandbox;

/// A running sandbox: its bound address, its state and a way to stop it.
#[derive(Debug)]
pub struct SandboxServer {
    addr: SocketAddr,
    sandbox: Arc<Sandbox>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SandboxServer {
    /// Binds first (so the address is known and connections queue), then serves in the
    /// background together with the buyer simulator, the ticker and the webhook dispatcher.
    pub async fn start(config: SandboxConfig) -> Result<Self, SandboxError> {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(SandboxError::Bind)?;
        let addr = listener.local_addr().map_err(SandboxError::Bind)?;
        let (stop, stop_rx) = watch::channel(false);
        let (sandbox, pushes) = Sandbox::new(
            &config,
            format!("http://{addr}"),
            marketplaces::protocol(config.marketplace()),
        );
        let dispatcher = Dispatcher::new(pushes, Arc::clone(&sandbox))?;
        let router = router(Arc::clone(&sandbox));
        let mut tasks = Vec::new();
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|stopped| *stopped).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "sandbox server stopped with an error");
            }
        }));
        tasks.push(tokio::spawn(dispatcher.run(stop_rx.clone())));
        tasks.push(tokio::spawn(buyer::run(
            Arc::clone(&sandbox),
            config.tick_ms,
            stop_rx,
        )));
        Ok(SandboxServer {
            addr,
            sandbox,
            stop,
            tasks,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` — both the API host and (for TikTok) the auth host.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The sandbox's state and control surface.
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Stops serving, the buyers and the webhook dispatcher, and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The full router of a sandbox: the marketplace's own API plus the control API.
pub fn router(sandbox: Arc<Sandbox>) -> axum::Router {
    marketplaces::router(sandbox)
}

/// Runs one sandbox on `127.0.0.1:port` until Ctrl-C. Print [`crate::credentials_line`] before calling.
pub async fn run_standalone(mut config: SandboxConfig, port: u16) -> Result<(), SandboxError> {
    config.bind = SocketAddr::from(([127, 0, 0, 1], port));
    let server = SandboxServer::start(config).await?;
    tracing::info!(base_url = %server.base_url(), "sandbox listening");
    tokio::signal::ctrl_c().await.map_err(SandboxError::Io)?;
    server.shutdown().await;
    Ok(())
}
