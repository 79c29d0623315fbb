//! Lazada product APIs: `/products/get` (offset/limit paging, filters, sellable / occupied /
//! withheld stock per warehouse), `/product/item/get`, and the XML writes
//! `/product/stock/sellable/update` and `/product/price_quantity/update` (≤ 50 SKUs, E204),
//! which refuse stock below what is locked by withhold + occupy + campaign.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::common::{parse_iso_ms, Call, LzError, MAX_PRODUCT_LIMIT, MAX_PRODUCT_OFFSET, MAX_SKUS};
use crate::model::{Product, Shop, Stage, Variant, World};
use crate::sandbox::Sandbox;

/// Units of a variant held by orders that have not left yet ("occupy"), per warehouse.
pub(crate) fn occupied(w: &World, shop: &Shop, variant_id: u64) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for o in shop.orders.iter().filter_map(|id| w.orders.get(id)) {
        if !matches!(
            o.stage,
            Stage::Unpaid | Stage::ReadyToShip | Stage::InCancel | Stage::Packed | Stage::Arranged
        ) {
            continue;
        }
        for l in o.lines.iter().filter(|l| l.variant_id == variant_id) {
            for (wh, n) in &l.taken {
                *out.entry(wh.clone()).or_insert(0) += n;
            }
        }
    }
    out
}

fn status(p: &Product) -> &'static str {
    if p.listed {
        "Active"
    } else {
        "InActive"
    }
}

#[allow(clippy::cast_precision_loss)]
fn price_number(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

fn sku_json(w: &World, shop: &Shop, p: &Product, v: &Variant) -> Value {
    let occ = occupied(w, shop, v.id);
    let occ_total: i64 = occ.values().sum();
    let warehouses: Vec<Value> = v
        .stock
        .iter()
        .map(|(wh, q)| {
            let o = occ.get(wh).copied().unwrap_or(0);
            json!({"warehouseCode": wh, "quantity": q + o, "totalQuantity": q + o,
                   "sellableQuantity": q, "occupyQuantity": o, "withholdQuantity": 0})
        })
        .collect();
    json!({
        "SkuId": v.id, "SellerSku": v.seller_sku,
        "ShopSku": format!("{}_{}AMZ-{}", p.id, shop.region, v.id),
        "Status": if p.listed { "active" } else { "inactive" },
        "quantity": v.total() + occ_total, "Available": v.total(),
        "price": price_number(v.price_cents), "special_price": price_number(v.price_cents),
        "package_weight": "0.5", "package_length": "10", "package_width": "10", "package_height": "5",
        "Url": format!("https://www.lazada.sandbox/products/i{}-s{}.html", p.id, v.id),
        "Images": [], "multiWarehouseInventories": warehouses,
        "fblWarehouseInventories": [], "channelInventories": [],
        "_compatible_variation_": v.name,
    })
}

fn product_json(w: &World, shop: &Shop, p: &Product) -> Value {
    json!({
        "item_id": p.id, "primary_category": 10_000_001, "status": status(p),
        "created_time": p.create_ms.to_string(), "updated_time": p.update_ms.to_string(),
        "images": [], "attributes": {"name": p.name, "description": p.name, "brand": "No Brand"},
        "skus": p.variants.iter().map(|v| sku_json(w, shop, p, v)).collect::<Vec<_>>(),
    })
}

fn time_param(call: &Call, key: &str) -> Result<Option<i64>, LzError> {
    match call.p(key) {
        None => Ok(None),
        Some(t) => parse_iso_ms(t)
            .map(Some)
            .ok_or_else(|| LzError::invalid(key)),
    }
}

fn int_param(call: &Call, key: &str, default: i64) -> Result<i64, LzError> {
    match call.p(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| LzError::invalid(key)),
    }
}

/// `/products/get`.
pub(crate) fn get_products(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let filter = call.required("filter")?.to_owned();
    if !matches!(
        filter.as_str(),
        "all" | "live" | "inactive" | "deleted" | "pending" | "rejected" | "sold-out"
    ) {
        return Err(LzError::invalid("filter"));
    }
    let offset = int_param(call, "offset", 0)?;
    if !(0..=MAX_PRODUCT_OFFSET).contains(&offset) {
        return Err(LzError::invalid("offset"));
    }
    let limit = int_param(call, "limit", 20)?;
    if !(1..=MAX_PRODUCT_LIMIT).contains(&limit) {
        return Err(LzError::invalid("limit"));
    }
    let (ua, ub) = (
        time_param(call, "update_after")?,
        time_param(call, "update_before")?,
    );
    let (ca, cb) = (
        time_param(call, "create_after")?,
        time_param(call, "create_before")?,
    );
    let skus: Option<Vec<String>> = match call.p("sku_seller_list") {
        None => None,
        Some(list) => {
            let parsed: Vec<String> =
                serde_json::from_str(list).map_err(|_| LzError::invalid("sku_seller_list"))?;
            if parsed.len() > 100 {
                return Err(LzError::invalid("sku_seller_list"));
            }
            Some(parsed)
        }
    };
    sb.with_world(|w, _| {
        let shop = w.shop(call.shop_id).map_err(|_| {
            LzError::isv(
                "IllegalAccessToken",
                super::common::msg::ILLEGAL_ACCESS_TOKEN,
            )
        })?;
        let mut hits: Vec<&Product> = shop
            .products
            .iter()
            .filter_map(|id| w.products.get(id))
            .filter(|p| match filter.as_str() {
                "all" => true,
                "live" => p.listed,
                "inactive" => !p.listed,
                "sold-out" => p.listed && p.variants.iter().all(|v| v.total() == 0),
                _ => false,
            })
            .filter(|p| {
                skus.as_ref()
                    .is_none_or(|s| p.variants.iter().any(|v| s.contains(&v.seller_sku)))
            })
            .filter(|p| ua.is_none_or(|t| p.update_ms >= t) && ub.is_none_or(|t| p.update_ms <= t))
            .filter(|p| ca.is_none_or(|t| p.create_ms >= t) && cb.is_none_or(|t| p.create_ms <= t))
            .collect();
        hits.sort_by_key(|p| p.id);
        let total = hits.len();
        let products: Vec<Value> = hits
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|p| product_json(w, shop, p))
            .collect();
        Ok(json!({"total_products": total, "products": products}))
    })
}

/// `/product/item/get`.
pub(crate) fn get_item(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let item_id: u64 = call
        .required("item_id")?
        .parse()
        .map_err(|_| LzError::invalid("item_id"))?;
    sb.with_world(|w, _| {
        let shop = w.shop(call.shop_id).map_err(|_| {
            LzError::isv(
                "IllegalAccessToken",
                super::common::msg::ILLEGAL_ACCESS_TOKEN,
            )
        })?;
        let p = w
            .products
            .get(&item_id)
            .filter(|p| p.shop_id == call.shop_id)
            .ok_or_else(|| LzError::isv("E208", "Item not found"))?;
        Ok(product_json(w, shop, p))
    })
}

// ---- XML payloads ---------------------------------------------------------------------------

/// The text between `<name>` and the matching `</name>` (first occurrence).
fn tag<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = s.find(&open)? + open.len();
    let end = s[start..].find(&close)? + start;
    Some(&s[start..end])
}

/// Every `<name>…</name>` block, in order.
fn blocks<'a>(s: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.trim()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// One `<Sku>` of a write payload.
#[derive(Debug, Default)]
struct SkuWrite {
    item_id: Option<String>,
    sku_id: Option<String>,
    seller_sku: Option<String>,
    /// Single-warehouse value (`SellableQuantity` or `Quantity`).
    quantity: Option<String>,
    /// `(WarehouseCode, value)` pairs.
    warehouses: Vec<(String, String)>,
    price: Option<String>,
}

fn parse_payload(payload: &str, quantity_tag: &str) -> Result<Vec<SkuWrite>, LzError> {
    let request =
        tag(payload, "Request").ok_or_else(|| LzError::isv("E005", "Invalid Request Format"))?;
    let skus_block =
        tag(request, "Skus").ok_or_else(|| LzError::isv("E005", "Invalid Request Format"))?;
    let skus = blocks(skus_block, "Sku");
    if skus.is_empty() {
        return Err(LzError::isv("E030", "Empty Request"));
    }
    if skus.len() > MAX_SKUS {
        return Err(LzError::isv(
            "E204",
            format!(
                "Too many SKUs in one request: {} (at most {MAX_SKUS})",
                skus.len()
            ),
        ));
    }
    Ok(skus
        .into_iter()
        .map(|s| {
            let warehouses = blocks(s, "MultiWarehouseInventory")
                .into_iter()
                .map(|m| {
                    (
                        tag(m, "WarehouseCode").map(unescape).unwrap_or_default(),
                        tag(m, quantity_tag).map(unescape).unwrap_or_default(),
                    )
                })
                .collect();
            let outside = match s.find("<MultiWarehouseInventories>") {
                Some(i) => {
                    let end = s.find("</MultiWarehouseInventories>").unwrap_or(s.len());
                    format!("{}{}", &s[..i], &s[end..])
                }
                None => s.to_owned(),
            };
            SkuWrite {
                item_id: tag(&outside, "ItemId").map(unescape),
                sku_id: tag(&outside, "SkuId").map(unescape),
                seller_sku: tag(&outside, "SellerSku").map(unescape),
                quantity: tag(&outside, quantity_tag).map(unescape),
                warehouses,
                price: tag(&outside, "Price").map(unescape),
            }
        })
        .collect())
}

fn detail(s: &SkuWrite, field: &str, code: &str, message: String) -> Value {
    json!({"field": field, "message": message, "code": code,
           "seller_sku": s.seller_sku.clone().unwrap_or_default(),
           "sku_id": s.sku_id.clone().unwrap_or_default(),
           "item_id": s.item_id.clone().unwrap_or_default()})
}

fn resolve(w: &World, shop_id: u64, s: &SkuWrite) -> Option<(u64, u64)> {
    let sku_id = s.sku_id.as_deref().and_then(|v| v.parse::<u64>().ok());
    let (pid, vid) = w
        .find_variant(
            shop_id,
            if sku_id.is_some() {
                None
            } else {
                s.seller_sku.as_deref()
            },
            sku_id,
        )
        .ok()?;
    match s.item_id.as_deref() {
        Some(item) if item != pid.to_string() => None,
        _ => Some((pid, vid)),
    }
}

fn quantity(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|q| *q >= 0)
}

/// What the stock part of a write wants: new sellable units per warehouse.
enum StockWant {
    None,
    Set(BTreeMap<String, i64>),
}

/// Turns the requested values into new sellable stock per warehouse, or a refusal. With
/// `total` (price_quantity), values are real stock and occupied units are subtracted.
fn stock_want(
    w: &World,
    shop: &Shop,
    v: &Variant,
    s: &SkuWrite,
    total: bool,
    field: &str,
) -> Result<StockWant, Value> {
    let occ = occupied(w, shop, v.id);
    let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
    if !s.warehouses.is_empty() {
        for (code, text) in &s.warehouses {
            if !v.stock.contains_key(code) {
                return Err(detail(
                    s,
                    "WarehouseCode",
                    "E501",
                    format!("Warehouse {code} not found"),
                ));
            }
            let q = quantity(text)
                .ok_or_else(|| detail(s, field, "E501", format!("Invalid {field} {text:?}")))?;
            wanted.insert(code.clone(), q);
        }
    } else if let Some(text) = &s.quantity {
        let q = quantity(text)
            .ok_or_else(|| detail(s, field, "E501", format!("Invalid {field} {text:?}")))?;
        // A single value applies to the seller's default (first) warehouse.
        let Some(first) = v.stock.keys().next() else {
            return Ok(StockWant::None);
        };
        wanted.insert(first.clone(), q);
    } else {
        return Ok(StockWant::None);
    }
    let mut next = v.stock.clone();
    for (wh, q) in &wanted {
        next.insert(wh.clone(), *q);
    }
    let requested: i64 = next.values().sum();
    let occ_total: i64 = occ.values().sum();
    // Locked stock: withhold (0 here) + occupy + campaign. The sellable API sets sellable units,
    // which already exclude withhold and occupy, so only the campaign part can be undercut.
    let (locked, floor) = if total {
        (occ_total + v.reserved, occ_total + v.reserved)
    } else {
        (occ_total + v.reserved, v.reserved)
    };
    if requested < floor {
        return Err(detail(
            s,
            field,
            "E501",
            format!("{field} {requested} is less than the locked stock {locked} (withhold + occupy + campaign)"),
        ));
    }
    if total {
        for (wh, q) in wanted.iter_mut() {
            *q = (*q - occ.get(wh).copied().unwrap_or(0)).max(0);
        }
    }
    Ok(StockWant::Set(wanted))
}

/// Applies a write payload SKU by SKU; refused SKUs are reported in `detail` with E501 while
/// the others are applied.
fn write(sb: &Sandbox, call: &Call, quantity_tag: &str, total: bool) -> Result<Value, LzError> {
    let payload = call.required("payload")?.to_owned();
    let skus = parse_payload(&payload, quantity_tag)?;
    let failed = sb.with_world(|w, now| {
        let mut failed = Vec::new();
        for s in &skus {
            let Some((pid, vid)) = resolve(w, call.shop_id, s) else {
                failed.push(detail(s, "SkuId", "E207", "SKU not found".to_owned()));
                continue;
            };
            let price = match s.price.as_deref() {
                Some(p) => match crate::util::parse_decimal_cents(p) {
                    Some(c) if c > 0 => Some(c),
                    _ => {
                        failed.push(detail(s, "Price", "E501", format!("Invalid Price {p:?}")));
                        continue;
                    }
                },
                None => None,
            };
            let want = {
                let (Ok(shop), Some(v)) = (
                    w.shop(call.shop_id),
                    w.products
                        .get(&pid)
                        .and_then(|p| p.variants.iter().find(|v| v.id == vid)),
                ) else {
                    failed.push(detail(s, "SkuId", "E207", "SKU not found".to_owned()));
                    continue;
                };
                match stock_want(w, shop, v, s, total, quantity_tag) {
                    Ok(want) => want,
                    Err(d) => {
                        failed.push(d);
                        continue;
                    }
                }
            };
            if let StockWant::Set(map) = want {
                for (wh, q) in map {
                    let _ = w.set_stock(pid, vid, &wh, q, now);
                }
            }
            if let Some(cents) = price {
                if let Some(v) = w.variant_mut(pid, vid) {
                    v.price_cents = cents;
                    v.original_price_cents = cents;
                }
                if let Some(p) = w.products.get_mut(&pid) {
                    p.update_ms = now.millis();
                }
            }
        }
        failed
    });
    if failed.is_empty() {
        Ok(json!({}))
    } else {
        Err(LzError {
            detail: Some(Value::Array(failed)),
            ..LzError::isv("E501", "Update product failed")
        })
    }
}

/// `POST /product/stock/sellable/update`: absolute sellable quantities.
pub(crate) fn update_sellable(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    write(sb, call, "SellableQuantity", false)
}

/// `POST /product/price_quantity/update`: prices and/or absolute real quantities.
pub(crate) fn update_price_quantity(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    write(sb, call, "Quantity", true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_like_the_docs_write_them() {
        let p = "<Request><Product><Skus><Sku><ItemId>234234234</ItemId><SkuId>234</SkuId><SellerSku>Apple-SG-Glod-64G</SellerSku><Price>1099.00</Price><SalePrice>900.00</SalePrice><MultiWarehouseInventories><MultiWarehouseInventory><WarehouseCode>warehouseTest1</WarehouseCode><Quantity>20</Quantity></MultiWarehouseInventory></MultiWarehouseInventories></Sku></Skus></Product></Request>";
        let skus = parse_payload(p, "Quantity").unwrap();
        assert_eq!(skus.len(), 1);
        assert_eq!(skus[0].sku_id.as_deref(), Some("234"));
        assert_eq!(skus[0].price.as_deref(), Some("1099.00"));
        assert_eq!(skus[0].quantity, None);
        assert_eq!(
            skus[0].warehouses,
            vec![("warehouseTest1".to_owned(), "20".to_owned())]
        );
        assert_eq!(parse_payload("<x/>", "Quantity").unwrap_err().code, "E005");
        assert_eq!(
            parse_payload(
                "<Request><Product><Skus></Skus></Product></Request>",
                "Quantity"
            )
            .unwrap_err()
            .code,
            "E030"
        );
        let many = format!(
            "<Request><Product><Skus>{}</Skus></Product></Request>",
            "<Sku><SkuId>1</SkuId><SellableQuantity>1</SellableQuantity></Sku>".repeat(51)
        );
        assert_eq!(
            parse_payload(&many, "SellableQuantity").unwrap_err().code,
            "E204"
        );
        assert_eq!(unescape(" a&amp;b&lt; "), "a&b<");
    }
}
