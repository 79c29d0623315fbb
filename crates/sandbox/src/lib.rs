//! Local, stateful simulators of the marketplaces' seller APIs (Shopee Open Platform v2,
//! TikTok Shop 202309 and Lazada Open Platform), wire-compatible with the real hosts, plus a buyer simulator, signed
//! webhook pushes, fault injection and a JSON control API under `/__sandbox/`.
//!
//! A sandbox is started in-process with [`SandboxServer::start`] (tests, benches, `storesync demo`)
//! or standalone with [`run_standalone`] (`storesync sandbox shopee|tiktok|lazada --port N`). Its state is
//! reachable both through the control API and directly through [`Sandbox`].

//!
//! Module graph (no circle): the crate root only declares modules and re-exports. The shared
//! modules (`config`, `error`, `util`, `clock`, `faults`, `model`, `protocol`, `webhook`,
//! `sandbox`, `dispatch`, `control`, `units`, `carrier`, `buyer`, `server`, `bench`) never import a
//! marketplace module; the marketplace modules (`shopee`, `tiktok`, `lazada`) implement
//! `model::Rules` and `protocol::Protocol` and depend only on shared modules; `marketplaces` is
//! the one module that names them, to construct a sandbox's protocol and router.

pub mod bench;
mod buyer;
mod carrier;
mod clock;
mod config;
mod control;
mod dispatch;
mod error;
mod faults;
pub mod lazada;
mod marketplaces;
mod model;
mod protocol;
mod sandbox;
mod server;
pub mod shopee;
pub mod tiktok;
mod units;
mod util;
mod webhook;

pub use carrier::CarrierSettings;
pub use clock::SandboxClock;
pub use config::{credentials_line, Credentials, Marketplace, SandboxConfig, Secret};
pub use error::SandboxError;
pub use faults::{FaultConfig, RateLimit, WebhookFaults};
pub use marketplaces::documented_limit;
pub use model::{
    AuthorizeRequest, AuthorizeResult, BuyerSettings, CallCount, CreateShop, ListingView,
    OrderAction, OrderLineSpec, OrderView, PlaceOrder, PriceInput, ProductSpec, ShopView, SkuSales,
    Stage, StockInput, VariantSpec,
};
pub use sandbox::Sandbox;
pub use server::{router, run_standalone, SandboxServer};
pub use tiktok::RETRY_SCHEDULE_SECS;
pub use webhook::Delivery;
