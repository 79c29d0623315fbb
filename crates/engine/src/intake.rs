//! Order intake from marketplaces: processing stored webhooks and polling
//! as the safety net. Both end in the store's one idempotent upsert.

use std::sync::Arc;
use std::time::Duration;

use storesync_channels::{ExtOrderId, Order, TimeRange, WebhookEventKind};
use storesync_domain::ids::{OrgId, ShopId};
use storesync_domain::{Currency, Money};
use storesync_store::ingest::{IngestLine, IngestOrder, Via};
use storesync_store::jobs::{Job, NewJob};
use storesync_store::shops::{Shop, ShopStatus};
use storesync_store::webhooks::WebhookId;
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
            for o in &orders {
                self.ingest(&session.shop, o, via).await?;
            }
        }
        Ok(())
    }

    async fn ingest(&self, shop: &Shop, order: &Order, via: Via) -> Result<(), JobError> {
        let ingest = to_ingest(order).ok_or_else(|| {
            JobError::Permanent(format!(
                "order {} carries no currency",
                order.order_id.as_str()
            ))
        })?;
        let outcome = self
            .store
            .ingest_order(
                shop.org_id,
                shop.id,
                &shop.marketplace,
                &ingest,
                via,
                &Actor::system("intake"),
            )
            .await?;
        if outcome.short_units > 0 {
            tracing::warn!(shop = %shop.id, order = %ingest.external_id, short = outcome.short_units,
                "marketplace sold more than our stock covers");
        }
        Ok(())
    }
}

/// `webhook.process`: parse a stored delivery and act on its events.
#[derive(Debug)]
pub struct WebhookHandler(pub Intake);

#[derive(serde::Deserialize)]
struct WebhookPayload {
    webhook_id: WebhookId,
}

#[async_trait::async_trait]
impl JobHandler for WebhookHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let intake = &self.0;
        let p: WebhookPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        let entry = intake.store.webhook(p.webhook_id).await?;
        if entry.processed_at.is_some() {
            return Ok(());
        }
        let channel = intake
            .channels
            .get(&entry.marketplace)
            .cloned()
            .ok_or_else(|| {
                JobError::Permanent(format!("no app credentials for {}", entry.marketplace))
            })?;
        let events = channel
            .parse_webhook(entry.payload.as_bytes())
            .map_err(|e| JobError::Permanent(format!("unreadable webhook: {e}")))?;
        for event in events {
            let Some(shop_id) = &event.shop_id else {
                continue;
            };
            let Some(shop) = intake
                .store
                .shop_by_external(&entry.marketplace, shop_id.as_str())
                .await?
            else {
                tracing::info!(marketplace = %entry.marketplace, shop = %shop_id.as_str(), "webhook for a shop we do not know");
                continue;
            };
            match event.kind {
                WebhookEventKind::OrderStatusChanged { order_id, .. }
                | WebhookEventKind::OrderChanged { order_id } => {
                    if shop.status != ShopStatus::Active {
                        continue;
                    }
                    let mut session =
                        ShopSession::open(&intake.store, &intake.channels, shop.org_id, shop.id)
                            .await?;
                    intake
                        .fetch_and_ingest(&mut session, vec![order_id], Via::Webhook)
                        .await?;
                }
                WebhookEventKind::Deauthorized => {
                    intake
                        .store
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
                WebhookEventKind::ListingChanged { .. }
                | WebhookEventKind::Authorized { .. }
                | WebhookEventKind::Ignored { .. } => {}
            }
        }
        intake.store.mark_webhook_processed(p.webhook_id).await?;
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
}

#[async_trait::async_trait]
impl JobHandler for PollHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let intake = &self.0;
        let org = job
            .org_id
            .ok_or_else(|| JobError::Permanent("poll job without organization".into()))?;
        let p: PollPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        intake.poll_shop(org, p.shop_id).await
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
        let range = TimeRange::new(since, now);
        let changed = with_refresh(
            &mut session,
            &intake.store,
            &intake.locks,
            "changed_orders",
            |channel, creds| async move { channel.changed_orders(&creds, range).await },
        )
        .await?;
        let mut to_fetch = Vec::new();
        for c in changed {
            match &c.detail {
                Some(order) => intake.ingest(&session.shop, order, Via::Poll).await?,
                None => to_fetch.push(c.order_id),
            }
        }
        intake
            .fetch_and_ingest(&mut session, to_fetch, Via::Poll)
            .await?;
        intake
            .store
            .set_orders_polled_until(&session.shop, now)
            .await?;
        Ok(())
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
