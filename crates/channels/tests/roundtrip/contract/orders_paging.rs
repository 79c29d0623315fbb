//! Order lists and details: a quiet range is empty, a full page needs one
//! call, many pages return every order once, details come in batches of the
//! marketplace's size and in input order, and unknown ids or another shop's
//! orders are left out rather than failing the call.

use std::collections::HashSet;

use serde_json::json;
use storesync_channels::{Channel, ExtOrderId, TimeRange};
use storesync_domain::OrderStatus;

use crate::harness::{Env, Harness};

/// A shop with plenty of pens, `PEN-1`.
fn pens() -> serde_json::Value {
    json!({"name": "Pens", "products": [
        {"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 10000}]})
}

fn one_pen() -> serde_json::Value {
    json!({"lines": [{"seller_sku": "PEN-1"}]})
}

pub async fn changed_orders_of_an_empty_range_and_of_exactly_one_page<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(pens());
    assert!(env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(env.calls(H::ORDER_PAGE_CALL), 1);

    let page_size = env.client.capabilities().order_page_size;
    let placed: HashSet<String> = (0..page_size)
        .map(|_| env.place(view.shop_id, one_pen()).order_id)
        .collect();
    env.sb().reset_calls();
    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    let got: HashSet<String> = changed.iter().map(|c| c.order_id.to_string()).collect();
    assert_eq!(changed.len(), page_size as usize);
    assert_eq!(got, placed);
    assert_eq!(env.calls(H::ORDER_PAGE_CALL), 1, "a full page is one call");

    // Orders updated outside the range are not returned.
    let later = TimeRange::new(env.now().plus_millis(5_000), env.now().plus_millis(10_000));
    assert!(env
        .client
        .changed_orders(&creds, later)
        .await
        .unwrap()
        .is_empty());
    let earlier = TimeRange::new(
        env.now().plus_millis(-3 * 86_400_000),
        env.now().plus_millis(-2 * 86_400_000),
    );
    assert!(env
        .client
        .changed_orders(&creds, earlier)
        .await
        .unwrap()
        .is_empty());
}

pub async fn changed_orders_follow_every_page_and_details_come_in_batches<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(pens());
    let caps = env.client.capabilities();
    let n = 2 * caps.order_page_size as usize + 50;
    let mut placed = Vec::new();
    for _ in 0..n {
        placed.push(env.place(view.shop_id, one_pen()).order_id);
        env.clock.advance_millis(10);
    }
    env.sb().reset_calls();
    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    assert_eq!(changed.len(), n);
    let got: HashSet<&str> = changed.iter().map(|c| c.order_id.as_str()).collect();
    let want: HashSet<&str> = placed.iter().map(String::as_str).collect();
    assert_eq!(got, want, "each order exactly once");
    assert_eq!(
        env.calls(H::ORDER_PAGE_CALL),
        3,
        "two full pages and a last one"
    );
    for c in &changed {
        if H::ORDER_LIST_HAS_STATUS {
            assert_eq!(c.status, Some(OrderStatus::ReadyToShip));
        }
        assert_eq!(c.detail.is_some(), caps.order_list_includes_details);
    }

    let batch = caps.max_orders_per_detail_call;
    let ask = 2 * batch + 20;
    let ids: Vec<ExtOrderId> = placed[..ask]
        .iter()
        .map(|id| ExtOrderId::new(id.clone()))
        .collect();
    let orders = env.client.order_details(&creds, &ids).await.unwrap();
    let got: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    let want: Vec<&str> = placed[..ask].iter().map(String::as_str).collect();
    assert_eq!(got, want, "every order once, in input order");
    assert_eq!(
        env.calls(H::ORDER_DETAIL_CALL),
        3,
        "{ask} ids = {batch} + {batch} + 20"
    );
}

pub async fn order_details_leave_out_unknown_ids_and_other_shops_orders<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(pens());
    let (other, _, _) = env.shop(pens());
    let mine = env.place(view.shop_id, one_pen());
    let theirs = env.place(other.shop_id, one_pen());
    env.sb().reset_calls();
    let orders = env
        .client
        .order_details(
            &creds,
            &[
                ExtOrderId::new(mine.order_id.clone()),
                ExtOrderId::new(H::UNKNOWN_ORDER_ID),
                ExtOrderId::new(theirs.order_id.clone()),
                ExtOrderId::new(mine.order_id.clone()),
            ],
        )
        .await
        .unwrap();
    let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, vec![mine.order_id.as_str()]);
    assert!(env
        .client
        .order_details(&creds, &[])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(env.calls(H::ORDER_DETAIL_CALL), 1, "no call for nothing");
    // Only another shop's order: an empty answer, not an error.
    assert!(env
        .client
        .order_details(&creds, &[ExtOrderId::new(theirs.order_id)])
        .await
        .unwrap()
        .is_empty());
    let changed = env
        .client
        .changed_orders(&creds, env.everything())
        .await
        .unwrap();
    assert_eq!(changed.len(), 1, "only this shop's orders are listed");
}
