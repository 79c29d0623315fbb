//! The control API's input and output shapes, and the views of shops, listings and orders
//! rendered from the world in the marketplace's spelling of statuses and prices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rules::Rules;
use super::world::Stage;
use super::world::{BuyerSettings, World};
use crate::error::SandboxError;

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

impl World {
    pub fn shop_view(&self, id: u64, rules: &dyn Rules) -> Result<ShopView, SandboxError> {
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
                        price: rules.format_price(v.price_cents, &shop.currency),
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
        rules: &dyn Rules,
    ) -> Result<Vec<ListingView>, SandboxError> {
        let view = self.shop_view(shop_id, rules)?;
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

    pub fn order_view(&self, order_id: &str, rules: &dyn Rules) -> Result<OrderView, SandboxError> {
        let o = self
            .orders
            .get(order_id)
            .ok_or_else(|| SandboxError::OrderNotFound(order_id.to_owned()))?;
        Ok(OrderView {
            order_id: o.id.clone(),
            shop_id: o.shop_id,
            status: rules.status_name(o.stage).to_owned(),
            stage: o.stage,
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineView {
                    product_id: l.product_id,
                    variant_id: l.variant_id,
                    seller_sku: l.seller_sku.clone(),
                    quantity: l.quantity,
                    unit_price: rules.format_price(l.unit_price_cents, &o.currency),
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
}
