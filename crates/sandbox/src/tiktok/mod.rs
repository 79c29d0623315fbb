//! The TikTok Shop 202309 sandbox (plus product search 202502 and order detail 202507):
//! `/{category}/{version}/...` with TikTok's signing, `{code,
//! message, request_id, data}` envelope, error codes, string ids, decimal-string money, the
//! consent page, the auth-host token endpoints and webhooks. Indonesian shops carry
//! `commerce_platform` (TIKTOK_SHOP | TOKOPEDIA) on orders, one stock pool per product.

mod auth;
mod bench;
mod common;
mod orders;
mod products;
pub mod sign;
mod webhooks;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::json;
use storesync_domain::Timestamp;

use crate::config::{Credentials, Marketplace};
use crate::control;
use crate::error::SandboxError;
use crate::faults::{Injected, RateLimit};
use crate::model::{BuyerCancel, BuyerSettings, Event, IdKind, Rules, Stage, World};
use crate::protocol::{BenchOp, BenchTarget, IssuedTokens, Protocol};
use crate::sandbox::Sandbox;
use crate::util;
use crate::webhook::Outgoing;

pub(crate) use self::common::TikTokProtocol;
pub use self::common::{
    codes, ACCESS_TOKEN_SECS, AUTHORIZATION_SECS, CODE_SECS, FREE_CANCEL_MS, MAX_IDS,
    MAX_PAGE_SIZE, RETRY_SCHEDULE_SECS, TIMESTAMP_FUTURE_SECS, TIMESTAMP_PAST_SECS,
};
use self::common::{error_response, request_id, Call, Data, Scope, TtError};

impl Rules for TikTokProtocol {
    fn status_name(&self, stage: Stage) -> &'static str {
        match stage {
            Stage::Unpaid => "UNPAID",
            Stage::ReadyToShip | Stage::InCancel => "AWAITING_SHIPMENT",
            Stage::Packed | Stage::Arranged => "AWAITING_COLLECTION",
            Stage::Shipped => "IN_TRANSIT",
            Stage::Delivered => "DELIVERED",
            Stage::Completed => "COMPLETED",
            Stage::Cancelled => "CANCELLED",
        }
    }

    fn id(&self, kind: IdKind, seq: u64) -> u64 {
        match kind {
            IdKind::Shop => 7_494_049_642_642_000_000 + seq,
            IdKind::Product => 1_729_592_969_712_000_000 + seq,
            IdKind::Variant => 1_729_592_969_713_000_000 + seq,
            IdKind::Line => 577_000_000_000_000 + seq,
            IdKind::Package => 1_152_921_500_000_000_000 + seq,
            IdKind::User => 7_494_000_000_000_000_000 + seq,
        }
    }

    fn order_id(&self, seq: u64, _now: Timestamp) -> String {
        (576_486_316_948_490_000u64 + seq).to_string()
    }

    fn tracking_number(&self, seq: u64) -> String {
        format!("JX{seq:010}")
    }

    fn carrier(&self) -> &'static str {
        "J&T Express"
    }

    fn default_warehouse(&self, _region: &str, seq: u64) -> String {
        (7_068_517_275_539_700_000u64 + seq).to_string()
    }

    fn cipher(&self, _region: &str, rng: &mut StdRng) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let tail: String = (0..28)
            .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
            .collect();
        format!("ROW_{tail}")
    }

    fn format_price(&self, cents: i64, currency: &str) -> String {
        util::cents_to_decimal(cents, currency)
    }

    fn buyer_cancel(&self, stage: Stage, age_ms: i64) -> BuyerCancel {
        match stage {
            Stage::Unpaid => BuyerCancel::Cancel,
            Stage::ReadyToShip if age_ms < FREE_CANCEL_MS => BuyerCancel::Cancel,
            Stage::ReadyToShip => BuyerCancel::Request,
            _ => BuyerCancel::Refuse,
        }
    }

    fn expiry_warning(&self) -> (i64, bool) {
        // UPCOMING_AUTHORIZATION_EXPIRATION: daily from 30 days before the end.
        (30 * 86_400_000, true)
    }
}

impl Protocol for TikTokProtocol {
    fn marketplace(&self) -> Marketplace {
        Marketplace::TikTok
    }

    fn rules(&self) -> &dyn Rules {
        self
    }

    fn code_lifetime_ms(&self) -> i64 {
        CODE_SECS * 1000
    }

    fn push_retry_secs(&self) -> &'static [u64] {
        &RETRY_SCHEDULE_SECS
    }

    fn authorization_lifetime_ms(&self) -> i64 {
        AUTHORIZATION_SECS * 1000
    }

    fn approved_redirect(
        &self,
        redirect: &str,
        code: &str,
        _shop_id: u64,
        state: Option<&str>,
    ) -> String {
        match state {
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
        seq: u64,
    ) -> Vec<Outgoing> {
        webhooks::render(world, credentials, event, now, seq)
    }

    fn acknowledges(&self, status: u16) -> bool {
        // 401 with an empty body also counts as acknowledged (a receiver refusing a signature).
        (200..300).contains(&status) || status == 401
    }

    fn consent_redirect(
        &self,
        requested: Option<&str>,
        registered: Option<&str>,
    ) -> Option<String> {
        // The consent page always returns to the app's registered redirect URL.
        registered.or(requested).map(str::to_owned)
    }

    fn issue_tokens(
        &self,
        world: &mut World,
        shop_id: u64,
        _now: Timestamp,
    ) -> Result<IssuedTokens, SandboxError> {
        let access = format!("TTP_{}", world.random_hex(20));
        let refresh = format!("TTP_{}", world.random_hex(20));
        // The refresh token lives as long as the seller's authorization.
        Ok(IssuedTokens {
            access,
            refresh,
            access_ms: ACCESS_TOKEN_SECS * 1000,
            refresh_expires_ms: world.shop(shop_id)?.auth_expire_ms,
        })
    }

    fn rate_limit(&self) -> RateLimit {
        // Published: 50 requests per second per API per shop, HTTP 429 code 36009002.
        RateLimit {
            calls: 50,
            window_secs: 1,
            ban_secs: 0,
        }
    }

    fn buyer_platform(
        &self,
        region: &str,
        buyers: &BuyerSettings,
        rng: &mut StdRng,
    ) -> Option<String> {
        // Indonesian shops also sell on Tokopedia; every order says which platform it came from.
        if region != "ID" {
            return None;
        }
        let toko = buyers.tokopedia_share > 0.0 && rng.gen::<f64>() < buyers.tokopedia_share;
        Some(if toko { "TOKOPEDIA" } else { "TIKTOK_SHOP" }.to_owned())
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

/// The router of a TikTok sandbox: consent page, auth-host token endpoints, API and control.
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/open/authorize", get(auth::consent_page))
        .route("/__sandbox/consent/tiktok", post(auth::consent_decision))
        .route("/api/v2/token/get", get(auth::token_get))
        .route("/api/v2/token/refresh", get(auth::token_refresh))
        .merge(control::router())
        .fallback(api)
        .with_state(sandbox)
}

type Handler = fn(&Sandbox, &Call) -> Result<Data, TtError>;

struct Endpoint {
    method: Method,
    pattern: &'static str,
    key: &'static str,
    scope: Scope,
    handler: Handler,
}

macro_rules! ep {
    ($m:ident, $path:literal, $scope:ident, $h:path) => {
        Endpoint {
            method: Method::$m,
            pattern: $path,
            key: concat!(stringify!($m), " ", $path),
            scope: Scope::$scope,
            handler: |sb: &Sandbox, call: &Call| $h(sb, call).map(Data::from),
        }
    };
}

/// The API surface: method, path pattern, scope and handler of every endpoint.
static ENDPOINTS: &[Endpoint] = &[
    ep!(
        GET,
        "/authorization/202309/shops",
        NoCipher,
        auth::authorized_shops
    ),
    ep!(GET, "/seller/202309/shops", NoCipher, auth::active_shops),
    ep!(
        POST,
        "/product/202309/products/search",
        Cipher,
        products::search
    ),
    ep!(
        POST,
        "/product/202502/products/search",
        Cipher,
        products::search_202502
    ),
    ep!(
        GET,
        "/product/202309/products/{product_id}",
        Cipher,
        products::get
    ),
    ep!(
        POST,
        "/product/202309/products/{product_id}/inventory/update",
        Cipher,
        products::update_inventory
    ),
    ep!(
        POST,
        "/product/202309/products/{product_id}/prices/update",
        Cipher,
        products::update_price
    ),
    ep!(POST, "/order/202309/orders/search", Cipher, orders::search),
    ep!(GET, "/order/202309/orders", Cipher, orders::detail),
    ep!(GET, "/order/202507/orders", Cipher, orders::detail_202507),
    ep!(
        GET,
        "/fulfillment/202309/packages/{package_id}",
        Cipher,
        orders::package
    ),
    ep!(
        POST,
        "/fulfillment/202309/packages/{package_id}/ship",
        Cipher,
        orders::ship_package
    ),
    ep!(
        GET,
        "/fulfillment/202309/orders/{order_id}/tracking",
        Cipher,
        orders::tracking
    ),
    ep!(
        POST,
        "/return_refund/202309/cancellations",
        Cipher,
        orders::cancel
    ),
    ep!(
        POST,
        "/return_refund/202309/cancellations/{cancel_id}/approve",
        Cipher,
        orders::approve_cancel
    ),
    ep!(
        POST,
        "/return_refund/202309/cancellations/{cancel_id}/reject",
        Cipher,
        orders::reject_cancel
    ),
    ep!(
        GET,
        "/event/202309/webhooks",
        Cipher,
        webhooks::get_webhooks
    ),
    ep!(PUT, "/event/202309/webhooks", Cipher, webhooks::put_webhook),
    ep!(
        DELETE,
        "/event/202309/webhooks",
        Cipher,
        webhooks::delete_webhook
    ),
];

/// Matches a path against a pattern, returning the `{…}` segment's value.
fn matches(pattern: &str, path: &str) -> Option<String> {
    let mut param = String::new();
    let mut p = pattern.split('/');
    let mut a = path.split('/');
    loop {
        match (p.next(), a.next()) {
            (None, None) => return Some(param),
            (Some(ps), Some(s)) if ps.starts_with('{') => {
                if s.is_empty() {
                    return None;
                }
                param = s.to_owned();
            }
            (Some(ps), Some(s)) if ps == s => {}
            _ => return None,
        }
    }
}

pub(crate) fn ok_response(rid: &str, data: Data) -> Response {
    match data {
        Data::Json(data) => util::json(
            StatusCode::OK,
            &json!({"code": 0, "message": "Success", "request_id": rid, "data": data}),
        ),
        Data::Raw(data) => util::raw_json(format!(
            "{{\"code\":0,\"message\":\"Success\",\"request_id\":\"{rid}\",\"data\":{data}}}"
        )),
    }
}

/// Every API call: route, count, faults, signature/timestamp/token/cipher, rate limit, handle.
async fn api(
    State(sb): State<Arc<Sandbox>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rid = request_id(&sb);
    let path = uri.path();
    let mut path_known = false;
    let mut found = None;
    for ep in ENDPOINTS {
        if let Some(param) = matches(ep.pattern, path) {
            path_known = true;
            if ep.method == method {
                found = Some((ep, param));
                break;
            }
        }
    }
    let Some((ep, param)) = found else {
        let e = if path_known {
            TtError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                ..TtError::new(codes::METHOD_NOT_ALLOWED, "HTTP method not allowed.")
            }
        } else {
            TtError {
                status: StatusCode::NOT_FOUND,
                ..TtError::new(codes::PATH_NOT_FOUND, "Path not found.")
            }
        };
        return error_response(&rid, &e);
    };
    match sb.before_call(ep.key).await {
        Some(Injected::ServerError) => {
            return error_response(
                &rid,
                &TtError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    ..TtError::new(codes::INTERNAL, "Internal error. Please try again later.")
                },
            )
        }
        Some(Injected::Timeout) => {
            return error_response(
                &rid,
                &TtError {
                    status: StatusCode::GATEWAY_TIMEOUT,
                    ..TtError::new(codes::TIMEOUT, "Request timeout.")
                },
            )
        }
        None => {}
    }
    let query = util::query_pairs(uri.query());
    let call = match auth::verify(&sb, ep.scope, path, query, &headers, body, param) {
        Ok(c) => c,
        Err(e) => return error_response(&rid, &e),
    };
    let limit_key = if call.shop_id == 0 {
        call.token_shops.first().copied().unwrap_or(0)
    } else {
        call.shop_id
    };
    if sb.rate_limited(limit_key, ep.key).is_some() {
        return error_response(
            &rid,
            &TtError {
                status: StatusCode::TOO_MANY_REQUESTS,
                ..TtError::new(
                    codes::RATE_LIMITED,
                    "Too many requests. Please retry later.",
                )
            },
        );
    }
    match (ep.handler)(&sb, &call) {
        Ok(data) => ok_response(&rid, data),
        Err(e) => error_response(&rid, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::common::{decode_page_token, encode_page_token};
    use super::*;

    #[test]
    fn path_patterns() {
        assert_eq!(
            matches("/a/202309/x/{id}/y", "/a/202309/x/42/y").as_deref(),
            Some("42")
        );
        assert_eq!(matches("/a/202309/x/{id}/y", "/a/202309/x//y"), None);
        assert_eq!(matches("/a/202309/x", "/a/202309/x/1"), None);
        assert_eq!(decode_page_token(&encode_page_token(40)), Some(40));
    }
}
