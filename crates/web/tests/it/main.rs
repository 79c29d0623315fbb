//! End-to-end tests of the HTTP API: the real app on 127.0.0.1:0 against a
//! fresh database of each backend, driven through a typed client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a panic is a failed test.

mod accounts;
mod api;
mod api_limits;
mod auth;
mod bad_input;
mod connect;
mod cross_tenant;
mod intake;
mod limiter;
mod openapi;
mod operations;
mod propagation;
mod replay;
mod strict;
mod ui;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storesync_crypto::{hash_password, hash_token, random_token};
use storesync_domain::ids::OrgId;
use storesync_domain::Role;
use storesync_store::{Actor, Store};
use storesync_web::{App, AppState, WebConfig};

/// The engine as the server builds it (every job kind handled), over
/// `channels`, with a worker the test steps.
pub fn engine(
    store: &Store,
    channels: std::sync::Arc<storesync_engine::connect::ChannelRegistry>,
) -> storesync_engine::Engine {
    storesync_engine::Engine::builder(
        store.clone(),
        storesync_engine::EngineConfig {
            poll_overlap: std::time::Duration::from_secs(600),
            first_poll_lookback: std::time::Duration::from_secs(86_400),
            worker: storesync_engine::WorkerConfig {
                id: "w".into(),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .channels(channels)
    .build()
}

/// The running app and a client for it.
#[derive(Debug)]
pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub http: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A member of an organization with an API token.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub org: OrgId,
    pub slug: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TestApp {
    pub async fn start(store: Store) -> TestApp {
        Self::start_with(store, WebConfig::default()).await
    }

    pub async fn start_with(store: Store, config: WebConfig) -> TestApp {
        // Bound first, so the links the app mails point at it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), config).with_channels(
            std::sync::Arc::new(storesync_engine::connect::ChannelRegistry::new()),
            &base,
        );
        let app = App::from_listener(listener, state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            rx.await.ok();
        }));
        TestApp {
            base,
            store,
            http: reqwest::Client::new(),
            _shutdown: tx,
        }
    }

    /// A new organization with a member of `role` holding an API token.
    pub async fn tenant(&self, role: Role) -> Tenant {
        let slug = format!("t-{}", &OrgId::new().to_string()[24..]);
        let system = Actor::system("test");
        let org = self
            .store
            .create_org(&slug, "Tenant", &system)
            .await
            .unwrap();
        self.member(org.id, &slug, role).await
    }

    /// Another member of an existing organization.
    pub async fn member(&self, org: OrgId, slug: &str, role: Role) -> Tenant {
        let email = format!(
            "{}-{}@example.com",
            role.as_str(),
            &OrgId::new().to_string()[24..]
        );
        let password = "correct horse battery".to_owned();
        let system = Actor::system("test");
        let user = self
            .store
            .add_member(
                org,
                &email,
                Some(hash_password(&password).unwrap()),
                role,
                &system,
            )
            .await
            .unwrap();
        let token = random_token("ss_").expose().clone();
        self.store
            .create_api_token(org, user.id, "test", &hash_token(&token), &system)
            .await
            .unwrap();
        Tenant {
            org,
            slug: slug.to_owned(),
            email,
            password,
            token,
        }
    }

    pub async fn call(
        &self,
        who: Option<&Tenant>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = who {
            req = req.bearer_auth(&t.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, who: &Tenant, path: &str) -> Reply {
        self.call(Some(who), Method::GET, path, None).await
    }

    pub async fn post(&self, who: &Tenant, path: &str, body: Value) -> Reply {
        self.call(Some(who), Method::POST, path, Some(body)).await
    }

    /// Create a product with plain variants priced 10000 IDR and put `stock`
    /// of each on hand; returns the product JSON.
    pub async fn product_with_stock(&self, who: &Tenant, skus: &[&str], stock: i64) -> Value {
        let variants: Vec<Value> = skus
            .iter()
            .map(|s| json!({ "sku": s, "price": { "amount": 10000, "currency": "IDR" } }))
            .collect();
        let r = self
            .post(
                who,
                "/api/v1/products",
                json!({ "name": "Kaos polos", "variants": variants }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        for s in skus {
            if stock != 0 {
                let a = self
                    .post(
                        who,
                        "/api/v1/inventory/adjustments",
                        json!({ "sku": s, "delta": stock, "reason": "initial count" }),
                    )
                    .await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            }
        }
        r.body
    }

    pub async fn audit_count(&self, org: OrgId) -> usize {
        let page = storesync_store::PageRequest {
            limit: Some(200),
            cursor: None,
        };
        self.store.list_audit(org, &page).await.unwrap().items.len()
    }
}

pub fn order_body(external_id: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "channel": "manual",
        "external_id": external_id,
        "currency": "IDR",
        "lines": lines.iter().map(|(s, q)| json!({ "sku": s, "quantity": q, "unit_price": { "amount": 10000, "currency": "IDR" } })).collect::<Vec<_>>(),
    })
}

pub fn error_code(r: &Reply) -> &str {
    r.body["error"]["code"].as_str().unwrap_or("<none>")
}

/// A local SMTP server for tests: accepts every message and keeps it, so a
/// test reads the link out of the mail as the person would.
#[derive(Debug, Clone)]
pub struct SmtpCatcher {
    pub url: String,
    messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpCatcher {
    pub async fn start() -> SmtpCatcher {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&messages);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let kept = std::sync::Arc::clone(&kept);
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read);
                    write.write_all(b"220 catcher ESMTP\r\n").await.ok();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 catcher\r\n",
                            "DATA" => {
                                write.write_all(b"354 go on\r\n").await.ok();
                                let mut message = String::new();
                                loop {
                                    line.clear();
                                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                        return;
                                    }
                                    if line == ".\r\n" {
                                        break;
                                    }
                                    message.push_str(&line);
                                }
                                kept.lock().unwrap().push(message);
                                b"250 kept\r\n"
                            }
                            "QUIT" => {
                                write.write_all(b"221 bye\r\n").await.ok();
                                return;
                            }
                            _ => b"250 ok\r\n",
                        };
                        write.write_all(reply).await.ok();
                    }
                });
            }
        });
        SmtpCatcher { url, messages }
    }

    /// Every message so far, quoted-printable soft breaks undone.
    pub fn messages(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.replace("=\r\n", "").replace("=3D", "="))
            .collect()
    }

    /// Messages addressed to `to`.
    pub fn to(&self, to: &str) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
            .collect()
    }

    /// The path (from `/{kind}/` on) of the last link of `kind` mailed to `to`.
    pub fn link(&self, to: &str, kind: &str) -> Option<String> {
        let mail = self.to(to).pop()?;
        let at = mail.find(&format!("/{kind}/"))?;
        let end = mail[at..]
            .find(|c: char| c.is_whitespace())
            .map_or(mail.len(), |e| at + e);
        Some(mail[at..end].to_owned())
    }

    /// Run the mail jobs queued in `store` through this catcher.
    pub async fn deliver(&self, store: &Store) {
        let relay = storesync_engine::mail::MailRelay::new(
            &self.url,
            "StoreSync <no-reply@storesync.test>",
        )
        .unwrap();
        let worker = storesync_engine::Worker::new(store.clone(), Default::default()).handle(
            storesync_engine::mail::MAIL_JOB,
            std::sync::Arc::new(storesync_engine::mail::MailHandler {
                store: store.clone(),
                relay: Some(relay),
            }),
        );
        while worker.run_once().await.unwrap() != storesync_engine::RunOnce::Idle {}
    }
}
