//! What every part of the Lazada sandbox shares: its limits, token
//! lifetimes and messages, a verified call, the error envelope, token
//! minting and time parsing. The parts (`auth`, `orders`, `products`,
//! `push`) and the router in `mod.rs` import from here, never from their
//! parent, so the module graph has no circle.

use crate::model::{Stage, World};
use crate::sandbox::Sandbox;
use crate::util;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::time::Duration;

/// Access token lifetime of an app in "Test" status: 7 days.
pub const ACCESS_TOKEN_SECS: i64 = 7 * 86_400;
/// Refresh token lifetime (and so the authorization) of a Test app: 30 days.
pub const REFRESH_TOKEN_SECS: i64 = 30 * 86_400;
/// Authorization code lifetime: 30 minutes, single use.
pub const CODE_SECS: i64 = 1_800;
/// Accepted clock difference of `timestamp`, either way.
pub const TIMESTAMP_WINDOW_SECS: i64 = 7_200;
/// SKUs per stock/price payload (E204 above).
pub const MAX_SKUS: usize = 50;
/// Orders per `/orders/items/get` (E038 above).
pub const MAX_ORDER_IDS: usize = 50;
/// Orders per pack / ready-to-ship request.
pub const MAX_PACK: usize = 20;
pub const MAX_ORDER_LIMIT: i64 = 100;
pub const MAX_PRODUCT_LIMIT: i64 = 50;
pub const MAX_PRODUCT_OFFSET: i64 = 10_000;
/// Sellable stock below which a shallow-stock alert (message type 6) is pushed.
pub const SHALLOW_STOCK: i64 = 5;
/// A push must be answered with HTTP 200 within this time.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(500);
/// Retries of an unacknowledged push: every 30 minutes, 12 times.
pub const PUSH_RETRY_SECS: [u64; 12] = [1_800; 12];
/// The exact messages of the fact sheet's error table, and the ones this sandbox chose where the
/// fact sheet has no exact text (marked).
pub mod msg {
    pub const INCOMPLETE_SIGNATURE: &str =
        "The request signature does not conform to platform standards";
    pub const ILLEGAL_ACCESS_TOKEN: &str = "The specified access token is invalid or expired";
    pub const ILLEGAL_REFRESH_TOKEN: &str = "The specified refresh token is invalid or expired";
    pub const INVALID_CODE: &str = "Invalid authorization code";
    /// `ApiCallLimit`, naming the ban as the fact sheet's example does ("… 1 seconds.").
    pub fn api_call_limit(ban_secs: u32) -> String {
        format!("Api access frequency exceeds the limit. this ban will last {ban_secs} seconds.")
    }
    /// Sandbox wording (the exact string is UNCONFIRMED).
    pub const INVALID_TIMESTAMP: &str =
        "Invalid timestamp: it must be within 7200 seconds of the server time";
    /// Sandbox wording (the exact string is UNCONFIRMED).
    pub const INVALID_API_PATH: &str = "The specified API path is invalid";
}

/// The Lazada flavour of the shared core.
#[derive(Debug)]
pub(crate) struct LazadaProtocol;

/// Lazada's order-item status for a stage.
pub(crate) fn item_status(stage: Stage) -> &'static str {
    match stage {
        Stage::Unpaid => "unpaid",
        Stage::ReadyToShip | Stage::InCancel => "pending",
        Stage::Packed => "packed",
        Stage::Arranged => "ready_to_ship",
        Stage::Shipped => "shipped",
        // Lazada has no separate completion status on order items.
        Stage::Delivered | Stage::Completed => "delivered",
        Stage::Cancelled => "canceled",
    }
}

/// A fresh access token in Lazada's style.
pub(crate) fn new_access_token(w: &mut World) -> String {
    format!("50000{}", w.random_hex(24))
}

/// A fresh refresh token in Lazada's style.
pub(crate) fn new_refresh_token(w: &mut World) -> String {
    format!("50001{}", w.random_hex(24))
}

/// A Lazada error answer: `{type, code, message, request_id}` (plus `detail` for writes).
#[derive(Debug, Clone)]
pub(crate) struct LzError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: String,
    pub message: String,
    pub detail: Option<Value>,
}

impl LzError {
    pub fn isv(code: &str, message: impl Into<String>) -> Self {
        LzError {
            status: StatusCode::OK,
            kind: "ISV",
            code: code.to_owned(),
            message: message.into(),
            detail: None,
        }
    }

    pub fn missing(param: &str) -> Self {
        Self::isv(
            "MissingParameter",
            format!("The input parameter \u{201c}{param}\u{201d} that is mandatory for processing this request is not supplied"),
        )
    }

    pub fn invalid(param: &str) -> Self {
        Self::isv(
            "InvalidParameter",
            format!("The specified parameter \u{201c}{param}\u{201d} is invalid"),
        )
    }
}

/// What a verified call knows about itself.
#[derive(Debug)]
pub(crate) struct Call {
    /// Query and form-body parameters merged (query first).
    pub params: Vec<(String, String)>,
    /// The seller the token acts for (0 on token endpoints).
    pub shop_id: u64,
}

impl Call {
    pub fn p(&self, key: &str) -> Option<&str> {
        util::first(&self.params, key).filter(|v| !v.is_empty())
    }

    pub fn required(&self, key: &str) -> Result<&str, LzError> {
        self.p(key).ok_or_else(|| LzError::missing(key))
    }
}

/// Whether an API needs the seller's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    NoToken,
    Token,
}

/// A request id in Lazada's style (25 hex-like characters).
pub(crate) fn request_id(sb: &Sandbox) -> String {
    format!(
        "0b{:011x}{:012x}",
        sb.clock().now_secs(),
        sb.next_request_seq()
    )
}

pub(crate) fn error_response(rid: &str, e: &LzError) -> Response {
    let mut body = json!({"type": e.kind, "code": e.code, "message": e.message, "request_id": rid});
    if let Some(d) = &e.detail {
        body["detail"] = d.clone();
    }
    util::json(e.status, &body)
}

/// Parses a `timestamp` parameter: epoch milliseconds or ISO 8601.
pub(crate) fn parse_timestamp(t: &str) -> Option<i64> {
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    parse_iso_ms(t)
}

/// Parses an ISO 8601 / RFC 3339 time (`2024-01-01T00:00:00+08:00`, `…Z`) to epoch ms.
pub(crate) fn parse_iso_ms(t: &str) -> Option<i64> {
    let dt = time::OffsetDateTime::parse(t.trim(), &time::format_description::well_known::Rfc3339)
        .or_else(|_| {
            time::OffsetDateTime::parse(
                t.trim(),
                &time::format_description::well_known::Iso8601::DEFAULT,
            )
        })
        .ok()?;
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}
