//! Connected shops and the OAuth connect flow.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use storesync_domain::ids::ShopId;
use storesync_engine::app::shops::ShopAction;
use storesync_engine::connect;

use super::parse_id;
use super::wire::shops::{ApiCall, ConnectStart, Shop, ShopSettingsPatch, ShopView};
use super::wire::{all, Page, Queued};
use crate::connect_binding::{self, Binding};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, ApiJson, Caller, Member, Viewer};
use crate::AppState;

pub async fn list(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
) -> ApiResult<Json<Vec<ShopView>>> {
    Ok(Json(all(s.services().list_shops(caller.org_id).await?)))
}

pub async fn start_connect(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(marketplace): Path<String>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ConnectStart>)> {
    let marketplace = connect::marketplace(&marketplace)?;
    let callback = format!("{}/oauth/{marketplace}/callback", s.public_url);
    let binding = Binding::new();
    let (url, expires_at) = connect::start(
        &s.store,
        &s.channels,
        caller.org_id,
        caller.user_id,
        marketplace,
        &callback,
        &binding.hash(),
    )
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, binding.set_cookie(&s, marketplace)?);
    Ok((
        StatusCode::CREATED,
        headers,
        Json(ConnectStart {
            authorize_url: url.to_string(),
            expires_at,
        }),
    ))
}

/// The marketplace sends the seller back here. Answers with a small page
/// for a person, never a JSON dump; its status and message come from the
/// error table like every other answer.
pub async fn callback(
    State(s): State<AppState>,
    Path(marketplace): Path<String>,
    RawQuery(query): RawQuery,
    parts: axum::http::request::Parts,
) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let result = async {
        let marketplace = connect::marketplace(&marketplace)?;
        let browser = connect_binding::presented(&parts, marketplace);
        connect::finish(
            &s.store,
            &s.channels,
            marketplace,
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            browser.as_deref(),
        )
        .await
    }
    .await;
    match result {
        Ok(shops) => {
            let names: Vec<String> = shops.iter().map(|s| escape(&s.name)).collect();
            // Say where the shop went, so a seller who did not mean to
            // connect to this organization notices.
            let org = match shops.first() {
                Some(shop) => s.store.org(shop.org_id).await.ok(),
                None => None,
            };
            let org = org
                .map(|o| format!(" for the organization <strong>{}</strong>", escape(&o.name)))
                .unwrap_or_default();
            let body = format!(
                "<h1>Shop connected</h1><p>StoreSync{org} is now connected to {} and is importing the catalog.</p>\
                 <p><a href=\"/\">Back to StoreSync</a></p>",
                names.join(", ")
            );
            (StatusCode::OK, page("Shop connected", &body)).into_response()
        }
        Err(e) => {
            let (_, status, text) = ApiError::from(e).answer();
            let body = format!(
                "<h1>Shop not connected</h1><p role=\"alert\">{}</p><p><a href=\"/\">Back to StoreSync</a></p>",
                escape(&text)
            );
            (status, page("Shop not connected", &body)).into_response()
        }
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} · StoreSync</title></head>\
         <body><main>{body}</main></body></html>",
        escape(title)
    ))
}

/// Minimal HTML escaping for text placed in element content.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn act(
    s: &AppState,
    caller: &Caller<impl crate::extract::MinRole>,
    id: &str,
    action: ShopAction,
) -> ApiResult<Json<Shop>> {
    let id: ShopId = parse_id(id, "shop")?;
    Ok(Json(
        s.services()
            .shop_action(caller.org_id, &caller.actor(), id, action)
            .await?
            .into(),
    ))
}

/// Stop all work for a shop (orders are still polled when resumed).
pub async fn pause(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
) -> ApiResult<Json<Shop>> {
    act(&s, &caller, &id, ShopAction::Pause).await
}

pub async fn resume(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
) -> ApiResult<Json<Shop>> {
    act(&s, &caller, &id, ShopAction::Resume).await
}

/// Forget the shop's tokens; its orders and listings stay.
pub async fn disconnect(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> ApiResult<Json<Shop>> {
    act(&s, &caller, &id, ShopAction::Disconnect).await
}

/// Poll the shop's orders and push its stock now.
pub async fn sync_now(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let id: ShopId = parse_id(&id, "shop")?;
    s.services().sync_shop_now(caller.org_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued: true })))
}

pub async fn settings(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ShopSettingsPatch>,
) -> ApiResult<Json<Shop>> {
    let id: ShopId = parse_id(&id, "shop")?;
    Ok(Json(
        s.services()
            .update_shop_settings(caller.org_id, &caller.actor(), id, &patch.into())
            .await?
            .into(),
    ))
}

/// The shop's recent marketplace API calls (operation, outcome, code,
/// duration), newest first.
pub async fn calls(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    Path(id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<super::PageQuery>,
) -> ApiResult<Json<Page<ApiCall>>> {
    let id: ShopId = parse_id(&id, "shop")?;
    s.store.shop(caller.org_id, id).await?;
    Ok(Json(
        s.store
            .list_api_calls(caller.org_id, id, &storesync_store::PageRequest::from(&q))
            .await?
            .into(),
    ))
}
