//! Lazada pushes: one message per order item (line unit) with that item's status on every order
//! status change (message type 0), shallow-stock alerts when sellable stock falls below 5 (type 6) and
//! authorization expiry alerts (type 8), sent to the app's one callback URL and signed with
//! HMAC(app_secret, app_key + body) in the `Authorization` header.

use serde_json::{json, Value};
use storesync_domain::Timestamp;

use super::common::SHALLOW_STOCK;
use super::orders::{item_id, unit_status};
use super::products::occupied;
use super::sign;
use crate::config::Credentials;
use crate::model::{Event, World};
use crate::webhook::Outgoing;

fn site(w: &World, shop_id: u64) -> String {
    let region = w
        .shops
        .get(&shop_id)
        .map(|s| s.region.to_ascii_lowercase())
        .unwrap_or_default();
    format!("lazada_{region}")
}

pub(crate) fn render(
    world: &World,
    credentials: &Credentials,
    event: &Event,
    now: Timestamp,
) -> Vec<Outgoing> {
    let Credentials::Lazada {
        app_key,
        app_secret,
    } = credentials
    else {
        return Vec::new();
    };
    let Some(url) = world.app_push_url.clone() else {
        return Vec::new();
    };
    // (message_type, event name, seller, data)
    let mut messages: Vec<(i64, &str, u64, Value)> = Vec::new();
    match event {
        Event::OrderStatus {
            shop_id,
            order_id,
            stage,
            update_ms,
        } => {
            if let Some(o) = world.orders.get(order_id) {
                for l in &o.lines {
                    for unit in 0..l.quantity {
                        let id = item_id(l.line_id, unit);
                        messages.push((
                            0,
                            "trade_order",
                            *shop_id,
                            json!({"order_status": unit_status(o, id, *stage), "trade_order_id": order_id,
                                   "trade_order_line_id": id.to_string(),
                                   "status_update_time": update_ms.div_euclid(1000)}),
                        ));
                    }
                }
            }
        }
        Event::Inventory {
            shop_id,
            product_id,
            variant_id,
            before,
            after,
            ..
        } if *after < SHALLOW_STOCK && *before >= SHALLOW_STOCK => {
            let Some(shop) = world.shops.get(shop_id) else {
                return Vec::new();
            };
            let Some(v) = world
                .products
                .get(product_id)
                .and_then(|p| p.variants.iter().find(|v| v.id == *variant_id))
            else {
                return Vec::new();
            };
            let occ: i64 = occupied(world, shop, *variant_id).values().sum();
            let warehouse = v.stock.keys().next().cloned().unwrap_or_default();
            messages.push((
                6,
                "shallow_stock",
                *shop_id,
                json!({"seller_sku": v.seller_sku, "sku_id": variant_id.to_string(),
                       "real_quantity": after + occ, "withhold_quantity": 0,
                       "occupy_quantity": occ, "pre_order_quantity": 0, "warehouse": warehouse}),
            ));
        }
        Event::AuthExpiring { shop_id, expire_ms } => messages.push((
            8,
            "token_expiration",
            *shop_id,
            json!({"expire_time": expire_ms.div_euclid(1000), "seller_id": shop_id.to_string()}),
        )),
        _ => {}
    }
    messages
        .into_iter()
        .map(|(kind, name, shop_id, data)| {
            let body = json!({"seller_id": shop_id.to_string(), "message_type": kind, "data": data,
                              "timestamp": now.millis(), "site": site(world, shop_id)})
            .to_string();
            Outgoing {
                signature: sign::push_signature(app_key, app_secret.expose(), &body),
                url: url.clone(),
                body,
                event: name.to_owned(),
                shop_id: Some(shop_id),
                lost: None,
            }
        })
        .collect()
}
