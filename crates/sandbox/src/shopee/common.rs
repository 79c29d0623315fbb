//! What every part of the Shopee sandbox shares: its limits and token
//! lifetimes, a verified call, the answer and error envelopes. The parts
//! (`auth`, `orders`, `products`, `push`) and the router in `mod.rs`
//! import from here, never from each other's parent, so the module graph
//! has no circle.

use crate::util;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Access token lifetime: 4 hours (`expire_in` 14400).
pub const ACCESS_TOKEN_SECS: i64 = 4 * 3600;
/// Refresh token lifetime: 30 days, single use.
pub const REFRESH_TOKEN_SECS: i64 = 30 * 86_400;
/// Authorization code lifetime: 10 minutes, single use.
pub const CODE_SECS: i64 = 600;
/// A seller's authorization lasts 365 days.
pub const AUTHORIZATION_SECS: i64 = 365 * 86_400;
/// The old access token keeps working this long after a refresh.
pub const OLD_TOKEN_GRACE_SECS: i64 = 300;
/// Accepted distance between the request timestamp and the sandbox clock.
pub const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// `get_order_list` / returns time windows.
pub const MAX_WINDOW_SECS: i64 = 15 * 86_400;
/// Batch caps: models per stock/price update, order_sn per detail call, items per base info call.
pub const MAX_BATCH: usize = 50;
/// Largest page size of list calls.
pub const MAX_PAGE_SIZE: i64 = 100;
/// The Shopee flavour of the shared core.
#[derive(Debug)]
pub(crate) struct ShopeeProtocol;

/// A Shopee error answer: `error` string, `message`, HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct ShopeeError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    /// Some errors still carry a `response` (batch writes with a `failure_list`).
    pub response: Option<Value>,
}

impl ShopeeError {
    /// Business errors are answered with HTTP 200 and the error in the body (see the fact
    /// sheet: the HTTP status of Shopee errors is not documented, and 200 keeps every SDK happy).
    pub fn new(error: &'static str, message: impl Into<String>) -> Self {
        ShopeeError {
            status: StatusCode::OK,
            error,
            message: message.into(),
            response: None,
        }
    }

    pub fn param(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "error_param",
            format!("Wrong parameters, detail: {detail}."),
        )
    }
}

/// What a handler returns on success.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Data under `response`, with an optional `warning`.
    Wrapped(Value, String),
    /// Envelope without `response` (e.g. `ship_order`).
    Bare,
    /// Fields at top level (token APIs, `get_shop_info`).
    TopLevel(Map<String, Value>),
}

/// What a verified call knows about itself.
#[derive(Debug)]
pub(crate) struct Call {
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    /// The shop of a Shop API call (0 for Public APIs).
    pub shop_id: u64,
    pub partner_id: i64,
}

impl Call {
    pub fn q(&self, key: &str) -> Option<&str> {
        util::first(&self.query, key)
    }

    pub fn q_i64(&self, key: &str) -> Result<Option<i64>, ShopeeError> {
        match self.q(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ShopeeError::param(format!("{key} should be an integer"))),
        }
    }

    pub fn json(&self) -> Result<Value, ShopeeError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| ShopeeError::param(format!("request body is not valid JSON: {e}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    Public,
    Shop,
}

pub(crate) fn error_response(request_id: &str, e: &ShopeeError) -> Response {
    let mut body = json!({
        "request_id": request_id,
        "error": e.error,
        "message": e.message,
    });
    if let (Some(r), Some(obj)) = (&e.response, body.as_object_mut()) {
        obj.insert("response".to_owned(), r.clone());
    }
    util::json(e.status, &body)
}

/// Shopee writes money as a JSON float.
pub(crate) fn money(cents: i64) -> Value {
    json!((cents as f64) / 100.0)
}

pub(crate) fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}
