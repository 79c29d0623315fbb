//! The one test environment every marketplace's round trips run in: a sandbox
//! on port 0, a real client pointed at it, a `ManualClock` both share, and a
//! push receiver. What differs per marketplace is a small [`Harness`]
//! implementation, so the contract suite and the quirk files share the rest.
//!
//! Nothing sleeps for readiness: the sandbox and the receiver are bound
//! before `start` returns, and pushes are awaited on a channel with a timeout.

// The helpers below are test code outside `#[test]` functions: a panic there is a test failure
// with a clear message, exactly as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use serde_json::Value;
use storesync_channels::{
    Channel, ExtVariantId, FailureReason, HttpSettings, ListingId, Secret, ShopCredentials,
    ShopRef, TimeRange,
};
use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, Timestamp};
use storesync_sandbox::{
    CreateShop, FaultConfig, OrderView, PlaceOrder, Sandbox, SandboxConfig, SandboxServer, ShopView,
};
use tokio::sync::mpsc;

const DAY_SECS: i64 = 86_400;
/// How long a test waits for a push before it fails.
const WAIT: Duration = Duration::from_secs(10);

/// What one marketplace brings to the shared environment and the contract
/// suite: how to build its client and name its shops, and the few facts the
/// contract checks that differ by marketplace (call names the sandbox
/// counts, the codes its errors carry). Everything else the contract learns
/// from [`Channel::capabilities`].
pub trait Harness: Send + Sync + Sized + 'static {
    type Client: Channel + 'static;

    /// Which simulator the sandbox runs.
    const SANDBOX: storesync_sandbox::Marketplace;
    /// The signing secret the sandbox's default app accepts.
    const SECRET: &'static str;
    /// Seeds the sandbox's randomness, so ids are the same every run.
    const SEED: u64;
    /// The sandbox call key of one listing page (`"GET /products/get"`).
    const LISTING_PAGE_CALL: &'static str;
    /// The sandbox call key of one order-list page.
    const ORDER_PAGE_CALL: &'static str;
    /// The sandbox call key of one order-detail batch.
    const ORDER_DETAIL_CALL: &'static str;
    /// The order list says each order's status.
    const ORDER_LIST_HAS_STATUS: bool;
    /// An order id in the marketplace's form that no shop has.
    const UNKNOWN_ORDER_ID: &'static str;
    /// The sandbox call key of a token refresh, when the sandbox counts it
    /// (TikTok's auth host does not).
    const TOKEN_REFRESH_CALL: Option<&'static str>;
    /// The code a request signed with the wrong secret is refused with, when checked.
    const WRONG_SIGNATURE_CODE: Option<&'static str>;
    /// How old and how early (seconds) a request's timestamp may be.
    const TIMESTAMP_WINDOW_SECS: (i64, i64);
    /// The code a request outside the timestamp window is refused with, when checked.
    const STALE_TIMESTAMP_CODE: Option<&'static str>;
    /// The code an expired access token is refused with.
    const TOKEN_EXPIRED_CODE: &'static str;
    /// The code a revoked or forged refresh token is refused with, when it is checked.
    const REFUSED_REFRESH_CODE: Option<&'static str>;
    /// A refresh token in the marketplace's form that it never issued.
    const FORGED_REFRESH_TOKEN: &'static str;
    /// A refresh keeps the end of the seller's authorization (the refresh
    /// token's expiry) instead of starting a new one.
    const REFRESH_KEEPS_AUTHORIZATION_END: bool;
    /// What the reason of a server-error `Transient` names, when it names a code.
    const SERVER_ERROR_MARK: Option<&'static str>;
    /// What the reason of a timed-out call's `Transient` names, when it names a code.
    const TIMEOUT_MARK: Option<&'static str>;
    /// The `retry_after` a refused call over the sandbox's rate limit carries.
    const RATE_LIMIT_RETRY_AFTER: Option<Duration>;
    /// The code a stock update below reserved stock is refused with, when checked.
    const BELOW_RESERVED_CODE: Option<&'static str>;
    /// The code a stock update of an unknown listing is refused with, when checked.
    const NOT_FOUND_CODE: Option<&'static str>;
    /// How an unknown variant of a known listing is refused (Shopee cannot
    /// tell it from other invalid input).
    const UNKNOWN_VARIANT_REASON: FailureReason;
    /// A listing id and a variant id in the marketplace's form that no shop has.
    const UNKNOWN_IDS: (&'static str, &'static str);
    /// The sandbox order's status after the client arranged shipment.
    const STATUS_AFTER_SHIP: &'static str;
    /// How the marketplace's tracking numbers start, when the contract checks it.
    const TRACKING_PREFIX: Option<&'static str>;
    /// `ship_order` answers with the tracking number (TikTok's answer has none).
    const SHIPMENT_REPORTS_TRACKING: bool;
    /// `order_details` reads the tracking number back (Shopee's needs another call).
    const DETAILS_REPORT_TRACKING: bool;
    /// The carrier an order's package names after shipment was arranged, when checked.
    const CARRIER: Option<&'static str>;
    /// The sandbox order's status after a seller's cancellation.
    const STATUS_AFTER_CANCEL: &'static str;
    /// The status a seller's cancellation reports back, if any.
    const CANCEL_STATUS: Option<&'static str>;
    /// A seller's cancellation answers with the cancellation's id.
    const CANCEL_RETURNS_ID: bool;
    /// The sandbox actions after which an order can no longer be cancelled
    /// (TikTok: once shipment is arranged; elsewhere once the carrier has it).
    const SHIPPED: &'static [storesync_sandbox::OrderAction];
    /// How a cancelled order reads its out-of-stock reason back, when it does.
    const OUT_OF_STOCK_REASON: Option<&'static str>;
    /// The path the push receiver answers on.
    const PUSH_PATH: &'static str;
    /// Calls in a burst sent at once, and the least time the client's pacer
    /// takes to send them within the sandbox's default limit: more than a
    /// per-second limit allows takes a second; Shopee's per-minute budget
    /// lets a burst well above the old 16 a second through at once.
    const BURST: usize;
    const BURST_TAKES_SECS: u64 = 1;

    /// Where the shared clock starts.
    fn start_at() -> Timestamp;

    /// A client for the sandbox at `base_url`.
    fn client(
        base_url: &str,
        secret: &str,
        clock: Arc<dyn Clock>,
        http: HttpSettings,
    ) -> Self::Client;

    /// How the client names a sandbox shop (TikTok adds its cipher).
    fn shop_ref(view: &ShopView) -> ShopRef;

    /// The listing and variant the client uses for `seller_sku`.
    fn variant_ref(view: &ShopView, seller_sku: &str) -> (ListingId, ExtVariantId);

    /// The sandbox calls walking every page of `listings` one-variant
    /// listings takes (paging plus any detail calls), by call key.
    fn listing_walk_calls(listings: usize) -> Vec<(&'static str, u64)>;

    /// The push announcing the new order `order_id` (its first status).
    fn is_order_push(push: &Value, order_id: &str) -> bool;

    /// A push signature computed straight from the marketplace's docs, not
    /// by the client: the value of the `authorization` header.
    fn doc_push_signature(secret: &str, url: &str, body: &[u8]) -> String;

    /// The fault that makes a call time out, and the HTTP settings of a
    /// client that notices it.
    fn timeout_fault() -> (FaultConfig, HttpSettings);
}

/// One sandbox, one client, one clock.
pub struct Env<H: Harness> {
    pub server: SandboxServer,
    pub clock: Arc<ManualClock>,
    pub client: Arc<H::Client>,
    /// A plain HTTP client that does not follow redirects (consent pages, raw calls).
    pub http: reqwest::Client,
}

impl<H: Harness> Env<H> {
    pub async fn start() -> Self {
        let clock = Arc::new(ManualClock::new(H::start_at()));
        let mut config = SandboxConfig::new(H::SANDBOX);
        config.clock = clock.clone();
        config.time_scale = 0.0001;
        config.seed = Some(H::SEED);
        let server = SandboxServer::start(config).await.unwrap();
        let client = Arc::new(H::client(
            &server.base_url(),
            H::SECRET,
            clock.clone(),
            HttpSettings::default(),
        ));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Env {
            server,
            clock,
            client,
            http,
        }
    }

    pub fn sb(&self) -> &Arc<Sandbox> {
        self.server.sandbox()
    }

    pub fn base(&self) -> String {
        self.server.base_url()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn now_secs(&self) -> i64 {
        self.clock.now().millis() / 1000
    }

    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance_millis(secs * 1000);
    }

    pub fn channel(&self) -> Arc<dyn Channel> {
        self.client.clone()
    }

    /// A second client on the same sandbox with another secret, clock or HTTP settings.
    pub fn other_client(
        &self,
        secret: &str,
        clock: Arc<dyn Clock>,
        http: HttpSettings,
    ) -> H::Client {
        H::client(&self.base(), secret, clock, http)
    }

    /// Creates a shop from a control-API JSON spec and mints a token pair for it.
    pub fn shop(&self, spec: Value) -> (ShopView, ShopCredentials, Secret<String>) {
        let spec: CreateShop = serde_json::from_value(spec).unwrap();
        let view = self.sb().create_shop(&spec).unwrap();
        let (access, refresh) = self.sb().mint_tokens(view.shop_id).unwrap();
        let creds = ShopCredentials {
            shop: H::shop_ref(&view),
            access_token: Secret::new(access),
        };
        (view, creds, Secret::new(refresh))
    }

    /// The whole time range the sandbox has seen so far, plus a margin.
    pub fn everything(&self) -> TimeRange {
        TimeRange::new(
            self.now().plus_millis(-DAY_SECS * 1000),
            self.now().plus_millis(1000),
        )
    }

    /// How often the sandbox answered `key` (`"GET /products/get"`).
    pub fn calls(&self, key: &str) -> u64 {
        self.sb().calls().get(key).copied().unwrap_or(0)
    }

    /// Places an order from a control-API JSON spec.
    pub fn place(&self, shop_id: u64, order: Value) -> OrderView {
        let order: PlaceOrder = serde_json::from_value(order).unwrap();
        self.sb().place_order(shop_id, &order).unwrap()
    }
}

// ---- a push receiver --------------------------------------------------------------------------

/// One push as received: headers and raw body.
pub type Push = (HeaderMap, Bytes);

/// A tiny push receiver on 127.0.0.1:0 that answers 200 with an empty body.
pub struct Hooks {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Push>,
    /// Every push received so far, in order.
    seen: Vec<Push>,
    /// Pushes received but not yet taken by [`Hooks::next`].
    stash: Vec<Push>,
}

async fn receive(
    State(tx): State<mpsc::UnboundedSender<Push>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = tx.send((headers, body));
    StatusCode::OK
}

impl Hooks {
    /// Starts a receiver answering on `path` (`"/lazada/push"`).
    pub async fn start(path: &str) -> Hooks {
        let (tx, rx) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let app = Router::new()
            .route(path, axum::routing::post(receive))
            .with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hooks {
            url,
            rx,
            seen: Vec::new(),
            stash: Vec::new(),
        }
    }

    /// Receives one more push within the wait, or fails the test naming `what`.
    async fn recv(&mut self, what: &str) -> Push {
        let push = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} push within {WAIT:?}"))
            .unwrap();
        self.seen.push(push.clone());
        self.stash.push(push.clone());
        push
    }

    /// The first push ever received (or arriving within the wait) whose JSON
    /// body matches; the same push can be found again.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Push {
        let matches = |p: &Push| serde_json::from_slice::<Value>(&p.1).is_ok_and(|v| pred(&v));
        if let Some(p) = self.seen.iter().find(|p| matches(p)) {
            return p.clone();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let push = tokio::time::timeout(left, self.recv(what))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for the {what} push"));
            if matches(&push) {
                return push;
            }
        }
    }

    /// The next push not taken before whose JSON body matches; it is taken,
    /// so the next call finds the one after it.
    pub async fn next(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Push {
        let matches = |p: &Push| serde_json::from_slice::<Value>(&p.1).is_ok_and(|v| pred(&v));
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(pos) = self.stash.iter().position(&matches) {
                return self.stash.remove(pos);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::timeout(left, self.recv(what))
                .await
                .unwrap_or_else(|_| panic!("no {what} push within {WAIT:?}"));
        }
    }
}
