//! Property-based state-machine test: random sequences of stock operations
//! run against the store and against a plain in-memory reference model; after
//! every step both must agree, and the ledger invariants must hold.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use storesync_domain::ids::{OrderId, OrgId};
use storesync_domain::OrderStatus;
use storesync_store::{backend_test, OrderTransition, StoreError};

use super::*;

const SKUS: [&str; 3] = ["P0", "P1", "P2"];

#[derive(Debug, Clone)]
enum Op {
    Receive { sku: usize, qty: i64 },
    Set { sku: usize, qty: i64 },
    Reserve { lines: Vec<(usize, i64)> },
    Cancel { order: usize },
    Ship { order: usize },
    Return { order: usize, restock: bool },
    ReplayLastAdjustment,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize, 1..15i64).prop_map(|(sku, qty)| Op::Receive { sku, qty }),
        1 => (0..3usize, 0..20i64).prop_map(|(sku, qty)| Op::Set { sku, qty }),
        4 => proptest::sample::subsequence(vec![0usize, 1, 2], 1..=2)
            .prop_flat_map(|skus| {
                let n = skus.len();
                (Just(skus), proptest::collection::vec(1..6i64, n))
            })
            .prop_map(|(skus, qtys)| Op::Reserve { lines: skus.into_iter().zip(qtys).collect() }),
        2 => (0..8usize).prop_map(|order| Op::Cancel { order }),
        2 => (0..8usize).prop_map(|order| Op::Ship { order }),
        1 => (0..8usize, any::<bool>()).prop_map(|(order, restock)| Op::Return { order, restock }),
        1 => Just(Op::ReplayLastAdjustment),
    ]
}

/// An order as the model knows it: id, (SKU index, quantity) lines, status.
type ModelOrder = (OrderId, Vec<(usize, i64)>, OrderStatus);

#[derive(Default)]
struct Model {
    levels: HashMap<usize, (i64, i64)>,
    orders: Vec<ModelOrder>,
}

impl Model {
    fn level(&mut self, sku: usize) -> &mut (i64, i64) {
        self.levels.entry(sku).or_default()
    }
}

async fn run_case(store: &Store, org: OrgId, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    let mut last_adjust: Option<AdjustRequest> = None;
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Receive { sku: s, qty } | Op::Set { sku: s, qty } => {
                let change = if matches!(op, Op::Receive { .. }) {
                    StockChange::Delta(*qty)
                } else {
                    StockChange::Set(*qty)
                };
                let req = AdjustRequest {
                    sku: sku(SKUS[*s]),
                    location: None,
                    change,
                    reason: "model".into(),
                    idempotency_key: Some(format!("step-{step}")),
                };
                let result = store.adjust_stock(org, &req, &actor()).await;
                let (on_hand, reserved) = *model.level(*s);
                let target = match change {
                    StockChange::Delta(d) => on_hand + d,
                    StockChange::Set(n) => n,
                };
                if target >= reserved || target >= on_hand {
                    let r = result
                        .map_err(|e| TestCaseError::fail(format!("step {step} {op:?}: {e:?}")))?;
                    prop_assert!(!r.replayed);
                    model.level(*s).0 = target;
                    last_adjust = Some(req);
                } else {
                    prop_assert!(
                        matches!(result, Err(StoreError::InsufficientStock(_))),
                        "step {step} {op:?}: {result:?}"
                    );
                }
            }
            Op::ReplayLastAdjustment => {
                if let Some(req) = &last_adjust {
                    let r = store
                        .adjust_stock(org, req, &actor())
                        .await
                        .map_err(|e| TestCaseError::fail(format!("replay: {e:?}")))?;
                    prop_assert!(r.replayed, "replay not reported");
                }
            }
            Op::Reserve { lines } => {
                let o = order(
                    &format!("m-{step}"),
                    &lines
                        .iter()
                        .map(|(s, q)| (SKUS[*s], *q))
                        .collect::<Vec<_>>(),
                );
                let result = store.create_order(org, &o, &actor()).await;
                let enough = lines.iter().all(|(s, q)| {
                    let (on_hand, reserved) = model.levels.get(s).copied().unwrap_or_default();
                    on_hand - reserved >= *q
                });
                if enough {
                    let created = result
                        .map_err(|e| TestCaseError::fail(format!("step {step} {op:?}: {e:?}")))?;
                    for (s, q) in lines {
                        model.level(*s).1 += q;
                    }
                    model
                        .orders
                        .push((created.order.id, lines.clone(), OrderStatus::ReadyToShip));
                } else {
                    prop_assert!(
                        matches!(result, Err(StoreError::InsufficientStock(_))),
                        "step {step} {op:?}: {result:?}"
                    );
                }
            }
            Op::Cancel { order: i } | Op::Ship { order: i } | Op::Return { order: i, .. } => {
                if model.orders.is_empty() {
                    continue;
                }
                let i = i % model.orders.len();
                let (id, lines, status) = model.orders[i].clone();
                let transition = match op {
                    Op::Cancel { .. } => OrderTransition::Cancel {
                        reason: "model".into(),
                    },
                    Op::Ship { .. } => OrderTransition::Ship {
                        carrier: "c".into(),
                        tracking_number: "t".into(),
                    },
                    Op::Return { restock, .. } => OrderTransition::Return { restock: *restock },
                    _ => unreachable!(),
                };
                let result = store.transition_order(org, id, &transition, &actor()).await;
                use OrderStatus::*;
                let expected: Result<Option<OrderStatus>, ()> = match (&transition, status) {
                    (OrderTransition::Cancel { .. }, ReadyToShip) => Ok(Some(Cancelled)),
                    (OrderTransition::Cancel { .. }, Cancelled) => Ok(None),
                    (OrderTransition::Cancel { .. }, _) => Err(()),
                    (OrderTransition::Ship { .. }, ReadyToShip) => Ok(Some(Shipped)),
                    (OrderTransition::Ship { .. }, Shipped | Returned) => Ok(None),
                    (OrderTransition::Ship { .. }, _) => Err(()),
                    (OrderTransition::Return { .. }, Shipped) => Ok(Some(Returned)),
                    (OrderTransition::Return { .. }, Returned) => Ok(None),
                    (OrderTransition::Return { .. }, _) => Err(()),
                    _ => unreachable!(),
                };
                match expected {
                    Err(()) => prop_assert!(
                        matches!(result, Err(StoreError::IllegalTransition(_))),
                        "step {step} {op:?} from {status}: {result:?}"
                    ),
                    Ok(None) => {
                        let r = result.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        prop_assert!(!r.changed);
                    }
                    Ok(Some(to)) => {
                        let r = result.map_err(|e| {
                            TestCaseError::fail(format!("step {step} {op:?}: {e:?}"))
                        })?;
                        prop_assert!(r.changed);
                        for (s, q) in &lines {
                            let level = model.level(*s);
                            match to {
                                Cancelled => level.1 -= q,
                                Shipped => {
                                    level.0 -= q;
                                    level.1 -= q;
                                }
                                Returned
                                    if matches!(
                                        transition,
                                        OrderTransition::Return { restock: true }
                                    ) =>
                                {
                                    level.0 += q
                                }
                                _ => {}
                            }
                        }
                        model.orders[i].2 = to;
                    }
                }
            }
        }
        for (i, name) in SKUS.iter().enumerate() {
            let (on_hand, reserved) = model.levels.get(&i).copied().unwrap_or_default();
            let got = available(store, org, name).await;
            prop_assert_eq!(
                got,
                (on_hand, reserved, on_hand - reserved),
                "after step {} {:?} for {}",
                step,
                op,
                name
            );
        }
    }
    let problems = store
        .verify_inventory(org)
        .await
        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert!(problems.is_empty(), "{:?}", problems);
    Ok(())
}

backend_test! {
    async fn random_operation_sequences_match_the_reference_model(store) {
        let cases = std::env::var("STORESYNC_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24);
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let handle = tokio::runtime::Handle::current();
        let result = tokio::task::block_in_place(|| {
            runner.run(&proptest::collection::vec(op(), 1..40), |ops| {
                handle.block_on(async {
                    let org = org_with_skus(&store, &SKUS).await;
                    run_case(&store, org, &ops).await
                })
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
