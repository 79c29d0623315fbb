//! The shared core of every sandbox: state behind one lock, the marketplace's [`Protocol`]
//! (handed in when the sandbox is built, never named here), the call pipeline (counting,
//! faults, rate limits) and the Rust control surface that the JSON control API, the buyer
//! simulator, tests and benches all use.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storesync_domain::Timestamp;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::carrier::CarrierSettings;
use crate::clock::SandboxClock;
use crate::config::{Credentials, Marketplace, SandboxConfig};
use crate::error::SandboxError;
use crate::faults::{FaultConfig, Injected, RateLimiter};
use crate::model::{
    AuthorizeRequest, AuthorizeResult, BuyerSettings, CreateShop, ListingView, LostPush,
    OrderAction, OrderView, PlaceOrder, ProductSpec, Rules, ShopView, SkuSales, World,
};
use crate::protocol::{IssuedTokens, Protocol};
use crate::webhook::{self, Delivery, Outgoing, WebhookQueue};

/// One running sandbox's state and control surface. Shared as `Arc<Sandbox>`.
pub struct Sandbox {
    proto: Box<dyn Protocol>,
    credentials: Credentials,
    clock: SandboxClock,
    time_scale: f64,
    base_url: String,
    world: Mutex<World>,
    faults: RwLock<FaultConfig>,
    carrier: RwLock<CarrierSettings>,
    limiter: Mutex<RateLimiter>,
    calls: Mutex<HashMap<&'static str, u64>>,
    fault_rng: Mutex<StdRng>,
    injects: std::sync::atomic::AtomicBool,
    webhooks: WebhookQueue,
    deliveries: Mutex<Vec<Delivery>>,
    push_seq: AtomicU64,
    request_seq: AtomicU64,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("marketplace", &self.proto.marketplace())
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the model half-updated in a way that matters
    // more than stopping the sandbox would, so a poisoned lock is simply taken over.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sandbox {
    /// Builds the sandbox for `config`, speaking `proto` (the protocol of the configured
    /// credentials' marketplace, constructed by the caller). Also returns the receiving end of
    /// its push queue, for the webhook dispatcher the caller starts.
    pub(crate) fn new(
        config: &SandboxConfig,
        base_url: String,
        proto: Box<dyn Protocol>,
    ) -> (Arc<Sandbox>, UnboundedReceiver<Outgoing>) {
        let seed_rng = |salt: u64| match config.seed {
            Some(s) => StdRng::seed_from_u64(s ^ salt),
            None => StdRng::from_entropy(),
        };
        let mut world = World::new(seed_rng(0));
        world.app_push_url = config.push_url.clone();
        world.redirect_url = config.redirect_url.clone();
        let (queue, rx) = webhook::channel();
        let sandbox = Arc::new(Sandbox {
            proto,
            credentials: config.credentials.clone(),
            clock: SandboxClock::new(Arc::clone(&config.clock)),
            time_scale: config.time_scale,
            base_url,
            world: Mutex::new(world),
            faults: RwLock::new(FaultConfig::default()),
            carrier: RwLock::new(CarrierSettings::default()),
            limiter: Mutex::new(RateLimiter::default()),
            calls: Mutex::new(HashMap::new()),
            fault_rng: Mutex::new(seed_rng(0x5eed)),
            // The default faults are the marketplace's rate limits.
            injects: std::sync::atomic::AtomicBool::new(true),
            webhooks: queue,
            deliveries: Mutex::new(Vec::new()),
            push_seq: AtomicU64::new(0),
            request_seq: AtomicU64::new(0),
        });
        (sandbox, rx)
    }

    pub fn marketplace(&self) -> Marketplace {
        self.proto.marketplace()
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn clock(&self) -> &SandboxClock {
        &self.clock
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    pub(crate) fn proto(&self) -> &dyn Protocol {
        self.proto.as_ref()
    }

    /// The marketplace's rules as the model consults them.
    pub(crate) fn rules(&self) -> &dyn Rules {
        self.proto.rules()
    }

    /// Runs `f` on the state under the lock, then renders and queues the webhook pushes the
    /// change caused. Pushes are rendered inside the lock so they carry the state of that moment.
    pub(crate) fn with_world<R>(&self, f: impl FnOnce(&mut World, Timestamp) -> R) -> R {
        let now = self.clock.now();
        let mut w = lock(&self.world);
        let r = f(&mut w, now);
        if !w.events.is_empty() {
            let events = std::mem::take(&mut w.events);
            for ev in &events {
                let seq = self.push_seq.fetch_add(1, Ordering::Relaxed) + 1;
                for msg in self.proto.render_push(&w, &self.credentials, ev, now, seq) {
                    self.webhooks.enqueue(msg);
                }
            }
        }
        r
    }

    /// A request id unique within this sandbox.
    pub(crate) fn next_request_seq(&self) -> u64 {
        self.request_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    // ---- call pipeline ------------------------------------------------------------------

    /// Counts a call to `endpoint` and applies latency and injected failures.
    pub(crate) async fn before_call(&self, endpoint: &'static str) -> Option<Injected> {
        *lock(&self.calls).entry(endpoint).or_insert(0) += 1;
        if !self.injects.load(Ordering::Relaxed) {
            return None;
        }
        let f = self.faults();
        if f.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
        }
        if !f.injects_errors() {
            return None;
        }
        let roll: f64 = self.fault_rng().gen();
        if roll < f.error_rate {
            return Some(Injected::ServerError);
        }
        if roll < f.error_rate + f.timeout_rate {
            tokio::time::sleep(Duration::from_millis(f.timeout_hold_ms())).await;
            return Some(Injected::Timeout);
        }
        None
    }

    /// Whether this call exceeds the per-(shop, API) limit in force: `Some(seconds)` the
    /// refusal lasts (the ban, or 1 where the marketplace only refuses the excess).
    pub(crate) fn rate_limited(&self, shop_id: u64, endpoint: &str) -> Option<u32> {
        if !self.injects.load(Ordering::Relaxed) {
            return None;
        }
        let limit = self.faults().rate_limit(self.proto.rate_limit())?;
        lock(&self.limiter).hit(shop_id, endpoint, self.clock.now().millis(), limit)
    }

    pub(crate) fn fault_rng(&self) -> MutexGuard<'_, StdRng> {
        lock(&self.fault_rng)
    }

    pub(crate) fn acknowledges(&self, status: u16) -> bool {
        self.proto.acknowledges(status)
    }

    pub(crate) fn record_delivery(&self, d: Delivery) {
        lock(&self.deliveries).push(d);
    }

    pub(crate) fn add_lost_push(&self, mut lost: LostPush) {
        let mut w = lock(&self.world);
        lost.message_id = w.next_seq();
        w.lost_pushes.push(lost);
    }

    // ---- public control surface ---------------------------------------------------------

    pub fn faults(&self) -> FaultConfig {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_faults(&self, faults: FaultConfig) {
        self.clock.set_skew_secs(faults.clock_skew_secs);
        let any = faults.latency_ms > 0 || faults.injects_errors() || !faults.rate_limit_off;
        // New limits count from now: calls made under the old ones do not use up the new budget.
        *lock(&self.limiter) = RateLimiter::default();
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = faults;
        self.injects.store(any, Ordering::Relaxed);
    }

    pub fn create_shop(&self, spec: &CreateShop) -> Result<ShopView, SandboxError> {
        self.with_world(|w, now| w.create_shop(spec, self.rules(), now))
    }

    pub fn add_product(&self, shop_id: u64, spec: &ProductSpec) -> Result<ShopView, SandboxError> {
        self.with_world(|w, now| {
            w.add_product(shop_id, spec, self.rules(), now)?;
            w.shop_view(shop_id, self.rules())
        })
    }

    pub fn shop(&self, shop_id: u64) -> Result<ShopView, SandboxError> {
        self.with_world(|w, _| w.shop_view(shop_id, self.rules()))
    }

    pub fn shops(&self) -> Vec<ShopView> {
        self.with_world(|w, _| {
            let ids: Vec<u64> = w.shops.keys().copied().collect();
            ids.into_iter()
                .filter_map(|id| w.shop_view(id, self.rules()).ok())
                .collect()
        })
    }

    /// Every SKU of the shop as buyers see it now.
    pub fn listings(&self, shop_id: u64) -> Result<Vec<ListingView>, SandboxError> {
        self.with_world(|w, _| w.listings(shop_id, self.rules()))
    }

    /// The listing of one seller SKU.
    pub fn listing(&self, shop_id: u64, seller_sku: &str) -> Result<ListingView, SandboxError> {
        self.listings(shop_id)?
            .into_iter()
            .find(|l| l.seller_sku == seller_sku)
            .ok_or_else(|| SandboxError::SkuNotFound(seller_sku.to_owned()))
    }

    /// A seller edit made outside the API (Seller Center): sets one warehouse's stock.
    pub fn set_stock(
        &self,
        shop_id: u64,
        seller_sku: &str,
        warehouse: Option<&str>,
        quantity: i64,
    ) -> Result<ListingView, SandboxError> {
        self.with_world(|w, now| {
            let (pid, vid) = w.find_variant(shop_id, Some(seller_sku), None)?;
            let wh = match warehouse {
                Some(wh) => wh.to_owned(),
                None => w
                    .shop(shop_id)?
                    .warehouses
                    .first()
                    .cloned()
                    .unwrap_or_default(),
            };
            w.set_stock(pid, vid, &wh, quantity, now)
        })?;
        self.listing(shop_id, seller_sku)
    }

    /// Sets the promotion-reserved stock of a SKU; the seller API then refuses to go below it.
    pub fn set_reservation(
        &self,
        shop_id: u64,
        seller_sku: &str,
        reserved: i64,
    ) -> Result<ListingView, SandboxError> {
        self.with_world(|w, now| w.set_reservation(shop_id, seller_sku, reserved, now))?;
        self.listing(shop_id, seller_sku)
    }

    /// Approves the consent page headlessly: issues a single-use code and says where the
    /// seller's browser would be redirected.
    pub fn authorize(&self, req: &AuthorizeRequest) -> Result<AuthorizeResult, SandboxError> {
        self.with_world(|w, now| {
            let redirect = self
                .proto
                .consent_redirect(req.redirect.as_deref(), w.redirect_url.as_deref());
            let code = w.issue_code(req.shop_id, self.proto.code_lifetime_ms(), now)?;
            w.grant(&[req.shop_id], self.proto.authorization_lifetime_ms(), now);
            let redirect_url = redirect.map(|r| {
                self.proto
                    .approved_redirect(&r, &code, req.shop_id, req.state.as_deref())
            });
            Ok(AuthorizeResult {
                code,
                shop_id: req.shop_id,
                redirect_url,
            })
        })
    }

    /// Authorizes a shop and issues an access/refresh token pair directly, with the
    /// marketplace's real lifetimes, skipping the OAuth round trip (benches, engine tests).
    pub fn mint_tokens(&self, shop_id: u64) -> Result<(String, String), SandboxError> {
        self.with_world(|w, now| {
            w.shop(shop_id)?;
            w.grant(&[shop_id], self.proto.authorization_lifetime_ms(), now);
            let IssuedTokens {
                access,
                refresh,
                access_ms,
                refresh_expires_ms,
            } = self.proto.issue_tokens(w, shop_id, now)?;
            w.record_tokens(
                shop_id,
                &access,
                &refresh,
                now.millis() + access_ms,
                refresh_expires_ms,
            );
            Ok((access, refresh))
        })
    }

    /// The seller revokes the app (pushes the deauthorization event).
    pub fn deauthorize(&self, shop_id: u64) -> Result<(), SandboxError> {
        self.with_world(|w, _| w.deauthorize(shop_id))
    }

    /// Fault: expire every access token of the shop now. Returns how many were live.
    pub fn expire_tokens(&self, shop_id: u64) -> Result<usize, SandboxError> {
        self.with_world(|w, now| w.expire_tokens(shop_id, now))
    }

    /// A buyer places an order; the listing's stock drops at once.
    pub fn place_order(&self, shop_id: u64, req: &PlaceOrder) -> Result<OrderView, SandboxError> {
        self.with_world(|w, now| w.place_order(shop_id, req, self.rules(), now))
    }

    pub fn advance_order(
        &self,
        order_id: &str,
        action: OrderAction,
    ) -> Result<OrderView, SandboxError> {
        self.with_world(|w, now| w.advance(order_id, action, None, self.rules(), now))
    }

    pub fn order(&self, order_id: &str) -> Result<OrderView, SandboxError> {
        self.with_world(|w, _| w.order_view(order_id, self.rules()))
    }

    /// Orders, oldest first, of one shop or of all.
    pub fn orders(&self, shop_id: Option<u64>) -> Vec<OrderView> {
        self.with_world(|w, _| {
            let mut ids: Vec<(i64, String)> = w
                .orders
                .values()
                .filter(|o| shop_id.is_none_or(|s| o.shop_id == s))
                .map(|o| (o.create_ms, o.id.clone()))
                .collect();
            ids.sort();
            ids.into_iter()
                .filter_map(|(_, id)| w.order_view(&id, self.rules()).ok())
                .collect()
        })
    }

    /// Units sold per shop and seller SKU.
    pub fn sales(&self) -> BTreeMap<u64, BTreeMap<String, SkuSales>> {
        self.with_world(|w, _| w.sales.clone())
    }

    /// Calls per endpoint (`METHOD /path`, path parameters as `{name}`).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.calls)
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }

    pub fn reset_calls(&self) {
        lock(&self.calls).clear();
    }

    /// Every webhook delivery attempt so far, in the order they were made.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.deliveries).clone()
    }

    pub fn set_buyers(&self, shop_id: u64, settings: BuyerSettings) -> Result<(), SandboxError> {
        self.with_world(|w, _| {
            let shop = w
                .shops
                .get_mut(&shop_id)
                .ok_or(SandboxError::ShopNotFound(shop_id))?;
            shop.buyers = settings;
            shop.buyer_credit = 0.0;
            Ok(())
        })
    }

    /// How the carrier and buyers move orders on after shipment (off by default).
    pub fn set_carrier(&self, settings: CarrierSettings) {
        *self.carrier.write().unwrap_or_else(|e| e.into_inner()) = settings;
    }

    pub fn carrier(&self) -> CarrierSettings {
        *self.carrier.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The app-level push URL (Shopee callback URL / TikTok Partner Center webhook URL).
    pub fn set_push_url(&self, url: Option<String>) {
        self.with_world(|w, _| w.app_push_url = url);
    }

    /// TikTok: the app's registered redirect URL used by the consent page.
    pub fn set_redirect_url(&self, url: Option<String>) {
        self.with_world(|w, _| w.redirect_url = url);
    }

    /// Evaluates time-driven events now (authorization expiry warnings, due buyer cancels, the
    /// carrier's due steps).
    pub fn tick(&self) {
        let carrier = self.carrier();
        self.with_world(|w, now| {
            crate::carrier::carry(w, self.rules(), now, &carrier, self.time_scale);
            w.tick(self.rules(), now)
        });
    }
}
