use storesync_store::{backend_test, NewLocation, PageRequest, StoreError, TransferRequest};

use super::*;

fn adjust(s: &str, change: StockChange, key: Option<&str>) -> AdjustRequest {
    AdjustRequest {
        sku: sku(s),
        location: None,
        change,
        reason: "count".into(),
        idempotency_key: key.map(str::to_owned),
    }
}

backend_test! {
    async fn adjust_by_delta_and_set_writes_the_ledger(store) {
        let org = org_with_skus(&store, &["A"]).await;
        let r = store.adjust_stock(org, &adjust("A", StockChange::Delta(10), None), &actor()).await.unwrap();
        assert_eq!((r.on_hand_before, r.level.on_hand), (0, 10));
        let r = store.adjust_stock(org, &adjust("A", StockChange::Set(7), None), &actor()).await.unwrap();
        assert_eq!((r.on_hand_before, r.level.on_hand), (10, 7));
        let r = store.adjust_stock(org, &adjust("A", StockChange::Set(7), None), &actor()).await.unwrap();
        assert!(r.movement_id.is_none(), "setting the current count moves nothing");
        let err = store.adjust_stock(org, &adjust("A", StockChange::Delta(-8), None), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::InsufficientStock(_)), "{err:?}");
        let moves = store.movements(org, &sku("A"), &PageRequest::default()).await.unwrap();
        assert_eq!(moves.items.iter().map(|m| m.quantity).collect::<Vec<_>>(), vec![-3, 10]);
        assert_eq!(moves.items[0].on_hand_after, 7);
        assert_eq!(available(&store, org, "A").await, (7, 0, 7));
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn idempotency_keys_replay_and_refuse_reuse(store) {
        let org = org_with_skus(&store, &["A"]).await;
        let first = store.adjust_stock(org, &adjust("A", StockChange::Delta(5), Some("k1")), &actor()).await.unwrap();
        assert!(!first.replayed);
        let again = store.adjust_stock(org, &adjust("A", StockChange::Delta(5), Some("k1")), &actor()).await.unwrap();
        assert!(again.replayed);
        assert_eq!(again.movement_id, first.movement_id);
        assert_eq!(available(&store, org, "A").await.0, 5, "replay changed nothing");
        let err = store.adjust_stock(org, &adjust("A", StockChange::Delta(6), Some("k1")), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch));
        // The same key in another organization is independent.
        let other = org_with_skus(&store, &["A"]).await;
        let r = store.adjust_stock(other, &adjust("A", StockChange::Delta(5), Some("k1")), &actor()).await.unwrap();
        assert!(!r.replayed);
        // A failed operation does not burn its key.
        let err = store.adjust_stock(org, &adjust("A", StockChange::Delta(-50), Some("k2")), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::InsufficientStock(_)));
        let ok = store.adjust_stock(org, &adjust("A", StockChange::Delta(-5), Some("k2")), &actor()).await.unwrap();
        assert!(!ok.replayed);
    }
}

backend_test! {
    async fn transfers_move_only_available_units(store) {
        let org = org_with_skus(&store, &["A"]).await;
        store.create_location(org, &NewLocation { code: "shop".into(), name: "Shop floor".into() }, &actor()).await.unwrap();
        receive(&store, org, "A", 10).await;
        store.create_order(org, &order("o1", &[("A", 4)]), &actor()).await.unwrap();
        let t = TransferRequest { sku: sku("A"), from: "main".into(), to: "shop".into(), quantity: 7, reason: None, idempotency_key: Some("t1".into()) };
        let err = store.transfer_stock(org, &t, &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::InsufficientStock(_)), "4 of 10 are reserved: {err:?}");
        let t = TransferRequest { quantity: 6, ..t };
        let r = store.transfer_stock(org, &t, &actor()).await.unwrap();
        assert_eq!((r.from.on_hand, r.from.reserved, r.to.on_hand), (4, 4, 6));
        let again = store.transfer_stock(org, &t, &actor()).await.unwrap();
        assert!(again.replayed);
        assert_eq!(available(&store, org, "A").await, (10, 4, 6));
        let bad = TransferRequest { to: "main".into(), ..t.clone() };
        assert!(matches!(store.transfer_stock(org, &TransferRequest { idempotency_key: None, ..bad }, &actor()).await, Err(StoreError::Validation(_))));
        let unknown = TransferRequest { to: "nowhere".into(), idempotency_key: None, ..t };
        assert!(matches!(store.transfer_stock(org, &unknown, &actor()).await, Err(StoreError::Validation(_))));
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn bundle_availability_and_reservation_use_components(store) {
        let org = org_with_skus(&store, &["SOAP", "TOWEL"]).await;
        let mut kit = variant("KIT", vec![("SOAP", 2), ("TOWEL", 1)]);
        kit.low_stock_threshold = Some(1);
        store
            .create_product(org, &storesync_store::NewProduct { name: "Kit".into(), description: None, variants: vec![kit] }, &actor())
            .await
            .unwrap();
        let low = || async { store.attention(org).await.unwrap().low_stock };
        assert_eq!(low().await, 1, "no components in stock: no kit");
        receive(&store, org, "SOAP", 7).await;
        assert_eq!(low().await, 1, "still no towel");
        receive(&store, org, "TOWEL", 5).await;
        assert_eq!(available(&store, org, "KIT").await.2, 3, "floor(7/2) = 3 < 5");
        assert_eq!(low().await, 0, "3 kits, above the threshold of 1");
        let err = store.adjust_stock(org, &adjust("KIT", StockChange::Delta(1), None), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)));
        store.create_order(org, &order("b1", &[("KIT", 2)]), &actor()).await.unwrap();
        assert_eq!(available(&store, org, "SOAP").await, (7, 4, 3));
        assert_eq!(available(&store, org, "TOWEL").await, (5, 2, 3));
        assert_eq!(available(&store, org, "KIT").await.2, 1);
        assert_eq!(low().await, 1, "a component's reservation brings the kit down to its threshold");
        let err = store.create_order(org, &order("b2", &[("KIT", 2)]), &actor()).await.unwrap_err();
        let StoreError::InsufficientStock(short) = err else { panic!("{err:?}") };
        assert_eq!(short[0].sku, "SOAP");
        assert_books_balance(&store, org).await;
    }
}
