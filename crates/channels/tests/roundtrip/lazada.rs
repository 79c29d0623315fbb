//! Lazada client against the Lazada sandbox.
//!
//! Every test starts its own sandbox on port 0 with a `ManualClock` that the sandbox and the
//! real `LazadaClient` share, so token expiry and the ±7200 s timestamp window move only when a
//! test says so. Nothing sleeps for readiness: the sandbox is bound before `start` returns, and
//! pushes are awaited on a channel with a timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use storesync_channels::lazada::{LazadaClient, LazadaConfig, Venture};
use storesync_channels::{
    listing_stream, with_token_refresh, AuthCallback, CancelReason, CancelRequest, Channel,
    ChannelError, ExtOrderId, ExtVariantId, FailureReason, Handover, ListingId, ListingQuery,
    ListingStatus, Marketplace, PriceUpdate, Secret, ShipRequest, ShopCredentials, ShopRef,
    StockUpdate, TimeRange, UpdateOutcome, WebhookEventKind, WebhookRequest,
};
use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, Currency, Money, OrderStatus, SystemClock, Timestamp};
use storesync_sandbox::{
    AuthorizeRequest, CreateShop, FaultConfig, OrderAction, PlaceOrder, Sandbox, SandboxConfig,
    SandboxServer, ShopView,
};
use tokio::sync::mpsc;

const APP_KEY: &str = "100001";
const APP_SECRET: &str = "SECRETLAZ";
const DAY_SECS: i64 = 86_400;
const WAIT: Duration = Duration::from_secs(10);

// ---- harness ------------------------------------------------------------------------------

struct Env {
    server: SandboxServer,
    clock: Arc<ManualClock>,
    client: LazadaClient,
    http: reqwest::Client,
}

fn client_at(base_url: &str, secret: &str, clock: Arc<dyn Clock>) -> LazadaClient {
    let config = LazadaConfig::new(APP_KEY, Secret::new(secret.to_owned()), Venture::Sg)
        .with_base_url(base_url);
    LazadaClient::new(config, clock).unwrap()
}

impl Env {
    async fn start() -> Env {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let mut config = SandboxConfig::new(storesync_sandbox::Marketplace::Lazada);
        config.clock = clock.clone();
        config.time_scale = 0.0001;
        config.seed = Some(5);
        let server = SandboxServer::start(config).await.unwrap();
        let client = client_at(&server.base_url(), APP_SECRET, clock.clone());
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

    fn sb(&self) -> &Arc<Sandbox> {
        self.server.sandbox()
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn advance_secs(&self, secs: i64) {
        self.clock.advance_millis(secs * 1000);
    }

    /// Creates a shop from a control-API JSON spec and mints a token pair for it.
    fn shop(&self, spec: Value) -> (ShopView, ShopCredentials, Secret<String>) {
        let spec: CreateShop = serde_json::from_value(spec).unwrap();
        let view = self.sb().create_shop(&spec).unwrap();
        let (access, refresh) = self.sb().mint_tokens(view.shop_id).unwrap();
        (
            view.clone(),
            creds_for(&view, &access),
            Secret::new(refresh),
        )
    }

    fn everything(&self) -> TimeRange {
        TimeRange::new(
            self.now().plus_millis(-DAY_SECS * 1000),
            self.now().plus_millis(1000),
        )
    }

    fn calls(&self, key: &str) -> u64 {
        self.sb().calls().get(key).copied().unwrap_or(0)
    }

    fn place(&self, shop_id: u64, order: Value) -> storesync_sandbox::OrderView {
        let order: PlaceOrder = serde_json::from_value(order).unwrap();
        self.sb().place_order(shop_id, &order).unwrap()
    }
}

fn creds_for(view: &ShopView, access_token: &str) -> ShopCredentials {
    ShopCredentials {
        shop: ShopRef::new(view.shop_id.to_string().as_str()),
        access_token: Secret::new(access_token.to_owned()),
    }
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

struct Hooks {
    url: String,
    rx: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
    stash: Vec<(HeaderMap, Bytes)>,
}

async fn hook(
    State(tx): State<mpsc::UnboundedSender<(HeaderMap, Bytes)>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = tx.send((headers, body));
    StatusCode::OK
}

impl Hooks {
    async fn start() -> Hooks {
        let (tx, rx) = mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/lazada/push", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/lazada/push", axum::routing::post(hook))
            .with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hooks {
            url,
            rx,
            stash: Vec::new(),
        }
    }

    /// The next push of `message_type` whose data satisfies `pred`.
    async fn next(&mut self, kind: i64, pred: impl Fn(&Value) -> bool) -> (HeaderMap, Bytes) {
        let is = |b: &Bytes| {
            let v: Value = serde_json::from_slice(b).unwrap();
            v["message_type"] == kind && pred(&v["data"])
        };
        if let Some(pos) = self.stash.iter().position(|(_, b)| is(b)) {
            return self.stash.remove(pos);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no push of type {kind} within {WAIT:?}"))
                .unwrap();
            if is(&got.1) {
                return got;
            }
            self.stash.push(got);
        }
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
async fn stock_below_locked_stock_and_unknown_skus_are_per_sku_rejections() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    env.sb().set_reservation(view.shop_id, "TEE-M", 5).unwrap();
    let (lm, vm) = ids_of(&view, "TEE-M");
    let (ll, vl) = ids_of(&view, "TEE-L");
    let updates = vec![
        StockUpdate {
            listing_id: lm.clone(),
            variant_id: vm.clone(),
            warehouse_id: None,
            quantity: 4,
        },
        StockUpdate {
            listing_id: ll,
            variant_id: vl,
            warehouse_id: None,
            quantity: 8,
        },
        StockUpdate {
            listing_id: lm,
            variant_id: ExtVariantId::new("999"),
            warehouse_id: None,
            quantity: 1,
        },
    ];
    let results = env.client.update_stock(&creds, &updates).await.unwrap();
    let reason = |i: usize| match &results[i].outcome {
        UpdateOutcome::Rejected(f) => Some(f.reason),
        UpdateOutcome::Applied => None,
    };
    assert_eq!(reason(0), Some(FailureReason::BelowReservedStock));
    assert_eq!(reason(1), None);
    assert_eq!(reason(2), Some(FailureReason::NotFound));
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-M").unwrap().total_stock,
        10
    );
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-L").unwrap().total_stock,
        8
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

#[tokio::test]
async fn cancel_picks_the_out_of_stock_reason_and_puts_stock_back() {
    let env = Env::start().await;
    let (view, creds, _) = env.shop(simple_shop());
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-L", "quantity": 3}]}),
    );
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-L").unwrap().total_stock,
        1
    );
    let c = env
        .client
        .cancel_order(
            &creds,
            &CancelRequest {
                order_id: ExtOrderId::new(o.order_id.clone()),
                reason: CancelReason::OutOfStock,
                lines: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(c.status.as_deref(), Some("canceled"));
    assert_eq!(env.sb().order(&o.order_id).unwrap().status, "canceled");
    assert_eq!(
        env.sb().listing(view.shop_id, "TEE-L").unwrap().total_stock,
        4
    );
    let detail = &env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id)])
        .await
        .unwrap()[0];
    assert_eq!(detail.status, OrderStatus::Cancelled);
    assert_eq!(detail.cancel_reason.as_deref(), Some("Out of stock"));
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

#[tokio::test]
async fn wrong_secret_and_skewed_clocks_are_signature_errors() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(simple_shop());
    let wrong = client_at(&env.server.base_url(), "NOT-THE-SECRET", env.clock.clone());
    let e = wrong
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Signature { code, .. } if code == "IncompleteSignature"),
        "{e:?}"
    );

    for (skew, ok) in [
        (7_199, true),
        (-7_199, true),
        (7_201, false),
        (-7_201, false),
    ] {
        let clock = Arc::new(ManualClock::new(env.now().plus_millis(skew * 1000)));
        let skewed = client_at(&env.server.base_url(), APP_SECRET, clock);
        let r = skewed
            .list_listings(&creds, &ListingQuery::default(), None)
            .await;
        assert_eq!(r.is_ok(), ok, "skew {skew}: {r:?}");
        if let Err(e) = r {
            assert!(matches!(e, ChannelError::Signature { .. }), "{e:?}");
        }
    }
}

#[tokio::test]
async fn rate_limits_and_server_faults_are_classified() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(simple_shop());
    env.sb().set_faults(FaultConfig {
        rate_limit_qps: Some(1),
        ..FaultConfig::default()
    });
    env.client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let e = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    env.advance_secs(1);
    env.client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();

    env.sb().set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let e = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}

// ---- pushes -----------------------------------------------------------------------------------

#[tokio::test]
async fn pushes_verify_and_parse_into_typed_events() {
    let env = Env::start().await;
    let mut hooks = Hooks::start().await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(simple_shop());
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "TEE-M", "quantity": 6}]}),
    );

    // One message per order item: six units, six messages with distinct line ids.
    let mut lines = Vec::new();
    for _ in 0..6 {
        let (headers, body) = hooks.next(0, |d| d["order_status"] == "pending").await;
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
    let (headers, body) = hooks.next(6, |_| true).await;
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
    let (_, body) = hooks.next(0, |d| d["order_status"] == "canceled").await;
    assert!(matches!(
        env.client.parse_webhook(&body).unwrap()[0].kind,
        WebhookEventKind::OrderStatusChanged {
            status: OrderStatus::Cancelled,
            ..
        }
    ));
}

#[tokio::test]
async fn a_shop_without_products_is_one_empty_last_page() {
    let env = Env::start().await;
    let (_, creds, _) = env.shop(json!({"region": "SG"}));
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert!(page.listings.is_empty());
    assert!(page.next.is_none());
    assert_eq!(env.calls("GET /products/get"), 1);
}

#[tokio::test]
async fn another_sellers_orders_are_left_out_and_timeouts_are_transient() {
    let env = Env::start().await;
    let (mine, creds, _) = env.shop(simple_shop());
    let (theirs, _, _) = env.shop(simple_shop());
    let own = env.place(mine.shop_id, json!({"lines": [{"seller_sku": "CAP-1"}]}));
    let other = env.place(theirs.shop_id, json!({"lines": [{"seller_sku": "CAP-1"}]}));
    let orders = env
        .client
        .order_details(
            &creds,
            &[
                ExtOrderId::new(other.order_id.clone()),
                ExtOrderId::new(own.order_id.clone()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_id.as_str(), own.order_id);
    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    assert_eq!(changed.len(), 1, "only this seller's orders are listed");

    env.sb().set_faults(FaultConfig {
        timeout_rate: 1.0,
        timeout_ms: 10,
        ..FaultConfig::default()
    });
    let e = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}

#[tokio::test]
async fn authorization_expiry_alert_is_pushed_and_parsed() {
    let env = Env::start().await;
    let mut hooks = Hooks::start().await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(simple_shop());
    let auth_end = env.sb().shop(view.shop_id).unwrap().auth_expire_time;
    env.advance_secs(auth_end - env.now().millis() / 1000 - 3 * DAY_SECS);
    env.sb().tick();
    let (headers, body) = hooks.next(8, |_| true).await;
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
