//! Integration tests of the store; every test runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a panic is a failed test.

mod accounts;
mod catalog;
mod inbox;
mod ingest;
mod inventory;
mod jobs;
mod limits;
mod model;
mod orders;
mod race;
mod shops;
mod signin;
mod tenancy;

use storesync_domain::ids::OrgId;
use storesync_domain::{Money, Sku};
use storesync_store::{
    Actor, AdjustRequest, BundleComponentInput, NewOrder, NewOrderLine, NewProduct, NewVariant,
    StockChange, Store,
};

pub fn sku(s: &str) -> Sku {
    s.parse().unwrap()
}

pub fn idr(amount: i64) -> Money {
    Money::new(amount, "IDR".parse().unwrap())
}

pub fn actor() -> Actor {
    Actor::system("test")
}

/// A new organization with a product of plain variants `skus` (price 1000).
pub async fn org_with_skus(store: &Store, skus: &[&str]) -> OrgId {
    let slug = format!("org-{}", &uuid_suffix());
    let org = store.create_org(&slug, "Test Org", &actor()).await.unwrap();
    let variants = skus.iter().map(|s| variant(s, vec![])).collect();
    store
        .create_product(
            org.id,
            &NewProduct {
                name: "Test product".into(),
                description: None,
                variants,
            },
            &actor(),
        )
        .await
        .unwrap();
    org.id
}

pub fn uuid_suffix() -> String {
    storesync_domain::ids::OrgId::new().to_string()[24..].to_owned()
}

pub fn variant(s: &str, components: Vec<(&str, i64)>) -> NewVariant {
    NewVariant {
        sku: sku(s),
        name: None,
        price: idr(1000),
        barcode: None,
        weight_grams: None,
        allow_backorder: false,
        low_stock_threshold: None,
        components: components
            .into_iter()
            .map(|(s, q)| BundleComponentInput {
                sku: sku(s),
                quantity: q,
            })
            .collect(),
    }
}

pub async fn receive(store: &Store, org: OrgId, s: &str, qty: i64) {
    store
        .adjust_stock(
            org,
            &AdjustRequest {
                sku: sku(s),
                location: None,
                change: StockChange::Delta(qty),
                reason: "received".into(),
                idempotency_key: None,
            },
            &actor(),
        )
        .await
        .unwrap();
}

pub fn order(external_id: &str, lines: &[(&str, i64)]) -> NewOrder {
    NewOrder {
        channel: "manual".into(),
        external_id: external_id.into(),
        currency: "IDR".parse().unwrap(),
        lines: lines
            .iter()
            .map(|(s, q)| NewOrderLine {
                sku: sku(s),
                quantity: *q,
                unit_price: idr(1000),
            })
            .collect(),
        customer: None,
        status: None,
        shipping_fee: None,
        discount: None,
        total: None,
        placed_at: None,
        note: None,
    }
}

pub async fn available(store: &Store, org: OrgId, s: &str) -> (i64, i64, i64) {
    let inv = store.inventory(org, &sku(s)).await.unwrap();
    (
        inv.totals.on_hand,
        inv.totals.reserved,
        inv.totals.available,
    )
}

pub async fn assert_books_balance(store: &Store, org: OrgId) {
    let problems = store.verify_inventory(org).await.unwrap();
    assert!(
        problems.is_empty(),
        "ledger invariants broken: {problems:#?}"
    );
}
