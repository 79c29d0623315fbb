//! Order actions: taking an order through the API, and shipping or
//! cancelling, where a marketplace order is asked of its marketplace first.

use storesync_domain::ids::{OrderId, OrgId};
use storesync_domain::order::IllegalTransition;
use storesync_domain::{OrderStatus, ValidationError};
use storesync_store::{
    Actor, NewOrder, OrderOutcome, OrderRequest, OrderTransition, Result, StoreError,
};

use super::Services;
use crate::fulfil::{cancel_job, ship_job, CancelPayload, ShipPayload};

/// Channels that take orders through the API; marketplace orders arrive
/// from their connected shops.
const API_CHANNELS: &[&str] = &["manual"];

/// What shipping or cancelling did.
#[derive(Debug)]
pub enum Fulfilment {
    /// A StoreSync order: moved at once.
    Done(Box<OrderOutcome>),
    /// A marketplace order: the marketplace is told first (a job); the
    /// order moves when it accepts.
    Queued,
}

impl Services<'_> {
    /// Record an order placed outside the marketplaces (a `manual` order).
    pub async fn create_order(
        &self,
        org: OrgId,
        actor: &Actor,
        order: &NewOrder,
    ) -> Result<OrderOutcome> {
        if !API_CHANNELS.contains(&order.channel.as_str()) {
            return Err(StoreError::Validation(ValidationError::field(
                "channel",
                "only `manual` orders are created through the API; marketplace orders arrive from connected shops",
            )));
        }
        self.store.create_order(org, order, actor).await
    }

    /// Ship or cancel: marketplace orders through their marketplace (a job,
    /// queued with the request in one transaction), the others directly.
    pub async fn fulfil(
        &self,
        org: OrgId,
        actor: &Actor,
        id: OrderId,
        t: OrderTransition,
    ) -> Result<Fulfilment> {
        if self.store.order_shop(org, id).await?.is_none() {
            return Ok(Fulfilment::Done(Box::new(
                self.store.transition_order(org, id, &t, actor).await?,
            )));
        }
        let to = match &t {
            OrderTransition::Cancel { .. } => OrderStatus::Cancelled,
            _ => OrderStatus::Shipped,
        };
        let (request, job) = match t {
            OrderTransition::Ship {
                carrier,
                tracking_number,
            } => (
                OrderRequest::Ship,
                ship_job(
                    org,
                    &ShipPayload {
                        order_id: id,
                        carrier,
                        tracking_number,
                        requested_by: Some(actor.clone()),
                    },
                ),
            ),
            OrderTransition::Cancel { reason } => (
                OrderRequest::Cancel,
                cancel_job(
                    org,
                    &CancelPayload {
                        order_id: id,
                        reason,
                        requested_by: Some(actor.clone()),
                    },
                ),
            ),
            other => {
                return Ok(Fulfilment::Done(Box::new(
                    self.store.transition_order(org, id, &other, actor).await?,
                )))
            }
        };
        // The order must be in a state the marketplace can act on.
        let order = self.store.order(org, id).await?;
        if !matches!(
            order.status,
            OrderStatus::Pending | OrderStatus::ReadyToShip
        ) {
            return Err(StoreError::IllegalTransition(IllegalTransition {
                from: order.status,
                to,
            }));
        }
        self.store
            .request_from_marketplace(org, id, request, &job, actor)
            .await?;
        self.job_waker.notify_one();
        Ok(Fulfilment::Queued)
    }
}
