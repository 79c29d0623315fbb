//! Sign-in, sign-out and the current session.
//!
//! Passwords are checked with argon2id on the blocking pool behind a
//! semaphore, so a burst of logins cannot exhaust memory or starve the async
//! workers. Every password check is first claimed from the sign-in limiter
//! ([`crate::limiter`]). Every sign-in issues a fresh session id (never
//! reusing one the client brought), stored only as a hash; the CSRF token is
//! derived from the secret id, so it needs no storage. Sign-ins, failures,
//! sign-outs and password changes are written to the audit log.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use storesync_crypto::{dummy_verify, hash_password, hash_token, session_id, verify_password};
use storesync_store::signin::ClientMeta;
use storesync_store::AuthUser;
use tokio::sync::Semaphore;

use crate::api::wire::accounts::SessionView;
use crate::api::wire::all;
use crate::error::{ApiError, ApiResult};
use crate::extract::{authenticate, session_cookie, ApiJson, Caller, Viewer};
use crate::limiter::{self, Client};
use crate::AppState;

pub const SESSION_COOKIE: &str = "storesync_session";

pub const MIN_PASSWORD_LEN: usize = 10;

/// The CSRF token of a session: a hash of its secret id.
pub fn csrf_token_for(session_id: &str) -> String {
    hash_token(&format!("csrf:{session_id}"))
}

/// Bounds concurrent password hashing (each argon2id run takes ~19 MiB).
#[derive(Debug, Clone)]
pub struct PasswordGate {
    permits: Arc<Semaphore>,
}

impl PasswordGate {
    pub fn new(concurrency: usize) -> Self {
        PasswordGate {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Verify `password` against `hash`; with no hash, spend the same time
    /// on a dummy so unknown emails cannot be told apart by timing.
    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || match hash {
            Some(h) => verify_password(&password, &h),
            None => {
                dummy_verify(&password);
                false
            }
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Slug of the organization to work in; the first membership otherwise.
    #[serde(default)]
    pub org: Option<String>,
}

pub(crate) fn session_cookie_header(
    state: &AppState,
    id: &str,
    max_age_s: i64,
) -> ApiResult<HeaderValue> {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
    .map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let (cookie, view) = sign_in(&state, req, &client).await?;
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, cookie);
    Ok((StatusCode::OK, headers, Json(view)))
}

/// Check the password (claimed from the limiter first, generic error) and
/// open a fresh session: its cookie and what the client may show.
pub(crate) async fn sign_in(
    state: &AppState,
    req: LoginRequest,
    client: &ClientMeta,
) -> ApiResult<(HeaderValue, SessionView)> {
    limiter::check_sizes(&req.email, &req.password, "password")?;
    let email = req.email.trim().to_lowercase();
    let attempt = limiter::claim(state, &email, client).await?;
    let creds = state.store.credentials(&email).await?;
    let (user_id, hash) = match creds {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = state.passwords.verify(req.password, hash).await?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        let known = user_id.map(|id| (id, email.as_str()));
        state.store.record_failed_sign_in(known, client).await?;
        return Err(ApiError::BadCredentials);
    };
    attempt.succeeded(state).await?;
    let memberships = state.store.memberships(user_id).await?;
    let membership = match &req.org {
        Some(slug) => memberships.iter().find(|m| &m.org.slug == slug),
        None => memberships.first(),
    }
    .ok_or(ApiError::BadCredentials)?;

    let id = session_id();
    let lifetime = state.config.session_absolute_ms;
    state
        .store
        .open_signed_in_session(
            &hash_token(id.expose()),
            user_id,
            &email,
            membership.org.id,
            lifetime,
            client,
        )
        .await?;
    let user = state
        .store
        .auth_user(user_id, membership.org.id)
        .await?
        .ok_or(ApiError::BadCredentials)?;
    let cookie = session_cookie_header(state, id.expose(), lifetime / 1000)?;
    let view = SessionView {
        user: user.into(),
        csrf_token: Some(csrf_token_for(id.expose())),
        memberships: all(memberships),
    };
    Ok((cookie, view))
}

pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    parts: axum::http::request::Parts,
) -> ApiResult<impl IntoResponse> {
    // Authenticate first so a cross-site request without the CSRF token
    // cannot sign the user out.
    authenticate(&parts, &state).await?;
    if let Some(id) = session_cookie(&parts) {
        state
            .store
            .close_signed_in_session(&hash_token(&id), &client)
            .await?;
    }
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, session_cookie_header(&state, "", 0)?);
    Ok((StatusCode::NO_CONTENT, headers))
}

pub async fn current(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> ApiResult<Json<SessionView>> {
    let user = authenticate(&parts, &state).await?;
    let csrf_token = if user.token_id.is_none() {
        session_cookie(&parts).map(|id| csrf_token_for(&id))
    } else {
        None
    };
    let memberships = state.store.memberships(user.user_id).await?;
    Ok(Json(SessionView {
        user: user.into(),
        csrf_token,
        memberships: all(memberships),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    #[schemars(length(min = 10))]
    pub new_password: String,
}

/// Change one's own password; every session of the user ends.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller<Viewer>,
    Client(client): Client,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    change_own_password(&state, &caller, req, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn change_own_password(
    state: &AppState,
    user: &AuthUser,
    req: PasswordChange,
    client: &ClientMeta,
) -> ApiResult<()> {
    validate_new_password(&req.new_password)?;
    limiter::check_sizes(&user.email, &req.current_password, "current_password")?;
    // The same limiter as sign-in: a stolen session must not become an
    // unlimited oracle for the account's password.
    let attempt = limiter::claim(state, &user.email, client).await?;
    let (_, hash) = state
        .store
        .credentials(&user.email)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !state.passwords.verify(req.current_password, hash).await? {
        state
            .store
            .record_failed_password_change(user, client)
            .await?;
        return Err(ApiError::BadCredentials);
    }
    attempt.succeeded(state).await?;
    let new_hash = state.passwords.hash(req.new_password).await?;
    state
        .store
        .change_own_password(user, &new_hash, client)
        .await?;
    Ok(())
}

pub fn validate_new_password(password: &str) -> ApiResult<()> {
    let len = password.chars().count();
    if !(MIN_PASSWORD_LEN..=256).contains(&len) {
        return Err(storesync_domain::ValidationError::field(
            "new_password",
            format!("{MIN_PASSWORD_LEN}–256 characters"),
        )
        .into());
    }
    Ok(())
}
