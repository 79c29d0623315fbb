//! API errors. The HTTP status of every error is decided here, in one table
//! ([`ApiError::status`]); handlers only return `ApiError` values. Internal
//! details are logged, never sent to the caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use storesync_domain::ValidationError;
use storesync_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("authentication required")]
    Unauthenticated,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("the webhook signature does not verify")]
    WebhookSignature,
    #[error("the push's own timestamp is outside this marketplace's replay window")]
    StaleWebhook,
    #[error("your role ({have}) may not do this; it needs {need} or higher")]
    Forbidden {
        have: &'static str,
        need: &'static str,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("too many attempts; try again later")]
    TooManyRequests,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("internal error")]
    Internal(String),
    /// An answer made outside our handlers (the router's 405, a body limit
    /// hit before a handler ran), turned into our format by
    /// [`crate::json_errors`].
    #[error("{}", .0.canonical_reason().unwrap_or("the request failed"))]
    Http(StatusCode),
}

impl ApiError {
    /// The error-code table: (code, HTTP status) for every error.
    fn code_and_status(&self) -> (&'static str, StatusCode) {
        use StatusCode as S;
        match self {
            ApiError::MalformedJson(_) => ("malformed_json", S::BAD_REQUEST),
            ApiError::InvalidBody(_) => ("invalid_body", S::UNPROCESSABLE_ENTITY),
            ApiError::InvalidQuery(_) => ("invalid_query", S::BAD_REQUEST),
            ApiError::UnsupportedMediaType => ("unsupported_media_type", S::UNSUPPORTED_MEDIA_TYPE),
            ApiError::PayloadTooLarge => ("payload_too_large", S::PAYLOAD_TOO_LARGE),
            ApiError::Unauthenticated => ("unauthenticated", S::UNAUTHORIZED),
            ApiError::BadCredentials => ("bad_credentials", S::UNAUTHORIZED),
            ApiError::Csrf => ("csrf", S::FORBIDDEN),
            ApiError::WebhookSignature => ("bad_signature", S::UNAUTHORIZED),
            ApiError::StaleWebhook => ("stale_webhook", S::UNPROCESSABLE_ENTITY),
            ApiError::Forbidden { .. } => ("forbidden", S::FORBIDDEN),
            ApiError::NotFound(_) => ("not_found", S::NOT_FOUND),
            ApiError::TooManyRequests => ("too_many_requests", S::TOO_MANY_REQUESTS),
            ApiError::Validation(_) => ("validation_failed", S::UNPROCESSABLE_ENTITY),
            ApiError::Internal(_) => ("internal", S::INTERNAL_SERVER_ERROR),
            ApiError::Http(s) => {
                let code = match s.as_u16() {
                    400 => "bad_request",
                    404 => "not_found",
                    405 => "method_not_allowed",
                    408 => "request_timeout",
                    413 => "payload_too_large",
                    415 => "unsupported_media_type",
                    422 => "invalid_body",
                    429 => "too_many_requests",
                    500..=599 => "internal",
                    _ => "request_failed",
                };
                (code, *s)
            }
            ApiError::Store(e) => match e {
                StoreError::NotFound(_) => ("not_found", S::NOT_FOUND),
                StoreError::Forbidden(_) => ("forbidden", S::FORBIDDEN),
                StoreError::Conflict { code, .. } => (code, S::CONFLICT),
                StoreError::Validation(_) => ("validation_failed", S::UNPROCESSABLE_ENTITY),
                StoreError::InsufficientStock(_) => ("insufficient_stock", S::CONFLICT),
                StoreError::IllegalTransition(_) => ("illegal_transition", S::CONFLICT),
                StoreError::IdempotencyMismatch => ("idempotency_key_reused", S::CONFLICT),
                StoreError::Corrupt(_) | StoreError::Database(_) | StoreError::Migrate(_) => {
                    ("internal", S::INTERNAL_SERVER_ERROR)
                }
            },
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::Validation(v) | ApiError::Store(StoreError::Validation(v)) => {
                Some(json!({ "fields": v.0 }))
            }
            ApiError::Store(StoreError::InsufficientStock(s)) => Some(json!({ "shortages": s })),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code_and_status().1
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let message = if status.is_server_error() {
            // The cause goes to the log, not to the caller.
            tracing::error!(error = %self, detail = ?self, "request failed");
            "internal error; the server log has the details".to_owned()
        } else {
            self.to_string()
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(details) = self.details() {
            error["details"] = details;
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if matches!(self, ApiError::Unauthenticated) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
