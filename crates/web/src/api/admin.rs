//! Members, invitations, API tokens and the audit log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use storesync_domain::ids::{ApiTokenId, InvitationId, UserId};
use storesync_domain::Role;
use storesync_store::PageRequest;

use super::wire::accounts::{ApiTokenInfo, AuditEntry, CreatedToken, InvitationView, MemberView};
use super::wire::{all, Page};
use super::{parse_id, PageQuery};
use crate::error::ApiResult;
use crate::extract::{Admin, ApiJson, ApiQuery, Caller, Viewer};
use crate::AppState;

pub async fn audit(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    Ok(Json(
        s.store
            .list_audit(caller.org_id, &PageRequest::from(&q))
            .await?
            .into(),
    ))
}

pub async fn list_members(
    State(s): State<AppState>,
    caller: Caller<Admin>,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(all(s.store.list_members(caller.org_id).await?)))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    pub role: Role,
}

/// Change a member's role (owners only touch owners; one owner remains).
pub async fn set_member_role(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MemberChange>,
) -> ApiResult<StatusCode> {
    let user: UserId = parse_id(&id, "member")?;
    s.services()
        .set_member_role(&caller, user, Some(b.role))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member: their sessions and API tokens here end at once.
pub async fn remove_member(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user: UserId = parse_id(&id, "member")?;
    s.services().set_member_role(&caller, user, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub email: String,
    /// Only owners invite owners.
    pub role: Role,
}

/// Invite someone by email; the link goes by mail to that address only.
pub async fn create_invitation(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    ApiJson(b): ApiJson<NewInvitation>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let inv = s.services().invite(&caller, &b.email, b.role).await?;
    Ok((StatusCode::CREATED, Json(inv.into())))
}

pub async fn list_invitations(
    State(s): State<AppState>,
    caller: Caller<Admin>,
) -> ApiResult<Json<Vec<InvitationView>>> {
    Ok(Json(all(s.store.list_invitations(caller.org_id).await?)))
}

pub async fn revoke_invitation(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: InvitationId = parse_id(&id, "invitation")?;
    s.services().withdraw_invitation(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_tokens(
    State(s): State<AppState>,
    caller: Caller<Admin>,
) -> ApiResult<Json<Vec<ApiTokenInfo>>> {
    Ok(Json(all(s.store.list_api_tokens(caller.org_id).await?)))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
}

pub async fn create_token(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    ApiJson(b): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) = s.services().create_api_token(&caller, &b.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: info.into(),
            token: token.expose().clone(),
        }),
    ))
}

pub async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: ApiTokenId = parse_id(&id, "api token")?;
    s.services().revoke_api_token(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
