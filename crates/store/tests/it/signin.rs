//! The sign-in limiter's claims: atomic under concurrency, all keys or
//! none, given back on success, a new window after the old one ends.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, SystemClock};
use storesync_store::backend_test;
use storesync_store::signin::{SigninKey, SigninLimit};
use storesync_store::testing::query_texts;

const TEN: SigninLimit = SigninLimit {
    max_attempts: 10,
    window_ms: 60_000,
};
const TWO: SigninLimit = SigninLimit {
    max_attempts: 2,
    window_ms: 60_000,
};

backend_test! {
    async fn forty_parallel_claims_get_exactly_ten(store) {
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store.claim_signin_attempt(&[(SigninKey::Address("192.0.2.1"), TEN)]).await.unwrap()
            }));
        }
        let mut granted = 0;
        for t in tasks {
            granted += usize::from(t.await.unwrap());
        }
        assert_eq!(granted, 10);
    }
}

backend_test! {
    async fn claims_are_all_or_none_given_back_and_windowed(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let both = |addr: &'static str| [(SigninKey::Account("a@example.com"), TWO), (SigninKey::Address(addr), TEN)];
        assert!(store.claim_signin_attempt(&both("192.0.2.1")).await.unwrap());
        assert!(store.claim_signin_attempt(&both("192.0.2.2")).await.unwrap());
        // The account is at its limit: the address is not charged either.
        assert!(!store.claim_signin_attempt(&both("192.0.2.3")).await.unwrap());
        for _ in 0..10 {
            assert!(store.claim_signin_attempt(&[(SigninKey::Address("192.0.2.3"), TEN)]).await.unwrap());
        }
        // A success gives its claim back.
        store.release_signin_attempt(&[SigninKey::Account("a@example.com")]).await.unwrap();
        assert!(store.claim_signin_attempt(&[(SigninKey::Account("a@example.com"), TWO)]).await.unwrap());
        assert!(!store.claim_signin_attempt(&[(SigninKey::Account("a@example.com"), TWO)]).await.unwrap());
        // A new window starts afresh, and old rows are pruned.
        clock.advance_millis(60_001);
        assert!(store.claim_signin_attempt(&[(SigninKey::Account("a@example.com"), TWO)]).await.unwrap());
        let rows = query_texts(&store, "SELECT key_hash FROM signin_limits").await;
        assert_eq!(rows.len(), 1, "expired windows pruned: {rows:?}");
        // Known addresses are remembered for as long as asked.
        assert!(!store.is_known_signin_address("a@example.com", "192.0.2.9").await.unwrap());
        store.remember_signin_address("a@example.com", "192.0.2.9", 120_000).await.unwrap();
        assert!(store.is_known_signin_address("a@example.com", "192.0.2.9").await.unwrap());
        assert!(!store.is_known_signin_address("b@example.com", "192.0.2.9").await.unwrap());
        clock.advance_millis(120_001);
        assert!(!store.is_known_signin_address("a@example.com", "192.0.2.9").await.unwrap());
    }
}
