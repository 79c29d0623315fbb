//! Marketplace clients behind one [`Channel`] trait: signing, typed wire
//! structs, mapping to domain types and error classification, one module
//! per marketplace. Pure HTTP clients; no database.
//!
//! The engine holds `Arc<dyn Channel>` values and never branches on the
//! marketplace: what differs (batch sizes, time windows, whether the order
//! list already returns details, which webhooks exist) is stated in
//! [`Capabilities`]. Each client takes its app credentials, base URLs
//! (real hosts by default, `http://127.0.0.1:PORT` for the sandboxes), HTTP
//! settings and an injected [`storesync_domain::Clock`].
//!
//! Secrets (app keys, access and refresh tokens, authorization codes) are
//! [`Secret`] values whose `Debug` prints `[REDACTED]`; they never reach a
//! log line or an error message, and neither does a signed URL.

pub mod batch;
pub mod channel;
pub mod error;
pub mod http;
pub mod ids;
pub mod lazada;
pub mod model;
pub mod money;
pub mod pace;
pub mod replay;
pub mod shopee;
pub mod sign;
pub mod tiktok;
pub mod window;
mod wire;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod push_bounds;
#[cfg(test)]
mod testing;

pub use channel::{listing_stream, with_token_refresh, Capabilities, Channel, WebhookCapabilities};
pub use error::ChannelError;
pub use http::HttpSettings;
pub use ids::{ExtOrderId, ExtShopId, ExtVariantId, ExternalId, ListingId, PackageId, WarehouseId};
pub use model::*;
pub use storesync_crypto::Secret;
// The shared vocabulary lives in `domain`; re-exported so existing
// `storesync_channels::Marketplace` imports keep compiling.
pub use storesync_domain::{Marketplace, UnknownMarketplace};
pub use window::TimeRange;
