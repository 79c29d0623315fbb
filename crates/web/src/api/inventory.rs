//! Stock levels, adjustments, transfers and the movement ledger.

use axum::extract::State;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use storesync_domain::{Sku, ValidationError};
use storesync_store::{AdjustRequest, PageRequest, StockChange, TransferRequest};

use super::wire::inventory::{AdjustResult, Movement, SkuInventory, TransferResult};
use super::wire::Page;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Caller, Member, Viewer};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkuQuery {
    pub sku: Sku,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn get_inventory(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<SkuQuery>,
) -> ApiResult<Json<SkuInventory>> {
    Ok(Json(s.store.inventory(caller.org_id, &q.sku).await?.into()))
}

pub async fn movements(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<SkuQuery>,
) -> ApiResult<Json<Page<Movement>>> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        s.store
            .movements(caller.org_id, &q.sku, &page)
            .await?
            .into(),
    ))
}

/// Body of `POST /inventory/adjustments`: exactly one of `delta` and `set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Adjustment")]
pub struct AdjustBody {
    pub sku: Sku,
    /// Location code or id; the default location when absent.
    #[serde(default)]
    pub location: Option<String>,
    /// Units to add (negative: to remove).
    #[serde(default)]
    pub delta: Option<i64>,
    /// A stock take: the new on-hand count (exactly one of `delta` and `set`).
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub set: Option<i64>,
    pub reason: String,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

pub async fn adjust(
    State(s): State<AppState>,
    caller: Caller<Member>,
    ApiJson(b): ApiJson<AdjustBody>,
) -> ApiResult<Json<AdjustResult>> {
    let change = match (b.delta, b.set) {
        (Some(d), None) => StockChange::Delta(d),
        (None, Some(n)) => StockChange::Set(n),
        _ => {
            return Err(ApiError::Validation(ValidationError::field(
                "delta",
                "give exactly one of `delta` and `set`",
            )))
        }
    };
    let req = AdjustRequest {
        sku: b.sku,
        location: b.location,
        change,
        reason: b.reason,
        idempotency_key: b.idempotency_key,
    };
    Ok(Json(
        s.store
            .adjust_stock(caller.org_id, &req, &caller.actor())
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Transfer")]
pub struct TransferBody {
    pub sku: Sku,
    pub from: String,
    pub to: String,
    #[schemars(range(min = 1))]
    pub quantity: i64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

pub async fn transfer(
    State(s): State<AppState>,
    caller: Caller<Member>,
    ApiJson(b): ApiJson<TransferBody>,
) -> ApiResult<Json<TransferResult>> {
    let req = TransferRequest {
        sku: b.sku,
        from: b.from,
        to: b.to,
        quantity: b.quantity,
        reason: b.reason,
        idempotency_key: b.idempotency_key,
    };
    Ok(Json(
        s.store
            .transfer_stock(caller.org_id, &req, &caller.actor())
            .await?
            .into(),
    ))
}
