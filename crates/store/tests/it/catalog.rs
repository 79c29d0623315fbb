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
                variants: vec![VariantPatch { sku: sku("MUG-1"), name: None, price: Some(idr(2500)), barcode: Some("899".into()), weight_grams: None, allow_backorder: None, low_stock_threshold: Some(3), components: None }],
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

backend_test! {
    async fn search_uses_the_index_for_rare_terms_and_pages_through_common_ones(store) {
        let org = org_with_skus(&store, &["ZZ-ONLY"]).await;
        // 1,200 products named "Product i" with SKU SKU-00iiii.
        store.seed_for_page_bench(org, 1_200, 0).await.unwrap();
        let other = org_with_skus(&store, &["SKU-001150"]).await;
        let search = |q: &'static str, cursor: Option<String>| {
            let store = store.clone();
            async move {
                store
                    .list_products(org, Some(q), &PageRequest { limit: Some(50), cursor })
                    .await
                    .unwrap()
            }
        };
        let skus = |p: &storesync_store::Page<storesync_store::Product>| {
            p.items.iter().map(|p| p.variants[0].sku.to_string()).collect::<Vec<_>>()
        };

        // A rare term: ten index hits, every one checked, none of the other
        // organization's.
        let rare = search("sku-00115", None).await;
        let mut found = skus(&rare);
        found.sort();
        assert_eq!(found, (1150..1160).map(|i| format!("SKU-{i:06}")).collect::<Vec<_>>());
        assert!(rare.next_cursor.is_none());
        // Case does not matter; what is not there is not found.
        assert_eq!(skus(&search("Sku-001199", None).await), vec!["SKU-001199"]);
        assert!(search("sku-009999", None).await.items.is_empty());
        assert!(search("no such thing", None).await.items.is_empty());

        // A common term (every product), through the index and, too short
        // for trigrams, by walking the catalog: pages newest first, 50 at a
        // time, without repeats, to the end.
        for q in ["sku-0", "u-"] {
            let mut seen = std::collections::HashSet::new();
            let mut last = None;
            let mut cursor = None;
            let mut pages = 0;
            loop {
                let page = search(q, cursor).await;
                pages += 1;
                for p in &page.items {
                    assert!(seen.insert(p.id), "{q}: product listed twice");
                    assert!(last.is_none_or(|l| p.id < l), "{q}: newest first");
                    last = Some(p.id);
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(seen.len(), 1_200, "{q}");
            assert_eq!(pages, 24, "{q}");
        }

        // Renaming and new barcodes are searchable at once; the old name is gone.
        let only = search("zz-only", None).await.items.remove(0);
        store
            .update_product(org, only.id, &ProductPatch {
                name: Some("Batik Shirt".into()),
                variants: vec![VariantPatch { sku: sku("ZZ-ONLY"), name: None, price: None, barcode: Some("8991234".into()), weight_grams: None, allow_backorder: None, low_stock_threshold: None, components: None }],
                ..Default::default()
            }, &actor())
            .await
            .unwrap();
        assert_eq!(search("batik", None).await.items.len(), 1);
        assert_eq!(search("1234", None).await.items.len(), 1);
        assert!(search("test product", None).await.items.is_empty());
        // Archived products leave the results.
        store.archive_product(org, only.id, &actor()).await.unwrap();
        assert!(search("batik", None).await.items.is_empty());

        // The other organization sees only its own.
        let theirs = store.list_products(other, Some("sku-00115"), &PageRequest::default()).await.unwrap();
        assert_eq!(skus(&theirs), vec!["SKU-001150"]);
    }
}

backend_test! {
    async fn bundle_components_are_replaced_checked_and_pushed_again(store) {
        use storesync_store::BundleComponentInput;
        let org = org_with_skus(&store, &["CUP", "SAUCER", "BOX"]).await;
        let set = store
            .create_product(org, &NewProduct { name: "Tea set".into(), description: None, variants: vec![variant("SET", vec![("CUP", 2)])] }, &actor())
            .await
            .unwrap();
        let patch = |sku_: &str, components: Vec<(&str, i64)>| ProductPatch {
            variants: vec![VariantPatch {
                sku: sku(sku_), name: None, price: None, barcode: None, weight_grams: None, allow_backorder: None, low_stock_threshold: None,
                components: Some(components.into_iter().map(|(s, q)| BundleComponentInput { sku: sku(s), quantity: q }).collect()),
            }],
            ..Default::default()
        };
        store.drain_dirty(1_000).await.unwrap();
        assert!(!store.has_dirty_variants().await.unwrap());
        let after = store.update_product(org, set.id, &patch("SET", vec![("CUP", 1), ("SAUCER", 1)]), &actor()).await.unwrap();
        let mut parts: Vec<_> = after.variants[0].components.iter().map(|c| (c.sku.to_string(), c.quantity)).collect();
        parts.sort();
        assert_eq!(parts, vec![("CUP".to_owned(), 1), ("SAUCER".to_owned(), 1)]);
        assert!(store.has_dirty_variants().await.unwrap(), "the bundle is pushed again");

        let refused = |p: ProductPatch| {
            let store = store.clone();
            async move { store.update_product(org, set.id, &p, &actor()).await.unwrap_err() }
        };
        for (p, why) in [
            (patch("SET", vec![]), "a bundle needs at least one component"),
            (patch("SET", vec![("CUP", 0)]), "must be at least 1"),
            (patch("SET", vec![("SET", 1)]), "a bundle cannot contain itself"),
            (patch("SET", vec![("NOPE", 1)]), "unknown SKU NOPE"),
            (patch("SET", vec![("CUP", 1), ("CUP", 2)]), "component listed twice"),
        ] {
            let err = refused(p).await;
            assert!(format!("{err:?}").contains(why), "{why}: {err:?}");
        }
        // A plain variant has no components; nothing was half-written.
        let plain = store.list_products(org, Some("box"), &PageRequest::default()).await.unwrap().items.remove(0);
        let err = store.update_product(org, plain.id, &patch("BOX", vec![("CUP", 1)]), &actor()).await.unwrap_err();
        assert!(format!("{err:?}").contains("only a bundle has components"), "{err:?}");
        assert_eq!(store.product(org, set.id).await.unwrap().variants[0].components.len(), 2);
    }
}
