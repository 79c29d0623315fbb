//! Request signing: a client holding the wrong secret gets a `Signature`
//! error (and a refused refresh does not use the refresh token up), and a
//! timestamp inside the marketplace's window is accepted while one a second
//! outside it, on either clock, is a `Signature` error.

use std::sync::Arc;

use serde_json::json;
use storesync_channels::{Channel, ChannelError, HttpSettings, ListingQuery};
use storesync_domain::time::ManualClock;
use storesync_sandbox::FaultConfig;

use crate::harness::{Env, Harness};

fn assert_signature_error(err: &ChannelError, code: Option<&str>, what: &str) {
    match err {
        ChannelError::Signature { code: got, .. } => {
            if let Some(code) = code {
                assert_eq!(got, code, "{what}");
            }
        }
        other => panic!("{what}: expected Signature, got {other:?}"),
    }
    assert!(!err.is_retryable() && !err.needs_token_refresh(), "{what}");
}

pub async fn a_client_with_the_wrong_secret_gets_a_signature_error<H: Harness>() {
    let env = Env::<H>::start().await;
    let (_, creds, refresh) = env.shop(json!({"name": "Shop", "products": []}));
    let wrong = env.other_client("not-the-secret", env.clock.clone(), HttpSettings::default());
    let err = wrong
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap_err();
    assert_signature_error(&err, H::WRONG_SIGNATURE_CODE, "shop call");

    // Token calls too; a refused call does not use the refresh token up.
    let err = wrong
        .refresh_token(&creds.shop, &refresh)
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Signature { .. }), "{err:?}");
    env.client
        .refresh_token(&creds.shop, &refresh)
        .await
        .unwrap();
}

pub async fn timestamps_outside_the_window_on_either_clock_are_signature_errors<H: Harness>() {
    let env = Env::<H>::start().await;
    let (_, creds, _) = env.shop(json!({"name": "Shop", "products": []}));
    let query = ListingQuery::default();
    let (past, future) = H::TIMESTAMP_WINDOW_SECS;

    // The sandbox's clock runs ahead (our timestamp is old) or behind (it is early).
    for (skew, ok) in [
        (past, true),
        (past + 1, false),
        (-future, true),
        (-future - 1, false),
    ] {
        env.sb().set_faults(FaultConfig {
            clock_skew_secs: skew,
            ..FaultConfig::default()
        });
        match env.client.list_listings(&creds, &query, None).await {
            Ok(_) => assert!(ok, "sandbox skew {skew}s accepted"),
            Err(e) => {
                assert!(!ok, "sandbox skew {skew}s: {e:?}");
                assert_signature_error(&e, H::STALE_TIMESTAMP_CODE, &format!("skew {skew}s"));
            }
        }
    }
    env.sb().set_faults(FaultConfig::default());
    env.client
        .list_listings(&creds, &query, None)
        .await
        .unwrap();

    // The client's own clock is off instead.
    for (offset, ok) in [
        (-(past - 1), true),
        (-(past + 1), false),
        (future - 1, true),
        (future + 1, false),
    ] {
        let clock = Arc::new(ManualClock::new(env.now().plus_millis(offset * 1000)));
        let skewed = env.other_client(H::SECRET, clock, HttpSettings::default());
        match skewed.list_listings(&creds, &query, None).await {
            Ok(_) => assert!(ok, "client offset {offset}s accepted"),
            Err(e) => {
                assert!(!ok, "client offset {offset}s: {e:?}");
                assert_signature_error(&e, H::STALE_TIMESTAMP_CODE, &format!("offset {offset}s"));
            }
        }
    }
}
