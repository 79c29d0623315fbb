//! The webhook inbox: one drain job queued per marketplace, claims that
//! never hand the same delivery to two drains, and pushes that wait only
//! for their own shop's deliveries.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, Marketplace, SystemClock};
use storesync_store::backend_test;

backend_test! {
    async fn deliveries_are_drained_in_claimed_batches(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        for i in 0..5 {
            let stored = store.record_webhook(Marketplace::Shopee, &format!("k{i}"), "{}", Some("11")).await.unwrap();
            assert!(stored.is_some());
        }
        assert!(store.record_webhook(Marketplace::Shopee, "k0", "{}", Some("11")).await.unwrap().is_none(), "a retry is a duplicate");
        // A burst queues one drain, not a job a delivery.
        assert_eq!(store.pending_job_count().await.unwrap(), 1);

        let first = store.claim_webhooks(Marketplace::Shopee, 3, 60_000).await.unwrap();
        assert_eq!(first.len(), 3);
        let second = store.claim_webhooks(Marketplace::Shopee, 3, 60_000).await.unwrap();
        assert_eq!(second.len(), 2, "claimed entries are not handed out twice");
        assert!(store.claim_webhooks(Marketplace::Shopee, 3, 60_000).await.unwrap().is_empty());
        assert!(store.claim_webhooks(Marketplace::Lazada, 3, 60_000).await.unwrap().is_empty());

        // The first drain finishes; the second gives its entries back.
        store.mark_webhooks_processed(&first.iter().map(|e| e.id).collect::<Vec<_>>()).await.unwrap();
        store.release_webhooks(&second.iter().map(|e| e.id).collect::<Vec<_>>()).await.unwrap();
        assert_eq!(store.unprocessed_webhooks().await.unwrap(), 2);
        let again = store.claim_webhooks(Marketplace::Shopee, 10, 60_000).await.unwrap();
        assert_eq!(again.len(), 2, "released entries are claimed again");
        // A drain that died: its claim ends with its lease.
        clock.advance_millis(60_001);
        assert_eq!(store.claim_webhooks(Marketplace::Shopee, 10, 60_000).await.unwrap().len(), 2);
        assert!(store.webhook(first[0].id).await.unwrap().processed_at.is_some());
    }
}

backend_test! {
    async fn a_push_waits_only_for_its_own_shops_deliveries(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        store.record_webhook(Marketplace::Shopee, "a", "{}", Some("11")).await.unwrap();
        clock.advance_millis(10);
        let now = clock.now();
        let since = now.plus_millis(-1_000);
        assert!(store.pending_webhooks(Marketplace::Shopee, "11", since, now).await.unwrap());
        assert!(!store.pending_webhooks(Marketplace::Shopee, "22", since, now).await.unwrap(), "another shop's delivery");
        assert!(!store.pending_webhooks(Marketplace::TikTokShop, "11", since, now).await.unwrap());
        // Received after the push was queued: does not hold it back.
        assert!(!store.pending_webhooks(Marketplace::Shopee, "11", since, now.plus_millis(-20)).await.unwrap());
        // A delivery naming no shop holds every shop's push.
        store.record_webhook(Marketplace::Shopee, "b", "{}", None).await.unwrap();
        clock.advance_millis(10);
        assert!(store.pending_webhooks(Marketplace::Shopee, "22", since, clock.now()).await.unwrap());
        let all: Vec<_> = store.claim_webhooks(Marketplace::Shopee, 10, 60_000).await.unwrap().iter().map(|e| e.id).collect();
        store.mark_webhooks_processed(&all).await.unwrap();
        assert!(!store.pending_webhooks(Marketplace::Shopee, "11", since, clock.now()).await.unwrap());
        // Deliveries older than the window no longer hold anything back.
        store.record_webhook(Marketplace::Shopee, "c", "{}", Some("11")).await.unwrap();
        clock.advance_millis(10);
        assert!(!store.pending_webhooks(Marketplace::Shopee, "11", clock.now(), clock.now()).await.unwrap());
    }
}
