//! Sign-in, sign-out and the current session.
//!
//! Passwords are checked with argon2id on the blocking pool behind a
//! semaphore, so a burst of logins cannot exhaust memory or starve the async
//! workers. Failed sign-ins are rate-limited per email. Every sign-in issues a
//! fresh session id (never reusing one the client brought), stored only as a
//! hash; the CSRF token is derived from the secret id, so it needs no storage.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use storesync_crypto::{dummy_verify, hash_password, hash_token, session_id, verify_password};
use storesync_domain::Timestamp;
use storesync_store::{AuthUser, Membership};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};
use crate::extract::{authenticate, session_cookie, ApiJson, Caller, Viewer};
use crate::AppState;

pub const SESSION_COOKIE: &str = "storesync_session";

/// Failed sign-ins allowed per email within [`LOCKOUT_WINDOW_MS`].
const MAX_FAILURES: u32 = 10;
const LOCKOUT_WINDOW_MS: i64 = 15 * 60 * 1000;
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

/// Counts recent failed sign-ins per email.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl LoginLimiter {
    pub(crate) fn blocked(&self, email: &str, now: Timestamp) -> bool {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(email).is_some_and(|(n, since)| {
            *n >= MAX_FAILURES && now.millis() - since < LOCKOUT_WINDOW_MS
        })
    }

    pub(crate) fn failed(&self, email: &str, now: Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget stale entries so the map cannot grow without bound.
        map.retain(|_, (_, since)| now.millis() - *since < LOCKOUT_WINDOW_MS);
        let entry = map.entry(email.to_owned()).or_insert((0, now.millis()));
        entry.0 += 1;
    }

    pub(crate) fn succeeded(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(email);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Slug of the organization to work in; the first membership otherwise.
    #[serde(default)]
    pub org: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub user: AuthUser,
    pub csrf_token: Option<String>,
    pub memberships: Vec<Membership>,
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
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let (cookie, view) = sign_in(&state, req).await?;
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, cookie);
    Ok((StatusCode::OK, headers, Json(view)))
}

/// Check the password (rate-limited per email, generic error) and open a
/// fresh session: its cookie and what the client may show.
pub(crate) async fn sign_in(
    state: &AppState,
    req: LoginRequest,
) -> ApiResult<(HeaderValue, SessionView)> {
    let email = req.email.trim().to_lowercase();
    let now = state.store.now();
    if state.login_limiter.blocked(&email, now) {
        return Err(ApiError::TooManyRequests);
    }
    let creds = state.store.credentials(&email).await?;
    let (user_id, hash) = match creds {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = state.passwords.verify(req.password, hash).await?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        state.login_limiter.failed(&email, now);
        return Err(ApiError::BadCredentials);
    };
    let memberships = state.store.memberships(user_id).await?;
    let membership = match &req.org {
        Some(slug) => memberships.iter().find(|m| &m.org.slug == slug),
        None => memberships.first(),
    }
    .ok_or(ApiError::BadCredentials)?;
    state.login_limiter.succeeded(&email);

    let id = session_id();
    let lifetime = state.config.session_absolute_ms;
    state
        .store
        .create_session(
            &hash_token(id.expose()),
            user_id,
            membership.org.id,
            lifetime,
        )
        .await?;
    let user = state
        .store
        .auth_user(user_id, membership.org.id)
        .await?
        .ok_or(ApiError::BadCredentials)?;
    let cookie = session_cookie_header(state, id.expose(), lifetime / 1000)?;
    let view = SessionView {
        user,
        csrf_token: Some(csrf_token_for(id.expose())),
        memberships,
    };
    Ok((cookie, view))
}

pub async fn logout(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> ApiResult<impl IntoResponse> {
    // Authenticate first so a cross-site request without the CSRF token
    // cannot sign the user out.
    authenticate(&parts, &state).await?;
    if let Some(id) = session_cookie(&parts) {
        state.store.delete_session(&hash_token(&id)).await?;
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
        user,
        csrf_token,
        memberships,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password; every session of the user ends.
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller<Viewer>,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    change_own_password(&state, &caller, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn change_own_password(
    state: &AppState,
    user: &AuthUser,
    req: PasswordChange,
) -> ApiResult<()> {
    validate_new_password(&req.new_password)?;
    let (_, hash) = state
        .store
        .credentials(&user.email)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !state.passwords.verify(req.current_password, hash).await? {
        return Err(ApiError::BadCredentials);
    }
    let new_hash = state.passwords.hash(req.new_password).await?;
    state.store.set_password(user.user_id, &new_hash).await?;
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
