//! Fulfilment: arranging shipment makes the sandbox's order ready to ship
//! with a tracking number the client reports and reads back; a seller's
//! cancellation cancels, puts the stock back and is read back; a shipped
//! order cannot be cancelled.

use serde_json::json;
use storesync_channels::{
    CancelReason, CancelRequest, Channel, ChannelError, ExtOrderId, Handover, ShipRequest,
};
use storesync_domain::OrderStatus;

use crate::harness::{Env, Harness};

/// A shop with ten pens, `PEN-1`.
fn pens() -> serde_json::Value {
    json!({"name": "Pens", "products": [
        {"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 10}]})
}

pub async fn ship_by_pickup_reports_the_tracking_number_the_sandbox_assigned<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(pens());
    let o = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));
    let id = ExtOrderId::new(o.order_id.clone());
    let shipment = env
        .client
        .ship_order(
            &creds,
            &ShipRequest {
                order_id: id.clone(),
                package_id: None,
                handover: Handover::Pickup,
                tracking_number: None,
                shipping_provider_id: None,
            },
        )
        .await
        .unwrap();

    let after = env.sb().order(&o.order_id).unwrap();
    assert_eq!(after.status, H::STATUS_AFTER_SHIP);
    let tracking = after.tracking_number.clone().unwrap();
    if let Some(prefix) = H::TRACKING_PREFIX {
        assert!(tracking.starts_with(prefix), "{tracking}");
    }
    assert_eq!(shipment.packages.len(), 1);
    if H::SHIPMENT_REPORTS_TRACKING {
        assert_eq!(
            shipment.packages[0].tracking_number.as_deref(),
            Some(tracking.as_str())
        );
    }

    let read = env
        .client
        .order_details(&creds, std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(read[0].status, OrderStatus::ReadyToShip);
    assert_eq!(read[0].marketplace_status, H::STATUS_AFTER_SHIP);
    if H::DETAILS_REPORT_TRACKING {
        assert_eq!(
            read[0].packages[0].tracking_number.as_deref(),
            Some(tracking.as_str())
        );
    }
    if let Some(carrier) = H::CARRIER {
        assert_eq!(read[0].packages[0].carrier.as_deref(), Some(carrier));
    }
}

pub async fn seller_cancel_puts_stock_back_and_a_shipped_order_cannot_be_cancelled<H: Harness>() {
    let env = Env::<H>::start().await;
    let (view, creds, _) = env.shop(pens());
    let stock = || env.sb().listing(view.shop_id, "PEN-1").unwrap().total_stock;
    let o = env.place(
        view.shop_id,
        json!({"lines": [{"seller_sku": "PEN-1", "quantity": 4}]}),
    );
    assert_eq!(stock(), 6);
    let cancel = |order_id: &str| CancelRequest {
        order_id: ExtOrderId::new(order_id),
        reason: CancelReason::OutOfStock,
        lines: Vec::new(),
    };

    let cancellation = env
        .client
        .cancel_order(&creds, &cancel(&o.order_id))
        .await
        .unwrap();
    assert_eq!(cancellation.status.as_deref(), H::CANCEL_STATUS);
    assert_eq!(cancellation.cancel_id.is_some(), H::CANCEL_RETURNS_ID);
    let after = env.sb().order(&o.order_id).unwrap();
    assert_eq!(after.status, H::STATUS_AFTER_CANCEL);
    assert_eq!(after.cancel_by.as_deref(), Some("seller"));
    assert_eq!(stock(), 10, "the cancelled units are back");
    let read = env
        .client
        .order_details(&creds, &[ExtOrderId::new(o.order_id.clone())])
        .await
        .unwrap();
    assert_eq!(read[0].status, OrderStatus::Cancelled);
    if let Some(reason) = H::OUT_OF_STOCK_REASON {
        assert_eq!(read[0].cancel_reason.as_deref(), Some(reason));
    }

    // A shipped order cannot be cancelled: a permanent refusal.
    let shipped = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));
    for action in H::SHIPPED {
        env.sb().advance_order(&shipped.order_id, *action).unwrap();
    }
    let err = env
        .client
        .cancel_order(&creds, &cancel(&shipped.order_id))
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Invalid { .. }), "{err:?}");
    assert_ne!(
        env.sb().order(&shipped.order_id).unwrap().status,
        H::STATUS_AFTER_CANCEL
    );
}
