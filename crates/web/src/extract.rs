//! Request extractors: strict JSON bodies and queries that fail with the
//! API's error format, and the authenticated caller with the role a handler
//! requires, visible in the handler's signature.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use storesync_crypto::{constant_time_eq, hash_token};
use storesync_domain::Role;
use storesync_store::AuthUser;

use crate::error::ApiError;
use crate::session::{csrf_token_for, SESSION_COOKIE};
use crate::AppState;

/// A JSON object body; unknown fields are refused by the target types
/// (`deny_unknown_fields`), malformed JSON is a 400, a wrong shape a 422.
/// Every body of the API is an object, and every object type in it is read
/// only from a JSON object ([`crate::strict_json`]): serde would otherwise
/// fill a struct's fields from an array's elements in order
/// (`[7,0,null,true]` as shop settings).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| match r.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                _ => ApiError::MalformedJson(r.body_text()),
            })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        crate::strict_json::from_value(value)
            .map(ApiJson)
            .map_err(ApiError::InvalidBody)
    }
}

/// `Content-Type: application/json` or another JSON type (`…+json`), as
/// axum's own extractor accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json") || sub.to_ascii_lowercase().ends_with("+json"))
}

/// Query parameters, refused with a 400 in the API's error format.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::InvalidQuery(e.body_text()))
    }
}

/// The minimum role a handler requires.
pub trait MinRole: Send + Sync + 'static {
    const ROLE: Role;
}

#[derive(Debug)]
pub struct Viewer;
#[derive(Debug)]
pub struct Member;
#[derive(Debug)]
pub struct Admin;

impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Member {
    const ROLE: Role = Role::Member;
}
impl MinRole for Admin {
    const ROLE: Role = Role::Admin;
}

/// The caller, authenticated by `Authorization: Bearer <token>` or by the
/// session cookie, holding at least role `R` in their current organization.
/// Session-authenticated requests that change state must also carry the
/// session's CSRF token in `X-CSRF-Token`.
#[derive(Debug)]
pub struct Caller<R: MinRole> {
    pub user: AuthUser,
    role: PhantomData<R>,
}

impl<R: MinRole> std::ops::Deref for Caller<R> {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl<R: MinRole> FromRequestParts<AppState> for Caller<R> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = authenticate(parts, state).await?;
        if !user.role.allows(R::ROLE) {
            return Err(ApiError::Forbidden {
                have: user.role.as_str(),
                need: R::ROLE.as_str(),
            });
        }
        Ok(Caller {
            user,
            role: PhantomData,
        })
    }
}

/// Resolve the caller from a bearer token or the session cookie.
pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<AuthUser, ApiError> {
    if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated)?;
        return state
            .store
            .api_token_user(&hash_token(token))
            .await?
            .ok_or(ApiError::Unauthenticated);
    }
    let session_id = session_cookie(parts).ok_or(ApiError::Unauthenticated)?;
    let session = state
        .store
        .session(&hash_token(&session_id), state.config.session_idle_ms)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected = csrf_token_for(&session_id);
        if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::Csrf);
        }
    }
    Ok(session.user)
}

/// A hash of the caller's credential — its bearer token or its session
/// cookie — whether or not it is valid, to count its requests by.
pub(crate) fn credential(parts: &Parts) -> Option<String> {
    let raw = match parts.headers.get(axum::http::header::AUTHORIZATION) {
        Some(auth) => auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned()),
        None => session_cookie(parts),
    }?;
    Some(hash_token(&raw))
}

/// The session id from the `Cookie` header, if any.
pub(crate) fn session_cookie(parts: &Parts) -> Option<String> {
    cookie(parts, SESSION_COOKIE)
}

/// The value of cookie `name` from the `Cookie` headers, if any.
pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
