//! The `shop.import` job: page through a shop's listings and record them,
//! mapping SKUs to the master catalog.

use std::sync::Arc;

use storesync_channels::{ListingQuery, ListingStatus, PageCursor};
use storesync_domain::ids::ShopId;
use storesync_store::jobs::Job;
use storesync_store::listings::{ChannelListing, ImportOptions, ImportSummary};
use storesync_store::StoreError;
use storesync_store::{Actor, Store};

use crate::connect::ChannelRegistry;
use crate::shop::{with_refresh, RefreshLocks, ShopSession};
use crate::worker::{JobError, JobHandler};

#[derive(Debug)]
pub struct ImportHandler {
    pub store: Store,
    pub channels: Arc<ChannelRegistry>,
    pub locks: Arc<RefreshLocks>,
}

#[derive(Debug, serde::Deserialize)]
struct Payload {
    shop_id: ShopId,
    #[serde(default)]
    options: Option<ImportOptions>,
}

#[async_trait::async_trait]
impl JobHandler for ImportHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let org = crate::worker::job_org(job)?;
        let payload: Payload = crate::worker::job_payload(job)?;
        let options = payload.options.unwrap_or_default();
        let mut session =
            ShopSession::open(&self.store, &self.channels, org, payload.shop_id).await?;
        let actor = Actor::system("import");
        let mut cursor: Option<PageCursor> = None;
        let mut total = ImportSummary::default();
        loop {
            let page = with_refresh(
                &mut session,
                &self.store,
                &self.locks,
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
            let rows: Vec<ChannelListing> = page
                .listings
                .iter()
                .filter(|l| l.status != ListingStatus::Deleted)
                .flat_map(|l| {
                    l.variants.iter().map(move |v| ChannelListing {
                        external_listing_id: l.listing_id.as_str().to_owned(),
                        external_variant_id: v.variant_id.as_str().to_owned(),
                        seller_sku: v.seller_sku.clone(),
                        title: l.title.clone(),
                        status: l.marketplace_status.clone(),
                        warehouse_id: v
                            .stock
                            .first()
                            .and_then(|s| s.warehouse_id.as_ref())
                            .map(|w| w.as_str().to_owned()),
                        stock: v.total_stock(),
                        reserved: v.reserved,
                        price: v.price,
                    })
                })
                .collect();
            let summary = match self
                .store
                .import_listings(org, payload.shop_id, &rows, options, &actor)
                .await
            {
                Ok(s) => s,
                // Another shop's import created the same SKU a moment ago
                // (imports of several shops run at once): run again, and
                // the listing maps to that variant.
                Err(StoreError::Conflict {
                    code: "duplicate_sku",
                    ..
                }) => {
                    return Err(JobError::Retry {
                        message: "a SKU was created by a concurrent import; importing again".into(),
                        after: Some(std::time::Duration::from_millis(200)),
                    });
                }
                Err(e) => return Err(e.into()),
            };
            total.add(summary);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        tracing::info!(shop = %payload.shop_id, seen = total.seen, mapped = total.mapped, unmapped = total.unmapped,
            created = total.created_variants, seeded = total.seeded, "shop imported");
        Ok(())
    }
}
