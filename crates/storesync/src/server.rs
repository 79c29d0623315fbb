//! Assembling a running StoreSync: the HTTP app and the engine (worker,
//! scheduler and propagation loop, built by [`Engine::builder`]), all
//! stopped by one signal. Used by `serve`, `demo` and the benchmarks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use storesync_engine::connect::ChannelRegistry;
use storesync_engine::mail::MailRelay;
use storesync_engine::{Engine, EngineConfig};
use storesync_store::job_keys;
use storesync_store::jobs::NewJob;
use storesync_store::Store;
use storesync_web::{App, AppState, WebConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    http: JoinHandle<std::io::Result<()>>,
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    rx.wait_for(|stop| *stop).await.ok();
}

/// Bind `config.bind`; the caller learns the address before anything runs.
pub async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))
}

/// How stock changes reach the channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// StoreSync's way: every change is pushed within moments.
    Realtime,
    /// The way periodic sync tools work, for comparison in benchmarks: every
    /// period, poll orders and push stock for every shop; nothing in between.
    Periodic(Duration),
}

/// Start everything on `listener`; marketplaces reach us at `public_url`.
pub async fn start(
    config: &Config,
    store: Store,
    channels: Arc<ChannelRegistry>,
    listener: tokio::net::TcpListener,
    public_url: &str,
) -> anyhow::Result<Running> {
    start_with(
        config,
        store,
        channels,
        listener,
        public_url,
        SyncMode::Realtime,
    )
    .await
}

pub async fn start_with(
    config: &Config,
    store: Store,
    channels: Arc<ChannelRegistry>,
    listener: tokio::net::TcpListener,
    public_url: &str,
    mode: SyncMode,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let engine = Engine::builder(
        store.clone(),
        EngineConfig {
            poll_interval: Duration::from_secs(config.poll_interval_secs),
            drift_interval: Duration::from_secs(config.drift_interval_secs),
            ..EngineConfig::default()
        },
    )
    .channels(Arc::clone(&channels))
    .mail_relay(mail_relay(config)?)
    .build();
    let web = WebConfig {
        secure_cookies: config.secure_cookies,
        allow_signup: config.allow_signup,
        trust_forwarded_for: config.trust_forwarded_for,
        metrics_token: config.metrics_token.clone(),
        api_limits: config.api_limits,
        ..WebConfig::default()
    };
    let state = AppState::new(store.clone(), web)
        .with_job_waker(engine.job_waker())
        .with_intake_waker(engine.intake_waker())
        .with_channels(channels, public_url);
    let app = App::from_listener(listener, state);
    let mut tasks = vec![
        tokio::spawn(
            engine
                .clone()
                .run_scheduler(Duration::from_secs(15), stopped(stop_rx.clone())),
        ),
        tokio::spawn(engine.clone().run_worker(stopped(stop_rx.clone()))),
    ];
    tasks.push(match mode {
        SyncMode::Realtime => {
            tokio::spawn(engine.run_drain(Duration::from_millis(100), stopped(stop_rx.clone())))
        }
        SyncMode::Periodic(every) => tokio::spawn(periodic_sync(
            store.clone(),
            every,
            engine.job_waker(),
            stopped(stop_rx.clone()),
        )),
    });
    let http = tokio::spawn(app.run_until_stopped(stopped(stop_rx)));
    tracing::info!(%addr, backend = store.backend().name(), "storesync is serving");
    Ok(Running {
        addr,
        stop,
        tasks,
        http,
    })
}

/// The configured SMTP relay; without one, mail jobs fail saying so.
fn mail_relay(config: &Config) -> anyhow::Result<Option<MailRelay>> {
    let Some(mail) = &config.mail else {
        tracing::warn!("no mail relay configured: invitation and password reset mails will fail");
        return Ok(None);
    };
    MailRelay::new(&mail.smtp_url, &mail.from)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

/// The periodic baseline: poll and push every shop every `every`.
async fn periodic_sync(
    store: Store,
    every: Duration,
    wake: Arc<tokio::sync::Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {},
        }
        let shops = match store.active_shops().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "periodic sync failed");
                continue;
            }
        };
        for shop in shops {
            let payload = serde_json::json!({ "shop_id": shop.id });
            for job in [
                NewJob::new(job_keys::kind::POLL, payload.clone()).unique(job_keys::poll(shop.id)),
                NewJob::new(job_keys::kind::PUSH, payload).unique(job_keys::push(shop.id)),
            ] {
                store.enqueue(&job.org(shop.org_id)).await.ok();
            }
        }
        wake.notify_one();
    }
}

impl Running {
    /// Stop accepting requests, let the job in hand finish, and wait.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.send(true).ok();
        for t in self.tasks {
            t.await.ok();
        }
        self.http.await??;
        Ok(())
    }
}
