//! TikTok Shop client against the TikTok Shop sandbox.
//!
//! Every test starts its own sandbox on port 0 with a `ManualClock` that the
//! sandbox and the real `TikTokClient` share, so token expiry and the
//! timestamp window move only when a test says so. Nothing sleeps for
//! readiness: the sandbox is bound before `start` returns, and webhooks are
//! awaited on a channel with a timeout.

// The helpers below are test code outside `#[test]` functions: a panic there is a test failure
// with a clear message, exactly as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::TryStreamExt;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use storesync_channels::tiktok::{TikTokClient, TikTokConfig};
use storesync_channels::{
    listing_stream, with_token_refresh, AuthCallback, CancelReason, CancelRequest, Channel,
    ChannelError, ExtOrderId, ExtVariantId, FailureReason, Handover, HttpSettings, ListingId,
    ListingQuery, ListingStatus, Marketplace, PriceUpdate, Secret, ShipRequest, ShopCredentials,
    ShopRef, StockUpdate, UpdateOutcome, WarehouseId, WebhookEventKind, WebhookRequest,
};
use storesync_domain::{Clock, Currency, Money, OrderStatus, SystemClock, Timestamp};
use storesync_sandbox::{AuthorizeRequest, CreateShop, FaultConfig, OrderAction, ShopView};

use crate::harness::{self, Harness, Hooks};

const APP_KEY: &str = "29a39d";
const APP_SECRET: &str = "e59af819cc";
const SERVICE_ID: &str = "7000000000000000001";
const DAY_SECS: i64 = 86_400;

// ---- harness ------------------------------------------------------------------------------

/// The TikTok Shop sandbox and client in the shared environment.
pub struct TikTok;

impl Harness for TikTok {
    type Client = TikTokClient;
    const SANDBOX: storesync_sandbox::Marketplace = storesync_sandbox::Marketplace::TikTok;
    const SECRET: &'static str = APP_SECRET;
    const SEED: u64 = 3;
    const LISTING_PAGE_CALL: &'static str = "POST /product/202309/products/search";
    const ORDER_PAGE_CALL: &'static str = "POST /order/202309/orders/search";
    const ORDER_DETAIL_CALL: &'static str = "GET /order/202309/orders";
    const ORDER_LIST_HAS_STATUS: bool = true;
    const UNKNOWN_ORDER_ID: &'static str = "576486316948999999";
    const TOKEN_REFRESH_CALL: Option<&'static str> = None;
    const WRONG_SIGNATURE_CODE: Option<&'static str> = None;
    const TIMESTAMP_WINDOW_SECS: (i64, i64) = (300, 30);
    const STALE_TIMESTAMP_CODE: Option<&'static str> = Some("36009004");
    const TOKEN_EXPIRED_CODE: &'static str = "105002";
    const REFUSED_REFRESH_CODE: Option<&'static str> = None;
    const FORGED_REFRESH_TOKEN: &'static str = "TTP_forged";
    const REFRESH_KEEPS_AUTHORIZATION_END: bool = true;
    const SERVER_ERROR_MARK: Option<&'static str> = Some("36009003");
    const TIMEOUT_MARK: Option<&'static str> = Some("36009007");
    const RATE_LIMIT_RETRY_AFTER: Option<Duration> = None;
    const BELOW_RESERVED_CODE: Option<&'static str> = Some("12052393");
    const NOT_FOUND_CODE: Option<&'static str> = None;
    const UNKNOWN_VARIANT_REASON: FailureReason = FailureReason::NotFound;
    const UNKNOWN_IDS: (&'static str, &'static str) =
        ("1729592969712999999", "1729592969713999999");
    const BURST: usize = 70;
    const STATUS_AFTER_SHIP: &'static str = "AWAITING_COLLECTION";
    const TRACKING_PREFIX: Option<&'static str> = None;
    const SHIPMENT_REPORTS_TRACKING: bool = false;
    const DETAILS_REPORT_TRACKING: bool = true;
    const CARRIER: Option<&'static str> = Some("J&T Express");
    const STATUS_AFTER_CANCEL: &'static str = "CANCELLED";
    const CANCEL_STATUS: Option<&'static str> = Some("CANCELLATION_REQUEST_COMPLETE");
    const CANCEL_RETURNS_ID: bool = true;
    const SHIPPED: &'static [OrderAction] = &[OrderAction::Ship];
    const OUT_OF_STOCK_REASON: Option<&'static str> = None;
    const PUSH_PATH: &'static str = "/tiktok/hooks";

    fn start_at() -> Timestamp {
        SystemClock.now()
    }

    fn client(
        base_url: &str,
        secret: &str,
        clock: Arc<dyn Clock>,
        http: HttpSettings,
    ) -> TikTokClient {
        let mut config = TikTokConfig::new(APP_KEY, Secret::new(secret.to_owned()), SERVICE_ID)
            .with_base_url(base_url);
        config.http = http;
        TikTokClient::new(config, clock).unwrap()
    }

    fn shop_ref(view: &ShopView) -> ShopRef {
        ShopRef::new(view.shop_id.to_string().as_str()).with_cipher(view.cipher.clone())
    }

    fn variant_ref(view: &ShopView, seller_sku: &str) -> (ListingId, ExtVariantId) {
        (
            ListingId::new(product_of(view, seller_sku).to_string()),
            ExtVariantId::new(variant_of(view, seller_sku).to_string()),
        )
    }

    fn listing_walk_calls(listings: usize) -> Vec<(&'static str, u64)> {
        // One search call per page of 100; an empty shop still takes one.
        vec![(
            Self::LISTING_PAGE_CALL,
            listings.div_ceil(100).max(1) as u64,
        )]
    }

    fn is_order_push(push: &Value, order_id: &str) -> bool {
        push["type"] == 1 && push["data"]["order_id"] == order_id
    }

    fn doc_push_signature(secret: &str, _url: &str, body: &[u8]) -> String {
        // HMAC-SHA256(app_secret, app_key + body), lowercase hex.
        let mut signed = APP_KEY.as_bytes().to_vec();
        signed.extend_from_slice(body);
        hmac_hex(secret, &signed)
    }

    fn timeout_fault() -> (FaultConfig, HttpSettings) {
        let fault = FaultConfig {
            timeout_rate: 1.0,
            timeout_ms: 20,
            ..FaultConfig::default()
        };
        (fault, HttpSettings::default())
    }
}

type Env = harness::Env<TikTok>;

fn client_at(base_url: &str, secret: &str, clock: Arc<dyn Clock>) -> TikTokClient {
    TikTok::client(base_url, secret, clock, HttpSettings::default())
}

fn currency(code: &str) -> Currency {
    code.parse().unwrap()
}

fn variant_of(view: &ShopView, seller_sku: &str) -> u64 {
    view.products
        .iter()
        .flat_map(|p| &p.variants)
        .find(|v| v.seller_sku == seller_sku)
        .unwrap()
        .variant_id
}

fn product_of(view: &ShopView, seller_sku: &str) -> u64 {
    view.products
        .iter()
        .find(|p| p.variants.iter().any(|v| v.seller_sku == seller_sku))
        .unwrap()
        .product_id
}

/// HMAC-SHA256 lowercase hex, written here so nothing trusts the crates' own helpers.
fn hmac_hex(key: &str, msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// The request signature straight from the docs (fact sheet §2.4): drop `sign` and
/// `access_token`, sort by key, `secret + path + k1v1k2v2… + body + secret`, HMAC keyed with
/// the secret.
fn doc_sign(secret: &str, path: &str, query: &[(String, String)], body: &[u8]) -> String {
    let mut pairs: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "sign" && k != "access_token")
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut msg = Vec::new();
    msg.extend_from_slice(secret.as_bytes());
    msg.extend_from_slice(path.as_bytes());
    for (k, v) in pairs {
        msg.extend_from_slice(k.as_bytes());
        msg.extend_from_slice(v.as_bytes());
    }
    msg.extend_from_slice(body);
    msg.extend_from_slice(secret.as_bytes());
    hmac_hex(secret, &msg)
}

/// A signed call made without the client (for HTTP-level assertions the client hides).
async fn raw_call(
    env: &Env,
    method: Method,
    path: &str,
    params: &[(&str, &str)],
    token: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut query: Vec<(String, String)> = vec![
        ("app_key".into(), APP_KEY.into()),
        ("timestamp".into(), (env.now().millis() / 1000).to_string()),
    ];
    query.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let body = body.unwrap_or("");
    let sign = doc_sign(APP_SECRET, path, &query, body.as_bytes());
    query.push(("sign".into(), sign));
    let mut url = url::Url::parse(&format!("{}{path}", env.base())).unwrap();
    url.query_pairs_mut().extend_pairs(query.iter());
    let mut req = env
        .http
        .request(method, url)
        .header("x-tts-access-token", token);
    if !body.is_empty() {
        req = req
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

// ---- a recording, optionally tampering proxy between client and sandbox -------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Nothing,
    /// Adds a space inside the JSON body after it was signed (still valid JSON).
    Body,
    /// Flips the last hex digit of `sign`.
    Sign,
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    token: Option<String>,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    tamper: Arc<Mutex<Tamper>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tamper = *p.tamper.lock().unwrap();
    let mut query: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    p.seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        query: query.clone(),
        body: body.to_vec(),
        token: headers
            .get("x-tts-access-token")
            .map(|v| v.to_str().unwrap().to_owned()),
    });
    let mut body = body.to_vec();
    match tamper {
        Tamper::Nothing => {}
        Tamper::Body => {
            assert_eq!(body.first(), Some(&b'{'), "only JSON bodies are tampered");
            body.insert(1, b' ');
        }
        Tamper::Sign => {
            for (k, v) in &mut query {
                if k == "sign" {
                    let last = if v.ends_with('0') { '1' } else { '0' };
                    v.pop();
                    v.push(last);
                }
            }
        }
    }
    let mut url = url::Url::parse(&format!("{}{}", p.upstream, uri.path())).unwrap();
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter());
    }
    let mut req = p.http.request(method, url).body(body);
    for name in ["x-tts-access-token", "content-type"] {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v.clone());
        }
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    (status, bytes).into_response()
}

impl Proxy {
    async fn start(upstream: String) -> (Proxy, String) {
        let p = Proxy {
            upstream,
            http: reqwest::Client::new(),
            tamper: Arc::new(Mutex::new(Tamper::Nothing)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (p, url)
    }

    fn set(&self, t: Tamper) {
        *self.tamper.lock().unwrap() = t;
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

// ---- a webhook receiver ---------------------------------------------------------------------

fn webhook_request<'a>(headers: &'a HeaderMap, body: &'a [u8], url: &'a str) -> WebhookRequest<'a> {
    WebhookRequest { url, headers, body }
}

// ---- authorization ----------------------------------------------------------------------------

#[tokio::test]
async fn authorize_url_headless_approve_and_code_exchange_yield_tokens_and_shop_cipher() {
    let env = Env::start().await;
    let spec: CreateShop = serde_json::from_value(json!({
        "name": "Toko Sandbox", "region": "ID",
        "products": [{"name": "Kaos", "item_sku": "KAOS-1", "price": "15000", "stock": 5}]
    }))
    .unwrap();
    let view = env.sb().create_shop(&spec).unwrap();
    env.sb()
        .set_redirect_url(Some("https://app.example/tiktok/callback".into()));

    let url = env
        .client
        .authorize_url("https://ignored.example/", "csrf-42")
        .unwrap();
    assert_eq!(url.path(), "/open/authorize");
    let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q.get("service_id").map(String::as_str), Some(SERVICE_ID));
    assert_eq!(q.get("state").map(String::as_str), Some("csrf-42"));
    // The sandbox's consent page accepts the link the client built.
    let page = env.http.get(url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Approve") && html.contains("csrf-42"),
        "{html}"
    );

    // Headless Approve: the sandbox says where the seller's browser goes.
    let approved = env
        .sb()
        .authorize(&AuthorizeRequest {
            shop_id: view.shop_id,
            redirect: None,
            state: Some("csrf-42".into()),
        })
        .unwrap();
    let redirect = url::Url::parse(approved.redirect_url.as_deref().unwrap()).unwrap();
    assert!(redirect
        .as_str()
        .starts_with("https://app.example/tiktok/callback?"));
    let pairs: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
    let callback =
        AuthCallback::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    assert_eq!(callback.state.as_deref(), Some("csrf-42"));

    let now_secs = env.now().millis() / 1000;
    let auth = env.client.exchange_code(&callback).await.unwrap();
    assert_eq!(
        auth.tokens.access_expires_at.millis(),
        (now_secs + 7 * DAY_SECS) * 1000,
        "access_token_expire_in is an absolute unix time 7 days ahead"
    );
    let refresh_end = auth.tokens.refresh_expires_at.unwrap().millis();
    assert!(refresh_end > auth.tokens.access_expires_at.millis());
    assert_eq!(auth.shops.len(), 1);
    let shop = &auth.shops[0];
    assert_eq!(shop.shop.shop_id.as_str(), view.shop_id.to_string());
    assert_eq!(shop.shop.cipher.as_deref(), Some(view.cipher.as_str()));
    assert_eq!(shop.name.as_deref(), Some("Toko Sandbox"));
    assert_eq!(shop.region.as_deref(), Some("ID"));

    // The token and the cipher work on a shop-scoped call.
    let creds = ShopCredentials {
        shop: shop.shop.clone(),
        access_token: auth.tokens.access_token.clone(),
    };
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(page.listings.len(), 1);

    // authorized_shops on its own says the same.
    let shops = env
        .client
        .authorized_shops(&auth.tokens.access_token, None)
        .await
        .unwrap();
    assert_eq!(shops, auth.shops);

    // The code was single use.
    let again = env.client.exchange_code(&callback).await.unwrap_err();
    assert!(
        !again.is_retryable() && !again.needs_token_refresh(),
        "{again:?}"
    );
}

#[tokio::test]
async fn consent_deny_comes_back_as_a_clear_auth_denied_error() {
    let env = Env::start().await;
    let (view, _, _) = env.shop(json!({"name": "Deny shop", "products": []}));
    env.sb()
        .set_redirect_url(Some("https://app.example/cb".into()));
    let resp = env
        .http
        .post(format!("{}/__sandbox/consent/tiktok", env.base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("state=s-1&shop_id={}&decision=deny", view.shop_id))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let location = url::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let err =
        AuthCallback::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap_err();
    match err {
        ChannelError::Invalid { code, .. } => assert_eq!(code, "auth_denied"),
        other => panic!("expected Invalid(auth_denied), got {other:?}"),
    }
}

#[tokio::test]
async fn expired_access_token_is_token_expired_and_with_token_refresh_recovers() {
    let env = Env::start().await;
    let (view, creds, refresh) = env.shop(json!({
        "region": "SG",
        "products": [{"name": "Mug", "item_sku": "MUG-1", "price": "9.90", "stock": 3}]
    }));
    let client = &env.client;
    client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();

    // Seven days and one second later the access token is dead: 105002.
    env.advance_secs(7 * DAY_SECS + 1);
    let err = client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(err.needs_token_refresh(), "{err:?}");
    match &err {
        ChannelError::TokenExpired { code, .. } => assert_eq!(code, "105002"),
        other => panic!("expected TokenExpired, got {other:?}"),
    }

    let refreshed: Arc<Mutex<Option<storesync_channels::TokenSet>>> = Arc::default();
    let attempts = Arc::new(Mutex::new(0));
    let page = with_token_refresh(
        creds.clone(),
        |c| {
            *attempts.lock().unwrap() += 1;
            async move {
                client
                    .list_listings(&c, &ListingQuery::default(), None)
                    .await
            }
        },
        || {
            let refreshed = refreshed.clone();
            let shop = creds.shop.clone();
            let refresh = refresh.clone();
            async move {
                let tokens = client.refresh_token(&shop, &refresh).await?;
                let fresh = ShopCredentials {
                    shop,
                    access_token: tokens.access_token.clone(),
                };
                *refreshed.lock().unwrap() = Some(tokens);
                Ok(fresh)
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(*attempts.lock().unwrap(), 2);
    assert_eq!(page.listings.len(), 1);
    let tokens = refreshed.lock().unwrap().clone().unwrap();
    assert_ne!(tokens.access_token.expose(), creds.access_token.expose());
    assert_eq!(
        tokens.access_expires_at.millis(),
        (env.now().millis() / 1000 + 7 * DAY_SECS) * 1000
    );
    // Refreshing does not extend the authorization (refresh_token_expire_in).
    assert_eq!(
        tokens.refresh_expires_at.unwrap().millis() / 1000,
        env.sb().shop(view.shop_id).unwrap().auth_expire_time
    );
}

// ---- listings -------------------------------------------------------------------------------

fn many_products(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("Item {i}"), "item_sku": format!("ITEM-{i:04}"), "price": "1.00", "stock": i}))
        .collect()
}

#[tokio::test]
async fn list_listings_walks_many_pages_and_reads_skus_warehouse_stock_and_prices() {
    let env = Env::start().await;
    let mut products = many_products(230);
    products.push(json!({
        "name": "Kaos Polos",
        "variants": [
            {"seller_sku": "KAOS-M", "name": "M", "price": "12.34", "stock": {"WH-A": 7, "WH-B": 5}},
            {"seller_sku": "KAOS-L", "name": "L", "price": "0.99", "stock": {"WH-B": 2}}
        ]
    }));
    let (view, creds, _) = env.shop(json!({
        "region": "SG", "warehouses": ["WH-A", "WH-B"], "products": products
    }));
    let channel: Arc<dyn Channel> = Arc::new(client_at(
        &env.base(),
        APP_SECRET,
        env.clock.clone() as Arc<dyn Clock>,
    ));
    let listings: Vec<_> = listing_stream(channel, creds.clone(), ListingQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listings.len(), 231);
    assert_eq!(
        env.calls("POST /product/202309/products/search"),
        3,
        "100 + 100 + 31"
    );
    let ids: HashSet<&str> = listings.iter().map(|l| l.listing_id.as_str()).collect();
    assert_eq!(ids.len(), 231, "every listing exactly once");

    let sgd = currency("SGD");
    let kaos = listings.iter().find(|l| l.title == "Kaos Polos").unwrap();
    assert_eq!(
        kaos.listing_id.as_str(),
        product_of(&view, "KAOS-M").to_string()
    );
    assert_eq!(kaos.status, ListingStatus::Active);
    assert_eq!(kaos.marketplace_status, "ACTIVATE");
    assert_eq!(kaos.variants.len(), 2);
    let m = kaos
        .variants
        .iter()
        .find(|v| v.seller_sku == "KAOS-M")
        .unwrap();
    assert_eq!(
        m.variant_id.as_str(),
        variant_of(&view, "KAOS-M").to_string()
    );
    assert_eq!(m.sku.as_ref().unwrap().as_str(), "KAOS-M");
    assert_eq!(m.price, Some(Money::new(1234, sgd)));
    let mut stock: Vec<(String, i64)> = m
        .stock
        .iter()
        .map(|s| {
            (
                s.warehouse_id.as_ref().unwrap().as_str().to_owned(),
                s.quantity,
            )
        })
        .collect();
    stock.sort();
    assert_eq!(stock, vec![("WH-A".into(), 7), ("WH-B".into(), 5)]);
    assert_eq!(m.total_stock(), 12);
    let l = kaos
        .variants
        .iter()
        .find(|v| v.seller_sku == "KAOS-L")
        .unwrap();
    assert_eq!(l.price, Some(Money::new(99, sgd)));
    assert_eq!(l.total_stock(), 2);
    let item7 = listings.iter().find(|l| l.title == "Item 7").unwrap();
    assert_eq!(item7.variants[0].total_stock(), 7);
    assert_eq!(item7.variants[0].price, Some(Money::new(100, sgd)));
}

#[tokio::test]
async fn list_listings_reads_whole_rupiah_prices_and_unlisted_products() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(json!({
        "region": "ID",
        "products": [
            {"name": "Sepatu", "item_sku": "SPT-1", "price": "150000", "stock": 4},
            {"name": "Topi", "item_sku": "TOPI-1", "price": "25000", "stock": 1, "listed": false}
        ]
    }));
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let idr = currency("IDR");
    let sepatu = page.listings.iter().find(|l| l.title == "Sepatu").unwrap();
    assert_eq!(
        sepatu.variants[0].price,
        Some(Money::new(150_000 * 100, idr))
    );
    let topi = page.listings.iter().find(|l| l.title == "Topi").unwrap();
    assert_eq!(topi.status, ListingStatus::Inactive);
}

// ---- stock and prices -----------------------------------------------------------------------

#[tokio::test]
async fn update_stock_sends_one_call_per_product_with_all_warehouses_and_changes_the_sandbox() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "warehouses": ["WH-A", "WH-B"],
        "products": [
            {"name": "Kaos", "variants": [
                {"seller_sku": "KAOS-M", "price": "10", "stock": {"WH-A": 1, "WH-B": 1}},
                {"seller_sku": "KAOS-L", "price": "10", "stock": {"WH-A": 1, "WH-B": 1}}]},
            {"name": "Mug", "item_sku": "MUG-1", "price": "5", "stock": {"WH-A": 3, "WH-B": 0}}
        ]
    }));
    let upd = |sku: &str, wh: &str, q: u32| StockUpdate {
        listing_id: ListingId::new(product_of(&view, sku).to_string()),
        variant_id: ExtVariantId::new(variant_of(&view, sku).to_string()),
        warehouse_id: Some(WarehouseId::new(wh)),
        quantity: q,
    };
    // Interleaved on purpose: the client groups them per product.
    let updates = vec![
        upd("KAOS-M", "WH-A", 11),
        upd("MUG-1", "WH-A", 30),
        upd("KAOS-L", "WH-A", 21),
        upd("KAOS-M", "WH-B", 12),
        upd("MUG-1", "WH-B", 31),
        upd("KAOS-L", "WH-B", 22),
    ];
    let results = env.client.update_stock(&creds, &updates).await.unwrap();
    assert_eq!(results.len(), updates.len());
    for (u, r) in updates.iter().zip(&results) {
        assert_eq!(
            (&r.listing_id, &r.variant_id, &r.warehouse_id),
            (&u.listing_id, &u.variant_id, &u.warehouse_id),
            "results come back in input order"
        );
        assert_eq!(r.outcome, UpdateOutcome::Applied);
    }
    assert_eq!(
        env.calls("POST /product/202309/products/{product_id}/inventory/update"),
        2,
        "one call per product"
    );
    let stock = |sku: &str| env.sb().listing(view.shop_id, sku).unwrap().stock;
    assert_eq!(
        stock("KAOS-M"),
        BTreeMap::from([("WH-A".into(), 11), ("WH-B".into(), 12)])
    );
    assert_eq!(
        stock("KAOS-L"),
        BTreeMap::from([("WH-A".into(), 21), ("WH-B".into(), 22)])
    );
    assert_eq!(
        stock("MUG-1"),
        BTreeMap::from([("WH-A".into(), 30), ("WH-B".into(), 31)])
    );
}

#[tokio::test]
async fn update_stock_that_omits_a_warehouse_of_a_sku_is_rejected_for_that_sku_only() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "warehouses": ["WH-A", "WH-B"],
        "products": [{"name": "Kaos", "variants": [
            {"seller_sku": "KAOS-M", "price": "10", "stock": {"WH-A": 1, "WH-B": 1}},
            {"seller_sku": "KAOS-L", "price": "10", "stock": {"WH-A": 1, "WH-B": 1}}]}]
    }));
    let upd = |sku: &str, wh: &str, q: u32| StockUpdate {
        listing_id: ListingId::new(product_of(&view, sku).to_string()),
        variant_id: ExtVariantId::new(variant_of(&view, sku).to_string()),
        warehouse_id: Some(WarehouseId::new(wh)),
        quantity: q,
    };
    let results = env
        .client
        .update_stock(
            &creds,
            &[
                upd("KAOS-M", "WH-A", 8),
                upd("KAOS-L", "WH-A", 6),
                upd("KAOS-L", "WH-B", 7),
            ],
        )
        .await
        .unwrap();
    assert!(
        matches!(&results[0].outcome, UpdateOutcome::Rejected(f) if f.reason == FailureReason::Other),
        "{:?}",
        results[0]
    );
    assert_eq!(results[1].outcome, UpdateOutcome::Applied);
    assert_eq!(results[2].outcome, UpdateOutcome::Applied);
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "KAOS-M")
            .unwrap()
            .total_stock,
        2
    );
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "KAOS-L")
            .unwrap()
            .total_stock,
        13
    );
}

#[tokio::test]
async fn update_prices_writes_decimal_strings_the_sandbox_stores_and_lists_back() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "region": "SG",
        "products": [
            {"name": "Kaos", "variants": [
                {"seller_sku": "KAOS-M", "price": "10.00", "stock": 1},
                {"seller_sku": "KAOS-L", "price": "11.00", "stock": 1}]},
            {"name": "Promo", "item_sku": "PROMO-1", "price": "3.00", "stock": 5, "reserved": 1}
        ]
    }));
    let sgd = currency("SGD");
    let upd = |sku: &str, cents: i64| PriceUpdate {
        listing_id: ListingId::new(product_of(&view, sku).to_string()),
        variant_id: ExtVariantId::new(variant_of(&view, sku).to_string()),
        price: Money::new(cents, sgd),
    };
    let results = env
        .client
        .update_prices(
            &creds,
            &[
                upd("KAOS-M", 1550),
                upd("KAOS-L", 1205),
                upd("PROMO-1", 250),
            ],
        )
        .await
        .unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(results[1].outcome, UpdateOutcome::Applied);
    match &results[2].outcome {
        UpdateOutcome::Rejected(f) => assert_eq!(f.code, "12052038", "price locked by promotion"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(
        env.calls("POST /product/202309/products/{product_id}/prices/update"),
        2
    );
    let price = |sku: &str| env.sb().listing(view.shop_id, sku).unwrap().price;
    assert_eq!(price("KAOS-M"), "15.50");
    assert_eq!(price("KAOS-L"), "12.05");
    assert_eq!(price("PROMO-1"), "3.00");
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let m = page
        .listings
        .iter()
        .flat_map(|l| &l.variants)
        .find(|v| v.seller_sku == "KAOS-M")
        .unwrap();
    assert_eq!(m.price, Some(Money::new(1550, sgd)));
}

// ---- orders ---------------------------------------------------------------------------------

#[tokio::test]
async fn orders_map_every_status_tokopedia_platform_and_one_line_item_per_unit() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "region": "ID",
        "products": [
            {"name": "Kaos", "variants": [
                {"seller_sku": "KAOS-M", "name": "M", "price": "15000", "stock": 100},
                {"seller_sku": "KAOS-L", "name": "L", "price": "17500", "stock": 100}]}
        ]
    }));
    let sb = env.sb();
    let line = json!({"lines": [{"seller_sku": "KAOS-M", "quantity": 1}]});
    let mut expected: Vec<(String, OrderStatus, &str)> = Vec::new();
    let unpaid = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-M"}], "unpaid": true}),
    );
    expected.push((unpaid.order_id, OrderStatus::Pending, "UNPAID"));
    let paid = env.place(view.shop_id, line.clone());
    expected.push((paid.order_id, OrderStatus::ReadyToShip, "AWAITING_SHIPMENT"));
    let steps: [(&[OrderAction], OrderStatus, &str); 5] = [
        (
            &[OrderAction::Ship],
            OrderStatus::ReadyToShip,
            "AWAITING_COLLECTION",
        ),
        (
            &[OrderAction::Ship, OrderAction::Pickup],
            OrderStatus::Shipped,
            "IN_TRANSIT",
        ),
        (
            &[OrderAction::Ship, OrderAction::Pickup, OrderAction::Deliver],
            OrderStatus::Delivered,
            "DELIVERED",
        ),
        (
            &[
                OrderAction::Ship,
                OrderAction::Pickup,
                OrderAction::Deliver,
                OrderAction::Complete,
            ],
            OrderStatus::Completed,
            "COMPLETED",
        ),
        (
            &[OrderAction::SellerCancel],
            OrderStatus::Cancelled,
            "CANCELLED",
        ),
    ];
    for (actions, status, word) in steps {
        let o = env.place(view.shop_id, line.clone());
        for a in actions {
            sb.advance_order(&o.order_id, *a).unwrap();
        }
        expected.push((o.order_id, status, word));
    }
    let toko = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-M", "quantity": 3}, {"seller_sku": "KAOS-L", "quantity": 1}],
               "commerce_platform": "TOKOPEDIA"}),
    );
    let tts = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-L", "quantity": 2}], "commerce_platform": "TIKTOK_SHOP"}),
    );

    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    let by_id: BTreeMap<&str, &storesync_channels::Order> = changed
        .iter()
        .map(|c| (c.order_id.as_str(), c.detail.as_ref().unwrap()))
        .collect();
    for (id, status, word) in &expected {
        let o = by_id[id.as_str()];
        assert_eq!(o.status, *status, "{word}");
        assert_eq!(o.marketplace_status, *word);
        assert_eq!(o.placed_on, Marketplace::TikTokShop, "no commerce_platform");
    }
    assert!(by_id[expected[0].0.as_str()].paid_at.is_none());
    assert!(by_id[expected[1].0.as_str()].paid_at.is_some());

    let idr = currency("IDR");
    let t = by_id[toko.order_id.as_str()];
    assert_eq!(t.placed_on, Marketplace::Tokopedia);
    assert_eq!(t.currency, Some(idr));
    assert_eq!(t.total, Some(Money::new((3 * 15_000 + 17_500) * 100, idr)));
    assert_eq!(
        t.lines.len(),
        2,
        "one line per SKU after merging unit line items"
    );
    let m = t.lines.iter().find(|l| l.seller_sku == "KAOS-M").unwrap();
    assert_eq!(m.quantity, 3);
    assert_eq!(m.line_ids.len(), 3);
    assert_eq!(m.line_ids.iter().collect::<HashSet<_>>().len(), 3);
    assert_eq!(m.unit_price, Some(Money::new(15_000 * 100, idr)));
    assert_eq!(
        m.variant_id.as_str(),
        variant_of(&view, "KAOS-M").to_string()
    );
    assert_eq!(
        m.listing_id.as_str(),
        product_of(&view, "KAOS-M").to_string()
    );
    let l = t.lines.iter().find(|l| l.seller_sku == "KAOS-L").unwrap();
    assert_eq!(l.quantity, 1);
    let tt = by_id[tts.order_id.as_str()];
    assert_eq!(tt.placed_on, Marketplace::TikTokShop);
    assert_eq!(tt.lines[0].quantity, 2);

    // Detail calls read the same as the list.
    let detail = env
        .client
        .order_details(&creds, &[ExtOrderId::new(toko.order_id.clone())])
        .await
        .unwrap();
    assert_eq!(detail.len(), 1);
    assert_eq!(detail[0].placed_on, Marketplace::Tokopedia);
    assert_eq!(detail[0].lines.iter().map(|l| l.quantity).sum::<u32>(), 4);
    assert_eq!(detail[0].packages.len(), 1);
    assert_eq!(
        detail[0].packages[0].package_id.as_ref().unwrap().as_str(),
        toko.package_id
    );
}

#[tokio::test]
async fn ship_order_with_tracking_number_makes_the_sandbox_order_await_collection() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "products": [{"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 10}]
    }));
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "PEN-1", "quantity": 2}]}),
    );
    let shipment = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                order_id: ExtOrderId::new(o.order_id.clone()),
                package_id: None,
                handover: Handover::DropOff,
                tracking_number: Some("SELF-TRK-001".into()),
                shipping_provider_id: Some("6617675021119438849".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(shipment.packages.len(), 1);
    assert_eq!(
        shipment.packages[0].package_id.as_ref().unwrap().as_str(),
        o.package_id
    );
    let after = env.sb().order(&o.order_id).unwrap();
    assert_eq!(after.status, "AWAITING_COLLECTION");
    assert_eq!(after.tracking_number.as_deref(), Some("SELF-TRK-001"));
    assert_eq!(
        env.calls("POST /fulfillment/202309/packages/{package_id}/ship"),
        1
    );
    let read = env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap();
    assert_eq!(read[0].marketplace_status, "AWAITING_COLLECTION");
    assert_eq!(
        read[0].packages[0].tracking_number.as_deref(),
        Some("SELF-TRK-001")
    );

    // Shipping again is refused by the marketplace, permanently.
    let err = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                order_id: ExtOrderId::new(o.order_id.clone()),
                package_id: Some(storesync_channels::PackageId::new(o.package_id.clone())),
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn cancel_of_some_lines_names_their_skus_with_the_unit_count_of_the_order() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "products": [{"name": "Kaos", "variants": [
            {"seller_sku": "KAOS-M", "price": "10", "stock": 10},
            {"seller_sku": "KAOS-L", "price": "10", "stock": 10}]}]
    }));
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-M", "quantity": 3}, {"seller_sku": "KAOS-L", "quantity": 1}]}),
    );
    let (proxy, url) = Proxy::start(env.base()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    // The seller cancels every unit of one SKU of the order.
    let cancel_line = |sku: &str| CancelRequest {
        order_id: ExtOrderId::new(o.order_id.clone()),
        reason: CancelReason::OutOfStock,
        lines: vec![(
            ListingId::new(product_of(&view, sku).to_string()),
            ExtVariantId::new(variant_of(&view, sku).to_string()),
        )],
    };
    let c = client
        .cancel_order(&creds, &cancel_line("KAOS-M"))
        .await
        .unwrap();
    assert!(c.cancel_id.is_some());
    let sent = proxy
        .seen()
        .into_iter()
        .find(|s| s.path == "/return_refund/202309/cancellations")
        .unwrap();
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["order_id"], o.order_id.as_str());
    assert!(body["cancel_reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert_eq!(
        body["skus"],
        json!([{"sku_id": variant_of(&view, "KAOS-M").to_string(), "quantity": 3}])
    );
    // The order goes on without those units, which are back on the listing;
    // read back, it names only what is still ordered.
    let after = env.sb().order(&o.order_id).unwrap();
    assert_eq!(after.status, "AWAITING_SHIPMENT");
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "KAOS-M")
            .unwrap()
            .total_stock,
        10
    );
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "KAOS-L")
            .unwrap()
            .total_stock,
        9
    );
    let read = client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap();
    assert_eq!(read[0].status, OrderStatus::ReadyToShip);
    let lines: Vec<(Option<&str>, u32)> = read[0]
        .lines
        .iter()
        .map(|l| (l.sku.as_ref().map(|s| s.as_str()), l.quantity))
        .collect();
    assert_eq!(lines, vec![(Some("KAOS-L"), 1)]);
    // Cancelling the last line left cancels the order.
    client
        .cancel_order(&creds, &cancel_line("KAOS-L"))
        .await
        .unwrap();
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "CANCELLED");
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "KAOS-L")
            .unwrap()
            .total_stock,
        10
    );
}

#[tokio::test]
async fn buyer_cancel_within_the_first_hour_is_cancelled_later_it_is_a_request() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "products": [{"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 10}]
    }));
    let early = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));
    env.advance_secs(59 * 60);
    env.sb()
        .advance_order(&early.order_id, OrderAction::BuyerCancel)
        .unwrap();
    let late = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));
    env.advance_secs(3601);
    env.sb()
        .advance_order(&late.order_id, OrderAction::BuyerCancel)
        .unwrap();

    let read = env
        .client
        .order_details(
            &creds,
            &[
                ExtOrderId::new(early.order_id.clone()),
                ExtOrderId::new(late.order_id.clone()),
            ],
        )
        .await
        .unwrap();
    let early_o = read
        .iter()
        .find(|o| o.order_id.as_str() == early.order_id)
        .unwrap();
    assert_eq!(early_o.status, OrderStatus::Cancelled);
    assert!(!early_o.cancel_requested);
    assert!(early_o.cancel_reason.is_some());
    let late_o = read
        .iter()
        .find(|o| o.order_id.as_str() == late.order_id)
        .unwrap();
    assert_eq!(late_o.status, OrderStatus::ReadyToShip);
    assert!(late_o.cancel_requested, "is_buyer_request_cancel");
}

// ---- negative: signatures, timestamps, throttling, outages, shops ---------------------------

#[tokio::test]
async fn every_client_request_carries_a_signature_an_independent_doc_signer_reproduces() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({
        "products": [{"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 10}]
    }));
    let o = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));
    let (proxy, url) = Proxy::start(env.base()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap();
    client
        .authorized_shops(&creds.access_token, None)
        .await
        .unwrap();
    let seen = proxy.seen();
    assert_eq!(seen.len(), 4);
    for s in &seen {
        let sign = s
            .query
            .iter()
            .find(|(k, _)| k == "sign")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            sign,
            doc_sign(APP_SECRET, &s.path, &s.query, &s.body),
            "{}",
            s.path
        );
        assert!(
            !s.query.iter().any(|(k, _)| k == "access_token"),
            "the token travels in the header"
        );
        assert_eq!(
            s.token.as_deref(),
            Some(creds.access_token.expose().as_str())
        );
        let has_cipher = s.query.iter().any(|(k, _)| k == "shop_cipher");
        assert_eq!(
            has_cipher,
            s.path != "/authorization/202309/shops",
            "{}",
            s.path
        );
    }
    // Order detail ids go as one comma-joined value.
    let detail = seen
        .iter()
        .find(|s| s.path == "/order/202309/orders")
        .unwrap();
    assert_eq!(detail.query.iter().filter(|(k, _)| k == "ids").count(), 1);

    // And a request signed only by the test's own signer is accepted by the sandbox.
    let (status, answer) = raw_call(
        &env,
        Method::POST,
        "/order/202309/orders/search",
        &[("page_size", "20"), ("shop_cipher", &view.cipher)],
        creds.access_token.expose(),
        Some(r#"{"order_status": "AWAITING_SHIPMENT"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["code"], 0, "{answer}");
    assert_eq!(answer["data"]["orders"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tampered_body_or_signature_is_a_signature_error() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(json!({"products": many_products(2)}));
    let (proxy, url) = Proxy::start(env.base()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    for tamper in [Tamper::Body, Tamper::Sign] {
        proxy.set(tamper);
        let err = client
            .list_listings(&creds, &ListingQuery::default(), None)
            .await
            .unwrap_err();
        match &err {
            ChannelError::Signature { code, .. } => assert_eq!(code, "106001", "{tamper:?}"),
            other => panic!("{tamper:?}: expected Signature, got {other:?}"),
        }
        assert!(!err.is_retryable() && !err.needs_token_refresh());
    }
    proxy.set(Tamper::Nothing);
    client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();

    // A client holding the wrong app secret signs wrongly: same class.
    let wrong = client_at(&env.base(), "not-the-secret", env.clock.clone());
    let err = wrong
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Signature { .. }), "{err:?}");
}

/// The contract (`contract::faults`) checks the client's `RateLimited`; this
/// is what TikTok's wire says when it refuses.
#[tokio::test]
async fn rate_limit_on_the_wire_is_http_429_36009002() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"products": []}));
    env.sb().set_faults(FaultConfig {
        rate_limit_qps: Some(2),
        ..FaultConfig::default()
    });
    let query = ListingQuery::default();
    let list = || env.client.list_listings(&creds, &query, None);
    list().await.unwrap();
    list().await.unwrap();
    // What the wire says.
    let (status, answer) = raw_call(
        &env,
        Method::POST,
        "/product/202309/products/search",
        &[("shop_cipher", &view.cipher)],
        creds.access_token.expose(),
        Some("{}"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer["code"], 36_009_002);
}

#[tokio::test]
async fn another_shops_cipher_unknown_cipher_and_missing_cipher_are_errors() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(json!({"products": many_products(1)}));
    let (other, _, _) = env.shop(json!({"products": many_products(1)}));
    let mut wrong = creds.clone();
    wrong.shop = ShopRef::new(other.shop_id.to_string().as_str()).with_cipher(other.cipher.clone());
    let err = env
        .client
        .list_listings(&wrong, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    match &err {
        ChannelError::Unauthorized { code, .. } => assert_eq!(code, "101000"),
        other => panic!("expected Unauthorized(101000), got {other:?}"),
    }

    let mut unknown = creds.clone();
    unknown.shop = ShopRef::new("1").with_cipher("ROW_doesnotexist");
    let err = env
        .client
        .list_listings(&unknown, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(!err.is_retryable() && !err.needs_token_refresh(), "{err:?}");

    // Without a cipher the client refuses before sending anything …
    let mut missing = creds.clone();
    missing.shop = ShopRef::new(creds.shop.shop_id.clone());
    env.sb().reset_calls();
    let err = env
        .client
        .list_listings(&missing, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Config { .. }), "{err:?}");
    assert!(env.sb().calls().is_empty());
    // … and the sandbox would have answered 106013.
    let (_, answer) = raw_call(
        &env,
        Method::POST,
        "/product/202309/products/search",
        &[],
        creds.access_token.expose(),
        Some("{}"),
    )
    .await;
    assert_eq!(answer["code"], 106_013);
}

// ---- webhooks -------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_webhooks_verify_and_parse_into_typed_events() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/tiktok/hooks").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(json!({
        "products": [{"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 1}]
    }));
    let o = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));

    // Type 1: order status change.
    let (headers, body) = hooks.next("type 1", |v| v["type"] == 1).await;
    let req = webhook_request(&headers, &body, &hooks.url);
    env.client.verify_webhook(&req).unwrap();
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].shop_id.as_ref().map(|s| s.as_str().to_owned()),
        Some(view.shop_id.to_string())
    );
    assert!(events[0].notification_id.is_some());
    assert_eq!(
        events[0].kind,
        WebhookEventKind::OrderStatusChanged {
            order_id: ExtOrderId::new(o.order_id.clone()),
            status: OrderStatus::ReadyToShip,
            marketplace_status: "AWAITING_SHIPMENT".into(),
        }
    );

    // Type 27: the only unit sold, the SKU is out of stock.
    let (headers, body) = hooks.next("type 27", |v| v["type"] == 27).await;
    env.client
        .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
        .unwrap();
    let events = env.client.parse_webhook(&body).unwrap();
    assert_eq!(
        events[0].kind,
        WebhookEventKind::ListingChanged {
            listing_id: Some(ListingId::new(product_of(&view, "PEN-1").to_string())),
            variant_id: Some(ExtVariantId::new(variant_of(&view, "PEN-1").to_string())),
        }
    );

    // Type 11: a buyer's cancellation request after the first hour.
    env.advance_secs(3601);
    env.sb()
        .advance_order(&o.order_id, OrderAction::BuyerCancel)
        .unwrap();
    let (headers, body) = hooks.next("type 11", |v| v["type"] == 11).await;
    env.client
        .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
        .unwrap();
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::OrderChanged {
            order_id: ExtOrderId::new(o.order_id.clone())
        }
    );

    // The seller accepts it: type 1 with the order cancelled.
    env.sb()
        .advance_order(&o.order_id, OrderAction::AcceptCancel)
        .unwrap();
    let (headers, body) = hooks.next("type 1", |v| v["type"] == 1).await;
    env.client
        .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
        .unwrap();
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::OrderStatusChanged {
            order_id: ExtOrderId::new(o.order_id.clone()),
            status: OrderStatus::Cancelled,
            marketplace_status: "CANCELLED".into(),
        }
    );

    // Type 7: the authorization ends within 30 days.
    let auth_end = env.sb().shop(view.shop_id).unwrap().auth_expire_time;
    env.advance_secs(auth_end - env.now().millis() / 1000 - 10 * DAY_SECS);
    env.sb().tick();
    let (headers, body) = hooks.next("type 7", |v| v["type"] == 7).await;
    env.client
        .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
        .unwrap();
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::AuthorizationExpiring {
            expires_at: Some(Timestamp::from_millis(auth_end * 1000))
        }
    );

    // Type 6: the seller revokes the app.
    env.sb().deauthorize(view.shop_id).unwrap();
    let (headers, body) = hooks.next("type 6", |v| v["type"] == 6).await;
    env.client
        .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
        .unwrap();
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::Deauthorized
    );
}

#[tokio::test]
async fn malformed_webhooks_do_not_parse() {
    // Tampered, unsigned and wrongly keyed pushes are the contract (`contract::webhooks`).
    let env = Env::start().await;
    // Malformed bodies do not parse.
    for bad in [
        &b"not json"[..],
        br#"{"type":1,"data":{}}"#,
        br#"{"data":{}}"#,
    ] {
        let r = env.client.parse_webhook(bad);
        assert!(
            matches!(r, Err(ChannelError::WebhookRejected { .. })),
            "{r:?}"
        );
    }
}
