//! The [`Rules`] the neutral model consults where marketplaces differ: how ids, order numbers,
//! statuses and prices are spelled, which carrier and warehouse a shop starts with, when a buyer
//! may cancel and when the authorization-expiry warning is due. Each marketplace's protocol
//! implements them; the model itself never names a marketplace.

use std::fmt;

use rand::rngs::StdRng;
use storesync_domain::Timestamp;

use super::world::Stage;

/// Kinds of numeric ids a marketplace hands out, each in its own realistic range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    Shop,
    Product,
    Variant,
    Line,
    Package,
    User,
}

/// What a buyer's cancellation does at a given stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuyerCancel {
    Cancel,
    Request,
    Refuse,
}

/// The marketplace-specific answers the model needs while it changes the world.
pub(crate) trait Rules: Send + Sync + fmt::Debug {
    /// The order status as this marketplace spells it.
    fn status_name(&self, stage: Stage) -> &'static str;
    fn id(&self, kind: IdKind, seq: u64) -> u64;
    fn id_string(&self, kind: IdKind, seq: u64) -> String {
        self.id(kind, seq).to_string()
    }
    fn order_id(&self, seq: u64, now: Timestamp) -> String;
    fn tracking_number(&self, seq: u64) -> String;
    fn carrier(&self) -> &'static str;
    fn default_warehouse(&self, region: &str, seq: u64) -> String;
    fn cipher(&self, region: &str, rng: &mut StdRng) -> String;
    fn format_price(&self, cents: i64, currency: &str) -> String;
    fn buyer_cancel(&self, stage: Stage, age_ms: i64) -> BuyerCancel;
    /// How long before the end of an authorization the expiry warning starts, and whether it
    /// repeats daily.
    fn expiry_warning(&self) -> (i64, bool);
}
