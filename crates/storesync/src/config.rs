//! Configuration: command-line flags, then environment variables, then an
//! optional TOML file, then defaults — in that order of precedence. Loaded
//! once and passed down; nothing reads the environment later.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// Settings every command shares (global flags).
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Where StoreSync keeps its SQLite database and master key.
    #[arg(long, global = true, env = "STORESYNC_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database to use: sqlite://path or postgres://… (default: SQLite in the data directory).
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// TOML configuration file (default: storesync.toml in the data directory, if present).
    #[arg(long, global = true, env = "STORESYNC_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format: pretty or json.
    #[arg(
        long,
        global = true,
        env = "STORESYNC_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: Option<String>,
}

/// The optional TOML file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub master_key_file: Option<PathBuf>,
    pub secure_cookies: Option<bool>,
    pub log_format: Option<String>,
    pub max_connections: Option<u32>,
    pub trust_forwarded_for: Option<bool>,
    pub public_url: Option<String>,
    /// SMTP relay for outbound mail: `smtp://host:port` or
    /// `smtps://user:password@host:port`.
    pub smtp_url: Option<String>,
    /// Sender address of outbound mail.
    pub mail_from: Option<String>,
    /// Let anyone sign up and create an organization (off by default).
    pub allow_signup: Option<bool>,
    pub poll_interval_secs: Option<u64>,
    pub drift_interval_secs: Option<u64>,
    /// Bearer token that may read `/metrics` (without one, only clients on
    /// this machine may).
    pub metrics_token: Option<String>,
    /// `[api_limits]`: requests a minute per token in each route group
    /// (`products_per_minute`, `orders_per_minute`, `sync_per_minute`,
    /// `other_per_minute`), `address_factor` for a client address, and
    /// `enabled = false` to turn them off.
    pub api_limits: Option<storesync_web::api_limits::ApiLimits>,
    pub shopee: Option<ShopeeFile>,
    pub tiktok: Option<TikTokFile>,
    pub lazada: Option<LazadaFile>,
}

/// `[shopee]` in the TOML file: the installation's Shopee app.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopeeFile {
    pub partner_id: Option<i64>,
    pub partner_key: Option<String>,
    pub base_url: Option<String>,
}

/// `[tiktok]` in the TOML file: the installation's TikTok Shop app.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TikTokFile {
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    pub service_id: Option<String>,
    pub base_url: Option<String>,
}

/// `[lazada]` in the TOML file: the installation's Lazada app.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LazadaFile {
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    /// The country the app's shops sell in: sg, my, th, vn, ph or id.
    pub venture: Option<String>,
    pub base_url: Option<String>,
}

/// App credentials for Lazada.
#[derive(Clone)]
pub struct LazadaApp {
    pub app_key: String,
    pub app_secret: String,
    pub venture: String,
    pub base_url: Option<String>,
}

impl std::fmt::Debug for LazadaApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazadaApp")
            .field("app_key", &self.app_key)
            .field("app_secret", &"[REDACTED]")
            .field("venture", &self.venture)
            .finish()
    }
}

/// App credentials for Shopee.
#[derive(Clone)]
pub struct ShopeeApp {
    pub partner_id: i64,
    pub partner_key: String,
    pub base_url: Option<String>,
}

/// App credentials for TikTok Shop.
#[derive(Clone)]
pub struct TikTokApp {
    pub app_key: String,
    pub app_secret: String,
    pub service_id: String,
    pub base_url: Option<String>,
}

impl std::fmt::Debug for ShopeeApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopeeApp")
            .field("partner_id", &self.partner_id)
            .field("partner_key", &"[REDACTED]")
            .finish()
    }
}

impl std::fmt::Debug for TikTokApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TikTokApp")
            .field("app_key", &self.app_key)
            .field("app_secret", &"[REDACTED]")
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: String,
    pub master_key_file: PathBuf,
    pub secure_cookies: bool,
    pub json_logs: bool,
    pub max_connections: u32,
    /// Behind a proxy that appends the client's address to
    /// `X-Forwarded-For` (the sign-in limiter and audit log use it).
    pub trust_forwarded_for: bool,
    /// Where browsers and marketplaces reach this server.
    pub public_url: String,
    pub shopee: Option<ShopeeApp>,
    pub tiktok: Option<TikTokApp>,
    pub lazada: Option<LazadaApp>,
    /// Outbound mail (invitations, resets, sign-ups); `None` when no relay
    /// is configured, and mail jobs then fail visibly.
    pub mail: Option<MailConfig>,
    /// Whether anyone may sign up and create an organization.
    pub allow_signup: bool,
    /// Seconds between order polls of each shop (the webhook safety net).
    pub poll_interval_secs: u64,
    /// Seconds between read-backs of every shop's stock (drift repair).
    pub drift_interval_secs: u64,
    /// Bearer token that may read `/metrics`.
    pub metrics_token: Option<storesync_crypto::Secret<String>>,
    /// Rate limits on the API.
    pub api_limits: storesync_web::api_limits::ApiLimits,
}

/// The SMTP relay and sender address.
#[derive(Clone)]
pub struct MailConfig {
    /// May hold the relay's password: never shown.
    pub smtp_url: String,
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &"[redacted]")
            .field("from", &self.from)
            .finish()
    }
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// `$XDG_DATA_HOME/storesync`, else `~/.local/share/storesync`, else
/// `./storesync-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("storesync");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/storesync");
    }
    PathBuf::from("storesync-data")
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

impl Config {
    /// Resolve from flags/env (`global`, `bind`) and the TOML file.
    pub fn load(global: &GlobalArgs, bind: Option<&str>) -> anyhow::Result<Config> {
        let explicit_file = global.config.clone();
        let pre_dir = global.data_dir.clone().unwrap_or_else(default_data_dir);
        let file = match &explicit_file {
            Some(path) => read_file(path)?,
            None => {
                let candidate = pre_dir.join("storesync.toml");
                if candidate.exists() {
                    read_file(&candidate)?
                } else {
                    FileConfig::default()
                }
            }
        };
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(default_data_dir);
        let database_url = match global.database_url.clone().or(file.database_url) {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("storesync.db").display()),
        };
        if storesync_store::Backend::from_url(&database_url).is_none() {
            bail!("DATABASE_URL must start with sqlite: or postgres:");
        }
        let env_bind = std::env::var("STORESYNC_BIND")
            .ok()
            .filter(|b| !b.is_empty());
        let bind = bind
            .map(str::to_owned)
            .or(env_bind)
            .or(file.bind)
            .unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let master_key_file = std::env::var_os("STORESYNC_MASTER_KEY_FILE")
            .map(PathBuf::from)
            .or(file.master_key_file)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let log_format = global
            .log_format
            .clone()
            .or(file.log_format)
            .unwrap_or_else(|| "pretty".to_owned());
        let json_logs = match log_format.as_str() {
            "json" => true,
            "pretty" => false,
            other => bail!("unknown log format {other:?} (use pretty or json)"),
        };
        let shopee_file = file.shopee.unwrap_or_default();
        let shopee = match (
            env("STORESYNC_SHOPEE_PARTNER_ID").or(shopee_file.partner_id.map(|p| p.to_string())),
            env("STORESYNC_SHOPEE_PARTNER_KEY").or(shopee_file.partner_key),
        ) {
            (Some(id), Some(key)) => Some(ShopeeApp {
                partner_id: id
                    .parse()
                    .with_context(|| format!("Shopee partner_id {id:?} is not a number"))?,
                partner_key: key,
                base_url: env("STORESYNC_SHOPEE_BASE_URL").or(shopee_file.base_url),
            }),
            (None, None) => None,
            _ => bail!("Shopee needs both a partner id and a partner key"),
        };
        let tiktok_file = file.tiktok.unwrap_or_default();
        let tiktok = match (
            env("STORESYNC_TIKTOK_APP_KEY").or(tiktok_file.app_key),
            env("STORESYNC_TIKTOK_APP_SECRET").or(tiktok_file.app_secret),
        ) {
            (Some(app_key), Some(app_secret)) => Some(TikTokApp {
                app_key,
                app_secret,
                service_id: env("STORESYNC_TIKTOK_SERVICE_ID")
                    .or(tiktok_file.service_id)
                    .unwrap_or_default(),
                base_url: env("STORESYNC_TIKTOK_BASE_URL").or(tiktok_file.base_url),
            }),
            (None, None) => None,
            _ => bail!("TikTok Shop needs both an app key and an app secret"),
        };
        let lazada_file = file.lazada.unwrap_or_default();
        let lazada = match (
            env("STORESYNC_LAZADA_APP_KEY").or(lazada_file.app_key),
            env("STORESYNC_LAZADA_APP_SECRET").or(lazada_file.app_secret),
        ) {
            (Some(app_key), Some(app_secret)) => {
                let venture = env("STORESYNC_LAZADA_VENTURE")
                    .or(lazada_file.venture)
                    .unwrap_or_else(|| "sg".to_owned())
                    .to_lowercase();
                venture
                    .parse::<storesync_channels::lazada::Venture>()
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "unknown Lazada venture {venture:?} (sg, my, th, vn, ph or id)"
                        )
                    })?;
                Some(LazadaApp {
                    app_key,
                    app_secret,
                    venture,
                    base_url: env("STORESYNC_LAZADA_BASE_URL").or(lazada_file.base_url),
                })
            }
            (None, None) => None,
            _ => bail!("Lazada needs both an app key and an app secret"),
        };
        let public_url = env("STORESYNC_PUBLIC_URL")
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        let mail = match (
            env("STORESYNC_SMTP_URL").or(file.smtp_url),
            env("STORESYNC_MAIL_FROM").or(file.mail_from),
        ) {
            (Some(smtp_url), Some(from)) => Some(MailConfig { smtp_url, from }),
            (None, None) => None,
            _ => bail!("outbound mail needs both smtp_url and mail_from"),
        };
        let allow_signup = match env("STORESYNC_ALLOW_SIGNUP") {
            Some(v) => matches!(v.as_str(), "1" | "true" | "yes"),
            None => file.allow_signup.unwrap_or(false),
        };
        // Served over HTTPS (as the public URL says), cookies are `Secure`
        // unless the operator says otherwise.
        let secure_cookies = match std::env::var("STORESYNC_SECURE_COOKIES").ok() {
            Some(v) => matches!(v.as_str(), "1" | "true" | "yes"),
            None => file
                .secure_cookies
                .unwrap_or_else(|| public_url.starts_with("https://")),
        };
        let poll_interval_secs = match env("STORESYNC_POLL_INTERVAL_SECS") {
            Some(v) => v
                .parse()
                .with_context(|| format!("STORESYNC_POLL_INTERVAL_SECS={v:?} is not a number"))?,
            None => file.poll_interval_secs.unwrap_or(300),
        }
        .max(10);
        let drift_interval_secs = match env("STORESYNC_DRIFT_INTERVAL_SECS") {
            Some(v) => v
                .parse()
                .with_context(|| format!("STORESYNC_DRIFT_INTERVAL_SECS={v:?} is not a number"))?,
            None => file.drift_interval_secs.unwrap_or(1800),
        }
        .max(60);
        let trust_forwarded_for = match std::env::var("STORESYNC_TRUST_FORWARDED_FOR").ok() {
            Some(v) => matches!(v.as_str(), "1" | "true" | "yes"),
            None => file.trust_forwarded_for.unwrap_or(false),
        };
        let metrics_token = env("STORESYNC_METRICS_TOKEN")
            .or(file.metrics_token)
            .filter(|t| !t.is_empty())
            .map(storesync_crypto::Secret::new);
        Ok(Config {
            metrics_token,
            api_limits: file.api_limits.unwrap_or_default(),
            mail,
            allow_signup,
            trust_forwarded_for,
            poll_interval_secs,
            drift_interval_secs,
            public_url,
            shopee,
            tiktok,
            lazada,
            data_dir,
            database_url,
            bind,
            master_key_file,
            secure_cookies,
            json_logs,
            max_connections: file.max_connections.unwrap_or(16),
        })
    }

    /// Create the data directory when the database lives in it.
    /// Creates the data directory readable by its owner only (0700) and
    /// the SQLite database file 0600 before SQLite opens it, as the master
    /// key file is: SQLite gives its WAL and shared-memory files the
    /// database file's mode, so all three stay private. Existing files and
    /// directories are left as they are.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        let mut dir = std::fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
        dir.create(&self.data_dir)
            .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
        if let Some(path) = sqlite_path(&self.database_url) {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                dir.create(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        Ok(())
    }
}

/// The file of a `sqlite:` URL (`sqlite://path?options`), if it names one.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path) -> GlobalArgs {
        GlobalArgs {
            data_dir: Some(dir.to_owned()),
            database_url: None,
            config: None,
            log_format: None,
        }
    }

    #[test]
    fn file_fills_what_flags_leave_open() {
        let dir = std::env::temp_dir().join(format!("storesync-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("storesync.toml"),
            "database_url = \"postgres://db/x\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let c = Config::load(&args(&dir), Some("0.0.0.0:9000")).unwrap();
        assert_eq!(c.database_url, "postgres://db/x");
        assert!(c.json_logs);
        assert_eq!(c.bind, "0.0.0.0:9000");
        let mut flags = args(&dir);
        flags.database_url = Some("sqlite://other.db".into());
        assert_eq!(
            Config::load(&flags, None).unwrap().database_url,
            "sqlite://other.db"
        );
        std::fs::write(dir.join("storesync.toml"), "colour = 1\n").unwrap();
        let err = Config::load(&args(&dir), None).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn cookies_are_secure_by_default_behind_an_https_public_url() {
        let dir = std::env::temp_dir().join(format!("storesync-cfg-https-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("storesync.toml");
        std::fs::write(&file, "public_url = \"https://shop.example\"\n").unwrap();
        assert!(Config::load(&args(&dir), None).unwrap().secure_cookies);
        std::fs::write(&file, "public_url = \"http://127.0.0.1:8080\"\n").unwrap();
        assert!(!Config::load(&args(&dir), None).unwrap().secure_cookies);
        // The operator may still say otherwise (e.g. TLS ends elsewhere).
        std::fs::write(
            &file,
            "public_url = \"https://shop.example\"\nsecure_cookies = false\n",
        )
        .unwrap();
        assert!(!Config::load(&args(&dir), None).unwrap().secure_cookies);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_and_database_file_are_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir()
            .join(format!("storesync-cfg-perm-{}", std::process::id()))
            .join("data");
        let c = Config::load(&args(&dir), None).unwrap();
        c.prepare_data_dir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("storesync.db")), 0o600);
        // Preparing again leaves the existing file alone.
        c.prepare_data_dir().unwrap();
        assert_eq!(mode(&dir.join("storesync.db")), 0o600);
        std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://a/b.db?mode=rwc"),
            Some(PathBuf::from("a/b.db"))
        );
        assert_eq!(sqlite_path("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://db/x"), None);
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let dir = std::env::temp_dir().join("storesync-cfg-default");
        let c = Config::load(&args(&dir), None).unwrap();
        assert_eq!(
            c.database_url,
            format!("sqlite://{}", dir.join("storesync.db").display())
        );
        assert_eq!(c.master_key_file, dir.join("master.key"));
        assert!(!c.allow_signup, "sign-up is off unless turned on");
        assert!(c.mail.is_none());
    }

    #[test]
    fn mail_relay_from_the_file_is_redacted_in_debug() {
        let dir = std::env::temp_dir().join(format!("storesync-cfg-mail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("storesync.toml"),
            "smtp_url = \"smtps://relay:hunter22@mail.example.com\"\nmail_from = \"StoreSync <no-reply@example.com>\"\nallow_signup = true\n",
        )
        .unwrap();
        let c = Config::load(&args(&dir), None).unwrap();
        assert!(c.allow_signup);
        let mail = c.mail.as_ref().unwrap();
        assert_eq!(mail.from, "StoreSync <no-reply@example.com>");
        assert!(!format!("{c:?}").contains("hunter22"));
        std::fs::write(dir.join("storesync.toml"), "smtp_url = \"smtp://x:25\"\n").unwrap();
        assert!(
            Config::load(&args(&dir), None).is_err(),
            "a relay without a sender"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
