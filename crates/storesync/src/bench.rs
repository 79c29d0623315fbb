//! `storesync bench …`: benchmarks that run against real databases and the
//! real HTTP stack on this machine. Figures go to docs/BENCHMARKS.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use storesync_crypto::{hash_token, random_token};
use storesync_domain::{Money, Role};
use storesync_store::scratch::ScratchDb;
use storesync_store::{
    Actor, AdjustRequest, NewOrder, NewOrderLine, NewProduct, NewVariant, StockChange, Store,
    StoreOptions,
};
use storesync_web::{App, AppState, WebConfig};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Order intake with stock reservation, compared with the database's
    /// own ceiling of one-row write transactions, on SQLite and PostgreSQL;
    /// and the inventory read endpoint compared with a bare handler.
    Inventory {
        /// Orders (and ceiling transactions) per measurement.
        #[arg(long, default_value_t = 3000)]
        orders: usize,
        /// PostgreSQL server to benchmark on (a scratch database is created
        /// and dropped); defaults to DATABASE_URL when that is PostgreSQL.
        #[arg(long, env = "STORESYNC_BENCH_POSTGRES_URL")]
        postgres_url: Option<String>,
        /// Seconds per read measurement.
        #[arg(long, default_value_t = 5)]
        read_seconds: u64,
        /// Also print the figures as one JSON object on the last line.
        #[arg(long)]
        json: bool,
    },
    /// Dashboard page latency on a large catalog (scratch SQLite database).
    Pages {
        #[arg(long, default_value_t = 100_000)]
        variants: usize,
        #[arg(long, default_value_t = 200_000)]
        orders: usize,
        /// Requests per page (after 5 for warm-up).
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long)]
        json: bool,
    },
    /// Signed webhook deliveries at a steady rate while the worker books
    /// them: answer latency p50/p99/max and time until all are processed.
    Webhooks {
        /// Deliveries per second.
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Book on a scratch database on this PostgreSQL server (else SQLite).
        #[arg(long)]
        postgres_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A sell-out storm on every implemented marketplace, StoreSync against
    /// a periodic-sync baseline: units oversold, sell-through, propagation
    /// latency, API calls.
    Oversell {
        /// SKUs, each listed on every marketplace.
        #[arg(long, default_value_t = 20)]
        skus: usize,
        /// Physical stock of each SKU.
        #[arg(long, default_value_t = 5)]
        stock: i64,
        /// Orders per second over all shops.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// Latency added to every marketplace API call (ms).
        #[arg(long, default_value_t = 40)]
        latency_ms: u64,
        /// The baseline: `poll:<period>` with the period in s, m or h
        /// (scaled by --time-scale), or `none`.
        #[arg(long, default_value = "poll:15m")]
        baseline: String,
        /// Real seconds per simulated second for the baseline's period.
        #[arg(long, default_value_t = 0.005)]
        time_scale: f64,
        /// Give up a storm after this many seconds.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
        /// Storm under marketplace faults, then check that orders and stock
        /// converge once the faults stop.
        #[arg(long)]
        faults: bool,
        /// Keep StoreSync's books in a scratch database on this PostgreSQL
        /// server instead of a scratch SQLite file.
        #[arg(long)]
        postgres_url: Option<String>,
        /// Run a grid of storm shapes instead of one storm (`full`, or `small`
        /// for a handful of the hardest); the shape flags above are ignored.
        #[arg(long, value_name = "GRID", num_args = 0..=1, default_missing_value = "full")]
        sweep: Option<String>,
        /// With `--sweep`: exit with an error when a storm oversold, sold
        /// through less than 99 % of its stock, or did not finish (for CI).
        #[arg(long, requires = "sweep")]
        check: bool,
        #[arg(long)]
        json: bool,
    },
}

const SKUS: usize = 500;
const WRITERS: [usize; 2] = [1, 16];

#[derive(Debug, Serialize)]
struct WriteFigures {
    backend: &'static str,
    writers: usize,
    orders_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    ceiling_tx_per_s: f64,
    ratio: f64,
}

#[derive(Debug, Serialize)]
struct ReadFigures {
    concurrency: usize,
    api_req_per_s: f64,
    bare_req_per_s: f64,
    ratio: f64,
    api_p99_ms: f64,
}

pub async fn run(config: &Config, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Inventory {
            orders,
            postgres_url,
            read_seconds,
            json,
        } => inventory(config, orders, postgres_url, read_seconds, json).await,
        BenchCommand::Pages {
            variants,
            orders,
            requests,
            json,
        } => {
            let figures = crate::page_bench::run(variants, orders, requests).await?;
            println!("storesync bench pages: {variants} variants, {orders} orders, {requests} requests per page");
            for f in &figures {
                println!(
                    "{:<44} p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms",
                    f.page, f.p50_ms, f.p99_ms, f.max_ms
                );
            }
            if json {
                println!("{}", serde_json::to_string(&figures)?);
            }
            Ok(())
        }
        BenchCommand::Webhooks {
            rate,
            seconds,
            postgres_url,
            json,
        } => {
            let f = crate::webhook_bench::run(config, rate, seconds, postgres_url).await?;
            println!(
                "storesync bench webhooks ({}): {} deliveries at {}/s (achieved {}/s): answer p50 {} ms, p99 {} ms, max {} ms; {} not 2xx; all processed after {} s; {} orders booked",
                f.backend, f.sent, f.rate_target, f.rate_achieved, f.p50_ms, f.p99_ms, f.max_ms, f.not_2xx, f.processed_after_s, f.orders_booked
            );
            if json {
                println!("{}", serde_json::to_string(&f)?);
            }
            Ok(())
        }
        BenchCommand::Oversell {
            skus,
            stock,
            rate,
            latency_ms,
            baseline,
            time_scale,
            max_seconds,
            faults,
            postgres_url,
            sweep,
            check,
            json,
        } => {
            if let Some(grid) = sweep {
                let cells = match grid.as_str() {
                    "full" => crate::sweep::FULL,
                    "small" => crate::sweep::SMALL,
                    other => anyhow::bail!("--sweep takes `full` or `small`, not {other:?}"),
                };
                let summary =
                    crate::sweep::run(config, cells, postgres_url, max_seconds, json).await?;
                if check {
                    summary.check()?;
                }
                return Ok(());
            }
            let opts = crate::oversell::StormOptions {
                skus,
                stock,
                rate,
                latency_ms,
                max_seconds,
                faults,
                postgres_url,
            };
            oversell(config, &opts, &baseline, time_scale, json).await
        }
    }
}

fn parse_period(s: &str) -> anyhow::Result<Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("bad period {s:?} (e.g. 15m)"))?;
    Ok(match unit {
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => anyhow::bail!("bad period unit {other:?} (s, m or h)"),
    })
}

async fn oversell(
    config: &Config,
    opts: &crate::oversell::StormOptions,
    baseline: &str,
    scale: f64,
    json: bool,
) -> anyhow::Result<()> {
    println!(
        "storesync bench oversell: {} SKUs x {} units on Shopee, TikTok Shop and Lazada, buyers at {}/s, {} ms API latency",
        opts.skus, opts.stock, opts.rate, opts.latency_ms
    );
    let ours = crate::oversell::storm(config, opts, crate::server::SyncMode::Realtime).await?;
    print_storm("storesync", &ours);
    if let Some(c) = &ours.convergence {
        println!(
            "{:<28} orders exactly once={} (missing {}, duplicated {}) stock converged={} ledger problems={} after {:.1} s",
            "after the faults stopped", c.orders_exactly_once, c.missing_orders, c.duplicate_orders,
            c.stock_converged, c.ledger_problems, c.seconds
        );
    }
    let base = match baseline.strip_prefix("poll:") {
        Some(period) => {
            let every = parse_period(period)?.mul_f64(scale.max(0.0001));
            let r = crate::oversell::storm(config, opts, crate::server::SyncMode::Periodic(every))
                .await?;
            print_storm(
                &format!("baseline {baseline} (every {:.1} s)", every.as_secs_f64()),
                &r,
            );
            Some(r)
        }
        None if baseline == "none" => None,
        None => anyhow::bail!("--baseline must be poll:<period> or none"),
    };
    if json {
        let mut v = serde_json::to_value(&ours)?;
        v["baseline"] = serde_json::to_value(&base)?;
        println!("{v}");
    }
    Ok(())
}

fn print_storm(label: &str, r: &crate::oversell::StormResult) {
    println!(
        "{label:<28} oversold={:<4} sell-through={:.3} orders placed={} ingested={} propagation p50={} ms p99={} ms max={} ms api calls={} (min {}) {:.1} s",
        r.oversold_units, r.sell_through, r.orders_placed, r.orders_ingested,
        r.propagation_ms.p50, r.propagation_ms.p99, r.propagation_ms.max, r.api_calls, r.api_calls_min, r.seconds
    );
    println!(
        "{:<28} settled (every channel exact) p50={} ms p99={} ms max={} ms; sales needing an update {} of {}",
        "",
        r.settled_ms.p50,
        r.settled_ms.p99,
        r.settled_ms.max,
        r.propagation_ms.needing_update,
        r.propagation_ms.sales
    );
    let by: Vec<String> = r
        .api_calls_by_marketplace
        .iter()
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
    println!(
        "{:<28} stock-update calls by marketplace: {}",
        "",
        by.join(", ")
    );
}

async fn inventory(
    config: &Config,
    orders: usize,
    postgres_url: Option<String>,
    read_seconds: u64,
    json: bool,
) -> anyhow::Result<()> {
    let postgres_url = postgres_url.or_else(|| {
        storesync_store::Backend::from_url(&config.database_url)
            .filter(|b| *b == storesync_store::Backend::Postgres)
            .map(|_| config.database_url.clone())
    });
    println!(
        "storesync bench inventory: {orders} orders per run, {SKUS} SKUs, orders of 1–3 lines"
    );
    let mut writes = Vec::new();
    let options = StoreOptions {
        max_connections: 16,
        ..StoreOptions::default()
    };

    let dir = std::env::temp_dir().join("storesync-bench");
    let sqlite = ScratchDb::sqlite_in(&dir, &options).await?;
    let (org, token) = seed(&sqlite.store).await?;
    for writers in WRITERS {
        writes.push(measure_writes(&sqlite.store, org, "sqlite", writers, orders).await?);
        print_write(writes.last());
    }
    let read = measure_reads(&sqlite.store, &token, read_seconds).await?;
    sqlite.drop_db().await;

    match postgres_url {
        Some(url) => {
            let pg = ScratchDb::postgres_on(&url, &options)
                .await
                .context("cannot create a scratch database on the PostgreSQL server")?;
            let (org, _) = seed(&pg.store).await?;
            for writers in WRITERS {
                writes.push(measure_writes(&pg.store, org, "postgres", writers, orders).await?);
                print_write(writes.last());
            }
            pg.drop_db().await;
        }
        None => {
            println!("postgres: skipped (pass --postgres-url or set STORESYNC_BENCH_POSTGRES_URL)")
        }
    }
    println!(
        "read GET /api/v1/inventory?sku=…: {:.0} req/s through the full stack (p99 {:.2} ms) vs {:.0} req/s bare axum JSON handler: ratio {:.2} ({} concurrent clients)",
        read.api_req_per_s, read.api_p99_ms, read.bare_req_per_s, read.ratio, read.concurrency
    );
    if json {
        println!("{}", serde_json::json!({ "writes": writes, "read": read }));
    }
    Ok(())
}

fn print_write(f: Option<&WriteFigures>) {
    if let Some(f) = f {
        println!(
            "{:<8} writers={:<2} orders/s={:>8.0}  p50={:>6.2} ms  p99={:>6.2} ms  ceiling tx/s={:>8.0}  ratio={:.2}",
            f.backend, f.writers, f.orders_per_s, f.p50_ms, f.p99_ms, f.ceiling_tx_per_s, f.ratio
        );
    }
}

/// An organization with `SKUS` variants, each with a large stock, and an API token.
async fn seed(store: &Store) -> anyhow::Result<(storesync_domain::ids::OrgId, String)> {
    let actor = Actor::system("bench");
    let org = store.create_org("bench", "Bench", &actor).await?;
    let idr: storesync_domain::Currency = "IDR".parse()?;
    for chunk in 0..(SKUS / 50) {
        let mut variants = Vec::with_capacity(50);
        for i in 0..50 {
            variants.push(NewVariant {
                sku: format!("SKU-{:04}", chunk * 50 + i).parse()?,
                name: None,
                price: Money::new(15000, idr),
                barcode: None,
                weight_grams: None,
                allow_backorder: false,
                low_stock_threshold: None,
                components: Vec::new(),
            });
        }
        store
            .create_product(
                org.id,
                &NewProduct {
                    name: format!("Product {chunk}"),
                    description: None,
                    variants,
                },
                &actor,
            )
            .await?;
    }
    for i in 0..SKUS {
        let req = AdjustRequest {
            sku: format!("SKU-{i:04}").parse()?,
            location: None,
            change: StockChange::Set(1_000_000_000),
            reason: "bench stock".into(),
            idempotency_key: None,
        };
        store.adjust_stock(org.id, &req, &actor).await?;
    }
    let user = store
        .add_member(org.id, "bench@example.com", None, Role::Owner, &actor)
        .await?;
    let token = random_token("ss_").expose().clone();
    store
        .create_api_token(org.id, user.id, "bench", &hash_token(&token), &actor)
        .await?;
    Ok((org.id, token))
}

/// A small xorshift generator: load generation needs speed, not quality.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn measure_writes(
    store: &Store,
    org: storesync_domain::ids::OrgId,
    backend: &'static str,
    writers: usize,
    total: usize,
) -> anyhow::Result<WriteFigures> {
    let run_id = storesync_domain::ids::OrderId::new().to_string();
    // Order intake with reservation.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, next, run_id) = (store.clone(), Arc::clone(&next), run_id.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            let actor = Actor::system("bench");
            let idr: storesync_domain::Currency = "IDR".parse()?;
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let lines = 1 + rng.below(3);
                let mut skus: Vec<usize> = (0..lines).map(|_| rng.below(SKUS)).collect();
                skus.sort_unstable();
                skus.dedup();
                let mut order_lines = Vec::with_capacity(skus.len());
                for s in &skus {
                    order_lines.push(NewOrderLine {
                        sku: format!("SKU-{s:04}").parse()?,
                        quantity: 1,
                        unit_price: Money::new(15000, idr),
                    });
                }
                let order = NewOrder {
                    channel: "manual".into(),
                    external_id: format!("{run_id}-{i}"),
                    currency: idr,
                    lines: order_lines,
                    customer: None,
                    status: None,
                    shipping_fee: None,
                    discount: None,
                    total: None,
                    placed_at: None,
                    note: None,
                };
                let t = Instant::now();
                store.create_order(org, &order, &actor).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();

    // The ceiling: trivial one-row write transactions, same concurrency.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (store, next, run_id) = (store.clone(), Arc::clone(&next), run_id.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                store.bench_trivial_write(&format!("{run_id}-{i}")).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let ceiling = total as f64 / started.elapsed().as_secs_f64();
    let rate = total as f64 / elapsed;
    Ok(WriteFigures {
        backend,
        writers,
        orders_per_s: rate,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        ceiling_tx_per_s: ceiling,
        ratio: rate / ceiling,
    })
}

const READ_CONCURRENCY: usize = 16;

/// Requests/s of `url` with `READ_CONCURRENCY` clients for `seconds`.
async fn hammer(
    url: String,
    token: Option<String>,
    seconds: u64,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..READ_CONCURRENCY {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let t = Instant::now();
                let res = req.send().await?;
                anyhow::ensure!(res.status().is_success(), "read failed: {}", res.status());
                res.bytes().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok((rate, all))
}

async fn measure_reads(store: &Store, token: &str, seconds: u64) -> anyhow::Result<ReadFigures> {
    let app = App::bind(
        "127.0.0.1:0",
        // The API itself is measured: one token hammering it is what its
        // rate limits are there to stop.
        AppState::new(
            store.clone(),
            WebConfig {
                api_limits: storesync_web::api_limits::ApiLimits {
                    enabled: false,
                    ..Default::default()
                },
                ..WebConfig::default()
            },
        ),
    )
    .await?;
    let api = format!("http://{}/api/v1/inventory?sku=SKU-0042", app.local_addr()?);
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        api_stopped.await.ok();
    }));

    // The bare baseline: the same JSON body from a handler with no
    // middleware, authentication or database.
    let client = reqwest::Client::new();
    let sample: serde_json::Value = client
        .get(&api)
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let bare_router = axum::Router::new().route(
        "/bare",
        axum::routing::get(move || {
            let sample = sample.clone();
            async move { axum::Json(sample) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare = format!("http://{}/bare", listener.local_addr()?);
    let (stop_bare, bare_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, bare_router)
            .with_graceful_shutdown(async {
                bare_stopped.await.ok();
            })
            .await
    });

    let (bare_rate, _) = hammer(bare, None, seconds).await?;
    let (api_rate, latencies) = hammer(api, Some(token.to_owned()), seconds).await?;
    stop_api.send(()).ok();
    stop_bare.send(()).ok();
    Ok(ReadFigures {
        concurrency: READ_CONCURRENCY,
        api_req_per_s: api_rate,
        bare_req_per_s: bare_rate,
        ratio: api_rate / bare_rate,
        api_p99_ms: percentile(&latencies, 0.99),
    })
}
