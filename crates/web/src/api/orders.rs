//! Orders: manual intake, listing, and the ship / cancel / return /
//! status actions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use storesync_domain::ids::OrderId;
use storesync_domain::{OrderStatus, Timestamp, ValidationError};
use storesync_engine::fulfil::{cancel_job, ship_job, CancelPayload, ShipPayload};
use storesync_store::AuthUser;
use storesync_store::{
    NewOrder, Order, OrderFilter, OrderOutcome, OrderRequest, OrderTransition, Page, PageRequest,
};

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Caller, Member, Viewer};
use crate::AppState;

/// Channels that take orders through this endpoint; marketplace orders
/// arrive from their connected shops.
const API_CHANNELS: &[&str] = &["manual"];

pub async fn create(
    State(s): State<AppState>,
    caller: Caller<Member>,
    ApiJson(body): ApiJson<NewOrder>,
) -> ApiResult<(StatusCode, Json<OrderOutcome>)> {
    if !API_CHANNELS.contains(&body.channel.as_str()) {
        return Err(ApiError::Validation(ValidationError::field(
            "channel",
            "only `manual` orders are created through the API; marketplace orders arrive from connected shops",
        )));
    }
    let outcome = s
        .store
        .create_order(caller.org_id, &body, &caller.actor())
        .await?;
    let status = if outcome.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub status: Option<OrderStatus>,
    pub channel: Option<String>,
    /// Orders placed at or after this time (RFC 3339).
    pub from: Option<Timestamp>,
    /// Orders placed before this time (RFC 3339).
    pub to: Option<Timestamp>,
    /// Orders from this connected shop only.
    pub shop: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> ApiResult<Json<Page<Order>>> {
    let filter = OrderFilter {
        status: q.status,
        channel: q.channel,
        placed_from: q.from,
        placed_to: q.to,
        shop: q.shop.as_deref().map(|s| parse_id(s, "shop")).transpose()?,
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        s.store.list_orders(caller.org_id, &filter, &page).await?,
    ))
}

pub async fn get(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    let id: OrderId = parse_id(&id, "order")?;
    Ok(Json(s.store.order(caller.org_id, id).await?))
}

async fn transition(
    s: &AppState,
    caller: &Caller<Member>,
    id: &str,
    t: OrderTransition,
) -> ApiResult<Json<OrderOutcome>> {
    let id: OrderId = parse_id(id, "order")?;
    Ok(Json(
        s.store
            .transition_order(caller.org_id, id, &t, &caller.actor())
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipBody {
    pub carrier: String,
    pub tracking_number: String,
}

pub async fn ship(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ShipBody>,
) -> ApiResult<Response> {
    let id: OrderId = parse_id(&id, "order")?;
    let t = OrderTransition::Ship {
        carrier: b.carrier,
        tracking_number: b.tracking_number,
    };
    Ok(fulfil(&s, &caller, id, t).await?.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: String,
}

pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CancelBody>,
) -> ApiResult<Response> {
    let id: OrderId = parse_id(&id, "order")?;
    let t = OrderTransition::Cancel { reason: b.reason };
    Ok(fulfil(&s, &caller, id, t).await?.into_response())
}

/// What shipping or cancelling did.
#[derive(Debug)]
pub enum Fulfilment {
    /// A StoreSync order: moved at once.
    Done(Box<OrderOutcome>),
    /// A marketplace order: the marketplace is told first (a job); the
    /// order moves when it accepts.
    Queued,
}

impl IntoResponse for Fulfilment {
    fn into_response(self) -> Response {
        match self {
            Fulfilment::Done(o) => Json(*o).into_response(),
            Fulfilment::Queued => (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({ "queued": true })),
            )
                .into_response(),
        }
    }
}

/// Ship or cancel: marketplace orders through their marketplace, the
/// others directly.
pub(crate) async fn fulfil(
    s: &AppState,
    caller: &AuthUser,
    id: OrderId,
    t: OrderTransition,
) -> ApiResult<Fulfilment> {
    if s.store.order_shop(caller.org_id, id).await?.is_none() {
        return Ok(Fulfilment::Done(Box::new(
            s.store
                .transition_order(caller.org_id, id, &t, &caller.actor())
                .await?,
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
                caller.org_id,
                &ShipPayload {
                    order_id: id,
                    carrier,
                    tracking_number,
                    requested_by: Some(caller.actor()),
                },
            ),
        ),
        OrderTransition::Cancel { reason } => (
            OrderRequest::Cancel,
            cancel_job(
                caller.org_id,
                &CancelPayload {
                    order_id: id,
                    reason,
                    requested_by: Some(caller.actor()),
                },
            ),
        ),
        other => {
            return Ok(Fulfilment::Done(Box::new(
                s.store
                    .transition_order(caller.org_id, id, &other, &caller.actor())
                    .await?,
            )))
        }
    };
    // The order must be in a state the marketplace can act on.
    let order = s.store.order(caller.org_id, id).await?;
    if !matches!(
        order.status,
        OrderStatus::Pending | OrderStatus::ReadyToShip
    ) {
        return Err(storesync_store::StoreError::IllegalTransition(
            storesync_domain::order::IllegalTransition {
                from: order.status,
                to,
            },
        )
        .into());
    }
    s.store
        .request_from_marketplace(caller.org_id, id, request, &job, &caller.actor())
        .await?;
    s.job_waker.notify_one();
    Ok(Fulfilment::Queued)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// Put the returned units back on hand (default true).
    #[serde(default = "yes")]
    pub restock: bool,
}

fn yes() -> bool {
    true
}

pub async fn mark_returned(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReturnBody>,
) -> ApiResult<Json<OrderOutcome>> {
    transition(
        &s,
        &caller,
        &id,
        OrderTransition::Return { restock: b.restock },
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub status: OrderStatus,
}

pub async fn set_status(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StatusBody>,
) -> ApiResult<Json<OrderOutcome>> {
    transition(
        &s,
        &caller,
        &id,
        OrderTransition::Status { status: b.status },
    )
    .await
}
