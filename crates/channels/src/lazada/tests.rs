//! Tests of the Lazada client over HTTP against a tiny in-test server, and
//! of push verification and parsing.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Money, OrderStatus, Timestamp};

use super::*;
use crate::model::{FailureReason, WebhookEventKind};
use crate::testing::{FakeServer, Recorded};

const APP_KEY: &str = "100001";
const SECRET: &str = "SECRETLAZ";
const NOW_MS: i64 = 1_700_000_000_000;

fn client(base: &str) -> LazadaClient {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(NOW_MS)));
    let config =
        LazadaConfig::new(APP_KEY, Secret::new(SECRET.to_owned()), Venture::Sg).with_base_url(base);
    LazadaClient::new(config, clock).unwrap()
}

fn creds() -> ShopCredentials {
    ShopCredentials {
        shop: ShopRef::new("1001"),
        access_token: Secret::new("ACCESSTOKEN".to_owned()),
    }
}

fn ok(data: &str) -> (u16, String) {
    (
        200,
        format!(r#"{{"code":"0","request_id":"r","data":{data}}}"#),
    )
}

/// All parameters of a request: the query for GET, the form body for POST.
fn params(r: &Recorded) -> Vec<(String, String)> {
    if r.method == reqwest::Method::GET {
        r.query.clone()
    } else {
        form_urlencoded::parse(&r.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

fn param(r: &Recorded, key: &str) -> Option<String> {
    params(r)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Recomputes the signature from the fact sheet's recipe over what the
/// server received, independent of the production signer.
fn assert_signed(r: &Recorded, api_name: &str) {
    use hmac::{Hmac, Mac};
    let mut pairs: Vec<(String, String)> =
        params(r).into_iter().filter(|(k, _)| k != "sign").collect();
    pairs.sort();
    let mut s = api_name.as_bytes().to_vec();
    for (k, v) in &pairs {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&s);
    let want = hex::encode_upper(mac.finalize().into_bytes());
    assert_eq!(param(r, "sign").unwrap(), want, "{api_name}");
    assert_eq!(param(r, "app_key").as_deref(), Some(APP_KEY));
    assert_eq!(param(r, "timestamp").as_deref(), Some("1700000000000"));
    assert_eq!(param(r, "sign_method").as_deref(), Some("sha256"));
    assert_eq!(r.path, format!("/rest{api_name}"));
}

#[test]
fn authorize_url_has_the_documented_parameters() {
    let c = client("http://127.0.0.1:9");
    let url = c.authorize_url("https://app.example/cb", "st8").unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    for (k, v) in [
        ("response_type", "code"),
        ("force_auth", "true"),
        ("redirect_uri", "https://app.example/cb"),
        ("client_id", APP_KEY),
        ("state", "st8"),
    ] {
        assert!(q.contains(&(k.to_owned(), v.to_owned())), "{k}");
    }
    assert!(!q.iter().any(|(k, _)| k == "uuid"));
    let real = LazadaClient::new(
        LazadaConfig::new(APP_KEY, Secret::new(SECRET.into()), Venture::Th),
        Arc::new(ManualClock::new(Timestamp::from_millis(0))),
    )
    .unwrap();
    assert_eq!(
        real.api_base(Venture::Th).as_str(),
        "https://api.lazada.co.th/rest"
    );
    assert_eq!(real.auth_base.as_str(), "https://auth.lazada.com/rest");
    assert!(!format!("{real:?}").contains(SECRET));
}

#[tokio::test]
async fn token_create_is_signed_without_a_token_and_reads_lifetimes() {
    let server = FakeServer::start(vec![
        (
            200,
            r#"{"access_token":"A1","refresh_token":"R1","country":"sg","expires_in":604800,
                "refresh_expires_in":2592000,"country_user_info":[{"country":"sg","seller_id":"1001","user_id":1,"short_code":"SG1"}],
                "code":"0","request_id":"r"}"#
                .into(),
        ),
        ok(r#"{"seller_id":1001,"name":"Shop SG","short_code":"SG1","status":"ACTIVE"}"#),
    ])
    .await;
    let c = client(&server.base_url);
    let cb = AuthCallback::from_query([("code", "0_100001_abcDEF"), ("state", "s")]).unwrap();
    let auth = c.exchange_code(&cb).await.unwrap();
    assert_eq!(auth.tokens.access_token.expose(), "A1");
    assert_eq!(auth.tokens.access_expires_at.millis(), NOW_MS + 604_800_000);
    assert_eq!(
        auth.tokens.refresh_expires_at.unwrap().millis(),
        NOW_MS + 2_592_000_000
    );
    assert_eq!(auth.shops[0].shop.shop_id.as_str(), "1001");
    assert_eq!(auth.shops[0].region.as_deref(), Some("SG"));
    let reqs = server.requests();
    assert_eq!(reqs[0].method, reqwest::Method::POST);
    assert!(
        reqs[0].query.is_empty(),
        "POST parameters travel in the form body"
    );
    assert_signed(&reqs[0], "/auth/token/create");
    assert_eq!(param(&reqs[0], "access_token"), None);
    assert_eq!(param(&reqs[0], "code").as_deref(), Some("0_100001_abcDEF"));
    // L-3 exactly: same key, secret, timestamp and code.
    assert_eq!(
        param(&reqs[0], "sign").as_deref(),
        Some("209FA118224939AEFC8E72906AEA01276AD378AF21EB037AF7050F48D210114F")
    );
    assert_signed(&reqs[1], "/seller/get");
    assert_eq!(param(&reqs[1], "access_token").as_deref(), Some("A1"));
}

#[tokio::test]
async fn refused_refresh_is_unauthorized_and_rate_limit_carries_the_ban() {
    let server = FakeServer::start(vec![
        (200, r#"{"type":"ISV","code":"IllegalRefreshToken","message":"The specified refresh token is invalid or expired","request_id":"r"}"#.into()),
        (200, r#"{"type":"ISV","code":"ApiCallLimit","message":"Api access frequency exceeds the limit. this ban will last 1 seconds.","request_id":"r"}"#.into()),
        (200, r#"{"type":"ISV","code":"IllegalAccessToken","message":"The specified access token is invalid or expired","request_id":"r"}"#.into()),
    ])
    .await;
    let c = client(&server.base_url);
    let e = c
        .refresh_token(&ShopRef::new("1"), &Secret::new("R".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::Unauthorized { .. }), "{e:?}");
    let e = c
        .list_listings(&creds(), &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    let e = c
        .list_listings(&creds(), &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert!(e.needs_token_refresh());
}

#[tokio::test]
async fn stock_updates_go_fifty_skus_per_call_across_products_as_signed_xml() {
    let responses = vec![ok("{}"), ok("{}"), ok("{}")];
    let server = FakeServer::start(responses).await;
    let c = client(&server.base_url);
    let updates: Vec<StockUpdate> = (0..120)
        .map(|i| StockUpdate {
            listing_id: ListingId::new(format!("{}", 1000 + i / 3)),
            variant_id: ExtVariantId::new(format!("{i}")),
            warehouse_id: None,
            quantity: i,
        })
        .collect();
    let results = c.update_stock(&creds(), &updates).await.unwrap();
    assert_eq!(results.len(), 120);
    assert!(results.iter().all(|r| r.outcome == UpdateOutcome::Applied));
    assert_eq!(results[7].variant_id.as_str(), "7");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_signed(r, "/product/stock/sellable/update");
    }
    let payload = param(&reqs[0], "payload").unwrap();
    assert_eq!(payload.matches("<Sku>").count(), 50);
    assert!(payload.starts_with("<Request><Product><Skus><Sku><ItemId>1000</ItemId><SkuId>0</SkuId><SellableQuantity>0</SellableQuantity></Sku>"));
    assert_eq!(
        param(&reqs[2], "payload").unwrap().matches("<Sku>").count(),
        20
    );
}

#[tokio::test]
async fn per_sku_details_become_rejections() {
    let server = FakeServer::start(vec![(
        200,
        r#"{"type":"ISV","code":"E501","message":"Update product failed","request_id":"r",
            "detail":[{"field":"SellableQuantity","message":"SellableQuantity 1 is less than the locked stock 3 (withhold + occupy + campaign)","seller_sku":"A","sku_id":"11"},
                      {"field":"SkuId","message":"Sku not found","sku_id":"12","code":"E207"}]}"#
            .into(),
    )])
    .await;
    let c = client(&server.base_url);
    let u = |v: &str, w: Option<&str>| StockUpdate {
        listing_id: ListingId::new("1"),
        variant_id: ExtVariantId::new(v),
        warehouse_id: w.map(WarehouseId::new),
        quantity: 1,
    };
    let results = c
        .update_stock(
            &creds(),
            &[
                u("11", None),
                u("12", None),
                u("13", Some("wh-1")),
                u("13", Some("wh-2")),
            ],
        )
        .await
        .unwrap();
    let reason = |i: usize| match &results[i].outcome {
        UpdateOutcome::Rejected(f) => Some(f.reason),
        UpdateOutcome::Applied => None,
        UpdateOutcome::CallFailed(f) => panic!("call failed: {f:?}"),
    };
    assert_eq!(reason(0), Some(FailureReason::BelowReservedStock));
    assert_eq!(reason(1), Some(FailureReason::NotFound));
    assert_eq!(reason(2), None);
    assert_eq!(results[3].warehouse_id.as_ref().unwrap().as_str(), "wh-2");
    let payload = param(&server.requests()[0], "payload").unwrap();
    assert!(payload.contains("<MultiWarehouseInventories><MultiWarehouseInventory><WarehouseCode>wh-1</WarehouseCode><SellableQuantity>1</SellableQuantity></MultiWarehouseInventory><MultiWarehouseInventory><WarehouseCode>wh-2</WarehouseCode>"));
}

#[tokio::test]
async fn orders_page_by_offset_and_details_batch_fifty_ids() {
    let header = |id: u32| {
        format!(
            r#"{{"order_id":{id},"statuses":["pending"],"updated_at":"2023-11-14 10:00:00 +0800"}}"#
        )
    };
    let page1: Vec<String> = (0..100).map(header).collect();
    let page2: Vec<String> = (100..130).map(header).collect();
    let items = |from: u32, to: u32| {
        (from..to)
            .map(|id| format!(r#"{{"order_id":{id},"order_items":[{{"order_item_id":"{id}0","status":"pending","sku":"S","sku_id":"5","product_id":"7","paid_price":"1.50"}}]}}"#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let server = FakeServer::start(vec![
        ok(&format!(
            r#"{{"count":100,"countTotal":130,"orders":[{}]}}"#,
            page1.join(",")
        )),
        ok(&format!(
            r#"{{"count":30,"countTotal":130,"orders":[{}]}}"#,
            page2.join(",")
        )),
        ok(&format!("[{}]", items(0, 50))),
        ok(&format!("[{}]", items(50, 51))),
    ])
    .await;
    let c = client(&server.base_url);
    let range = TimeRange::new(
        Timestamp::from_millis(NOW_MS - 3_600_000),
        Timestamp::from_millis(NOW_MS + 1),
    );
    let changed = c.changed_orders(&creds(), range).await.unwrap();
    assert_eq!(changed.len(), 130);
    assert_eq!(changed[0].status, Some(OrderStatus::ReadyToShip));
    let ids: Vec<ExtOrderId> = changed
        .iter()
        .take(51)
        .map(|o| o.order_id.clone())
        .collect();
    let orders = c.order_details(&creds(), &ids).await.unwrap();
    assert_eq!(orders.len(), 51);
    assert_eq!(
        orders[0].total,
        Some(Money::new(150, "SGD".parse().unwrap()))
    );
    let reqs = server.requests();
    assert_signed(&reqs[0], "/orders/get");
    assert_eq!(reqs[0].param("update_after"), Some("2023-11-14T21:13:20Z"));
    assert_eq!(reqs[0].param("update_before"), Some("2023-11-14T22:13:21Z"));
    assert_eq!(reqs[1].param("offset"), Some("100"));
    assert_signed(&reqs[2], "/orders/items/get");
    let list = reqs[2].param("order_ids").unwrap();
    assert!(list.starts_with("[0,1,2,") && list.ends_with(",49]"));
    assert_eq!(reqs[3].param("order_ids"), Some("[50]"));
}

#[test]
fn pushes_verify_and_parse() {
    let c = client("http://127.0.0.1:9");
    let body = br#"{"seller_id":"1001","message_type":0,"data":{"order_status":"canceled","trade_order_id":"260422900198363","trade_order_line_id":"260422900298363","status_update_time":1603698638},"timestamp":1603766859530,"site":"LAZADA_SG"}"#;
    let mut headers = reqwest::header::HeaderMap::new();
    let sig = sign::push_signature(APP_KEY, SECRET, body);
    headers.insert("authorization", sig.to_ascii_uppercase().parse().unwrap());
    let req = WebhookRequest {
        url: "https://x/hook",
        headers: &headers,
        body,
    };
    c.verify_webhook(&req).unwrap();
    let tampered = WebhookRequest {
        body: &body[1..],
        ..req
    };
    assert!(c.verify_webhook(&tampered).is_err());
    let empty = reqwest::header::HeaderMap::new();
    assert!(c
        .verify_webhook(&WebhookRequest {
            headers: &empty,
            ..req
        })
        .is_err());

    let events = c.parse_webhook(body).unwrap();
    assert_eq!(events[0].shop_id.as_ref().unwrap().as_str(), "1001");
    assert_eq!(events[0].occurred_at.unwrap().millis(), 1_603_698_638_000);
    assert_eq!(
        events[0].kind,
        WebhookEventKind::OrderStatusChanged {
            order_id: ExtOrderId::new("260422900198363"),
            status: OrderStatus::Cancelled,
            marketplace_status: "canceled".into(),
        }
    );
    let lp2 = br#"{"seller_id":"100072361","message_type":3,"data":{"item_id":"232611001","sku_list":[{"shop_sku":"232611001_SGAMZ-356805001","seller_sku":"api-create-test-111","sku_id":"356805001"}],"action":"PUBLISHED","status_update_time":1623238942696},"timestamp":1606130634,"site":"lazada_sg"}"#;
    let events = c.parse_webhook(lp2).unwrap();
    assert_eq!(
        events[0].kind,
        WebhookEventKind::ListingChanged {
            listing_id: Some(ListingId::new("232611001")),
            variant_id: Some(ExtVariantId::new("356805001")),
        }
    );
    assert_eq!(events[0].occurred_at.unwrap().millis(), 1_606_130_634_000);
    let reverse = br#"{"seller_id":"1","message_type":10,"data":{"trade_order_id":"9","reverse_order_id":"8","reverse_order_line_id":"7"},"timestamp":1}"#;
    assert_eq!(
        c.parse_webhook(reverse).unwrap()[0].kind,
        WebhookEventKind::OrderChanged {
            order_id: ExtOrderId::new("9")
        }
    );
    let im = br#"{"seller_id":"1","message_type":2,"data":{},"timestamp":1}"#;
    assert_eq!(
        c.parse_webhook(im).unwrap()[0].kind,
        WebhookEventKind::Ignored {
            event_type: "2".into()
        }
    );
    assert!(c.parse_webhook(b"not json").is_err());
}

#[test]
fn every_venture_has_its_own_real_host_and_a_sandbox_serves_them_all() {
    let real = LazadaClient::new(
        LazadaConfig::new(APP_KEY, Secret::new(SECRET.into()), Venture::Sg),
        Arc::new(ManualClock::new(Timestamp::from_millis(0))),
    )
    .unwrap();
    for (i, v) in Venture::ALL.iter().enumerate() {
        assert_eq!(*v as usize, i, "ALL follows the declaration order");
        assert_eq!(real.api_base(*v).as_str(), v.api_base_url());
        assert_eq!(v.code().parse::<Venture>().unwrap(), *v);
        assert_eq!(
            v.code().to_ascii_lowercase().parse::<Venture>().unwrap(),
            *v
        );
    }
    assert!("cb".parse::<Venture>().is_err());
    let sandbox = client("http://127.0.0.1:9");
    for v in Venture::ALL {
        assert_eq!(sandbox.api_base(v).as_str(), "http://127.0.0.1:9/rest");
    }
    let shop = |cipher: Option<&str>| ShopRef {
        shop_id: crate::ids::ExtShopId::new("1"),
        cipher: cipher.map(str::to_owned),
    };
    assert_eq!(sandbox.venture_of(&shop(None)).unwrap(), Venture::Sg);
    assert_eq!(sandbox.venture_of(&shop(Some(""))).unwrap(), Venture::Sg);
    assert_eq!(sandbox.venture_of(&shop(Some("MY"))).unwrap(), Venture::My);
    assert!(matches!(
        sandbox.venture_of(&shop(Some("XX"))),
        Err(ChannelError::Config { .. })
    ));
}

fn two_hosts(sg: &FakeServer, my: &FakeServer) -> LazadaClient {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(NOW_MS)));
    let config = LazadaConfig::new(APP_KEY, Secret::new(SECRET.to_owned()), Venture::Sg)
        .with_base_url(&sg.base_url)
        .with_venture_api_base_url(Venture::My, format!("{}/rest", my.base_url));
    LazadaClient::new(config, clock).unwrap()
}

#[tokio::test]
async fn a_shop_of_another_venture_is_served_by_that_ventures_host_in_its_currency() {
    let product = r#"{"total_products":1,"products":[{"item_id":7,"status":"Active",
        "attributes":{"name":"Baju"},"skus":[{"SkuId":70,"SellerSku":"BAJU","quantity":3,"Available":3,"price":12.5}]}]}"#;
    let items = r#"[{"order_id":9,"order_items":[{"order_item_id":"90","status":"pending","sku":"BAJU",
        "sku_id":"70","product_id":"7","paid_price":"12.50"}]}]"#;
    let sg = FakeServer::start(vec![ok(product)]).await;
    let my = FakeServer::start(vec![ok(product), ok(items)]).await;
    let c = two_hosts(&sg, &my);
    let myr: storesync_domain::Currency = "MYR".parse().unwrap();
    let sgd: storesync_domain::Currency = "SGD".parse().unwrap();

    let mut in_my = creds();
    in_my.shop = ShopRef::new("2002").with_cipher("MY");
    let page = c
        .list_listings(&in_my, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(
        page.listings[0].variants[0].price,
        Some(Money::new(1_250, myr))
    );
    let orders = c
        .order_details(&in_my, &[ExtOrderId::new("9")])
        .await
        .unwrap();
    assert_eq!(
        orders[0].currency,
        Some(myr),
        "the venture's when items omit it"
    );
    assert_eq!(orders[0].total, Some(Money::new(1_250, myr)));
    let got = my.requests();
    assert_eq!(got.len(), 2);
    assert_signed(&got[0], "/products/get");
    assert_signed(&got[1], "/orders/items/get");

    // A shop without a venture is the configured venture's.
    let page = c
        .list_listings(&creds(), &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(
        page.listings[0].variants[0].price,
        Some(Money::new(1_250, sgd))
    );
    assert_eq!(sg.requests().len(), 1);

    // An unknown venture is refused before anything is sent.
    let mut unknown = creds();
    unknown.shop = ShopRef::new("3").with_cipher("XX");
    let e = c
        .update_stock(
            &unknown,
            &[StockUpdate {
                listing_id: ListingId::new("7"),
                variant_id: ExtVariantId::new("70"),
                warehouse_id: None,
                quantity: 1,
            }],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::Config { .. }), "{e:?}");
    assert_eq!((sg.requests().len(), my.requests().len()), (1, 2));
}

#[tokio::test]
async fn a_cross_border_authorization_yields_one_shop_per_venture() {
    let token = r#"{"access_token":"A1","refresh_token":"R1","country":"cb","expires_in":604800,
        "refresh_expires_in":2592000,"account_platform":"seller_center","account":"x@y",
        "country_user_info":[{"country":"sg","seller_id":"1001","user_id":1,"short_code":"SG1"},
                             {"country":"my","seller_id":"2002","user_id":2,"short_code":"MY2"},
                             {"country":"sg","seller_id":"1001","user_id":1,"short_code":"SG1"}],
        "code":"0","request_id":"r"}"#;
    // The SG server is also the auth host (`with_base_url`).
    let sg = FakeServer::start(vec![
        (200, token.to_owned()),
        ok(r#"{"seller_id":1001,"name":"Shop SG"}"#),
    ])
    .await;
    let my = FakeServer::start(vec![
        ok(r#"{"seller_id":"2002","name":"Shop MY"}"#),
        ok(r#"{"seller_id":"2002","name":"Shop MY"}"#),
    ])
    .await;
    let c = two_hosts(&sg, &my);
    let cb = AuthCallback::from_query([("code", "0_100001_abcDEF")]).unwrap();
    let auth = c.exchange_code(&cb).await.unwrap();
    let shop = |id: &str, venture: &str, name: &str| AuthorizedShop {
        shop: ShopRef::new(id).with_cipher(venture),
        name: Some(name.to_owned()),
        region: Some(venture.to_owned()),
    };
    assert_eq!(
        auth.shops,
        vec![shop("1001", "SG", "Shop SG"), shop("2002", "MY", "Shop MY")]
    );
    let sg_reqs = sg.requests();
    assert_eq!(sg_reqs.len(), 2);
    assert_eq!(sg_reqs[0].path, "/rest/auth/token/create");
    assert_signed(&sg_reqs[1], "/seller/get");
    let my_reqs = my.requests();
    assert_eq!(my_reqs.len(), 1);
    assert_signed(&my_reqs[0], "/seller/get");
    assert_eq!(param(&my_reqs[0], "access_token").as_deref(), Some("A1"));

    // Looking a shop up again uses its venture.
    let again = c
        .authorized_shops(&auth.tokens.access_token, Some(&auth.shops[1].shop))
        .await
        .unwrap();
    assert_eq!(again, vec![auth.shops[1].clone()]);
    assert_eq!(my.requests().len(), 2);
    assert_eq!(sg.requests().len(), 2);
}
