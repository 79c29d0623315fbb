//! Every route of the API, called by organization B with organization A's
//! ids, must refuse (404/403/422) or show only B's own data, and must leave A
//! unchanged. The list of routes comes from the router's own table, so a new
//! route without a case here fails this test.

use storesync_store::backend_test;
use storesync_web::routes::api_routes;

use super::*;

/// What B may get back from a route.
enum Expect {
    /// B names one of A's resources: it must look like it does not exist.
    Refused,
    /// B acts on its own organization: fine, but A's data must not show.
    OwnOnly,
}

struct Case {
    path: String,
    body: Option<Value>,
    expect: Expect,
}

backend_test! {
    async fn org_b_can_never_reach_org_a(store) {
        let app = TestApp::start(store).await;
        let a = app.tenant(Role::Owner).await;
        let b = app.tenant(Role::Owner).await;
        let product = app.product_with_stock(&a, &["A-ONLY-SKU"], 10).await;
        let product_id = product["id"].as_str().unwrap().to_owned();
        let order = app.post(&a, "/api/v1/orders", order_body("A-ORDER", &[("A-ONLY-SKU", 2)])).await;
        let order_id = order.body["order"]["id"].as_str().unwrap().to_owned();
        let token = app.post(&a, "/api/v1/tokens", json!({ "name": "a-secret" })).await;
        let token_id = token.body["id"].as_str().unwrap().to_owned();
        let loc = app.post(&a, "/api/v1/locations", json!({ "code": "A-LOC", "name": "A warehouse" })).await;
        assert_eq!(loc.status, StatusCode::CREATED);
        // A dead job of org A.
        let job = app.store.enqueue(&storesync_store::jobs::NewJob::new("test", json!({ "secret": "A-JOB" })).org(a.org)).await.unwrap().unwrap();
        app.store.claim_jobs("w", 10, 60_000).await.unwrap();
        app.store.fail_job(job, "w", "A-JOB failed", None).await.unwrap();
        let job_id = job.to_string();
        // A connected shop of org A with one imported listing.
        let shop = app.store.connect_shop(a.org, &storesync_store::shops::ConnectedShop {
            marketplace: storesync_domain::Marketplace::Shopee,
            external_shop_id: "A-SHOP-1".into(),
            cipher: None,
            name: "A shop".into(),
            region: None,
            tokens: storesync_store::shops::ShopTokens {
                access_token: storesync_crypto::Secret::new("A-ACCESS".to_owned()),
                refresh_token: storesync_crypto::Secret::new("A-REFRESH".to_owned()),
                access_expires_at: storesync_domain::Timestamp::from_millis(1),
                refresh_expires_at: None,
            },
        }, &storesync_store::Actor::system("test")).await.unwrap();
        let listing = storesync_store::listings::ChannelListing {
            external_listing_id: "A-ITEM".into(), external_variant_id: "0".into(), seller_sku: "A-ONLY-SKU".into(),
            title: "A listing".into(), status: "NORMAL".into(), warehouse_id: None, stock: 3, reserved: None, price: None,
        };
        app.store.import_listings(a.org, shop.id, &[listing], Default::default(), &storesync_store::Actor::system("test")).await.unwrap();
        let shop_id = shop.id.to_string();
        let listing_id = app.store.list_listings(a.org, None, None, &Default::default()).await.unwrap().items[0].id.to_string();
        // A pending invitation of org A, and A's owner as a member id.
        let invitation = app.post(&a, "/api/v1/invitations", json!({ "email": "a-invitee@example.com", "role": "viewer" })).await;
        let invitation_id = invitation.body["id"].as_str().unwrap().to_owned();
        let a_user_id = app.store.credentials(&a.email).await.unwrap().unwrap().0.to_string();
        let a_audit = app.audit_count(a.org).await;
        let a_markers = [shop_id.as_str(), listing_id.as_str(), "A-SHOP-1", "A-ACCESS", "A-ITEM", job_id.as_str(), "A-JOB", product_id.as_str(), order_id.as_str(), token_id.as_str(), "A-ONLY-SKU", "A-ORDER", "A-LOC", a.email.as_str(), "a-invitee@example.com", invitation_id.as_str()];

        let sku_line = json!([{ "sku": "A-ONLY-SKU", "quantity": 1, "unit_price": { "amount": 10000, "currency": "IDR" } }]);
        let mut checked = 0;
        for (spec, _) in api_routes() {
            // Public and marketplace-signed routes act for no organization.
            if !spec.access.org_scoped() {
                continue;
            }
            let with_ids = |p: &str| p.replace("{id}", match spec.path {
                p if p.starts_with("/api/v1/products") => &product_id,
                p if p.starts_with("/api/v1/orders") => &order_id,
                p if p.starts_with("/api/v1/tokens") => &token_id,
                p if p.starts_with("/api/v1/jobs") => &job_id,
                p if p.starts_with("/api/v1/shops") => &shop_id,
                p if p.starts_with("/api/v1/listings") => &listing_id,
                p if p.starts_with("/api/v1/members") => &a_user_id,
                p if p.starts_with("/api/v1/invitations") => &invitation_id,
                _ => "",
            });
            let case = match (spec.method.as_str(), spec.path) {
                ("POST", "/api/v1/auth/logout") | ("GET", "/api/v1/auth/session") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/auth/password") => Case { path: spec.path.into(), body: Some(json!({ "current_password": a.password, "new_password": "changed by b for b" })), expect: Expect::OwnOnly },
                ("GET", "/api/v1/products") => Case { path: "/api/v1/products?q=A-ONLY".into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/products") => Case { path: spec.path.into(), body: Some(json!({ "name": "kit", "variants": [{ "sku": "B-KIT", "price": { "amount": 1, "currency": "IDR" }, "components": [{ "sku": "A-ONLY-SKU", "quantity": 1 }] }] })), expect: Expect::Refused },
                ("GET" | "DELETE", "/api/v1/products/{id}") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("PATCH", "/api/v1/products/{id}") => Case { path: with_ids(spec.path), body: Some(json!({ "name": "hijacked" })), expect: Expect::Refused },
                ("GET", "/api/v1/locations") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/locations") => Case { path: spec.path.into(), body: Some(json!({ "code": "B-LOC", "name": "B" })), expect: Expect::OwnOnly },
                ("GET", "/api/v1/inventory") => Case { path: "/api/v1/inventory?sku=A-ONLY-SKU".into(), body: None, expect: Expect::Refused },
                ("GET", "/api/v1/inventory/movements") => Case { path: "/api/v1/inventory/movements?sku=A-ONLY-SKU".into(), body: None, expect: Expect::Refused },
                ("POST", "/api/v1/inventory/adjustments") => Case { path: spec.path.into(), body: Some(json!({ "sku": "A-ONLY-SKU", "delta": -5, "reason": "b", "location": "A-LOC" })), expect: Expect::Refused },
                ("POST", "/api/v1/inventory/transfers") => Case { path: spec.path.into(), body: Some(json!({ "sku": "A-ONLY-SKU", "from": "main", "to": "A-LOC", "quantity": 1 })), expect: Expect::Refused },
                ("GET", "/api/v1/orders") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/orders") => Case { path: spec.path.into(), body: Some(json!({ "channel": "manual", "external_id": "A-ORDER", "currency": "IDR", "lines": sku_line })), expect: Expect::Refused },
                ("GET", "/api/v1/orders/{id}") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("POST", "/api/v1/orders/{id}/ship") => Case { path: with_ids(spec.path), body: Some(json!({ "carrier": "b", "tracking_number": "b" })), expect: Expect::Refused },
                ("POST", "/api/v1/orders/{id}/cancel") => Case { path: with_ids(spec.path), body: Some(json!({ "reason": "b" })), expect: Expect::Refused },
                ("POST", "/api/v1/orders/{id}/return") => Case { path: with_ids(spec.path), body: Some(json!({ "restock": true })), expect: Expect::Refused },
                ("POST", "/api/v1/orders/{id}/status") => Case { path: with_ids(spec.path), body: Some(json!({ "status": "completed" })), expect: Expect::Refused },
                ("GET", "/api/v1/shops") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/shops/connect/{marketplace}") => Case { path: "/api/v1/shops/connect/shopee".into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/shops/{id}/pause") | ("POST", "/api/v1/shops/{id}/resume") | ("POST", "/api/v1/shops/{id}/disconnect") | ("POST", "/api/v1/shops/{id}/sync") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("PUT", "/api/v1/shops/{id}/settings") => Case { path: with_ids(spec.path), body: Some(json!({ "dry_run": true })), expect: Expect::Refused },
                ("GET", "/api/v1/shops/{id}/calls") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("GET", "/api/v1/listings/{id}/explain") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("POST", "/api/v1/shops/{id}/import") => Case { path: with_ids(spec.path), body: Some(json!({})), expect: Expect::Refused },
                ("GET", "/api/v1/listings") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("PUT", "/api/v1/listings/{id}/mapping") => Case { path: with_ids(spec.path), body: Some(json!({ "sku": null })), expect: Expect::Refused },
                ("GET", "/api/v1/intake/stats") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("GET", "/api/v1/jobs") => Case { path: "/api/v1/jobs?status=dead".into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/jobs/{id}/retry") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("GET", "/api/v1/audit") => Case { path: "/api/v1/audit?limit=200".into(), body: None, expect: Expect::OwnOnly },
                ("GET", "/api/v1/members") | ("GET", "/api/v1/tokens") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("PATCH", "/api/v1/members/{id}") => Case { path: with_ids(spec.path), body: Some(json!({ "role": "viewer" })), expect: Expect::Refused },
                ("DELETE", "/api/v1/members/{id}") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("GET", "/api/v1/invitations") => Case { path: spec.path.into(), body: None, expect: Expect::OwnOnly },
                ("POST", "/api/v1/invitations") => Case { path: spec.path.into(), body: Some(json!({ "email": "b-helper@example.com", "role": "viewer" })), expect: Expect::OwnOnly },
                ("DELETE", "/api/v1/invitations/{id}") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                ("POST", "/api/v1/tokens") => Case { path: spec.path.into(), body: Some(json!({ "name": "b" })), expect: Expect::OwnOnly },
                ("DELETE", "/api/v1/tokens/{id}") => Case { path: with_ids(spec.path), body: None, expect: Expect::Refused },
                (m, p) => panic!("no cross-tenant case for {m} {p}: add one to this test"),
            };
            let r = app.call(Some(&b), spec.method.clone(), &case.path, case.body).await;
            match case.expect {
                Expect::Refused => assert!(
                    matches!(r.status.as_u16(), 401 | 403 | 404 | 422),
                    "{} {} answered {} to org B: {}", spec.method, spec.path, r.status, r.body
                ),
                Expect::OwnOnly => {
                    let text = r.body.to_string();
                    for marker in a_markers {
                        assert!(!text.contains(marker), "{} {} showed org A's {marker}: {text}", spec.method, spec.path);
                    }
                }
            }
            checked += 1;
        }
        assert!(checked >= 25, "only {checked} routes checked");

        // Org A is untouched.
        assert_eq!(app.audit_count(a.org).await, a_audit, "org B's calls wrote into org A's audit log");
        let inv = app.get(&a, "/api/v1/inventory?sku=A-ONLY-SKU").await;
        assert_eq!(inv.body["totals"], json!({ "on_hand": 10, "reserved": 2, "available": 8 }));
        assert_eq!(app.get(&a, &format!("/api/v1/orders/{order_id}")).await.body["status"], "ready_to_ship");
        assert_eq!(app.store.job(job).await.unwrap().status, storesync_store::jobs::JobStatus::Dead);
        let a_shop = app.store.shop(a.org, shop.id).await.unwrap();
        assert_eq!(a_shop.status, storesync_store::shops::ShopStatus::Active);
        assert!(!a_shop.settings.dry_run);
        assert_eq!(app.get(&a, &format!("/api/v1/products/{product_id}")).await.body["name"], "Kaos polos");
        assert_eq!(app.get(&a, "/api/v1/tokens").await.body.as_array().unwrap().iter().filter(|t| t["revoked_at"].is_null()).count(), 2);
        let login = app.http.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({ "email": a.email, "password": a.password })).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::OK, "A's password unchanged");
    }
}
