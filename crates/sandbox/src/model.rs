//! The marketplace-neutral state of a sandbox: shops, listings with variants and per-warehouse
//! stock, promotion reservations, orders moving through stages, tokens, sales and call counts.
//! Each marketplace module renders this state in its own wire vocabulary.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};
use storesync_domain::Timestamp;

use crate::error::SandboxError;
use crate::sandbox::{BuyerCancel, IdKind, Protocol};

/// Where an order is in its life, independent of how a marketplace spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Placed, not paid (Shopee `UNPAID`, TikTok `UNPAID`).
    Unpaid,
    /// Paid, waiting for the seller (Shopee `READY_TO_SHIP`, TikTok `AWAITING_SHIPMENT`).
    ReadyToShip,
    /// The buyer asked to cancel and the seller must answer (Shopee `IN_CANCEL`; TikTok keeps
    /// `AWAITING_SHIPMENT` with `is_buyer_request_cancel`).
    InCancel,
    /// Lazada only: packed (package and tracking number assigned), not yet ready to ship.
    Packed,
    /// Shipment arranged, tracking number known (Shopee `PROCESSED`, TikTok `AWAITING_COLLECTION`).
    Arranged,
    /// Picked up by the carrier (Shopee `SHIPPED`, TikTok `IN_TRANSIT`).
    Shipped,
    /// Delivered (Shopee `TO_CONFIRM_RECEIVE`, TikTok `DELIVERED`).
    Delivered,
    Completed,
    Cancelled,
}

/// Something that happened and may be pushed to a webhook, rendered by the marketplace module.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    OrderStatus {
        shop_id: u64,
        order_id: String,
        stage: Stage,
        update_ms: i64,
    },
    Tracking {
        shop_id: u64,
        order_id: String,
        package_id: String,
        tracking: String,
    },
    Inventory {
        shop_id: u64,
        product_id: u64,
        variant_id: u64,
        before: i64,
        after: i64,
        reserved: i64,
    },
    Reservation {
        shop_id: u64,
        product_id: u64,
        variant_id: u64,
        reserved: i64,
    },
    Authorized {
        shop_id: u64,
    },
    Deauthorized {
        shop_id: u64,
    },
    AuthExpiring {
        shop_id: u64,
        expire_ms: i64,
    },
}

/// How a simulated buyer population behaves for one shop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuyerSettings {
    /// Orders placed per real second (0 = no buyers).
    pub orders_per_sec: f64,
    /// Largest quantity one order line asks for (at least 1); never more than the listing shows.
    pub max_quantity: i64,
    /// Fraction of orders the buyer later cancels (TikTok: within the first hour).
    pub cancel_rate: f64,
    /// Indonesian TikTok shops only: fraction of orders placed on Tokopedia.
    pub tokopedia_share: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Shop {
    pub id: u64,
    pub name: String,
    pub region: String,
    pub currency: String,
    pub cipher: String,
    pub warehouses: Vec<String>,
    pub products: Vec<u64>,
    pub orders: Vec<String>,
    pub authorized: bool,
    pub auth_time_ms: i64,
    pub auth_expire_ms: i64,
    pub expiry_warned_day: Option<i64>,
    /// TikTok per-shop webhook addresses by event type name.
    pub webhooks: BTreeMap<String, String>,
    pub buyers: BuyerSettings,
    pub buyer_credit: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Variant {
    pub id: u64,
    pub seller_sku: String,
    pub name: String,
    pub price_cents: i64,
    pub original_price_cents: i64,
    pub stock: BTreeMap<String, i64>,
    pub reserved: i64,
}

impl Variant {
    pub fn total(&self) -> i64 {
        self.stock.values().sum()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: u64,
    pub shop_id: u64,
    pub name: String,
    pub item_sku: String,
    pub listed: bool,
    pub has_variants: bool,
    pub variants: Vec<Variant>,
    pub create_ms: i64,
    pub update_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub line_id: u64,
    pub product_id: u64,
    pub variant_id: u64,
    pub seller_sku: String,
    pub product_name: String,
    pub variant_name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub original_price_cents: i64,
    /// Where the units were taken from, so a cancellation puts them back where they were.
    pub taken: Vec<(String, i64)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub id: String,
    pub shop_id: u64,
    pub stage: Stage,
    pub stage_before_cancel: Option<Stage>,
    pub lines: Vec<Line>,
    pub create_ms: i64,
    pub update_ms: i64,
    pub pay_ms: Option<i64>,
    pub package_id: String,
    pub tracking: Option<String>,
    pub carrier: String,
    pub cancel_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub buyer_cancel_requested: bool,
    pub commerce_platform: Option<String>,
    pub buyer_user_id: u64,
    pub buyer_name: String,
    pub currency: String,
    pub shipping_fee_cents: i64,
    pub warehouse: String,
    /// Lazada: order items (one per unit, by order item id) the seller cancelled on their own
    /// while the rest of the order goes on, with the reason given.
    pub cancelled_items: BTreeMap<u64, String>,
    /// Lazada: packages packed from some of the order's items, each with its own package id
    /// and tracking number.
    pub parcels: Vec<Parcel>,
}

/// Lazada: one package packed from some order items of an order.
#[derive(Debug, Clone)]
pub(crate) struct Parcel {
    pub package_id: String,
    pub tracking: String,
    /// Order item ids.
    pub items: Vec<u64>,
    /// Marked ready to ship.
    pub ready: bool,
}

impl Order {
    pub fn total_cents(&self) -> i64 {
        self.subtotal_cents() + self.shipping_fee_cents
    }

    pub fn subtotal_cents(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| l.unit_price_cents * l.quantity)
            .sum()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub shop_ids: Vec<u64>,
    pub expires_ms: i64,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub shop_ids: Vec<u64>,
    pub expires_ms: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub shop_ids: Vec<u64>,
    pub expires_ms: i64,
    pub used: bool,
    pub revoked: bool,
    pub access_token: String,
}

/// Units sold per SKU, so a benchmark can compare sales with the seller's physical stock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuSales {
    pub units_ordered: i64,
    pub units_cancelled: i64,
    /// `units_ordered - units_cancelled`.
    pub units_net: i64,
}

/// A push the Shopee lost-push API can still hand out.
#[derive(Debug, Clone)]
pub(crate) struct LostPush {
    pub message_id: u64,
    pub shop_id: Option<u64>,
    pub code: i64,
    pub timestamp: i64,
    pub data: String,
}

/// All mutable state of one sandbox, behind one mutex.
#[derive(Debug)]
pub(crate) struct World {
    pub shops: BTreeMap<u64, Shop>,
    pub products: HashMap<u64, Product>,
    pub variant_product: HashMap<u64, u64>,
    pub orders: HashMap<String, Order>,
    pub packages: HashMap<String, String>,
    pub codes: HashMap<String, AuthCode>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub sales: BTreeMap<u64, BTreeMap<String, SkuSales>>,
    pub app_push_url: Option<String>,
    pub redirect_url: Option<String>,
    pub lost_pushes: Vec<LostPush>,
    /// Buyer cancellations the simulator has planned: (sandbox ms, order id).
    pub cancel_schedule: Vec<(i64, String)>,
    pub events: Vec<Event>,
    pub rng: StdRng,
    seq: u64,
}

// ---------------------------------------------------------------------------------------------
// Control-API input and output shapes.

/// A price given as a JSON number or a decimal string (`12.5`, `"12.50"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PriceInput {
    Text(String),
    Number(f64),
}

impl PriceInput {
    pub fn cents(&self) -> Result<i64, SandboxError> {
        match self {
            PriceInput::Text(s) => crate::util::parse_decimal_cents(s)
                .ok_or_else(|| SandboxError::Invalid(format!("not a price: {s:?}"))),
            PriceInput::Number(n) if n.is_finite() && *n >= 0.0 => Ok((n * 100.0).round() as i64),
            PriceInput::Number(n) => Err(SandboxError::Invalid(format!("not a price: {n}"))),
        }
    }
}

/// Stock given as one number (first warehouse) or per warehouse id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StockInput {
    Total(i64),
    PerWarehouse(BTreeMap<String, i64>),
}

impl Default for StockInput {
    fn default() -> Self {
        StockInput::Total(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariantSpec {
    pub seller_sku: String,
    #[serde(default)]
    pub name: Option<String>,
    pub price: PriceInput,
    #[serde(default)]
    pub stock: StockInput,
    #[serde(default)]
    pub reserved: i64,
}

impl Default for PriceInput {
    fn default() -> Self {
        PriceInput::Number(0.0)
    }
}

/// One listing. Without `variants` it is a single-SKU listing (Shopee: an item without models,
/// `model_id` 0) using `item_sku`, `price` and `stock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductSpec {
    pub name: String,
    #[serde(default)]
    pub item_sku: Option<String>,
    #[serde(default)]
    pub listed: Option<bool>,
    #[serde(default)]
    pub price: Option<PriceInput>,
    #[serde(default)]
    pub stock: Option<StockInput>,
    #[serde(default)]
    pub reserved: i64,
    #[serde(default)]
    pub variants: Vec<VariantSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateShop {
    /// Wanted id; generated in the marketplace's id range when absent.
    #[serde(default)]
    pub shop_id: Option<u64>,
    #[serde(default)]
    pub name: Option<String>,
    /// Two-letter region (`SG`, `MY`, `ID`, …); decides the currency.
    #[serde(default)]
    pub region: Option<String>,
    /// Warehouse / location ids; one default warehouse when absent.
    #[serde(default)]
    pub warehouses: Option<Vec<String>>,
    #[serde(default)]
    pub products: Vec<ProductSpec>,
    /// Simulated buyers for this shop (none when absent).
    #[serde(default)]
    pub buyers: Option<BuyerSettings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantView {
    pub variant_id: u64,
    /// Shopee's `model_id`: 0 for an item without variants, else the variant id.
    pub model_id: u64,
    pub seller_sku: String,
    pub name: String,
    pub price: String,
    pub stock: BTreeMap<String, i64>,
    pub total_stock: i64,
    pub reserved: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductView {
    pub product_id: u64,
    pub name: String,
    pub item_sku: String,
    pub listed: bool,
    pub has_variants: bool,
    pub variants: Vec<VariantView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopView {
    pub shop_id: u64,
    pub name: String,
    pub region: String,
    pub currency: String,
    /// TikTok's `shop_cipher` (empty for Shopee).
    pub cipher: String,
    pub warehouses: Vec<String>,
    pub authorized: bool,
    /// End of the seller's authorization, unix seconds (0 = never authorized).
    pub auth_expire_time: i64,
    pub buyers: BuyerSettings,
    pub products: Vec<ProductView>,
}

/// One SKU as the buyers currently see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListingView {
    pub shop_id: u64,
    pub product_id: u64,
    pub variant_id: u64,
    pub model_id: u64,
    pub seller_sku: String,
    pub listed: bool,
    pub stock: BTreeMap<String, i64>,
    pub total_stock: i64,
    pub reserved: i64,
    pub price: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLineSpec {
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub variant_id: Option<u64>,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaceOrder {
    pub lines: Vec<OrderLineSpec>,
    /// Leave the order `UNPAID` (the `pay` action moves it on).
    #[serde(default)]
    pub unpaid: bool,
    /// TikTok Indonesia: `TIKTOK_SHOP` (default) or `TOKOPEDIA`.
    #[serde(default)]
    pub commerce_platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub product_id: u64,
    pub variant_id: u64,
    pub seller_sku: String,
    pub quantity: i64,
    pub unit_price: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: String,
    pub shop_id: u64,
    /// The status as the marketplace spells it.
    pub status: String,
    pub stage: Stage,
    pub lines: Vec<OrderLineView>,
    pub create_time: i64,
    pub update_time: i64,
    pub package_id: String,
    pub tracking_number: Option<String>,
    pub commerce_platform: Option<String>,
    pub cancel_by: Option<String>,
    pub buyer_cancel_requested: bool,
}

/// Things that can happen to an order from outside the seller API (or as a shortcut for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Pay,
    /// Arrange shipment as the seller would (assigns a tracking number).
    Ship,
    /// The carrier collects the parcel.
    Pickup,
    Deliver,
    Complete,
    BuyerCancel,
    SellerCancel,
    AcceptCancel,
    RejectCancel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub shop_id: u64,
    /// Shopee: the `redirect` of the consent link (required). TikTok: ignored — the app's
    /// registered redirect URL is used.
    #[serde(default)]
    pub redirect: Option<String>,
    /// TikTok: the `state` to echo back.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeResult {
    pub code: String,
    pub shop_id: u64,
    /// Where the seller's browser would be sent; `None` when no redirect URL is known.
    pub redirect_url: Option<String>,
}

/// Number of calls per API endpoint (`METHOD /path`), for assertions and benchmarks.
pub type CallCount = BTreeMap<String, u64>;

// ---------------------------------------------------------------------------------------------

pub(crate) fn currency_for(region: &str) -> &'static str {
    match region {
        "SG" => "SGD",
        "MY" => "MYR",
        "ID" => "IDR",
        "TH" => "THB",
        "VN" => "VND",
        "PH" => "PHP",
        "TW" => "TWD",
        "BR" => "BRL",
        "MX" => "MXN",
        "GB" => "GBP",
        _ => "USD",
    }
}

impl World {
    pub fn new(rng: StdRng) -> Self {
        World {
            shops: BTreeMap::new(),
            products: HashMap::new(),
            variant_product: HashMap::new(),
            orders: HashMap::new(),
            packages: HashMap::new(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            sales: BTreeMap::new(),
            app_push_url: None,
            redirect_url: None,
            lost_pushes: Vec::new(),
            cancel_schedule: Vec::new(),
            events: Vec::new(),
            rng,
            seq: 0,
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn random_hex(&mut self, bytes: usize) -> String {
        let v: Vec<u8> = (0..bytes).map(|_| self.rng.gen()).collect();
        hex::encode(v)
    }

    pub fn shop(&self, id: u64) -> Result<&Shop, SandboxError> {
        self.shops.get(&id).ok_or(SandboxError::ShopNotFound(id))
    }

    pub fn shop_by_cipher(&self, cipher: &str) -> Option<&Shop> {
        self.shops.values().find(|s| s.cipher == cipher)
    }

    pub fn create_shop(
        &mut self,
        spec: &CreateShop,
        proto: &dyn Protocol,
        now: Timestamp,
    ) -> Result<ShopView, SandboxError> {
        let seq = self.next_seq();
        let id = spec.shop_id.unwrap_or_else(|| proto.id(IdKind::Shop, seq));
        if self.shops.contains_key(&id) {
            return Err(SandboxError::Invalid(format!("shop {id} already exists")));
        }
        let region = spec
            .region
            .clone()
            .unwrap_or_else(|| "SG".to_owned())
            .to_ascii_uppercase();
        let warehouses = match &spec.warehouses {
            Some(w) if !w.is_empty() => w.clone(),
            _ => vec![proto.default_warehouse(&region, seq)],
        };
        let cipher = proto.cipher(&region, &mut self.rng);
        let shop = Shop {
            id,
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("Sandbox shop {id}")),
            currency: currency_for(&region).to_owned(),
            region,
            cipher,
            warehouses,
            products: Vec::new(),
            orders: Vec::new(),
            authorized: false,
            auth_time_ms: 0,
            auth_expire_ms: 0,
            expiry_warned_day: None,
            webhooks: BTreeMap::new(),
            buyers: spec.buyers.clone().unwrap_or_default(),
            buyer_credit: 0.0,
        };
        self.shops.insert(id, shop);
        for p in &spec.products {
            self.add_product(id, p, proto, now)?;
        }
        self.shop_view(id, proto)
    }

    pub fn add_product(
        &mut self,
        shop_id: u64,
        spec: &ProductSpec,
        proto: &dyn Protocol,
        now: Timestamp,
    ) -> Result<u64, SandboxError> {
        let warehouses = self.shop(shop_id)?.warehouses.clone();
        let seq = self.next_seq();
        let product_id = proto.id(IdKind::Product, seq);
        let has_variants = !spec.variants.is_empty();
        let specs: Vec<VariantSpec> = if has_variants {
            spec.variants.clone()
        } else {
            vec![VariantSpec {
                seller_sku: spec
                    .item_sku
                    .clone()
                    .unwrap_or_else(|| format!("SKU-{product_id}")),
                name: None,
                price: spec.price.clone().unwrap_or_default(),
                stock: spec.stock.clone().unwrap_or_default(),
                reserved: spec.reserved,
            }]
        };
        let mut variants = Vec::new();
        for v in &specs {
            let vseq = self.next_seq();
            let price = v.price.cents()?;
            let mut stock: BTreeMap<String, i64> =
                warehouses.iter().map(|w| (w.clone(), 0)).collect();
            match &v.stock {
                StockInput::Total(n) => {
                    if let Some(first) = warehouses.first() {
                        stock.insert(first.clone(), (*n).max(0));
                    }
                }
                StockInput::PerWarehouse(m) => {
                    for (w, n) in m {
                        if !warehouses.contains(w) {
                            return Err(SandboxError::Invalid(format!("unknown warehouse {w:?}")));
                        }
                        stock.insert(w.clone(), (*n).max(0));
                    }
                }
            }
            let id = proto.id(IdKind::Variant, vseq);
            self.variant_product.insert(id, product_id);
            variants.push(Variant {
                id,
                seller_sku: v.seller_sku.clone(),
                name: v.name.clone().unwrap_or_else(|| v.seller_sku.clone()),
                price_cents: price,
                original_price_cents: price,
                stock,
                reserved: v.reserved.max(0),
            });
        }
        let product = Product {
            id: product_id,
            shop_id,
            name: spec.name.clone(),
            item_sku: spec.item_sku.clone().unwrap_or_default(),
            listed: spec.listed.unwrap_or(true),
            has_variants,
            variants,
            create_ms: now.millis(),
            update_ms: now.millis(),
        };
        self.products.insert(product_id, product);
        if let Some(shop) = self.shops.get_mut(&shop_id) {
            shop.products.push(product_id);
        }
        Ok(product_id)
    }

    pub fn shop_view(&self, id: u64, proto: &dyn Protocol) -> Result<ShopView, SandboxError> {
        let shop = self.shop(id)?;
        let products = shop
            .products
            .iter()
            .filter_map(|pid| self.products.get(pid))
            .map(|p| ProductView {
                product_id: p.id,
                name: p.name.clone(),
                item_sku: p.item_sku.clone(),
                listed: p.listed,
                has_variants: p.has_variants,
                variants: p
                    .variants
                    .iter()
                    .map(|v| VariantView {
                        variant_id: v.id,
                        model_id: if p.has_variants { v.id } else { 0 },
                        seller_sku: v.seller_sku.clone(),
                        name: v.name.clone(),
                        price: proto.format_price(v.price_cents, &shop.currency),
                        stock: v.stock.clone(),
                        total_stock: v.total(),
                        reserved: v.reserved,
                    })
                    .collect(),
            })
            .collect();
        Ok(ShopView {
            shop_id: shop.id,
            name: shop.name.clone(),
            region: shop.region.clone(),
            currency: shop.currency.clone(),
            cipher: shop.cipher.clone(),
            warehouses: shop.warehouses.clone(),
            authorized: shop.authorized,
            auth_expire_time: shop.auth_expire_ms / 1000,
            buyers: shop.buyers.clone(),
            products,
        })
    }

    pub fn listings(
        &self,
        shop_id: u64,
        proto: &dyn Protocol,
    ) -> Result<Vec<ListingView>, SandboxError> {
        let view = self.shop_view(shop_id, proto)?;
        Ok(view
            .products
            .into_iter()
            .flat_map(|p| {
                let listed = p.listed;
                let product_id = p.product_id;
                p.variants.into_iter().map(move |v| ListingView {
                    shop_id,
                    product_id,
                    variant_id: v.variant_id,
                    model_id: v.model_id,
                    seller_sku: v.seller_sku,
                    listed,
                    stock: v.stock,
                    total_stock: v.total_stock,
                    reserved: v.reserved,
                    price: v.price,
                })
            })
            .collect())
    }

    /// Finds a variant of the shop by seller SKU or id.
    pub fn find_variant(
        &self,
        shop_id: u64,
        seller_sku: Option<&str>,
        variant_id: Option<u64>,
    ) -> Result<(u64, u64), SandboxError> {
        let shop = self.shop(shop_id)?;
        for pid in &shop.products {
            if let Some(p) = self.products.get(pid) {
                for v in &p.variants {
                    if Some(v.id) == variant_id || Some(v.seller_sku.as_str()) == seller_sku {
                        return Ok((p.id, v.id));
                    }
                }
            }
        }
        Err(SandboxError::SkuNotFound(
            seller_sku
                .map(str::to_owned)
                .or_else(|| variant_id.map(|v| v.to_string()))
                .unwrap_or_default(),
        ))
    }

    pub fn variant_mut(&mut self, product_id: u64, variant_id: u64) -> Option<&mut Variant> {
        self.products
            .get_mut(&product_id)?
            .variants
            .iter_mut()
            .find(|v| v.id == variant_id)
    }

    /// Sets one warehouse's stock of a variant, as a seller edit would (no floor check here:
    /// callers that speak for the seller API check the promotion floor first).
    pub fn set_stock(
        &mut self,
        product_id: u64,
        variant_id: u64,
        warehouse: &str,
        quantity: i64,
        now: Timestamp,
    ) -> Result<(), SandboxError> {
        let shop_id = self
            .products
            .get(&product_id)
            .map(|p| p.shop_id)
            .ok_or_else(|| SandboxError::Invalid(format!("product {product_id} not found")))?;
        let v = self
            .variant_mut(product_id, variant_id)
            .ok_or_else(|| SandboxError::SkuNotFound(variant_id.to_string()))?;
        if !v.stock.contains_key(warehouse) {
            return Err(SandboxError::Invalid(format!(
                "unknown warehouse {warehouse:?}"
            )));
        }
        let before = v.total();
        v.stock.insert(warehouse.to_owned(), quantity.max(0));
        let after = v.total();
        let reserved = v.reserved;
        if let Some(p) = self.products.get_mut(&product_id) {
            p.update_ms = now.millis();
        }
        if before != after {
            self.events.push(Event::Inventory {
                shop_id,
                product_id,
                variant_id,
                before,
                after,
                reserved,
            });
        }
        Ok(())
    }

    pub fn set_reservation(
        &mut self,
        shop_id: u64,
        seller_sku: &str,
        reserved: i64,
        now: Timestamp,
    ) -> Result<(), SandboxError> {
        let (product_id, variant_id) = self.find_variant(shop_id, Some(seller_sku), None)?;
        let v = self
            .variant_mut(product_id, variant_id)
            .ok_or_else(|| SandboxError::SkuNotFound(seller_sku.to_owned()))?;
        v.reserved = reserved.max(0);
        if let Some(p) = self.products.get_mut(&product_id) {
            p.update_ms = now.millis();
        }
        self.events.push(Event::Reservation {
            shop_id,
            product_id,
            variant_id,
            reserved: reserved.max(0),
        });
        Ok(())
    }

    pub fn place_order(
        &mut self,
        shop_id: u64,
        req: &PlaceOrder,
        proto: &dyn Protocol,
        now: Timestamp,
    ) -> Result<OrderView, SandboxError> {
        if req.lines.is_empty() {
            return Err(SandboxError::Invalid("an order needs lines".to_owned()));
        }
        let shop = self.shop(shop_id)?;
        let currency = shop.currency.clone();
        let warehouse = shop.warehouses.first().cloned().unwrap_or_default();
        // Check everything first so a refused order changes nothing.
        let mut resolved = Vec::new();
        let mut wanted: HashMap<u64, i64> = HashMap::new();
        for l in &req.lines {
            if l.quantity < 1 {
                return Err(SandboxError::Invalid(
                    "quantity must be at least 1".to_owned(),
                ));
            }
            let (pid, vid) = self.find_variant(shop_id, l.seller_sku.as_deref(), l.variant_id)?;
            let p = self
                .products
                .get(&pid)
                .ok_or_else(|| SandboxError::SkuNotFound(pid.to_string()))?;
            let v = p
                .variants
                .iter()
                .find(|v| v.id == vid)
                .ok_or_else(|| SandboxError::SkuNotFound(vid.to_string()))?;
            let w = wanted.entry(vid).or_insert(0);
            *w += l.quantity;
            if !p.listed || v.total() < *w {
                return Err(SandboxError::OutOfStock {
                    sku: v.seller_sku.clone(),
                    shown: if p.listed { v.total() } else { 0 },
                    wanted: *w,
                });
            }
            resolved.push((pid, vid, l.quantity));
        }
        let seq = self.next_seq();
        let order_id = proto.order_id(seq, now);
        let package_id = proto.id_string(IdKind::Package, seq);
        let mut lines = Vec::new();
        for (pid, vid, qty) in resolved {
            let line_seq = self.next_seq();
            let (product_name, before, after, reserved, line) = {
                let p = self
                    .products
                    .get_mut(&pid)
                    .ok_or_else(|| SandboxError::SkuNotFound(pid.to_string()))?;
                p.update_ms = now.millis();
                let product_name = p.name.clone();
                let v = p
                    .variants
                    .iter_mut()
                    .find(|v| v.id == vid)
                    .ok_or_else(|| SandboxError::SkuNotFound(vid.to_string()))?;
                let before = v.total();
                // The marketplace deducts the listing's stock the moment the order is placed.
                let mut left = qty;
                let mut taken = Vec::new();
                for (wh, n) in v.stock.iter_mut() {
                    if left == 0 {
                        break;
                    }
                    let t = left.min(*n);
                    if t > 0 {
                        *n -= t;
                        left -= t;
                        taken.push((wh.clone(), t));
                    }
                }
                // Promotion buyers consume the reserved part too; it can never exceed the stock.
                v.reserved = v.reserved.min(v.total());
                let line = Line {
                    line_id: proto.id(IdKind::Line, line_seq),
                    product_id: pid,
                    variant_id: vid,
                    seller_sku: v.seller_sku.clone(),
                    product_name: product_name.clone(),
                    variant_name: v.name.clone(),
                    quantity: qty,
                    unit_price_cents: v.price_cents,
                    original_price_cents: v.original_price_cents,
                    taken,
                };
                (product_name, before, v.total(), v.reserved, line)
            };
            let _ = product_name;
            let s = self
                .sales
                .entry(shop_id)
                .or_default()
                .entry(line.seller_sku.clone())
                .or_default();
            s.units_ordered += qty;
            s.units_net = s.units_ordered - s.units_cancelled;
            self.events.push(Event::Inventory {
                shop_id,
                product_id: pid,
                variant_id: vid,
                before,
                after,
                reserved,
            });
            lines.push(line);
        }
        let stage = if req.unpaid {
            Stage::Unpaid
        } else {
            Stage::ReadyToShip
        };
        let buyer_user_id = proto.id(IdKind::User, seq);
        let order = Order {
            id: order_id.clone(),
            shop_id,
            stage,
            stage_before_cancel: None,
            lines,
            create_ms: now.millis(),
            update_ms: now.millis(),
            pay_ms: (!req.unpaid).then_some(now.millis()),
            package_id: package_id.clone(),
            tracking: None,
            carrier: proto.carrier().to_owned(),
            cancel_by: None,
            cancel_reason: None,
            buyer_cancel_requested: false,
            commerce_platform: req.commerce_platform.clone(),
            buyer_user_id,
            buyer_name: format!("buyer{seq}"),
            currency,
            shipping_fee_cents: 0,
            warehouse,
            cancelled_items: BTreeMap::new(),
            parcels: Vec::new(),
        };
        self.packages.insert(package_id, order_id.clone());
        self.orders.insert(order_id.clone(), order);
        if let Some(shop) = self.shops.get_mut(&shop_id) {
            shop.orders.push(order_id.clone());
        }
        self.push_status_event(&order_id);
        self.order_view(&order_id, proto)
    }

    pub(crate) fn push_status_event(&mut self, order_id: &str) {
        if let Some(o) = self.orders.get(order_id) {
            self.events.push(Event::OrderStatus {
                shop_id: o.shop_id,
                order_id: o.id.clone(),
                stage: o.stage,
                update_ms: o.update_ms,
            });
        }
    }

    pub fn order_view(
        &self,
        order_id: &str,
        proto: &dyn Protocol,
    ) -> Result<OrderView, SandboxError> {
        let o = self
            .orders
            .get(order_id)
            .ok_or_else(|| SandboxError::OrderNotFound(order_id.to_owned()))?;
        Ok(OrderView {
            order_id: o.id.clone(),
            shop_id: o.shop_id,
            status: proto.status_name(o.stage).to_owned(),
            stage: o.stage,
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineView {
                    product_id: l.product_id,
                    variant_id: l.variant_id,
                    seller_sku: l.seller_sku.clone(),
                    quantity: l.quantity,
                    unit_price: proto.format_price(l.unit_price_cents, &o.currency),
                })
                .collect(),
            create_time: o.create_ms / 1000,
            update_time: o.update_ms / 1000,
            package_id: o.package_id.clone(),
            tracking_number: o.tracking.clone(),
            commerce_platform: o.commerce_platform.clone(),
            cancel_by: o.cancel_by.clone(),
            buyer_cancel_requested: o.buyer_cancel_requested,
        })
    }

    /// Moves an order along. `tracking` is used by `Ship` when the seller supplied one.
    pub fn advance(
        &mut self,
        order_id: &str,
        action: OrderAction,
        tracking: Option<String>,
        proto: &dyn Protocol,
        now: Timestamp,
    ) -> Result<OrderView, SandboxError> {
        let seq = self.next_seq();
        let o = self
            .orders
            .get_mut(order_id)
            .ok_or_else(|| SandboxError::OrderNotFound(order_id.to_owned()))?;
        let bad = |o: &Order| SandboxError::BadTransition {
            order: o.id.clone(),
            action: format!("{action:?}"),
            status: proto.status_name(o.stage).to_owned(),
        };
        let mut restock = false;
        let mut tracking_event = None;
        match (action, o.stage) {
            (OrderAction::Pay, Stage::Unpaid) => {
                o.stage = Stage::ReadyToShip;
                o.pay_ms = Some(now.millis());
            }
            (OrderAction::Ship, Stage::ReadyToShip) => {
                let t = tracking
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| proto.tracking_number(seq));
                o.tracking = Some(t.clone());
                o.stage = Stage::Arranged;
                tracking_event = Some((o.package_id.clone(), t));
            }
            (OrderAction::Pickup, Stage::Arranged) => o.stage = Stage::Shipped,
            (OrderAction::Deliver, Stage::Shipped) => o.stage = Stage::Delivered,
            (OrderAction::Complete, Stage::Delivered) => o.stage = Stage::Completed,
            (OrderAction::BuyerCancel, stage) => {
                match proto.buyer_cancel(stage, now.millis() - o.create_ms) {
                    BuyerCancel::Cancel => {
                        o.stage_before_cancel = Some(stage);
                        o.stage = Stage::Cancelled;
                        o.cancel_by = Some("buyer".to_owned());
                        o.cancel_reason = Some("Change of mind".to_owned());
                        restock = true;
                    }
                    BuyerCancel::Request => {
                        o.stage_before_cancel = Some(stage);
                        o.stage = Stage::InCancel;
                        o.buyer_cancel_requested = true;
                    }
                    BuyerCancel::Refuse => return Err(bad(o)),
                }
            }
            (
                OrderAction::SellerCancel,
                Stage::Unpaid | Stage::ReadyToShip | Stage::InCancel | Stage::Packed,
            ) => {
                o.stage = Stage::Cancelled;
                o.cancel_by = Some("seller".to_owned());
                o.cancel_reason
                    .get_or_insert_with(|| "OUT_OF_STOCK".to_owned());
                o.buyer_cancel_requested = false;
                restock = true;
            }
            (OrderAction::AcceptCancel, Stage::InCancel) => {
                o.stage = Stage::Cancelled;
                o.cancel_by = Some("buyer".to_owned());
                o.buyer_cancel_requested = false;
                restock = true;
            }
            (OrderAction::RejectCancel, Stage::InCancel) => {
                o.stage = o.stage_before_cancel.unwrap_or(Stage::ReadyToShip);
                o.buyer_cancel_requested = false;
            }
            _ => return Err(bad(o)),
        }
        o.update_ms = now.millis().max(o.update_ms);
        let shop_id = o.shop_id;
        let lines: Vec<Line> = if restock { o.lines.clone() } else { Vec::new() };
        // A cancelled order's units go back on the listing, as the marketplaces do.
        for Line {
            product_id: pid,
            variant_id: vid,
            seller_sku: sku,
            taken,
            ..
        } in lines
        {
            // What is still taken: units cancelled on their own (Lazada) went back already.
            let qty: i64 = taken.iter().map(|(_, n)| n).sum();
            if let Some(v) = self.variant_mut(pid, vid) {
                let before = v.total();
                for (wh, n) in taken {
                    *v.stock.entry(wh).or_insert(0) += n;
                }
                let after = v.total();
                let reserved = v.reserved;
                self.events.push(Event::Inventory {
                    shop_id,
                    product_id: pid,
                    variant_id: vid,
                    before,
                    after,
                    reserved,
                });
            }
            let s = self
                .sales
                .entry(shop_id)
                .or_default()
                .entry(sku)
                .or_default();
            s.units_cancelled += qty;
            s.units_net = s.units_ordered - s.units_cancelled;
        }
        self.push_status_event(order_id);
        if let Some((package_id, tracking)) = tracking_event {
            self.events.push(Event::Tracking {
                shop_id,
                order_id: order_id.to_owned(),
                package_id,
                tracking,
            });
        }
        self.order_view(order_id, proto)
    }

    /// Issues a single-use authorization code for a shop.
    pub fn issue_code(
        &mut self,
        shop_id: u64,
        lifetime_ms: i64,
        now: Timestamp,
    ) -> Result<String, SandboxError> {
        self.shop(shop_id)?;
        let code = self.random_hex(16);
        self.codes.insert(
            code.clone(),
            AuthCode {
                shop_ids: vec![shop_id],
                expires_ms: now.millis() + lifetime_ms,
                used: false,
            },
        );
        Ok(code)
    }

    /// Marks shops authorized for `lifetime_ms` (only the first grant pushes an event).
    pub fn grant(&mut self, shop_ids: &[u64], lifetime_ms: i64, now: Timestamp) {
        for id in shop_ids {
            if let Some(s) = self.shops.get_mut(id) {
                let was = s.authorized;
                s.authorized = true;
                s.auth_time_ms = now.millis();
                s.auth_expire_ms = now.millis() + lifetime_ms;
                s.expiry_warned_day = None;
                if !was {
                    self.events.push(Event::Authorized { shop_id: *id });
                }
            }
        }
    }

    /// Revokes the seller's authorization: every token for the shop stops working.
    pub fn deauthorize(&mut self, shop_id: u64) -> Result<(), SandboxError> {
        let shop = self
            .shops
            .get_mut(&shop_id)
            .ok_or(SandboxError::ShopNotFound(shop_id))?;
        shop.authorized = false;
        for t in self.access.values_mut() {
            if t.shop_ids.contains(&shop_id) {
                t.revoked = true;
            }
        }
        for t in self.refresh.values_mut() {
            if t.shop_ids.contains(&shop_id) {
                t.revoked = true;
            }
        }
        self.events.push(Event::Deauthorized { shop_id });
        Ok(())
    }

    /// Fault: every access token of the shop is expired now.
    pub fn expire_tokens(&mut self, shop_id: u64, now: Timestamp) -> Result<usize, SandboxError> {
        self.shop(shop_id)?;
        let mut n = 0;
        for t in self.access.values_mut() {
            if t.shop_ids.contains(&shop_id) && t.expires_ms >= now.millis() {
                t.expires_ms = now.millis() - 1;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Time-driven events: authorization-expiry warnings and due buyer cancellations.
    pub fn tick(&mut self, proto: &dyn Protocol, now: Timestamp) {
        let (window_ms, daily) = proto.expiry_warning();
        let day = now.millis().div_euclid(86_400_000);
        let mut warn = Vec::new();
        for s in self.shops.values_mut() {
            if !s.authorized || s.auth_expire_ms == 0 {
                continue;
            }
            let left = s.auth_expire_ms - now.millis();
            if left > window_ms || left < 0 {
                continue;
            }
            let due = match s.expiry_warned_day {
                None => true,
                Some(d) => daily && d != day,
            };
            if due {
                s.expiry_warned_day = Some(day);
                warn.push((s.id, s.auth_expire_ms));
            }
        }
        for (shop_id, expire_ms) in warn {
            self.events.push(Event::AuthExpiring { shop_id, expire_ms });
        }
        if self.cancel_schedule.is_empty() {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.cancel_schedule)
            .into_iter()
            .partition(|(t, _)| *t <= now.millis());
        self.cancel_schedule = later;
        for (_, id) in due {
            // A buyer who can no longer cancel simply keeps the order.
            let _ = self.advance(&id, OrderAction::BuyerCancel, None, proto, now);
        }
    }
}
