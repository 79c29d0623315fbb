//! Members, API tokens and the audit log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use storesync_crypto::{hash_token, random_token};
use storesync_domain::ids::{ApiTokenId, UserId};
use storesync_domain::{Role, Timestamp};
use storesync_store::{ApiTokenInfo, AuditEntry, Page, PageRequest};

use super::{parse_id, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, ApiJson, ApiQuery, Caller, Viewer};
use crate::session::validate_new_password;
use crate::AppState;

pub async fn audit(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    Ok(Json(
        s.store
            .list_audit(caller.org_id, &PageRequest::from(&q))
            .await?,
    ))
}

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub created_at: Timestamp,
}

pub async fn list_members(
    State(s): State<AppState>,
    caller: Caller<Admin>,
) -> ApiResult<Json<Vec<MemberView>>> {
    let members = s.store.list_members(caller.org_id).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|(u, role)| MemberView {
                user_id: u.id,
                email: u.email,
                role,
                created_at: u.created_at,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
    pub role: Role,
    /// Initial password for a new user (10+ characters).
    #[serde(default)]
    pub password: Option<String>,
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    ApiJson(b): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    let user = add_member_as(&s, &caller, &b.email, b.role, b.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberView {
            user_id: user.id,
            email: user.email,
            role: b.role,
            created_at: user.created_at,
        }),
    ))
}

/// Add a member (a new user gets `password`); only an owner makes owners.
pub(crate) async fn add_member_as(
    s: &AppState,
    caller: &storesync_store::AuthUser,
    email: &str,
    role: Role,
    password: Option<String>,
) -> ApiResult<storesync_store::User> {
    if role == Role::Owner && caller.role != Role::Owner {
        return Err(ApiError::Forbidden {
            have: caller.role.as_str(),
            need: Role::Owner.as_str(),
        });
    }
    let hash = match password {
        Some(p) => {
            validate_new_password(&p)?;
            Some(s.passwords.hash(p).await?)
        }
        None => None,
    };
    Ok(s.store
        .add_member(caller.org_id, email, hash, role, &caller.actor())
        .await?)
}

/// A new API token for the caller: its record and the secret, shown once.
pub(crate) async fn new_token(
    s: &AppState,
    caller: &storesync_store::AuthUser,
    name: &str,
) -> ApiResult<(ApiTokenInfo, String)> {
    let token = random_token("ss_");
    let info = s
        .store
        .create_api_token(
            caller.org_id,
            caller.user_id,
            name,
            &hash_token(token.expose()),
            &caller.actor(),
        )
        .await?;
    Ok((info, token.expose().clone()))
}

pub async fn list_tokens(
    State(s): State<AppState>,
    caller: Caller<Admin>,
) -> ApiResult<Json<Vec<ApiTokenInfo>>> {
    Ok(Json(s.store.list_api_tokens(caller.org_id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: ApiTokenInfo,
    /// Shown once; only its hash is kept.
    pub token: String,
}

pub async fn create_token(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    ApiJson(b): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) = new_token(&s, &caller, &b.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

pub async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller<Admin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: ApiTokenId = parse_id(&id, "api token")?;
    s.store
        .revoke_api_token(caller.org_id, id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
