//! TikTok Shop 202309 request and response bodies, field for field as the
//! API names them (fact sheet §2.2, §2.5, §2.7, §2.9). Ids are strings on
//! the wire; money is decimal strings. Only fields we use are declared.

use serde::{Deserialize, Serialize};

/// The envelope every answer (API and token host) is wrapped in.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default = "none")]
    pub data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

// ---- auth -----------------------------------------------------------------

/// `data` of `/api/v2/token/get` and `/api/v2/token/refresh`.
#[derive(Deserialize)]
pub struct Token {
    pub access_token: String,
    /// Absolute unix seconds, not a duration.
    pub access_token_expire_in: i64,
    pub refresh_token: String,
    #[serde(default)]
    pub refresh_token_expire_in: Option<i64>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[REDACTED]")
            .field("access_token_expire_in", &self.access_token_expire_in)
            .field("refresh_token", &"[REDACTED]")
            .field("refresh_token_expire_in", &self.refresh_token_expire_in)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Shops {
    #[serde(default)]
    pub shops: Vec<Shop>,
}

#[derive(Debug, Deserialize)]
pub struct Shop {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub cipher: String,
}

// ---- products -------------------------------------------------------------

#[derive(Debug, Default, Serialize)]
pub struct SearchProductsBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_ge: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ProductPage {
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub products: Vec<Product>,
}

#[derive(Debug, Deserialize)]
pub struct Product {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub update_time: Option<i64>,
    #[serde(default)]
    pub skus: Vec<ProductSku>,
}

#[derive(Debug, Deserialize)]
pub struct ProductSku {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub id: String,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub price: Option<SkuPrice>,
    #[serde(default)]
    pub inventory: Vec<Inventory>,
}

#[derive(Debug, Deserialize)]
pub struct SkuPrice {
    pub currency: String,
    #[serde(default)]
    pub sale_price: Option<String>,
    #[serde(default)]
    pub tax_exclusive_price: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Inventory {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub warehouse_id: Option<String>,
    #[serde(default)]
    pub quantity: i64,
}

#[derive(Debug, Serialize)]
pub struct UpdateInventoryBody {
    pub skus: Vec<InventorySku>,
}

#[derive(Debug, Serialize)]
pub struct InventorySku {
    pub id: String,
    pub inventory: Vec<InventoryEntry>,
}

#[derive(Debug, Serialize)]
pub struct InventoryEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse_id: Option<String>,
    pub quantity: u32,
}

/// `data` of the inventory (and price) update: per-SKU failures.
#[derive(Debug, Default, Deserialize)]
pub struct UpdateErrors {
    #[serde(default)]
    pub errors: Vec<UpdateError>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: Option<UpdateErrorDetail>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateErrorDetail {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub sku_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct UpdatePriceBody {
    pub skus: Vec<PriceSku>,
}

#[derive(Debug, Serialize)]
pub struct PriceSku {
    pub id: String,
    pub price: PriceAmount,
}

#[derive(Debug, Serialize)]
pub struct PriceAmount {
    pub amount: String,
    pub currency: String,
}

// ---- orders ---------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct SearchOrdersBody {
    pub update_time_ge: i64,
    pub update_time_lt: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct OrderPage {
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub orders: Vec<Order>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Orders {
    #[serde(default)]
    pub orders: Vec<Order>,
}

#[derive(Debug, Deserialize)]
pub struct Order {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub create_time: i64,
    #[serde(default)]
    pub update_time: i64,
    #[serde(default)]
    pub paid_time: Option<i64>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub payment: Option<Payment>,
    #[serde(default)]
    pub packages: Vec<OrderPackage>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub shipping_provider: Option<String>,
    #[serde(default)]
    pub is_buyer_request_cancel: bool,
    #[serde(default)]
    pub commerce_platform: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Payment {
    pub currency: String,
    #[serde(default)]
    pub total_amount: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrderPackage {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct LineItem {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub id: String,
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub sku_id: String,
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub product_id: String,
    #[serde(default)]
    pub product_name: String,
    #[serde(default)]
    pub sku_name: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default)]
    pub sale_price: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    /// Absent in 202309, where each line item is one unit.
    #[serde(default)]
    pub quantity: Option<u32>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub package_id: Option<String>,
    #[serde(default)]
    pub package_status: Option<String>,
    /// `CANCELLED` on a line item cancelled on its own (a partial cancel:
    /// the order goes on without it).
    #[serde(default)]
    pub display_status: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub shipping_provider_name: Option<String>,
}

// ---- fulfillment and cancellation -----------------------------------------

#[derive(Debug, Serialize)]
pub struct ShipPackageBody<'a> {
    pub handover_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_shipment: Option<SelfShipment<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SelfShipment<'a> {
    pub tracking_number: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_provider_id: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct CancelBody<'a> {
    pub order_id: &'a str,
    pub cancel_reason: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skus: Vec<CancelSku>,
}

#[derive(Debug, Serialize)]
pub struct CancelSku {
    pub sku_id: String,
    pub quantity: u32,
}

#[derive(Debug, Default, Deserialize)]
pub struct CancelAnswer {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub cancel_id: Option<String>,
    #[serde(default)]
    pub cancel_status: Option<String>,
}

// ---- webhooks -------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Webhook {
    #[serde(rename = "type")]
    pub kind: i64,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub tts_notification_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub shop_id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct WebhookOrderStatus {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub order_id: String,
    pub order_status: String,
}

#[derive(Debug, Deserialize)]
pub struct WebhookOrder {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub order_id: String,
}

#[derive(Debug, Deserialize)]
pub struct WebhookPackages {
    #[serde(default)]
    pub package_list: Vec<WebhookPackage>,
}

#[derive(Debug, Deserialize)]
pub struct WebhookPackage {
    #[serde(default)]
    pub order_id_list: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct WebhookProduct {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub product_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub sku_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WebhookExpiry {
    #[serde(default)]
    pub expiration_time: Option<i64>,
}
