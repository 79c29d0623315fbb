//! Order items, one per unit, as Lazada and TikTok Shop both list them: ids
//! `line_id * 1000 + unit`, packed into packages and cancelled one by one.

use storesync_domain::Timestamp;

use crate::model::{Event, Order, Parcel, Stage, World};

/// The order item id of unit `unit` of a line.
pub(crate) fn item_id(line_id: u64, unit: i64) -> u64 {
    line_id * 1000 + u64::try_from(unit).unwrap_or(0)
}

/// The line an order item belongs to.
pub(crate) fn line_of(item: u64) -> u64 {
    item / 1000
}

/// The package an order item was packed into on its own, if any.
pub(crate) fn parcel_of(o: &Order, item: u64) -> Option<&Parcel> {
    o.parcels.iter().find(|p| p.items.contains(&item))
}

/// The order's stage from its items once some were packed or cancelled on their own: while any
/// live item waits to be packed the order is pending; once all are packed it is packed; once
/// every package is ready it is ready to ship.
pub(crate) fn settle(o: &mut Order) {
    if o.parcels.is_empty()
        || !matches!(
            o.stage,
            Stage::ReadyToShip | Stage::Packed | Stage::Arranged
        )
    {
        return;
    }
    let all_packed = item_ids(o)
        .iter()
        .filter(|i| !o.cancelled_items.contains_key(i))
        .all(|i| parcel_of(o, *i).is_some());
    o.stage = if !all_packed {
        Stage::ReadyToShip
    } else if o.parcels.iter().all(|p| p.ready || p.items.is_empty()) {
        Stage::Arranged
    } else {
        Stage::Packed
    };
}

pub(crate) fn item_ids(o: &Order) -> Vec<u64> {
    o.lines
        .iter()
        .flat_map(|l| (0..l.quantity).map(move |u| item_id(l.line_id, u)))
        .collect()
}

/// Units going back to a variant: product, variant, seller SKU, (warehouse, units).
type PutBack = (u64, u64, String, Vec<(String, i64)>);

/// Cancels some items of an order as the seller: they leave their packages, their units go back
/// on the listing, and the order is cancelled once no item is left.
pub(crate) fn cancel_items(
    w: &mut World,
    order_id: &str,
    items: &[u64],
    reason: &str,
    now: Timestamp,
) {
    let Some(o) = w.orders.get_mut(order_id) else {
        return;
    };
    for i in items {
        o.cancelled_items.insert(*i, reason.to_owned());
    }
    // A package left without items is gone; its id is never given out again.
    for p in &mut o.parcels {
        p.items.retain(|i| !items.contains(i));
    }
    // Units go back to the warehouses they were taken from, latest first.
    let mut back: Vec<PutBack> = Vec::new();
    for l in &mut o.lines {
        let mut n =
            i64::try_from(items.iter().filter(|i| line_of(**i) == l.line_id).count()).unwrap_or(0);
        let mut put = Vec::new();
        for (wh, t) in l.taken.iter_mut().rev() {
            let k = n.min(*t);
            if k > 0 {
                *t -= k;
                n -= k;
                put.push((wh.clone(), k));
            }
        }
        l.taken.retain(|(_, t)| *t > 0);
        if !put.is_empty() {
            back.push((l.product_id, l.variant_id, l.seller_sku.clone(), put));
        }
    }
    if item_ids(o)
        .iter()
        .all(|i| o.cancelled_items.contains_key(i))
    {
        o.stage = Stage::Cancelled;
        o.cancel_by = Some("seller".to_owned());
        o.cancel_reason = Some(reason.to_owned());
        o.buyer_cancel_requested = false;
    } else {
        settle(o);
    }
    o.update_ms = now.millis().max(o.update_ms);
    let shop_id = o.shop_id;
    for (product_id, variant_id, sku, put) in back {
        let units: i64 = put.iter().map(|(_, k)| k).sum();
        if let Some(v) = w.variant_mut(product_id, variant_id) {
            let before = v.total();
            for (wh, k) in put {
                *v.stock.entry(wh).or_insert(0) += k;
            }
            let (after, reserved) = (v.total(), v.reserved);
            w.events.push(Event::Inventory {
                shop_id,
                product_id,
                variant_id,
                before,
                after,
                reserved,
            });
        }
        let s = w.sales.entry(shop_id).or_default().entry(sku).or_default();
        s.units_cancelled += units;
        s.units_net = s.units_ordered - s.units_cancelled;
    }
    w.push_status_event(order_id);
}
