//! Rate limits on the API: per token and per client address, by route
//! group, answered 429 with `Retry-After`; shared by every process on
//! PostgreSQL.

use storesync_store::backend_test;
use storesync_store::testing::TestDb;
use storesync_store::StoreOptions;
use storesync_web::api_limits::ApiLimits;

use super::*;

fn limits(products: i64, address_factor: i64) -> WebConfig {
    WebConfig {
        api_limits: ApiLimits {
            products_per_minute: products,
            address_factor,
            ..ApiLimits::default()
        },
        ..WebConfig::default()
    }
}

fn assert_limited(r: &Reply, group: &str) {
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(r.body["error"]["code"], "rate_limited", "{}", r.body);
    assert_eq!(r.body["error"]["details"]["group"], group);
    assert_eq!(r.body["error"]["details"]["retry_after_secs"], retry);
}

backend_test! {
    async fn a_token_over_its_groups_limit_is_answered_429_with_retry_after(store) {
        let app = TestApp::start_with(store, limits(3, 100)).await;
        let a = app.tenant(Role::Owner).await;
        let b = app.tenant(Role::Owner).await;
        for _ in 0..3 {
            assert_eq!(app.get(&a, "/api/v1/products").await.status, StatusCode::OK);
        }
        assert_limited(&app.get(&a, "/api/v1/products").await, "products");
        // Another route of the group shares the count; another group does not.
        assert_limited(&app.get(&a, "/api/v1/inventory").await, "products");
        assert_eq!(app.get(&a, "/api/v1/orders").await.status, StatusCode::OK);
        // Another token has its own count.
        assert_eq!(app.get(&b, "/api/v1/products").await.status, StatusCode::OK);
        // Pages that are not the API are not counted.
        assert_eq!(app.http.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), StatusCode::OK);
    }
}

backend_test! {
    async fn a_client_address_is_limited_whatever_tokens_it_uses(store) {
        let app = TestApp::start_with(store, limits(2, 2)).await;
        let tokens = [app.tenant(Role::Owner).await, app.tenant(Role::Owner).await, app.tenant(Role::Owner).await];
        // Two tokens use up the address's four; the third is refused.
        for t in &tokens[..2] {
            for _ in 0..2 {
                assert_eq!(app.get(t, "/api/v1/products").await.status, StatusCode::OK);
            }
        }
        assert_limited(&app.get(&tokens[2], "/api/v1/products").await, "products");
        // Without a credential the address still counts.
        let anonymous = app.http.get(format!("{}/api/v1/products", app.base)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

backend_test! {
    async fn limits_can_be_turned_off(store) {
        let config = WebConfig { api_limits: ApiLimits { enabled: false, products_per_minute: 1, ..ApiLimits::default() }, ..WebConfig::default() };
        let app = TestApp::start_with(store, config).await;
        let a = app.tenant(Role::Owner).await;
        for _ in 0..5 {
            assert_eq!(app.get(&a, "/api/v1/products").await.status, StatusCode::OK);
        }
    }
}

/// Two `serve` processes on one PostgreSQL database count together: a
/// client spread over both by a load balancer gets one limit, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_the_limit_holds_across_processes() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let other_process = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let first = TestApp::start_with(db.store.clone(), limits(4, 100)).await;
    let second = TestApp::start_with(other_process, limits(4, 100)).await;
    let a = first.tenant(Role::Owner).await;
    for app in [&first, &second, &first, &second] {
        assert_eq!(app.get(&a, "/api/v1/products").await.status, StatusCode::OK);
    }
    assert_limited(&second.get(&a, "/api/v1/products").await, "products");
    assert_limited(&first.get(&a, "/api/v1/products").await, "products");
    drop((first, second));
    db.cleanup().await;
}
