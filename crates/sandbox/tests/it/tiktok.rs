//! TikTok sandbox: signing, clock window, OAuth, tokens, cipher rules, limits, promotion floor,
//! buyer cancellations, Tokopedia orders, webhooks.

use serde_json::{json, Value};
use storesync_sandbox::Marketplace;

use crate::common::{hmac_hex, wait_until, Env, Receiver};

const APP_KEY: &str = "29a39d";
const SECRET: &str = "e59af819cc";

/// The signer straight from the docs: secret + path + sorted(k+v, minus sign/access_token) +
/// body + secret, HMAC-SHA256 keyed with the secret.
fn doc_sign(path: &str, params: &[(&str, String)], body: &str) -> String {
    let mut p: Vec<&(&str, String)> = params
        .iter()
        .filter(|(k, _)| *k != "sign" && *k != "access_token")
        .collect();
    p.sort_by(|a, b| a.0.cmp(b.0));
    let mut s = String::from(SECRET);
    s.push_str(path);
    for (k, v) in p {
        s.push_str(k);
        s.push_str(v);
    }
    s.push_str(body);
    s.push_str(SECRET);
    hmac_hex(SECRET, s.as_bytes())
}

struct Shop {
    env: Env,
    shop_id: u64,
    cipher: String,
    product_id: u64,
    sku_id: u64,
    token: String,
    refresh: String,
}

async fn token_call(env: &Env, path: &str, q: &str) -> Value {
    env.http
        .get(env.url(&format!("{path}?app_key={APP_KEY}&app_secret={SECRET}&{q}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn setup_region(region: &str) -> Shop {
    let env = Env::start(Marketplace::TikTok).await;
    env.control(
        "PUT",
        "/__sandbox/app",
        json!({"redirect_url": "https://app.example/tts/cb"}),
    )
    .await;
    let shop = env
        .control(
            "POST",
            "/__sandbox/shops",
            json!({"name": "Batik", "region": region, "products": [
                {"name": "Batik shirt", "variants": [{"seller_sku": "BATIK-M", "price": "150000", "stock": 5}]}]}),
        )
        .await;
    let shop_id = shop["shop_id"].as_u64().unwrap();
    let auth = env
        .control(
            "POST",
            "/__sandbox/authorize",
            json!({"shop_id": shop_id, "state": "xyz"}),
        )
        .await;
    let code = auth["code"].as_str().unwrap().to_owned();
    let tok = token_call(
        &env,
        "/api/v2/token/get",
        &format!("auth_code={code}&grant_type=authorized_code"),
    )
    .await;
    assert_eq!(tok["code"], 0, "{tok}");
    let now = env.now_secs();
    let exp = tok["data"]["access_token_expire_in"].as_i64().unwrap();
    assert_eq!(exp, now + 7 * 86_400, "an absolute timestamp, 7 days ahead");
    Shop {
        shop_id,
        cipher: shop["cipher"].as_str().unwrap().to_owned(),
        product_id: shop["products"][0]["product_id"].as_u64().unwrap(),
        sku_id: shop["products"][0]["variants"][0]["variant_id"]
            .as_u64()
            .unwrap(),
        token: tok["data"]["access_token"].as_str().unwrap().to_owned(),
        refresh: tok["data"]["refresh_token"].as_str().unwrap().to_owned(),
        env,
    }
}

async fn setup() -> Shop {
    setup_region("ID").await
}

impl Shop {
    // Every knob of a signed call is a parameter so each negative test can turn exactly one.
    #[allow(clippy::too_many_arguments)]
    async fn call_full(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, String)],
        body: &str,
        ts: i64,
        cipher: bool,
        token: &str,
    ) -> (u16, Value) {
        let mut params: Vec<(&str, String)> = vec![
            ("app_key", APP_KEY.to_owned()),
            ("timestamp", ts.to_string()),
        ];
        if cipher {
            params.push(("shop_cipher", self.cipher.clone()));
        }
        params.extend(extra.iter().cloned());
        let sign = doc_sign(path, &params, body);
        params.push(("sign", sign));
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let url = self.env.url(&format!("{path}?{q}"));
        let req = match method {
            "GET" => self.env.http.get(url),
            "PUT" => self.env.http.put(url),
            _ => self.env.http.post(url),
        };
        let r = req
            .header("x-tts-access-token", token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, String)],
        body: &str,
    ) -> (u16, Value) {
        self.call_full(
            method,
            path,
            extra,
            body,
            self.env.now_secs(),
            true,
            &self.token,
        )
        .await
    }
}

#[tokio::test]
async fn doc_signer_matches_vectors_and_is_accepted() {
    assert_eq!(
        doc_sign(
            "/authorization/202309/shops",
            &[
                ("app_key", "29a39d".into()),
                ("timestamp", "1623812664".into())
            ],
            ""
        ),
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    );
    assert_eq!(
        doc_sign(
            "/order/202309/orders/search",
            &[
                ("app_key", "29a39d".into()),
                ("page_size", "20".into()),
                ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIKt".into()),
                ("timestamp", "1696909648".into())
            ],
            r#"{"order_status":"AWAITING_SHIPMENT"}"#
        ),
        "9b9aa043907737b0156092ca06ddfb9161212f736192bf0fd428c7ebb11c1ae8"
    );
    let s = setup().await;
    let (_, v) = s
        .call_full(
            "GET",
            "/authorization/202309/shops",
            &[],
            "",
            s.env.now_secs(),
            false,
            &s.token,
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["shops"][0]["cipher"], s.cipher.as_str());
    assert_eq!(
        v["data"]["shops"][0]["id"],
        s.shop_id.to_string(),
        "ids are strings"
    );
    let (_, v) = s
        .call(
            "POST",
            "/product/202309/products/search",
            &[("page_size", "10".into())],
            "{}",
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    let sku = &v["data"]["products"][0]["skus"][0];
    assert_eq!(
        sku["price"]["sale_price"], "150000",
        "money is a decimal string (IDR without decimals)"
    );
    assert_eq!(sku["inventory"][0]["quantity"], 5);
}

#[tokio::test]
async fn tampered_sign_timestamp_window_and_cipher_rules() {
    let s = setup().await;
    let now = s.env.now_secs();
    // Signing one body and sending another is a signature failure.
    let params = vec![
        ("app_key", APP_KEY.to_owned()),
        ("timestamp", now.to_string()),
        ("shop_cipher", s.cipher.clone()),
        ("page_size", "10".to_owned()),
    ];
    let sign = doc_sign("/order/202309/orders/search", &params, "{}");
    let url = s.env.url(&format!(
        "/order/202309/orders/search?app_key={APP_KEY}&timestamp={now}&shop_cipher={}&page_size=10&sign={sign}",
        s.cipher
    ));
    let v: Value = s
        .env
        .http
        .post(url)
        .header("x-tts-access-token", &s.token)
        .body(r#"{"order_status":"UNPAID"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["code"], 106_001);
    assert_eq!(
        v["message"],
        "Invalid credentials. The `sign` query parameter is invalid."
    );

    for (skew, ok) in [(-301, false), (-299, true), (29, true), (31, false)] {
        let (_, v) = s
            .call_full(
                "GET",
                "/seller/202309/shops",
                &[],
                "",
                now + skew,
                false,
                &s.token,
            )
            .await;
        if ok {
            assert_eq!(v["code"], 0, "skew {skew}: {v}");
        } else {
            assert_eq!(v["code"], 36_009_004, "skew {skew}");
        }
    }
    let (_, v) = s
        .call_full("GET", "/seller/202309/shops", &[], "", now, true, &s.token)
        .await;
    assert_eq!(
        v["code"], 36_009_004,
        "shop_cipher is not allowed on seller APIs"
    );
    let (_, v) = s
        .call_full(
            "POST",
            "/order/202309/orders/search",
            &[],
            "{}",
            now,
            false,
            &s.token,
        )
        .await;
    assert_eq!(v["code"], 106_013, "shop_cipher missing");

    // A token of another shop cannot act for this cipher.
    let other = s
        .env
        .control("POST", "/__sandbox/shops", json!({"name": "Other"}))
        .await;
    let (other_token, _) = s
        .env
        .server
        .sandbox()
        .mint_tokens(other["shop_id"].as_u64().unwrap())
        .unwrap();
    let (_, v) = s
        .call_full(
            "POST",
            "/order/202309/orders/search",
            &[],
            "{}",
            now,
            true,
            &other_token,
        )
        .await;
    assert_eq!(v["code"], 101_000);
    let (status, v) = s.call("GET", "/order/202309/nope", &[], "").await;
    assert_eq!((status, v["code"].as_i64()), (404, Some(36_009_009)));
}

#[tokio::test]
async fn oauth_consent_deny_and_code_rules() {
    let s = setup().await;
    let env = &s.env;
    let page = env
        .http
        .get(env.url("/open/authorize?service_id=7000000000000000001&state=abc"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Approve"));
    let post = |decision: &str| {
        env.http
            .post(env.url("/__sandbox/consent/tiktok"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "state=abc&decision={decision}&shop_id={}",
                s.shop_id
            ))
            .send()
    };
    let r = post("deny").await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        loc,
        "https://app.example/tts/cb?code=null&error=auth_denied&state=abc"
    );
    let r = post("approve").await.unwrap();
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "abc");
    let code = &q["code"];
    let ok = token_call(
        env,
        "/api/v2/token/get",
        &format!("auth_code={code}&grant_type=authorized_code"),
    )
    .await;
    assert_eq!(ok["code"], 0);
    let again = token_call(
        env,
        "/api/v2/token/get",
        &format!("auth_code={code}&grant_type=authorized_code"),
    )
    .await;
    assert_ne!(again["code"], 0, "codes are single use");

    let fresh = env
        .control(
            "POST",
            "/__sandbox/authorize",
            json!({"shop_id": s.shop_id}),
        )
        .await;
    env.advance_secs(1_801);
    let late = token_call(
        env,
        "/api/v2/token/get",
        &format!(
            "auth_code={}&grant_type=authorized_code",
            fresh["code"].as_str().unwrap()
        ),
    )
    .await;
    assert_ne!(late["code"], 0, "codes live 30 minutes");
}

#[tokio::test]
async fn expired_token_then_refresh() {
    let s = setup().await;
    s.env.advance_secs(7 * 86_400);
    let (_, v) = s
        .call("POST", "/order/202309/orders/search", &[], "{}")
        .await;
    assert_eq!(v["code"], 105_002);
    let r = token_call(
        &s.env,
        "/api/v2/token/refresh",
        &format!("refresh_token={}&grant_type=refresh_token", s.refresh),
    )
    .await;
    assert_eq!(r["code"], 0, "{r}");
    let new = r["data"]["access_token"].as_str().unwrap();
    let (_, v) = s
        .call_full(
            "POST",
            "/order/202309/orders/search",
            &[("page_size", "20".into())],
            "{}",
            s.env.now_secs(),
            true,
            new,
        )
        .await;
    assert_eq!(v["code"], 0);
    // Forced expiry (fault) behaves like natural expiry.
    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/expire_tokens", s.shop_id),
            json!({}),
        )
        .await;
    let (_, v) = s
        .call_full(
            "POST",
            "/order/202309/orders/search",
            &[],
            "{}",
            s.env.now_secs(),
            true,
            new,
        )
        .await;
    assert_eq!(v["code"], 105_002);
}

#[tokio::test]
async fn rate_limit_caps_and_promotion_floor() {
    let s = setup().await;
    s.env
        .control("PUT", "/__sandbox/faults", json!({"rate_limit_qps": 1}))
        .await;
    assert_eq!(
        s.call(
            "POST",
            "/order/202309/orders/search",
            &[("page_size", "20".into())],
            "{}"
        )
        .await
        .0,
        200
    );
    let (status, v) = s
        .call(
            "POST",
            "/order/202309/orders/search",
            &[("page_size", "20".into())],
            "{}",
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(v["code"], 36_009_002);
    s.env.control("PUT", "/__sandbox/faults", json!({})).await;

    let ids: Vec<String> = (0..51)
        .map(|i| (576_486_316_948_490_000u64 + i).to_string())
        .collect();
    let (_, v) = s
        .call("GET", "/order/202309/orders", &[("ids", ids.join(","))], "")
        .await;
    assert_eq!(v["code"], 36_009_004);
    let (_, v) = s
        .call(
            "POST",
            "/order/202309/orders/search",
            &[("page_size", "101".into())],
            "{}",
        )
        .await;
    assert_eq!(v["code"], 36_009_004);

    s.env
        .server
        .sandbox()
        .set_reservation(s.shop_id, "BATIK-M", 4)
        .unwrap();
    let path = format!("/product/202309/products/{}/inventory/update", s.product_id);
    let body = |q: i64| {
        json!({"skus": [{"id": s.sku_id.to_string(), "inventory": [{"quantity": q}]}]}).to_string()
    };
    let (_, v) = s.call("POST", &path, &[], &body(3)).await;
    assert_eq!(v["code"], 12_052_393, "{v}");
    let (_, v) = s.call("POST", &path, &[], &body(4)).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(
        s.env
            .server
            .sandbox()
            .listing(s.shop_id, "BATIK-M")
            .unwrap()
            .total_stock,
        4
    );
}

#[tokio::test]
async fn buyer_cancel_window_tokopedia_orders_and_signed_webhooks() {
    let s = setup().await;
    let hook = Receiver::start().await;
    let (_, v) = s
        .call(
            "PUT",
            "/event/202309/webhooks",
            &[],
            &json!({"address": hook.url, "event_type": "ORDER_STATUS_CHANGE"}).to_string(),
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    let sb = s.env.server.sandbox().clone();
    let order = s
        .env
        .control("POST", &format!("/__sandbox/shops/{}/orders", s.shop_id),
                 json!({"lines": [{"seller_sku": "BATIK-M", "quantity": 2}], "commerce_platform": "TOKOPEDIA"}))
        .await;
    let id = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "AWAITING_SHIPMENT");
    assert_eq!(
        sb.listing(s.shop_id, "BATIK-M").unwrap().total_stock,
        3,
        "stock drops at once"
    );

    let (_, v) = s
        .call("GET", "/order/202309/orders", &[("ids", id.clone())], "")
        .await;
    let o = &v["data"]["orders"][0];
    assert_eq!(o["commerce_platform"], "TOKOPEDIA");
    assert_eq!(
        o["line_items"].as_array().unwrap().len(),
        2,
        "one line item per unit"
    );
    assert_eq!(o["payment"]["total_amount"], "300000");

    wait_until(|| !hook.bodies().is_empty(), "the order webhook").await;
    let (sig, body) = hook.bodies()[0].clone();
    assert_eq!(sig, hmac_hex(SECRET, format!("{APP_KEY}{body}").as_bytes()));
    let push: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(push["type"], 1);
    assert_eq!(push["shop_id"], s.shop_id.to_string());
    assert_eq!(push["data"]["order_id"], id.as_str());
    assert_eq!(push["data"]["order_status"], "AWAITING_SHIPMENT");

    // Within the first hour the buyer cancels freely; the units go back on the listing.
    let v = s
        .env
        .control(
            "POST",
            &format!("/__sandbox/orders/{id}/advance"),
            json!({"action": "buyer_cancel"}),
        )
        .await;
    assert_eq!(v["status"], "CANCELLED");
    assert_eq!(sb.listing(s.shop_id, "BATIK-M").unwrap().total_stock, 5);
    wait_until(|| hook.bodies().len() >= 2, "the cancellation webhook").await;

    // After an hour it becomes a request the seller answers.
    let second = sb
        .place_order(
            s.shop_id,
            &serde_json::from_value(json!({"lines": [{"seller_sku": "BATIK-M"}]})).unwrap(),
        )
        .unwrap();
    s.env.advance_secs(3_601);
    let v = sb
        .advance_order(
            &second.order_id,
            storesync_sandbox::OrderAction::BuyerCancel,
        )
        .unwrap();
    assert!(v.buyer_cancel_requested);
    assert_eq!(v.status, "AWAITING_SHIPMENT");
    let (_, v) = s
        .call(
            "POST",
            &format!(
                "/return_refund/202309/cancellations/8{}/approve",
                second.order_id
            ),
            &[],
            "{}",
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(sb.order(&second.order_id).unwrap().status, "CANCELLED");
}

#[tokio::test]
async fn ship_package_and_tracking() {
    let s = setup_region("MY").await;
    let sb = s.env.server.sandbox().clone();
    let order = sb
        .place_order(
            s.shop_id,
            &serde_json::from_value(json!({"lines": [{"seller_sku": "BATIK-M"}]})).unwrap(),
        )
        .unwrap();
    let (_, v) = s
        .call(
            "POST",
            &format!("/fulfillment/202309/packages/{}/ship", order.package_id),
            &[],
            r#"{"handover_method":"PICKUP"}"#,
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    let (_, v) = s
        .call(
            "GET",
            &format!("/fulfillment/202309/packages/{}", order.package_id),
            &[],
            "",
        )
        .await;
    assert!(v["data"]["tracking_number"]
        .as_str()
        .unwrap()
        .starts_with("JX"));
    sb.advance_order(&order.order_id, storesync_sandbox::OrderAction::Pickup)
        .unwrap();
    let (_, v) = s
        .call(
            "POST",
            "/order/202309/orders/search",
            &[("page_size", "1".into())],
            r#"{"order_status":"IN_TRANSIT"}"#,
        )
        .await;
    assert_eq!(v["data"]["total_count"], 1);
    assert!(
        v["data"]["orders"][0].get("commerce_platform").is_none(),
        "only Indonesian orders carry it"
    );
    let (_, v) = s
        .call(
            "GET",
            &format!("/fulfillment/202309/orders/{}/tracking", order.order_id),
            &[],
            "",
        )
        .await;
    assert_eq!(v["data"]["tracking"].as_array().unwrap().len(), 2);
}

// ---- fidelity round two: what clients written from the spec expect -----------------------------

/// Keys whose value is null anywhere in `v`, as paths.
fn nulls(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(path.to_owned()),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| nulls(x, &format!("{path}[{i}]"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| nulls(x, &format!("{path}.{k}"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn successful_answers_carry_no_nulls() {
    let s = setup().await;
    // An unpaid order has no paid_time; the product has no brand.
    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "BATIK-M", "quantity": 1}], "unpaid": true}),
        )
        .await;
    let page = [("page_size", "20".to_owned())];
    let mut answers = vec![
        s.call(
            "GET",
            &format!("/product/202309/products/{}", s.product_id),
            &[],
            "",
        )
        .await
        .1,
        s.call("POST", "/product/202309/products/search", &page, "{}")
            .await
            .1,
        s.call("POST", "/product/202502/products/search", &page, "{}")
            .await
            .1,
    ];
    let orders = s
        .call("POST", "/order/202309/orders/search", &page, "{}")
        .await
        .1;
    let id = orders["data"]["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    answers.push(orders);
    for version in ["202309", "202507"] {
        answers.push(
            s.call(
                "GET",
                &format!("/order/{version}/orders"),
                &[("ids", id.clone())],
                "",
            )
            .await
            .1,
        );
    }
    for a in &answers {
        assert_eq!(a["code"], 0, "{a}");
        let mut found = Vec::new();
        nulls(&a["data"], "data", &mut found);
        assert!(found.is_empty(), "nulls at {found:?} in {a}");
    }
    assert!(answers[0]["data"].get("brand").is_none());
}

#[tokio::test]
async fn a_bad_or_used_auth_code_is_36004004() {
    let s = setup().await;
    let v = token_call(
        &s.env,
        "/api/v2/token/get",
        "auth_code=nope&grant_type=authorized_code",
    )
    .await;
    assert_eq!(v["code"], 36_004_004, "{v}");
}

#[tokio::test]
async fn gateway_messages_carry_the_documented_keywords_and_auth_failures_are_401() {
    let s = setup().await;
    let now = s.env.now_secs();
    let search = "/order/202309/orders/search";
    let page = [("page_size", "20".to_owned())];
    for (ts, keyword) in [
        (now - 301, "earlier than 5 minutes"),
        (now + 31, "more than 30 seconds"),
        (-5, "lesser than 0"),
    ] {
        let (status, v) = s
            .call_full("POST", search, &page, "{}", ts, true, &s.token)
            .await;
        assert_eq!((status, v["code"].as_i64()), (200, Some(36_009_004)));
        assert!(v["message"].as_str().unwrap().contains(keyword), "{v}");
    }
    // No sign at all.
    let url = s.env.url(&format!(
        "{search}?app_key={APP_KEY}&timestamp={now}&shop_cipher={}&page_size=20",
        s.cipher
    ));
    let r = s
        .env
        .http
        .post(url)
        .header("x-tts-access-token", &s.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Missing credentials"),
        "{v}"
    );
    // A wrong sign: 106001 with HTTP 401, as captured from the real gateway.
    let url = s.env.url(&format!(
        "{search}?app_key={APP_KEY}&timestamp={now}&shop_cipher={}&page_size=20&sign=00",
        s.cipher
    ));
    let r = s
        .env
        .http
        .post(url)
        .header("x-tts-access-token", &s.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 106_001);
    // A bad token and an expired one are credentials failures too.
    let (status, _) = s
        .call_full("POST", search, &page, "{}", now, true, "TTP_nope")
        .await;
    assert_eq!(status, 401);
    // An unneeded cipher, a missing one.
    let (_, v) = s.call("GET", "/authorization/202309/shops", &[], "").await;
    assert_eq!(v["code"], 36_009_004);
    assert!(
        v["message"].as_str().unwrap().contains("not required"),
        "{v}"
    );
    let (_, v) = s
        .call_full("POST", search, &page, "{}", now, false, &s.token)
        .await;
    assert_eq!(v["code"], 106_013);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Missing identifier"),
        "{v}"
    );
    s.env.advance_secs(7 * 86_400);
    let (status, v) = s.call("POST", search, &page, "{}").await;
    assert_eq!((status, v["code"].as_i64()), (401, Some(105_002)));
}

#[tokio::test]
async fn page_size_is_required_on_the_searches() {
    let s = setup().await;
    for path in [
        "/order/202309/orders/search",
        "/product/202309/products/search",
        "/product/202502/products/search",
    ] {
        let (_, v) = s.call("POST", path, &[], "{}").await;
        assert_eq!(v["code"], 36_009_004, "{path}: {v}");
        assert!(v["message"].as_str().unwrap().contains("page_size"), "{v}");
        let (_, v) = s
            .call("POST", path, &[("page_size", "5".into())], "{}")
            .await;
        assert_eq!(v["code"], 0, "{path}: {v}");
    }
}

#[tokio::test]
async fn newer_versions_are_served_beside_202309() {
    let s = setup().await;
    let page = [("page_size", "20".to_owned())];
    let (_, v) = s
        .call("POST", "/product/202502/products/search", &page, "{}")
        .await;
    let p = &v["data"]["products"][0];
    assert_eq!(p["id"], s.product_id.to_string(), "{v}");
    assert_eq!(p["audit"]["status"], "APPROVED");
    assert_eq!(p["skus"][0]["status_info"]["status"], "NORMAL");
    // 202502 filters by SKU id, at most 10 of them.
    let (_, v) = s
        .call(
            "POST",
            "/product/202502/products/search",
            &page,
            &json!({"sku_ids": ["1"]}).to_string(),
        )
        .await;
    assert_eq!(v["data"]["total_count"], 0, "{v}");
    let (_, v) = s
        .call(
            "POST",
            "/product/202502/products/search",
            &page,
            &json!({"sku_ids": [s.sku_id.to_string()]}).to_string(),
        )
        .await;
    assert_eq!(v["data"]["total_count"], 1, "{v}");
    let eleven: Vec<String> = (0..11).map(|i| i.to_string()).collect();
    let (_, v) = s
        .call(
            "POST",
            "/product/202502/products/search",
            &page,
            &json!({ "sku_ids": eleven }).to_string(),
        )
        .await;
    assert_eq!(v["code"], 36_009_004);
    // 202507 order detail: the same request, each order says what kind it is.
    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "BATIK-M", "quantity": 1}]}),
        )
        .await;
    let (_, v) = s
        .call("POST", "/order/202309/orders/search", &page, "{}")
        .await;
    let id = v["data"]["orders"][0]["id"].as_str().unwrap().to_owned();
    let (_, old) = s
        .call("GET", "/order/202309/orders", &[("ids", id.clone())], "")
        .await;
    let (_, new) = s
        .call("GET", "/order/202507/orders", &[("ids", id)], "")
        .await;
    assert_eq!(new["data"]["orders"][0]["order_type"], "NORMAL", "{new}");
    assert!(old["data"]["orders"][0].get("order_type").is_none());
    assert_eq!(
        new["data"]["orders"][0]["status"],
        old["data"]["orders"][0]["status"]
    );
}

#[tokio::test]
async fn documented_rate_limit_is_on_by_default() {
    let s = setup().await;
    let page = [("page_size", "1".to_owned())];
    let mut statuses = Vec::new();
    for _ in 0..51 {
        let (status, v) = s
            .call("POST", "/order/202309/orders/search", &page, "{}")
            .await;
        statuses.push((status, v["code"].as_i64().unwrap()));
    }
    // The manual clock stands still: 50 pass in its second, the 51st is refused.
    assert!(
        statuses[..50].iter().all(|s| *s == (200, 0)),
        "{statuses:?}"
    );
    assert_eq!(statuses[50], (429, 36_009_002));
    // Other APIs keep their own budget; the next second starts afresh.
    let (status, _) = s
        .call("POST", "/product/202309/products/search", &page, "{}")
        .await;
    assert_eq!(status, 200);
    s.env.advance_secs(1);
    let (status, _) = s
        .call("POST", "/order/202309/orders/search", &page, "{}")
        .await;
    assert_eq!(status, 200);
    // And it can be turned off.
    s.env
        .control("PUT", "/__sandbox/faults", json!({"rate_limit_off": true}))
        .await;
    for _ in 0..60 {
        let (status, _) = s
            .call("POST", "/order/202309/orders/search", &page, "{}")
            .await;
        assert_eq!(status, 200);
    }
}
