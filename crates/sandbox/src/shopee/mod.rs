//! The Shopee Open Platform v2 sandbox: `/api/v2/...` with Shopee's signing, envelope, error
//! strings, int64 ids, float money and limits, the consent page, token endpoints and pushes.

mod auth;
mod bench;
mod common;
mod orders;
mod products;
mod push;
pub mod sign;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
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

pub(crate) use self::common::ShopeeProtocol;
use self::common::{error_response, Auth, Call, Reply, ShopeeError};
pub use self::common::{
    ACCESS_TOKEN_SECS, AUTHORIZATION_SECS, CODE_SECS, MAX_BATCH, MAX_PAGE_SIZE, MAX_WINDOW_SECS,
    OLD_TOKEN_GRACE_SECS, REFRESH_TOKEN_SECS, TIMESTAMP_WINDOW_SECS,
};

impl Rules for ShopeeProtocol {
    fn status_name(&self, stage: Stage) -> &'static str {
        match stage {
            Stage::Unpaid => "UNPAID",
            Stage::ReadyToShip => "READY_TO_SHIP",
            Stage::InCancel => "IN_CANCEL",
            Stage::Packed | Stage::Arranged => "PROCESSED",
            Stage::Shipped => "SHIPPED",
            Stage::Delivered => "TO_CONFIRM_RECEIVE",
            Stage::Completed => "COMPLETED",
            Stage::Cancelled => "CANCELLED",
        }
    }

    fn id(&self, kind: IdKind, seq: u64) -> u64 {
        match kind {
            IdKind::Shop => 600_000 + seq,
            IdKind::Product => 100_000_000 + seq,
            IdKind::Variant => 200_000_000 + seq,
            IdKind::Line => 300_000_000 + seq,
            IdKind::Package => 400_000_000 + seq,
            IdKind::User => 500_000_000 + seq,
        }
    }

    fn id_string(&self, kind: IdKind, seq: u64) -> String {
        match kind {
            IdKind::Package => format!("OFG{}", self.id(kind, seq)),
            _ => self.id(kind, seq).to_string(),
        }
    }

    fn order_id(&self, seq: u64, now: Timestamp) -> String {
        // Real order_sn: YYMMDD followed by 8 upper-case alphanumerics, e.g. 220810QSK8S7BX.
        let date = time::OffsetDateTime::from_unix_timestamp(now.millis().div_euclid(1000))
            .map(|t| {
                format!(
                    "{:02}{:02}{:02}",
                    t.year().rem_euclid(100),
                    u8::from(t.month()),
                    t.day()
                )
            })
            .unwrap_or_else(|_| "700101".to_owned());
        format!("{date}{}", base36(seq, 8))
    }

    fn tracking_number(&self, seq: u64) -> String {
        format!("SPXID{:010}", seq)
    }

    fn carrier(&self) -> &'static str {
        "SPX Express"
    }

    fn default_warehouse(&self, region: &str, _seq: u64) -> String {
        format!("{region}Z")
    }

    fn cipher(&self, _region: &str, _rng: &mut StdRng) -> String {
        String::new()
    }

    fn format_price(&self, cents: i64, currency: &str) -> String {
        util::cents_to_decimal(cents, currency)
    }

    fn buyer_cancel(&self, stage: Stage, _age_ms: i64) -> BuyerCancel {
        // An unpaid order is simply dropped; a paid one needs the seller's answer (IN_CANCEL).
        match stage {
            Stage::Unpaid => BuyerCancel::Cancel,
            Stage::ReadyToShip => BuyerCancel::Request,
            _ => BuyerCancel::Refuse,
        }
    }

    fn expiry_warning(&self) -> (i64, bool) {
        // Push code 12 arrives 7 days before the authorization ends.
        (7 * 86_400_000, false)
    }
}

impl Protocol for ShopeeProtocol {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Shopee
    }

    fn rules(&self) -> &dyn Rules {
        self
    }

    fn code_lifetime_ms(&self) -> i64 {
        CODE_SECS * 1000
    }

    fn push_retry_secs(&self) -> &'static [u64] {
        // Shopee's push reference: retries after 5 min, 30 min and 3 h.
        &[300, 1_800, 10_800]
    }

    fn authorization_lifetime_ms(&self) -> i64 {
        AUTHORIZATION_SECS * 1000
    }

    fn approved_redirect(
        &self,
        redirect: &str,
        code: &str,
        shop_id: u64,
        _state: Option<&str>,
    ) -> String {
        util::with_query(
            redirect,
            &[("code", code), ("shop_id", &shop_id.to_string())],
        )
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

    fn consent_redirect(
        &self,
        requested: Option<&str>,
        _registered: Option<&str>,
    ) -> Option<String> {
        // The consent link carries the redirect (required); a registered URL plays no part.
        requested.map(str::to_owned)
    }

    fn issue_tokens(
        &self,
        world: &mut World,
        _shop_id: u64,
        now: Timestamp,
    ) -> Result<IssuedTokens, SandboxError> {
        Ok(IssuedTokens {
            access: world.random_hex(16),
            refresh: world.random_hex(16),
            access_ms: ACCESS_TOKEN_SECS * 1000,
            refresh_expires_ms: now.millis() + REFRESH_TOKEN_SECS * 1000,
        })
    }

    fn rate_limit(&self) -> RateLimit {
        // No published figure for core APIs; the one public number is 1,000 calls per minute
        // per API, counted here per shop over a sliding minute (a burst is fine within it),
        // answered `rate_limit.exceed_shop_api`.
        RateLimit {
            calls: 1_000,
            window_secs: 60,
            ban_secs: 0,
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

/// Fixed-width upper-case base-36 rendering, for order_sn suffixes.
fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The router of a Shopee sandbox: consent pages, the API (dispatched by path) and control.
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/api/v2/shop/auth_partner", get(auth::consent_page))
        .route("/api/v2/shop/cancel_auth_partner", get(auth::cancel_page))
        .route("/__sandbox/consent/shopee", post(auth::consent_decision))
        .merge(control::router())
        .fallback(api)
        .with_state(sandbox)
}

type Handler = fn(&Sandbox, &Call) -> Result<Reply, ShopeeError>;

struct Endpoint {
    method: Method,
    path: &'static str,
    key: &'static str,
    auth: Auth,
    handler: Handler,
}

macro_rules! ep {
    ($m:ident, $path:literal, $auth:ident, $h:path) => {
        Endpoint {
            method: Method::$m,
            path: $path,
            key: concat!(stringify!($m), " ", $path),
            auth: Auth::$auth,
            handler: $h,
        }
    };
}

/// The API surface: path, method, signature type and handler of every endpoint.
static ENDPOINTS: &[Endpoint] = &[
    ep!(POST, "/api/v2/auth/token/get", Public, auth::token_get),
    ep!(
        POST,
        "/api/v2/auth/access_token/get",
        Public,
        auth::token_refresh
    ),
    ep!(
        GET,
        "/api/v2/public/get_shops_by_partner",
        Public,
        auth::shops_by_partner
    ),
    ep!(GET, "/api/v2/shop/get_shop_info", Shop, auth::shop_info),
    ep!(
        GET,
        "/api/v2/product/get_item_list",
        Shop,
        products::get_item_list
    ),
    ep!(
        GET,
        "/api/v2/product/get_item_base_info",
        Shop,
        products::get_item_base_info
    ),
    ep!(
        GET,
        "/api/v2/product/get_model_list",
        Shop,
        products::get_model_list
    ),
    ep!(
        POST,
        "/api/v2/product/update_stock",
        Shop,
        products::update_stock
    ),
    ep!(
        POST,
        "/api/v2/product/update_price",
        Shop,
        products::update_price
    ),
    ep!(
        GET,
        "/api/v2/order/get_order_list",
        Shop,
        orders::get_order_list
    ),
    ep!(
        GET,
        "/api/v2/order/get_order_detail",
        Shop,
        orders::get_order_detail
    ),
    ep!(
        POST,
        "/api/v2/order/cancel_order",
        Shop,
        orders::cancel_order
    ),
    ep!(
        POST,
        "/api/v2/order/handle_buyer_cancellation",
        Shop,
        orders::handle_buyer_cancellation
    ),
    ep!(
        GET,
        "/api/v2/logistics/get_shipping_parameter",
        Shop,
        orders::get_shipping_parameter
    ),
    ep!(
        POST,
        "/api/v2/logistics/ship_order",
        Shop,
        orders::ship_order
    ),
    ep!(
        GET,
        "/api/v2/logistics/get_tracking_number",
        Shop,
        orders::get_tracking_number
    ),
    ep!(
        POST,
        "/api/v2/push/set_app_push_config",
        Public,
        push::set_app_push_config
    ),
    ep!(
        GET,
        "/api/v2/push/get_lost_push_message",
        Public,
        push::get_lost_push_message
    ),
    ep!(
        POST,
        "/api/v2/push/confirm_consumed_lost_push_message",
        Public,
        push::confirm_lost_push
    ),
];

fn request_id(sb: &Sandbox) -> String {
    format!("{:016x}{:016x}", sb.now().millis(), sb.next_request_seq())
}

fn reply_response(request_id: &str, reply: Reply) -> Response {
    let body = match reply {
        Reply::Wrapped(v, warning) => json!({
            "request_id": request_id, "error": "", "message": "", "warning": warning, "response": v,
        }),
        Reply::Bare => json!({"request_id": request_id, "error": "", "message": ""}),
        Reply::TopLevel(mut m) => {
            m.insert("request_id".to_owned(), json!(request_id));
            m.insert("error".to_owned(), json!(""));
            m.insert("message".to_owned(), json!(""));
            Value::Object(m)
        }
    };
    util::json(StatusCode::OK, &body)
}

/// Every `/api/v2/...` call: route, count, faults, signature/timestamp/token, rate limit, handle.
async fn api(State(sb): State<Arc<Sandbox>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let rid = request_id(&sb);
    let path = uri.path();
    let Some(ep) = ENDPOINTS.iter().find(|e| e.path == path) else {
        return error_response(
            &rid,
            &ShopeeError {
                status: StatusCode::NOT_FOUND,
                ..ShopeeError::new("error_not_found", "Api not found.")
            },
        );
    };
    if ep.method != method {
        return error_response(
            &rid,
            &ShopeeError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                ..ShopeeError::new("error_param", format!("Method {method} is not allowed."))
            },
        );
    }
    match sb.before_call(ep.key).await {
        Some(Injected::ServerError) => {
            return error_response(
                &rid,
                &ShopeeError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    ..ShopeeError::new("error_server", "Something wrong. Please try later.")
                },
            )
        }
        Some(Injected::Timeout) => {
            return error_response(
                &rid,
                &ShopeeError {
                    status: StatusCode::GATEWAY_TIMEOUT,
                    ..ShopeeError::new("error_network", "Network error. Please try later.")
                },
            )
        }
        None => {}
    }
    let query = util::query_pairs(uri.query());
    let call = match auth::verify(&sb, ep.auth, path, query, body) {
        Ok(c) => c,
        Err(e) => return error_response(&rid, &e),
    };
    if sb.rate_limited(call.shop_id, ep.key).is_some() {
        // Shopee publishes no throttle code for core APIs; this mirrors the documented Ads-module
        // `rate_limit.exceed_shop_api` naming with HTTP 429 (UNCONFIRMED).
        return error_response(
            &rid,
            &ShopeeError {
                status: StatusCode::TOO_MANY_REQUESTS,
                ..ShopeeError::new(
                    "rate_limit.exceed_shop_api",
                    "Too many requests, the api of this shop exceeds the rate limit.",
                )
            },
        );
    }
    match (ep.handler)(&sb, &call) {
        Ok(reply) => reply_response(&rid, reply),
        Err(e) => error_response(&rid, &e),
    }
}
