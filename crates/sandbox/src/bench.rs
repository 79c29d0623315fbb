//! Throughput benchmark of a sandbox: signed requests per second for a stock update and an
//! order search, driven over real HTTP by concurrent clients. Used by `benches/throughput.rs`
//! and available to `storesync bench`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::model::{CreateShop, OrderLineSpec, PlaceOrder, PriceInput, ProductSpec, StockInput};
use crate::{Credentials, Marketplace, SandboxConfig, SandboxError, SandboxServer};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StockUpdate,
    OrderSearch,
}

#[derive(Debug)]
struct Target {
    base: String,
    credentials: Credentials,
    token: String,
    shop_id: u64,
    cipher: String,
    product_id: u64,
    sku_id: u64,
    warehouse: String,
    page_size: usize,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn build(client: &reqwest::Client, t: &Target, op: Op, n: u64) -> reqwest::RequestBuilder {
    let ts = now_secs().to_string();
    match &t.credentials {
        Credentials::Shopee {
            partner_id,
            partner_key,
        } => {
            let pid = partner_id.to_string();
            let shop = t.shop_id.to_string();
            let (method, path) = match op {
                Op::StockUpdate => ("POST", "/api/v2/product/update_stock"),
                Op::OrderSearch => ("GET", "/api/v2/order/get_order_list"),
            };
            let base = crate::shopee::sign::base_string(&pid, path, &ts, Some((&t.token, &shop)));
            let sign = crate::shopee::sign::sign(partner_key.expose(), &base);
            let mut url = format!(
                "{}{path}?partner_id={pid}&timestamp={ts}&sign={sign}&access_token={}&shop_id={shop}",
                t.base, t.token
            );
            if method == "POST" {
                let body = json!({"item_id": t.product_id, "stock_list": [{"model_id": 0,
                    "seller_stock": [{"location_id": t.warehouse, "stock": 500 + (n % 100)}]}]})
                .to_string();
                client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
            } else {
                let now = now_secs();
                url.push_str(&format!(
                    "&time_range_field=create_time&time_from={}&time_to={}&page_size={}",
                    now - 86_400,
                    now + 60,
                    t.page_size
                ));
                client.get(url)
            }
        }
        Credentials::TikTok {
            app_key,
            app_secret,
            ..
        } => {
            let (path, mut params, body) = match op {
                Op::StockUpdate => (
                    format!("/product/202309/products/{}/inventory/update", t.product_id),
                    vec![],
                    json!({"skus": [{"id": t.sku_id.to_string(), "inventory": [{"warehouse_id": t.warehouse,
                        "quantity": 500 + (n % 100)}]}]})
                    .to_string(),
                ),
                Op::OrderSearch => (
                    "/order/202309/orders/search".to_owned(),
                    vec![("page_size".to_owned(), t.page_size.to_string())],
                    "{}".to_owned(),
                ),
            };
            params.push(("app_key".to_owned(), app_key.clone()));
            params.push(("timestamp".to_owned(), ts));
            params.push(("shop_cipher".to_owned(), t.cipher.clone()));
            let sign = crate::tiktok::sign::sign(
                app_secret.expose(),
                &path,
                &params,
                body.as_bytes(),
                false,
            );
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .append_pair("sign", &sign)
                .finish();
            client
                .post(format!("{}{path}?{query}", t.base))
                .header("content-type", "application/json")
                .header("x-tts-access-token", &t.token)
                .body(body)
        }
        Credentials::Lazada {
            app_key,
            app_secret,
        } => {
            let ts_ms = format!("{ts}000");
            let mut params: Vec<(String, String)> = vec![
                ("app_key".to_owned(), app_key.clone()),
                ("timestamp".to_owned(), ts_ms),
                ("sign_method".to_owned(), "sha256".to_owned()),
                ("access_token".to_owned(), t.token.clone()),
            ];
            let api = match op {
                Op::StockUpdate => {
                    params.push((
                        "payload".to_owned(),
                        format!(
                            "<Request><Product><Skus><Sku><ItemId>{}</ItemId><SkuId>{}</SkuId><SellableQuantity>{}</SellableQuantity></Sku></Skus></Product></Request>",
                            t.product_id,
                            t.sku_id,
                            500 + (n % 100)
                        ),
                    ));
                    "/product/stock/sellable/update"
                }
                Op::OrderSearch => {
                    let after = time::OffsetDateTime::from_unix_timestamp(now_secs() - 86_400)
                        .ok()
                        .and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                        .unwrap_or_default();
                    params.push(("created_after".to_owned(), after));
                    params.push(("limit".to_owned(), t.page_size.min(100).to_string()));
                    "/orders/get"
                }
            };
            let sign = crate::lazada::sign::sign(app_secret.expose(), api, &params);
            params.push(("sign".to_owned(), sign));
            let form: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish();
            client
                .post(format!("{}/rest{api}", t.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
        }
    }
}

async fn drive(
    target: Arc<Target>,
    op: Op,
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
        let (client, target, ok, bad) = (
            client.clone(),
            Arc::clone(&target),
            Arc::clone(&ok),
            Arc::clone(&bad),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = worker as u64;
            while Instant::now() < deadline {
                n += 1;
                let good = match build(&client, &target, op, n).send().await {
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
            Op::StockUpdate => "signed stock update",
            Op::OrderSearch => "order search",
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
    sb.set_faults(crate::FaultConfig {
        rate_limit_off: true,
        ..crate::FaultConfig::default()
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
    let target = Arc::new(Target {
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
    for op in [Op::StockUpdate, Op::OrderSearch] {
        out.push(drive(Arc::clone(&target), op, opts).await?);
    }
    server.shutdown().await;
    Ok(out)
}
