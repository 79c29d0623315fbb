//! Lazada sandbox: signing over query and form bodies, the ±7200 s window, exact error answers,
//! tokens with rotating refresh tokens, batch caps, the locked-stock floor, one order item per
//! unit, pack / ready-to-ship, and signed pushes with the 500 ms ack budget and retries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use storesync_sandbox::Marketplace;

use crate::common::{hmac_hex, wait_until, Env};

const APP_KEY: &str = "100001";
const SECRET: &str = "SECRETLAZ";

/// The signer straight from the docs: api name + sorted k+v (minus sign), HMAC-SHA256 keyed with
/// the secret, uppercase hex.
fn doc_sign(api: &str, params: &[(String, String)]) -> String {
    let mut p: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sign").collect();
    p.sort_by(|a, b| a.0.cmp(&b.0));
    let mut s = String::from(api);
    for (k, v) in p {
        s.push_str(k);
        s.push_str(v);
    }
    hmac_hex(SECRET, s.as_bytes()).to_ascii_uppercase()
}

/// Where a call puts its parameters.
#[derive(Clone, Copy, PartialEq)]
enum Carry {
    Query,
    Form,
    /// System parameters in the query, business parameters in the form body.
    Split,
}

struct Seller {
    env: Env,
    shop_id: u64,
    token: String,
    refresh: String,
}

fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Seller {
    fn now_ms(&self) -> i64 {
        use storesync_domain::Clock;
        self.env.clock.now().millis()
    }

    /// A raw call with every knob exposed.
    async fn raw(
        &self,
        carry: Carry,
        api: &str,
        system: Vec<(String, String)>,
        business: Vec<(String, String)>,
        sign: Option<String>,
    ) -> Value {
        let mut all = system.clone();
        all.extend(business.iter().cloned());
        let sign = sign.unwrap_or_else(|| doc_sign(api, &all));
        let mut system = system;
        system.push(("sign".to_owned(), sign));
        let enc = |p: &[(String, String)]| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(p.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .finish()
        };
        let url = |q: &str| self.env.url(&format!("/rest{api}?{q}"));
        let req = match carry {
            Carry::Query => {
                let mut p = system;
                p.extend(business);
                self.env.http.get(url(&enc(&p)))
            }
            Carry::Form => {
                let mut p = system;
                p.extend(business);
                self.env
                    .http
                    .post(self.env.url(&format!("/rest{api}")))
                    .header(
                        "content-type",
                        "application/x-www-form-urlencoded;charset=utf-8",
                    )
                    .body(enc(&p))
            }
            Carry::Split => self
                .env
                .http
                .post(url(&enc(&system)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(enc(&business)),
        };
        req.send().await.unwrap().json().await.unwrap()
    }

    fn system(&self, ts: String, token: Option<&str>) -> Vec<(String, String)> {
        let mut s = owned(&[("app_key", APP_KEY), ("sign_method", "sha256")]);
        s.push(("timestamp".to_owned(), ts));
        if let Some(t) = token {
            s.push(("access_token".to_owned(), t.to_owned()));
        }
        s
    }

    async fn call(&self, carry: Carry, api: &str, business: &[(&str, &str)]) -> Value {
        let system = self.system(self.now_ms().to_string(), Some(&self.token));
        self.raw(carry, api, system, owned(business), None).await
    }

    async fn auth(&self, api: &str, business: &[(&str, &str)]) -> Value {
        let system = self.system(self.now_ms().to_string(), None);
        self.raw(Carry::Form, api, system, owned(business), None)
            .await
    }
}

async fn setup() -> Seller {
    let env = Env::start(Marketplace::Lazada).await;
    let shop = env
        .control(
            "POST",
            "/__sandbox/shops",
            json!({"name": "Merlion", "region": "SG", "products": [
                {"name": "Tee", "variants": [
                    {"seller_sku": "TEE-M", "price": "19.90", "stock": 10},
                    {"seller_sku": "TEE-L", "price": "21.50", "stock": 4}]}]}),
        )
        .await;
    let shop_id = shop["shop_id"].as_u64().unwrap();
    let auth = env
        .control(
            "POST",
            "/__sandbox/authorize",
            json!({"shop_id": shop_id, "redirect": "https://app.example/cb", "state": "s1"}),
        )
        .await;
    assert!(auth["redirect_url"]
        .as_str()
        .unwrap()
        .starts_with("https://app.example/cb?code="));
    let mut seller = Seller {
        env,
        shop_id,
        token: String::new(),
        refresh: String::new(),
    };
    let code = auth["code"].as_str().unwrap().to_owned();
    let tok = seller.auth("/auth/token/create", &[("code", &code)]).await;
    assert_eq!(tok["code"], "0", "{tok}");
    seller.token = tok["access_token"].as_str().unwrap().to_owned();
    seller.refresh = tok["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(tok["expires_in"], 7 * 86_400);
    assert_eq!(tok["refresh_expires_in"], 30 * 86_400);
    assert_eq!(
        tok["country_user_info"][0]["seller_id"],
        shop_id.to_string()
    );
    seller
}

fn sku_of(products: &Value, seller_sku: &str) -> (u64, u64) {
    for p in products.as_array().unwrap() {
        for s in p["skus"].as_array().unwrap() {
            if s["SellerSku"] == seller_sku {
                return (p["item_id"].as_u64().unwrap(), s["SkuId"].as_u64().unwrap());
            }
        }
    }
    panic!("{seller_sku} not listed");
}

#[tokio::test]
async fn query_form_and_split_parameters_are_all_verified() {
    let s = setup().await;
    for carry in [Carry::Query, Carry::Form, Carry::Split] {
        let r = s
            .call(
                carry,
                "/products/get",
                &[("filter", "all"), ("limit", "10")],
            )
            .await;
        assert_eq!(r["code"], "0", "{r}");
        assert_eq!(r["data"]["total_products"], 1);
        assert_eq!(r["data"]["products"][0]["skus"][0]["SellerSku"], "TEE-M");
        assert!(r["request_id"].as_str().unwrap().len() >= 20);
    }
    // An ISO timestamp is accepted too.
    let iso = time::OffsetDateTime::from_unix_timestamp(s.env.now_secs())
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = s
        .raw(
            Carry::Query,
            "/seller/get",
            s.system(iso, Some(&s.token)),
            vec![],
            None,
        )
        .await;
    assert_eq!(r["data"]["seller_id"], s.shop_id, "{r}");
}

#[tokio::test]
async fn signature_timestamp_and_parameter_errors_are_lazadas() {
    let s = setup().await;
    let now = s.now_ms();
    // Tampered signature.
    let r = s
        .raw(
            Carry::Query,
            "/seller/get",
            s.system(now.to_string(), Some(&s.token)),
            vec![],
            Some("0".repeat(64)),
        )
        .await;
    assert_eq!(r["type"], "ISV");
    assert_eq!(r["code"], "IncompleteSignature");
    // Signed over another API name (with /rest) is wrong too.
    let sys = s.system(now.to_string(), Some(&s.token));
    let wrong = doc_sign("/rest/seller/get", &sys);
    let r = s
        .raw(Carry::Query, "/seller/get", sys, vec![], Some(wrong))
        .await;
    assert_eq!(r["code"], "IncompleteSignature");
    // Lowercase hex is accepted.
    let sys = s.system(now.to_string(), Some(&s.token));
    let lower = doc_sign("/seller/get", &sys).to_ascii_lowercase();
    let r = s
        .raw(Carry::Query, "/seller/get", sys, vec![], Some(lower))
        .await;
    assert_eq!(r["code"], "0");
    // Missing sign: the exact message of the fact sheet.
    let url = s.env.url(&format!(
        "/rest/seller/get?app_key={APP_KEY}&timestamp={now}&sign_method=sha256&access_token={}",
        s.token
    ));
    let r: Value = s
        .env
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["code"], "MissingParameter");
    assert_eq!(
        r["message"],
        "The input parameter \u{201c}sign\u{201d} that is mandatory for processing this request is not supplied"
    );
    // The ±7200 s window.
    for (skew, ok) in [
        (7_200, true),
        (-7_200, true),
        (7_201, false),
        (-7_201, false),
    ] {
        let sys = s.system((now + skew * 1000).to_string(), Some(&s.token));
        let r = s.raw(Carry::Query, "/seller/get", sys, vec![], None).await;
        assert_eq!(r["code"] == "0", ok, "skew {skew}: {r}");
        if !ok {
            assert_eq!(r["code"], "InvalidTimestamp");
        }
    }
    // Unknown API.
    let r = s.call(Carry::Query, "/nothing/here", &[]).await;
    assert_eq!(r["code"], "InvalidApiPath");
    // Wrong token.
    let sys = s.system(now.to_string(), Some("50000nope"));
    let r = s.raw(Carry::Query, "/seller/get", sys, vec![], None).await;
    assert_eq!(r["code"], "IllegalAccessToken");
    assert_eq!(
        r["message"],
        "The specified access token is invalid or expired"
    );
}

#[tokio::test]
async fn tokens_expire_and_refresh_tokens_rotate_with_a_fixed_end() {
    let mut s = setup().await;
    s.env.advance_secs(7 * 86_400 + 1);
    let r = s.call(Carry::Query, "/seller/get", &[]).await;
    assert_eq!(r["code"], "IllegalAccessToken");
    let old = s.refresh.clone();
    let r = s
        .auth("/auth/token/refresh", &[("refresh_token", &old)])
        .await;
    assert_eq!(r["code"], "0", "{r}");
    assert_eq!(
        r["country_user_info_list"][0]["seller_id"],
        s.shop_id.to_string()
    );
    assert_eq!(
        r["refresh_expires_in"],
        30 * 86_400 - 7 * 86_400 - 1,
        "not extended"
    );
    assert_ne!(r["refresh_token"], old.as_str());
    s.token = r["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.call(Carry::Query, "/seller/get", &[]).await["code"], "0");
    // The old refresh token is single use.
    let again = s
        .auth("/auth/token/refresh", &[("refresh_token", &old)])
        .await;
    assert_eq!(again["code"], "IllegalRefreshToken");
    // A bad code.
    let bad = s
        .auth("/auth/token/create", &[("code", "0_100001_nope")])
        .await;
    assert_eq!(bad["code"], "InvalidCode");
    assert_eq!(bad["message"], "Invalid authorization code");
}

#[tokio::test]
async fn batch_caps_and_the_rate_limit_answer() {
    let s = setup().await;
    let skus = "<Sku><SkuId>1</SkuId><SellableQuantity>1</SellableQuantity></Sku>".repeat(51);
    let payload = format!("<Request><Product><Skus>{skus}</Skus></Product></Request>");
    let r = s
        .call(
            Carry::Form,
            "/product/stock/sellable/update",
            &[("payload", &payload)],
        )
        .await;
    assert_eq!(r["code"], "E204", "{r}");
    let ids: Vec<String> = (1..=51).map(|i| i.to_string()).collect();
    let list = format!("[{}]", ids.join(","));
    let r = s
        .call(Carry::Query, "/orders/items/get", &[("order_ids", &list)])
        .await;
    assert_eq!(r["code"], "E038");
    let r = s
        .call(Carry::Query, "/orders/items/get", &[("order_ids", "1,2")])
        .await;
    assert_eq!(r["code"], "E056");
    let r = s
        .call(
            Carry::Query,
            "/products/get",
            &[("filter", "all"), ("limit", "51")],
        )
        .await;
    assert_eq!(r["code"], "InvalidParameter");
    let r = s
        .call(
            Carry::Query,
            "/orders/get",
            &[
                ("created_after", "2024-01-01T00:00:00+08:00"),
                ("limit", "101"),
            ],
        )
        .await;
    assert_eq!(r["code"], "E019");
    let r = s
        .call(
            Carry::Query,
            "/orders/get",
            &[("created_after", "yesterday")],
        )
        .await;
    assert_eq!(r["code"], "E017");

    s.env
        .control("PUT", "/__sandbox/faults", json!({"rate_limit_qps": 1}))
        .await;
    assert_eq!(s.call(Carry::Query, "/seller/get", &[]).await["code"], "0");
    let r = s.call(Carry::Query, "/seller/get", &[]).await;
    assert_eq!(r["type"], "ISV");
    assert_eq!(r["code"], "ApiCallLimit");
    assert_eq!(
        r["message"],
        "Api access frequency exceeds the limit. this ban will last 1 seconds."
    );
}

#[tokio::test]
async fn stock_writes_respect_withhold_occupy_and_campaign() {
    let s = setup().await;
    let order = s
        .env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "TEE-M", "quantity": 2}]}),
        )
        .await;
    assert_eq!(order["status"], "pending");
    s.env
        .control(
            "PUT",
            &format!("/__sandbox/shops/{}/reservations", s.shop_id),
            json!({"seller_sku": "TEE-M", "reserved": 3}),
        )
        .await;
    let products = s
        .call(Carry::Query, "/products/get", &[("filter", "live")])
        .await;
    let sku = &products["data"]["products"][0]["skus"][0];
    assert_eq!(sku["Available"], 8);
    assert_eq!(sku["quantity"], 10);
    assert_eq!(sku["multiWarehouseInventories"][0]["occupyQuantity"], 2);
    assert_eq!(sku["multiWarehouseInventories"][0]["sellableQuantity"], 8);
    let (item, sku_id) = sku_of(&products["data"]["products"], "TEE-M");

    let write = |tag: &str, n: i64| {
        format!("<Request><Product><Skus><Sku><ItemId>{item}</ItemId><SkuId>{sku_id}</SkuId><{tag}>{n}</{tag}></Sku></Skus></Product></Request>")
    };
    // Real quantity 4 < occupy 2 + campaign 3: refused with a per-SKU detail.
    let r = s
        .call(
            Carry::Form,
            "/product/price_quantity/update",
            &[("payload", &write("Quantity", 4))],
        )
        .await;
    assert_eq!(r["code"], "E501", "{r}");
    assert_eq!(r["detail"][0]["sku_id"], sku_id.to_string());
    assert!(r["detail"][0]["message"]
        .as_str()
        .unwrap()
        .contains("locked stock 5"));
    // Real quantity 7: sellable becomes 7 - 2 occupied = 5.
    let r = s
        .call(
            Carry::Form,
            "/product/price_quantity/update",
            &[("payload", &write("Quantity", 7))],
        )
        .await;
    assert_eq!(r["code"], "0", "{r}");
    let listing = s
        .env
        .control(
            "GET",
            &format!("/__sandbox/shops/{}/listings", s.shop_id),
            json!({}),
        )
        .await;
    let tee = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["seller_sku"] == "TEE-M")
        .unwrap();
    assert_eq!(tee["total_stock"], 5);
    // Sellable below the campaign's 3 is refused; 3 itself is fine.
    let r = s
        .call(
            Carry::Split,
            "/product/stock/sellable/update",
            &[("payload", &write("SellableQuantity", 2))],
        )
        .await;
    assert_eq!(r["code"], "E501");
    let r = s
        .call(
            Carry::Split,
            "/product/stock/sellable/update",
            &[("payload", &write("SellableQuantity", 3))],
        )
        .await;
    assert_eq!(r["code"], "0", "{r}");
    // Unknown SKU and malformed payloads.
    let r = s
        .call(Carry::Form, "/product/stock/sellable/update", &[("payload", "<Request><Product><Skus><Sku><SkuId>1</SkuId><SellableQuantity>1</SellableQuantity></Sku></Skus></Product></Request>")])
        .await;
    assert_eq!(r["detail"][0]["code"], "E207");
    let r = s
        .call(
            Carry::Form,
            "/product/stock/sellable/update",
            &[("payload", "nonsense")],
        )
        .await;
    assert_eq!(r["code"], "E005");
}

#[tokio::test]
async fn order_items_are_units_and_pack_then_rts_moves_them() {
    let s = setup().await;
    let order = s
        .env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "TEE-M", "quantity": 3}, {"seller_sku": "TEE-L"}]}),
        )
        .await;
    let id = order["order_id"].as_str().unwrap().to_owned();
    let items = s
        .call(Carry::Query, "/order/items/get", &[("order_id", &id)])
        .await;
    let items = items["data"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4, "one order item per unit");
    assert!(items
        .iter()
        .all(|i| i["status"] == "pending" && i["package_id"] == ""));
    let header = s
        .call(Carry::Query, "/order/get", &[("order_id", &id)])
        .await;
    assert_eq!(header["data"]["statuses"], json!(["pending"]));
    assert!(header["data"]["created_at"]
        .as_str()
        .unwrap()
        .ends_with("+0800"));

    let item_ids: Vec<Value> = items.iter().map(|i| i["order_item_id"].clone()).collect();
    let pack_req = json!({"pack_order_list": [{"order_id": id, "order_item_list": item_ids}],
                          "delivery_type": "dropship", "shipping_allocate_type": "TFS"})
    .to_string();
    let r = s
        .call(
            Carry::Form,
            "/order/fulfill/pack",
            &[("packReq", &pack_req)],
        )
        .await;
    assert_eq!(r["code"], "0", "{r}");
    assert_eq!(r["result"]["success"], true);
    let packed = &r["result"]["data"]["pack_order_list"][0]["order_item_list"][0];
    assert_eq!(packed["item_err_code"], "0");
    let package = packed["package_id"].as_str().unwrap().to_owned();
    assert!(package.starts_with("FP"));
    assert!(packed["tracking_number"]
        .as_str()
        .unwrap()
        .starts_with("LXAD"));
    // Packing again: per-item error, the call itself succeeds.
    let r = s
        .call(
            Carry::Form,
            "/order/fulfill/pack",
            &[("packReq", &pack_req)],
        )
        .await;
    assert_ne!(
        r["result"]["data"]["pack_order_list"][0]["order_item_list"][0]["item_err_code"],
        "0"
    );

    let rts = json!({"packages": [{"package_id": package}]}).to_string();
    let r = s
        .call(
            Carry::Form,
            "/order/package/rts",
            &[("readyToShipReq", &rts)],
        )
        .await;
    assert_eq!(
        r["result"]["data"]["packages"][0]["item_err_code"], "0",
        "{r}"
    );
    let items = s
        .call(Carry::Query, "/order/items/get", &[("order_id", &id)])
        .await;
    assert!(items["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "ready_to_ship"));
    let multi = s
        .call(
            Carry::Query,
            "/orders/items/get",
            &[("order_ids", &format!("[{id},1]"))],
        )
        .await;
    assert_eq!(multi["data"].as_array().unwrap().len(), 1);
    let r = s
        .call(
            Carry::Query,
            "/orders/get",
            &[
                ("created_after", "2000-01-01T00:00:00+08:00"),
                ("status", "ready_to_ship"),
            ],
        )
        .await;
    assert_eq!(r["data"]["countTotal"], 1);
    let r = s
        .call(
            Carry::Query,
            "/orders/get",
            &[
                ("created_after", "2000-01-01T00:00:00+08:00"),
                ("status", "pending"),
            ],
        )
        .await;
    assert_eq!(r["data"]["countTotal"], 0);
}

// ---- partial fulfilment and partial cancellation ---------------------------------------------

impl Seller {
    async fn place(&self, order: Value) -> String {
        let o = self
            .env
            .control(
                "POST",
                &format!("/__sandbox/shops/{}/orders", self.shop_id),
                order,
            )
            .await;
        o["order_id"].as_str().unwrap().to_owned()
    }

    async fn items(&self, order_id: &str) -> Vec<Value> {
        let r = self
            .call(Carry::Query, "/order/items/get", &[("order_id", order_id)])
            .await;
        assert_eq!(r["code"], "0", "{r}");
        r["data"].as_array().unwrap().clone()
    }

    /// Item ids of one seller SKU in an order.
    async fn item_ids(&self, order_id: &str, seller_sku: &str) -> Vec<u64> {
        self.items(order_id)
            .await
            .iter()
            .filter(|i| i["sku"] == seller_sku)
            .map(|i| i["order_item_id"].as_u64().unwrap())
            .collect()
    }

    async fn pack(&self, order_id: &str, items: &[u64]) -> Value {
        let req = json!({"pack_order_list": [{"order_id": order_id, "order_item_list": items}],
                         "delivery_type": "dropship", "shipping_allocate_type": "TFS"})
        .to_string();
        let r = self
            .call(Carry::Form, "/order/fulfill/pack", &[("packReq", &req)])
            .await;
        assert_eq!(r["code"], "0", "{r}");
        r["result"]["data"]["pack_order_list"][0]["order_item_list"].clone()
    }

    async fn rts(&self, package_id: &str) -> Value {
        let req = json!({"packages": [{"package_id": package_id}]}).to_string();
        let r = self
            .call(
                Carry::Form,
                "/order/package/rts",
                &[("readyToShipReq", &req)],
            )
            .await;
        assert_eq!(r["code"], "0", "{r}");
        r["result"]["data"]["packages"][0].clone()
    }

    /// Validates, then creates a cancellation of `items` (reason "Out of stock").
    async fn cancel(&self, order_id: &str, items: &[u64]) -> Value {
        let list = format!(
            "[{}]",
            items
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let params = [
            ("order_id", order_id),
            ("order_item_id_list", list.as_str()),
        ];
        let v = self
            .call(Carry::Query, "/order/reverse/cancel/validate", &params)
            .await;
        if v["code"] != "0" {
            return v;
        }
        assert_eq!(v["data"]["reason_options"][0]["reason_id"], "10000");
        self.call(
            Carry::Query,
            "/order/reverse/cancel/create",
            &[
                ("order_id", order_id),
                ("order_item_id_list", list.as_str()),
                ("reason_id", "10000"),
            ],
        )
        .await
    }

    fn stock(&self, seller_sku: &str) -> i64 {
        self.env
            .server
            .sandbox()
            .listing(self.shop_id, seller_sku)
            .unwrap()
            .total_stock
    }

    fn order_status(&self, order_id: &str) -> String {
        self.env.server.sandbox().order(order_id).unwrap().status
    }

    async fn statuses(&self, order_id: &str) -> Value {
        let h = self
            .call(Carry::Query, "/order/get", &[("order_id", order_id)])
            .await;
        h["data"]["statuses"].clone()
    }
}

/// Status, package id and tracking code of one item.
fn item_state(items: &[Value], id: u64) -> (String, String, String) {
    let i = items
        .iter()
        .find(|i| i["order_item_id"].as_u64() == Some(id))
        .unwrap();
    (
        i["status"].as_str().unwrap().to_owned(),
        i["package_id"].as_str().unwrap().to_owned(),
        i["tracking_code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn some_items_pack_into_packages_of_their_own_made_ready_one_at_a_time() {
    let s = setup().await;
    let id = s
        .place(json!({"lines": [{"seller_sku": "TEE-M", "quantity": 3}, {"seller_sku": "TEE-L"}]}))
        .await;
    let placed_package = s.env.server.sandbox().order(&id).unwrap().package_id;
    let m = s.item_ids(&id, "TEE-M").await;
    let l = s.item_ids(&id, "TEE-L").await;
    assert_eq!((m.len(), l.len()), (3, 1));

    // Two of the three units go into a first package: the order's own package id.
    let r = s.pack(&id, &m[..2]).await;
    assert!(r
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["item_err_code"] == "0"));
    let p1 = r[0]["package_id"].as_str().unwrap().to_owned();
    let t1 = r[0]["tracking_number"].as_str().unwrap().to_owned();
    assert_eq!(p1, placed_package);
    assert_eq!(r[1]["package_id"], p1.as_str());
    let items = s.items(&id).await;
    assert_eq!(
        item_state(&items, m[0]),
        ("packed".into(), p1.clone(), t1.clone())
    );
    assert_eq!(
        item_state(&items, m[2]),
        ("pending".into(), String::new(), String::new())
    );
    assert_eq!(s.statuses(&id).await, json!(["packed", "pending"]));
    assert_eq!(s.order_status(&id), "pending", "items wait to be packed");

    // An item already packed is refused per item; the pending one gets a second package.
    let r = s.pack(&id, &[m[1], m[2]]).await;
    assert_eq!(r[0]["item_err_code"], "ITEM_STATUS_INVALID");
    assert!(r[0]["msg"].as_str().unwrap().contains("packed"));
    assert_eq!(r[1]["item_err_code"], "0");
    let p2 = r[1]["package_id"].as_str().unwrap().to_owned();
    let t2 = r[1]["tracking_number"].as_str().unwrap().to_owned();
    assert_ne!(p2, p1);
    assert_ne!(t2, t1);
    assert!(p2.starts_with("FP") && t2.starts_with("LXAD"));

    // The first package alone is made ready to ship.
    assert_eq!(s.rts(&p1).await["item_err_code"], "0");
    let items = s.items(&id).await;
    assert_eq!(item_state(&items, m[1]).0, "ready_to_ship");
    assert_eq!(
        item_state(&items, m[2]),
        ("packed".into(), p2.clone(), t2.clone())
    );
    assert_eq!(s.order_status(&id), "pending");

    // Once every item is packed the order is packed; once every package is ready, ready to ship.
    let r = s.pack(&id, &l).await;
    let p3 = r[0]["package_id"].as_str().unwrap().to_owned();
    assert_ne!(p3, p2);
    assert_eq!(s.order_status(&id), "packed");
    assert_eq!(s.rts(&p2).await["item_err_code"], "0");
    assert_eq!(s.order_status(&id), "packed");
    assert_eq!(s.rts(&p3).await["item_err_code"], "0");
    assert_eq!(s.order_status(&id), "ready_to_ship");
    assert_eq!(s.statuses(&id).await, json!(["ready_to_ship"]));
    assert_eq!(s.rts(&p1).await["item_err_code"], "PACKAGE_STATUS_INVALID");
    let items = s.items(&id).await;
    let packages: std::collections::BTreeSet<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["package_id"].as_str().unwrap().to_owned(),
                i["tracking_code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(packages.len(), 3, "three packages, three tracking numbers");
    let r = s
        .call(
            Carry::Query,
            "/orders/get",
            &[
                ("created_after", "2000-01-01T00:00:00+08:00"),
                ("status", "ready_to_ship"),
            ],
        )
        .await;
    assert_eq!(r["data"]["countTotal"], 1);
}

#[tokio::test]
async fn cancelling_some_items_puts_their_units_back_and_the_rest_goes_on() {
    let s = setup().await;
    let id = s
        .place(json!({"lines": [{"seller_sku": "TEE-M", "quantity": 3}, {"seller_sku": "TEE-L"}]}))
        .await;
    assert_eq!((s.stock("TEE-M"), s.stock("TEE-L")), (7, 3));
    let m = s.item_ids(&id, "TEE-M").await;
    let l = s.item_ids(&id, "TEE-L").await;

    let r = s.cancel(&id, &m[..2]).await;
    assert_eq!(r["code"], "0", "{r}");
    assert_eq!(s.stock("TEE-M"), 9, "two units back on the listing");
    assert_eq!(s.stock("TEE-L"), 3);
    assert_eq!(
        s.order_status(&id),
        "pending",
        "the rest of the order goes on"
    );
    assert_eq!(s.statuses(&id).await, json!(["canceled", "pending"]));
    let items = s.items(&id).await;
    let cancelled = items
        .iter()
        .find(|i| i["order_item_id"].as_u64() == Some(m[0]))
        .unwrap();
    assert_eq!(cancelled["status"], "canceled");
    assert_eq!(cancelled["reason"], "Out of stock");
    assert_eq!(cancelled["cancel_return_initiator"], "cancellation-seller");
    assert_eq!(item_state(&items, m[2]).0, "pending");
    // Only the live unit is still occupied.
    let products = s
        .call(Carry::Query, "/products/get", &[("filter", "all")])
        .await;
    let tee_m = products["data"]["products"][0]["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["SellerSku"] == "TEE-M")
        .unwrap()
        .clone();
    assert_eq!(tee_m["multiWarehouseInventories"][0]["occupyQuantity"], 1);
    assert_eq!(tee_m["Available"], 9);

    // A cancelled item cannot be cancelled again.
    let r = s.cancel(&id, &[m[0]]).await;
    assert_eq!(r["code"], "CancelNotAllowed", "{r}");
    assert_eq!(s.stock("TEE-M"), 9);

    // A packed item can be cancelled: it leaves its package, which is then gone.
    let packed = s.pack(&id, &[m[2]]).await;
    let package = packed[0]["package_id"].as_str().unwrap().to_owned();
    assert_eq!(s.cancel(&id, &[m[2]]).await["code"], "0");
    assert_eq!(s.stock("TEE-M"), 10);
    assert_eq!(s.rts(&package).await["item_err_code"], "PACKAGE_NOT_FOUND");
    assert_eq!(s.order_status(&id), "pending");

    // The last live item cancelled: the order is cancelled, every unit is back.
    assert_eq!(s.cancel(&id, &l).await["code"], "0");
    assert_eq!(s.order_status(&id), "canceled");
    assert_eq!((s.stock("TEE-M"), s.stock("TEE-L")), (10, 4));
    assert_eq!(s.statuses(&id).await, json!(["canceled"]));
    let sales = s.env.server.sandbox().sales()[&s.shop_id].clone();
    assert_eq!(sales["TEE-M"].units_cancelled, 3);
    assert_eq!(sales["TEE-L"].units_cancelled, 1);
    assert_eq!(sales["TEE-M"].units_net, 0);

    // Items of a package made ready to ship can no longer be cancelled.
    let id = s
        .place(json!({"lines": [{"seller_sku": "TEE-L", "quantity": 2}]}))
        .await;
    let l = s.item_ids(&id, "TEE-L").await;
    let packed = s.pack(&id, &l[..1]).await;
    s.rts(packed[0]["package_id"].as_str().unwrap()).await;
    let r = s.cancel(&id, &l).await;
    assert_eq!(r["code"], "CancelNotAllowed", "{r}");
    assert!(r["message"].as_str().unwrap().contains("ready_to_ship"));
    assert_eq!(s.stock("TEE-L"), 2, "nothing was cancelled");
    assert_eq!(s.cancel(&id, &l[1..]).await["code"], "0");
    assert_eq!(s.stock("TEE-L"), 3);
    assert_eq!(
        s.order_status(&id),
        "ready_to_ship",
        "the one live package is ready"
    );
}

// ---- pushes -----------------------------------------------------------------------------------

#[derive(Clone)]
struct SlowReceiver {
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    delay_ms: Arc<AtomicU64>,
}

async fn slow(State(r): State<SlowReceiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.hits.lock().unwrap().push((headers, body));
    let d = r.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(d)).await;
    StatusCode::OK
}

async fn slow_receiver(delay_ms: u64) -> (SlowReceiver, String) {
    let r = SlowReceiver {
        hits: Arc::new(Mutex::new(Vec::new())),
        delay_ms: Arc::new(AtomicU64::new(delay_ms)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/push", post(slow))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

#[tokio::test]
async fn pushes_are_signed_per_item_and_a_slow_ack_is_retried() {
    let s = setup().await;
    let (recv, url) = slow_receiver(800).await;
    s.env
        .control("PUT", "/__sandbox/app", json!({"push_url": url}))
        .await;
    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "TEE-L", "quantity": 1}]}),
        )
        .await;
    // The first attempt takes 800 ms: past the 500 ms budget, so it is not acknowledged.
    let sb = s.env.server.sandbox().clone();
    wait_until(
        || {
            sb.deliveries()
                .iter()
                .any(|d| d.attempt == 0 && !d.acknowledged)
        },
        "a timed-out first attempt",
    )
    .await;
    recv.delay_ms.store(0, Ordering::SeqCst);
    wait_until(
        || {
            sb.deliveries()
                .iter()
                .any(|d| d.attempt >= 1 && d.acknowledged)
        },
        "an acknowledged retry",
    )
    .await;
    let (headers, body) = recv.hits.lock().unwrap()[0].clone();
    let sig = headers["authorization"].to_str().unwrap();
    let mut msg = APP_KEY.as_bytes().to_vec();
    msg.extend_from_slice(&body);
    assert_eq!(sig, hmac_hex(SECRET, &msg));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["message_type"], 0);
    assert_eq!(v["seller_id"], s.shop_id.to_string());
    assert_eq!(v["site"], "lazada_sg");
    assert_eq!(v["data"]["order_status"], "pending");
    assert!(v["data"]["trade_order_line_id"].is_string());
}

#[tokio::test]
async fn an_unanswered_push_is_retried_twelve_times() {
    let s = setup().await;
    s.env
        .control(
            "PUT",
            "/__sandbox/app",
            json!({"push_url": "http://127.0.0.1:9/closed"}),
        )
        .await;
    s.env
        .control(
            "POST",
            &format!("/__sandbox/shops/{}/orders", s.shop_id),
            json!({"lines": [{"seller_sku": "TEE-L", "quantity": 1}]}),
        )
        .await;
    let sb = s.env.server.sandbox().clone();
    wait_until(|| sb.deliveries().len() >= 13, "13 attempts").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let attempts: Vec<u32> = sb.deliveries().iter().map(|d| d.attempt).collect();
    assert_eq!(
        attempts,
        (0..=12).collect::<Vec<_>>(),
        "first try plus 12 retries"
    );
}

#[tokio::test]
async fn api_call_limit_and_its_ban_are_on_by_default() {
    let s = setup().await;
    for i in 0..30 {
        assert_eq!(
            s.call(Carry::Query, "/seller/get", &[]).await["code"],
            "0",
            "call {i}"
        );
    }
    let r = s.call(Carry::Query, "/seller/get", &[]).await;
    assert_eq!(r["code"], "ApiCallLimit", "{r}");
    // The ban refuses the API for its length, even once the second that overflowed is over.
    s.env.advance_ms(999);
    assert_eq!(
        s.call(Carry::Query, "/seller/get", &[]).await["code"],
        "ApiCallLimit"
    );
    s.env.advance_ms(2);
    assert_eq!(s.call(Carry::Query, "/seller/get", &[]).await["code"], "0");
    // A longer ban is named in the message.
    s.env
        .control(
            "PUT",
            "/__sandbox/faults",
            json!({"rate_limit_qps": 1, "rate_limit_ban_secs": 3}),
        )
        .await;
    s.env.advance_ms(1_000);
    s.call(Carry::Query, "/seller/get", &[]).await;
    let r = s.call(Carry::Query, "/seller/get", &[]).await;
    assert_eq!(
        r["message"],
        "Api access frequency exceeds the limit. this ban will last 3 seconds."
    );
}
