//! Rate limits on the API, per token and per client address, by route
//! group. Each request counts once under its caller's credential (a bearer
//! token or a session, hashed) and once under its client address, each in
//! a one-minute window of its route group; over either limit it is answered
//! 429 with `Retry-After` and the JSON error body, before any handler runs.
//! The counts live in the store (see `storesync_store::api_limits`), so a
//! limit holds across every `serve` process on PostgreSQL.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use storesync_crypto::token::hash_token;

use crate::error::ApiError;
use crate::AppState;

/// The window every limit counts over.
pub const WINDOW_MS: i64 = 60_000;

/// Requests a minute per token (or session) in each route group; a client
/// address gets `address_factor` times as many, as several callers may
/// share one (an office, a proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimits {
    /// Off: no limits at all (benchmarks of the API itself).
    pub enabled: bool,
    /// Products, variants, listings, inventory and locations.
    pub products_per_minute: i64,
    /// Orders and their actions.
    pub orders_per_minute: i64,
    /// A shop's sync and import: each sets off work on the marketplace.
    pub sync_per_minute: i64,
    /// Everything else under `/api/v1`.
    pub other_per_minute: i64,
    pub address_factor: i64,
}

impl Default for ApiLimits {
    /// Generous: a few times what the specification suggests (products
    /// 100/min, orders 200/min, sync 10/min), so an integrator's honest
    /// bursts pass and only a runaway client is held back.
    fn default() -> Self {
        ApiLimits {
            enabled: true,
            products_per_minute: 600,
            orders_per_minute: 1_200,
            sync_per_minute: 30,
            other_per_minute: 1_200,
            address_factor: 4,
        }
    }
}

/// The route groups limits are set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Products,
    Orders,
    Sync,
    Other,
}

impl Group {
    /// The group of an API route, by its template (`/api/v1/shops/{id}/sync`).
    pub fn of(route: &str) -> Group {
        let Some(rest) = route.strip_prefix("/api/v1/") else {
            return Group::Other;
        };
        let first = rest.split('/').next().unwrap_or("");
        match first {
            "shops" if rest.ends_with("/sync") || rest.ends_with("/import") => Group::Sync,
            "products" | "variants" | "listings" | "inventory" | "locations" => Group::Products,
            "orders" => Group::Orders,
            _ => Group::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Group::Products => "products",
            Group::Orders => "orders",
            Group::Sync => "sync",
            Group::Other => "other",
        }
    }

    fn per_minute(self, limits: &ApiLimits) -> i64 {
        match self {
            Group::Products => limits.products_per_minute,
            Group::Orders => limits.orders_per_minute,
            Group::Sync => limits.sync_per_minute,
            Group::Other => limits.other_per_minute,
        }
    }
}

/// The middleware: count the request, refuse it over a limit.
pub async fn enforce(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limits = state.config.api_limits;
    if !limits.enabled {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    if !route.starts_with("/api/") {
        return next.run(request).await;
    }
    let group = Group::of(&route);
    let per_token = group.per_minute(&limits).max(1);
    let per_address = per_token.saturating_mul(limits.address_factor.max(1));
    let (parts, body) = request.into_parts();
    let credential = crate::extract::credential(&parts);
    let address = crate::limiter::client_meta(&parts, state.config.trust_forwarded_for).address;
    let mut keys = Vec::with_capacity(2);
    if let Some(credential) = credential {
        keys.push((
            format!("api:{}:credential:{credential}", group.name()),
            per_token,
        ));
    }
    if !address.is_empty() {
        keys.push((
            format!("api:{}:address:{address}", group.name()),
            per_address,
        ));
    }
    for (key, limit) in keys {
        match state
            .store
            .claim_api_hit(&hash_token(&key), limit, WINDOW_MS)
            .await
        {
            Ok(None) => {}
            Ok(Some(retry_after_ms)) => {
                return ApiError::RateLimited {
                    group: group.name(),
                    limit,
                    retry_after_secs: u64::try_from((retry_after_ms + 999) / 1000)
                        .unwrap_or(1)
                        .max(1),
                }
                .into_response();
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_fall_in_their_groups() {
        assert_eq!(Group::of("/api/v1/shops/{id}/sync"), Group::Sync);
        assert_eq!(Group::of("/api/v1/shops/{id}/import"), Group::Sync);
        assert_eq!(Group::of("/api/v1/shops/{id}/settings"), Group::Other);
        assert_eq!(Group::of("/api/v1/products/{id}"), Group::Products);
        assert_eq!(Group::of("/api/v1/inventory/adjustments"), Group::Products);
        assert_eq!(Group::of("/api/v1/orders/{id}/ship"), Group::Orders);
        assert_eq!(Group::of("/api/v1/tokens"), Group::Other);
        assert_eq!(Group::of("/healthz"), Group::Other);
    }
}
