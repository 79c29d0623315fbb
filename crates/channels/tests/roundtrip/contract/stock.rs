//! Stock updates: per-item refusals (below reserved stock, unknown listing
//! or variant) are results in input order, never a call failure, and the
//! rest of the call still applies; exactly the reserved amount is allowed.

use serde_json::json;
use storesync_channels::{
    Channel, ExtVariantId, FailureReason, ListingId, StockUpdate, UpdateOutcome, UpdateResult,
};

use crate::harness::{Env, Harness};

fn update(ids: (ListingId, ExtVariantId), quantity: u32) -> StockUpdate {
    StockUpdate {
        listing_id: ids.0,
        variant_id: ids.1,
        warehouse_id: None,
        quantity,
    }
}

/// The refusal's reason and code, or `None` when the update applied.
fn refusal(result: &UpdateResult) -> Option<(FailureReason, String)> {
    match &result.outcome {
        UpdateOutcome::Applied => None,
        UpdateOutcome::Rejected(f) => Some((f.reason, f.code.clone())),
        UpdateOutcome::CallFailed(f) => panic!("the call failed: {f:?}"),
    }
}

fn assert_refused(result: &UpdateResult, reason: FailureReason, code: Option<&str>) {
    let (got, got_code) = refusal(result).unwrap_or_else(|| panic!("{result:?} was refused"));
    assert_eq!(got, reason, "{result:?}");
    if let Some(code) = code {
        assert_eq!(got_code, code, "{result:?}");
    }
}

pub async fn stock_below_reserved_is_refused_per_item_and_the_rest_applies<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(json!({"name": "Promo shop", "products": [
        {"name": "Kaos", "variants": [
            {"seller_sku": "KAOS-M", "price": "10.00", "stock": 20, "reserved": 5},
            {"seller_sku": "KAOS-L", "price": "10.00", "stock": 20}]},
        {"name": "Promo mug", "item_sku": "MUG-P", "price": "5.00", "stock": 9}]}));
    // A campaign reserves 8 mugs after the listing was created.
    env.sb().set_reservation(view.shop_id, "MUG-P", 8).unwrap();
    let ids = |sku: &str| H::variant_ref(&view, sku);
    let total = |sku: &str| env.sb().listing(view.shop_id, sku).unwrap().total_stock;

    // Two below their reservation, one fine: the call succeeds, two results are refusals.
    let results = env
        .client
        .update_stock(
            &creds,
            &[
                update(ids("KAOS-M"), 4),
                update(ids("KAOS-L"), 3),
                update(ids("MUG-P"), 2),
            ],
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_refused(
        &results[0],
        FailureReason::BelowReservedStock,
        H::BELOW_RESERVED_CODE,
    );
    assert_eq!(results[1].outcome, UpdateOutcome::Applied);
    assert_refused(
        &results[2],
        FailureReason::BelowReservedStock,
        H::BELOW_RESERVED_CODE,
    );
    assert_eq!(total("KAOS-M"), 20, "refused: unchanged");
    assert_eq!(total("KAOS-L"), 3);
    assert_eq!(total("MUG-P"), 9, "refused: unchanged");

    // Exactly the reserved amount is allowed.
    let results = env
        .client
        .update_stock(&creds, &[update(ids("KAOS-M"), 5)])
        .await
        .unwrap();
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_eq!(total("KAOS-M"), 5);

    // Every update of a call refused: still results, not an `Err`.
    let results = env
        .client
        .update_stock(&creds, &[update(ids("MUG-P"), 2)])
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    assert_refused(&results[0], FailureReason::BelowReservedStock, None);
    assert_eq!(total("MUG-P"), 9);
}

pub async fn unknown_listings_and_variants_are_refused_per_update_while_the_rest_applies<
    H: Harness,
>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(json!({"name": "Lion Tees", "products": [
        {"name": "Tee", "variants": [
            {"seller_sku": "TEE-M", "price": "19.90", "stock": 10},
            {"seller_sku": "TEE-L", "price": "21.50", "stock": 4}]},
        {"name": "Cap", "item_sku": "CAP-1", "price": "9.00", "stock": 3}]}));
    let ids = |sku: &str| H::variant_ref(&view, sku);
    let (unknown_listing, unknown_variant) = H::UNKNOWN_IDS;
    let (tee, _) = ids("TEE-M");
    let results = env
        .client
        .update_stock(
            &creds,
            &[
                update(ids("TEE-M"), 6),
                update(
                    (
                        ListingId::new(unknown_listing),
                        ExtVariantId::new(unknown_variant),
                    ),
                    1,
                ),
                update((tee, ExtVariantId::new(unknown_variant)), 1),
                update(ids("CAP-1"), 7),
            ],
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].outcome, UpdateOutcome::Applied);
    assert_refused(&results[1], FailureReason::NotFound, H::NOT_FOUND_CODE);
    assert_refused(&results[2], H::UNKNOWN_VARIANT_REASON, None);
    assert_eq!(results[3].outcome, UpdateOutcome::Applied);
    assert_eq!(
        results[1].listing_id.as_str(),
        unknown_listing,
        "results follow the input"
    );
    let total = |sku: &str| env.sb().listing(view.shop_id, sku).unwrap().total_stock;
    assert_eq!(total("TEE-M"), 6);
    assert_eq!(total("TEE-L"), 4);
    assert_eq!(total("CAP-1"), 7);
}

pub async fn a_throttled_call_of_a_stock_update_keeps_what_the_other_calls_applied<H: Harness>() {
    // 52 SKUs over two products: more than one call on every marketplace
    // (Shopee ≤ 50 models and TikTok Shop one product per call, Lazada ≤ 50
    // SKUs). One call a second gets through; the rest are throttled.
    let env = Env::<H>::start().await;
    let variants: Vec<_> = (0..51)
        .map(|i| json!({"seller_sku": format!("KAOS-{i}"), "price": "10.00", "stock": 20}))
        .collect();
    let (view, creds, _) = env.shop(json!({"name": "Busy shop", "products": [
        {"name": "Kaos", "variants": variants},
        {"name": "Cap", "item_sku": "CAP-1", "price": "9.00", "stock": 20}]}));
    let mut skus: Vec<String> = (0..51).map(|i| format!("KAOS-{i}")).collect();
    skus.push("CAP-1".into());
    env.sb().set_faults(storesync_sandbox::FaultConfig {
        rate_limit_qps: Some(1),
        ..storesync_sandbox::FaultConfig::default()
    });
    let updates: Vec<StockUpdate> = skus
        .iter()
        .map(|s| update(H::variant_ref(&view, s), 7))
        .collect();
    let results = env.client.update_stock(&creds, &updates).await.unwrap();
    env.sb()
        .set_faults(storesync_sandbox::FaultConfig::default());
    assert_eq!(results.len(), skus.len());
    let (mut applied, mut failed) = (0, 0);
    for ((sku, u), r) in skus.iter().zip(&updates).zip(&results) {
        assert_eq!(
            (&r.listing_id, &r.variant_id),
            (&u.listing_id, &u.variant_id),
            "results follow the input"
        );
        let total = env.sb().listing(view.shop_id, sku).unwrap().total_stock;
        match &r.outcome {
            UpdateOutcome::Applied => {
                applied += 1;
                assert_eq!(total, 7, "{sku} applied");
            }
            UpdateOutcome::CallFailed(f) => {
                failed += 1;
                assert!(
                    !f.may_have_applied,
                    "a throttled call changed nothing: {f:?}"
                );
                assert_eq!(total, 20, "{sku} was not applied");
            }
            UpdateOutcome::Rejected(f) => panic!("{sku} refused: {f:?}"),
        }
    }
    assert!(
        applied > 0 && failed > 0,
        "{applied} applied, {failed} failed"
    );
}
