//! The binary under failure: SIGKILL in the middle of a buying storm, and
//! two `serve` processes sharing one PostgreSQL database. Orders are never
//! lost or taken twice, reservations never doubled, the ledger balances.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a panic is a failed test.

mod common;
use common::KillOnDrop;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use storesync_sandbox::{
    AuthorizeRequest, BuyerSettings, CreateShop, Marketplace, OrderView, Sandbox, SandboxConfig,
    SandboxServer, ShopView,
};

/// A data directory and, optionally, a PostgreSQL database for the binary.
struct Env {
    dir: PathBuf,
    database: Option<String>,
}

impl Env {
    fn new(name: &str, database: Option<String>) -> Env {
        let dir = std::env::temp_dir().join(format!("storesync-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        Env { dir, database }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_storesync"));
        c.env_remove("DATABASE_URL")
            .env_remove("STORESYNC_CONFIG")
            .env("RUST_LOG", "warn")
            .arg("--data-dir")
            .arg(&self.dir);
        if let Some(url) = &self.database {
            c.arg("--database-url").arg(url);
        }
        c.args(args);
        c
    }

    /// An organization with an owner; returns the owner's API token.
    fn owner_token(&self, slug: &str) -> String {
        // Admin commands need the database to exist; `migrate` creates it.
        assert!(self.cmd(&["migrate"]).status().unwrap().success());
        assert!(self
            .cmd(&["org", "create", slug, "--name", slug])
            .status()
            .unwrap()
            .success());
        let email = format!("o@{slug}.test");
        let mut child = self
            .cmd(&[
                "user",
                "create",
                "--org",
                slug,
                "--email",
                &email,
                "--role",
                "owner",
                "--password-stdin",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a long enough password\n")
            .unwrap();
        assert!(child.wait().unwrap().success());
        let out = self
            .cmd(&["token", "create", "--org", slug, "--email", &email])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("API token: ").map(str::to_owned))
            .unwrap()
    }

    fn serve(&self, port: u16, sandbox: &str) -> KillOnDrop {
        self.cmd(&["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("STORESYNC_SHOPEE_PARTNER_ID", "2001887")
            .env("STORESYNC_SHOPEE_PARTNER_KEY", "test_partner_key_0001")
            .env("STORESYNC_SHOPEE_BASE_URL", sandbox)
            .env("STORESYNC_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map(KillOnDrop)
            .unwrap()
    }

    fn check(&self) {
        let out = self.cmd(&["check"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn stop(server: &mut Child) {
    Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(
        server.wait().unwrap().success(),
        "server did not stop cleanly"
    );
}

/// A Shopee sandbox whose shop sells `skus` SKUs of 40 units each.
async fn shopee_shop(prefix: &str, skus: usize) -> (SandboxServer, ShopView) {
    let mut config = SandboxConfig::new(Marketplace::Shopee);
    config.time_scale = 0.002; // webhook retries within a fraction of a second
    let sandbox = SandboxServer::start(config).await.unwrap();
    let products: Vec<Value> = (0..skus)
        .map(|i| json!({ "name": format!("P{i}"), "item_sku": format!("{prefix}-{i}"), "price": 10000, "stock": 40 }))
        .collect();
    let spec: CreateShop =
        serde_json::from_value(json!({ "name": prefix, "region": "ID", "products": products }))
            .unwrap();
    let view = sandbox.sandbox().create_shop(&spec).unwrap();
    (sandbox, view)
}

struct Api {
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn get(&self, url: String) -> Value {
        self.http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn wait_ready(&self, base: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self
            .http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Connect the sandbox shop through the OAuth flow, wait for its import,
    /// and return our shop id.
    async fn connect(&self, base: &str, sb: &Sandbox, view: &ShopView, listings: usize) -> String {
        let start = self
            .http
            .post(format!("{base}/api/v1/shops/connect/shopee"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        // The flow is bound to this client by the cookie the start sets.
        let binding = start.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let start: Value = start.json().await.unwrap();
        let url = reqwest::Url::parse(start["authorize_url"].as_str().unwrap()).unwrap();
        let redirect = url
            .query_pairs()
            .find(|(k, _)| k == "redirect")
            .unwrap()
            .1
            .into_owned();
        let approved = sb
            .authorize(&AuthorizeRequest {
                shop_id: view.shop_id,
                redirect: Some(redirect),
                state: None,
            })
            .unwrap();
        assert!(self
            .http
            .get(approved.redirect_url.unwrap())
            .header("cookie", &binding)
            .send()
            .await
            .unwrap()
            .status()
            .is_success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self
            .get(format!("{base}/api/v1/listings?mapped=true"))
            .await["items"]
            .as_array()
            .map_or(0, Vec::len)
            < listings
        {
            assert!(Instant::now() < deadline, "import did not finish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.get(format!("{base}/api/v1/shops")).await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn sync(&self, base: &str, shop: &str) {
        let r = self
            .http
            .post(format!("{base}/api/v1/shops/{shop}/sync"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Wait until StoreSync holds exactly the orders the marketplace took,
    /// then check every unit sold is reserved exactly once.
    async fn assert_books_match(&self, base: &str, placed: &[OrderView]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ours = self.get(format!("{base}/api/v1/orders?limit=200")).await["items"]
                .as_array()
                .map_or(0, Vec::len);
            if ours == placed.len() {
                break;
            }
            assert!(
                ours <= placed.len(),
                "an order was taken twice: {ours} > {}",
                placed.len()
            );
            assert!(
                Instant::now() < deadline,
                "orders lost: {ours} of {}",
                placed.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut sold = HashMap::<String, i64>::new();
        for o in placed {
            for l in &o.lines {
                *sold.entry(l.seller_sku.clone()).or_default() += l.quantity;
            }
        }
        for (sku, units) in &sold {
            let inv = self.get(format!("{base}/api/v1/inventory?sku={sku}")).await;
            assert_eq!(
                inv["totals"]["reserved"].as_i64().unwrap(),
                *units,
                "{sku}: {inv}"
            );
        }
    }
}

/// Buyers order for `duration` at 30 orders/s; returns the shop's orders.
async fn storm(
    sb: &Sandbox,
    shop: u64,
    duration: Duration,
    during: impl std::future::Future<Output = ()>,
) -> Vec<OrderView> {
    sb.set_buyers(
        shop,
        BuyerSettings {
            orders_per_sec: 30.0,
            max_quantity: 2,
            cancel_rate: 0.0,
            tokopedia_share: 0.0,
        },
    )
    .unwrap();
    let (_, ()) = tokio::join!(tokio::time::sleep(duration), during);
    sb.set_buyers(shop, BuyerSettings::default()).unwrap();
    let placed = sb.orders(Some(shop));
    assert!(
        placed.len() > 20,
        "the storm was too small: {}",
        placed.len()
    );
    placed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_storm_loses_no_order_and_doubles_no_reservation() {
    let env = Env::new("crash", None);
    let (sandbox, view) = shopee_shop("CRASH", 8).await;
    let sb = sandbox.sandbox().clone();
    let api = Api {
        http: reqwest::Client::new(),
        token: env.owner_token("crash"),
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = env.serve(port, &sandbox.base_url());
    api.wait_ready(&base).await;
    let shop = api.connect(&base, &sb, &view, 8).await;

    // The server dies 1.5 s into a 2.5 s storm.
    sb.set_push_url(Some(format!("{base}/webhooks/shopee")));
    let placed = storm(&sb, view.shop_id, Duration::from_millis(2500), async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
    })
    .await;

    // Started again, it catches up by retried webhooks and polling.
    let mut server = env.serve(port, &sandbox.base_url());
    api.wait_ready(&base).await;
    api.sync(&base, &shop).await;
    api.assert_books_match(&base, &placed).await;
    stop(&mut server);
    env.check();
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_apply_every_effect_once() {
    let Some(admin) = storesync_store::testing::postgres_url() else {
        return;
    };
    let db = storesync_store::scratch::ScratchDb::postgres_on(
        &admin,
        &storesync_store::StoreOptions::default(),
    )
    .await
    .unwrap();
    let env = Env::new("two", Some(db.url.clone()));
    let (sandbox, view) = shopee_shop("TWO", 6).await;
    let sb = sandbox.sandbox().clone();
    let api = Api {
        http: reqwest::Client::new(),
        token: env.owner_token("two"),
    };

    // Both instances share the master key (one data directory) and the database.
    let (pa, pb) = (free_port(), free_port());
    let (a, b) = (
        format!("http://127.0.0.1:{pa}"),
        format!("http://127.0.0.1:{pb}"),
    );
    let mut server_a = env.serve(pa, &sandbox.base_url());
    api.wait_ready(&a).await;
    let mut server_b = env.serve(pb, &sandbox.base_url());
    api.wait_ready(&b).await;
    let shop = api.connect(&a, &sb, &view, 6).await;

    sb.set_push_url(Some(format!("{a}/webhooks/shopee")));
    let placed = storm(&sb, view.shop_id, Duration::from_millis(2000), async {}).await;
    api.sync(&a, &shop).await;
    api.sync(&b, &shop).await;
    api.assert_books_match(&b, &placed).await;

    // The marketplace ends up showing what the books say.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut mismatches = Vec::new();
        for l in sb.listings(view.shop_id).unwrap() {
            let inv = api
                .get(format!("{a}/api/v1/inventory?sku={}", l.seller_sku))
                .await;
            let available = inv["totals"]["available"].as_i64().unwrap();
            if available != l.total_stock {
                mismatches.push(format!(
                    "{}: available {available}, shown {}",
                    l.seller_sku, l.total_stock
                ));
            }
        }
        if mismatches.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let listings = api.get(format!("{a}/api/v1/listings?limit=200")).await;
            let jobs = api.get(format!("{a}/api/v1/jobs?limit=50")).await;
            panic!("channel stock did not converge: {mismatches:?}\nlistings: {listings}\njobs: {jobs}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(&mut server_a);
    stop(&mut server_b);
    env.check();
    sandbox.shutdown().await;
    drop(env);
    db.drop_db().await;
}
