//! Token lifecycle against the Shopee sandbox: refreshed before expiry,
//! committed before use, and a refused refresh parks the shop.

use std::sync::Arc;

use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::Secret;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::ChannelRegistry;
use storesync_engine::shop::{RefreshLocks, ShopSession};
use storesync_engine::tokens::REFRESH_DUE_JOB;
use storesync_engine::{Engine, EngineConfig, WorkerConfig};
use storesync_sandbox::{CreateShop, Marketplace, SandboxConfig, SandboxServer};
use storesync_store::backend_test;
use storesync_store::jobs::{JobStatus, NewJob};
use storesync_store::shops::{ConnectedShop, ShopStatus, ShopTokens};
use storesync_store::Actor;

backend_test! {
    async fn tokens_are_refreshed_before_expiry_and_a_refusal_parks_the_shop(store) {
        let sandbox = SandboxServer::start(SandboxConfig::new(Marketplace::Shopee)).await.unwrap();
        let sb = sandbox.sandbox().clone();
        let spec: CreateShop = serde_json::from_value(serde_json::json!({ "name": "S", "region": "ID", "products": [] })).unwrap();
        let mk = |name: &str| -> CreateShop { let mut s = spec.clone(); s.name = Some(name.into()); s };
        let (a, b) = (sb.create_shop(&mk("A")).unwrap(), sb.create_shop(&mk("B")).unwrap());
        let client = ShopeeClient::new(
            ShopeeConfig::new(2001887, Secret::new("test_partner_key_0001".to_owned())).with_base_url(sandbox.base_url()),
            Arc::new(SystemClock),
        ).unwrap();
        let channels = Arc::new(ChannelRegistry::new().with(Arc::new(client)));
        let org = store.create_org("tok", "Tok", &Actor::system("t")).await.unwrap().id;
        let soon = SystemClock.now().plus_millis(10 * 60_000);
        let mut shops = Vec::new();
        for view in [&a, &b] {
            let (access, refresh) = sb.mint_tokens(view.shop_id).unwrap();
            let shop = store.connect_shop(org, &ConnectedShop {
                marketplace: storesync_domain::Marketplace::Shopee, external_shop_id: view.shop_id.to_string(), cipher: None, name: view.name.clone(), region: None,
                tokens: ShopTokens { access_token: Secret::new(access), refresh_token: Secret::new(refresh), access_expires_at: soon, refresh_expires_at: None },
            }, &Actor::system("t")).await.unwrap();
            shops.push(shop);
        }
        // Shop B's seller revokes access on the marketplace.
        sb.deauthorize(b.shop_id).unwrap();

        // The engine as the server builds it: every job kind is handled.
        let engine = Engine::builder(store.clone(), EngineConfig { worker: WorkerConfig { id: "w".into(), ..WorkerConfig::default() }, ..EngineConfig::default() })
            .channels(channels)
            .build();
        let worker = engine.worker();
        store.enqueue(&NewJob::new(REFRESH_DUE_JOB, serde_json::json!({}))).await.unwrap();
        for _ in 0..5 {
            worker.run_once().await.unwrap();
        }
        let old = shops[0].access_expires_at.unwrap();
        let refreshed = store.shop(org, shops[0].id).await.unwrap();
        assert!(refreshed.access_expires_at.unwrap().millis() > old.millis() + 3 * 3_600_000, "new 4-hour token stored");
        assert_eq!(refreshed.status, ShopStatus::Active);
        let parked = store.shop(org, shops[1].id).await.unwrap();
        assert_eq!(parked.status, ShopStatus::NeedsReauth, "{parked:?}");
        assert!(parked.last_error.unwrap().contains("refused"));
        let dead = store.list_jobs(org, Some(JobStatus::Dead), &Default::default()).await.unwrap();
        assert_eq!(dead.items.len(), 1, "the refused refresh is not retried");
        // Nothing is due any more: no new refresh jobs.
        store.enqueue(&NewJob::new(REFRESH_DUE_JOB, serde_json::json!({}))).await.unwrap();
        worker.run_once().await.unwrap();
        assert_eq!(store.list_jobs(org, Some(JobStatus::Queued), &Default::default()).await.unwrap().items.len(), 0);
        sandbox.shutdown().await;
    }
}

backend_test! {
    async fn two_processes_refreshing_one_shop_at_once_refresh_it_once(store) {
        // Shopee's refresh token is single-use: had both processes sent it,
        // the second would be refused and the shop parked for re-authorization.
        let sandbox = SandboxServer::start(SandboxConfig::new(Marketplace::Shopee)).await.unwrap();
        let sb = sandbox.sandbox().clone();
        let view = sb.create_shop(&serde_json::from_value::<CreateShop>(serde_json::json!({ "name": "S", "region": "ID", "products": [] })).unwrap()).unwrap();
        let client = ShopeeClient::new(
            ShopeeConfig::new(2001887, Secret::new("test_partner_key_0001".to_owned())).with_base_url(sandbox.base_url()),
            Arc::new(SystemClock),
        ).unwrap();
        let channels = Arc::new(ChannelRegistry::new().with(Arc::new(client)));
        let org = store.create_org("two", "Two", &Actor::system("t")).await.unwrap().id;
        let (access, refresh) = sb.mint_tokens(view.shop_id).unwrap();
        let shop = store.connect_shop(org, &ConnectedShop {
            marketplace: storesync_domain::Marketplace::Shopee, external_shop_id: view.shop_id.to_string(), cipher: None, name: "S".into(), region: None,
            tokens: ShopTokens { access_token: Secret::new(access), refresh_token: Secret::new(refresh), access_expires_at: SystemClock.now().plus_millis(60_000), refresh_expires_at: None },
        }, &Actor::system("t")).await.unwrap();
        let refreshes = || sb.calls().iter().filter(|(k, _)| k.contains("/auth/access_token/get")).map(|(_, n)| *n).sum::<u64>();
        let before = refreshes();
        // Two processes: each its own refresh locks, both sessions opened
        // with the same (about to be replaced) pair.
        let (locks_a, locks_b) = (RefreshLocks::default(), RefreshLocks::default());
        let mut a = ShopSession::open(&store, &channels, org, shop.id).await.unwrap();
        let mut b = ShopSession::open(&store, &channels, org, shop.id).await.unwrap();
        let (ra, rb) = tokio::join!(a.refresh(&store, &locks_a), b.refresh(&store, &locks_b));
        ra.unwrap();
        rb.unwrap();
        assert_eq!(refreshes() - before, 1, "one refresh for both");
        assert_eq!(a.creds.access_token.expose(), b.creds.access_token.expose(), "both use the new token");
        let stored = store.shop(org, shop.id).await.unwrap();
        assert_eq!(stored.status, ShopStatus::Active, "{stored:?}");
        // The lease was given back: a later refresh goes through at once.
        let mut c = ShopSession::open(&store, &channels, org, shop.id).await.unwrap();
        c.refresh(&store, &RefreshLocks::default()).await.unwrap();
        assert_eq!(refreshes() - before, 2);
        assert_eq!(store.shop(org, shop.id).await.unwrap().status, ShopStatus::Active);
        sandbox.shutdown().await;
    }
}
