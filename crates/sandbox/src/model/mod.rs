//! The marketplace-neutral model of a sandbox, split by area: the state and its events
//! (`world`), the catalogue (`catalog`), order simulation (`orders`), authorization and tokens
//! (`tokens`), the control API's shapes and views (`views`), and the [`Rules`] a marketplace
//! supplies where the model needs its spelling or policy. Each marketplace module renders this
//! state in its own wire vocabulary; nothing here imports a marketplace module.

mod catalog;
mod orders;
mod rules;
mod tokens;
mod views;
mod world;

pub(crate) use rules::{BuyerCancel, IdKind, Rules};
pub use views::{
    AuthorizeRequest, AuthorizeResult, CallCount, CreateShop, ListingView, OrderAction,
    OrderLineSpec, OrderView, PlaceOrder, PriceInput, ProductSpec, ShopView, StockInput,
    VariantSpec,
};
pub(crate) use world::{
    AccessToken, Event, LostPush, Order, Parcel, Product, RefreshToken, Shop, Variant, World,
};
pub use world::{BuyerSettings, SkuSales, Stage};

use storesync_domain::Timestamp;

impl World {
    /// Time-driven events: authorization-expiry warnings and due buyer cancellations.
    pub fn tick(&mut self, rules: &dyn Rules, now: Timestamp) {
        self.warn_expiring(rules, now);
        self.cancel_due(rules, now);
    }
}
