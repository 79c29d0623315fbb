//! Connecting a Shopee shop end to end against the Shopee sandbox: the
//! OAuth flow through our API and callback, the encrypted tokens, and the
//! import job that maps the shop's SKUs onto the master catalog.

use std::sync::Arc;

use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::Secret;
use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::{ChannelRegistry, STATE_TTL_MS};
use storesync_engine::RunOnce;
use storesync_sandbox::{AuthorizeRequest, CreateShop, Marketplace, SandboxConfig, SandboxServer};
use storesync_store::backend_test;
use storesync_web::{App, AppState, WebConfig};

use super::*;

backend_test! {
    async fn seller_connects_a_shopee_shop_and_its_catalog_is_imported(store) {
        let sandbox = SandboxServer::start(SandboxConfig::new(Marketplace::Shopee)).await.unwrap();
        let sb = sandbox.sandbox().clone();
        let shop: CreateShop = serde_json::from_value(json!({
            "name": "Toko Kaos", "region": "ID",
            "products": [
                { "name": "Kaos polos", "variants": [
                    { "seller_sku": "KAOS-M", "price": 99000, "stock": 12 },
                    { "seller_sku": "KAOS-L", "price": 99000, "stock": 7 } ] },
                { "name": "Topi", "item_sku": "TOPI", "price": 50000, "stock": 4 },
                { "name": "No SKU", "item_sku": "", "price": 1000, "stock": 1 }
            ]
        })).unwrap();
        let view = sb.create_shop(&shop).unwrap();

        let (partner_id, partner_key) = (2001887, "test_partner_key_0001");
        let client = ShopeeClient::new(
            ShopeeConfig::new(partner_id, Secret::new(partner_key.to_owned())).with_base_url(sandbox.base_url()),
            Arc::new(SystemClock),
        ).unwrap();
        let channels = Arc::new(ChannelRegistry::new().with(Arc::new(client)));

        // The app must know its own public URL for the callback: bind first.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), WebConfig::default()).with_channels(channels.clone(), &base);
        let app = App::from_listener(listener, state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move { rx.await.ok(); }));
        let test = TestApp { base: base.clone(), store: store.clone(), http: reqwest::Client::new(), _shutdown: tx };
        let owner = test.tenant(Role::Owner).await;
        let viewer = test.member(owner.org, &owner.slug, Role::Viewer).await;

        let denied = test.call(Some(&viewer), Method::POST, "/api/v1/shops/connect/shopee", None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let unknown = test.call(Some(&owner), Method::POST, "/api/v1/shops/connect/lazada", None).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        let start = test.call(Some(&owner), Method::POST, "/api/v1/shops/connect/shopee", None).await;
        assert_eq!(start.status, StatusCode::CREATED, "{}", start.body);
        let authorize_url = reqwest::Url::parse(start.body["authorize_url"].as_str().unwrap()).unwrap();
        assert!(authorize_url.as_str().starts_with(&sandbox.base_url()));
        let redirect = authorize_url.query_pairs().find(|(k, _)| k == "redirect").unwrap().1.into_owned();
        assert!(redirect.starts_with(&format!("{base}/oauth/shopee/callback?state=")), "{redirect}");

        // A forged state is refused and stores nothing.
        let forged = test.http.get(format!("{base}/oauth/shopee/callback?state=forged&code=abc&shop_id={}", view.shop_id)).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
        assert!(forged.text().await.unwrap().contains("start connecting again"));

        // The start set the binding cookie: HttpOnly, Lax, only for the callback.
        let binding = start.headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(binding.starts_with("storesync_connect_shopee=") && binding.contains("HttpOnly") && binding.contains("SameSite=Lax") && binding.contains("Path=/oauth/"), "{binding}");
        let binding = binding.split(';').next().unwrap().to_owned();

        // A link approved by someone whose browser did not start the flow
        // (no cookie, or another flow's cookie) connects nothing.
        for cookie in [None, Some(other_flow_cookie(&test, &owner).await)] {
            let start = test.call(Some(&owner), Method::POST, "/api/v1/shops/connect/shopee", None).await;
            let url = reqwest::Url::parse(start.body["authorize_url"].as_str().unwrap()).unwrap();
            let redirect = url.query_pairs().find(|(k, _)| k == "redirect").unwrap().1.into_owned();
            let approved = sb.authorize(&AuthorizeRequest { shop_id: view.shop_id, redirect: Some(redirect), state: None }).unwrap();
            let mut req = test.http.get(approved.redirect_url.unwrap());
            if let Some(c) = &cookie {
                req = req.header("cookie", c);
            }
            let back = req.send().await.unwrap();
            assert_eq!(back.status(), StatusCode::BAD_REQUEST);
            let text = back.text().await.unwrap();
            assert!(text.contains("started in another browser") && text.contains("not connected"), "{text}");
            assert_eq!(test.get(&viewer, "/api/v1/shops").await.body, json!([]), "no shop connected");
        }

        // The seller approves on the marketplace, which sends them back.
        let approved = sb.authorize(&AuthorizeRequest { shop_id: view.shop_id, redirect: Some(redirect), state: None }).unwrap();
        let back = test.http.get(approved.redirect_url.clone().unwrap()).header("cookie", &binding).send().await.unwrap();
        assert_eq!(back.status(), StatusCode::OK);
        let text = back.text().await.unwrap();
        assert!(text.contains("Toko Kaos"), "{text}");
        assert!(text.contains("for the organization <strong>Tenant</strong>"), "the page names the organization: {text}");
        let replay = test.http.get(approved.redirect_url.unwrap()).header("cookie", &binding).send().await.unwrap();
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST, "a state works once");

        let shops = test.get(&viewer, "/api/v1/shops").await;
        let shops = shops.body.as_array().unwrap().clone();
        assert_eq!(shops.len(), 1);
        assert_eq!(shops[0]["status"], "active");
        assert_eq!(shops[0]["authorization_ends_soon"], false, "Shopee grants 30 days");
        assert_eq!(shops[0]["external_shop_id"], view.shop_id.to_string());
        assert!(!shops[0].to_string().contains("token"), "tokens never leave the store");

        // The import job runs and maps every SKU the catalog can hold.
        let worker = engine(&store, channels).worker().clone();
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(1));
        let dead = test.get(&owner, "/api/v1/jobs?status=dead").await;
        assert_eq!(dead.body["items"].as_array().unwrap().len(), 0, "{}", dead.body);

        let listings = test.get(&viewer, "/api/v1/listings").await;
        assert_eq!(listings.body["items"].as_array().unwrap().len(), 4, "{}", listings.body);
        let unmapped = test.get(&viewer, "/api/v1/listings?mapped=false").await;
        let unmapped = unmapped.body["items"].as_array().unwrap().clone();
        assert_eq!(unmapped.len(), 1, "the listing without a SKU waits for the seller");
        for (sku, stock) in [("KAOS-M", 12), ("KAOS-L", 7), ("TOPI", 4)] {
            let inv = test.get(&viewer, &format!("/api/v1/inventory?sku={sku}")).await;
            assert_eq!(inv.body["totals"]["on_hand"], stock, "{sku} seeded from the channel: {}", inv.body);
        }
        let product = test.get(&viewer, "/api/v1/products?q=KAOS-M").await;
        assert_eq!(product.body["items"][0]["variants"][0]["price"], json!({ "amount": 9900000, "currency": "IDR" }));

        // Map the last one by hand to a new master SKU.
        test.product_with_stock(&owner, &["POLOS-NOSKU"], 0).await;
        let id = unmapped[0]["id"].as_str().unwrap();
        let mapped = test.call(Some(&owner), Method::PUT, &format!("/api/v1/listings/{id}/mapping"), Some(json!({ "sku": "POLOS-NOSKU" }))).await;
        assert_eq!((mapped.status, mapped.body["sku"].clone()), (StatusCode::OK, json!("POLOS-NOSKU")));
        let bad = test.call(Some(&owner), Method::PUT, &format!("/api/v1/listings/{id}/mapping"), Some(json!({ "sku": "NOPE" }))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Importing again changes nothing: no double counting.
        let shop_id = shops[0]["id"].as_str().unwrap();
        let again = test.call(Some(&owner), Method::POST, &format!("/api/v1/shops/{shop_id}/import"), Some(json!({}))).await;
        assert_eq!(again.status, StatusCode::ACCEPTED);
        worker.run_once().await.unwrap();
        let inv = test.get(&viewer, "/api/v1/inventory?sku=KAOS-M").await;
        assert_eq!(inv.body["totals"]["on_hand"], 12);
        assert_eq!(test.get(&viewer, "/api/v1/listings?mapped=false").await.body["items"].as_array().unwrap().len(), 0, "manual mapping kept");
        sandbox.shutdown().await;
    }
}

backend_test! {
    async fn callback_failures_are_answered_from_the_error_table(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let sandbox = SandboxServer::start(SandboxConfig::new(Marketplace::Shopee)).await.unwrap();
        let shop: CreateShop = serde_json::from_value(json!({ "name": "Toko Topi", "region": "ID", "products": [] })).unwrap();
        let view = sandbox.sandbox().create_shop(&shop).unwrap();
        let client = ShopeeClient::new(
            ShopeeConfig::new(2001887, Secret::new("test_partner_key_0001".to_owned())).with_base_url(sandbox.base_url()),
            Arc::new(SystemClock),
        ).unwrap();
        let channels = Arc::new(ChannelRegistry::new().with(Arc::new(client)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), WebConfig::default()).with_channels(channels, &base);
        let app = App::from_listener(listener, state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move { rx.await.ok(); }));
        let test = TestApp { base: base.clone(), store: store.clone(), http: reqwest::Client::new(), _shutdown: tx };
        let owner = test.tenant(Role::Owner).await;
        // A started flow: the callback URL (with its state) and the binding cookie.
        let start = || async {
            let start = test.call(Some(&owner), Method::POST, "/api/v1/shops/connect/shopee", None).await;
            assert_eq!(start.status, StatusCode::CREATED, "{}", start.body);
            let url = reqwest::Url::parse(start.body["authorize_url"].as_str().unwrap()).unwrap();
            let redirect = url.query_pairs().find(|(k, _)| k == "redirect").unwrap().1.into_owned();
            let cookie = start.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            (redirect, cookie)
        };

        // An expired state: 400, as the API would answer it.
        let (redirect, cookie) = start().await;
        clock.advance_millis(STATE_TTL_MS + 1);
        let back = test.http.get(format!("{redirect}&code=abc&shop_id={}", view.shop_id)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(back.status(), StatusCode::BAD_REQUEST);
        assert!(back.text().await.unwrap().contains("unknown, expired or already used"));

        // The marketplace refuses the code: 502 with its reason, nothing stored.
        let (redirect, cookie) = start().await;
        let back = test.http.get(format!("{redirect}&code=not-a-code&shop_id={}", view.shop_id)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(back.status(), StatusCode::BAD_GATEWAY);
        let text = back.text().await.unwrap();
        assert!(text.contains("did not complete the authorization") && text.contains("Shop not connected"), "{text}");
        assert_eq!(test.get(&owner, "/api/v1/shops").await.body, json!([]), "no shop connected");

        // A marketplace that is none, or has no app credentials here: 404
        // on the callback and on the API alike.
        for name in ["nowhere", "lazada"] {
            let back = test.http.get(format!("{base}/oauth/{name}/callback?state=x&code=y")).send().await.unwrap();
            assert_eq!(back.status(), StatusCode::NOT_FOUND, "{name}");
            let api = test.call(Some(&owner), Method::POST, &format!("/api/v1/shops/connect/{name}"), None).await;
            assert_eq!((api.status, api.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{name}");
        }
        sandbox.shutdown().await;
    }
}

/// The binding cookie of another connect flow (another browser's).
async fn other_flow_cookie(test: &TestApp, who: &Tenant) -> String {
    let start = test
        .call(
            Some(who),
            Method::POST,
            "/api/v1/shops/connect/shopee",
            None,
        )
        .await;
    assert_eq!(start.status, StatusCode::CREATED);
    start.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}
