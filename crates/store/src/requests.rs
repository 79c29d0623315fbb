//! Requests to a marketplace about one of its orders (ship it, cancel it): the job that tells
//! the marketplace is queued in the same transaction as the note in the order's timeline and
//! the audit entry naming who asked. The order itself moves only when the marketplace accepts
//! (by the job, or earlier by the marketplace's own status push), so who asked would otherwise
//! be lost whenever the push wins the race.

use storesync_domain::ids::{OrderId, OrgId};

use crate::audit::{self, Actor, Audit};
use crate::jobs::{enqueue_in, NewJob};
use crate::row::RowExt;
use crate::{Result, Store, StoreError};

/// What is asked of the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderRequest {
    Ship,
    Cancel,
}

impl OrderRequest {
    fn action(self) -> &'static str {
        match self {
            OrderRequest::Ship => "order.ship_requested",
            OrderRequest::Cancel => "order.cancel_requested",
        }
    }

    fn note(self) -> &'static str {
        match self {
            OrderRequest::Ship => "shipment requested from the marketplace",
            OrderRequest::Cancel => "cancellation requested from the marketplace",
        }
    }
}

impl Store {
    /// Queue `job` for the order and record the request. Returns false when the same request
    /// is already queued (nothing is recorded twice).
    pub async fn request_from_marketplace(
        &self,
        org: OrgId,
        order: OrderId,
        request: OrderRequest,
        job: &NewJob,
        actor: &Actor,
    ) -> Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT status FROM orders WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(order.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("order"))?;
        let status = row.parse("status")?;
        if enqueue_in(&mut tx, job, now).await?.is_none() {
            return Ok(false);
        }
        crate::orders::insert_event(
            &mut tx,
            org,
            order,
            now,
            None,
            status,
            "none",
            &actor.label,
            Some(request.note().to_owned()),
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: request.action(),
                entity_type: "order",
                entity_id: order.to_string(),
                summary: serde_json::json!({ "job": job.kind }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
