//! Token lifecycle: refresh access tokens before they expire, so calls
//! never start failing. Refreshes are serialized per shop and committed
//! before use (see [`crate::shop`]); a refused refresh marks the shop
//! `needs_reauth` and stops there instead of hammering the marketplace.

use std::sync::Arc;
use std::time::Duration;

use storesync_domain::ids::ShopId;
use storesync_store::job_keys;
use storesync_store::jobs::{Job, NewJob};
use storesync_store::Store;

use crate::connect::ChannelRegistry;
use crate::shop::{RefreshLocks, ShopSession};
use crate::worker::{JobError, JobHandler};

pub const REFRESH_JOB: &str = job_keys::kind::REFRESH;
pub const REFRESH_DUE_JOB: &str = "tokens.refresh_due";

/// Refresh tokens expiring within this margin.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);

/// `tokens.refresh_due` (scheduled): one refresh job per shop whose access
/// token ends within the margin.
#[derive(Debug)]
pub struct RefreshDueHandler {
    pub store: Store,
}

#[async_trait::async_trait]
impl JobHandler for RefreshDueHandler {
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let margin = i64::try_from(REFRESH_MARGIN.as_millis()).unwrap_or(i64::MAX);
        let before = self.store.now().plus_millis(margin);
        for shop in self.store.shops_expiring_before(before).await? {
            let job = NewJob::new(REFRESH_JOB, serde_json::json!({ "shop_id": shop.id }))
                .org(shop.org_id)
                .unique(job_keys::refresh(shop.id))
                .max_attempts(8);
            self.store.enqueue(&job).await?;
        }
        Ok(())
    }
}

/// `tokens.refresh`: refresh one shop's token pair now.
#[derive(Debug)]
pub struct RefreshHandler {
    pub store: Store,
    pub channels: Arc<ChannelRegistry>,
    pub locks: Arc<RefreshLocks>,
}

#[derive(serde::Deserialize)]
struct Payload {
    shop_id: ShopId,
}

#[async_trait::async_trait]
impl JobHandler for RefreshHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let org = crate::worker::job_org(job)?;
        let p: Payload = crate::worker::job_payload(job)?;
        let mut session = ShopSession::open(&self.store, &self.channels, org, p.shop_id).await?;
        session.refresh(&self.store, &self.locks).await
    }
}
