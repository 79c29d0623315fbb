//! Drift repair: read every listing's stock back from the marketplace and
//! compare it with what we believe it shows. Differences come from lost
//! pushes, timeouts that did or did not apply, edits in the marketplace's
//! back office, or orders we have not ingested. The shop's orders are
//! polled first, so a sale the channel already counted is in our books
//! before its stock is compared; then the channel's number is believed and
//! the variant is pushed again, which corrects the channel to its target.
//! Listings the channel no longer has are flagged in their history.
//!
//! Runs for every active shop on a schedule, and for one shop after a push
//! met a fault (a refusal, or an error that leaves unknown what applied).

use std::collections::HashSet;
use std::time::Duration;

use storesync_channels::{ListingQuery, ListingStatus, PageCursor};
use storesync_domain::ids::{OrgId, ShopId};
use storesync_store::job_keys;
use storesync_store::jobs::{Job, NewJob};
use storesync_store::leases::ShopLease;

use crate::intake::Intake;
use crate::shop::{with_refresh, ShopSession};
use crate::worker::{JobError, JobHandler};

/// Check one shop: `{"shop_id": …}`.
pub const DRIFT_JOB: &str = job_keys::kind::DRIFT;
/// Fan out a check to every active shop (scheduled).
pub const DRIFT_ALL_JOB: &str = "stock.drift_all";

/// Queue a check of `shop` after `delay` (de-duplicated per shop).
pub fn drift_job(org: OrgId, shop: ShopId, at: storesync_domain::Timestamp) -> NewJob {
    NewJob::new(DRIFT_JOB, serde_json::json!({ "shop_id": shop }))
        .org(org)
        .at(at)
        .unique(job_keys::drift(shop))
}

/// What one check found.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriftReport {
    pub checked: usize,
    pub drifted: usize,
    pub missing: usize,
}

#[derive(Debug)]
pub struct DriftHandler(pub Intake);

#[derive(serde::Deserialize)]
struct Payload {
    shop_id: ShopId,
}

#[async_trait::async_trait]
impl JobHandler for DriftHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let org = crate::worker::job_org(job)?;
        let p: Payload = crate::worker::job_payload(job)?;
        let report = check_shop(&self.0, org, p.shop_id).await?;
        if report.drifted > 0 || report.missing > 0 {
            tracing::warn!(shop = %p.shop_id, ?report, "channel stock drifted; corrected");
        }
        Ok(())
    }
}

/// Poll, read back, compare and correct one shop.
pub async fn check_shop(
    intake: &Intake,
    org: OrgId,
    shop: ShopId,
) -> Result<DriftReport, JobError> {
    let store = &intake.store;
    // No push may land between our read and our record of it.
    let owner = format!("drift-{}", storesync_domain::Id::<()>::new());
    if !store
        .lease_shop(org, shop, ShopLease::Push, &owner, 120_000)
        .await?
    {
        return Err(JobError::Defer {
            reason: "a push to this shop is in flight".into(),
            after: Duration::from_millis(500),
        });
    }
    let result = read_back(intake, org, shop).await;
    if let Err(e) = store.release_shop(org, shop, ShopLease::Push, &owner).await {
        tracing::warn!(error = %e, "could not release a push lease; it expires by itself");
    }
    result
}

async fn read_back(intake: &Intake, org: OrgId, shop: ShopId) -> Result<DriftReport, JobError> {
    let store = &intake.store;
    intake.poll_shop(org, shop).await?;
    let mut session = ShopSession::open(store, &intake.channels, org, shop).await?;
    let mut report = DriftReport::default();
    let mut seen = HashSet::new();
    let mut cursor: Option<PageCursor> = None;
    loop {
        let page = with_refresh(
            &mut session,
            store,
            &intake.locks,
            "list_listings",
            |channel, creds| {
                let cursor = cursor.clone();
                async move {
                    channel
                        .list_listings(&creds, &ListingQuery::default(), cursor.as_ref())
                        .await
                }
            },
        )
        .await?;
        for l in page
            .listings
            .iter()
            .filter(|l| l.status != ListingStatus::Deleted)
        {
            for v in &l.variants {
                let key = (
                    l.listing_id.as_str().to_owned(),
                    v.variant_id.as_str().to_owned(),
                );
                report.checked += 1;
                if store
                    .note_channel_stock(org, shop, &key.0, &key.1, v.total_stock(), v.reserved)
                    .await?
                    .is_some()
                {
                    report.drifted += 1;
                }
                seen.insert(key);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for listing in store.listings_missing_from(org, shop, &seen).await? {
        report.missing += 1;
        store
            .record_push(
                org,
                listing,
                None,
                "drift: the channel no longer lists this; import the shop again to refresh",
            )
            .await?;
    }
    Ok(report)
}

/// `stock.drift_all`: queue a check of every active shop.
#[derive(Debug)]
pub struct DriftAllHandler(pub Intake);

#[async_trait::async_trait]
impl JobHandler for DriftAllHandler {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let now = self.0.store.now();
        for shop in self.0.store.active_shops().await? {
            self.0
                .store
                .enqueue(&drift_job(shop.org_id, shop.id, now))
                .await?;
        }
        Ok(())
    }
}
