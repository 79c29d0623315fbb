//! The marketplace-neutral model of a sandbox, split by area: the world and its events
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

pub use orders::Stage;
pub(crate) use orders::{Order, Parcel};
pub(crate) use rules::{BuyerCancel, IdKind, Rules};
pub(crate) use tokens::{AccessToken, RefreshToken};
pub use views::{
    AuthorizeRequest, AuthorizeResult, CallCount, CreateShop, ListingView, OrderAction,
    OrderLineSpec, OrderView, PlaceOrder, PriceInput, ProductSpec, ShopView, StockInput,
    VariantSpec,
};
pub use world::{BuyerSettings, SkuSales};
pub(crate) use world::{Event, LostPush, Product, Shop, Variant, World};
