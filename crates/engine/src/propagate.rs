//! Stock propagation: the drain loop turns dirty marks into one push job per
//! shop, and `stock.push` sends every listing whose target changed, as
//! absolute quantities, in the largest batches the marketplace accepts.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use storesync_channels::http::with_call_timeout;
use storesync_channels::pace::with_patience;
use storesync_channels::{
    ExtVariantId, FailureReason, ListingId, ListingQuery, StockUpdate, UpdateOutcome, WarehouseId,
};
use storesync_domain::ids::ShopId;
use storesync_domain::planner::{decide_send, needs_read_back, SendDecision};
use storesync_store::jobs::Job;
use storesync_store::leases::ShopLease;
use storesync_store::listings::ListingRowId;
use storesync_store::propagation::{PushItem, Settled};
use storesync_store::Store;
use tokio::sync::Notify;

use crate::connect::ChannelRegistry;
use crate::shop::{with_refresh, RefreshLocks, ShopSession};
use crate::worker::{JobError, JobHandler};

pub use storesync_store::propagation::{HOLD_ENDED_JOB, PUSH_JOB};

use crate::drift::drift_job;

/// Listings in doubt are looked for among those the marketplace says
/// changed this recently (our push changed them)...
const SETTLE_LOOKBACK_MS: i64 = 10 * 60_000;
/// ...in at most this many pages.
const SETTLE_MAX_PAGES: usize = 3;

/// How long after a push fault the shop's stock is read back.
pub const DRIFT_CHECK_DELAY_MS: i64 = 30_000;

/// Drain dirty marks every `interval` until shutdown, waking `worker` when
/// pushes were queued.
pub async fn drain_loop(
    store: Store,
    interval: Duration,
    worker: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        match store.drain_dirty(500).await {
            Ok(shops) if !shops.is_empty() => {
                worker.notify_one();
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "draining dirty variants failed"),
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(interval) => {},
        }
    }
}

#[derive(Debug)]
pub struct PushHandler {
    pub store: Store,
    pub channels: Arc<ChannelRegistry>,
    pub locks: Arc<RefreshLocks>,
    /// One push in flight per shop in this process.
    pub shop_locks:
        std::sync::Mutex<std::collections::HashMap<ShopId, Arc<tokio::sync::Mutex<()>>>>,
    /// This handler's name in push leases.
    pub owner: String,
}

impl PushHandler {
    pub fn new(store: Store, channels: Arc<ChannelRegistry>, locks: Arc<RefreshLocks>) -> Self {
        PushHandler {
            store,
            channels,
            locks,
            shop_locks: std::sync::Mutex::default(),
            owner: format!("push-{}", storesync_domain::Id::<()>::new()),
        }
    }
}

/// The least time units a push held back stay its listing's: the sales
/// made while it landed must be booked first (see [`PushItem::horizon_ms`]).
const HELD_BACK_MIN_MS: i64 = 250;

/// When the updates of a failed call (throttled, timed out) are sent again,
/// unless the marketplace named a delay.
const CALL_FAILED_RETRY: Duration = Duration::from_millis(200);

/// The longest a push's calls wait for the marketplace's rate: a call that
/// would wait longer is left for the next push, planned with the numbers of
/// then (a number planned now and sent seconds later is stale).
const PUSH_PATIENCE: Duration = Duration::from_millis(150);

/// How long a stock call may take before it is given up on (and its
/// listings sent again): several times the shop's measured push time, at
/// least [`STOCK_CALL_TIMEOUT_MIN`]. One hung call must not hold every other
/// listing of its shop for the HTTP client's whole limit; a call given up
/// on is in doubt, and a number sent again is absolute, so it is safe.
fn stock_call_timeout(push_latency_ms: Option<i64>) -> Duration {
    let measured = Duration::from_millis(u64::try_from(push_latency_ms.unwrap_or(0)).unwrap_or(0));
    (measured * 4).clamp(STOCK_CALL_TIMEOUT_MIN, STOCK_CALL_TIMEOUT_MAX)
}

const STOCK_CALL_TIMEOUT_MIN: Duration = Duration::from_millis(750);
const STOCK_CALL_TIMEOUT_MAX: Duration = Duration::from_secs(10);

/// When a push plans again after its plan moved under it or a read-back
/// failed.
const REPLAN_MS: i64 = 50;

/// What reading back the listings in doubt found: units sold there that we
/// have not booked yet, and the listings whose channel was read.
#[derive(Debug, Default)]
struct ReadBack {
    in_flight: HashMap<ListingRowId, i64>,
    read: HashSet<ListingRowId>,
}

/// How long a raise waits for webhooks received before its push was queued
/// (counted from their receipt).
const PENDING_WEBHOOK_WAIT_MS: i64 = 5_000;

/// When a push whose raises waited for pending webhooks plans again.
const BEHIND_RETRY_MS: i64 = 100;

/// Where a listing's push goes in a shop's batch: lowerings (a target below what the channel
/// shows) before raises; among lowerings the listings showing the most units that are not
/// theirs first (each is a unit two buyers can take), then the closest to selling out.
fn send_order(target: i64, shown: i64) -> (bool, i64, i64) {
    let lowering = target < shown;
    let excess = if lowering { shown - target } else { 0 };
    (!lowering, -excess, target)
}

/// Units a push held back are free again: every shop's push plans the
/// variant anew ([`HOLD_ENDED_JOB`]).
#[derive(Debug)]
pub struct HoldEndedHandler {
    pub store: Store,
}

#[derive(serde::Deserialize)]
struct HoldEnded {
    variant_id: storesync_domain::ids::VariantId,
}

#[async_trait::async_trait]
impl JobHandler for HoldEndedHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let org = crate::worker::job_org(job)?;
        let p: HoldEnded = crate::worker::job_payload(job)?;
        self.store.mark_variants_dirty(org, &[p.variant_id]).await?;
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct Payload {
    shop_id: ShopId,
}

#[async_trait::async_trait]
impl JobHandler for PushHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let org = crate::worker::job_org(job)?;
        let p: Payload = crate::worker::job_payload(job)?;
        // One push per shop across all instances: pushes must not overtake
        // each other, or an older number could land last.
        let lease_ms = 60_000;
        if !self
            .store
            .lease_shop(org, p.shop_id, ShopLease::Push, &self.owner, lease_ms)
            .await?
        {
            return Err(JobError::Defer {
                reason: "another instance is pushing this shop".into(),
                after: Duration::from_millis(100),
            });
        }
        let result = self.push(job, org, p.shop_id).await;
        if let Err(e) = self
            .store
            .release_shop(org, p.shop_id, ShopLease::Push, &self.owner)
            .await
        {
            tracing::warn!(error = %e, "could not release a push lease; it expires by itself");
        }
        result
    }
}

impl PushHandler {
    /// Push the shop again in `ms`, once per `key` while one is queued.
    async fn push_again(
        &self,
        org: storesync_domain::ids::OrgId,
        shop: ShopId,
        ms: i64,
        key: String,
    ) -> Result<(), JobError> {
        let job =
            storesync_store::jobs::NewJob::new(PUSH_JOB, serde_json::json!({ "shop_id": shop }))
                .org(org)
                .at(self.store.now().plus_millis(ms))
                .unique(key)
                .max_attempts(50);
        self.store.enqueue(&job).await?;
        Ok(())
    }

    /// A fault left unknown what the channel shows: read it back soon.
    async fn check_later(
        &self,
        org: storesync_domain::ids::OrgId,
        shop: ShopId,
    ) -> Result<(), JobError> {
        let at = self.store.now().plus_millis(DRIFT_CHECK_DELAY_MS);
        self.store.enqueue(&drift_job(org, shop, at)).await?;
        Ok(())
    }

    /// Read back the listings in doubt (a sale there may have been
    /// overwritten by our last push) instead of sending their number
    /// blindly: a push that is not needed races the next buyer on that
    /// listing. Reads the shop's recently changed listings (a few pages at
    /// most); a listing not found, or a failed read, is pushed as before.
    /// Returns the listings showing less than we know of (sales not yet
    /// ingested), with what they show.
    async fn settle(
        &self,
        session: &mut ShopSession,
        org: storesync_domain::ids::OrgId,
        shop: ShopId,
        plan: &[PushItem],
    ) -> Result<ReadBack, JobError> {
        let mut doubtful: HashMap<(String, String), _> = plan
            .iter()
            .filter(|i| needs_read_back(&i.planned()))
            .map(|i| {
                (
                    (i.external_listing_id.clone(), i.external_variant_id.clone()),
                    i.listing_id,
                )
            })
            .collect();
        let mut in_flight = HashMap::new();
        let mut checked = HashSet::new();
        let query = ListingQuery {
            updated_since: Some(self.store.now().plus_millis(-SETTLE_LOOKBACK_MS)),
        };
        let mut cursor = None;
        for _ in 0..SETTLE_MAX_PAGES {
            let read = with_refresh(
                session,
                &self.store,
                &self.locks,
                "list_listings",
                |channel, creds| {
                    let cursor = cursor.clone();
                    async move {
                        with_patience(
                            PUSH_PATIENCE,
                            channel.list_listings(&creds, &query, cursor.as_ref()),
                        )
                        .await
                    }
                },
            )
            .await;
            let page = match read {
                Ok(page) => page,
                Err(e) => {
                    // Unread, a listing may show less than we believe (sales
                    // there not booked yet): sending it our number could put
                    // units back that are gone. Its push waits for a read.
                    tracing::debug!(error = %e, "reading back listings in doubt failed; their pushes wait");
                    return Ok(ReadBack {
                        in_flight,
                        read: checked,
                    });
                }
            };
            for l in &page.listings {
                for v in &l.variants {
                    let key = (l.listing_id.to_string(), v.variant_id.to_string());
                    let Some(listing) = doubtful.remove(&key) else {
                        continue;
                    };
                    checked.insert(listing);
                    let settled = self
                        .store
                        .settle_listing(org, shop, &key.0, &key.1, v.total_stock())
                        .await?;
                    tracing::debug!(%listing, seen = v.total_stock(), ?settled, "read back");
                    if let Settled::SaleInFlight { .. } = settled {
                        in_flight.insert(listing, v.total_stock());
                    }
                }
            }
            match page.next {
                Some(next) if !doubtful.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        // Listings the channel did not list as changed lately are as we
        // believe.
        checked.extend(doubtful.into_values());
        Ok(ReadBack {
            in_flight,
            read: checked,
        })
    }

    async fn push(
        &self,
        job: &Job,
        org: storesync_domain::ids::OrgId,
        shop_id: ShopId,
    ) -> Result<(), JobError> {
        let p = Payload { shop_id };
        let lock = {
            let mut locks = self.shop_locks.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(locks.entry(p.shop_id).or_default())
        };
        // A push of this shop is running here: wait in the queue, not in a
        // worker slot, where this job merges with any queued after it.
        let Ok(_pushing) = lock.try_lock() else {
            return Err(JobError::Defer {
                reason: "a push to this shop is running".into(),
                after: Duration::from_millis(50),
            });
        };
        let mut session = ShopSession::open(&self.store, &self.channels, org, p.shop_id).await?;
        // Orders the marketplace already announced must land before a raise:
        // a value computed before them would re-inflate stock a buyer just
        // took. Lowerings go out at once all the same — whatever those
        // orders took, showing less sooner is never worse — and the wait is
        // bounded by the deliveries' age: one whose processing is stuck must
        // not hold the shop's stock back for ever.
        let behind = self
            .store
            .pending_webhooks(
                session.shop.marketplace,
                &session.shop.external_shop_id,
                self.store.now().plus_millis(-PENDING_WEBHOOK_WAIT_MS),
                job.created_at,
            )
            .await?;
        let planned_at = self.store.now();
        let mut plan = self.store.push_plan(org, p.shop_id).await?;
        let dry_run = session.shop.settings.dry_run;
        let mut read_back = ReadBack::default();
        if plan.iter().any(|i| needs_read_back(&i.planned())) && !dry_run {
            read_back = self.settle(&mut session, org, p.shop_id, &plan).await?;
            plan = self.store.push_plan(org, p.shop_id).await?;
        }
        let ReadBack { in_flight, read } = read_back;
        let plan_len = plan.len();
        let mut due = Vec::new();
        let mut claimed = Vec::new();
        let mut replan = false;
        let mut unread_skipped = false;
        let mut raise_waits = false;
        let mut ahead = HashMap::new();
        let mut holds = HashMap::new();
        let most = i64::from(session.channel.capabilities().max_stock_quantity);
        for mut item in plan {
            if needs_read_back(&item.planned()) && !read.contains(&item.listing_id) && !dry_run {
                // Sent only once its channel was read: the read failed, or
                // the plan moved it once the others were settled. Shortly.
                unread_skipped = true;
                continue;
            }
            let seen = in_flight.get(&item.listing_id).copied();
            let SendDecision::Quantity {
                quantity,
                unseen,
                held,
                raise,
                note,
            } = decide_send(&item.planned(), most, seen)
            else {
                continue;
            };
            if behind && quantity > item.shown {
                raise_waits = true;
                continue;
            }
            item.target = quantity;
            item.why.push_str(&note);
            if unseen > 0 {
                ahead.insert(item.listing_id, unseen);
            }
            if held > 0 {
                holds.insert(item.listing_id, held);
            }
            // Raising a split share hands out units no other listing shows;
            // claim them first so no other push hands them out again.
            if raise && !session.shop.settings.dry_run {
                // In the terms of our books: the sales seen there but not
                // booked yet are still counted on this listing.
                let mut claim = item.clone();
                claim.target = quantity.saturating_add(unseen);
                if !self.store.claim_raise(org, &claim).await? {
                    replan = true;
                    continue;
                }
                claimed.push(claim);
            }
            due.push(item);
        }
        if replan || unread_skipped || raise_waits {
            // Something moved between the plan and the claim: plan again;
            // a failed read-back (throttled, timed out) is tried again a
            // little later, and so are raises waiting for the intake.
            let key = storesync_store::job_keys::push_replan(p.shop_id);
            let ms = if unread_skipped {
                i64::try_from(CALL_FAILED_RETRY.as_millis()).unwrap_or(200)
            } else if raise_waits {
                BEHIND_RETRY_MS
            } else {
                REPLAN_MS
            };
            self.push_again(org, p.shop_id, ms, key).await?;
        }
        tracing::debug!(
            shop = %p.shop_id,
            behind,
            planned = plan_len,
            read = read.len(),
            due = due.len(),
            unread_skipped,
            raise_waits,
            replan,
            "push planned"
        );
        if due.is_empty() {
            return Ok(());
        }
        // The marketplace takes a limited number of calls a second, so order matters: lowerings
        // before raises (a lowering is what keeps a unit from being sold twice, a raise can
        // wait), the most over-shown first (see `send_order`).
        due.sort_by_key(|i| send_order(i.target, i.shown));
        if session.shop.settings.dry_run {
            // Onboarding: show the seller what would happen, change nothing.
            for item in &due {
                let note = format!("dry run: would push {}: {}", item.target, item.why);
                self.store
                    .record_push(org, item.listing_id, None, &note)
                    .await?;
            }
            return Ok(());
        }
        let updates: Vec<StockUpdate> = due
            .iter()
            .map(|i| StockUpdate {
                listing_id: ListingId::new(i.external_listing_id.clone()),
                variant_id: ExtVariantId::new(i.external_variant_id.clone()),
                warehouse_id: i.warehouse_id.clone().map(WarehouseId::new),
                quantity: session.channel.capabilities().stock_quantity(i.target),
            })
            .collect();
        let call_timeout = stock_call_timeout(due.iter().map(|i| i.push_latency_ms).max());
        // Whether a failed request may have changed the channel (a timeout,
        // a server error) or certainly did not (a throttle, a refusal).
        let may_have_applied = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sent = with_refresh(
            &mut session,
            &self.store,
            &self.locks,
            "update_stock",
            |channel, creds| {
                let updates = updates.clone();
                let may_have_applied = Arc::clone(&may_have_applied);
                async move {
                    let answer = with_call_timeout(
                        call_timeout,
                        with_patience(PUSH_PATIENCE, channel.update_stock(&creds, &updates)),
                    )
                    .await;
                    if let Err(e) = &answer {
                        may_have_applied
                            .store(e.may_have_applied(), std::sync::atomic::Ordering::Relaxed);
                    }
                    answer
                }
            },
        )
        .await;
        let results = match sent {
            Ok(results) => {
                let took = self.store.now().millis() - planned_at.millis();
                self.store.record_push_latency(org, p.shop_id, took).await?;
                metrics::histogram!("storesync_stock_push_seconds",
                    "marketplace" => session.shop.marketplace.as_str())
                .record(took.max(0) as f64 / 1000.0);
                results
            }
            Err(e) => {
                // Refused or throttled, nothing changed: give claimed units
                // back. Timed out or failed on the marketplace's side, the
                // raises may be showing: they stay counted until the channel
                // is read back.
                let unchanged = !may_have_applied.load(std::sync::atomic::Ordering::Relaxed);
                if unchanged {
                    for item in &claimed {
                        self.store.release_raise(org, item).await?;
                    }
                }
                tracing::debug!(shop = %p.shop_id, sent = due.len(), error = %e, "push failed");
                if let (true, JobError::Retry { after, .. }) = (unchanged, &e) {
                    // Throttled (or failed without changing anything): plan
                    // again once the shop may be called, with the numbers of
                    // then.
                    let after = after.unwrap_or(CALL_FAILED_RETRY);
                    let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
                    let key = storesync_store::job_keys::push_replan(p.shop_id);
                    return self.push_again(org, p.shop_id, ms, key).await;
                }
                self.check_later(org, p.shop_id).await?;
                return Err(e);
            }
        };
        let mut again_after: Option<Duration> = None;
        let mut in_doubt = false;
        let mut lowered_split = Vec::new();
        for (item, result) in due.iter().zip(results.iter()) {
            match &result.outcome {
                UpdateOutcome::Applied => {
                    if item.split && item.target < item.shown {
                        lowered_split.push(item.variant_id);
                    }
                    self.store
                        .record_push_ahead(
                            org,
                            item.listing_id,
                            Some(item.target),
                            Some(item.channel_stock),
                            ahead.get(&item.listing_id).copied().unwrap_or(0),
                            &format!("ok: {}", item.why),
                        )
                        .await?;
                    if let Some(&held) = holds.get(&item.listing_id) {
                        // Still this listing's until the sales made while
                        // the push landed are in; then given back.
                        self.store
                            .hold_units(
                                org,
                                item.listing_id,
                                held,
                                item.horizon_ms.max(HELD_BACK_MIN_MS),
                            )
                            .await?;
                    }
                }
                UpdateOutcome::Rejected(f) => {
                    let note = match f.reason {
                        FailureReason::BelowReservedStock => format!(
                            "refused below the marketplace's promotion hold: {}",
                            f.message
                        ),
                        _ => format!("refused ({}): {}", f.code, f.message),
                    };
                    tracing::warn!(listing = %item.listing_id, %note, "stock update refused");
                    if let Some(claim) = claimed.iter().find(|c| c.listing_id == item.listing_id) {
                        self.store.release_raise(org, claim).await?;
                    }
                    self.store
                        .record_push(org, item.listing_id, None, &note)
                        .await?;
                }
                UpdateOutcome::CallFailed(f) => {
                    // Its call failed while others of the push went through:
                    // what they applied is recorded above; this one is sent
                    // again. A raise that may be showing stays counted.
                    let claim = claimed.iter().find(|c| c.listing_id == item.listing_id);
                    if let (false, Some(claim)) = (f.may_have_applied, claim) {
                        self.store.release_raise(org, claim).await?;
                    }
                    in_doubt |= f.may_have_applied;
                    let after = f.retry_after.unwrap_or(CALL_FAILED_RETRY);
                    again_after = Some(again_after.map_or(after, |a| a.max(after)));
                    self.store
                        .record_push(
                            org,
                            item.listing_id,
                            None,
                            &format!("not sent: {}", f.message),
                        )
                        .await?;
                }
            }
        }
        tracing::debug!(
            shop = %p.shop_id,
            sent = due.len(),
            applied = results.iter().filter(|r| matches!(r.outcome, UpdateOutcome::Applied)).count(),
            retry_ms = again_after.map(|a| a.as_millis() as u64),
            took_ms = self.store.now().millis() - planned_at.millis(),
            "push sent"
        );
        if in_doubt {
            self.check_later(org, p.shop_id).await?;
        }
        if let Some(after) = again_after {
            let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
            let key = storesync_store::job_keys::push_replan(p.shop_id);
            self.push_again(org, p.shop_id, ms, key).await?;
        }
        if results
            .iter()
            .any(|r| matches!(r.outcome, UpdateOutcome::Rejected(_)))
        {
            self.check_later(org, p.shop_id).await?;
        }
        if !lowered_split.is_empty() {
            // Units this shop gave up are now free for the other listings.
            self.store.mark_variants_dirty(org, &lowered_split).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::send_order;

    #[test]
    fn a_stock_call_is_given_up_on_after_a_few_of_its_shops_push_times() {
        use super::{stock_call_timeout, STOCK_CALL_TIMEOUT_MAX, STOCK_CALL_TIMEOUT_MIN};
        use std::time::Duration;
        assert_eq!(stock_call_timeout(None), STOCK_CALL_TIMEOUT_MIN);
        assert_eq!(stock_call_timeout(Some(100)), STOCK_CALL_TIMEOUT_MIN);
        assert_eq!(stock_call_timeout(Some(500)), Duration::from_secs(2));
        assert_eq!(stock_call_timeout(Some(60_000)), STOCK_CALL_TIMEOUT_MAX);
        assert_eq!(stock_call_timeout(Some(-5)), STOCK_CALL_TIMEOUT_MIN);
    }

    #[test]
    fn lowerings_go_first_the_most_overshown_before_the_rest() {
        // (target, shown)
        let mut pushes = vec![(9, 4), (7, 12), (1, 3), (5, 5), (0, 2), (3, 1), (6, 20)];
        pushes.sort_by_key(|&(target, shown)| send_order(target, shown));
        assert_eq!(
            pushes,
            vec![(6, 20), (7, 12), (0, 2), (1, 3), (3, 1), (5, 5), (9, 4)]
        );
    }
}
