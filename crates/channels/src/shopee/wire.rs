//! Shopee v2 request and response bodies, field for field as the API names
//! them (fact sheet §1.2, §1.5, §1.6, §1.8). Only the fields we use are
//! declared; serde ignores the rest.

use serde::{Deserialize, Serialize};

/// The part of every answer that says whether it failed. Token endpoints
/// and `get_shop_info` put their data next to it instead of under
/// `response`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorHead {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
}

impl ErrorHead {
    /// The error code when the answer is a failure (`error` non-empty).
    pub fn failure(&self) -> Option<(&str, &str)> {
        match self.error.as_deref() {
            Some(e) if !e.is_empty() => Some((e, self.message.as_deref().unwrap_or(""))),
            _ => None,
        }
    }
}

/// Answers that wrap their data in `response`.
///
/// A missing `response` reads as the empty default: Shopee omits it on some
/// empty answers.
#[derive(Debug, Deserialize)]
pub struct Wrapped<T: Default> {
    #[serde(default)]
    pub response: T,
}

// ---- auth -----------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct TokenGetRequest<'a> {
    pub code: &'a str,
    pub partner_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shop_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_account_id: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct RefreshRequest<'a> {
    pub refresh_token: &'a str,
    pub partner_id: i64,
    pub shop_id: i64,
}

/// Top-level fields of `auth/token/get` and `auth/access_token/get`.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expire_in: i64,
    #[serde(default)]
    pub shop_id_list: Option<Vec<i64>>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("expire_in", &self.expire_in)
            .field("shop_id_list", &self.shop_id_list)
            .finish()
    }
}

/// Top-level fields of `shop/get_shop_info`.
#[derive(Debug, Deserialize)]
pub struct ShopInfo {
    #[serde(default)]
    pub shop_name: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

// ---- products -------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ItemList {
    #[serde(default)]
    pub item: Vec<ItemRef>,
    #[serde(default)]
    pub has_next_page: bool,
    #[serde(default)]
    pub next_offset: i64,
}

#[derive(Debug, Deserialize)]
pub struct ItemRef {
    pub item_id: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct ItemBaseInfoList {
    #[serde(default)]
    pub item_list: Vec<ItemBase>,
}

#[derive(Debug, Deserialize)]
pub struct ItemBase {
    pub item_id: i64,
    #[serde(default)]
    pub item_name: String,
    #[serde(default)]
    pub item_sku: Option<String>,
    #[serde(default)]
    pub item_status: String,
    #[serde(default)]
    pub update_time: Option<i64>,
    #[serde(default)]
    pub has_model: bool,
    #[serde(default)]
    pub price_info: Option<Vec<PriceInfo>>,
    #[serde(default)]
    pub stock_info_v2: Option<StockInfo>,
}

#[derive(Debug, Deserialize)]
pub struct PriceInfo {
    pub currency: String,
    #[serde(default)]
    pub original_price: Option<f64>,
    #[serde(default)]
    pub current_price: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StockInfo {
    #[serde(default)]
    pub summary_info: Option<StockSummary>,
    #[serde(default)]
    pub seller_stock: Option<Vec<SellerStock>>,
}

#[derive(Debug, Deserialize)]
pub struct StockSummary {
    #[serde(default)]
    pub total_reserved_stock: Option<i64>,
    #[serde(default)]
    pub total_available_stock: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct SellerStock {
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub stock: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct ModelList {
    #[serde(default)]
    pub model: Vec<Model>,
}

#[derive(Debug, Deserialize)]
pub struct Model {
    pub model_id: i64,
    #[serde(default)]
    pub model_sku: Option<String>,
    #[serde(default)]
    pub price_info: Option<Vec<PriceInfo>>,
    #[serde(default)]
    pub stock_info_v2: Option<StockInfo>,
}

#[derive(Debug, Serialize)]
pub struct UpdateStockRequest {
    pub item_id: i64,
    pub stock_list: Vec<StockEntry>,
}

#[derive(Debug, Serialize)]
pub struct StockEntry {
    pub model_id: i64,
    pub seller_stock: Vec<StockLocation>,
}

#[derive(Debug, Serialize)]
pub struct StockLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
    pub stock: u32,
}

#[derive(Debug, Serialize)]
pub struct UpdatePriceRequest {
    pub item_id: i64,
    pub price_list: Vec<PriceEntry>,
}

#[derive(Debug, Serialize)]
pub struct PriceEntry {
    pub model_id: i64,
    pub original_price: serde_json::Number,
}

/// `response` of `update_stock` and `update_price`.
#[derive(Debug, Default, Deserialize)]
pub struct UpdateResponse {
    #[serde(default)]
    pub failure_list: Vec<UpdateFailureEntry>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateFailureEntry {
    pub model_id: i64,
    #[serde(default)]
    pub location_id: Option<String>,
    #[serde(default)]
    pub failed_reason: String,
}

// ---- orders ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct OrderList {
    #[serde(default)]
    pub more: bool,
    #[serde(default)]
    pub next_cursor: String,
    #[serde(default)]
    pub order_list: Vec<OrderListEntry>,
}

#[derive(Debug, Deserialize)]
pub struct OrderListEntry {
    pub order_sn: String,
    #[serde(default)]
    pub order_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OrderDetailList {
    #[serde(default)]
    pub order_list: Vec<OrderDetail>,
}

#[derive(Debug, Deserialize)]
pub struct OrderDetail {
    pub order_sn: String,
    #[serde(default)]
    pub currency: Option<String>,
    pub order_status: String,
    #[serde(default)]
    pub create_time: i64,
    #[serde(default)]
    pub update_time: i64,
    #[serde(default)]
    pub pay_time: Option<i64>,
    #[serde(default)]
    pub total_amount: Option<f64>,
    #[serde(default)]
    pub item_list: Vec<OrderItem>,
    #[serde(default)]
    pub package_list: Vec<OrderPackage>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    #[serde(default)]
    pub buyer_cancel_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrderItem {
    pub item_id: i64,
    #[serde(default)]
    pub item_name: String,
    #[serde(default)]
    pub item_sku: Option<String>,
    #[serde(default)]
    pub model_id: i64,
    #[serde(default)]
    pub model_name: Option<String>,
    #[serde(default)]
    pub model_sku: Option<String>,
    #[serde(default)]
    pub model_quantity_purchased: u32,
    #[serde(default)]
    pub model_discounted_price: Option<f64>,
    #[serde(default)]
    pub order_item_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct OrderPackage {
    #[serde(default)]
    pub package_number: Option<String>,
    #[serde(default)]
    pub logistics_status: Option<String>,
    #[serde(default)]
    pub shipping_carrier: Option<String>,
}

// ---- logistics ------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ShippingParameter {
    #[serde(default)]
    pub info_needed: InfoNeeded,
    #[serde(default)]
    pub pickup: Option<PickupInfo>,
    #[serde(default)]
    pub dropoff: Option<DropoffInfo>,
}

/// Which ship method objects exist for this order, and the fields each needs.
#[derive(Debug, Default, Deserialize)]
pub struct InfoNeeded {
    #[serde(default)]
    pub pickup: Option<Vec<String>>,
    #[serde(default)]
    pub dropoff: Option<Vec<String>>,
    #[serde(default)]
    pub non_integrated: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PickupInfo {
    #[serde(default)]
    pub address_list: Vec<PickupAddress>,
}

#[derive(Debug, Deserialize)]
pub struct PickupAddress {
    pub address_id: i64,
    #[serde(default)]
    pub address_flag: Vec<String>,
    #[serde(default)]
    pub time_slot_list: Vec<TimeSlot>,
}

#[derive(Debug, Deserialize)]
pub struct TimeSlot {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub pickup_time_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DropoffInfo {
    #[serde(default)]
    pub branch_list: Vec<Branch>,
}

#[derive(Debug, Deserialize)]
pub struct Branch {
    pub branch_id: i64,
}

#[derive(Debug, Serialize)]
pub struct ShipOrderRequest<'a> {
    pub order_sn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup: Option<ShipPickup<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropoff: Option<ShipDropoff<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_integrated: Option<ShipNonIntegrated<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ShipPickup<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_time_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct ShipDropoff<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct ShipNonIntegrated<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<&'a str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TrackingNumber {
    #[serde(default)]
    pub tracking_number: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CancelOrderRequest<'a> {
    pub order_sn: &'a str,
    pub cancel_reason: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub item_list: Vec<CancelItem>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CancelItem {
    pub item_id: i64,
    pub model_id: i64,
}

// ---- push -----------------------------------------------------------------

/// The push envelope. `data`'s shape depends on `code`.
#[derive(Debug, Deserialize)]
pub struct Push {
    #[serde(default)]
    pub shop_id: Option<i64>,
    pub code: i64,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// `data` of an order status push (code 3) and tracking push (code 4).
#[derive(Debug, Deserialize)]
pub struct PushOrder {
    pub ordersn: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub update_time: Option<i64>,
}
