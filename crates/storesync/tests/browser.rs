//! The dashboard in a real browser (headless Chromium through
//! ChromeDriver): a seller signs in, connects a Shopee sandbox shop through
//! the OAuth pages, sees its listings imported, adjusts stock, sees an
//! order from the buyer simulator arrive, ships it, and the sandbox shows
//! the shipment and the new stock; a viewer gets no buttons; a post without
//! the CSRF token is refused. Screenshots of the main pages are saved under
//! `test-artifacts/screenshots/`.
//!
//! Needs `chromium` and `chromedriver` (Debian packages `chromium`,
//! `chromium-driver`; `.ci/run` installs them). Without them the test skips
//! loudly, unless `STORESYNC_REQUIRE_BROWSER=1`, which makes it fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a panic is a failed test.

mod common;
use common::KillOnDrop;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn storesync() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storesync"));
    c.env_remove("DATABASE_URL").env_remove("STORESYNC_CONFIG");
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(names: &[&str]) -> Option<PathBuf> {
    for n in names {
        let p = Path::new(n);
        if p.is_absolute() && p.exists() {
            return Some(p.to_owned());
        }
        if let Ok(path) = std::env::var("PATH") {
            for dir in path.split(':') {
                let candidate = Path::new(dir).join(n);
                if candidate.exists() {
                    return Some(candidate);
                }
            }
        }
    }
    None
}

/// A WebDriver session (the W3C protocol over HTTP, spoken directly).
struct Driver {
    http: reqwest::blocking::Client,
    base: String,
    _process: KillOnDrop,
}

impl Driver {
    fn start(chromedriver: &Path, chromium: &Path) -> Driver {
        let port = free_port();
        let process = KillOnDrop(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let root = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{root}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
            }
        } } });
        let r: Value = http
            .post(format!("{root}/session"))
            .json(&caps)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_owned();
        Driver {
            http,
            base: format!("{root}/session/{id}"),
            _process: process,
        }
    }

    fn cmd(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let r: Value = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["value"].clone()
    }

    fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", json!({ "url": url }));
    }

    fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", json!({}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn find(&self, css: &str) -> Option<String> {
        let v = self.cmd(
            reqwest::Method::POST,
            "/element",
            json!({ "using": "css selector", "value": css }),
        );
        // The W3C element reference key; an error answer has none.
        v.get("element-6066-11e4-a52e-4f735466cecf")
            .and_then(|id| id.as_str())
            .map(str::to_owned)
    }

    fn element(&self, css: &str) -> String {
        self.find(css)
            .unwrap_or_else(|| panic!("no element {css} on {}: {}", self.url(), self.source()))
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            json!({}),
        );
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    fn click(&self, css: &str) {
        let e = self.element(css);
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            json!({}),
        );
    }

    /// Run `script` in the page (an async function body ending in `done(x)`).
    fn run(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            json!({ "script": script, "args": [] }),
        )
    }

    fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let png = self.cmd(reqwest::Method::GET, "/screenshot", json!({}));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// Wait (bounded) until the current page contains `text`, e.g. after a
    /// click that navigates.
    fn wait_here(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let page = self.source();
            if page.contains(text) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "{} never showed {text:?}: {page}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Reload `url` until the page contains `text` (bounded).
    fn wait_for(&self, url: &str, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.go(url);
            let page = self.source();
            if page.contains(text) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "{url} never showed {text:?}: {page}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.base).send();
    }
}

fn sign_in(d: &Driver, base: &str, email: &str, password: &str) {
    d.go(&format!("{base}/login"));
    d.type_into("input[name=email]", email);
    d.type_into("input[name=password]", password);
    d.click("form[action='/login'] button[type=submit]");
    d.wait_here("Overview</h1>");
}

fn json_get(url: &str) -> Value {
    reqwest::blocking::get(url).unwrap().json().unwrap()
}

#[test]
fn a_seller_runs_the_daily_loop_in_a_real_browser() {
    let require = std::env::var("STORESYNC_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let (Some(chromedriver), Some(chromium)) = (
        which(&["chromedriver", "/usr/lib/chromium/chromedriver"]),
        which(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        assert!(
            !require,
            "STORESYNC_REQUIRE_BROWSER=1 but chromium/chromedriver are not installed"
        );
        eprintln!("\n*** browser test SKIPPED: install Debian's chromium and chromium-driver to run it ***\n");
        return;
    };
    let dir = std::env::temp_dir().join(format!("storesync-browser-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let admin = |args: &[&str], stdin: Option<&str>| {
        let mut child = storesync()
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Admin commands need the database to exist; `migrate` creates it.
    admin(&["migrate"], None);
    admin(&["org", "create", "toko", "--name", "Toko Maju"], None);
    let (owner, viewer, password) = ("owner@toko.test", "viewer@toko.test", "browser-test-pass-1");
    for (email, role) in [(owner, "owner"), (viewer, "viewer")] {
        admin(
            &[
                "user",
                "create",
                "--org",
                "toko",
                "--email",
                email,
                "--role",
                role,
                "--password-stdin",
            ],
            Some(&format!("{password}\n")),
        );
    }

    // A Shopee sandbox with one shop, and StoreSync serving against it.
    let mut sandbox = KillOnDrop(
        storesync()
            .args([
                "sandbox",
                "shopee",
                "--port",
                "0",
                "--partner-id",
                "2001887",
                "--partner-key",
                "browser_key_0001",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(sandbox.0.stdout.take().unwrap()).lines();
    let _creds = lines.next().unwrap().unwrap();
    let sandbox_url = lines
        .next()
        .unwrap()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::blocking::Client::new();
    let shop: Value = http
        .post(format!("{sandbox_url}/__sandbox/shops"))
        .json(
            &json!({ "name": "Toko Maju Shopee", "region": "ID", "products": [
            { "name": "Kaos Polos", "item_sku": "UI-KAOS", "price": 10000000, "stock": 7 }
        ] }),
        )
        .send()
        .unwrap()
        .json()
        .unwrap();
    let shop_id = shop["shop_id"].as_u64().unwrap_or_else(|| panic!("{shop}"));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = KillOnDrop(
        storesync()
            .arg("--data-dir")
            .arg(&dir)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("STORESYNC_SHOPEE_PARTNER_ID", "2001887")
            .env("STORESYNC_SHOPEE_PARTNER_KEY", "browser_key_0001")
            .env("STORESYNC_SHOPEE_BASE_URL", &sandbox_url)
            .env("STORESYNC_PUBLIC_URL", &base)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::blocking::get(format!("{base}/readyz")).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    http.put(format!("{sandbox_url}/__sandbox/app"))
        .json(&json!({ "push_url": format!("{base}/webhooks/shopee") }))
        .send()
        .unwrap();

    let d = Driver::start(&chromedriver, &chromium);
    sign_in(&d, &base, owner, password);
    d.screenshot("overview-empty");

    // Connect the shop through the marketplace's consent page.
    d.go(&format!("{base}/shops"));
    d.click("form[action='/shops/connect'] button");
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.find("button[value=approve]").is_none() {
        assert!(Instant::now() < deadline, "no consent page: {}", d.source());
        std::thread::sleep(Duration::from_millis(100));
    }
    d.click("button[value=approve]");
    d.wait_here("Shop connected");
    d.screenshot("connected");
    let shops = d.wait_for(&format!("{base}/shops"), "Toko Maju Shopee");
    assert!(shops.contains("badge active"), "{shops}");
    d.screenshot("shops");
    d.wait_for(&format!("{base}/listings"), "UI-KAOS");
    d.screenshot("listings");

    // Receive stock: every channel follows.
    d.go(&format!("{base}/inventory"));
    d.type_into(
        "form[action='/inventory/adjust'] input[name=sku]",
        "UI-KAOS",
    );
    d.type_into("form[action='/inventory/adjust'] input[name=quantity]", "5");
    d.type_into(
        "form[action='/inventory/adjust'] input[name=reason]",
        "delivery",
    );
    d.click("form[action='/inventory/adjust'] button[type=submit]");
    d.wait_here("on hand 7 → 12");
    d.screenshot("inventory");
    let shown = |want: i64| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let l = json_get(&format!("{sandbox_url}/__sandbox/shops/{shop_id}/listings"));
            if l[0]["total_stock"] == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the channel never showed {want}: {l}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    shown(12);

    // A buyer orders 2; the order lands; the seller ships it.
    let placed: Value = http
        .post(format!("{sandbox_url}/__sandbox/shops/{shop_id}/orders"))
        .json(&json!({ "lines": [{ "seller_sku": "UI-KAOS", "quantity": 2 }] }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let order_sn = placed["order_id"].as_str().unwrap().to_owned();
    let orders = d.wait_for(&format!("{base}/orders"), &order_sn);
    d.screenshot("orders");
    let href = orders
        .split("href=\"/orders/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    d.go(&format!("{base}/orders/{href}"));
    d.screenshot("order");
    d.type_into(
        "form[action$='/ship'] input[name=tracking_number]",
        "SPX-0001",
    );
    d.click("form[action$='/ship'] button[type=submit]");
    d.wait_here("Sent to the marketplace");
    d.wait_for(&format!("{base}/orders/{href}"), "badge shipped");
    let order = json_get(&format!("{sandbox_url}/__sandbox/orders/{order_sn}"));
    assert_ne!(
        order["stage"], "ready_to_ship",
        "the marketplace has the shipment: {order}"
    );
    shown(10);
    d.wait_for(&format!("{base}/"), "Orders today");
    d.screenshot("overview");
    d.go(&format!("{base}/sync"));
    d.screenshot("sync");

    // A post without the session's CSRF token is refused.
    let status = d.run(
        "const done = arguments[0]; fetch('/inventory/adjust', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'sku=UI-KAOS&location=main&mode=delta&quantity=99&reason=x' }).then(r => done(r.status));",
    );
    assert_eq!(status, 403);

    // A viewer sees the shop but no button that would fail.
    d.go(&format!("{base}/"));
    d.click("form[action='/logout'] button");
    d.wait_here("Sign in to StoreSync");
    sign_in(&d, &base, viewer, password);
    d.go(&format!("{base}/shops"));
    let page = d.source();
    assert!(page.contains("Toko Maju Shopee"));
    assert!(
        d.find("form[action='/shops/connect']").is_none(),
        "no connect button for a viewer"
    );
    assert!(
        d.find("button.danger").is_none(),
        "no disconnect button for a viewer"
    );
    d.go(&format!("{base}/inventory"));
    assert!(d.find("form[action='/inventory/adjust']").is_none());
    d.screenshot("viewer-inventory");
    std::fs::remove_dir_all(&dir).ok();
}
