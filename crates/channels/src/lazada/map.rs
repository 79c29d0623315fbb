//! Lazada values mapped to ours: order-item statuses, product statuses,
//! error codes, listings, orders assembled from their items (one item per
//! unit), update failures, local times and push messages.

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

/// Lazada order-item `status` → our status (fact sheet §3.8). `None` for a
/// status the table does not know.
///
/// Choices that are not obvious:
/// * `pending` is paid and waiting for the seller, so `ReadyToShip`;
///   `unpaid` is the only `Pending`.
/// * `repacked`, `packed`, `ready_to_ship_pending`, `ready_to_ship`: the
///   parcel has not left, the reservation still holds.
/// * `failed` (failed delivery) comes back to the seller: `Returned`.
/// * `lost`, `damaged_by_3pl`, `lost_by_3pl`: the goods left and never come
///   back to stock, so `Shipped` (fulfilled, not restocked).
/// * `canceled` is Lazada's spelling; `cancelled` is accepted too.
pub fn item_status(status: &str) -> Option<OrderStatus> {
    Some(match status {
        "unpaid" => OrderStatus::Pending,
        "pending" | "repacked" | "packed" | "ready_to_ship_pending" | "ready_to_ship" => {
            OrderStatus::ReadyToShip
        }
        "shipped" | "shipping" | "lost" | "damaged_by_3pl" | "lost_by_3pl" => OrderStatus::Shipped,
        "delivered" => OrderStatus::Delivered,
        "failed" | "returned" => OrderStatus::Returned,
        "canceled" | "cancelled" => OrderStatus::Cancelled,
        _ => return None,
    })
}

/// The status of an order from the statuses of its items: cancelled items
/// are ignored while any other remains; an order whose remaining items are
/// all returned is returned; otherwise the most advanced item decides (a
/// partly shipped order has stock that left, as TikTok's
/// `PARTIALLY_SHIPPING`). Returns the raw status that decided, too.
pub fn order_status<'a>(
    statuses: impl IntoIterator<Item = &'a str>,
) -> Result<Option<(OrderStatus, &'a str)>, ChannelError> {
    let mut mapped = Vec::new();
    for raw in statuses {
        let status = item_status(raw).ok_or_else(|| {
            ChannelError::protocol(format!("unknown Lazada order item status {raw:?}"))
        })?;
        mapped.push((status, raw));
    }
    let live: Vec<(OrderStatus, &str)> = mapped
        .iter()
        .copied()
        .filter(|(s, _)| *s != OrderStatus::Cancelled)
        .collect();
    if live.is_empty() {
        return Ok(mapped.first().copied());
    }
    if live.iter().all(|(s, _)| *s == OrderStatus::Returned) {
        return Ok(live.first().copied());
    }
    Ok(live
        .into_iter()
        .filter(|(s, _)| *s != OrderStatus::Returned)
        .max_by_key(|(s, _)| rank(*s)))
}

fn rank(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::Pending => 0,
        OrderStatus::ReadyToShip => 1,
        OrderStatus::Shipped => 2,
        OrderStatus::Delivered => 3,
        OrderStatus::Completed => 4,
        OrderStatus::Cancelled | OrderStatus::Returned => 5,
    }
}

/// Lazada product `status` → whether the listing is buyable.
pub fn listing_status(status: &str) -> ListingStatus {
    match status.to_ascii_lowercase().as_str() {
        "active" | "live" => ListingStatus::Active,
        "deleted" => ListingStatus::Deleted,
        _ => ListingStatus::Inactive,
    }
}

/// Classifies an error `code` (fact sheet §3.5). Lazada answers errors with
/// HTTP 200; the HTTP status only matters when the body says nothing.
pub fn classify_error(
    code: &str,
    message: &str,
    http: StatusCode,
    retry_after: Option<Duration>,
) -> ChannelError {
    let c = code.to_owned();
    let m = message.to_owned();
    match code {
        "ApiCallLimit" | "AppCallLimit" | "E901" | "901" => ChannelError::RateLimited {
            retry_after: retry_after.or_else(|| ban_seconds(message)),
        },
        "IllegalAccessToken" => ChannelError::TokenExpired {
            code: c,
            message: m,
        },
        "IncompleteSignature" | "InvalidTimestamp" => ChannelError::Signature {
            code: c,
            message: m,
        },
        "IllegalRefreshToken"
        | "InvalidCode"
        | "AccessDenied"
        | "AUTH_TYPE_UNSUPPORTED"
        | "SellerNotVerified" => ChannelError::Unauthorized {
            code: c,
            message: m,
        },
        "ServiceUnavailable" | "ServiceTimeout" | "InternalError" => ChannelError::Transient {
            reason: format!("{c}: {m}"),
        },
        _ if http == StatusCode::TOO_MANY_REQUESTS => ChannelError::RateLimited { retry_after },
        _ if http.is_server_error() => ChannelError::Transient {
            reason: format!("{c}: {m}"),
        },
        _ => ChannelError::Invalid {
            code: c,
            message: m,
        },
    }
}

/// The ban length in "this ban will last N seconds".
fn ban_seconds(message: &str) -> Option<Duration> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("will last ")? + "will last ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(Duration::from_secs)
}

/// Why one SKU's update failed, from its detail message or code.
pub fn failure_reason(code: &str, message: &str) -> FailureReason {
    let lower = message.to_ascii_lowercase();
    if lower.contains("locked") || lower.contains("withhold") || lower.contains("occupy") {
        FailureReason::BelowReservedStock
    } else if matches!(code, "E207" | "E208") || lower.contains("not found") {
        FailureReason::NotFound
    } else {
        FailureReason::Other
    }
}

fn money(amount: Option<&str>, currency: Currency) -> Result<Option<Money>, ChannelError> {
    match amount.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => decimal_to_money(a, currency).map(Some),
        None => Ok(None),
    }
}

fn sku_of(text: Option<&str>) -> (Option<Sku>, String) {
    let text = text.unwrap_or("").trim().to_owned();
    (text.parse().ok(), text)
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.trim().is_empty())
}

/// Parses the times Lazada writes: `2018-02-05 13:40:22 +0800` (orders),
/// RFC 3339, or epoch milliseconds as text (products).
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok().map(Timestamp::from_millis);
    }
    if let Ok(ts) = Timestamp::parse_rfc3339(t) {
        return Some(ts);
    }
    // "YYYY-MM-DD HH:MM:SS +HHMM" → "YYYY-MM-DDTHH:MM:SS+HH:MM".
    let (date_time, offset) = t.rsplit_once(' ')?;
    let (date, time) = date_time.split_once(' ')?;
    // `get` rather than indexing: marketplace text may put a multi-byte
    // character where the digits should be, and a parser must not panic.
    let offset = match (offset.len(), offset.get(..3), offset.get(3..)) {
        (5, Some(hours), Some(minutes)) => format!("{hours}:{minutes}"),
        _ => offset.to_owned(),
    };
    Timestamp::parse_rfc3339(&format!("{date}T{time}{offset}")).ok()
}

/// Formats a time as Lazada's ISO 8601 filter values want it, whole seconds.
pub fn iso(ts: Timestamp) -> String {
    Timestamp::from_millis(ts.millis().div_euclid(1000) * 1000).to_rfc3339()
}

/// One product from `/products/get`. Stock is the sellable quantity per
/// warehouse (what buyers can order), else `Available`, else `quantity`.
pub fn listing(product: &wire::Product, currency: Currency) -> Result<Listing, ChannelError> {
    let mut variants = Vec::with_capacity(product.skus.len());
    for sku in &product.skus {
        let (parsed, seller_sku) = sku_of(sku.seller_sku.as_deref());
        let stock = if sku.warehouses.is_empty() {
            vec![WarehouseStock {
                warehouse_id: None,
                quantity: sku.available.or(sku.quantity).unwrap_or(0),
            }]
        } else {
            sku.warehouses
                .iter()
                .map(|w| WarehouseStock {
                    warehouse_id: non_empty(&w.warehouse_code).map(WarehouseId::new),
                    quantity: w.sellable_quantity.or(w.quantity).unwrap_or(0),
                })
                .collect()
        };
        variants.push(ListingVariant {
            variant_id: ExtVariantId::new(sku.sku_id.clone()),
            sku: parsed,
            seller_sku,
            stock,
            reserved: None,
            price: money(sku.price.as_deref(), currency)?,
        });
    }
    Ok(Listing {
        listing_id: ListingId::new(product.item_id.clone()),
        title: product.attributes.name.clone(),
        status: listing_status(&product.status),
        marketplace_status: product.status.clone(),
        updated_at: product.updated_time.map(Timestamp::from_millis),
        variants,
    })
}

/// One order assembled from its items (`/orders/items/get`). Items of the
/// same SKU are merged into one line whose quantity is the item count;
/// while some items are live, the cancelled ones are left out of the lines
/// (a partial cancellation), and each package appears once with its own
/// tracking number.
pub fn order(
    order_id: &str,
    items: &[wire::OrderItem],
    venture_currency: Currency,
) -> Result<Order, ChannelError> {
    let (status, raw) = order_status(items.iter().map(|i| i.status.as_str()))?
        .ok_or_else(|| ChannelError::protocol(format!("Lazada order {order_id} has no items")))?;
    let currency = items
        .iter()
        .find_map(|i| i.currency.as_deref().and_then(|c| c.parse().ok()))
        .unwrap_or(venture_currency);
    let mut lines: Vec<OrderLine> = Vec::new();
    let mut packages: Vec<Package> = Vec::new();
    let mut total: Option<Money> = None;
    let mut created: Option<Timestamp> = None;
    let mut updated: Option<Timestamp> = None;
    let mut cancel_reason = None;
    // Units the seller cancelled on their own are no longer part of an order that goes on; an
    // order cancelled as a whole keeps them all, so its lines say what was released.
    let cancelled = |i: &wire::OrderItem| item_status(&i.status) == Some(OrderStatus::Cancelled);
    let any_live = items.iter().any(|i| !cancelled(i));
    for item in items {
        let listing_id = ListingId::new(item.product_id.clone().unwrap_or_default());
        let variant_id = ExtVariantId::new(item.sku_id.clone().unwrap_or_default());
        let price = money(
            item.paid_price.as_deref().or(item.item_price.as_deref()),
            currency,
        )?;
        if item_status(&item.status) != Some(OrderStatus::Cancelled) {
            if let Some(p) = price {
                total = Some(match total {
                    Some(t) => t
                        .checked_add(p)
                        .map_err(|e| ChannelError::protocol(e.to_string()))?,
                    None => p,
                });
            }
        } else if cancel_reason.is_none() {
            cancel_reason = non_empty(&item.reason);
        }
        if let Some(t) = item.created_at.as_deref().and_then(parse_time) {
            created = Some(created.map_or(t, |c| c.min(t)));
        }
        if let Some(t) = item.updated_at.as_deref().and_then(parse_time) {
            updated = Some(updated.map_or(t, |u| u.max(t)));
        }
        if let Some(package_id) = non_empty(&item.package_id) {
            if !packages
                .iter()
                .any(|p| p.package_id.as_ref().map(PackageId::as_str) == Some(package_id.as_str()))
            {
                packages.push(Package {
                    package_id: Some(PackageId::new(package_id)),
                    tracking_number: non_empty(&item.tracking_code),
                    carrier: non_empty(&item.shipment_provider),
                    status: Some(item.status.clone()),
                });
            }
        }
        if any_live && cancelled(item) {
            continue;
        }
        if let Some(line) = lines
            .iter_mut()
            .find(|l| l.listing_id == listing_id && l.variant_id == variant_id)
        {
            line.quantity = line.quantity.saturating_add(1);
            line.line_ids.push(item.order_item_id.clone());
            continue;
        }
        let (sku, seller_sku) = sku_of(item.sku.as_deref());
        let name = match item.variation.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => format!("{} ({v})", item.name),
            None => item.name.clone(),
        };
        lines.push(OrderLine {
            listing_id,
            variant_id,
            sku,
            seller_sku,
            name,
            quantity: 1,
            unit_price: price,
            line_ids: vec![item.order_item_id.clone()],
        });
    }
    let created_at = created.unwrap_or(Timestamp::from_millis(0));
    Ok(Order {
        order_id: ExtOrderId::new(order_id),
        status,
        marketplace_status: raw.to_owned(),
        placed_on: Marketplace::Lazada,
        created_at,
        updated_at: updated.unwrap_or(created_at),
        paid_at: None,
        currency: Some(currency),
        total,
        lines,
        packages,
        cancel_requested: false,
        cancel_reason,
    })
}

/// A push timestamp in ms or s (order messages use ms, some product
/// messages seconds; fact sheet §7 #11): told apart by magnitude.
pub fn push_time(value: i64) -> Option<Timestamp> {
    match value {
        v if v <= 0 => None,
        v if v < 100_000_000_000 => Some(Timestamp::from_millis(v.saturating_mul(1000))),
        v => Some(Timestamp::from_millis(v)),
    }
}

/// Push `message_type` → events (fact sheet §3.9).
pub fn push_events(push: &wire::Push) -> Result<Vec<WebhookEvent>, ChannelError> {
    let malformed = |e: serde_json::Error| {
        ChannelError::webhook(format!(
            "malformed message_type {} payload: {e}",
            push.message_type
        ))
    };
    let data = || push.data.clone();
    let occurred = push.timestamp.and_then(push_time);
    let event = |kind, occurred_at| WebhookEvent {
        shop_id: push.seller_id.clone().map(ExtShopId::new),
        notification_id: None,
        occurred_at,
        kind,
    };
    let events = match push.message_type {
        0 | 10 => {
            let d: wire::PushOrder = serde_json::from_value(data()).map_err(malformed)?;
            let order_id = ExtOrderId::new(d.trade_order_id);
            let at = d.status_update_time.and_then(push_time).or(occurred);
            let kind = match (&d.reverse_order_id, push.message_type, &d.order_status) {
                (None, 0, Some(raw)) => match item_status(raw) {
                    Some(status) => WebhookEventKind::OrderStatusChanged {
                        order_id,
                        status,
                        marketplace_status: raw.clone(),
                    },
                    None => WebhookEventKind::OrderChanged { order_id },
                },
                _ => WebhookEventKind::OrderChanged { order_id },
            };
            vec![event(kind, at)]
        }
        3..=6 => {
            let d: wire::PushProduct = serde_json::from_value(data()).map_err(malformed)?;
            let listing_id = d.item_id.map(ListingId::new);
            let mut skus: Vec<Option<ExtVariantId>> = d
                .sku_list
                .iter()
                .map(|s| s.sku_id.clone().map(ExtVariantId::new))
                .collect();
            if skus.is_empty() {
                skus.push(d.sku_id.map(ExtVariantId::new));
            }
            skus.into_iter()
                .map(|variant_id| {
                    event(
                        WebhookEventKind::ListingChanged {
                            listing_id: listing_id.clone(),
                            variant_id,
                        },
                        occurred,
                    )
                })
                .collect()
        }
        8 => {
            let d: wire::PushTokenExpiry = serde_json::from_value(data()).map_err(malformed)?;
            vec![event(
                WebhookEventKind::AuthorizationExpiring {
                    expires_at: d.expire_time.and_then(push_time),
                },
                occurred,
            )]
        }
        other => vec![event(
            WebhookEventKind::Ignored {
                event_type: other.to_string(),
            },
            occurred,
        )],
    };
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_sheet_item_status_maps() {
        use OrderStatus::*;
        let table = [
            ("unpaid", Pending),
            ("pending", ReadyToShip),
            ("repacked", ReadyToShip),
            ("packed", ReadyToShip),
            ("ready_to_ship_pending", ReadyToShip),
            ("ready_to_ship", ReadyToShip),
            ("shipped", Shipped),
            ("shipping", Shipped),
            ("delivered", Delivered),
            ("failed", Returned),
            ("canceled", Cancelled),
            ("returned", Returned),
            ("lost", Shipped),
            ("damaged_by_3pl", Shipped),
            ("lost_by_3pl", Shipped),
        ];
        assert_eq!(table.len(), 15, "every item status of §3.8");
        for (raw, want) in table {
            assert_eq!(item_status(raw), Some(want), "{raw}");
        }
        for unknown in ["", "PENDING", "topack", "toship", "confirmed_by_alien"] {
            assert_eq!(item_status(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn order_status_from_items() {
        let s = |v: &[&'static str]| order_status(v.iter().copied()).unwrap().map(|x| x.0);
        assert_eq!(s(&["pending", "pending"]), Some(OrderStatus::ReadyToShip));
        assert_eq!(s(&["canceled", "pending"]), Some(OrderStatus::ReadyToShip));
        assert_eq!(s(&["canceled", "canceled"]), Some(OrderStatus::Cancelled));
        assert_eq!(s(&["shipped", "pending"]), Some(OrderStatus::Shipped));
        assert_eq!(s(&["returned", "returned"]), Some(OrderStatus::Returned));
        assert_eq!(s(&["returned", "delivered"]), Some(OrderStatus::Delivered));
        assert_eq!(s(&[]), None);
        assert!(order_status(["bogus"]).is_err());
    }

    #[test]
    fn product_statuses() {
        assert_eq!(listing_status("active"), ListingStatus::Active);
        assert_eq!(listing_status("Active"), ListingStatus::Active);
        assert_eq!(listing_status("inactive"), ListingStatus::Inactive);
        assert_eq!(listing_status("pending"), ListingStatus::Inactive);
        assert_eq!(listing_status("deleted"), ListingStatus::Deleted);
    }

    #[test]
    fn errors_are_classified() {
        let ok = StatusCode::OK;
        let c = |code: &str, m: &str| classify_error(code, m, ok, None);
        assert_eq!(
            c(
                "ApiCallLimit",
                "Api access frequency exceeds the limit. this ban will last 1 seconds."
            ),
            ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert!(c("E901", "The request is too frequent").is_retryable());
        assert!(c("IllegalAccessToken", "expired").needs_token_refresh());
        assert!(matches!(
            c("IncompleteSignature", ""),
            ChannelError::Signature { .. }
        ));
        assert!(matches!(
            c("InvalidTimestamp", ""),
            ChannelError::Signature { .. }
        ));
        for code in ["IllegalRefreshToken", "InvalidCode", "AccessDenied"] {
            assert!(
                matches!(c(code, ""), ChannelError::Unauthorized { .. }),
                "{code}"
            );
        }
        assert!(matches!(
            c("E204", "too many"),
            ChannelError::Invalid { .. }
        ));
        assert!(matches!(
            c("MissingParameter", ""),
            ChannelError::Invalid { .. }
        ));
        assert!(classify_error("X", "", StatusCode::BAD_GATEWAY, None).is_retryable());
    }

    #[test]
    fn failure_reasons() {
        assert_eq!(
            failure_reason(
                "E501",
                "SellableQuantity is less than the locked stock (withhold + occupy + campaign)"
            ),
            FailureReason::BelowReservedStock
        );
        assert_eq!(failure_reason("E207", ""), FailureReason::NotFound);
        assert_eq!(
            failure_reason("E501", "Sku not found"),
            FailureReason::NotFound
        );
        assert_eq!(failure_reason("E501", "bad"), FailureReason::Other);
    }

    #[test]
    fn times() {
        let t = parse_time("2018-02-05 13:40:22 +0800").unwrap();
        assert_eq!(t, Timestamp::parse_rfc3339("2018-02-05T05:40:22Z").unwrap());
        assert_eq!(
            parse_time("1700000000123").unwrap().millis(),
            1_700_000_000_123
        );
        assert!(parse_time("soon").is_none());
        // A multi-byte character across the hours/minutes cut panicked.
        assert!(parse_time("2018-02-05 13:40:22 +0é0").is_none());
        assert!(parse_time("2018-02-05 13:40:22 +08é").is_none());
        assert_eq!(
            iso(Timestamp::from_millis(1_700_000_000_999)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            push_time(1_603_698_638).unwrap().millis(),
            1_603_698_638_000
        );
        assert_eq!(
            push_time(1_603_766_859_530).unwrap().millis(),
            1_603_766_859_530
        );
    }

    #[test]
    fn orders_are_assembled_from_one_item_per_unit() {
        let sgd: Currency = "SGD".parse().unwrap();
        let items: Vec<wire::OrderItem> = serde_json::from_str(
            r#"[{"order_item_id":11,"order_id":1,"status":"packed","name":"Tee","sku":"TEE-M","sku_id":55,
                 "product_id":"77","variation":"M","paid_price":"9.90","item_price":10.0,"currency":"SGD",
                 "shipment_provider":"LEX","tracking_code":"LX1","package_id":"FP1",
                 "created_at":"2024-01-01 10:00:00 +0800","updated_at":"2024-01-01 11:00:00 +0800"},
                {"order_item_id":"12","order_id":"1","status":"packed","name":"Tee","sku":"TEE-M","sku_id":"55",
                 "product_id":77,"paid_price":9.9,"package_id":"FP1",
                 "created_at":"2024-01-01 10:00:00 +0800","updated_at":"2024-01-01 12:00:00 +0800"},
                {"order_item_id":13,"status":"canceled","name":"Cap","sku":"CAP","sku_id":56,"product_id":78,
                 "paid_price":"5.00","reason":"Out of stock"}]"#,
        )
        .unwrap();
        let o = order("1", &items, sgd).unwrap();
        assert_eq!(o.status, OrderStatus::ReadyToShip);
        assert_eq!(o.marketplace_status, "packed");
        assert_eq!(o.placed_on, Marketplace::Lazada);
        assert_eq!(o.lines.len(), 1, "the cancelled cap is no longer ordered");
        assert_eq!(o.lines[0].quantity, 2, "one order item per unit");
        assert_eq!(o.lines[0].line_ids, vec!["11", "12"]);
        assert_eq!(o.lines[0].unit_price, Some(Money::new(990, sgd)));
        assert_eq!(o.lines[0].name, "Tee (M)");
        assert_eq!(
            o.total,
            Some(Money::new(1980, sgd)),
            "cancelled items are not charged"
        );
        assert_eq!(o.packages.len(), 1);
        assert_eq!(o.packages[0].tracking_number.as_deref(), Some("LX1"));
        assert_eq!(o.cancel_reason.as_deref(), Some("Out of stock"));
        assert_eq!(
            o.updated_at,
            parse_time("2024-01-01 12:00:00 +0800").unwrap()
        );
    }

    #[test]
    fn a_wholly_cancelled_order_keeps_every_unit_in_its_lines() {
        let sgd: Currency = "SGD".parse().unwrap();
        let items: Vec<wire::OrderItem> = serde_json::from_str(
            r#"[{"order_item_id":11,"status":"canceled","sku":"TEE","sku_id":5,"product_id":7,"paid_price":"2.00","reason":"Out of stock"},
                {"order_item_id":12,"status":"canceled","sku":"TEE","sku_id":5,"product_id":7,"paid_price":"2.00"},
                {"order_item_id":13,"status":"canceled","sku":"CAP","sku_id":6,"product_id":8,"paid_price":"1.00"}]"#,
        )
        .unwrap();
        let o = order("1", &items, sgd).unwrap();
        assert_eq!(o.status, OrderStatus::Cancelled);
        let units: Vec<u32> = o.lines.iter().map(|l| l.quantity).collect();
        assert_eq!(units, vec![2, 1]);
        assert_eq!(o.total, None);
        assert_eq!(o.cancel_reason.as_deref(), Some("Out of stock"));
    }

    #[test]
    fn token_answers_name_the_sellers_either_way() {
        let create: wire::Token = serde_json::from_str(
            r#"{"access_token":"a","refresh_token":"r","country":"cb","expires_in":259200,
                "refresh_expires_in":259200,"account_platform":"seller_center","account":"x@y",
                "country_user_info":[{"country":"sg","seller_id":"1001","user_id":10101,"short_code":"SG1"}],
                "code":"0","request_id":"q"}"#,
        )
        .unwrap();
        assert_eq!(create.countries()[0].seller_id.as_deref(), Some("1001"));
        let refresh: wire::Token = serde_json::from_str(
            r#"{"access_token":"a","refresh_token":"r","expires_in":"604800","refresh_expires_in":0,
                "country_user_info_list":[{"country":"my","seller_id":2002,"user_id":"20202"}]}"#,
        )
        .unwrap();
        assert_eq!(refresh.countries()[0].seller_id.as_deref(), Some("2002"));
        assert_eq!(refresh.expires_in, 604_800);
        assert_eq!(refresh.refresh_expires_in, Some(0));
        assert!(!format!("{refresh:?}").contains("\"a\""));
    }
}
