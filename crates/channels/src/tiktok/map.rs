//! TikTok Shop values mapped to ours: order and product statuses, error
//! codes, orders (including the Tokopedia platform flag), listings, update
//! failures and webhook events.

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
use crate::money::decimal_to_money;
use crate::wire::from_unix_seconds;

/// Inventory below what a promotion reserved (fact sheet §2.7 / issue 3).
pub const CODE_BELOW_RESERVED: i64 = 12_052_393;
/// Product not found.
pub const CODE_PRODUCT_NOT_FOUND: i64 = 12_052_032;

/// TikTok order `status` → our status (fact sheet §2.8). `None` for a
/// status the table does not know.
///
/// Choices that are not obvious:
/// * `ON_HOLD`: accepted but the buyer may still cancel freely and the
///   seller must not ship yet, so it is still `Pending` (stock reserved).
/// * `AWAITING_COLLECTION`: shipment arranged, parcel not yet collected.
/// * `PARTIALLY_SHIPPING`: some goods have left. It maps to `Shipped` so the
///   reservation is fulfilled rather than released: a later cancellation of
///   the remaining lines is then refused by our state machine (and shows up)
///   instead of silently putting shipped goods back on hand.
/// * `CANCEL`: the spelling the order-status webhook uses (§7 #4).
pub fn order_status(status: &str) -> Option<OrderStatus> {
    Some(match status {
        "UNPAID" | "ON_HOLD" => OrderStatus::Pending,
        "AWAITING_SHIPMENT" | "AWAITING_COLLECTION" => OrderStatus::ReadyToShip,
        "PARTIALLY_SHIPPING" | "IN_TRANSIT" => OrderStatus::Shipped,
        "DELIVERED" => OrderStatus::Delivered,
        "COMPLETED" => OrderStatus::Completed,
        "CANCELLED" | "CANCEL" => OrderStatus::Cancelled,
        _ => return None,
    })
}

/// TikTok product `status` → whether the listing is buyable.
pub fn listing_status(status: &str) -> ListingStatus {
    match status {
        "ACTIVATE" => ListingStatus::Active,
        "DELETED" => ListingStatus::Deleted,
        // DRAFT, PENDING, FAILED, SELLER_DEACTIVATED, PLATFORM_DEACTIVATED,
        // FREEZE, and anything new: exists, not buyable.
        _ => ListingStatus::Inactive,
    }
}

/// `commerce_platform` → where the buyer ordered. Absent outside Indonesia.
pub fn placed_on(commerce_platform: Option<&str>) -> Marketplace {
    match commerce_platform {
        Some("TOKOPEDIA") => Marketplace::Tokopedia,
        _ => Marketplace::TikTokShop,
    }
}

/// Classifies a non-zero envelope `code` (fact sheet §2.5).
pub fn classify_error(
    code: i64,
    message: &str,
    http: StatusCode,
    retry_after: Option<Duration>,
) -> ChannelError {
    let text = code.to_string();
    let msg = message.to_owned();
    let lower = message.to_ascii_lowercase();
    match code {
        36_009_002 => ChannelError::RateLimited { retry_after },
        _ if http == StatusCode::TOO_MANY_REQUESTS => ChannelError::RateLimited { retry_after },
        36_009_003 | 36_009_007 => ChannelError::Transient {
            reason: format!("{text}: {msg}"),
        },
        105_001 | 105_002 => ChannelError::TokenExpired {
            code: text,
            message: msg,
        },
        106_001 => ChannelError::Signature {
            code: text,
            message: msg,
        },
        // One code for many request errors; the message tells them apart.
        36_009_004
            if lower.contains("access token")
                || lower.contains("access_token")
                || lower.contains("access-token") =>
        {
            ChannelError::TokenExpired {
                code: text,
                message: msg,
            }
        }
        36_009_004
            if lower.contains("sign")
                || lower.contains("timestamp")
                || lower.contains("app_key")
                || lower.contains("app key") =>
        {
            ChannelError::Signature {
                code: text,
                message: msg,
            }
        }
        101_000 | 105_005 | 36_009_033 => ChannelError::Unauthorized {
            code: text,
            message: msg,
        },
        c if (105_000..106_000).contains(&c) => ChannelError::Unauthorized {
            code: text,
            message: msg,
        },
        _ if http.is_server_error() => ChannelError::Transient {
            reason: format!("{text}: {msg}"),
        },
        _ => ChannelError::Invalid {
            code: text,
            message: msg,
        },
    }
}

/// Why one SKU's update failed.
pub fn failure_reason(code: i64, message: &str) -> FailureReason {
    if code == CODE_BELOW_RESERVED || message.to_ascii_lowercase().contains("reserved") {
        FailureReason::BelowReservedStock
    } else if code == CODE_PRODUCT_NOT_FOUND || message.to_ascii_lowercase().contains("not found") {
        FailureReason::NotFound
    } else {
        FailureReason::Other
    }
}

fn currency(code: &str) -> Option<Currency> {
    let parsed = code.parse().ok();
    if parsed.is_none() {
        tracing::warn!(
            marketplace = "tiktok_shop",
            currency = code,
            "unknown currency; amount dropped"
        );
    }
    parsed
}

fn money(amount: Option<&str>, currency: Option<Currency>) -> Result<Option<Money>, ChannelError> {
    match (amount.filter(|a| !a.trim().is_empty()), currency) {
        (Some(a), Some(c)) => decimal_to_money(a, c).map(Some),
        _ => Ok(None),
    }
}

fn sku_of(text: Option<&str>) -> (Option<Sku>, String) {
    let text = text.unwrap_or("").trim().to_owned();
    (text.parse().ok(), text)
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

/// One product from Search Products.
pub fn listing(product: &wire::Product) -> Result<Listing, ChannelError> {
    let mut variants = Vec::with_capacity(product.skus.len());
    for sku in &product.skus {
        let (parsed, seller_sku) = sku_of(sku.seller_sku.as_deref());
        let price = match &sku.price {
            Some(p) => money(
                p.sale_price.as_deref().or(p.tax_exclusive_price.as_deref()),
                currency(&p.currency),
            )?,
            None => None,
        };
        variants.push(ListingVariant {
            variant_id: ExtVariantId::new(sku.id.clone()),
            sku: parsed,
            seller_sku,
            stock: sku
                .inventory
                .iter()
                .map(|i| WarehouseStock {
                    warehouse_id: non_empty(&i.warehouse_id).map(WarehouseId::new),
                    quantity: i.quantity,
                })
                .collect(),
            reserved: None,
            price,
        });
    }
    Ok(Listing {
        listing_id: ListingId::new(product.id.clone()),
        title: product.title.clone(),
        status: listing_status(&product.status),
        marketplace_status: product.status.clone(),
        updated_at: product.update_time.and_then(from_unix_seconds),
        variants,
    })
}

fn item_cancelled(item: &wire::LineItem) -> bool {
    [&item.display_status, &item.package_status]
        .iter()
        .any(|s| matches!(s.as_deref(), Some("CANCELLED" | "CANCEL")))
}

/// One order (list and detail share the shape). Line items of the same SKU
/// are merged; in 202309 each line item is one unit. While the order goes
/// on, line items cancelled on their own are left out, as Lazada leaves out
/// its cancelled order items: the units no longer ordered are then released
/// (and not shipped); a cancelled order keeps them all.
pub fn order(o: &wire::Order) -> Result<Order, ChannelError> {
    let status = order_status(&o.status).ok_or_else(|| {
        ChannelError::protocol(format!(
            "unknown TikTok order status {:?} on order {}",
            o.status, o.id
        ))
    })?;
    let order_currency = o.payment.as_ref().and_then(|p| currency(&p.currency));

    let mut lines: Vec<OrderLine> = Vec::new();
    let live = status != OrderStatus::Cancelled;
    for item in &o.line_items {
        if live && item_cancelled(item) {
            continue;
        }
        let quantity = item.quantity.unwrap_or(1);
        let listing_id = ListingId::new(item.product_id.clone());
        let variant_id = ExtVariantId::new(item.sku_id.clone());
        if let Some(line) = lines
            .iter_mut()
            .find(|l| l.listing_id == listing_id && l.variant_id == variant_id)
        {
            line.quantity = line.quantity.saturating_add(quantity);
            line.line_ids.push(item.id.clone());
            continue;
        }
        let line_currency = item
            .currency
            .as_deref()
            .and_then(currency)
            .or(order_currency);
        let (sku, seller_sku) = sku_of(item.seller_sku.as_deref());
        let name = match item.sku_name.as_deref().filter(|n| !n.is_empty()) {
            Some(variant) => format!("{} ({variant})", item.product_name),
            None => item.product_name.clone(),
        };
        lines.push(OrderLine {
            listing_id,
            variant_id,
            sku,
            seller_sku,
            name,
            quantity,
            unit_price: money(item.sale_price.as_deref(), line_currency)?,
            line_ids: vec![item.id.clone()],
        });
    }

    let packages = o
        .packages
        .iter()
        .map(|p| {
            let item = o
                .line_items
                .iter()
                .find(|i| i.package_id.as_deref() == Some(p.id.as_str()));
            Package {
                package_id: Some(PackageId::new(p.id.clone())),
                tracking_number: item
                    .and_then(|i| non_empty(&i.tracking_number))
                    .or_else(|| non_empty(&o.tracking_number)),
                carrier: item
                    .and_then(|i| non_empty(&i.shipping_provider_name))
                    .or_else(|| non_empty(&o.shipping_provider)),
                status: item.and_then(|i| i.package_status.clone()),
            }
        })
        .collect();

    let created_at = from_unix_seconds(o.create_time).unwrap_or(Timestamp::from_millis(0));
    Ok(Order {
        order_id: ExtOrderId::new(o.id.clone()),
        status,
        marketplace_status: o.status.clone(),
        placed_on: placed_on(o.commerce_platform.as_deref()),
        created_at,
        updated_at: from_unix_seconds(o.update_time).unwrap_or(created_at),
        paid_at: o.paid_time.and_then(from_unix_seconds),
        currency: order_currency,
        total: money(
            o.payment.as_ref().and_then(|p| p.total_amount.as_deref()),
            order_currency,
        )?,
        lines,
        packages,
        cancel_requested: o.is_buyer_request_cancel,
        cancel_reason: non_empty(&o.cancel_reason),
    })
}

/// Webhook `type` → events (fact sheet §2.9).
pub fn webhook_events(hook: &wire::Webhook) -> Result<Vec<WebhookEvent>, ChannelError> {
    let malformed = |e: serde_json::Error| {
        ChannelError::webhook(format!("malformed type {} payload: {e}", hook.kind))
    };
    let data = || hook.data.clone();
    let event = |kind| WebhookEvent {
        shop_id: hook.shop_id.clone().map(ExtShopId::new),
        notification_id: hook.tts_notification_id.clone(),
        occurred_at: hook.timestamp.and_then(from_unix_seconds),
        kind,
    };
    let kinds = match hook.kind {
        1 => {
            let d: wire::WebhookOrderStatus = serde_json::from_value(data()).map_err(malformed)?;
            let order_id = ExtOrderId::new(d.order_id);
            vec![match order_status(&d.order_status) {
                Some(status) => WebhookEventKind::OrderStatusChanged {
                    order_id,
                    status,
                    marketplace_status: d.order_status,
                },
                // Fetching the order surfaces an unknown status loudly.
                None => WebhookEventKind::OrderChanged { order_id },
            }]
        }
        3 | 11 | 12 => {
            let d: wire::WebhookOrder = serde_json::from_value(data()).map_err(malformed)?;
            vec![WebhookEventKind::OrderChanged {
                order_id: ExtOrderId::new(d.order_id),
            }]
        }
        4 => {
            let d: wire::WebhookPackages = serde_json::from_value(data()).map_err(malformed)?;
            let mut ids: Vec<String> = Vec::new();
            for id in d.package_list.iter().flat_map(|p| &p.order_id_list) {
                let id = match id {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids.into_iter()
                .map(|id| WebhookEventKind::OrderChanged {
                    order_id: ExtOrderId::new(id),
                })
                .collect()
        }
        5 | 15 | 16 | 18 | 27 => {
            let d: wire::WebhookProduct = serde_json::from_value(data()).map_err(malformed)?;
            vec![WebhookEventKind::ListingChanged {
                listing_id: d.product_id.map(ListingId::new),
                variant_id: d.sku_id.map(ExtVariantId::new),
            }]
        }
        6 => vec![WebhookEventKind::Deauthorized],
        7 => {
            let d: wire::WebhookExpiry = serde_json::from_value(data()).map_err(malformed)?;
            vec![WebhookEventKind::AuthorizationExpiring {
                expires_at: d.expiration_time.and_then(from_unix_seconds),
            }]
        }
        other => vec![WebhookEventKind::Ignored {
            event_type: other.to_string(),
        }],
    };
    Ok(kinds.into_iter().map(event).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_sheet_order_status_maps() {
        use OrderStatus::*;
        let table = [
            ("UNPAID", Pending),
            ("ON_HOLD", Pending),
            ("AWAITING_SHIPMENT", ReadyToShip),
            ("PARTIALLY_SHIPPING", Shipped),
            ("AWAITING_COLLECTION", ReadyToShip),
            ("IN_TRANSIT", Shipped),
            ("DELIVERED", Delivered),
            ("COMPLETED", Completed),
            ("CANCELLED", Cancelled),
            ("CANCEL", Cancelled),
        ];
        assert_eq!(
            table.len(),
            10,
            "nine statuses of §2.8 plus the webhook's CANCEL"
        );
        for (raw, want) in table {
            assert_eq!(order_status(raw), Some(want), "{raw}");
        }
        for unknown in ["", "cancelled", "SHIPPED", "READY_TO_SHIP"] {
            assert_eq!(order_status(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn every_product_status_maps() {
        let table = [
            ("DRAFT", ListingStatus::Inactive),
            ("PENDING", ListingStatus::Inactive),
            ("FAILED", ListingStatus::Inactive),
            ("ACTIVATE", ListingStatus::Active),
            ("SELLER_DEACTIVATED", ListingStatus::Inactive),
            ("PLATFORM_DEACTIVATED", ListingStatus::Inactive),
            ("FREEZE", ListingStatus::Inactive),
            ("DELETED", ListingStatus::Deleted),
        ];
        for (raw, want) in table {
            assert_eq!(listing_status(raw), want, "{raw}");
        }
    }

    #[test]
    fn errors_are_classified() {
        let ok = StatusCode::OK;
        let c = |code: i64, m: &str| classify_error(code, m, ok, None);
        assert_eq!(
            classify_error(
                36_009_002,
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
                Some(Duration::from_secs(1))
            ),
            ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert!(c(36_009_003, "internal error").is_retryable());
        assert!(c(36_009_007, "timeout").is_retryable());
        assert!(c(105_002, "access token expired").needs_token_refresh());
        assert!(c(36_009_004, "Invalid x-tts-access-token").needs_token_refresh());
        assert!(matches!(
            c(
                106_001,
                "Invalid credentials. The `sign` query parameter is invalid."
            ),
            ChannelError::Signature { .. }
        ));
        assert!(matches!(
            c(36_009_004, "timestamp is older than 5 minutes"),
            ChannelError::Signature { .. }
        ));
        assert!(matches!(
            c(36_009_004, "Missing signature"),
            ChannelError::Signature { .. }
        ));
        assert!(matches!(
            c(36_009_004, "Unexpected identifier shop_cipher"),
            ChannelError::Invalid { .. }
        ));
        for code in [101_000, 105_005, 36_009_033] {
            assert!(
                matches!(c(code, ""), ChannelError::Unauthorized { .. }),
                "{code}"
            );
        }
        assert_eq!(
            c(12_019_024, "stock invalid"),
            ChannelError::Invalid {
                code: "12019024".into(),
                message: "stock invalid".into()
            }
        );
        assert!(
            classify_error(1, "overload", StatusCode::SERVICE_UNAVAILABLE, None).is_retryable()
        );
    }

    #[test]
    fn failure_reasons() {
        assert_eq!(
            failure_reason(CODE_BELOW_RESERVED, ""),
            FailureReason::BelowReservedStock
        );
        assert_eq!(
            failure_reason(CODE_PRODUCT_NOT_FOUND, ""),
            FailureReason::NotFound
        );
        assert_eq!(
            failure_reason(12_019_024, "stock invalid"),
            FailureReason::Other
        );
    }

    fn sample_order(platform: &str) -> wire::Order {
        serde_json::from_str(&format!(
            r#"{{"id":"576486316948490001","status":"AWAITING_SHIPMENT","create_time":1700000000,
               "update_time":1700000100,"paid_time":1700000050,"user_id":"1",
               "payment":{{"currency":"IDR","sub_total":"30000","shipping_fee":"0","total_amount":"30000.50"}},
               "packages":[{{"id":"1152921504606846977"}}],
               "line_items":[
                 {{"id":"L1","sku_id":"1729592969712272549","product_id":"1729592969712207013",
                   "product_name":"Kaos","sku_name":"Merah, M","seller_sku":"KAOS-M","sale_price":"15000.25",
                   "original_price":"20000","currency":"IDR","package_id":"1152921504606846977",
                   "package_status":"TO_FULFILL","tracking_number":"","shipping_provider_name":"J&T"}},
                 {{"id":"L2","sku_id":"1729592969712272549","product_id":"1729592969712207013",
                   "product_name":"Kaos","sku_name":"Merah, M","seller_sku":"KAOS-M","sale_price":"15000.25",
                   "currency":"IDR","package_id":"1152921504606846977"}}],
               "tracking_number":"JT123","is_buyer_request_cancel":false,
               "commerce_platform":"{platform}"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn orders_map_units_money_and_platform() {
        let idr: Currency = "IDR".parse().unwrap();
        let o = order(&sample_order("TOKOPEDIA")).unwrap();
        assert_eq!(o.status, OrderStatus::ReadyToShip);
        assert_eq!(o.placed_on, Marketplace::Tokopedia);
        assert_eq!(o.total, Some(Money::new(3_000_050, idr)));
        assert_eq!(o.lines.len(), 1);
        assert_eq!(o.lines[0].quantity, 2, "one line item per unit");
        assert_eq!(o.lines[0].line_ids, vec!["L1", "L2"]);
        assert_eq!(o.lines[0].unit_price, Some(Money::new(1_500_025, idr)));
        assert_eq!(o.lines[0].sku.as_ref().unwrap().as_str(), "KAOS-M");
        assert_eq!(o.packages.len(), 1);
        assert_eq!(o.packages[0].tracking_number.as_deref(), Some("JT123"));
        assert_eq!(o.packages[0].carrier.as_deref(), Some("J&T"));
        assert_eq!(o.paid_at.unwrap().millis(), 1_700_000_050_000);
        assert_eq!(
            order(&sample_order("TIKTOK_SHOP")).unwrap().placed_on,
            Marketplace::TikTokShop
        );

        // One of the two units cancelled on its own: the order goes on
        // with one; once the whole order is cancelled, both are its lines.
        let mut partial = sample_order("TIKTOK_SHOP");
        partial.line_items[1].display_status = Some("CANCELLED".into());
        let o = order(&partial).unwrap();
        assert_eq!(
            (o.status, o.lines[0].quantity),
            (OrderStatus::ReadyToShip, 1)
        );
        assert_eq!(o.lines[0].line_ids, vec!["L1"]);
        partial.status = "CANCELLED".into();
        assert_eq!(order(&partial).unwrap().lines[0].quantity, 2);

        let mut bad = sample_order("TIKTOK_SHOP");
        bad.status = "LOST_IN_SPACE".into();
        assert!(matches!(order(&bad), Err(ChannelError::Protocol { .. })));
    }

    #[test]
    fn products_map_prices_exactly() {
        let p: wire::Product = serde_json::from_str(
            r#"{"id":"1729592969712207013","title":"Kaos","status":"ACTIVATE","update_time":1700000000,
                "skus":[{"id":"1729592969712272549","seller_sku":"KAOS-M",
                  "price":{"currency":"USD","sale_price":"1.32","tax_exclusive_price":"1.20"},
                  "inventory":[{"warehouse_id":"7068517275539719942","quantity":999},
                               {"warehouse_id":"7068517275539719943","quantity":1}]}]}"#,
        )
        .unwrap();
        let l = listing(&p).unwrap();
        let usd: Currency = "USD".parse().unwrap();
        assert_eq!(l.status, ListingStatus::Active);
        assert_eq!(l.variants[0].price, Some(Money::new(132, usd)));
        assert_eq!(l.variants[0].total_stock(), 1000);
        assert_eq!(
            l.variants[0].stock[0]
                .warehouse_id
                .as_ref()
                .unwrap()
                .as_str(),
            "7068517275539719942"
        );
    }
}
