//! The `Channel` trait the engine drives every marketplace through, the
//! capability flags that replace any need to branch on the marketplace, and
//! two helpers built on the trait (token-refresh retry, listing stream).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, Stream, TryStreamExt};
use storesync_crypto::Secret;
use storesync_domain::Timestamp;
// Re-exported so `channels::channel::Marketplace` paths keep working; the
// type itself is shared vocabulary and lives in `domain`.
pub use storesync_domain::marketplace::{Marketplace, UnknownMarketplace};

use crate::error::ChannelError;
use crate::ids::ExtOrderId;
use crate::model::{
    AuthCallback, Authorization, AuthorizedShop, CancelRequest, Cancellation, ChangedOrder,
    Listing, ListingPage, ListingQuery, Order, PageCursor, PriceUpdate, ShipRequest, Shipment,
    ShopCredentials, ShopRef, StockUpdate, TokenSet, UpdateResult, WebhookEvent, WebhookRequest,
};
use crate::window::TimeRange;

/// What a marketplace's webhooks tell us, so the engine knows what it must
/// poll for instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookCapabilities {
    /// Order status changes are pushed.
    pub order_status: bool,
    /// Ordinary stock/product edits are pushed. When false, poll
    /// [`Channel::list_listings`] with `updated_since` to notice them.
    pub listing_changes: bool,
    pub deauthorization: bool,
    pub authorization_expiry: bool,
    /// How old a push's own timestamp may be when it arrives: longer than
    /// the marketplace's retries, shorter than the inbox keeps
    /// de-duplication keys (see [`crate::replay`]).
    pub replay_window_ms: i64,
}

/// Limits and abilities of one marketplace: everything the engine needs to
/// batch, pace and schedule without knowing which marketplace it talks to.
/// The clients already split work to these limits; the engine uses them to
/// size its own jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Listings one stock-update call can change (Shopee and TikTok: 1).
    pub max_listings_per_stock_call: usize,
    /// Variants of one listing per stock-update call; `None` when the
    /// marketplace takes all variants of a listing at once.
    pub max_variants_per_stock_call: Option<usize>,
    /// Variants of one listing per price-update call; `None` as above.
    pub max_variants_per_price_call: Option<usize>,
    /// A stock update must list every warehouse of a variant, or the
    /// omitted ones are treated as changed (TikTok).
    pub stock_update_lists_all_warehouses: bool,
    /// Order ids per order-detail call.
    pub max_orders_per_detail_call: usize,
    /// Longest time range one order-list call accepts; `None` when unlimited.
    pub max_order_window: Option<Duration>,
    /// Orders per order-list page (the largest the API allows).
    pub order_page_size: u32,
    /// Listings per [`Channel::list_listings`] page.
    pub listing_page_size: u32,
    /// The order list already returns full orders, so no detail call is
    /// needed ([`ChangedOrder::detail`] is filled).
    pub order_list_includes_details: bool,
    /// Published request rate per API per shop (requests per second);
    /// `None` when unpublished (back off on [`ChannelError::RateLimited`]).
    pub rate_limit_per_api_per_shop: Option<u32>,
    /// Each refresh token works once and every refresh returns a new one:
    /// persist the new pair atomically before using it.
    pub refresh_token_single_use: bool,
    /// Typical access token lifetime, for scheduling refreshes.
    pub access_token_lifetime: Duration,
    /// The largest stock quantity one listing (or warehouse entry) may be
    /// set to. Every client clamps what it sends to it, so a number the
    /// marketplace cannot hold never leaves; the engine plans with the
    /// same bound so what it records is what was sent.
    pub max_stock_quantity: u32,
    pub webhooks: WebhookCapabilities,
}

impl Capabilities {
    /// `target` as a quantity this marketplace accepts: never negative,
    /// never above [`Capabilities::max_stock_quantity`].
    pub fn stock_quantity(&self, target: i64) -> u32 {
        u32::try_from(target.clamp(0, i64::from(self.max_stock_quantity))).unwrap_or(0)
    }
}

/// One marketplace, as the engine sees it. Implementations are cheap to
/// share (`Arc<dyn Channel>`), hold one connection pool each, and never
/// touch the database.
///
/// Every shop-scoped call may fail with [`ChannelError::TokenExpired`]: the
/// caller refreshes the token, persists the new pair, and retries once
/// ([`with_token_refresh`] does exactly that).
#[async_trait]
pub trait Channel: Send + Sync + fmt::Debug {
    fn marketplace(&self) -> Marketplace;

    fn capabilities(&self) -> Capabilities;

    /// The URL to send the seller to for consent. `state` comes back on the
    /// callback (for Shopee, which has no state parameter, it is added to
    /// `redirect_url`). Build it when the seller clicks: Shopee links carry a
    /// signed timestamp that is valid for five minutes. Marketplaces whose
    /// callback URL is fixed in their console (TikTok) ignore `redirect_url`.
    fn authorize_url(&self, redirect_url: &str, state: &str) -> Result<url::Url, ChannelError>;

    /// Exchanges the callback's code for tokens and learns which shops they
    /// cover.
    async fn exchange_code(&self, callback: &AuthCallback) -> Result<Authorization, ChannelError>;

    /// Trades a refresh token for a new pair. On marketplaces with
    /// single-use refresh tokens the old one is dead once this returns.
    async fn refresh_token(
        &self,
        shop: &ShopRef,
        refresh_token: &Secret<String>,
    ) -> Result<TokenSet, ChannelError>;

    /// The shops `access_token` can act for (TikTok: with their `cipher`).
    /// Marketplaces whose tokens are per shop (Shopee) need `shop` and
    /// return that shop's details, confirming the token works.
    async fn authorized_shops(
        &self,
        access_token: &Secret<String>,
        shop: Option<&ShopRef>,
    ) -> Result<Vec<AuthorizedShop>, ChannelError>;

    /// One page of listings with variants, stock and prices. Start with
    /// `cursor = None` and pass back [`ListingPage::next`] until it is
    /// `None`. Cursors are plain text so a durable job can resume a long
    /// walk; [`listing_stream`] wraps the walk as a `Stream`.
    async fn list_listings(
        &self,
        creds: &ShopCredentials,
        query: &ListingQuery,
        cursor: Option<&PageCursor>,
    ) -> Result<ListingPage, ChannelError>;

    /// Sets absolute stock. The client splits `updates` into the largest
    /// calls the marketplace accepts and returns one result per update, in
    /// input order; per-variant refusals (below reserved stock, unknown
    /// variant) are results, not errors. A call-level failure (token, rate
    /// limit, outage) aborts with `Err`: quantities are absolute, so the
    /// caller can safely resend the whole set.
    async fn update_stock(
        &self,
        creds: &ShopCredentials,
        updates: &[StockUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError>;

    /// Sets prices, with the same batching and result contract as
    /// [`Channel::update_stock`].
    async fn update_prices(
        &self,
        creds: &ShopCredentials,
        updates: &[PriceUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError>;

    /// Every order updated within `range`, following all pages and splitting
    /// the range into windows the API accepts. Each order appears once.
    async fn changed_orders(
        &self,
        creds: &ShopCredentials,
        range: TimeRange,
    ) -> Result<Vec<ChangedOrder>, ChannelError>;

    /// Full orders for `ids`, fetched in batches of
    /// [`Capabilities::max_orders_per_detail_call`]. Unknown ids are left out.
    async fn order_details(
        &self,
        creds: &ShopCredentials,
        ids: &[ExtOrderId],
    ) -> Result<Vec<Order>, ChannelError>;

    /// Arranges shipment (optionally with the seller's tracking number).
    async fn ship_order(
        &self,
        creds: &ShopCredentials,
        request: &ShipRequest,
    ) -> Result<Shipment, ChannelError>;

    /// Cancels an order as the seller.
    async fn cancel_order(
        &self,
        creds: &ShopCredentials,
        request: &CancelRequest,
    ) -> Result<Cancellation, ChannelError>;

    /// Checks an inbound webhook's signature over the raw body. Fails with
    /// [`ChannelError::WebhookRejected`]; answer 401 and store nothing.
    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<(), ChannelError>;

    /// When the marketplace says it sent a verified push (its envelope's
    /// own timestamp), for the replay window.
    fn webhook_sent_at(&self, body: &[u8]) -> Result<Timestamp, ChannelError> {
        crate::replay::envelope_timestamp(body)
    }

    /// Parses a verified webhook body into typed events (one push may carry
    /// several, e.g. a TikTok package update naming several orders).
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<WebhookEvent>, ChannelError>;
}

/// Runs `op` with `creds`; if it fails with [`ChannelError::TokenExpired`],
/// calls `refresh` once for fresh credentials and runs `op` again.
///
/// `refresh` is where the caller trades the refresh token and persists the
/// new pair (atomically, before returning: Shopee refresh tokens are single
/// use). Any second failure, including a second `TokenExpired`, is returned
/// as is, so a revoked authorization cannot loop.
pub async fn with_token_refresh<T, Op, OpFut, Refresh, RefreshFut>(
    creds: ShopCredentials,
    mut op: Op,
    refresh: Refresh,
) -> Result<T, ChannelError>
where
    Op: FnMut(ShopCredentials) -> OpFut,
    OpFut: Future<Output = Result<T, ChannelError>>,
    Refresh: FnOnce() -> RefreshFut,
    RefreshFut: Future<Output = Result<ShopCredentials, ChannelError>>,
{
    match op(creds).await {
        Err(e) if e.needs_token_refresh() => {
            let fresh = refresh().await?;
            op(fresh).await
        }
        other => other,
    }
}

/// Walks every page of [`Channel::list_listings`] as a stream of listings.
/// The stream ends after the first error, which it yields.
pub fn listing_stream(
    channel: Arc<dyn Channel>,
    creds: ShopCredentials,
    query: ListingQuery,
) -> impl Stream<Item = Result<Listing, ChannelError>> + Send {
    // The state is `None` once the last page was fetched.
    let pages = stream::try_unfold(Some(None::<PageCursor>), move |state| {
        let channel = Arc::clone(&channel);
        let creds = creds.clone();
        async move {
            let Some(cursor) = state else {
                return Ok(None);
            };
            let page = channel
                .list_listings(&creds, &query, cursor.as_ref())
                .await?;
            let next_state = page.next.map(Some);
            Ok(Some((page.listings, next_state)))
        }
    });
    pages
        .map_ok(|listings| stream::iter(listings.into_iter().map(Ok)))
        .try_flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn creds(token: &str) -> ShopCredentials {
        ShopCredentials {
            shop: ShopRef::new("1"),
            access_token: Secret::new(token.to_owned()),
        }
    }

    #[tokio::test]
    async fn refreshes_once_then_retries_with_the_new_token() {
        let calls = AtomicUsize::new(0);
        let result = with_token_refresh(
            creds("old"),
            |c| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if c.access_token.expose() == "old" {
                        Err(ChannelError::TokenExpired {
                            code: "105002".into(),
                            message: "expired".into(),
                        })
                    } else {
                        Ok(c.access_token.expose().clone())
                    }
                }
            },
            || async { Ok(creds("new")) },
        )
        .await;
        assert_eq!(result.unwrap(), "new");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn does_not_loop_when_the_new_token_fails_too() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), _> = with_token_refresh(
            creds("old"),
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(ChannelError::TokenExpired {
                        code: "error_auth".into(),
                        message: "Invalid access_token.".into(),
                    })
                }
            },
            || async { Ok(creds("new")) },
        )
        .await;
        assert!(result.unwrap_err().needs_token_refresh());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn other_errors_do_not_refresh() {
        let refreshed = AtomicUsize::new(0);
        let result: Result<(), _> = with_token_refresh(
            creds("t"),
            |_| async { Err(ChannelError::RateLimited { retry_after: None }) },
            || {
                refreshed.fetch_add(1, Ordering::SeqCst);
                async { Ok(creds("new")) }
            },
        )
        .await;
        assert!(result.unwrap_err().is_retryable());
        assert_eq!(refreshed.load(Ordering::SeqCst), 0);
    }
}
