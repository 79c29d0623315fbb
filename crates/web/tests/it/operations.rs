//! `/metrics` and `/readyz`: what an operator scrapes and probes.

use storesync_store::backend_test;
use storesync_store::jobs::NewJob;
use storesync_web::WebConfig;

use super::*;

/// The value of the first sample of `name` whose labels include every one
/// of `labels` (`key="value"`), from a Prometheus text page.
fn sample(page: &str, name: &str, labels: &[&str]) -> Option<f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String) {
    let mut req = app.http.get(format!("{}/metrics", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    (status, res.text().await.unwrap())
}

backend_test! {
    async fn metrics_count_requests_by_route_template_and_read_queue_and_pools(store) {
        let app = TestApp::start(store.clone()).await;
        let owner = app.tenant(Role::Owner).await;
        for _ in 0..3 {
            assert_eq!(app.call(None, Method::GET, "/healthz", None).await.status, StatusCode::OK);
        }
        let order = app.get(&owner, "/api/v1/orders/01a24360-0000-7000-8000-000000000000").await;
        assert_eq!(order.status, StatusCode::NOT_FOUND);
        // The recorder is the process's, shared by the tests running beside
        // this one: a kind of its own keeps its gauge its own.
        let kind = format!("test.{}", owner.org);
        let kind_label = format!(r#"kind="{kind}""#);
        store.enqueue(&NewJob::new(&kind, json!({})).org(owner.org)).await.unwrap();

        // From this machine, no token configured: served.
        let (status, page) = scrape(&app, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let healthz = sample(&page, "storesync_http_requests_total", &[r#"route="/healthz""#, r#"method="GET""#, r#"status="200""#]);
        assert!(healthz.is_some_and(|n| n >= 3.0), "{page}");
        // The route is the template, never the path with its ids.
        assert!(sample(&page, "storesync_http_requests_total", &[r#"route="/api/v1/orders/{id}""#, r#"status="404""#]).is_some(), "{page}");
        assert!(!page.contains("01a24360-0000-7000-8000-000000000000"), "no ids in labels");
        assert!(page.contains("storesync_http_request_duration_seconds_bucket{"), "{page}");
        assert_eq!(sample(&page, "storesync_jobs", &[&kind_label, r#"status="queued""#]), Some(1.0), "{page}");
        assert!(sample(&page, "storesync_db_pool_connections", &[r#"pool="read""#, r#"state="in_use""#]).is_some(), "{page}");

        // The job is gone: its gauge reads 0, not its last value.
        store.claim_jobs("w", 10, 60_000).await.unwrap();
        let (_, page) = scrape(&app, None).await;
        assert_eq!(sample(&page, "storesync_jobs", &[&kind_label, r#"status="queued""#]), Some(0.0), "{page}");
        assert_eq!(sample(&page, "storesync_jobs", &[&kind_label, r#"status="running""#]), Some(1.0), "{page}");
    }
}

backend_test! {
    async fn metrics_need_the_configured_token(store) {
        let config = WebConfig { metrics_token: Some(storesync_crypto::Secret::new("scrape-me-0123".to_owned())), ..WebConfig::default() };
        let app = TestApp::start_with(store, config).await;
        let (status, body) = scrape(&app, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.contains("\"error\""), "a JSON error body: {body}");
        assert_eq!(scrape(&app, Some("scrape-me-0124")).await.0, StatusCode::UNAUTHORIZED);
        let (status, page) = scrape(&app, Some("scrape-me-0123")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("storesync_db_pool_connections"), "{page}");
    }
}

backend_test! {
    async fn readiness_names_jobs_no_worker_takes(store) {
        let app = TestApp::start(store.clone()).await;
        let ready = app.call(None, Method::GET, "/readyz", None).await;
        assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::OK, Some("ready")), "{}", ready.body);
        // A job due ten minutes ago and still queued: no worker is taking jobs.
        let due = store.now().plus_millis(-10 * 60_000);
        store.enqueue(&NewJob::new("orders.poll", json!({})).at(due)).await.unwrap();
        let stalled = app.call(None, Method::GET, "/readyz", None).await;
        assert_eq!(stalled.status, StatusCode::SERVICE_UNAVAILABLE, "{}", stalled.body);
        assert_eq!(stalled.body["status"], "not_ready");
        assert!(stalled.body["problems"][0].as_str().unwrap().contains("no worker is taking them"), "{}", stalled.body);
    }
}

backend_test! {
    async fn readiness_names_a_schema_this_build_does_not_expect(store) {
        let app = TestApp::start(store.clone()).await;
        let expected = storesync_store::operations::expected_schema_version();
        // The database is one step behind this build (a new binary started
        // before `storesync migrate`).
        storesync_store::testing::execute(&store, &format!("DELETE FROM _sqlx_migrations WHERE version = {expected}")).await;
        let behind = app.call(None, Method::GET, "/readyz", None).await;
        assert_eq!(behind.status, StatusCode::SERVICE_UNAVAILABLE, "{}", behind.body);
        let problem = behind.body["problems"][0].as_str().unwrap();
        assert!(problem.contains(&format!("at step {}, this build expects {expected}", expected - 1)), "{problem}");
        assert!(problem.contains("storesync migrate"), "{problem}");
        // The process itself is up.
        assert_eq!(app.call(None, Method::GET, "/healthz", None).await.status, StatusCode::OK);
    }
}
