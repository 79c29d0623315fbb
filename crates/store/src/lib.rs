//! StoreSync persistence: the only crate that writes SQL.
//!
//! One [`Store`] serves both backends. SQL is written once in the dialect
//! SQLite and PostgreSQL share (`$1` placeholders, `ON CONFLICT`, `RETURNING`)
//! and run through sqlx's `Any` driver; the few places that truly differ (row
//! locks, transaction start) ask [`Backend`]. Every tenant-scoped method takes
//! the organization id and puts it in its `WHERE` clause, and every mutation
//! writes its audit row in the same transaction as the change.

pub mod accounts;
pub mod api_limits;
mod audit;
mod catalog;
pub mod dashboard;
mod db;
mod error;
mod idempotency;
pub mod ingest;
mod inventory;
pub mod job_keys;
pub mod jobs;
pub mod leases;
pub mod listings;
mod migrate;
pub mod operations;
mod orders;
mod pace;
mod page;
pub mod propagation;
mod requests;
mod row;
pub mod scratch;
pub mod shops;
pub mod signin;
mod tenancy;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;

pub use audit::{Actor, AuditEntry};
pub use catalog::{
    BundleComponent, BundleComponentInput, Location, NewLocation, NewProduct, NewVariant, Product,
    ProductPatch, Variant, VariantPatch,
};
pub use db::{Backend, Store, StoreOptions};
pub use error::{Shortage, StoreError};
pub use inventory::{
    AdjustRequest, AdjustResult, LevelRow, Movement, SkuInventory, StockChange, StockTotals,
    TransferRequest, TransferResult,
};
pub use orders::{
    CustomerInput, NewOrder, NewOrderLine, Order, OrderEvent, OrderFilter, OrderLine, OrderOutcome,
    OrderTransition, Shipment,
};
pub use page::{Page, PageRequest};
pub use requests::OrderRequest;
pub use tenancy::{ApiTokenInfo, AuthUser, Membership, Org, SessionInfo, User};

/// Result type of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
