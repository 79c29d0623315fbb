//! Shipping and cancelling marketplace orders: the marketplace is told
//! first, and the order moves (deducting or releasing its stock) only once
//! the marketplace accepted. Runs as jobs, so token refreshes stay
//! serialized per shop with everything else the worker does, and a
//! marketplace that is briefly down is retried rather than forgotten.

use serde::{Deserialize, Serialize};
use storesync_channels::{CancelReason, CancelRequest, ExtOrderId, Handover, ShipRequest};
use storesync_domain::ids::OrderId;
use storesync_domain::OrderStatus;
use storesync_store::job_keys;
use storesync_store::jobs::{Job, NewJob};
use storesync_store::{Actor, OrderTransition, Store};

use crate::connect::ChannelRegistry;
use crate::shop::{with_refresh, RefreshLocks, ShopSession};
use crate::worker::{JobError, JobHandler};

pub const SHIP_JOB: &str = job_keys::kind::SHIP;
/// How long a refused shipment first waits before the order is looked at again (doubling each
/// time), and how many attempts it gets in all.
const RECHECK_AFTER_REFUSAL: std::time::Duration = std::time::Duration::from_secs(2);
const RECHECKS_AFTER_REFUSAL: i64 = 4;
pub const CANCEL_JOB: &str = job_keys::kind::CANCEL;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShipPayload {
    pub order_id: OrderId,
    pub carrier: String,
    /// The seller's own tracking number, when the seller arranges transport.
    #[serde(default)]
    pub tracking_number: String,
    /// Who asked: the order's timeline names them once the marketplace accepted (jobs queued
    /// before this field existed fall back to the marketplace).
    #[serde(default)]
    pub requested_by: Option<Actor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CancelPayload {
    pub order_id: OrderId,
    pub reason: String,
    /// Who asked (see [`ShipPayload::requested_by`]).
    #[serde(default)]
    pub requested_by: Option<Actor>,
}

/// Queue shipping a marketplace order (one job per order at a time).
pub fn ship_job(org: storesync_domain::ids::OrgId, p: &ShipPayload) -> NewJob {
    NewJob::new(SHIP_JOB, serde_json::json!(p))
        .org(org)
        .unique(job_keys::ship(p.order_id))
        .max_attempts(8)
}

pub fn cancel_job(org: storesync_domain::ids::OrgId, p: &CancelPayload) -> NewJob {
    NewJob::new(CANCEL_JOB, serde_json::json!(p))
        .org(org)
        .unique(job_keys::cancel(p.order_id))
        .max_attempts(8)
}

#[derive(Debug)]
pub struct FulfilHandler {
    pub store: Store,
    pub channels: std::sync::Arc<ChannelRegistry>,
    pub locks: std::sync::Arc<RefreshLocks>,
}

#[async_trait::async_trait]
impl JobHandler for FulfilHandler {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let org = crate::worker::job_org(job)?;
        let bad = |e: serde_json::Error| JobError::Permanent(format!("bad payload: {e}"));
        if job.kind == CANCEL_JOB {
            let p: CancelPayload = serde_json::from_value(job.payload.clone()).map_err(bad)?;
            return self.cancel(org, p).await;
        }
        let p: ShipPayload = serde_json::from_value(job.payload.clone()).map_err(bad)?;
        let order_id = p.order_id;
        let order = self.store.order(org, order_id).await?;
        match order.status {
            OrderStatus::Pending | OrderStatus::ReadyToShip => {}
            // Already done (a retry after the marketplace accepted).
            OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed => return Ok(()),
            // The buyer cancelled before the shipment was arranged: there is nothing left to
            // ship, and the order's own status says so.
            OrderStatus::Cancelled | OrderStatus::Returned => {
                tracing::info!(order = %order_id, status = order.status.as_str(), "ship request ended: the order is no longer shippable");
                return Ok(());
            }
        }
        let shop = self.store.order_shop(org, order_id).await?.ok_or_else(|| {
            JobError::Permanent("not a marketplace order; ship it in StoreSync directly".into())
        })?;
        let mut session = ShopSession::open(&self.store, &self.channels, org, shop).await?;
        let request = ShipRequest {
            order_id: ExtOrderId::new(order.external_id.clone()),
            package_id: None,
            handover: Handover::Pickup,
            tracking_number: (!p.tracking_number.trim().is_empty())
                .then(|| p.tracking_number.trim().to_owned()),
            shipping_provider_id: None,
        };
        let shipment = match with_refresh(
            &mut session,
            &self.store,
            &self.locks,
            "ship_order",
            |channel, creds| {
                let request = request.clone();
                async move { channel.ship_order(&creds, &request).await }
            },
        )
        .await
        {
            Ok(s) => s,
            // Refused: the order may have moved on the marketplace (a buyer's cancellation,
            // or a cancellation request waiting for its answer, whose push is still on its
            // way). Look again a few times, each a little later: an attempt ends quietly once
            // the order is cancelled, and a refusal that outlasts the rechecks is for good.
            Err(JobError::Permanent(message)) if job.attempts < RECHECKS_AFTER_REFUSAL => {
                let wait = RECHECK_AFTER_REFUSAL * 2u32.pow(job.attempts.clamp(1, 8) as u32 - 1);
                return Err(JobError::Retry {
                    message,
                    after: Some(wait),
                });
            }
            Err(e) => return Err(e),
        };
        let (carrier, tracking_number) = shipment_reference(
            shipment.packages.first(),
            &p,
            session.shop.marketplace.as_str(),
            &order.external_id,
        );
        let t = OrderTransition::Ship {
            carrier,
            tracking_number,
        };
        self.store
            .transition_order(org, order_id, &t, &requester(&p.requested_by, &session))
            .await?;
        Ok(())
    }
}

impl FulfilHandler {
    async fn cancel(
        &self,
        org: storesync_domain::ids::OrgId,
        p: CancelPayload,
    ) -> Result<(), JobError> {
        let order = self.store.order(org, p.order_id).await?;
        match order.status {
            OrderStatus::Pending | OrderStatus::ReadyToShip => {}
            OrderStatus::Cancelled => return Ok(()),
            other => {
                return Err(JobError::Permanent(format!(
                    "the order is {}; it cannot be cancelled",
                    other.as_str()
                )))
            }
        }
        let shop = self
            .store
            .order_shop(org, p.order_id)
            .await?
            .ok_or_else(|| {
                JobError::Permanent(
                    "not a marketplace order; cancel it in StoreSync directly".into(),
                )
            })?;
        let mut session = ShopSession::open(&self.store, &self.channels, org, shop).await?;
        let request = CancelRequest {
            order_id: ExtOrderId::new(order.external_id.clone()),
            reason: CancelReason::OutOfStock,
            lines: Vec::new(),
        };
        with_refresh(
            &mut session,
            &self.store,
            &self.locks,
            "cancel_order",
            |channel, creds| {
                let request = request.clone();
                async move { channel.cancel_order(&creds, &request).await }
            },
        )
        .await?;
        let actor = requester(&p.requested_by, &session);
        let t = OrderTransition::Cancel { reason: p.reason };
        self.store
            .transition_order(org, p.order_id, &t, &actor)
            .await?;
        Ok(())
    }
}

/// The carrier and tracking number a shipment the marketplace accepted is recorded with: the
/// marketplace's own, else what the seller gave. A marketplace that assigns the tracking number
/// later (or never names its carrier in this answer) still gets a reference the seller can look
/// up there — its package id, else its order id — rather than leaving the shipped order
/// unrecorded.
fn shipment_reference(
    package: Option<&storesync_channels::Package>,
    asked: &ShipPayload,
    marketplace: &str,
    external_order_id: &str,
) -> (String, String) {
    let given = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let carrier = given(package.and_then(|p| p.carrier.as_deref()))
        .or_else(|| given(Some(&asked.carrier)))
        .unwrap_or_else(|| marketplace.to_owned());
    let tracking = given(package.and_then(|p| p.tracking_number.as_deref()))
        .or_else(|| given(Some(&asked.tracking_number)))
        .or_else(|| {
            given(
                package
                    .and_then(|p| p.package_id.as_ref())
                    .map(|id| id.as_str()),
            )
        })
        .unwrap_or_else(|| external_order_id.to_owned());
    (carrier, tracking)
}

/// The actor an accepted ship or cancel is recorded under: whoever asked, else the marketplace.
fn requester(requested_by: &Option<Actor>, session: &ShopSession) -> Actor {
    requested_by
        .clone()
        .unwrap_or_else(|| Actor::system(session.shop.marketplace.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use storesync_channels::{Package, PackageId};

    fn asked(carrier: &str, tracking: &str) -> ShipPayload {
        ShipPayload {
            order_id: OrderId::new(),
            carrier: carrier.into(),
            tracking_number: tracking.into(),
            requested_by: None,
        }
    }

    #[test]
    fn a_shipment_is_recorded_with_the_best_reference_there_is() {
        let full = Package {
            package_id: Some(PackageId::new("PKG-1")),
            tracking_number: Some("SPX123".into()),
            carrier: Some("SPX Express".into()),
            status: None,
        };
        assert_eq!(
            shipment_reference(Some(&full), &asked("JNE", "JNE9"), "shopee", "O-1"),
            ("SPX Express".into(), "SPX123".into())
        );
        let bare = Package {
            package_id: Some(PackageId::new("PKG-2")),
            tracking_number: Some(" ".into()),
            carrier: None,
            status: None,
        };
        assert_eq!(
            shipment_reference(Some(&bare), &asked("JNE", "JNE9"), "shopee", "O-1"),
            ("JNE".into(), "JNE9".into())
        );
        assert_eq!(
            shipment_reference(Some(&bare), &asked("", ""), "tiktok_shop", "O-1"),
            ("tiktok_shop".into(), "PKG-2".into())
        );
        assert_eq!(
            shipment_reference(None, &asked("", ""), "lazada", "O-1"),
            ("lazada".into(), "O-1".into())
        );
    }
}
