//! End-to-end tests of the HTTP API: the real app on 127.0.0.1:0 against a
//! fresh database of each backend, driven through a typed client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a panic is a failed test.

mod api;
mod auth;
mod bad_input;
mod connect;
mod cross_tenant;
mod intake;
mod propagation;
mod strict;
mod ui;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storesync_crypto::{hash_password, hash_token, random_token};
use storesync_domain::ids::OrgId;
use storesync_domain::Role;
use storesync_store::{Actor, Store};
use storesync_web::{App, AppState, WebConfig};

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
        let app = App::bind("127.0.0.1:0", AppState::new(store.clone(), config))
            .await
            .unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
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
