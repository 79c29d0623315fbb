//! `GET /metrics` in the Prometheus text format, and the HTTP figures
//! behind it.
//!
//! The work records its own figures through the `metrics` facade where it
//! happens (the engine: jobs, marketplace calls, intake lag, stock pushes;
//! this crate: HTTP requests, webhook deliveries). What is a state rather
//! than an event — jobs queued, running and dead; how long each shop's
//! tokens have left; connection pool use — is read from the store when
//! scraped, so every instance on one PostgreSQL reports the same queue.
//!
//! Who may scrape: with `metrics_token` configured, a bearer of that token;
//! without one, only clients on this machine (loopback), so a server
//! exposed to the internet does not publish its figures by default.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// Bucket bounds of every `*_seconds` histogram: from a fast query to a
/// slow marketplace call.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. `None` when
/// another recorder was installed first (then nothing is exported).
pub fn recorder() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Count every request by route template, method and status, and time it.
/// Applied as a route layer, so the route is the template
/// (`/api/v1/orders/{id}`), never the path with its ids.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("storesync_http_requests_total",
        "route" => route.clone(), "method" => method.clone(), "status" => status)
    .increment(1);
    metrics::histogram!("storesync_http_request_duration_seconds",
        "route" => route, "method" => method)
    .record(started.elapsed().as_secs_f64());
    response
}

/// Label sets of the scrape-time gauges set before: one that is gone now
/// (no more dead jobs of a kind, a shop disconnected) must read 0, not its
/// last value.
static SEEN_JOBS: Mutex<Option<HashSet<(String, String)>>> = Mutex::new(None);

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !allowed(&state, peer, request.headers()) {
        return Err(ApiError::Unauthenticated);
    }
    let Some(handle) = recorder() else {
        return Err(ApiError::Internal(
            "no metrics recorder is installed in this process".into(),
        ));
    };
    refresh_gauges(&state).await?;
    handle.run_upkeep();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response())
}

fn allowed(state: &AppState, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose().as_bytes()))),
        None => peer.is_some_and(|p| p.ip().is_loopback()),
    }
}

/// Set the gauges that describe a state, read from the store now.
async fn refresh_gauges(state: &AppState) -> Result<(), ApiError> {
    let store = &state.store;
    let counts = store.job_counts().await?;
    let now_seen: HashSet<(String, String)> = counts
        .iter()
        .map(|c| (c.kind.clone(), c.status.clone()))
        .collect();
    {
        let mut seen = SEEN_JOBS.lock().unwrap_or_else(|p| p.into_inner());
        let seen = seen.get_or_insert_with(HashSet::new);
        for (kind, status) in seen.difference(&now_seen) {
            metrics::gauge!("storesync_jobs", "kind" => kind.clone(), "status" => status.clone())
                .set(0.0);
        }
        seen.extend(now_seen);
    }
    for c in counts {
        metrics::gauge!("storesync_jobs", "kind" => c.kind, "status" => c.status)
            .set(c.count as f64);
    }
    let now = store.now();
    for shop in store.shop_expiries().await? {
        let labels = [
            ("shop", shop.shop_id.to_string()),
            ("marketplace", shop.marketplace.clone()),
        ];
        if let Some(at) = shop.access_expires_at {
            metrics::gauge!("storesync_shop_token_expires_in_seconds", &labels)
                .set((at.millis() - now.millis()) as f64 / 1000.0);
        }
        if let Some(at) = shop.authorization_expires_at {
            metrics::gauge!("storesync_shop_authorization_expires_in_seconds", &labels)
                .set((at.millis() - now.millis()) as f64 / 1000.0);
        }
    }
    for pool in store.pool_use() {
        metrics::gauge!("storesync_db_pool_connections", "pool" => pool.pool, "state" => "idle")
            .set(pool.idle as f64);
        metrics::gauge!("storesync_db_pool_connections", "pool" => pool.pool, "state" => "in_use")
            .set(pool.in_use as f64);
    }
    Ok(())
}
