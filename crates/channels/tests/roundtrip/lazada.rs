//! Lazada client against the Lazada sandbox.
//!
//! Every test starts its own sandbox on port 0 with a `ManualClock` that the sandbox and the
//! real `LazadaClient` share, so token expiry and the ±7200 s timestamp window move only when a
//! test says so. Nothing sleeps for readiness: the sandbox is bound before `start` returns, and
//! pushes are awaited on a channel with a timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
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
use storesync_channels::lazada::{LazadaClient, LazadaConfig, Venture};
use storesync_channels::{
    listing_stream, with_token_refresh, AuthCallback, CancelReason, CancelRequest, Channel,
    ChannelError, ExtOrderId, ExtVariantId, FailureReason, Handover, HttpSettings, ListingId,
    ListingQuery, ListingStatus, Marketplace, PackageId, PriceUpdate, Secret, ShipRequest,
    ShopCredentials, ShopRef, StockUpdate, TimeRange, TokenSet, UpdateOutcome, WarehouseId,
    WebhookEventKind, WebhookRequest,
};
use storesync_domain::{Clock, Currency, Money, OrderStatus, SystemClock, Timestamp};
use storesync_sandbox::{AuthorizeRequest, CreateShop, FaultConfig, OrderAction, ShopView};

use crate::harness::{self, Harness, Hooks};

const APP_KEY: &str = "100001";
const APP_SECRET: &str = "SECRETLAZ";
const DAY_SECS: i64 = 86_400;

// ---- harness ------------------------------------------------------------------------------

/// The Lazada sandbox and client in the shared environment.
pub struct Lazada;

impl Harness for Lazada {
    type Client = LazadaClient;
    const SANDBOX: storesync_sandbox::Marketplace = storesync_sandbox::Marketplace::Lazada;
    const SECRET: &'static str = APP_SECRET;
    const SEED: u64 = 5;
    const LISTING_PAGE_CALL: &'static str = "GET /products/get";
    // The sandbox counts calls by the API's declared method; the client POSTs token calls.
    const ORDER_PAGE_CALL: &'static str = "GET /orders/get";
    const ORDER_DETAIL_CALL: &'static str = "GET /orders/items/get";
    const ORDER_LIST_HAS_STATUS: bool = true;
    const UNKNOWN_ORDER_ID: &'static str = "260422900999999";
    const TOKEN_REFRESH_CALL: Option<&'static str> = Some("GET /auth/token/refresh");
    const WRONG_SIGNATURE_CODE: Option<&'static str> = Some("IncompleteSignature");
    const TIMESTAMP_WINDOW_SECS: (i64, i64) = (7_200, 7_200);
    const STALE_TIMESTAMP_CODE: Option<&'static str> = Some("InvalidTimestamp");
    const TOKEN_EXPIRED_CODE: &'static str = "IllegalAccessToken";
    const REFUSED_REFRESH_CODE: Option<&'static str> = Some("IllegalRefreshToken");
    const FORGED_REFRESH_TOKEN: &'static str = "50001forged";
    const REFRESH_KEEPS_AUTHORIZATION_END: bool = true;
    const SERVER_ERROR_MARK: Option<&'static str> = Some("InternalError");
    const TIMEOUT_MARK: Option<&'static str> = Some("ServiceTimeout");
    const RATE_LIMIT_RETRY_AFTER: Option<Duration> = Some(Duration::from_secs(1));
    const BELOW_RESERVED_CODE: Option<&'static str> = None;
    const NOT_FOUND_CODE: Option<&'static str> = Some("E207");
    const UNKNOWN_VARIANT_REASON: FailureReason = FailureReason::NotFound;
    const UNKNOWN_IDS: (&'static str, &'static str) = ("999999", "888888");
    const BURST: usize = 45;
    const STATUS_AFTER_SHIP: &'static str = "ready_to_ship";
    const TRACKING_PREFIX: Option<&'static str> = Some("LXAD");
    const SHIPMENT_REPORTS_TRACKING: bool = true;
    const DETAILS_REPORT_TRACKING: bool = true;
    const CARRIER: Option<&'static str> = Some("LEX");
    const STATUS_AFTER_CANCEL: &'static str = "canceled";
    const CANCEL_STATUS: Option<&'static str> = Some("canceled");
    const CANCEL_RETURNS_ID: bool = false;
    const SHIPPED: &'static [OrderAction] = &[OrderAction::Ship, OrderAction::Pickup];
    const OUT_OF_STOCK_REASON: Option<&'static str> = Some("Out of stock");
    const PUSH_PATH: &'static str = "/lazada/push";

    fn start_at() -> Timestamp {
        SystemClock.now()
    }

    fn client(
        base_url: &str,
        secret: &str,
        clock: Arc<dyn Clock>,
        http: HttpSettings,
    ) -> LazadaClient {
        let mut config = LazadaConfig::new(APP_KEY, Secret::new(secret.to_owned()), Venture::Sg)
            .with_base_url(base_url);
        config.http = http;
        LazadaClient::new(config, clock).unwrap()
    }

    fn shop_ref(view: &ShopView) -> ShopRef {
        ShopRef::new(view.shop_id.to_string().as_str())
    }

    fn variant_ref(view: &ShopView, seller_sku: &str) -> (ListingId, ExtVariantId) {
        ids_of(view, seller_sku)
    }

    fn listing_walk_calls(listings: usize) -> Vec<(&'static str, u64)> {
        // One call per page of 50; an empty shop still takes one.
        vec![(Self::LISTING_PAGE_CALL, listings.div_ceil(50).max(1) as u64)]
    }

    fn is_order_push(push: &Value, order_id: &str) -> bool {
        push["message_type"] == 0 && push["data"]["trade_order_id"] == order_id
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

type Env = harness::Env<Lazada>;

fn client_at(base_url: &str, secret: &str, clock: Arc<dyn Clock>) -> LazadaClient {
    Lazada::client(base_url, secret, clock, HttpSettings::default())
}

fn sgd() -> Currency {
    "SGD".parse().unwrap()
}

fn ids_of(view: &ShopView, seller_sku: &str) -> (ListingId, ExtVariantId) {
    let p = view
        .products
        .iter()
        .find(|p| p.variants.iter().any(|v| v.seller_sku == seller_sku))
        .unwrap();
    let v = p
        .variants
        .iter()
        .find(|v| v.seller_sku == seller_sku)
        .unwrap();
    (
        ListingId::new(p.product_id.to_string()),
        ExtVariantId::new(v.variant_id.to_string()),
    )
}

fn simple_shop() -> Value {
    json!({"name": "Lion Tees", "region": "SG", "products": [
        {"name": "Tee", "variants": [
            {"seller_sku": "TEE-M", "price": "19.90", "stock": 10},
            {"seller_sku": "TEE-L", "price": "21.50", "stock": 4}]},
        {"name": "Cap", "item_sku": "CAP-1", "price": "9.00", "stock": 3}]})
}

// ---- a push receiver ---------------------------------------------------------------------

/// The next push of `message_type` whose data satisfies `pred`.
async fn next_push(hooks: &mut Hooks, kind: i64, pred: impl Fn(&Value) -> bool) -> harness::Push {
    hooks
        .next(&format!("message type {kind}"), |v| {
            v["message_type"] == kind && pred(&v["data"])
        })
        .await
}

// ---- an independent signer, raw calls and a recording, tampering proxy ----------------------

/// HMAC-SHA256 lowercase hex, written here so nothing trusts the crates' own helpers.
fn hmac_hex(key: &str, msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// The request signature straight from the docs (fact sheet §3.4): the API name after `/rest`,
/// then every parameter except `sign` sorted by key byte-wise as key + raw value, HMAC-SHA256
/// keyed with the app secret, uppercase hex.
fn doc_sign(secret: &str, api_name: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sign").collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut msg = api_name.as_bytes().to_vec();
    for (k, v) in pairs {
        msg.extend_from_slice(k.as_bytes());
        msg.extend_from_slice(v.as_bytes());
    }
    hmac_hex(secret, &msg).to_ascii_uppercase()
}

/// Where a raw call carries its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carry {
    /// GET with everything in the query string.
    Query,
    /// POST with everything in an `application/x-www-form-urlencoded` body (the Python SDK).
    Form,
}

fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

fn decode(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A call signed by [`doc_sign`] alone, made without the client (for what the client hides).
async fn raw_call(
    env: &Env,
    carry: Carry,
    api_name: &str,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut all: Vec<(String, String)> = vec![
        ("app_key".into(), APP_KEY.into()),
        ("timestamp".into(), env.now().millis().to_string()),
        ("sign_method".into(), "sha256".into()),
    ];
    if let Some(t) = token {
        all.push(("access_token".into(), t.to_owned()));
    }
    all.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let sign = doc_sign(APP_SECRET, api_name, &all);
    all.push(("sign".into(), sign));
    let url = format!("{}/rest{api_name}", env.server.base_url());
    let req = match carry {
        Carry::Query => env.http.get(format!("{url}?{}", encode(&all))),
        Carry::Form => env
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&all)),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// The order item ids of an order, read with a raw call.
async fn raw_item_ids(env: &Env, token: &str, order_id: &str) -> Vec<String> {
    let (_, answer) = raw_call(
        env,
        Carry::Query,
        "/order/items/get",
        &[("order_id", order_id)],
        Some(token),
    )
    .await;
    assert_eq!(answer["code"], "0", "{answer}");
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["order_item_id"].to_string().trim_matches('"').to_owned())
        .collect()
}

/// Packs the given order items with a raw call, as the seller would in Seller Center.
async fn raw_pack(env: &Env, token: &str, order_id: &str, item_ids: &[String]) -> Value {
    let ids: Vec<Value> = item_ids
        .iter()
        .map(|i| json!(i.parse::<u64>().unwrap()))
        .collect();
    let req = json!({"pack_order_list": [{"order_id": order_id, "order_item_list": ids}],
                     "delivery_type": "dropship", "shipping_allocate_type": "TFS"})
    .to_string();
    let (_, answer) = raw_call(
        env,
        Carry::Form,
        "/order/fulfill/pack",
        &[("packReq", &req)],
        Some(token),
    )
    .await;
    assert_eq!(answer["code"], "0", "{answer}");
    answer
}

/// The system parameters every call carries (the rest are business parameters).
const SYSTEM: [&str; 5] = [
    "app_key",
    "timestamp",
    "sign_method",
    "sign",
    "access_token",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Nothing,
    /// Appends a character to the first business parameter after it was signed.
    Param,
    /// Changes the access token after signing (it is signed like any parameter).
    Token,
    /// Flips the last hex digit of `sign`.
    Sign,
}

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    content_type: Option<String>,
}

impl Seen {
    /// Query and form parameters together, as the server merges them.
    fn params(&self) -> Vec<(String, String)> {
        let mut all = self.query.clone();
        all.extend(self.form.iter().cloned());
        all
    }

    fn param(&self, key: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    fn api_name(&self) -> &str {
        self.path.strip_prefix("/rest").unwrap()
    }
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
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let is_form = content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let mut query = decode(uri.query().unwrap_or("").as_bytes());
    let mut form = if is_form { decode(&body) } else { Vec::new() };
    p.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: uri.path().to_owned(),
        query: query.clone(),
        form: form.clone(),
        content_type: content_type.clone(),
    });
    for pairs in [&mut query, &mut form] {
        for (k, v) in pairs.iter_mut() {
            match tamper {
                Tamper::Param if !SYSTEM.contains(&k.as_str()) => {
                    v.push('0');
                    break;
                }
                Tamper::Token if k == "access_token" => v.push('0'),
                Tamper::Sign if k == "sign" => {
                    let last = if v.ends_with('0') { '1' } else { '0' };
                    v.pop();
                    v.push(last);
                }
                _ => {}
            }
        }
    }
    let mut url = url::Url::parse(&format!("{}{}", p.upstream, uri.path())).unwrap();
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query.iter());
    }
    let body = if is_form {
        encode(&form).into_bytes()
    } else {
        body.to_vec()
    };
    let mut req = p.http.request(method, url).body(body);
    if let Some(c) = content_type {
        req = req.header("content-type", c);
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

fn webhook_request<'a>(headers: &'a HeaderMap, body: &'a [u8], url: &'a str) -> WebhookRequest<'a> {
    WebhookRequest { url, headers, body }
}

fn ship(order_id: &str) -> ShipRequest {
    ShipRequest {
        order_id: ExtOrderId::new(order_id),
        package_id: None,
        handover: Handover::Pickup,
        tracking_number: None,
        shipping_provider_id: None,
    }
}

fn cancel_all(order_id: &str) -> CancelRequest {
    CancelRequest {
        order_id: ExtOrderId::new(order_id),
        reason: CancelReason::OutOfStock,
        lines: Vec::new(),
    }
}

// ---- authorization ----------------------------------------------------------------------------

#[tokio::test]
async fn consent_page_code_exchange_and_seller_lookup() {
    let env = Env::start().await;
    let (view, _, _) = env.shop(simple_shop());
    let url = env
        .client
        .authorize_url("https://app.example/lazada/cb", "st-1")
        .unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    let page = env.http.get(url.as_str()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Lion Tees"));

    // Approve through the consent form: the browser is sent back with code and state.
    let resp = env
        .http
        .post(format!(
            "{}/__sandbox/consent/lazada",
            env.server.base_url()
        ))
        .form(&[
            ("redirect_uri", "https://app.example/lazada/cb"),
            ("state", "st-1"),
            ("shop_id", &view.shop_id.to_string()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("app.example"));
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let callback =
        AuthCallback::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    assert_eq!(callback.state.as_deref(), Some("st-1"));

    let auth = env.client.exchange_code(&callback).await.unwrap();
    assert_eq!(auth.shops.len(), 1);
    assert_eq!(
        auth.shops[0].shop.shop_id.as_str(),
        view.shop_id.to_string()
    );
    assert_eq!(auth.shops[0].name.as_deref(), Some("Lion Tees"));
    assert_eq!(auth.shops[0].region.as_deref(), Some("SG"));
    assert_eq!(
        auth.shops[0].shop.cipher.as_deref(),
        Some("SG"),
        "the venture travels with the shop"
    );
    assert_eq!(
        auth.tokens.access_expires_at.millis(),
        env.now().millis() + 7 * DAY_SECS * 1000
    );
    assert_eq!(
        auth.tokens.refresh_expires_at.unwrap().millis(),
        env.now().millis() + 30 * DAY_SECS * 1000
    );

    // The code is single use.
    let again = env.client.exchange_code(&callback).await.unwrap_err();
    assert!(
        matches!(&again, ChannelError::Unauthorized { code, .. } if code == "InvalidCode"),
        "{again:?}"
    );

    // Deny sends the seller back with an error the callback parser reports.
    let resp = env
        .http
        .post(format!(
            "{}/__sandbox/consent/lazada",
            env.server.base_url()
        ))
        .form(&[
            ("redirect_uri", "https://app.example/lazada/cb"),
            ("state", "st-2"),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert!(AuthCallback::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).is_err());
}

#[tokio::test]
async fn codes_expire_after_thirty_minutes() {
    let env = Env::start().await;
    let (view, _, _) = env.shop(simple_shop());
    let code = env
        .sb()
        .authorize(&AuthorizeRequest {
            shop_id: view.shop_id,
            redirect: Some("https://app.example/cb".into()),
            state: None,
        })
        .unwrap()
        .code;
    env.advance_secs(30 * 60 + 1);
    let cb = AuthCallback::from_query([("code", code.as_str())]).unwrap();
    let e = env.client.exchange_code(&cb).await.unwrap_err();
    assert!(matches!(e, ChannelError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test]
async fn expired_token_refreshes_and_refresh_tokens_rotate_without_extending() {
    let env = Env::start().await;
    let (view, creds, refresh) = env.shop(simple_shop());
    let refresh_end = env.sb().shop(view.shop_id).unwrap().auth_expire_time;
    env.advance_secs(7 * DAY_SECS + 1);
    let e = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::TokenExpired { code, .. } if code == "IllegalAccessToken"),
        "{e:?}"
    );

    let new_pair = Arc::new(std::sync::Mutex::new(None));
    let page = with_token_refresh(
        creds.clone(),
        |c| {
            let client = &env.client;
            async move {
                client
                    .list_listings(&c, &ListingQuery::default(), None)
                    .await
            }
        },
        || {
            let new_pair = Arc::clone(&new_pair);
            let client = &env.client;
            let refresh = refresh.clone();
            let shop = creds.shop.clone();
            async move {
                let tokens = client.refresh_token(&shop, &refresh).await?;
                let fresh = ShopCredentials {
                    shop,
                    access_token: tokens.access_token.clone(),
                };
                *new_pair.lock().unwrap() = Some(tokens);
                Ok(fresh)
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(page.listings.len(), 2);
    let tokens = new_pair.lock().unwrap().take().unwrap();
    assert_ne!(tokens.refresh_token.expose(), refresh.expose(), "rotated");
    assert_eq!(
        tokens.refresh_expires_at.unwrap().millis() / 1000,
        refresh_end,
        "the refresh token's lifetime is not extended"
    );

    // The old refresh token is dead; the new one works once.
    let e = env
        .client
        .refresh_token(&creds.shop, &refresh)
        .await
        .unwrap_err();
    assert!(matches!(&e, ChannelError::Unauthorized { code, .. } if code == "IllegalRefreshToken"));
    let third = env
        .client
        .refresh_token(&creds.shop, &tokens.refresh_token)
        .await
        .unwrap();
    assert_eq!(third.refresh_expires_at, tokens.refresh_expires_at);

    // After deauthorization every token is refused and no refresh loop happens.
    env.sb().deauthorize(view.shop_id).unwrap();
    let e = env
        .client
        .refresh_token(&creds.shop, &third.refresh_token)
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::Unauthorized { .. }));
}

// ---- products ---------------------------------------------------------------------------------

#[tokio::test]
async fn listings_page_by_fifty_with_stock_prices_and_statuses() {
    let env = Env::start().await;
    let products: Vec<Value> = (0..120)
        .map(|i| json!({"name": format!("P{i}"), "item_sku": format!("SKU-{i}"), "price": "2.05", "stock": i,
                        "listed": i % 10 != 0}))
        .collect();
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": products}));
    let client: Arc<dyn Channel> = Arc::new(client_at(
        &env.server.base_url(),
        APP_SECRET,
        env.clock.clone(),
    ));
    let all: Vec<_> = listing_stream(client, creds.clone(), ListingQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 120);
    assert_eq!(env.calls("GET /products/get"), 3, "50 + 50 + 20");
    let p7 = all.iter().find(|l| l.title == "P7").unwrap();
    assert_eq!(p7.status, ListingStatus::Active);
    assert_eq!(p7.variants[0].total_stock(), 7);
    assert_eq!(p7.variants[0].price, Some(Money::new(205, sgd())));
    assert_eq!(p7.variants[0].seller_sku, "SKU-7");
    assert_eq!(
        p7.variants[0].stock[0]
            .warehouse_id
            .as_ref()
            .unwrap()
            .as_str(),
        "dropshipping_sg"
    );
    assert_eq!(
        all.iter().find(|l| l.title == "P10").unwrap().status,
        ListingStatus::Inactive
    );

    // Only products changed since a moment come back.
    env.advance_secs(60);
    let since = env.now();
    env.advance_secs(1);
    env.sb().set_stock(view.shop_id, "SKU-3", None, 9).unwrap();
    let page = env
        .client
        .list_listings(
            &creds,
            &ListingQuery {
                updated_since: Some(since),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.listings.len(), 1);
    assert_eq!(page.listings[0].title, "P3");
    assert!(page.next.is_none());
}

#[tokio::test]
async fn stock_updates_batch_fifty_skus_across_products_and_change_the_sandbox() {
    let env = Env::start().await;
    let products: Vec<Value> = (0..60)
        .map(|i| {
            json!({"name": format!("P{i}"), "variants": [
            {"seller_sku": format!("A-{i}"), "price": "1", "stock": 1},
            {"seller_sku": format!("B-{i}"), "price": "1", "stock": 1}]})
        })
        .collect();
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": products}));
    let mut updates = Vec::new();
    for i in 0..60 {
        for (n, prefix) in ["A", "B"].iter().enumerate() {
            let (listing_id, variant_id) = ids_of(&view, &format!("{prefix}-{i}"));
            updates.push(StockUpdate {
                listing_id,
                variant_id,
                warehouse_id: None,
                quantity: (i * 2 + n) as u32,
            });
        }
    }
    let results = env.client.update_stock(&creds, &updates).await.unwrap();
    assert_eq!(results.len(), 120);
    assert!(results.iter().all(|r| r.outcome == UpdateOutcome::Applied));
    assert_eq!(
        env.calls("POST /product/stock/sellable/update"),
        3,
        "120 SKUs of 60 products in calls of at most 50"
    );
    assert_eq!(
        env.sb().listing(view.shop_id, "B-59").unwrap().total_stock,
        119
    );
    assert_eq!(
        env.sb().listing(view.shop_id, "A-0").unwrap().total_stock,
        0
    );
}

#[tokio::test]
async fn price_updates_are_stored_and_listed_back() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let (listing_id, variant_id) = ids_of(&view, "TEE-L");
    let results = env
        .client
        .update_prices(
            &creds,
            &[PriceUpdate {
                listing_id,
                variant_id,
                price: Money::new(2_345, sgd()),
            }],
        )
        .await
        .unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-L").unwrap().price,
        "23.45"
    );
    assert_eq!(env.calls("POST /product/price_quantity/update"), 1);
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let tee = page.listings.iter().find(|l| l.title == "Tee").unwrap();
    let l = tee
        .variants
        .iter()
        .find(|v| v.seller_sku == "TEE-L")
        .unwrap();
    assert_eq!(l.price, Some(Money::new(2_345, sgd())));
}

// ---- orders -----------------------------------------------------------------------------------

#[tokio::test]
async fn changed_orders_follow_pages_and_details_batch_fifty_with_one_item_per_unit() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": [
        {"name": "Tee", "item_sku": "TEE", "price": "5.00", "stock": 10000}]}));
    let mut ids = Vec::new();
    for i in 0..130 {
        ids.push(
            env.place(
                view.shop_id,
                json!({"lines": [{"seller_sku": "TEE", "quantity": 1 + i % 3}]}),
            )
            .order_id,
        );
        env.advance_secs(1);
    }
    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    assert_eq!(changed.len(), 130);
    assert_eq!(env.calls("GET /orders/get"), 2);
    assert!(changed
        .iter()
        .all(|c| c.status == Some(OrderStatus::ReadyToShip)));
    let wanted: Vec<ExtOrderId> = changed.iter().map(|c| c.order_id.clone()).collect();
    let orders = env.client.order_details(&creds, &wanted).await.unwrap();
    assert_eq!(orders.len(), 130);
    assert_eq!(env.calls("GET /orders/items/get"), 3, "50 + 50 + 30");
    let third = orders
        .iter()
        .find(|o| o.order_id.as_str() == ids[2])
        .unwrap();
    assert_eq!(third.lines.len(), 1);
    assert_eq!(third.lines[0].quantity, 3);
    assert_eq!(third.lines[0].line_ids.len(), 3, "one order item per unit");
    assert_eq!(third.total, Some(Money::new(1_500, sgd())));
    assert_eq!(third.placed_on, Marketplace::Lazada);
    assert_eq!(third.marketplace_status, "pending");

    // An empty range asks nothing; unknown ids are left out.
    let empty = TimeRange::new(env.now(), env.now());
    assert!(env
        .client
        .changed_orders(&creds, empty)
        .await
        .unwrap()
        .is_empty());
    let none = env
        .client
        .order_details(&creds, &[ExtOrderId::new("1")])
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn statuses_follow_the_lifecycle_and_ship_packs_then_readies() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-M", "quantity": 2}], "unpaid": true}),
    );
    let id = ExtOrderId::new(o.order_id.clone());
    assert_eq!(
        status_of(&env, &creds, &id).await,
        (OrderStatus::Pending, "unpaid".into())
    );
    env.sb()
        .advance_order(&o.order_id, OrderAction::Pay)
        .unwrap();
    assert_eq!(
        status_of(&env, &creds, &id).await,
        (OrderStatus::ReadyToShip, "pending".into())
    );

    let shipment = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                order_id: id.clone(),
                package_id: None,
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(shipment.packages.len(), 1);
    assert!(shipment.packages[0]
        .tracking_number
        .as_deref()
        .unwrap()
        .starts_with("LXAD"));
    assert_eq!(shipment.packages[0].carrier.as_deref(), Some("LEX"));
    assert_eq!(env.calls("POST /order/fulfill/pack"), 1);
    assert_eq!(env.calls("POST /order/package/rts"), 1);
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "ready_to_ship");
    assert_eq!(
        status_of(&env, &creds, &id).await,
        (OrderStatus::ReadyToShip, "ready_to_ship".into())
    );
    let detail = &env
        .client
        .order_details(&creds, std::slice::from_ref(&id))
        .await
        .unwrap()[0];
    assert_eq!(
        detail.packages[0].tracking_number,
        shipment.packages[0].tracking_number
    );

    // Shipping again has nothing left to pack or make ready.
    let again = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                order_id: id.clone(),
                package_id: None,
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(again, ChannelError::Invalid { .. }));

    env.sb()
        .advance_order(&o.order_id, OrderAction::Pickup)
        .unwrap();
    assert_eq!(
        status_of(&env, &creds, &id).await,
        (OrderStatus::Shipped, "shipped".into())
    );
    env.sb()
        .advance_order(&o.order_id, OrderAction::Deliver)
        .unwrap();
    assert_eq!(
        status_of(&env, &creds, &id).await,
        (OrderStatus::Delivered, "delivered".into())
    );

    // Cancelling after ready-to-ship is refused.
    let e = env
        .client
        .cancel_order(
            &creds,
            &CancelRequest {
                order_id: id,
                reason: CancelReason::OutOfStock,
                lines: vec![],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::Invalid { .. }), "{e:?}");
}

async fn status_of(env: &Env, creds: &ShopCredentials, id: &ExtOrderId) -> (OrderStatus, String) {
    let o = env
        .client
        .order_details(creds, std::slice::from_ref(id))
        .await
        .unwrap();
    (o[0].status, o[0].marketplace_status.clone())
}

// ---- negative paths ---------------------------------------------------------------------------

// ---- pushes -----------------------------------------------------------------------------------

#[tokio::test]
async fn pushes_verify_and_parse_into_typed_events() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/lazada/push").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(simple_shop());
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-M", "quantity": 6}]}),
    );

    // One message per order item: six units, six messages with distinct line ids.
    let mut lines = Vec::new();
    for _ in 0..6 {
        let (headers, body) = next_push(&mut hooks, 0, |d| d["order_status"] == "pending").await;
        let req = WebhookRequest {
            url: &hooks.url,
            headers: &headers,
            body: &body,
        };
        env.client.verify_webhook(&req).unwrap();
        let events = env.client.parse_webhook(&body).unwrap();
        assert_eq!(
            events[0].shop_id.as_ref().unwrap().as_str(),
            view.shop_id.to_string()
        );
        assert_eq!(
            events[0].kind,
            WebhookEventKind::OrderStatusChanged {
                order_id: ExtOrderId::new(o.order_id.clone()),
                status: OrderStatus::ReadyToShip,
                marketplace_status: "pending".into(),
            }
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        lines.push(
            v["data"]["trade_order_line_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        // A tampered body fails verification.
        let mut bad = body.to_vec();
        bad.push(b' ');
        assert!(env
            .client
            .verify_webhook(&WebhookRequest {
                url: &hooks.url,
                headers: &headers,
                body: &bad
            })
            .is_err());
    }
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 6);

    // Sellable stock fell from 10 to 4, below 5: a shallow-stock alert for the SKU.
    let (headers, body) = next_push(&mut hooks, 6, |_| true).await;
    env.client
        .verify_webhook(&WebhookRequest {
            url: &hooks.url,
            headers: &headers,
            body: &body,
        })
        .unwrap();
    let (_, variant) = ids_of(&view, "TEE-M");
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::ListingChanged {
            listing_id: None,
            variant_id: Some(variant),
        }
    );

    // Cancelled by the buyer.
    env.sb()
        .advance_order(&o.order_id, OrderAction::BuyerCancel)
        .unwrap();
    let (_, body) = next_push(&mut hooks, 0, |d| d["order_status"] == "canceled").await;
    assert!(matches!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::OrderStatusChanged {
            status: OrderStatus::Cancelled,
            ..
        }
    ));
}

#[tokio::test]
async fn authorization_expiry_alert_is_pushed_and_parsed() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/lazada/push").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(simple_shop());
    let auth_end = env.sb().shop(view.shop_id).unwrap().auth_expire_time;
    env.advance_secs(auth_end - env.now().millis() / 1000 - 3 * DAY_SECS);
    env.sb().tick();
    let (headers, body) = next_push(&mut hooks, 8, |_| true).await;
    env.client
        .verify_webhook(&WebhookRequest {
            url: &hooks.url,
            headers: &headers,
            body: &body,
        })
        .unwrap();
    assert_eq!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::AuthorizationExpiring {
            expires_at: Some(Timestamp::from_millis(auth_end * 1000))
        }
    );
    assert!(!env.client.capabilities().webhooks.listing_changes);
    assert!(env.client.capabilities().refresh_token_single_use);
}

// ---- parity: authorization ------------------------------------------------------------------

#[tokio::test]
async fn consent_deny_comes_back_as_a_clear_auth_denied_error() {
    let env = Env::start().await;
    let spec: CreateShop =
        serde_json::from_value(json!({"name": "Deny shop", "region": "SG"})).unwrap();
    let view = env.sb().create_shop(&spec).unwrap();
    let resp = env
        .http
        .post(format!(
            "{}/__sandbox/consent/lazada",
            env.server.base_url()
        ))
        .form(&[
            ("redirect_uri", "https://app.example/lazada/cb"),
            ("state", "st-9"),
            ("shop_id", &view.shop_id.to_string()),
            ("decision", "deny"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("app.example"));
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert!(!pairs.iter().any(|(k, _)| k == "code"), "{pairs:?}");
    match AuthCallback::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Err(ChannelError::Invalid { code, message }) => {
            assert_eq!(code, "access_denied");
            assert!(message.contains("did not grant"), "{message}");
        }
        other => panic!("expected Invalid(access_denied), got {other:?}"),
    }
    // Nothing was granted in the sandbox.
    assert!(!env.sb().shop(view.shop_id).unwrap().authorized);
}

// ---- parity: listings -----------------------------------------------------------------------

fn many_products(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("Item {i}"), "item_sku": format!("ITEM-{i:04}"), "price": "1.00", "stock": i}))
        .collect()
}

#[tokio::test]
async fn list_listings_walks_many_pages_and_reads_variants_warehouses_and_prices() {
    let env = Env::start().await;
    let mut products = many_products(101);
    products.push(json!({"name": "Kaos Polos", "variants": [
        {"seller_sku": "KAOS-M", "name": "M", "price": "12.34", "stock": {"WH-A": 7, "WH-B": 5}},
        {"seller_sku": "KAOS-L", "name": "L", "price": "0.99", "stock": {"WH-B": 2}}]}));
    let (view, creds, _) = env.shop(json!({
        "region": "SG", "warehouses": ["WH-A", "WH-B"], "products": products
    }));
    let mut cursors = Vec::new();
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = env
            .client
            .list_listings(&creds, &ListingQuery::default(), cursor.as_ref())
            .await
            .unwrap();
        all.extend(page.listings);
        match page.next {
            Some(c) => {
                cursors.push(c.0.clone());
                cursor = Some(c);
            }
            None => break,
        }
    }
    assert_eq!(cursors, vec!["50", "100"]);
    assert_eq!(env.calls("GET /products/get"), 3);
    assert_eq!(all.len(), 102);
    let ids: HashSet<&str> = all.iter().map(|l| l.listing_id.as_str()).collect();
    assert_eq!(ids.len(), 102, "no listing twice");
    let kaos = all.iter().find(|l| l.title == "Kaos Polos").unwrap();
    assert_eq!(kaos.variants.len(), 2);
    let (listing, variant) = ids_of(&view, "KAOS-M");
    assert_eq!(kaos.listing_id, listing);
    let m = kaos
        .variants
        .iter()
        .find(|v| v.seller_sku == "KAOS-M")
        .unwrap();
    assert_eq!(m.variant_id, variant);
    assert_eq!(m.sku.as_ref().unwrap().as_str(), "KAOS-M");
    assert_eq!(m.price, Some(Money::new(1_234, sgd())));
    let stock: Vec<(Option<&str>, i64)> = m
        .stock
        .iter()
        .map(|s| (s.warehouse_id.as_ref().map(WarehouseId::as_str), s.quantity))
        .collect();
    assert_eq!(stock, vec![(Some("WH-A"), 7), (Some("WH-B"), 5)]);
    let l = kaos
        .variants
        .iter()
        .find(|v| v.seller_sku == "KAOS-L")
        .unwrap();
    assert_eq!(l.total_stock(), 2);
    assert_eq!(l.price, Some(Money::new(99, sgd())));
}

#[tokio::test]
async fn list_listings_updated_since_returns_only_recently_changed_products() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": many_products(6)}));
    env.advance_secs(120);
    let since = env.now();
    env.advance_secs(1);
    // One product changed by an order, one by the seller's own price write.
    env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "ITEM-0005"}]}),
    );
    let (listing_id, variant_id) = ids_of(&view, "ITEM-0002");
    env.client
        .update_prices(
            &creds,
            &[PriceUpdate {
                listing_id,
                variant_id,
                price: Money::new(250, sgd()),
            }],
        )
        .await
        .unwrap();
    let page = env
        .client
        .list_listings(
            &creds,
            &ListingQuery {
                updated_since: Some(since),
            },
            None,
        )
        .await
        .unwrap();
    let mut titles: Vec<&str> = page.listings.iter().map(|l| l.title.as_str()).collect();
    titles.sort_unstable();
    assert_eq!(titles, vec!["Item 2", "Item 5"]);
    let five = page.listings.iter().find(|l| l.title == "Item 5").unwrap();
    assert_eq!(five.variants[0].total_stock(), 4);
    assert!(five.updated_at.unwrap() > since);
    // A moment after every change: nothing.
    env.advance_secs(5);
    let later = env
        .client
        .list_listings(
            &creds,
            &ListingQuery {
                updated_since: Some(env.now()),
            },
            None,
        )
        .await
        .unwrap();
    assert!(later.listings.is_empty() && later.next.is_none());
}

// ---- parity: stock and price writes ----------------------------------------------------------

#[tokio::test]
async fn update_stock_of_unknown_products_and_skus_is_rejected_per_sku_while_the_rest_applies() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let (lm, vm) = ids_of(&view, "TEE-M");
    let (lc, vc) = ids_of(&view, "CAP-1");
    let (_, vl) = ids_of(&view, "TEE-L");
    let u = |l: &ListingId, v: &ExtVariantId, q: u32| StockUpdate {
        listing_id: l.clone(),
        variant_id: v.clone(),
        warehouse_id: None,
        quantity: q,
    };
    let results = env
        .client
        .update_stock(
            &creds,
            &[
                u(&lm, &vm, 6),
                u(&ListingId::new("999999"), &ExtVariantId::new("888888"), 1),
                // A real SKU under a product that does not exist is not found either.
                u(&ListingId::new("999998"), &vl, 2),
                u(&lc, &vc, 7),
            ],
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    let outcome = |i: usize| match &results[i].outcome {
        UpdateOutcome::Applied => None,
        UpdateOutcome::Rejected(f) => Some((f.reason, f.code.clone())),
        UpdateOutcome::CallFailed(f) => panic!("the call failed: {f:?}"),
    };
    assert_eq!(outcome(0), None);
    assert_eq!(outcome(1), Some((FailureReason::NotFound, "E207".into())));
    assert_eq!(outcome(2), Some((FailureReason::NotFound, "E207".into())));
    assert_eq!(outcome(3), None);
    assert_eq!(
        results[1].listing_id.as_str(),
        "999999",
        "results follow the input"
    );
    assert_eq!(env.calls("POST /product/stock/sellable/update"), 1);
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-M").unwrap().total_stock,
        6
    );
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-L").unwrap().total_stock,
        4
    );
    assert_eq!(
        env.sb().listing(view.shop_id, "CAP-1").unwrap().total_stock,
        7
    );
}

#[tokio::test]
async fn update_stock_of_one_warehouse_leaves_the_others_alone() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"region": "SG", "warehouses": ["WH-A", "WH-B"],
        "products": [{"name": "Kaos", "item_sku": "KAOS", "price": "5", "stock": {"WH-A": 3, "WH-B": 4}}]}));
    let (listing_id, variant_id) = ids_of(&view, "KAOS");
    let results = env
        .client
        .update_stock(
            &creds,
            &[StockUpdate {
                listing_id,
                variant_id,
                warehouse_id: Some(WarehouseId::new("WH-B")),
                quantity: 9,
            }],
        )
        .await
        .unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(
        results[0].warehouse_id.as_ref().map(WarehouseId::as_str),
        Some("WH-B")
    );
    let l = env.sb().listing(view.shop_id, "KAOS").unwrap();
    assert_eq!(l.stock["WH-A"], 3);
    assert_eq!(l.stock["WH-B"], 9);
}

#[tokio::test]
async fn fifty_one_skus_are_split_by_the_client_and_a_raw_call_of_fifty_one_is_e204() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": many_products(51)}));
    let updates: Vec<StockUpdate> = (0..51)
        .map(|i| {
            let (listing_id, variant_id) = ids_of(&view, &format!("ITEM-{i:04}"));
            StockUpdate {
                listing_id,
                variant_id,
                warehouse_id: None,
                quantity: 100 + i,
            }
        })
        .collect();
    let (proxy, url) = Proxy::start(env.server.base_url()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    let results = client.update_stock(&creds, &updates).await.unwrap();
    assert!(results.iter().all(|r| r.outcome == UpdateOutcome::Applied));
    assert_eq!(env.calls("POST /product/stock/sellable/update"), 2);
    let sizes: Vec<usize> = proxy
        .seen()
        .iter()
        .map(|s| s.param("payload").unwrap().matches("<Sku>").count())
        .collect();
    assert_eq!(sizes, vec![50, 1]);
    for i in [0, 49, 50] {
        assert_eq!(
            env.sb()
                .listing(view.shop_id, &format!("ITEM-{i:04}"))
                .unwrap()
                .total_stock,
            100 + i64::from(i)
        );
    }
    // Prices are split the same way.
    let prices: Vec<PriceUpdate> = updates
        .iter()
        .map(|u| PriceUpdate {
            listing_id: u.listing_id.clone(),
            variant_id: u.variant_id.clone(),
            price: Money::new(i64::from(u.quantity), sgd()),
        })
        .collect();
    let results = client.update_prices(&creds, &prices).await.unwrap();
    assert!(results.iter().all(|r| r.outcome == UpdateOutcome::Applied));
    assert_eq!(env.calls("POST /product/price_quantity/update"), 2);
    assert_eq!(
        env.sb().listing(view.shop_id, "ITEM-0050").unwrap().price,
        "1.50"
    );

    // What the sandbox says to a request of 51 SKUs, signed by the test alone.
    let skus: String = updates
        .iter()
        .map(|u| {
            format!(
                "<Sku><ItemId>{}</ItemId><SkuId>{}</SkuId><SellableQuantity>1</SellableQuantity></Sku>",
                u.listing_id.as_str(),
                u.variant_id.as_str()
            )
        })
        .collect();
    let payload = format!("<Request><Product><Skus>{skus}</Skus></Product></Request>");
    let (status, answer) = raw_call(
        &env,
        Carry::Form,
        "/product/stock/sellable/update",
        &[("payload", &payload)],
        Some(creds.access_token.expose()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["code"], "E204", "{answer}");
    assert_eq!(answer["type"], "ISV");
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "ITEM-0000")
            .unwrap()
            .total_stock,
        100,
        "nothing of a refused request is applied"
    );
}

// ---- parity: orders -------------------------------------------------------------------------

#[tokio::test]
async fn orders_map_every_status_the_sandbox_reaches_and_one_item_per_unit() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": [
        {"name": "Kaos", "variants": [
            {"seller_sku": "KAOS-M", "name": "M", "price": "15.00", "stock": 100},
            {"seller_sku": "KAOS-L", "name": "L", "price": "17.50", "stock": 100}]}]}));
    let token = creds.access_token.expose().clone();
    let sb = env.sb();
    let line = json!({"lines": [{"seller_sku": "KAOS-M"}]});
    let mut expected: Vec<(String, OrderStatus, &str)> = Vec::new();
    let unpaid = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-M"}], "unpaid": true}),
    );
    expected.push((unpaid.order_id, OrderStatus::Pending, "unpaid"));
    let paid = env.place(view.shop_id, line.clone());
    expected.push((paid.order_id, OrderStatus::ReadyToShip, "pending"));
    let packed = env.place(view.shop_id, line.clone());
    let items = raw_item_ids(&env, &token, &packed.order_id).await;
    raw_pack(&env, &token, &packed.order_id, &items).await;
    expected.push((packed.order_id, OrderStatus::ReadyToShip, "packed"));
    let steps: [(&[OrderAction], OrderStatus, &str); 6] = [
        (
            &[OrderAction::Ship],
            OrderStatus::ReadyToShip,
            "ready_to_ship",
        ),
        (
            &[OrderAction::Ship, OrderAction::Pickup],
            OrderStatus::Shipped,
            "shipped",
        ),
        (
            &[OrderAction::Ship, OrderAction::Pickup, OrderAction::Deliver],
            OrderStatus::Delivered,
            "delivered",
        ),
        (
            &[
                OrderAction::Ship,
                OrderAction::Pickup,
                OrderAction::Deliver,
                OrderAction::Complete,
            ],
            OrderStatus::Delivered,
            "delivered",
        ),
        (
            &[OrderAction::SellerCancel],
            OrderStatus::Cancelled,
            "canceled",
        ),
        (
            &[OrderAction::BuyerCancel],
            OrderStatus::Cancelled,
            "canceled",
        ),
    ];
    for (actions, status, word) in steps {
        let o = env.place(view.shop_id, line.clone());
        for a in actions {
            sb.advance_order(&o.order_id, *a).unwrap();
        }
        expected.push((o.order_id, status, word));
    }
    let mixed = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-M", "quantity": 3}, {"seller_sku": "KAOS-L", "quantity": 1}]}),
    );

    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    assert_eq!(changed.len(), expected.len() + 1);
    for (id, status, word) in &expected {
        let c = changed.iter().find(|c| c.order_id.as_str() == id).unwrap();
        assert_eq!(c.status, Some(*status), "list: {word}");
        assert!(c.detail.is_none(), "Lazada lists headers only");
    }
    let ids: Vec<ExtOrderId> = changed.iter().map(|c| c.order_id.clone()).collect();
    let orders = env.client.order_details(&creds, &ids).await.unwrap();
    assert_eq!(env.calls("GET /orders/items/get"), 1);
    for (id, status, word) in &expected {
        let o = orders.iter().find(|o| o.order_id.as_str() == id).unwrap();
        assert_eq!(o.status, *status, "{word}");
        assert_eq!(o.marketplace_status, *word);
        assert_eq!(o.placed_on, Marketplace::Lazada);
        let sandbox = sb.order(id).unwrap();
        assert_eq!(o.lines[0].line_ids.len(), 1);
        if *status == OrderStatus::Cancelled {
            assert!(o.cancel_reason.is_some(), "{word}");
            assert_eq!(o.total, None, "a cancelled unit is not charged");
        } else {
            assert_eq!(o.total, Some(Money::new(1_500, sgd())), "{word}");
        }
        if matches!(*word, "ready_to_ship" | "shipped" | "delivered") {
            assert_eq!(
                o.packages[0].tracking_number, sandbox.tracking_number,
                "{word}"
            );
        }
    }
    let m = orders
        .iter()
        .find(|o| o.order_id.as_str() == mixed.order_id)
        .unwrap();
    assert_eq!(m.currency, Some(sgd()));
    assert_eq!(m.total, Some(Money::new(3 * 1_500 + 1_750, sgd())));
    assert_eq!(
        m.lines.len(),
        2,
        "one line per SKU after merging unit items"
    );
    let kaos_m = m.lines.iter().find(|l| l.seller_sku == "KAOS-M").unwrap();
    assert_eq!(kaos_m.quantity, 3);
    assert_eq!(kaos_m.line_ids.iter().collect::<HashSet<_>>().len(), 3);
    assert_eq!(kaos_m.unit_price, Some(Money::new(1_500, sgd())));
    assert_eq!(kaos_m.name, "Kaos (M)");
    assert_eq!(
        (kaos_m.listing_id.clone(), kaos_m.variant_id.clone()),
        ids_of(&view, "KAOS-M")
    );
    assert_eq!(
        m.lines
            .iter()
            .find(|l| l.seller_sku == "KAOS-L")
            .unwrap()
            .quantity,
        1
    );
    assert_eq!(m.created_at.millis() / 1000, mixed.create_time);
}

#[tokio::test]
async fn ship_order_reports_lazadas_tracking_number_and_ignores_a_seller_one() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-M", "quantity": 2}]}),
    );
    let (proxy, url) = Proxy::start(env.server.base_url()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    let shipment = client
        .ship_order(
            &creds,
            &ShipRequest {
                tracking_number: Some("SELF-TRK-001".into()),
                handover: Handover::DropOff,
                ..ship(&o.order_id)
            },
        )
        .await
        .unwrap();
    let after = env.sb().order(&o.order_id).unwrap();
    assert_eq!(after.status, "ready_to_ship");
    let tracking = after.tracking_number.clone().unwrap();
    assert!(tracking.starts_with("LXAD"), "{tracking}");
    assert_eq!(shipment.packages.len(), 1);
    assert_eq!(
        shipment.packages[0].package_id.as_ref().unwrap().as_str(),
        after.package_id
    );
    assert_eq!(
        shipment.packages[0].tracking_number.as_deref(),
        Some(tracking.as_str())
    );
    let seen = proxy.seen();
    let pack = seen
        .iter()
        .find(|s| s.path == "/rest/order/fulfill/pack")
        .unwrap();
    let pack_req: Value = serde_json::from_str(&pack.param("packReq").unwrap()).unwrap();
    assert_eq!(pack_req["delivery_type"], "dropship");
    assert_eq!(
        pack_req["pack_order_list"][0]["order_item_list"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "both units are packed"
    );
    assert!(!seen
        .iter()
        .any(|s| s.params().iter().any(|(_, v)| v.contains("SELF-TRK-001"))));
    let read = env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap();
    assert_eq!(read[0].marketplace_status, "ready_to_ship");
    assert_eq!(
        read[0].packages[0].tracking_number.as_deref(),
        Some(tracking.as_str())
    );
    assert_eq!(read[0].packages[0].carrier.as_deref(), Some("LEX"));
}

#[tokio::test]
async fn ship_order_of_an_order_packed_elsewhere_only_makes_it_ready_to_ship() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let o = env.place(view.shop_id, json!({"lines": [{"seller_sku": "CAP-1"}]}));
    let token = creds.access_token.expose().clone();
    let items = raw_item_ids(&env, &token, &o.order_id).await;
    let packed = raw_pack(&env, &token, &o.order_id, &items).await;
    let package = packed["result"]["data"]["pack_order_list"][0]["order_item_list"][0]
        ["package_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "packed");
    env.sb().reset_calls();
    let shipment = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                package_id: Some(PackageId::new(package.clone())),
                ..ship(&o.order_id)
            },
        )
        .await
        .unwrap();
    assert_eq!(env.calls("POST /order/fulfill/pack"), 0);
    assert_eq!(env.calls("POST /order/package/rts"), 1);
    assert_eq!(
        shipment.packages[0].package_id.as_ref().unwrap().as_str(),
        package
    );
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "ready_to_ship");
    // A package Lazada does not know is refused per package.
    let e = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                package_id: Some(PackageId::new("FP0")),
                ..ship(&o.order_id)
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Invalid { code, .. } if code == "PACKAGE_NOT_FOUND"),
        "{e:?}"
    );
}

#[tokio::test]
async fn cancel_of_a_shipped_order_is_refused_and_buyer_cancels_are_read_back() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let shipped = env.place(view.shop_id, json!({"lines": [{"seller_sku": "CAP-1"}]}));
    env.sb()
        .advance_order(&shipped.order_id, OrderAction::Ship)
        .unwrap();
    env.sb()
        .advance_order(&shipped.order_id, OrderAction::Pickup)
        .unwrap();
    let e = env
        .client
        .cancel_order(&creds, &cancel_all(&shipped.order_id))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Invalid { code, .. } if code == "CancelNotAllowed"),
        "{e:?}"
    );
    assert_eq!(env.sb().order(&shipped.order_id).unwrap().status, "shipped");
    assert_eq!(env.calls("GET /order/reverse/cancel/create"), 0);

    let early = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-L", "quantity": 2}]}),
    );
    env.sb()
        .advance_order(&early.order_id, OrderAction::BuyerCancel)
        .unwrap();
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-L").unwrap().total_stock,
        4
    );
    let read = &env
        .client
        .order_details(&creds, &[ExtOrderId::new(early.order_id.clone())])
        .await
        .unwrap()[0];
    assert_eq!(read.status, OrderStatus::Cancelled);
    assert!(!read.cancel_requested);
    assert_eq!(read.cancel_reason.as_deref(), Some("Change of mind"));
    // Once ready to ship, the buyer can no longer cancel.
    let late = env.place(view.shop_id, json!({"lines": [{"seller_sku": "TEE-L"}]}));
    env.sb()
        .advance_order(&late.order_id, OrderAction::Ship)
        .unwrap();
    assert!(env
        .sb()
        .advance_order(&late.order_id, OrderAction::BuyerCancel)
        .is_err());
}

// ---- parity: signatures, timestamps, throttling, outages -------------------------------------

#[tokio::test]
async fn every_client_request_carries_a_signature_an_independent_doc_signer_reproduces() {
    let env = Env::start().await;
    let (view, creds, refresh) = env.shop(simple_shop());
    let o = env.place(view.shop_id, json!({"lines": [{"seller_sku": "TEE-M"}]}));
    let c = env.place(view.shop_id, json!({"lines": [{"seller_sku": "CAP-1"}]}));
    let code = env
        .sb()
        .authorize(&AuthorizeRequest {
            shop_id: view.shop_id,
            redirect: Some("https://app.example/cb".into()),
            state: None,
        })
        .unwrap()
        .code;
    let (proxy, url) = Proxy::start(env.server.base_url()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    let (listing_id, variant_id) = ids_of(&view, "TEE-L");
    client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    client
        .update_stock(
            &creds,
            &[StockUpdate {
                listing_id: listing_id.clone(),
                variant_id: variant_id.clone(),
                warehouse_id: None,
                quantity: 3,
            }],
        )
        .await
        .unwrap();
    client
        .update_prices(
            &creds,
            &[PriceUpdate {
                listing_id,
                variant_id,
                price: Money::new(2_000, sgd()),
            }],
        )
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
    client.ship_order(&creds, &ship(&o.order_id)).await.unwrap();
    client
        .cancel_order(&creds, &cancel_all(&c.order_id))
        .await
        .unwrap();
    client
        .authorized_shops(&creds.access_token, None)
        .await
        .unwrap();
    client.refresh_token(&creds.shop, &refresh).await.unwrap();
    let cb = AuthCallback::from_query([("code", code.as_str())]).unwrap();
    let granted = client.exchange_code(&cb).await.unwrap();
    // The seller lookup after the exchange uses the new token; every other call the given one.
    let tokens = [
        creds.access_token.expose().clone(),
        granted.tokens.access_token.expose().clone(),
    ];

    let seen = proxy.seen();
    let apis: HashSet<&str> = seen.iter().map(Seen::api_name).collect();
    for api in [
        "/products/get",
        "/product/stock/sellable/update",
        "/product/price_quantity/update",
        "/orders/get",
        "/orders/items/get",
        "/order/items/get",
        "/order/fulfill/pack",
        "/order/package/rts",
        "/order/reverse/cancel/validate",
        "/order/reverse/cancel/create",
        "/seller/get",
        "/auth/token/refresh",
        "/auth/token/create",
    ] {
        assert!(apis.contains(api), "{api} was called");
    }
    for s in &seen {
        let api = s.api_name();
        let params = s.params();
        assert_eq!(
            s.param("sign").unwrap(),
            doc_sign(APP_SECRET, api, &params),
            "{api}"
        );
        assert_eq!(s.param("app_key").as_deref(), Some(APP_KEY), "{api}");
        assert_eq!(s.param("sign_method").as_deref(), Some("sha256"), "{api}");
        assert_eq!(
            s.param("timestamp"),
            Some(env.now().millis().to_string()),
            "{api}: milliseconds"
        );
        let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys.len(),
            keys.iter().collect::<HashSet<_>>().len(),
            "{api}: no parameter twice"
        );
        assert!(params.iter().all(|(_, v)| !v.is_empty()), "{api}");
        if api.starts_with("/auth/") {
            assert_eq!(s.param("access_token"), None, "{api}");
        } else {
            let token = s.param("access_token").unwrap();
            assert!(
                token == tokens[0] || (api == "/seller/get" && token == tokens[1]),
                "{api}"
            );
        }
        if s.method == Method::GET {
            assert!(s.form.is_empty(), "{api}");
        } else {
            assert_eq!(s.method, Method::POST, "{api}");
            assert!(
                s.query.is_empty(),
                "{api}: POST parameters travel in the form body"
            );
            assert!(s
                .content_type
                .as_deref()
                .unwrap()
                .starts_with("application/x-www-form-urlencoded"));
        }
    }
    // The XML payload is signed verbatim.
    let write = seen
        .iter()
        .find(|s| s.api_name() == "/product/stock/sellable/update")
        .unwrap();
    assert!(write
        .param("payload")
        .unwrap()
        .contains("<SellableQuantity>3</SellableQuantity>"));

    // And a request signed only by the test's signer is accepted, in the query or in a form.
    for carry in [Carry::Query, Carry::Form] {
        let (status, answer) = raw_call(
            &env,
            carry,
            "/orders/get",
            &[
                ("created_after", "2000-01-01T00:00:00+08:00"),
                ("status", "canceled"),
            ],
            Some(creds.access_token.expose()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["code"], "0", "{carry:?}: {answer}");
        assert_eq!(answer["data"]["countTotal"], 1, "{carry:?}");
        assert_eq!(
            answer["data"]["orders"][0]["order_id"].to_string(),
            c.order_id
        );
    }
}

#[tokio::test]
async fn tampered_parameters_token_or_signature_are_signature_errors() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let (proxy, url) = Proxy::start(env.server.base_url()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    let (listing_id, variant_id) = ids_of(&view, "TEE-M");
    let update = [StockUpdate {
        listing_id,
        variant_id,
        warehouse_id: None,
        quantity: 1,
    }];
    for tamper in [Tamper::Param, Tamper::Token, Tamper::Sign] {
        proxy.set(tamper);
        // A GET with its parameters in the query …
        let err = client
            .list_listings(&creds, &ListingQuery::default(), None)
            .await
            .unwrap_err();
        match &err {
            ChannelError::Signature { code, .. } => {
                assert_eq!(code, "IncompleteSignature", "{tamper:?}");
            }
            other => panic!("{tamper:?}: expected Signature, got {other:?}"),
        }
        assert!(!err.is_retryable() && !err.needs_token_refresh());
        // … and a POST with its XML payload in the form body.
        let err = client.update_stock(&creds, &update).await.unwrap_err();
        assert!(
            matches!(&err, ChannelError::Signature { code, .. } if code == "IncompleteSignature"),
            "{tamper:?}: {err:?}"
        );
    }
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-M").unwrap().total_stock,
        10,
        "no tampered write was applied"
    );
    proxy.set(Tamper::Nothing);
    client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let results = client.update_stock(&creds, &update).await.unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-M").unwrap().total_stock,
        1
    );
    // Unsigned: the sandbox names the missing parameter.
    let url = format!(
        "{}/rest/seller/get?app_key={APP_KEY}&timestamp={}&sign_method=sha256&access_token={}",
        env.server.base_url(),
        env.now().millis(),
        creds.access_token.expose()
    );
    let answer: Value = env
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], "MissingParameter");
}

/// The contract (`contract::faults`) checks the client's `RateLimited` and its
/// one-second `retry_after`; this is what Lazada's wire says when it refuses.
#[tokio::test]
async fn rate_limit_on_the_wire_is_api_call_limit_with_the_ban() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(simple_shop());
    env.sb().set_faults(FaultConfig {
        rate_limit_qps: Some(2),
        ..FaultConfig::default()
    });
    let query = ListingQuery::default();
    let list = || env.client.list_listings(&creds, &query, None);
    list().await.unwrap();
    list().await.unwrap();
    // What the wire says: HTTP 200 with Lazada's code and the ban in the message.
    let (status, answer) = raw_call(
        &env,
        Carry::Query,
        "/products/get",
        &[("filter", "all")],
        Some(creds.access_token.expose()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["type"], "ISV");
    assert_eq!(answer["code"], "ApiCallLimit");
    assert_eq!(
        answer["message"],
        "Api access frequency exceeds the limit. this ban will last 1 seconds."
    );
}

// ---- parity: pushes -------------------------------------------------------------------------

#[tokio::test]
async fn a_status_changed_after_signing_or_a_keyless_signature_is_rejected_and_malformed_pushes_do_not_parse(
) {
    // Other tampering, unsigned and wrongly keyed pushes are the contract (`contract::webhooks`).
    let env = Env::start().await;
    let mut hooks = Hooks::start("/lazada/push").await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(simple_shop());
    let o = env.place(view.shop_id, json!({"lines": [{"seller_sku": "CAP-1"}]}));
    let (headers, body) = next_push(&mut hooks, 0, |_| true).await;
    env.client
        .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["data"]["trade_order_id"], o.order_id.as_str());

    let rejected = |r: Result<(), ChannelError>| {
        assert!(
            matches!(r, Err(ChannelError::WebhookRejected { .. })),
            "{r:?}"
        );
    };
    // The status changed after signing.
    let tampered = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("\"pending\"", "\"canceled\"");
    assert_ne!(tampered.as_bytes(), &body[..]);
    rejected(env.client.verify_webhook(&webhook_request(
        &headers,
        tampered.as_bytes(),
        &hooks.url,
    )));
    // Signed without the app key in front (the construction matters).
    let mut keyless = headers.clone();
    keyless.insert(
        "authorization",
        hmac_hex(APP_SECRET, &body).parse().unwrap(),
    );
    rejected(
        env.client
            .verify_webhook(&webhook_request(&keyless, &body, &hooks.url)),
    );
    // Malformed bodies do not parse.
    for bad in [
        &b"not json"[..],
        br#"{"seller_id":"1","message_type":0,"data":{}}"#,
        br#"{"seller_id":"1","data":{}}"#,
        br#"{"seller_id":"1","message_type":3,"data":"oops"}"#,
    ] {
        let r = env.client.parse_webhook(bad);
        assert!(
            matches!(r, Err(ChannelError::WebhookRejected { .. })),
            "{}: {r:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

// ---- partial cancellation and orders of several packages --------------------------------------

#[tokio::test]
async fn cancel_of_some_lines_names_every_unit_item_of_those_skus_and_puts_their_stock_back() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(json!({"region": "SG", "products": [
        {"name": "Kaos", "variants": [
            {"seller_sku": "KAOS-M", "price": "10", "stock": 10},
            {"seller_sku": "KAOS-L", "price": "10", "stock": 10}]}]}));
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "KAOS-M", "quantity": 3}, {"seller_sku": "KAOS-L", "quantity": 1}]}),
    );
    let (_, answer) = raw_call(
        &env,
        Carry::Query,
        "/order/items/get",
        &[("order_id", &o.order_id)],
        Some(creds.access_token.expose()),
    )
    .await;
    let ids_of_sku = |sku: &str| -> Vec<String> {
        let mut ids: Vec<String> = answer["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["sku"] == sku)
            .map(|i| i["order_item_id"].to_string())
            .collect();
        ids.sort();
        ids
    };
    let (m_items, l_items) = (ids_of_sku("KAOS-M"), ids_of_sku("KAOS-L"));
    assert_eq!(m_items.len(), 3);
    let (proxy, url) = Proxy::start(env.server.base_url()).await;
    let client = client_at(&url, APP_SECRET, env.clock.clone());
    let c = client
        .cancel_order(
            &creds,
            &CancelRequest {
                order_id: ExtOrderId::new(o.order_id.clone()),
                reason: CancelReason::OutOfStock,
                lines: vec![ids_of(&view, "KAOS-M")],
            },
        )
        .await
        .unwrap();
    assert_eq!(c.status.as_deref(), Some("canceled"));
    let created = proxy
        .seen()
        .into_iter()
        .find(|s| s.api_name() == "/order/reverse/cancel/create")
        .unwrap();
    let list = created.param("order_item_id_list").unwrap();
    let mut sent: Vec<String> = list
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(str::to_owned)
        .collect();
    sent.sort();
    assert_eq!(sent, m_items, "every unit of the SKU, no other");
    assert_eq!(created.param("reason_id").as_deref(), Some("10000"));

    // In the sandbox: the three units are back, the order goes on with the other SKU.
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
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "pending");
    // Read back: still to ship, only the live SKU in the lines, charged for it alone.
    let read = &env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap()[0];
    assert_eq!(read.status, OrderStatus::ReadyToShip);
    assert_eq!(read.marketplace_status, "pending");
    assert_eq!(read.lines.len(), 1);
    assert_eq!(read.lines[0].seller_sku, "KAOS-L");
    assert_eq!(read.lines[0].quantity, 1);
    assert_eq!(read.lines[0].line_ids, l_items);
    assert_eq!(read.total, Some(Money::new(1_000, sgd())));
    assert_eq!(read.cancel_reason.as_deref(), Some("Out of stock"));

    // Cancelling "everything" now names only the item still live, and the order is cancelled.
    client
        .cancel_order(&creds, &cancel_all(&o.order_id))
        .await
        .unwrap();
    let last = proxy
        .seen()
        .into_iter()
        .rfind(|s| s.api_name() == "/order/reverse/cancel/create")
        .unwrap();
    assert_eq!(
        last.param("order_item_id_list"),
        Some(format!("[{}]", l_items[0]))
    );
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "canceled");
    assert_eq!(
        env.sb()
            .listing(view.shop_id, "KAOS-L")
            .unwrap()
            .total_stock,
        10
    );
    let read = &env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap()[0];
    assert_eq!(read.status, OrderStatus::Cancelled);
    let units: Vec<(String, u32)> = read
        .lines
        .iter()
        .map(|l| (l.seller_sku.clone(), l.quantity))
        .collect();
    assert_eq!(
        units,
        vec![("KAOS-M".to_owned(), 3), ("KAOS-L".to_owned(), 1)],
        "a cancelled order keeps every unit it released"
    );
    // Nothing is left to cancel.
    let e = client
        .cancel_order(&creds, &cancel_all(&o.order_id))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Invalid { code, .. } if code == "no_items"),
        "{e:?}"
    );
}

#[tokio::test]
async fn ship_order_readies_every_package_of_a_multi_package_order_or_only_the_one_named() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let token = creds.access_token.expose().clone();

    // Seller Center packed one unit on its own; shipping the order packs the rest into a
    // second package and makes both ready.
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-M", "quantity": 2}, {"seller_sku": "CAP-1"}]}),
    );
    let items = raw_item_ids(&env, &token, &o.order_id).await;
    let first = raw_pack(&env, &token, &o.order_id, &items[..1]).await;
    let p1 = first["result"]["data"]["pack_order_list"][0]["order_item_list"][0]["package_id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.sb().reset_calls();
    let shipment = env
        .client
        .ship_order(&creds, &ship(&o.order_id))
        .await
        .unwrap();
    assert_eq!(env.calls("POST /order/fulfill/pack"), 1);
    assert_eq!(
        env.calls("POST /order/package/rts"),
        1,
        "both packages in one call"
    );
    assert_eq!(shipment.packages.len(), 2);
    let ids: HashSet<&str> = shipment
        .packages
        .iter()
        .map(|p| p.package_id.as_ref().unwrap().as_str())
        .collect();
    assert!(ids.contains(p1.as_str()));
    let trackings: HashSet<&str> = shipment
        .packages
        .iter()
        .map(|p| p.tracking_number.as_deref().unwrap())
        .collect();
    assert_eq!(
        trackings.len(),
        2,
        "each package has its own tracking number"
    );
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "ready_to_ship");
    let read = &env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap()[0];
    assert_eq!(read.packages.len(), 2);
    assert!(read
        .packages
        .iter()
        .all(|p| p.status.as_deref() == Some("ready_to_ship")));
    let read_trackings: HashSet<&str> = read
        .packages
        .iter()
        .map(|p| p.tracking_number.as_deref().unwrap())
        .collect();
    assert_eq!(read_trackings, trackings);
    assert_eq!(read.lines.iter().map(|l| l.quantity).sum::<u32>(), 3);

    // Naming one package makes only that one ready; the rest of the order waits.
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-L", "quantity": 2}]}),
    );
    let items = raw_item_ids(&env, &token, &o.order_id).await;
    raw_pack(&env, &token, &o.order_id, &items[..1]).await;
    let second = raw_pack(&env, &token, &o.order_id, &items[1..]).await;
    let p2 = second["result"]["data"]["pack_order_list"][0]["order_item_list"][0]["package_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shipment = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                package_id: Some(PackageId::new(p2.clone())),
                ..ship(&o.order_id)
            },
        )
        .await
        .unwrap();
    assert_eq!(shipment.packages.len(), 1);
    assert_eq!(
        shipment.packages[0].package_id.as_ref().unwrap().as_str(),
        p2
    );
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "packed");
    let read = &env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap()[0];
    let mut states: Vec<(String, String)> = read
        .packages
        .iter()
        .map(|p| {
            (
                p.package_id.as_ref().unwrap().as_str().to_owned(),
                p.status.clone().unwrap(),
            )
        })
        .collect();
    states.sort();
    assert_eq!(states.len(), 2);
    assert!(states.contains(&(p2.clone(), "ready_to_ship".to_owned())));
    assert!(states.iter().any(|(p, s)| *p != p2 && s == "packed"));
    assert_eq!(read.status, OrderStatus::ReadyToShip);
    // Shipping the whole order now readies what is left.
    env.client
        .ship_order(&creds, &ship(&o.order_id))
        .await
        .unwrap();
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "ready_to_ship");
}

#[tokio::test]
async fn pushes_after_a_partial_cancel_carry_each_items_own_status() {
    let env = Env::start().await;
    let mut hooks = Hooks::start("/lazada/push").await;
    let (view, creds, _) = env.shop(simple_shop());
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-M", "quantity": 2}, {"seller_sku": "CAP-1"}]}),
    );
    env.sb().set_push_url(Some(hooks.url.clone()));
    env.client
        .cancel_order(
            &creds,
            &CancelRequest {
                order_id: ExtOrderId::new(o.order_id.clone()),
                reason: CancelReason::OutOfStock,
                lines: vec![ids_of(&view, "CAP-1")],
            },
        )
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (headers, body) = next_push(&mut hooks, 0, |_| true).await;
        env.client
            .verify_webhook(&webhook_request(&headers, &body, &hooks.url))
            .unwrap();
        match &env.client.parse_webhook(&body).unwrap()[0].kind {
            WebhookEventKind::OrderStatusChanged {
                order_id,
                marketplace_status,
                ..
            } => {
                assert_eq!(order_id.as_str(), o.order_id);
                statuses.push(marketplace_status.clone());
            }
            other => panic!("{other:?}"),
        }
    }
    statuses.sort();
    assert_eq!(statuses, vec!["canceled", "pending", "pending"]);
}

// ---- a venture per shop ---------------------------------------------------------------------

/// Connects a shop through the code exchange, as the engine does, and returns what it stores.
async fn connect(env: &Env, shop_id: u64) -> (storesync_channels::AuthorizedShop, TokenSet) {
    let code = env
        .sb()
        .authorize(&AuthorizeRequest {
            shop_id,
            redirect: Some("https://app.example/cb".into()),
            state: None,
        })
        .unwrap()
        .code;
    let cb = AuthCallback::from_query([("code", code.as_str())]).unwrap();
    let auth = env.client.exchange_code(&cb).await.unwrap();
    assert_eq!(auth.shops.len(), 1);
    (auth.shops[0].clone(), auth.tokens)
}

#[tokio::test]
async fn a_shop_of_another_venture_connects_with_its_venture_and_trades_in_its_currency() {
    let env = Env::start().await;
    assert_eq!(env.client.venture(), Venture::Sg);
    let spec: CreateShop = serde_json::from_value(json!({"name": "Kedai KL", "region": "MY",
        "products": [{"name": "Baju", "item_sku": "BAJU", "price": "12.50", "stock": 5}]}))
    .unwrap();
    let view = env.sb().create_shop(&spec).unwrap();
    let (shop, tokens) = connect(&env, view.shop_id).await;
    assert_eq!(shop.shop.shop_id.as_str(), view.shop_id.to_string());
    assert_eq!(shop.shop.cipher.as_deref(), Some("MY"));
    assert_eq!(shop.region.as_deref(), Some("MY"));
    assert_eq!(shop.name.as_deref(), Some("Kedai KL"));

    let myr: Currency = "MYR".parse().unwrap();
    let creds = ShopCredentials {
        shop: shop.shop.clone(),
        access_token: tokens.access_token.clone(),
    };
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(
        page.listings[0].variants[0].price,
        Some(Money::new(1_250, myr))
    );
    let (listing_id, variant_id) = ids_of(&view, "BAJU");
    let results = env
        .client
        .update_prices(
            &creds,
            &[PriceUpdate {
                listing_id,
                variant_id,
                price: Money::new(1_390, myr),
            }],
        )
        .await
        .unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(
        env.sb().listing(view.shop_id, "BAJU").unwrap().price,
        "13.90"
    );
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "BAJU", "quantity": 2}]}),
    );
    let orders = env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id)])
        .await
        .unwrap();
    assert_eq!(orders[0].currency, Some(myr));
    assert_eq!(orders[0].total, Some(Money::new(2_780, myr)));
    // Looking the shop up again keeps its venture.
    let again = env
        .client
        .authorized_shops(&tokens.access_token, Some(&shop.shop))
        .await
        .unwrap();
    assert_eq!(again, vec![shop.clone()]);

    // A shop handle naming no venture Lazada has is refused before anything is sent.
    env.sb().reset_calls();
    let mut unknown = creds.clone();
    unknown.shop = ShopRef::new(view.shop_id.to_string().as_str()).with_cipher("XX");
    let e = env
        .client
        .list_listings(&unknown, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::Config { .. }), "{e:?}");
    assert!(env.sb().calls().is_empty());
}

#[tokio::test]
async fn whole_rupiah_prices_of_an_indonesian_shop_read_in_idr() {
    let env = Env::start().await;
    let (_, mut creds, _) = env.shop(json!({"region": "ID", "products": [
        {"name": "Kaos", "item_sku": "KAOS", "price": "15000", "stock": 3, "listed": false}]}));
    creds.shop = creds.shop.with_cipher("ID");
    let idr: Currency = "IDR".parse().unwrap();
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let kaos = &page.listings[0];
    assert_eq!(kaos.status, ListingStatus::Inactive);
    assert_eq!(kaos.variants[0].price, Some(Money::new(1_500_000, idr)));
    assert_eq!(kaos.variants[0].total_stock(), 3);
    assert_eq!(
        kaos.variants[0].stock[0]
            .warehouse_id
            .as_ref()
            .map(WarehouseId::as_str),
        Some("dropshipping_id")
    );
}
