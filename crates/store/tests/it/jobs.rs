use std::collections::HashSet;
use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, SystemClock};
use storesync_store::backend_test;
use storesync_store::jobs::{DeferOutcome, FailOutcome, JobStatus, NewJob};

use super::*;

backend_test! {
    async fn jobs_lease_retry_die_and_deduplicate(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let org = org_with_skus(&store, &["A"]).await;
        let job = NewJob::new("sync.push", serde_json::json!({ "sku": "A" })).org(org).unique("push:A").max_attempts(2);
        let id = store.enqueue(&job).await.unwrap().unwrap();
        assert!(store.enqueue(&job).await.unwrap().is_none(), "same unique key while pending");

        let claimed = store.claim_jobs("w1", 10, 30_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].id, claimed[0].attempts), (id, 1));
        assert!(store.claim_jobs("w2", 10, 30_000).await.unwrap().is_empty(), "leased");

        // w1 dies; after the lease expires w2 takes the job over.
        clock.advance_millis(30_001);
        let taken = store.claim_jobs("w2", 10, 30_000).await.unwrap();
        assert_eq!((taken.len(), taken[0].attempts), (1, 2));
        assert!(!store.complete_job(id, "w1").await.unwrap(), "a stale worker cannot finish it");

        let retry_at = clock.now().plus_millis(5_000);
        let outcome = store.fail_job(id, "w2", "HTTP 503 from marketplace", Some(retry_at)).await.unwrap();
        assert_eq!(outcome, Some(FailOutcome::Dead), "max attempts reached");
        let dead = store.job(id).await.unwrap();
        assert_eq!((dead.status, dead.last_error.as_deref()), (JobStatus::Dead, Some("HTTP 503 from marketplace")));
        assert!(store.enqueue(&job).await.unwrap().is_some(), "a dead job frees its unique key");

        let other = org_with_skus(&store, &["A"]).await;
        assert!(matches!(store.retry_job(other, id).await, Err(storesync_store::StoreError::NotFound(_))));
        let again = store.retry_job(org, id).await.unwrap();
        assert_eq!((again.status, again.attempts), (JobStatus::Queued, 0));
        assert_eq!(store.list_jobs(org, Some(JobStatus::Queued), &Default::default()).await.unwrap().items.len(), 2);
        assert!(store.list_jobs(other, None, &Default::default()).await.unwrap().items.is_empty());
    }
}

backend_test! {
    async fn failed_attempts_are_retried_later_and_done_jobs_free_their_key(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let id = store.enqueue(&NewJob::new("poll", serde_json::json!({})).unique("poll:1")).await.unwrap().unwrap();
        store.claim_jobs("w", 1, 10_000).await.unwrap();
        let at = clock.now().plus_millis(60_000);
        assert_eq!(store.fail_job(id, "w", "timeout", Some(at)).await.unwrap(), Some(FailOutcome::Retried { at }));
        assert!(store.claim_jobs("w", 1, 10_000).await.unwrap().is_empty(), "not due yet");
        clock.advance_millis(60_000);
        assert_eq!(store.claim_jobs("w", 1, 10_000).await.unwrap()[0].attempts, 2);
        assert!(store.complete_job(id, "w").await.unwrap());
        assert_eq!(store.job(id).await.unwrap().status, JobStatus::Done);
        assert!(store.enqueue(&NewJob::new("poll", serde_json::json!({})).unique("poll:1")).await.unwrap().is_some());
    }
}

backend_test! {
    async fn concurrent_workers_never_claim_the_same_job(store) {
        for i in 0..200 {
            store.enqueue(&NewJob::new("work", serde_json::json!({ "i": i }))).await.unwrap();
        }
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for w in 0..6 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_jobs(&format!("w{w}"), 7, 60_000).await.unwrap();
                    if batch.is_empty() {
                        break;
                    }
                    for j in batch {
                        assert!(store.complete_job(j.id, &format!("w{w}")).await.unwrap());
                        mine.push(j.id);
                    }
                }
                mine
            }));
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        for t in tasks {
            for id in t.await.unwrap() {
                total += 1;
                assert!(seen.insert(id), "job {id} ran twice");
            }
        }
        assert_eq!(total, 200);
    }
}

backend_test! {
    async fn deferring_a_job_gives_its_attempt_back_and_merges_with_a_successor(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let push = || NewJob::new("stock.push", serde_json::json!({ "shop": 1 })).unique("push:1").max_attempts(2);
        let id = store.enqueue(&push()).await.unwrap().unwrap();
        // Deferred far more often than it may fail: still queued, still keyed.
        for round in 0..5 {
            let claimed = store.claim_jobs("w", 1, 10_000).await.unwrap();
            assert_eq!((claimed.len(), claimed[0].attempts), (1, 1), "round {round}");
            let at = clock.now().plus_millis(100);
            assert_eq!(store.defer_job(id, "w", at).await.unwrap(), Some(DeferOutcome::Requeued { at }));
            assert!(store.enqueue(&push()).await.unwrap().is_none(), "the deferred job holds its key again");
            clock.advance_millis(100);
        }
        let job = store.job(id).await.unwrap();
        assert_eq!((job.status, job.attempts, job.last_error), (JobStatus::Queued, 0, None));
        assert_eq!(store.defer_job(id, "w", clock.now()).await.unwrap(), None, "only the lease holder defers");

        // A successor queued while the job ran absorbs it when it defers.
        store.claim_jobs("w", 1, 10_000).await.unwrap();
        let later = clock.now().plus_millis(30_000);
        let successor = store.enqueue(&push().at(later)).await.unwrap().unwrap();
        let at = clock.now().plus_millis(100);
        assert_eq!(store.defer_job(id, "w", at).await.unwrap(), Some(DeferOutcome::Merged { at }));
        assert_eq!(store.job(id).await.unwrap().status, JobStatus::Done);
        let next = store.job(successor).await.unwrap();
        assert_eq!((next.status, next.run_at), (JobStatus::Queued, at), "runs when the deferred one would have");
        clock.advance_millis(100);
        let claimed = store.claim_jobs("w", 5, 10_000).await.unwrap();
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![successor]);
    }
}
