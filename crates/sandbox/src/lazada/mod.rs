//! The Lazada Open Platform (LazOP) sandbox: `/rest/<api>` with Lazada's signing over the API
//! name and sorted parameters (read from the query *and* a form-urlencoded body), millisecond
//! timestamps within ±7200 s, `{code:"0", data}` / `{type, code, message}` envelopes, the auth
//! endpoints with rotating refresh tokens, products with sellable / occupied stock, orders with
//! one item per unit and Lazada's item statuses, pack (some items per package, several packages
//! per order) and ready-to-ship per package, cancellation of some or all items, the consent
//! page and signed pushes (200 within 500 ms, else retried every 30 min, 12 times).

mod auth;
mod bench;
mod orders;
mod products;
mod push;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use rand::rngs::StdRng;
use serde_json::{json, Value};
use storesync_domain::Timestamp;

use crate::config::{Credentials, Marketplace};
use crate::control;
use crate::error::SandboxError;
use crate::faults::{Injected, RateLimit};
use crate::model::{BuyerCancel, Event, IdKind, Rules, Stage, World};
use crate::protocol::{BenchOp, BenchTarget, IssuedTokens, Protocol};
use crate::sandbox::Sandbox;
use crate::util;
use crate::webhook::Outgoing;

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

impl Rules for LazadaProtocol {
    fn status_name(&self, stage: Stage) -> &'static str {
        item_status(stage)
    }

    fn id(&self, kind: IdKind, seq: u64) -> u64 {
        match kind {
            IdKind::Shop => 100_072_000 + seq,
            IdKind::Product => 2_326_110_000 + seq,
            IdKind::Variant => 3_568_050_000 + seq,
            // Order item ids are `line_id * 1000 + unit` (see `orders::item_id`).
            IdKind::Line => 2_604_229_000 + seq,
            IdKind::Package => 67_000_000 + seq,
            IdKind::User => 10_100 + seq,
        }
    }

    fn id_string(&self, kind: IdKind, seq: u64) -> String {
        match kind {
            IdKind::Package => format!("FP{}", self.id(kind, seq)),
            _ => self.id(kind, seq).to_string(),
        }
    }

    fn order_id(&self, seq: u64, _now: Timestamp) -> String {
        (260_422_900_000_000u64 + seq).to_string()
    }

    fn tracking_number(&self, seq: u64) -> String {
        format!("LXAD{seq:09}")
    }

    fn carrier(&self) -> &'static str {
        "LEX"
    }

    fn default_warehouse(&self, region: &str, _seq: u64) -> String {
        format!("dropshipping_{}", region.to_ascii_lowercase())
    }

    fn cipher(&self, _region: &str, _rng: &mut StdRng) -> String {
        // Lazada selects the seller by token and host; there is no shop cipher.
        String::new()
    }

    fn format_price(&self, cents: i64, currency: &str) -> String {
        util::cents_to_decimal(cents, currency)
    }

    fn buyer_cancel(&self, stage: Stage, _age_ms: i64) -> BuyerCancel {
        match stage {
            Stage::Unpaid | Stage::ReadyToShip | Stage::Packed => BuyerCancel::Cancel,
            _ => BuyerCancel::Refuse,
        }
    }

    fn expiry_warning(&self) -> (i64, bool) {
        // Message type 8 (authorization token expiration alert): from 7 days before, daily.
        (7 * 86_400_000, true)
    }
}

impl Protocol for LazadaProtocol {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Lazada
    }

    fn rules(&self) -> &dyn Rules {
        self
    }

    fn code_lifetime_ms(&self) -> i64 {
        CODE_SECS * 1000
    }

    fn push_retry_secs(&self) -> &'static [u64] {
        &PUSH_RETRY_SECS
    }

    fn authorization_lifetime_ms(&self) -> i64 {
        REFRESH_TOKEN_SECS * 1000
    }

    fn approved_redirect(
        &self,
        redirect: &str,
        code: &str,
        _shop_id: u64,
        state: Option<&str>,
    ) -> String {
        match state.filter(|s| !s.is_empty()) {
            Some(s) => util::with_query(redirect, &[("code", code), ("state", s)]),
            None => util::with_query(redirect, &[("code", code)]),
        }
    }

    fn render_push(
        &self,
        world: &World,
        credentials: &Credentials,
        event: &Event,
        now: Timestamp,
        _seq: u64,
    ) -> Vec<Outgoing> {
        push::render(world, credentials, event, now)
    }

    fn ack_timeout(&self) -> Duration {
        ACK_TIMEOUT
    }

    fn acknowledges(&self, status: u16) -> bool {
        status == 200
    }

    fn consent_redirect(
        &self,
        requested: Option<&str>,
        registered: Option<&str>,
    ) -> Option<String> {
        // The consent link's redirect wins; the app's registered callback is the fallback.
        requested.or(registered).map(str::to_owned)
    }

    fn issue_tokens(
        &self,
        world: &mut World,
        shop_id: u64,
        _now: Timestamp,
    ) -> Result<IssuedTokens, SandboxError> {
        let access = new_access_token(world);
        let refresh = new_refresh_token(world);
        // The refresh token lives as long as the seller's authorization.
        Ok(IssuedTokens {
            access,
            refresh,
            access_ms: ACCESS_TOKEN_SECS * 1000,
            refresh_expires_ms: world.shop(shop_id)?.auth_expire_ms,
        })
    }

    fn rate_limit(&self) -> RateLimit {
        // Per-API limits, the docs' example being 30 QPS, answered `ApiCallLimit` with a ban
        // ("this ban will last 1 seconds").
        RateLimit {
            calls: 30,
            window_secs: 1,
            ban_secs: 1,
        }
    }

    fn bench_request(
        &self,
        client: &reqwest::Client,
        target: &BenchTarget,
        op: BenchOp,
        n: u64,
    ) -> reqwest::RequestBuilder {
        bench::request(client, target, op, n)
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

/// The router of a Lazada sandbox: consent page, `/rest/...` (API and auth endpoints on one
/// port) and the control API.
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/oauth/authorize", get(auth::consent_page))
        .route("/__sandbox/consent/lazada", post(auth::consent_decision))
        .merge(control::router())
        .fallback(api)
        .with_state(sandbox)
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

type Handler = fn(&Sandbox, &Call) -> Result<Value, LzError>;

/// Whether an API needs the seller's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    NoToken,
    Token,
}

struct Endpoint {
    methods: &'static [Method],
    api: &'static str,
    key: &'static str,
    auth: Auth,
    /// Where the answer goes in the envelope.
    wrap: Wrap,
    handler: Handler,
}

const GET: &[Method] = &[Method::GET, Method::POST];
const POST: &[Method] = &[Method::POST];

/// Where a successful answer is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    /// `{code:"0", data, request_id}`.
    Data,
    /// Token endpoints: the fields at the top level next to `code`.
    Top,
    /// Fulfilment writes: `{code:"0", result:{success, error_code, error_msg, data}}`.
    Result,
}

macro_rules! ep {
    ($methods:ident, $api:literal, $auth:ident, $wrap:ident, $h:path) => {
        Endpoint {
            methods: $methods,
            api: $api,
            key: concat!(stringify!($methods), " ", $api),
            auth: Auth::$auth,
            wrap: Wrap::$wrap,
            handler: $h,
        }
    };
}

/// The API surface. GET APIs also take POST (the Python SDK posts everything).
static ENDPOINTS: &[Endpoint] = &[
    ep!(GET, "/auth/token/create", NoToken, Top, auth::token_create),
    ep!(
        GET,
        "/auth/token/refresh",
        NoToken,
        Top,
        auth::token_refresh
    ),
    ep!(GET, "/seller/get", Token, Data, auth::seller_get),
    ep!(GET, "/products/get", Token, Data, products::get_products),
    ep!(GET, "/product/item/get", Token, Data, products::get_item),
    ep!(
        POST,
        "/product/price_quantity/update",
        Token,
        Data,
        products::update_price_quantity
    ),
    ep!(
        POST,
        "/product/stock/sellable/update",
        Token,
        Data,
        products::update_sellable
    ),
    ep!(GET, "/orders/get", Token, Data, orders::get_orders),
    ep!(GET, "/order/get", Token, Data, orders::get_order),
    ep!(
        GET,
        "/order/items/get",
        Token,
        Data,
        orders::get_order_items
    ),
    ep!(
        GET,
        "/orders/items/get",
        Token,
        Data,
        orders::get_multiple_order_items
    ),
    ep!(POST, "/order/fulfill/pack", Token, Result, orders::pack),
    ep!(
        POST,
        "/order/package/rts",
        Token,
        Result,
        orders::ready_to_ship
    ),
    ep!(
        GET,
        "/order/reverse/cancel/validate",
        Token,
        Data,
        orders::cancel_validate
    ),
    ep!(
        GET,
        "/order/reverse/cancel/create",
        Token,
        Data,
        orders::cancel_create
    ),
];

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
fn parse_timestamp(t: &str) -> Option<i64> {
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

/// Every API call: route, count, faults, parameters, app key, signature, timestamp window,
/// token, rate limit, handle.
async fn api(
    State(sb): State<Arc<Sandbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rid = request_id(&sb);
    let Some(api_name) = uri.path().strip_prefix("/rest") else {
        return error_response(
            &rid,
            &LzError {
                status: StatusCode::NOT_FOUND,
                ..LzError::isv("InvalidApiPath", msg::INVALID_API_PATH)
            },
        );
    };
    let Some(ep) = ENDPOINTS.iter().find(|e| e.api == api_name) else {
        return error_response(&rid, &LzError::isv("InvalidApiPath", msg::INVALID_API_PATH));
    };
    if !ep.methods.contains(&method) {
        return error_response(
            &rid,
            &LzError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                ..LzError::isv(
                    "InvalidHttpMethod",
                    format!("{api_name} does not accept {method}"),
                )
            },
        );
    }
    match sb.before_call(ep.key).await {
        Some(Injected::ServerError) => {
            return error_response(
                &rid,
                &LzError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    kind: "ISP",
                    ..LzError::isv(
                        "InternalError",
                        "The request processing has failed due to some unknown error",
                    )
                },
            )
        }
        Some(Injected::Timeout) => {
            return error_response(
                &rid,
                &LzError {
                    status: StatusCode::GATEWAY_TIMEOUT,
                    kind: "ISP",
                    ..LzError::isv("ServiceTimeout", "The service timed out")
                },
            )
        }
        None => {}
    }
    let call = match auth::verify(&sb, ep.auth, api_name, uri.query(), &headers, &body) {
        Ok(c) => c,
        Err(e) => return error_response(&rid, &e),
    };
    if let Some(ban) = sb.rate_limited(call.shop_id, ep.key) {
        return error_response(
            &rid,
            &LzError::isv("ApiCallLimit", msg::api_call_limit(ban)),
        );
    }
    match (ep.handler)(&sb, &call) {
        Ok(result) if ep.wrap == Wrap::Result => util::json(
            StatusCode::OK,
            &json!({"code": "0", "result": {"success": true, "error_code": null, "error_msg": null,
                    "data": result}, "request_id": rid}),
        ),
        Ok(Value::Object(mut top)) if ep.wrap == Wrap::Top => {
            top.insert("code".into(), json!("0"));
            top.insert("request_id".into(), json!(rid));
            util::json(StatusCode::OK, &Value::Object(top))
        }
        Ok(data) => util::json(
            StatusCode::OK,
            &json!({"code": "0", "data": data, "request_id": rid}),
        ),
        Err(e) => error_response(&rid, &e),
    }
}
