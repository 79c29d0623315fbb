use storesync_domain::{OrderStatus, ValidationError};
use storesync_store::{backend_test, OrderFilter, OrderTransition, PageRequest, StoreError};

use super::*;

fn ship() -> OrderTransition {
    OrderTransition::Ship {
        carrier: "JNE".into(),
        tracking_number: "JNE123".into(),
    }
}

backend_test! {
    async fn order_lifecycle_applies_each_stock_effect_once(store) {
        let org = org_with_skus(&store, &["A", "B"]).await;
        receive(&store, org, "A", 10).await;
        receive(&store, org, "B", 3).await;
        let created = store.create_order(org, &order("o1", &[("A", 2), ("B", 1)]), &actor()).await.unwrap();
        assert!(created.changed);
        let o = created.order;
        assert_eq!(o.status, OrderStatus::ReadyToShip);
        assert_eq!(o.total, idr(3000));
        assert_eq!(available(&store, org, "A").await, (10, 2, 8));

        let shipped = store.transition_order(org, o.id, &ship(), &actor()).await.unwrap();
        assert!(shipped.changed);
        assert_eq!(shipped.order.status, OrderStatus::Shipped);
        assert_eq!(shipped.order.shipments.as_ref().unwrap()[0].tracking_number, "JNE123");
        assert_eq!(available(&store, org, "A").await, (8, 0, 8));
        // A duplicate ship and a late status are no-ops.
        assert!(!store.transition_order(org, o.id, &ship(), &actor()).await.unwrap().changed);
        assert!(!store.transition_order(org, o.id, &OrderTransition::Status { status: OrderStatus::ReadyToShip }, &actor()).await.unwrap().changed);
        assert_eq!(available(&store, org, "A").await, (8, 0, 8));
        // Cancelling a shipped order is illegal.
        let err = store.transition_order(org, o.id, &OrderTransition::Cancel { reason: "x".into() }, &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::IllegalTransition(_)));
        store.transition_order(org, o.id, &OrderTransition::Status { status: OrderStatus::Delivered }, &actor()).await.unwrap();
        let returned = store.transition_order(org, o.id, &OrderTransition::Return { restock: true }, &actor()).await.unwrap();
        assert_eq!(returned.order.status, OrderStatus::Returned);
        assert_eq!(available(&store, org, "A").await, (10, 0, 10));
        assert!(!store.transition_order(org, o.id, &OrderTransition::Return { restock: true }, &actor()).await.unwrap().changed);
        assert_eq!(available(&store, org, "A").await, (10, 0, 10), "restocked once");
        let full = store.order(org, o.id).await.unwrap();
        let effects: Vec<_> = full.events.unwrap().iter().map(|e| e.effect.clone()).collect();
        assert_eq!(effects, ["reserve", "fulfil", "none", "restock"]);
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn cancel_releases_and_is_idempotent(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 5).await;
        let o = store.create_order(org, &order("o1", &[("A", 5)]), &actor()).await.unwrap().order;
        assert_eq!(available(&store, org, "A").await, (5, 5, 0));
        let c = store.transition_order(org, o.id, &OrderTransition::Cancel { reason: "buyer asked".into() }, &actor()).await.unwrap();
        assert_eq!(c.order.cancel_reason.as_deref(), Some("buyer asked"));
        assert_eq!(available(&store, org, "A").await, (5, 0, 5));
        assert!(!store.transition_order(org, o.id, &OrderTransition::Cancel { reason: "again".into() }, &actor()).await.unwrap().changed);
        assert_eq!(available(&store, org, "A").await, (5, 0, 5));
        let err = store.transition_order(org, o.id, &ship(), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::IllegalTransition(_)));
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn all_lines_or_none_and_shortages_are_named(store) {
        let org = org_with_skus(&store, &["A", "B", "C"]).await;
        receive(&store, org, "A", 10).await;
        receive(&store, org, "B", 1).await;
        let err = store.create_order(org, &order("o1", &[("A", 2), ("B", 2), ("C", 1)]), &actor()).await.unwrap_err();
        let StoreError::InsufficientStock(mut short) = err else { panic!("{err:?}") };
        short.sort_by(|a, b| a.sku.cmp(&b.sku));
        assert_eq!(short.iter().map(|s| (s.sku.as_str(), s.requested, s.available)).collect::<Vec<_>>(), vec![("B", 2, 1), ("C", 1, 0)]);
        assert_eq!(available(&store, org, "A").await, (10, 0, 10), "line A rolled back");
        assert!(store.list_orders(org, &OrderFilter::default(), &PageRequest::default()).await.unwrap().items.is_empty());
        // The failed attempt did not burn the external id.
        receive(&store, org, "B", 1).await;
        receive(&store, org, "C", 1).await;
        store.create_order(org, &order("o1", &[("A", 2), ("B", 2), ("C", 1)]), &actor()).await.unwrap();
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn same_external_id_returns_the_existing_order(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 10).await;
        let first = store.create_order(org, &order("ext-1", &[("A", 3)]), &actor()).await.unwrap();
        let again = store.create_order(org, &order("ext-1", &[("A", 3)]), &actor()).await.unwrap();
        assert!(!again.changed);
        assert_eq!(again.order.id, first.order.id);
        assert_eq!(available(&store, org, "A").await, (10, 3, 7), "reserved once");
        let err = store.create_order(org, &order("ext-1", &[("A", 4)]), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    }
}

backend_test! {
    async fn validation_names_fields_and_writes_nothing(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 10).await;
        let mut o = order("v1", &[("A", 0), ("NOPE", 1)]);
        o.lines[1].unit_price = Money::new(5, "MYR".parse().unwrap());
        o.total = Some(idr(1));
        let err = store.create_order(org, &o, &actor()).await.unwrap_err();
        let StoreError::Validation(ValidationError(fields)) = err else { panic!("{err:?}") };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert!(names.contains(&"lines[0].quantity"), "{names:?}");
        assert!(names.contains(&"lines[1].unit_price.currency"), "{names:?}");
        let err = store.create_order(org, &order("v2", &[("NOPE", 1)]), &actor()).await.unwrap_err();
        let StoreError::Validation(ValidationError(fields)) = err else { panic!("{err:?}") };
        assert_eq!(fields[0].field, "lines[0].sku");
        let mut ok = order("v3", &[("A", 2)]);
        ok.shipping_fee = Some(idr(500));
        ok.discount = Some(idr(200));
        ok.total = Some(idr(2300));
        assert_eq!(store.create_order(org, &ok, &actor()).await.unwrap().order.total, idr(2300));
        assert_eq!(store.list_orders(org, &OrderFilter::default(), &PageRequest::default()).await.unwrap().items.len(), 1);
    }
}

backend_test! {
    async fn list_filters_by_status_channel_and_date(store) {
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 100).await;
        let a = store.create_order(org, &order("a", &[("A", 1)]), &actor()).await.unwrap().order;
        let mut pending = order("b", &[("A", 1)]);
        pending.status = Some(OrderStatus::Pending);
        pending.placed_at = Some(storesync_domain::Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap());
        store.create_order(org, &pending, &actor()).await.unwrap();
        store.transition_order(org, a.id, &ship(), &actor()).await.unwrap();
        let f = |status| OrderFilter { status: Some(status), ..Default::default() };
        assert_eq!(store.list_orders(org, &f(OrderStatus::Shipped), &PageRequest::default()).await.unwrap().items.len(), 1);
        assert_eq!(store.list_orders(org, &f(OrderStatus::Pending), &PageRequest::default()).await.unwrap().items[0].external_id, "b");
        let recent = OrderFilter { placed_from: Some(storesync_domain::Timestamp::parse_rfc3339("2021-01-01T00:00:00Z").unwrap()), ..Default::default() };
        let items = store.list_orders(org, &recent, &PageRequest::default()).await.unwrap().items;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].lines.len(), 1);
        let other = OrderFilter { channel: Some("shopee".into()), ..Default::default() };
        assert!(store.list_orders(org, &other, &PageRequest::default()).await.unwrap().items.is_empty());
    }
}

backend_test! {
    async fn backorders_reserve_beyond_stock_only_when_allowed(store) {
        let org = org_with_skus(&store, &["PRE"]).await;
        let product = store.list_products(org, None, &PageRequest::default()).await.unwrap().items.remove(0);
        assert!(store.create_order(org, &order("x", &[("PRE", 2)]), &actor()).await.is_err());
        store.update_product(org, product.id, &storesync_store::ProductPatch {
            variants: vec![storesync_store::VariantPatch { sku: sku("PRE"), name: None, price: None, barcode: None, weight_grams: None, allow_backorder: Some(true), low_stock_threshold: None, components: None }],
            ..Default::default()
        }, &actor()).await.unwrap();
        store.create_order(org, &order("y", &[("PRE", 2)]), &actor()).await.unwrap();
        assert_eq!(available(&store, org, "PRE").await, (0, 2, -2));
        let err = store.update_product(org, product.id, &storesync_store::ProductPatch {
            variants: vec![storesync_store::VariantPatch { sku: sku("PRE"), name: None, price: None, barcode: None, weight_grams: None, allow_backorder: Some(false), low_stock_threshold: None, components: None }],
            ..Default::default()
        }, &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { code: "backorders_outstanding", .. }), "{err:?}");
        assert_books_balance(&store, org).await;
    }
}

backend_test! {
    async fn a_request_to_the_marketplace_is_queued_with_who_asked_once(store) {
        use storesync_store::jobs::NewJob;
        use storesync_store::OrderRequest;
        let org = org_with_skus(&store, &["A"]).await;
        receive(&store, org, "A", 5).await;
        let o = store.create_order(org, &order("o1", &[("A", 1)]), &actor()).await.unwrap().order;
        let job = NewJob::new("order.ship", serde_json::json!({ "order_id": o.id })).org(org).unique(format!("order.ship:{}", o.id));
        assert!(store.request_from_marketplace(org, o.id, OrderRequest::Ship, &job, &actor()).await.unwrap());
        // Asking again while the first request waits queues and records nothing more.
        assert!(!store.request_from_marketplace(org, o.id, OrderRequest::Ship, &job, &actor()).await.unwrap());

        let read = store.order(org, o.id).await.unwrap();
        assert_eq!(read.status, OrderStatus::ReadyToShip, "the order waits for the marketplace");
        let notes: Vec<_> = read.events.unwrap().into_iter().filter(|e| e.note.as_deref() == Some("shipment requested from the marketplace")).collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].source, actor().label);
        let audit = store.list_audit(org, &PageRequest::default()).await.unwrap();
        assert_eq!(audit.items.iter().filter(|e| e.action == "order.ship_requested" && e.entity_id == o.id.to_string()).count(), 1);
        let queued = store.claim_jobs("w", 10, 60_000).await.unwrap();
        assert_eq!(queued.iter().filter(|j| j.kind == "order.ship").count(), 1);

        // Another organization's order is not found.
        let other = org_with_skus(&store, &["B"]).await;
        let err = store.request_from_marketplace(other, o.id, OrderRequest::Cancel, &job, &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
    }
}
