//! Tests of the TikTok client over HTTP against a tiny in-test server, and
//! of webhook verification and parsing.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Currency, Money, OrderStatus, Timestamp};

use futures_util::TryStreamExt;

use super::*;
use crate::ids::{ExtVariantId, ListingId, WarehouseId};
use crate::model::{FailureReason, WebhookEventKind};
use crate::testing::{FakeServer, Recorded};

const APP_KEY: &str = "29a39d";
const SECRET: &str = "e59af819cc";
const NOW_S: i64 = 1_700_000_000;

fn client(base: &str) -> TikTokClient {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(NOW_S * 1000)));
    let config =
        TikTokConfig::new(APP_KEY, Secret::new(SECRET.to_owned()), "svc1").with_base_url(base);
    TikTokClient::new(config, clock).unwrap()
}

fn creds() -> ShopCredentials {
    ShopCredentials {
        shop: ShopRef::new("7494049642642441621").with_cipher("ROW_CIPHER123"),
        access_token: Secret::new("TTP_token".to_owned()),
    }
}

fn ok(data: &str) -> (u16, String) {
    (
        200,
        format!(r#"{{"code":0,"message":"Success","request_id":"r","data":{data}}}"#),
    )
}

/// Recomputes the signature straight from the fact sheet's recipe over what
/// the server received, independent of the production signer.
fn assert_signed(r: &Recorded) {
    use hmac::{Hmac, Mac};
    let mut pairs: Vec<&(String, String)> = r
        .query
        .iter()
        .filter(|(k, _)| k != "sign" && k != "access_token")
        .collect();
    pairs.sort();
    let mut s = format!("{SECRET}{}", r.path).into_bytes();
    for (k, v) in pairs {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    s.extend_from_slice(&r.body);
    s.extend_from_slice(SECRET.as_bytes());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&s);
    assert_eq!(
        r.param("sign").unwrap(),
        hex::encode(mac.finalize().into_bytes()),
        "{}",
        r.path
    );
    assert_eq!(r.param("app_key"), Some(APP_KEY));
    assert_eq!(r.param("timestamp"), Some("1700000000"));
    assert_eq!(
        r.param("access_token"),
        None,
        "the token travels in a header"
    );
    assert_eq!(r.headers.get("x-tts-access-token").unwrap(), "TTP_token");
}

fn order_json(id: &str, status: &str) -> String {
    format!(
        r#"{{"id":"{id}","status":"{status}","create_time":1,"update_time":2,
            "payment":{{"currency":"IDR","total_amount":"10000"}},"packages":[{{"id":"P{id}"}}],
            "line_items":[{{"id":"L","sku_id":"S1","product_id":"P1","product_name":"x","sale_price":"10000"}}]}}"#
    )
}

#[tokio::test]
async fn order_search_follows_page_tokens_and_signs_the_raw_body() {
    let responses = vec![
        ok(&format!(
            r#"{{"next_page_token":"t2","total_count":3,"orders":[{},{}]}}"#,
            order_json("1", "ON_HOLD"),
            order_json("2", "IN_TRANSIT")
        )),
        ok(&format!(
            r#"{{"next_page_token":"","total_count":3,"orders":[{}]}}"#,
            order_json("3", "CANCEL")
        )),
    ];
    let server = FakeServer::start(responses).await;
    let tiktok = client(&server.base_url);
    let range = TimeRange::new(
        Timestamp::from_millis(1_000_000),
        Timestamp::from_millis(NOW_S * 1000),
    );
    let orders = tiktok.changed_orders(&creds(), range).await.unwrap();

    let got: Vec<(&str, Option<OrderStatus>)> = orders
        .iter()
        .map(|o| (o.order_id.as_str(), o.status))
        .collect();
    assert_eq!(
        got,
        vec![
            ("1", Some(OrderStatus::Pending)),
            ("2", Some(OrderStatus::Shipped)),
            ("3", Some(OrderStatus::Cancelled)),
        ]
    );
    assert!(
        orders.iter().all(|o| o.detail.is_some()),
        "the list already carries details"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method, reqwest::Method::POST);
        assert_eq!(r.path, "/order/202309/orders/search");
        assert_eq!(r.param("shop_cipher"), Some("ROW_CIPHER123"));
        assert_eq!(r.param("page_size"), Some("100"));
        assert_eq!(
            r.body,
            br#"{"update_time_ge":1000,"update_time_lt":1700000000}"#
        );
        assert_signed(r);
    }
    assert_eq!(requests[0].param("page_token"), None);
    assert_eq!(requests[1].param("page_token"), Some("t2"));
}

#[tokio::test]
async fn order_details_send_ids_comma_joined_in_fifties() {
    let page = |n: usize, offset: usize| {
        let list: Vec<String> = (0..n)
            .map(|i| order_json(&(offset + i).to_string(), "DELIVERED"))
            .collect();
        ok(&format!(r#"{{"orders":[{}]}}"#, list.join(",")))
    };
    let server = FakeServer::start(vec![page(50, 0), page(1, 50)]).await;
    let tiktok = client(&server.base_url);
    let ids: Vec<ExtOrderId> = (0..51).map(|i| ExtOrderId::new(i.to_string())).collect();
    let orders = tiktok.order_details(&creds(), &ids).await.unwrap();
    assert_eq!(orders.len(), 51);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].params("ids").len(),
        1,
        "one comma-joined value, never repeated keys"
    );
    assert_eq!(requests[0].param("ids").unwrap().split(',').count(), 50);
    assert_eq!(requests[1].param("ids"), Some("50"));
    assert!(requests[0].body.is_empty());
    assert_signed(&requests[0]);
}

#[tokio::test]
async fn stock_updates_go_one_product_per_call_with_all_warehouses() {
    let responses = vec![
        ok(
            r#"{"errors":[{"code":12052393,"message":"quantity below campaign reserved stock","detail":{"sku_id":"S2","extra_errors":[]}}]}"#,
        ),
        (
            200,
            r#"{"code":12052032,"message":"product not found","request_id":"r","data":null}"#
                .to_owned(),
        ),
    ];
    let server = FakeServer::start(responses).await;
    let tiktok = client(&server.base_url);
    let u = |p: &str, s: &str, w: Option<&str>, q| StockUpdate {
        listing_id: ListingId::new(p),
        variant_id: ExtVariantId::new(s),
        warehouse_id: w.map(WarehouseId::new),
        quantity: q,
    };
    let updates = vec![
        u("P1", "S1", Some("W1"), 3),
        u("P2", "S9", None, 0),
        u("P1", "S2", Some("W1"), 1),
        u("P1", "S1", Some("W2"), 4),
    ];
    let results = tiktok.update_stock(&creds(), &updates).await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        "/product/202309/products/P1/inventory/update"
    );
    assert_eq!(
        requests[0].body,
        br#"{"skus":[{"id":"S1","inventory":[{"warehouse_id":"W1","quantity":3},{"warehouse_id":"W2","quantity":4}]},{"id":"S2","inventory":[{"warehouse_id":"W1","quantity":1}]}]}"#
    );
    assert_signed(&requests[0]);
    assert_eq!(
        requests[1].path,
        "/product/202309/products/P2/inventory/update"
    );

    let outcome = |i: usize| match &results[i].outcome {
        UpdateOutcome::Applied => None,
        UpdateOutcome::Rejected(f) => Some((f.reason, f.code.clone())),
        UpdateOutcome::CallFailed(f) => panic!("call failed: {f:?}"),
    };
    assert_eq!(results.len(), 4);
    assert_eq!(outcome(0), None);
    assert_eq!(
        outcome(1),
        Some((FailureReason::NotFound, "12052032".into()))
    );
    assert_eq!(
        outcome(2),
        Some((FailureReason::BelowReservedStock, "12052393".into()))
    );
    assert_eq!(outcome(3), None);
    assert_eq!(results[3].warehouse_id, Some(WarehouseId::new("W2")));
}

#[tokio::test]
async fn price_updates_send_decimal_strings() {
    let server = FakeServer::start(vec![ok("{}")]).await;
    let tiktok = client(&server.base_url);
    let usd: Currency = "USD".parse().unwrap();
    let update = PriceUpdate {
        listing_id: ListingId::new("P1"),
        variant_id: ExtVariantId::new("S1"),
        price: Money::new(132, usd),
    };
    let results = tiktok.update_prices(&creds(), &[update]).await.unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    let r = &server.requests()[0];
    assert_eq!(r.path, "/product/202309/products/P1/prices/update");
    assert_eq!(
        r.body,
        br#"{"skus":[{"id":"S1","price":{"amount":"1.32","currency":"USD"}}]}"#
    );
}

#[tokio::test]
async fn code_exchange_uses_absolute_expiry_and_learns_ciphers() {
    let responses = vec![
        ok(
            r#"{"access_token":"TTP_a","access_token_expire_in":1700604800,"refresh_token":"TTP_r",
               "refresh_token_expire_in":1731536000,"open_id":"o","seller_name":"s","seller_base_region":"ID","user_type":0}"#,
        ),
        ok(
            r#"{"shops":[{"id":"7000714532876273420","name":"Maomao beauty shop","region":"ID","seller_type":"LOCAL",
               "cipher":"GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3","code":"CNGBCBA4LLU8"}]}"#,
        ),
    ];
    let server = FakeServer::start(responses).await;
    let tiktok = client(&server.base_url);
    let callback = AuthCallback::from_query([("code", "AUTHCODE"), ("state", "s")]).unwrap();
    let auth = tiktok.exchange_code(&callback).await.unwrap();
    assert_eq!(auth.tokens.access_expires_at.millis(), 1_700_604_800_000);
    assert_eq!(
        auth.tokens.refresh_expires_at.unwrap().millis(),
        1_731_536_000_000
    );
    assert_eq!(auth.shops.len(), 1);
    assert_eq!(
        auth.shops[0].shop.cipher.as_deref(),
        Some("GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3")
    );
    assert_eq!(auth.shops[0].shop.shop_id.as_str(), "7000714532876273420");

    let requests = server.requests();
    assert_eq!(requests[0].path, "/api/v2/token/get");
    assert_eq!(requests[0].param("auth_code"), Some("AUTHCODE"));
    assert_eq!(requests[0].param("grant_type"), Some("authorized_code"));
    assert_eq!(requests[0].param("app_secret"), Some(SECRET));
    assert_eq!(requests[1].path, "/authorization/202309/shops");
    assert_eq!(
        requests[1].param("shop_cipher"),
        None,
        "authorization calls carry no cipher"
    );
    assert_eq!(
        requests[1].headers.get("x-tts-access-token").unwrap(),
        "TTP_a"
    );
}

#[tokio::test]
async fn envelope_codes_are_classified_over_http() {
    let server = FakeServer::start_with_headers(vec![
        (429, vec![("retry-after", "1".to_owned())], r#"{"code":36009002,"message":"Too many requests","request_id":"r"}"#.to_owned()),
        (200, Vec::new(), r#"{"code":36009003,"message":"internal error","request_id":"r"}"#.to_owned()),
        (200, Vec::new(), r#"{"code":105002,"message":"access token expired","request_id":"r"}"#.to_owned()),
        (401, Vec::new(), r#"{"code":106001,"message":"Invalid credentials. The `sign` query parameter is invalid.","request_id":"r"}"#.to_owned()),
        (503, Vec::new(), "upstream overloaded".to_owned()),
    ])
    .await;
    let tiktok = client(&server.base_url);
    let c = creds();
    let call = || tiktok.authorized_shops(&c.access_token, None);
    assert_eq!(
        call().await.unwrap_err(),
        ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    assert!(call().await.unwrap_err().is_retryable());
    assert!(call().await.unwrap_err().needs_token_refresh());
    assert!(matches!(
        call().await.unwrap_err(),
        ChannelError::Signature { .. }
    ));
    assert!(call().await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn listing_pages_end_without_a_token() {
    let product = r#"{"id":"P1","title":"t","status":"ACTIVATE","skus":[{"id":"S1","seller_sku":"A-1",
        "price":{"currency":"IDR","sale_price":"15000"},"inventory":[{"warehouse_id":"W1","quantity":5}]}]}"#;
    let server = FakeServer::start(vec![
        ok(&format!(
            r#"{{"total_count":2,"next_page_token":"n2","products":[{product}]}}"#
        )),
        ok(&format!(
            r#"{{"total_count":2,"next_page_token":"","products":[{product}]}}"#
        )),
    ])
    .await;
    let tiktok: Arc<dyn Channel> = Arc::new(client(&server.base_url));
    let query = ListingQuery {
        updated_since: Some(Timestamp::from_millis(5_000)),
    };
    let listings: Vec<_> = crate::listing_stream(tiktok, creds(), query)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(listings.len(), 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, br#"{"update_time_ge":5}"#);
    assert_eq!(requests[1].param("page_token"), Some("n2"));
    assert_signed(&requests[1]);
}

#[tokio::test]
async fn shipping_without_a_package_ships_every_package_of_the_order() {
    let server = FakeServer::start(vec![
        ok(&format!(
            r#"{{"orders":[{}]}}"#,
            order_json("9", "AWAITING_SHIPMENT")
        )),
        ok("{}"),
    ])
    .await;
    let tiktok = client(&server.base_url);
    let request = ShipRequest {
        order_id: ExtOrderId::new("9"),
        package_id: None,
        handover: Handover::DropOff,
        tracking_number: Some("JT1".into()),
        shipping_provider_id: Some("SP1".into()),
    };
    let shipment = tiktok.ship_order(&creds(), &request).await.unwrap();
    assert_eq!(shipment.packages.len(), 1);
    let r = &server.requests()[1];
    assert_eq!(r.path, "/fulfillment/202309/packages/P9/ship");
    assert_eq!(
        r.body,
        br#"{"handover_method":"DROP_OFF","self_shipment":{"tracking_number":"JT1","shipping_provider_id":"SP1"}}"#
    );
}

const TW1: &[u8] = br#"{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576486316948490001","order_status":"UNPAID","is_on_hold_order":false,"update_time":1644412885}}"#;
const TW2: &[u8] = br#"{"type":27,"tts_notification_id":"1","shop_id":"7494049642642441621","timestamp":1700000000,"data":{"product_id":"1729592969712207013","sku_id":"1729592969712272549","current_inventory_status":"OUT_OF_STOCK","update_time":1700000000}}"#;

fn headers(signature: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(reqwest::header::AUTHORIZATION, signature.parse().unwrap());
    h
}

#[test]
fn webhook_verification_accepts_only_the_right_signature() {
    let tiktok = client("http://127.0.0.1:9");
    let good = headers("e21e909414e500178230da539adfc1faddd443124f93a8f67a060568a49620be");
    let request = |headers, body| WebhookRequest {
        url: "https://x/hooks",
        headers,
        body,
    };
    assert!(tiktok.verify_webhook(&request(&good, TW1)).is_ok());
    let rejected =
        |r: Result<(), ChannelError>| matches!(r, Err(ChannelError::WebhookRejected { .. }));
    let tampered = [TW1, b" "].concat();
    assert!(rejected(tiktok.verify_webhook(&request(&good, &tampered))));
    let empty = reqwest::header::HeaderMap::new();
    assert!(rejected(tiktok.verify_webhook(&request(&empty, TW1))));
    let wrong_key = TikTokClient::new(
        TikTokConfig::new(APP_KEY, Secret::new("other".to_owned()), "svc")
            .with_base_url("http://127.0.0.1:9"),
        Arc::new(ManualClock::new(Timestamp::from_millis(0))),
    )
    .unwrap();
    assert!(rejected(wrong_key.verify_webhook(&request(&good, TW1))));

    let tw2_client = TikTokClient::new(
        TikTokConfig::new(
            "6a1b2c3d4e5f6",
            Secret::new("tts_secret_0123456789abcdef".to_owned()),
            "svc",
        )
        .with_base_url("http://127.0.0.1:9"),
        Arc::new(ManualClock::new(Timestamp::from_millis(0))),
    )
    .unwrap();
    let tw2_headers = headers("0bb7910c9fd399eb0cb98d43ef844f5620535a633cb0a23a661f4ff2ac624ef9");
    assert!(tw2_client
        .verify_webhook(&request(&tw2_headers, TW2))
        .is_ok());
}

#[test]
fn webhooks_parse_into_typed_events() {
    let tiktok = client("http://127.0.0.1:9");
    assert_eq!(
        tiktok.parse_webhook(TW1).unwrap(),
        vec![WebhookEvent {
            shop_id: Some("7494049642642441621".into()),
            notification_id: Some("7327112393057371910".into()),
            occurred_at: Some(Timestamp::from_millis(1_644_412_885_000)),
            kind: WebhookEventKind::OrderStatusChanged {
                order_id: ExtOrderId::new("576486316948490001"),
                status: OrderStatus::Pending,
                marketplace_status: "UNPAID".into(),
            },
        }]
    );
    assert_eq!(
        tiktok.parse_webhook(TW2).unwrap()[0].kind,
        WebhookEventKind::ListingChanged {
            listing_id: Some(ListingId::new("1729592969712207013")),
            variant_id: Some(ExtVariantId::new("1729592969712272549")),
        }
    );
    let kinds = |body: &str| -> Vec<WebhookEventKind> {
        tiktok
            .parse_webhook(body.as_bytes())
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    };
    assert_eq!(
        kinds(
            r#"{"type":4,"shop_id":"1","timestamp":1,"data":{"sc_type":"SPLIT","role_type":"SELLER",
            "package_list":[{"package_id":"p1","order_id_list":["A","B"]},{"package_id":"p2","order_id_list":["B"]}],"update_time":1}}"#
        ),
        vec![
            WebhookEventKind::OrderChanged {
                order_id: ExtOrderId::new("A")
            },
            WebhookEventKind::OrderChanged {
                order_id: ExtOrderId::new("B")
            },
        ]
    );
    assert_eq!(
        kinds(
            r#"{"type":16,"shop_id":"1","timestamp":1,"data":{"product_id":1729592969712207013,"product_types":[],"update_time":1}}"#
        ),
        vec![WebhookEventKind::ListingChanged {
            listing_id: Some(ListingId::new("1729592969712207013")),
            variant_id: None
        }]
    );
    assert_eq!(
        kinds(r#"{"type":6,"shop_id":"1","timestamp":1,"data":{"message":"bye"}}"#),
        vec![WebhookEventKind::Deauthorized]
    );
    assert_eq!(
        kinds(
            r#"{"type":7,"shop_id":"1","timestamp":1,"data":{"message":"soon","expiration_time":1800000000}}"#
        ),
        vec![WebhookEventKind::AuthorizationExpiring {
            expires_at: Some(Timestamp::from_millis(1_800_000_000_000))
        }]
    );
    assert_eq!(
        kinds(
            r#"{"type":1,"shop_id":"1","timestamp":1,"data":{"order_id":"X","order_status":"CANCEL","is_on_hold_order":false}}"#
        ),
        vec![WebhookEventKind::OrderStatusChanged {
            order_id: ExtOrderId::new("X"),
            status: OrderStatus::Cancelled,
            marketplace_status: "CANCEL".into()
        }]
    );
    assert_eq!(
        kinds(
            r#"{"type":35,"seller_open_id":"o","timestamp":1,"data":{"tts_shop_id":"1","mirror_status":"MIRRORED"}}"#
        ),
        vec![WebhookEventKind::Ignored {
            event_type: "35".into()
        }]
    );
    for bad in [&b"{"[..], br#"{"type":1,"data":{}}"#] {
        assert!(matches!(
            tiktok.parse_webhook(bad),
            Err(ChannelError::WebhookRejected { .. })
        ));
    }
}

#[test]
fn authorize_url_and_debug() {
    let tiktok = client("http://127.0.0.1:9");
    let url = tiktok.authorize_url("ignored", "st@te").unwrap();
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9/open/authorize?service_id=svc1&state=st%40te"
    );
    let text = format!("{tiktok:?}");
    assert!(
        !text.contains(SECRET) && text.contains("REDACTED"),
        "{text}"
    );
}
