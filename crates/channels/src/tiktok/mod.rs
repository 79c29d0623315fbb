//! TikTok Shop Open API 202309 client (fact sheet §2), which also serves
//! Indonesian shops selling on Tokopedia: signed calls (sorted query plus
//! raw body), the token in the `x-tts-access-token` header, `shop_cipher`
//! on shop-scoped calls, `{code, message, data}` envelopes, string ids,
//! decimal-string money.

pub mod map;
pub mod sign;
pub mod wire;

use futures_util::stream::{self, StreamExt};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use storesync_crypto::Secret;
use storesync_domain::{Clock, Timestamp};

use crate::batch::{dedup_keep_order, gather_results, plan_batches, Batch};
use crate::channel::{Capabilities, Channel, Marketplace, WebhookCapabilities};
use crate::error::ChannelError;
use crate::http::{
    build_http_client, execute, join_url, parse_base_url, status_error, HttpSettings, Reply,
};
use crate::ids::ExtOrderId;
use crate::model::{
    AuthCallback, Authorization, AuthorizedShop, CancelReason, CancelRequest, Cancellation,
    ChangedOrder, Handover, ListingPage, ListingQuery, Order, Package, PageCursor, PriceUpdate,
    ShipRequest, Shipment, ShopCredentials, ShopRef, StockUpdate, TokenSet, UpdateFailure,
    UpdateOutcome, UpdateResult, WebhookEvent, WebhookRequest,
};
use crate::money::money_to_decimal;
use crate::pace::{Pacer, THROTTLE_BAN};
use crate::window::{split_seconds, TimeRange};
use crate::wire::unix_seconds;

/// API host, the default.
pub const DEFAULT_API_BASE_URL: &str = "https://open-api.tiktokglobalshop.com";
/// Token host.
pub const DEFAULT_AUTH_BASE_URL: &str = "https://auth.tiktok-shops.com";
/// Seller consent page host (rest of world; US sellers use
/// `https://services.tiktokshops.us`).
pub const DEFAULT_AUTHORIZE_BASE_URL: &str = "https://services.tiktokshop.com";

const PATH_AUTHORIZE: &str = "/open/authorize";
const PATH_TOKEN_GET: &str = "/api/v2/token/get";
const PATH_TOKEN_REFRESH: &str = "/api/v2/token/refresh";
const PATH_AUTHORIZED_SHOPS: &str = "/authorization/202309/shops";
const PATH_SEARCH_PRODUCTS: &str = "/product/202309/products/search";
const PATH_SEARCH_ORDERS: &str = "/order/202309/orders/search";
const PATH_ORDER_DETAIL: &str = "/order/202309/orders";
const PATH_CANCEL: &str = "/return_refund/202309/cancellations";

fn inventory_path(product_id: &str) -> String {
    format!("/product/202309/products/{product_id}/inventory/update")
}

fn price_path(product_id: &str) -> String {
    format!("/product/202309/products/{product_id}/prices/update")
}

fn ship_path(package_id: &str) -> String {
    format!("/fulfillment/202309/packages/{package_id}/ship")
}

const PAGE_SIZE: u32 = 100;
const MAX_ORDER_IDS: usize = 50;
/// Stock calls in flight at once (one product each); the pacer keeps them
/// within the shop's per-API limit.
const PARALLEL_CALLS: usize = 8;
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 86_400);
/// Seller cancel reason codes. The fact sheet only says "code string"; these
/// are the codes seen in TikTok's seller cancel-reason list (UNCONFIRMED).
const CANCEL_OUT_OF_STOCK: &str = "seller_cancel_reason_out_of_stock";
const CANCEL_UNDELIVERABLE: &str = "seller_cancel_reason_address_not_deliver";

/// What TikTok Shop can and cannot do (fact sheet §2.6, §2.7, §2.9).
pub const CAPABILITIES: Capabilities = Capabilities {
    max_listings_per_stock_call: 1,
    // All SKUs of a product go in one call; the per-call SKU cap is not
    // published (UNCONFIRMED), and a product's SKU count is bounded anyway.
    max_variants_per_stock_call: None,
    max_variants_per_price_call: None,
    stock_update_lists_all_warehouses: true,
    max_orders_per_detail_call: MAX_ORDER_IDS,
    max_order_window: None,
    order_page_size: PAGE_SIZE,
    listing_page_size: PAGE_SIZE,
    order_list_includes_details: true,
    rate_limit_per_api_per_shop: Some(50),
    refresh_token_single_use: false,
    access_token_lifetime: ACCESS_TOKEN_LIFETIME,
    // Published: inventory quantity 0–99,999 (above it: 12019024).
    max_stock_quantity: 99_999,
    webhooks: WebhookCapabilities {
        order_status: true,
        listing_changes: true,
        deauthorization: true,
        authorization_expiry: true,
        // Retries at +2 min, +30 min, +3 h and +12 h: the last comes about
        // 15.5 h after the first.
        replay_window_ms: 24 * 3_600_000,
    },
};

/// App credentials and endpoints of a TikTok Shop app.
#[derive(Debug, Clone)]
pub struct TikTokConfig {
    pub app_key: String,
    pub app_secret: Secret<String>,
    /// The app's service id from Partner Center (consent link).
    pub service_id: String,
    pub api_base_url: String,
    pub auth_base_url: String,
    pub authorize_base_url: String,
    pub http: HttpSettings,
    /// Calls per second per (shop, API) the client allows itself: TikTok's
    /// published 50 QPS per API per shop.
    pub pace_per_second: u32,
}

impl TikTokConfig {
    pub fn new(
        app_key: impl Into<String>,
        app_secret: Secret<String>,
        service_id: impl Into<String>,
    ) -> Self {
        Self {
            app_key: app_key.into(),
            app_secret,
            service_id: service_id.into(),
            api_base_url: DEFAULT_API_BASE_URL.to_owned(),
            auth_base_url: DEFAULT_AUTH_BASE_URL.to_owned(),
            authorize_base_url: DEFAULT_AUTHORIZE_BASE_URL.to_owned(),
            http: HttpSettings::default(),
            pace_per_second: 50,
        }
    }

    pub fn with_pace(mut self, per_second: u32) -> Self {
        self.pace_per_second = per_second;
        self
    }

    /// Points API, token and consent hosts at one base URL (a sandbox
    /// serves all three paths on one port).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        let base = base_url.into();
        self.api_base_url.clone_from(&base);
        self.auth_base_url.clone_from(&base);
        self.authorize_base_url = base;
        self
    }
}

/// The TikTok Shop implementation of [`Channel`].
pub struct TikTokClient {
    app_key: String,
    app_secret: Secret<String>,
    service_id: String,
    api_base: url::Url,
    auth_base: url::Url,
    authorize_base: url::Url,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    pacer: Pacer,
}

impl std::fmt::Debug for TikTokClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TikTokClient")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Who a call acts for.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Seller-level calls (authorization/*): token, no shop cipher.
    Seller { token: &'a Secret<String> },
    /// Shop-scoped calls: token and `shop_cipher`.
    Shop {
        token: &'a Secret<String>,
        cipher: &'a str,
    },
}

impl<'a> Scope<'a> {
    fn shop(creds: &'a ShopCredentials) -> Result<Self, ChannelError> {
        let cipher = creds
            .shop
            .cipher
            .as_deref()
            .ok_or_else(|| ChannelError::config("TikTok shop calls need the shop cipher"))?;
        Ok(Scope::Shop {
            token: &creds.access_token,
            cipher,
        })
    }
}

impl TikTokClient {
    /// A client with its own connection pool.
    pub fn new(config: TikTokConfig, clock: Arc<dyn Clock>) -> Result<Self, ChannelError> {
        let http = build_http_client(&config.http)?;
        Self::with_http_client(config, clock, http)
    }

    /// A client sharing an existing pool (`config.http` is then unused).
    pub fn with_http_client(
        config: TikTokConfig,
        clock: Arc<dyn Clock>,
        http: reqwest::Client,
    ) -> Result<Self, ChannelError> {
        Ok(Self {
            api_base: parse_base_url("TikTok API base URL", &config.api_base_url)?,
            auth_base: parse_base_url("TikTok auth base URL", &config.auth_base_url)?,
            authorize_base: parse_base_url(
                "TikTok authorize base URL",
                &config.authorize_base_url,
            )?,
            app_key: config.app_key,
            app_secret: config.app_secret,
            service_id: config.service_id,
            http,
            pacer: Pacer::new(config.pace_per_second),
            clock,
        })
    }

    /// Builds and sends one signed API call. The body is serialized once;
    /// those exact bytes are signed and sent.
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        scope: Scope<'_>,
        params: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ChannelError> {
        let shop = match scope {
            Scope::Shop { cipher, .. } => Some(cipher),
            Scope::Seller { .. } => None,
        };
        // Paced before signing, so a wait cannot age the timestamp; per
        // API, not per path — a product's id is part of some paths, and
        // TikTok counts the API.
        let reply = self
            .pacer
            .call(shop, operation, async {
                let timestamp = unix_seconds(self.clock.now()).to_string();
                let mut query: Vec<(&str, &str)> =
                    vec![("app_key", &self.app_key), ("timestamp", &timestamp)];
                let token = match scope {
                    Scope::Seller { token } => token,
                    Scope::Shop { token, cipher } => {
                        query.push(("shop_cipher", cipher));
                        token
                    }
                };
                query.extend_from_slice(params);
                let signature = sign::sign(self.app_secret.expose(), path, &query, body.as_deref());

                let mut url = join_url(&self.api_base, path)?;
                url.query_pairs_mut()
                    .extend_pairs(query.iter().copied())
                    .append_pair("sign", &signature);
                let mut builder = self
                    .http
                    .request(method, url)
                    .header("x-tts-access-token", token.expose());
                if let Some(body) = body {
                    builder = builder
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                }
                let request = builder.build().map_err(|e| {
                    ChannelError::config(format!("cannot build request: {}", e.without_url()))
                })?;
                execute(&self.http, request, Marketplace::TikTokShop, operation).await
            })
            .await?;
        // A throttle comes back as an answer, not a failed request: the
        // pacer holds the key all the same.
        if let (Some(shop), Some(ban)) = (shop, throttle_of(&reply)) {
            self.pacer.throttled(shop, operation, ban);
        }
        Ok(reply)
    }

    /// Sends a call and returns the envelope's `data` (empty default when
    /// the answer carries none).
    async fn call<T: DeserializeOwned + Default>(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        scope: Scope<'_>,
        params: &[(&str, &str)],
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, ChannelError> {
        let body = body.map(to_body).transpose()?;
        let reply = self
            .send(operation, method, path, scope, params, body)
            .await?;
        data(operation, &reply)
    }

    /// Calls the token host (`get` or `refresh`). These calls are not signed:
    /// the app secret travels in the query, which is why no URL is ever
    /// logged.
    async fn token_call(
        &self,
        operation: &'static str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<TokenSet, ChannelError> {
        let mut url = join_url(&self.auth_base, path)?;
        url.query_pairs_mut()
            .append_pair("app_key", &self.app_key)
            .append_pair("app_secret", self.app_secret.expose())
            .extend_pairs(params.iter().copied());
        let request = self.http.get(url).build().map_err(|e| {
            ChannelError::config(format!("cannot build request: {}", e.without_url()))
        })?;
        let reply = execute(&self.http, request, Marketplace::TikTokShop, operation).await?;
        // The token host refusing a code or refresh token (expired, used,
        // revoked, unknown; the codes are not documented) means the grant is
        // gone and the seller must authorize again: `Unauthorized`, never
        // `TokenExpired` (a refresh cannot fix a refresh) nor a plain
        // `Invalid` request.
        let token: Option<wire::Token> = data_opt(operation, &reply).map_err(|e| match e {
            ChannelError::Invalid { code, message }
            | ChannelError::TokenExpired { code, message } => {
                ChannelError::Unauthorized { code, message }
            }
            other => other,
        })?;
        let token = token
            .ok_or_else(|| ChannelError::protocol(format!("{operation}: answer has no token")))?;
        Ok(TokenSet {
            access_token: Secret::new(token.access_token),
            refresh_token: Secret::new(token.refresh_token),
            access_expires_at: seconds(token.access_token_expire_in),
            refresh_expires_at: token
                .refresh_token_expire_in
                .filter(|s| *s > 0)
                .map(seconds),
        })
    }

    /// Sends one product's inventory or price update and returns one result
    /// per update in the batch. Per-SKU errors in `data.errors` become
    /// rejections of those SKUs; a call-level business refusal (`Invalid`)
    /// rejects every SKU in the batch; other errors abort.
    async fn post_update(
        &self,
        operation: &'static str,
        path: &str,
        creds: &ShopCredentials,
        batch: &Batch,
        warehouse_of: impl Fn(usize) -> Option<crate::ids::WarehouseId>,
        body: Vec<u8>,
    ) -> Result<Vec<(usize, UpdateResult)>, ChannelError> {
        let reply = self
            .send(
                operation,
                Method::POST,
                path,
                Scope::shop(creds)?,
                &[],
                Some(body),
            )
            .await?;
        let (errors, batch_failure) = match data_opt::<wire::UpdateErrors>(operation, &reply) {
            Ok(d) => (d.unwrap_or_default().errors, None),
            Err(ChannelError::Invalid { code, message }) => {
                // The refusal may still list the SKUs it concerns.
                let listed =
                    serde_json::from_slice::<wire::Envelope<wire::UpdateErrors>>(&reply.body)
                        .ok()
                        .and_then(|e| e.data)
                        .map(|d| d.errors)
                        .unwrap_or_default();
                let per_sku = listed
                    .iter()
                    .any(|e| e.detail.as_ref().and_then(|d| d.sku_id.as_ref()).is_some());
                if per_sku {
                    (listed, None)
                } else {
                    let code_num = code.parse().unwrap_or(0);
                    (
                        Vec::new(),
                        Some(UpdateFailure {
                            reason: map::failure_reason(code_num, &message),
                            code,
                            message,
                        }),
                    )
                }
            }
            Err(other) => return Err(other),
        };
        let mut out = Vec::new();
        for (variant_id, indices) in &batch.variants {
            let failure = batch_failure.clone().or_else(|| {
                errors
                    .iter()
                    .find(|e| {
                        // An error naming no SKU concerns the whole product.
                        e.detail
                            .as_ref()
                            .and_then(|d| d.sku_id.as_deref())
                            .is_none_or(|sku| sku == variant_id.as_str())
                    })
                    .map(|e| UpdateFailure {
                        reason: map::failure_reason(e.code, &e.message),
                        code: e.code.to_string(),
                        message: e.message.clone(),
                    })
            });
            for &index in indices {
                out.push((
                    index,
                    UpdateResult {
                        listing_id: batch.listing_id.clone(),
                        variant_id: variant_id.clone(),
                        warehouse_id: warehouse_of(index),
                        outcome: failure
                            .clone()
                            .map_or(UpdateOutcome::Applied, UpdateOutcome::Rejected),
                    },
                ));
            }
        }
        Ok(out)
    }
}

fn seconds(unix: i64) -> Timestamp {
    Timestamp::from_millis(unix.saturating_mul(1000))
}

fn to_body(value: &(impl Serialize + Sync)) -> Result<Vec<u8>, ChannelError> {
    serde_json::to_vec(value)
        .map_err(|e| ChannelError::protocol(format!("cannot encode request: {e}")))
}

/// How long the marketplace holds us back, if the answer is a throttle
/// (HTTP 429 with code 36009002). A successful answer is not read here: it
/// is read once, by whoever decodes it.
fn throttle_of(reply: &Reply) -> Option<Duration> {
    if reply.status.is_success() {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Head {
        code: Option<i64>,
    }
    let code = serde_json::from_slice::<Head>(&reply.body)
        .ok()
        .and_then(|h| h.code)
        .unwrap_or(0);
    match map::classify_error(code, "", reply.status, reply.retry_after) {
        ChannelError::RateLimited { retry_after } => Some(retry_after.unwrap_or(THROTTLE_BAN)),
        _ => None,
    }
}

/// The envelope's `data`, or the classified error.
fn data_opt<T: DeserializeOwned>(
    operation: &str,
    reply: &Reply,
) -> Result<Option<T>, ChannelError> {
    let head: Option<wire::Envelope<serde_json::Value>> = serde_json::from_slice(&reply.body).ok();
    match head.as_ref().and_then(|h| h.code) {
        Some(0) => {}
        Some(code) => {
            let message = head
                .as_ref()
                .and_then(|h| h.message.as_deref())
                .unwrap_or("");
            return Err(map::classify_error(
                code,
                message,
                reply.status,
                reply.retry_after,
            ));
        }
        None => return Err(status_error(reply)),
    }
    if !reply.status.is_success() {
        return Err(status_error(reply));
    }
    let envelope: wire::Envelope<T> = serde_json::from_slice(&reply.body)
        .map_err(|e| ChannelError::protocol(format!("{operation}: cannot read the answer: {e}")))?;
    Ok(envelope.data)
}

fn data<T: DeserializeOwned + Default>(operation: &str, reply: &Reply) -> Result<T, ChannelError> {
    data_opt(operation, reply).map(Option::unwrap_or_default)
}

fn next_cursor(token: Option<String>, got_any: bool) -> Option<PageCursor> {
    token.filter(|t| !t.is_empty() && got_any).map(PageCursor)
}

#[async_trait]
impl Channel for TikTokClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::TikTokShop
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    /// The callback URL is fixed in Partner Center, so `redirect_url` is not
    /// sent; `state` comes back as a query parameter.
    fn authorize_url(&self, _redirect_url: &str, state: &str) -> Result<url::Url, ChannelError> {
        let mut url = join_url(&self.authorize_base, PATH_AUTHORIZE)?;
        url.query_pairs_mut()
            .append_pair("service_id", &self.service_id)
            .append_pair("state", state);
        Ok(url)
    }

    async fn exchange_code(&self, callback: &AuthCallback) -> Result<Authorization, ChannelError> {
        let tokens = self
            .token_call(
                "token_get",
                PATH_TOKEN_GET,
                &[
                    ("auth_code", callback.code.expose()),
                    ("grant_type", "authorized_code"),
                ],
            )
            .await?;
        let shops = self.authorized_shops(&tokens.access_token, None).await?;
        Ok(Authorization { tokens, shops })
    }

    async fn refresh_token(
        &self,
        _shop: &ShopRef,
        refresh_token: &Secret<String>,
    ) -> Result<TokenSet, ChannelError> {
        self.token_call(
            "token_refresh",
            PATH_TOKEN_REFRESH,
            &[
                ("refresh_token", refresh_token.expose()),
                ("grant_type", "refresh_token"),
            ],
        )
        .await
    }

    async fn authorized_shops(
        &self,
        access_token: &Secret<String>,
        _shop: Option<&ShopRef>,
    ) -> Result<Vec<AuthorizedShop>, ChannelError> {
        let shops: wire::Shops = self
            .call(
                "get_authorized_shops",
                Method::GET,
                PATH_AUTHORIZED_SHOPS,
                Scope::Seller {
                    token: access_token,
                },
                &[],
                None::<&()>,
            )
            .await?;
        Ok(shops
            .shops
            .into_iter()
            .map(|s| AuthorizedShop {
                shop: ShopRef::new(s.id.as_str()).with_cipher(s.cipher),
                name: s.name,
                region: s.region,
            })
            .collect())
    }

    async fn list_listings(
        &self,
        creds: &ShopCredentials,
        query: &ListingQuery,
        cursor: Option<&PageCursor>,
    ) -> Result<ListingPage, ChannelError> {
        let page_size = PAGE_SIZE.to_string();
        let mut params = vec![("page_size", page_size.as_str())];
        if let Some(c) = cursor {
            params.push(("page_token", c.0.as_str()));
        }
        let body = wire::SearchProductsBody {
            update_time_ge: query.updated_since.map(unix_seconds),
        };
        let page: wire::ProductPage = self
            .call(
                "search_products",
                Method::POST,
                PATH_SEARCH_PRODUCTS,
                Scope::shop(creds)?,
                &params,
                Some(&body),
            )
            .await?;
        let listings = page
            .products
            .iter()
            .map(map::listing)
            .collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(page.next_page_token, !listings.is_empty());
        Ok(ListingPage { listings, next })
    }

    async fn update_stock(
        &self,
        creds: &ShopCredentials,
        updates: &[StockUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let mut calls = Vec::new();
        for batch in plan_batches(updates, |u| (&u.listing_id, &u.variant_id), None) {
            let skus = batch
                .variants
                .iter()
                .map(|(variant, indices)| wire::InventorySku {
                    id: variant.as_str().to_owned(),
                    inventory: indices
                        .iter()
                        .filter_map(|&i| updates.get(i))
                        .map(|u| wire::InventoryEntry {
                            warehouse_id: u.warehouse_id.as_ref().map(|w| w.as_str().to_owned()),
                            quantity: u.quantity.min(CAPABILITIES.max_stock_quantity),
                        })
                        .collect(),
                })
                .collect();
            let body = to_body(&wire::UpdateInventoryBody { skus })?;
            calls.push((batch, body));
        }
        // One product per call: send several at once (the pacer keeps them
        // within the shop's 50 a second per API); a call that fails does not
        // lose what the others applied.
        let warehouse_of = |i: usize| updates.get(i).and_then(|u| u.warehouse_id.clone());
        let answers: Vec<_> = stream::iter(calls)
            .map(|(batch, body)| async move {
                let path = inventory_path(batch.listing_id.as_str());
                let found = self
                    .post_update("update_inventory", &path, creds, &batch, warehouse_of, body)
                    .await;
                (batch.indices().collect::<Vec<_>>(), found)
            })
            .buffered(PARALLEL_CALLS)
            .collect()
            .await;
        gather_results(updates, answers)
    }

    async fn update_prices(
        &self,
        creds: &ShopCredentials,
        updates: &[PriceUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let mut results: Vec<Option<UpdateResult>> = vec![None; updates.len()];
        for batch in plan_batches(updates, |u| (&u.listing_id, &u.variant_id), None) {
            let skus = batch
                .variants
                .iter()
                .filter_map(|(variant, indices)| {
                    // A variant has one price; if it was given twice the last wins.
                    let update = indices.last().and_then(|&i| updates.get(i))?;
                    Some(wire::PriceSku {
                        id: variant.as_str().to_owned(),
                        price: wire::PriceAmount {
                            amount: money_to_decimal(update.price),
                            currency: update.price.currency.as_str().to_owned(),
                        },
                    })
                })
                .collect();
            let body = to_body(&wire::UpdatePriceBody { skus })?;
            let path = price_path(batch.listing_id.as_str());
            for (index, result) in self
                .post_update("update_price", &path, creds, &batch, |_| None, body)
                .await?
            {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(result);
                }
            }
        }
        Ok(results.into_iter().flatten().collect())
    }

    async fn changed_orders(
        &self,
        creds: &ShopCredentials,
        range: TimeRange,
    ) -> Result<Vec<ChangedOrder>, ChannelError> {
        let scope = Scope::shop(creds)?;
        let page_size = PAGE_SIZE.to_string();
        let mut seen: HashSet<String> = HashSet::new();
        let mut orders = Vec::new();
        for (from, to) in split_seconds(range, CAPABILITIES.max_order_window) {
            let body = wire::SearchOrdersBody {
                update_time_ge: from,
                update_time_lt: to,
            };
            let mut token: Option<String> = None;
            loop {
                let mut params = vec![
                    ("page_size", page_size.as_str()),
                    ("sort_field", "update_time"),
                    ("sort_order", "ASC"),
                ];
                if let Some(t) = &token {
                    params.push(("page_token", t.as_str()));
                }
                let page: wire::OrderPage = self
                    .call(
                        "search_orders",
                        Method::POST,
                        PATH_SEARCH_ORDERS,
                        scope,
                        &params,
                        Some(&body),
                    )
                    .await?;
                let got_any = !page.orders.is_empty();
                for o in &page.orders {
                    if seen.insert(o.id.clone()) {
                        let order = map::order(o)?;
                        orders.push(ChangedOrder {
                            order_id: order.order_id.clone(),
                            status: Some(order.status),
                            detail: Some(order),
                        });
                    }
                }
                match next_cursor(page.next_page_token, got_any) {
                    Some(next) if Some(&next.0) != token.as_ref() => token = Some(next.0),
                    Some(_) => {
                        return Err(ChannelError::protocol(
                            "search_orders returned the same page token again",
                        ));
                    }
                    None => break,
                }
            }
        }
        Ok(orders)
    }

    async fn order_details(
        &self,
        creds: &ShopCredentials,
        ids: &[ExtOrderId],
    ) -> Result<Vec<Order>, ChannelError> {
        let scope = Scope::shop(creds)?;
        let mut orders = Vec::with_capacity(ids.len());
        for chunk in dedup_keep_order(ids).chunks(MAX_ORDER_IDS) {
            // Arrays go comma-joined in one value; a repeated key would be
            // signed differently by the server.
            let joined = chunk
                .iter()
                .map(ExtOrderId::as_str)
                .collect::<Vec<_>>()
                .join(",");
            let answer: wire::Orders = self
                .call(
                    "get_order_detail",
                    Method::GET,
                    PATH_ORDER_DETAIL,
                    scope,
                    &[("ids", &joined)],
                    None::<&()>,
                )
                .await?;
            for o in &answer.orders {
                orders.push(map::order(o)?);
            }
        }
        Ok(orders)
    }

    async fn ship_order(
        &self,
        creds: &ShopCredentials,
        request: &ShipRequest,
    ) -> Result<Shipment, ChannelError> {
        let scope = Scope::shop(creds)?;
        let package_ids: Vec<String> = match &request.package_id {
            Some(p) => vec![p.as_str().to_owned()],
            None => self
                .order_details(creds, std::slice::from_ref(&request.order_id))
                .await?
                .iter()
                .flat_map(|o| &o.packages)
                .filter_map(|p| p.package_id.as_ref().map(|id| id.as_str().to_owned()))
                .collect(),
        };
        if package_ids.is_empty() {
            return Err(ChannelError::Invalid {
                code: "no_package".into(),
                message: format!("order {} has no package to ship", request.order_id),
            });
        }
        let body = wire::ShipPackageBody {
            handover_method: match request.handover {
                Handover::Pickup => "PICKUP",
                Handover::DropOff => "DROP_OFF",
            },
            self_shipment: request.tracking_number.as_deref().map(|tracking_number| {
                wire::SelfShipment {
                    tracking_number,
                    shipping_provider_id: request.shipping_provider_id.as_deref(),
                }
            }),
        };
        let mut packages = Vec::with_capacity(package_ids.len());
        for package in package_ids {
            let _: serde_json::Value = self
                .call(
                    "ship_package",
                    Method::POST,
                    &ship_path(&package),
                    scope,
                    &[],
                    Some(&body),
                )
                .await?;
            packages.push(Package {
                package_id: Some(crate::ids::PackageId::new(package)),
                tracking_number: request.tracking_number.clone(),
                carrier: None,
                status: None,
            });
        }
        Ok(Shipment { packages })
    }

    async fn cancel_order(
        &self,
        creds: &ShopCredentials,
        request: &CancelRequest,
    ) -> Result<Cancellation, ChannelError> {
        let scope = Scope::shop(creds)?;
        let mut skus = Vec::new();
        if !request.lines.is_empty() {
            // A partial cancellation names SKUs with quantities, which only
            // the order knows.
            let orders = self
                .order_details(creds, std::slice::from_ref(&request.order_id))
                .await?;
            for line in orders.iter().flat_map(|o| &o.lines) {
                if request
                    .lines
                    .iter()
                    .any(|(l, v)| *l == line.listing_id && *v == line.variant_id)
                {
                    skus.push(wire::CancelSku {
                        sku_id: line.variant_id.as_str().to_owned(),
                        quantity: line.quantity,
                    });
                }
            }
        }
        let body = wire::CancelBody {
            order_id: request.order_id.as_str(),
            cancel_reason: match request.reason {
                CancelReason::OutOfStock => CANCEL_OUT_OF_STOCK,
                CancelReason::UndeliverableArea => CANCEL_UNDELIVERABLE,
            },
            skus,
        };
        let answer: wire::CancelAnswer = self
            .call(
                "cancel_order",
                Method::POST,
                PATH_CANCEL,
                scope,
                &[],
                Some(&body),
            )
            .await?;
        Ok(Cancellation {
            cancel_id: answer.cancel_id,
            status: answer.cancel_status,
        })
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<(), ChannelError> {
        let received = request
            .headers
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ChannelError::webhook("missing Authorization header"))?;
        let expected =
            sign::webhook_signature(&self.app_key, self.app_secret.expose(), request.body);
        if crate::sign::signature_matches(&expected, received) {
            Ok(())
        } else {
            Err(ChannelError::webhook("signature does not match"))
        }
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<WebhookEvent>, ChannelError> {
        let hook: wire::Webhook = serde_json::from_slice(body)
            .map_err(|e| ChannelError::webhook(format!("malformed webhook: {e}")))?;
        map::webhook_events(&hook)
    }
}

#[cfg(test)]
mod tests;
