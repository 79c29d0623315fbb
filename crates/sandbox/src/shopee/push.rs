//! Shopee pushes: rendering events as push bodies signed with
//! HMAC(partner_key, callback_url + "|" + body), the push configuration API and the lost-push API.

use serde_json::{json, Value};
use storesync_domain::Timestamp;

use super::common::ShopeeProtocol;
use super::common::{secs, Call, Reply, ShopeeError};
use super::sign;
use crate::config::Credentials;
use crate::model::Rules;
use crate::model::{Event, LostPush, World};
use crate::sandbox::Sandbox;
use crate::webhook::Outgoing;

/// How long lost pushes stay retrievable (3 days).
const LOST_PUSH_KEEP_MS: i64 = 3 * 86_400_000;

pub(crate) fn render(
    world: &World,
    credentials: &Credentials,
    event: &Event,
    now: Timestamp,
) -> Vec<Outgoing> {
    let (
        Some(url),
        Credentials::Shopee {
            partner_id,
            partner_key,
        },
    ) = (&world.app_push_url, credentials)
    else {
        return Vec::new();
    };
    let ts = secs(now.millis());
    // Partner-level pushes (codes 1, 2, 12) carry no top-level shop_id.
    let (code, shop_id, data, name): (i64, Option<u64>, Value, &str) = match event {
        Event::OrderStatus {
            shop_id,
            order_id,
            stage,
            update_ms,
            ..
        } => (
            3,
            Some(*shop_id),
            json!({"ordersn": order_id, "status": ShopeeProtocol.status_name(*stage),
                   "completed_scenario": "", "update_time": secs(*update_ms), "items": []}),
            "order_status",
        ),
        Event::Tracking {
            shop_id,
            order_id,
            package_id,
            tracking,
        } => (
            4,
            Some(*shop_id),
            json!({"ordersn": order_id, "package_number": package_id, "tracking_no": tracking}),
            "order_trackingno",
        ),
        Event::Reservation {
            shop_id,
            product_id,
            variant_id,
            reserved,
        } => {
            let has_model = world
                .products
                .get(product_id)
                .is_some_and(|p| p.has_variants);
            (
                8,
                Some(*shop_id),
                json!({"item_id": product_id, "model_id": if has_model { *variant_id } else { 0 },
                       "reserved_stock": reserved, "update_time": ts}),
                "reserved_stock_change",
            )
        }
        Event::Authorized { shop_id } => (
            1,
            None,
            json!({"shop_id": shop_id, "success": 1, "extra": "shop authorization"}),
            "shop_authorization",
        ),
        Event::Deauthorized { shop_id } => (
            2,
            None,
            json!({"shop_id": shop_id, "success": 1, "extra": "shop authorization cancelled"}),
            "shop_authorization_canceled",
        ),
        // Shopee's push reference (code 12): partner-level, the shops in `shop_expire_soon`,
        // their authorization ending before `expire_before`, paginated.
        Event::AuthExpiring { shop_id, expire_ms } => (
            12,
            None,
            json!({"merchant_expire_soon": [], "shop_expire_soon": [shop_id],
                   "user_expire_soon": [], "expire_before": secs(*expire_ms),
                   "page_no": 1, "total_page": 1}),
            "open_api_authorization_expiry",
        ),
        Event::Inventory { .. } => return Vec::new(),
    };
    let body = match (shop_id, code) {
        (Some(s), _) => json!({"shop_id": s, "code": code, "timestamp": ts, "data": data}),
        // Shop (de)authorization pushes name the partner at top level (push reference, 1 and 2).
        (None, 1 | 2) => {
            json!({"partner_id": partner_id, "code": code, "timestamp": ts, "data": data})
        }
        (None, _) => json!({"code": code, "timestamp": ts, "data": data}),
    }
    .to_string();
    let signature = sign::push_signature(partner_key.expose(), url, &body);
    vec![Outgoing {
        url: url.clone(),
        body,
        signature,
        event: name.to_owned(),
        shop_id,
        lost: Some(LostPush {
            message_id: 0,
            shop_id,
            code,
            timestamp: ts,
            data: data.to_string(),
        }),
    }]
}

/// `POST /api/v2/push/set_app_push_config` (public): sets the callback URL.
pub(crate) fn set_app_push_config(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let url = body
        .get("callback_url")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(u) = &url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(ShopeeError::param("callback_url is invalid"));
        }
    }
    if let Some(u) = url {
        sb.set_push_url(Some(u));
    }
    Ok(Reply::Wrapped(json!({"result": "success"}), String::new()))
}

/// `GET /api/v2/push/get_lost_push_message` (public): earliest 100 unconfirmed pushes of the
/// last 3 days.
pub(crate) fn get_lost_push_message(sb: &Sandbox, _call: &Call) -> Result<Reply, ShopeeError> {
    sb.with_world(|w, now| {
        let oldest = now.millis() - LOST_PUSH_KEEP_MS;
        w.lost_pushes.retain(|p| p.timestamp * 1000 >= oldest);
        let list: Vec<Value> = w
            .lost_pushes
            .iter()
            .take(100)
            .map(|p| {
                let mut v = json!({"code": p.code, "timestamp": p.timestamp, "data": p.data});
                if let (Some(s), Some(obj)) = (p.shop_id, v.as_object_mut()) {
                    obj.insert("shop_id".to_owned(), json!(s));
                }
                v
            })
            .collect();
        let last = w
            .lost_pushes
            .iter()
            .take(100)
            .next_back()
            .map_or(0, |p| p.message_id);
        Ok(Reply::Wrapped(
            json!({"push_message_list": list, "has_next_page": w.lost_pushes.len() > 100,
                   "last_message_id": last}),
            String::new(),
        ))
    })
}

/// `POST /api/v2/push/confirm_consumed_lost_push_message` (public).
pub(crate) fn confirm_lost_push(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let last = body
        .get("last_message_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| ShopeeError::param("last_message_id is required"))?;
    sb.with_world(|w, _| w.lost_pushes.retain(|p| p.message_id > last));
    Ok(Reply::Bare)
}
