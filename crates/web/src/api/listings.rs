//! Channel listings and their mapping to master variants; catalog imports.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use storesync_domain::ids::ShopId;
use storesync_domain::Sku;
use storesync_store::jobs::JobId;
use storesync_store::listings::{ImportOptions, Listing, ListingRowId};
use storesync_store::{Page, PageRequest};

use super::parse_id;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller, Member, Viewer};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingQuery {
    /// `false`: only listings not yet mapped to a master SKU.
    pub mapped: Option<bool>,
    pub shop: Option<ShopId>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<ListingQuery>,
) -> ApiResult<Json<Page<Listing>>> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        s.store
            .list_listings(caller.org_id, q.mapped, q.shop, &page)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingBody {
    /// The master SKU this listing sells; `null` unmaps it.
    pub sku: Option<Sku>,
}

pub async fn map(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MappingBody>,
) -> ApiResult<Json<Listing>> {
    let id: ListingRowId = parse_id(&id, "listing")?;
    Ok(Json(
        s.store
            .map_listing(caller.org_id, id, b.sku.as_ref(), &caller.actor())
            .await?,
    ))
}

#[derive(Debug, Serialize)]
pub struct Queued {
    pub job_id: Option<JobId>,
    /// False when an import of this shop was already queued or running.
    pub queued: bool,
}

pub async fn import(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(options): ApiJson<ImportOptions>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let id: ShopId = parse_id(&id, "shop")?;
    let job_id = s
        .services()
        .import_catalog(caller.org_id, id, &options)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            job_id,
            queued: job_id.is_some(),
        }),
    ))
}

/// Why a listing shows the number it shows: the derivation of its target,
/// its last push and its recent push history.
pub async fn explain(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id: ListingRowId = parse_id(&id, "listing")?;
    let (listing, plan) = s.store.explain_listing(caller.org_id, id).await?;
    let history = s.store.push_history(caller.org_id, id, 20).await?;
    Ok(Json(serde_json::json!({
        "history": history,
        "listing": listing,
        "next": plan,
        "last_push": {
            "quantity": listing.last_pushed_qty,
            "at": listing.last_pushed_at,
            "result": listing.last_push_result,
        },
    })))
}
