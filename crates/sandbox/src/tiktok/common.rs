//! What every part of the TikTok Shop sandbox shares: its limits and
//! token lifetimes, error codes, a verified call, the answer and error
//! envelopes. The parts (`auth`, `orders`, `products`, `webhooks`) and
//! the router in `mod.rs` import from here, never from their parent, so
//! the module graph has no circle.

use crate::sandbox::Sandbox;
use crate::util;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

/// Access token lifetime: 7 days.
pub const ACCESS_TOKEN_SECS: i64 = 7 * 86_400;
/// Authorization code lifetime: 30 minutes, single use.
pub const CODE_SECS: i64 = 1_800;
/// A seller's authorization (and so the refresh token) lasts about a year in the docs' example.
pub const AUTHORIZATION_SECS: i64 = 365 * 86_400;
/// Accepted timestamps: at most 300 s old, at most 30 s ahead.
pub const TIMESTAMP_PAST_SECS: i64 = 300;
pub const TIMESTAMP_FUTURE_SECS: i64 = 30;
/// Order detail `ids` cap.
pub const MAX_IDS: usize = 50;
pub const MAX_PAGE_SIZE: i64 = 100;
/// Buyers cancel without the seller's approval during the first hour.
pub const FREE_CANCEL_MS: i64 = 3_600_000;
/// TikTok's published retry delays after a failed push, in seconds (+2 min, +30 min, +3 h,
/// +12 h, then dropped).
pub const RETRY_SCHEDULE_SECS: [u64; 4] = [120, 1_800, 10_800, 43_200];
/// Error codes used by this sandbox (see the fact sheet §2.5).
pub mod codes {
    pub const RATE_LIMITED: i64 = 36_009_002;
    pub const INTERNAL: i64 = 36_009_003;
    pub const REQUEST_INVALID: i64 = 36_009_004;
    /// The auth host's answer to an unknown, expired or used `auth_code`.
    pub const AUTH_CODE_INVALID: i64 = 36_004_004;
    pub const TIMEOUT: i64 = 36_009_007;
    pub const PATH_NOT_FOUND: i64 = 36_009_009;
    pub const METHOD_NOT_ALLOWED: i64 = 36_009_010;
    pub const BODY_NOT_JSON: i64 = 36_009_022;
    pub const TOKEN_EXPIRED: i64 = 105_002;
    pub const TOKEN_SHOP_MISMATCH: i64 = 101_000;
    pub const INVALID_SIGN: i64 = 106_001;
    pub const CIPHER_MISSING: i64 = 106_013;
    pub const STOCK_INVALID: i64 = 12_019_024;
    pub const PRODUCT_NOT_FOUND: i64 = 12_052_032;
    pub const PRICE_LOCKED_BY_PROMOTION: i64 = 12_052_038;
    pub const STOCK_BELOW_PROMOTION: i64 = 12_052_393;
}

/// The TikTok flavour of the shared core.
#[derive(Debug)]
pub(crate) struct TikTokProtocol;

/// A TikTok error answer.
#[derive(Debug, Clone)]
pub(crate) struct TtError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl TtError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        TtError {
            status: StatusCode::OK,
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(codes::REQUEST_INVALID, message)
    }

    /// A credentials failure (sign, access token): HTTP 401, as captures of the real gateway
    /// show for 106001 and as the docs tell clients to check before the body.
    pub fn unauthorized(code: i64, message: impl Into<String>) -> Self {
        TtError {
            status: StatusCode::UNAUTHORIZED,
            ..Self::new(code, message)
        }
    }
}

/// What a verified call knows about itself.
#[derive(Debug)]
pub(crate) struct Call {
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    /// The shop named by `shop_cipher` (0 on APIs without a cipher).
    pub shop_id: u64,
    /// Shops the access token may act for.
    pub token_shops: Vec<u64>,
    /// The `{…}` path parameter, if the route has one.
    pub param: String,
}

impl Call {
    pub fn q(&self, key: &str) -> Option<&str> {
        util::first(&self.query, key)
    }

    /// The JSON body; an empty body reads as `{}`.
    pub fn json(&self) -> Result<Value, TtError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body)
            .map_err(|_| TtError::new(codes::BODY_NOT_JSON, "The request body must be JSON."))
    }

    /// The spec marks `page_size` required on the search APIs: no default.
    pub fn page_size(&self) -> Result<usize, TtError> {
        match self.q("page_size") {
            None | Some("") => Err(TtError::invalid(
                "Invalid page_size. The `page_size` query parameter is required.",
            )),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n as usize),
                _ => Err(TtError::invalid(
                    "Invalid page_size. It must be between 1 and 100.",
                )),
            },
        }
    }

    pub fn page_offset(&self) -> Result<usize, TtError> {
        match self.q("page_token") {
            None | Some("") => Ok(0),
            Some(t) => decode_page_token(t).ok_or_else(|| TtError::invalid("Invalid page_token.")),
        }
    }
}

/// Page tokens are opaque to callers; here they encode an offset.
pub(crate) fn encode_page_token(offset: usize) -> String {
    hex::encode(format!("offset:{offset}"))
}

pub(crate) fn decode_page_token(t: &str) -> Option<usize> {
    let raw = String::from_utf8(hex::decode(t).ok()?).ok()?;
    raw.strip_prefix("offset:")?.parse().ok()
}

/// The `data` of a successful answer: a JSON value, or JSON already serialized (hot paths).
#[derive(Debug)]
pub(crate) enum Data {
    Json(Value),
    Raw(String),
}

impl From<Value> for Data {
    fn from(v: Value) -> Self {
        Data::Json(v)
    }
}

/// Whether an API takes `shop_cipher` (shop-scoped) or must not get one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    NoCipher,
    Cipher,
}

pub(crate) fn request_id(sb: &Sandbox) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(sb.clock().now_secs())
        .map(|t| {
            format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default();
    format!("{t}{:018X}", sb.next_request_seq())
}

pub(crate) fn error_response(rid: &str, e: &TtError) -> Response {
    util::json(
        e.status,
        &json!({"code": e.code, "message": e.message, "request_id": rid, "data": e.data}),
    )
}

/// TikTok ids travel as strings.
pub(crate) fn sid(id: u64) -> String {
    id.to_string()
}

pub(crate) fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}
