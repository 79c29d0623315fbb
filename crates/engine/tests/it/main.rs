//! Engine tests on both backends: the steppable worker and the scheduler.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a panic is a failed test.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::{
    Backoff, JobError, JobHandler, RunOnce, Schedule, Scheduler, Worker, WorkerConfig,
};
use storesync_store::backend_test;
use storesync_store::jobs::{Job, JobStatus, NewJob};

mod tokens;

/// Fails the first `fail` attempts, then succeeds; counts calls.
struct Flaky {
    fail: usize,
    permanent: bool,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl JobHandler for Flaky {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail {
            if self.permanent {
                return Err(JobError::Permanent("bad data".into()));
            }
            return Err(JobError::retry(format!("attempt {} failed", n + 1)));
        }
        Ok(())
    }
}

fn config(id: &str) -> WorkerConfig {
    WorkerConfig {
        id: id.into(),
        batch: 10,
        lease: Duration::from_secs(60),
        idle_poll: Duration::from_millis(10),
        backoff: Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
        },
    }
}

backend_test! {
    async fn retries_with_backoff_then_succeeds(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let flaky = Arc::new(Flaky { fail: 2, permanent: false, calls: AtomicUsize::new(0) });
        let worker = Worker::new(store.clone(), config("w1")).handle("flaky", flaky.clone());
        let id = store.enqueue(&NewJob::new("flaky", serde_json::json!({}))).await.unwrap().unwrap();

        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(1));
        let job = store.job(id).await.unwrap();
        assert_eq!((job.status, job.last_error.as_deref()), (JobStatus::Queued, Some("attempt 1 failed")));
        let wait = job.run_at.millis() - clock.now().millis();
        assert!((800..=1200).contains(&wait), "first retry after ~1 s, got {wait} ms");
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Idle, "not due yet");

        clock.advance_millis(1_200);
        worker.run_once().await.unwrap();
        let job = store.job(id).await.unwrap();
        let wait = job.run_at.millis() - clock.now().millis();
        assert!((1_600..=2_400).contains(&wait), "second retry after ~2 s, got {wait} ms");
        clock.advance_millis(2_400);
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(1));
        assert_eq!(store.job(id).await.unwrap().status, JobStatus::Done);
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    }
}

backend_test! {
    async fn permanent_failures_and_unknown_kinds_go_dead(store) {
        let flaky = Arc::new(Flaky { fail: 1, permanent: true, calls: AtomicUsize::new(0) });
        let worker = Worker::new(store.clone(), config("w1")).handle("bad", flaky);
        let bad = store.enqueue(&NewJob::new("bad", serde_json::json!({}))).await.unwrap().unwrap();
        let unknown = store.enqueue(&NewJob::new("mystery", serde_json::json!({}))).await.unwrap().unwrap();
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(2));
        assert_eq!(store.job(bad).await.unwrap().status, JobStatus::Dead);
        let dead = store.job(unknown).await.unwrap();
        assert_eq!(dead.status, JobStatus::Dead);
        assert!(dead.last_error.unwrap().contains("no handler"));
    }
}

backend_test! {
    async fn a_crashed_workers_job_is_taken_again(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let id = store.enqueue(&NewJob::new("ok", serde_json::json!({}))).await.unwrap().unwrap();
        // A worker claims the job and dies without finishing it.
        assert_eq!(store.claim_jobs("dead-worker", 1, 60_000).await.unwrap().len(), 1);
        let handler = Arc::new(Flaky { fail: 0, permanent: false, calls: AtomicUsize::new(0) });
        let worker = Worker::new(store.clone(), config("w2")).handle("ok", handler.clone());
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Idle);
        clock.advance_millis(60_001);
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(1));
        assert_eq!(store.job(id).await.unwrap().status, JobStatus::Done);
        assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    }
}

backend_test! {
    async fn schedules_fire_once_per_period_across_instances(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let schedule = Schedule { name: "poll-orders".into(), every: Duration::from_secs(300), job: NewJob::new("poll", serde_json::json!({})) };
        let a = Scheduler::new(store.clone(), vec![schedule.clone()]);
        let b = Scheduler::new(store.clone(), vec![schedule]);
        let (x, y) = tokio::join!(a.tick(), b.tick());
        assert_eq!(x.unwrap() + y.unwrap(), 1, "two instances, one job");
        assert_eq!(a.tick().await.unwrap() + b.tick().await.unwrap(), 0);
        clock.advance_millis(300_000);
        assert_eq!(b.tick().await.unwrap() + a.tick().await.unwrap(), 1);
        let worker = Worker::new(store.clone(), config("w")).handle("poll", Arc::new(Flaky { fail: 0, permanent: false, calls: AtomicUsize::new(0) }));
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(2));
    }
}
