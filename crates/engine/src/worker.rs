//! The job runner. `run_once` claims a batch of due jobs, runs each through
//! the handler registered for its kind and records the outcome; `run` keeps
//! pools of jobs in flight (one per lane) until shutdown. Being steppable, the runner is tested without sleeping.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use storesync_store::jobs::{FailOutcome, Job, KindFilter};
use storesync_store::{Store, StoreError};
use tokio::sync::Notify;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (network, 5xx, rate limit); `after` overrides
    /// the backoff, e.g. with a marketplace's retry-after.
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// Will never succeed as it is (bad data, a refused authorization): the
    /// job goes straight to `dead`, visible and retryable by hand.
    #[error("{0}")]
    Permanent(String),
    /// Not a failure: the job must wait for something (e.g. pending
    /// webhooks) and runs again after `after`.
    #[error("{reason}")]
    Defer { reason: String, after: Duration },
}

/// The organization a job works for; a job of a per-organization kind
/// without one is refused for good.
pub fn job_org(job: &Job) -> Result<storesync_domain::ids::OrgId, JobError> {
    job.org_id
        .ok_or_else(|| JobError::Permanent(format!("{} job without organization", job.kind)))
}

/// A job's payload as its handler expects it; one it cannot read is
/// refused for good (a retry would read it no better).
pub fn job_payload<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError::Retry {
            message: message.into(),
            after: None,
        }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            // Lost a deadlock: nothing was written, run again soon rather
            // than after a failure's backoff (a push delayed is stock shown
            // too long).
            StoreError::Database(_) if e.is_contention() => JobError::Retry {
                message: e.to_string(),
                after: Some(Duration::from_millis(20)),
            },
            StoreError::Database(_) => JobError::retry(e.to_string()),
            other => JobError::Permanent(other.to_string()),
        }
    }
}

/// Code that performs one kind of job.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// Exponential backoff with jitter: `base · 2^(attempt−1)`, capped, then
/// scaled by a random factor in [0.8, 1.2] so failed jobs do not retry in
/// lock-step.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    pub fn delay(&self, attempt: i64, jitter: f64) -> Duration {
        let exp = u32::try_from(attempt.clamp(1, 32) - 1).unwrap_or(31);
        let raw = self.base.saturating_mul(2u32.saturating_pow(exp));
        raw.min(self.max).mul_f64(jitter.clamp(0.8, 1.2))
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifies this worker in job leases (unique per process).
    pub id: String,
    /// Jobs claimed per step.
    pub batch: i64,
    /// How long a claimed job stays leased before another worker may take it.
    pub lease: Duration,
    /// Sleep when idle (an in-process enqueue wakes the worker sooner).
    pub idle_poll: Duration,
    pub backoff: Backoff,
    /// Job kinds that run in slots of their own; every other kind shares
    /// `batch` slots.
    pub lanes: Vec<Lane>,
}

/// Slots reserved for some job kinds.
#[derive(Debug, Clone)]
pub struct Lane {
    pub kinds: Vec<String>,
    pub slots: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: format!("worker-{}", storesync_domain::Id::<()>::new()),
            batch: 16,
            lease: Duration::from_secs(120),
            idle_poll: Duration::from_millis(500),
            backoff: Backoff::default(),
            lanes: Vec::new(),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOnce {
    Worked(usize),
    Idle,
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    config: WorkerConfig,
    handlers: Arc<HashMap<String, Arc<dyn JobHandler>>>,
    wake: Arc<Notify>,
    /// One per configured lane, then the main lane's.
    lane_wakes: Arc<Vec<Arc<Notify>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("config", &self.config)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Worker {
    pub fn new(store: Store, config: WorkerConfig) -> Self {
        let lane_wakes = (0..=config.lanes.len())
            .map(|_| Arc::new(Notify::new()))
            .collect();
        Worker {
            store,
            config,
            handlers: Arc::new(HashMap::new()),
            wake: Arc::new(Notify::new()),
            lane_wakes: Arc::new(lane_wakes),
        }
    }

    /// Register the handler of a job kind.
    pub fn handle(mut self, kind: &str, handler: Arc<dyn JobHandler>) -> Self {
        Arc::make_mut(&mut self.handlers).insert(kind.to_owned(), handler);
        self
    }

    /// A handle that wakes an idle worker (call after enqueuing).
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// A handle that wakes only the lane running `kind`: for a caller that
    /// enqueues that kind at a high rate (webhooks), so the other lanes are
    /// not sent looking for work on every one.
    pub fn lane_waker(&self, kind: &str) -> Arc<Notify> {
        let i = self
            .config
            .lanes
            .iter()
            .position(|l| l.kinds.iter().any(|k| k == kind))
            .unwrap_or(self.config.lanes.len());
        self.lane_wakes
            .get(i)
            .map_or_else(|| Arc::clone(&self.wake), Arc::clone)
    }

    /// Claim and run one batch of due jobs.
    pub async fn run_once(&self) -> Result<RunOnce, StoreError> {
        let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let jobs = self
            .store
            .claim_jobs(&self.config.id, self.config.batch, lease_ms)
            .await?;
        if jobs.is_empty() {
            return Ok(RunOnce::Idle);
        }
        let n = jobs.len();
        // The batch runs concurrently: most jobs wait on marketplace calls,
        // and one slow shop must not hold up every other.
        let results =
            futures_util::future::join_all(jobs.iter().map(|job| self.execute(job))).await;
        for r in results {
            r?;
        }
        Ok(RunOnce::Worked(n))
    }

    async fn execute(&self, job: &Job) -> Result<(), StoreError> {
        let worker = &self.config.id;
        let started = std::time::Instant::now();
        // From when it was due until a worker took it up.
        let waited_ms = (self.store.now().millis() - job.run_at.millis()).max(0);
        metrics::histogram!("storesync_job_wait_seconds", "kind" => job.kind.clone())
            .record(waited_ms as f64 / 1000.0);
        let result = match self.handlers.get(&job.kind) {
            Some(handler) => handler.run(job).await,
            None => Err(JobError::Permanent(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
        };
        tracing::debug!(
            job = %job.id,
            kind = %job.kind,
            late_ms = self.store.now().millis() - job.run_at.millis() - started.elapsed().as_millis() as i64,
            took_ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "job ran"
        );
        let outcome = match &result {
            Ok(()) => "ok",
            Err(JobError::Defer { .. }) => "deferred",
            Err(_) => "failed",
        };
        metrics::counter!("storesync_job_runs_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("storesync_job_run_seconds", "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(()) => {
                if !self.store.complete_job(job.id, worker).await? {
                    tracing::warn!(job = %job.id, kind = %job.kind, "lease lost before completion");
                }
            }
            Err(JobError::Defer { reason, after }) => {
                let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
                let at = self.store.now().plus_millis(ms);
                match self.store.defer_job(job.id, worker, at).await? {
                    Some(outcome) => {
                        tracing::debug!(job = %job.id, kind = %job.kind, ?outcome, %reason, "job deferred");
                        // Look again when it is due rather than at the next poll.
                        let wake = Arc::clone(&self.wake);
                        tokio::spawn(async move {
                            tokio::time::sleep(after).await;
                            wake.notify_one();
                        });
                    }
                    None => tracing::warn!(job = %job.id, "lease lost before deferring"),
                }
            }
            Err(e) => {
                let retry_at = match &e {
                    JobError::Permanent(_) | JobError::Defer { .. } => None,
                    JobError::Retry { after, .. } => {
                        let jitter = rand::thread_rng().gen_range(0.8..=1.2);
                        let delay = after
                            .unwrap_or_else(|| self.config.backoff.delay(job.attempts, jitter));
                        let ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                        Some(self.store.now().plus_millis(ms))
                    }
                };
                let outcome = self
                    .store
                    .fail_job(job.id, worker, &e.to_string(), retry_at)
                    .await?;
                match outcome {
                    Some(FailOutcome::Dead) => {
                        tracing::error!(job = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job is dead")
                    }
                    Some(FailOutcome::Retried { at }) => {
                        tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, retry_at = %at, error = %e, "job failed; will retry")
                    }
                    None => tracing::warn!(job = %job.id, "lease lost before recording failure"),
                }
            }
        }
        Ok(())
    }

    /// Run until `shutdown` resolves. Each lane (see [`WorkerConfig::lanes`])
    /// keeps up to its number of jobs in flight and refills a slot as soon
    /// as its job ends, so a slow job never holds back the jobs queued
    /// behind it, and a lane's kinds never wait behind another lane's (order
    /// intake does not queue behind paced stock pushes). At shutdown, jobs in
    /// hand get a moment to finish; any still running are dropped and, their
    /// leases expiring, taken again by a worker later.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut lanes: Vec<(KindFilter, usize, Arc<Notify>)> = self
            .config
            .lanes
            .iter()
            .zip(self.lane_wakes.iter())
            .map(|(l, wake)| {
                (
                    KindFilter::Only(l.kinds.clone()),
                    l.slots.max(1),
                    Arc::clone(wake),
                )
            })
            .collect();
        let own: Vec<String> = self
            .config
            .lanes
            .iter()
            .flat_map(|l| l.kinds.clone())
            .collect();
        let main_slots = usize::try_from(self.config.batch.max(1)).unwrap_or(1);
        let main_wake = self
            .lane_wakes
            .last()
            .map_or_else(|| Arc::new(Notify::new()), Arc::clone);
        lanes.push((KindFilter::Except(own), main_slots, main_wake));
        let mut tasks = tokio::task::JoinSet::new();
        for (filter, slots, wake) in &lanes {
            let mut stop = stop_rx.clone();
            tasks.spawn(
                self.clone()
                    .lane(filter.clone(), *slots, Arc::clone(wake), async move {
                        let _ = stop.wait_for(|s| *s).await;
                    }),
            );
        }
        // One wake-up handle for the process, passed on to every lane.
        let fan_out = {
            let (wake, lanes) = (
                Arc::clone(&self.wake),
                lanes.iter().map(|l| Arc::clone(&l.2)).collect::<Vec<_>>(),
            );
            async move {
                loop {
                    wake.notified().await;
                    for l in &lanes {
                        l.notify_one();
                    }
                }
            }
        };
        tokio::select! {
            () = shutdown => {},
            () = fan_out => {},
        }
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
    }

    async fn lane(
        self,
        kinds: KindFilter,
        slots: usize,
        wake: Arc<Notify>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let mut running: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
        // A claim is a write transaction: under a backlog, refill half
        // of the slots at a time rather than one slot per finished job.
        let refill = (slots / 2).max(1);
        loop {
            let mut claimed = 0;
            if running.len() + refill <= slots {
                let free = i64::try_from(slots - running.len()).unwrap_or(1);
                let jobs = tokio::select! {
                    () = &mut shutdown => break,
                    r = self.store.claim_jobs_of(&self.config.id, &kinds, free, lease_ms) => r,
                };
                match jobs {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            let worker = self.clone();
                            running.spawn(async move {
                                if let Err(e) = worker.execute(&job).await {
                                    tracing::error!(job = %job.id, kind = %job.kind, error = %e, "recording a job's outcome failed");
                                }
                            });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming jobs failed"),
                }
            }
            if claimed > 0 && running.len() + refill <= slots {
                // More may be due right away.
                continue;
            }
            // Full, or nothing due: wait for a slot, a wake-up or the poll.
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = running.join_next(), if !running.is_empty() => {},
                () = wake.notified() => {},
                () = tokio::time::sleep(self.config.idle_poll) => {},
            }
        }
        let drain = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
            running.abort_all();
        }
    }
}

/// How long jobs in hand may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let b = Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
        };
        assert_eq!(b.delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(b.delay(20, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(2, 0.8), Duration::from_millis(3200));
        assert_eq!(
            b.delay(2, 5.0),
            Duration::from_millis(4800),
            "jitter is clamped"
        );
    }
}
