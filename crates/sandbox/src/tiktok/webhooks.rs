//! TikTok webhooks: rendering events with the `{type, tts_notification_id, shop_id, timestamp,
//! data}` envelope signed with HMAC(app_secret, app_key + body), and the per-shop webhook
//! configuration API (`/event/202309/webhooks`).

use serde_json::{json, Value};
use storesync_domain::Timestamp;

use super::common::TikTokProtocol;
use super::common::{secs, sid, Call, TtError};
use super::sign;
use crate::config::Credentials;
use crate::model::Rules;
use crate::model::{Event, Stage, World};
use crate::sandbox::Sandbox;
use crate::webhook::Outgoing;

/// Event types the sandbox accepts in the webhook configuration API.
const EVENT_TYPES: &[&str] = &[
    "ORDER_STATUS_CHANGE",
    "RECIPIENT_ADDRESS_UPDATE",
    "PACKAGE_UPDATE",
    "PRODUCT_STATUS_CHANGE",
    "SELLER_DEAUTHORIZATION",
    "UPCOMING_AUTHORIZATION_EXPIRATION",
    "CANCELLATION_STATUS_CHANGE",
    "RETURN_STATUS_CHANGE",
    "PRODUCT_INFORMATION_CHANGE",
    "PRODUCT_CREATION",
    "PRODUCT_CATEGORY_CHANGE",
    "INVENTORY_STATUS_CHANGE",
];

pub(crate) fn render(
    world: &World,
    credentials: &Credentials,
    event: &Event,
    now: Timestamp,
    seq: u64,
) -> Vec<Outgoing> {
    let Credentials::TikTok {
        app_key,
        app_secret,
        ..
    } = credentials
    else {
        return Vec::new();
    };
    let ts = secs(now.millis());
    let (kind, name, shop_id, data): (i64, &str, u64, Value) = match event {
        Event::OrderStatus {
            shop_id,
            order_id,
            stage: Stage::InCancel,
            update_ms,
            ..
        } => (
            11,
            "CANCELLATION_STATUS_CHANGE",
            *shop_id,
            json!({"order_id": order_id, "cancellations_role": "BUYER",
                   "cancel_status": "CANCELLATION_REQUEST_PENDING",
                   "cancel_id": format!("8{order_id}"), "create_time": secs(*update_ms)}),
        ),
        Event::OrderStatus {
            shop_id,
            order_id,
            stage,
            update_ms,
            ..
        } => (
            1,
            "ORDER_STATUS_CHANGE",
            *shop_id,
            json!({"order_id": order_id, "order_status": TikTokProtocol.status_name(*stage),
                   "is_on_hold_order": false, "update_time": secs(*update_ms)}),
        ),
        Event::Inventory {
            shop_id,
            product_id,
            variant_id,
            before,
            after,
            reserved,
        } => {
            // Only crossings between "has stock" and "sold out" change the inventory status.
            let status = match (*before > 0, *after > 0) {
                (true, false) => "OUT_OF_STOCK",
                (false, true) => "SUFFICIENT_STOCK",
                _ => return Vec::new(),
            };
            (
                27,
                "INVENTORY_STATUS_CHANGE",
                *shop_id,
                json!({"product_id": sid(*product_id), "sku_id": sid(*variant_id),
                       "trigger_reason": {"alert_type": "REALTIME"},
                       "current_inventory_status": status,
                       "inventory_distribution": {"total_quantity": after,
                           "available_quantity": after, "creator_reserved_quantity": 0,
                           "campaign_reserved_quantity": reserved, "committed_quantity": 0},
                       "update_time": ts}),
            )
        }
        Event::Deauthorized { shop_id } => (
            6,
            "SELLER_DEAUTHORIZATION",
            *shop_id,
            json!({"message": "The seller has deauthorized the app."}),
        ),
        Event::AuthExpiring { shop_id, expire_ms } => (
            7,
            "UPCOMING_AUTHORIZATION_EXPIRATION",
            *shop_id,
            json!({"message": "The seller's authorization of the app will expire soon.",
                   "expiration_time": secs(*expire_ms)}),
        ),
        Event::Tracking { .. } | Event::Reservation { .. } | Event::Authorized { .. } => {
            return Vec::new()
        }
    };
    let url = world
        .shops
        .get(&shop_id)
        .and_then(|s| s.webhooks.get(name).cloned())
        .or_else(|| world.app_push_url.clone());
    let Some(url) = url else {
        return Vec::new();
    };
    let body = json!({
        "type": kind,
        "tts_notification_id": (7_327_112_393_057_000_000u64 + seq).to_string(),
        "shop_id": sid(shop_id),
        "timestamp": ts,
        "data": data,
    })
    .to_string();
    let signature = sign::webhook_signature(app_key, app_secret.expose(), &body);
    vec![Outgoing {
        url,
        body,
        signature,
        event: name.to_owned(),
        shop_id: Some(shop_id),
        lost: None,
    }]
}

/// `GET /event/202309/webhooks`.
pub(crate) fn get_webhooks(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    sb.with_world(|w, _| {
        let list: Vec<Value> = w
            .shops
            .get(&call.shop_id)
            .map(|s| {
                s.webhooks
                    .iter()
                    .map(|(event_type, address)| json!({"event_type": event_type, "address": address}))
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({"webhooks": list}))
    })
}

fn event_type(body: &Value) -> Result<String, TtError> {
    let t = body
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or_else(|| TtError::invalid("event_type is required."))?;
    if !EVENT_TYPES.contains(&t) {
        return Err(TtError::invalid("Invalid event_type."));
    }
    Ok(t.to_owned())
}

/// `PUT /event/202309/webhooks` with `{address, event_type}`. The real platform requires https on
/// a domain without port; the sandbox accepts local http URLs so tests can receive pushes.
pub(crate) fn put_webhook(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    let body = call.json()?;
    let t = event_type(&body)?;
    let address = body
        .get("address")
        .and_then(Value::as_str)
        .filter(|a| a.starts_with("https://") || a.starts_with("http://"))
        .ok_or_else(|| TtError::invalid("Invalid address."))?
        .to_owned();
    sb.with_world(|w, _| {
        if let Some(s) = w.shops.get_mut(&call.shop_id) {
            s.webhooks.insert(t, address);
        }
    });
    Ok(json!({}))
}

/// `DELETE /event/202309/webhooks` with `{event_type}`.
pub(crate) fn delete_webhook(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    let body = call.json()?;
    let t = event_type(&body)?;
    sb.with_world(|w, _| {
        if let Some(s) = w.shops.get_mut(&call.shop_id) {
            s.webhooks.remove(&t);
        }
    });
    Ok(json!({}))
}
