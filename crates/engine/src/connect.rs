//! Connecting shops: the registry of configured marketplace clients, and
//! the two halves of the OAuth flow (start: an authorize URL bound to a
//! single-use `state`; finish: exchange the code, store the shops with
//! encrypted tokens, queue their catalog import).
//!
//! A flow is bound to the browser that started it: the caller hands
//! [`start`] the hash of a random value it keeps in that browser (a cookie),
//! and [`finish`] completes only for a callback bringing the same value, so
//! a consent link sent to someone else cannot connect their shop here.

use std::collections::BTreeMap;
use std::sync::Arc;

use storesync_channels::{AuthCallback, Channel, ChannelError};
use storesync_crypto::{constant_time_eq, hash_token, random_token};
use storesync_domain::ids::{OrgId, UserId};
use storesync_domain::{Marketplace, Timestamp};
use storesync_store::job_keys;
use storesync_store::jobs::NewJob;
use storesync_store::shops::{ConnectedShop, Shop, ShopTokens};
use storesync_store::{Actor, Store, StoreError};

/// How long a connect flow may take from start to callback.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Job kind that imports a shop's listings after it is connected.
pub const IMPORT_JOB: &str = job_keys::kind::IMPORT;

/// The marketplaces this installation has app credentials for.
#[derive(Debug, Clone, Default)]
pub struct ChannelRegistry {
    channels: BTreeMap<Marketplace, Arc<dyn Channel>>,
}

impl ChannelRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a client under its marketplace.
    pub fn with(mut self, channel: Arc<dyn Channel>) -> Self {
        self.channels.insert(channel.marketplace(), channel);
        self
    }

    pub fn get(&self, marketplace: Marketplace) -> Option<&Arc<dyn Channel>> {
        self.channels.get(&marketplace)
    }

    /// The marketplaces shops can be connected to, in [`Marketplace`] order.
    pub fn marketplaces(&self) -> impl Iterator<Item = Marketplace> + '_ {
        self.channels.keys().copied()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The name is not a marketplace, or this installation has no app
    /// credentials for it: either way there is nothing to connect to.
    #[error("StoreSync has no app credentials for {0}; set them in the configuration")]
    UnknownMarketplace(String),
    #[error("this authorization link is unknown, expired or already used; start connecting again")]
    BadState,
    #[error(
        "this authorization was started in another browser (or its cookie is gone); \
         the shop was not connected. Start connecting again from StoreSync in this browser"
    )]
    OtherBrowser,
    #[error("the marketplace did not complete the authorization: {0}")]
    Marketplace(#[from] ChannelError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `name` (from a URL or a form) as a marketplace; a name that is none is
/// answered like a marketplace without app credentials.
pub fn marketplace(name: &str) -> Result<Marketplace, ConnectError> {
    name.parse()
        .map_err(|_| ConnectError::UnknownMarketplace(name.to_owned()))
}

/// Start connecting: remember a fresh `state` for the caller, bound to the
/// browser holding the value whose hash is `browser_hash`, and return the
/// marketplace's authorize URL.
pub async fn start(
    store: &Store,
    channels: &ChannelRegistry,
    org: OrgId,
    user: UserId,
    marketplace: Marketplace,
    callback_url: &str,
    browser_hash: &str,
) -> Result<(url::Url, Timestamp), ConnectError> {
    let channel = channels
        .get(marketplace)
        .ok_or_else(|| ConnectError::UnknownMarketplace(marketplace.to_string()))?;
    let state = random_token("");
    store
        .create_oauth_state(
            &hash_token(state.expose()),
            org,
            user,
            marketplace,
            STATE_TTL_MS,
            browser_hash,
        )
        .await?;
    let url = channel.authorize_url(callback_url, state.expose())?;
    Ok((url, store.now().plus_millis(STATE_TTL_MS)))
}

/// Finish connecting from the callback's query: the state must be ours,
/// fresh and unused, and `browser` (the value the callback's browser holds)
/// must be the one the flow was started with; then every shop the new
/// token covers is stored and an import is queued for each.
pub async fn finish<'a>(
    store: &Store,
    channels: &ChannelRegistry,
    marketplace: Marketplace,
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
    browser: Option<&str>,
) -> Result<Vec<Shop>, ConnectError> {
    let channel = channels
        .get(marketplace)
        .ok_or_else(|| ConnectError::UnknownMarketplace(marketplace.to_string()))?;
    let callback = AuthCallback::from_query(query);
    // The state is checked (and burned) before anything else, even before
    // looking at a refusal, so a forged callback learns nothing.
    let state = match &callback {
        Ok(c) => c.state.clone(),
        Err(_) => None,
    };
    let Some(state) = state else {
        return Err(ConnectError::BadState);
    };
    let pending = store
        .consume_oauth_state(&hash_token(&state), marketplace)
        .await?
        .ok_or(ConnectError::BadState)?;
    // Checked after the state is burned: a link opened in the wrong browser
    // is spent, so it cannot be tried again elsewhere.
    let same_browser = match (&pending.browser_hash, browser) {
        (Some(expected), Some(value)) => {
            constant_time_eq(expected.as_bytes(), hash_token(value).as_bytes())
        }
        _ => false,
    };
    if !same_browser {
        return Err(ConnectError::OtherBrowser);
    }
    let callback = callback?;
    let authorization = channel.exchange_code(&callback).await?;
    let actor = match store.auth_user(pending.user_id, pending.org_id).await? {
        Some(u) => u.actor(),
        None => Actor::system("connect"),
    };
    let mut shops = Vec::with_capacity(authorization.shops.len());
    for s in &authorization.shops {
        let tokens = &authorization.tokens;
        let connected = ConnectedShop {
            marketplace,
            external_shop_id: s.shop.shop_id.as_str().to_owned(),
            cipher: s.shop.cipher.clone(),
            name: s
                .name
                .clone()
                .unwrap_or_else(|| format!("{marketplace} {}", s.shop.shop_id.as_str())),
            region: s.region.clone(),
            tokens: ShopTokens {
                access_token: tokens.access_token.clone(),
                refresh_token: tokens.refresh_token.clone(),
                access_expires_at: tokens.access_expires_at,
                refresh_expires_at: tokens.refresh_expires_at,
            },
        };
        let shop = store
            .connect_shop(pending.org_id, &connected, &actor)
            .await?;
        store
            .enqueue(
                &NewJob::new(IMPORT_JOB, serde_json::json!({ "shop_id": shop.id }))
                    .org(pending.org_id)
                    .unique(job_keys::import(shop.id)),
            )
            .await?;
        shops.push(shop);
    }
    Ok(shops)
}
