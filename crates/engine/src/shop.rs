//! Calling a marketplace for a shop: credentials from the store, one token
//! refresh on an "expired" answer (the new pair committed before it is
//! used), and the mapping of channel errors onto job outcomes.

use std::sync::Arc;

use storesync_channels::{Channel, ChannelError, ExtShopId, ShopCredentials, ShopRef};
use storesync_domain::ids::{OrgId, ShopId};
use storesync_store::leases::ShopLease;
use storesync_store::shops::{Shop, ShopStatus, ShopTokens};
use storesync_store::webhooks::ApiCall;
use storesync_store::{Actor, Store};
use tokio::sync::Mutex;

use crate::connect::ChannelRegistry;
use crate::worker::JobError;

/// Serializes token refreshes: two concurrent refreshes of a Shopee shop
/// would burn its single-use refresh token and lose the shop. In this
/// process by a lock per shop; across processes by the shop's refresh lease
/// in the database ([`ShopLease::TokenRefresh`]), held under this name.
#[derive(Debug)]
pub struct RefreshLocks {
    locks: std::sync::Mutex<std::collections::HashMap<ShopId, Arc<Mutex<()>>>>,
    owner: String,
}

impl Default for RefreshLocks {
    fn default() -> Self {
        RefreshLocks {
            locks: std::sync::Mutex::default(),
            owner: format!("refresh-{}", storesync_domain::Id::<()>::new()),
        }
    }
}

/// How long a refresh lease lasts: longer than a refresh call takes, short
/// enough that a process that died holding it does not hold the shop up.
const REFRESH_LEASE_MS: i64 = 30_000;

/// How long a refresh waits for another process's refresh of the same shop
/// before its job is tried again later.
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl RefreshLocks {
    fn lock_for(&self, shop: ShopId) -> Arc<Mutex<()>> {
        let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(shop).or_default())
    }
}

/// A shop with its marketplace client, ready to make calls.
pub struct ShopSession {
    pub shop: Shop,
    pub channel: Arc<dyn Channel>,
    pub creds: ShopCredentials,
}

impl std::fmt::Debug for ShopSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopSession")
            .field("shop", &self.shop.id)
            .finish()
    }
}

fn shop_ref(shop: &Shop) -> ShopRef {
    let r = ShopRef::new(ExtShopId::new(shop.external_shop_id.clone()));
    match &shop.cipher {
        Some(c) => r.with_cipher(c.clone()),
        None => r,
    }
}

/// Map a marketplace error onto what the job should do.
pub fn job_error(e: ChannelError) -> JobError {
    if e.is_retryable() {
        JobError::Retry {
            message: e.to_string(),
            // Throttled without a named delay: the client's pacer holds the
            // API for a second; a failure's backoff would hold stock longer.
            after: e.retry_after().or(match e {
                ChannelError::RateLimited { .. } => Some(std::time::Duration::from_secs(1)),
                _ => None,
            }),
        }
    } else {
        JobError::Permanent(e.to_string())
    }
}

impl ShopSession {
    /// Open a session for an active shop.
    pub async fn open(
        store: &Store,
        channels: &ChannelRegistry,
        org: OrgId,
        shop: ShopId,
    ) -> Result<Self, JobError> {
        let shop = store.shop(org, shop).await?;
        if shop.status != ShopStatus::Active {
            return Err(JobError::Permanent(format!(
                "shop is {}",
                shop.status.as_str()
            )));
        }
        let channel = channels.get(shop.marketplace).cloned().ok_or_else(|| {
            JobError::Permanent(format!("no app credentials for {}", shop.marketplace))
        })?;
        let tokens = store.shop_tokens(org, shop.id).await?;
        let creds = ShopCredentials {
            shop: shop_ref(&shop),
            access_token: tokens.access_token,
        };
        Ok(ShopSession {
            shop,
            channel,
            creds,
        })
    }

    /// Refresh the shop's tokens, commit them, and use the new access
    /// token. A refused refresh marks the shop `needs_reauth` and ends the
    /// job: retrying would only hammer the marketplace.
    pub async fn refresh(&mut self, store: &Store, locks: &RefreshLocks) -> Result<(), JobError> {
        let lock = locks.lock_for(self.shop.id);
        let _guard = lock.lock().await;
        let (org, id) = (self.shop.org_id, self.shop.id);
        let waited_since = std::time::Instant::now();
        let current = loop {
            // Another job, here or in another process, may have refreshed
            // while we waited.
            let current = store.shop_tokens(org, id).await?;
            if current.access_token.expose() != self.creds.access_token.expose() {
                self.creds.access_token = current.access_token;
                return Ok(());
            }
            if store
                .lease_shop(
                    org,
                    id,
                    ShopLease::TokenRefresh,
                    &locks.owner,
                    REFRESH_LEASE_MS,
                )
                .await?
            {
                // Read once more under the lease: a refresh that ended just
                // before it was taken has changed the pair.
                let current = store.shop_tokens(org, id).await?;
                if current.access_token.expose() != self.creds.access_token.expose() {
                    self.creds.access_token = current.access_token;
                    store
                        .release_shop(org, id, ShopLease::TokenRefresh, &locks.owner)
                        .await?;
                    return Ok(());
                }
                break current;
            }
            if waited_since.elapsed() > REFRESH_WAIT {
                return Err(JobError::Retry {
                    message: "another process is refreshing this shop's tokens".into(),
                    after: Some(std::time::Duration::from_secs(1)),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let refreshed = self.refresh_with(store, current).await;
        if let Err(e) = store
            .release_shop(org, id, ShopLease::TokenRefresh, &locks.owner)
            .await
        {
            tracing::warn!(error = %e, "could not release a refresh lease; it expires by itself");
        }
        refreshed
    }

    /// Refresh with the stored pair `current` (under the refresh lease).
    async fn refresh_with(&mut self, store: &Store, current: ShopTokens) -> Result<(), JobError> {
        let org = self.shop.org_id;
        match self
            .channel
            .refresh_token(&self.creds.shop, &current.refresh_token)
            .await
        {
            Ok(new) => {
                let tokens = ShopTokens {
                    access_token: new.access_token.clone(),
                    refresh_token: new.refresh_token,
                    access_expires_at: new.access_expires_at,
                    refresh_expires_at: new.refresh_expires_at.or(current.refresh_expires_at),
                };
                store.update_shop_tokens(org, self.shop.id, &tokens).await?;
                self.creds.access_token = new.access_token;
                Ok(())
            }
            Err(e) if e.is_retryable() => Err(job_error(e)),
            Err(e) => {
                let message = format!("the marketplace refused to refresh the authorization: {e}");
                store
                    .set_shop_status(
                        org,
                        self.shop.id,
                        ShopStatus::NeedsReauth,
                        Some(&message),
                        &Actor::system("tokens"),
                    )
                    .await?;
                Err(JobError::Permanent(message))
            }
        }
    }
}

/// How a call went, for the call log.
fn outcome(result: &Result<(), &ChannelError>) -> (&'static str, Option<String>) {
    match result {
        Ok(()) => ("ok", None),
        Err(e) => match e {
            ChannelError::TokenExpired { code, .. } => ("token_expired", Some(code.clone())),
            ChannelError::Unauthorized { code, .. } => ("unauthorized", Some(code.clone())),
            ChannelError::RateLimited { .. } => ("rate_limited", None),
            ChannelError::Transient { .. } => ("transient", None),
            ChannelError::Invalid { code, .. } => ("invalid", Some(code.clone())),
            ChannelError::Signature { code, .. } => ("signature", Some(code.clone())),
            _ => ("error", None),
        },
    }
}

/// Run `op` with the session's credentials, recording the call in the
/// shop's call log; on an expired token refresh once and run it again.
pub async fn with_refresh<T, F, Fut>(
    session: &mut ShopSession,
    store: &Store,
    locks: &RefreshLocks,
    operation: &str,
    op: F,
) -> Result<T, JobError>
where
    F: Fn(Arc<dyn Channel>, ShopCredentials) -> Fut,
    Fut: std::future::Future<Output = Result<T, ChannelError>>,
{
    let first = timed(session, store, operation, &op).await;
    match first {
        Ok(v) => Ok(v),
        Err(e) if e.needs_token_refresh() => {
            session.refresh(store, locks).await?;
            timed(session, store, operation, &op)
                .await
                .map_err(job_error)
        }
        Err(e) => Err(job_error(e)),
    }
}

async fn timed<T, F, Fut>(
    session: &ShopSession,
    store: &Store,
    operation: &str,
    op: &F,
) -> Result<T, ChannelError>
where
    F: Fn(Arc<dyn Channel>, ShopCredentials) -> Fut,
    Fut: std::future::Future<Output = Result<T, ChannelError>>,
{
    let started = std::time::Instant::now();
    let (result, waited) = storesync_channels::pace::measure_waits(op(
        Arc::clone(&session.channel),
        session.creds.clone(),
    ))
    .await;
    let (outcome, code) = outcome(&result.as_ref().map(|_| ()));
    let marketplace = session.shop.marketplace.as_str();
    metrics::counter!("storesync_marketplace_calls_total",
        "marketplace" => marketplace, "operation" => operation.to_owned(), "outcome" => outcome.to_owned())
    .increment(1);
    metrics::histogram!("storesync_marketplace_call_duration_seconds",
        "marketplace" => marketplace, "operation" => operation.to_owned())
    .record(started.elapsed().as_secs_f64());
    let call = ApiCall {
        id: String::new(),
        org_id: session.shop.org_id,
        shop_id: session.shop.id,
        operation: operation.to_owned(),
        outcome: outcome.to_owned(),
        code,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        pacing_wait_ms: i64::try_from(waited.as_millis()).unwrap_or(i64::MAX),
        at: store.now(),
    };
    // The call log is diagnostics: failing to write it must not fail the work.
    if let Err(e) = store.record_api_call(&call).await {
        tracing::warn!(error = %e, "could not record an API call");
    }
    result
}
