//! Orders: manual intake, listing, and the ship / cancel / return /
//! status actions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use storesync_domain::ids::OrderId;
use storesync_domain::{OrderStatus, Timestamp};
use storesync_engine::app::orders::Fulfilment;
use storesync_store::{OrderFilter, OrderTransition, PageRequest};

use super::parse_id;
use super::wire::orders::{NewOrder, Order, OrderOutcome};
use super::wire::{Page, Queued};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller, Member, Viewer};
use crate::AppState;

pub async fn create(
    State(s): State<AppState>,
    caller: Caller<Member>,
    ApiJson(body): ApiJson<NewOrder>,
) -> ApiResult<(StatusCode, Json<OrderOutcome>)> {
    let outcome = s
        .services()
        .create_order(caller.org_id, &caller.actor(), &body.into())
        .await?;
    let status = if outcome.changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome.into())))
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
        s.store
            .list_orders(caller.org_id, &filter, &page)
            .await?
            .into(),
    ))
}

pub async fn get(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    Path(id): Path<String>,
) -> ApiResult<Json<Order>> {
    let id: OrderId = parse_id(&id, "order")?;
    Ok(Json(s.store.order(caller.org_id, id).await?.into()))
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
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Ship")]
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
    fulfil(&s, &caller, id, t).await
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Cancel")]
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
    fulfil(&s, &caller, id, t).await
}

/// Ship or cancel through the order service, and say which happened: a
/// StoreSync order moved at once (200), a marketplace order was queued for
/// its marketplace (202).
async fn fulfil(
    s: &AppState,
    caller: &Caller<Member>,
    id: OrderId,
    t: OrderTransition,
) -> ApiResult<Response> {
    Ok(
        match s
            .services()
            .fulfil(caller.org_id, &caller.actor(), id, t)
            .await?
        {
            Fulfilment::Done(o) => Json(OrderOutcome::from(*o)).into_response(),
            Fulfilment::Queued => {
                (StatusCode::ACCEPTED, Json(Queued { queued: true })).into_response()
            }
        },
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Return")]
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StatusChange")]
pub struct StatusBody {
    /// The moves a seller makes by hand; shipping, cancelling and returns
    /// have their own routes.
    #[schemars(extend("enum" = ["ready_to_ship", "delivered", "completed"]))]
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
