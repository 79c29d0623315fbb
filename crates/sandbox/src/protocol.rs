//! The [`Protocol`] a marketplace module implements for the shared core: how it names things
//! (through the model's [`Rules`]), how long its codes, tokens and authorizations live, where
//! its consent page sends the seller, what its webhook pushes look like, its documented rate
//! limit and how a benchmark client signs a request. The shared modules decide nothing by
//! marketplace: every difference between marketplaces is a method here or on [`Rules`].

use rand::rngs::StdRng;
use storesync_domain::Timestamp;

use crate::config::Credentials;
use crate::error::SandboxError;
use crate::faults::RateLimit;
use crate::model::{BuyerSettings, Event, Rules, World};
use crate::webhook::Outgoing;

/// An access/refresh token pair issued outside the OAuth round trip, with the marketplace's
/// real lifetimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuedTokens {
    pub access: String,
    pub refresh: String,
    /// How long the access token lives, in milliseconds.
    pub access_ms: i64,
    /// When the refresh token ends (sandbox ms).
    pub refresh_expires_ms: i64,
}

/// The operations the throughput benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BenchOp {
    StockUpdate,
    OrderSearch,
}

/// The shop, SKU and token a benchmark client sends its signed requests for.
#[derive(Debug)]
pub(crate) struct BenchTarget {
    pub base: String,
    pub credentials: Credentials,
    pub token: String,
    pub shop_id: u64,
    pub cipher: String,
    pub product_id: u64,
    pub sku_id: u64,
    pub warehouse: String,
    pub page_size: usize,
}

/// The hooks a marketplace module provides to the shared core. Adding a marketplace means
/// implementing this trait (and [`Rules`]), writing its router and registering both in
/// `marketplaces.rs`.
pub(crate) trait Protocol: Rules {
    fn marketplace(&self) -> crate::config::Marketplace;
    /// This protocol as the rules the neutral model consults.
    fn rules(&self) -> &dyn Rules;
    fn code_lifetime_ms(&self) -> i64;
    /// Delays before each retry of an unacknowledged push, in seconds.
    fn push_retry_secs(&self) -> &'static [u64];
    fn authorization_lifetime_ms(&self) -> i64;
    /// Where a headless approval redirects: the `redirect` the consent link asked for
    /// (`requested`) or the app's registered redirect URL (`registered`), as the marketplace
    /// chooses between them.
    fn consent_redirect(&self, requested: Option<&str>, registered: Option<&str>)
        -> Option<String>;
    /// The callback URL the seller's browser is sent to after approving.
    fn approved_redirect(
        &self,
        redirect: &str,
        code: &str,
        shop_id: u64,
        state: Option<&str>,
    ) -> String;
    /// A fresh token pair for an authorized shop, in the marketplace's token format and
    /// lifetimes (the caller records the tokens).
    fn issue_tokens(
        &self,
        world: &mut World,
        shop_id: u64,
        now: Timestamp,
    ) -> Result<IssuedTokens, SandboxError>;
    /// The webhook pushes an event causes (none when no URL is configured).
    fn render_push(
        &self,
        world: &World,
        credentials: &Credentials,
        event: &Event,
        now: Timestamp,
        seq: u64,
    ) -> Vec<Outgoing>;
    /// How long a push receiver has to answer before the attempt counts as failed.
    fn ack_timeout(&self) -> std::time::Duration {
        crate::webhook::ACK_TIMEOUT
    }
    /// Whether a receiver's HTTP status counts as acknowledged.
    fn acknowledges(&self, status: u16) -> bool {
        (200..300).contains(&status)
    }
    /// The marketplace's documented (or publicly reported) limit per (shop, API).
    fn rate_limit(&self) -> RateLimit;
    /// The sales channel a simulated buyer's order comes from, where a marketplace has more
    /// than one (none by default).
    fn buyer_platform(
        &self,
        _region: &str,
        _buyers: &BuyerSettings,
        _rng: &mut StdRng,
    ) -> Option<String> {
        None
    }
    /// One signed request of the throughput benchmark, as a client of this marketplace sends it.
    fn bench_request(
        &self,
        client: &reqwest::Client,
        target: &BenchTarget,
        op: BenchOp,
        n: u64,
    ) -> reqwest::RequestBuilder;
}
