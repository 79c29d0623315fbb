//! Token contract: an expired access token asks for a refresh, a refresh
//! restarts the access token's lifetime, a revoked or forged refresh token is
//! refused for good, and `with_token_refresh` never loops.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use storesync_channels::{
    with_token_refresh, Channel, ChannelError, ListingQuery, Secret, ShopCredentials, TokenSet,
};

use crate::harness::{Env, Harness};

const DAY_SECS: i64 = 86_400;

/// A shop with one listing, `MUG-1`.
fn one_listing() -> serde_json::Value {
    json!({"name": "Mugs", "products": [
        {"name": "Mug", "item_sku": "MUG-1", "price": "9.90", "stock": 3}]})
}

pub async fn expired_access_token_is_refreshed_once_and_the_call_succeeds<H: Harness>() {
    let env = Env::<H>::start().await;
    let (_, creds, refresh) = env.shop(one_listing());
    let client = &env.client;
    let query = ListingQuery::default();
    let lifetime = client.capabilities().access_token_lifetime.as_secs() as i64;

    env.advance_secs(lifetime - 1);
    client.list_listings(&creds, &query, None).await.unwrap();
    env.advance_secs(2);
    let err = client
        .list_listings(&creds, &query, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::TokenExpired { code, .. } if code == H::TOKEN_EXPIRED_CODE),
        "{err:?}"
    );
    assert!(err.needs_token_refresh());

    env.sb().reset_calls();
    let attempts = AtomicUsize::new(0);
    let refreshes = AtomicUsize::new(0);
    let refreshed: Arc<Mutex<Option<TokenSet>>> = Arc::default();
    let page = with_token_refresh(
        creds.clone(),
        |c| {
            attempts.fetch_add(1, Ordering::SeqCst);
            let query = &query;
            async move { client.list_listings(&c, query, None).await }
        },
        || {
            refreshes.fetch_add(1, Ordering::SeqCst);
            let refreshed = Arc::clone(&refreshed);
            let shop = creds.shop.clone();
            let refresh = refresh.clone();
            async move {
                let tokens = client.refresh_token(&shop, &refresh).await?;
                let fresh = ShopCredentials {
                    shop,
                    access_token: tokens.access_token.clone(),
                };
                *refreshed.lock().unwrap() = Some(tokens);
                Ok(fresh)
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(page.listings.len(), 1);
    assert_eq!(page.listings[0].variants[0].seller_sku, "MUG-1");
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    if let Some(call) = H::TOKEN_REFRESH_CALL {
        assert_eq!(env.calls(call), 1);
    }
    let tokens = refreshed.lock().unwrap().take().unwrap();
    assert_ne!(tokens.access_token.expose(), creds.access_token.expose());
    if client.capabilities().refresh_token_single_use {
        // The refresh token rotates, and the old one is dead once the new pair is issued.
        assert_ne!(tokens.refresh_token.expose(), refresh.expose(), "rotated");
        let err = client
            .refresh_token(&creds.shop, &refresh)
            .await
            .unwrap_err();
        assert!(matches!(err, ChannelError::Unauthorized { .. }), "{err:?}");
    }
}

pub async fn revoked_authorization_fails_the_refresh_without_looping<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, refresh) = env.shop(one_listing());
    let client = &env.client;
    env.sb().deauthorize(view.shop_id).unwrap();
    let attempts = AtomicUsize::new(0);
    let refreshes = AtomicUsize::new(0);
    let err = with_token_refresh(
        creds.clone(),
        |c| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async move {
                client
                    .list_listings(&c, &ListingQuery::default(), None)
                    .await
            }
        },
        || {
            refreshes.fetch_add(1, Ordering::SeqCst);
            let shop = creds.shop.clone();
            let refresh = refresh.clone();
            async move {
                let tokens = client.refresh_token(&shop, &refresh).await?;
                Ok(ShopCredentials {
                    shop,
                    access_token: tokens.access_token,
                })
            }
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        (
            attempts.load(Ordering::SeqCst),
            refreshes.load(Ordering::SeqCst)
        ),
        (1, 1),
        "the revoked token asks for one refresh, the refresh fails, no second call"
    );
    match &err {
        ChannelError::Unauthorized { code, .. } => {
            if let Some(want) = H::REFUSED_REFRESH_CODE {
                assert_eq!(code, want);
            }
        }
        other => panic!("a revoked refresh token means the seller must authorize again: {other:?}"),
    }
    assert!(!err.is_retryable() && !err.needs_token_refresh());
    assert_eq!(env.calls(H::LISTING_PAGE_CALL), 1);
    if let Some(call) = H::TOKEN_REFRESH_CALL {
        assert_eq!(env.calls(call), 1);
    }
}

pub async fn a_refreshed_pair_can_be_refreshed_again_and_a_forged_token_is_refused<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, refresh) = env.shop(one_listing());
    let client = &env.client;
    let first = client.refresh_token(&creds.shop, &refresh).await.unwrap();
    env.advance_secs(DAY_SECS);
    // Persist whatever the answer returns and use that next time.
    let second = client
        .refresh_token(&creds.shop, &first.refresh_token)
        .await
        .unwrap();
    assert_eq!(
        second.access_expires_at.millis() - first.access_expires_at.millis(),
        DAY_SECS * 1000,
        "the access token's lifetime restarts"
    );
    if H::REFRESH_KEEPS_AUTHORIZATION_END {
        assert_eq!(second.refresh_expires_at, first.refresh_expires_at);
        assert_eq!(
            second.refresh_expires_at.unwrap().millis() / 1000,
            env.sb().shop(view.shop_id).unwrap().auth_expire_time,
            "the authorization's end never moves"
        );
    }
    let fresh = ShopCredentials {
        shop: creds.shop.clone(),
        access_token: second.access_token.clone(),
    };
    let page = client
        .list_listings(&fresh, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(page.listings.len(), 1);
    if client.capabilities().refresh_token_single_use {
        assert_ne!(second.refresh_token.expose(), first.refresh_token.expose());
        // The first pair's refresh token was used up by the second refresh.
        let err = client
            .refresh_token(&creds.shop, &first.refresh_token)
            .await
            .unwrap_err();
        assert!(matches!(err, ChannelError::Unauthorized { .. }), "{err:?}");
    }
    // A refresh token the marketplace never issued is refused.
    let forged = Secret::new(H::FORGED_REFRESH_TOKEN.to_owned());
    let err = client
        .refresh_token(&creds.shop, &forged)
        .await
        .unwrap_err();
    match &err {
        ChannelError::Unauthorized { code, .. } => {
            if let Some(want) = H::REFUSED_REFRESH_CODE {
                assert_eq!(code, want);
            }
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}
