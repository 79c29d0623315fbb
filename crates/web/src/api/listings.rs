//! Channel listings and their mapping to master variants; catalog imports.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use storesync_domain::ids::ShopId;
use storesync_store::listings::ListingRowId;
use storesync_store::PageRequest;

use super::parse_id;
use super::wire::listings::{Explanation, ImportOptions, ImportQueued, LastPush, Listing, Mapping};
use super::wire::{all, Page};
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
            .await?
            .into(),
    ))
}

pub async fn map(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Mapping>,
) -> ApiResult<Json<Listing>> {
    let id: ListingRowId = parse_id(&id, "listing")?;
    Ok(Json(
        s.store
            .map_listing(caller.org_id, id, b.sku.as_ref(), &caller.actor())
            .await?
            .into(),
    ))
}

pub async fn import(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(options): ApiJson<ImportOptions>,
) -> ApiResult<(StatusCode, Json<ImportQueued>)> {
    let id: ShopId = parse_id(&id, "shop")?;
    let job_id = s
        .services()
        .import_catalog(caller.org_id, id, &options.into())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ImportQueued {
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
) -> ApiResult<Json<Explanation>> {
    let id: ListingRowId = parse_id(&id, "listing")?;
    let (listing, plan) = s.store.explain_listing(caller.org_id, id).await?;
    let history = s.store.push_history(caller.org_id, id, 20).await?;
    Ok(Json(Explanation {
        history: all(history),
        last_push: LastPush {
            quantity: listing.last_pushed_qty,
            at: listing.last_pushed_at,
            result: listing.last_push_result.clone(),
        },
        listing: listing.into(),
        next: plan.map(Into::into),
    }))
}
