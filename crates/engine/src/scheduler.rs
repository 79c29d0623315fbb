//! Periodic work, scheduled once per period no matter how many instances
//! run: each schedule's next run time lives in the database, and an instance
//! enqueues the job only if it wins the conditional update that advances it.

use std::time::Duration;

use storesync_store::jobs::NewJob;
use storesync_store::{Store, StoreError};

/// A job to enqueue every `every`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub every: Duration,
    pub job: NewJob,
}

#[derive(Debug, Clone)]
pub struct Scheduler {
    store: Store,
    schedules: Vec<Schedule>,
}

impl Scheduler {
    pub fn new(store: Store, schedules: Vec<Schedule>) -> Self {
        Scheduler { store, schedules }
    }

    /// Enqueue every schedule that is due and that this instance wins.
    /// Returns how many jobs it enqueued.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let mut enqueued = 0;
        for s in &self.schedules {
            let every = i64::try_from(s.every.as_millis()).unwrap_or(i64::MAX);
            if self.store.claim_schedule(&s.name, every, &s.job).await? {
                enqueued += 1;
            }
        }
        Ok(enqueued)
    }

    /// Tick every `interval` until shutdown.
    pub async fn run(self, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(interval) => {},
            }
        }
    }
}
