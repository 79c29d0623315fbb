//! The marketplace clients of a process: the apps configured (`serve`), or
//! clients pointed at sandboxes (the demo and the benchmarks). Built here
//! once, handed to the engine builder and the web app.

use std::sync::Arc;

use storesync_channels::lazada::{LazadaClient, LazadaConfig, Venture};
use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::tiktok::{TikTokClient, TikTokConfig};
use storesync_channels::{Channel, Secret};
use storesync_domain::Clock;
use storesync_engine::connect::ChannelRegistry;
use storesync_sandbox::{Credentials, SandboxServer};

use crate::config::Config;

/// Marketplace clients for the apps configured.
pub(crate) fn from_config(config: &Config) -> anyhow::Result<ChannelRegistry> {
    let clock: Arc<dyn storesync_domain::Clock> = Arc::new(storesync_domain::SystemClock);
    let mut registry = ChannelRegistry::new();
    if let Some(app) = &config.shopee {
        let mut c = ShopeeConfig::new(app.partner_id, Secret::new(app.partner_key.clone()));
        if let Some(url) = &app.base_url {
            c = c.with_base_url(url.clone());
        }
        registry = registry.with(Arc::new(ShopeeClient::new(c, Arc::clone(&clock))?));
    }
    if let Some(app) = &config.tiktok {
        let mut c = TikTokConfig::new(
            app.app_key.clone(),
            Secret::new(app.app_secret.clone()),
            app.service_id.clone(),
        );
        if let Some(url) = &app.base_url {
            c = c.with_base_url(url.clone());
        }
        registry = registry.with(Arc::new(TikTokClient::new(c, Arc::clone(&clock))?));
    }
    if let Some(app) = &config.lazada {
        let venture: Venture = app
            .venture
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown Lazada venture {:?}", app.venture))?;
        let mut c = LazadaConfig::new(
            app.app_key.clone(),
            Secret::new(app.app_secret.clone()),
            venture,
        );
        if let Some(url) = &app.base_url {
            c = c.with_base_url(url.clone());
        }
        registry = registry.with(Arc::new(LazadaClient::new(c, Arc::clone(&clock))?));
    }
    Ok(registry)
}

/// A client for the marketplace `server` simulates, with the sandbox's own
/// app credentials.
pub(crate) fn for_sandbox(
    server: &SandboxServer,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn Channel>> {
    Ok(match server.sandbox().credentials() {
        Credentials::Shopee {
            partner_id,
            partner_key,
        } => {
            let c = ShopeeConfig::new(*partner_id, Secret::new(partner_key.expose().to_owned()))
                .with_base_url(server.base_url());
            Arc::new(ShopeeClient::new(c, clock)?)
        }
        Credentials::TikTok {
            app_key,
            app_secret,
            service_id,
        } => {
            let c = TikTokConfig::new(
                app_key.clone(),
                Secret::new(app_secret.expose().to_owned()),
                service_id.clone(),
            )
            .with_base_url(server.base_url());
            Arc::new(TikTokClient::new(c, clock)?)
        }
        Credentials::Lazada {
            app_key,
            app_secret,
        } => {
            let c = LazadaConfig::new(
                app_key.clone(),
                Secret::new(app_secret.expose().to_owned()),
                Venture::Id,
            )
            .with_base_url(server.base_url());
            Arc::new(LazadaClient::new(c, clock)?)
        }
    })
}
