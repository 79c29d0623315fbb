//! Lazada (LazOP) answers and request pieces, field for field as the API
//! names them (fact sheet §3.2, §3.5, §3.7, §3.9), including its mixed key
//! casing (`SkuId`, `SellerSku` next to `quantity`). Ids arrive as numbers or
//! strings and are kept as text. Only fields we use are declared.

use serde::{Deserialize, Deserializer};

/// The common envelope: `code` is a string, `"0"` on success; errors add
/// `type` and `message`. Write APIs may carry per-SKU `detail`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub code: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default = "none")]
    pub data: Option<T>,
    /// Fulfilment answers: the documented `result` wrapper.
    #[serde(default = "none")]
    pub result: Option<T>,
    #[serde(default)]
    pub detail: Vec<UpdateDetail>,
}

fn none<T>() -> Option<T> {
    None
}

/// Reads an integer sent as a JSON number or a numeric string.
fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Text(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Int(i) => i,
        // Whole numbers only; a fraction here is a protocol oddity, not a value.
        #[allow(clippy::cast_possible_truncation)]
        Raw::Float(f) => f as i64,
        Raw::Text(s) => s.trim().parse().unwrap_or(0),
    })
}

fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "int")] i64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// Reads an amount sent as a JSON number or a decimal string, as decimal text.
fn opt_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Num(serde_json::Number),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|r| match r {
        Raw::Text(s) => s,
        Raw::Num(n) => n.to_string(),
    }))
}

// ---- auth -----------------------------------------------------------------

/// `/auth/token/create` and `/auth/token/refresh`: top level, no `data`.
#[derive(Deserialize)]
pub struct Token {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds from now.
    #[serde(deserialize_with = "int")]
    pub expires_in: i64,
    /// Seconds from now; 0 means the token cannot be refreshed.
    #[serde(default, deserialize_with = "opt_int")]
    pub refresh_expires_in: Option<i64>,
    #[serde(default)]
    pub country: Option<String>,
    /// Token creation names the sellers `country_user_info`.
    #[serde(default)]
    pub country_user_info: Vec<CountryUser>,
    /// Token refresh names the same list `country_user_info_list`.
    #[serde(default)]
    pub country_user_info_list: Vec<CountryUser>,
}

impl Token {
    /// The seller accounts the token covers, whichever name the answer used.
    pub fn countries(&self) -> &[CountryUser] {
        if self.country_user_info.is_empty() {
            &self.country_user_info_list
        } else {
            &self.country_user_info
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CountryUser {
    #[serde(default)]
    pub country: String,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub seller_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub short_code: Option<String>,
}

/// `data` of `/seller/get`.
#[derive(Debug, Default, Deserialize)]
pub struct Seller {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub seller_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub short_code: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

// ---- products -------------------------------------------------------------

/// `data` of `/products/get`.
#[derive(Debug, Default, Deserialize)]
pub struct Products {
    #[serde(default, deserialize_with = "opt_int")]
    pub total_products: Option<i64>,
    #[serde(default)]
    pub products: Vec<Product>,
}

#[derive(Debug, Deserialize)]
pub struct Product {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub item_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "opt_int")]
    pub updated_time: Option<i64>,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub skus: Vec<Sku>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Attributes {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Sku {
    #[serde(rename = "SkuId", deserialize_with = "crate::wire::id_text")]
    pub sku_id: String,
    #[serde(rename = "SellerSku", default)]
    pub seller_sku: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    pub quantity: Option<i64>,
    #[serde(rename = "Available", default, deserialize_with = "opt_int")]
    pub available: Option<i64>,
    #[serde(default, deserialize_with = "opt_amount")]
    pub price: Option<String>,
    #[serde(rename = "multiWarehouseInventories", default)]
    pub warehouses: Vec<WarehouseInventory>,
}

#[derive(Debug, Deserialize)]
pub struct WarehouseInventory {
    #[serde(rename = "warehouseCode", default)]
    pub warehouse_code: Option<String>,
    #[serde(rename = "sellableQuantity", default, deserialize_with = "opt_int")]
    pub sellable_quantity: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    pub quantity: Option<i64>,
}

/// One refused SKU of a write call (`detail[]`; shape UNCONFIRMED in the
/// fact sheet, read leniently).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateDetail {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub seller_sku: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub sku_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub code: Option<String>,
}

// ---- orders ---------------------------------------------------------------

/// `data` of `/orders/get`.
#[derive(Debug, Default, Deserialize)]
pub struct Orders {
    #[serde(default, deserialize_with = "opt_int")]
    pub count: Option<i64>,
    #[serde(rename = "countTotal", default, deserialize_with = "opt_int")]
    pub count_total: Option<i64>,
    #[serde(default)]
    pub orders: Vec<OrderHeader>,
}

#[derive(Debug, Deserialize)]
pub struct OrderHeader {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub order_id: String,
    #[serde(default)]
    pub statuses: Vec<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// One entry of `/orders/items/get`.
#[derive(Debug, Deserialize)]
pub struct OrderItems {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub order_id: String,
    #[serde(default)]
    pub order_items: Vec<OrderItem>,
}

/// One order item (one unit of one SKU).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderItem {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub order_item_id: String,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub order_id: Option<String>,
    pub status: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub sku_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub product_id: Option<String>,
    #[serde(default)]
    pub variation: Option<String>,
    #[serde(default, deserialize_with = "opt_amount")]
    pub paid_price: Option<String>,
    #[serde(default, deserialize_with = "opt_amount")]
    pub item_price: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub shipment_provider: Option<String>,
    #[serde(default)]
    pub tracking_code: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub package_id: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `data` of `/order/items/get` (a bare list).
pub type Items = Vec<OrderItem>;

// ---- fulfilment -----------------------------------------------------------

/// The `result` of `/order/fulfill/pack` and `/order/package/rts`.
#[derive(Debug, Default, Deserialize)]
pub struct WriteResult<T> {
    #[serde(default)]
    pub success: Option<bool>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_msg: Option<String>,
    #[serde(default = "none")]
    pub data: Option<T>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PackData {
    #[serde(default)]
    pub pack_order_list: Vec<PackOrder>,
}

#[derive(Debug, Deserialize)]
pub struct PackOrder {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub order_item_list: Vec<PackItem>,
}

#[derive(Debug, Deserialize)]
pub struct PackItem {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub order_item_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub package_id: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub shipment_provider: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub item_err_code: Option<String>,
    #[serde(default)]
    pub msg: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RtsData {
    #[serde(default)]
    pub packages: Vec<RtsPackage>,
}

#[derive(Debug, Deserialize)]
pub struct RtsPackage {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub package_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub item_err_code: Option<String>,
    #[serde(default)]
    pub msg: Option<String>,
}

/// `data` of `/order/reverse/cancel/validate`.
#[derive(Debug, Default, Deserialize)]
pub struct CancelValidate {
    #[serde(default)]
    pub reason_options: Vec<ReasonOption>,
}

#[derive(Debug, Deserialize)]
pub struct ReasonOption {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub reason_id: String,
    #[serde(default)]
    pub reason_name: String,
}

// ---- push -----------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct Push {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub seller_id: Option<String>,
    pub message_type: i64,
    #[serde(default)]
    pub data: serde_json::Value,
    #[serde(default, deserialize_with = "opt_int")]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub site: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PushOrder {
    #[serde(deserialize_with = "crate::wire::id_text")]
    pub trade_order_id: String,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub trade_order_line_id: Option<String>,
    #[serde(default)]
    pub order_status: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub reverse_order_id: Option<String>,
    #[serde(default, deserialize_with = "opt_int")]
    pub status_update_time: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct PushProduct {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub item_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub sku_id: Option<String>,
    #[serde(default)]
    pub sku_list: Vec<PushSku>,
}

#[derive(Debug, Deserialize)]
pub struct PushSku {
    #[serde(default, deserialize_with = "crate::wire::opt_id_text")]
    pub sku_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PushTokenExpiry {
    #[serde(default, deserialize_with = "opt_int")]
    pub expire_time: Option<i64>,
}
