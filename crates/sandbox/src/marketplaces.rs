//! The one place that names the marketplace modules: it maps a [`Marketplace`] to its
//! [`Protocol`] and its router. Everything else reaches a marketplace through these objects, so
//! the shared modules never import a marketplace module and adding a marketplace is one new
//! arm here.

use std::sync::Arc;

use axum::Router;

use crate::config::Marketplace;
use crate::faults::RateLimit;
use crate::protocol::Protocol;
use crate::sandbox::Sandbox;
use crate::{lazada, shopee, tiktok};

/// What one marketplace module provides: its protocol and the router of its wire API.
struct Implementation {
    protocol: fn() -> Box<dyn Protocol>,
    router: fn(Arc<Sandbox>) -> Router,
}

fn implementation(marketplace: Marketplace) -> Implementation {
    match marketplace {
        Marketplace::Shopee => Implementation {
            protocol: || Box::new(shopee::ShopeeProtocol),
            router: shopee::router,
        },
        Marketplace::TikTok => Implementation {
            protocol: || Box::new(tiktok::TikTokProtocol),
            router: tiktok::router,
        },
        Marketplace::Lazada => Implementation {
            protocol: || Box::new(lazada::LazadaProtocol),
            router: lazada::router,
        },
    }
}

/// The protocol a sandbox of `marketplace` speaks.
pub(crate) fn protocol(marketplace: Marketplace) -> Box<dyn Protocol> {
    (implementation(marketplace).protocol)()
}

/// The full router of a sandbox: the marketplace's own API plus the control API.
pub(crate) fn router(sandbox: Arc<Sandbox>) -> Router {
    (implementation(sandbox.marketplace()).router)(sandbox)
}

/// Each marketplace's limit per (shop, API), from the fact sheet (see each protocol's
/// `rate_limit` for the figure and its source).
pub fn documented_limit(marketplace: Marketplace) -> RateLimit {
    protocol(marketplace).rate_limit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultConfig;

    #[test]
    fn documented_limits_are_the_default_and_can_be_turned_off() {
        let f = FaultConfig::default();
        assert_eq!(
            f.rate_limit(documented_limit(Marketplace::TikTok)),
            Some(RateLimit {
                calls: 50,
                window_secs: 1,
                ban_secs: 0
            })
        );
        assert_eq!(
            f.rate_limit(documented_limit(Marketplace::Lazada))
                .map(|l| l.ban_secs),
            Some(1)
        );
        let off = FaultConfig {
            rate_limit_off: true,
            ..FaultConfig::default()
        };
        assert_eq!(off.rate_limit(documented_limit(Marketplace::Shopee)), None);
    }
}
