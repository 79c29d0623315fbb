//! Shopee client against the Shopee sandbox.
//!
//! Every test starts its own sandbox in-process on port 0 and points a real
//! [`ShopeeClient`] at it. Both share one `ManualClock`, so token lifetimes,
//! the ±300 s timestamp window and the 15-day order window move only when a
//! test moves the clock. Waits (webhook deliveries) are bounded by a timeout;
//! nothing sleeps for readiness.

// The helpers below are test code outside `#[test]` functions: a panic there is a test failure
// with a clear message, exactly as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use futures_util::TryStreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::{
    listing_stream, AuthCallback, AuthorizedShop, CancelReason, CancelRequest, Channel,
    ChannelError, ExtOrderId, ExtShopId, ExtVariantId, FailureReason, Handover, HttpSettings,
    Listing, ListingId, ListingQuery, ListingStatus, PageCursor, PriceUpdate, Secret, ShipRequest,
    ShopCredentials, ShopRef, StockUpdate, TimeRange, TokenSet, UpdateOutcome, UpdateResult,
    WarehouseId, WarehouseStock, WebhookEvent, WebhookEventKind, WebhookRequest,
};
use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, Currency, Money, OrderStatus, Timestamp};
use storesync_sandbox::{
    AuthorizeRequest, CreateShop, FaultConfig, OrderAction, OrderLineSpec, PlaceOrder, PriceInput,
    ProductSpec, ShopView, StockInput, VariantSpec,
};

use crate::harness::{self, Harness, Hooks};

/// The sandbox's default partner (the fact sheet's test credentials).
const PARTNER_ID: i64 = 2_001_887;
const PARTNER_KEY: &str = "test_partner_key_0001";
/// 2025-01-01T00:00:00Z: a fixed start so order_sn dates and windows are reproducible.
const START_MS: i64 = 1_735_689_600_000;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const CALLBACK: &str = "https://seller.example/shopee/callback";

const ITEM_LIST: &str = "GET /api/v2/product/get_item_list";
const ITEM_BASE_INFO: &str = "GET /api/v2/product/get_item_base_info";
const MODEL_LIST: &str = "GET /api/v2/product/get_model_list";
const UPDATE_STOCK: &str = "POST /api/v2/product/update_stock";
const UPDATE_PRICE: &str = "POST /api/v2/product/update_price";
const ORDER_LIST: &str = "GET /api/v2/order/get_order_list";
const ORDER_DETAIL: &str = "GET /api/v2/order/get_order_detail";
const TOKEN_REFRESH: &str = "POST /api/v2/auth/access_token/get";

// ---- harness ----------------------------------------------------------------------------------

/// A clock a fixed distance from the shared manual clock (a client whose clock is off).
#[derive(Debug)]
struct OffsetClock {
    base: Arc<ManualClock>,
    offset_ms: i64,
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        self.base.now().plus_millis(self.offset_ms)
    }
}

/// The Shopee sandbox and client in the shared environment.
pub struct Shopee;

impl Harness for Shopee {
    type Client = ShopeeClient;
    const SANDBOX: storesync_sandbox::Marketplace = storesync_sandbox::Marketplace::Shopee;
    const SECRET: &'static str = PARTNER_KEY;
    const SEED: u64 = 11;
    const LISTING_PAGE_CALL: &'static str = ITEM_LIST;
    const ORDER_PAGE_CALL: &'static str = ORDER_LIST;
    const ORDER_DETAIL_CALL: &'static str = ORDER_DETAIL;
    const ORDER_LIST_HAS_STATUS: bool = true;
    const UNKNOWN_ORDER_ID: &'static str = "250101UNKNOWN";
    const TOKEN_REFRESH_CALL: Option<&'static str> = Some(TOKEN_REFRESH);
    const WRONG_SIGNATURE_CODE: Option<&'static str> = Some("error_sign");
    const TIMESTAMP_WINDOW_SECS: (i64, i64) = (300, 300);
    const STALE_TIMESTAMP_CODE: Option<&'static str> = Some("error_param");
    const TOKEN_EXPIRED_CODE: &'static str = "invalid_acceess_token";
    const REFUSED_REFRESH_CODE: Option<&'static str> = None;
    const FORGED_REFRESH_TOKEN: &'static str = "forged-refresh-token";
    const REFRESH_KEEPS_AUTHORIZATION_END: bool = false;
    const SERVER_ERROR_MARK: Option<&'static str> = None;
    const TIMEOUT_MARK: Option<&'static str> = None;
    const RATE_LIMIT_RETRY_AFTER: Option<Duration> = None;
    const BELOW_RESERVED_CODE: Option<&'static str> = None;
    const NOT_FOUND_CODE: Option<&'static str> = None;
    const UNKNOWN_VARIANT_REASON: FailureReason = FailureReason::Other;
    const UNKNOWN_IDS: (&'static str, &'static str) = ("999999999", "999999999");
    const BURST: usize = 60;
    const BURST_TAKES_SECS: u64 = 0;
    const STATUS_AFTER_SHIP: &'static str = "PROCESSED";
    const TRACKING_PREFIX: Option<&'static str> = Some("SPXID");
    const SHIPMENT_REPORTS_TRACKING: bool = true;
    const DETAILS_REPORT_TRACKING: bool = false;
    const CARRIER: Option<&'static str> = None;
    const STATUS_AFTER_CANCEL: &'static str = "CANCELLED";
    const CANCEL_STATUS: Option<&'static str> = None;
    const CANCEL_RETURNS_ID: bool = false;
    const SHIPPED: &'static [OrderAction] = &[OrderAction::Ship, OrderAction::Pickup];
    const OUT_OF_STOCK_REASON: Option<&'static str> = Some("OUT_OF_STOCK");
    const PUSH_PATH: &'static str = "/hooks/shopee";

    fn start_at() -> Timestamp {
        Timestamp::from_millis(START_MS)
    }

    fn client(
        base_url: &str,
        secret: &str,
        clock: Arc<dyn Clock>,
        http: HttpSettings,
    ) -> ShopeeClient {
        let mut config =
            ShopeeConfig::new(PARTNER_ID, Secret::new(secret.to_owned())).with_base_url(base_url);
        config.http = http;
        ShopeeClient::new(config, clock).unwrap()
    }

    fn shop_ref(view: &ShopView) -> ShopRef {
        shop_ref(view.shop_id)
    }

    fn variant_ref(view: &ShopView, seller_sku: &str) -> (ListingId, ExtVariantId) {
        let listing = view.products.iter().find(|p| {
            p.item_sku == seller_sku || p.variants.iter().any(|v| v.seller_sku == seller_sku)
        });
        let listing = listing.unwrap();
        // An item without models is one variant with model_id 0.
        let model = listing
            .variants
            .iter()
            .find(|v| v.seller_sku == seller_sku)
            .map_or(0, |v| v.model_id);
        (listing_id(listing.product_id), variant_id(model))
    }

    fn listing_walk_calls(listings: usize) -> Vec<(&'static str, u64)> {
        // One list call per page of 50 (an empty shop still takes one), one
        // base-info call per non-empty page, no model calls without models.
        let pages = listings.div_ceil(50) as u64;
        vec![
            (ITEM_LIST, pages.max(1)),
            (ITEM_BASE_INFO, pages),
            (MODEL_LIST, 0),
        ]
    }

    fn is_order_push(push: &serde_json::Value, order_id: &str) -> bool {
        push["code"] == 3 && push["data"]["ordersn"] == order_id
    }

    fn doc_push_signature(secret: &str, url: &str, body: &[u8]) -> String {
        // HMAC-SHA256(partner_key, url + "|" + body), hex.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(url.as_bytes());
        mac.update(b"|");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn timeout_fault() -> (FaultConfig, HttpSettings) {
        let fault = FaultConfig {
            timeout_rate: 1.0,
            timeout_ms: 2_000,
            ..FaultConfig::default()
        };
        let impatient = HttpSettings {
            timeout: Duration::from_millis(200),
            ..HttpSettings::default()
        };
        (fault, impatient)
    }
}

type Env = harness::Env<Shopee>;

/// A shop the client holds tokens for.
struct Connected {
    shop: ShopRef,
    creds: ShopCredentials,
    tokens: TokenSet,
}

impl Env {
    fn create_shop(
        &self,
        name: &str,
        region: &str,
        warehouses: Option<&[&str]>,
        products: Vec<ProductSpec>,
    ) -> ShopView {
        self.sb()
            .create_shop(&CreateShop {
                name: Some(name.to_owned()),
                region: Some(region.to_owned()),
                warehouses: warehouses.map(|w| w.iter().map(|s| (*s).to_owned()).collect()),
                products,
                ..CreateShop::default()
            })
            .unwrap()
    }

    /// Headless Approve on the sandbox, then the client's code exchange.
    async fn connect(&self, shop_id: u64) -> Connected {
        let approved = self
            .sb()
            .authorize(&AuthorizeRequest {
                shop_id,
                redirect: Some(CALLBACK.to_owned()),
                state: None,
            })
            .unwrap();
        let callback = callback_from(approved.redirect_url.as_deref().unwrap());
        let auth = self.client.exchange_code(&callback).await.unwrap();
        let shop = shop_ref(shop_id);
        assert_eq!(auth.shops.len(), 1);
        assert_eq!(auth.shops[0].shop, shop);
        Connected {
            creds: ShopCredentials {
                shop: shop.clone(),
                access_token: auth.tokens.access_token.clone(),
            },
            shop,
            tokens: auth.tokens,
        }
    }

    fn order(&self, shop_id: u64, lines: &[(&str, i64)]) -> String {
        self.place_lines(shop_id, lines, false)
    }

    fn place_lines(&self, shop_id: u64, lines: &[(&str, i64)], unpaid: bool) -> String {
        self.sb()
            .place_order(
                shop_id,
                &PlaceOrder {
                    lines: lines
                        .iter()
                        .map(|(sku, quantity)| OrderLineSpec {
                            seller_sku: Some((*sku).to_owned()),
                            variant_id: None,
                            quantity: *quantity,
                        })
                        .collect(),
                    unpaid,
                    commerce_platform: None,
                },
            )
            .unwrap()
            .order_id
    }

    fn advance_order(&self, order_id: &str, actions: &[OrderAction]) {
        for action in actions {
            self.sb().advance_order(order_id, *action).unwrap();
        }
    }

    fn stock_of(&self, shop_id: u64, sku: &str) -> i64 {
        self.sb().listing(shop_id, sku).unwrap().total_stock
    }
}

fn shop_ref(shop_id: u64) -> ShopRef {
    ShopRef::new(ExtShopId::new(shop_id.to_string()))
}

fn listing_id(id: u64) -> ListingId {
    ListingId::new(id.to_string())
}

fn variant_id(id: u64) -> ExtVariantId {
    ExtVariantId::new(id.to_string())
}

fn sgd(minor: i64) -> Money {
    Money::new(minor, "SGD".parse::<Currency>().unwrap())
}

fn callback_from(location: &str) -> AuthCallback {
    let url = url::Url::parse(location).unwrap();
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    AuthCallback::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap()
}

/// A listing without variants (Shopee: an item without models, model_id 0).
fn item(name: &str, sku: &str, price: &str, stock: i64) -> ProductSpec {
    ProductSpec {
        name: name.to_owned(),
        item_sku: Some(sku.to_owned()),
        price: Some(PriceInput::Text(price.to_owned())),
        stock: Some(StockInput::Total(stock)),
        ..ProductSpec::default()
    }
}

fn variant(sku: &str, price: &str, stock: StockInput, reserved: i64) -> VariantSpec {
    VariantSpec {
        seller_sku: sku.to_owned(),
        name: None,
        price: PriceInput::Text(price.to_owned()),
        stock,
        reserved,
    }
}

/// A listing with `n` models `PREFIX-000`, `PREFIX-001`, ...
fn with_models(name: &str, prefix: &str, n: usize, price: &str, stock: i64) -> ProductSpec {
    ProductSpec {
        name: name.to_owned(),
        variants: (0..n)
            .map(|i| {
                variant(
                    &format!("{prefix}-{i:03}"),
                    price,
                    StockInput::Total(stock),
                    0,
                )
            })
            .collect(),
        ..ProductSpec::default()
    }
}

/// The signer straight from the fact sheet (§1.4), not the production function:
/// HMAC-SHA256(partner_key, partner_id + path + timestamp [+ access_token + shop_id]), hex.
fn doc_sign(path: &str, timestamp: i64, token_and_shop: Option<(&str, u64)>) -> String {
    let mut base = format!("{PARTNER_ID}{path}{timestamp}");
    if let Some((token, shop)) = token_and_shop {
        base.push_str(token);
        base.push_str(&shop.to_string());
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(PARTNER_KEY.as_bytes()).unwrap();
    mac.update(base.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn doc_push_sign(url: &str, body: &[u8]) -> String {
    Shopee::doc_push_signature(PARTNER_KEY, url, body)
}

async fn shop_info(
    client: &ShopeeClient,
    creds: &ShopCredentials,
) -> Result<Vec<AuthorizedShop>, ChannelError> {
    client
        .authorized_shops(&creds.access_token, Some(&creds.shop))
        .await
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Walks every page with the stream helper the engine uses.
async fn all_listings(env: &Env, creds: &ShopCredentials, query: ListingQuery) -> Vec<Listing> {
    listing_stream(env.channel(), creds.clone(), query)
        .try_collect()
        .await
        .unwrap()
}

fn applied(results: &[UpdateResult]) -> bool {
    results.iter().all(|r| r.outcome == UpdateOutcome::Applied)
}

fn rejection(result: &UpdateResult) -> (FailureReason, String) {
    match &result.outcome {
        UpdateOutcome::Rejected(f) => (f.reason, f.message.clone()),
        UpdateOutcome::Applied | UpdateOutcome::CallFailed(_) => {
            panic!("expected a rejection, got {result:?}")
        }
    }
}

// ---- authorization ----------------------------------------------------------------------------

#[tokio::test]
async fn authorize_url_consent_page_approve_exchange_code_and_authorized_shops_round_trip() {
    let env = Env::start().await;
    let shop = env.create_shop("Kedai Sandbox", "MY", None, vec![]);
    let shop_s = shop.shop_id.to_string();

    let url = env
        .client
        .authorize_url(&format!("{CALLBACK}?tenant=7"), "csrf-123")
        .unwrap();
    assert!(url.as_str().starts_with(&env.server.base_url()));
    assert_eq!(url.path(), "/api/v2/shop/auth_partner");
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["partner_id"], PARTNER_ID.to_string());
    assert_eq!(q["timestamp"], env.now_secs().to_string());
    assert_eq!(
        q["sign"],
        doc_sign("/api/v2/shop/auth_partner", env.now_secs(), None),
        "the consent link is signed as the docs say"
    );

    // The seller's browser opens the link: the sandbox checks its signature and shows the page.
    let http = no_redirects();
    let page = http.get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Approve") && html.contains(&shop_s), "{html}");

    // ...picks the shop and presses Approve: the form posts back and is redirected.
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("redirect", &q["redirect"])
        .append_pair("action", "auth")
        .append_pair("shop_id", &shop_s)
        .append_pair("decision", "approve")
        .finish();
    let approved = http
        .post(format!(
            "{}/__sandbox/consent/shopee",
            env.server.base_url()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 302);
    let location = approved.headers()["location"].to_str().unwrap().to_owned();
    let back = url::Url::parse(&location).unwrap();
    assert_eq!(back.host_str(), Some("seller.example"));
    assert_eq!(back.path(), "/shopee/callback");
    assert!(back.query_pairs().any(|(k, v)| k == "tenant" && v == "7"));
    let callback = callback_from(&location);
    assert_eq!(callback.state.as_deref(), Some("csrf-123"));
    assert_eq!(callback.shop_id, Some(ExtShopId::new(shop_s.clone())));

    let auth = env.client.exchange_code(&callback).await.unwrap();
    let expected = vec![AuthorizedShop {
        shop: shop_ref(shop.shop_id),
        name: Some("Kedai Sandbox".to_owned()),
        region: Some("MY".to_owned()),
    }];
    assert_eq!(auth.shops, expected);
    assert_eq!(
        auth.tokens.access_expires_at,
        env.now().plus_millis(4 * HOUR * 1000)
    );
    assert_eq!(
        auth.tokens.refresh_expires_at,
        Some(env.now().plus_millis(30 * DAY * 1000))
    );

    let shops = env
        .client
        .authorized_shops(&auth.tokens.access_token, Some(&shop_ref(shop.shop_id)))
        .await
        .unwrap();
    assert_eq!(shops, expected);
    let no_shop = env
        .client
        .authorized_shops(&auth.tokens.access_token, None)
        .await
        .unwrap_err();
    assert!(
        matches!(no_shop, ChannelError::Config { .. }),
        "{no_shop:?}"
    );

    // Codes are single use.
    let again = env.client.exchange_code(&callback).await.unwrap_err();
    assert!(
        matches!(&again, ChannelError::Invalid { code, .. } if code == "invalid_code"),
        "{again:?}"
    );
}

#[tokio::test]
async fn consent_link_is_valid_for_five_minutes_only() {
    let env = Env::start().await;
    env.create_shop("Shop", "SG", None, vec![]);
    let http = no_redirects();
    let url = env.client.authorize_url(CALLBACK, "s").unwrap();

    env.advance_secs(299);
    let page = http.get(url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Approve"));

    env.advance_secs(2);
    let stale: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(stale["error"], "error_param", "{stale}");
    assert_eq!(stale["message"], "Invalid timestamp", "{stale}");
}

#[tokio::test]
async fn authorization_code_expires_after_ten_minutes() {
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![]);
    let approve = || {
        let r = env
            .sb()
            .authorize(&AuthorizeRequest {
                shop_id: shop.shop_id,
                redirect: Some(CALLBACK.to_owned()),
                state: None,
            })
            .unwrap();
        callback_from(r.redirect_url.as_deref().unwrap())
    };

    let fresh = approve();
    env.advance_secs(599);
    assert!(env.client.exchange_code(&fresh).await.is_ok());

    let stale = approve();
    env.advance_secs(601);
    let err = env.client.exchange_code(&stale).await.unwrap_err();
    assert!(
        matches!(&err, ChannelError::Invalid { code, .. } if code == "invalid_code"),
        "{err:?}"
    );
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_a_reused_refresh_token_is_unauthorized() {
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![]);
    let c = env.connect(shop.shop_id).await;
    env.advance_secs(60);

    let second = env
        .client
        .refresh_token(&c.shop, &c.tokens.refresh_token)
        .await
        .unwrap();
    assert_ne!(second.access_token.expose(), c.tokens.access_token.expose());
    assert_ne!(
        second.refresh_token.expose(),
        c.tokens.refresh_token.expose()
    );
    assert_eq!(
        second.access_expires_at,
        env.now().plus_millis(4 * HOUR * 1000)
    );
    env.client
        .authorized_shops(&second.access_token, Some(&c.shop))
        .await
        .unwrap();

    // The first refresh token is dead: reusing it is refused, and refreshing cannot fix that.
    let reused = env
        .client
        .refresh_token(&c.shop, &c.tokens.refresh_token)
        .await
        .unwrap_err();
    assert!(
        matches!(&reused, ChannelError::Unauthorized { code, message }
            if code == "error_auth" && message == "Invalid refresh_token."),
        "{reused:?}"
    );
    assert!(!reused.needs_token_refresh() && !reused.is_retryable());

    // The rotated one works exactly once too.
    let third = env
        .client
        .refresh_token(&c.shop, &second.refresh_token)
        .await
        .unwrap();
    env.client
        .authorized_shops(&third.access_token, Some(&c.shop))
        .await
        .unwrap();
    let reused = env
        .client
        .refresh_token(&c.shop, &second.refresh_token)
        .await
        .unwrap_err();
    assert!(
        matches!(reused, ChannelError::Unauthorized { .. }),
        "{reused:?}"
    );
}

#[tokio::test]
async fn refresh_token_of_another_shop_is_unauthorized() {
    let env = Env::start().await;
    let a = env.create_shop("A", "SG", None, vec![]);
    let b = env.create_shop("B", "SG", None, vec![]);
    let ca = env.connect(a.shop_id).await;
    let err = env
        .client
        .refresh_token(&shop_ref(b.shop_id), &ca.tokens.refresh_token)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Unauthorized { .. }), "{err:?}");
    // ...and the failed attempt did not burn it for its own shop.
    env.client
        .refresh_token(&ca.shop, &ca.tokens.refresh_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn old_access_token_keeps_working_five_minutes_after_a_refresh() {
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![]);
    let c = env.connect(shop.shop_id).await;
    let new = env
        .client
        .refresh_token(&c.shop, &c.tokens.refresh_token)
        .await
        .unwrap();

    env.advance_secs(299);
    env.client
        .authorized_shops(&c.tokens.access_token, Some(&c.shop))
        .await
        .unwrap();

    env.advance_secs(2);
    let err = env
        .client
        .authorized_shops(&c.tokens.access_token, Some(&c.shop))
        .await
        .unwrap_err();
    assert!(err.needs_token_refresh(), "{err:?}");
    env.client
        .authorized_shops(&new.access_token, Some(&c.shop))
        .await
        .unwrap();
}

/// An expired token gets Shopee's `invalid_acceess_token` (sic) with its own
/// message; the client reads it as an expired token, so the caller refreshes
/// and retries (the refresh itself is the contract, `contract::auth`).
#[tokio::test]
async fn expired_access_token_is_shopees_misspelt_invalid_acceess_token() {
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![item("Tee", "TEE", "12.50", 10)]);
    let c = env.connect(shop.shop_id).await;
    let query = ListingQuery::default();

    env.advance_secs(4 * HOUR - 1);
    env.client
        .list_listings(&c.creds, &query, None)
        .await
        .unwrap();

    env.advance_secs(2);
    let err = env
        .client
        .list_listings(&c.creds, &query, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::TokenExpired { code, message }
            if code == "invalid_acceess_token" && message == "Invalid access_token."),
        "{err:?}"
    );
    assert!(err.needs_token_refresh());
}

// ---- listings ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_listing_cursor_is_the_offset_of_the_next_page() {
    // Walking every page is the contract (`contract::paging`); the cursor's form is Shopee's.
    let env = Env::start().await;
    let products = (0..121)
        .map(|i| item(&format!("Item {i}"), &format!("IT-{i:03}"), "1.00", i))
        .collect();
    let shop = env.create_shop("Big", "SG", None, products);
    let c = env.connect(shop.shop_id).await;

    let first = env
        .client
        .list_listings(&c.creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(first.listings.len(), 50);
    assert_eq!(first.next, Some(PageCursor("50".to_owned())));
}

#[tokio::test]
async fn list_listings_reads_variants_skus_stock_per_warehouse_reservations_and_prices() {
    let env = Env::start().await;
    let cap = ProductSpec {
        name: "Cap".to_owned(),
        variants: vec![
            variant(
                "CAP-RED",
                "19.90",
                StockInput::PerWarehouse(BTreeMap::from([
                    ("SGZ".to_owned(), 4),
                    ("SGN".to_owned(), 6),
                ])),
                2,
            ),
            variant("CAP-BLUE", "21", StockInput::Total(0), 0),
        ],
        ..ProductSpec::default()
    };
    let mut old = item("Old tee", "OLD", "5.05", 3);
    old.listed = Some(false);
    let shop = env.create_shop(
        "Wear",
        "SG",
        Some(&["SGZ", "SGN"]),
        vec![item("Tee", "TEE", "12.50", 10), cap, old],
    );
    let c = env.connect(shop.shop_id).await;
    env.sb().reset_calls();

    let all = all_listings(&env, &c.creds, ListingQuery::default()).await;
    assert_eq!(all.len(), 3);
    assert_eq!(env.calls(MODEL_LIST), 1, "only the item with models");

    let tee = &all[0];
    assert_eq!(tee.listing_id, listing_id(shop.products[0].product_id));
    assert_eq!(tee.title, "Tee");
    assert_eq!(tee.status, ListingStatus::Active);
    assert_eq!(tee.marketplace_status, "NORMAL");
    assert_eq!(tee.updated_at, Some(env.now()));
    assert_eq!(tee.variants.len(), 1);
    let v = &tee.variants[0];
    assert_eq!(
        v.variant_id,
        ExtVariantId::new("0"),
        "no models: model_id 0"
    );
    assert_eq!(v.seller_sku, "TEE");
    assert_eq!(v.sku.as_ref().map(|s| s.as_str()), Some("TEE"));
    assert_eq!(v.price, Some(sgd(1250)));
    assert_eq!(v.reserved, Some(0));
    assert_eq!(
        v.stock,
        vec![
            WarehouseStock {
                warehouse_id: Some(WarehouseId::new("SGZ")),
                quantity: 10
            },
            WarehouseStock {
                warehouse_id: Some(WarehouseId::new("SGN")),
                quantity: 0
            },
        ]
    );

    let cap = &all[1];
    let spec = &shop.products[1];
    assert_eq!(cap.variants.len(), 2);
    let red = &cap.variants[0];
    assert_eq!(red.variant_id, variant_id(spec.variants[0].model_id));
    assert_eq!(red.seller_sku, "CAP-RED");
    assert_eq!(red.price, Some(sgd(1990)));
    assert_eq!(red.reserved, Some(2));
    assert_eq!(red.total_stock(), 10);
    assert_eq!(
        red.stock,
        vec![
            WarehouseStock {
                warehouse_id: Some(WarehouseId::new("SGZ")),
                quantity: 4
            },
            WarehouseStock {
                warehouse_id: Some(WarehouseId::new("SGN")),
                quantity: 6
            },
        ]
    );
    let blue = &cap.variants[1];
    assert_eq!(blue.variant_id, variant_id(spec.variants[1].model_id));
    assert_eq!(blue.price, Some(sgd(2100)));
    assert_eq!(blue.total_stock(), 0);

    let old = &all[2];
    assert_eq!(old.status, ListingStatus::Inactive);
    assert_eq!(old.marketplace_status, "UNLIST");
    assert_eq!(old.variants[0].price, Some(sgd(505)));
}

#[tokio::test]
async fn prices_of_zero_and_two_decimal_currencies_arrive_in_minor_units() {
    let env = Env::start().await;
    let id = env.create_shop("Toko", "ID", None, vec![item("Kaos", "KAOS", "150000", 1)]);
    let vn = env.create_shop("Cua hang", "VN", None, vec![item("Ao", "AO", "25000", 1)]);
    let cid = env.connect(id.shop_id).await;
    let cvn = env.connect(vn.shop_id).await;

    let idr = all_listings(&env, &cid.creds, ListingQuery::default()).await;
    assert_eq!(
        idr[0].variants[0].price,
        Some(Money::new(15_000_000, "IDR".parse().unwrap())),
        "IDR has two minor digits"
    );
    let vnd = all_listings(&env, &cvn.creds, ListingQuery::default()).await;
    assert_eq!(
        vnd[0].variants[0].price,
        Some(Money::new(25_000, "VND".parse().unwrap())),
        "VND has none"
    );
}

// ---- stock and prices -------------------------------------------------------------------------

#[tokio::test]
async fn update_stock_splits_items_into_calls_of_at_most_50_models_and_changes_the_sandbox() {
    let env = Env::start().await;
    let shop = env.create_shop(
        "Socks",
        "SG",
        None,
        vec![
            with_models("Sock", "SOCK", 120, "3.00", 1),
            with_models("Glove", "GLOVE", 50, "4.00", 1),
        ],
    );
    let c = env.connect(shop.shop_id).await;
    let mut updates = Vec::new();
    let mut want = Vec::new();
    for p in &shop.products {
        for (i, v) in p.variants.iter().enumerate() {
            let quantity = 10 + i as u32;
            updates.push(StockUpdate {
                listing_id: listing_id(p.product_id),
                variant_id: variant_id(v.model_id),
                warehouse_id: None,
                quantity,
            });
            want.push((v.seller_sku.clone(), i64::from(quantity)));
        }
    }
    env.sb().reset_calls();

    let results = env.client.update_stock(&c.creds, &updates).await.unwrap();
    assert_eq!(results.len(), updates.len());
    assert!(applied(&results), "{results:?}");
    for (r, u) in results.iter().zip(&updates) {
        assert_eq!(
            (&r.listing_id, &r.variant_id),
            (&u.listing_id, &u.variant_id)
        );
    }
    // 120 models: 50 + 50 + 20; 50 models: exactly one call.
    assert_eq!(env.calls(UPDATE_STOCK), 4);
    for (sku, quantity) in want {
        assert_eq!(env.stock_of(shop.shop_id, &sku), quantity, "{sku}");
    }
}

#[tokio::test]
async fn update_stock_sets_each_warehouse_of_a_multi_location_seller_in_one_call() {
    let env = Env::start().await;
    let shop = env.create_shop(
        "Two warehouses",
        "SG",
        Some(&["SGZ", "SGN"]),
        vec![item("Tee", "TEE", "12.50", 1)],
    );
    let c = env.connect(shop.shop_id).await;
    let listing = listing_id(shop.products[0].product_id);
    let at = |warehouse: Option<&str>, quantity: u32| StockUpdate {
        listing_id: listing.clone(),
        variant_id: ExtVariantId::new("0"),
        warehouse_id: warehouse.map(WarehouseId::new),
        quantity,
    };
    env.sb().reset_calls();

    let results = env
        .client
        .update_stock(&c.creds, &[at(Some("SGZ"), 4), at(Some("SGN"), 6)])
        .await
        .unwrap();
    assert!(applied(&results), "{results:?}");
    assert_eq!(results[0].warehouse_id, Some(WarehouseId::new("SGZ")));
    assert_eq!(results[1].warehouse_id, Some(WarehouseId::new("SGN")));
    assert_eq!(env.calls(UPDATE_STOCK), 1);
    let view = env.sb().listing(shop.shop_id, "TEE").unwrap();
    assert_eq!(
        view.stock,
        BTreeMap::from([("SGN".to_owned(), 6), ("SGZ".to_owned(), 4)])
    );

    // A multi-location seller must name the location.
    let results = env
        .client
        .update_stock(&c.creds, &[at(None, 1)])
        .await
        .unwrap();
    assert!(matches!(results[0].outcome, UpdateOutcome::Rejected(_)));
    assert_eq!(env.stock_of(shop.shop_id, "TEE"), 10);
}

#[tokio::test]
async fn update_prices_splits_batches_and_sets_prices_in_minor_units() {
    let env = Env::start().await;
    let shop = env.create_shop(
        "Hats",
        "SG",
        None,
        vec![
            with_models("Hat", "HAT", 60, "10.00", 5),
            item("Pin", "PIN", "1.50", 5),
        ],
    );
    let c = env.connect(shop.shop_id).await;
    let hat = &shop.products[0];
    let mut updates: Vec<PriceUpdate> = hat
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| PriceUpdate {
            listing_id: listing_id(hat.product_id),
            variant_id: variant_id(v.model_id),
            price: sgd(2000 + i as i64),
        })
        .collect();
    updates.push(PriceUpdate {
        listing_id: listing_id(shop.products[1].product_id),
        variant_id: ExtVariantId::new("0"),
        price: sgd(199),
    });
    env.sb().reset_calls();

    let results = env.client.update_prices(&c.creds, &updates).await.unwrap();
    assert_eq!(results.len(), updates.len());
    assert!(applied(&results), "{results:?}");
    assert_eq!(env.calls(UPDATE_PRICE), 3, "60 models: 50 + 10; one item");
    assert_eq!(
        env.sb().listing(shop.shop_id, "HAT-005").unwrap().price,
        "20.05"
    );
    assert_eq!(env.sb().listing(shop.shop_id, "PIN").unwrap().price, "1.99");

    let all = all_listings(&env, &c.creds, ListingQuery::default()).await;
    for (i, v) in all[0].variants.iter().enumerate() {
        assert_eq!(v.price, Some(sgd(2000 + i as i64)), "{}", v.seller_sku);
    }
    assert_eq!(all[1].variants[0].price, Some(sgd(199)));
}

#[tokio::test]
async fn update_prices_with_cents_in_an_integer_price_region_is_rejected_per_update() {
    let env = Env::start().await;
    let shop = env.create_shop("Toko", "ID", None, vec![item("Kaos", "KAOS", "150000", 1)]);
    let c = env.connect(shop.shop_id).await;
    let idr: Currency = "IDR".parse().unwrap();
    let at = |minor: i64| PriceUpdate {
        listing_id: listing_id(shop.products[0].product_id),
        variant_id: ExtVariantId::new("0"),
        price: Money::new(minor, idr),
    };

    let results = env
        .client
        .update_prices(&c.creds, &[at(16_000_000)])
        .await
        .unwrap();
    assert!(applied(&results), "{results:?}");
    assert_eq!(
        env.sb().listing(shop.shop_id, "KAOS").unwrap().price,
        "160000"
    );

    let results = env
        .client
        .update_prices(&c.creds, &[at(16_000_050)])
        .await
        .unwrap();
    assert_eq!(rejection(&results[0]).0, FailureReason::Other);
    let all = all_listings(&env, &c.creds, ListingQuery::default()).await;
    assert_eq!(all[0].variants[0].price, Some(Money::new(16_000_000, idr)));
}

// ---- orders -----------------------------------------------------------------------------------

fn mug_shop(env: &Env) -> ShopView {
    env.create_shop(
        "Mugs",
        "SG",
        None,
        vec![
            item("Mug", "MUG", "12.50", 100_000),
            ProductSpec {
                name: "Tee".to_owned(),
                variants: vec![
                    variant("TEE-M", "8.00", StockInput::Total(100_000), 0),
                    variant("TEE-L", "9.00", StockInput::Total(100_000), 0),
                ],
                ..ProductSpec::default()
            },
        ],
    )
}

#[tokio::test]
async fn changed_orders_splits_a_40_day_range_into_15_day_windows_and_returns_each_order_once() {
    let env = Env::start().await;
    let shop = mug_shop(&env);
    let start = env.now();
    let mut placed = Vec::new();
    // Day 0, 10, 15 (exactly on a window boundary), 25, 39.
    for gap in [0, 10, 5, 10, 14] {
        env.advance_secs(gap * DAY);
        placed.push(env.order(shop.shop_id, &[("MUG", 1)]));
    }
    let c = env.connect(shop.shop_id).await;
    env.sb().reset_calls();

    let range = TimeRange::new(start, start.plus_millis(40 * DAY * 1000));
    let changed = env.client.changed_orders(&c.creds, range).await.unwrap();
    let got: HashSet<&str> = changed.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(changed.len(), placed.len(), "each order once: {changed:?}");
    assert_eq!(got, placed.iter().map(String::as_str).collect());
    assert!(changed
        .iter()
        .all(|o| o.status == Some(OrderStatus::ReadyToShip) && o.detail.is_none()));
    // 15 + 15 + 10 days; the sandbox refuses any window over 15 days.
    assert_eq!(env.calls(ORDER_LIST), 3);

    // A sub-range sees only its own orders.
    let middle = TimeRange::new(
        start.plus_millis(16 * DAY * 1000),
        start.plus_millis(26 * DAY * 1000),
    );
    let changed = env.client.changed_orders(&c.creds, middle).await.unwrap();
    assert_eq!(
        changed
            .iter()
            .map(|o| o.order_id.as_str())
            .collect::<Vec<_>>(),
        vec![placed[3].as_str()]
    );
}

#[tokio::test]
async fn order_details_fetches_120_orders_in_three_calls_and_maps_lines_money_and_packages() {
    let env = Env::start().await;
    let shop = mug_shop(&env);
    let mug = &shop.products[0];
    let tee = &shop.products[1];
    let ids: Vec<String> = (0..120)
        .map(|i| {
            if i % 2 == 0 {
                env.order(shop.shop_id, &[("MUG", 2)])
            } else {
                env.order(shop.shop_id, &[("TEE-M", 1), ("MUG", 1)])
            }
        })
        .collect();
    let c = env.connect(shop.shop_id).await;
    let mut wanted: Vec<ExtOrderId> = ids.iter().map(|i| ExtOrderId::new(i.as_str())).collect();
    wanted.push(ExtOrderId::new(ids[0].as_str()));
    wanted.push(ExtOrderId::new("250101NOSUCHID"));
    env.sb().reset_calls();

    let orders = env.client.order_details(&c.creds, &wanted).await.unwrap();
    assert_eq!(orders.len(), 120, "duplicates and unknown ids left out");
    assert_eq!(env.calls(ORDER_DETAIL), 3, "50 + 50 + 21 ids");
    let got: HashSet<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect());

    let by_id: HashMap<&str, &storesync_channels::Order> =
        orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    let first = by_id[ids[0].as_str()];
    let view = env.sb().order(&ids[0]).unwrap();
    assert_eq!(first.status, OrderStatus::ReadyToShip);
    assert_eq!(first.marketplace_status, "READY_TO_SHIP");
    assert_eq!(first.placed_on, storesync_channels::Marketplace::Shopee);
    assert_eq!(
        first.created_at,
        Timestamp::from_millis(view.create_time * 1000)
    );
    assert_eq!(first.paid_at, Some(first.created_at));
    assert_eq!(first.currency, Some("SGD".parse().unwrap()));
    assert_eq!(first.total, Some(sgd(2500)));
    assert!(!first.cancel_requested);
    assert_eq!(first.lines.len(), 1);
    let line = &first.lines[0];
    assert_eq!(line.listing_id, listing_id(mug.product_id));
    assert_eq!(line.variant_id, ExtVariantId::new("0"));
    assert_eq!(line.seller_sku, "MUG");
    assert_eq!(line.quantity, 2);
    assert_eq!(line.unit_price, Some(sgd(1250)));
    assert_eq!(line.line_ids.len(), 1);
    assert_eq!(first.packages.len(), 1);
    assert_eq!(
        first.packages[0].package_id.as_ref().map(|p| p.as_str()),
        Some(view.package_id.as_str())
    );
    assert_eq!(first.packages[0].status.as_deref(), Some("LOGISTICS_READY"));

    let second = by_id[ids[1].as_str()];
    assert_eq!(second.total, Some(sgd(800 + 1250)));
    assert_eq!(second.lines.len(), 2);
    let tee_line = &second.lines[0];
    assert_eq!(tee_line.listing_id, listing_id(tee.product_id));
    assert_eq!(tee_line.variant_id, variant_id(tee.variants[0].model_id));
    assert_eq!(tee_line.seller_sku, "TEE-M");
    assert_eq!(tee_line.sku.as_ref().map(|s| s.as_str()), Some("TEE-M"));
    assert_eq!(tee_line.unit_price, Some(sgd(800)));
}

#[tokio::test]
async fn every_order_status_the_sandbox_produces_maps_to_the_domain_status() {
    let env = Env::start().await;
    let shop = mug_shop(&env);
    use OrderAction::*;
    let cases: Vec<(Vec<OrderAction>, bool, &str, OrderStatus)> = vec![
        (vec![], true, "UNPAID", OrderStatus::Pending),
        (vec![], false, "READY_TO_SHIP", OrderStatus::ReadyToShip),
        (
            vec![BuyerCancel],
            false,
            "IN_CANCEL",
            OrderStatus::ReadyToShip,
        ),
        (vec![Ship], false, "PROCESSED", OrderStatus::ReadyToShip),
        (vec![Ship, Pickup], false, "SHIPPED", OrderStatus::Shipped),
        (
            vec![Ship, Pickup, Deliver],
            false,
            "TO_CONFIRM_RECEIVE",
            OrderStatus::Delivered,
        ),
        (
            vec![Ship, Pickup, Deliver, Complete],
            false,
            "COMPLETED",
            OrderStatus::Completed,
        ),
        (
            vec![SellerCancel],
            false,
            "CANCELLED",
            OrderStatus::Cancelled,
        ),
        (vec![BuyerCancel], true, "CANCELLED", OrderStatus::Cancelled),
    ];
    let mut ids = Vec::new();
    for (actions, unpaid, raw, _) in &cases {
        let id = env.place_lines(shop.shop_id, &[("MUG", 1)], *unpaid);
        env.advance_order(&id, actions);
        assert_eq!(&env.sb().order(&id).unwrap().status, raw);
        ids.push(id);
    }
    let c = env.connect(shop.shop_id).await;

    let now = env.now();
    let range = TimeRange::new(now.plus_millis(-60_000), now.plus_millis(60_000));
    let changed = env.client.changed_orders(&c.creds, range).await.unwrap();
    let listed: HashMap<String, Option<OrderStatus>> = changed
        .into_iter()
        .map(|o| (o.order_id.to_string(), o.status))
        .collect();
    let wanted: Vec<ExtOrderId> = ids.iter().map(|i| ExtOrderId::new(i.as_str())).collect();
    let details = env.client.order_details(&c.creds, &wanted).await.unwrap();
    let detailed: HashMap<&str, &storesync_channels::Order> =
        details.iter().map(|o| (o.order_id.as_str(), o)).collect();
    for (id, (_, _, raw, status)) in ids.iter().zip(&cases) {
        assert_eq!(listed[id], Some(*status), "{raw} in the order list");
        let order = detailed[id.as_str()];
        assert_eq!(order.marketplace_status, *raw);
        assert_eq!(order.status, *status, "{raw} in the order detail");
        assert_eq!(order.cancel_requested, *raw == "IN_CANCEL", "{raw}");
    }
}

#[tokio::test]
async fn ship_order_arranges_pickup_and_returns_the_tracking_number_the_sandbox_assigned() {
    let env = Env::start().await;
    let shop = mug_shop(&env);
    let id = env.order(shop.shop_id, &[("MUG", 1)]);
    let c = env.connect(shop.shop_id).await;
    env.sb().reset_calls();

    let shipment = env
        .client
        .ship_order(
            &c.creds,
            &ShipRequest {
                order_id: ExtOrderId::new(id.as_str()),
                package_id: None,
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap();
    let view = env.sb().order(&id).unwrap();
    assert_eq!(view.status, "PROCESSED");
    let tracking = view.tracking_number.clone().unwrap();
    assert!(tracking.starts_with("SPXID"), "{tracking}");
    assert_eq!(shipment.packages.len(), 1);
    assert_eq!(
        shipment.packages[0].tracking_number.as_deref(),
        Some(tracking.as_str())
    );
    for key in [
        "GET /api/v2/logistics/get_shipping_parameter",
        "POST /api/v2/logistics/ship_order",
        "GET /api/v2/logistics/get_tracking_number",
    ] {
        assert_eq!(env.calls(key), 1, "{key}");
    }

    let order = &env
        .client
        .order_details(&c.creds, &[ExtOrderId::new(id.as_str())])
        .await
        .unwrap()[0];
    assert_eq!(order.marketplace_status, "PROCESSED");
    assert_eq!(order.status, OrderStatus::ReadyToShip);
    assert_eq!(
        order.packages[0].status.as_deref(),
        Some("LOGISTICS_REQUEST_CREATED")
    );

    // The carrier collects it: the client sees it shipped.
    env.advance_order(&id, &[OrderAction::Pickup]);
    let order = &env
        .client
        .order_details(&c.creds, &[ExtOrderId::new(id.as_str())])
        .await
        .unwrap()[0];
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.marketplace_status, "SHIPPED");

    // Arranging shipment twice is refused.
    let again = env
        .client
        .ship_order(
            &c.creds,
            &ShipRequest {
                order_id: ExtOrderId::new(id.as_str()),
                package_id: None,
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(again, ChannelError::Invalid { .. }), "{again:?}");
}

#[tokio::test]
async fn ship_order_by_drop_off_with_a_seller_tracking_number_and_package_number() {
    let env = Env::start().await;
    let shop = mug_shop(&env);
    let id = env.order(shop.shop_id, &[("TEE-L", 2)]);
    let package = env.sb().order(&id).unwrap().package_id;
    let c = env.connect(shop.shop_id).await;

    let shipment = env
        .client
        .ship_order(
            &c.creds,
            &ShipRequest {
                order_id: ExtOrderId::new(id.as_str()),
                package_id: Some(storesync_channels::PackageId::new(package.as_str())),
                handover: Handover::DropOff,
                tracking_number: Some("OWN-CARRIER-42".to_owned()),
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap();
    let view = env.sb().order(&id).unwrap();
    assert_eq!(view.status, "PROCESSED");
    // The sandbox's channel is integrated (it asks for no tracking number), so the number the
    // client reports is the one the marketplace holds.
    assert_eq!(
        shipment.packages[0].tracking_number, view.tracking_number,
        "{shipment:?}"
    );
    assert_eq!(
        shipment.packages[0].package_id.as_ref().map(|p| p.as_str()),
        Some(package.as_str())
    );
}

#[tokio::test]
async fn cancel_order_out_of_stock_names_every_line_cancels_and_restocks() {
    let env = Env::start().await;
    let shop = mug_shop(&env);
    let id = env.order(shop.shop_id, &[("MUG", 2), ("TEE-M", 3)]);
    let (mug_before, tee_before) = (
        env.stock_of(shop.shop_id, "MUG"),
        env.stock_of(shop.shop_id, "TEE-M"),
    );
    let c = env.connect(shop.shop_id).await;
    env.sb().reset_calls();

    let cancellation = env
        .client
        .cancel_order(
            &c.creds,
            &CancelRequest {
                order_id: ExtOrderId::new(id.as_str()),
                reason: CancelReason::OutOfStock,
                lines: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(cancellation.cancel_id, None);
    assert_eq!(env.calls(ORDER_DETAIL), 1, "the lines were read first");
    assert_eq!(env.calls("POST /api/v2/order/cancel_order"), 1);
    let view = env.sb().order(&id).unwrap();
    assert_eq!(view.status, "CANCELLED");
    assert_eq!(view.cancel_by.as_deref(), Some("seller"));
    assert_eq!(env.stock_of(shop.shop_id, "MUG"), mug_before + 2);
    assert_eq!(env.stock_of(shop.shop_id, "TEE-M"), tee_before + 3);

    let order = &env
        .client
        .order_details(&c.creds, &[ExtOrderId::new(id.as_str())])
        .await
        .unwrap()[0];
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.cancel_reason.as_deref(), Some("OUT_OF_STOCK"));

    // Undeliverable area needs no item list; a shipped order cannot be cancelled.
    let other = env.order(shop.shop_id, &[("MUG", 1)]);
    env.client
        .cancel_order(
            &c.creds,
            &CancelRequest {
                order_id: ExtOrderId::new(other.as_str()),
                reason: CancelReason::UndeliverableArea,
                lines: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(env.sb().order(&other).unwrap().status, "CANCELLED");
    let shipped = env.order(shop.shop_id, &[("MUG", 1)]);
    env.advance_order(&shipped, &[OrderAction::Ship, OrderAction::Pickup]);
    let err = env
        .client
        .cancel_order(
            &c.creds,
            &CancelRequest {
                order_id: ExtOrderId::new(shipped.as_str()),
                reason: CancelReason::OutOfStock,
                lines: vec![(
                    listing_id(shop.products[0].product_id),
                    ExtVariantId::new("0"),
                )],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Invalid { .. }), "{err:?}");
    assert_eq!(env.sb().order(&shipped).unwrap().status, "SHIPPED");
}

// ---- signing, time and faults -----------------------------------------------------------------

#[tokio::test]
async fn a_signer_written_from_the_docs_is_accepted_by_the_sandbox() {
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![item("Tee", "TEE", "12.50", 10)]);
    let c = env.connect(shop.shop_id).await;
    let token = c.tokens.access_token.expose().clone();
    let http = reqwest::Client::new();
    let ts = env.now_secs();
    let signed = |path: &str| {
        format!(
            "{}{path}?partner_id={PARTNER_ID}&timestamp={ts}&access_token={token}&shop_id={}&sign={}",
            env.server.base_url(),
            shop.shop_id,
            doc_sign(path, ts, Some((&token, shop.shop_id)))
        )
    };

    let info: serde_json::Value = http
        .get(signed("/api/v2/shop/get_shop_info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["error"], "", "{info}");
    assert_eq!(info["shop_name"], "Shop");

    // POST: the body is not signed.
    let body = serde_json::json!({"item_id": shop.products[0].product_id,
        "stock_list": [{"model_id": 0, "seller_stock": [{"stock": 3}]}]});
    let answer: serde_json::Value = http
        .post(signed("/api/v2/product/update_stock"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["error"], "", "{answer}");
    assert_eq!(env.stock_of(shop.shop_id, "TEE"), 3);

    // One bit off and the sandbox refuses.
    let mut tampered = signed("/api/v2/shop/get_shop_info");
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let refused: serde_json::Value = http
        .get(tampered)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"], "error_sign", "{refused}");
}

#[tokio::test]
async fn a_client_with_the_wrong_partner_key_gets_shopees_wrong_sign_error() {
    // The class and the refresh token surviving are the contract (`contract::signing`).
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![]);
    let c = env.connect(shop.shop_id).await;
    let wrong = env.other_client(
        "not_the_partner_key",
        env.clock.clone(),
        HttpSettings::default(),
    );

    let err = wrong
        .authorized_shops(&c.tokens.access_token, Some(&c.shop))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Signature { code, message }
            if code == "error_sign" && message == "Wrong sign."),
        "{err:?}"
    );
    assert!(!err.is_retryable() && !err.needs_token_refresh());
}

#[tokio::test]
async fn a_timestamp_more_than_five_minutes_off_is_a_signature_error() {
    let env = Env::start().await;
    let shop = env.create_shop("Shop", "SG", None, vec![]);
    let c = env.connect(shop.shop_id).await;
    let stale = |err: &ChannelError| {
        matches!(err, ChannelError::Signature { code, message }
            if code == "error_param" && message == "Invalid timestamp")
    };

    // The sandbox's clock runs ahead or behind (fault injection).
    for (skew, ok) in [(299, true), (301, false), (-299, true), (-301, false)] {
        env.sb().set_faults(FaultConfig {
            clock_skew_secs: skew,
            ..FaultConfig::default()
        });
        match shop_info(&env.client, &c.creds).await {
            Ok(_) => assert!(ok, "skew {skew}s accepted"),
            Err(e) => assert!(!ok && stale(&e), "skew {skew}s: {e:?}"),
        }
    }
    env.sb().set_faults(FaultConfig::default());

    // The client's clock is off.
    for (offset, ok) in [(299, true), (301, false), (-301, false)] {
        let clock = Arc::new(OffsetClock {
            base: env.clock.clone(),
            offset_ms: offset * 1000,
        });
        let skewed = env.other_client(PARTNER_KEY, clock, HttpSettings::default());
        match shop_info(&skewed, &c.creds).await {
            Ok(_) => assert!(ok, "offset {offset}s accepted"),
            Err(e) => assert!(!ok && stale(&e), "offset {offset}s: {e:?}"),
        }
    }
}

#[tokio::test]
async fn the_token_of_one_shop_used_for_another_shop_is_unauthorized() {
    let env = Env::start().await;
    let a = env.create_shop("A", "SG", None, vec![item("Tee", "TEE", "1.00", 1)]);
    let b = env.create_shop("B", "SG", None, vec![item("Cap", "CAP", "1.00", 1)]);
    let ca = env.connect(a.shop_id).await;
    env.connect(b.shop_id).await;

    for shop in [shop_ref(b.shop_id), shop_ref(999_999)] {
        let wrong = ShopCredentials {
            shop,
            access_token: ca.tokens.access_token.clone(),
        };
        let err = env
            .client
            .list_listings(&wrong, &ListingQuery::default(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ChannelError::Unauthorized { code, .. } if code == "error_auth"),
            "{err:?}"
        );
        assert!(!err.needs_token_refresh());
    }
    let not_a_number = ShopCredentials {
        shop: ShopRef::new("shop-a"),
        access_token: ca.tokens.access_token.clone(),
    };
    let err = env
        .client
        .list_listings(&not_a_number, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Config { .. }), "{err:?}");
}

// ---- webhooks ---------------------------------------------------------------------------------

fn verify(env: &Env, url: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), ChannelError> {
    env.client
        .verify_webhook(&WebhookRequest { url, headers, body })
}

#[tokio::test]
async fn order_pushes_are_verified_and_parsed_into_typed_events() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/hooks/shopee").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let shop = mug_shop(&env);
    let c = env.connect(shop.shop_id).await;

    let id = env.order(shop.shop_id, &[("MUG", 1)]);
    let (headers, body) = hooks
        .wait_for("order status", |v| {
            v["code"] == 3 && v["data"]["ordersn"] == id.as_str()
        })
        .await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    assert_eq!(
        headers["authorization"].to_str().unwrap(),
        doc_push_sign(&hooks.url, &body)
    );
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(
        events,
        vec![WebhookEvent {
            shop_id: Some(ExtShopId::new(shop.shop_id.to_string())),
            notification_id: None,
            occurred_at: Some(env.now()),
            kind: WebhookEventKind::OrderStatusChanged {
                order_id: ExtOrderId::new(id.as_str()),
                status: OrderStatus::ReadyToShip,
                marketplace_status: "READY_TO_SHIP".to_owned(),
            },
        }]
    );

    // Shipping through the client pushes the new status and the tracking number.
    env.client
        .ship_order(
            &c.creds,
            &ShipRequest {
                order_id: ExtOrderId::new(id.as_str()),
                package_id: None,
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap();
    let (headers, body) = hooks
        .wait_for("processed", |v| {
            v["code"] == 3
                && v["data"]["ordersn"] == id.as_str()
                && v["data"]["status"] == "PROCESSED"
        })
        .await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    assert!(matches!(
        &env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::OrderStatusChanged { status: OrderStatus::ReadyToShip, marketplace_status, .. }
            if marketplace_status == "PROCESSED"
    ));
    let (headers, body) = hooks
        .wait_for("tracking number", |v| {
            v["code"] == 4 && v["data"]["ordersn"] == id.as_str()
        })
        .await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::OrderChanged {
            order_id: ExtOrderId::new(id.as_str())
        }
    );
}

#[tokio::test]
async fn a_signature_for_another_url_is_rejected_and_signed_junk_verifies_but_does_not_parse() {
    // Tampered, re-serialized, unsigned and wrongly keyed pushes are the contract
    // (`contract::webhooks`); Shopee also signs the callback URL.
    let env = Env::start().await;
    let mut hooks = Hooks::start("/hooks/shopee").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let shop = mug_shop(&env);
    let id = env.order(shop.shop_id, &[("MUG", 1)]);
    let (headers, body) = hooks
        .wait_for("order status", |v| {
            v["code"] == 3 && v["data"]["ordersn"] == id.as_str()
        })
        .await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    let rejected =
        |r: Result<(), ChannelError>| matches!(r, Err(ChannelError::WebhookRejected { .. }));

    let mut wrong = headers.clone();
    wrong.insert(
        "authorization",
        doc_push_sign("http://elsewhere.example/hooks", &body)
            .parse()
            .unwrap(),
    );
    assert!(rejected(verify(&env, &hooks.url, &wrong, &body)));
    assert!(rejected(verify(
        &env,
        &format!("{}/", hooks.url),
        &headers,
        &body
    )));

    // Correctly signed but malformed: verification passes, parsing refuses.
    for junk in [
        &b"not json"[..],
        br#"{"code":3,"shop_id":1,"data":{"status":"READY_TO_SHIP"}}"#,
    ] {
        let mut signed = HeaderMap::new();
        signed.insert(
            "authorization",
            doc_push_sign(&hooks.url, junk).parse().unwrap(),
        );
        verify(&env, &hooks.url, &signed, junk).unwrap();
        let err = env.client.parse_webhook(junk).unwrap_err();
        assert!(
            matches!(err, ChannelError::WebhookRejected { .. }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn authorization_reservation_and_deauthorization_pushes_parse_into_typed_events() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/hooks/shopee").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let shop = mug_shop(&env);
    let shop_id = ExtShopId::new(shop.shop_id.to_string());
    env.connect(shop.shop_id).await;

    let (headers, body) = hooks
        // Partner-level push: the partner at top level, the shop inside `data`.
        .wait_for("shop authorization", |v| {
            v["code"] == 1 && v["partner_id"] == PARTNER_ID && v.get("shop_id").is_none()
        })
        .await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(
        events[0].kind,
        WebhookEventKind::Authorized {
            shop_ids: vec![shop_id.clone()]
        }
    );

    env.sb().set_reservation(shop.shop_id, "TEE-L", 4).unwrap();
    let (headers, body) = hooks.wait_for("reserved stock", |v| v["code"] == 8).await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(events[0].shop_id, Some(shop_id.clone()));
    assert_eq!(
        events[0].kind,
        WebhookEventKind::ListingChanged {
            listing_id: Some(listing_id(shop.products[1].product_id)),
            variant_id: Some(variant_id(shop.products[1].variants[1].model_id)),
        }
    );

    env.sb().deauthorize(shop.shop_id).unwrap();
    let (headers, body) = hooks.wait_for("deauthorization", |v| v["code"] == 2).await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(events[0].shop_id, Some(shop_id));
    assert_eq!(events[0].kind, WebhookEventKind::Deauthorized);
}

#[tokio::test]
async fn authorization_expiry_push_names_the_shop_and_when_its_authorization_ends() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/hooks/shopee").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let shop = env.create_shop("Shop", "SG", None, vec![]);
    let granted = env.now();
    env.connect(shop.shop_id).await;

    // Seven days before the 365-day authorization ends, Shopee warns (push code 12).
    env.advance_secs(358 * DAY + 1);
    env.sb().tick();
    let (headers, body) = hooks
        .wait_for("authorization expiry", |v| v["code"] == 12)
        .await;
    verify(&env, &hooks.url, &headers, &body).unwrap();
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(
        events,
        vec![WebhookEvent {
            shop_id: Some(ExtShopId::new(shop.shop_id.to_string())),
            notification_id: None,
            occurred_at: Some(env.now()),
            kind: WebhookEventKind::AuthorizationExpiring {
                expires_at: Some(granted.plus_millis(365 * DAY * 1000)),
            },
        }]
    );
}
