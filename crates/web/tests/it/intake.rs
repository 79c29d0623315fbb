//! Orders from a Shopee shop reach StoreSync exactly once: by signed
//! webhook, and by polling when the webhook never came.

use std::sync::Arc;
use std::time::Duration;

use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::Secret;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::{ChannelRegistry, IMPORT_JOB};
use storesync_engine::intake::POLL_JOB;
use storesync_engine::Worker;
use storesync_sandbox::{
    CreateShop, FaultConfig, Marketplace, PlaceOrder, SandboxConfig, SandboxServer, WebhookFaults,
};
use storesync_store::backend_test;
use storesync_store::jobs::NewJob;
use storesync_store::shops::{ConnectedShop, ShopTokens};
use storesync_web::{App, AppState, WebConfig};

use super::*;

/// Run the worker until no job is due (bounded).
async fn drain(worker: &Worker) {
    for _ in 0..50 {
        if worker.run_once().await.unwrap() == storesync_engine::RunOnce::Idle {
            return;
        }
    }
    panic!("the job queue did not drain");
}

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Shopee sandbox with one shop selling KAOS-M (10 on hand), connected
/// to a running app and imported.
struct Env {
    sandbox: SandboxServer,
    sb: Arc<storesync_sandbox::Sandbox>,
    view: storesync_sandbox::ShopView,
    base: String,
    test: TestApp,
    owner: Tenant,
    shop: storesync_store::shops::Shop,
    worker: Worker,
    intake: storesync_engine::intake::Intake,
    channels: Arc<ChannelRegistry>,
}

async fn shopee_env(store: storesync_store::Store) -> Env {
    let mut config = SandboxConfig::new(Marketplace::Shopee);
    config.time_scale = 0.001;
    let sandbox = SandboxServer::start(config).await.unwrap();
    let sb = sandbox.sandbox().clone();
    let spec: CreateShop = serde_json::from_value(json!({
            "name": "Toko", "region": "ID",
            "products": [{ "name": "Kaos", "variants": [{ "seller_sku": "KAOS-M", "price": 99000, "stock": 10 }] }]
        })).unwrap();
    let view = sb.create_shop(&spec).unwrap();
    let client = ShopeeClient::new(
        ShopeeConfig::new(2001887, Secret::new("test_partner_key_0001".to_owned()))
            .with_base_url(sandbox.base_url()),
        Arc::new(SystemClock),
    )
    .unwrap();
    let channels = Arc::new(ChannelRegistry::new().with(Arc::new(client)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = App::from_listener(
        listener,
        AppState::new(store.clone(), WebConfig::default()).with_channels(channels.clone(), &base),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        rx.await.ok();
    }));
    let test = TestApp {
        base: base.clone(),
        store: store.clone(),
        http: reqwest::Client::new(),
        _shutdown: tx,
    };
    let owner = test.tenant(Role::Owner).await;

    // A connected shop whose catalog is imported (10 on hand).
    let (access, refresh) = sb.mint_tokens(view.shop_id).unwrap();
    let shop = store
        .connect_shop(
            owner.org,
            &ConnectedShop {
                marketplace: storesync_domain::Marketplace::Shopee,
                external_shop_id: view.shop_id.to_string(),
                cipher: None,
                name: "Toko".into(),
                region: None,
                tokens: ShopTokens {
                    access_token: Secret::new(access),
                    refresh_token: Secret::new(refresh),
                    access_expires_at: SystemClock.now().plus_millis(4 * 3_600_000),
                    refresh_expires_at: Some(SystemClock.now().plus_millis(2 * 24 * 3_600_000)),
                },
            },
            &storesync_store::Actor::system("test"),
        )
        .await
        .unwrap();
    let engine = engine(&store, channels.clone());
    let (worker, intake) = (engine.worker().clone(), engine.intake().clone());
    store
        .enqueue(&NewJob::new(IMPORT_JOB, json!({ "shop_id": shop.id })).org(owner.org))
        .await
        .unwrap();
    drain(&worker).await;
    Env {
        sandbox,
        sb,
        view,
        base,
        test,
        owner,
        shop,
        worker,
        intake,
        channels,
    }
}

backend_test! {
    async fn orders_arrive_by_webhook_once_and_by_polling_when_the_webhook_is_lost(store) {
        let Env { sandbox, sb, view, base, test, owner, shop, worker, .. } = shopee_env(store.clone()).await;
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["on_hand"], 10);
        let shops = test.get(&owner, "/api/v1/shops").await;
        assert_eq!(shops.body[0]["authorization_ends_soon"], true, "authorization ends in 2 days: {}", shops.body);

        // A forged webhook is refused and stores nothing.
        let forged = test.http.post(format!("{base}/webhooks/shopee")).header("authorization", "0".repeat(64))
            .body(r#"{"code":3,"shop_id":1,"data":{}}"#).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

        // A buyer orders 2; the marketplace pushes a signed webhook to us.
        sb.set_push_url(Some(format!("{base}/webhooks/shopee")));
        let placed = sb.place_order(view.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 2 }] })).unwrap()).unwrap();
        let sb2 = sb.clone();
        wait_for("the webhook to be acknowledged", move || sb2.deliveries().iter().any(|d| d.status == Some(200))).await;
        drain(&worker).await;
        let orders = test.get(&owner, "/api/v1/orders?channel=shopee").await;
        let items = orders.body["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 1, "{}", orders.body);
        assert_eq!(items[0]["external_id"], placed.order_id.to_string());
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"], json!({ "on_hand": 10, "reserved": 2, "available": 8 }));

        // Webhooks are lost from now on; polling still finds the next order.
        sb.set_faults(FaultConfig { webhooks: WebhookFaults { drop_rate: 1.0, ..Default::default() }, ..Default::default() });
        sb.place_order(view.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 3 }] })).unwrap()).unwrap();
        store.enqueue(&NewJob::new(POLL_JOB, json!({ "shop_id": shop.id })).org(owner.org)).await.unwrap();
        drain(&worker).await;
        let orders = test.get(&owner, "/api/v1/orders?channel=shopee").await;
        assert_eq!(orders.body["items"].as_array().unwrap().len(), 2, "{}", orders.body);
        let of_shop = test.get(&owner, &format!("/api/v1/orders?shop={}", shop.id)).await;
        assert_eq!(of_shop.body["items"].as_array().unwrap().len(), 2, "filtered by shop: {}", of_shop.body);
        let other = test.get(&owner, &format!("/api/v1/orders?shop={}", storesync_domain::ids::ShopId::new())).await;
        assert_eq!(other.body["items"].as_array().unwrap().len(), 0, "{}", other.body);
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["reserved"], 5);
        assert_eq!(store.intake_counts(owner.org).await.unwrap(), (2, 1), "one order was missed by webhooks");
        let stats = test.get(&owner, "/api/v1/intake/stats").await;
        assert_eq!(stats.body, json!({ "marketplace_orders": 2, "found_by_polling_only": 1, "webhook_loss_rate": 0.5 }));
        // Polling again changes nothing.
        store.enqueue(&NewJob::new(POLL_JOB, json!({ "shop_id": shop.id })).org(owner.org)).await.unwrap();
        drain(&worker).await;
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["reserved"], 5);
        let dead = test.get(&owner, "/api/v1/jobs?status=dead").await;
        assert!(dead.body["items"].as_array().unwrap().is_empty(), "{}", dead.body);
        sandbox.shutdown().await;
    }

}

backend_test! {
    async fn an_order_whose_push_was_lost_is_found_by_the_follow_up_poll(store) {
        let Env { sandbox, sb, view, base, test, owner, shop, worker, .. } = shopee_env(store.clone()).await;
        let order = |q: i64| serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": q }] })).unwrap();
        sb.set_push_url(Some(format!("{base}/webhooks/shopee")));
        sb.place_order(view.shop_id, &order(1)).unwrap();
        let sb2 = sb.clone();
        wait_for("the webhook to be acknowledged", move || sb2.deliveries().iter().any(|d| d.status == Some(200))).await;
        drain(&worker).await;
        // Booking the push queued a narrow poll of this shop for shortly after.
        let queued = store.list_jobs(owner.org, Some(storesync_store::jobs::JobStatus::Queued), &Default::default()).await.unwrap();
        let follow_up: Vec<_> = queued.items.iter().filter(|j| j.kind == POLL_JOB && j.payload.get("since").is_some()).collect();
        assert_eq!(follow_up.len(), 1, "{queued:?}");
        assert!(follow_up[0].run_at > store.now(), "not due at once: {:?}", follow_up[0]);

        // The next sale's push is lost; no scheduled poll runs here.
        sb.set_faults(FaultConfig { webhooks: WebhookFaults { drop_rate: 1.0, ..Default::default() }, ..Default::default() });
        let lost = sb.place_order(view.shop_id, &order(3)).unwrap();
        tokio::time::sleep(Duration::from_millis(4_100)).await;
        drain(&worker).await;
        let orders = test.get(&owner, "/api/v1/orders?channel=shopee").await;
        let ids: Vec<&str> = orders.body["items"].as_array().unwrap().iter().map(|o| o["external_id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "{}", orders.body);
        assert!(ids.contains(&lost.order_id.to_string().as_str()), "{}", orders.body);
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["reserved"], 4, "each order booked once");
        assert_eq!(store.intake_counts(owner.org).await.unwrap(), (2, 1), "the lost one counts as missed by webhooks");
        // The scheduled poll's cursor is its own: the follow-up did not move it.
        let polled = store.orders_polled_until(&store.shop(owner.org, shop.id).await.unwrap()).await.unwrap();
        assert_eq!(polled, None);
        sandbox.shutdown().await;
    }
}

backend_test! {
    async fn a_follow_up_poll_waits_for_the_shops_pushes_still_in_the_inbox(store) {
        let Env { sandbox, sb, view, base, test, owner, shop, worker, intake, .. } = shopee_env(store.clone()).await;
        sb.set_push_url(Some(format!("{base}/webhooks/shopee")));
        sb.place_order(view.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 2 }] })).unwrap()).unwrap();
        let sb2 = sb.clone();
        wait_for("the webhook to be acknowledged", move || sb2.deliveries().iter().any(|d| d.status == Some(200))).await;
        // The push is stored, not booked yet, and older than the poll's grace.
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let since = store.now().plus_millis(-10_000);
        let waited = intake.poll_unseen(owner.org, shop.id, since).await;
        assert!(matches!(waited, Err(storesync_engine::JobError::Defer { .. })), "{waited:?}");
        let orders = test.get(&owner, "/api/v1/orders?channel=shopee").await;
        assert!(orders.body["items"].as_array().unwrap().is_empty(), "nothing booked from the poll: {}", orders.body);
        // Once the intake caught up, the poll finds nothing new to book.
        drain(&worker).await;
        intake.poll_unseen(owner.org, shop.id, since).await.unwrap();
        let orders = test.get(&owner, "/api/v1/orders?channel=shopee").await;
        assert_eq!(orders.body["items"].as_array().unwrap().len(), 1, "{}", orders.body);
        assert_eq!(store.intake_counts(owner.org).await.unwrap(), (1, 0), "its push was not lost");
        sandbox.shutdown().await;
    }
}

backend_test! {
    async fn a_burst_of_deliveries_is_fetched_in_batches_and_booked_once(store) {
        let Env { sandbox, sb, view, base, test, owner, shop, worker, .. } = shopee_env(store.clone()).await;
        // 8 buyers each take one unit while StoreSync is not draining: 8
        // deliveries wait in the inbox.
        sb.set_push_url(Some(format!("{base}/webhooks/shopee")));
        for _ in 0..8 {
            sb.place_order(view.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 1 }] })).unwrap()).unwrap();
        }
        let sb2 = sb.clone();
        wait_for("every webhook to be acknowledged", move || sb2.deliveries().iter().filter(|d| d.status == Some(200)).count() >= 8).await;
        assert_eq!(store.unprocessed_webhooks().await.unwrap(), 8);
        drain(&worker).await;
        assert_eq!(store.unprocessed_webhooks().await.unwrap(), 0);
        let orders = test.get(&owner, "/api/v1/orders?channel=shopee&limit=100").await;
        assert_eq!(orders.body["items"].as_array().unwrap().len(), 8, "{}", orders.body);
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["reserved"], 8);
        // One detail call for all 8 (Shopee takes 50 order numbers a call),
        // not one a delivery.
        let calls = test.get(&owner, &format!("/api/v1/shops/{}/calls?limit=100", shop.id)).await;
        let details = calls.body["items"].as_array().unwrap().iter()
            .filter(|c| c["operation"] == "order_details").count();
        assert_eq!(details, 1, "{}", calls.body);
        let dead = test.get(&owner, "/api/v1/jobs?status=dead").await;
        assert!(dead.body["items"].as_array().unwrap().is_empty(), "{}", dead.body);
        sandbox.shutdown().await;
    }
}

/// What the Shopee sandbox shows of KAOS-M.
fn shown(sb: &storesync_sandbox::Sandbox, shop: u64) -> i64 {
    let listings = serde_json::to_value(sb.listings(shop).unwrap()).unwrap();
    listings
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["seller_sku"] == "KAOS-M")
        .unwrap()["total_stock"]
        .as_i64()
        .unwrap()
}

/// The shop's push, run now as the worker would run it.
async fn push_now(
    store: &storesync_store::Store,
    channels: &Arc<ChannelRegistry>,
    org: storesync_domain::ids::OrgId,
    shop: storesync_domain::ids::ShopId,
) {
    use storesync_engine::JobHandler;
    let now = store.now();
    let job = storesync_store::jobs::Job {
        id: storesync_domain::Id::new(),
        kind: storesync_engine::propagate::PUSH_JOB.into(),
        org_id: Some(org),
        payload: json!({ "shop_id": shop }),
        status: storesync_store::jobs::JobStatus::Running,
        run_at: now,
        attempts: 1,
        max_attempts: 5,
        last_error: None,
        locked_by: None,
        created_at: now,
        updated_at: now,
    };
    let handler = storesync_engine::propagate::PushHandler::new(
        store.clone(),
        channels.clone(),
        Arc::default(),
    );
    handler.run(&job).await.unwrap();
}

backend_test! {
    async fn a_push_lowers_at_once_while_the_shops_pushes_wait_but_raises_only_after(store) {
        let Env { sandbox, sb, view, base, test, owner, shop, worker, channels, .. } = shopee_env(store.clone()).await;
        assert_eq!(shown(&sb, view.shop_id), 10);
        // A buyer takes 2; the push is stored, not booked yet.
        sb.set_push_url(Some(format!("{base}/webhooks/shopee")));
        sb.place_order(view.shop_id, &serde_json::from_value::<PlaceOrder>(json!({ "lines": [{ "seller_sku": "KAOS-M", "quantity": 2 }] })).unwrap()).unwrap();
        let sb2 = sb.clone();
        wait_for("the webhook to be acknowledged", move || sb2.deliveries().iter().any(|d| d.status == Some(200))).await;
        assert_eq!(store.unprocessed_webhooks().await.unwrap(), 1);
        assert_eq!(shown(&sb, view.shop_id), 8);
        // Five are found damaged: the books say 5, the shop shows 8. The
        // lowering goes out although the sale is not booked yet.
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "delta": -5, "reason": "damaged" })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        push_now(&store, &channels, owner.org, shop.id).await;
        assert_eq!(shown(&sb, view.shop_id), 5, "lowered while the delivery waits");
        // A delivery of 20: a raise waits for the sale to be booked — sent
        // now it would show the 2 sold units again.
        let r = test.post(&owner, "/api/v1/inventory/adjustments", json!({ "sku": "KAOS-M", "delta": 20, "reason": "delivery" })).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        push_now(&store, &channels, owner.org, shop.id).await;
        assert_eq!(shown(&sb, view.shop_id), 5, "the raise waits");
        assert_eq!(store.unprocessed_webhooks().await.unwrap(), 1);
        // Once the sale is booked, the raise goes out with it counted.
        drain(&worker).await;
        store.drain_dirty(500).await.unwrap();
        drain(&worker).await;
        assert_eq!(test.get(&owner, "/api/v1/inventory?sku=KAOS-M").await.body["totals"]["available"], 23);
        assert_eq!(shown(&sb, view.shop_id), 23);
        sandbox.shutdown().await;
    }
}
