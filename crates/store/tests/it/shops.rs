use std::sync::Arc;

use storesync_crypto::{KeyRing, Secret};
use storesync_domain::{Marketplace, Role};
use storesync_store::shops::{ConnectedShop, ShopStatus, ShopTokens};
use storesync_store::testing::{execute, query_texts};
use storesync_store::{backend_test, StoreError};

use super::*;

fn connected(external: &str, access: &str) -> ConnectedShop {
    ConnectedShop {
        marketplace: Marketplace::Shopee,
        external_shop_id: external.into(),
        cipher: None,
        name: format!("Shop {external}"),
        region: Some("ID".into()),
        tokens: ShopTokens {
            access_token: Secret::new(access.to_owned()),
            refresh_token: Secret::new(format!("refresh-{access}")),
            access_expires_at: storesync_domain::Timestamp::from_millis(4_000_000),
            refresh_expires_at: None,
        },
    }
}

backend_test! {
    async fn shop_tokens_are_encrypted_bound_to_their_row_and_owned_by_one_org(store) {
        let store = store.with_keys(Arc::new(KeyRing::generate()));
        let org = org_with_skus(&store, &["A"]).await;
        let shop = store.connect_shop(org, &connected("1001", "access-one"), &actor()).await.unwrap();
        assert_eq!(shop.status, ShopStatus::Active);
        let tokens = store.shop_tokens(org, shop.id).await.unwrap();
        assert_eq!(tokens.access_token.expose(), "access-one");
        assert_eq!(tokens.refresh_token.expose(), "refresh-access-one");

        let stored = query_texts(&store, "SELECT access_token_enc FROM shops").await;
        let stored = stored[0].clone().unwrap();
        assert!(stored.starts_with("v1.") && !stored.contains("access-one"), "plain token in the database: {stored}");

        // Reconnecting keeps the shop; another organization cannot take it.
        let again = store.connect_shop(org, &connected("1001", "access-two"), &actor()).await.unwrap();
        assert_eq!(again.id, shop.id);
        assert_eq!(store.shop_tokens(org, shop.id).await.unwrap().access_token.expose(), "access-two");
        let other = org_with_skus(&store, &["A"]).await;
        let err = store.connect_shop(other, &connected("1001", "x"), &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { code: "shop_connected_elsewhere", .. }));
        assert!(matches!(store.shop_tokens(other, shop.id).await, Err(StoreError::NotFound(_))));

        // A ciphertext copied onto another shop's row does not decrypt.
        let second = store.connect_shop(org, &connected("1002", "access-three"), &actor()).await.unwrap();
        execute(&store, &format!(
            "UPDATE shops SET access_token_enc = (SELECT access_token_enc FROM shops WHERE id = '{}') WHERE id = '{}'",
            shop.id, second.id
        )).await;
        assert!(matches!(store.shop_tokens(org, second.id).await, Err(StoreError::Corrupt(_))));

        // A different master key cannot read them either.
        let foreign = store.with_keys(Arc::new(KeyRing::generate()));
        assert!(foreign.shop_tokens(org, shop.id).await.is_err());

        let off = store.set_shop_status(org, shop.id, ShopStatus::Disconnected, None, &actor()).await.unwrap();
        assert_eq!(off.status, ShopStatus::Disconnected);
        assert!(matches!(store.shop_tokens(org, shop.id).await, Err(StoreError::Conflict { .. })));
        assert_eq!(store.list_shops(org).await.unwrap().len(), 2, "history kept");
    }
}

backend_test! {
    async fn oauth_states_are_single_use_and_expire(store) {
        use storesync_domain::time::ManualClock;
        use storesync_domain::Clock;
        let clock = Arc::new(ManualClock::new(storesync_domain::SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let org = org_with_skus(&store, &["A"]).await;
        let user = store.add_member(org, &format!("{}@example.com", uuid_suffix()), None, Role::Admin, &actor()).await.unwrap();
        store.create_oauth_state("s1", org, user.id, Marketplace::Shopee, 600_000, "b1").await.unwrap();
        assert!(store.consume_oauth_state("s1", Marketplace::TikTokShop).await.unwrap().is_none(), "other marketplace");
        let s = store.consume_oauth_state("s1", Marketplace::Shopee).await.unwrap().unwrap();
        assert_eq!((s.org_id, s.user_id, s.browser_hash.as_deref()), (org, user.id, Some("b1")));
        assert!(store.consume_oauth_state("s1", Marketplace::Shopee).await.unwrap().is_none(), "replayed");
        store.create_oauth_state("s2", org, user.id, Marketplace::Shopee, 600_000, "b2").await.unwrap();
        clock.advance_millis(600_001);
        assert!(store.consume_oauth_state("s2", Marketplace::Shopee).await.unwrap().is_none(), "expired");
        assert!(store.consume_oauth_state("forged", Marketplace::Shopee).await.unwrap().is_none());
    }
}

backend_test! {
    async fn a_shop_status_changes_only_from_the_statuses_allowed_and_one_of_two_racing_changes_wins(store) {
        let org = org_with_skus(&store, &["A"]).await;
        let shop = store.connect_shop(org, &connected("3001", "access"), &actor()).await.unwrap();
        // Pausing needs the shop active (or in error); resuming needs it paused.
        assert!(store.change_shop_status(org, shop.id, &[ShopStatus::Paused], ShopStatus::Active, &actor()).await.unwrap().is_none());
        assert_eq!(store.shop(org, shop.id).await.unwrap().status, ShopStatus::Active, "nothing changed");
        let missing = storesync_domain::ids::ShopId::new();
        assert!(matches!(
            store.change_shop_status(org, missing, &[ShopStatus::Active], ShopStatus::Paused, &actor()).await,
            Err(StoreError::NotFound("shop"))
        ));
        let other = org_with_skus(&store, &["A"]).await;
        assert!(matches!(
            store.change_shop_status(other, shop.id, &[ShopStatus::Active], ShopStatus::Paused, &actor()).await,
            Err(StoreError::NotFound("shop"))
        ), "another organization's shop is not found");

        // Two changes that both need the shop active race: exactly one applies.
        let store = Arc::new(store);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = Arc::clone(&store);
            let to = if i % 2 == 0 { ShopStatus::Paused } else { ShopStatus::Disconnected };
            tasks.push(tokio::spawn(async move {
                store.change_shop_status(org, shop.id, &[ShopStatus::Active], to, &actor()).await.map(|s| s.map(|s| s.status))
            }));
        }
        let mut applied = Vec::new();
        for t in tasks {
            if let Some(status) = t.await.unwrap().unwrap() {
                applied.push(status);
            }
        }
        assert_eq!(applied.len(), 1, "{applied:?}");
        assert_eq!(store.shop(org, shop.id).await.unwrap().status, applied[0]);
    }
}
