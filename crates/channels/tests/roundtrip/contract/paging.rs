//! Listing pages: an empty shop is one empty last page, a full last page has
//! no next cursor, and a walk over many pages returns every listing once, in
//! the sandbox's order, with the calls the marketplace's paging implies.

use futures_util::TryStreamExt;
use serde_json::{json, Value};
use storesync_channels::{listing_stream, Channel, Listing, ListingQuery, ShopCredentials};

use crate::harness::{Env, Harness};

/// `n` one-variant listings `IT-000`, `IT-001`, ... with stock 0, 1, ...
fn listings(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"name": format!("Item {i}"), "item_sku": format!("IT-{i:03}"),
                   "price": "1.00", "stock": i})
        })
        .collect()
}

/// Walks every page with the stream helper the engine uses.
async fn walk<H: Harness>(env: &Env<H>, creds: &ShopCredentials) -> Vec<Listing> {
    listing_stream(env.channel(), creds.clone(), ListingQuery::default())
        .try_collect()
        .await
        .unwrap()
}

fn assert_walk_calls<H: Harness>(env: &Env<H>, listings: usize) {
    for (call, want) in H::listing_walk_calls(listings) {
        assert_eq!(env.calls(call), want, "{call} for {listings} listings");
    }
}

pub async fn a_shop_without_listings_is_one_empty_last_page<H: Harness>() {
    let env = Env::<H>::start().await;
    let (_, creds, _) = env.shop(json!({"name": "Empty", "products": []}));
    env.sb().reset_calls();
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert!(page.listings.is_empty());
    assert_eq!(page.next, None);
    assert_walk_calls(&env, 0);
    assert!(walk(&env, &creds).await.is_empty());
}

pub async fn exactly_one_full_page_has_no_next_cursor<H: Harness>() {
    let env = Env::<H>::start().await;
    let page_size = env.client.capabilities().listing_page_size as usize;
    let (_, creds, _) = env.shop(json!({"name": "Full page", "products": listings(page_size)}));
    env.sb().reset_calls();
    let page = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(page.listings.len(), page_size);
    assert_eq!(page.next, None, "a full last page has no next cursor");
    assert_walk_calls(&env, page_size);
}

pub async fn many_pages_return_every_listing_once_in_order<H: Harness>() {
    let env = Env::<H>::start().await;
    let page_size = env.client.capabilities().listing_page_size as usize;
    let n = 2 * page_size + 21;
    let (view, creds, _) = env.shop(json!({"name": "Big", "products": listings(n)}));

    let first = env
        .client
        .list_listings(&creds, &ListingQuery::default(), None)
        .await
        .unwrap();
    assert_eq!(first.listings.len(), page_size);
    assert!(first.next.is_some());

    env.sb().reset_calls();
    let all = walk(&env, &creds).await;
    let got: Vec<String> = all.iter().map(|l| l.listing_id.to_string()).collect();
    let want: Vec<String> = view
        .products
        .iter()
        .map(|p| p.product_id.to_string())
        .collect();
    assert_eq!(got, want, "every listing once, in the sandbox's order");
    for (i, listing) in all.iter().enumerate() {
        assert_eq!(listing.variants[0].seller_sku, format!("IT-{i:03}"));
        assert_eq!(listing.variants[0].total_stock(), i as i64);
    }
    assert_walk_calls(&env, n);
}

pub async fn updated_since_returns_only_listings_changed_since<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(json!({"name": "Shop", "products": listings(6)}));
    env.advance_secs(3600);
    let since = env.now();
    env.advance_secs(60);
    // One listing changed by the seller elsewhere, one by an order.
    env.sb()
        .set_stock(view.shop_id, "IT-003", None, 40)
        .unwrap();
    env.place(view.shop_id, json!({"lines": [{"seller_sku": "IT-005"}]}));

    let changed: Vec<Listing> = listing_stream(
        env.channel(),
        creds.clone(),
        ListingQuery {
            updated_since: Some(since),
        },
    )
    .try_collect()
    .await
    .unwrap();
    let mut skus: Vec<&str> = changed
        .iter()
        .map(|l| l.variants[0].seller_sku.as_str())
        .collect();
    skus.sort_unstable();
    assert_eq!(skus, vec!["IT-003", "IT-005"], "{changed:?}");
    let stock = |sku: &str| {
        changed
            .iter()
            .find(|l| l.variants[0].seller_sku == sku)
            .unwrap()
            .variants[0]
            .total_stock()
    };
    assert_eq!(stock("IT-003"), 40);
    assert_eq!(stock("IT-005"), 4);
    assert!(changed.iter().all(|l| l.updated_at.unwrap() > since));
    assert_eq!(walk(&env, &creds).await.len(), 6);
}
