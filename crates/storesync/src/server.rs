//! Assembling a running StoreSync: HTTP app, job worker with every
//! handler, scheduler and propagation loop, all stopped by one signal.
//! Used by `serve` and `demo`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use storesync_engine::connect::{ChannelRegistry, IMPORT_JOB};
use storesync_engine::drift::{DriftAllHandler, DriftHandler, DRIFT_ALL_JOB, DRIFT_JOB};
use storesync_engine::fulfil::{FulfilHandler, CANCEL_JOB, SHIP_JOB};
use storesync_engine::import::ImportHandler;
use storesync_engine::intake::{
    Intake, PollAllHandler, PollHandler, WebhookHandler, POLL_ALL_JOB, POLL_JOB,
};
use storesync_engine::mail::{MailHandler, MailRelay, MAIL_JOB};
use storesync_engine::propagate::{drain_loop, PushHandler, PUSH_JOB};
use storesync_engine::shop::RefreshLocks;
use storesync_engine::tokens::{RefreshDueHandler, RefreshHandler, REFRESH_DUE_JOB, REFRESH_JOB};
use storesync_engine::{Lane, Schedule, Scheduler, Worker, WorkerConfig};
use storesync_store::jobs::NewJob;
use storesync_store::webhooks::PROCESS_WEBHOOK_JOB;
use storesync_store::Store;
use storesync_web::{App, AppState, WebConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    http: JoinHandle<std::io::Result<()>>,
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    rx.wait_for(|stop| *stop).await.ok();
}

/// Bind `config.bind`; the caller learns the address before anything runs.
pub async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))
}

/// How stock changes reach the channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// StoreSync's way: every change is pushed within moments.
    Realtime,
    /// The way periodic sync tools work, for comparison in benchmarks: every
    /// period, poll orders and push stock for every shop; nothing in between.
    Periodic(Duration),
}

/// Start everything on `listener`; marketplaces reach us at `public_url`.
pub async fn start(
    config: &Config,
    store: Store,
    channels: Arc<ChannelRegistry>,
    listener: tokio::net::TcpListener,
    public_url: &str,
) -> anyhow::Result<Running> {
    start_with(
        config,
        store,
        channels,
        listener,
        public_url,
        SyncMode::Realtime,
    )
    .await
}

pub async fn start_with(
    config: &Config,
    store: Store,
    channels: Arc<ChannelRegistry>,
    listener: tokio::net::TcpListener,
    public_url: &str,
    mode: SyncMode,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let locks = Arc::new(RefreshLocks::default());
    let intake = Intake {
        store: store.clone(),
        channels: Arc::clone(&channels),
        locks: Arc::clone(&locks),
        poll_overlap: Duration::from_secs(10 * 60),
        first_poll_lookback: Duration::from_secs(3 * 24 * 3600),
    };
    let fulfil: Arc<dyn storesync_engine::worker::JobHandler> = Arc::new(FulfilHandler {
        store: store.clone(),
        channels: Arc::clone(&channels),
        locks: Arc::clone(&locks),
    });
    // Order intake runs in slots of its own: a burst of paced stock pushes
    // must not keep orders waiting (their stock is what the pushes need).
    let worker_config = WorkerConfig {
        lanes: vec![Lane {
            kinds: vec![PROCESS_WEBHOOK_JOB.to_owned(), POLL_JOB.to_owned()],
            slots: 8,
        }],
        ..WorkerConfig::default()
    };
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
        .handle(DRIFT_ALL_JOB, Arc::new(DriftAllHandler(intake)))
        .handle(
            PUSH_JOB,
            Arc::new(PushHandler::new(
                store.clone(),
                Arc::clone(&channels),
                Arc::clone(&locks),
            )),
        )
        .handle(
            MAIL_JOB,
            Arc::new(MailHandler {
                store: store.clone(),
                relay: mail_relay(config)?,
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
                locks,
            }),
        );
    // Polling is the safety net under webhooks; one instance per period
    // fans it out to every shop.
    let scheduler = Scheduler::new(
        store.clone(),
        vec![
            Schedule {
                name: POLL_ALL_JOB.to_owned(),
                every: Duration::from_secs(config.poll_interval_secs),
                job: NewJob::new(POLL_ALL_JOB, serde_json::json!({})),
            },
            Schedule {
                name: DRIFT_ALL_JOB.to_owned(),
                every: Duration::from_secs(config.drift_interval_secs),
                job: NewJob::new(DRIFT_ALL_JOB, serde_json::json!({})),
            },
            Schedule {
                name: REFRESH_DUE_JOB.to_owned(),
                every: Duration::from_secs(5 * 60),
                job: NewJob::new(REFRESH_DUE_JOB, serde_json::json!({})),
            },
        ],
    );
    let web = WebConfig {
        secure_cookies: config.secure_cookies,
        allow_signup: config.allow_signup,
        trust_forwarded_for: config.trust_forwarded_for,
        ..WebConfig::default()
    };
    let state = AppState::new(store.clone(), web)
        .with_job_waker(worker.waker())
        .with_intake_waker(worker.lane_waker(PROCESS_WEBHOOK_JOB))
        .with_channels(channels, public_url);
    let app = App::from_listener(listener, state);
    let mut tasks = vec![
        tokio::spawn(scheduler.run(Duration::from_secs(15), stopped(stop_rx.clone()))),
        tokio::spawn(worker.clone().run(stopped(stop_rx.clone()))),
    ];
    tasks.push(match mode {
        SyncMode::Realtime => tokio::spawn(drain_loop(
            store.clone(),
            Duration::from_millis(100),
            worker.waker(),
            stopped(stop_rx.clone()),
        )),
        SyncMode::Periodic(every) => tokio::spawn(periodic_sync(
            store.clone(),
            every,
            worker.waker(),
            stopped(stop_rx.clone()),
        )),
    });
    let http = tokio::spawn(app.run_until_stopped(stopped(stop_rx)));
    tracing::info!(%addr, backend = store.backend().name(), "storesync is serving");
    Ok(Running {
        addr,
        stop,
        tasks,
        http,
    })
}

/// The configured SMTP relay; without one, mail jobs fail saying so.
fn mail_relay(config: &Config) -> anyhow::Result<Option<MailRelay>> {
    let Some(mail) = &config.mail else {
        tracing::warn!("no mail relay configured: invitation and password reset mails will fail");
        return Ok(None);
    };
    MailRelay::new(&mail.smtp_url, &mail.from)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

/// The periodic baseline: poll and push every shop every `every`.
async fn periodic_sync(
    store: Store,
    every: Duration,
    wake: Arc<tokio::sync::Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(every) => {},
        }
        let shops = match store.active_shops().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "periodic sync failed");
                continue;
            }
        };
        for shop in shops {
            for kind in [POLL_JOB, PUSH_JOB] {
                let job = NewJob::new(kind, serde_json::json!({ "shop_id": shop.id }))
                    .org(shop.org_id)
                    .unique(format!("{kind}:{}", shop.id));
                store.enqueue(&job).await.ok();
            }
        }
        wake.notify_one();
    }
}

impl Running {
    /// Stop accepting requests, let the job in hand finish, and wait.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.send(true).ok();
        for t in self.tasks {
            t.await.ok();
        }
        self.http.await??;
        Ok(())
    }
}
