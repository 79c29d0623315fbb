//! The world of one sandbox: all its mutable state behind one lock (shops, products, orders,
//! authorization codes and tokens, sales, pending pushes) and the events a change causes. The
//! other model modules change it; this one only holds it.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::SandboxError;

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
}
