//! StoreSync's HTTP surface: the REST API v1, sign-in and sessions, the
//! dashboard, health endpoints and the OpenAPI document.
//!
//! Handlers stay thin (parse → one store call → render); authorization is in
//! their signatures ([`extract::Caller`] with a minimum role); the HTTP status
//! of every error is decided in [`error`] (pages: [`ui::UiError`]). This
//! crate never writes SQL.

pub mod api;
pub mod api_limits;
pub mod connect_binding;
pub mod error;
pub mod extract;
pub mod limiter;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod session;
mod strict_json;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{
    CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use storesync_engine::connect::ChannelRegistry;
use storesync_store::Store;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::session::PasswordGate;

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest accepted request body.
    pub body_limit_bytes: usize,
    /// A session unused this long ends.
    pub session_idle_ms: i64,
    /// A session ends this long after sign-in, used or not.
    pub session_absolute_ms: i64,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Password hashes computed at once.
    pub password_concurrency: usize,
    /// Whether anyone may sign up and create an organization (off unless
    /// the installation turns it on).
    pub allow_signup: bool,
    /// The server sits behind a proxy that appends the client's address to
    /// `X-Forwarded-For`; take the client address from there (see
    /// [`limiter::client_meta`]). Off: the TCP peer is the client.
    pub trust_forwarded_for: bool,
    /// Bearer token that may read `/metrics`; without one only clients on
    /// this machine may (see [`metrics`]).
    pub metrics_token: Option<storesync_crypto::Secret<String>>,
    /// Rate limits on the API (see [`api_limits`]).
    pub api_limits: api_limits::ApiLimits,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            body_limit_bytes: 1024 * 1024,
            session_idle_ms: 2 * 60 * 60 * 1000,
            session_absolute_ms: 24 * 60 * 60 * 1000,
            secure_cookies: false,
            password_concurrency: 2,
            allow_signup: false,
            trust_forwarded_for: false,
            metrics_token: None,
            api_limits: api_limits::ApiLimits::default(),
        }
    }
}

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<WebConfig>,
    pub passwords: PasswordGate,
    /// Wakes this process's job worker after a job is enqueued.
    pub job_waker: Arc<tokio::sync::Notify>,
    /// Wakes the worker's order-intake slots after a webhook is stored.
    pub intake_waker: Arc<tokio::sync::Notify>,
    /// Marketplace clients this installation has credentials for.
    pub channels: Arc<ChannelRegistry>,
    /// Where browsers and marketplaces reach this server (OAuth callbacks).
    pub public_url: String,
}

impl AppState {
    pub fn new(store: Store, config: WebConfig) -> Self {
        AppState {
            passwords: PasswordGate::new(config.password_concurrency),
            config: Arc::new(config),
            store,
            job_waker: Arc::new(tokio::sync::Notify::new()),
            intake_waker: Arc::new(tokio::sync::Notify::new()),
            channels: Arc::new(ChannelRegistry::new()),
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }

    /// The marketplaces shops can be connected to, and the URL the
    /// marketplaces send sellers back to.
    pub fn with_channels(mut self, channels: Arc<ChannelRegistry>, public_url: &str) -> Self {
        self.channels = channels;
        self.public_url = public_url.trim_end_matches('/').to_owned();
        self
    }

    /// Wake this worker when the API enqueues work.
    pub fn with_job_waker(mut self, waker: Arc<tokio::sync::Notify>) -> Self {
        self.intake_waker = Arc::clone(&waker);
        self.job_waker = waker;
        self
    }

    /// The application services (shop and order actions), waking this
    /// process's worker when they queue work.
    pub fn services(&self) -> storesync_engine::app::Services<'_> {
        storesync_engine::app::Services::new(&self.store, &self.job_waker, &self.public_url)
    }

    /// Invitations, resets and sign-ups, with links to this server.
    pub fn accounts(&self) -> storesync_engine::accounts::Accounts {
        storesync_engine::accounts::Accounts::new(self.store.clone(), &self.public_url)
    }

    /// Wake only these worker slots when a webhook is stored (see
    /// `Worker::lane_waker`); after `with_job_waker`.
    pub fn with_intake_waker(mut self, waker: Arc<tokio::sync::Notify>) -> Self {
        self.intake_waker = waker;
        self
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Figures recorded from now on reach `/metrics`.
    let _ = metrics::recorder();
    let limit = state.config.body_limit_bytes;
    let mut api = Router::new();
    for (spec, handler) in routes::api_routes() {
        api = api.route(spec.path, handler);
    }
    api.route("/api/v1/openapi.json", get(openapi_json))
        .merge(ui::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api_limits::enforce,
        ))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::map_response(security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Every error answer is the API's `{"error": …}` JSON, also those made
/// outside our handlers: the router's 405 (empty body), a body limit hit
/// by an extractor before a handler could speak (413 in plain text, e.g. on
/// `/webhooks/*`). Dashboard error pages (HTML) and our own JSON pass
/// unchanged; the other headers (such as `Allow` on a 405) are kept.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let (ours, body) = ApiError::Http(status).into_response().into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in &ours.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// Headers every answer carries, and those every HTML page carries: no
/// framing by other sites (clickjacking), no content sniffing, no full
/// URLs (which may hold ids) leaked to other sites in `Referer`.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if html {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    }
    response
}

async fn openapi_json() -> impl IntoResponse {
    Json(openapi::document())
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// How late the most overdue job may be before this installation counts
/// as not working: no worker anywhere is taking its jobs.
const WORKERS_STALLED_MS: i64 = 5 * 60_000;

/// Ready when the database answers, its schema is the one this build
/// expects, and jobs are being taken up (none overdue by more than
/// [`WORKERS_STALLED_MS`]). Otherwise 503 naming what is wrong.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    let expected = storesync_store::operations::expected_schema_version();
    match state.store.schema_version().await {
        Ok(Some(v)) if v == expected => {}
        Ok(v) => problems.push(format!(
            "the database schema is at step {}, this build expects {expected}: run `storesync migrate`",
            v.unwrap_or(0)
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            problems.push("the database is unavailable".to_owned());
        }
    }
    if problems.is_empty() {
        match state.store.oldest_overdue_job_ms().await {
            Ok(Some(ms)) if ms > WORKERS_STALLED_MS => problems.push(format!(
                "jobs are {} s overdue: no worker is taking them",
                ms / 1000
            )),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                problems.push("the database is unavailable".to_owned());
            }
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "problems": problems })),
        )
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

/// A bound, not yet serving application. Binding first lets callers (tests,
/// the CLI) learn the port before any request can arrive.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    router: Router,
}

impl App {
    pub async fn bind(addr: &str, state: AppState) -> std::io::Result<App> {
        let listener = TcpListener::bind(addr).await?;
        Ok(App {
            listener,
            router: router(state),
        })
    }

    /// Serve on a listener bound by the caller (who may need its address
    /// to build the state, e.g. for OAuth callback URLs).
    pub fn from_listener(listener: TcpListener, state: AppState) -> App {
        App {
            listener,
            router: router(state),
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serve until `shutdown` completes, then finish in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer address is the client's address for the sign-in limiter
        // and the audit log.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
