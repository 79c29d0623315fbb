//! Kinds and de-duplication keys of the jobs queued per shop or per order,
//! built in one place so every producer of a job (a request, a handler, the
//! store itself) uses the same key and a queued job is never doubled.
//!
//! A key names the job kind and the thing it works on: while a job with a
//! key is queued, enqueuing another with the same key does nothing.

use storesync_domain::ids::{OrderId, ShopId};
use storesync_domain::Marketplace;

/// Job kinds that carry a unique key. The handlers are registered under the
/// same names (the engine's `*_JOB` constants are these).
pub mod kind {
    /// Poll one shop's orders.
    pub const POLL: &str = "orders.poll";
    /// Push one shop's stock.
    pub const PUSH: &str = "stock.push";
    /// Import one shop's catalog.
    pub const IMPORT: &str = "shop.import";
    /// Compare one shop's listed stock with ours.
    pub const DRIFT: &str = "stock.drift";
    /// Refresh one shop's tokens.
    pub const REFRESH: &str = "tokens.refresh";
    /// Ship one marketplace order.
    pub const SHIP: &str = "order.ship";
    /// Cancel one marketplace order.
    pub const CANCEL: &str = "order.cancel";
    /// Drain one marketplace's webhook inbox.
    pub const DRAIN_WEBHOOKS: &str = "webhook.process";
}

/// One order poll per shop at a time.
pub fn poll(shop: ShopId) -> String {
    format!("{}:{shop}", kind::POLL)
}

/// One follow-up poll per shop at a time (see the engine's intake): a key
/// of its own, so the scheduled poll does not swallow it.
pub fn poll_follow_up(shop: ShopId) -> String {
    format!("{}:{shop}:follow-up", kind::POLL)
}

/// One stock push per shop at a time.
pub fn push(shop: ShopId) -> String {
    format!("{}:{shop}", kind::PUSH)
}

/// The push queued again when stock moved between planning and claiming: a
/// key of its own, so it is not swallowed by the push that is running.
pub fn push_replan(shop: ShopId) -> String {
    format!("{}:{shop}:replan", kind::PUSH)
}

/// One queued drain of a marketplace's webhook inbox at a time (a burst of
/// deliveries queues one job, not one a delivery).
pub fn drain_webhooks(marketplace: Marketplace) -> String {
    format!("{}:{marketplace}", kind::DRAIN_WEBHOOKS)
}

/// One catalog import per shop at a time.
pub fn import(shop: ShopId) -> String {
    format!("{}:{shop}", kind::IMPORT)
}

/// One drift check per shop at a time.
pub fn drift(shop: ShopId) -> String {
    format!("{}:{shop}", kind::DRIFT)
}

/// One token refresh per shop at a time.
pub fn refresh(shop: ShopId) -> String {
    format!("{}:{shop}", kind::REFRESH)
}

/// One shipment request per order at a time.
pub fn ship(order: OrderId) -> String {
    format!("{}:{order}", kind::SHIP)
}

/// One cancellation request per order at a time.
pub fn cancel(order: OrderId) -> String {
    format!("{}:{order}", kind::CANCEL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_kind_and_the_thing_worked_on() {
        let shop = ShopId::new();
        assert_eq!(poll(shop), format!("orders.poll:{shop}"));
        assert_eq!(push(shop), format!("stock.push:{shop}"));
        assert_eq!(
            poll_follow_up(shop),
            format!("orders.poll:{shop}:follow-up")
        );
        assert_eq!(push_replan(shop), format!("stock.push:{shop}:replan"));
        assert_eq!(
            drain_webhooks(Marketplace::TikTokShop),
            "webhook.process:tiktok_shop"
        );
        assert_eq!(import(shop), format!("shop.import:{shop}"));
        assert_eq!(drift(shop), format!("stock.drift:{shop}"));
        assert_eq!(refresh(shop), format!("tokens.refresh:{shop}"));
        let order = OrderId::new();
        assert_eq!(ship(order), format!("order.ship:{order}"));
        assert_eq!(cancel(order), format!("order.cancel:{order}"));
    }
}
