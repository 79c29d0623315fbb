//! Test helpers: sandbox start-up with a manual clock, an independent HMAC, a webhook receiver
//! and condition waits.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, SystemClock};
use storesync_sandbox::{Marketplace, SandboxConfig, SandboxServer};

/// HMAC-SHA256, lowercase hex — written here so the tests do not trust the crate's own helper.
pub fn hmac_hex(key: &str, msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

pub struct Env {
    pub server: SandboxServer,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn start(m: Marketplace) -> Env {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let mut config = SandboxConfig::new(m);
        config.clock = clock.clone();
        config.time_scale = 0.0001;
        config.seed = Some(7);
        let server = SandboxServer::start(config).await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Env {
            server,
            clock,
            http,
        }
    }

    pub fn now_secs(&self) -> i64 {
        self.clock.now().millis() / 1000
    }

    pub fn advance_secs(&self, s: i64) {
        self.clock.advance_millis(s * 1000);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.clock.advance_millis(ms);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url(), path)
    }

    /// Calls the control API and returns its JSON.
    pub async fn control(
        &self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let req = match method {
            "GET" => self.http.get(self.url(path)),
            "PUT" => self.http.put(self.url(path)).json(&body),
            _ => self.http.post(self.url(path)).json(&body),
        };
        let resp = req.send().await.unwrap();
        resp.json().await.unwrap()
    }
}

/// A local webhook receiver recording headers and raw bodies.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Status to answer; can be changed while running.
    pub status: Arc<AtomicU16>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.hits.lock().unwrap().push((headers, body));
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver {
            url: format!("http://{addr}/hooks"),
            hits: Arc::new(Mutex::new(Vec::new())),
            status: Arc::new(AtomicU16::new(200)),
        };
        let app = Router::new()
            .route("/hooks", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        r
    }

    pub fn bodies(&self) -> Vec<(String, String)> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .map(|(h, b)| {
                (
                    h.get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default(),
                    String::from_utf8(b.to_vec()).unwrap(),
                )
            })
            .collect()
    }
}

/// Waits until `cond` holds, polling; fails the test after 10 s.
pub async fn wait_until<F: FnMut() -> bool>(mut cond: F, what: &str) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
