use storesync_store::backend_test;
use storesync_web::WebConfig;

use super::*;

backend_test! {
    async fn bad_requests_get_clear_errors_and_write_nothing(store) {
        let app = TestApp::start_with(store, WebConfig { body_limit_bytes: 64 * 1024, ..WebConfig::default() }).await;
        let t = app.tenant(Role::Owner).await;
        app.product_with_stock(&t, &["TAS"], 3).await;
        let before = app.audit_count(t.org).await;

        // Malformed JSON.
        let r = app
            .http
            .post(format!("{}/api/v1/orders", app.base))
            .bearer_auth(&t.token)
            .header("content-type", "application/json")
            .body("{\"channel\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "malformed_json");

        // Not JSON at all.
        let r = app.http.post(format!("{}/api/v1/orders", app.base)).bearer_auth(&t.token).body("sku=TAS").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
            ("unknown field", json!({ "name": "X", "variants": [{ "sku": "N1", "price": { "amount": 1, "currency": "IDR" } }], "colour": "red" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            ("bad sku", json!({ "name": "X", "variants": [{ "sku": "has space", "price": { "amount": 1, "currency": "IDR" } }] }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            ("bad currency", json!({ "name": "X", "variants": [{ "sku": "N2", "price": { "amount": 1, "currency": "ZZZ" } }] }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            ("negative price", json!({ "name": "X", "variants": [{ "sku": "N3", "price": { "amount": -1, "currency": "IDR" } }] }), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ("duplicate sku", json!({ "name": "X", "variants": [{ "sku": "TAS", "price": { "amount": 1, "currency": "IDR" } }] }), StatusCode::CONFLICT, "duplicate_sku"),
            ("no variants", json!({ "name": "X", "variants": [] }), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        ];
        for (what, body, status, code) in cases {
            let r = app.post(&t, "/api/v1/products", body).await;
            assert_eq!((r.status, error_code(&r)), (status, code), "{what}: {}", r.body);
        }

        let order_cases: Vec<(&str, Value, &str)> = vec![
            ("zero quantity", order_body("B1", &[("TAS", 0)]), "lines[0].quantity"),
            ("negative quantity", order_body("B2", &[("TAS", -2)]), "lines[0].quantity"),
            ("unknown sku", order_body("B3", &[("NOPE", 1)]), "lines[0].sku"),
            ("wrong currency", {
                let mut b = order_body("B4", &[("TAS", 1)]);
                b["lines"][0]["unit_price"]["currency"] = json!("MYR");
                b
            }, "lines[0].unit_price.currency"),
            ("wrong total", {
                let mut b = order_body("B5", &[("TAS", 1)]);
                b["total"] = json!({ "amount": 1, "currency": "IDR" });
                b
            }, "total"),
            ("marketplace channel", {
                let mut b = order_body("B6", &[("TAS", 1)]);
                b["channel"] = json!("shopee");
                b
            }, "channel"),
        ];
        for (what, body, field) in order_cases {
            let r = app.post(&t, "/api/v1/orders", body).await;
            assert_eq!((r.status, error_code(&r)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "{what}: {}", r.body);
            let fields: Vec<_> = r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect();
            assert!(fields.iter().any(|f| f == field), "{what}: {fields:?}");
        }

        let r = app.post(&t, "/api/v1/inventory/adjustments", json!({ "sku": "TAS", "delta": 0, "reason": "x" })).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app.post(&t, "/api/v1/inventory/adjustments", json!({ "sku": "TAS", "delta": -10, "reason": "x" })).await;
        assert_eq!((r.status, error_code(&r)), (StatusCode::CONFLICT, "insufficient_stock"));
        let r = app.post(&t, "/api/v1/inventory/transfers", json!({ "sku": "TAS", "from": "main", "to": "main", "quantity": 1 })).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Oversized body.
        let huge = json!({ "name": "x".repeat(100 * 1024), "variants": [] });
        let r = app.post(&t, "/api/v1/products", huge).await;
        assert_eq!((r.status, error_code(&r)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));

        let r = app.get(&t, "/api/v1/products/not-an-id").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app.get(&t, "/api/v1/inventory").await;
        assert_eq!((r.status, error_code(&r)), (StatusCode::BAD_REQUEST, "invalid_query"));

        assert_eq!(app.audit_count(t.org).await, before, "a refused request wrote something");
        assert_eq!(app.get(&t, "/api/v1/inventory?sku=TAS").await.body["totals"]["on_hand"], 3);
        assert_eq!(app.get(&t, "/api/v1/orders").await.body["items"].as_array().unwrap().len(), 0);
    }
}
