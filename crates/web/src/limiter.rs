//! Who is calling (client address and user agent, derived in one place) and
//! the sign-in limiter's policy over the store's attempt claims.
//!
//! Policy: a client address gets [`ADDRESS_LIMIT`] failed attempts per
//! window, whatever accounts they name — the hard limit, since an address
//! is what an attacker spends. An account gets a much higher
//! [`ACCOUNT_LIMIT`] per window, so guessing one password from many
//! addresses is still bounded; and an address that signed in to the account
//! successfully within [`KNOWN_ADDRESS_MS`] is not held by the account's
//! limit at all, so an owner at their usual place is never locked out by
//! someone else's failures. A correct password gives its claim back; only
//! failures count.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use storesync_domain::ValidationError;
use storesync_store::signin::{ClientMeta, SigninKey, SigninLimit};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Failed attempts a client address may make per window.
pub const ADDRESS_LIMIT: SigninLimit = SigninLimit {
    max_attempts: 10,
    window_ms: 15 * 60 * 1000,
};

/// Failed attempts an account may receive per window from addresses that
/// have not signed in to it before.
pub const ACCOUNT_LIMIT: SigninLimit = SigninLimit {
    max_attempts: 100,
    window_ms: 15 * 60 * 1000,
};

/// How long a successful sign-in makes its address known to the account.
pub const KNOWN_ADDRESS_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// Longest email accepted at sign-in (RFC 5321's limit on a path); longer
/// ones are refused before any lookup or hashing.
pub const MAX_EMAIL_BYTES: usize = 254;
/// Longest password accepted at sign-in: new passwords are at most 256
/// characters, so anything past 4 bytes each cannot be one.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// User agents are kept this long at most in the audit log.
const MAX_USER_AGENT_CHARS: usize = 200;

/// The calling client: its address and user agent.
#[derive(Debug, Clone)]
pub struct Client(pub ClientMeta);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(client_meta(parts, state.config.trust_forwarded_for)))
    }
}

/// The client's address and user agent. The address is the TCP peer's,
/// unless the installation says it sits behind a proxy it trusts
/// (`trust_forwarded_for`): then it is the last address in
/// `X-Forwarded-For`, the one that proxy appended (earlier entries come
/// from the client and prove nothing).
pub fn client_meta(parts: &Parts, trust_forwarded_for: bool) -> ClientMeta {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = trust_forwarded_for
        .then(|| {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    let address = forwarded
        .or(peer)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let user_agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    ClientMeta {
        address,
        user_agent,
    }
}

/// A claimed sign-in attempt; [`Attempt::succeeded`] gives it back.
#[derive(Debug)]
pub struct Attempt {
    account: String,
    address: String,
    counted_account: bool,
}

/// Refuse oversized credentials before anything else touches them.
pub fn check_sizes(email: &str, password: &str, password_field: &str) -> ApiResult<()> {
    if email.len() > MAX_EMAIL_BYTES {
        return Err(ValidationError::field("email", "at most 254 characters").into());
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ValidationError::field(password_field, "at most 1024 bytes").into());
    }
    Ok(())
}

/// Claim an attempt to check a password of `account` (a normalized email)
/// from `client`, or refuse with 429.
pub async fn claim(state: &AppState, account: &str, client: &ClientMeta) -> ApiResult<Attempt> {
    let store = &state.store;
    let known = store
        .is_known_signin_address(account, &client.address)
        .await?;
    let mut claims = Vec::with_capacity(2);
    if !known {
        claims.push((SigninKey::Account(account), ACCOUNT_LIMIT));
    }
    claims.push((SigninKey::Address(&client.address), ADDRESS_LIMIT));
    if !store.claim_signin_attempt(&claims).await? {
        tracing::warn!(client_address = %client.address, "sign-in attempt refused by the limiter");
        return Err(ApiError::TooManyRequests);
    }
    Ok(Attempt {
        account: account.to_owned(),
        address: client.address.clone(),
        counted_account: !known,
    })
}

impl Attempt {
    /// The password was right: the attempt is not a failure, and the address
    /// is now known to the account.
    pub async fn succeeded(self, state: &AppState) -> ApiResult<()> {
        let mut keys = vec![SigninKey::Address(&self.address)];
        if self.counted_account {
            keys.push(SigninKey::Account(&self.account));
        }
        state.store.release_signin_attempt(&keys).await?;
        state
            .store
            .remember_signin_address(&self.account, &self.address, KNOWN_ADDRESS_MS)
            .await?;
        Ok(())
    }
}
