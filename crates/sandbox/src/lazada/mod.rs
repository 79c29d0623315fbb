//! The Lazada Open Platform (LazOP) sandbox: `/rest/<api>` with Lazada's signing over the API
//! name and sorted parameters (read from the query *and* a form-urlencoded body), millisecond
//! timestamps within ±7200 s, `{code:"0", data}` / `{type, code, message}` envelopes, the auth
//! endpoints with rotating refresh tokens, products with sellable / occupied stock, orders with
//! one item per unit and Lazada's item statuses, pack (some items per package, several packages
//! per order) and ready-to-ship per package, cancellation of some or all items, the consent
//! page and signed pushes (200 within 500 ms, else retried every 30 min, 12 times).

mod auth;
mod bench;
mod common;
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

pub(crate) use self::common::LazadaProtocol;
use self::common::{
    error_response, item_status, new_access_token, new_refresh_token, request_id, Auth, Call,
    LzError,
};
pub use self::common::{
    msg, ACCESS_TOKEN_SECS, ACK_TIMEOUT, CODE_SECS, MAX_ORDER_IDS, MAX_ORDER_LIMIT, MAX_PACK,
    MAX_PRODUCT_LIMIT, MAX_PRODUCT_OFFSET, MAX_SKUS, PUSH_RETRY_SECS, REFRESH_TOKEN_SECS,
    SHALLOW_STOCK, TIMESTAMP_WINDOW_SECS,
};

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

type Handler = fn(&Sandbox, &Call) -> Result<Value, LzError>;

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
