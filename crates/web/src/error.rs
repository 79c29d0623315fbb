//! API errors. The HTTP status of every error is decided here, in one table
//! ([`ApiError::status`]); handlers only return `ApiError` values. Internal
//! details are logged, never sent to the caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use storesync_channels::ChannelError;
use storesync_domain::ValidationError;
use storesync_engine::connect::ConnectError;
use storesync_store::StoreError;

use crate::api::wire::{ErrorBody, ErrorDetail};

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
    #[error("rate limit of {limit} requests a minute reached for the {group} API; retry after {retry_after_secs} s")]
    RateLimited {
        group: &'static str,
        limit: i64,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A shop connect flow failed (its store errors arrive as
    /// [`ApiError::Store`], see the `From` below).
    #[error(transparent)]
    Connect(ConnectError),
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
            ApiError::RateLimited { .. } => ("rate_limited", S::TOO_MANY_REQUESTS),
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
            ApiError::Store(e) => store_code_and_status(e),
            ApiError::Connect(e) => match e {
                ConnectError::UnknownMarketplace(_) => ("not_found", S::NOT_FOUND),
                ConnectError::BadState => ("connect_state_invalid", S::BAD_REQUEST),
                ConnectError::OtherBrowser => ("connect_other_browser", S::BAD_REQUEST),
                // Values our own configuration gave the client, not an
                // answer of the marketplace.
                ConnectError::Marketplace(ChannelError::Config { .. }) => {
                    ("internal", S::INTERNAL_SERVER_ERROR)
                }
                ConnectError::Marketplace(_) => ("marketplace_refused", S::BAD_GATEWAY),
                ConnectError::Store(e) => store_code_and_status(e),
            },
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::Validation(v) | ApiError::Store(StoreError::Validation(v)) => {
                Some(json!({ "fields": v.0 }))
            }
            ApiError::Store(StoreError::InsufficientStock(s)) => Some(json!({ "shortages": s })),
            ApiError::RateLimited {
                group,
                limit,
                retry_after_secs,
            } => Some(
                json!({ "group": group, "limit_per_minute": limit, "retry_after_secs": retry_after_secs }),
            ),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code_and_status().1
    }

    /// Code, status and the message the caller may see. Internal errors
    /// are logged here and answered with a generic message; every other
    /// message is written for the caller (a marketplace's refusal
    /// included: channel errors never carry secrets).
    pub fn answer(&self) -> (&'static str, StatusCode, String) {
        let (code, status) = self.code_and_status();
        let message = if code == "internal" {
            // The cause goes to the log, not to the caller.
            tracing::error!(error = %self, detail = ?self, "request failed");
            "internal error; the server log has the details".to_owned()
        } else {
            if status.is_server_error() {
                tracing::warn!(error = %self, "request failed upstream");
            }
            self.to_string()
        };
        (code, status, message)
    }
}

/// The store's rows of the table.
fn store_code_and_status(e: &StoreError) -> (&'static str, StatusCode) {
    use StatusCode as S;
    match e {
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
    }
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        match e {
            // One row per store error, whoever returned it.
            ConnectError::Store(e) => ApiError::Store(e),
            other => ApiError::Connect(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status, message) = self.answer();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.to_string(),
                details: self.details(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self, ApiError::Unauthenticated) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The connect flow's errors answer the same wherever they surface
    /// (the API's connect start, the OAuth callback page, the dashboard).
    #[test]
    fn connect_errors_are_rows_of_the_table() {
        let refused = || ChannelError::Invalid {
            code: "error_auth".into(),
            message: "invalid code".into(),
        };
        let cases = [
            (ConnectError::BadState, "connect_state_invalid", 400),
            (ConnectError::OtherBrowser, "connect_other_browser", 400),
            (
                ConnectError::UnknownMarketplace("nowhere".into()),
                "not_found",
                404,
            ),
            (
                ConnectError::Marketplace(refused()),
                "marketplace_refused",
                502,
            ),
            (
                ConnectError::Marketplace(ChannelError::Config {
                    message: "redirect URL".into(),
                }),
                "internal",
                500,
            ),
            (
                ConnectError::Store(StoreError::conflict("shop_connected_elsewhere", "taken")),
                "shop_connected_elsewhere",
                409,
            ),
        ];
        for (error, code, status) in cases {
            let shown = error.to_string();
            let (c, s, _) = ApiError::from(error).answer();
            assert_eq!((c, s.as_u16()), (code, status), "{shown}");
        }
        let (_, _, message) = ApiError::from(ConnectError::Marketplace(refused())).answer();
        assert!(
            message.contains("did not complete the authorization")
                && message.contains("invalid code"),
            "the refusal's reason is shown: {message}"
        );
        let (_, _, message) = ApiError::from(ConnectError::BadState).answer();
        assert!(message.contains("start connecting again"), "{message}");
    }
}
