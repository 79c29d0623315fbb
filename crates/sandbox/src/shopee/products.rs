//! Shopee product APIs: item list, base info, models, stock and price updates with Shopee's
//! batch caps and the promotion-reserved stock floor.

use serde_json::{json, Value};

use super::common::{money, secs, Call, Reply, ShopeeError, MAX_BATCH, MAX_PAGE_SIZE};
use crate::model::{Product, Shop, Variant};
use crate::sandbox::Sandbox;
use crate::util;

fn item_status(p: &Product) -> &'static str {
    if p.listed {
        "NORMAL"
    } else {
        "UNLIST"
    }
}

fn not_found() -> ShopeeError {
    ShopeeError::new("error_item_not_found", "Item not found.")
}

fn seller_stock(shop: &Shop, v: &Variant, with_saleable: bool) -> Value {
    Value::Array(
        shop.warehouses
            .iter()
            .map(|wh| {
                let stock = v.stock.get(wh).copied().unwrap_or(0);
                if with_saleable {
                    json!({"location_id": wh, "stock": stock, "if_saleable": true})
                } else {
                    json!({"location_id": wh, "stock": stock})
                }
            })
            .collect(),
    )
}

fn stock_info(shop: &Shop, v: &Variant, with_saleable: bool) -> Value {
    json!({
        "summary_info": {"total_reserved_stock": v.reserved, "total_available_stock": v.total()},
        "seller_stock": seller_stock(shop, v, with_saleable),
        "shopee_stock": [],
    })
}

fn price_info(shop: &Shop, v: &Variant) -> Value {
    json!([{
        "currency": shop.currency,
        "original_price": money(v.original_price_cents),
        "current_price": money(v.price_cents),
    }])
}

/// `GET /api/v2/product/get_item_list`.
pub(crate) fn get_item_list(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let offset = call
        .q_i64("offset")?
        .ok_or_else(|| ShopeeError::param("offset is required"))?;
    let page_size = call
        .q_i64("page_size")?
        .ok_or_else(|| ShopeeError::param("page_size is required"))?;
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ShopeeError::param("page_size should be between 1 and 100"));
    }
    if offset < 0 {
        return Err(ShopeeError::param("offset should not be negative"));
    }
    let statuses: Vec<&str> = util::all(&call.query, "item_status")
        .into_iter()
        .flat_map(|s| s.split(','))
        .collect();
    if statuses.is_empty() {
        return Err(ShopeeError::param("item_status is required"));
    }
    let from = call.q_i64("update_time_from")?;
    let to = call.q_i64("update_time_to")?;
    sb.with_world(|w, _| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| ShopeeError::new("error_shop", "shopid is invalid"))?;
        let mut items: Vec<&Product> = shop
            .products
            .iter()
            .filter_map(|id| w.products.get(id))
            .filter(|p| statuses.contains(&item_status(p)))
            .filter(|p| from.is_none_or(|f| secs(p.update_ms) >= f))
            .filter(|p| to.is_none_or(|t| secs(p.update_ms) <= t))
            .collect();
        items.sort_by_key(|p| p.id);
        let total = items.len() as i64;
        if offset > total {
            return Err(ShopeeError::new(
                "error_param",
                "offset over limit, please use the next field",
            ));
        }
        let page: Vec<Value> = items
            .iter()
            .skip(offset as usize)
            .take(page_size as usize)
            .map(|p| {
                json!({"item_id": p.id, "item_status": item_status(p),
                       "update_time": secs(p.update_ms), "tag": {"kit": false}})
            })
            .collect();
        let next = offset + page.len() as i64;
        Ok(Reply::Wrapped(
            json!({"item": page, "total_count": total, "has_next_page": next < total,
                   "next_offset": next}),
            String::new(),
        ))
    })
}

fn parse_id_list(raw: Option<&str>, name: &str) -> Result<Vec<u64>, ShopeeError> {
    let raw = raw.unwrap_or("");
    let ids: Result<Vec<u64>, _> = raw
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().parse::<u64>())
        .collect();
    let ids =
        ids.map_err(|_| ShopeeError::param(format!("{name} should be a list of integers")))?;
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(ShopeeError::param(format!(
            "the length of {name} should be between 1 and {MAX_BATCH}"
        )));
    }
    Ok(ids)
}

/// `GET /api/v2/product/get_item_base_info` (≤ 50 ids).
pub(crate) fn get_item_base_info(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let ids = parse_id_list(call.q("item_id_list"), "item_id_list")?;
    sb.with_world(|w, _| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| ShopeeError::new("error_shop", "shopid is invalid"))?;
        let list: Vec<Value> = ids
            .iter()
            .filter_map(|id| w.products.get(id))
            .filter(|p| p.shop_id == call.shop_id)
            .map(|p| {
                let mut item = json!({
                    "item_id": p.id, "category_id": 100_001, "item_name": p.name,
                    "item_sku": p.item_sku, "create_time": secs(p.create_ms),
                    "update_time": secs(p.update_ms), "item_status": item_status(p),
                    "has_model": p.has_variants, "weight": "0.5",
                    "dimension": {"package_length": 10, "package_width": 10, "package_height": 5},
                    "logistic_info": [], "pre_order": {"is_pre_order": false, "days_to_ship": 2},
                    "image": {"image_url_list": [], "image_id_list": []},
                    "brand": {"brand_id": 0, "original_brand_name": "NoBrand"},
                });
                if let (false, Some(v), Some(obj)) =
                    (p.has_variants, p.variants.first(), item.as_object_mut())
                {
                    obj.insert("price_info".to_owned(), price_info(shop, v));
                    obj.insert("stock_info_v2".to_owned(), stock_info(shop, v, false));
                }
                item
            })
            .collect();
        Ok(Reply::Wrapped(json!({"item_list": list}), String::new()))
    })
}

/// `GET /api/v2/product/get_model_list` (items without variants have no models).
pub(crate) fn get_model_list(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let item_id = call
        .q_i64("item_id")?
        .ok_or_else(|| ShopeeError::param("item_id is required"))?;
    sb.with_world(|w, _| {
        let shop = w.shop(call.shop_id).map_err(|_| ShopeeError::new("error_shop", "shopid is invalid"))?;
        let p = u64::try_from(item_id)
            .ok()
            .and_then(|id| w.products.get(&id))
            .filter(|p| p.shop_id == call.shop_id)
            .ok_or_else(not_found)?;
        if !p.has_variants {
            return Ok(Reply::Wrapped(json!({"tier_variation": [], "model": []}), String::new()));
        }
        let options: Vec<Value> = p.variants.iter().map(|v| json!({"option": v.name})).collect();
        let models: Vec<Value> = p
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({
                    "model_id": v.id, "tier_index": [i], "model_sku": v.seller_sku,
                    "model_status": "MODEL_NORMAL", "price_info": price_info(shop, v),
                    "stock_info_v2": stock_info(shop, v, true), "weight": "0.5",
                    "pre_order": {"is_pre_order": false, "days_to_ship": 2},
                })
            })
            .collect();
        Ok(Reply::Wrapped(
            json!({"tier_variation": [{"name": "Variation", "option_list": options}], "model": models}),
            String::new(),
        ))
    })
}

fn item_and_list<'a>(body: &'a Value, list: &str) -> Result<(u64, &'a Vec<Value>), ShopeeError> {
    let item_id = body
        .get("item_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| ShopeeError::param("item_id is required"))?;
    let entries = body
        .get(list)
        .and_then(Value::as_array)
        .ok_or_else(|| ShopeeError::param(format!("{list} is required")))?;
    if entries.is_empty() || entries.len() > MAX_BATCH {
        return Err(ShopeeError::param(format!(
            "the length of {list} should be between 1 and {MAX_BATCH}"
        )));
    }
    Ok((item_id, entries))
}

fn variant_of(p: &Product, model_id: u64) -> Option<&Variant> {
    if p.has_variants {
        p.variants.iter().find(|v| v.id == model_id)
    } else if model_id == 0 {
        p.variants.first()
    } else {
        None
    }
}

/// `POST /api/v2/product/update_stock` (1–50 models of one item; never below reserved stock).
pub(crate) fn update_stock(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let (item_id, entries) = item_and_list(&body, "stock_list")?;
    sb.with_world(|w, now| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| ShopeeError::new("error_shop", "shopid is invalid"))?
            .clone();
        let p = w
            .products
            .get(&item_id)
            .filter(|p| p.shop_id == call.shop_id)
            .ok_or_else(not_found)?
            .clone();
        let mut success = Vec::new();
        let mut failure = Vec::new();
        for e in entries {
            let model_id = e.get("model_id").and_then(Value::as_u64).unwrap_or(0);
            let fail = |reason: &str| json!({"model_id": model_id, "failed_reason": reason});
            let Some(v) = variant_of(&p, model_id) else {
                failure.push(fail("model_id is invalid"));
                continue;
            };
            let Some(stocks) = e.get("seller_stock").and_then(Value::as_array) else {
                failure.push(fail("seller_stock is required"));
                continue;
            };
            // Work out the new per-location stock before touching anything.
            let mut new_stock = v.stock.clone();
            let mut bad = None;
            for s in stocks {
                let loc = match s.get("location_id").and_then(Value::as_str) {
                    Some(l) if !l.is_empty() => l.to_owned(),
                    _ if shop.warehouses.len() == 1 => shop.warehouses[0].clone(),
                    _ => {
                        bad = Some("location_id is required for multi-warehouse shops");
                        break;
                    }
                };
                if !new_stock.contains_key(&loc) {
                    bad = Some("location_id is invalid");
                    break;
                }
                match s.get("stock").and_then(Value::as_i64) {
                    Some(n) if n >= 0 => {
                        new_stock.insert(loc, n);
                    }
                    _ => {
                        bad = Some("stock should be a non-negative integer");
                        break;
                    }
                }
            }
            if let Some(reason) = bad {
                failure.push(fail(reason));
                continue;
            }
            let total: i64 = new_stock.values().sum();
            if total < v.reserved {
                failure.push(fail("Total stock must be more than reserved stock."));
                continue;
            }
            let vid = v.id;
            for (loc, n) in &new_stock {
                if v.stock.get(loc) != Some(n) {
                    // Unknown locations were refused above, so this cannot fail.
                    let _ = w.set_stock(item_id, vid, loc, *n, now);
                }
                success.push(json!({"model_id": model_id, "location_id": loc, "stock": n}));
            }
        }
        let response = json!({"failure_list": failure, "success_list": success});
        if success.is_empty() {
            return Err(ShopeeError {
                response: Some(response),
                ..ShopeeError::new("error_busi_update_stock_failed", "Update stock failed.")
            });
        }
        let warning = if failure.is_empty() {
            String::new()
        } else {
            "Some models failed, see failure_list.".to_owned()
        };
        Ok(Reply::Wrapped(response, warning))
    })
}

/// `POST /api/v2/product/update_price` (1–50 models of one item).
pub(crate) fn update_price(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let (item_id, entries) = item_and_list(&body, "price_list")?;
    sb.with_world(|w, now| {
        let shop = w
            .shop(call.shop_id)
            .map_err(|_| ShopeeError::new("error_shop", "shopid is invalid"))?
            .clone();
        let integer_only = !matches!(
            shop.region.as_str(),
            "SG" | "MY" | "BR" | "MX" | "PL" | "ES" | "AR"
        );
        let p = w
            .products
            .get(&item_id)
            .filter(|p| p.shop_id == call.shop_id)
            .ok_or_else(not_found)?
            .clone();
        let mut success = Vec::new();
        let mut failure = Vec::new();
        for e in entries {
            let model_id = e.get("model_id").and_then(Value::as_u64).unwrap_or(0);
            let fail = |reason: &str| json!({"model_id": model_id, "failed_reason": reason});
            let Some(v) = variant_of(&p, model_id) else {
                failure.push(fail("model_id is invalid"));
                continue;
            };
            let Some(price) = e.get("original_price").and_then(Value::as_f64) else {
                failure.push(fail("original_price is required"));
                continue;
            };
            let cents = (price * 100.0).round() as i64;
            if price <= 0.0 || ((price * 100.0) - cents as f64).abs() > 1e-6 {
                failure.push(fail("original_price is invalid"));
                continue;
            }
            if integer_only && cents % 100 != 0 {
                failure.push(fail("original_price should be an integer in this region"));
                continue;
            }
            let vid = v.id;
            if let Some(v) = w.variant_mut(item_id, vid) {
                v.price_cents = cents;
                v.original_price_cents = cents;
            }
            success.push(json!({"model_id": model_id, "original_price": price}));
        }
        if let Some(p) = w.products.get_mut(&item_id) {
            p.update_ms = now.millis();
        }
        let response = json!({"failure_list": failure, "success_list": success});
        if success.is_empty() {
            return Err(ShopeeError {
                response: Some(response),
                ..ShopeeError::new("error_busi_update_price_failed", "Update price failed.")
            });
        }
        Ok(Reply::Wrapped(response, String::new()))
    })
}
