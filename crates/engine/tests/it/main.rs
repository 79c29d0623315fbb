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
        lanes: Vec::new(),
    }
}

/// Defers its first `defer` runs (something it needs is not there yet).
struct Waiting {
    defer: usize,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl JobHandler for Waiting {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.defer {
            return Err(JobError::Defer {
                reason: "not yet".into(),
                after: Duration::from_millis(100),
            });
        }
        Ok(())
    }
}

/// Holds its job until released.
struct Held(tokio::sync::Semaphore);

#[async_trait::async_trait]
impl JobHandler for Held {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let _ = self.0.acquire().await;
        Ok(())
    }
}

backend_test! {
    async fn a_deferred_job_never_dies_of_waiting(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let waiting = Arc::new(Waiting { defer: 12, calls: AtomicUsize::new(0) });
        let worker = Worker::new(store.clone(), config("w1")).handle("wait", waiting.clone());
        let id = store.enqueue(&NewJob::new("wait", serde_json::json!({})).max_attempts(3)).await.unwrap().unwrap();
        for _ in 0..12 {
            assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(1));
            let job = store.job(id).await.unwrap();
            assert_eq!((job.status, job.attempts, job.last_error), (JobStatus::Queued, 0, None));
            assert_eq!(worker.run_once().await.unwrap(), RunOnce::Idle, "deferred, not due yet");
            clock.advance_millis(100);
        }
        assert_eq!(worker.run_once().await.unwrap(), RunOnce::Worked(1));
        assert_eq!(store.job(id).await.unwrap().status, JobStatus::Done);
        assert_eq!(waiting.calls.load(Ordering::SeqCst), 13);
    }
}

backend_test! {
    async fn a_lane_of_its_own_runs_while_the_other_slots_are_busy(store) {
        let held = Arc::new(Held(tokio::sync::Semaphore::new(0)));
        let fast = Arc::new(Flaky { fail: 0, permanent: false, calls: AtomicUsize::new(0) });
        let mut cfg = config("w1");
        cfg.batch = 1;
        cfg.lanes = vec![storesync_engine::Lane { kinds: vec!["intake".into()], slots: 1 }];
        let worker = Worker::new(store.clone(), cfg).handle("slow", held.clone()).handle("intake", fast.clone());
        let slow = store.enqueue(&NewJob::new("slow", serde_json::json!({}))).await.unwrap().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(worker.run(async move {
            let _ = stop_rx.await;
        }));
        // The one general slot is taken by the slow job...
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.job(slow).await.unwrap().status != JobStatus::Running {
            assert!(std::time::Instant::now() < deadline, "the slow job never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // ...yet intake jobs run, one after the other, in their own slot.
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(store.enqueue(&NewJob::new("intake", serde_json::json!({}))).await.unwrap().unwrap());
        }
        for id in ids {
            while store.job(id).await.unwrap().status != JobStatus::Done {
                assert!(std::time::Instant::now() < deadline, "intake waited behind the slow job");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        assert_eq!(store.job(slow).await.unwrap().status, JobStatus::Running);
        held.0.add_permits(1);
        while store.job(slow).await.unwrap().status != JobStatus::Done {
            assert!(std::time::Instant::now() < deadline + Duration::from_secs(5), "the slow job never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop_tx.send(());
        running.await.unwrap();
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
