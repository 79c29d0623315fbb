//! `storesync bench pages`: dashboard page latency on a large catalog.
//!
//! A scratch SQLite database is filled with `variants` variants and
//! `orders` orders (direct inserts), the web app is started on it, an owner
//! signs in, and every main page is requested `requests` times one after
//! another (after a short warm-up). Reported per page: p50, p99, max.

use std::time::Instant;

use serde::Serialize;
use storesync_crypto::hash_password;
use storesync_domain::Role;
use storesync_store::scratch::ScratchDb;
use storesync_store::{Actor, StoreOptions};
use storesync_web::{App, AppState, WebConfig};

#[derive(Debug, Clone, Serialize)]
pub struct PageFigures {
    pub page: String,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub async fn run(
    variants: usize,
    orders: usize,
    requests: usize,
) -> anyhow::Result<Vec<PageFigures>> {
    let dir = std::env::temp_dir().join("storesync-bench");
    let scratch = ScratchDb::sqlite_in(&dir, &StoreOptions::default()).await?;
    let store = scratch.store.clone();
    let actor = Actor::system("bench");
    let org = store.create_org("pages", "Pages", &actor).await?.id;
    let password = "bench-password-1";
    store
        .add_member(
            org,
            "owner@pages.test",
            Some(hash_password(password)?),
            Role::Owner,
            &actor,
        )
        .await?;
    let seeded = Instant::now();
    store.seed_for_page_bench(org, variants, orders).await?;
    eprintln!(
        "seeded {variants} variants and {orders} orders in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let app = App::bind(
        "127.0.0.1:0",
        AppState::new(store.clone(), WebConfig::default()),
    )
    .await?;
    let base = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        stopped.await.ok();
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": "owner@pages.test", "password": password }))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("sign-in failed: {}", login.status()))?
        .to_owned();
    // One order and one SKU to open.
    let orders_page = http
        .get(format!("{base}/orders"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let order = orders_page
        .split("href=\"/orders/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let pages = [
        "/".to_owned(),
        "/shops".to_owned(),
        "/catalog".to_owned(),
        "/catalog?q=SKU-0500".to_owned(),
        // 1,111 hits, none among the newest products: sorted from the index.
        "/catalog?q=product+42".to_owned(),
        // Every product: walked newest first. Too short for trigrams: walked.
        "/catalog?q=sku".to_owned(),
        "/catalog?q=77".to_owned(),
        // Short and found nowhere: the walk reads the whole catalog.
        "/catalog?q=zq".to_owned(),
        "/listings?mapped=false".to_owned(),
        "/inventory".to_owned(),
        "/inventory?q=SKU-09".to_owned(),
        "/inventory?low=1".to_owned(),
        "/inventory/sku/SKU-000042".to_owned(),
        "/orders".to_owned(),
        "/orders?status=ready_to_ship&channel=lazada".to_owned(),
        format!("/orders/{order}"),
        "/sync".to_owned(),
        "/settings".to_owned(),
        "/audit".to_owned(),
    ];
    let mut figures = Vec::new();
    for page in pages {
        let mut samples = Vec::with_capacity(requests);
        for i in 0..requests + 5 {
            let started = Instant::now();
            let res = http
                .get(format!("{base}{page}"))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = res.status();
            res.bytes().await?;
            anyhow::ensure!(status.is_success(), "{page} answered {status}");
            if i >= 5 {
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        samples.sort_by(f64::total_cmp);
        let pick = |p: f64| {
            let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
            (samples.get(i).copied().unwrap_or(0.0) * 10.0).round() / 10.0
        };
        figures.push(PageFigures {
            page,
            p50_ms: pick(0.5),
            p99_ms: pick(0.99),
            max_ms: pick(1.0),
        });
    }
    stop.send(()).ok();
    server.await??;
    scratch.drop_db().await;
    Ok(figures)
}
