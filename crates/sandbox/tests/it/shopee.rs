//! Shopee sandbox: signing, clock window, OAuth, tokens, limits, promotion floor, buyers, pushes.

use serde_json::{json, Value};
use storesync_sandbox::{Delivery, Marketplace};

use crate::common::{hmac_hex, wait_until, Env, Receiver};

const PARTNER_ID: i64 = 2_001_887;
const KEY: &str = "test_partner_key_0001";

/// The signer straight from the docs: partner_id + path + timestamp [+ access_token + shop_id].
fn doc_sign(path: &str, ts: i64, token_shop: Option<(&str, u64)>) -> String {
    let mut base = format!("{PARTNER_ID}{path}{ts}");
    if let Some((t, s)) = token_shop {
        base.push_str(t);
        base.push_str(&s.to_string());
    }
    hmac_hex(KEY, base.as_bytes())
}

struct Shop {
    env: Env,
    shop_id: u64,
    item_id: u64,
    token: String,
    refresh: String,
}

async fn setup() -> Shop {
    let env = Env::start(Marketplace::Shopee).await;
    let shop = env
        .control(
            "POST",
            "/__sandbox/shops",
            json!({"name": "Tee shop", "region": "SG", "products": [
                {"name": "Tee", "item_sku": "TEE", "price": "12.50", "stock": 10},
                {"name": "Cap", "variants": [
                    {"seller_sku": "CAP-RED", "price": 5, "stock": 4},
                    {"seller_sku": "CAP-BLUE", "price": 5, "stock": 0}]}]}),
        )
        .await;
    let shop_id = shop["shop_id"].as_u64().unwrap();
    let item_id = shop["products"][0]["product_id"].as_u64().unwrap();
    let auth = env
        .control(
            "POST",
            "/__sandbox/authorize",
            json!({"shop_id": shop_id, "redirect": "https://seller.example/cb?x=1"}),
        )
        .await;
    let code = auth["code"].as_str().unwrap().to_owned();
    assert!(auth["redirect_url"]
        .as_str()
        .unwrap()
        .starts_with("https://seller.example/cb?x=1&code="));
    let tok = token_get(&env, &code, shop_id).await;
    assert_eq!(tok["error"], "", "{tok}");
    assert_eq!(tok["expire_in"], 14_400);
    let token = tok["access_token"].as_str().unwrap().to_owned();
    let refresh = tok["refresh_token"].as_str().unwrap().to_owned();
    Shop {
        env,
        shop_id,
        item_id,
        token,
        refresh,
    }
}

async fn token_get(env: &Env, code: &str, shop_id: u64) -> Value {
    let ts = env.now_secs();
    let path = "/api/v2/auth/token/get";
    env.http
        .post(env.url(&format!(
            "{path}?partner_id={PARTNER_ID}&timestamp={ts}&sign={}",
            doc_sign(path, ts, None)
        )))
        .json(&json!({"code": code, "partner_id": PARTNER_ID, "shop_id": shop_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn refresh(env: &Env, refresh: &str, shop_id: u64) -> Value {
    let ts = env.now_secs();
    let path = "/api/v2/auth/access_token/get";
    env.http
        .post(env.url(&format!(
            "{path}?partner_id={PARTNER_ID}&timestamp={ts}&sign={}",
            doc_sign(path, ts, None)
        )))
        .json(&json!({"refresh_token": refresh, "partner_id": PARTNER_ID, "shop_id": shop_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

impl Shop {
    fn signed_url(&self, path: &str, ts: i64, token: &str, extra: &str) -> String {
        let sign = doc_sign(path, ts, Some((token, self.shop_id)));
        self.env.url(&format!(
            "{path}?partner_id={PARTNER_ID}&timestamp={ts}&sign={sign}&access_token={token}&shop_id={}{extra}",
            self.shop_id
        ))
    }

    async fn get_with(&self, path: &str, token: &str, extra: &str) -> (u16, Value) {
        let r = self
            .env
            .http
            .get(self.signed_url(path, self.env.now_secs(), token, extra))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn get(&self, path: &str, extra: &str) -> Value {
        self.get_with(path, &self.token, extra).await.1
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .env
            .http
            .post(self.signed_url(path, self.env.now_secs(), &self.token, ""))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn doc_signer_matches_vectors_and_is_accepted() {
    // The test's own signer reproduces the fact sheet's S-2 and S-6 vectors...
    let s2 = hmac_hex(
        KEY,
        b"2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711",
    );
    assert_eq!(
        s2,
        "e65d1e88c74d6cde458da54aa46f4a575312840622dcd9fd593ce7d8fd39c6a3"
    );
    let s7 = hmac_hex(
        "shpk6b4f7a2e9c",
        b"1000001/api/v2/order/get_order_list1700000000ACCESS123600000",
    );
    assert_eq!(
        s7,
        "0b3ae510f19fac427c3103029e3498da37a586ff42df186fffa843deb24404bb"
    );
    // ...and the sandbox accepts what it signs.
    let s = setup().await;
    let info = s.get("/api/v2/shop/get_shop_info", "").await;
    assert_eq!(info["error"], "");
    assert_eq!(info["shop_name"], "Tee shop");
    assert_eq!(info["region"], "SG");
    let items = s
        .get(
            "/api/v2/product/get_item_list",
            "&offset=0&page_size=10&item_status=NORMAL",
        )
        .await;
    assert_eq!(items["response"]["total_count"], 2, "{items}");
    assert!(
        items["response"]["item"][0]["item_id"].is_u64(),
        "item ids are int64 numbers"
    );
    let base = s
        .get(
            "/api/v2/product/get_item_base_info",
            &format!("&item_id_list={}", s.item_id),
        )
        .await;
    let item = &base["response"]["item_list"][0];
    assert_eq!(
        item["price_info"][0]["current_price"], 12.5,
        "money is a JSON float"
    );
    assert_eq!(item["stock_info_v2"]["seller_stock"][0]["stock"], 10);
    assert_eq!(
        item["stock_info_v2"]["seller_stock"][0]["location_id"],
        "SGZ"
    );
}

#[tokio::test]
async fn tampered_sign_and_stale_timestamp_are_refused() {
    let s = setup().await;
    let ts = s.env.now_secs();
    let mut url = s.signed_url("/api/v2/shop/get_shop_info", ts, &s.token, "");
    let pos = url.find("&sign=").unwrap() + 6;
    let flipped = if &url[pos..pos + 1] == "0" { "1" } else { "0" };
    url.replace_range(pos..pos + 1, flipped);
    let v: Value = s
        .env
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"], "error_sign");
    assert_eq!(v["message"], "Wrong sign.");
    assert!(v["request_id"].is_string());

    for (skew, ok) in [(-301, false), (-299, true), (299, true), (301, false)] {
        let url = s.signed_url("/api/v2/shop/get_shop_info", ts + skew, &s.token, "");
        let v: Value = s
            .env
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ok {
            assert_eq!(v["error"], "", "skew {skew}: {v}");
        } else {
            assert_eq!(v["error"], "error_param", "skew {skew}");
            assert_eq!(v["message"], "Invalid timestamp");
        }
    }
    let v: Value = s
        .env
        .http
        .get(s.env.url("/api/v2/shop/get_shop_info?partner_id=2001887"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["message"], "There is no timestamp in query.");
}

#[tokio::test]
async fn oauth_consent_page_code_single_use_and_short_lived() {
    let s = setup().await;
    let env = &s.env;
    let ts = env.now_secs();
    let path = "/api/v2/shop/auth_partner";
    let page = env
        .http
        .get(env.url(&format!(
            "{path}?partner_id={PARTNER_ID}&timestamp={ts}&sign={}&redirect=https%3A%2F%2Fapp.example%2Fcb",
            doc_sign(path, ts, None)
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Approve") && page.contains("Deny"), "{page}");
    let r = env
        .http
        .post(env.url("/__sandbox/consent/shopee"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "redirect=https%3A%2F%2Fapp.example%2Fcb&action=auth&decision=approve&shop_id={}",
            s.shop_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["shop_id"], s.shop_id.to_string());
    let code = q["code"].clone();
    assert_eq!(token_get(env, &code, s.shop_id).await["error"], "");
    let again = token_get(env, &code, s.shop_id).await;
    assert_eq!(again["error"], "invalid_code", "codes are single use");

    let fresh = env
        .control(
            "POST",
            "/__sandbox/authorize",
            json!({"shop_id": s.shop_id, "redirect": "https://a.example/cb"}),
        )
        .await;
    env.advance_secs(601);
    let late = token_get(env, fresh["code"].as_str().unwrap(), s.shop_id).await;
    assert_eq!(late["error"], "invalid_code", "codes live 10 minutes");
}

#[tokio::test]
async fn refresh_rotates_single_use_and_old_token_has_grace() {
    let s = setup().await;
    let r1 = refresh(&s.env, &s.refresh, s.shop_id).await;
    assert_eq!(r1["error"], "", "{r1}");
    assert_eq!(r1["shop_id"], s.shop_id);
    assert_ne!(
        r1["refresh_token"],
        s.refresh.as_str(),
        "refresh tokens rotate"
    );
    let reuse = refresh(&s.env, &s.refresh, s.shop_id).await;
    assert_eq!(reuse["error"], "error_auth");
    assert_eq!(reuse["message"], "Invalid refresh_token.");
    // The old access token still works for five minutes, then stops.
    assert_eq!(s.get("/api/v2/shop/get_shop_info", "").await["error"], "");
    s.env.advance_secs(301);
    let old = s.get("/api/v2/shop/get_shop_info", "").await;
    assert_eq!(old["error"], "invalid_acceess_token");
    assert_eq!(old["message"], "Invalid access_token.");
    let new_token = r1["access_token"].as_str().unwrap();
    assert_eq!(
        s.get_with("/api/v2/shop/get_shop_info", new_token, "")
            .await
            .1["error"],
        ""
    );
    // Access tokens live four hours.
    s.env.advance_secs(4 * 3600);
    let expired = s
        .get_with("/api/v2/shop/get_shop_info", new_token, "")
        .await
        .1;
    assert_eq!(expired["message"], "Invalid access_token.");
}

#[tokio::test]
async fn wrong_shop_forced_expiry_and_deauthorization() {
    let s = setup().await;
    let other = s
        .env
        .control("POST", "/__sandbox/shops", json!({"name": "Other"}))
        .await;
    let other_id = other["shop_id"].as_u64().unwrap();
    let path = "/api/v2/shop/get_shop_info";
    let ts = s.env.now_secs();
    let url = s.env.url(&format!(
        "{path}?partner_id={PARTNER_ID}&timestamp={ts}&sign={}&access_token={}&shop_id={other_id}",
        doc_sign(path, ts, Some((&s.token, other_id))),
        s.token
    ));
    let v: Value = s
        .env
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"], "error_auth");
    assert_eq!(v["message"], "Invalid partner_id or shopid.");

    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/expire_tokens", s.shop_id),
            json!({}),
        )
        .await;
    assert_eq!(s.get(path, "").await["message"], "Invalid access_token.");
    let r = refresh(&s.env, &s.refresh, s.shop_id).await;
    assert_eq!(r["error"], "");
    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/deauthorize", s.shop_id),
            json!({}),
        )
        .await;
    let token = r["access_token"].as_str().unwrap();
    assert_eq!(
        s.get_with(path, token, "").await.1["error"],
        "invalid_acceess_token"
    );
}

#[tokio::test]
async fn batch_caps_and_time_window() {
    let s = setup().await;
    let list: Vec<Value> = (0..51)
        .map(|_| json!({"model_id": 0, "seller_stock": [{"stock": 1}]}))
        .collect();
    let (_, v) = s
        .post(
            "/api/v2/product/update_stock",
            json!({"item_id": s.item_id, "stock_list": list}),
        )
        .await;
    assert_eq!(v["error"], "error_param");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .starts_with("Wrong parameters, detail:"));
    let sns: Vec<String> = (0..51).map(|i| format!("SN{i}")).collect();
    let v = s
        .get(
            "/api/v2/order/get_order_detail",
            &format!("&order_sn_list={}", sns.join(",")),
        )
        .await;
    assert_eq!(v["error"], "error_param");

    let now = s.env.now_secs();
    let window = |from: i64| {
        format!("&time_range_field=create_time&time_from={from}&time_to={now}&page_size=100")
    };
    let v = s
        .get(
            "/api/v2/order/get_order_list",
            &window(now - 15 * 86_400 - 1),
        )
        .await;
    assert_eq!(v["error"], "error_param", "more than 15 days");
    let v = s
        .get("/api/v2/order/get_order_list", &window(now - 15 * 86_400))
        .await;
    assert_eq!(v["error"], "", "exactly 15 days is fine: {v}");
    let v = s
        .get(
            "/api/v2/product/get_item_list",
            "&offset=0&page_size=101&item_status=NORMAL",
        )
        .await;
    assert_eq!(v["error"], "error_param");
}

#[tokio::test]
async fn rate_limit_and_injected_server_errors() {
    let s = setup().await;
    s.env
        .control("PUT", "/__sandbox/faults", json!({"rate_limit_qps": 2}))
        .await;
    let path = "/api/v2/shop/get_shop_info";
    assert_eq!(s.get_with(path, &s.token, "").await.0, 200);
    assert_eq!(s.get_with(path, &s.token, "").await.0, 200);
    let (status, v) = s.get_with(path, &s.token, "").await;
    assert_eq!(status, 429);
    assert_eq!(v["error"], "rate_limit.exceed_shop_api");
    // Other APIs of the same shop have their own budget; a new second starts afresh.
    assert_eq!(
        s.get(
            "/api/v2/product/get_model_list",
            &format!("&item_id={}", s.item_id)
        )
        .await["error"],
        ""
    );
    s.env.advance_secs(1);
    assert_eq!(s.get_with(path, &s.token, "").await.0, 200);

    s.env
        .control("PUT", "/__sandbox/faults", json!({"error_rate": 1.0}))
        .await;
    let (status, v) = s.get_with(path, &s.token, "").await;
    assert_eq!(status, 500);
    assert_eq!(v["error"], "error_server");
    s.env.control("PUT", "/__sandbox/faults", json!({})).await;
    let calls = s.env.control("GET", "/__sandbox/calls", json!({})).await;
    assert!(
        calls["GET /api/v2/shop/get_shop_info"].as_u64().unwrap() >= 5,
        "{calls}"
    );
}

#[tokio::test]
async fn promotion_floor_refuses_stock_below_reserved() {
    let s = setup().await;
    s.env
        .control(
            "PUT",
            &format!("/__sandbox/shops/{}/reservations", s.shop_id),
            json!({"seller_sku": "TEE", "reserved": 5}),
        )
        .await;
    let upd = |n: i64| json!({"item_id": s.item_id, "stock_list": [{"model_id": 0, "seller_stock": [{"location_id": "SGZ", "stock": n}]}]});
    let (_, v) = s.post("/api/v2/product/update_stock", upd(3)).await;
    assert_eq!(v["error"], "error_busi_update_stock_failed", "{v}");
    assert_eq!(
        v["response"]["failure_list"][0]["failed_reason"],
        "Total stock must be more than reserved stock."
    );
    let (_, v) = s.post("/api/v2/product/update_stock", upd(5)).await;
    assert_eq!(v["error"], "");
    assert_eq!(v["response"]["success_list"][0]["stock"], 5);
    let listing = s
        .env
        .control(
            "GET",
            &format!("/__sandbox/shops/{}/listings", s.shop_id),
            json!({}),
        )
        .await;
    assert_eq!(listing[0]["total_stock"], 5);
}

#[tokio::test]
async fn buyers_only_buy_what_is_shown_and_sales_are_recorded() {
    let s = setup().await;
    s.env
        .control(
            "PUT",
            &format!("/__sandbox/shops/{}/buyers", s.shop_id),
            json!({"orders_per_sec": 500.0, "max_quantity": 3}),
        )
        .await;
    let sb = s.env.server.sandbox().clone();
    let shop_id = s.shop_id;
    wait_until(
        || {
            sb.listings(shop_id)
                .unwrap()
                .iter()
                .all(|l| l.total_stock == 0)
        },
        "buyers to empty every listing",
    )
    .await;
    sb.set_buyers(shop_id, Default::default()).unwrap();
    let sales = sb.sales();
    let per_sku = &sales[&shop_id];
    assert_eq!(per_sku["TEE"].units_net, 10);
    assert_eq!(per_sku["CAP-RED"].units_net, 4);
    assert!(
        !per_sku.contains_key("CAP-BLUE"),
        "nothing is sold from an empty listing"
    );
    let units: i64 = sb
        .orders(Some(shop_id))
        .iter()
        .flat_map(|o| o.lines.iter().map(|l| l.quantity))
        .sum();
    assert_eq!(units, 14);
    // A control-API order for more than is shown is refused.
    let v = s
        .env
        .control(
            "POST",
            &format!("/__sandbox/shops/{shop_id}/orders"),
            json!({"lines": [{"seller_sku": "TEE", "quantity": 1}]}),
        )
        .await;
    assert_eq!(v["error"]["code"], "out_of_stock");
}

#[tokio::test]
async fn order_flow_pushes_signed_webhooks_and_retries() {
    let s = setup().await;
    let hook = Receiver::start().await;
    let ts = s.env.now_secs();
    let path = "/api/v2/push/set_app_push_config";
    let v: Value = s
        .env
        .http
        .post(s.env.url(&format!(
            "{path}?partner_id={PARTNER_ID}&timestamp={ts}&sign={}",
            doc_sign(path, ts, None)
        )))
        .json(&json!({"callback_url": hook.url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"], "", "{v}");
    let order = s
        .env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "TEE", "quantity": 2}]}),
        )
        .await;
    let sn = order["order_id"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "READY_TO_SHIP");
    wait_until(|| !hook.bodies().is_empty(), "the order push").await;
    let (sig, body) = hook.bodies()[0].clone();
    assert_eq!(
        sig,
        hmac_hex(KEY, format!("{}|{}", hook.url, body).as_bytes())
    );
    let push: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(push["code"], 3);
    assert_eq!(push["shop_id"], s.shop_id);
    assert_eq!(push["data"]["ordersn"], sn.as_str());
    assert_eq!(push["data"]["status"], "READY_TO_SHIP");

    // Ship: PROCESSED with a tracking number, pushed as codes 3 and 4.
    let params = s
        .get(
            "/api/v2/logistics/get_shipping_parameter",
            &format!("&order_sn={sn}"),
        )
        .await;
    assert_eq!(params["response"]["info_needed"]["pickup"][0], "address_id");
    hook.status.store(500, std::sync::atomic::Ordering::SeqCst);
    let (_, v) = s
        .post(
            "/api/v2/logistics/ship_order",
            json!({"order_sn": sn, "pickup": {"address_id": 1, "pickup_time_id": "1"}}),
        )
        .await;
    assert_eq!(v["error"], "", "{v}");
    let t = s
        .get(
            "/api/v2/logistics/get_tracking_number",
            &format!("&order_sn={sn}"),
        )
        .await;
    assert!(t["response"]["tracking_number"]
        .as_str()
        .unwrap()
        .starts_with("SPXID"));
    let detail = s
        .get(
            "/api/v2/order/get_order_detail",
            &format!("&order_sn_list={sn}&response_optional_fields=item_list,total_amount"),
        )
        .await;
    let o = &detail["response"]["order_list"][0];
    assert_eq!(o["order_status"], "PROCESSED");
    assert_eq!(o["total_amount"], 25.0);
    assert_eq!(o["item_list"][0]["model_quantity_purchased"], 2);
    assert!(
        o.get("buyer_username").is_none(),
        "optional fields only on request"
    );

    // The receiver fails at first; the push is retried (time-scaled) until it answers 2xx.
    let sb = s.env.server.sandbox().clone();
    wait_until(
        || {
            sb.deliveries()
                .iter()
                .any(|d| d.attempt == 0 && d.status == Some(500))
        },
        "a failed push",
    )
    .await;
    hook.status.store(200, std::sync::atomic::Ordering::SeqCst);
    wait_until(
        || {
            sb.deliveries()
                .iter()
                .any(|d: &Delivery| d.attempt >= 1 && d.acknowledged)
        },
        "a successful retry",
    )
    .await;
}

// ---- fidelity round two: what clients written from the docs expect ------------------------------

#[tokio::test]
async fn an_expired_access_token_is_invalid_acceess_token() {
    let s = setup().await;
    s.env.advance_secs(4 * 3_600 + 1);
    let (status, v) = s.get_with("/api/v2/shop/get_shop_info", &s.token, "").await;
    assert_eq!(status, 200);
    // Shopee's own spelling, which public integrations key their refresh on.
    assert_eq!(v["error"], "invalid_acceess_token", "{v}");
    assert_eq!(v["message"], "Invalid access_token.");
}

#[tokio::test]
async fn an_unknown_partner_id_is_invalid_partner_id() {
    let s = setup().await;
    let ts = s.env.now_secs();
    let path = "/api/v2/auth/token/get";
    let v: Value = s
        .env
        .http
        .post(s.env.url(&format!(
            "{path}?partner_id=999&timestamp={ts}&sign={}",
            doc_sign(path, ts, None)
        )))
        .json(&json!({"code": "x", "partner_id": 999, "shop_id": s.shop_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"], "invalid_partner_id", "{v}");
}

#[tokio::test]
async fn shipping_an_unpaid_order_is_not_ready_to_ship() {
    let s = setup().await;
    let placed = s
        .env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "TEE", "quantity": 1}], "unpaid": true}),
        )
        .await;
    let sn = placed["order_id"].as_str().unwrap().to_owned();
    let (_, v) = s
        .post(
            "/api/v2/logistics/ship_order",
            json!({"order_sn": sn, "pickup": {"address_id": 1, "pickup_time_id": "1"}}),
        )
        .await;
    assert_eq!(
        v["error"], "logistics.shipping_order_real_ready_to_ship",
        "{v}"
    );
}

#[tokio::test]
async fn a_per_shop_rate_limit_is_on_by_default() {
    // 1,000 calls a minute per API (the one public figure), counted over a
    // sliding minute: a burst is fine, the 1,001st within the minute is not.
    let s = setup().await;
    let path = "/api/v2/shop/get_shop_info";
    for i in 0..1_000 {
        assert_eq!(s.get_with(path, &s.token, "").await.0, 200, "call {i}");
    }
    let (status, v) = s.get_with(path, &s.token, "").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (429, Some("rate_limit.exceed_shop_api"))
    );
    s.env.advance_secs(30);
    assert_eq!(
        s.get_with(path, &s.token, "").await.0,
        429,
        "the same minute"
    );
    s.env.advance_secs(31);
    assert_eq!(
        s.get_with(path, &s.token, "").await.0,
        200,
        "a minute later"
    );
    let faults = s.env.control("GET", "/__sandbox/faults", json!({})).await;
    assert_eq!(faults["rate_limit_off"], false, "{faults}");
}
