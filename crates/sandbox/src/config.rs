//! The vocabulary every module shares: which marketplace a sandbox plays, the app credentials it
//! accepts and the configuration it starts from. Defining these outside the crate root lets the
//! marketplace modules depend on them without depending on the root, which constructs the
//! marketplace protocols.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use storesync_domain::{Clock, SystemClock};

use crate::error::SandboxError;

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
