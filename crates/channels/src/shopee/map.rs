//! Shopee values mapped to ours: order and listing statuses, error codes,
//! orders, listings, update failures and push events.

use std::time::Duration;

use reqwest::StatusCode;
use storesync_domain::{Currency, Marketplace, Money, OrderStatus, Sku, Timestamp};

use super::wire;
use crate::error::ChannelError;
use crate::ids::{ExtOrderId, ExtShopId, ExtVariantId, ListingId, PackageId, WarehouseId};
use crate::model::{
    FailureReason, Listing, ListingStatus, ListingVariant, Order, OrderLine, Package,
    WarehouseStock, WebhookEvent, WebhookEventKind,
};
use crate::money::float_to_money;
use crate::wire::from_unix_seconds;

/// Shopee `order_status` → our status (fact sheet §1.7). `None` for a status
/// the table does not know.
///
/// Choices that are not obvious:
/// * `PROCESSED` and `RETRY_SHIP`: shipment arranged (or to be re-arranged)
///   but the parcel is still with the seller, so stock is still reserved.
/// * `IN_CANCEL`: the buyer asked to cancel and the seller has not answered;
///   until it is `CANCELLED` the order still holds its stock.
/// * `TO_RETURN`: a return was requested, nothing came back yet; it may still
///   be rejected and end `COMPLETED`. Mapping it to `Returned` would restock
///   goods we do not have, so it stays `Delivered` (the raw status is kept
///   on the order for display).
/// * `INVOICE_PENDING`: paid, waiting for the invoice before shipping.
/// * `PENDING`: Shopee's own pre-processing, before the seller may act.
pub fn order_status(status: &str) -> Option<OrderStatus> {
    Some(match status {
        "UNPAID" | "PENDING" => OrderStatus::Pending,
        "READY_TO_SHIP" | "PROCESSED" | "RETRY_SHIP" | "IN_CANCEL" | "INVOICE_PENDING" => {
            OrderStatus::ReadyToShip
        }
        "SHIPPED" => OrderStatus::Shipped,
        "TO_CONFIRM_RECEIVE" | "TO_RETURN" => OrderStatus::Delivered,
        "COMPLETED" => OrderStatus::Completed,
        "CANCELLED" => OrderStatus::Cancelled,
        _ => return None,
    })
}

/// Shopee `item_status` → whether the listing is buyable.
pub fn listing_status(status: &str) -> ListingStatus {
    match status {
        "NORMAL" => ListingStatus::Active,
        "SELLER_DELETE" | "SHOPEE_DELETE" => ListingStatus::Deleted,
        // UNLIST, BANNED, REVIEWING, and anything new: exists, not buyable.
        _ => ListingStatus::Inactive,
    }
}

/// Classifies a Shopee `error` (which may be module-prefixed, e.g.
/// `common.error_auth`) with its `message` and the HTTP status.
pub fn classify_error(
    error: &str,
    message: &str,
    http: StatusCode,
    retry_after: Option<Duration>,
) -> ChannelError {
    let code = error.to_owned();
    let msg = message.to_owned();
    let lower = message.to_ascii_lowercase();
    let suffix = error.rsplit('.').next().unwrap_or(error);
    if http == StatusCode::TOO_MANY_REQUESTS
        || error.contains("rate_limit")
        || suffix.starts_with("exceed_")
        || suffix == "error_too_many_request"
    {
        return ChannelError::RateLimited { retry_after };
    }
    match suffix {
        "error_sign" | "invalid_partner_id" => ChannelError::Signature { code, message: msg },
        "error_param" if lower.contains("timestamp") => {
            ChannelError::Signature { code, message: msg }
        }
        // "Invalid access_token." is how Shopee reports an expired token too;
        // other error_auth messages (no permission, wrong shop, a bad
        // refresh token) are not fixed by refreshing.
        "error_auth" if lower.contains("access_token") => {
            ChannelError::TokenExpired { code, message: msg }
        }
        "invalid_access_token" | "invalid_acceess_token" | "error_token_expired" => {
            ChannelError::TokenExpired { code, message: msg }
        }
        "error_auth"
        | "error_permission"
        | "refresh_token_expired"
        | "shop_access_expired"
        | "merchant_access_expired"
        | "shop_banned"
        | "error_shop" => ChannelError::Unauthorized { code, message: msg },
        "error_server" | "error_inner" | "error_network" | "error_data" | "error_busy"
        | "error_system" | "error_unknown" => ChannelError::Transient {
            reason: format!("{code}: {msg}"),
        },
        _ if http.is_server_error() => ChannelError::Transient {
            reason: format!("{code}: {msg}"),
        },
        _ => ChannelError::Invalid { code, message: msg },
    }
}

/// Why a `failure_list` entry failed, from its free-text `failed_reason`.
pub fn failure_reason(failed_reason: &str) -> FailureReason {
    let lower = failed_reason.to_ascii_lowercase();
    if lower.contains("reserved") {
        FailureReason::BelowReservedStock
    } else if lower.contains("not found")
        || lower.contains("not exist")
        || lower.contains("invalid model")
        || lower.contains("invalid item")
    {
        FailureReason::NotFound
    } else {
        FailureReason::Other
    }
}

fn currency(code: &str) -> Option<Currency> {
    let parsed = code.parse().ok();
    if parsed.is_none() {
        tracing::warn!(
            marketplace = "shopee",
            currency = code,
            "unknown currency; amount dropped"
        );
    }
    parsed
}

fn price(prices: Option<&Vec<wire::PriceInfo>>) -> Option<Money> {
    let info = prices?.first()?;
    let currency = currency(&info.currency)?;
    float_to_money(info.original_price?, currency).ok()
}

fn stock(info: Option<&wire::StockInfo>) -> (Vec<WarehouseStock>, Option<i64>) {
    let Some(info) = info else {
        return (Vec::new(), None);
    };
    let stock = info
        .seller_stock
        .iter()
        .flatten()
        .map(|s| WarehouseStock {
            warehouse_id: s
                .location_id
                .as_deref()
                .filter(|l| !l.is_empty())
                .map(WarehouseId::new),
            quantity: s.stock,
        })
        .collect();
    let reserved = info
        .summary_info
        .as_ref()
        .and_then(|s| s.total_reserved_stock);
    (stock, reserved)
}

fn sku_of(text: Option<&str>) -> (Option<Sku>, String) {
    let text = text.unwrap_or("").trim().to_owned();
    (text.parse().ok(), text)
}

/// One listing from its base info and, for items with variants, its models.
/// An item without variants becomes one variant with model id 0, which is
/// the id Shopee's stock and price updates expect for it.
pub fn listing(item: &wire::ItemBase, models: Option<&wire::ModelList>) -> Listing {
    let variants = match models {
        Some(list) if item.has_model => list
            .model
            .iter()
            .map(|m| {
                let (sku, seller_sku) = sku_of(m.model_sku.as_deref());
                let (stock, reserved) = stock(m.stock_info_v2.as_ref());
                ListingVariant {
                    variant_id: ExtVariantId::from(m.model_id),
                    sku,
                    seller_sku,
                    stock,
                    reserved,
                    price: price(m.price_info.as_ref()),
                }
            })
            .collect(),
        _ => {
            let (sku, seller_sku) = sku_of(item.item_sku.as_deref());
            let (stock, reserved) = stock(item.stock_info_v2.as_ref());
            vec![ListingVariant {
                variant_id: ExtVariantId::from(0),
                sku,
                seller_sku,
                stock,
                reserved,
                price: price(item.price_info.as_ref()),
            }]
        }
    };
    Listing {
        listing_id: ListingId::from(item.item_id),
        title: item.item_name.clone(),
        status: listing_status(&item.item_status),
        marketplace_status: item.item_status.clone(),
        updated_at: item.update_time.and_then(from_unix_seconds),
        variants,
    }
}

/// One order from `get_order_detail`. Lines of the same model are merged.
pub fn order(detail: &wire::OrderDetail) -> Result<Order, ChannelError> {
    let status = order_status(&detail.order_status).ok_or_else(|| {
        ChannelError::protocol(format!(
            "unknown Shopee order status {:?} on order {}",
            detail.order_status, detail.order_sn
        ))
    })?;
    let currency = detail.currency.as_deref().and_then(currency);
    let money = |v: Option<f64>| v.zip(currency).and_then(|(v, c)| float_to_money(v, c).ok());

    let mut lines: Vec<OrderLine> = Vec::new();
    for item in &detail.item_list {
        let listing_id = ListingId::from(item.item_id);
        let variant_id = ExtVariantId::from(item.model_id);
        let line_id = item.order_item_id.map(|id| id.to_string());
        if let Some(line) = lines
            .iter_mut()
            .find(|l| l.listing_id == listing_id && l.variant_id == variant_id)
        {
            line.quantity = line.quantity.saturating_add(item.model_quantity_purchased);
            line.line_ids.extend(line_id);
            continue;
        }
        let model_sku = item.model_sku.as_deref().filter(|s| !s.trim().is_empty());
        let (sku, seller_sku) = sku_of(model_sku.or(item.item_sku.as_deref()));
        let name = match item.model_name.as_deref().filter(|n| !n.is_empty()) {
            Some(model) => format!("{} ({model})", item.item_name),
            None => item.item_name.clone(),
        };
        lines.push(OrderLine {
            listing_id,
            variant_id,
            sku,
            seller_sku,
            name,
            quantity: item.model_quantity_purchased,
            unit_price: money(item.model_discounted_price),
            line_ids: line_id.into_iter().collect(),
        });
    }

    let packages = detail
        .package_list
        .iter()
        .map(|p| Package {
            package_id: p
                .package_number
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(PackageId::new),
            tracking_number: None,
            carrier: p.shipping_carrier.clone().filter(|c| !c.is_empty()),
            status: p.logistics_status.clone(),
        })
        .collect();

    let created_at = from_unix_seconds(detail.create_time).unwrap_or(Timestamp::from_millis(0));
    Ok(Order {
        order_id: ExtOrderId::new(detail.order_sn.clone()),
        status,
        marketplace_status: detail.order_status.clone(),
        placed_on: Marketplace::Shopee,
        created_at,
        updated_at: from_unix_seconds(detail.update_time).unwrap_or(created_at),
        paid_at: detail.pay_time.and_then(from_unix_seconds),
        currency,
        total: money(detail.total_amount),
        lines,
        packages,
        cancel_requested: detail.order_status == "IN_CANCEL",
        cancel_reason: detail
            .cancel_reason
            .clone()
            .or_else(|| detail.buyer_cancel_reason.clone())
            .filter(|r| !r.is_empty()),
    })
}

/// Push `code` → event (fact sheet §1.8). Code 3's payload is confirmed by
/// the fact sheet and code 12's by Shopee's push reference; for the others
/// we read the obvious field names when present and otherwise still emit the
/// event so the engine re-checks.
pub fn push_events(push: &wire::Push) -> Result<Vec<WebhookEvent>, ChannelError> {
    let data = &push.data;
    let field_i64 = |name: &str| data.get(name).and_then(serde_json::Value::as_i64);
    let shop_id = push
        .shop_id
        .or_else(|| field_i64("shop_id"))
        .map(ExtShopId::from);
    let occurred_at = push.timestamp.and_then(from_unix_seconds);
    let order = || {
        serde_json::from_value::<wire::PushOrder>(data.clone())
            .map_err(|e| ChannelError::webhook(format!("malformed order push: {e}")))
    };
    let kind = match push.code {
        3 => {
            let o = order()?;
            let raw = o.status.unwrap_or_default();
            match order_status(&raw) {
                Some(status) => WebhookEventKind::OrderStatusChanged {
                    order_id: ExtOrderId::new(o.ordersn),
                    status,
                    marketplace_status: raw,
                },
                // An unknown status still tells us the order moved; fetching
                // it surfaces the unknown status loudly.
                None => WebhookEventKind::OrderChanged {
                    order_id: ExtOrderId::new(o.ordersn),
                },
            }
        }
        4 | 15 => WebhookEventKind::OrderChanged {
            order_id: ExtOrderId::new(order()?.ordersn),
        },
        6..=8 => WebhookEventKind::ListingChanged {
            listing_id: field_i64("item_id").map(ListingId::from),
            variant_id: field_i64("model_id").map(ExtVariantId::from),
        },
        1 => {
            let mut shop_ids: Vec<ExtShopId> = shop_id.iter().cloned().collect();
            if let Some(list) = data.get("shop_id_list").and_then(|v| v.as_array()) {
                shop_ids.extend(list.iter().filter_map(|v| v.as_i64()).map(ExtShopId::from));
            }
            WebhookEventKind::Authorized { shop_ids }
        }
        2 => WebhookEventKind::Deauthorized,
        12 => {
            // Shopee's open_api_authorization_expiry push is partner-level:
            // `data.shop_expire_soon` lists the shops whose authorization ends
            // before `data.expire_before` (push reference, code 12). One event
            // per shop; merchant/user-only pushes give one event without shop.
            let expires_at = ["expire_before", "expire_time"]
                .iter()
                .find_map(|k| field_i64(k))
                .and_then(from_unix_seconds);
            let kind = WebhookEventKind::AuthorizationExpiring { expires_at };
            let shops: Vec<ExtShopId> = data
                .get("shop_expire_soon")
                .and_then(|v| v.as_array())
                .map(|list| {
                    list.iter()
                        .filter_map(|v| v.as_i64())
                        .map(ExtShopId::from)
                        .collect()
                })
                .unwrap_or_default();
            if !shops.is_empty() {
                return Ok(shops
                    .into_iter()
                    .map(|shop| WebhookEvent {
                        shop_id: Some(shop),
                        notification_id: None,
                        occurred_at,
                        kind: kind.clone(),
                    })
                    .collect());
            }
            kind
        }
        other => WebhookEventKind::Ignored {
            event_type: other.to_string(),
        },
    };
    Ok(vec![WebhookEvent {
        shop_id,
        notification_id: None,
        occurred_at,
        kind,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_sheet_order_status_maps() {
        use OrderStatus::*;
        let table = [
            ("UNPAID", Pending),
            ("READY_TO_SHIP", ReadyToShip),
            ("PROCESSED", ReadyToShip),
            ("RETRY_SHIP", ReadyToShip),
            ("SHIPPED", Shipped),
            ("TO_CONFIRM_RECEIVE", Delivered),
            ("IN_CANCEL", ReadyToShip),
            ("CANCELLED", Cancelled),
            ("TO_RETURN", Delivered),
            ("COMPLETED", Completed),
            ("INVOICE_PENDING", ReadyToShip),
            ("PENDING", Pending),
        ];
        assert_eq!(table.len(), 12, "fact sheet §1.7 lists twelve statuses");
        for (raw, want) in table {
            assert_eq!(order_status(raw), Some(want), "{raw}");
        }
        for unknown in ["", "unpaid", "CANCEL", "DELIVERED"] {
            assert_eq!(order_status(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn every_item_status_maps() {
        let table = [
            ("NORMAL", ListingStatus::Active),
            ("BANNED", ListingStatus::Inactive),
            ("UNLIST", ListingStatus::Inactive),
            ("REVIEWING", ListingStatus::Inactive),
            ("SELLER_DELETE", ListingStatus::Deleted),
            ("SHOPEE_DELETE", ListingStatus::Deleted),
        ];
        for (raw, want) in table {
            assert_eq!(listing_status(raw), want, "{raw}");
        }
    }

    #[test]
    fn errors_are_classified() {
        let ok = StatusCode::OK;
        let c = |e: &str, m: &str| classify_error(e, m, ok, None);
        assert!(matches!(
            c("error_sign", "Wrong sign."),
            ChannelError::Signature { .. }
        ));
        assert!(c("error_auth", "Invalid access_token.").needs_token_refresh());
        assert!(c("common.error_auth", "Invalid access_token.").needs_token_refresh());
        assert!(matches!(
            c("error_auth", "No permission to current api."),
            ChannelError::Unauthorized { .. }
        ));
        assert!(matches!(
            c("error_auth", "Invalid refresh_token."),
            ChannelError::Unauthorized { .. }
        ));
        assert!(matches!(
            c("refresh_token_expired", ""),
            ChannelError::Unauthorized { .. }
        ));
        assert!(matches!(
            c("error_param", "Invalid timestamp"),
            ChannelError::Signature { .. }
        ));
        assert_eq!(
            c("error_param", "There is no partner_id in query."),
            ChannelError::Invalid {
                code: "error_param".into(),
                message: "There is no partner_id in query.".into()
            }
        );
        for transient in ["error_server", "error_inner", "error_network", "error_data"] {
            assert!(
                c(transient, "Something wrong. Please try later.").is_retryable(),
                "{transient}"
            );
        }
        for limited in [
            "ads.rate_limit.exceed_api",
            "ads.rate_limit.exceed_partner_api",
            "ads.rate_limit.exceed_shop_api",
        ] {
            assert!(
                matches!(c(limited, ""), ChannelError::RateLimited { .. }),
                "{limited}"
            );
        }
        assert_eq!(
            classify_error(
                "error_param",
                "x",
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(1))
            ),
            ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert!(classify_error("whatever", "x", StatusCode::BAD_GATEWAY, None).is_retryable());
        assert!(matches!(
            c("invalid_code", "code expired"),
            ChannelError::Invalid { .. }
        ));
    }

    #[test]
    fn failure_reasons() {
        assert_eq!(
            failure_reason("total stock must be more than reserved stock"),
            FailureReason::BelowReservedStock
        );
        assert_eq!(failure_reason("model not found"), FailureReason::NotFound);
        assert_eq!(failure_reason("something else"), FailureReason::Other);
    }

    #[test]
    fn order_detail_maps_money_lines_and_packages() {
        let json = r#"{"order_sn":"220810QSK8S7BX","region":"MY","currency":"MYR","cod":false,
            "order_status":"READY_TO_SHIP","create_time":1660000000,"update_time":1660123127,
            "pay_time":1660000100,"total_amount":39.98,
            "item_list":[
              {"item_id":1000,"item_name":"Tee","item_sku":"TEE","model_id":3456,"model_name":"Red,M",
               "model_sku":"TEE-RED-M","model_quantity_purchased":1,"model_original_price":21.5,
               "model_discounted_price":19.99,"order_item_id":1},
              {"item_id":1000,"item_name":"Tee","item_sku":"TEE","model_id":3456,"model_name":"Red,M",
               "model_sku":"TEE-RED-M","model_quantity_purchased":2,"model_discounted_price":19.99,"order_item_id":2},
              {"item_id":2000,"item_name":"Mug","item_sku":"MUG 1","model_id":0,"model_name":"",
               "model_sku":"","model_quantity_purchased":1,"model_discounted_price":0.1}],
            "package_list":[{"package_number":"OFG1234567","logistics_status":"LOGISTICS_READY",
               "shipping_carrier":"SPX","item_list":[]}]}"#;
        let detail: wire::OrderDetail = serde_json::from_str(json).unwrap();
        let o = order(&detail).unwrap();
        let myr: Currency = "MYR".parse().unwrap();
        assert_eq!(o.status, OrderStatus::ReadyToShip);
        assert_eq!(o.total, Some(Money::new(3998, myr)));
        assert_eq!(o.created_at.millis(), 1_660_000_000_000);
        assert_eq!(o.paid_at.unwrap().millis(), 1_660_000_100_000);
        assert_eq!(o.lines.len(), 2);
        assert_eq!(o.lines[0].quantity, 3);
        assert_eq!(o.lines[0].sku.as_ref().unwrap().as_str(), "TEE-RED-M");
        assert_eq!(o.lines[0].unit_price, Some(Money::new(1999, myr)));
        assert_eq!(o.lines[0].line_ids, vec!["1", "2"]);
        assert_eq!(o.lines[0].name, "Tee (Red,M)");
        // Empty model SKU falls back to the item SKU; "MUG 1" is not a valid Sku.
        assert_eq!(o.lines[1].variant_id.as_str(), "0");
        assert_eq!(o.lines[1].seller_sku, "MUG 1");
        assert_eq!(o.lines[1].sku, None);
        assert_eq!(o.lines[1].unit_price, Some(Money::new(10, myr)));
        assert_eq!(
            o.packages[0].package_id.as_ref().unwrap().as_str(),
            "OFG1234567"
        );
        assert_eq!(o.placed_on, Marketplace::Shopee);
        assert!(!o.cancel_requested);

        let mut unknown = detail;
        unknown.order_status = "TELEPORTED".into();
        assert!(matches!(
            order(&unknown),
            Err(ChannelError::Protocol { .. })
        ));
    }

    #[test]
    fn listings_with_and_without_models() {
        let item: wire::ItemBase = serde_json::from_str(
            r#"{"item_id":1000,"item_name":"Mug","item_sku":"MUG-1","item_status":"NORMAL",
                "update_time":1700000000,"has_model":false,
                "price_info":[{"currency":"SGD","original_price":11.11,"current_price":9.99}],
                "stock_info_v2":{"summary_info":{"total_reserved_stock":2,"total_available_stock":10},
                  "seller_stock":[{"location_id":"SGZ","stock":10}]}}"#,
        )
        .unwrap();
        let l = listing(&item, None);
        let sgd: Currency = "SGD".parse().unwrap();
        assert_eq!(l.listing_id.as_str(), "1000");
        assert_eq!(l.status, ListingStatus::Active);
        assert_eq!(l.variants.len(), 1);
        let v = &l.variants[0];
        assert_eq!(v.variant_id.as_str(), "0");
        assert_eq!(v.price, Some(Money::new(1111, sgd)));
        assert_eq!(v.total_stock(), 10);
        assert_eq!(v.reserved, Some(2));
        assert_eq!(v.stock[0].warehouse_id.as_ref().unwrap().as_str(), "SGZ");

        let item: wire::ItemBase = serde_json::from_str(
            r#"{"item_id":2000,"item_name":"Tee","item_status":"UNLIST","has_model":true}"#,
        )
        .unwrap();
        let models: wire::ModelList = serde_json::from_str(
            r#"{"tier_variation":[],"model":[
                {"model_id":1,"tier_index":[0],"model_sku":"TEE-S","model_status":"MODEL_NORMAL",
                 "price_info":[{"currency":"SGD","current_price":19.99,"original_price":19.99}],
                 "stock_info_v2":{"seller_stock":[{"stock":4}]}},
                {"model_id":2,"model_sku":"TEE-M","price_info":[{"currency":"SGD","original_price":0.3}],
                 "stock_info_v2":{"seller_stock":[{"location_id":"","stock":0}]}}]}"#,
        )
        .unwrap();
        let l = listing(&item, Some(&models));
        assert_eq!(l.status, ListingStatus::Inactive);
        assert_eq!(l.variants.len(), 2);
        assert_eq!(l.variants[0].price, Some(Money::new(1999, sgd)));
        assert_eq!(l.variants[1].price, Some(Money::new(30, sgd)));
        assert_eq!(l.variants[1].stock[0].warehouse_id, None);
        assert_eq!(l.variants[0].sku.as_ref().unwrap().as_str(), "TEE-S");
    }
}
