//! The cookie that binds a shop connect flow to the browser that started
//! it: a fresh random value set when the flow starts (its hash is stored
//! with the OAuth `state`) and required back at the callback.
//!
//! API callers get the same cookie in the answer to
//! `POST /api/v1/shops/connect/{marketplace}`: whoever started the flow must
//! finish it, so an authorize URL handed to someone else never connects
//! their shop (that hand-over is exactly what the binding forbids).

use axum::http::request::Parts;
use axum::http::HeaderValue;
use storesync_crypto::{hash_token, random_token};
use storesync_domain::Marketplace;
use storesync_engine::connect::STATE_TTL_MS;

use crate::error::{ApiError, ApiResult};
use crate::extract::cookie;
use crate::AppState;

/// The cookie's name for a marketplace: one per marketplace, so flows to
/// two marketplaces started in one browser do not undo each other.
pub fn cookie_name(marketplace: Marketplace) -> String {
    format!("storesync_connect_{}", marketplace.as_str())
}

/// A fresh binding for a flow about to start.
#[derive(Debug)]
pub struct Binding {
    value: String,
}

impl Binding {
    pub fn new() -> Binding {
        Binding {
            value: random_token("").expose().to_owned(),
        }
    }

    /// What is stored with the state.
    pub fn hash(&self) -> String {
        hash_token(&self.value)
    }

    /// The `Set-Cookie` value: HttpOnly, `SameSite=Lax` (the marketplace's
    /// redirect back is a top-level navigation, which carries Lax cookies),
    /// only sent to the callback path, `Secure` when served over HTTPS.
    pub fn set_cookie(&self, state: &AppState, marketplace: Marketplace) -> ApiResult<HeaderValue> {
        let secure = if state.config.secure_cookies || state.public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{}={}; Path=/oauth/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            cookie_name(marketplace),
            self.value,
            STATE_TTL_MS / 1000
        ))
        .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// The `name=value` pair a client sends back in its `Cookie` header.
    pub fn cookie_pair(&self, marketplace: Marketplace) -> String {
        format!("{}={}", cookie_name(marketplace), self.value)
    }
}

impl Default for Binding {
    fn default() -> Self {
        Binding::new()
    }
}

/// The binding value the callback's browser brought, if any.
pub fn presented(parts: &Parts, marketplace: Marketplace) -> Option<String> {
    cookie(parts, &cookie_name(marketplace))
}
