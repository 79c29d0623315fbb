//! Local, stateful simulators of the marketplaces' seller APIs (Shopee Open Platform v2,
//! TikTok Shop 202309 and Lazada Open Platform), wire-compatible with the real hosts, plus a buyer simulator, signed
//! webhook pushes, fault injection and a JSON control API under `/__sandbox/`.
//!
//! A sandbox is started in-process with [`SandboxServer::start`] (tests, benches, `storesync demo`)
//! or standalone with [`run_standalone`] (`storesync sandbox shopee|tiktok|lazada --port N`). Its state is
//! reachable both through the control API and directly through [`Sandbox`].

pub mod bench;
mod buyer;
mod carrier;
mod clock;
mod control;
mod error;
mod faults;
pub mod lazada;
mod model;
mod sandbox;
pub mod shopee;
pub mod tiktok;
mod units;
mod util;
mod webhook;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use storesync_domain::{Clock, SystemClock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use carrier::CarrierSettings;
pub use clock::SandboxClock;
pub use error::SandboxError;
pub use faults::{documented_limit, FaultConfig, RateLimit, WebhookFaults};
pub use model::{
    AuthorizeRequest, AuthorizeResult, BuyerSettings, CallCount, CreateShop, ListingView,
    OrderAction, OrderLineSpec, OrderView, PlaceOrder, PriceInput, ProductSpec, ShopView, SkuSales,
    Stage, StockInput, VariantSpec,
};
pub use sandbox::Sandbox;
pub use webhook::{Delivery, RETRY_SCHEDULE_SECS};

/// The marketplaces a sandbox can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Marketplace {
    Shopee,
    #[serde(rename = "tiktok")]
    TikTok,
    #[serde(rename = "lazada")]
    Lazada,
}

impl Marketplace {
    pub fn as_str(&self) -> &'static str {
        match self {
            Marketplace::Shopee => "shopee",
            Marketplace::TikTok => "tiktok",
            Marketplace::Lazada => "lazada",
        }
    }
}

impl std::str::FromStr for Marketplace {
    type Err = SandboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "shopee" => Ok(Marketplace::Shopee),
            "tiktok" | "tiktokshop" | "tiktok_shop" => Ok(Marketplace::TikTok),
            "lazada" => Ok(Marketplace::Lazada),
            other => Err(SandboxError::UnknownMarketplace(other.to_owned())),
        }
    }
}

/// A secret string whose `Debug` output is redacted, so credentials never reach logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The app credentials a sandbox accepts, in the shape each marketplace issues them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Shopee partner credentials: `partner_id` (int) and `partner_key` (used as its UTF-8 bytes).
    Shopee {
        partner_id: i64,
        partner_key: Secret,
    },
    /// TikTok Shop app credentials plus the `service_id` that appears in the consent link.
    TikTok {
        app_key: String,
        app_secret: Secret,
        service_id: String,
    },
    /// Lazada (LazOP) app credentials: `app_key` and `app_secret` (HMAC key, UTF-8 bytes).
    Lazada { app_key: String, app_secret: Secret },
}

impl Credentials {
    /// The default Shopee credentials: the fact sheet's test partner, so its vectors apply.
    pub fn shopee_default() -> Self {
        Credentials::Shopee {
            partner_id: 2_001_887,
            partner_key: Secret::new("test_partner_key_0001"),
        }
    }

    /// The default TikTok credentials: the fact sheet's official example app.
    pub fn tiktok_default() -> Self {
        Credentials::TikTok {
            app_key: "29a39d".to_owned(),
            app_secret: Secret::new("e59af819cc"),
            service_id: "7000000000000000001".to_owned(),
        }
    }

    /// The default Lazada credentials: the fact sheet's test app (`100001` / `SECRETLAZ`), so
    /// its vectors L-2…L-4 and LP-2 apply.
    pub fn lazada_default() -> Self {
        Credentials::Lazada {
            app_key: "100001".to_owned(),
            app_secret: Secret::new("SECRETLAZ"),
        }
    }

    pub fn default_for(marketplace: Marketplace) -> Self {
        match marketplace {
            Marketplace::Shopee => Self::shopee_default(),
            Marketplace::TikTok => Self::tiktok_default(),
            Marketplace::Lazada => Self::lazada_default(),
        }
    }

    pub fn marketplace(&self) -> Marketplace {
        match self {
            Credentials::Shopee { .. } => Marketplace::Shopee,
            Credentials::TikTok { .. } => Marketplace::TikTok,
            Credentials::Lazada { .. } => Marketplace::Lazada,
        }
    }

    /// The line `storesync sandbox` prints so a user can configure a client:
    /// `partner_id=… partner_key=…` (Shopee) or `app_key=… app_secret=…` (TikTok).
    pub fn line(&self) -> String {
        match self {
            Credentials::Shopee {
                partner_id,
                partner_key,
            } => format!(
                "partner_id={partner_id} partner_key={}",
                partner_key.expose()
            ),
            Credentials::TikTok {
                app_key,
                app_secret,
                service_id,
            } => format!(
                "app_key={app_key} app_secret={} service_id={service_id}",
                app_secret.expose()
            ),
            Credentials::Lazada {
                app_key,
                app_secret,
            } => format!("app_key={app_key} app_secret={}", app_secret.expose()),
        }
    }
}

/// The line to print for the given credentials (see [`Credentials::line`]).
pub fn credentials_line(credentials: &Credentials) -> String {
    credentials.line()
}

/// Everything needed to start a sandbox. Build with [`SandboxConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub credentials: Credentials,
    /// Where "now" comes from; tests pass a `ManualClock` to move token expiry and windows.
    pub clock: Arc<dyn Clock>,
    /// Multiplies every real-time wait the sandbox makes on its own (webhook retry delays,
    /// TikTok's 2 min / 30 min / 3 h / 12 h schedule). `0.001` turns 2 minutes into 120 ms.
    pub time_scale: f64,
    /// Seed for the sandbox's random choices (ids, tokens, buyers, faults); `None` = entropy.
    pub seed: Option<u64>,
    /// Address to bind; port 0 picks a free one.
    pub bind: SocketAddr,
    /// TikTok only: the app's registered redirect URL (the consent page redirects there).
    pub redirect_url: Option<String>,
    /// App-level push URL (Shopee callback URL / TikTok Partner Center webhook URL).
    pub push_url: Option<String>,
    /// How often the background ticker looks at time-driven events (buyers, expiry warnings),
    /// in real milliseconds.
    pub tick_ms: u64,
}

impl SandboxConfig {
    pub fn new(marketplace: Marketplace) -> Self {
        SandboxConfig {
            credentials: Credentials::default_for(marketplace),
            clock: Arc::new(SystemClock),
            time_scale: 1.0,
            seed: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            redirect_url: None,
            push_url: None,
            tick_ms: 20,
        }
    }

    pub fn marketplace(&self) -> Marketplace {
        self.credentials.marketplace()
    }
}

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
        let (sandbox, dispatcher) = Sandbox::new(&config, format!("http://{addr}"))?;
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
    match sandbox.marketplace() {
        Marketplace::Shopee => shopee::router(sandbox),
        Marketplace::TikTok => tiktok::router(sandbox),
        Marketplace::Lazada => lazada::router(sandbox),
    }
}

/// Runs one sandbox on `127.0.0.1:port` until Ctrl-C. Print [`credentials_line`] before calling.
pub async fn run_standalone(mut config: SandboxConfig, port: u16) -> Result<(), SandboxError> {
    config.bind = SocketAddr::from(([127, 0, 0, 1], port));
    let server = SandboxServer::start(config).await?;
    tracing::info!(base_url = %server.base_url(), "sandbox listening");
    tokio::signal::ctrl_c().await.map_err(SandboxError::Io)?;
    server.shutdown().await;
    Ok(())
}
