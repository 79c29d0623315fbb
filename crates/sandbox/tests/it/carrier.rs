//! The carrier moves shipped orders on by itself once its delays are set.

use serde_json::json;
use storesync_sandbox::{Marketplace, OrderAction};

use crate::common::Env;

#[tokio::test]
async fn the_carrier_picks_up_delivers_and_completes_after_its_delays() {
    let env = Env::start(Marketplace::Shopee).await;
    let shop = env
        .control(
            "POST",
            "/__sandbox/shops",
            json!({"name": "Tee shop", "region": "SG", "products": [
                {"name": "Tee", "item_sku": "TEE", "price": "12.50", "stock": 10}]}),
        )
        .await;
    let shop_id = shop["shop_id"].as_u64().unwrap();
    let sb = env.server.sandbox().clone();
    let order = sb
        .place_order(
            shop_id,
            &serde_json::from_value(json!({"lines": [{"seller_sku": "TEE"}]})).unwrap(),
        )
        .unwrap();
    sb.advance_order(&order.order_id, OrderAction::Ship)
        .unwrap();

    // Off by default: nothing moves however long it waits.
    env.advance_secs(3_600);
    sb.tick();
    assert_eq!(sb.order(&order.order_id).unwrap().status, "PROCESSED");

    // Set through the control API. The test sandbox runs at a time scale of 1/10,000, so the
    // delays are 10 ms, 1 s and 10 s of its clock.
    let set = env
        .control(
            "PUT",
            "/__sandbox/carrier",
            json!({"pickup_after_secs": 100, "deliver_after_secs": 10_000, "complete_after_secs": 100_000}),
        )
        .await;
    assert_eq!(set["deliver_after_secs"], 10_000.0);
    sb.tick();
    assert_eq!(sb.order(&order.order_id).unwrap().status, "SHIPPED");
    sb.tick();
    assert_eq!(
        sb.order(&order.order_id).unwrap().status,
        "SHIPPED",
        "delivery waits for its own delay"
    );
    env.advance_secs(1);
    sb.tick();
    assert_eq!(
        sb.order(&order.order_id).unwrap().status,
        "TO_CONFIRM_RECEIVE"
    );
    env.advance_secs(10);
    sb.tick();
    assert_eq!(sb.order(&order.order_id).unwrap().status, "COMPLETED");

    // A cancellation request the seller leaves unanswered is accepted once its delay passed.
    let asked = sb
        .place_order(
            shop_id,
            &serde_json::from_value(json!({"lines": [{"seller_sku": "TEE"}]})).unwrap(),
        )
        .unwrap();
    sb.advance_order(&asked.order_id, OrderAction::BuyerCancel)
        .unwrap();
    assert_eq!(sb.order(&asked.order_id).unwrap().status, "IN_CANCEL");
    sb.tick();
    assert_eq!(
        sb.order(&asked.order_id).unwrap().status,
        "IN_CANCEL",
        "off until set"
    );
    env.control(
        "PUT",
        "/__sandbox/carrier",
        json!({"accept_cancel_after_secs": 1_000}),
    )
    .await;
    env.advance_secs(1);
    sb.tick();
    assert_eq!(sb.order(&asked.order_id).unwrap().status, "CANCELLED");

    // An order still waiting for the seller is not the carrier's.
    let waiting = sb
        .place_order(
            shop_id,
            &serde_json::from_value(json!({"lines": [{"seller_sku": "TEE"}]})).unwrap(),
        )
        .unwrap();
    env.advance_secs(100);
    sb.tick();
    assert_eq!(sb.order(&waiting.order_id).unwrap().status, "READY_TO_SHIP");
}
