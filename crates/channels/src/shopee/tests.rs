//! Tests of the Shopee client over HTTP against a tiny in-test server, and
//! of push verification and parsing.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Currency, Money, OrderStatus, Timestamp};

use super::*;
use crate::ids::ExtShopId;
use crate::model::{FailureReason, WebhookEventKind};
use crate::testing::FakeServer;

const PARTNER_ID: i64 = 2_001_887;
const KEY: &str = "test_partner_key_0001";
const NOW_S: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_millis(NOW_S * 1000)))
}

fn client(base: &str, clock: Arc<ManualClock>) -> ShopeeClient {
    let config = ShopeeConfig::new(PARTNER_ID, Secret::new(KEY.to_owned())).with_base_url(base);
    ShopeeClient::new(config, clock).unwrap()
}

fn creds() -> ShopCredentials {
    ShopCredentials {
        shop: ShopRef::new(600_000),
        access_token: Secret::new("ACCESS123".to_owned()),
    }
}

fn ok(response: &str) -> (u16, String) {
    (
        200,
        format!(r#"{{"request_id":"r","error":"","message":"","response":{response}}}"#),
    )
}

/// Straight from the fact sheet, independent of the production signer.
fn expected_shop_sign(path: &str, ts: &str, token: &str, shop: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(format!("{PARTNER_ID}{path}{ts}{token}{shop}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn stock_updates_go_out_in_batches_of_fifty_signed_in_the_query() {
    let responses = vec![
        ok(r#"{"failure_list":[{"model_id":7,"failed_reason":"total stock must be more than reserved stock"}],"success_list":[]}"#),
        ok(r#"{"failure_list":[],"success_list":[]}"#),
        ok(r#"{"failure_list":[],"success_list":[]}"#),
        (200, r#"{"request_id":"r","error":"product.error_item_not_found","message":"item not found"}"#.to_owned()),
    ];
    let server = FakeServer::start(responses).await;
    let shopee = client(&server.base_url, clock());
    let mut updates: Vec<StockUpdate> = (0..120)
        .map(|m| StockUpdate {
            listing_id: ListingId::from(1000),
            variant_id: ExtVariantId::from(m),
            warehouse_id: None,
            quantity: 5,
        })
        .collect();
    updates.push(StockUpdate {
        listing_id: ListingId::from(2000),
        variant_id: ExtVariantId::from(0),
        warehouse_id: Some(WarehouseId::new("SGZ")),
        quantity: 1,
    });
    let results = shopee.update_stock(&creds(), &updates).await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| r.json()["stock_list"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![50, 50, 20, 1]);
    let first = &requests[0];
    assert_eq!(first.path, "/api/v2/product/update_stock");
    assert_eq!(first.param("partner_id"), Some("2001887"));
    assert_eq!(first.param("timestamp"), Some("1700000000"));
    assert_eq!(first.param("shop_id"), Some("600000"));
    assert_eq!(first.param("access_token"), Some("ACCESS123"));
    assert_eq!(
        first.param("sign").unwrap(),
        expected_shop_sign(
            "/api/v2/product/update_stock",
            "1700000000",
            "ACCESS123",
            "600000"
        )
    );
    assert_eq!(first.json()["item_id"], 1000);
    assert_eq!(
        first.json()["stock_list"][0],
        serde_json::json!({"model_id":0,"seller_stock":[{"stock":5}]})
    );
    assert_eq!(
        requests[3].json(),
        serde_json::json!({"item_id":2000,"stock_list":[{"model_id":0,"seller_stock":[{"location_id":"SGZ","stock":1}]}]})
    );

    assert_eq!(results.len(), 121);
    let rejected: Vec<_> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            UpdateOutcome::Rejected(f) => Some((
                r.listing_id.as_str(),
                r.variant_id.as_str(),
                f.reason,
                f.code.as_str(),
            )),
            UpdateOutcome::Applied => None,
            UpdateOutcome::CallFailed(f) => panic!("call failed: {f:?}"),
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (
                "1000",
                "7",
                FailureReason::BelowReservedStock,
                "failure_list"
            ),
            (
                "2000",
                "0",
                FailureReason::NotFound,
                "product.error_item_not_found"
            ),
        ]
    );
    // Results come back in input order.
    assert_eq!(results[119].variant_id.as_str(), "119");
}

#[tokio::test]
async fn token_errors_abort_a_stock_update_for_refresh() {
    let server = FakeServer::start(vec![(
        200,
        r#"{"request_id":"r","error":"error_auth","message":"Invalid access_token."}"#.to_owned(),
    )])
    .await;
    let shopee = client(&server.base_url, clock());
    let update = StockUpdate {
        listing_id: ListingId::from(1),
        variant_id: ExtVariantId::from(0),
        warehouse_id: None,
        quantity: 1,
    };
    let err = shopee.update_stock(&creds(), &[update]).await.unwrap_err();
    assert!(err.needs_token_refresh(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("ACCESS123"));
}

#[tokio::test]
async fn order_list_splits_windows_and_follows_cursors() {
    let responses = vec![
        ok(
            r#"{"more":true,"next_cursor":"c1","order_list":[{"order_sn":"A","order_status":"UNPAID"}]}"#,
        ),
        ok(
            r#"{"more":false,"next_cursor":"","order_list":[{"order_sn":"B","order_status":"READY_TO_SHIP"}]}"#,
        ),
        ok(r#"{"more":false,"next_cursor":"","order_list":[]}"#),
        ok(
            r#"{"more":false,"next_cursor":"","order_list":[{"order_sn":"A","order_status":"CANCELLED"}]}"#,
        ),
    ];
    let server = FakeServer::start(responses).await;
    let shopee = client(&server.base_url, clock());
    let from = NOW_S - 40 * DAY;
    let range = TimeRange::new(
        Timestamp::from_millis(from * 1000),
        Timestamp::from_millis(NOW_S * 1000),
    );
    let orders = shopee.changed_orders(&creds(), range).await.unwrap();

    let requests = server.requests();
    let windows: Vec<(i64, i64, &str)> = requests
        .iter()
        .map(|r| {
            (
                r.param("time_from").unwrap().parse().unwrap(),
                r.param("time_to").unwrap().parse().unwrap(),
                r.param("cursor").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        vec![
            (from, from + 15 * DAY, ""),
            (from, from + 15 * DAY, "c1"),
            (from + 15 * DAY, from + 30 * DAY, ""),
            (from + 30 * DAY, NOW_S, ""),
        ]
    );
    assert!(requests
        .iter()
        .all(|r| r.param("time_range_field") == Some("update_time")
            && r.param("page_size") == Some("100")));
    let got: Vec<(&str, Option<OrderStatus>)> = orders
        .iter()
        .map(|o| (o.order_id.as_str(), o.status))
        .collect();
    // "A" appears once, with the later window's status.
    assert_eq!(
        got,
        vec![
            ("A", Some(OrderStatus::Cancelled)),
            ("B", Some(OrderStatus::ReadyToShip))
        ]
    );
    assert!(orders.iter().all(|o| o.detail.is_none()));
}

#[tokio::test]
async fn order_details_are_fetched_fifty_at_a_time() {
    let detail = |sn: &str| {
        format!(
            r#"{{"order_sn":"{sn}","currency":"MYR","order_status":"SHIPPED","create_time":1,"update_time":2,"item_list":[]}}"#
        )
    };
    let page = |range: std::ops::Range<usize>| {
        let list: Vec<String> = range.map(|i| detail(&format!("SN{i}"))).collect();
        ok(&format!(r#"{{"order_list":[{}]}}"#, list.join(",")))
    };
    let server = FakeServer::start(vec![page(0..50), page(50..60)]).await;
    let shopee = client(&server.base_url, clock());
    let ids: Vec<ExtOrderId> = (0..60).map(|i| ExtOrderId::new(format!("SN{i}"))).collect();
    let orders = shopee.order_details(&creds(), &ids).await.unwrap();
    assert_eq!(orders.len(), 60);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0]
            .param("order_sn_list")
            .unwrap()
            .split(',')
            .count(),
        50
    );
    assert_eq!(
        requests[1]
            .param("order_sn_list")
            .unwrap()
            .split(',')
            .count(),
        10
    );
    assert!(requests[0]
        .param("response_optional_fields")
        .unwrap()
        .contains("item_list"));
}

#[tokio::test]
async fn code_exchange_computes_absolute_expiry_from_the_clock() {
    let responses = vec![
        (200, r#"{"request_id":"r","error":"","message":"","access_token":"AT","refresh_token":"RT","expire_in":14400}"#.to_owned()),
        (200, r#"{"request_id":"r","error":"","message":"","shop_name":"mysipuat","region":"MY","status":"NORMAL"}"#.to_owned()),
    ];
    let server = FakeServer::start(responses).await;
    let clock = clock();
    let shopee = client(&server.base_url, clock.clone());
    let callback =
        AuthCallback::from_query([("code", "abc"), ("shop_id", "600000"), ("state", "s1")])
            .unwrap();
    let auth = shopee.exchange_code(&callback).await.unwrap();
    assert_eq!(auth.tokens.access_token.expose(), "AT");
    assert_eq!(
        auth.tokens.access_expires_at.millis(),
        (NOW_S + 14_400) * 1000
    );
    assert_eq!(
        auth.tokens.refresh_expires_at.unwrap().millis(),
        (NOW_S + 30 * DAY) * 1000
    );
    assert_eq!(auth.shops.len(), 1);
    assert_eq!(auth.shops[0].name.as_deref(), Some("mysipuat"));
    assert!(
        !format!("{auth:?}").contains("AT\""),
        "tokens are redacted in Debug"
    );

    let requests = server.requests();
    assert_eq!(requests[0].path, "/api/v2/auth/token/get");
    assert_eq!(
        requests[0].json(),
        serde_json::json!({"code":"abc","partner_id":2001887,"shop_id":600000})
    );
    assert_eq!(
        requests[0].param("access_token"),
        None,
        "token/get is a public call"
    );
    assert_eq!(requests[1].path, "/api/v2/shop/get_shop_info");
    assert_eq!(requests[1].param("access_token"), Some("AT"));
}

#[tokio::test]
async fn rate_limits_and_outages_are_retryable() {
    let server = FakeServer::start_with_headers(vec![
        (429, vec![("retry-after", "7".to_owned())], "{}".to_owned()),
        (502, Vec::new(), "<html>bad gateway</html>".to_owned()),
        (
            200,
            Vec::new(),
            r#"{"error":"error_inner","message":"Something wrong. Please try later."}"#.to_owned(),
        ),
    ])
    .await;
    let shopee = client(&server.base_url, clock());
    let c = creds();
    let call = || shopee.authorized_shops(&c.access_token, Some(&c.shop));
    assert_eq!(
        call().await.unwrap_err(),
        ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(call().await.unwrap_err().is_retryable());
    assert!(call().await.unwrap_err().is_retryable());
}

#[test]
fn authorize_url_carries_state_and_a_fresh_signature() {
    let shopee = client("http://127.0.0.1:9", clock());
    let url = shopee
        .authorize_url("https://app.example/oauth/shopee", "xyz")
        .unwrap();
    assert_eq!(url.path(), "/api/v2/shop/auth_partner");
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["redirect"], "https://app.example/oauth/shopee?state=xyz");
    assert_eq!(q["timestamp"], NOW_S.to_string());
    assert_eq!(
        q["sign"],
        sign::sign(
            KEY,
            PARTNER_ID,
            "/api/v2/shop/auth_partner",
            NOW_S,
            SignScope::Public
        )
    );
}

#[test]
fn ship_body_follows_info_needed() {
    let param = |json: &str| -> wire::ShippingParameter { serde_json::from_str(json).unwrap() };
    let request = |handover, tracking: Option<&str>| ShipRequest {
        order_id: ExtOrderId::new("SN1"),
        package_id: None,
        handover,
        tracking_number: tracking.map(str::to_owned),
        shipping_provider_id: None,
    };
    let to_json = |b: &wire::ShipOrderRequest<'_>| serde_json::to_value(b).unwrap();

    let pickup = param(
        r#"{"info_needed":{"pickup":["address_id","pickup_time_id"],"dropoff":[]},
            "pickup":{"address_list":[{"address_id":1,"address_flag":[],"time_slot_list":[]},
                                       {"address_id":2,"address_flag":["pickup_address"],
                                        "time_slot_list":[{"date":1,"time_text":"x","pickup_time_id":"slot-9"}]}]}}"#,
    );
    let r = request(Handover::Pickup, None);
    assert_eq!(
        to_json(&ship_body(&pickup, &r).unwrap()),
        serde_json::json!({"order_sn":"SN1","pickup":{"address_id":2,"pickup_time_id":"slot-9"}})
    );
    // Drop-off requested and offered: the empty object is still sent.
    let r = request(Handover::DropOff, None);
    assert_eq!(
        to_json(&ship_body(&pickup, &r).unwrap()),
        serde_json::json!({"order_sn":"SN1","dropoff":{}})
    );
    let own = param(r#"{"info_needed":{"non_integrated":["tracking_no"]}}"#);
    let r = request(Handover::Pickup, Some("TRK1"));
    assert_eq!(
        to_json(&ship_body(&own, &r).unwrap()),
        serde_json::json!({"order_sn":"SN1","non_integrated":{"tracking_number":"TRK1"}})
    );
    let nothing = param(r#"{"info_needed":{}}"#);
    assert!(matches!(
        ship_body(&nothing, &r),
        Err(ChannelError::Invalid { .. })
    ));
}

fn headers(signature: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(reqwest::header::AUTHORIZATION, signature.parse().unwrap());
    h
}

const SP1_URL: &str = "https://example.com/shopee/push";
const SP1: &[u8] = br#"{"data":{"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"","update_time":1660123127,"items":[]},"shop_id":727720655,"code":3,"timestamp":1660123127}"#;
const SP1_SIG: &str = "4b6d44dff4c09df8907806656aa3b076d8f39b212ddc79f024873e9cccdbe477";

#[test]
fn push_verification_accepts_only_the_right_signature() {
    let shopee = client("http://127.0.0.1:9", clock());
    let good = headers(SP1_SIG);
    let request = |url, headers, body| WebhookRequest { url, headers, body };
    assert!(shopee.verify_webhook(&request(SP1_URL, &good, SP1)).is_ok());
    // Uppercase hex is the same signature.
    let upper = headers(&SP1_SIG.to_ascii_uppercase());
    assert!(shopee
        .verify_webhook(&request(SP1_URL, &upper, SP1))
        .is_ok());

    let mut tampered = SP1.to_vec();
    tampered[20] = b'X';
    let rejected =
        |r: Result<(), ChannelError>| matches!(r, Err(ChannelError::WebhookRejected { .. }));
    assert!(rejected(
        shopee.verify_webhook(&request(SP1_URL, &good, &tampered))
    ));
    assert!(rejected(shopee.verify_webhook(&request(
        "https://example.com/other",
        &good,
        SP1
    ))));
    let empty = reqwest::header::HeaderMap::new();
    assert!(rejected(
        shopee.verify_webhook(&request(SP1_URL, &empty, SP1))
    ));
    let other_key = ShopeeClient::new(
        ShopeeConfig::new(PARTNER_ID, Secret::new("shpk6b4f7a2e9c".to_owned()))
            .with_base_url("http://127.0.0.1:9"),
        clock(),
    )
    .unwrap();
    assert!(rejected(
        other_key.verify_webhook(&request(SP1_URL, &good, SP1))
    ));

    // SP-2 verifies with its own key and URL.
    let sp2 = br#"{"shop_id":600000,"code":4,"timestamp":1700000000,"data":{"ordersn":"231114ABCDEF12","package_number":"OFG1234567","tracking_no":"SPXID0123456789"}}"#;
    let sp2_headers = headers("a8a3ca22cddb922cbef2a5a877e720d276c08bb06fa2bd8fccc3e8c765d905d2");
    assert!(other_key
        .verify_webhook(&request(
            "http://127.0.0.1:9000/hooks/shopee",
            &sp2_headers,
            sp2
        ))
        .is_ok());
}

#[test]
fn pushes_parse_into_typed_events() {
    let shopee = client("http://127.0.0.1:9", clock());
    let events = shopee.parse_webhook(SP1).unwrap();
    assert_eq!(
        events,
        vec![WebhookEvent {
            shop_id: Some("727720655".into()),
            notification_id: None,
            occurred_at: Some(Timestamp::from_millis(1_660_123_127_000)),
            kind: WebhookEventKind::OrderStatusChanged {
                order_id: ExtOrderId::new("220810QSK8S7BX"),
                status: OrderStatus::ReadyToShip,
                marketplace_status: "PROCESSED".into(),
            },
        }]
    );
    let sp2 = br#"{"shop_id":600000,"code":4,"timestamp":1700000000,"data":{"ordersn":"231114ABCDEF12","package_number":"OFG1234567","tracking_no":"SPXID0123456789"}}"#;
    assert_eq!(
        shopee.parse_webhook(sp2).unwrap()[0].kind,
        WebhookEventKind::OrderChanged {
            order_id: ExtOrderId::new("231114ABCDEF12")
        }
    );
    let kind = |body: &str| {
        shopee
            .parse_webhook(body.as_bytes())
            .unwrap()
            .remove(0)
            .kind
    };
    assert_eq!(
        kind(r#"{"shop_id":1,"code":2,"timestamp":1,"data":{}}"#),
        WebhookEventKind::Deauthorized
    );
    assert_eq!(
        kind(r#"{"shop_id":1,"code":8,"timestamp":1,"data":{"item_id":55,"model_id":6}}"#),
        WebhookEventKind::ListingChanged {
            listing_id: Some(ListingId::from(55)),
            variant_id: Some(ExtVariantId::from(6))
        }
    );
    // Code 12 as Shopee's push reference shows it: partner-level, the shops in
    // `shop_expire_soon`, the deadline in `expire_before`.
    let expiring = shopee
        .parse_webhook(
            br#"{"code":12,"timestamp":1568606634,"data":{"merchant_expire_soon":[123123],"shop_expire_soon":[23213,243242],"user_expire_soon":[],"expire_before":1619740800,"page_no":1,"total_page":2}}"#,
        )
        .unwrap();
    let expiry = WebhookEventKind::AuthorizationExpiring {
        expires_at: Some(Timestamp::from_millis(1_619_740_800_000)),
    };
    assert_eq!(
        expiring
            .iter()
            .map(|e| (e.shop_id.clone(), e.kind.clone()))
            .collect::<Vec<_>>(),
        vec![
            (Some(ExtShopId::from(23_213)), expiry.clone()),
            (Some(ExtShopId::from(243_242)), expiry),
        ]
    );
    assert_eq!(
        kind(
            r#"{"code":12,"timestamp":1,"data":{"merchant_expire_soon":[5],"expire_before":1800000000}}"#
        ),
        WebhookEventKind::AuthorizationExpiring {
            expires_at: Some(Timestamp::from_millis(1_800_000_000_000))
        }
    );
    assert_eq!(
        kind(r#"{"code":10,"data":{}}"#),
        WebhookEventKind::Ignored {
            event_type: "10".into()
        }
    );
    for bad in [&b"not json"[..], br#"{"code":3,"data":{}}"#] {
        assert!(matches!(
            shopee.parse_webhook(bad),
            Err(ChannelError::WebhookRejected { .. })
        ));
    }
}

#[test]
fn price_updates_render_exact_json_numbers() {
    let myr: Currency = "MYR".parse().unwrap();
    let body = wire::UpdatePriceRequest {
        item_id: 1000,
        price_list: vec![wire::PriceEntry {
            model_id: 0,
            original_price: money_to_json_number(Money::new(1111, myr)),
        }],
    };
    assert_eq!(
        String::from_utf8(to_body(&body).unwrap()).unwrap(),
        r#"{"item_id":1000,"price_list":[{"model_id":0,"original_price":11.11}]}"#
    );
}

#[test]
fn debug_output_never_shows_the_partner_key() {
    let shopee = client("http://127.0.0.1:9", clock());
    let config = ShopeeConfig::new(PARTNER_ID, Secret::new(KEY.to_owned()));
    for text in [format!("{shopee:?}"), format!("{config:?}")] {
        assert!(!text.contains(KEY), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}

#[tokio::test]
async fn listing_pages_join_items_base_info_and_models() {
    let responses = vec![
        ok(
            r#"{"item":[{"item_id":1,"item_status":"NORMAL"},{"item_id":2,"item_status":"UNLIST"}],"total_count":3,"has_next_page":true,"next_offset":2}"#,
        ),
        ok(r#"{"item_list":[
            {"item_id":1,"item_name":"Mug","item_sku":"MUG","item_status":"NORMAL","has_model":false,
             "price_info":[{"currency":"MYR","original_price":19.99,"current_price":19.99}],
             "stock_info_v2":{"seller_stock":[{"stock":3}]}},
            {"item_id":2,"item_name":"Tee","item_status":"UNLIST","has_model":true}]}"#),
        ok(
            r#"{"tier_variation":[],"model":[{"model_id":21,"model_sku":"TEE-S","stock_info_v2":{"seller_stock":[{"stock":1}]}},
                                              {"model_id":22,"model_sku":"TEE-M","stock_info_v2":{"seller_stock":[{"stock":0}]}}]}"#,
        ),
    ];
    let server = FakeServer::start(responses).await;
    let shopee = client(&server.base_url, clock());
    let page = shopee
        .list_listings(&creds(), &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(page.next, Some(PageCursor("2".into())));
    assert_eq!(page.listings.len(), 2);
    assert_eq!(page.listings[0].variants[0].variant_id.as_str(), "0");
    assert_eq!(page.listings[1].variants.len(), 2);
    let requests = server.requests();
    assert_eq!(
        requests[0].params("item_status"),
        vec!["NORMAL", "UNLIST", "BANNED", "REVIEWING"]
    );
    assert_eq!(requests[0].param("offset"), Some("0"));
    assert_eq!(requests[1].param("item_id_list"), Some("1,2"));
    assert_eq!(requests[2].param("item_id"), Some("2"));
    assert_eq!(requests[2].method, reqwest::Method::GET);
}
