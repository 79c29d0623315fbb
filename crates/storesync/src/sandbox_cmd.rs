//! `storesync sandbox shopee|tiktok|lazada`: run one marketplace simulator on its
//! own, for trying StoreSync (or any client) against a local marketplace.

use std::net::SocketAddr;

use clap::{Args, ValueEnum};
use storesync_sandbox::{
    credentials_line, Credentials, Marketplace, SandboxConfig, SandboxServer, Secret,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Which {
    Shopee,
    Tiktok,
    Lazada,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Which marketplace to simulate.
    marketplace: Which,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Shopee: the partner id the sandbox accepts.
    #[arg(long, env = "STORESYNC_SANDBOX_PARTNER_ID")]
    partner_id: Option<i64>,
    /// Shopee: the partner key the sandbox accepts.
    #[arg(long, env = "STORESYNC_SANDBOX_PARTNER_KEY", hide_env_values = true)]
    partner_key: Option<String>,
    /// TikTok Shop and Lazada: the app key the sandbox accepts.
    #[arg(long, env = "STORESYNC_SANDBOX_APP_KEY")]
    app_key: Option<String>,
    /// TikTok Shop and Lazada: the app secret the sandbox accepts.
    #[arg(long, env = "STORESYNC_SANDBOX_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
    /// TikTok Shop: the app's service id (consent link).
    #[arg(long, env = "STORESYNC_SANDBOX_SERVICE_ID")]
    service_id: Option<String>,
    /// Where the sandbox pushes signed webhooks.
    #[arg(long)]
    push_url: Option<String>,
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let marketplace = match args.marketplace {
        Which::Shopee => Marketplace::Shopee,
        Which::Tiktok => Marketplace::TikTok,
        Which::Lazada => Marketplace::Lazada,
    };
    let mut config = SandboxConfig::new(marketplace);
    config.credentials = match config.credentials {
        Credentials::Shopee {
            partner_id,
            partner_key,
        } => Credentials::Shopee {
            partner_id: args.partner_id.unwrap_or(partner_id),
            partner_key: args.partner_key.map(Secret::new).unwrap_or(partner_key),
        },
        Credentials::TikTok {
            app_key,
            app_secret,
            service_id,
        } => Credentials::TikTok {
            app_key: args.app_key.unwrap_or(app_key),
            app_secret: args.app_secret.map(Secret::new).unwrap_or(app_secret),
            service_id: args.service_id.unwrap_or(service_id),
        },
        Credentials::Lazada {
            app_key,
            app_secret,
        } => Credentials::Lazada {
            app_key: args.app_key.unwrap_or(app_key),
            app_secret: args.app_secret.map(Secret::new).unwrap_or(app_secret),
        },
    };
    config.push_url = args.push_url;
    config.bind = SocketAddr::from(([127, 0, 0, 1], args.port));
    let line = credentials_line(&config.credentials);
    let server = SandboxServer::start(config).await?;
    println!("{line}");
    println!(
        "{} sandbox listening on {}",
        marketplace.as_str(),
        server.base_url()
    );
    println!("control API: {}/__sandbox/info", server.base_url());
    crate::shutdown_signal().await;
    server.shutdown().await;
    Ok(())
}
