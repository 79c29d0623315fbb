//! One place that assembles the background machinery: the worker with a
//! handler for every job kind and its lanes, the scheduler with the periodic
//! jobs, and the stock drain loop. The server, the demo, the benchmarks and
//! the tests all build it here, so none of them wires handlers by hand.

use std::sync::Arc;
use std::time::Duration;

use storesync_store::jobs::NewJob;
use storesync_store::webhooks::PROCESS_WEBHOOK_JOB;
use storesync_store::Store;
use tokio::sync::Notify;

use crate::connect::{ChannelRegistry, IMPORT_JOB};
use crate::drift::{DriftAllHandler, DriftHandler, DRIFT_ALL_JOB, DRIFT_JOB};
use crate::fulfil::{FulfilHandler, CANCEL_JOB, SHIP_JOB};
use crate::import::ImportHandler;
use crate::intake::{Intake, PollAllHandler, PollHandler, WebhookHandler, POLL_ALL_JOB, POLL_JOB};
use crate::mail::{MailHandler, MailRelay, MAIL_JOB};
use crate::propagate::{drain_loop, HoldEndedHandler, PushHandler, HOLD_ENDED_JOB, PUSH_JOB};
use crate::shop::RefreshLocks;
use crate::tokens::{RefreshDueHandler, RefreshHandler, REFRESH_DUE_JOB, REFRESH_JOB};
use crate::worker::{JobHandler, Lane, Worker, WorkerConfig};
use crate::{Schedule, Scheduler};

/// How often periodic work runs, and how the worker is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Every shop's orders are polled this often (the safety net under
    /// webhooks).
    pub poll_interval: Duration,
    /// Every shop's listed stock is compared with ours this often.
    pub drift_interval: Duration,
    /// Tokens about to expire are looked for this often.
    pub refresh_due_interval: Duration,
    /// Polls re-read this much before the last cursor (see [`Intake`]).
    pub poll_overlap: Duration,
    /// How far back the first poll of a new shop looks.
    pub first_poll_lookback: Duration,
    /// The worker; the builder adds the order-intake lane to its lanes.
    pub worker: WorkerConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            poll_interval: Duration::from_secs(300),
            drift_interval: Duration::from_secs(3600),
            refresh_due_interval: Duration::from_secs(5 * 60),
            poll_overlap: Duration::from_secs(10 * 60),
            first_poll_lookback: Duration::from_secs(3 * 24 * 3600),
            worker: WorkerConfig::default(),
        }
    }
}

/// Builds an [`Engine`]; see [`Engine::builder`].
#[derive(Debug)]
pub struct EngineBuilder {
    store: Store,
    config: EngineConfig,
    channels: Arc<ChannelRegistry>,
    mail: Option<MailRelay>,
}

impl EngineBuilder {
    /// The marketplaces this installation talks to (none by default).
    pub fn channels(mut self, channels: Arc<ChannelRegistry>) -> Self {
        self.channels = channels;
        self
    }

    /// The SMTP relay for mail jobs; without one, they fail saying so.
    pub fn mail_relay(mut self, relay: Option<MailRelay>) -> Self {
        self.mail = relay;
        self
    }

    pub fn build(self) -> Engine {
        let EngineBuilder {
            store,
            config,
            channels,
            mail,
        } = self;
        let locks = Arc::new(RefreshLocks::default());
        let intake = Intake {
            store: store.clone(),
            channels: Arc::clone(&channels),
            locks: Arc::clone(&locks),
            poll_overlap: config.poll_overlap,
            first_poll_lookback: config.first_poll_lookback,
        };
        let fulfil: Arc<dyn JobHandler> = Arc::new(FulfilHandler {
            store: store.clone(),
            channels: Arc::clone(&channels),
            locks: Arc::clone(&locks),
        });
        // Order intake runs in slots of its own: a burst of paced stock
        // pushes must not keep orders waiting (their stock is what the
        // pushes need).
        let mut worker_config = config.worker.clone();
        worker_config.lanes.push(Lane {
            kinds: vec![PROCESS_WEBHOOK_JOB.to_owned(), POLL_JOB.to_owned()],
            slots: 8,
        });
        let worker = Worker::new(store.clone(), worker_config)
            .handle(
                IMPORT_JOB,
                Arc::new(ImportHandler {
                    store: store.clone(),
                    channels: Arc::clone(&channels),
                    locks: Arc::clone(&locks),
                }),
            )
            .handle(
                PROCESS_WEBHOOK_JOB,
                Arc::new(WebhookHandler(intake.clone())),
            )
            .handle(POLL_JOB, Arc::new(PollHandler(intake.clone())))
            .handle(POLL_ALL_JOB, Arc::new(PollAllHandler(intake.clone())))
            .handle(DRIFT_JOB, Arc::new(DriftHandler(intake.clone())))
            .handle(SHIP_JOB, Arc::clone(&fulfil))
            .handle(CANCEL_JOB, fulfil)
            .handle(DRIFT_ALL_JOB, Arc::new(DriftAllHandler(intake.clone())))
            .handle(
                PUSH_JOB,
                Arc::new(PushHandler::new(
                    store.clone(),
                    Arc::clone(&channels),
                    Arc::clone(&locks),
                )),
            )
            .handle(
                HOLD_ENDED_JOB,
                Arc::new(HoldEndedHandler {
                    store: store.clone(),
                }),
            )
            .handle(
                MAIL_JOB,
                Arc::new(MailHandler {
                    store: store.clone(),
                    relay: mail,
                }),
            )
            .handle(
                REFRESH_DUE_JOB,
                Arc::new(RefreshDueHandler {
                    store: store.clone(),
                }),
            )
            .handle(
                REFRESH_JOB,
                Arc::new(RefreshHandler {
                    store: store.clone(),
                    channels: Arc::clone(&channels),
                    locks: Arc::clone(&locks),
                }),
            );
        // Polling is the safety net under webhooks; one instance per period
        // fans it out to every shop.
        let scheduler = Scheduler::new(
            store.clone(),
            vec![
                Schedule {
                    name: POLL_ALL_JOB.to_owned(),
                    every: config.poll_interval,
                    job: NewJob::new(POLL_ALL_JOB, serde_json::json!({})),
                },
                Schedule {
                    name: DRIFT_ALL_JOB.to_owned(),
                    every: config.drift_interval,
                    job: NewJob::new(DRIFT_ALL_JOB, serde_json::json!({})),
                },
                Schedule {
                    name: REFRESH_DUE_JOB.to_owned(),
                    every: config.refresh_due_interval,
                    job: NewJob::new(REFRESH_DUE_JOB, serde_json::json!({})),
                },
            ],
        );
        Engine {
            store,
            channels,
            locks,
            intake,
            worker,
            scheduler,
        }
    }
}

/// The assembled background machinery of one process.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Store,
    channels: Arc<ChannelRegistry>,
    locks: Arc<RefreshLocks>,
    intake: Intake,
    worker: Worker,
    scheduler: Scheduler,
}

impl Engine {
    /// Start assembling an engine over `store`.
    pub fn builder(store: Store, config: EngineConfig) -> EngineBuilder {
        EngineBuilder {
            store,
            config,
            channels: Arc::new(ChannelRegistry::new()),
            mail: None,
        }
    }

    /// The worker, with a handler for every job kind (steppable with
    /// [`Worker::run_once`] in tests).
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    pub fn channels(&self) -> &Arc<ChannelRegistry> {
        &self.channels
    }

    /// What the order-intake handlers share (for work run outside jobs).
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// The per-shop token refresh locks every handler shares.
    pub fn locks(&self) -> &Arc<RefreshLocks> {
        &self.locks
    }

    /// Wakes the whole worker after work was queued in this process.
    pub fn job_waker(&self) -> Arc<Notify> {
        self.worker.waker()
    }

    /// Wakes only the order-intake slots, after a webhook was stored.
    pub fn intake_waker(&self) -> Arc<Notify> {
        self.worker.lane_waker(PROCESS_WEBHOOK_JOB)
    }

    /// Run the scheduler (checking every `tick`) until `shutdown` resolves.
    pub async fn run_scheduler(
        self,
        tick: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        self.scheduler.run(tick, shutdown).await
    }

    /// Run the worker until `shutdown` resolves.
    pub async fn run_worker(self, shutdown: impl std::future::Future<Output = ()>) {
        self.worker.run(shutdown).await
    }

    /// Turn changed stock into push jobs every `interval` until `shutdown`
    /// resolves (the realtime way stock reaches the marketplaces).
    pub async fn run_drain(
        self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        let wake = self.worker.waker();
        drain_loop(self.store, interval, wake, shutdown).await
    }
}
