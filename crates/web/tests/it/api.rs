use storesync_store::backend_test;

use super::*;

backend_test! {
    async fn seller_takes_ships_and_cancels_orders(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let product = app.product_with_stock(&t, &["KAOS-M", "KAOS-L"], 5).await;
        let id = product["id"].as_str().unwrap();
        assert_eq!(app.get(&t, &format!("/api/v1/products/{id}")).await.body["variants"].as_array().unwrap().len(), 2);

        let r = app.post(&t, "/api/v1/orders", order_body("M-1001", &[("KAOS-M", 2), ("KAOS-L", 1)])).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.body["order"]["total"], json!({ "amount": 30000, "currency": "IDR" }));
        let order_id = r.body["order"]["id"].as_str().unwrap().to_owned();
        let again = app.post(&t, "/api/v1/orders", order_body("M-1001", &[("KAOS-M", 2), ("KAOS-L", 1)])).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body["changed"], json!(false));

        let inv = app.get(&t, "/api/v1/inventory?sku=KAOS-M").await;
        assert_eq!(inv.body["totals"], json!({ "on_hand": 5, "reserved": 2, "available": 3 }));

        let shipped = app.post(&t, &format!("/api/v1/orders/{order_id}/ship"), json!({ "carrier": "JNE", "tracking_number": "JNE0001" })).await;
        assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
        assert_eq!(shipped.body["order"]["status"], "shipped");
        let inv = app.get(&t, "/api/v1/inventory?sku=KAOS-M").await;
        assert_eq!(inv.body["totals"], json!({ "on_hand": 3, "reserved": 0, "available": 3 }));
        let cancel = app.post(&t, &format!("/api/v1/orders/{order_id}/cancel"), json!({ "reason": "late" })).await;
        assert_eq!((cancel.status, error_code(&cancel)), (StatusCode::CONFLICT, "illegal_transition"));

        let r = app.post(&t, "/api/v1/orders", order_body("M-1002", &[("KAOS-L", 4)])).await;
        let second = r.body["order"]["id"].as_str().unwrap().to_owned();
        let short = app.post(&t, "/api/v1/orders", order_body("M-1003", &[("KAOS-L", 1)])).await;
        assert_eq!((short.status, error_code(&short)), (StatusCode::CONFLICT, "insufficient_stock"));
        assert_eq!(short.body["error"]["details"]["shortages"][0], json!({ "sku": "KAOS-L", "requested": 1, "available": 0 }));
        let c = app.post(&t, &format!("/api/v1/orders/{second}/cancel"), json!({ "reason": "buyer changed mind" })).await;
        assert_eq!(c.body["order"]["status"], "cancelled");
        assert_eq!(app.get(&t, "/api/v1/inventory?sku=KAOS-L").await.body["totals"]["available"], 4);

        let list = app.get(&t, "/api/v1/orders?status=cancelled").await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
        let bad = app.get(&t, "/api/v1/orders?status=lost").await;
        assert_eq!((bad.status, error_code(&bad)), (StatusCode::BAD_REQUEST, "invalid_query"));
        let detail = app.get(&t, &format!("/api/v1/orders/{order_id}")).await;
        assert_eq!(detail.body["events"].as_array().unwrap().len(), 2);
        assert_eq!(detail.body["shipments"][0]["tracking_number"], "JNE0001");

        let moves = app.get(&t, "/api/v1/inventory/movements?sku=KAOS-M").await;
        let kinds: Vec<_> = moves.body["items"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap().to_owned()).collect();
        assert_eq!(kinds, ["fulfilment", "adjustment"]);
        let audit = app.get(&t, "/api/v1/audit?limit=3").await;
        assert_eq!(audit.body["items"][0]["action"], "order.cancel");
        assert_eq!(audit.body["items"][0]["actor"], t.email.as_str());
        assert!(audit.body["next_cursor"].is_string());
    }
}

backend_test! {
    async fn adjustments_transfers_and_replays(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Member).await;
        app.product_with_stock(&t, &["SABUN"], 0).await;
        let loc = app.post(&t, "/api/v1/locations", json!({ "code": "SBY", "name": "Surabaya" })).await;
        assert_eq!(loc.status, StatusCode::CREATED);
        let body = json!({ "sku": "SABUN", "set": 40, "reason": "stock take", "idempotency_key": "count-1" });
        let first = app.post(&t, "/api/v1/inventory/adjustments", body.clone()).await;
        assert_eq!((first.status, first.body["replayed"].clone()), (StatusCode::OK, json!(false)));
        let replay = app.post(&t, "/api/v1/inventory/adjustments", body).await;
        assert_eq!(replay.body["replayed"], json!(true));
        let reuse = app.post(&t, "/api/v1/inventory/adjustments", json!({ "sku": "SABUN", "set": 41, "reason": "stock take", "idempotency_key": "count-1" })).await;
        assert_eq!((reuse.status, error_code(&reuse)), (StatusCode::CONFLICT, "idempotency_key_reused"));
        let both = app.post(&t, "/api/v1/inventory/adjustments", json!({ "sku": "SABUN", "set": 1, "delta": 1, "reason": "x" })).await;
        assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);

        let tr = app.post(&t, "/api/v1/inventory/transfers", json!({ "sku": "SABUN", "from": "main", "to": "SBY", "quantity": 15 })).await;
        assert_eq!(tr.status, StatusCode::OK, "{}", tr.body);
        let inv = app.get(&t, "/api/v1/inventory?sku=SABUN").await;
        let per: Vec<_> = inv.body["locations"].as_array().unwrap().iter().map(|l| (l["location"].as_str().unwrap().to_owned(), l["on_hand"].as_i64().unwrap())).collect();
        assert_eq!(per, [("main".to_owned(), 25), ("SBY".to_owned(), 15)]);
        assert_eq!(inv.body["totals"]["on_hand"], 40);
    }
}

backend_test! {
    async fn openapi_and_health(store) {
        let app = TestApp::start(store).await;
        let doc = app.call(None, Method::GET, "/api/v1/openapi.json", None).await;
        assert_eq!(doc.status, StatusCode::OK);
        assert_eq!(doc.body["openapi"], "3.1.0");
        for (spec, _) in storesync_web::routes::api_routes() {
            let op = &doc.body["paths"][spec.path][spec.method.as_str().to_lowercase()];
            assert!(op.is_object(), "{} {} missing from the document", spec.method, spec.path);
        }
        // The routes marketplaces call are documented too, without a session.
        let webhook = &doc.body["paths"]["/webhooks/{marketplace}"]["post"];
        assert_eq!(webhook["security"], json!([]), "{webhook}");
        assert!(webhook["x-authentication"].as_str().unwrap().contains("signature"), "{webhook}");
        assert_eq!(webhook["parameters"][0]["schema"]["enum"], json!(["shopee", "tiktok_shop", "lazada", "tokopedia"]));
        let callback = &doc.body["paths"]["/oauth/{marketplace}/callback"]["get"];
        assert_eq!(callback["security"], json!([]), "{callback}");
        assert_eq!(app.call(None, Method::GET, "/healthz", None).await.status, StatusCode::OK);
        let home = app.call(None, Method::GET, "/", None).await;
        assert!(home.body.as_str().unwrap().contains("openapi.json"));
        assert_eq!(app.call(None, Method::GET, "/readyz", None).await.status, StatusCode::OK);
        let missing = app.call(None, Method::GET, "/api/v1/nothing-here", None).await;
        assert_eq!((missing.status, error_code(&missing)), (StatusCode::NOT_FOUND, "not_found"));
    }
}

backend_test! {
    async fn dead_jobs_are_listed_with_their_error_and_can_be_retried(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Member).await;
        let viewer = app.member(t.org, &t.slug, Role::Viewer).await;
        let id = app.store.enqueue(&storesync_store::jobs::NewJob::new("sync.push", json!({})).org(t.org)).await.unwrap().unwrap();
        app.store.claim_jobs("w", 1, 60_000).await.unwrap();
        app.store.fail_job(id, "w", "shop token refused", None).await.unwrap();
        let dead = app.get(&viewer, "/api/v1/jobs?status=dead").await;
        assert_eq!(dead.body["items"][0]["last_error"], "shop token refused");
        let r = app.post(&viewer, &format!("/api/v1/jobs/{id}/retry"), json!(null)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app.call(Some(&t), Method::POST, &format!("/api/v1/jobs/{id}/retry"), None).await;
        assert_eq!((r.status, r.body["status"].clone()), (StatusCode::OK, json!("queued")));
        let again = app.call(Some(&t), Method::POST, &format!("/api/v1/jobs/{id}/retry"), None).await;
        assert_eq!((again.status, error_code(&again)), (StatusCode::CONFLICT, "job_not_dead"));
    }
}
