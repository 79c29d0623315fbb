//! `storesync bench oversell`: a sell-out storm against sandbox shops on
//! every implemented marketplace, all selling the same SKUs with small
//! stock, with StoreSync keeping them in sync, and the same storm against a
//! periodic-sync baseline. Oversells are counted by the sandboxes: units
//! sold beyond the seller's physical stock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use storesync_channels::Secret;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::{ChannelRegistry, IMPORT_JOB};
use storesync_engine::drift::drift_job;
use storesync_engine::intake::POLL_JOB;
use storesync_sandbox::{
    BuyerSettings, CreateShop, FaultConfig, Marketplace, SandboxConfig, SandboxServer,
    WebhookFaults,
};
use storesync_store::jobs::NewJob;
use storesync_store::scratch::ScratchDb;
use storesync_store::shops::{ConnectedShop, ShopTokens};
use storesync_store::{Actor, OrderFilter, PageRequest, StoreOptions};

use crate::config::Config;
use crate::server::{self, SyncMode};

#[derive(Debug, Clone)]
pub struct StormOptions {
    pub skus: usize,
    pub stock: i64,
    /// Orders per second over all shops.
    pub rate: f64,
    /// Added to every marketplace API call (realistic network latency).
    pub latency_ms: u64,
    pub max_seconds: u64,
    /// Storm under marketplace faults (server errors, timeouts, throttling,
    /// expiring tokens, duplicated, reordered and lost webhooks); once the
    /// buyers stop, the faults stop and StoreSync must converge.
    pub faults: bool,
    /// Books on a scratch database on this PostgreSQL server (else SQLite).
    pub postgres_url: Option<String>,
}

/// How long nothing must be shown anywhere before a storm counts as sold
/// out.
const SOLD_OUT_AFTER: Duration = Duration::from_secs(2);

/// The fault mix of a `--faults` storm.
fn storm_faults(latency_ms: u64) -> FaultConfig {
    FaultConfig {
        latency_ms,
        error_rate: 0.05,
        timeout_rate: 0.02,
        timeout_ms: 1500,
        rate_limit_qps: Some(10),
        webhooks: WebhookFaults {
            duplicate_rate: 0.2,
            drop_rate: 0.1,
            reorder: true,
        },
        ..FaultConfig::default()
    }
}

/// After a fault storm: whether StoreSync converged on the truth.
#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    /// Every marketplace order is in the books exactly once.
    pub orders_exactly_once: bool,
    /// Marketplace orders missing from the books, and orders in the books
    /// more than once.
    pub missing_orders: usize,
    pub duplicate_orders: usize,
    /// Every channel shows what it should for the stock left.
    pub stock_converged: bool,
    /// Inventory ledger problems found (`storesync check`).
    pub ledger_problems: usize,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Sales seen by the sampler.
    pub sales: usize,
    /// Sales after which some channel showed a wrong number (the others
    /// fell inside a channel's share and needed no update).
    pub needing_update: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StormResult {
    pub oversold_units: i64,
    pub sell_through: f64,
    pub orders_placed: usize,
    pub orders_ingested: usize,
    /// Sale → no channel shows more than the stock left after it.
    pub propagation_ms: Latency,
    /// Sale → every channel shows exactly what it should (see `settling`).
    pub settled_ms: Latency,
    pub api_calls: u64,
    pub api_calls_min: u64,
    /// Stock-update calls per marketplace (Lazada batches up to 50 SKUs of
    /// any products in one call; Shopee and TikTok take one item each).
    pub api_calls_by_marketplace: BTreeMap<String, u64>,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergence: Option<Convergence>,
}

/// What every channel showed for one SKU, and how many units were sold.
#[derive(Debug, Clone)]
struct Snapshot {
    at: Instant,
    sold: i64,
    shown: Vec<i64>,
    /// Units sold per channel (same order as `shown`).
    sold_by: Vec<i64>,
}

/// Run one storm in `mode`.
pub async fn storm(
    base: &Config,
    opts: &StormOptions,
    mode: SyncMode,
) -> anyhow::Result<StormResult> {
    let dir = std::env::temp_dir().join("storesync-bench");
    let scratch = match &opts.postgres_url {
        Some(url) => ScratchDb::postgres_on(url, &StoreOptions::default()).await?,
        None => ScratchDb::sqlite_in(&dir, &StoreOptions::default()).await?,
    };
    let store = scratch.store.clone();
    let actor = Actor::system("bench");
    let org = store.create_org("storm", "Storm", &actor).await?.id;

    let mut servers = Vec::new();
    for m in [
        Marketplace::Shopee,
        Marketplace::TikTok,
        Marketplace::Lazada,
    ] {
        let server = SandboxServer::start(SandboxConfig::new(m)).await?;
        // Each marketplace's own documented rate limit (the default).
        server.sandbox().set_faults(FaultConfig {
            latency_ms: opts.latency_ms,
            ..FaultConfig::default()
        });
        servers.push(server);
    }
    let skus: Vec<String> = (0..opts.skus).map(|i| format!("STORM-{i:03}")).collect();
    let products: Vec<_> = skus
        .iter()
        .map(|s| serde_json::json!({ "name": s, "item_sku": s, "price": 10000, "stock": opts.stock }))
        .collect();

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut registry = ChannelRegistry::new();
    let mut shops = Vec::new();
    for server in &servers {
        let sb = server.sandbox();
        let spec: CreateShop = serde_json::from_value(
            serde_json::json!({ "name": "Storm", "region": "ID", "products": products }),
        )?;
        let view = sb.create_shop(&spec)?;
        registry = registry.with(crate::channels::for_sandbox(server, Arc::clone(&clock))?);
        let marketplace = match sb.marketplace() {
            Marketplace::Shopee => storesync_domain::Marketplace::Shopee,
            Marketplace::TikTok => storesync_domain::Marketplace::TikTokShop,
            Marketplace::Lazada => storesync_domain::Marketplace::Lazada,
        };
        let (access, refresh) = sb.mint_tokens(view.shop_id)?;
        let shop = store
            .connect_shop(
                org,
                &ConnectedShop {
                    marketplace,
                    external_shop_id: view.shop_id.to_string(),
                    cipher: (!view.cipher.is_empty()).then(|| view.cipher.clone()),
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
        shops.push((shop, view.shop_id, marketplace.as_str()));
    }
    let channels = Arc::new(registry);
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
        mode,
    )
    .await?;

    // Import catalogs (the first shop seeds the master count) and wait for
    // the queue to empty.
    for (shop, _, _) in &shops {
        store
            .enqueue(&NewJob::new(IMPORT_JOB, serde_json::json!({ "shop_id": shop.id })).org(org))
            .await?;
    }
    wait_idle(&store, Duration::from_secs(30)).await?;
    if mode == SyncMode::Realtime {
        // The import's stock marks must be pushed before the buyers come.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let idle = !store.has_dirty_variants().await? && store.pending_job_count().await? == 0;
            let mut shown: HashMap<String, i64> = HashMap::new();
            for (server, (_, id, _)) in servers.iter().zip(&shops) {
                for l in server.sandbox().listings(*id)? {
                    *shown.entry(l.seller_sku.clone()).or_default() += l.total_stock;
                }
            }
            let settled = opts.stock > storesync_store::propagation::SPLIT_BELOW
                || shown.values().all(|n| *n == opts.stock);
            if idle && settled {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the first push did not finish (idle {idle}, shown {shown:?})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (server, (_, _, m)) in servers.iter().zip(&shops) {
            server
                .sandbox()
                .set_push_url(Some(format!("{public}/webhooks/{m}")));
        }
    }
    if opts.faults {
        for server in &servers {
            server.sandbox().set_faults(storm_faults(opts.latency_ms));
        }
    }
    let calls_before: Vec<u64> = servers.iter().map(|s| stock_calls(s.sandbox())).collect();

    // Sample every listing and the units sold while the buyers storm.
    let snapshots: Arc<Mutex<HashMap<String, Vec<Snapshot>>>> = Arc::default();
    let stop_sampling = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let sandboxes: Vec<_> = servers.iter().map(|s| Arc::clone(s.sandbox())).collect();
        let ids: Vec<u64> = shops.iter().map(|(_, id, _)| *id).collect();
        let (snapshots, stop) = (Arc::clone(&snapshots), Arc::clone(&stop_sampling));
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let now = Instant::now();
                let mut sold: HashMap<String, i64> = HashMap::new();
                let mut sold_by: HashMap<String, Vec<i64>> = HashMap::new();
                let mut shown: HashMap<String, Vec<i64>> = HashMap::new();
                for (i, sb) in sandboxes.iter().enumerate() {
                    if let Some(per_sku) = sb.sales().get(&ids[i]) {
                        for (sku, s) in per_sku {
                            *sold.entry(sku.clone()).or_default() += s.units_net;
                            sold_by
                                .entry(sku.clone())
                                .or_insert_with(|| vec![0; sandboxes.len()])[i] = s.units_net;
                        }
                    }
                    if let Ok(listings) = sb.listings(ids[i]) {
                        for l in listings {
                            shown
                                .entry(l.seller_sku.clone())
                                .or_insert_with(|| vec![0; sandboxes.len()])[i] = l.total_stock;
                        }
                    }
                }
                {
                    let mut all = snapshots.lock().unwrap_or_else(|p| p.into_inner());
                    for (sku, shown) in shown {
                        let sold = sold.get(&sku).copied().unwrap_or(0);
                        let by = sold_by.remove(&sku).unwrap_or_default();
                        let line = all.entry(sku).or_default();
                        if line
                            .last()
                            .is_none_or(|l| l.sold != sold || l.shown != shown)
                        {
                            line.push(Snapshot {
                                at: now,
                                sold,
                                shown,
                                sold_by: by,
                            });
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    let started_at = store.now();
    let per_shop = opts.rate / servers.len() as f64;
    for (server, (_, id, _)) in servers.iter().zip(&shops) {
        server.sandbox().set_buyers(
            *id,
            BuyerSettings {
                orders_per_sec: per_shop,
                max_quantity: 1,
                cancel_rate: 0.0,
                tokopedia_share: 0.0,
            },
        )?;
    }
    // Until every listing everywhere shows nothing left (or time is up).
    let deadline = started + Duration::from_secs(opts.max_seconds);
    let mut ticks = 0u64;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        ticks += 1;
        if opts.faults && ticks.is_multiple_of(20) {
            // Access tokens die every two seconds; refreshes must keep up.
            for (server, (_, id, _)) in servers.iter().zip(&shops) {
                server.sandbox().expire_tokens(*id)?;
            }
        }
        let mut left = 0;
        for (server, (_, id, _)) in servers.iter().zip(&shops) {
            left += server
                .sandbox()
                .listings(*id)?
                .iter()
                .map(|l| l.total_stock)
                .sum::<i64>();
        }
        if Instant::now() > deadline {
            break;
        }
        // Sold out means nothing shown anywhere once all work has settled,
        // and still nothing a while later: buyers keep looking, so units a
        // push held back and gives back shortly after are still sold.
        let dirty = mode == SyncMode::Realtime && store.has_dirty_variants().await?;
        if left == 0 && store.pending_job_count().await? == 0 && !dirty {
            tokio::time::sleep(SOLD_OUT_AFTER).await;
            let mut still = 0;
            for (server, (_, id, _)) in servers.iter().zip(&shops) {
                still += server
                    .sandbox()
                    .listings(*id)?
                    .iter()
                    .map(|l| l.total_stock)
                    .sum::<i64>();
            }
            if still == 0 {
                break;
            }
        }
    }
    for (server, (_, id, _)) in servers.iter().zip(&shops) {
        server.sandbox().set_buyers(*id, BuyerSettings::default())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let converge_from = Instant::now();
    if opts.faults {
        // The faults stop; polling and read-back are the safety net.
        for server in &servers {
            server.sandbox().set_faults(FaultConfig {
                latency_ms: opts.latency_ms,
                ..FaultConfig::default()
            });
        }
        let now = store.now();
        for (shop, _, _) in &shops {
            store
                .enqueue(&NewJob::new(POLL_JOB, serde_json::json!({ "shop_id": shop.id })).org(org))
                .await?;
            store.enqueue(&drift_job(org, shop.id, now)).await?;
        }
    }
    // Let intake finish (the baseline needs a full period).
    if let SyncMode::Periodic(every) = mode {
        tokio::time::sleep(every + Duration::from_millis(500)).await;
    }
    wait_idle(&store, Duration::from_secs(60)).await?;
    let convergence = if opts.faults {
        Some(converge(&store, org, &servers, &shops, opts, converge_from).await?)
    } else {
        None
    };
    stop_sampling.store(true, std::sync::atomic::Ordering::Relaxed);
    sampler.await.ok();

    // Tally.
    let mut sold: BTreeMap<String, i64> = BTreeMap::new();
    let mut placed = 0;
    for (server, (_, id, _)) in servers.iter().zip(&shops) {
        let sb = server.sandbox();
        placed += sb.orders(Some(*id)).len();
        if let Some(per_sku) = sb.sales().get(id) {
            for (sku, s) in per_sku {
                *sold.entry(sku.clone()).or_default() += s.units_net;
            }
        }
    }
    let physical = opts.stock;
    let oversold: i64 = sold.values().map(|s| (s - physical).max(0)).sum();
    if std::env::var_os("STORESYNC_STORM_TRACE").is_some() {
        // What each channel showed and sold, for every SKU sold beyond its
        // stock: the trail to the push that let it happen.
        let all = snapshots.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let every = std::env::var("STORESYNC_STORM_TRACE").is_ok_and(|v| v == "all");
        // Times below are from this instant, to line them up with the log.
        let names: Vec<&str> = shops.iter().map(|(_, _, m)| *m).collect();
        eprintln!(
            "storm began at {} (UTC); columns: {names:?}",
            started_at.to_rfc3339()
        );
        for (sku, n) in &sold {
            if *n <= physical && !every {
                continue;
            }
            eprintln!("{sku}: sold {n} of {physical}");
            for s in all.get(sku).map(Vec::as_slice).unwrap_or_default() {
                eprintln!(
                    "  {:>7.1} ms shown {:?} sold {:?}",
                    s.at.saturating_duration_since(started).as_secs_f64() * 1000.0,
                    s.shown,
                    s.sold_by
                );
            }
            for (shop, _, m) in &shops {
                let listings = store
                    .list_listings(
                        org,
                        Some(true),
                        Some(shop.id),
                        &PageRequest {
                            limit: Some(200),
                            cursor: None,
                        },
                    )
                    .await?;
                for l in listings
                    .items
                    .iter()
                    .filter(|l| l.sku.as_deref() == Some(sku.as_str()))
                {
                    if let (_, Some(item)) = store.explain_listing(org, l.id).await? {
                        eprintln!(
                            "  now {m} {}: available {} shown {} last pushed {:?} channel stock {} uncertain {} target {}: {}",
                            l.id,
                            item.available,
                            item.shown,
                            item.last_pushed,
                            item.channel_stock,
                            item.uncertain,
                            item.target,
                            item.why
                        );
                    }
                    let mut history = store.push_history(org, l.id, 50).await?;
                    history.reverse();
                    for h in history {
                        eprintln!(
                            "  {:>7} ms {m}: {:?} {}",
                            h.at.millis() - started_at.millis(),
                            h.quantity,
                            h.result
                        );
                    }
                }
            }
        }
    }
    let within: i64 = skus
        .iter()
        .map(|k| sold.get(k).copied().unwrap_or(0).min(physical))
        .sum();
    let sell_through = within as f64 / (physical * opts.skus as i64).max(1) as f64;
    let ingested = store
        .list_orders(
            org,
            &OrderFilter::default(),
            &PageRequest {
                limit: Some(200),
                cursor: None,
            },
        )
        .await?;
    let mut orders_ingested = ingested.items.len();
    let mut cursor = ingested.next_cursor;
    while let Some(c) = cursor {
        let page = store
            .list_orders(
                org,
                &OrderFilter::default(),
                &PageRequest {
                    limit: Some(200),
                    cursor: Some(c),
                },
            )
            .await?;
        orders_ingested += page.items.len();
        cursor = page.next_cursor;
    }
    let api_calls_by_marketplace: BTreeMap<String, u64> = servers
        .iter()
        .zip(&shops)
        .zip(&calls_before)
        .map(|((server, (_, _, m)), before)| {
            (
                m.to_string(),
                stock_calls(server.sandbox()).saturating_sub(*before),
            )
        })
        .collect();
    let api_calls = api_calls_by_marketplace.values().sum::<u64>();
    // The least a perfect sync could do: after each sale, one update to
    // each other channel that sells the SKU.
    let api_calls_min = (within.max(0) as u64) * (servers.len() as u64 - 1);
    let (propagation_ms, settled_ms) = {
        let all = snapshots.lock().unwrap_or_else(|p| p.into_inner());
        (propagation(&all, physical), settling(&all, physical))
    };

    running.stop().await?;
    for s in servers {
        s.shutdown().await;
    }
    scratch.drop_db().await;
    Ok(StormResult {
        oversold_units: oversold,
        sell_through,
        orders_placed: placed,
        orders_ingested,
        propagation_ms,
        settled_ms,
        api_calls,
        api_calls_min,
        api_calls_by_marketplace,
        seconds,
        convergence,
    })
}

/// Wait (bounded) until every channel shows what it should for the stock
/// left and every marketplace order is in the books once.
async fn converge(
    store: &storesync_store::Store,
    org: storesync_domain::ids::OrgId,
    servers: &[SandboxServer],
    shops: &[(storesync_store::shops::Shop, u64, &str)],
    opts: &StormOptions,
    from: Instant,
) -> anyhow::Result<Convergence> {
    use storesync_store::propagation::SPLIT_BELOW;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Orders: marketplace ids against the books.
        let mut placed: HashMap<String, usize> = HashMap::new();
        for (server, (_, id, _)) in servers.iter().zip(shops) {
            for o in server.sandbox().orders(Some(*id)) {
                placed.insert(o.order_id, 0);
            }
        }
        let mut cursor = None;
        loop {
            let page = store
                .list_orders(
                    org,
                    &OrderFilter::default(),
                    &PageRequest {
                        limit: Some(200),
                        cursor,
                    },
                )
                .await?;
            for o in &page.items {
                if let Some(n) = placed.get_mut(&o.external_id) {
                    *n += 1;
                }
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let missing = placed.values().filter(|n| **n == 0).count();
        let duplicate = placed.values().filter(|n| **n > 1).count();
        // Stock: what each channel shows against what is left.
        let mut sold: HashMap<String, i64> = HashMap::new();
        let mut shown: HashMap<String, Vec<i64>> = HashMap::new();
        for (server, (_, id, _)) in servers.iter().zip(shops) {
            let sb = server.sandbox();
            if let Some(per_sku) = sb.sales().get(id) {
                for (sku, s) in per_sku {
                    *sold.entry(sku.clone()).or_default() += s.units_net;
                }
            }
            for l in sb.listings(*id)? {
                shown
                    .entry(l.seller_sku.clone())
                    .or_default()
                    .push(l.total_stock);
            }
        }
        let stock_ok = shown.iter().all(|(sku, shown)| {
            let left = (opts.stock - sold.get(sku).copied().unwrap_or(0)).max(0);
            if left > SPLIT_BELOW {
                shown.iter().all(|s| *s == left)
            } else {
                shown.iter().all(|s| (0..=left).contains(s)) && shown.iter().sum::<i64>() == left
            }
        });
        let done =
            missing == 0 && duplicate == 0 && stock_ok && store.pending_job_count().await? == 0;
        if done || Instant::now() > deadline {
            let ledger_problems = store.verify_inventory(org).await?.len();
            return Ok(Convergence {
                orders_exactly_once: missing == 0 && duplicate == 0,
                missing_orders: missing,
                duplicate_orders: duplicate,
                stock_converged: stock_ok,
                ledger_problems,
                seconds: from.elapsed().as_secs_f64(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = store.drain_dirty(500).await;
    }
}

/// Stock-update calls a sandbox received.
fn stock_calls(sb: &storesync_sandbox::Sandbox) -> u64 {
    sb.calls()
        .iter()
        .filter(|(k, _)| {
            k.contains("update_stock")
                || k.contains("inventory/update")
                || k.contains("stock/sellable/update")
        })
        .map(|(_, v)| *v)
        .sum()
}

/// For each sale that left some channel showing more than the stock left
/// after it, the time until no channel does: every listing shows at most
/// that number (above the split threshold), or the listings together show
/// at most the stock left (at or below it; a sale inside a share needs no
/// update anywhere). A later sale that lowers the number again is a sample
/// of its own.
fn propagation(snapshots: &HashMap<String, Vec<Snapshot>>, physical: i64) -> Latency {
    use storesync_store::propagation::SPLIT_BELOW;
    latency(
        snapshots,
        |s, left| {
            if left > SPLIT_BELOW {
                s.shown.iter().all(|shown| *shown <= left)
            } else {
                s.shown.iter().sum::<i64>() <= left
            }
        },
        physical,
    )
}

/// The stricter measure: after each sale, the time until every channel
/// shows exactly what it should for the stock left at that moment (the full
/// count above the split threshold; at or below it, shares adding up to the
/// stock left). Under a steady stream of sales this is the time until the
/// sync catches up with all of them, not with one.
fn settling(snapshots: &HashMap<String, Vec<Snapshot>>, physical: i64) -> Latency {
    use storesync_store::propagation::SPLIT_BELOW;
    latency(
        snapshots,
        |s, _| {
            let left = (physical - s.sold).max(0);
            if left > SPLIT_BELOW {
                s.shown.iter().all(|shown| *shown == left)
            } else {
                s.shown.iter().all(|shown| (0..=left).contains(shown))
                    && s.shown.iter().sum::<i64>() == left
            }
        },
        physical,
    )
}

/// Latency of every sale until `done(snapshot, stock left after the sale)`.
fn latency(
    snapshots: &HashMap<String, Vec<Snapshot>>,
    done: impl Fn(&Snapshot, i64) -> bool,
    physical: i64,
) -> Latency {
    let mut samples = Vec::new();
    let mut sales = 0;
    for line in snapshots.values() {
        for (k, w) in line.windows(2).enumerate() {
            if w[1].sold <= w[0].sold {
                continue;
            }
            sales += 1;
            let left = (physical - w[1].sold).max(0);
            if done(&w[1], left) {
                continue;
            }
            let sale = w[1].at;
            let until = line[k + 1..].iter().find(|s| done(s, left)).map(|s| s.at);
            samples.push(match until {
                Some(t) => t.duration_since(sale).as_secs_f64() * 1000.0,
                None => f64::INFINITY,
            });
        }
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pick = |p: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        let v = samples[i.min(samples.len() - 1)];
        if v.is_finite() {
            (v * 10.0).round() / 10.0
        } else {
            -1.0
        }
    };
    Latency {
        sales,
        needing_update: samples.len(),
        p50: pick(0.5),
        p99: pick(0.99),
        max: pick(1.0),
    }
}

async fn wait_idle(store: &storesync_store::Store, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if store.pending_job_count().await? == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("background work did not finish in {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: Instant, points: &[(u64, i64, [i64; 3])]) -> Vec<Snapshot> {
        points
            .iter()
            .map(|(ms, sold, shown)| Snapshot {
                at: start + Duration::from_millis(*ms),
                sold: *sold,
                shown: shown.to_vec(),
                sold_by: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn a_sale_counts_until_it_is_reflected_everywhere_and_settling_until_all_are() {
        let t0 = Instant::now();
        // 20 units: a sale at 100 ms (19 left), another at 300 ms (18 left);
        // the first reaches every channel at 400 ms, the second at 900 ms.
        let snaps = HashMap::from([(
            "A".to_owned(),
            line(
                t0,
                &[
                    (0, 0, [20, 20, 20]),
                    (100, 1, [19, 20, 20]),
                    (300, 2, [19, 18, 20]),
                    (400, 2, [19, 18, 19]),
                    (900, 2, [18, 18, 18]),
                ],
            ),
        )]);
        // Samples 300 and 600 ms (the upper one is the median of two).
        let p = propagation(&snaps, 20);
        assert_eq!(
            (p.sales, p.needing_update, p.p50, p.max),
            (2, 2, 600.0, 600.0)
        );
        // Exact everywhere only at 900 ms: 800 and 600 ms.
        let s = settling(&snaps, 20);
        assert_eq!((s.needing_update, s.p50, s.max), (2, 800.0, 800.0));
    }

    #[test]
    fn at_the_split_only_the_sum_counts_and_a_sale_inside_a_share_needs_nothing() {
        let t0 = Instant::now();
        let snaps = HashMap::from([(
            "A".to_owned(),
            line(
                t0,
                &[
                    (0, 12, [3, 3, 2]),
                    (50, 13, [2, 3, 2]),
                    (80, 14, [2, 3, 2]),
                    (200, 14, [1, 3, 2]),
                ],
            ),
        )]);
        let p = propagation(&snaps, 20);
        // The first sale fell inside a share; the second one (sold
        // elsewhere, 6 left, 7 shown) waited 120 ms for a share to shrink.
        assert_eq!((p.sales, p.needing_update, p.max), (2, 1, 120.0));
    }
}
