//! Call-level failures: 5xx answers and timeouts are `Transient`, a refused
//! call over the rate limit is `RateLimited` with a budget per shop and API,
//! and the client's pacer keeps a burst under the sandbox's default limit.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use storesync_channels::pace::with_patience;
use storesync_channels::{
    Channel, ChannelError, HttpSettings, ListingQuery, Secret, ShopCredentials, StockUpdate,
    TimeRange, UpdateOutcome,
};
use storesync_domain::{Clock, SystemClock};
use storesync_sandbox::{CreateShop, FaultConfig, SandboxConfig, SandboxServer};

use crate::harness::{Env, Harness};

/// Asserts `err` is `Transient` and names `mark` (a marketplace code) when given.
fn assert_transient(err: &ChannelError, mark: Option<&str>) {
    match err {
        ChannelError::Transient { reason } => {
            if let Some(mark) = mark {
                assert!(reason.contains(mark), "{err:?} names {mark}");
            }
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert!(err.is_retryable() && !err.needs_token_refresh(), "{err:?}");
}

pub async fn server_errors_and_timeouts_are_transient<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(json!({"name": "Shop", "products": [
        {"name": "Mug", "item_sku": "MUG-1", "price": "9.90", "stock": 10}]}));

    env.sb().set_faults(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let err = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert_transient(&err, H::SERVER_ERROR_MARK);
    let last_minute = TimeRange::new(env.now().plus_millis(-60_000), env.now());
    let err = env
        .client
        .changed_orders(&creds, last_minute)
        .await
        .unwrap_err();
    assert_transient(&err, H::SERVER_ERROR_MARK);

    let (fault, http) = H::timeout_fault();
    env.sb().set_faults(fault);
    let impatient = env.other_client(H::SECRET, env.clock.clone(), http);
    let (listing_id, variant_id) = H::variant_ref(&view, "MUG-1");
    let update = [StockUpdate {
        listing_id,
        variant_id,
        warehouse_id: None,
        quantity: 2,
    }];
    let err = impatient.update_stock(&creds, &update).await.unwrap_err();
    assert_transient(&err, H::TIMEOUT_MARK);
    let err = impatient
        .changed_orders(&creds, env.everything())
        .await
        .unwrap_err();
    assert_transient(&err, H::TIMEOUT_MARK);
    let err = impatient
        .authorized_shops(&creds.access_token, Some(&creds.shop))
        .await
        .unwrap_err();
    assert_transient(&err, H::TIMEOUT_MARK);
    assert_eq!(
        env.sb().listing(view.shop_id, "MUG-1").unwrap().total_stock,
        10,
        "a timed-out write did not happen"
    );

    env.sb().set_faults(FaultConfig::default());
    env.client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    let results = env.client.update_stock(&creds, &update).await.unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(
        env.sb().listing(view.shop_id, "MUG-1").unwrap().total_stock,
        2
    );
}

pub async fn rate_limit_is_rate_limited_per_shop_and_api<H: Harness>() {
    let env = Env::<H>::start().await;
    let (_, creds, _) = env.shop(json!({"name": "Shop", "products": []}));
    env.sb().set_faults(FaultConfig {
        rate_limit_qps: Some(2),
        ..FaultConfig::default()
    });
    let query = ListingQuery::default();
    let list = || env.client.list_listings(&creds, &query, None);
    list().await.unwrap();
    list().await.unwrap();
    let err = list().await.unwrap_err();
    assert!(matches!(err, ChannelError::RateLimited { .. }), "{err:?}");
    assert!(err.is_retryable() && !err.needs_token_refresh());
    assert_eq!(err.retry_after(), H::RATE_LIMIT_RETRY_AFTER);
    // Another API of the same shop has its own budget.
    env.client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    // A new second starts afresh.
    env.advance_secs(1);
    list().await.unwrap();
}

/// A throttle answer holds that API of that shop in the client's pacer:
/// the next call waits out the ban instead of going straight back into the
/// limit (Shopee and TikTok Shop answer a throttle rather than fail the
/// request, which the pacer once did not notice).
pub async fn a_throttle_answer_holds_the_api_in_the_pacer<H: Harness>() {
    let env = Env::<H>::start().await;
    let (_, creds, _) = env.shop(json!({"name": "Shop", "products": []}));
    env.sb().set_faults(FaultConfig {
        rate_limit_qps: Some(1),
        ..FaultConfig::default()
    });
    let query = ListingQuery::default();
    let list = || env.client.list_listings(&creds, &query, None);
    list().await.unwrap();
    let refused = list().await.unwrap_err();
    assert!(
        matches!(refused, ChannelError::RateLimited { .. }),
        "{refused:?}"
    );
    // The marketplace would take the call again (a new second on its
    // clock), but the client's pacer still holds the API for the ban (real
    // time): unwilling to wait it out, the call is refused before it is sent.
    env.advance_secs(1);
    let held = with_patience(Duration::from_millis(50), list()).await;
    match held {
        Err(ChannelError::RateLimited {
            retry_after: Some(wait),
        }) => assert!(wait > Duration::from_millis(50), "{wait:?}"),
        other => panic!("expected the pacer to hold the call, got {other:?}"),
    }
}

/// A sandbox with its default limits, and a client of it, on real time.
async fn real_time_sandbox<H: Harness>() -> (SandboxServer, H::Client) {
    let server = SandboxServer::start(SandboxConfig::new(H::SANDBOX))
        .await
        .unwrap();
    let client = H::client(
        &server.base_url(),
        H::SECRET,
        Arc::new(SystemClock),
        HttpSettings::default(),
    );
    (server, client)
}

/// With the sandbox's default per-shop limit on (on real time here), a burst
/// sent through the client's pacer is never refused; more calls than a
/// per-second limit allows take at least a second.
pub async fn paced_bursts_stay_within_the_default_rate_limit<H: Harness>() {
    let (server, client) = real_time_sandbox::<H>().await;
    let view = server
        .sandbox()
        .create_shop(&CreateShop {
            name: Some("Burst".into()),
            ..CreateShop::default()
        })
        .unwrap();
    let (access, _) = server.sandbox().mint_tokens(view.shop_id).unwrap();
    let creds = ShopCredentials {
        shop: H::shop_ref(&view),
        access_token: Secret::new(access),
    };
    let now = SystemClock.now();
    let range = TimeRange::new(now.plus_millis(-60_000), now.plus_millis(1_000));

    let started = std::time::Instant::now();
    let calls = (0..H::BURST).map(|_| client.changed_orders(&creds, range));
    for result in futures_util::future::join_all(calls).await {
        result.unwrap();
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(H::BURST_TAKES_SECS),
        "{} calls were paced",
        H::BURST
    );
    server.shutdown().await;
}

/// A stock update across more listings than the per-second limit allows is
/// paced as one API, whatever ids its paths carry (TikTok Shop puts the
/// product id in the path): no call is throttled, every update applies.
pub async fn a_stock_update_across_many_listings_stays_within_the_default_rate_limit<H: Harness>() {
    let (server, client) = real_time_sandbox::<H>().await;
    let products: Vec<serde_json::Value> = (0..60)
        .map(|i| serde_json::json!({"name": format!("Item {i}"), "item_sku": format!("ITEM-{i}"), "price": "5.00", "stock": 9}))
        .collect();
    let spec: CreateShop =
        serde_json::from_value(serde_json::json!({"name": "Many items", "products": products}))
            .unwrap();
    let view = server.sandbox().create_shop(&spec).unwrap();
    let (access, _) = server.sandbox().mint_tokens(view.shop_id).unwrap();
    let creds = ShopCredentials {
        shop: H::shop_ref(&view),
        access_token: Secret::new(access),
    };
    let updates: Vec<storesync_channels::StockUpdate> = (0..60)
        .map(|i| {
            let (listing_id, variant_id) = H::variant_ref(&view, &format!("ITEM-{i}"));
            storesync_channels::StockUpdate {
                listing_id,
                variant_id,
                warehouse_id: None,
                quantity: 4,
            }
        })
        .collect();
    let results = client.update_stock(&creds, &updates).await.unwrap();
    assert_eq!(results.len(), 60);
    for r in &results {
        assert_eq!(
            r.outcome,
            storesync_channels::UpdateOutcome::Applied,
            "{r:?}"
        );
    }
    server.shutdown().await;
}
