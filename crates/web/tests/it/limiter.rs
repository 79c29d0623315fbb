//! The sign-in limiter (claimed in the database before each password
//! check, per client address and per account) and the sign-in audit trail.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use storesync_store::backend_test;
use storesync_store::testing::{query_texts, TestDb};

use super::*;

/// A client whose requests come from `127.0.0.<n>`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .user_agent("limiter-test/1")
        .build()
        .unwrap()
}

async fn login_status(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> StatusCode {
    http.post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

async fn audit_actions(app: &TestApp, org: OrgId) -> Vec<Value> {
    let page = storesync_store::PageRequest {
        limit: Some(200),
        cursor: None,
    };
    let items = app.store.list_audit(org, &page).await.unwrap().items;
    items
        .iter()
        .map(|e| json!({ "action": e.action, "summary": e.summary }))
        .collect()
}

backend_test! {
    async fn parallel_wrong_passwords_are_mostly_refused(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let http = client_from(2);
        let tries: Vec<_> = (0..40)
            .map(|_| {
                let (http, base, email) = (http.clone(), app.base.clone(), t.email.clone());
                tokio::spawn(async move { login_status(&http, &base, &email, "not the password").await })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tries {
            statuses.push(t.await.unwrap());
        }
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        assert_eq!(refused + checked, 40, "{statuses:?}");
        assert!(checked <= 10, "at most the address's 10 attempts are checked: {statuses:?}");
    }
}

backend_test! {
    async fn someone_elses_failures_do_not_lock_the_owner_out(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let attacker = client_from(2);
        for _ in 0..10 {
            assert_eq!(login_status(&attacker, &app.base, &t.email, "guess").await, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(login_status(&attacker, &app.base, &t.email, "guess").await, StatusCode::TOO_MANY_REQUESTS);
        // The attacker's address is held whatever it names, even the right password.
        assert_eq!(login_status(&attacker, &app.base, &t.email, &t.password).await, StatusCode::TOO_MANY_REQUESTS);
        // The owner, elsewhere, is not.
        let owner = client_from(3);
        assert_eq!(login_status(&owner, &app.base, &t.email, &t.password).await, StatusCode::OK);
        // Correct passwords are not failures: signing in again and again stays allowed.
        for _ in 0..12 {
            assert_eq!(login_status(&owner, &app.base, &t.email, &t.password).await, StatusCode::OK);
        }
    }
}

backend_test! {
    async fn an_address_known_to_the_account_outlives_a_distributed_attack(store) {
        let config = WebConfig { trust_forwarded_for: true, ..WebConfig::default() };
        let app = TestApp::start_with(store, config).await;
        let t = app.tenant(Role::Owner).await;
        let from = |addr: String, password: String| {
            let http = app.http.clone();
            let url = format!("{}/api/v1/auth/login", app.base);
            let email = t.email.clone();
            async move {
                http.post(url)
                    .header("x-forwarded-for", format!("198.51.100.1, {addr}"))
                    .json(&json!({ "email": email, "password": password }))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        // The owner's usual address.
        assert_eq!(from("203.0.113.7".into(), t.password.clone()).await, StatusCode::OK);
        // 100 failures from 10 addresses reach the account's limit.
        for a in 0..10 {
            for _ in 0..10 {
                assert_eq!(from(format!("192.0.2.{a}"), "guess".into()).await, StatusCode::UNAUTHORIZED);
            }
        }
        assert_eq!(
            from("192.0.2.200".into(), "guess".into()).await,
            StatusCode::TOO_MANY_REQUESTS,
            "a new address is held by the account's limit"
        );
        assert_eq!(from("203.0.113.7".into(), t.password.clone()).await, StatusCode::OK, "the known address is not");
    }
}

backend_test! {
    async fn an_oversized_email_is_refused_before_anything(store) {
        let app = TestApp::start(store).await;
        let huge = format!("{}@example.com", "a".repeat(900 * 1024));
        let started = Instant::now();
        for _ in 0..20 {
            let r = app
                .call(None, Method::POST, "/api/v1/auth/login", Some(json!({ "email": huge, "password": "x" })))
                .await;
            assert_eq!((r.status, error_code(&r)), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        let rows = query_texts(&app.store, "SELECT key_hash FROM signin_limits").await;
        assert!(rows.is_empty(), "nothing stored for refused emails: {rows:?}");
        // Keys of normal attempts are fixed-size hashes, whatever the email.
        let long = format!("{}@example.com", "b".repeat(200));
        login_status(&app.http, &app.base, &long, "x").await;
        let rows = query_texts(&app.store, "SELECT key_hash FROM signin_limits").await;
        assert!(!rows.is_empty() && rows.iter().all(|k| k.as_deref().is_some_and(|k| k.len() == 64)), "{rows:?}");
    }
}

backend_test! {
    async fn password_change_is_limited_too(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let change = |current: &str| {
            app.post(&t, "/api/v1/auth/password", json!({ "current_password": current, "new_password": "a brand new secret" }))
        };
        for _ in 0..10 {
            assert_eq!(change("wrong current").await.status, StatusCode::UNAUTHORIZED);
        }
        let r = change("wrong current").await;
        assert_eq!((r.status, error_code(&r)), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"));
        let r = change(&t.password).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the address is held, right password or not");
        let actions = audit_actions(&app, t.org).await;
        let failed = actions.iter().filter(|a| a["action"] == "auth.password_change_failed").count();
        assert_eq!(failed, 10, "{actions:?}");
    }
}

backend_test! {
    async fn sign_ins_sign_outs_and_password_changes_are_audited(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let http = client_from(4);
        assert_eq!(login_status(&http, &app.base, &t.email, "wrong password").await, StatusCode::UNAUTHORIZED);
        let before = audit_actions(&app, t.org).await.len();
        assert_eq!(login_status(&http, &app.base, "nobody@example.com", "wrong password").await, StatusCode::UNAUTHORIZED);
        assert_eq!(audit_actions(&app, t.org).await.len(), before, "an unknown email belongs to no organization");

        let r = http.post(format!("{}/api/v1/auth/login", app.base)).json(&json!({ "email": t.email, "password": t.password })).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        let csrf = body["csrf_token"].as_str().unwrap().to_owned();

        // An admin sees the failed sign-in on the settings page.
        let page = http.get(format!("{}/settings/sign-ins", app.base)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(page.contains("127.0.0.4") && page.contains(&t.email), "{page}");

        let r = http.post(format!("{}/api/v1/auth/logout", app.base)).header("cookie", &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = app.post(&t, "/api/v1/auth/password", json!({ "current_password": t.password, "new_password": "a brand new secret" })).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

        let actions = audit_actions(&app, t.org).await;
        for action in ["auth.sign_in_failed", "auth.sign_in", "auth.sign_out", "auth.password_changed"] {
            let entry = actions.iter().find(|a| a["action"] == action).unwrap_or_else(|| panic!("{action} missing: {actions:?}"));
            let address = entry["summary"]["client_address"].as_str().unwrap();
            assert!(address.starts_with("127.0.0."), "{entry}");
        }
        let signed_in = actions.iter().find(|a| a["action"] == "auth.sign_in").unwrap();
        assert_eq!(signed_in["summary"], json!({ "client_address": "127.0.0.4", "user_agent": "limiter-test/1" }));
    }
}

/// Two app instances on one database: the limiter is the database's, not a
/// process's. Run on both backends (SQLite: two stores on one file).
async fn shared_between_instances(db: TestDb) {
    let url = db.url.clone();
    let first = TestApp::start(db.store.clone()).await;
    let second_store = Store::open(&url, &storesync_store::StoreOptions::default())
        .await
        .unwrap();
    let second = TestApp::start(second_store.clone()).await;
    let t = first.tenant(Role::Owner).await;
    for i in 0..10 {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            login_status(&app.http, &app.base, &t.email, "guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    for app in [&first, &second] {
        assert_eq!(
            login_status(&app.http, &app.base, &t.email, "guess").await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    second_store.close().await;
    drop((first, second));
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_is_shared_across_instances_sqlite() {
    shared_between_instances(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_is_shared_across_instances_postgres() {
    if let Some(db) = TestDb::postgres().await {
        shared_between_instances(db).await;
    }
}
