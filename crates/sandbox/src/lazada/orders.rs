//! Lazada order APIs: `/orders/get` (time filters, status filter, offset/limit ≤ 100, sorting),
//! `/order/get`, `/order/items/get`, `/orders/items/get` (bracketed id list ≤ 50), pack and
//! ready-to-ship (≤ 20 orders, `result` wrapper with per-item codes) and seller cancellation.
//! Every unit of a line is its own order item, `line_id * 1000 + unit`, with its own status: a
//! seller may pack some items of an order into one package and others into another (each with
//! its own package id and tracking number), and cancel some items while the rest goes on (their
//! units go back on the listing at once).

use serde_json::{json, Value};

use storesync_domain::Timestamp;

use super::common::{
    item_status, parse_iso_ms, Call, LzError, MAX_ORDER_IDS, MAX_ORDER_LIMIT, MAX_PACK,
};
use crate::model::{Event, Order, Parcel, Stage, World};
use crate::model::{IdKind, Rules};
use crate::sandbox::Sandbox;
pub(crate) use crate::units::item_id;
use crate::units::{cancel_items, item_ids, parcel_of, settle};
use crate::util;

/// The Lazada status of one order item when the order is at `stage`: cancelled on its own,
/// packed (or made ready to ship) in its package while the order has not left, or the order's.
pub(crate) fn unit_status(o: &Order, item: u64, stage: Stage) -> &'static str {
    if o.cancelled_items.contains_key(&item) {
        return "canceled";
    }
    if matches!(stage, Stage::ReadyToShip | Stage::Packed | Stage::Arranged) {
        if let Some(p) = parcel_of(o, item) {
            return if p.ready { "ready_to_ship" } else { "packed" };
        }
    }
    item_status(stage)
}

/// UTC offset of a venture's local time, in hours.
fn offset_hours(region: &str) -> i8 {
    match region {
        "TH" | "VN" | "ID" => 7,
        _ => 8,
    }
}

/// Lazada's order time format: `2018-02-05 13:40:22 +0800`, in the venture's local time.
pub(crate) fn local_time(ms: i64, region: &str) -> String {
    let hours = offset_hours(region);
    let Ok(offset) = time::UtcOffset::from_hms(hours, 0, 0) else {
        return String::new();
    };
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    let t = t.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} +{:02}00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        hours
    )
}

fn region_of(w: &World, o: &Order) -> String {
    w.shops
        .get(&o.shop_id)
        .map(|s| s.region.clone())
        .unwrap_or_default()
}

fn packed(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Packed | Stage::Arranged | Stage::Shipped | Stage::Delivered | Stage::Completed
    )
}

/// Every order item (one per unit) of an order.
pub(crate) fn items(w: &World, o: &Order) -> Vec<Value> {
    let region = region_of(w, o);
    let price = |c: i64| util::cents_to_decimal(c, &o.currency);
    let order_initiator = match o.cancel_by.as_deref() {
        Some("seller") => "cancellation-seller",
        Some(_) => "cancellation-customer",
        None => "",
    };
    let mut out = Vec::new();
    for l in &o.lines {
        for unit in 0..l.quantity {
            let id = item_id(l.line_id, unit);
            let status = unit_status(o, id, o.stage);
            let (package_id, tracking) = match parcel_of(o, id) {
                Some(p) => (p.package_id.clone(), p.tracking.clone()),
                None if packed(o.stage) => {
                    (o.package_id.clone(), o.tracking.clone().unwrap_or_default())
                }
                None => (String::new(), String::new()),
            };
            let (reason, initiator) = match o.cancelled_items.get(&id) {
                Some(r) => (r.clone(), "cancellation-seller"),
                None if o.stage == Stage::Cancelled => {
                    (o.cancel_reason.clone().unwrap_or_default(), order_initiator)
                }
                None => (String::new(), ""),
            };
            out.push(json!({
                "order_item_id": id, "order_id": o.id.parse::<u64>().unwrap_or(0),
                "status": status, "name": l.product_name, "sku": l.seller_sku,
                "shop_sku": format!("{}_{}AMZ-{}", l.product_id, region, l.variant_id),
                "sku_id": l.variant_id.to_string(), "product_id": l.product_id.to_string(),
                "variation": l.variant_name,
                "item_price": price(l.original_price_cents), "paid_price": price(l.unit_price_cents),
                "currency": o.currency, "shipping_type": "Dropshipping",
                "shipment_provider": if package_id.is_empty() { "" } else { o.carrier.as_str() },
                "tracking_code": tracking, "package_id": package_id,
                "invoice_number": "", "reason": reason, "reason_detail": "", "return_status": "",
                "cancel_return_initiator": initiator,
                "created_at": local_time(o.create_ms, &region), "updated_at": local_time(o.update_ms, &region),
                "is_fbl": 0, "warehouse_code": o.warehouse,
            }));
        }
    }
    out
}

/// The distinct statuses of an order's items, in item order.
fn statuses(o: &Order) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for id in item_ids(o) {
        let s = unit_status(o, id, o.stage);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn header(w: &World, o: &Order) -> Value {
    let region = region_of(w, o);
    let units: i64 = o.lines.iter().map(|l| l.quantity).sum();
    let address = json!({"first_name": o.buyer_name, "last_name": "", "phone": "6500000000", "phone2": "",
        "address1": "1 Sandbox Road", "address2": "", "address3": "", "address4": "", "address5": "",
        "city": "Sandbox City", "post_code": "000000", "country": region});
    json!({
        "order_id": o.id.parse::<u64>().unwrap_or(0), "order_number": o.id.parse::<u64>().unwrap_or(0),
        "created_at": local_time(o.create_ms, &region), "updated_at": local_time(o.update_ms, &region),
        "statuses": statuses(o), "items_count": units,
        "price": util::cents_to_decimal(o.subtotal_cents(), &o.currency),
        "shipping_fee": util::cents_to_decimal(o.shipping_fee_cents, &o.currency),
        "payment_method": "COD", "voucher": "0.00", "customer_first_name": o.buyer_name,
        "customer_last_name": "", "address_billing": address.clone(), "address_shipping": address,
        "gift_option": false, "remarks": "", "warehouse_code": o.warehouse, "buyer_note": "",
    })
}

fn shop_order<'a>(w: &'a World, call: &Call, id: &str) -> Option<&'a Order> {
    w.orders.get(id).filter(|o| o.shop_id == call.shop_id)
}

fn stages_for(filter: &str) -> Option<&'static [Stage]> {
    Some(match filter {
        "unpaid" => &[Stage::Unpaid],
        "pending" => &[Stage::ReadyToShip, Stage::InCancel],
        "topack" => &[Stage::ReadyToShip, Stage::InCancel],
        "toship" => &[Stage::Packed, Stage::Arranged],
        "ready_to_ship" => &[Stage::Arranged],
        "shipped" | "shipping" => &[Stage::Shipped],
        "delivered" => &[Stage::Delivered, Stage::Completed],
        "canceled" => &[Stage::Cancelled],
        "returned" | "failed" | "lost" => &[],
        _ => return None,
    })
}

/// `/orders/get`.
pub(crate) fn get_orders(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let date = |k: &str| -> Result<Option<i64>, LzError> {
        match call.p(k) {
            None => Ok(None),
            Some(t) => parse_iso_ms(t)
                .map(Some)
                .ok_or_else(|| LzError::isv("E017", format!("Invalid Date Format: {k}"))),
        }
    };
    let (ca, cb, ua, ub) = (
        date("created_after")?,
        date("created_before")?,
        date("update_after")?,
        date("update_before")?,
    );
    if ca.is_none() && ua.is_none() {
        return Err(LzError::missing("created_after"));
    }
    let stages = match call.p("status") {
        None => None,
        Some(s) => {
            Some(stages_for(s).ok_or_else(|| LzError::isv("E036", "Invalid status filter"))?)
        }
    };
    let offset: i64 = match call.p("offset") {
        None => 0,
        Some(v) => v
            .parse()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| LzError::isv("E014", "Invalid Offset"))?,
    };
    let limit: i64 = match call.p("limit") {
        None => MAX_ORDER_LIMIT,
        Some(v) => v
            .parse()
            .ok()
            .filter(|l| (1..=MAX_ORDER_LIMIT).contains(l))
            .ok_or_else(|| LzError::isv("E019", "Invalid Limit"))?,
    };
    let by_update = match call.p("sort_by") {
        None | Some("created_at") => false,
        Some("updated_at") => true,
        Some(_) => return Err(LzError::isv("E075", "Invalid Sort Field")),
    };
    let descending = match call
        .p("sort_direction")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("DESC") => true,
        Some("ASC") => false,
        Some(_) => return Err(LzError::isv("E074", "Invalid Sort Direction")),
    };
    sb.with_world(|w, _| {
        let Ok(shop) = w.shop(call.shop_id) else {
            return Ok(json!({"count": 0, "countTotal": 0, "orders": []}));
        };
        let mut hits: Vec<&Order> = shop
            .orders
            .iter()
            .filter_map(|id| w.orders.get(id))
            .filter(|o| ca.is_none_or(|t| o.create_ms >= t) && cb.is_none_or(|t| o.create_ms <= t))
            .filter(|o| ua.is_none_or(|t| o.update_ms >= t) && ub.is_none_or(|t| o.update_ms <= t))
            .filter(|o| stages.is_none_or(|s| s.contains(&o.stage)))
            .collect();
        hits.sort_by_key(|o| {
            let t = if by_update { o.update_ms } else { o.create_ms };
            (t, o.id.clone())
        });
        if descending {
            hits.reverse();
        }
        let total = hits.len();
        let page: Vec<Value> = hits
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|o| header(w, o))
            .collect();
        Ok(json!({"count": page.len(), "countTotal": total, "orders": page}))
    })
}

/// `/order/get`.
pub(crate) fn get_order(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let id = call.required("order_id")?.to_owned();
    sb.with_world(|w, _| {
        let o = shop_order(w, call, &id).ok_or_else(|| LzError::isv("E016", "Invalid Order ID"))?;
        Ok(header(w, o))
    })
}

/// `/order/items/get`.
pub(crate) fn get_order_items(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let id = call.required("order_id")?.to_owned();
    sb.with_world(|w, _| {
        let o = shop_order(w, call, &id).ok_or_else(|| LzError::isv("E016", "Invalid Order ID"))?;
        Ok(Value::Array(items(w, o)))
    })
}

/// Parses a bracketed id list `[1,2,3]`.
fn id_list(
    text: &str,
    bad_format: (&str, &str),
    bad_id: (&str, &str),
) -> Result<Vec<String>, LzError> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| LzError::isv(bad_format.0, bad_format.1))?;
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|s| {
            let s = s.trim().trim_matches('"');
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(s.to_owned())
            } else {
                Err(LzError::isv(bad_id.0, bad_id.1))
            }
        })
        .collect()
}

/// `/orders/items/get`.
pub(crate) fn get_multiple_order_items(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let ids = id_list(
        call.required("order_ids")?,
        ("E056", "Invalid Order ID List Format"),
        ("E037", "Invalid Order ID"),
    )?;
    if ids.len() > MAX_ORDER_IDS {
        return Err(LzError::isv("E038", "Too many orders were requested"));
    }
    sb.with_world(|w, _| {
        let found: Vec<Value> = ids
            .iter()
            .filter_map(|id| shop_order(w, call, id))
            .map(|o| {
                json!({"order_id": o.id.parse::<u64>().unwrap_or(0),
                       "order_number": o.id.parse::<u64>().unwrap_or(0),
                       "order_items": items(w, o)})
            })
            .collect();
        if found.is_empty() {
            return Err(LzError::isv("E039", "No orders were found"));
        }
        Ok(Value::Array(found))
    })
}

fn json_param(call: &Call, key: &str) -> Result<Value, LzError> {
    serde_json::from_str(call.required(key)?).map_err(|_| LzError::invalid(key))
}

fn ids_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Distinct ids in the order given.
fn distinct(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in ids {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Packs `items` (pending items of a paid order) into a new package with its own tracking
/// number. The order's first package takes the package id it was given at placement.
fn pack_items(w: &mut World, order_id: &str, items: Vec<u64>, now: Timestamp) {
    let proto = super::common::LazadaProtocol;
    let seq = w.next_seq();
    let tracking = proto.tracking_number(seq);
    let Some(o) = w.orders.get_mut(order_id) else {
        return;
    };
    let package_id = if o.parcels.iter().any(|p| p.package_id == o.package_id) {
        proto.id_string(IdKind::Package, seq)
    } else {
        o.package_id.clone()
    };
    o.parcels.push(Parcel {
        package_id: package_id.clone(),
        tracking: tracking.clone(),
        items,
        ready: false,
    });
    if o.tracking.is_none() || package_id == o.package_id {
        o.tracking = Some(tracking.clone());
    }
    settle(o);
    o.update_ms = now.millis().max(o.update_ms);
    let shop_id = o.shop_id;
    w.packages.insert(package_id.clone(), order_id.to_owned());
    w.push_status_event(order_id);
    w.events.push(Event::Tracking {
        shop_id,
        order_id: order_id.to_owned(),
        package_id,
        tracking,
    });
}

/// `POST /order/fulfill/pack`. The listed items that are `pending` go into one new package
/// (package id, carrier, tracking number); the others get a per-item error. Items of an order
/// may be packed into several packages by packing them in several calls.
pub(crate) fn pack(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let req = json_param(call, "packReq")?;
    let list = req
        .get("pack_order_list")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > MAX_PACK {
        return Err(LzError::invalid("pack_order_list"));
    }
    if req.get("delivery_type").and_then(Value::as_str) != Some("dropship") {
        return Err(LzError::invalid("delivery_type"));
    }
    sb.with_world(|w, now| {
        let mut out = Vec::new();
        for entry in &list {
            let order_id = ids_of(&json!([entry.get("order_id").cloned().unwrap_or(Value::Null)]))
                .pop()
                .unwrap_or_default();
            let wanted = distinct(ids_of(entry.get("order_item_list").unwrap_or(&Value::Null)));
            let Some(o) = shop_order(w, call, &order_id) else {
                return Err(LzError::isv("E016", "Invalid Order ID"));
            };
            let known: Vec<String> = item_ids(o).iter().map(u64::to_string).collect();
            if wanted.is_empty() || wanted.iter().any(|i| !known.contains(i)) {
                return Err(LzError::invalid("order_item_list"));
            }
            let status_of = |i: &str| unit_status(o, i.parse().unwrap_or(0), o.stage);
            let packable: Vec<u64> = wanted
                .iter()
                .filter(|i| o.stage == Stage::ReadyToShip && status_of(i) == "pending")
                .filter_map(|i| i.parse().ok())
                .collect();
            let refused: Vec<(String, &'static str)> = wanted
                .iter()
                .filter(|i| !packable.iter().any(|p| p.to_string() == **i))
                .map(|i| (i.clone(), status_of(i)))
                .collect();
            if !packable.is_empty() {
                pack_items(w, &order_id, packable.clone(), now);
            }
            let Some(o) = w.orders.get(&order_id) else { continue };
            let items: Vec<Value> = wanted
                .iter()
                .map(|i| match refused.iter().find(|(r, _)| r == i) {
                    None => {
                        let p = i.parse().ok().and_then(|i| parcel_of(o, i));
                        json!({"order_item_id": i, "package_id": p.map(|p| p.package_id.clone()),
                               "tracking_number": p.map(|p| p.tracking.clone()),
                               "shipment_provider": o.carrier, "item_err_code": "0",
                               "msg": "success", "retry": false})
                    }
                    Some((_, status)) => json!({"order_item_id": i, "item_err_code": "ITEM_STATUS_INVALID",
                        "msg": format!("Only items in pending or repacked can be packed; this one is {status}"),
                        "retry": false}),
                })
                .collect();
            out.push(json!({"order_id": order_id, "order_item_list": items}));
        }
        Ok(json!({"pack_order_list": out}))
    })
}

/// `POST /order/package/rts`: packed packages become ready to ship, each on its own; the order
/// is ready to ship once all its items are in packages that are.
pub(crate) fn ready_to_ship(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let req = json_param(call, "readyToShipReq")?;
    let list = req
        .get("packages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > MAX_PACK {
        return Err(LzError::invalid("packages"));
    }
    sb.with_world(|w, now| {
        let mut out = Vec::new();
        for p in &list {
            let package_id = p.get("package_id").and_then(Value::as_str).unwrap_or("").to_owned();
            let order_id = w.packages.get(&package_id).cloned().unwrap_or_default();
            let not_found = json!({"package_id": package_id, "item_err_code": "PACKAGE_NOT_FOUND",
                                   "msg": "Package not found", "retry": false});
            let invalid = |status: &str| json!({"package_id": package_id, "item_err_code": "PACKAGE_STATUS_INVALID",
                "msg": format!("Only packed packages can be made ready to ship; this one is {status}"),
                "retry": false});
            let result = match w.orders.get_mut(&order_id).filter(|o| o.shop_id == call.shop_id) {
                None => not_found,
                Some(o) => {
                    let open = matches!(o.stage, Stage::ReadyToShip | Stage::Packed);
                    let stage_status = item_status(o.stage);
                    let legacy = o.parcels.is_empty() && package_id == o.package_id;
                    match o.parcels.iter_mut().find(|x| x.package_id == package_id) {
                        // A package whose items were all cancelled is gone.
                        Some(x) if x.items.is_empty() => not_found,
                        Some(x) if open && !x.ready => {
                            x.ready = true;
                            settle(o);
                            o.update_ms = now.millis().max(o.update_ms);
                            json!({"package_id": package_id, "item_err_code": "0", "msg": "success", "retry": false})
                        }
                        Some(x) => invalid(if x.ready && open { "ready_to_ship" } else { stage_status }),
                        // The order's own package before anything was packed.
                        None if legacy => invalid(stage_status),
                        None => not_found,
                    }
                }
            };
            if result["item_err_code"] == "0" {
                w.push_status_event(&order_id);
            }
            out.push(result);
        }
        Ok(json!({"packages": out}))
    })
}

const REASONS: [(&str, &str); 3] = [
    ("10000", "Out of stock"),
    ("10001", "Wrong price or pricing error"),
    ("10002", "Unable to deliver to buyer address"),
];

/// Checks that a cancel names items of the seller's order that can still be cancelled (unpaid,
/// pending or packed), and returns the order id and those items.
fn cancellable(w: &World, call: &Call) -> Result<(String, Vec<u64>), LzError> {
    let id = call.required("order_id")?.to_owned();
    let listed = id_list(
        call.required("order_item_id_list")?,
        (
            "InvalidParameter",
            "The specified parameter \u{201c}order_item_id_list\u{201d} is invalid",
        ),
        (
            "InvalidParameter",
            "The specified parameter \u{201c}order_item_id_list\u{201d} is invalid",
        ),
    )?;
    let o = shop_order(w, call, &id).ok_or_else(|| LzError::isv("E016", "Invalid Order ID"))?;
    let known = item_ids(o);
    let listed: Vec<u64> = distinct(listed)
        .iter()
        .filter_map(|i| i.parse().ok())
        .collect();
    if listed.is_empty() || listed.iter().any(|i| !known.contains(i)) {
        return Err(LzError::invalid("order_item_id_list"));
    }
    for i in &listed {
        let status = unit_status(o, *i, o.stage);
        if !matches!(status, "unpaid" | "pending" | "packed") {
            return Err(LzError::isv(
                "CancelNotAllowed",
                format!("Order item {i} in status {status} cannot be cancelled by the seller"),
            ));
        }
    }
    Ok((id, listed))
}

/// `/order/reverse/cancel/validate`.
pub(crate) fn cancel_validate(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    sb.with_world(|w, _| cancellable(w, call))?;
    Ok(json!({
        "reason_options": REASONS.iter().map(|(id, name)| json!({"reason_id": id, "reason_name": name})).collect::<Vec<_>>(),
        "tip_type": "NONE", "tip_content": "",
    }))
}

/// `/order/reverse/cancel/create`: cancels the listed items (all of them, or some).
pub(crate) fn cancel_create(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let reason_id = call.required("reason_id")?.to_owned();
    let Some((_, reason)) = REASONS.iter().find(|(id, _)| *id == reason_id) else {
        return Err(LzError::invalid("reason_id"));
    };
    sb.with_world(|w, now| {
        let (id, items) = cancellable(w, call)?;
        cancel_items(w, &id, &items, reason, now);
        Ok(json!({}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_and_id_lists() {
        // 2023-11-14T22:13:20Z
        assert_eq!(
            local_time(1_700_000_000_000, "SG"),
            "2023-11-15 06:13:20 +0800"
        );
        assert_eq!(
            local_time(1_700_000_000_000, "VN"),
            "2023-11-15 05:13:20 +0700"
        );
        let bad = ("E056", "f");
        let bad_id = ("E037", "i");
        assert_eq!(
            id_list("[1, 2,3]", bad, bad_id).unwrap(),
            vec!["1", "2", "3"]
        );
        assert_eq!(id_list("1,2", bad, bad_id).unwrap_err().code, "E056");
        assert_eq!(id_list("[1,x]", bad, bad_id).unwrap_err().code, "E037");
        assert_eq!(item_id(2_604_229_001, 3), 2_604_229_001_003);
    }
}
