//! Shopee order and logistics APIs: order list (15-day windows, cursor paging), order detail
//! (≤ 50, optional fields only on request), shipping parameters, ship, tracking, cancellations.

use serde_json::{json, Map, Value};

use super::common::ShopeeProtocol;
use super::common::{
    money, secs, Call, Reply, ShopeeError, MAX_BATCH, MAX_PAGE_SIZE, MAX_WINDOW_SECS,
};
use crate::model::Rules;
use crate::model::{Order, OrderAction, Stage, World};
use crate::sandbox::Sandbox;

fn status(stage: Stage) -> &'static str {
    ShopeeProtocol.status_name(stage)
}

fn logistics_status(stage: Stage) -> &'static str {
    match stage {
        Stage::Unpaid => "LOGISTICS_NOT_START",
        Stage::ReadyToShip | Stage::InCancel => "LOGISTICS_READY",
        Stage::Packed | Stage::Arranged => "LOGISTICS_REQUEST_CREATED",
        Stage::Shipped => "LOGISTICS_PICKUP_DONE",
        Stage::Delivered | Stage::Completed => "LOGISTICS_DELIVERY_DONE",
        Stage::Cancelled => "LOGISTICS_REQUEST_CANCELED",
    }
}

fn order_not_found() -> ShopeeError {
    ShopeeError::new("error_not_found", "Order not found.")
}

fn shop_order<'a>(w: &'a World, call: &Call, order_sn: &str) -> Result<&'a Order, ShopeeError> {
    w.orders
        .get(order_sn)
        .filter(|o| o.shop_id == call.shop_id)
        .ok_or_else(order_not_found)
}

/// `GET /api/v2/order/get_order_list`.
pub(crate) fn get_order_list(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let field = call
        .q("time_range_field")
        .ok_or_else(|| ShopeeError::param("time_range_field is required"))?;
    if field != "create_time" && field != "update_time" {
        return Err(ShopeeError::param(
            "time_range_field should be create_time or update_time",
        ));
    }
    let from = call
        .q_i64("time_from")?
        .ok_or_else(|| ShopeeError::param("time_from is required"))?;
    let to = call
        .q_i64("time_to")?
        .ok_or_else(|| ShopeeError::param("time_to is required"))?;
    if from > to {
        return Err(ShopeeError::param(
            "time_from should be earlier than time_to",
        ));
    }
    if to - from > MAX_WINDOW_SECS {
        return Err(ShopeeError::param(
            "the maximum date range may not exceed 15 days",
        ));
    }
    let page_size = call
        .q_i64("page_size")?
        .ok_or_else(|| ShopeeError::param("page_size is required"))?;
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ShopeeError::param("page_size should be between 1 and 100"));
    }
    let offset: usize = match call.q("cursor") {
        None | Some("") => 0,
        Some(c) => c
            .parse()
            .map_err(|_| ShopeeError::param("cursor is invalid"))?,
    };
    let want_status = call
        .q("order_status")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let with_status = call
        .q("response_optional_fields")
        .is_some_and(|f| f.split(',').any(|x| x == "order_status"));
    sb.with_world(|w, _| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| ShopeeError::new("error_shop", "shopid is invalid"))?;
        let mut hits: Vec<(i64, &Order)> = shop
            .orders
            .iter()
            .filter_map(|id| w.orders.get(id))
            .map(|o| {
                (
                    secs(if field == "create_time" {
                        o.create_ms
                    } else {
                        o.update_ms
                    }),
                    o,
                )
            })
            .filter(|(t, _)| *t >= from && *t <= to)
            .filter(|(_, o)| want_status.as_deref().is_none_or(|s| status(o.stage) == s))
            .collect();
        // Newest first; ties broken by order_sn so pages are stable.
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let page: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(page_size as usize)
            .map(|(_, o)| {
                if with_status {
                    json!({"order_sn": o.id, "order_status": status(o.stage)})
                } else {
                    json!({"order_sn": o.id})
                }
            })
            .collect();
        let next = offset + page.len();
        let more = next < hits.len();
        Ok(Reply::Wrapped(
            json!({"more": more, "next_cursor": if more { next.to_string() } else { String::new() },
                   "order_list": page}),
            String::new(),
        ))
    })
}

fn detail(o: &Order, w: &World, region: &str, optional: &[&str]) -> Value {
    let mut m = Map::new();
    let has_model = |pid: u64| w.products.get(&pid).is_some_and(|p| p.has_variants);
    let item_sku = |pid: u64| {
        w.products
            .get(&pid)
            .map(|p| p.item_sku.clone())
            .unwrap_or_default()
    };
    m.insert("order_sn".into(), json!(o.id));
    m.insert("region".into(), json!(region));
    m.insert("currency".into(), json!(o.currency));
    m.insert("cod".into(), json!(false));
    m.insert("order_status".into(), json!(status(o.stage)));
    m.insert("create_time".into(), json!(secs(o.create_ms)));
    m.insert("update_time".into(), json!(secs(o.update_ms)));
    m.insert("days_to_ship".into(), json!(3));
    m.insert("ship_by_date".into(), json!(secs(o.create_ms) + 3 * 86_400));
    m.insert("message_to_seller".into(), json!(""));
    for f in optional {
        let v = match *f {
            "buyer_user_id" => json!(o.buyer_user_id),
            "buyer_username" => json!(o.buyer_name),
            "estimated_shipping_fee" | "actual_shipping_fee" => money(o.shipping_fee_cents),
            "recipient_address" => json!({
                "name": o.buyer_name, "phone": "******00", "town": "", "district": "",
                "city": "Sandbox City", "state": "", "region": region, "zipcode": "000000",
                "full_address": "1 Sandbox Road, Sandbox City",
            }),
            "note" => json!(""),
            "pay_time" => json!(o.pay_ms.map(secs)),
            "total_amount" => money(o.total_cents()),
            "shipping_carrier" => json!(o.carrier),
            "payment_method" => json!("Online Payment"),
            "cancel_by" => json!(o.cancel_by.clone().unwrap_or_default()),
            "cancel_reason" => json!(o.cancel_reason.clone().unwrap_or_default()),
            "buyer_cancel_reason" => json!(if o.cancel_by.as_deref() == Some("buyer") {
                o.cancel_reason.clone().unwrap_or_default()
            } else {
                String::new()
            }),
            "split_up" => json!(false),
            "fulfillment_flag" => json!("fulfilled_by_local_seller"),
            "item_list" => Value::Array(
                o.lines
                    .iter()
                    .map(|l| {
                        let model = has_model(l.product_id);
                        json!({
                            "item_id": l.product_id, "item_name": l.product_name,
                            "item_sku": item_sku(l.product_id),
                            "model_id": if model { l.variant_id } else { 0 },
                            "model_name": if model { l.variant_name.clone() } else { String::new() },
                            "model_sku": if model { l.seller_sku.clone() } else { String::new() },
                            "model_quantity_purchased": l.quantity,
                            "model_original_price": money(l.original_price_cents),
                            "model_discounted_price": money(l.unit_price_cents),
                            "order_item_id": l.line_id, "promotion_type": "", "promotion_id": 0,
                            "weight": 0.5, "product_location_id": [o.warehouse],
                        })
                    })
                    .collect(),
            ),
            "package_list" => json!([{
                "package_number": o.package_id,
                "logistics_status": logistics_status(o.stage),
                "logistics_channel_id": 18_025,
                "shipping_carrier": o.carrier,
                "item_list": o.lines.iter().map(|l| json!({
                    "item_id": l.product_id,
                    "model_id": if has_model(l.product_id) { l.variant_id } else { 0 },
                    "model_quantity": l.quantity, "order_item_id": l.line_id,
                })).collect::<Vec<_>>(),
            }]),
            _ => continue,
        };
        m.insert((*f).to_owned(), v);
    }
    Value::Object(m)
}

/// `GET /api/v2/order/get_order_detail` (1–50 order_sn, comma-joined).
pub(crate) fn get_order_detail(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let list: Vec<&str> = call
        .q("order_sn_list")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() || list.len() > MAX_BATCH {
        return Err(ShopeeError::param(format!(
            "the length of order_sn_list should be between 1 and {MAX_BATCH}"
        )));
    }
    let optional: Vec<&str> = call
        .q("response_optional_fields")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    sb.with_world(|w, _| {
        let region = w
            .shop(call.shop_id)
            .map(|s| s.region.clone())
            .unwrap_or_default();
        let orders: Vec<Value> = list
            .iter()
            .filter_map(|sn| w.orders.get(*sn))
            .filter(|o| o.shop_id == call.shop_id)
            .map(|o| detail(o, w, &region, &optional))
            .collect();
        Ok(Reply::Wrapped(json!({"order_list": orders}), String::new()))
    })
}

fn order_sn(body: &Value) -> Result<String, ShopeeError> {
    body.get("order_sn")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ShopeeError::param("order_sn is required"))
}

/// `GET /api/v2/logistics/get_shipping_parameter`.
pub(crate) fn get_shipping_parameter(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let sn = call
        .q("order_sn")
        .ok_or_else(|| ShopeeError::param("order_sn is required"))?
        .to_owned();
    sb.with_world(|w, now| {
        let o = shop_order(w, call, &sn)?;
        if o.stage != Stage::ReadyToShip {
            return Err(ShopeeError::new(
                "logistics.invalid_error",
                "The order status does not allow arranging shipment.",
            ));
        }
        let day = secs(now.millis()) - secs(now.millis()).rem_euclid(86_400) + 86_400;
        Ok(Reply::Wrapped(
            json!({
                "info_needed": {"dropoff": [], "pickup": ["address_id", "pickup_time_id"]},
                "dropoff": {"branch_list": []},
                "pickup": {"address_list": [{
                    "address_id": 1, "region": "SG", "state": "", "city": "Sandbox City",
                    "district": "", "town": "", "address": "1 Sandbox Road", "zipcode": "000000",
                    "address_flag": ["default_address", "pickup_address"],
                    "time_slot_list": [{"date": day, "time_text": "Tomorrow 09:00-18:00",
                                        "pickup_time_id": day.to_string()}],
                }]},
            }),
            String::new(),
        ))
    })
}

/// `POST /api/v2/logistics/ship_order`: arranges shipment; the order becomes `PROCESSED`.
pub(crate) fn ship_order(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let sn = order_sn(&body)?;
    let tracking = if let Some(p) = body.get("pickup") {
        if p.get("address_id").is_none() || p.get("pickup_time_id").is_none() {
            return Err(ShopeeError::param(
                "pickup needs address_id and pickup_time_id",
            ));
        }
        p.get("tracking_number")
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else if let Some(d) = body.get("dropoff") {
        d.get("tracking_number")
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else if let Some(n) = body.get("non_integrated") {
        n.get("tracking_number")
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else {
        return Err(ShopeeError::param(
            "one of pickup, dropoff or non_integrated is required",
        ));
    };
    sb.with_world(|w, now| {
        let o = shop_order(w, call, &sn)?;
        if o.stage == Stage::Unpaid {
            // The reference's answer for an order not yet ready to ship (unpaid).
            return Err(ShopeeError::new(
                "logistics.shipping_order_real_ready_to_ship",
                "The order is not ready to ship yet.",
            ));
        }
        if o.stage != Stage::ReadyToShip {
            return Err(ShopeeError::new(
                "logistics.invalid_error",
                "The order status does not allow arranging shipment.",
            ));
        }
        if let Some(pkg) = body.get("package_number").and_then(Value::as_str) {
            if !pkg.is_empty() && pkg != o.package_id {
                return Err(ShopeeError::param("package_number is invalid"));
            }
        }
        w.advance(&sn, OrderAction::Ship, tracking, sb.proto(), now)
            .map_err(|e| ShopeeError::new("logistics.invalid_error", e.to_string()))?;
        Ok(Reply::Bare)
    })
}

/// `GET /api/v2/logistics/get_tracking_number`.
pub(crate) fn get_tracking_number(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let sn = call
        .q("order_sn")
        .ok_or_else(|| ShopeeError::param("order_sn is required"))?
        .to_owned();
    sb.with_world(|w, _| {
        let o = shop_order(w, call, &sn)?;
        let v = match &o.tracking {
            Some(t) => json!({"tracking_number": t}),
            None => json!({"tracking_number": "", "hint": "The tracking number is not ready yet."}),
        };
        Ok(Reply::Wrapped(v, String::new()))
    })
}

/// `POST /api/v2/order/cancel_order` (seller cancellation, before shipment).
pub(crate) fn cancel_order(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let sn = order_sn(&body)?;
    let reason = body
        .get("cancel_reason")
        .and_then(Value::as_str)
        .ok_or_else(|| ShopeeError::param("cancel_reason is required"))?
        .to_owned();
    if !matches!(
        reason.as_str(),
        "OUT_OF_STOCK" | "UNDELIVERABLE_AREA" | "CUSTOMER_REQUEST"
    ) {
        return Err(ShopeeError::param("cancel_reason is invalid"));
    }
    if reason == "OUT_OF_STOCK"
        && body
            .get("item_list")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        return Err(ShopeeError::param(
            "item_list is required when cancel_reason is OUT_OF_STOCK",
        ));
    }
    sb.with_world(|w, now| {
        let o = shop_order(w, call, &sn)?;
        if !matches!(o.stage, Stage::Unpaid | Stage::ReadyToShip) {
            return Err(ShopeeError::new(
                "error_param",
                "The order status does not allow cancellation.",
            ));
        }
        if let Some(o) = w.orders.get_mut(&sn) {
            o.cancel_reason = Some(reason.clone());
        }
        let v = w
            .advance(&sn, OrderAction::SellerCancel, None, sb.proto(), now)
            .map_err(|e| ShopeeError::new("error_param", e.to_string()))?;
        Ok(Reply::Wrapped(
            json!({"update_time": v.update_time}),
            String::new(),
        ))
    })
}

/// `POST /api/v2/order/handle_buyer_cancellation` (order must be `IN_CANCEL`).
pub(crate) fn handle_buyer_cancellation(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let sn = order_sn(&body)?;
    let action = match body.get("operation").and_then(Value::as_str) {
        Some("ACCEPT") => OrderAction::AcceptCancel,
        Some("REJECT") => OrderAction::RejectCancel,
        _ => return Err(ShopeeError::param("operation should be ACCEPT or REJECT")),
    };
    sb.with_world(|w, now| {
        let o = shop_order(w, call, &sn)?;
        if o.stage != Stage::InCancel {
            return Err(ShopeeError::new(
                "error_param",
                "The order is not in cancellation.",
            ));
        }
        let v = w
            .advance(&sn, action, None, sb.proto(), now)
            .map_err(|e| ShopeeError::new("error_param", e.to_string()))?;
        Ok(Reply::Wrapped(
            json!({"update_time": v.update_time}),
            String::new(),
        ))
    })
}
