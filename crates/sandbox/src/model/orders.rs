//! Order simulation: placing an order (stock leaves the listing at once), moving it through its
//! stages, cancellations that put the units back, and buyer cancellations that fall due.

use std::collections::{BTreeMap, HashMap};

use storesync_domain::Timestamp;

use super::rules::{BuyerCancel, IdKind, Rules};
use super::views::{OrderAction, OrderView, PlaceOrder};
use super::world::{Event, Line, Order, Stage, World};
use crate::error::SandboxError;

impl World {
    pub fn place_order(
        &mut self,
        shop_id: u64,
        req: &PlaceOrder,
        rules: &dyn Rules,
        now: Timestamp,
    ) -> Result<OrderView, SandboxError> {
        if req.lines.is_empty() {
            return Err(SandboxError::Invalid("an order needs lines".to_owned()));
        }
        let shop = self.shop(shop_id)?;
        let currency = shop.currency.clone();
        let warehouse = shop.warehouses.first().cloned().unwrap_or_default();
        // Check everything first so a refused order changes nothing.
        let mut resolved = Vec::new();
        let mut wanted: HashMap<u64, i64> = HashMap::new();
        for l in &req.lines {
            if l.quantity < 1 {
                return Err(SandboxError::Invalid(
                    "quantity must be at least 1".to_owned(),
                ));
            }
            let (pid, vid) = self.find_variant(shop_id, l.seller_sku.as_deref(), l.variant_id)?;
            let p = self
                .products
                .get(&pid)
                .ok_or_else(|| SandboxError::SkuNotFound(pid.to_string()))?;
            let v = p
                .variants
                .iter()
                .find(|v| v.id == vid)
                .ok_or_else(|| SandboxError::SkuNotFound(vid.to_string()))?;
            let w = wanted.entry(vid).or_insert(0);
            *w += l.quantity;
            if !p.listed || v.total() < *w {
                return Err(SandboxError::OutOfStock {
                    sku: v.seller_sku.clone(),
                    shown: if p.listed { v.total() } else { 0 },
                    wanted: *w,
                });
            }
            resolved.push((pid, vid, l.quantity));
        }
        let seq = self.next_seq();
        let order_id = rules.order_id(seq, now);
        let package_id = rules.id_string(IdKind::Package, seq);
        let mut lines = Vec::new();
        for (pid, vid, qty) in resolved {
            let line_seq = self.next_seq();
            let (product_name, before, after, reserved, line) = {
                let p = self
                    .products
                    .get_mut(&pid)
                    .ok_or_else(|| SandboxError::SkuNotFound(pid.to_string()))?;
                p.update_ms = now.millis();
                let product_name = p.name.clone();
                let v = p
                    .variants
                    .iter_mut()
                    .find(|v| v.id == vid)
                    .ok_or_else(|| SandboxError::SkuNotFound(vid.to_string()))?;
                let before = v.total();
                // The marketplace deducts the listing's stock the moment the order is placed.
                let mut left = qty;
                let mut taken = Vec::new();
                for (wh, n) in v.stock.iter_mut() {
                    if left == 0 {
                        break;
                    }
                    let t = left.min(*n);
                    if t > 0 {
                        *n -= t;
                        left -= t;
                        taken.push((wh.clone(), t));
                    }
                }
                // Promotion buyers consume the reserved part too; it can never exceed the stock.
                v.reserved = v.reserved.min(v.total());
                let line = Line {
                    line_id: rules.id(IdKind::Line, line_seq),
                    product_id: pid,
                    variant_id: vid,
                    seller_sku: v.seller_sku.clone(),
                    product_name: product_name.clone(),
                    variant_name: v.name.clone(),
                    quantity: qty,
                    unit_price_cents: v.price_cents,
                    original_price_cents: v.original_price_cents,
                    taken,
                };
                (product_name, before, v.total(), v.reserved, line)
            };
            let _ = product_name;
            let s = self
                .sales
                .entry(shop_id)
                .or_default()
                .entry(line.seller_sku.clone())
                .or_default();
            s.units_ordered += qty;
            s.units_net = s.units_ordered - s.units_cancelled;
            self.events.push(Event::Inventory {
                shop_id,
                product_id: pid,
                variant_id: vid,
                before,
                after,
                reserved,
            });
            lines.push(line);
        }
        let stage = if req.unpaid {
            Stage::Unpaid
        } else {
            Stage::ReadyToShip
        };
        let buyer_user_id = rules.id(IdKind::User, seq);
        let order = Order {
            id: order_id.clone(),
            shop_id,
            stage,
            stage_before_cancel: None,
            lines,
            create_ms: now.millis(),
            update_ms: now.millis(),
            pay_ms: (!req.unpaid).then_some(now.millis()),
            package_id: package_id.clone(),
            tracking: None,
            carrier: rules.carrier().to_owned(),
            cancel_by: None,
            cancel_reason: None,
            buyer_cancel_requested: false,
            commerce_platform: req.commerce_platform.clone(),
            buyer_user_id,
            buyer_name: format!("buyer{seq}"),
            currency,
            shipping_fee_cents: 0,
            warehouse,
            cancelled_items: BTreeMap::new(),
            parcels: Vec::new(),
        };
        self.packages.insert(package_id, order_id.clone());
        self.orders.insert(order_id.clone(), order);
        if let Some(shop) = self.shops.get_mut(&shop_id) {
            shop.orders.push(order_id.clone());
        }
        self.push_status_event(&order_id);
        self.order_view(&order_id, rules)
    }

    pub(crate) fn push_status_event(&mut self, order_id: &str) {
        if let Some(o) = self.orders.get(order_id) {
            self.events.push(Event::OrderStatus {
                shop_id: o.shop_id,
                order_id: o.id.clone(),
                stage: o.stage,
                update_ms: o.update_ms,
            });
        }
    }

    /// Moves an order along. `tracking` is used by `Ship` when the seller supplied one.
    pub fn advance(
        &mut self,
        order_id: &str,
        action: OrderAction,
        tracking: Option<String>,
        rules: &dyn Rules,
        now: Timestamp,
    ) -> Result<OrderView, SandboxError> {
        let seq = self.next_seq();
        let o = self
            .orders
            .get_mut(order_id)
            .ok_or_else(|| SandboxError::OrderNotFound(order_id.to_owned()))?;
        let bad = |o: &Order| SandboxError::BadTransition {
            order: o.id.clone(),
            action: format!("{action:?}"),
            status: rules.status_name(o.stage).to_owned(),
        };
        let mut restock = false;
        let mut tracking_event = None;
        match (action, o.stage) {
            (OrderAction::Pay, Stage::Unpaid) => {
                o.stage = Stage::ReadyToShip;
                o.pay_ms = Some(now.millis());
            }
            (OrderAction::Ship, Stage::ReadyToShip) => {
                let t = tracking
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| rules.tracking_number(seq));
                o.tracking = Some(t.clone());
                o.stage = Stage::Arranged;
                tracking_event = Some((o.package_id.clone(), t));
            }
            (OrderAction::Pickup, Stage::Arranged) => o.stage = Stage::Shipped,
            (OrderAction::Deliver, Stage::Shipped) => o.stage = Stage::Delivered,
            (OrderAction::Complete, Stage::Delivered) => o.stage = Stage::Completed,
            (OrderAction::BuyerCancel, stage) => {
                match rules.buyer_cancel(stage, now.millis() - o.create_ms) {
                    BuyerCancel::Cancel => {
                        o.stage_before_cancel = Some(stage);
                        o.stage = Stage::Cancelled;
                        o.cancel_by = Some("buyer".to_owned());
                        o.cancel_reason = Some("Change of mind".to_owned());
                        restock = true;
                    }
                    BuyerCancel::Request => {
                        o.stage_before_cancel = Some(stage);
                        o.stage = Stage::InCancel;
                        o.buyer_cancel_requested = true;
                    }
                    BuyerCancel::Refuse => return Err(bad(o)),
                }
            }
            (
                OrderAction::SellerCancel,
                Stage::Unpaid | Stage::ReadyToShip | Stage::InCancel | Stage::Packed,
            ) => {
                o.stage = Stage::Cancelled;
                o.cancel_by = Some("seller".to_owned());
                o.cancel_reason
                    .get_or_insert_with(|| "OUT_OF_STOCK".to_owned());
                o.buyer_cancel_requested = false;
                restock = true;
            }
            (OrderAction::AcceptCancel, Stage::InCancel) => {
                o.stage = Stage::Cancelled;
                o.cancel_by = Some("buyer".to_owned());
                o.buyer_cancel_requested = false;
                restock = true;
            }
            (OrderAction::RejectCancel, Stage::InCancel) => {
                o.stage = o.stage_before_cancel.unwrap_or(Stage::ReadyToShip);
                o.buyer_cancel_requested = false;
            }
            _ => return Err(bad(o)),
        }
        o.update_ms = now.millis().max(o.update_ms);
        let shop_id = o.shop_id;
        let lines: Vec<Line> = if restock { o.lines.clone() } else { Vec::new() };
        // A cancelled order's units go back on the listing, as the marketplaces do.
        for Line {
            product_id: pid,
            variant_id: vid,
            seller_sku: sku,
            taken,
            ..
        } in lines
        {
            // What is still taken: units cancelled on their own (Lazada) went back already.
            let qty: i64 = taken.iter().map(|(_, n)| n).sum();
            if let Some(v) = self.variant_mut(pid, vid) {
                let before = v.total();
                for (wh, n) in taken {
                    *v.stock.entry(wh).or_insert(0) += n;
                }
                let after = v.total();
                let reserved = v.reserved;
                self.events.push(Event::Inventory {
                    shop_id,
                    product_id: pid,
                    variant_id: vid,
                    before,
                    after,
                    reserved,
                });
            }
            let s = self
                .sales
                .entry(shop_id)
                .or_default()
                .entry(sku)
                .or_default();
            s.units_cancelled += qty;
            s.units_net = s.units_ordered - s.units_cancelled;
        }
        self.push_status_event(order_id);
        if let Some((package_id, tracking)) = tracking_event {
            self.events.push(Event::Tracking {
                shop_id,
                order_id: order_id.to_owned(),
                package_id,
                tracking,
            });
        }
        self.order_view(order_id, rules)
    }

    /// Buyer cancellations the simulator planned that are due now.
    pub(crate) fn cancel_due(&mut self, rules: &dyn Rules, now: Timestamp) {
        if self.cancel_schedule.is_empty() {
            return;
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.cancel_schedule)
            .into_iter()
            .partition(|(t, _)| *t <= now.millis());
        self.cancel_schedule = later;
        for (_, id) in due {
            // A buyer who can no longer cancel simply keeps the order.
            let _ = self.advance(&id, OrderAction::BuyerCancel, None, rules, now);
        }
    }
}
