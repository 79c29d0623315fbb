//! TikTok product APIs: search (token paging), detail, inventory update (all warehouses of a SKU,
//! never below promotion-reserved stock: 12052393) and price update (decimal strings).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::common::{codes, encode_page_token, secs, sid, Call, TtError};
use crate::model::{Product, Shop, Variant};
use crate::sandbox::Sandbox;
use crate::util;

/// Inventory quantities TikTok accepts on update (the docs say [1, 99999]; 0 is accepted here
/// because sellers must be able to sell out — UNCONFIRMED in the fact sheet).
const MAX_QUANTITY: i64 = 99_999;

fn status(p: &Product) -> &'static str {
    if p.listed {
        "ACTIVATE"
    } else {
        "SELLER_DEACTIVATED"
    }
}

fn price(shop: &Shop, v: &Variant) -> Value {
    let amount = util::cents_to_decimal(v.price_cents, &shop.currency);
    json!({"currency": shop.currency, "sale_price": amount, "tax_exclusive_price": amount})
}

fn inventory(v: &Variant) -> Value {
    Value::Array(
        v.stock
            .iter()
            .map(|(wh, q)| json!({"warehouse_id": wh, "quantity": q}))
            .collect(),
    )
}

fn product_of<'a>(sb_world: &'a crate::model::World, call: &Call) -> Result<&'a Product, TtError> {
    call.param
        .parse::<u64>()
        .ok()
        .and_then(|id| sb_world.products.get(&id))
        .filter(|p| p.shop_id == call.shop_id)
        .ok_or_else(|| TtError::new(codes::PRODUCT_NOT_FOUND, "Product not found."))
}

fn time_filter(body: &Value, key: &str) -> Option<i64> {
    body.get(key).and_then(Value::as_i64)
}

/// `POST /product/202309/products/search`.
pub(crate) fn search(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    search_of_version(sb, call, false)
}

/// `POST /product/202502/products/search`: 202309's request plus the `sku_ids` filter (at most
/// 10) and `audit_status`; each product also carries `audit` and `has_draft`, each SKU its
/// `status_info`.
pub(crate) fn search_202502(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    search_of_version(sb, call, true)
}

/// Max `sku_ids` in a 202502 search.
const MAX_SKU_IDS: usize = 10;

fn search_of_version(sb: &Sandbox, call: &Call, v202502: bool) -> Result<Value, TtError> {
    let page_size = call.page_size()?;
    let offset = call.page_offset()?;
    let body = call.json()?;
    let want_status = body
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let skus: Option<Vec<String>> = body.get("seller_skus").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    if skus.as_ref().is_some_and(|s| s.len() > 100) {
        return Err(TtError::invalid(
            "Invalid seller_skus. At most 100 values are allowed.",
        ));
    }
    let sku_ids: Option<Vec<String>> = if v202502 {
        body.get("sku_ids").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    } else {
        None
    };
    if sku_ids.as_ref().is_some_and(|s| s.len() > MAX_SKU_IDS) {
        return Err(TtError::invalid(
            "Invalid sku_ids. At most 10 values are allowed.",
        ));
    }
    // Every sandbox product has passed audit.
    let audit_ok = !v202502
        || body
            .get("audit_status")
            .and_then(Value::as_array)
            .is_none_or(|a| a.iter().any(|s| s.as_str() == Some("APPROVED")));
    let (cge, cle) = (
        time_filter(&body, "create_time_ge"),
        time_filter(&body, "create_time_le"),
    );
    let (uge, ule) = (
        time_filter(&body, "update_time_ge"),
        time_filter(&body, "update_time_le"),
    );
    sb.with_world(|w, _| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| TtError::invalid("Invalid `shop_cipher`."))?;
        let mut hits: Vec<&Product> = shop
            .products
            .iter()
            .filter_map(|id| w.products.get(id))
            .filter(|p| match want_status.as_deref() {
                None | Some("ALL") | Some("") => true,
                Some(s) => status(p) == s,
            })
            .filter(|p| {
                skus.as_ref()
                    .is_none_or(|skus| p.variants.iter().any(|v| skus.contains(&v.seller_sku)))
            })
            .filter(|p| {
                sku_ids
                    .as_ref()
                    .is_none_or(|ids| p.variants.iter().any(|v| ids.contains(&sid(v.id))))
            })
            .filter(|_| audit_ok)
            .filter(|p| cge.is_none_or(|t| secs(p.create_ms) >= t))
            .filter(|p| cle.is_none_or(|t| secs(p.create_ms) <= t))
            .filter(|p| uge.is_none_or(|t| secs(p.update_ms) >= t))
            .filter(|p| ule.is_none_or(|t| secs(p.update_ms) <= t))
            .collect();
        hits.sort_by_key(|p| p.id);
        let total = hits.len();
        let page: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|p| {
                let mut product = json!({
                    "id": sid(p.id), "title": p.name, "status": status(p),
                    "skus": p.variants.iter().map(|v| {
                        let mut sku = json!({
                            "id": sid(v.id), "seller_sku": v.seller_sku, "price": price(shop, v),
                            "inventory": inventory(v),
                        });
                        if v202502 {
                            sku["status_info"] = json!({"status": "NORMAL"});
                        }
                        sku
                    }).collect::<Vec<_>>(),
                    "create_time": secs(p.create_ms), "update_time": secs(p.update_ms),
                    "sales_regions": [shop.region],
                });
                if v202502 {
                    product["audit"] = json!({"status": "APPROVED"});
                    product["has_draft"] = json!(false);
                }
                product
            })
            .collect();
        let next = offset + page.len();
        Ok(json!({
            "total_count": total,
            "next_page_token": if next < total { encode_page_token(next) } else { String::new() },
            "products": page,
        }))
    })
}

/// `GET /product/202309/products/{product_id}`.
pub(crate) fn get(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    sb.with_world(|w, _| {
        let shop = w.shop(call.shop_id).map_err(|_| TtError::invalid("Invalid `shop_cipher`."))?;
        let p = product_of(w, call)?;
        Ok(json!({
            "id": sid(p.id), "status": status(p), "title": p.name,
            "description": format!("<p>{}</p>", util::esc(&p.name)),
            // A product without a brand has no `brand` key: the spec types it as an object, so
            // clients whose models follow the spec cannot take a null there.
            "category_chains": [], "main_images": [],
            "package_dimensions": {"length": "10", "width": "10", "height": "5", "unit": "CENTIMETER"},
            "package_weight": {"value": "0.5", "unit": "KILOGRAM"},
            "skus": p.variants.iter().map(|v| json!({
                "id": sid(v.id), "seller_sku": v.seller_sku, "price": price(shop, v),
                "inventory": inventory(v),
                "sales_attributes": if p.has_variants {
                    json!([{"id": "100000", "name": "Variation", "value_id": sid(v.id), "value_name": v.name}])
                } else { json!([]) },
                "external_sku_id": "",
            })).collect::<Vec<_>>(),
            "create_time": secs(p.create_ms), "update_time": secs(p.update_ms),
            "is_cod_allowed": false, "audit": {"status": "APPROVED"},
        }))
    })
}

/// `POST /product/202309/products/{product_id}/inventory/update`. Each SKU is applied or refused
/// on its own; refusals are listed in `data.errors`, and if every SKU is refused the first
/// refusal becomes the answer's code.
pub(crate) fn update_inventory(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    let body = call.json()?;
    let skus = body
        .get("skus")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| TtError::invalid("Invalid skus. At least one SKU is required."))?
        .clone();
    sb.with_world(|w, now| {
        let p = product_of(w, call)?.clone();
        let mut errors = Vec::new();
        let mut applied = 0usize;
        for s in &skus {
            let sku_id = s.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            let err = |code: i64, msg: &str| {
                json!({"code": code, "message": msg, "detail": {"sku_id": sku_id, "extra_errors": []}})
            };
            let Some(v) = p.variants.iter().find(|v| sid(v.id) == sku_id) else {
                errors.push(err(codes::PRODUCT_NOT_FOUND, "The SKU does not belong to this product."));
                continue;
            };
            let Some(inv) = s.get("inventory").and_then(Value::as_array) else {
                errors.push(err(codes::REQUEST_INVALID, "inventory is required."));
                continue;
            };
            let mut new: BTreeMap<String, i64> = BTreeMap::new();
            let mut bad = None;
            for i in inv {
                let wh = match i.get("warehouse_id").and_then(Value::as_str) {
                    Some(wh) if !wh.is_empty() => wh.to_owned(),
                    _ if v.stock.len() == 1 => v.stock.keys().next().cloned().unwrap_or_default(),
                    _ => {
                        bad = Some((codes::REQUEST_INVALID, "warehouse_id is required."));
                        break;
                    }
                };
                if !v.stock.contains_key(&wh) {
                    bad = Some((codes::REQUEST_INVALID, "Invalid warehouse_id."));
                    break;
                }
                match i.get("quantity").and_then(Value::as_i64) {
                    Some(q) if (0..=MAX_QUANTITY).contains(&q) => {
                        new.insert(wh, q);
                    }
                    _ => {
                        bad = Some((codes::STOCK_INVALID, "The stock quantity is invalid."));
                        break;
                    }
                }
            }
            if bad.is_none() && new.len() != v.stock.len() {
                bad = Some((codes::REQUEST_INVALID, "All warehouses of the SKU must be listed."));
            }
            if let Some((code, msg)) = bad {
                errors.push(err(code, msg));
                continue;
            }
            let total: i64 = new.values().sum();
            if total < v.reserved {
                errors.push(err(
                    codes::STOCK_BELOW_PROMOTION,
                    "The product is in a promotion; stock cannot be updated below the promotion-reserved stock.",
                ));
                continue;
            }
            let vid = v.id;
            for (wh, q) in &new {
                // Warehouses were validated above, so this cannot fail.
                let _ = w.set_stock(p.id, vid, wh, *q, now);
            }
            applied += 1;
        }
        if applied == 0 {
            let first = errors.first().cloned().unwrap_or(Value::Null);
            let code = first.get("code").and_then(Value::as_i64).unwrap_or(codes::REQUEST_INVALID);
            let message = first.get("message").and_then(Value::as_str).unwrap_or("Update failed.").to_owned();
            return Err(TtError {
                data: Some(json!({"errors": errors})),
                ..TtError::new(code, message)
            });
        }
        if errors.is_empty() {
            Ok(json!({}))
        } else {
            Ok(json!({"errors": errors}))
        }
    })
}

/// `POST /product/202309/products/{product_id}/prices/update` (product `ACTIVATE`, no running
/// promotion).
pub(crate) fn update_price(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    let body = call.json()?;
    let skus = body
        .get("skus")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| TtError::invalid("Invalid skus. At least one SKU is required."))?
        .clone();
    sb.with_world(|w, now| {
        let currency = w
            .shop(call.shop_id)
            .map(|s| s.currency.clone())
            .unwrap_or_default();
        let p = product_of(w, call)?.clone();
        if !p.listed {
            return Err(TtError::invalid(
                "The product must be ACTIVATE to update prices.",
            ));
        }
        if p.variants.iter().any(|v| v.reserved > 0) {
            return Err(TtError::new(
                codes::PRICE_LOCKED_BY_PROMOTION,
                "The price is locked because the product is in a running promotion.",
            ));
        }
        let mut updates = Vec::new();
        for s in &skus {
            let sku_id = s.get("id").and_then(Value::as_str).unwrap_or("");
            let v = p
                .variants
                .iter()
                .find(|v| sid(v.id) == sku_id)
                .ok_or_else(|| {
                    TtError::new(
                        codes::PRODUCT_NOT_FOUND,
                        "The SKU does not belong to this product.",
                    )
                })?;
            let pr = s
                .get("price")
                .ok_or_else(|| TtError::invalid("price is required."))?;
            let amount = pr
                .get("amount")
                .and_then(Value::as_str)
                .and_then(util::parse_decimal_cents)
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    TtError::invalid("Invalid price amount. It must be a decimal string.")
                })?;
            if pr.get("currency").and_then(Value::as_str) != Some(currency.as_str()) {
                return Err(TtError::invalid("Invalid currency for this shop."));
            }
            updates.push((v.id, amount));
        }
        for (vid, cents) in updates {
            if let Some(v) = w.variant_mut(p.id, vid) {
                v.price_cents = cents;
                v.original_price_cents = cents;
            }
        }
        if let Some(p) = w.products.get_mut(&p.id) {
            p.update_ms = now.millis();
        }
        Ok(json!({}))
    })
}
