//! Throughput benchmark of a sandbox: signed requests per second for a stock update and an
//! order search, driven over real HTTP by concurrent clients. Used by `benches/throughput.rs`
//! and available to `storesync bench`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{Marketplace, SandboxConfig};
use crate::error::SandboxError;
use crate::faults::FaultConfig;
use crate::model::{CreateShop, OrderLineSpec, PlaceOrder, PriceInput, ProductSpec, StockInput};
use crate::protocol::{BenchOp, BenchTarget};
use crate::sandbox::Sandbox;
use crate::server::SandboxServer;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub marketplace: Marketplace,
    /// How long each operation is driven.
    pub duration: Duration,
    /// Concurrent client connections.
    pub concurrency: usize,
    /// Orders in the shop before the order search is measured.
    pub orders: usize,
    /// Page size of the order search (TikTok returns full order objects, Shopee only ids).
    pub page_size: usize,
}

impl BenchOptions {
    pub fn new(marketplace: Marketplace) -> Self {
        BenchOptions {
            marketplace,
            duration: Duration::from_secs(5),
            concurrency: 32,
            orders: 200,
            page_size: 50,
        }
    }
}

/// One measured operation.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub marketplace: Marketplace,
    pub operation: &'static str,
    pub requests: u64,
    pub failures: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
}

fn build(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    t: &BenchTarget,
    op: BenchOp,
    n: u64,
) -> reqwest::RequestBuilder {
    sandbox.proto().bench_request(client, t, op, n)
}

async fn drive(
    sandbox: &Arc<Sandbox>,
    target: Arc<BenchTarget>,
    op: BenchOp,
    opts: &BenchOptions,
) -> Result<BenchResult, SandboxError> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency)
        .build()
        .map_err(SandboxError::Http)?;
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + opts.duration;
    let mut tasks = Vec::new();
    for worker in 0..opts.concurrency {
        let (client, sandbox, target, ok, bad) = (
            client.clone(),
            Arc::clone(sandbox),
            Arc::clone(&target),
            Arc::clone(&ok),
            Arc::clone(&bad),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = worker as u64;
            while Instant::now() < deadline {
                n += 1;
                let good = match build(&client, &sandbox, &target, op, n).send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        // Success envelopes: Shopee `"error":""`, TikTok `"code":0`, Lazada `"code":"0"`.
                        Ok(b) => {
                            let s = String::from_utf8_lossy(&b);
                            s.contains("\"error\":\"\"")
                                || s.contains("\"code\":0")
                                || s.contains("\"code\":\"0\"")
                        }
                        Err(_) => false,
                    },
                    _ => false,
                };
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let requests = ok.load(Ordering::Relaxed);
    Ok(BenchResult {
        marketplace: opts.marketplace,
        operation: match op {
            BenchOp::StockUpdate => "signed stock update",
            BenchOp::OrderSearch => "order search",
        },
        requests,
        failures: bad.load(Ordering::Relaxed),
        seconds,
        requests_per_sec: requests as f64 / seconds.max(1e-9),
    })
}

/// Starts a sandbox, seeds a shop with one SKU and `orders` orders, then measures a signed stock
/// update and an order search for `duration` each.
pub async fn bench_throughput(opts: &BenchOptions) -> Result<Vec<BenchResult>, SandboxError> {
    let server = SandboxServer::start(SandboxConfig::new(opts.marketplace)).await?;
    let sb = server.sandbox();
    // This measures how many requests the simulator itself can answer for one shop, far past
    // any marketplace's quota: with the rate limit on it would count throttle answers.
    sb.set_faults(FaultConfig {
        rate_limit_off: true,
        ..FaultConfig::default()
    });
    let shop = sb.create_shop(&CreateShop {
        region: Some("SG".to_owned()),
        products: vec![ProductSpec {
            name: "Bench tee".to_owned(),
            item_sku: Some("BENCH-1".to_owned()),
            price: Some(PriceInput::Text("9.90".to_owned())),
            stock: Some(StockInput::Total(1_000_000)),
            ..ProductSpec::default()
        }],
        ..CreateShop::default()
    })?;
    for _ in 0..opts.orders {
        sb.place_order(
            shop.shop_id,
            &PlaceOrder {
                lines: vec![OrderLineSpec {
                    seller_sku: Some("BENCH-1".to_owned()),
                    variant_id: None,
                    quantity: 1,
                }],
                ..PlaceOrder::default()
            },
        )?;
    }
    let (token, _) = sb.mint_tokens(shop.shop_id)?;
    let product = shop
        .products
        .first()
        .ok_or_else(|| SandboxError::Invalid("no product".to_owned()))?;
    let variant = product
        .variants
        .first()
        .ok_or_else(|| SandboxError::Invalid("no variant".to_owned()))?;
    let target = Arc::new(BenchTarget {
        base: server.base_url(),
        credentials: sb.credentials().clone(),
        token,
        shop_id: shop.shop_id,
        cipher: shop.cipher.clone(),
        product_id: product.product_id,
        sku_id: variant.variant_id,
        warehouse: shop.warehouses.first().cloned().unwrap_or_default(),
        page_size: opts.page_size,
    });
    let mut out = Vec::new();
    for op in [BenchOp::StockUpdate, BenchOp::OrderSearch] {
        out.push(drive(sb, Arc::clone(&target), op, opts).await?);
    }
    server.shutdown().await;
    Ok(out)
}
