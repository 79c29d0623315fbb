//! Orders on the wire: the manual order a caller sends, and an order as the
//! API shows it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storesync_domain::ids::{OrderId, OrderLineId, ShipmentId, VariantId};
use storesync_domain::{Currency, Money, OrderStatus, Timestamp};
use storesync_store as store;

/// The buyer's contact details, all optional.
#[derive(Debug, JsonSchema, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    pub sku: storesync_domain::Sku,
    #[schemars(range(min = 1))]
    pub quantity: i64,
    pub unit_price: Money,
}

/// Body of `POST /orders`: an order taken outside the marketplaces.
#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// `manual` (marketplace orders arrive by webhook and polling).
    #[schemars(extend("enum" = ["manual"]))]
    pub channel: String,
    pub external_id: String,
    pub currency: Currency,
    #[schemars(length(min = 1))]
    pub lines: Vec<NewOrderLine>,
    #[serde(default)]
    pub customer: Option<CustomerInput>,
    /// `pending` (awaiting payment) or `ready_to_ship` (the default).
    #[serde(default)]
    pub status: Option<OrderStatus>,
    #[serde(default)]
    pub shipping_fee: Option<Money>,
    #[serde(default)]
    pub discount: Option<Money>,
    /// When given, must equal lines + shipping − discount.
    #[serde(default)]
    pub total: Option<Money>,
    #[serde(default)]
    pub placed_at: Option<Timestamp>,
    #[serde(default)]
    pub note: Option<String>,
}

impl From<CustomerInput> for store::CustomerInput {
    fn from(c: CustomerInput) -> Self {
        store::CustomerInput {
            name: c.name,
            email: c.email,
            phone: c.phone,
            address: c.address,
        }
    }
}

impl From<NewOrderLine> for store::NewOrderLine {
    fn from(l: NewOrderLine) -> Self {
        store::NewOrderLine {
            sku: l.sku,
            quantity: l.quantity,
            unit_price: l.unit_price,
        }
    }
}

impl From<NewOrder> for store::NewOrder {
    fn from(o: NewOrder) -> Self {
        store::NewOrder {
            channel: o.channel,
            external_id: o.external_id,
            currency: o.currency,
            lines: super::all(o.lines),
            customer: o.customer.map(Into::into),
            status: o.status,
            shipping_fee: o.shipping_fee,
            discount: o.discount,
            total: o.total,
            placed_at: o.placed_at,
            note: o.note,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct OrderLine {
    pub id: OrderLineId,
    pub line_no: i64,
    pub sku: String,
    pub variant_id: Option<VariantId>,
    pub quantity: i64,
    pub unit_price: Money,
    pub total: Money,
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Shipment {
    pub id: ShipmentId,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: Timestamp,
}

/// One step of an order's status timeline and the stock effect it had.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct OrderEvent {
    pub at: Timestamp,
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    pub effect: String,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Order {
    pub id: OrderId,
    pub channel: String,
    pub external_id: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub subtotal: Money,
    pub shipping_fee: Money,
    pub discount: Money,
    pub total: Money,
    /// The buyer's contact details as given.
    pub customer: Option<serde_json::Value>,
    pub note: Option<String>,
    pub cancel_reason: Option<String>,
    pub placed_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub lines: Vec<OrderLine>,
    /// Present on single-order reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipments: Option<Vec<Shipment>>,
    /// Status timeline with stock effects; present on single-order reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<OrderEvent>>,
}

/// Result of an order operation.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct OrderOutcome {
    pub order: Order,
    /// False when the call was a duplicate (an order already taken, a status
    /// already reached) and changed nothing.
    pub changed: bool,
}

impl From<store::OrderLine> for OrderLine {
    fn from(l: store::OrderLine) -> Self {
        OrderLine {
            id: l.id,
            line_no: l.line_no,
            sku: l.sku,
            variant_id: l.variant_id,
            quantity: l.quantity,
            unit_price: l.unit_price,
            total: l.total,
        }
    }
}

impl From<store::Shipment> for Shipment {
    fn from(s: store::Shipment) -> Self {
        Shipment {
            id: s.id,
            carrier: s.carrier,
            tracking_number: s.tracking_number,
            shipped_at: s.shipped_at,
        }
    }
}

impl From<store::OrderEvent> for OrderEvent {
    fn from(e: store::OrderEvent) -> Self {
        OrderEvent {
            at: e.at,
            from_status: e.from_status,
            to_status: e.to_status,
            effect: e.effect,
            source: e.source,
            note: e.note,
        }
    }
}

impl From<store::Order> for Order {
    fn from(o: store::Order) -> Self {
        Order {
            id: o.id,
            channel: o.channel,
            external_id: o.external_id,
            status: o.status,
            currency: o.currency,
            subtotal: o.subtotal,
            shipping_fee: o.shipping_fee,
            discount: o.discount,
            total: o.total,
            customer: o.customer,
            note: o.note,
            cancel_reason: o.cancel_reason,
            placed_at: o.placed_at,
            created_at: o.created_at,
            updated_at: o.updated_at,
            lines: super::all(o.lines),
            shipments: o.shipments.map(super::all),
            events: o.events.map(super::all),
        }
    }
}

impl From<store::OrderOutcome> for OrderOutcome {
    fn from(o: store::OrderOutcome) -> Self {
        OrderOutcome {
            order: o.order.into(),
            changed: o.changed,
        }
    }
}
