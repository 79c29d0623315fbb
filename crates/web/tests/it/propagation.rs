//! A sale on one marketplace lowers the stock every other channel shows:
//! Shopee and TikTok Shop sandboxes selling the same SKU.

use std::sync::Arc;
use std::time::Duration;

use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::tiktok::{TikTokClient, TikTokConfig};
use storesync_channels::Secret;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::{ChannelRegistry, IMPORT_JOB};
use storesync_engine::drift::DRIFT_JOB;
use storesync_engine::propagate::PUSH_JOB;
use storesync_engine::{RunOnce, Worker};
use storesync_sandbox::{CreateShop, Marketplace, PlaceOrder, SandboxConfig, SandboxServer};
use storesync_store::backend_test;
use storesync_store::jobs::NewJob;
use storesync_store::shops::{ConnectedShop, ShopTokens};
use storesync_store::Store;
use storesync_web::{App, AppState, WebConfig};

use super::*;

/// Run jobs and drain dirty marks until nothing is left (bounded).
async fn settle(store: &Store, worker: &Worker) {
    for _ in 0..100 {
        let queued = store.drain_dirty(500).await.unwrap();
        if worker.run_once().await.unwrap() == RunOnce::Idle && queued.is_empty() {
            return;
        }
    }
    panic!("work did not settle");
}

fn shop_stock(sb: &storesync_sandbox::Sandbox, shop: u64, sku: &str) -> i64 {
    let listings = serde_json::to_value(sb.listings(shop).unwrap()).unwrap();
    listings
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["seller_sku"] == sku)
        .map(|l| l["total_stock"].as_i64().unwrap())
        .unwrap()
}

async fn connect(
    store: &Store,
    org: storesync_domain::ids::OrgId,
    marketplace: &str,
    sb: &storesync_sandbox::Sandbox,
    shop: u64,
    cipher: &str,
) -> storesync_domain::ids::ShopId {
    let (access, refresh) = sb.mint_tokens(shop).unwrap();
    store
        .connect_shop(
            org,
            &ConnectedShop {
                marketplace: marketplace.parse().unwrap(),
                external_shop_id: shop.to_string(),
                cipher: (!cipher.is_empty()).then(|| cipher.to_owned()),
                name: marketplace.into(),
                region: None,
                tokens: ShopTokens {
                    access_token: Secret::new(access),
                    refresh_token: Secret::new(refresh),
                    access_expires_at: SystemClock.now().plus_millis(3_600_000),
                    refresh_expires_at: None,
                },
            },
            &storesync_store::Actor::system("test"),
        )
        .await
        .unwrap()
        .id
}

backend_test! {
    async fn a_sale_on_shopee_lowers_the_stock_shown_on_tiktok(store) {
        let mut sc = SandboxConfig::new(Marketplace::Shopee);
        sc.time_scale = 0.001;
        let shopee = SandboxServer::start(sc).await.unwrap();
        let mut tc = SandboxConfig::new(Marketplace::TikTok);
        tc.time_scale = 0.001;
        let tiktok = SandboxServer::start(tc).await.unwrap();
        let (ssb, tsb) = (shopee.sandbox().clone(), tiktok.sandbox().clone());
        let s_shop = ssb.create_shop(&serde_json::from_value::<CreateShop>(json!({ "name": "S", "region": "ID",
            "products": [{ "name": "Kaos", "variants": [{ "seller_sku": "KAOS-M", "price": 99000, "stock": 30 }] }] })).unwrap()).unwrap();
        let t_shop = tsb.create_shop(&serde_json::from_value::<CreateShop>(json!({ "name": "T", "region": "ID",
            "products": [{ "name": "Kaos", "variants": [{ "seller_sku": "KAOS-M", "price": "99000", "stock": 4 }] }] })).unwrap()).unwrap();

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let channels = Arc::new(ChannelRegistry::new()
            .with(Arc::new(ShopeeClient::new(ShopeeConfig::new(2001887, Secret::new("test_partner_key_0001".to_owned())).with_base_url(shopee.base_url()), clock.clone()).unwrap()))
            .with(Arc::new(TikTokClient::new(TikTokConfig::new("29a39d", Secret::new("e59af819cc".to_owned()), "7000000000000000001").with_base_url(tiktok.base_url()), clock).unwrap())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = App::from_listener(listener, AppState::new(store.clone(), WebConfig::default()).with_channels(channels.clone(), &base));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move { rx.await.ok(); }));
        let test = TestApp { base: base.clone(), store: store.clone(), http: reqwest::Client::new(), _shutdown: tx };
        let owner = test.tenant(Role::Owner).await;

        let worker = engine(&store, channels.clone()).worker().clone();

        // Shopee is imported first and seeds the master count (30); TikTok's
        // 4 is then overwritten by the master value.
        let s = connect(&store, owner.org, "shopee", &ssb, s_shop.shop_id, "").await;
        store.enqueue(&NewJob::new(IMPORT_JOB, json!({ "shop_id": s })).org(owner.org)).await.unwrap();
        settle(&store, &worker).await;
        let t = connect(&store, owner.org, "tiktok_shop", &tsb, t_shop.shop_id, &t_shop.cipher).await;
        store.enqueue(&NewJob::new(IMPORT_JOB, json!({ "shop_id": t })).org(owner.org)).await.unwrap();
        settle(&store, &worker).await;
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["on_hand"], 30);
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 30, "TikTok shows the master stock");

        // A buyer takes 3 on Shopee; the webhook lands and TikTok follows.
        ssb.set_push_url(Some(format!("{base}/webhooks/shopee")));
        ssb.place_order(s_shop.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 3 }] })).unwrap()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !ssb.deliveries().iter().any(|d| d.status == Some(200)) {
            assert!(tokio::time::Instant::now() < deadline, "no webhook arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        settle(&store, &worker).await;
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["available"], 27);
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 27, "TikTok lowered after the Shopee sale");
        assert_eq!(shop_stock(&ssb, s_shop.shop_id, "KAOS-M"), 27);
        // The figures an operator scrapes moved with the sale: the delivery,
        // the booking's lag, the jobs, the marketplace calls and the push.
        let page = test.http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        let has = |line: &str| page.lines().any(|l| l.starts_with(line) && !l.ends_with(" 0"));
        assert!(has(r#"storesync_webhook_deliveries_total{marketplace="shopee",outcome="accepted"}"#), "{page}");
        assert!(has(r#"storesync_intake_lag_seconds_count{marketplace="shopee"}"#), "{page}");
        assert!(page.lines().any(|l| l.starts_with("storesync_job_runs_total{") && l.contains(r#"kind="stock.push""#) && l.contains(r#"outcome="ok""#)), "{page}");
        assert!(page.lines().any(|l| l.starts_with("storesync_marketplace_calls_total{") && l.contains(r#"marketplace="tiktok_shop""#) && l.contains(r#"operation="update_stock""#)), "{page}");
        assert!(has(r#"storesync_stock_push_seconds_count{marketplace="tiktok_shop"}"#), "{page}");

        // A stock count in StoreSync reaches both channels.
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "delta": 5, "reason": "delivery" })).await;
        assert_eq!(r.status, StatusCode::OK);
        settle(&store, &worker).await;
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 32);
        assert_eq!(shop_stock(&ssb, s_shop.shop_id, "KAOS-M"), 32);
        let listings = test.get(&owner, "/api/v1/listings").await;
        for l in listings.body["items"].as_array().unwrap() {
            assert_eq!(l["last_pushed_qty"], 32);
            assert!(l["last_push_result"].as_str().unwrap().starts_with("ok: available 32"), "{l}");
        }
        // The last units are split between the channels, never shown twice.
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "set": 30, "reason": "count" })).await;
        assert_eq!(r.status, StatusCode::OK);
        settle(&store, &worker).await;
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "delta": -25, "reason": "damaged" })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        settle(&store, &worker).await;
        let (ts, ss) = (shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), shop_stock(&ssb, s_shop.shop_id, "KAOS-M"));
        assert_eq!((ts, ss), (1, 1), "5 on hand less 3 reserved leaves 2, shown once in total, split");
        // Nothing changed: nothing is pushed again.
        let calls_before = serde_json::to_value(tsb.calls()).unwrap();
        store.enqueue(&NewJob::new(PUSH_JOB, json!({ "shop_id": t })).org(owner.org)).await.unwrap();
        settle(&store, &worker).await;
        assert_eq!(serde_json::to_value(tsb.calls()).unwrap(), calls_before);

        // Per-shop rules: TikTok shows half, less one held back; Shopee is in
        // dry run, so its pushes are explained but not sent.
        let r = test.call(Some(&owner), Method::PUT, &format!("/api/v1/shops/{t}/settings"), Some(json!({ "allocation_percent": 50, "buffer": 1 }))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = test.call(Some(&owner), Method::PUT, &format!("/api/v1/shops/{s}/settings"), Some(json!({ "dry_run": true }))).await;
        assert_eq!(r.body["settings"]["dry_run"], true);
        let bad = test.call(Some(&owner), Method::PUT, &format!("/api/v1/shops/{t}/settings"), Some(json!({ "allocation_percent": 150 }))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "set": 43, "reason": "count" })).await;
        assert_eq!(r.status, StatusCode::OK);
        settle(&store, &worker).await;
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 19, "(43 − 3 reserved) × 50 % − 1");
        assert_eq!(shop_stock(&ssb, s_shop.shop_id, "KAOS-M"), 1, "dry run sends nothing");
        let listings = test.get(&owner, &format!("/api/v1/listings?shop={s}")).await;
        let id = listings.body["items"][0]["id"].as_str().unwrap().to_owned();
        assert!(listings.body["items"][0]["last_push_result"].as_str().unwrap().starts_with("dry run: would push 40"), "{}", listings.body);
        let explain = test.get(&owner, &format!("/api/v1/listings/{id}/explain")).await;
        assert_eq!(explain.body["next"]["target"], 40, "{}", explain.body);
        let history = explain.body["history"].as_array().unwrap();
        assert!(history[0]["result"].as_str().unwrap().starts_with("dry run: would push 40"), "{}", explain.body);
        assert!(history.iter().any(|h| h["quantity"] == 1), "the split push is in the history: {}", explain.body);
        let t_listing = test.get(&owner, &format!("/api/v1/listings?shop={t}")).await.body["items"][0]["id"].as_str().unwrap().to_owned();
        let why = test.get(&owner, &format!("/api/v1/listings/{t_listing}/explain")).await;
        assert!(why.body["next"]["why"].as_str().unwrap().contains("50 % allocated"), "{}", why.body);

        // Every call to TikTok is in its call log.
        let calls = test.get(&owner, &format!("/api/v1/shops/{t}/calls?limit=200")).await;
        assert_eq!(calls.status, StatusCode::OK, "{}", calls.body);
        let ops: Vec<_> = calls.body["items"].as_array().unwrap().iter().map(|c| (c["operation"].as_str().unwrap().to_owned(), c["outcome"].as_str().unwrap().to_owned())).collect();
        assert!(ops.contains(&("update_stock".to_owned(), "ok".to_owned())), "{ops:?}");
        assert!(ops.contains(&("list_listings".to_owned(), "ok".to_owned())), "{ops:?}");
        assert!(!calls.body.to_string().to_lowercase().contains("token\":"), "no tokens in the log");

        // Pause and resume.
        let paused = test.call(Some(&owner), Method::POST, &format!("/api/v1/shops/{t}/pause"), None).await;
        assert_eq!(paused.body["status"], "paused");
        let again = test.call(Some(&owner), Method::POST, &format!("/api/v1/shops/{t}/pause"), None).await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        let resumed = test.call(Some(&owner), Method::POST, &format!("/api/v1/shops/{t}/resume"), None).await;
        assert_eq!(resumed.body["status"], "active");

        // Someone edits the stock in TikTok's back office: the read-back
        // finds it, records it and puts the right number back.
        tsb.set_stock(t_shop.shop_id, "KAOS-M", None, 7).unwrap();
        store.enqueue(&NewJob::new(DRIFT_JOB, json!({ "shop_id": t })).org(owner.org)).await.unwrap();
        settle(&store, &worker).await;
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 19, "drift corrected");
        let why = test.get(&owner, &format!("/api/v1/listings/{t_listing}/explain")).await;
        let notes: Vec<&str> = why.body["history"].as_array().unwrap().iter().map(|h| h["result"].as_str().unwrap()).collect();
        assert!(notes.iter().any(|n| n.starts_with("drift: the channel showed 7 where 19 was expected")), "{notes:?}");
        assert!(notes[0].starts_with("ok: "), "{notes:?}");
        // Nothing drifted: a second check changes nothing.
        store.enqueue(&NewJob::new(DRIFT_JOB, json!({ "shop_id": t })).org(owner.org)).await.unwrap();
        settle(&store, &worker).await;
        let after = test.get(&owner, &format!("/api/v1/listings/{t_listing}/explain")).await;
        assert_eq!(after.body["history"][0], why.body["history"][0], "no new drift");

        // A TikTok buyer orders within a second of our last push there: the
        // push may have landed after the sale and undone its deduction. The
        // push job reads TikTok back instead of sending its number blindly
        // (which would race the next buyer): TikTok shows what the sale
        // left, so no stock update goes out.
        let calls = |k: &str| tsb.calls().get(k).copied().unwrap_or(0);
        tsb.set_push_url(Some(format!("{base}/webhooks/tiktok_shop")));
        tsb.set_stock(t_shop.shop_id, "KAOS-M", None, 7).unwrap();
        store.enqueue(&NewJob::new(DRIFT_JOB, json!({ "shop_id": t })).org(owner.org)).await.unwrap();
        settle(&store, &worker).await;
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 19, "drift corrected again");
        let updates = calls("POST /product/202309/products/{product_id}/inventory/update");
        let reads = calls("POST /product/202309/products/search");
        let delivered = tsb.deliveries().len();
        tsb.place_order(t_shop.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 1 }] })).unwrap()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !tsb.deliveries().iter().skip(delivered).any(|d| d.status == Some(200)) {
            assert!(tokio::time::Instant::now() < deadline, "no webhook arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        settle(&store, &worker).await;
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 18, "(43 − 4 reserved) × 50 % − 1");
        assert!(calls("POST /product/202309/products/search") > reads, "the listing in doubt was read back");
        assert_eq!(calls("POST /product/202309/products/{product_id}/inventory/update"), updates, "and needed no push");
        let settled = test.get(&owner, &format!("/api/v1/listings/{t_listing}/explain")).await;
        assert_eq!(settled.body["next"]["uncertain"], false, "{}", settled.body);
        assert_eq!(settled.body["next"]["target"], 18, "{}", settled.body);

        // Never a number the marketplace cannot hold: TikTok Shop takes at
        // most 99,999 (it refused the whole update before).
        let r = test.call(Some(&owner), Method::PUT, &format!("/api/v1/shops/{t}/settings"), Some(json!({ "allocation_percent": 100, "buffer": 0 }))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "set": 1_000_000_000, "reason": "count" })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        settle(&store, &worker).await;
        assert_eq!(shop_stock(&tsb, t_shop.shop_id, "KAOS-M"), 99_999);
        let held = test.get(&owner, &format!("/api/v1/listings/{t_listing}/explain")).await;
        assert_eq!(held.body["history"][0]["quantity"], 99_999, "{}", held.body);
        assert!(held.body["history"][0]["result"].as_str().unwrap().contains("holds at most 99999"), "{}", held.body);
        shopee.shutdown().await;
        tiktok.shutdown().await;
    }
}
