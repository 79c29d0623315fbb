//! Lazada Open Platform (LazOP) client (fact sheet §3): one API host per
//! venture (`https://api.lazada.sg/rest`, …), one auth host for every
//! country, calls signed over the API name and sorted parameters with
//! uppercase-hex HMAC-SHA256 and millisecond timestamps, the access token as
//! a parameter, string `code` envelopes, XML payloads for stock and price
//! writes, one order item per unit.
//!
//! GET calls carry every parameter in the query; POST calls carry them all
//! as an `application/x-www-form-urlencoded` body (as the official Python
//! SDK does), so XML payloads never travel in a URL.
//!
//! A cross-border seller has a shop in several ventures under one
//! authorization, so the venture is per shop: connecting learns each shop's
//! country from the token answer and puts its code (`"MY"`) in
//! [`ShopRef::cipher`]; every shop-scoped call picks that venture's API host
//! and currency, and falls back to the configured venture when the shop
//! carries none.

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
use storesync_crypto::Secret;
use storesync_domain::{Clock, Currency, Timestamp};

use crate::batch::{dedup_keep_order, gather_results};
use crate::channel::{Capabilities, Channel, Marketplace, WebhookCapabilities};
use crate::error::ChannelError;
use crate::http::{
    build_http_client, execute, join_url, parse_base_url, status_error, HttpSettings, Reply,
};
use crate::ids::{ExtOrderId, ExtVariantId, ListingId, PackageId, WarehouseId};
use crate::model::{
    AuthCallback, Authorization, AuthorizedShop, CancelReason, CancelRequest, Cancellation,
    ChangedOrder, ListingPage, ListingQuery, Order, Package, PageCursor, PriceUpdate, ShipRequest,
    Shipment, ShopCredentials, ShopRef, StockUpdate, TokenSet, UpdateFailure, UpdateOutcome,
    UpdateResult, WebhookEvent, WebhookRequest,
};
use crate::money::money_to_decimal;
use crate::pace::Pacer;
use crate::window::TimeRange;

/// Auth host for every venture (token create and refresh).
pub const DEFAULT_AUTH_BASE_URL: &str = "https://auth.lazada.com/rest";
/// Seller consent page host.
pub const DEFAULT_AUTHORIZE_BASE_URL: &str = "https://auth.lazada.com";

const PATH_AUTHORIZE: &str = "/oauth/authorize";
const API_TOKEN_CREATE: &str = "/auth/token/create";
const API_TOKEN_REFRESH: &str = "/auth/token/refresh";
const API_SELLER: &str = "/seller/get";
const API_PRODUCTS: &str = "/products/get";
/// Calls of one kind in flight at once for one shop; the pacer keeps them
/// within the API's limit.
const PARALLEL_CALLS: usize = 8;
const API_SELLABLE_UPDATE: &str = "/product/stock/sellable/update";
const API_PRICE_QUANTITY_UPDATE: &str = "/product/price_quantity/update";
const API_ORDERS: &str = "/orders/get";
const API_ORDER_ITEMS: &str = "/order/items/get";
const API_MULTI_ORDER_ITEMS: &str = "/orders/items/get";
const API_PACK: &str = "/order/fulfill/pack";
const API_RTS: &str = "/order/package/rts";
const API_CANCEL_VALIDATE: &str = "/order/reverse/cancel/validate";
const API_CANCEL_CREATE: &str = "/order/reverse/cancel/create";

/// SKUs per stock or price write (E204 above this).
pub const MAX_SKUS_PER_UPDATE: usize = 50;
/// Orders per `/orders/items/get` call (E038 above this).
pub const MAX_ORDER_IDS: usize = 50;
/// Orders per `/orders/get` page.
pub const ORDER_PAGE_SIZE: u32 = 100;
/// Products per `/products/get` page.
pub const PRODUCT_PAGE_SIZE: u32 = 50;
/// Orders per pack or ready-to-ship call.
const MAX_PACK_ORDERS: usize = 20;
/// Access tokens live 7 days for apps in Test status and 30 days Online;
/// the shorter one is assumed for scheduling refreshes.
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 86_400);

/// Default calls per second per (shop, API): the docs' example per-API
/// limit, which the sandbox enforces by default.
pub const DEFAULT_PACE: u32 = 30;

/// What Lazada can and cannot do (fact sheet §3.5–§3.9).
pub const CAPABILITIES: Capabilities = Capabilities {
    // One XML payload may name SKUs of different products.
    max_listings_per_stock_call: MAX_SKUS_PER_UPDATE,
    max_variants_per_stock_call: Some(MAX_SKUS_PER_UPDATE),
    max_variants_per_price_call: Some(MAX_SKUS_PER_UPDATE),
    stock_update_lists_all_warehouses: false,
    max_orders_per_detail_call: MAX_ORDER_IDS,
    max_order_window: None,
    order_page_size: ORDER_PAGE_SIZE,
    listing_page_size: PRODUCT_PAGE_SIZE,
    order_list_includes_details: false,
    rate_limit_per_api_per_shop: None,
    refresh_token_single_use: true,
    access_token_lifetime: ACCESS_TOKEN_LIFETIME,
    // Seller Center caps a SKU's quantity at 999,999 (UNCONFIRMED: the
    // API documents none).
    max_stock_quantity: 999_999,
    webhooks: WebhookCapabilities {
        order_status: true,
        // Product pushes (types 3–5) and the shallow-stock alert (type 6, below 5 units) do not
        // report ordinary stock edits, so listings are polled with `updated_since`.
        listing_changes: false,
        deauthorization: false,
        authorization_expiry: true,
        // Retried every 30 min up to 12 times (6 h); a retry may carry a
        // newer status, so twice that.
        replay_window_ms: 12 * 3_600_000,
    },
};

/// The six Lazada countries, each with its own API host and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venture {
    Sg,
    My,
    Th,
    Vn,
    Ph,
    Id,
}

impl Venture {
    pub const ALL: [Venture; 6] = [
        Venture::Sg,
        Venture::My,
        Venture::Th,
        Venture::Vn,
        Venture::Ph,
        Venture::Id,
    ];

    /// The real API base, `/rest` included.
    pub fn api_base_url(&self) -> &'static str {
        match self {
            Venture::Sg => "https://api.lazada.sg/rest",
            Venture::My => "https://api.lazada.com.my/rest",
            Venture::Th => "https://api.lazada.co.th/rest",
            Venture::Vn => "https://api.lazada.vn/rest",
            Venture::Ph => "https://api.lazada.com.ph/rest",
            Venture::Id => "https://api.lazada.co.id/rest",
        }
    }

    /// Two-letter uppercase country code.
    pub fn code(&self) -> &'static str {
        match self {
            Venture::Sg => "SG",
            Venture::My => "MY",
            Venture::Th => "TH",
            Venture::Vn => "VN",
            Venture::Ph => "PH",
            Venture::Id => "ID",
        }
    }

    pub fn currency_code(&self) -> &'static str {
        match self {
            Venture::Sg => "SGD",
            Venture::My => "MYR",
            Venture::Th => "THB",
            Venture::Vn => "VND",
            Venture::Ph => "PHP",
            Venture::Id => "IDR",
        }
    }
}

impl std::str::FromStr for Venture {
    type Err = ChannelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Venture::ALL
            .into_iter()
            .find(|v| v.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ChannelError::config(format!("unknown Lazada venture {s:?}")))
    }
}

/// App credentials and endpoints of a Lazada app. `venture` is the default
/// for shops whose [`ShopRef`] names none.
#[derive(Debug, Clone)]
pub struct LazadaConfig {
    pub app_key: String,
    pub app_secret: Secret<String>,
    pub venture: Venture,
    /// API base of `venture`, including `/rest`.
    pub api_base_url: String,
    /// API bases (including `/rest`) of other ventures that do not use the
    /// real host: a sandbox or a proxy.
    pub venture_api_base_urls: Vec<(Venture, String)>,
    /// Token host base including `/rest`.
    pub auth_base_url: String,
    /// Consent page host (`/oauth/authorize` is appended).
    pub authorize_base_url: String,
    pub http: HttpSettings,
    /// Calls per second per (shop, API) the client allows itself: Lazada
    /// publishes limits per API only by example (30 QPS), answering excess
    /// with `ApiCallLimit` and a ban.
    pub pace_per_second: u32,
}

impl LazadaConfig {
    pub fn new(app_key: impl Into<String>, app_secret: Secret<String>, venture: Venture) -> Self {
        Self {
            app_key: app_key.into(),
            app_secret,
            venture,
            api_base_url: venture.api_base_url().to_owned(),
            venture_api_base_urls: Vec::new(),
            auth_base_url: DEFAULT_AUTH_BASE_URL.to_owned(),
            authorize_base_url: DEFAULT_AUTHORIZE_BASE_URL.to_owned(),
            pace_per_second: DEFAULT_PACE,
            http: HttpSettings::default(),
        }
    }

    pub fn with_pace(mut self, per_second: u32) -> Self {
        self.pace_per_second = per_second;
        self
    }

    /// Points API (of every venture), token and consent hosts at one
    /// server (a sandbox serves `/rest/...` and `/oauth/authorize` on one
    /// port).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        let base = base_url.into();
        let trimmed = base.trim_end_matches('/');
        let api = format!("{trimmed}/rest");
        self.venture_api_base_urls = Venture::ALL.iter().map(|v| (*v, api.clone())).collect();
        self.api_base_url = api;
        self.auth_base_url = format!("{trimmed}/rest");
        self.authorize_base_url = trimmed.to_owned();
        self
    }

    /// Overrides one venture's API host (base including `/rest`).
    pub fn with_venture_api_base_url(
        mut self,
        venture: Venture,
        base_url: impl Into<String>,
    ) -> Self {
        let base = base_url.into();
        if venture == self.venture {
            self.api_base_url = base.clone();
        }
        self.venture_api_base_urls.retain(|(v, _)| *v != venture);
        self.venture_api_base_urls.push((venture, base));
        self
    }

    /// Overrides the token host alone (base including `/rest`).
    pub fn with_auth_base_url(mut self, auth_base_url: impl Into<String>) -> Self {
        self.auth_base_url = auth_base_url.into();
        self
    }
}

/// The Lazada implementation of [`Channel`].
pub struct LazadaClient {
    app_key: String,
    app_secret: Secret<String>,
    venture: Venture,
    /// The API base of every venture, in [`Venture::ALL`] order.
    api_bases: [url::Url; 6],
    auth_base: url::Url,
    authorize_base: url::Url,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    pacer: Pacer,
}

impl std::fmt::Debug for LazadaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazadaClient")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("venture", &self.venture)
            .field("api_base", &self.api_base(self.venture).as_str())
            .finish_non_exhaustive()
    }
}

/// Which host a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    /// The API host of a venture.
    Api(Venture),
    Auth,
}

impl LazadaClient {
    /// A client with its own connection pool.
    pub fn new(config: LazadaConfig, clock: Arc<dyn Clock>) -> Result<Self, ChannelError> {
        let http = build_http_client(&config.http)?;
        Self::with_http_client(config, clock, http)
    }

    /// A client sharing an existing pool (`config.http` is then unused).
    pub fn with_http_client(
        config: LazadaConfig,
        clock: Arc<dyn Clock>,
        http: reqwest::Client,
    ) -> Result<Self, ChannelError> {
        let mut api_bases = Vec::with_capacity(Venture::ALL.len());
        for v in Venture::ALL {
            let base = if v == config.venture {
                config.api_base_url.as_str()
            } else {
                config
                    .venture_api_base_urls
                    .iter()
                    .find(|(o, _)| *o == v)
                    .map_or(v.api_base_url(), |(_, b)| b.as_str())
            };
            api_bases.push(parse_base_url("Lazada API base URL", base)?);
        }
        let api_bases: [url::Url; 6] = api_bases
            .try_into()
            .map_err(|_| ChannelError::config("one Lazada API base per venture"))?;
        Ok(Self {
            api_bases,
            auth_base: parse_base_url("Lazada auth base URL", &config.auth_base_url)?,
            authorize_base: parse_base_url(
                "Lazada authorize base URL",
                &config.authorize_base_url,
            )?,
            app_key: config.app_key,
            app_secret: config.app_secret,
            venture: config.venture,
            http,
            clock,
            pacer: Pacer::new(config.pace_per_second),
        })
    }

    /// The default venture, for shops whose [`ShopRef`] names none.
    pub fn venture(&self) -> Venture {
        self.venture
    }

    /// The venture a shop sells in: the code in its [`ShopRef::cipher`],
    /// else the configured one. An unknown code is a configuration error
    /// (nothing is sent).
    pub fn venture_of(&self, shop: &ShopRef) -> Result<Venture, ChannelError> {
        match shop
            .cipher
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(code) => code.parse(),
            None => Ok(self.venture),
        }
    }

    fn api_base(&self, venture: Venture) -> &url::Url {
        // The variants are declared in `Venture::ALL` order, six of them.
        &self.api_bases[venture as usize]
    }

    /// The currency of a shop's venture.
    fn currency_of(&self, shop: &ShopRef) -> Result<Currency, ChannelError> {
        let venture = self.venture_of(shop)?;
        venture
            .currency_code()
            .parse()
            .map_err(|_| ChannelError::config(format!("currency of {} unknown", venture.code())))
    }

    /// Builds and sends one signed call: system parameters, the token when
    /// given, the business parameters; signed over all of them.
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        host: Host,
        api_name: &str,
        token: Option<&Secret<String>>,
        params: &[(&str, &str)],
    ) -> Result<Reply, ChannelError> {
        let timestamp = self.clock.now().millis().to_string();
        let mut all: Vec<(&str, &str)> = vec![
            ("app_key", self.app_key.as_str()),
            ("timestamp", timestamp.as_str()),
            ("sign_method", "sha256"),
        ];
        if let Some(token) = token {
            all.push(("access_token", token.expose().as_str()));
        }
        // Empty values are left out: SDKs disagree on whether they are signed.
        all.extend(params.iter().copied().filter(|(_, v)| !v.is_empty()));
        let signature = sign::sign(self.app_secret.expose(), api_name, &all);
        all.push(("sign", signature.as_str()));

        let base = match host {
            Host::Api(venture) => self.api_base(venture),
            Host::Auth => &self.auth_base,
        };
        let mut url = join_url(base, api_name)?;
        let builder = if method == Method::GET {
            url.query_pairs_mut().extend_pairs(all.iter().copied());
            self.http.get(url)
        } else {
            let body = form_body(&all);
            self.http
                .request(method, url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded;charset=utf-8",
                )
                .body(body)
        };
        let request = builder.build().map_err(|e| {
            ChannelError::config(format!("cannot build request: {}", e.without_url()))
        })?;
        execute(&self.http, request, Marketplace::Lazada, operation).await
    }

    /// Sends a call and returns `data` (or the `result` wrapper's place).
    async fn call<T: DeserializeOwned + Default>(
        &self,
        operation: &'static str,
        method: Method,
        api_name: &str,
        creds: &ShopCredentials,
        params: &[(&str, &str)],
    ) -> Result<T, ChannelError> {
        let venture = self.venture_of(&creds.shop)?;
        // Paced before signing, so a wait cannot age the timestamp.
        self.pacer
            .call(Some(creds.shop.shop_id.as_str()), api_name, async {
                let reply = self
                    .send(
                        operation,
                        method,
                        Host::Api(venture),
                        api_name,
                        Some(&creds.access_token),
                        params,
                    )
                    .await?;
                envelope::<T>(operation, &reply).map(|e| e.data.or(e.result).unwrap_or_default())
            })
            .await
    }

    /// A token call; returns the pair and the answer (which names the
    /// seller's countries).
    async fn token_call(
        &self,
        operation: &'static str,
        api_name: &str,
        params: &[(&str, &str)],
    ) -> Result<(TokenSet, wire::Token), ChannelError> {
        let reply = self
            .send(operation, Method::POST, Host::Auth, api_name, None, params)
            .await?;
        check(&reply).map_err(|e| match e {
            // A refused code or refresh token means the grant is gone.
            ChannelError::Invalid { code, message }
            | ChannelError::TokenExpired { code, message } => {
                ChannelError::Unauthorized { code, message }
            }
            other => other,
        })?;
        let token: wire::Token = serde_json::from_slice(&reply.body).map_err(|e| {
            ChannelError::protocol(format!("{operation}: cannot read the token: {e}"))
        })?;
        let now = self.clock.now();
        let set = TokenSet {
            access_token: Secret::new(token.access_token.clone()),
            refresh_token: Secret::new(token.refresh_token.clone()),
            access_expires_at: now.plus_millis(token.expires_in.saturating_mul(1000)),
            refresh_expires_at: token
                .refresh_expires_in
                .filter(|s| *s > 0)
                .map(|s| now.plus_millis(s.saturating_mul(1000))),
        };
        Ok((set, token))
    }

    /// The seller `access_token` acts for in one venture (`/seller/get` on
    /// that venture's host), with the venture code as the shop's handle.
    async fn seller_in(
        &self,
        access_token: &Secret<String>,
        venture: Venture,
        known_id: Option<&str>,
    ) -> Result<AuthorizedShop, ChannelError> {
        let creds = ShopCredentials {
            shop: ShopRef::new(known_id.unwrap_or("")).with_cipher(venture.code()),
            access_token: access_token.clone(),
        };
        let seller: wire::Seller = self
            .call("get_seller", Method::GET, API_SELLER, &creds, &[])
            .await?;
        let seller_id = seller
            .seller_id
            .filter(|s| !s.is_empty())
            .or_else(|| known_id.map(str::to_owned))
            .ok_or_else(|| ChannelError::protocol("get_seller: answer has no seller_id"))?;
        Ok(AuthorizedShop {
            shop: ShopRef::new(seller_id.as_str()).with_cipher(venture.code()),
            name: seller.name,
            region: Some(venture.code().to_owned()),
        })
    }

    /// Items of one order.
    async fn items(
        &self,
        creds: &ShopCredentials,
        order_id: &ExtOrderId,
    ) -> Result<Vec<wire::OrderItem>, ChannelError> {
        self.call(
            "get_order_items",
            Method::GET,
            API_ORDER_ITEMS,
            creds,
            &[("order_id", order_id.as_str())],
        )
        .await
    }

    /// Sends one XML write of at most [`MAX_SKUS_PER_UPDATE`] SKUs and
    /// returns one result per entry. Per-SKU `detail` entries reject those
    /// SKUs; a call-level business refusal without per-SKU detail rejects
    /// the whole chunk; token, signature, rate-limit and outage errors abort.
    async fn write_skus(
        &self,
        operation: &'static str,
        api_name: &str,
        creds: &ShopCredentials,
        payload: &str,
        entries: &[(ListingId, ExtVariantId, Option<WarehouseId>)],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let venture = self.venture_of(&creds.shop)?;
        let reply = self
            .send(
                operation,
                Method::POST,
                Host::Api(venture),
                api_name,
                Some(&creds.access_token),
                &[("payload", payload)],
            )
            .await?;
        let (details, chunk_failure) = match check(&reply) {
            Ok(()) => (envelope_details(&reply), None),
            Err(ChannelError::Invalid { code, message }) => {
                let details = envelope_details(&reply);
                if details.iter().any(|d| d.sku_id.is_some()) {
                    (details, None)
                } else {
                    let failure = UpdateFailure {
                        reason: map::failure_reason(&code, &message),
                        code,
                        message,
                    };
                    (Vec::new(), Some(failure))
                }
            }
            Err(other) => return Err(other),
        };
        let fallback_code =
            serde_json::from_slice::<wire::Envelope<serde_json::Value>>(&reply.body)
                .ok()
                .and_then(|e| e.code)
                .unwrap_or_default();
        Ok(entries
            .iter()
            .map(|(listing_id, variant_id, warehouse_id)| {
                let failure = chunk_failure.clone().or_else(|| {
                    details
                        .iter()
                        .find(|d| d.sku_id.as_deref() == Some(variant_id.as_str()))
                        .map(|d| {
                            let code = d.code.clone().unwrap_or_else(|| fallback_code.clone());
                            let message = d.message.clone().unwrap_or_default();
                            UpdateFailure {
                                reason: map::failure_reason(&code, &message),
                                code,
                                message,
                            }
                        })
                });
                UpdateResult {
                    listing_id: listing_id.clone(),
                    variant_id: variant_id.clone(),
                    warehouse_id: warehouse_id.clone(),
                    outcome: failure.map_or(UpdateOutcome::Applied, UpdateOutcome::Rejected),
                }
            })
            .collect())
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.extend_pairs(pairs.iter().copied());
    s.finish()
}

/// Escapes text for an XML element.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Groups entries by variant, keeping all warehouses of a variant together,
/// and cuts the list into chunks of at most [`MAX_SKUS_PER_UPDATE`] SKUs,
/// across products. Returns indices into the input.
fn sku_chunks<T>(
    items: &[T],
    key: impl Fn(&T) -> (&ListingId, &ExtVariantId),
) -> Vec<Vec<Vec<usize>>> {
    let mut variants: Vec<((ListingId, ExtVariantId), Vec<usize>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (l, v) = key(item);
        match variants.iter_mut().find(|((pl, pv), _)| pl == l && pv == v) {
            Some((_, idx)) => idx.push(i),
            None => variants.push(((l.clone(), v.clone()), vec![i])),
        }
    }
    variants
        .chunks(MAX_SKUS_PER_UPDATE)
        .map(|c| c.iter().map(|(_, idx)| idx.clone()).collect())
        .collect()
}

/// Checks the envelope `code`: `"0"` is success, anything else is classified.
fn check(reply: &Reply) -> Result<(), ChannelError> {
    let head: Option<wire::Envelope<serde_json::Value>> = serde_json::from_slice(&reply.body).ok();
    match head.as_ref().and_then(|h| h.code.as_deref()) {
        Some("0") if reply.status.is_success() => Ok(()),
        Some("0") => Err(status_error(reply)),
        Some(code) => {
            let message = head
                .as_ref()
                .and_then(|h| h.message.as_deref())
                .unwrap_or("");
            Err(map::classify_error(
                code,
                message,
                reply.status,
                reply.retry_after,
            ))
        }
        // The token endpoints may answer without `code` (UNCONFIRMED).
        None if reply.status.is_success() && head.is_some() => Ok(()),
        None => Err(status_error(reply)),
    }
}

fn envelope<T: DeserializeOwned>(
    operation: &str,
    reply: &Reply,
) -> Result<wire::Envelope<T>, ChannelError> {
    check(reply)?;
    serde_json::from_slice(&reply.body)
        .map_err(|e| ChannelError::protocol(format!("{operation}: cannot read the answer: {e}")))
}

fn envelope_details(reply: &Reply) -> Vec<wire::UpdateDetail> {
    serde_json::from_slice::<wire::Envelope<serde_json::Value>>(&reply.body)
        .map(|e| e.detail)
        .unwrap_or_default()
}

/// A failed fulfilment `result` (`success: false`) as an error.
fn write_result<T>(operation: &str, r: wire::WriteResult<T>) -> Result<T, ChannelError> {
    if r.success == Some(false) {
        return Err(ChannelError::Invalid {
            code: r.error_code.unwrap_or_else(|| "failed".into()),
            message: r
                .error_msg
                .unwrap_or_else(|| format!("{operation} was refused")),
        });
    }
    r.data
        .ok_or_else(|| ChannelError::protocol(format!("{operation}: answer has no data")))
}

fn ids_list(ids: &[&str]) -> String {
    format!("[{}]", ids.join(","))
}

#[async_trait]
impl Channel for LazadaClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Lazada
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn authorize_url(&self, redirect_url: &str, state: &str) -> Result<url::Url, ChannelError> {
        let mut url = join_url(&self.authorize_base, PATH_AUTHORIZE)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("force_auth", "true")
            .append_pair("redirect_uri", redirect_url)
            .append_pair("client_id", &self.app_key)
            .append_pair("state", state);
        Ok(url)
    }

    /// Creates the token pair, then looks up the seller in every venture
    /// the answer names (`country_user_info`; a cross-border seller has
    /// several), each shop carrying its venture code as its handle. An
    /// answer naming no venture (`country` may be `cb`) means the
    /// configured one.
    async fn exchange_code(&self, callback: &AuthCallback) -> Result<Authorization, ChannelError> {
        let (tokens, answer) = self
            .token_call(
                "token_create",
                API_TOKEN_CREATE,
                &[("code", callback.code.expose())],
            )
            .await?;
        let mut ventures: Vec<(Venture, Option<String>)> = Vec::new();
        for c in answer.countries() {
            if let Ok(v) = c.country.parse::<Venture>() {
                if !ventures.iter().any(|(known, _)| *known == v) {
                    ventures.push((v, c.seller_id.clone().filter(|s| !s.is_empty())));
                }
            }
        }
        if ventures.is_empty() {
            let v = answer
                .country
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(self.venture);
            ventures.push((v, None));
        }
        let mut shops = Vec::with_capacity(ventures.len());
        for (venture, seller_id) in ventures {
            shops.push(
                self.seller_in(&tokens.access_token, venture, seller_id.as_deref())
                    .await?,
            );
        }
        Ok(Authorization { tokens, shops })
    }

    async fn refresh_token(
        &self,
        _shop: &ShopRef,
        refresh_token: &Secret<String>,
    ) -> Result<TokenSet, ChannelError> {
        self.token_call(
            "token_refresh",
            API_TOKEN_REFRESH,
            &[("refresh_token", refresh_token.expose())],
        )
        .await
        .map(|(tokens, _)| tokens)
    }

    /// The seller the token acts for in the shop's venture, or in the
    /// configured one without a shop (`/seller/get`).
    async fn authorized_shops(
        &self,
        access_token: &Secret<String>,
        shop: Option<&ShopRef>,
    ) -> Result<Vec<AuthorizedShop>, ChannelError> {
        let venture = match shop {
            Some(s) => self.venture_of(s)?,
            None => self.venture,
        };
        let known = shop.map(|s| s.shop_id.as_str()).filter(|s| !s.is_empty());
        Ok(vec![self.seller_in(access_token, venture, known).await?])
    }

    async fn list_listings(
        &self,
        creds: &ShopCredentials,
        query: &ListingQuery,
        cursor: Option<&PageCursor>,
    ) -> Result<ListingPage, ChannelError> {
        let offset: u64 = match cursor {
            Some(c) => {
                c.0.parse()
                    .map_err(|_| ChannelError::config(format!("bad Lazada cursor {:?}", c.0)))?
            }
            None => 0,
        };
        let offset_text = offset.to_string();
        let limit = PRODUCT_PAGE_SIZE.to_string();
        let after = query.updated_since.map(map::iso);
        let mut params = vec![
            ("filter", "all"),
            ("offset", offset_text.as_str()),
            ("limit", limit.as_str()),
        ];
        if let Some(a) = &after {
            params.push(("update_after", a.as_str()));
        }
        let currency = self.currency_of(&creds.shop)?;
        let page: wire::Products = self
            .call("get_products", Method::GET, API_PRODUCTS, creds, &params)
            .await?;
        let listings = page
            .products
            .iter()
            .map(|p| map::listing(p, currency))
            .collect::<Result<Vec<_>, _>>()?;
        let next_offset = offset + listings.len() as u64;
        let total = page.total_products.unwrap_or(0);
        let more = !listings.is_empty() && i64::try_from(next_offset).unwrap_or(i64::MAX) < total;
        Ok(ListingPage {
            listings,
            next: more.then(|| PageCursor(next_offset.to_string())),
        })
    }

    /// Sets sellable quantities with `/product/stock/sellable/update`, at
    /// most 50 SKUs per call across products; a warehouse-specific update
    /// uses `<MultiWarehouseInventories>`.
    async fn update_stock(
        &self,
        creds: &ShopCredentials,
        updates: &[StockUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let mut calls = Vec::new();
        for chunk in sku_chunks(updates, |u| (&u.listing_id, &u.variant_id)) {
            let mut xml = String::from("<Request><Product><Skus>");
            let mut entries = Vec::new();
            let mut order = Vec::new();
            for indices in &chunk {
                let Some(first) = indices.first().and_then(|&i| updates.get(i)) else {
                    continue;
                };
                xml.push_str(&format!(
                    "<Sku><ItemId>{}</ItemId><SkuId>{}</SkuId>",
                    xml_escape(first.listing_id.as_str()),
                    xml_escape(first.variant_id.as_str())
                ));
                let by_warehouse: Vec<&StockUpdate> = indices
                    .iter()
                    .filter_map(|&i| updates.get(i))
                    .filter(|u| u.warehouse_id.is_some())
                    .collect();
                if by_warehouse.is_empty() {
                    // Absolute value; if the same SKU was given twice the last wins.
                    let last = indices
                        .last()
                        .and_then(|&i| updates.get(i))
                        .unwrap_or(first);
                    xml.push_str(&format!(
                        "<SellableQuantity>{}</SellableQuantity>",
                        last.quantity.min(CAPABILITIES.max_stock_quantity)
                    ));
                } else {
                    xml.push_str("<MultiWarehouseInventories>");
                    for u in by_warehouse {
                        let code = u
                            .warehouse_id
                            .as_ref()
                            .map(WarehouseId::as_str)
                            .unwrap_or("");
                        xml.push_str(&format!(
                            "<MultiWarehouseInventory><WarehouseCode>{}</WarehouseCode><SellableQuantity>{}</SellableQuantity></MultiWarehouseInventory>",
                            xml_escape(code),
                            u.quantity.min(CAPABILITIES.max_stock_quantity)
                        ));
                    }
                    xml.push_str("</MultiWarehouseInventories>");
                }
                xml.push_str("</Sku>");
                for &i in indices {
                    if let Some(u) = updates.get(i) {
                        entries.push((
                            u.listing_id.clone(),
                            u.variant_id.clone(),
                            u.warehouse_id.clone(),
                        ));
                        order.push(i);
                    }
                }
            }
            xml.push_str("</Skus></Product></Request>");
            calls.push((xml, entries, order));
        }
        // At most 50 SKUs per call: send several at once (the pacer keeps
        // them within the API's limit); a call that fails does not lose
        // what the others applied.
        let answers: Vec<_> = stream::iter(calls)
            .map(|(xml, entries, order)| async move {
                let found = self
                    .write_skus(
                        "update_sellable_quantity",
                        API_SELLABLE_UPDATE,
                        creds,
                        &xml,
                        &entries,
                    )
                    .await
                    .map(|results| order.iter().copied().zip(results).collect());
                (order, found)
            })
            .buffered(PARALLEL_CALLS)
            .collect()
            .await;
        gather_results(updates, answers)
    }

    /// Sets prices with `/product/price_quantity/update` (`<Price>` only),
    /// at most 50 SKUs per call across products.
    async fn update_prices(
        &self,
        creds: &ShopCredentials,
        updates: &[PriceUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let mut results: Vec<Option<UpdateResult>> = vec![None; updates.len()];
        for chunk in sku_chunks(updates, |u| (&u.listing_id, &u.variant_id)) {
            let mut xml = String::from("<Request><Product><Skus>");
            let mut entries = Vec::new();
            let mut order = Vec::new();
            for indices in &chunk {
                let Some(last) = indices.last().and_then(|&i| updates.get(i)) else {
                    continue;
                };
                xml.push_str(&format!(
                    "<Sku><ItemId>{}</ItemId><SkuId>{}</SkuId><Price>{}</Price></Sku>",
                    xml_escape(last.listing_id.as_str()),
                    xml_escape(last.variant_id.as_str()),
                    money_to_decimal(last.price)
                ));
                for &i in indices {
                    if let Some(u) = updates.get(i) {
                        entries.push((u.listing_id.clone(), u.variant_id.clone(), None));
                        order.push(i);
                    }
                }
            }
            xml.push_str("</Skus></Product></Request>");
            let chunk_results = self
                .write_skus(
                    "update_price",
                    API_PRICE_QUANTITY_UPDATE,
                    creds,
                    &xml,
                    &entries,
                )
                .await?;
            for (i, r) in order.into_iter().zip(chunk_results) {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Every order updated within `range` via `/orders/get`, sorted by
    /// update time, following offset pages until `countTotal` is reached.
    /// The API documents no maximum window, so the range is one window.
    async fn changed_orders(
        &self,
        creds: &ShopCredentials,
        range: TimeRange,
    ) -> Result<Vec<ChangedOrder>, ChannelError> {
        if range.to <= range.from {
            return Ok(Vec::new());
        }
        let after = map::iso(range.from);
        // Whole seconds, rounded up so nothing in the last second is missed.
        let before = map::iso(Timestamp::from_millis(
            range.to.millis().saturating_add(999).div_euclid(1000) * 1000,
        ));
        let limit = ORDER_PAGE_SIZE.to_string();
        let mut seen: HashSet<String> = HashSet::new();
        let mut orders = Vec::new();
        let mut offset: u64 = 0;
        loop {
            let offset_text = offset.to_string();
            let page: wire::Orders = self
                .call(
                    "get_orders",
                    Method::GET,
                    API_ORDERS,
                    creds,
                    &[
                        ("update_after", after.as_str()),
                        ("update_before", before.as_str()),
                        ("sort_by", "updated_at"),
                        ("sort_direction", "ASC"),
                        ("offset", offset_text.as_str()),
                        ("limit", limit.as_str()),
                    ],
                )
                .await?;
            let got = page.orders.len() as u64;
            for o in page.orders {
                if seen.insert(o.order_id.clone()) {
                    let status =
                        map::order_status(o.statuses.iter().map(String::as_str))?.map(|(s, _)| s);
                    orders.push(ChangedOrder {
                        order_id: ExtOrderId::new(o.order_id),
                        status,
                        detail: None,
                    });
                }
            }
            offset += got;
            let total = page.count_total.or(page.count).unwrap_or(0);
            if got == 0 || i64::try_from(offset).unwrap_or(i64::MAX) >= total {
                break;
            }
        }
        Ok(orders)
    }

    /// Orders assembled from `/orders/items/get`, 50 order ids per call.
    async fn order_details(
        &self,
        creds: &ShopCredentials,
        ids: &[ExtOrderId],
    ) -> Result<Vec<Order>, ChannelError> {
        let currency = self.currency_of(&creds.shop)?;
        let mut orders = Vec::with_capacity(ids.len());
        for chunk in dedup_keep_order(ids).chunks(MAX_ORDER_IDS) {
            let list = ids_list(&chunk.iter().map(ExtOrderId::as_str).collect::<Vec<_>>());
            let answer: Vec<wire::OrderItems> = match self
                .call(
                    "get_multiple_order_items",
                    Method::GET,
                    API_MULTI_ORDER_ITEMS,
                    creds,
                    &[("order_ids", list.as_str())],
                )
                .await
            {
                Ok(a) => a,
                // E039: none of the ids was found.
                Err(ChannelError::Invalid { code, .. }) if code == "E039" => Vec::new(),
                Err(e) => return Err(e),
            };
            for o in answer.iter().filter(|o| !o.order_items.is_empty()) {
                orders.push(map::order(&o.order_id, &o.order_items, currency)?);
            }
        }
        Ok(orders)
    }

    /// Packs every `pending`/`repacked` item of the order into one package
    /// (Lazada assigns package, carrier and tracking number), then marks it
    /// and every package packed earlier (Seller Center may have split the
    /// order) ready to ship. With `package_id`, only that package is marked
    /// ready. A seller tracking number is not sent: Lazada dropship
    /// allocates it.
    async fn ship_order(
        &self,
        creds: &ShopCredentials,
        request: &ShipRequest,
    ) -> Result<Shipment, ChannelError> {
        let items = self.items(creds, &request.order_id).await?;
        let to_pack: Vec<&str> = items
            .iter()
            .filter(|i| matches!(i.status.as_str(), "pending" | "repacked"))
            .map(|i| i.order_item_id.as_str())
            .collect();
        let mut packages: Vec<Package> = Vec::new();
        let mut add = |package_id: String, tracking: Option<String>, carrier: Option<String>| {
            if !packages
                .iter()
                .any(|p| p.package_id.as_ref().map(PackageId::as_str) == Some(package_id.as_str()))
            {
                packages.push(Package {
                    package_id: Some(PackageId::new(package_id)),
                    tracking_number: tracking.filter(|t| !t.is_empty()),
                    carrier: carrier.filter(|c| !c.is_empty()),
                    status: Some("ready_to_ship".into()),
                });
            }
        };
        if request.package_id.is_none() && !to_pack.is_empty() {
            let pack_req = serde_json::json!({
                "pack_order_list": [{
                    "order_id": request.order_id.as_str(),
                    "order_item_list": to_pack,
                }],
                "delivery_type": "dropship",
                "shipping_allocate_type": "TFS",
            })
            .to_string();
            let result: wire::WriteResult<wire::PackData> = self
                .call(
                    "pack",
                    Method::POST,
                    API_PACK,
                    creds,
                    &[("packReq", pack_req.as_str())],
                )
                .await?;
            let data = write_result("pack", result)?;
            for item in data.pack_order_list.iter().flat_map(|o| &o.order_item_list) {
                if let Some(code) = item
                    .item_err_code
                    .as_deref()
                    .filter(|c| !c.is_empty() && *c != "0")
                {
                    return Err(ChannelError::Invalid {
                        code: code.to_owned(),
                        message: item.msg.clone().unwrap_or_default(),
                    });
                }
                if let Some(p) = item.package_id.clone() {
                    add(
                        p,
                        item.tracking_number.clone(),
                        item.shipment_provider.clone(),
                    );
                }
            }
        }
        // Items packed earlier (or just now) are made ready to ship.
        for i in items.iter().filter(|i| i.status == "packed") {
            if let Some(p) = i.package_id.clone().filter(|p| !p.is_empty()) {
                add(p, i.tracking_code.clone(), i.shipment_provider.clone());
            }
        }
        if let Some(only) = &request.package_id {
            packages.retain(|p| p.package_id.as_ref() == Some(only));
            if packages.is_empty() {
                packages.push(Package {
                    package_id: Some(only.clone()),
                    tracking_number: None,
                    carrier: None,
                    status: Some("ready_to_ship".into()),
                });
            }
        }
        if packages.is_empty() {
            return Err(ChannelError::Invalid {
                code: "no_package".into(),
                message: format!("order {} has nothing to pack or ship", request.order_id),
            });
        }
        for chunk in packages.chunks(MAX_PACK_ORDERS) {
            let rts_req = serde_json::json!({
                "packages": chunk
                    .iter()
                    .filter_map(|p| p.package_id.as_ref())
                    .map(|p| serde_json::json!({"package_id": p.as_str()}))
                    .collect::<Vec<_>>(),
            })
            .to_string();
            let result: wire::WriteResult<wire::RtsData> = self
                .call(
                    "ready_to_ship",
                    Method::POST,
                    API_RTS,
                    creds,
                    &[("readyToShipReq", rts_req.as_str())],
                )
                .await?;
            let data = write_result("ready_to_ship", result)?;
            if let Some(p) = data.packages.iter().find(|p| {
                p.item_err_code
                    .as_deref()
                    .is_some_and(|c| !c.is_empty() && c != "0")
            }) {
                return Err(ChannelError::Invalid {
                    code: p.item_err_code.clone().unwrap_or_default(),
                    message: p.msg.clone().unwrap_or_default(),
                });
            }
        }
        Ok(Shipment { packages })
    }

    /// Validates the cancellation to learn the reason options, picks the
    /// one matching the reason, and creates it for the chosen items: every
    /// live order item (one per unit) of the requested lines, or of the
    /// whole order when no line is named. The rest of the order goes on.
    async fn cancel_order(
        &self,
        creds: &ShopCredentials,
        request: &CancelRequest,
    ) -> Result<Cancellation, ChannelError> {
        let items = self.items(creds, &request.order_id).await?;
        let chosen: Vec<&str> = items
            .iter()
            .filter(|i| {
                map::item_status(&i.status) != Some(storesync_domain::OrderStatus::Cancelled)
            })
            .filter(|i| {
                request.lines.is_empty()
                    || request.lines.iter().any(|(l, v)| {
                        i.product_id.as_deref() == Some(l.as_str())
                            && i.sku_id.as_deref() == Some(v.as_str())
                    })
            })
            .map(|i| i.order_item_id.as_str())
            .collect();
        if chosen.is_empty() {
            return Err(ChannelError::Invalid {
                code: "no_items".into(),
                message: format!("order {} has no item to cancel", request.order_id),
            });
        }
        let list = ids_list(&chosen);
        let params = [
            ("order_id", request.order_id.as_str()),
            ("order_item_id_list", list.as_str()),
        ];
        let validate: wire::CancelValidate = self
            .call(
                "cancel_validate",
                Method::GET,
                API_CANCEL_VALIDATE,
                creds,
                &params,
            )
            .await?;
        let wanted: &[&str] = match request.reason {
            CancelReason::OutOfStock => &["out of stock", "stock"],
            CancelReason::UndeliverableArea => &["address", "deliver"],
        };
        let reason = validate
            .reason_options
            .iter()
            .find(|r| {
                let name = r.reason_name.to_ascii_lowercase();
                wanted.iter().any(|w| name.contains(w))
            })
            .or_else(|| validate.reason_options.first())
            .ok_or_else(|| ChannelError::Invalid {
                code: "no_reason".into(),
                message: "Lazada offers no cancellation reason for this order".into(),
            })?;
        let _: serde_json::Value = self
            .call(
                "cancel_create",
                Method::GET,
                API_CANCEL_CREATE,
                creds,
                &[
                    ("order_id", request.order_id.as_str()),
                    ("order_item_id_list", list.as_str()),
                    ("reason_id", reason.reason_id.as_str()),
                ],
            )
            .await?;
        Ok(Cancellation {
            cancel_id: None,
            status: Some("canceled".into()),
        })
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<(), ChannelError> {
        let received = request
            .headers
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ChannelError::webhook("missing Authorization header"))?;
        let expected = sign::push_signature(&self.app_key, self.app_secret.expose(), request.body);
        if crate::sign::signature_matches(&expected, received) {
            Ok(())
        } else {
            Err(ChannelError::webhook("signature does not match"))
        }
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<WebhookEvent>, ChannelError> {
        let push: wire::Push = serde_json::from_slice(body)
            .map_err(|e| ChannelError::webhook(format!("malformed push: {e}")))?;
        map::push_events(&push)
    }
}

#[cfg(test)]
mod tests;
