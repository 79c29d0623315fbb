//! `storesync bench webhooks`: how fast `POST /webhooks/{marketplace}`
//! answers under a steady stream of signed deliveries, while the worker
//! processes them (fetching each order and booking it) in the same process.
//!
//! A Shopee sandbox holds real orders; the generator signs one order-status
//! push per order exactly as Shopee does and sends them open-loop at the
//! given rate (each latency is counted from the moment the delivery was due,
//! so a stalled server cannot hide its queue). Afterwards it waits until
//! every delivery has been processed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use storesync_channels::shopee::sign::push_signature;
use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::Secret;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::{ChannelRegistry, IMPORT_JOB};
use storesync_sandbox::{
    CreateShop, Credentials, FaultConfig, Marketplace, PlaceOrder, SandboxConfig, SandboxServer,
};
use storesync_store::jobs::NewJob;
use storesync_store::scratch::ScratchDb;
use storesync_store::shops::{ConnectedShop, ShopTokens};
use storesync_store::{Actor, StoreOptions};

use crate::config::Config;
use crate::server::{self, SyncMode};

#[derive(Debug, Clone, Serialize)]
pub struct WebhookFigures {
    pub backend: &'static str,
    pub rate_target: f64,
    pub sent: usize,
    pub rate_achieved: f64,
    pub not_2xx: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Seconds from the first delivery until every one was processed.
    pub processed_after_s: f64,
    pub orders_booked: i64,
}

pub async fn run(
    base: &Config,
    rate: f64,
    seconds: u64,
    postgres_url: Option<String>,
) -> anyhow::Result<WebhookFigures> {
    anyhow::ensure!(
        rate > 0.0 && seconds > 0,
        "--rate and --seconds must be positive"
    );
    let total = (rate * seconds as f64).round() as usize;
    let scratch = match &postgres_url {
        Some(url) => ScratchDb::postgres_on(url, &StoreOptions::default()).await?,
        None => {
            let dir = std::env::temp_dir().join("storesync-bench");
            ScratchDb::sqlite_in(&dir, &StoreOptions::default()).await?
        }
    };
    let backend = if postgres_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let store = scratch.store.clone();
    let actor = Actor::system("bench");
    let org = store.create_org("hooks", "Hooks", &actor).await?.id;

    // A Shopee shop with enough stock for every order, its orders placed
    // up front (the sandbox pushes nothing: the generator does).
    let sandbox = SandboxServer::start(SandboxConfig::new(Marketplace::Shopee)).await?;
    let sb = Arc::clone(sandbox.sandbox());
    // This bench measures our webhook receiver, fed far faster than one real
    // shop's API quota would let its orders be fetched (1,000 orders a second
    // against Shopee's 16 calls a second): the sandbox's rate limit is off, as
    // the client's pace is (`with_pace` below). The storms measure against
    // the limits.
    sb.set_faults(FaultConfig {
        rate_limit_off: true,
        ..FaultConfig::default()
    });
    let spec: CreateShop = serde_json::from_value(serde_json::json!({
        "name": "Hooks", "region": "ID",
        "products": [
            { "name": "Kaos", "item_sku": "HOOK-1", "price": 10000, "stock": total + 10 },
            { "name": "Topi", "item_sku": "HOOK-2", "price": 20000, "stock": total + 10 }
        ]
    }))?;
    let view = sb.create_shop(&spec)?;
    let Credentials::Shopee {
        partner_id,
        partner_key,
    } = sb.credentials().clone()
    else {
        anyhow::bail!("not a Shopee sandbox");
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let client = ShopeeClient::new(
        ShopeeConfig::new(partner_id, Secret::new(partner_key.expose().to_owned()))
            .with_base_url(sandbox.base_url())
            .with_pace(10_000),
        Arc::clone(&clock),
    )?;
    let channels = Arc::new(ChannelRegistry::new().with(Arc::new(client)));
    let (access, refresh) = sb.mint_tokens(view.shop_id)?;
    let shop = store
        .connect_shop(
            org,
            &ConnectedShop {
                marketplace: storesync_domain::Marketplace::Shopee,
                external_shop_id: view.shop_id.to_string(),
                cipher: None,
                name: view.name.clone(),
                region: None,
                tokens: ShopTokens {
                    access_token: Secret::new(access),
                    refresh_token: Secret::new(refresh),
                    access_expires_at: clock.now().plus_millis(3_600_000),
                    refresh_expires_at: None,
                },
            },
            &actor,
        )
        .await?;
    let mut order_ids = Vec::with_capacity(total);
    for i in 0..total {
        let sku = if i % 2 == 0 { "HOOK-1" } else { "HOOK-2" };
        let order: PlaceOrder = serde_json::from_value(
            serde_json::json!({ "lines": [{ "seller_sku": sku, "quantity": 1 }] }),
        )?;
        order_ids.push(sb.place_order(view.shop_id, &order)?.order_id);
    }

    let mut config = base.clone();
    config.bind = "127.0.0.1:0".into();
    let listener = server::bind(&config).await?;
    let public = format!("http://{}", listener.local_addr()?);
    let running = server::start_with(
        &config,
        store.clone(),
        Arc::clone(&channels),
        listener,
        &public,
        SyncMode::Realtime,
    )
    .await?;
    let import = store
        .enqueue(&NewJob::new(IMPORT_JOB, serde_json::json!({ "shop_id": shop.id })).org(org))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the import was not queued"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.job(import).await?.status != storesync_store::jobs::JobStatus::Done {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the catalog import did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Signed bodies, prepared before the clock starts.
    let url = format!("{public}/webhooks/shopee");
    let key = partner_key.expose().to_owned();
    let now_s = clock.now().millis() / 1000;
    let deliveries: Vec<(String, String)> = order_ids
        .iter()
        .map(|id| {
            let body = serde_json::json!({
                "shop_id": view.shop_id, "code": 3, "timestamp": now_s,
                "data": { "ordersn": id, "status": "READY_TO_SHIP", "completed_scenario": "",
                          "update_time": now_s, "items": [] }
            })
            .to_string();
            let sig = push_signature(&key, &url, body.as_bytes());
            (body, sig)
        })
        .collect();

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for (i, (body, sig)) in deliveries.into_iter().enumerate() {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let ok = http
                .post(&url)
                .header("content-type", "application/json")
                .header("authorization", sig)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (due.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut not_2xx = 0;
    for t in tasks {
        let (ms, ok) = t.await?;
        latencies.push(ms);
        if !ok {
            not_2xx += 1;
        }
    }
    let sent_in = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    while store.unprocessed_webhooks().await? > 0 || store.pending_job_count().await? > 0 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "deliveries were not processed in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let processed_after_s = started.elapsed().as_secs_f64();
    let orders_booked = store.intake_counts(org).await?.0;
    running.stop().await?;
    sandbox.shutdown().await;
    scratch.drop_db().await;

    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        (latencies.get(i).copied().unwrap_or(0.0) * 10.0).round() / 10.0
    };
    Ok(WebhookFigures {
        backend,
        rate_target: rate,
        sent: total,
        rate_achieved: (total as f64 / sent_in * 10.0).round() / 10.0,
        not_2xx,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: pick(1.0),
        processed_after_s: (processed_after_s * 10.0).round() / 10.0,
        orders_booked,
    })
}
