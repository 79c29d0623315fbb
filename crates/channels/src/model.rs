//! The marketplace-neutral values the [`crate::Channel`] trait takes and
//! returns: credentials, tokens, listings, stock and price updates, orders,
//! shipments and webhook events, already mapped to domain types.

use storesync_crypto::Secret;
use storesync_domain::{Currency, Marketplace, Money, OrderStatus, Sku, Timestamp};

use crate::error::ChannelError;
use crate::ids::{ExtOrderId, ExtShopId, ExtVariantId, ListingId, PackageId, WarehouseId};

/// Which shop a call acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopRef {
    /// The marketplace's shop id (Shopee `shop_id` as decimal text, TikTok
    /// shop `id`).
    pub shop_id: ExtShopId,
    /// Marketplace-specific shop handle the client needs on every
    /// shop-scoped call: TikTok's opaque `shop_cipher`, sent with each
    /// call; Lazada's venture code (`"SG"`, `"MY"`, …), which picks the
    /// shop's API host and currency (a cross-border seller has shops in
    /// several ventures; `None` means the client's configured venture).
    /// `None` for marketplaces that select the shop by id alone.
    pub cipher: Option<String>,
}

impl ShopRef {
    pub fn new(shop_id: impl Into<ExtShopId>) -> Self {
        Self {
            shop_id: shop_id.into(),
            cipher: None,
        }
    }

    pub fn with_cipher(mut self, cipher: impl Into<String>) -> Self {
        self.cipher = Some(cipher.into());
        self
    }
}

/// What a shop-scoped call needs: the shop and a current access token.
#[derive(Debug, Clone)]
pub struct ShopCredentials {
    pub shop: ShopRef,
    pub access_token: Secret<String>,
}

/// A token pair with absolute expiry times computed from the injected clock
/// at the moment the marketplace answered.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret<String>,
    /// Persist this before using the new access token: on marketplaces
    /// whose refresh tokens are single use
    /// ([`crate::Capabilities::refresh_token_single_use`]) the old one is
    /// already dead.
    pub refresh_token: Secret<String>,
    pub access_expires_at: Timestamp,
    /// When the refresh token (and thus the authorization) ends, if known.
    pub refresh_expires_at: Option<Timestamp>,
}

/// The query parameters the marketplace appended to our OAuth callback URL.
#[derive(Debug, Clone)]
pub struct AuthCallback {
    /// The single-use authorization code.
    pub code: Secret<String>,
    /// The `state` we put in the authorize URL, to check against CSRF.
    pub state: Option<String>,
    /// Shopee: the shop that was authorized (shop accounts).
    pub shop_id: Option<ExtShopId>,
    /// Shopee: the main (merchant) account that was authorized.
    pub main_account_id: Option<String>,
}

impl AuthCallback {
    /// Reads the callback's query pairs. The names (`code`, `state`,
    /// `shop_id`, `main_account_id`, `error`) are the same on every
    /// marketplace we support, so this is not a per-marketplace method.
    /// A refusal (`error=auth_denied`, or a missing/`null` code) is
    /// [`ChannelError::Invalid`] with the marketplace's error code.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ChannelError> {
        let mut code = None;
        let mut state = None;
        let mut shop_id = None;
        let mut main_account_id = None;
        let mut error = None;
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key {
                "code" if value != "null" => code = Some(value.to_owned()),
                "state" => state = Some(value.to_owned()),
                "shop_id" => shop_id = Some(ExtShopId::new(value)),
                "main_account_id" => main_account_id = Some(value.to_owned()),
                "error" => error = Some(value.to_owned()),
                _ => {}
            }
        }
        if let Some(error) = error {
            return Err(ChannelError::Invalid {
                code: error,
                message: "the seller did not grant the authorization".into(),
            });
        }
        let code = code.ok_or_else(|| ChannelError::Invalid {
            code: "missing_code".into(),
            message: "the authorization callback carries no code".into(),
        })?;
        Ok(Self {
            code: Secret::new(code),
            state,
            shop_id,
            main_account_id,
        })
    }
}

/// A shop a token may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedShop {
    pub shop: ShopRef,
    pub name: Option<String>,
    /// Two-letter market code (`ID`, `MY`, ...).
    pub region: Option<String>,
}

/// The outcome of exchanging an authorization code.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub tokens: TokenSet,
    /// Every shop the new token can act for (several for a Shopee main
    /// account or a TikTok seller with shops in several markets).
    pub shops: Vec<AuthorizedShop>,
}

/// An opaque position in a paged listing; hand it back unchanged to get the
/// next page. It is plain text so a durable job can store it between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor(pub String);

/// Which listings to return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListingQuery {
    /// Only listings changed at or after this time (for incremental polls on
    /// marketplaces without stock webhooks).
    pub updated_since: Option<Timestamp>,
}

/// One page of listings.
#[derive(Debug, Clone)]
pub struct ListingPage {
    pub listings: Vec<Listing>,
    /// `None` when this was the last page.
    pub next: Option<PageCursor>,
}

/// Whether buyers can see and buy a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingStatus {
    Active,
    /// Exists but is not buyable now (unlisted, under review, banned, draft).
    Inactive,
    Deleted,
}

/// A product as listed on a marketplace, with its variants.
#[derive(Debug, Clone)]
pub struct Listing {
    pub listing_id: ListingId,
    pub title: String,
    pub status: ListingStatus,
    /// The marketplace's own status word, for display and diagnosis.
    pub marketplace_status: String,
    pub updated_at: Option<Timestamp>,
    pub variants: Vec<ListingVariant>,
}

/// One sellable variant (SKU) of a listing.
#[derive(Debug, Clone)]
pub struct ListingVariant {
    pub variant_id: ExtVariantId,
    /// The seller's SKU when it is a valid [`Sku`]; listings with an empty
    /// or malformed seller SKU cannot be matched automatically.
    pub sku: Option<Sku>,
    /// The seller SKU exactly as the marketplace holds it.
    pub seller_sku: String,
    pub stock: Vec<WarehouseStock>,
    /// Units the marketplace holds back for promotions; stock updates below
    /// this are refused.
    pub reserved: Option<i64>,
    /// The price the seller sets (what a price update changes).
    pub price: Option<Money>,
}

impl ListingVariant {
    /// Sellable units across all warehouses.
    pub fn total_stock(&self) -> i64 {
        self.stock.iter().map(|s| s.quantity).sum()
    }
}

/// Stock of a variant in one marketplace warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseStock {
    /// `None` for sellers with a single, unnamed location.
    pub warehouse_id: Option<WarehouseId>,
    pub quantity: i64,
}

/// Set the absolute stock of one variant (in one warehouse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockUpdate {
    pub listing_id: ListingId,
    pub variant_id: ExtVariantId,
    /// `None` for single-location sellers.
    pub warehouse_id: Option<WarehouseId>,
    pub quantity: u32,
}

/// Set the price of one variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceUpdate {
    pub listing_id: ListingId,
    pub variant_id: ExtVariantId,
    pub price: Money,
}

/// What happened to one requested update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateResult {
    pub listing_id: ListingId,
    pub variant_id: ExtVariantId,
    pub warehouse_id: Option<WarehouseId>,
    pub outcome: UpdateOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    Applied,
    Rejected(UpdateFailure),
    /// The call that carried this update failed as a whole (throttled,
    /// timed out, a server error) while other calls of the same request
    /// went through. Nothing was refused: send it again.
    CallFailed(CallFailure),
}

/// Why a call carrying some of a request's updates failed, and whether the
/// marketplace may have acted on it before failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    pub message: String,
    /// A timeout, a server error or an unreadable answer: the update may
    /// have been applied. A throttle or a refusal of the call: it was not.
    pub may_have_applied: bool,
    /// The delay the marketplace asked for before calling again.
    pub retry_after: Option<std::time::Duration>,
}

/// Why the marketplace refused one variant's update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateFailure {
    pub reason: FailureReason,
    /// The marketplace's code (or its failed_reason text when it has none).
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    /// Stock may not go below what a running promotion reserved (Shopee
    /// "total stock must be more than reserved stock", TikTok 12052393).
    BelowReservedStock,
    /// The listing or variant no longer exists on the marketplace.
    NotFound,
    /// Any other refusal; see code and message.
    Other,
}

/// An order that changed in the requested time range.
#[derive(Debug, Clone)]
pub struct ChangedOrder {
    pub order_id: ExtOrderId,
    /// Mapped status, when the list call reports one.
    pub status: Option<OrderStatus>,
    /// The full order when the list call already returns it (TikTok);
    /// otherwise fetch it with [`crate::Channel::order_details`]. See
    /// [`crate::Capabilities::order_list_includes_details`].
    pub detail: Option<Order>,
}

/// An order as the marketplace reports it, mapped to domain types.
#[derive(Debug, Clone)]
pub struct Order {
    pub order_id: ExtOrderId,
    pub status: OrderStatus,
    /// The marketplace's own status word (`READY_TO_SHIP`, `ON_HOLD`, ...).
    pub marketplace_status: String,
    /// Where the buyer ordered: a TikTok Shop order from Indonesia may come
    /// from Tokopedia (`commerce_platform`); stock is one pool either way.
    pub placed_on: Marketplace,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub currency: Option<Currency>,
    pub total: Option<Money>,
    pub lines: Vec<OrderLine>,
    pub packages: Vec<Package>,
    /// The buyer asked to cancel and the request is pending (Shopee
    /// `IN_CANCEL`, TikTok `is_buyer_request_cancel`).
    pub cancel_requested: bool,
    pub cancel_reason: Option<String>,
}

/// Units of one variant in an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub listing_id: ListingId,
    pub variant_id: ExtVariantId,
    pub sku: Option<Sku>,
    pub seller_sku: String,
    pub name: String,
    pub quantity: u32,
    /// Price per unit after discounts, when reported.
    pub unit_price: Option<Money>,
    /// The marketplace's line ids (TikTok lists one line per unit).
    pub line_ids: Vec<String>,
}

/// A shipment package of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub package_id: Option<PackageId>,
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    /// The marketplace's own package/logistics status.
    pub status: Option<String>,
}

/// How the parcel reaches the carrier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Handover {
    /// The carrier collects from the seller (the usual default).
    #[default]
    Pickup,
    /// The seller drops the parcel at a carrier branch.
    DropOff,
}

/// Arrange shipment of an order (or one of its packages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipRequest {
    pub order_id: ExtOrderId,
    /// Ship only this package; `None` ships every package of the order.
    pub package_id: Option<PackageId>,
    pub handover: Handover,
    /// For seller-arranged shipping: the tracking number the seller got
    /// from its own carrier.
    pub tracking_number: Option<String>,
    /// TikTok `shipping_provider_id` for seller-arranged shipping.
    pub shipping_provider_id: Option<String>,
}

/// What shipping produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub packages: Vec<Package>,
}

/// Why the seller cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    OutOfStock,
    /// The address cannot be delivered to (Shopee: TW/MY only).
    UndeliverableArea,
}

/// Cancel an order as the seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    pub order_id: ExtOrderId,
    pub reason: CancelReason,
    /// The lines that are out of stock; empty means every line of the order
    /// (the client fetches them when the marketplace needs them listed).
    pub lines: Vec<(ListingId, ExtVariantId)>,
}

/// The marketplace's answer to a cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// TikTok `cancel_id`; Shopee cancels synchronously without one.
    pub cancel_id: Option<String>,
    /// The marketplace's cancellation status word, when it gives one.
    pub status: Option<String>,
}

/// An inbound webhook exactly as received.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The URL the marketplace was configured to call, exactly as
    /// configured (Shopee signs it). Behind a proxy, pass the public URL,
    /// not the one the proxy forwarded to.
    pub url: &'a str,
    pub headers: &'a reqwest::header::HeaderMap,
    /// The raw body bytes; never a re-serialized value.
    pub body: &'a [u8],
}

/// A typed event parsed from a verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The shop the event concerns; `None` for partner-level events.
    pub shop_id: Option<ExtShopId>,
    /// The marketplace's notification id, when it sends one (use it, or a
    /// hash of the body, to de-duplicate).
    pub notification_id: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub kind: WebhookEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEventKind {
    /// An order moved; fetch its details to learn lines and packages.
    OrderStatusChanged {
        order_id: ExtOrderId,
        status: OrderStatus,
        marketplace_status: String,
    },
    /// Something else about an order changed (tracking number, address,
    /// packages, cancellation or return request): re-fetch it.
    OrderChanged { order_id: ExtOrderId },
    /// Stock or product data of a listing changed on the marketplace side;
    /// `None` when the event does not say which listing.
    ListingChanged {
        listing_id: Option<ListingId>,
        variant_id: Option<ExtVariantId>,
    },
    /// New shops were authorized for the app.
    Authorized { shop_ids: Vec<ExtShopId> },
    /// The seller revoked our access; stop calling and mark the shop.
    Deauthorized,
    /// The authorization ends soon; ask the seller to re-authorize.
    AuthorizationExpiring { expires_at: Option<Timestamp> },
    /// A well-formed event we have no use for; acknowledge and drop it.
    Ignored { event_type: String },
}
