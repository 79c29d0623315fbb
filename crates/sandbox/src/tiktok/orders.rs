//! TikTok order, fulfillment and cancellation APIs: order search (token paging, filters), order
//! detail (≤ 50 ids), packages, shipping, tracking, seller cancellation and buyer-request answers.

use serde::Serialize;
use serde_json::{json, Value};

use super::common::TikTokProtocol;
use super::common::{encode_page_token, secs, sid, Call, Data, TtError, MAX_IDS};
use crate::model::Rules;
use crate::model::{Order, OrderAction, Stage, World};
use crate::sandbox::Sandbox;
use crate::units::{cancel_items, item_id, item_ids};
use crate::util;

fn status(stage: Stage) -> &'static str {
    TikTokProtocol.status_name(stage)
}

fn package_status(stage: Stage) -> &'static str {
    match stage {
        Stage::Unpaid | Stage::ReadyToShip | Stage::InCancel => "TO_FULFILL",
        Stage::Packed | Stage::Arranged => "PROCESSING",
        Stage::Shipped => "FULFILLING",
        Stage::Delivered | Stage::Completed => "COMPLETED",
        Stage::Cancelled => "CANCELLED",
    }
}

fn cancel_id(order_id: &str) -> String {
    format!("8{order_id}")
}

fn money(cents: i64, currency: &str) -> String {
    util::cents_to_decimal(cents, currency)
}

#[derive(Serialize)]
struct LineItem<'a> {
    id: String,
    sku_id: String,
    product_id: String,
    product_name: &'a str,
    seller_sku: &'a str,
    sku_name: &'a str,
    sale_price: String,
    original_price: String,
    platform_discount: &'static str,
    seller_discount: &'static str,
    currency: &'a str,
    display_status: &'static str,
    package_id: &'a str,
    package_status: &'static str,
    tracking_number: &'a str,
    shipping_provider_name: &'a str,
    cancel_reason: &'a str,
    is_gift: bool,
}

#[derive(Serialize)]
struct Payment<'a> {
    currency: &'a str,
    sub_total: String,
    shipping_fee: String,
    seller_discount: &'static str,
    platform_discount: &'static str,
    total_amount: String,
    original_total_product_price: String,
    original_shipping_fee: String,
    tax: &'static str,
}

#[derive(Serialize)]
struct Address<'a> {
    name: &'a str,
    phone_number: &'static str,
    full_address: &'static str,
    address_detail: &'static str,
    postal_code: &'static str,
    region_code: &'a str,
    district_info: [(); 0],
}

#[derive(Serialize)]
struct PackageRef<'a> {
    id: &'a str,
}

/// The order object shared by Order List and Order Detail, serialized straight to bytes (the
/// order search is on the hot path of the benchmarks). Each line item is one unit.
#[derive(Serialize)]
pub(crate) struct OrderOut<'a> {
    id: &'a str,
    status: &'static str,
    create_time: i64,
    update_time: i64,
    /// Absent until the order is paid: the spec types it as a number, never null.
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_time: Option<i64>,
    rts_sla_time: i64,
    tts_sla_time: i64,
    cancel_reason: &'a str,
    cancellation_initiator: &'static str,
    buyer_message: &'static str,
    user_id: String,
    payment: Payment<'a>,
    recipient_address: Address<'a>,
    packages: [PackageRef<'a>; 1],
    line_items: Vec<LineItem<'a>>,
    tracking_number: &'a str,
    shipping_provider: &'a str,
    shipping_type: &'static str,
    fulfillment_type: &'static str,
    delivery_option_name: &'static str,
    warehouse_id: &'a str,
    is_cod: bool,
    is_on_hold_order: bool,
    is_buyer_request_cancel: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    commerce_platform: Option<&'a str>,
    /// What Get Order Detail 202507 adds to the 202309 order.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    v202507: Option<Order202507>,
}

/// The fields the 202507 order carries beyond 202309's that a sandbox order can answer: what
/// kind of order it is (every sandbox order is an ordinary sale).
#[derive(Serialize)]
struct Order202507 {
    order_type: &'static str,
    is_exchange_order: bool,
    is_replacement_order: bool,
    is_sample_order: bool,
    delivery_type: &'static str,
}

const ORDER_202507: Order202507 = Order202507 {
    order_type: "NORMAL",
    is_exchange_order: false,
    is_replacement_order: false,
    is_sample_order: false,
    delivery_type: "HOME_DELIVERY",
};

fn order_out<'a>(o: &'a Order, w: &'a World) -> OrderOut<'a> {
    let c = o.currency.as_str();
    let tracking = o.tracking.as_deref().unwrap_or("");
    let cancel_reason = o.cancel_reason.as_deref().unwrap_or("");
    let mut line_items = Vec::new();
    for l in &o.lines {
        for k in 0..l.quantity {
            // A line item cancelled on its own says so while the order goes on.
            let alone = o.cancelled_items.get(&item_id(l.line_id, k));
            line_items.push(LineItem {
                id: item_id(l.line_id, k).to_string(),
                sku_id: sid(l.variant_id),
                product_id: sid(l.product_id),
                product_name: &l.product_name,
                seller_sku: &l.seller_sku,
                sku_name: &l.variant_name,
                sale_price: money(l.unit_price_cents, c),
                original_price: money(l.original_price_cents, c),
                platform_discount: "0",
                seller_discount: "0",
                currency: c,
                display_status: alone.map_or(status(o.stage), |_| "CANCELLED"),
                package_id: &o.package_id,
                package_status: alone.map_or(package_status(o.stage), |_| "CANCELLED"),
                tracking_number: tracking,
                shipping_provider_name: &o.carrier,
                cancel_reason: alone.map_or(cancel_reason, String::as_str),
                is_gift: false,
            });
        }
    }
    let region = w.shops.get(&o.shop_id).map_or("", |s| s.region.as_str());
    OrderOut {
        id: &o.id,
        status: status(o.stage),
        create_time: secs(o.create_ms),
        update_time: secs(o.update_ms),
        paid_time: o.pay_ms.map(secs),
        rts_sla_time: secs(o.create_ms) + 2 * 86_400,
        tts_sla_time: secs(o.create_ms) + 5 * 86_400,
        cancel_reason,
        cancellation_initiator: match o.cancel_by.as_deref() {
            Some("buyer") => "BUYER",
            Some("seller") => "SELLER",
            _ => "",
        },
        buyer_message: "",
        user_id: sid(o.buyer_user_id),
        payment: Payment {
            currency: c,
            sub_total: money(o.subtotal_cents(), c),
            shipping_fee: money(o.shipping_fee_cents, c),
            seller_discount: "0",
            platform_discount: "0",
            total_amount: money(o.total_cents(), c),
            original_total_product_price: money(o.subtotal_cents(), c),
            original_shipping_fee: money(o.shipping_fee_cents, c),
            tax: "0",
        },
        recipient_address: Address {
            name: &o.buyer_name,
            phone_number: "(+00)0******00",
            full_address: "1 Sandbox Road, Sandbox City",
            address_detail: "1 Sandbox Road",
            postal_code: "00000",
            region_code: region,
            district_info: [],
        },
        packages: [PackageRef { id: &o.package_id }],
        line_items,
        tracking_number: tracking,
        shipping_provider: &o.carrier,
        shipping_type: "TIKTOK",
        fulfillment_type: "FULFILLMENT_BY_SELLER",
        delivery_option_name: "Standard shipping",
        warehouse_id: &o.warehouse,
        is_cod: false,
        is_on_hold_order: false,
        is_buyer_request_cancel: o.buyer_cancel_requested,
        commerce_platform: o.commerce_platform.as_deref(),
        v202507: None,
    }
}

#[derive(Serialize)]
struct SearchOut<'a> {
    next_page_token: String,
    total_count: usize,
    orders: Vec<OrderOut<'a>>,
}

#[derive(Serialize)]
struct DetailOut<'a> {
    orders: Vec<OrderOut<'a>>,
}

fn raw<T: Serialize>(v: &T) -> Result<Data, TtError> {
    serde_json::to_string(v).map(Data::Raw).map_err(|_| {
        TtError::new(
            super::common::codes::INTERNAL,
            "Internal error. Please try again later.",
        )
    })
}

fn shop_order<'a>(w: &'a World, call: &Call, id: &str) -> Result<&'a Order, TtError> {
    w.orders
        .get(id)
        .filter(|o| o.shop_id == call.shop_id)
        .ok_or_else(|| TtError::invalid("Order not found."))
}

/// `POST /order/202309/orders/search`.
pub(crate) fn search(sb: &Sandbox, call: &Call) -> Result<Data, TtError> {
    let page_size = call.page_size()?;
    let offset = call.page_offset()?;
    let by_update = match call.q("sort_field") {
        None | Some("") | Some("create_time") => false,
        Some("update_time") => true,
        Some(_) => return Err(TtError::invalid("Invalid sort_field.")),
    };
    let asc = match call.q("sort_order") {
        None | Some("") | Some("DESC") => false,
        Some("ASC") => true,
        Some(_) => return Err(TtError::invalid("Invalid sort_order.")),
    };
    let body = call.json()?;
    let f = |k: &str| body.get(k).and_then(Value::as_i64);
    let want_status = body
        .get("order_status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (cge, clt, uge, ult) = (
        f("create_time_ge"),
        f("create_time_lt"),
        f("update_time_ge"),
        f("update_time_lt"),
    );
    let buyer_cancel = body.get("is_buyer_request_cancel").and_then(Value::as_bool);
    sb.with_world(|w, _| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| TtError::invalid("Invalid `shop_cipher`."))?;
        let mut hits: Vec<&Order> = shop
            .orders
            .iter()
            .filter_map(|id| w.orders.get(id))
            .filter(|o| {
                want_status.as_deref().is_none_or(|s| {
                    status(o.stage) == s || (s == "CANCEL" && o.stage == Stage::Cancelled)
                })
            })
            .filter(|o| cge.is_none_or(|t| secs(o.create_ms) >= t))
            .filter(|o| clt.is_none_or(|t| secs(o.create_ms) < t))
            .filter(|o| uge.is_none_or(|t| secs(o.update_ms) >= t))
            .filter(|o| ult.is_none_or(|t| secs(o.update_ms) < t))
            .filter(|o| buyer_cancel.is_none_or(|b| o.buyer_cancel_requested == b))
            .collect();
        hits.sort_by(|a, b| {
            let (ka, kb) = if by_update {
                (a.update_ms, b.update_ms)
            } else {
                (a.create_ms, b.create_ms)
            };
            let ord = ka.cmp(&kb).then_with(|| a.id.cmp(&b.id));
            if asc {
                ord
            } else {
                ord.reverse()
            }
        });
        let total = hits.len();
        let page: Vec<OrderOut> = hits
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|o| order_out(o, w))
            .collect();
        let next = offset + page.len();
        raw(&SearchOut {
            next_page_token: if next < total {
                encode_page_token(next)
            } else {
                String::new()
            },
            total_count: total,
            orders: page,
        })
    })
}

/// `GET /order/202309/orders?ids=a,b` (≤ 50 ids, one comma-joined value).
pub(crate) fn detail(sb: &Sandbox, call: &Call) -> Result<Data, TtError> {
    detail_of_version(sb, call, false)
}

/// `GET /order/202507/orders?ids=a,b`: the same request; each order carries the 202507 fields.
pub(crate) fn detail_202507(sb: &Sandbox, call: &Call) -> Result<Data, TtError> {
    detail_of_version(sb, call, true)
}

fn detail_of_version(sb: &Sandbox, call: &Call, v202507: bool) -> Result<Data, TtError> {
    let ids: Vec<&str> = call
        .q("ids")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(TtError::invalid(
            "Invalid ids. Between 1 and 50 order ids are required.",
        ));
    }
    sb.with_world(|w, _| {
        let orders: Vec<OrderOut> = ids
            .iter()
            .filter_map(|id| w.orders.get(*id))
            .filter(|o| o.shop_id == call.shop_id)
            .map(|o| OrderOut {
                v202507: v202507.then_some(ORDER_202507),
                ..order_out(o, w)
            })
            .collect();
        raw(&DetailOut { orders })
    })
}

fn package_order<'a>(w: &'a World, call: &Call) -> Result<&'a Order, TtError> {
    w.packages
        .get(&call.param)
        .and_then(|oid| w.orders.get(oid))
        .filter(|o| o.shop_id == call.shop_id)
        .ok_or_else(|| TtError::invalid("Package not found."))
}

/// `GET /fulfillment/202309/packages/{package_id}`.
pub(crate) fn package(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    sb.with_world(|w, _| {
        let o = package_order(w, call)?;
        Ok(json!({
            "package_id": o.package_id, "package_status": package_status(o.stage),
            "tracking_number": o.tracking.clone().unwrap_or_default(),
            "shipping_provider_id": "6617675021119438849", "shipping_provider_name": o.carrier,
            "orders": [{"id": o.id, "skus": o.lines.iter().map(|l| json!({
                "id": sid(l.variant_id), "quantity": l.quantity,
            })).collect::<Vec<_>>()}],
            "create_time": secs(o.create_ms), "update_time": secs(o.update_ms),
        }))
    })
}

/// `POST /fulfillment/202309/packages/{package_id}/ship`: the order becomes AWAITING_COLLECTION.
pub(crate) fn ship_package(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    let body = call.json()?;
    let handover = body.get("handover_method").and_then(Value::as_str);
    let self_shipment = body.get("self_shipment");
    if let Some(h) = handover {
        if h != "PICKUP" && h != "DROP_OFF" {
            return Err(TtError::invalid(
                "Invalid handover_method. Use PICKUP or DROP_OFF.",
            ));
        }
    }
    let tracking = match self_shipment {
        Some(s) => Some(
            s.get("tracking_number")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| TtError::invalid("self_shipment.tracking_number is required."))?
                .to_owned(),
        ),
        None => None,
    };
    sb.with_world(|w, now| {
        let o = package_order(w, call)?;
        if o.stage != Stage::ReadyToShip {
            return Err(TtError::invalid(
                "The package status does not allow shipping.",
            ));
        }
        let id = o.id.clone();
        w.advance(&id, OrderAction::Ship, tracking, sb.proto(), now)
            .map_err(|e| TtError::invalid(e.to_string()))?;
        Ok(json!({}))
    })
}

/// `GET /fulfillment/202309/orders/{order_id}/tracking`.
pub(crate) fn tracking(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    sb.with_world(|w, _| {
        let o = shop_order(w, call, &call.param)?;
        let mut events = Vec::new();
        let reached = |s: Stage| {
            let order = [Stage::Arranged, Stage::Shipped, Stage::Delivered, Stage::Completed];
            let pos = |x: Stage| order.iter().position(|y| *y == x);
            matches!((pos(o.stage), pos(s)), (Some(a), Some(b)) if a >= b)
        };
        if reached(Stage::Delivered) {
            events.push(json!({"description": "Parcel delivered", "update_time_millis": o.update_ms}));
        }
        if reached(Stage::Shipped) {
            events.push(json!({"description": "Parcel picked up by the carrier", "update_time_millis": o.update_ms}));
        }
        if reached(Stage::Arranged) {
            events.push(json!({"description": "Seller arranged shipment", "update_time_millis": o.update_ms}));
        }
        Ok(json!({"tracking": events}))
    })
}

/// `POST /return_refund/202309/cancellations`: the seller cancels a not yet shipped order, or
/// only some of its line items (`order_line_item_ids`): their units go back on the listing at
/// once and the order goes on without them (cancelled once none is left).
pub(crate) fn cancel(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    let body = call.json()?;
    let id = body
        .get("order_id")
        .and_then(Value::as_str)
        .ok_or_else(|| TtError::invalid("order_id is required."))?
        .to_owned();
    let reason = body
        .get("cancel_reason")
        .and_then(Value::as_str)
        .ok_or_else(|| TtError::invalid("cancel_reason is required."))?
        .to_owned();
    let some: Option<Vec<u64>> = match body.get("order_line_item_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) => Some(
            ids.iter()
                .map(|v| v.as_str().and_then(|s| s.parse().ok()))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| TtError::invalid("order_line_item_ids must be line item ids."))?,
        ),
        Some(_) => return Err(TtError::invalid("order_line_item_ids must be an array.")),
    };
    let skus: Option<Vec<(u64, i64)>> = match body.get("skus") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => Some(
            list.iter()
                .map(|v| {
                    let sku = v.get("sku_id").and_then(Value::as_str)?.parse().ok()?;
                    let n = v
                        .get("quantity")
                        .and_then(Value::as_i64)
                        .filter(|n| *n > 0)?;
                    Some((sku, n))
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    TtError::invalid("skus must be {sku_id, quantity} with a positive quantity.")
                })?,
        ),
        Some(_) => return Err(TtError::invalid("skus must be an array.")),
    };
    sb.with_world(|w, now| {
        let o = shop_order(w, call, &id)?;
        if !matches!(
            o.stage,
            Stage::Unpaid | Stage::ReadyToShip | Stage::InCancel
        ) {
            return Err(TtError::new(
                25_001_001,
                "The order status does not allow cancellation.",
            ));
        }
        let some = match (some, &skus) {
            (Some(items), _) => Some(items),
            (None, Some(skus)) => Some(items_of_skus(o, skus)?),
            (None, None) => None,
        };
        if let Some(items) = some.filter(|items| !items.is_empty()) {
            let live: Vec<u64> = item_ids(o)
                .into_iter()
                .filter(|i| !o.cancelled_items.contains_key(i))
                .collect();
            if let Some(bad) = items.iter().find(|i| !live.contains(i)) {
                return Err(TtError::invalid(format!(
                    "Line item {bad} is not a live line item of this order."
                )));
            }
            if items.len() < live.len() {
                cancel_items(w, &id, &items, &reason, now);
                return Ok(json!({"cancel_id": cancel_id(&id), "cancel_status": "CANCELLATION_REQUEST_COMPLETE"}));
            }
        }
        if let Some(o) = w.orders.get_mut(&id) {
            o.cancel_reason = Some(reason);
        }
        w.advance(&id, OrderAction::SellerCancel, None, sb.proto(), now)
            .map_err(|e| TtError::invalid(e.to_string()))?;
        Ok(json!({"cancel_id": cancel_id(&id), "cancel_status": "CANCELLATION_REQUEST_COMPLETE"}))
    })
}

/// The live line items a cancel by `{sku_id, quantity}` takes, the first of each SKU first.
fn items_of_skus(o: &Order, skus: &[(u64, i64)]) -> Result<Vec<u64>, TtError> {
    let mut items = Vec::new();
    for (sku, n) in skus {
        let live: Vec<u64> = o
            .lines
            .iter()
            .filter(|l| l.variant_id == *sku)
            .flat_map(|l| (0..l.quantity).map(move |k| item_id(l.line_id, k)))
            .filter(|i| !o.cancelled_items.contains_key(i) && !items.contains(i))
            .collect();
        let n = usize::try_from(*n).unwrap_or(usize::MAX);
        if live.len() < n {
            return Err(TtError::invalid(format!(
                "The order has fewer than {n} live units of SKU {sku}."
            )));
        }
        items.extend(live.into_iter().take(n));
    }
    Ok(items)
}

fn answer_cancel(sb: &Sandbox, call: &Call, action: OrderAction) -> Result<Value, TtError> {
    let id = call
        .param
        .strip_prefix('8')
        .ok_or_else(|| TtError::invalid("Cancellation not found."))?
        .to_owned();
    sb.with_world(|w, now| {
        let o =
            shop_order(w, call, &id).map_err(|_| TtError::invalid("Cancellation not found."))?;
        if o.stage != Stage::InCancel {
            return Err(TtError::new(25_001_001, "The cancellation is not pending."));
        }
        w.advance(&id, action, None, sb.proto(), now)
            .map_err(|e| TtError::invalid(e.to_string()))?;
        Ok(json!({}))
    })
}

/// `POST /return_refund/202309/cancellations/{cancel_id}/approve`.
pub(crate) fn approve_cancel(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    answer_cancel(sb, call, OrderAction::AcceptCancel)
}

/// `POST /return_refund/202309/cancellations/{cancel_id}/reject`.
pub(crate) fn reject_cancel(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    answer_cancel(sb, call, OrderAction::RejectCancel)
}
