//! Order intake from marketplaces: processing stored webhooks and polling
//! as the safety net. Both end in the store's one idempotent upsert.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use storesync_channels::{ChangedOrder, ExtOrderId, Order, TimeRange, WebhookEventKind};
use storesync_domain::ids::{OrgId, ShopId};
use storesync_domain::{Currency, Marketplace, Money, Timestamp};
use storesync_store::ingest::{IngestLine, IngestOrder, Via};
use storesync_store::jobs::{Job, NewJob};
use storesync_store::shops::{Shop, ShopStatus};
use storesync_store::webhooks::{drain_job, InboxEntry, WebhookId};
use storesync_store::{Actor, Store};

use crate::connect::ChannelRegistry;
use crate::shop::{with_refresh, RefreshLocks, ShopSession};
use crate::worker::{JobError, JobHandler};

pub const POLL_JOB: &str = storesync_store::job_keys::kind::POLL;
pub const POLL_ALL_JOB: &str = "orders.poll_all";

/// Shared by the intake handlers.
#[derive(Debug, Clone)]
pub struct Intake {
    pub store: Store,
    pub channels: Arc<ChannelRegistry>,
    pub locks: Arc<RefreshLocks>,
    /// Polls re-read this much before the last cursor, so an order updated
    /// on the boundary (or reported late by the marketplace) is not missed.
    pub poll_overlap: Duration,
    /// How far back the first poll of a new shop looks.
    pub first_poll_lookback: Duration,
}

/// The order in the store's terms; `None` when the marketplace gave no
/// currency anywhere (then money cannot be recorded honestly).
fn to_ingest(order: &Order) -> Option<IngestOrder> {
    let currency: Currency = order
        .currency
        .or(order.total.map(|t| t.currency))
        .or_else(|| {
            order
                .lines
                .iter()
                .find_map(|l| l.unit_price.map(|p| p.currency))
        })?;
    Some(IngestOrder {
        external_id: order.order_id.as_str().to_owned(),
        status: order.status,
        marketplace_status: order.marketplace_status.clone(),
        currency,
        lines: order
            .lines
            .iter()
            .map(|l| IngestLine {
                external_listing_id: l.listing_id.as_str().to_owned(),
                external_variant_id: l.variant_id.as_str().to_owned(),
                seller_sku: l.seller_sku.clone(),
                quantity: i64::from(l.quantity),
                unit_price: l.unit_price.unwrap_or(Money::zero(currency)),
            })
            .collect(),
        placed_at: order.created_at,
        total: order.total.filter(|t| t.currency == currency),
    })
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Intake {
    /// Fetch the orders' details and ingest them.
    async fn fetch_and_ingest(
        &self,
        session: &mut ShopSession,
        ids: Vec<ExtOrderId>,
        via: Via,
    ) -> Result<(), JobError> {
        let cap = session
            .channel
            .capabilities()
            .max_orders_per_detail_call
            .max(1);
        for chunk in ids.chunks(cap) {
            let chunk = chunk.to_vec();
            let orders = with_refresh(
                session,
                &self.store,
                &self.locks,
                "order_details",
                |channel, creds| {
                    let chunk = chunk.clone();
                    async move { channel.order_details(&creds, &chunk).await }
                },
            )
            .await?;
            self.ingest(&session.shop, &orders, via).await?;
        }
        Ok(())
    }

    /// Book orders of one shop together (see [`Store::ingest_orders`]); the
    /// first failure is returned once the others are booked.
    async fn ingest(&self, shop: &Shop, orders: &[Order], via: Via) -> Result<(), JobError> {
        let mut result = Ok(());
        let mut batch = Vec::with_capacity(orders.len());
        for order in orders {
            match to_ingest(order) {
                Some(o) => batch.push(o),
                None => {
                    result = Err(JobError::Permanent(format!(
                        "order {} carries no currency",
                        order.order_id.as_str()
                    )));
                }
            }
        }
        let outcomes = self
            .store
            .ingest_orders(
                shop.org_id,
                shop.id,
                shop.marketplace,
                &batch,
                via,
                &Actor::system("intake"),
            )
            .await?;
        for (ingest, outcome) in batch.iter().zip(outcomes) {
            match outcome {
                Ok(outcome) if outcome.short_units > 0 => {
                    tracing::warn!(shop = %shop.id, order = %ingest.external_id, short = outcome.short_units,
                        "marketplace sold more than our stock covers");
                }
                Ok(_) => {}
                Err(e) => {
                    if result.is_ok() {
                        result = Err(e.into());
                    }
                }
            }
        }
        result
    }
}

/// How many deliveries a drain claims at a time: enough to fill the
/// marketplaces' largest order-detail calls (50 orders) several times.
const DRAIN_BATCH: i64 = 200;
/// How long a drain holds its claim: longer than a batch's calls take, so
/// a live drain never loses its entries, and short enough that a crashed
/// one's are taken again soon.
const DRAIN_LEASE_MS: i64 = 60_000;
/// A drain that has worked this long hands over to a fresh job, so a
/// steady stream of deliveries never holds one worker slot for ever.
const DRAIN_BUDGET_MS: i64 = 5_000;

/// `webhook.process`: drain a marketplace's inbox. Deliveries are claimed
/// in batches, their order events grouped per shop, each shop's orders
/// fetched in the marketplace's largest detail calls and booked; other
/// events act at once. A shop whose fetch failed in a way worth retrying
/// gives its deliveries back and the job retries; a delivery that can never
/// be processed (unreadable, a permanent refusal) is logged and closed —
/// polling covers the orders it named.
#[derive(Debug)]
pub struct WebhookHandler(pub Intake);

#[derive(serde::Deserialize)]
struct WebhookPayload {
    marketplace: Option<Marketplace>,
    /// Jobs queued before drains existed named one delivery.
    webhook_id: Option<WebhookId>,
}

#[async_trait::async_trait]
impl JobHandler for WebhookHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let intake = &self.0;
        let p: WebhookPayload = crate::worker::job_payload(job)?;
        let marketplace = match (p.marketplace, p.webhook_id) {
            (Some(m), _) => m,
            (None, Some(id)) => intake.store.webhook(id).await?.marketplace,
            (None, None) => return Err(JobError::Permanent("bad payload: no marketplace".into())),
        };
        let started = intake.store.now();
        loop {
            let batch = intake
                .store
                .claim_webhooks(marketplace, DRAIN_BATCH, DRAIN_LEASE_MS)
                .await?;
            if batch.is_empty() {
                return Ok(());
            }
            intake.process_batch(marketplace, batch).await?;
            if intake.store.now().millis() - started.millis() > DRAIN_BUDGET_MS {
                intake.store.enqueue(&drain_job(marketplace)).await?;
                return Ok(());
            }
        }
    }
}

impl Intake {
    /// Act on claimed deliveries of one marketplace; see [`WebhookHandler`].
    async fn process_batch(
        &self,
        marketplace: Marketplace,
        batch: Vec<InboxEntry>,
    ) -> Result<(), JobError> {
        let ids: Vec<WebhookId> = batch.iter().map(|e| e.id).collect();
        let Some(channel) = self.channels.get(marketplace).cloned() else {
            self.store.release_webhooks(&ids).await?;
            return Err(JobError::Permanent(format!(
                "no app credentials for {marketplace}"
            )));
        };
        // Per shop (its marketplace id): the orders to fetch, and the
        // deliveries that wait on them.
        let mut orders: BTreeMap<String, (Vec<ExtOrderId>, Vec<WebhookId>, Timestamp)> =
            BTreeMap::new();
        let mut result = Ok(());
        for entry in &batch {
            let events = match channel.parse_webhook(entry.payload.as_bytes()) {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(%marketplace, webhook = %entry.id, error = %e,
                        "unreadable webhook closed; polling covers what it named");
                    continue;
                }
            };
            for event in events {
                let Some(shop_id) = &event.shop_id else {
                    continue;
                };
                match event.kind {
                    WebhookEventKind::OrderStatusChanged { order_id, .. }
                    | WebhookEventKind::OrderChanged { order_id } => {
                        let (ids, entries, first) = orders
                            .entry(shop_id.as_str().to_owned())
                            .or_insert_with(|| (Vec::new(), Vec::new(), entry.received_at));
                        if !ids.contains(&order_id) {
                            ids.push(order_id);
                        }
                        entries.push(entry.id);
                        *first = (*first).min(entry.received_at);
                    }
                    kind => {
                        if let Err(e) = self.shop_event(marketplace, shop_id.as_str(), kind).await {
                            result = Err(e);
                        }
                    }
                }
            }
        }
        let mut failed: Vec<WebhookId> = Vec::new();
        for (shop_key, (order_ids, entries, first)) in orders {
            if let Err(e) = self
                .ingest_announced(marketplace, &shop_key, order_ids, first)
                .await
            {
                match e {
                    JobError::Permanent(message) => {
                        tracing::warn!(%marketplace, shop = %shop_key, error = %message,
                            "announced orders could not be fetched; polling covers them");
                    }
                    e => {
                        failed.extend(entries);
                        if result.is_ok() {
                            result = Err(e);
                        }
                    }
                }
            }
        }
        if result.is_err() && failed.is_empty() {
            // A shop event failed: retry the whole batch (events are idempotent).
            failed = ids.clone();
        }
        let done: Vec<WebhookId> = ids.into_iter().filter(|id| !failed.contains(id)).collect();
        self.store.mark_webhooks_processed(&done).await?;
        self.store.release_webhooks(&failed).await?;
        result
    }

    /// Fetch and book the orders deliveries announced for one shop; the
    /// first of them was received at `first`.
    async fn ingest_announced(
        &self,
        marketplace: Marketplace,
        shop_key: &str,
        order_ids: Vec<ExtOrderId>,
        first: Timestamp,
    ) -> Result<(), JobError> {
        let Some(shop) = self.store.shop_by_external(marketplace, shop_key).await? else {
            tracing::info!(%marketplace, shop = %shop_key, "webhook for a shop we do not know");
            return Ok(());
        };
        if shop.status != ShopStatus::Active {
            return Ok(());
        }
        let mut session =
            ShopSession::open(&self.store, &self.channels, shop.org_id, shop.id).await?;
        self.fetch_and_ingest(&mut session, order_ids, Via::Webhook)
            .await?;
        // How long a sale announced here takes to be in our books: the
        // split threshold of this shop's SKUs follows it.
        // Deliveries get lost (every marketplace says so): a sale whose push
        // never came is in nobody's books until a poll finds it, and the
        // other channels keep showing its unit. While the shop's pushes
        // arrive, a narrow poll follows them shortly, booking only orders
        // we have never seen (see `FOLLOW_UP_*`).
        let follow_up = NewJob::new(
            POLL_JOB,
            serde_json::json!({
                "shop_id": shop.id,
                "since": first.plus_millis(-FOLLOW_UP_LOOKBACK_MS).millis(),
            }),
        )
        .org(shop.org_id)
        .at(self.store.now().plus_millis(FOLLOW_UP_DELAY_MS))
        .unique(storesync_store::job_keys::poll_follow_up(shop.id));
        self.store.enqueue(&follow_up).await?;
        let lag = self.store.now().millis() - first.millis();
        metrics::histogram!("storesync_intake_lag_seconds", "marketplace" => marketplace.as_str())
            .record(lag.max(0) as f64 / 1000.0);
        self.store
            .record_intake_lag(shop.org_id, shop.id, lag)
            .await?;
        Ok(())
    }

    /// A delivery's event that is not about an order.
    async fn shop_event(
        &self,
        marketplace: Marketplace,
        shop_key: &str,
        kind: WebhookEventKind,
    ) -> Result<(), JobError> {
        let Some(shop) = self.store.shop_by_external(marketplace, shop_key).await? else {
            tracing::info!(%marketplace, shop = %shop_key, "webhook for a shop we do not know");
            return Ok(());
        };
        match kind {
            WebhookEventKind::Deauthorized => {
                self.store
                    .set_shop_status(
                        shop.org_id,
                        shop.id,
                        ShopStatus::NeedsReauth,
                        Some("the seller revoked StoreSync's access on the marketplace"),
                        &Actor::system("webhook"),
                    )
                    .await?;
            }
            WebhookEventKind::AuthorizationExpiring { expires_at } => {
                tracing::warn!(shop = %shop.id, expires_at = ?expires_at, "shop authorization ends soon");
            }
            _ => {}
        }
        Ok(())
    }
}

/// `orders.poll`: list a shop's orders changed since the last poll (less an
/// overlap) and ingest them.
#[derive(Debug)]
pub struct PollHandler(pub Intake);

#[derive(serde::Deserialize)]
struct PollPayload {
    shop_id: ShopId,
    /// A follow-up poll (ms since the epoch): orders changed since then,
    /// only those not in our books yet, and the poll cursor stays.
    #[serde(default)]
    since: Option<i64>,
}

/// How soon after a shop's pushes were booked a follow-up poll looks for
/// orders whose push never came; while pushes keep arriving, one poll per
/// shop at most this often.
const FOLLOW_UP_DELAY_MS: i64 = 4_000;

/// A follow-up poll leaves out orders changed this recently: their pushes
/// may still be on their way or waiting in the inbox, and booking them
/// from the poll would only race their intake.
const FOLLOW_UP_GRACE_MS: i64 = 2_000;

/// How far before the first of those pushes it looks: a lost push's order
/// was placed between the pushes that did arrive.
const FOLLOW_UP_LOOKBACK_MS: i64 = 10_000;

#[async_trait::async_trait]
impl JobHandler for PollHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let intake = &self.0;
        let org = crate::worker::job_org(job)?;
        let p: PollPayload = crate::worker::job_payload(job)?;
        match p.since {
            Some(since) => {
                intake
                    .poll_unseen(org, p.shop_id, Timestamp::from_millis(since))
                    .await
            }
            None => intake.poll_shop(org, p.shop_id).await,
        }
    }
}

impl Intake {
    /// List the shop's orders changed since the last poll (less an
    /// overlap) and ingest them.
    pub async fn poll_shop(&self, org: OrgId, shop: ShopId) -> Result<(), JobError> {
        let intake = self;
        let mut session = ShopSession::open(&intake.store, &intake.channels, org, shop).await?;
        let now = intake.store.now();
        let since = match intake.store.orders_polled_until(&session.shop).await? {
            Some(t) => t.plus_millis(-ms(intake.poll_overlap)),
            None => now.plus_millis(-ms(intake.first_poll_lookback)),
        };
        let changed = intake
            .changed_orders(&mut session, TimeRange::new(since, now))
            .await?;
        intake.book_polled(&mut session, changed).await?;
        intake
            .store
            .set_orders_polled_until(&session.shop, now)
            .await?;
        Ok(())
    }
}

impl Intake {
    /// A follow-up poll: book the shop's orders changed since `since` that
    /// are not in our books at all (their push was lost). Orders we have are
    /// left to their pushes and the scheduled poll, whose cursor this does
    /// not move.
    pub async fn poll_unseen(
        &self,
        org: OrgId,
        shop: ShopId,
        since: Timestamp,
    ) -> Result<(), JobError> {
        let mut session = ShopSession::open(&self.store, &self.channels, org, shop).await?;
        if session.shop.status != ShopStatus::Active {
            return Ok(());
        }
        let until = self.store.now().plus_millis(-FOLLOW_UP_GRACE_MS);
        if since >= until {
            return Ok(());
        }
        // Deliveries of this shop still waiting in the inbox may name the
        // very orders this would find: booked from here they would count as
        // missed by webhooks. The intake catches up first.
        if self
            .store
            .pending_webhooks(
                session.shop.marketplace,
                &session.shop.external_shop_id,
                Timestamp::from_millis(0),
                until,
            )
            .await?
        {
            return Err(JobError::Defer {
                reason: "the shop's pushes are still being booked".into(),
                after: Duration::from_millis(FOLLOW_UP_GRACE_MS as u64),
            });
        }
        let changed = self
            .changed_orders(&mut session, TimeRange::new(since, until))
            .await?;
        let ids: Vec<String> = changed
            .iter()
            .map(|c| c.order_id.as_str().to_owned())
            .collect();
        let unseen: std::collections::HashSet<String> = self
            .store
            .unknown_orders(org, shop, session.shop.marketplace, &ids)
            .await?
            .into_iter()
            .collect();
        if unseen.is_empty() {
            return Ok(());
        }
        tracing::info!(shop = %shop, orders = unseen.len(), "follow-up poll found orders whose push never came");
        let changed = changed
            .into_iter()
            .filter(|c| unseen.contains(c.order_id.as_str()))
            .collect();
        self.book_polled(&mut session, changed).await
    }

    /// The shop's orders changed within `range`, as the marketplace lists
    /// them.
    async fn changed_orders(
        &self,
        session: &mut ShopSession,
        range: TimeRange,
    ) -> Result<Vec<ChangedOrder>, JobError> {
        with_refresh(
            session,
            &self.store,
            &self.locks,
            "changed_orders",
            |channel, creds| async move { channel.changed_orders(&creds, range).await },
        )
        .await
    }

    /// Book listed orders: those the list already details at once, the
    /// others fetched in the marketplace's largest detail calls.
    async fn book_polled(
        &self,
        session: &mut ShopSession,
        changed: Vec<ChangedOrder>,
    ) -> Result<(), JobError> {
        let mut to_fetch = Vec::new();
        let mut detailed = Vec::new();
        for c in changed {
            match c.detail {
                Some(order) => detailed.push(order),
                None => to_fetch.push(c.order_id),
            }
        }
        self.ingest(&session.shop, &detailed, Via::Poll).await?;
        self.fetch_and_ingest(session, to_fetch, Via::Poll).await
    }
}

/// How long the webhook inbox keeps a processed delivery's key: longer
/// than every marketplace's replay window
/// (`WebhookCapabilities::replay_window_ms`, at most 3 days), so any push
/// young enough to be accepted is still recognised when it comes again.
pub const WEBHOOK_KEY_RETENTION_MS: i64 = 8 * 24 * 3_600_000;

/// `orders.poll_all`: enqueue one poll per active shop (scheduled).
#[derive(Debug)]
pub struct PollAllHandler(pub Intake);

#[async_trait::async_trait]
impl JobHandler for PollAllHandler {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        // Housekeeping rides along: keep a week of call logs, and webhook
        // keys longer than any marketplace's replay window.
        self.0.store.prune_api_calls(7 * 24 * 3_600_000).await?;
        self.0
            .store
            .prune_webhooks(WEBHOOK_KEY_RETENTION_MS)
            .await?;
        for shop in self.0.store.active_shops().await? {
            let job = NewJob::new(POLL_JOB, serde_json::json!({ "shop_id": shop.id }))
                .org(shop.org_id)
                .unique(storesync_store::job_keys::poll(shop.id));
            self.0.store.enqueue(&job).await?;
        }
        Ok(())
    }
}
