//! Every client sends at most its marketplace's largest stock quantity
//! (`Capabilities::max_stock_quantity`), whatever it is asked to send: the
//! review saw 4,294,967,295 units pushed to a marketplace.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::Timestamp;

use crate::channel::Channel;
use crate::ids::{ExtVariantId, ListingId};
use crate::lazada::{LazadaClient, LazadaConfig, Venture};
use crate::model::{ShopCredentials, ShopRef, StockUpdate};
use crate::shopee::{ShopeeClient, ShopeeConfig};
use crate::testing::FakeServer;
use crate::tiktok::{TikTokClient, TikTokConfig};
use crate::Secret;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)))
}

fn creds(shop: ShopRef) -> ShopCredentials {
    ShopCredentials {
        shop,
        access_token: Secret::new("ACCESS".to_owned()),
    }
}

fn huge(listing: &str, variant: &str) -> Vec<StockUpdate> {
    vec![StockUpdate {
        listing_id: ListingId::new(listing),
        variant_id: ExtVariantId::new(variant),
        warehouse_id: None,
        quantity: u32::MAX,
    }]
}

#[tokio::test]
async fn shopee_never_gets_more_than_it_holds() {
    let server = FakeServer::start(vec![(
        200,
        r#"{"request_id":"r","error":"","message":"","response":{"failure_list":[],"success_list":[]}}"#.to_owned(),
    )])
    .await;
    let c = ShopeeClient::new(
        ShopeeConfig::new(1, Secret::new("k".to_owned())).with_base_url(&server.base_url),
        clock(),
    )
    .unwrap();
    c.update_stock(&creds(ShopRef::new(600_000)), &huge("1000", "7"))
        .await
        .unwrap();
    let sent = &server.requests()[0].json()["stock_list"][0]["seller_stock"][0]["stock"];
    assert_eq!(sent, 999_999);
}

#[tokio::test]
async fn tiktok_never_gets_more_than_it_holds() {
    let server = FakeServer::start(vec![(
        200,
        r#"{"code":0,"message":"Success","request_id":"r","data":{}}"#.to_owned(),
    )])
    .await;
    let c = TikTokClient::new(
        TikTokConfig::new("a", Secret::new("s".to_owned()), "svc").with_base_url(&server.base_url),
        clock(),
    )
    .unwrap();
    c.update_stock(
        &creds(ShopRef::new("1").with_cipher("c")),
        &huge("P1", "S1"),
    )
    .await
    .unwrap();
    let sent = &server.requests()[0].json()["skus"][0]["inventory"][0]["quantity"];
    assert_eq!(sent, 99_999);
}

#[tokio::test]
async fn lazada_never_gets_more_than_it_holds() {
    let server = FakeServer::start(vec![(
        200,
        r#"{"code":"0","request_id":"r","data":{}}"#.to_owned(),
    )])
    .await;
    let c = LazadaClient::new(
        LazadaConfig::new("a", Secret::new("s".to_owned()), Venture::Sg)
            .with_base_url(&server.base_url),
        clock(),
    )
    .unwrap();
    c.update_stock(&creds(ShopRef::new("1001")), &huge("1000", "7"))
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&server.requests()[0].body).into_owned();
    assert!(
        body.contains("%3CSellableQuantity%3E999999%3C%2FSellableQuantity%3E"),
        "{body}"
    );
}
