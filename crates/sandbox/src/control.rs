//! The JSON control API under `/__sandbox/` (no signing), shared by every marketplace: tests,
//! the demo and the benchmarks use it to set up shops, act as buyers and carriers, inject faults
//! and read the sandbox's state. Handlers are thin wrappers around [`Sandbox`] methods.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::carrier::CarrierSettings;
use crate::error::SandboxError;
use crate::faults::FaultConfig;
use crate::model::{
    AuthorizeRequest, BuyerSettings, CreateShop, OrderAction, PlaceOrder, ProductSpec,
};
use crate::sandbox::Sandbox;
use crate::util;

type S = State<Arc<Sandbox>>;

pub(crate) fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/__sandbox/info", get(info))
        .route("/__sandbox/shops", get(list_shops).post(create_shop))
        .route("/__sandbox/shops/{shop_id}", get(get_shop))
        .route("/__sandbox/shops/{shop_id}/products", post(add_product))
        .route("/__sandbox/shops/{shop_id}/listings", get(listings))
        .route("/__sandbox/shops/{shop_id}/stock", put(set_stock))
        .route(
            "/__sandbox/shops/{shop_id}/reservations",
            put(set_reservation),
        )
        .route("/__sandbox/shops/{shop_id}/buyers", put(set_buyers))
        .route("/__sandbox/shops/{shop_id}/orders", post(place_order))
        .route("/__sandbox/shops/{shop_id}/deauthorize", post(deauthorize))
        .route(
            "/__sandbox/shops/{shop_id}/expire_tokens",
            post(expire_tokens),
        )
        .route("/__sandbox/authorize", post(authorize))
        .route("/__sandbox/orders", get(list_orders))
        .route("/__sandbox/orders/{order_id}", get(get_order))
        .route("/__sandbox/orders/{order_id}/advance", post(advance))
        .route("/__sandbox/faults", get(get_faults).put(set_faults))
        .route("/__sandbox/carrier", get(get_carrier).put(set_carrier))
        .route("/__sandbox/app", put(set_app))
        .route("/__sandbox/sales", get(sales))
        .route("/__sandbox/calls", get(calls).delete(reset_calls))
        .route("/__sandbox/webhooks", get(webhooks))
        .route("/__sandbox/tick", post(tick))
}

fn ok<T: Serialize>(v: T) -> Response {
    match serde_json::to_value(v) {
        Ok(v) => util::json(StatusCode::OK, &v),
        Err(e) => fail(SandboxError::Invalid(e.to_string())),
    }
}

fn fail(e: SandboxError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    util::json(
        status,
        &json!({"error": {"code": e.code(), "message": e.to_string()}}),
    )
}

fn answer<T: Serialize>(r: Result<T, SandboxError>) -> Response {
    match r {
        Ok(v) => ok(v),
        Err(e) => fail(e),
    }
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, SandboxError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| SandboxError::Invalid(format!("bad JSON body: {e}")))
}

async fn info(State(sb): S) -> Response {
    ok(json!({
        "marketplace": sb.marketplace(),
        "base_url": sb.base_url(),
        "credentials": sb.credentials().line(),
        "now_ms": sb.now().millis(),
        "time_scale": sb.time_scale(),
    }))
}

async fn list_shops(State(sb): S) -> Response {
    ok(sb.shops())
}

async fn create_shop(State(sb): S, body: Bytes) -> Response {
    answer(parse::<CreateShop>(&body).and_then(|spec| sb.create_shop(&spec)))
}

async fn get_shop(State(sb): S, Path(shop_id): Path<u64>) -> Response {
    answer(sb.shop(shop_id))
}

async fn add_product(State(sb): S, Path(shop_id): Path<u64>, body: Bytes) -> Response {
    answer(parse::<ProductSpec>(&body).and_then(|spec| sb.add_product(shop_id, &spec)))
}

async fn listings(State(sb): S, Path(shop_id): Path<u64>) -> Response {
    answer(sb.listings(shop_id))
}

#[derive(Debug, Deserialize)]
struct StockBody {
    seller_sku: String,
    #[serde(default)]
    warehouse: Option<String>,
    quantity: i64,
}

async fn set_stock(State(sb): S, Path(shop_id): Path<u64>, body: Bytes) -> Response {
    answer(
        parse::<StockBody>(&body)
            .and_then(|b| sb.set_stock(shop_id, &b.seller_sku, b.warehouse.as_deref(), b.quantity)),
    )
}

#[derive(Debug, Deserialize)]
struct ReservationBody {
    seller_sku: String,
    reserved: i64,
}

async fn set_reservation(State(sb): S, Path(shop_id): Path<u64>, body: Bytes) -> Response {
    answer(
        parse::<ReservationBody>(&body)
            .and_then(|b| sb.set_reservation(shop_id, &b.seller_sku, b.reserved)),
    )
}

async fn set_buyers(State(sb): S, Path(shop_id): Path<u64>, body: Bytes) -> Response {
    answer(parse::<BuyerSettings>(&body).and_then(|b| {
        sb.set_buyers(shop_id, b)?;
        sb.shop(shop_id).map(|s| s.buyers)
    }))
}

async fn place_order(State(sb): S, Path(shop_id): Path<u64>, body: Bytes) -> Response {
    answer(parse::<PlaceOrder>(&body).and_then(|req| sb.place_order(shop_id, &req)))
}

async fn deauthorize(State(sb): S, Path(shop_id): Path<u64>) -> Response {
    answer(
        sb.deauthorize(shop_id)
            .map(|()| json!({"deauthorized": shop_id})),
    )
}

async fn expire_tokens(State(sb): S, Path(shop_id): Path<u64>) -> Response {
    answer(sb.expire_tokens(shop_id).map(|n| json!({"expired": n})))
}

async fn authorize(State(sb): S, body: Bytes) -> Response {
    answer(parse::<AuthorizeRequest>(&body).and_then(|req| sb.authorize(&req)))
}

#[derive(Debug, Deserialize)]
struct OrdersQuery {
    shop_id: Option<u64>,
}

async fn list_orders(State(sb): S, Query(q): Query<OrdersQuery>) -> Response {
    ok(sb.orders(q.shop_id))
}

async fn get_order(State(sb): S, Path(order_id): Path<String>) -> Response {
    answer(sb.order(&order_id))
}

#[derive(Debug, Deserialize)]
struct AdvanceBody {
    action: OrderAction,
}

async fn advance(State(sb): S, Path(order_id): Path<String>, body: Bytes) -> Response {
    answer(parse::<AdvanceBody>(&body).and_then(|b| sb.advance_order(&order_id, b.action)))
}

async fn get_faults(State(sb): S) -> Response {
    ok(sb.faults())
}

async fn set_faults(State(sb): S, body: Bytes) -> Response {
    answer(parse::<FaultConfig>(&body).map(|f| {
        sb.set_faults(f);
        sb.faults()
    }))
}

async fn get_carrier(State(sb): S) -> Response {
    ok(sb.carrier())
}

async fn set_carrier(State(sb): S, body: Bytes) -> Response {
    answer(parse::<CarrierSettings>(&body).map(|c| {
        sb.set_carrier(c);
        sb.carrier()
    }))
}

/// Fields left out are unchanged; an empty string clears the URL.
#[derive(Debug, Deserialize)]
struct AppBody {
    #[serde(default)]
    push_url: Option<String>,
    #[serde(default)]
    redirect_url: Option<String>,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

async fn set_app(State(sb): S, body: Bytes) -> Response {
    answer(parse::<AppBody>(&body).map(|b| {
        if let Some(u) = b.push_url {
            sb.set_push_url(non_empty(u));
        }
        if let Some(u) = b.redirect_url {
            sb.set_redirect_url(non_empty(u));
        }
        json!({"ok": true})
    }))
}

async fn sales(State(sb): S) -> Response {
    ok(sb.sales())
}

async fn calls(State(sb): S) -> Response {
    ok(sb.calls())
}

async fn reset_calls(State(sb): S) -> Response {
    sb.reset_calls();
    ok(json!({"ok": true}))
}

async fn webhooks(State(sb): S) -> Response {
    ok(sb.deliveries())
}

async fn tick(State(sb): S) -> Response {
    sb.tick();
    ok(json!({"now_ms": sb.now().millis()}))
}
