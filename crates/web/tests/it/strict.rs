//! Input and response strictness (issue 11, items 4, 5 and 8): bounded
//! quantities with the reports still answering, CSV cells that cannot run
//! as formulas, objects only where objects are expected, JSON errors from
//! every route, no NUL or invisible characters stored, security headers on
//! pages, and the member list shown to the same role as the API's.

use storesync_store::backend_test;
use storesync_web::WebConfig;

use super::ui::Browser;
use super::*;

fn fields(r: &Reply) -> Vec<String> {
    r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {}", r.body))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

/// The inventory page and its CSV export, as a signed-in browser sees them.
async fn reports(app: &TestApp, t: &Tenant) -> String {
    let mut b = Browser::new(&app.base);
    b.sign_in(&t.email, &t.password).await;
    let (status, _, _) = b.get("/inventory").await;
    assert_eq!(status, StatusCode::OK, "inventory page");
    let (status, _, _) = b.get("/").await;
    assert_eq!(status, StatusCode::OK, "overview");
    let (status, _, csv) = b.get("/inventory/export.csv").await;
    assert_eq!(status, StatusCode::OK, "CSV export");
    csv
}

backend_test! {
    async fn the_unbounded_set_probe_is_refused_and_reports_still_answer(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        app.product_with_stock(&t, &["KAOS-M"], 5).await;
        // The exact probe of the review: 200 before, and then 500s.
        let r = app.post(&t, "/api/v1/inventory/adjustments", json!({"sku":"KAOS-M","set":9223372036854775807_i64,"reason":"probe"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(fields(&r), ["set"]);
        // Every edge, either way, then the reports.
        for (key, n) in [("delta", i64::MAX), ("delta", i64::MIN), ("set", -1), ("set", 1_000_000_001), ("delta", 1_000_000_000)] {
            let mut body = json!({"sku":"KAOS-M","reason":"probe"});
            body[key] = json!(n);
            let r = app.post(&t, "/api/v1/inventory/adjustments", body).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{key}={n}: {}", r.body);
            assert_eq!(fields(&r), [key], "{key}={n}");
        }
        let r = app.post(&t, "/api/v1/inventory/adjustments", json!({"sku":"KAOS-M","set":1_000_000_000,"reason":"the most there may be"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = app.get(&t, "/api/v1/inventory?sku=KAOS-M").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["totals"]["on_hand"], 1_000_000_000);
        let csv = reports(&app, &t).await;
        assert!(csv.contains("KAOS-M,Kaos polos,,main,1000000000,0,1000000000"), "{csv}");
    }
}

backend_test! {
    async fn csv_export_neutralises_formulas(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let r = app.post(&t, "/api/v1/products", json!({
            "name": "=HYPERLINK(\"http://evil.test\",\"click\")",
            "variants": [{ "sku": "=1+2", "name": "@cmd", "price": { "amount": 1, "currency": "IDR" } }],
        })).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let csv = reports(&app, &t).await;
        let row = csv.lines().find(|l| l.contains("=1+2")).unwrap_or_else(|| panic!("{csv}"));
        assert_eq!(row, "'=1+2,\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"click\"\")\",'@cmd,,0,0,0");
    }
}

backend_test! {
    async fn json_arrays_are_refused_where_objects_are_expected(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        app.product_with_stock(&t, &["KAOS-M"], 5).await;
        // serde fills a struct from an array's elements in order.
        let r = app.post(&t, "/api/v1/inventory/adjustments", json!(["KAOS-M", null, 7, null, "as an array", null])).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "invalid_body");
        let r = app.post(&t, "/api/v1/locations", json!(["annex", "Annex"])).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let r = app.call(Some(&t), Method::PUT, &format!("/api/v1/shops/{}/settings", storesync_domain::ids::ShopId::new()), Some(json!([7, 0, null, true]))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        // At any depth: a price as `[amount, currency]`.
        let r = app.post(&t, "/api/v1/products", json!({ "name": "Kaos", "variants": [{ "sku": "ARR", "price": [1, "IDR"] }] })).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().starts_with("variants[0].price"), "{}", r.body);
        let r = app.get(&t, "/api/v1/inventory?sku=KAOS-M").await;
        assert_eq!(r.body["totals"]["on_hand"], 5, "nothing applied");
        let r = app.get(&t, "/api/v1/locations").await;
        assert!(!r.body.to_string().contains("annex"), "{}", r.body);
    }
}

/// `path` with every `{parameter}` filled with an id-shaped value.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&storesync_domain::ids::ShopId::new().to_string());
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

backend_test! {
    async fn every_error_from_every_route_is_json(store) {
        let app = TestApp::start_with(store, WebConfig { body_limit_bytes: 16 * 1024, ..WebConfig::default() }).await;
        let t = app.tenant(Role::Owner).await;
        let routes = storesync_web::routes::api_routes();
        let methods = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
        let mut checked = 0;
        for (spec, _) in &routes {
            let taken: Vec<&Method> = routes.iter().filter(|(s, _)| s.path == spec.path).map(|(s, _)| &s.method).collect();
            for m in methods.iter().filter(|m| !taken.contains(m)) {
                let r = app.call(Some(&t), m.clone(), &concrete(spec.path), None).await;
                assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {}", spec.path);
                assert_eq!(r.body["error"]["code"], "method_not_allowed", "{m} {}: {}", spec.path, r.body);
                assert!(r.headers.get("allow").is_some(), "{m} {}", spec.path);
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} method/route pairs");
        // A route that does not exist, and a method the webhook route lacks.
        let r = app.call(None, Method::GET, "/no/such/route", None).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        let r = app.call(None, Method::GET, "/webhooks/shopee", None).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
        // Over the body limit on a webhook: was text/plain.
        let res = app.http.post(format!("{}/webhooks/shopee", app.base)).header("content-type", "application/json").body(vec![b' '; 64 * 1024]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large");
    }
}

backend_test! {
    async fn nul_and_invisible_characters_are_refused(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        app.product_with_stock(&t, &["KAOS-M"], 5).await;
        let price = json!({ "amount": 1, "currency": "IDR" });
        let r = app.post(&t, "/api/v1/products", json!({ "name": "Kaos\u{0}", "variants": [{ "sku": "N1", "price": price }] })).await;
        assert_eq!((r.status, fields(&r)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "{}", r.body);
        // A look-alike SKU: a zero-width space, a right-to-left override.
        for sku in ["KAOS\u{200B}-M", "\u{202E}M-SOAK"] {
            let r = app.post(&t, "/api/v1/products", json!({ "name": "Kaos", "variants": [{ "sku": sku, "price": price }] })).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{sku:?}: {}", r.body);
        }
        let r = app.post(&t, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "delta": 1, "reason": "count\u{0}" })).await;
        assert_eq!((r.status, fields(&r)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason".to_owned()]), "{}", r.body);
        let r = app.post(&t, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "delta": 1, "reason": "count", "idempotency_key": "k\u{0}" })).await;
        assert_eq!((r.status, fields(&r)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["idempotency_key".to_owned()]), "{}", r.body);
        let r = app.post(&t, "/api/v1/locations", json!({ "code": "annex", "name": "An\u{2066}nex" })).await;
        assert_eq!((r.status, fields(&r)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "{}", r.body);
        let r = app.post(&t, "/api/v1/tokens", json!({ "name": "ci\u{0}bot" })).await;
        assert_eq!((r.status, fields(&r)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "{}", r.body);
        let err = app.store.create_org("zw-org", "Acme\u{200B}", &storesync_store::Actor::system("test")).await.unwrap_err();
        assert!(matches!(err, storesync_store::StoreError::Validation(_)), "{err:?}");
        let r = app.get(&t, "/api/v1/inventory?sku=KAOS-M").await;
        assert_eq!(r.body["totals"]["on_hand"], 5, "nothing applied");
    }
}

backend_test! {
    async fn pages_carry_security_headers(store) {
        let app = TestApp::start(store).await;
        let res = app.http.get(format!("{}/login", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        let res = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
}

backend_test! {
    async fn viewers_do_not_see_member_emails_on_the_settings_page(store) {
        let app = TestApp::start(store).await;
        let owner = app.tenant(Role::Owner).await;
        let viewer = app.member(owner.org, &owner.slug, Role::Viewer).await;
        // The API's rule: the member list needs admin.
        assert_eq!(app.get(&viewer, "/api/v1/members").await.status, StatusCode::FORBIDDEN);
        let mut b = Browser::new(&app.base);
        b.sign_in(&viewer.email, &viewer.password).await;
        let (status, _, page) = b.get("/settings").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains(&owner.email), "a viewer sees the owner's email");
        let mut b = Browser::new(&app.base);
        b.sign_in(&owner.email, &owner.password).await;
        let (_, _, page) = b.get("/settings").await;
        assert!(page.contains(&viewer.email), "the owner sees the members");
    }
}
