use std::sync::Arc;

use storesync_store::{backend_test, OrderFilter, PageRequest, StoreError};

use super::*;

backend_test! {
    async fn fifty_buyers_race_for_the_last_ten_units(store) {
        let org = org_with_skus(&store, &["LAST"]).await;
        receive(&store, org, "LAST", 10).await;
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for i in 0..50 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store.create_order(org, &order(&format!("race-{i}"), &[("LAST", 1)]), &actor()).await
            }));
        }
        let (mut won, mut short) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::InsufficientStock(s)) => {
                    assert_eq!(s[0].sku, "LAST");
                    short += 1;
                }
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!((won, short), (10, 40));
        assert_eq!(available(&store, org, "LAST").await, (10, 10, 0));
        let orders = store.list_orders(org, &OrderFilter::default(), &PageRequest { limit: Some(100), cursor: None }).await.unwrap();
        assert_eq!(orders.items.len(), 10);
        assert_books_balance(&store, org).await;
    }
}
