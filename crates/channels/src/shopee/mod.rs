//! Shopee Open Platform v2 client (fact sheet §1): partner-signed calls with
//! common parameters in the query, JSON bodies for POST, `error`/`message`
//! envelopes, int64 ids, float money, 15-day order windows.

pub mod map;
pub mod sign;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use storesync_crypto::Secret;
use storesync_domain::Clock;

use crate::batch::{dedup_keep_order, gather_results, plan_batches, Batch};
use crate::channel::{Capabilities, Channel, Marketplace, WebhookCapabilities};
use crate::error::ChannelError;
use crate::http::{
    build_http_client, execute, join_url, parse_base_url, status_error, HttpSettings, Reply,
};
use crate::ids::{ExtOrderId, ExtVariantId, ListingId, WarehouseId};
use crate::model::{
    AuthCallback, Authorization, AuthorizedShop, CancelReason, CancelRequest, Cancellation,
    ChangedOrder, Handover, ListingPage, ListingQuery, Order, Package, PageCursor, PriceUpdate,
    ShipRequest, Shipment, ShopCredentials, ShopRef, StockUpdate, TokenSet, UpdateFailure,
    UpdateOutcome, UpdateResult, WebhookEvent, WebhookRequest,
};
use crate::money::money_to_json_number;
use crate::pace::{Pacer, THROTTLE_BAN};
use crate::window::{split_seconds, TimeRange};
use crate::wire::unix_seconds;

use self::sign::SignScope;

/// Production host (Singapore-proximate), the default.
pub const DEFAULT_BASE_URL: &str = "https://partner.shopeemobile.com";
/// Shopee's own sandbox (Sandbox v2), for test partner ids.
pub const SANDBOX_BASE_URL: &str = "https://openplatform.sandbox.test-stable.shopee.sg";

const PATH_AUTH_PARTNER: &str = "/api/v2/shop/auth_partner";
const PATH_TOKEN_GET: &str = "/api/v2/auth/token/get";
const PATH_TOKEN_REFRESH: &str = "/api/v2/auth/access_token/get";
const PATH_SHOP_INFO: &str = "/api/v2/shop/get_shop_info";
const PATH_ITEM_LIST: &str = "/api/v2/product/get_item_list";
const PATH_ITEM_BASE_INFO: &str = "/api/v2/product/get_item_base_info";
const PATH_MODEL_LIST: &str = "/api/v2/product/get_model_list";
const PATH_UPDATE_STOCK: &str = "/api/v2/product/update_stock";
const PATH_UPDATE_PRICE: &str = "/api/v2/product/update_price";
const PATH_ORDER_LIST: &str = "/api/v2/order/get_order_list";
const PATH_ORDER_DETAIL: &str = "/api/v2/order/get_order_detail";
const PATH_CANCEL_ORDER: &str = "/api/v2/order/cancel_order";
const PATH_SHIPPING_PARAMETER: &str = "/api/v2/logistics/get_shipping_parameter";
const PATH_SHIP_ORDER: &str = "/api/v2/logistics/ship_order";
const PATH_TRACKING_NUMBER: &str = "/api/v2/logistics/get_tracking_number";

/// Models per `update_stock` / `update_price` call; orders per detail call.
const MAX_BATCH: usize = 50;
/// Items per listing page: one `get_item_base_info` call covers a page.
const LISTING_PAGE_SIZE: u32 = 50;
const ORDER_PAGE_SIZE: u32 = 100;
/// `get_order_list` refuses `time_from`/`time_to` more than 15 days apart.
const ORDER_WINDOW: Duration = Duration::from_secs(15 * 86_400);
const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(4 * 3600);
/// Refresh tokens live 30 days (not returned by the API; fact sheet §1.2).
const REFRESH_TOKEN_LIFETIME_MS: i64 = 30 * 86_400 * 1000;
/// Item statuses that still exist on the marketplace; a listing absent from
/// a full walk with these filters has been deleted.
const LISTED_STATUSES: [&str; 4] = ["NORMAL", "UNLIST", "BANNED", "REVIEWING"];
/// Optional order-detail fields we map.
const ORDER_DETAIL_FIELDS: &str =
    "item_list,package_list,total_amount,pay_time,cancel_by,cancel_reason,buyer_cancel_reason,shipping_carrier";
/// How many `get_model_list` calls one listing page runs at once.
const MODEL_FETCH_CONCURRENCY: usize = 4;

/// What Shopee can and cannot do (fact sheet §1.6, §1.8, §1.9).
pub const CAPABILITIES: Capabilities = Capabilities {
    max_listings_per_stock_call: 1,
    max_variants_per_stock_call: Some(MAX_BATCH),
    max_variants_per_price_call: Some(MAX_BATCH),
    stock_update_lists_all_warehouses: false,
    max_orders_per_detail_call: MAX_BATCH,
    max_order_window: Some(ORDER_WINDOW),
    order_page_size: ORDER_PAGE_SIZE,
    listing_page_size: LISTING_PAGE_SIZE,
    order_list_includes_details: false,
    rate_limit_per_api_per_shop: None,
    refresh_token_single_use: true,
    access_token_lifetime: ACCESS_TOKEN_LIFETIME,
    // Seller Centre refuses stock above 999,999 per model (UNCONFIRMED for
    // the Open Platform, which publishes no bound; the smaller of the two).
    max_stock_quantity: 999_999,
    webhooks: WebhookCapabilities {
        order_status: true,
        // Only promotion reservations push (code 8); ordinary edits do not.
        listing_changes: false,
        deauthorization: true,
        authorization_expiry: true,
        // Retries unpublished; missed pushes can be pulled for 3 days, so a
        // push is meaningful (and may be re-sent) that long.
        replay_window_ms: 3 * 24 * 3_600_000,
    },
};

/// Calls of one kind a client has in flight at once for one shop.
const PARALLEL_CALLS: usize = 8;

/// Default calls per (shop, API) in any one [`DEFAULT_PACE_WINDOW`]. Shopee
/// publishes no figure for its core APIs; the one public number is 1,000
/// calls a minute per API, which the sandbox enforces over a sliding minute.
/// Within it a burst goes at once (at most [`PARALLEL_CALLS`] in flight).
pub const DEFAULT_PACE: u32 = 1_000;
pub const DEFAULT_PACE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// App credentials and endpoint of a Shopee partner app.
#[derive(Debug, Clone)]
pub struct ShopeeConfig {
    pub partner_id: i64,
    pub partner_key: Secret<String>,
    /// `https://partner.shopeemobile.com` unless overridden (sandbox:
    /// `http://127.0.0.1:PORT`).
    pub base_url: String,
    pub http: HttpSettings,
    /// Calls per (shop, API) the client allows itself in any `pace_window`.
    /// Shopee publishes no limit for its core APIs; the default is the one
    /// public figure, 1,000 a minute.
    pub pace_calls: u32,
    pub pace_window: std::time::Duration,
}

impl ShopeeConfig {
    pub fn new(partner_id: i64, partner_key: Secret<String>) -> Self {
        Self {
            partner_id,
            partner_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            http: HttpSettings::default(),
            pace_calls: DEFAULT_PACE,
            pace_window: DEFAULT_PACE_WINDOW,
        }
    }

    /// Pace the client at `per_second` calls per (shop, API) in any second.
    pub fn with_pace(mut self, per_second: u32) -> Self {
        self.pace_calls = per_second;
        self.pace_window = std::time::Duration::from_secs(1);
        self
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// The Shopee implementation of [`Channel`].
pub struct ShopeeClient {
    partner_id: i64,
    partner_key: Secret<String>,
    base: url::Url,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    pacer: Pacer,
}

impl std::fmt::Debug for ShopeeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopeeClient")
            .field("partner_id", &self.partner_id)
            .field("partner_key", &self.partner_key)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Whose token signs a call.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Public,
    Shop {
        token: &'a Secret<String>,
        shop_id: i64,
    },
}

impl ShopeeClient {
    /// A client with its own connection pool.
    pub fn new(config: ShopeeConfig, clock: Arc<dyn Clock>) -> Result<Self, ChannelError> {
        let http = build_http_client(&config.http)?;
        Self::with_http_client(config, clock, http)
    }

    /// A client sharing an existing pool (`config.http` is then unused).
    pub fn with_http_client(
        config: ShopeeConfig,
        clock: Arc<dyn Clock>,
        http: reqwest::Client,
    ) -> Result<Self, ChannelError> {
        Ok(Self {
            partner_id: config.partner_id,
            partner_key: config.partner_key,
            base: parse_base_url("Shopee base URL", &config.base_url)?,
            http,
            pacer: Pacer::per_window(config.pace_calls, config.pace_window),
            clock,
        })
    }

    /// The URL of `path` with the common parameters, signature and `params`.
    fn signed_url(
        &self,
        path: &str,
        auth: Auth<'_>,
        params: &[(&str, &str)],
    ) -> Result<url::Url, ChannelError> {
        let timestamp = unix_seconds(self.clock.now());
        let scope = match auth {
            Auth::Public => SignScope::Public,
            Auth::Shop { token, shop_id } => SignScope::Shop {
                access_token: token.expose(),
                shop_id,
            },
        };
        let signature = sign::sign(
            self.partner_key.expose(),
            self.partner_id,
            path,
            timestamp,
            scope,
        );
        let mut url = join_url(&self.base, path)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("partner_id", &self.partner_id.to_string())
                .append_pair("timestamp", &timestamp.to_string())
                .append_pair("sign", &signature);
            if let Auth::Shop { token, shop_id } = auth {
                query
                    .append_pair("access_token", token.expose())
                    .append_pair("shop_id", &shop_id.to_string());
            }
            for (k, v) in params {
                query.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Sends one signed call and returns the raw answer, whatever it says.
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        params: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, ChannelError> {
        let shop = match auth {
            Auth::Shop { shop_id, .. } => Some(shop_id.to_string()),
            Auth::Public => None,
        };
        // Paced before signing, so a wait cannot age the timestamp.
        self.pacer
            .call(shop.as_deref(), path, async {
                let url = self.signed_url(path, auth, params)?;
                let mut builder = self.http.request(method, url);
                if let Some(body) = body {
                    builder = builder
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                }
                let request = builder.build().map_err(|e| {
                    ChannelError::config(format!("cannot build request: {}", e.without_url()))
                })?;
                execute(&self.http, request, Marketplace::Shopee, operation).await
            })
            .await
    }

    /// [`check`]'s verdict on an answer to a call of `path`. A throttle
    /// comes back as an answer, not a failed request: the pacer is told, so
    /// it holds the key all the same.
    fn checked(&self, auth: Auth<'_>, path: &str, reply: &Reply) -> Result<(), ChannelError> {
        let verdict = check(reply);
        if let (Auth::Shop { shop_id, .. }, Err(ChannelError::RateLimited { retry_after })) =
            (auth, &verdict)
        {
            self.pacer.throttled(
                &shop_id.to_string(),
                path,
                retry_after.unwrap_or(THROTTLE_BAN),
            );
        }
        verdict
    }

    /// Sends a call and decodes a successful answer as `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        params: &[(&str, &str)],
        body: Option<&(impl Serialize + Sync)>,
    ) -> Result<T, ChannelError> {
        let body = body.map(to_body).transpose()?;
        let reply = self
            .send(operation, method, path, auth, params, body)
            .await?;
        self.checked(auth, path, &reply)?;
        decode(operation, &reply)
    }

    fn token_set(&self, answer: wire::TokenResponse) -> TokenSet {
        let now = self.clock.now();
        TokenSet {
            access_token: Secret::new(answer.access_token),
            refresh_token: Secret::new(answer.refresh_token),
            access_expires_at: now.plus_millis(answer.expire_in.saturating_mul(1000)),
            refresh_expires_at: Some(now.plus_millis(REFRESH_TOKEN_LIFETIME_MS)),
        }
    }

    async fn shop_info(
        &self,
        token: &Secret<String>,
        shop_id: i64,
    ) -> Result<AuthorizedShop, ChannelError> {
        let info: wire::ShopInfo = self
            .call(
                "get_shop_info",
                Method::GET,
                PATH_SHOP_INFO,
                Auth::Shop { token, shop_id },
                &[],
                None::<&()>,
            )
            .await?;
        Ok(AuthorizedShop {
            shop: ShopRef::new(shop_id),
            name: info.shop_name,
            region: info.region,
        })
    }

    /// The models of an item with variants; `None` for an item without.
    async fn models_of(
        &self,
        auth: Auth<'_>,
        item: &wire::ItemBase,
    ) -> Result<Option<wire::ModelList>, ChannelError> {
        if !item.has_model {
            return Ok(None);
        }
        let id = item.item_id.to_string();
        let models: wire::Wrapped<wire::ModelList> = self
            .call(
                "get_model_list",
                Method::GET,
                PATH_MODEL_LIST,
                auth,
                &[("item_id", &id)],
                None::<&()>,
            )
            .await?;
        Ok(Some(models.response))
    }

    /// Posts one stock or price batch and returns the per-model failures.
    /// A call-level business refusal (`Invalid`) becomes a failure of every
    /// model in the batch, because it concerns only these models; any other
    /// error aborts.
    async fn post_update(
        &self,
        operation: &'static str,
        path: &str,
        creds: &ShopCredentials,
        shop_id: i64,
        body: Vec<u8>,
    ) -> Result<BatchAnswer, ChannelError> {
        let auth = Auth::Shop {
            token: &creds.access_token,
            shop_id,
        };
        let reply = self
            .send(operation, Method::POST, path, auth, &[], Some(body))
            .await?;
        let answer: Option<wire::Wrapped<wire::UpdateResponse>> =
            serde_json::from_slice(&reply.body).ok();
        match self.checked(auth, path, &reply) {
            Ok(()) => {
                let answer = answer.ok_or_else(|| {
                    ChannelError::protocol(format!("{operation}: unreadable answer"))
                })?;
                Ok(BatchAnswer::Failures {
                    code: "failure_list".into(),
                    list: answer.response.failure_list,
                })
            }
            Err(ChannelError::Invalid { code, message }) => match answer {
                Some(a) if !a.response.failure_list.is_empty() => Ok(BatchAnswer::Failures {
                    code,
                    list: a.response.failure_list,
                }),
                _ => Ok(BatchAnswer::AllRejected { code, message }),
            },
            Err(other) => Err(other),
        }
    }
}

/// What one update call said about its models.
enum BatchAnswer {
    Failures {
        code: String,
        list: Vec<wire::UpdateFailureEntry>,
    },
    AllRejected {
        code: String,
        message: String,
    },
}

/// Turns a batch answer into one result per update in the batch.
fn batch_results(
    batch: &Batch,
    warehouse_of: impl Fn(usize) -> Option<WarehouseId>,
    answer: &BatchAnswer,
) -> Vec<(usize, UpdateResult)> {
    let mut out = Vec::new();
    for (variant_id, indices) in &batch.variants {
        for &index in indices {
            let warehouse_id = warehouse_of(index);
            let failure = match answer {
                BatchAnswer::AllRejected { code, message } => Some(UpdateFailure {
                    reason: map::failure_reason(message),
                    code: code.clone(),
                    message: message.clone(),
                }),
                BatchAnswer::Failures { code, list } => list
                    .iter()
                    .find(|f| {
                        variant_id.as_i64() == Some(f.model_id)
                            && match (
                                f.location_id.as_deref().filter(|l| !l.is_empty()),
                                &warehouse_id,
                            ) {
                                (Some(loc), Some(w)) => loc == w.as_str(),
                                _ => true,
                            }
                    })
                    .map(|f| UpdateFailure {
                        reason: map::failure_reason(&f.failed_reason),
                        code: code.clone(),
                        message: f.failed_reason.clone(),
                    }),
            };
            out.push((
                index,
                UpdateResult {
                    listing_id: batch.listing_id.clone(),
                    variant_id: variant_id.clone(),
                    warehouse_id,
                    outcome: failure.map_or(UpdateOutcome::Applied, UpdateOutcome::Rejected),
                },
            ));
        }
    }
    out
}

/// Fails with the classified error if the answer is a Shopee error or a
/// bare HTTP failure. Shopee's error statuses are undocumented, so the body
/// is read whatever the status.
fn check(reply: &Reply) -> Result<(), ChannelError> {
    let head: wire::ErrorHead = serde_json::from_slice(&reply.body).unwrap_or_default();
    if let Some((error, message)) = head.failure() {
        return Err(map::classify_error(
            error,
            message,
            reply.status,
            reply.retry_after,
        ));
    }
    if !reply.status.is_success() {
        return Err(status_error(reply));
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(operation: &str, reply: &Reply) -> Result<T, ChannelError> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| ChannelError::protocol(format!("{operation}: cannot read the answer: {e}")))
}

fn to_body(value: &(impl Serialize + Sync)) -> Result<Vec<u8>, ChannelError> {
    serde_json::to_vec(value)
        .map_err(|e| ChannelError::protocol(format!("cannot encode request: {e}")))
}

fn numeric(what: &str, text: &str) -> Result<i64, ChannelError> {
    text.parse().map_err(|_| {
        ChannelError::config(format!("{what} {text:?} is not a Shopee id (an integer)"))
    })
}

fn shop_id(shop: &ShopRef) -> Result<i64, ChannelError> {
    numeric("shop id", shop.shop_id.as_str())
}

/// Builds the `ship_order` body from `get_shipping_parameter`'s answer.
///
/// A seller-supplied tracking number goes out as `non_integrated` when the
/// order allows it; otherwise the requested handover is used if offered,
/// then any offered method. Every field named in `info_needed` is filled
/// from the first offered address/slot/branch, and the chosen method's
/// object is sent even when empty, as Shopee requires.
pub fn ship_body<'a>(
    param: &'a wire::ShippingParameter,
    request: &'a ShipRequest,
) -> Result<wire::ShipOrderRequest<'a>, ChannelError> {
    let needed = &param.info_needed;
    let tracking = request.tracking_number.as_deref();
    let wants = |list: &Option<Vec<String>>, field: &str| list.iter().flatten().any(|f| f == field);
    let wants_tracking =
        |list: &Option<Vec<String>>| wants(list, "tracking_number") || wants(list, "tracking_no");
    let mut body = wire::ShipOrderRequest {
        order_sn: request.order_id.as_str(),
        package_number: request.package_id.as_ref().map(|p| p.as_str()),
        pickup: None,
        dropoff: None,
        non_integrated: None,
    };
    let missing = |what: &str| ChannelError::Invalid {
        code: "logistics.missing_shipping_parameter".into(),
        message: format!("Shopee offers no {what} for this order"),
    };

    if tracking.is_some() && needed.non_integrated.is_some() {
        body.non_integrated = Some(wire::ShipNonIntegrated {
            tracking_number: tracking,
        });
        return Ok(body);
    }
    let pickup_offered = needed.pickup.is_some();
    let dropoff_offered = needed.dropoff.is_some();
    let use_pickup = match request.handover {
        Handover::Pickup => pickup_offered,
        Handover::DropOff => pickup_offered && !dropoff_offered,
    };
    if use_pickup {
        let addresses = param
            .pickup
            .as_ref()
            .map(|p| p.address_list.as_slice())
            .unwrap_or_default();
        let flagged = |flag: &str| {
            addresses
                .iter()
                .find(|a| a.address_flag.iter().any(|f| f == flag))
        };
        let address = flagged("pickup_address")
            .or_else(|| flagged("default_address"))
            .or_else(|| addresses.iter().find(|a| !a.time_slot_list.is_empty()))
            .or(addresses.first());
        let mut pickup = wire::ShipPickup {
            address_id: None,
            pickup_time_id: None,
            tracking_number: None,
        };
        if wants(&needed.pickup, "address_id") {
            pickup.address_id = Some(address.ok_or_else(|| missing("pickup address"))?.address_id);
        }
        if wants(&needed.pickup, "pickup_time_id") {
            let slot = address
                .and_then(|a| a.time_slot_list.first())
                .ok_or_else(|| missing("pickup time slot"))?;
            pickup.pickup_time_id = Some(slot.pickup_time_id.as_str());
        }
        if wants_tracking(&needed.pickup) {
            pickup.tracking_number = tracking;
        }
        body.pickup = Some(pickup);
    } else if dropoff_offered {
        let mut dropoff = wire::ShipDropoff {
            branch_id: None,
            tracking_number: None,
        };
        if wants(&needed.dropoff, "branch_id") {
            let branch = param
                .dropoff
                .as_ref()
                .and_then(|d| d.branch_list.first())
                .ok_or_else(|| missing("drop-off branch"))?;
            dropoff.branch_id = Some(branch.branch_id);
        }
        if wants_tracking(&needed.dropoff) {
            dropoff.tracking_number = tracking;
        }
        body.dropoff = Some(dropoff);
    } else if needed.non_integrated.is_some() {
        body.non_integrated = Some(wire::ShipNonIntegrated {
            tracking_number: tracking,
        });
    } else {
        return Err(missing("shipping method"));
    }
    Ok(body)
}

#[async_trait]
impl Channel for ShopeeClient {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Shopee
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    /// Shopee returns only `code` and `shop_id`/`main_account_id`, so the
    /// `state` rides along inside the redirect URL.
    fn authorize_url(&self, redirect_url: &str, state: &str) -> Result<url::Url, ChannelError> {
        let mut redirect = url::Url::parse(redirect_url)
            .map_err(|e| ChannelError::config(format!("redirect URL {redirect_url:?}: {e}")))?;
        redirect.query_pairs_mut().append_pair("state", state);
        self.signed_url(
            PATH_AUTH_PARTNER,
            Auth::Public,
            &[("redirect", redirect.as_str())],
        )
    }

    async fn exchange_code(&self, callback: &AuthCallback) -> Result<Authorization, ChannelError> {
        let shop = callback
            .shop_id
            .as_ref()
            .map(|s| numeric("shop_id", s.as_str()))
            .transpose()?;
        let main_account = callback
            .main_account_id
            .as_deref()
            .map(|m| numeric("main_account_id", m))
            .transpose()?;
        if shop.is_none() && main_account.is_none() {
            return Err(ChannelError::Invalid {
                code: "missing_shop_id".into(),
                message: "the Shopee callback carries neither shop_id nor main_account_id".into(),
            });
        }
        let request = wire::TokenGetRequest {
            code: callback.code.expose(),
            partner_id: self.partner_id,
            shop_id: shop,
            main_account_id: if shop.is_some() { None } else { main_account },
        };
        let answer: wire::TokenResponse = self
            .call(
                "token_get",
                Method::POST,
                PATH_TOKEN_GET,
                Auth::Public,
                &[],
                Some(&request),
            )
            .await?;
        let shop_ids: Vec<i64> = match shop {
            Some(id) => vec![id],
            None => answer.shop_id_list.clone().unwrap_or_default(),
        };
        let tokens = self.token_set(answer);
        let mut shops = Vec::with_capacity(shop_ids.len());
        for id in shop_ids {
            shops.push(self.shop_info(&tokens.access_token, id).await?);
        }
        Ok(Authorization { tokens, shops })
    }

    async fn refresh_token(
        &self,
        shop: &ShopRef,
        refresh_token: &Secret<String>,
    ) -> Result<TokenSet, ChannelError> {
        let request = wire::RefreshRequest {
            refresh_token: refresh_token.expose(),
            partner_id: self.partner_id,
            shop_id: shop_id(shop)?,
        };
        let answer: wire::TokenResponse = self
            .call(
                "token_refresh",
                Method::POST,
                PATH_TOKEN_REFRESH,
                Auth::Public,
                &[],
                Some(&request),
            )
            .await?;
        Ok(self.token_set(answer))
    }

    async fn authorized_shops(
        &self,
        access_token: &Secret<String>,
        shop: Option<&ShopRef>,
    ) -> Result<Vec<AuthorizedShop>, ChannelError> {
        let shop =
            shop.ok_or_else(|| ChannelError::config("Shopee tokens are per shop: pass the shop"))?;
        Ok(vec![self.shop_info(access_token, shop_id(shop)?).await?])
    }

    async fn list_listings(
        &self,
        creds: &ShopCredentials,
        query: &ListingQuery,
        cursor: Option<&PageCursor>,
    ) -> Result<ListingPage, ChannelError> {
        let auth = Auth::Shop {
            token: &creds.access_token,
            shop_id: shop_id(&creds.shop)?,
        };
        let offset = cursor.map_or("0", |c| c.0.as_str()).to_owned();
        numeric("listing cursor", &offset)?;
        let page_size = LISTING_PAGE_SIZE.to_string();
        let mut params: Vec<(&str, &str)> = vec![("offset", &offset), ("page_size", &page_size)];
        params.extend(LISTED_STATUSES.iter().map(|s| ("item_status", *s)));
        let (from, to);
        if let Some(since) = query.updated_since {
            from = unix_seconds(since).to_string();
            to = unix_seconds(self.clock.now()).to_string();
            params.push(("update_time_from", &from));
            params.push(("update_time_to", &to));
        }
        let list: wire::Wrapped<wire::ItemList> = self
            .call(
                "get_item_list",
                Method::GET,
                PATH_ITEM_LIST,
                auth,
                &params,
                None::<&()>,
            )
            .await?;
        let list = list.response;
        let next = (list.has_next_page && list.next_offset > 0)
            .then(|| PageCursor(list.next_offset.to_string()));
        if list.item.is_empty() {
            return Ok(ListingPage {
                listings: Vec::new(),
                next,
            });
        }

        let ids = list
            .item
            .iter()
            .map(|i| i.item_id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let base: wire::Wrapped<wire::ItemBaseInfoList> = self
            .call(
                "get_item_base_info",
                Method::GET,
                PATH_ITEM_BASE_INFO,
                auth,
                &[("item_id_list", &ids)],
                None::<&()>,
            )
            .await?;
        let items = base.response.item_list;
        // Collecting the futures first keeps closures out of the stream's
        // type, which async-trait's `Send` check cannot see through.
        let fetches: Vec<_> = items
            .iter()
            .map(|item| self.models_of(auth, item))
            .collect();
        let models: Vec<Option<wire::ModelList>> = stream::iter(fetches)
            .buffered(MODEL_FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        let listings = items
            .iter()
            .zip(&models)
            .map(|(item, models)| map::listing(item, models.as_ref()))
            .collect();
        Ok(ListingPage { listings, next })
    }

    async fn update_stock(
        &self,
        creds: &ShopCredentials,
        updates: &[StockUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let shop = shop_id(&creds.shop)?;
        let mut calls = Vec::new();
        for batch in plan_batches(updates, |u| (&u.listing_id, &u.variant_id), Some(MAX_BATCH)) {
            let mut stock_list = Vec::with_capacity(batch.variants.len());
            for (variant, indices) in &batch.variants {
                stock_list.push(wire::StockEntry {
                    model_id: numeric("model id", variant.as_str())?,
                    seller_stock: indices
                        .iter()
                        .filter_map(|&i| updates.get(i))
                        .map(|u| wire::StockLocation {
                            location_id: u.warehouse_id.as_ref().map(|w| w.as_str().to_owned()),
                            stock: u.quantity.min(CAPABILITIES.max_stock_quantity),
                        })
                        .collect(),
                });
            }
            let body = to_body(&wire::UpdateStockRequest {
                item_id: numeric("item id", batch.listing_id.as_str())?,
                stock_list,
            })?;
            calls.push((batch, body));
        }
        // One item per call: send several at once (the pacer keeps them
        // within the shop's rate), answers in the order of the batches.
        let answers: Vec<_> = stream::iter(calls)
            .map(|(batch, body)| async move {
                let answer = self
                    .post_update("update_stock", PATH_UPDATE_STOCK, creds, shop, body)
                    .await;
                (batch, answer)
            })
            .buffered(PARALLEL_CALLS)
            .collect()
            .await;
        let warehouse_of = |i: usize| updates.get(i).and_then(|u| u.warehouse_id.clone());
        let calls = answers
            .into_iter()
            .map(|(batch, answer)| {
                let found = answer.map(|a| batch_results(&batch, warehouse_of, &a));
                (batch.indices().collect(), found)
            })
            .collect();
        gather_results(updates, calls)
    }

    async fn update_prices(
        &self,
        creds: &ShopCredentials,
        updates: &[PriceUpdate],
    ) -> Result<Vec<UpdateResult>, ChannelError> {
        let shop = shop_id(&creds.shop)?;
        let mut results: Vec<Option<UpdateResult>> = vec![None; updates.len()];
        for batch in plan_batches(updates, |u| (&u.listing_id, &u.variant_id), Some(MAX_BATCH)) {
            let mut price_list = Vec::with_capacity(batch.variants.len());
            for (variant, indices) in &batch.variants {
                // A variant has one price; if it was given twice the last wins.
                if let Some(update) = indices.last().and_then(|&i| updates.get(i)) {
                    price_list.push(wire::PriceEntry {
                        model_id: numeric("model id", variant.as_str())?,
                        original_price: money_to_json_number(update.price),
                    });
                }
            }
            let body = to_body(&wire::UpdatePriceRequest {
                item_id: numeric("item id", batch.listing_id.as_str())?,
                price_list,
            })?;
            let answer = self
                .post_update("update_price", PATH_UPDATE_PRICE, creds, shop, body)
                .await?;
            for (index, result) in batch_results(&batch, |_| None, &answer) {
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
        let auth = Auth::Shop {
            token: &creds.access_token,
            shop_id: shop_id(&creds.shop)?,
        };
        let page_size = ORDER_PAGE_SIZE.to_string();
        let mut orders: Vec<ChangedOrder> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (from, to) in split_seconds(range, Some(ORDER_WINDOW)) {
            let (from, to) = (from.to_string(), to.to_string());
            let mut cursor = String::new();
            loop {
                let params = [
                    ("time_range_field", "update_time"),
                    ("time_from", from.as_str()),
                    ("time_to", to.as_str()),
                    ("page_size", page_size.as_str()),
                    ("cursor", cursor.as_str()),
                    ("response_optional_fields", "order_status"),
                ];
                let page: wire::Wrapped<wire::OrderList> = self
                    .call(
                        "get_order_list",
                        Method::GET,
                        PATH_ORDER_LIST,
                        auth,
                        &params,
                        None::<&()>,
                    )
                    .await?;
                let page = page.response;
                for entry in page.order_list {
                    let status = entry.order_status.as_deref().and_then(map::order_status);
                    match seen.get(&entry.order_sn) {
                        // A later window knows the later status.
                        Some(&i) => {
                            if let Some(o) = orders.get_mut(i) {
                                o.status = status.or(o.status);
                            }
                        }
                        None => {
                            seen.insert(entry.order_sn.clone(), orders.len());
                            orders.push(ChangedOrder {
                                order_id: ExtOrderId::new(entry.order_sn),
                                status,
                                detail: None,
                            });
                        }
                    }
                }
                if !page.more || page.next_cursor.is_empty() {
                    break;
                }
                if page.next_cursor == cursor {
                    return Err(ChannelError::protocol(
                        "get_order_list returned the same cursor again",
                    ));
                }
                cursor = page.next_cursor;
            }
        }
        Ok(orders)
    }

    async fn order_details(
        &self,
        creds: &ShopCredentials,
        ids: &[ExtOrderId],
    ) -> Result<Vec<Order>, ChannelError> {
        let auth = Auth::Shop {
            token: &creds.access_token,
            shop_id: shop_id(&creds.shop)?,
        };
        let mut orders = Vec::with_capacity(ids.len());
        for chunk in dedup_keep_order(ids).chunks(MAX_BATCH) {
            let list = chunk
                .iter()
                .map(ExtOrderId::as_str)
                .collect::<Vec<_>>()
                .join(",");
            let params = [
                ("order_sn_list", list.as_str()),
                ("response_optional_fields", ORDER_DETAIL_FIELDS),
            ];
            let answer: wire::Wrapped<wire::OrderDetailList> = self
                .call(
                    "get_order_detail",
                    Method::GET,
                    PATH_ORDER_DETAIL,
                    auth,
                    &params,
                    None::<&()>,
                )
                .await?;
            for detail in &answer.response.order_list {
                orders.push(map::order(detail)?);
            }
        }
        Ok(orders)
    }

    async fn ship_order(
        &self,
        creds: &ShopCredentials,
        request: &ShipRequest,
    ) -> Result<Shipment, ChannelError> {
        let auth = Auth::Shop {
            token: &creds.access_token,
            shop_id: shop_id(&creds.shop)?,
        };
        let mut params = vec![("order_sn", request.order_id.as_str())];
        if let Some(package) = &request.package_id {
            params.push(("package_number", package.as_str()));
        }
        let param: wire::Wrapped<wire::ShippingParameter> = self
            .call(
                "get_shipping_parameter",
                Method::GET,
                PATH_SHIPPING_PARAMETER,
                auth,
                &params,
                None::<&()>,
            )
            .await?;
        let body = ship_body(&param.response, request)?;
        let _: serde_json::Value = self
            .call(
                "ship_order",
                Method::POST,
                PATH_SHIP_ORDER,
                auth,
                &[],
                Some(&body),
            )
            .await?;

        // The shipment is arranged at this point; failing to read the
        // tracking number must not make the caller ship again.
        let tracking = match self
            .call::<wire::Wrapped<wire::TrackingNumber>>(
                "get_tracking_number",
                Method::GET,
                PATH_TRACKING_NUMBER,
                auth,
                &params,
                None::<&()>,
            )
            .await
        {
            Ok(t) => t.response.tracking_number.filter(|t| !t.is_empty()),
            Err(e) => {
                tracing::info!(marketplace = "shopee", error = %e, "tracking number not available yet");
                None
            }
        };
        Ok(Shipment {
            packages: vec![Package {
                package_id: request.package_id.clone(),
                tracking_number: tracking.or_else(|| request.tracking_number.clone()),
                carrier: None,
                status: None,
            }],
        })
    }

    async fn cancel_order(
        &self,
        creds: &ShopCredentials,
        request: &CancelRequest,
    ) -> Result<Cancellation, ChannelError> {
        let auth = Auth::Shop {
            token: &creds.access_token,
            shop_id: shop_id(&creds.shop)?,
        };
        let (reason, needs_items) = match request.reason {
            CancelReason::OutOfStock => ("OUT_OF_STOCK", true),
            CancelReason::UndeliverableArea => ("UNDELIVERABLE_AREA", false),
        };
        let mut lines: Vec<(ListingId, ExtVariantId)> = request.lines.clone();
        if needs_items && lines.is_empty() {
            // OUT_OF_STOCK must name the items; "all of them" means reading
            // the order first.
            let orders = self
                .order_details(creds, std::slice::from_ref(&request.order_id))
                .await?;
            lines = orders
                .iter()
                .flat_map(|o| &o.lines)
                .map(|l| (l.listing_id.clone(), l.variant_id.clone()))
                .collect();
        }
        let mut item_list = Vec::new();
        if needs_items {
            for (listing, variant) in &lines {
                let item = wire::CancelItem {
                    item_id: numeric("item id", listing.as_str())?,
                    model_id: numeric("model id", variant.as_str())?,
                };
                if !item_list.contains(&item) {
                    item_list.push(item);
                }
            }
        }
        let body = wire::CancelOrderRequest {
            order_sn: request.order_id.as_str(),
            cancel_reason: reason,
            item_list,
        };
        let _: serde_json::Value = self
            .call(
                "cancel_order",
                Method::POST,
                PATH_CANCEL_ORDER,
                auth,
                &[],
                Some(&body),
            )
            .await?;
        Ok(Cancellation {
            cancel_id: None,
            status: None,
        })
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>) -> Result<(), ChannelError> {
        let received = request
            .headers
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ChannelError::webhook("missing Authorization header"))?;
        let expected = sign::push_signature(self.partner_key.expose(), request.url, request.body);
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
