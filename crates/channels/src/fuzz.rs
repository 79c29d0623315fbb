//! Property-based fuzzing of every parser of marketplace text: webhook
//! bodies, and the responses the clients map (orders, listings, errors).
//! Marketplace bytes are input we do not control, so each parser must be
//! total: it may refuse, never panic.
//!
//! Two kinds of input: arbitrary bytes (and strings) straight into the
//! parsers, and known-good payloads with their leaves replaced by
//! arbitrary values (any string, any number, null, a bool), which get past
//! the JSON decoder into the mapping code where slicing, arithmetic and
//! time parsing live.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::Config;
use reqwest::StatusCode;
use serde_json::Value;
use storesync_domain::time::ManualClock;
use storesync_domain::{Currency, Timestamp};

use crate::channel::Channel;
use crate::lazada::{LazadaClient, LazadaConfig, Venture};
use crate::shopee::{ShopeeClient, ShopeeConfig};
use crate::tiktok::{TikTokClient, TikTokConfig};
use crate::{lazada, shopee, tiktok, Secret};

const SHOPEE_PUSH: &str = r#"{"data":{"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"","update_time":1660123127,"items":[]},"shop_id":727720655,"code":3,"timestamp":1660123127}"#;
const SHOPEE_ORDER: &str = r#"{"order_sn":"220810QSK8S7BX","region":"MY","currency":"MYR","cod":false,
    "order_status":"READY_TO_SHIP","create_time":1660000000,"update_time":1660123127,
    "pay_time":1660000100,"total_amount":39.98,
    "item_list":[{"item_id":1000,"item_name":"Tee","item_sku":"TEE","model_id":3456,"model_name":"Red,M",
       "model_sku":"TEE-RED-M","model_quantity_purchased":1,"model_original_price":21.5,
       "model_discounted_price":19.99,"order_item_id":1}],
    "package_list":[{"package_number":"OFG1234567","logistics_status":"LOGISTICS_READY",
       "shipping_carrier":"SPX","item_list":[]}]}"#;
const SHOPEE_ITEM: &str = r#"{"item_id":1000,"item_name":"Mug","item_sku":"MUG-1","item_status":"NORMAL",
    "update_time":1700000000,"has_model":true,
    "price_info":[{"currency":"SGD","original_price":11.11,"current_price":9.99}],
    "stock_info_v2":{"summary_info":{"total_reserved_stock":2,"total_available_stock":10},
      "seller_stock":[{"location_id":"SGZ","stock":10}]}}"#;
const SHOPEE_MODELS: &str = r#"{"tier_variation":[],"model":[
    {"model_id":1,"tier_index":[0],"model_sku":"TEE-S","model_status":"MODEL_NORMAL",
     "price_info":[{"currency":"SGD","current_price":19.99,"original_price":19.99}],
     "stock_info_v2":{"seller_stock":[{"stock":4}]}}]}"#;
const TIKTOK_WEBHOOK: &str = r#"{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576486316948490001","order_status":"UNPAID","is_on_hold_order":false,"update_time":1644412885}}"#;
const TIKTOK_ORDER: &str = r#"{"id":"576486316948490001","status":"AWAITING_SHIPMENT","create_time":1700000000,
    "update_time":1700000100,"paid_time":1700000050,"user_id":"1",
    "payment":{"currency":"IDR","sub_total":"30000","shipping_fee":"0","total_amount":"30000.50"},
    "packages":[{"id":"1152921504606846977"}],
    "line_items":[{"id":"L1","sku_id":"1729592969712272549","product_id":"1729592969712207013",
       "product_name":"Kaos","sku_name":"Merah, M","seller_sku":"KAOS-M","sale_price":"15000.25",
       "original_price":"20000","currency":"IDR","package_id":"1152921504606846977",
       "package_status":"TO_FULFILL","tracking_number":"","shipping_provider_name":"J&T"}],
    "tracking_number":"JT123","is_buyer_request_cancel":false,"commerce_platform":"TIKTOK_SHOP"}"#;
const TIKTOK_PRODUCT: &str = r#"{"id":"1729592969712207013","title":"Kaos","status":"ACTIVATE","update_time":1700000000,
    "skus":[{"id":"1729592969712272549","seller_sku":"KAOS-M",
      "price":{"currency":"USD","sale_price":"1.32","tax_exclusive_price":"1.20"},
      "inventory":[{"warehouse_id":"7068517275539719942","quantity":999}]}]}"#;
const LAZADA_PUSH: &str = r#"{"seller_id":"1001","message_type":0,"data":{"order_status":"canceled","trade_order_id":"260422900198363","trade_order_line_id":"260422900298363","status_update_time":1603698638},"timestamp":1603766859530,"site":"LAZADA_SG"}"#;
const LAZADA_ITEMS: &str = r#"[{"order_item_id":11,"order_id":1,"status":"packed","name":"Tee","sku":"TEE-M","sku_id":55,
    "product_id":"77","variation":"M","paid_price":"9.90","item_price":10.0,"currency":"SGD",
    "shipment_provider":"LEX","tracking_code":"LX1","package_id":"FP1",
    "created_at":"2024-01-01 10:00:00 +0800","updated_at":"2024-01-01 11:00:00 +0800","reason":"x"}]"#;
const LAZADA_PRODUCT: &str = r#"{"item_id":1,"status":"Active","updated_time":"1700000000000",
    "attributes":{"name":"Baju"},"skus":[{"SkuId":70,"SellerSku":"BAJU","quantity":3,"Available":3,"price":12.5,
    "multiWarehouseInventories":[{"warehouseCode":"dropshipping","sellableQuantity":3,"quantity":3}]}]}"#;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)))
}

/// The three clients, pointed nowhere: only their parsers are used.
fn clients() -> Vec<Box<dyn Channel>> {
    let base = "http://127.0.0.1:9";
    let mut out: Vec<Box<dyn Channel>> = Vec::new();
    if let Ok(c) = ShopeeClient::new(
        ShopeeConfig::new(1, Secret::new("k".to_owned())).with_base_url(base),
        clock(),
    ) {
        out.push(Box::new(c));
    }
    if let Ok(c) = TikTokClient::new(
        TikTokConfig::new("a", Secret::new("s".to_owned()), "svc").with_base_url(base),
        clock(),
    ) {
        out.push(Box::new(c));
    }
    if let Ok(c) = LazadaClient::new(
        LazadaConfig::new("a", Secret::new("s".to_owned()), Venture::Sg).with_base_url(base),
        clock(),
    ) {
        out.push(Box::new(c));
    }
    assert_eq!(out.len(), 3, "every client builds");
    out
}

/// A leaf value a marketplace could send where we expect another.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::from),
        // Times, offsets and amounts with multi-byte characters mixed in.
        "[0-9 :+.é日-]{0,30}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        Just(Value::Array(Vec::new())),
    ]
}

/// Replaces the leaves of `value` whose position (in depth-first order,
/// modulo their count) is listed in `edits`.
fn mutate(value: &mut Value, edits: &[(usize, Value)]) {
    fn count(v: &Value) -> usize {
        match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 1,
        }
    }
    fn set(v: &mut Value, index: &mut usize, target: usize, new: &Value) -> bool {
        match v {
            Value::Array(a) => a.iter_mut().any(|x| set(x, index, target, new)),
            Value::Object(o) => o.values_mut().any(|x| set(x, index, target, new)),
            leaf => {
                if *index == target {
                    *leaf = new.clone();
                    return true;
                }
                *index += 1;
                false
            }
        }
    }
    let leaves = count(value).max(1);
    for (at, new) in edits {
        let mut index = 0;
        set(value, &mut index, at % leaves, new);
    }
}

fn mutated(sample: &str, edits: &[(usize, Value)]) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(sample).unwrap_or(Value::Null);
    mutate(&mut v, edits);
    serde_json::to_vec(&v).unwrap_or_default()
}

fn edits() -> impl Strategy<Value = Vec<(usize, Value)>> {
    proptest::collection::vec((any::<usize>(), leaf()), 1..6)
}

fn config() -> Config {
    let cases = std::env::var("STORESYNC_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(512);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn sgd() -> Currency {
    "SGD".parse().unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn webhook_parsers_are_total_over_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        for c in clients() {
            let _ = c.parse_webhook(&body);
        }
    }

    #[test]
    fn webhook_parsers_are_total_over_mutated_pushes(e in edits()) {
        let cs = clients();
        let _ = cs[0].parse_webhook(&mutated(SHOPEE_PUSH, &e));
        let _ = cs[1].parse_webhook(&mutated(TIKTOK_WEBHOOK, &e));
        let _ = cs[2].parse_webhook(&mutated(LAZADA_PUSH, &e));
    }

    #[test]
    fn response_mappers_are_total_over_mutated_answers(e in edits()) {
        if let Ok(d) = serde_json::from_slice::<shopee::wire::OrderDetail>(&mutated(SHOPEE_ORDER, &e)) {
            let _ = shopee::map::order(&d);
        }
        if let Ok(item) = serde_json::from_slice::<shopee::wire::ItemBase>(&mutated(SHOPEE_ITEM, &e)) {
            let models = serde_json::from_slice::<shopee::wire::ModelList>(&mutated(SHOPEE_MODELS, &e)).ok();
            let _ = shopee::map::listing(&item, models.as_ref());
        }
        if let Ok(o) = serde_json::from_slice::<tiktok::wire::Order>(&mutated(TIKTOK_ORDER, &e)) {
            let _ = tiktok::map::order(&o);
        }
        if let Ok(p) = serde_json::from_slice::<tiktok::wire::Product>(&mutated(TIKTOK_PRODUCT, &e)) {
            let _ = tiktok::map::listing(&p);
        }
        if let Ok(items) = serde_json::from_slice::<Vec<lazada::wire::OrderItem>>(&mutated(LAZADA_ITEMS, &e)) {
            let _ = lazada::map::order("1", &items, sgd());
        }
        if let Ok(p) = serde_json::from_slice::<lazada::wire::Product>(&mutated(LAZADA_PRODUCT, &e)) {
            let _ = lazada::map::listing(&p, sgd());
        }
    }

    #[test]
    fn text_parsers_are_total(code in any::<String>(), message in any::<String>(), n in any::<i64>(), status in 100u16..600) {
        let http = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        let _ = shopee::map::classify_error(&code, &message, http, None);
        let _ = shopee::map::failure_reason(&message);
        let _ = shopee::map::order_status(&code);
        let _ = tiktok::map::classify_error(n, &message, http, None);
        let _ = tiktok::map::failure_reason(n, &message);
        let _ = tiktok::map::order_status(&code);
        let _ = lazada::map::classify_error(&code, &message, http, None);
        let _ = lazada::map::failure_reason(&code, &message);
        let _ = lazada::map::parse_time(&message);
        let _ = lazada::map::push_time(n);
        let _ = lazada::map::item_status(&code);
    }

    #[test]
    fn lazada_times_with_multibyte_offsets_do_not_panic(offset in "[+0-9é日]{1,5}") {
        let _ = lazada::map::parse_time(&format!("2018-02-05 13:40:22 {offset}"));
    }
}
