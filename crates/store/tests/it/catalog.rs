use storesync_domain::ids::ProductId;
use storesync_store::{
    backend_test, NewLocation, NewProduct, PageRequest, ProductPatch, StoreError, VariantPatch,
};

use super::*;

backend_test! {
    async fn products_create_list_search_update_archive(store) {
        let org = org_with_skus(&store, &["TEE-RED-M", "TEE-RED-L"]).await;
        let mug = store
            .create_product(org, &NewProduct { name: "Coffee Mug".into(), description: Some("ceramic".into()), variants: vec![variant("MUG-1", vec![])] }, &actor())
            .await
            .unwrap();
        assert_eq!(mug.variants.len(), 1);

        let all = store.list_products(org, None, &PageRequest::default()).await.unwrap();
        assert_eq!(all.items.len(), 2);
        assert_eq!(all.items[0].id, mug.id, "newest first");

        let by_sku = store.list_products(org, Some("tee-red"), &PageRequest::default()).await.unwrap();
        assert_eq!(by_sku.items.len(), 1);
        assert_eq!(by_sku.items[0].variants.len(), 2);
        let by_name = store.list_products(org, Some("MUG"), &PageRequest::default()).await.unwrap();
        assert_eq!(by_name.items[0].id, mug.id);
        let none = store.list_products(org, Some("50%_off"), &PageRequest::default()).await.unwrap();
        assert!(none.items.is_empty(), "LIKE wildcards in the query are literal");

        let page1 = store.list_products(org, None, &PageRequest { limit: Some(1), cursor: None }).await.unwrap();
        assert_eq!(page1.items.len(), 1);
        let page2 = store.list_products(org, None, &PageRequest { limit: Some(1), cursor: page1.next_cursor.clone() }).await.unwrap();
        assert_eq!(page2.items.len(), 1);
        assert!(page2.next_cursor.is_none());
        assert_ne!(page1.items[0].id, page2.items[0].id);

        let patched = store
            .update_product(org, mug.id, &ProductPatch {
                name: Some("Big Mug".into()),
                variants: vec![VariantPatch { sku: sku("MUG-1"), name: None, price: Some(idr(2500)), barcode: Some("899".into()), weight_grams: None, allow_backorder: None, low_stock_threshold: Some(3) }],
                add_variants: vec![variant("MUG-2", vec![])],
                ..Default::default()
            }, &actor())
            .await
            .unwrap();
        assert_eq!(patched.name, "Big Mug");
        assert_eq!(patched.description.as_deref(), Some("ceramic"));
        assert_eq!(patched.variants.len(), 2);
        assert_eq!(patched.variants[0].price, idr(2500));
        let by_barcode = store.list_products(org, Some("899"), &PageRequest::default()).await.unwrap();
        assert_eq!(by_barcode.items.len(), 1);

        store.archive_product(org, mug.id, &actor()).await.unwrap();
        assert!(matches!(store.product(org, mug.id).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.archive_product(org, mug.id, &actor()).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.product(org, ProductId::new()).await, Err(StoreError::NotFound(_))));
    }
}

backend_test! {
    async fn duplicate_skus_are_refused_and_nothing_is_written(store) {
        let org = org_with_skus(&store, &["A-1"]).await;
        let err = store
            .create_product(org, &NewProduct { name: "Dup".into(), description: None, variants: vec![variant("B-1", vec![]), variant("A-1", vec![])] }, &actor())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { code: "duplicate_sku", .. }), "{err:?}");
        assert!(matches!(store.variant_by_sku(org, &sku("B-1")).await, Err(StoreError::NotFound(_))), "half-written product");
        let err = store
            .create_product(org, &NewProduct { name: "Dup".into(), description: None, variants: vec![variant("C-1", vec![]), variant("C-1", vec![])] }, &actor())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)), "{err:?}");
        // The same SKU in another organization is fine.
        org_with_skus(&store, &["A-1"]).await;
    }
}

backend_test! {
    async fn locations_are_unique_per_org(store) {
        let org = org_with_skus(&store, &["A-1"]).await;
        let locs = store.list_locations(org).await.unwrap();
        assert_eq!(locs.len(), 1);
        assert!(locs[0].is_default);
        store.create_location(org, &NewLocation { code: "JKT-2".into(), name: "Jakarta 2".into() }, &actor()).await.unwrap();
        let err = store.create_location(org, &NewLocation { code: "JKT-2".into(), name: "again".into() }, &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }));
        assert_eq!(store.list_locations(org).await.unwrap().len(), 2);
    }
}

backend_test! {
    async fn bundles_need_known_plain_components(store) {
        let org = org_with_skus(&store, &["SOAP"]).await;
        let err = store
            .create_product(org, &NewProduct { name: "Kit".into(), description: None, variants: vec![variant("KIT", vec![("NOPE", 1)])] }, &actor())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)), "{err:?}");
        let kit = store
            .create_product(org, &NewProduct { name: "Kit".into(), description: None, variants: vec![variant("KIT", vec![("SOAP", 2), ("TOWEL", 1)]), variant("TOWEL", vec![])] }, &actor())
            .await
            .unwrap();
        let bundle = kit.variants.iter().find(|v| v.sku.as_str() == "KIT").unwrap();
        assert!(bundle.is_bundle);
        assert_eq!(bundle.components.len(), 2);
        let err = store
            .create_product(org, &NewProduct { name: "Meta".into(), description: None, variants: vec![variant("META", vec![("KIT", 1)])] }, &actor())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)), "bundle of bundles: {err:?}");
    }
}
