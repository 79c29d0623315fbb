//! Maximums on quantities and amounts (issue 11, item 4): out-of-range input
//! is refused naming its field, and extreme values that are accepted flow
//! through adjustment, the push plan, explain and the reports without an
//! error, a panic or a wrapped number.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use storesync_domain::limits::MAX_STOCK;
use storesync_store::shops::ShopSettingsPatch;
use storesync_store::{backend_test, PageRequest, StoreError, TransferRequest};

use super::ingest::one_listing;
use super::*;

fn adjust(change: StockChange, reason: &str) -> AdjustRequest {
    AdjustRequest {
        sku: sku("A"),
        location: None,
        change,
        reason: reason.into(),
        idempotency_key: None,
    }
}

/// The fields a validation error names, or a failure for any other outcome.
fn fields<T: std::fmt::Debug>(r: Result<T, StoreError>) -> Vec<String> {
    match r {
        Err(StoreError::Validation(v)) => v.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

backend_test! {
    async fn out_of_range_quantities_are_refused_naming_the_field(store) {
        let org = org_with_skus(&store, &["A"]).await;
        // The probe of the review: set to i64::MAX was accepted.
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Set(i64::MAX), "count"), &actor()).await), ["set"]);
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Set(MAX_STOCK + 1), "count"), &actor()).await), ["set"]);
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Delta(i64::MIN), "count"), &actor()).await), ["delta"]);
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Delta(i64::MAX), "count"), &actor()).await), ["delta"]);
        // In range on its own, but past the maximum once added.
        store.adjust_stock(org, &adjust(StockChange::Set(MAX_STOCK), "count"), &actor()).await.unwrap();
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Delta(1), "count"), &actor()).await), ["delta"]);
        assert_eq!(available(&store, org, "A").await, (MAX_STOCK, 0, MAX_STOCK));
        // NUL and invisible characters in a reason.
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Delta(-1), "a\0b"), &actor()).await), ["reason"]);
        assert_eq!(fields(store.adjust_stock(org, &adjust(StockChange::Delta(-1), "ok\u{202E}"), &actor()).await), ["reason"]);
        let transfer = TransferRequest {
            sku: sku("A"),
            from: "main".into(),
            to: "main".into(),
            quantity: i64::MAX,
            reason: None,
            idempotency_key: None,
        };
        assert_eq!(fields(store.transfer_stock(org, &transfer, &actor()).await), ["quantity"]);
        // The reports still answer.
        store.stock_levels(org, None, false, &PageRequest::default()).await.unwrap();
        store.attention(org).await.unwrap();
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn shop_settings_and_catalog_numbers_have_maximums(store) {
        let (org, shop) = one_listing(&store, 0).await;
        let patch = ShopSettingsPatch { buffer: Some(i64::MAX), cap: Some(Some(i64::MAX)), ..Default::default() };
        let mut got = fields(store.update_shop_settings(org, shop, &patch, &actor()).await);
        got.sort();
        assert_eq!(got, ["buffer", "cap"]);
        let mut v = variant("HEAVY", vec![]);
        v.price = idr(i64::MAX);
        v.weight_grams = Some(i64::MAX);
        v.low_stock_threshold = Some(i64::MAX);
        let mut got = fields(store.create_product(org, &storesync_store::NewProduct {
            name: "Heavy".into(), description: None, variants: vec![v],
        }, &actor()).await);
        got.sort();
        assert_eq!(got, ["variants[0].low_stock_threshold", "variants[0].price.amount", "variants[0].weight_grams"]);
        let bundle = variant("BIG-BUNDLE", vec![("A", i64::MAX)]);
        assert_eq!(fields(store.create_product(org, &storesync_store::NewProduct {
            name: "Bundle".into(), description: None, variants: vec![bundle],
        }, &actor()).await), ["variants[0].components[0].quantity"]);
        let name = storesync_store::NewProduct { name: "Kaos\0".into(), description: None, variants: vec![variant("N", vec![])] };
        assert_eq!(fields(store.create_product(org, &name, &actor()).await), ["name"]);
    }
}

/// Values at and beyond every edge, mixed with ordinary ones.
fn extreme() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-MAX_STOCK - 1),
        Just(-MAX_STOCK),
        Just(MAX_STOCK),
        Just(MAX_STOCK + 1),
        Just(0),
        -20..20i64,
        any::<i64>(),
    ]
}

#[derive(Debug, Clone)]
enum Step {
    Adjust(StockChange),
    Settings {
        percent: i64,
        buffer: i64,
        cap: Option<i64>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => extreme().prop_map(|n| Step::Adjust(StockChange::Delta(n))),
        3 => extreme().prop_map(|n| Step::Adjust(StockChange::Set(n))),
        1 => (extreme(), extreme(), proptest::option::of(extreme()))
            .prop_map(|(percent, buffer, cap)| Step::Settings { percent, buffer, cap }),
    ]
}

async fn run_steps(store: &Store, channel_stock: i64, steps: &[Step]) -> Result<(), TestCaseError> {
    let (org, shop) = one_listing(store, channel_stock).await;
    let fail = |e: StoreError| TestCaseError::fail(format!("{e:?}"));
    for s in steps {
        match s {
            Step::Adjust(change) => {
                match store
                    .adjust_stock(org, &adjust(*change, "count"), &actor())
                    .await
                {
                    Ok(r) => prop_assert!(
                        (0..=MAX_STOCK).contains(&r.level.on_hand) || r.level.on_hand < 0
                    ),
                    Err(StoreError::Validation(_) | StoreError::InsufficientStock(_)) => {}
                    Err(e) => return Err(fail(e)),
                }
            }
            Step::Settings {
                percent,
                buffer,
                cap,
            } => {
                let patch = ShopSettingsPatch {
                    allocation_percent: Some(*percent),
                    buffer: Some(*buffer),
                    cap: Some(*cap),
                    dry_run: None,
                };
                match store
                    .update_shop_settings(org, shop, &patch, &actor())
                    .await
                {
                    Ok(_) | Err(StoreError::Validation(_)) => {}
                    Err(e) => return Err(fail(e)),
                }
            }
        }
        // Propagate and explain: every target is a number a marketplace can
        // be sent, never a wrapped one.
        let plan = store.push_plan(org, shop).await.map_err(fail)?;
        for item in &plan {
            prop_assert!(
                (0..=MAX_STOCK).contains(&item.target),
                "target {}",
                item.target
            );
            let (_, explained) = store
                .explain_listing(org, item.listing_id)
                .await
                .map_err(fail)?;
            prop_assert!(explained.is_some());
        }
        // Reports: the SKU's page, the stock list (what the inventory page
        // and its CSV read) and the overview's attention list.
        let inv = store.inventory(org, &sku("A")).await.map_err(fail)?;
        prop_assert!(inv.totals.on_hand <= MAX_STOCK);
        store
            .stock_levels(org, None, false, &PageRequest::default())
            .await
            .map_err(fail)?;
        store.attention(org).await.map_err(fail)?;
    }
    let problems = store.verify_inventory(org).await.map_err(fail)?;
    prop_assert!(problems.is_empty(), "{:?}", problems);
    Ok(())
}

backend_test! {
    async fn extreme_values_flow_through_adjust_propagate_explain_and_reports(store) {
        let cases = std::env::var("STORESYNC_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12);
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let handle = tokio::runtime::Handle::current();
        let strategy = (extreme(), proptest::collection::vec(step(), 1..8));
        let result = tokio::task::block_in_place(|| {
            runner.run(&strategy, |(channel_stock, steps)| {
                handle.block_on(run_steps(&store, channel_stock, &steps))
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

backend_test! {
    async fn absurd_marketplace_amounts_do_not_break_the_sales_reports(store) {
        use storesync_domain::{OrderStatus, Timestamp};
        use storesync_store::ingest::Via;

        use super::ingest::{line, mp_order};

        let (org, shop) = one_listing(&store, 5).await;
        for id in ["SP-HUGE-1", "SP-HUGE-2"] {
            let mut l = line("100", "A", 1);
            l.unit_price = idr(i64::MAX);
            let mut o = mp_order(id, OrderStatus::ReadyToShip, vec![l]);
            o.total = Some(idr(i64::MAX));
            // Summed into the same hour: overflowed the rollup before.
            store.ingest_order(org, shop, storesync_domain::Marketplace::Shopee, &o, Via::Webhook, &actor()).await.unwrap();
        }
        let days = store
            .sales_by_day(org, Timestamp::from_millis(0), Timestamp::from_millis(86_400_000), 0)
            .await
            .unwrap();
        assert!(!days.is_empty());
        store.attention(org).await.unwrap();
    }
}
