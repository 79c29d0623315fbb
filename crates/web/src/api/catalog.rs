//! Products, variants and locations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use storesync_domain::ids::ProductId;
use storesync_store::PageRequest;

use super::parse_id;
use super::wire::catalog::{Location, NewLocation, NewProduct, Product, ProductPatch};
use super::wire::{all, Page};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller, Member, Viewer};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn list_products(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<ProductQuery>,
) -> ApiResult<Json<Page<Product>>> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        s.store
            .list_products(caller.org_id, q.q.as_deref(), &page)
            .await?
            .into(),
    ))
}

pub async fn create_product(
    State(s): State<AppState>,
    caller: Caller<Member>,
    ApiJson(body): ApiJson<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let product = s
        .store
        .create_product(caller.org_id, &body.into(), &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(product.into())))
}

pub async fn get_product(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    Path(id): Path<String>,
) -> ApiResult<Json<Product>> {
    let id: ProductId = parse_id(&id, "product")?;
    Ok(Json(s.store.product(caller.org_id, id).await?.into()))
}

pub async fn update_product(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> ApiResult<Json<Product>> {
    let id: ProductId = parse_id(&id, "product")?;
    Ok(Json(
        s.store
            .update_product(caller.org_id, id, &patch.into(), &caller.actor())
            .await?
            .into(),
    ))
}

pub async fn delete_product(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: ProductId = parse_id(&id, "product")?;
    s.store
        .archive_product(caller.org_id, id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_locations(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
) -> ApiResult<Json<Vec<Location>>> {
    Ok(Json(all(s.store.list_locations(caller.org_id).await?)))
}

pub async fn create_location(
    State(s): State<AppState>,
    caller: Caller<Member>,
    ApiJson(body): ApiJson<NewLocation>,
) -> ApiResult<(StatusCode, Json<Location>)> {
    let loc = s
        .store
        .create_location(caller.org_id, &body.into(), &caller.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(loc.into())))
}
