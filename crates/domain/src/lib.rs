//! Pure rules and types of StoreSync: identifiers, marketplaces, money,
//! SKUs, roles, the unified order status machine and inventory arithmetic.
//!
//! This crate performs no I/O and knows nothing of databases, HTTP or async:
//! every other crate depends on it, and it depends on none of ours.

pub mod ids;
pub mod inventory;
pub mod limits;
pub mod marketplace;
pub mod money;
pub mod order;
pub mod planner;
pub mod protection;
pub mod role;
#[cfg(feature = "schemars")]
mod schema;
pub mod sku;
pub mod time;
pub mod validation;

pub use ids::Id;
pub use marketplace::{Marketplace, UnknownMarketplace};
pub use money::{Currency, Money};
pub use order::{OrderStatus, StockEffect, Transition};
pub use role::Role;
pub use sku::Sku;
pub use time::{Clock, SystemClock, Timestamp};
pub use validation::{check_text, FieldError, ValidationError};
