//! Orders from every channel: creation with all-or-nothing stock
//! reservation, and status transitions that apply their stock effect exactly
//! once (ship deducts, cancel releases, return restocks).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::any::AnyRow;
use storesync_domain::ids::{
    LocationId, OrderId, OrderLineId, OrgId, ReservationId, ShipmentId, ShopId, VariantId,
};
use storesync_domain::inventory::MovementKind;
use storesync_domain::limits::{check_range, MAX_AMOUNT};
use storesync_domain::order::{StockEffect, Transition};
use storesync_domain::{check_text, Currency, Money, OrderStatus, Sku, Timestamp, ValidationError};

use crate::audit::{self, Actor, Audit};
use crate::catalog::{placeholders, Variant};
use crate::db::Tx;
use crate::idempotency;
use crate::inventory::{apply_level, apply_on_hand, ensure_level, resolve_location, LedgerEntry};
use crate::page::{Page, PageRequest};
use crate::row::RowExt;
use crate::{Result, Shortage, Store, StoreError};

#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewOrderLine {
    pub sku: Sku,
    pub quantity: i64,
    pub unit_price: Money,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewOrder {
    pub channel: String,
    pub external_id: String,
    pub currency: Currency,
    pub lines: Vec<NewOrderLine>,
    pub customer: Option<CustomerInput>,
    /// `pending` (awaiting payment) or `ready_to_ship` (the default).
    pub status: Option<OrderStatus>,
    pub shipping_fee: Option<Money>,
    pub discount: Option<Money>,
    /// When given, must equal lines + shipping − discount.
    pub total: Option<Money>,
    pub placed_at: Option<Timestamp>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OrderLine {
    pub id: OrderLineId,
    pub line_no: i64,
    pub sku: String,
    pub variant_id: Option<VariantId>,
    pub quantity: i64,
    pub unit_price: Money,
    pub total: Money,
}

#[derive(Debug, Clone)]
pub struct Shipment {
    pub id: ShipmentId,
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct OrderEvent {
    pub at: Timestamp,
    pub from_status: Option<OrderStatus>,
    pub to_status: OrderStatus,
    pub effect: String,
    pub source: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: OrderId,
    pub channel: String,
    pub external_id: String,
    pub status: OrderStatus,
    pub currency: Currency,
    pub subtotal: Money,
    pub shipping_fee: Money,
    pub discount: Money,
    pub total: Money,
    pub customer: Option<serde_json::Value>,
    pub note: Option<String>,
    pub cancel_reason: Option<String>,
    pub placed_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub lines: Vec<OrderLine>,
    /// Present on single-order reads.
    pub shipments: Option<Vec<Shipment>>,
    /// Status timeline with stock effects; present on single-order reads.
    pub events: Option<Vec<OrderEvent>>,
}

/// Result of an order operation.
#[derive(Debug, Clone)]
pub struct OrderOutcome {
    pub order: Order,
    /// False when the call was a duplicate (an order already taken, a status
    /// already reached) and changed nothing.
    pub changed: bool,
}

/// A requested status change with the data it needs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OrderTransition {
    Ship {
        carrier: String,
        tracking_number: String,
    },
    Cancel {
        reason: String,
    },
    Return {
        restock: bool,
    },
    Status {
        status: OrderStatus,
    },
}

impl OrderTransition {
    fn target(&self) -> OrderStatus {
        match self {
            OrderTransition::Ship { .. } => OrderStatus::Shipped,
            OrderTransition::Cancel { .. } => OrderStatus::Cancelled,
            OrderTransition::Return { .. } => OrderStatus::Returned,
            OrderTransition::Status { status } => *status,
        }
    }

    fn action(&self) -> &'static str {
        match self {
            OrderTransition::Ship { .. } => "order.ship",
            OrderTransition::Cancel { .. } => "order.cancel",
            OrderTransition::Return { .. } => "order.return",
            OrderTransition::Status { .. } => "order.status",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub channel: Option<String>,
    pub placed_from: Option<Timestamp>,
    pub placed_to: Option<Timestamp>,
    /// Orders from this connected shop only.
    pub shop: Option<ShopId>,
}

fn effect_name(e: StockEffect) -> &'static str {
    match e {
        StockEffect::None => "none",
        StockEffect::Fulfil => "fulfil",
        StockEffect::Release => "release",
        StockEffect::Restock => "restock",
    }
}

fn validate_channel(channel: &str) -> bool {
    (1..=32).contains(&channel.len())
        && channel
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Check the request and compute its totals.
fn validate(new: &NewOrder) -> Result<(Money, Money, Money, Money), ValidationError> {
    let mut errors = ValidationError::new();
    if !validate_channel(&new.channel) {
        errors.add("channel", "1–32 characters of a-z, 0-9 and '_'");
    }
    if new.external_id.trim().is_empty() || new.external_id.len() > 100 {
        errors.add("external_id", "1–100 characters");
    } else {
        check_text(&mut errors, "external_id", &new.external_id);
    }
    if new.lines.is_empty() {
        errors.add("lines", "an order needs at least one line");
    }
    if new.lines.len() > 500 {
        errors.add("lines", "at most 500 lines");
    }
    if let Some(s) = new.status {
        if !s.holds_reservation() {
            errors.add("status", "a new order is pending or ready_to_ship");
        }
    }
    if new.note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        errors.add("note", "at most 2000 characters");
    } else if let Some(note) = &new.note {
        check_text(&mut errors, "note", note);
    }
    let currency = new.currency;
    let mut subtotal = Money::zero(currency);
    for (i, line) in new.lines.iter().enumerate() {
        if line.quantity <= 0 {
            errors.add(format!("lines[{i}].quantity"), "must be at least 1");
        }
        if line.quantity > 1_000_000 {
            errors.add(format!("lines[{i}].quantity"), "at most 1000000");
        }
        if line.unit_price.currency != currency {
            errors.add(
                format!("lines[{i}].unit_price.currency"),
                format!("must be the order currency {currency}"),
            );
        } else if !check_range(
            &mut errors,
            format!("lines[{i}].unit_price.amount"),
            line.unit_price.amount,
            0,
            MAX_AMOUNT,
        ) {
        } else {
            match line
                .unit_price
                .checked_mul(line.quantity.max(0))
                .and_then(|t| subtotal.checked_add(t))
            {
                Ok(s) => subtotal = s,
                Err(_) => errors.add(format!("lines[{i}]"), "amount out of range"),
            }
        }
    }
    let mut money_field = |field: &str, m: Option<Money>| -> Money {
        match m {
            None => Money::zero(currency),
            Some(m) if m.currency != currency => {
                errors.add(
                    format!("{field}.currency"),
                    format!("must be the order currency {currency}"),
                );
                Money::zero(currency)
            }
            Some(m) if !(0..=MAX_AMOUNT).contains(&m.amount) => {
                check_range(
                    &mut errors,
                    format!("{field}.amount"),
                    m.amount,
                    0,
                    MAX_AMOUNT,
                );
                Money::zero(currency)
            }
            Some(m) => m,
        }
    };
    let shipping = money_field("shipping_fee", new.shipping_fee);
    let discount = money_field("discount", new.discount);
    let total = subtotal
        .checked_add(shipping)
        .ok()
        .and_then(|t| t.amount.checked_sub(discount.amount))
        .map(|amount| Money::new(amount, currency));
    let total = match total {
        // Bounded so that summing a shop's sales (the hourly read model,
        // reports) stays far from overflow.
        Some(t) if t.amount > MAX_AMOUNT => {
            errors.add("total", format!("must be at most {MAX_AMOUNT}"));
            Money::zero(currency)
        }
        Some(t) if t.amount >= 0 => t,
        _ => {
            errors.add("discount", "must not exceed lines plus shipping");
            Money::zero(currency)
        }
    };
    if let Some(claimed) = new.total {
        if claimed != total {
            errors.add(
                "total",
                format!(
                    "does not match lines + shipping − discount = {} {}",
                    total.amount, currency
                ),
            );
        }
    }
    errors.into_result()?;
    Ok((subtotal, shipping, discount, total))
}

/// One unit of demand on a plain variant, from an order line (a bundle line
/// contributes one demand per component).
struct Demand {
    line: usize,
    variant: Variant,
    quantity: i64,
}

impl Store {
    /// Take an order and reserve its stock, all lines or none. The order is
    /// unique per (channel, shop, external id): taking the same order again
    /// returns the existing one with `changed: false`.
    pub async fn create_order(
        &self,
        org: OrgId,
        new: &NewOrder,
        actor: &Actor,
    ) -> Result<OrderOutcome> {
        let (subtotal, shipping, discount, total) = validate(new)?;
        let now = self.now();
        let hash = idempotency::request_hash(new);
        let mut tx = self.begin().await?;

        // Resolve every SKU in one query.
        let skus: Vec<String> = new
            .lines
            .iter()
            .map(|l| l.sku.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let sql = format!(
            "SELECT * FROM variants WHERE org_id = $1 AND sku IN ({})",
            placeholders(2, skus.len())
        );
        let mut q = sqlx::query(&sql).bind(org.to_string());
        for s in &skus {
            q = q.bind(s.clone());
        }
        let variants: HashMap<String, Variant> = q
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Variant::from_row(r).map(|v| (v.sku.to_string(), v)))
            .collect::<Result<_>>()?;
        let mut errors = ValidationError::new();
        for (i, l) in new.lines.iter().enumerate() {
            if !variants.contains_key(l.sku.as_str()) {
                errors.add(format!("lines[{i}].sku"), format!("unknown SKU {}", l.sku));
            }
        }
        errors.into_result()?;

        // The order's natural key makes intake idempotent: a second insert
        // of the same (channel, shop, external id) does nothing, and on
        // PostgreSQL waits for a concurrent first insert to finish.
        let order_id = OrderId::new();
        let status = new.status.unwrap_or(OrderStatus::ReadyToShip);
        let customer = new
            .customer
            .as_ref()
            .map(|c| serde_json::to_string(c).unwrap_or_default());
        let placed_at = new.placed_at.unwrap_or(now);
        let external_id = new.external_id.trim();
        let inserted = sqlx::query(
            "INSERT INTO orders (org_id, id, channel, shop_key, external_id, status, currency, \
             subtotal_amount, shipping_amount, discount_amount, total_amount, customer, note, \
             placed_at, created_at, updated_at, request_hash) \
             VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15) \
             ON CONFLICT (org_id, channel, shop_key, external_id) DO NOTHING",
        )
        .bind(org.to_string())
        .bind(order_id.to_string())
        .bind(&new.channel)
        .bind(external_id)
        .bind(status.as_str())
        .bind(new.currency.as_str())
        .bind(subtotal.amount)
        .bind(shipping.amount)
        .bind(discount.amount)
        .bind(total.amount)
        .bind(customer.clone())
        .bind(new.note.clone())
        .bind(placed_at.millis())
        .bind(now.millis())
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let row = sqlx::query(
                "SELECT id, request_hash FROM orders \
                 WHERE org_id = $1 AND channel = $2 AND shop_key = '' AND external_id = $3",
            )
            .bind(org.to_string())
            .bind(&new.channel)
            .bind(external_id)
            .fetch_one(&mut *tx)
            .await?;
            if row.opt_text("request_hash")?.as_deref() != Some(hash.as_str()) {
                return Err(StoreError::IdempotencyMismatch);
            }
            let existing: OrderId = row.parse("id")?;
            drop(tx);
            return Ok(OrderOutcome {
                order: self.order(org, existing).await?,
                changed: false,
            });
        }

        let mut lines = Vec::with_capacity(new.lines.len());
        for (i, l) in new.lines.iter().enumerate() {
            lines.push(OrderLine {
                id: OrderLineId::new(),
                line_no: i64::try_from(i).unwrap_or(i64::MAX) + 1,
                sku: l.sku.to_string(),
                variant_id: variants.get(l.sku.as_str()).map(|v| v.id),
                quantity: l.quantity,
                unit_price: l.unit_price,
                total: Money::new(l.unit_price.amount.saturating_mul(l.quantity), new.currency),
            });
        }
        let rows: Vec<LineRow<'_>> = lines.iter().map(LineRow::from).collect();
        insert_lines(&mut tx, org, order_id, &rows).await?;

        // Expand bundles into component demands and take row locks in one
        // global order (by variant id) so concurrent orders cannot deadlock.
        let bundle_ids: Vec<String> = variants
            .values()
            .filter(|v| v.is_bundle)
            .map(|v| v.id.to_string())
            .collect();
        let components = bundle_components(&mut tx, org, &bundle_ids).await?;
        let mut demands = Vec::new();
        for (i, l) in new.lines.iter().enumerate() {
            let Some(v) = variants.get(l.sku.as_str()) else {
                continue;
            };
            if v.is_bundle {
                let parts = components.get(&v.id).map(Vec::as_slice).unwrap_or_default();
                if parts.is_empty() {
                    return Err(ValidationError::field(
                        format!("lines[{i}].sku"),
                        "this bundle has no components",
                    )
                    .into());
                }
                for (component, per_bundle) in parts {
                    demands.push(Demand {
                        line: i,
                        variant: component.clone(),
                        quantity: l.quantity.saturating_mul(*per_bundle),
                    });
                }
            } else {
                demands.push(Demand {
                    line: i,
                    variant: v.clone(),
                    quantity: l.quantity,
                });
            }
        }
        demands.sort_by_key(|d| d.variant.id);
        let mut shortages: Vec<Shortage> = Vec::new();
        let mut holds: Vec<Hold> = Vec::new();
        for d in &demands {
            match self
                .reserve_in(&mut tx, org, &d.variant, d.quantity, now)
                .await?
            {
                Ok(taken) => holds.extend(taken.into_iter().map(|(location, quantity)| Hold {
                    line: lines[d.line].id,
                    variant: d.variant.id,
                    location,
                    quantity,
                })),
                Err(available) => {
                    match shortages
                        .iter_mut()
                        .find(|s| s.sku == d.variant.sku.as_str())
                    {
                        Some(s) => s.requested += d.quantity,
                        None => shortages.push(Shortage {
                            sku: d.variant.sku.to_string(),
                            requested: d.quantity,
                            available,
                        }),
                    }
                }
            }
        }
        if !shortages.is_empty() {
            // Dropping the transaction rolls back the order and every
            // reservation already made for it.
            return Err(StoreError::InsufficientStock(shortages));
        }
        insert_holds(&mut tx, org, order_id, &holds, now).await?;

        let event = OrderEvent {
            at: now,
            from_status: None,
            to_status: status,
            effect: "reserve".to_owned(),
            source: actor.label.clone(),
            note: None,
        };
        insert_event(
            &mut tx,
            org,
            order_id,
            now,
            None,
            status,
            "reserve",
            &actor.label,
            None,
        )
        .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "order.create",
                entity_type: "order",
                entity_id: order_id.to_string(),
                summary: serde_json::json!({
                    "after": { "channel": new.channel, "external_id": external_id,
                               "status": status, "total": total, "lines": new.lines.len() }
                }),
            },
        )
        .await?;
        if status != OrderStatus::Cancelled {
            crate::dashboard::add_sales(
                &mut tx,
                org,
                placed_at.millis(),
                &new.channel,
                new.currency.as_str(),
                1,
                total.amount,
            )
            .await?;
        }
        tx.commit().await?;
        let order = Order {
            id: order_id,
            channel: new.channel.clone(),
            external_id: external_id.to_owned(),
            status,
            currency: new.currency,
            subtotal,
            shipping_fee: shipping,
            discount,
            total,
            customer: customer.and_then(|c| serde_json::from_str(&c).ok()),
            note: new.note.clone(),
            cancel_reason: None,
            placed_at,
            created_at: now,
            updated_at: now,
            lines,
            shipments: Some(Vec::new()),
            events: Some(vec![event]),
        };
        Ok(OrderOutcome {
            order,
            changed: true,
        })
    }

    /// Reserve `quantity` of a plain variant, from one location that has it
    /// all when there is one (a single conditional update), otherwise spread
    /// over locations with the most available first. Returns what was taken
    /// where, or `Err(available)` when there is not enough.
    pub(crate) async fn reserve_in(
        &self,
        tx: &mut Tx,
        org: OrgId,
        variant: &Variant,
        quantity: i64,
        now: Timestamp,
    ) -> Result<Result<Vec<(LocationId, i64)>, i64>> {
        // Fast path: the conditional write picks a location and re-checks
        // availability on the row it changes, in one statement.
        let row = sqlx::query(
            "UPDATE inventory_levels SET reserved = reserved + $3, updated_at = $4 \
             WHERE org_id = $1 AND variant_id = $2 AND on_hand - reserved >= $3 AND location_id = (\
                 SELECT location_id FROM inventory_levels WHERE org_id = $1 AND variant_id = $2 \
                 AND on_hand - reserved >= $3 ORDER BY on_hand - reserved DESC, location_id LIMIT 1) \
             RETURNING location_id",
        )
        .bind(org.to_string())
        .bind(variant.id.to_string())
        .bind(quantity)
        .bind(now.millis())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = row {
            crate::propagation::mark_dirty(tx, org, variant.id, now).await?;
            return Ok(Ok(vec![(row.parse("location_id")?, quantity)]));
        }

        let sql = format!(
            "SELECT location_id, on_hand - reserved AS available FROM inventory_levels \
             WHERE org_id = $1 AND variant_id = $2 ORDER BY location_id{}",
            self.backend.for_update()
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(variant.id.to_string())
            .fetch_all(&mut **tx)
            .await?;
        let mut levels = rows
            .iter()
            .map(|r| Ok((r.parse::<LocationId>("location_id")?, r.int("available")?)))
            .collect::<Result<Vec<_>>>()?;
        levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let total_available: i64 = levels.iter().map(|l| l.1.max(0)).sum();
        if total_available < quantity && !variant.allow_backorder {
            return Ok(Err(total_available));
        }
        let mut plan: Vec<(LocationId, i64)> = Vec::new();
        let mut remaining = quantity;
        for (loc, available) in levels {
            if remaining == 0 {
                break;
            }
            let take = remaining.min(available);
            if take > 0 {
                plan.push((loc, take));
                remaining -= take;
            }
        }
        if remaining > 0 {
            // Only reached with backorders allowed: the rest goes on the
            // default location, below zero available.
            let default = resolve_location(tx, org, None, "location").await?;
            ensure_level(tx, org, variant, default.id, now).await?;
            match plan.iter_mut().find(|(l, _)| *l == default.id) {
                Some(p) => p.1 += remaining,
                None => plan.push((default.id, remaining)),
            }
        }
        for (loc, take) in &plan {
            let updated = sqlx::query(
                "UPDATE inventory_levels SET reserved = reserved + $4, updated_at = $5 \
                 WHERE org_id = $1 AND variant_id = $2 AND location_id = $3 \
                 AND (allow_backorder = 1 OR on_hand - reserved >= $4)",
            )
            .bind(org.to_string())
            .bind(variant.id.to_string())
            .bind(loc.to_string())
            .bind(*take)
            .bind(now.millis())
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if updated == 0 {
                return Ok(Err(total_available));
            }
        }
        crate::propagation::mark_dirty(tx, org, variant.id, now).await?;
        Ok(Ok(plan))
    }

    /// Move an order to a new status. Duplicate and late transitions change
    /// nothing (`changed: false`); contradictory ones are errors.
    pub async fn transition_order(
        &self,
        org: OrgId,
        id: OrderId,
        transition: &OrderTransition,
        actor: &Actor,
    ) -> Result<OrderOutcome> {
        let mut errors = ValidationError::new();
        match transition {
            OrderTransition::Ship {
                carrier,
                tracking_number,
            } => {
                if carrier.trim().is_empty() || carrier.len() > 100 {
                    errors.add("carrier", "1–100 characters");
                } else {
                    check_text(&mut errors, "carrier", carrier);
                }
                if tracking_number.trim().is_empty() || tracking_number.len() > 100 {
                    errors.add("tracking_number", "1–100 characters");
                } else {
                    check_text(&mut errors, "tracking_number", tracking_number);
                }
            }
            OrderTransition::Cancel { reason } => {
                if reason.trim().is_empty() || reason.chars().count() > 500 {
                    errors.add("reason", "1–500 characters");
                } else {
                    check_text(&mut errors, "reason", reason);
                }
            }
            OrderTransition::Status { status } => {
                if matches!(
                    status,
                    OrderStatus::Shipped | OrderStatus::Cancelled | OrderStatus::Returned
                ) {
                    errors.add(
                        "status",
                        "use the ship, cancel or return action for this status",
                    );
                }
            }
            OrderTransition::Return { .. } => {}
        }
        errors.into_result()?;

        let now = self.now();
        let mut tx = self.begin().await?;
        if !self
            .apply_transition(&mut tx, org, id, transition, actor, now)
            .await?
        {
            drop(tx);
            return Ok(OrderOutcome {
                order: self.order(org, id).await?,
                changed: false,
            });
        }
        let order = load_order(&mut tx, org, id).await?;
        tx.commit().await?;
        Ok(OrderOutcome {
            order,
            changed: true,
        })
    }

    /// Apply a transition inside the caller's transaction. Returns whether
    /// anything changed (false for duplicate or late transitions).
    pub(crate) async fn apply_transition(
        &self,
        tx: &mut Tx,
        org: OrgId,
        id: OrderId,
        transition: &OrderTransition,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<bool> {
        let sql = format!(
            "SELECT status, channel, currency, total_amount, placed_at FROM orders \
             WHERE org_id = $1 AND id = $2{}",
            self.backend.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound("order"))?;
        let from: OrderStatus = row.parse("status")?;
        let to = transition.target();
        let effect = match from.transition(to)? {
            Transition::NoOp => return Ok(false),
            Transition::Apply(effect) => effect,
        };
        let entry = LedgerEntry {
            kind: MovementKind::Fulfilment,
            reason: "order shipped",
            reference: Some(("order", id.to_string())),
            actor,
        };
        let applied = match effect {
            StockEffect::None => StockEffect::None,
            StockEffect::Fulfil => {
                for (res_id, variant, location, qty) in
                    reservations(self, tx, org, id, "open").await?
                {
                    apply_level(tx, org, variant, location, -qty, -qty, &entry, now)
                        .await?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("reservation {res_id} has no level"))
                        })?;
                    close_reservation(tx, org, &res_id, "fulfilled", now).await?;
                }
                StockEffect::Fulfil
            }
            StockEffect::Release => {
                for (res_id, variant, location, qty) in
                    reservations(self, tx, org, id, "open").await?
                {
                    sqlx::query(
                        "UPDATE inventory_levels SET reserved = reserved - $4, updated_at = $5 \
                         WHERE org_id = $1 AND variant_id = $2 AND location_id = $3",
                    )
                    .bind(org.to_string())
                    .bind(variant.to_string())
                    .bind(location.to_string())
                    .bind(qty)
                    .bind(now.millis())
                    .execute(&mut **tx)
                    .await?;
                    crate::propagation::mark_dirty(tx, org, variant, now).await?;
                    close_reservation(tx, org, &res_id, "released", now).await?;
                }
                StockEffect::Release
            }
            StockEffect::Restock => {
                let restock = matches!(transition, OrderTransition::Return { restock: true });
                if restock {
                    let entry = LedgerEntry {
                        kind: MovementKind::Restock,
                        reason: "order returned",
                        reference: Some(("order", id.to_string())),
                        actor,
                    };
                    for (_, variant, location, qty) in
                        reservations(self, tx, org, id, "fulfilled").await?
                    {
                        apply_on_hand(tx, org, variant, location, qty, &entry, now).await?;
                    }
                    StockEffect::Restock
                } else {
                    StockEffect::None
                }
            }
        };
        let note = match transition {
            OrderTransition::Ship {
                carrier,
                tracking_number,
            } => {
                sqlx::query(
                    "INSERT INTO shipments (org_id, id, order_id, carrier, tracking_number, shipped_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(org.to_string())
                .bind(ShipmentId::new().to_string())
                .bind(id.to_string())
                .bind(carrier.trim())
                .bind(tracking_number.trim())
                .bind(now.millis())
                .execute(&mut **tx)
                .await?;
                Some(format!("{} {}", carrier.trim(), tracking_number.trim()))
            }
            OrderTransition::Cancel { reason } => Some(reason.trim().to_owned()),
            _ => None,
        };
        let cancel_reason = match transition {
            OrderTransition::Cancel { reason } => Some(reason.trim().to_owned()),
            _ => None,
        };
        sqlx::query(
            "UPDATE orders SET status = $3, updated_at = $4, cancel_reason = COALESCE($5, cancel_reason) \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(to.as_str())
        .bind(now.millis())
        .bind(cancel_reason)
        .execute(&mut **tx)
        .await?;
        // Cancelled orders are not sales: the rollup follows the order in
        // and out of `cancelled`.
        let cancelled = |s: OrderStatus| i64::from(s == OrderStatus::Cancelled);
        let sales_change = cancelled(from) - cancelled(to);
        if sales_change != 0 {
            crate::dashboard::add_sales(
                tx,
                org,
                row.int("placed_at")?,
                &row.text("channel")?,
                &row.text("currency")?,
                sales_change,
                sales_change * row.int("total_amount")?,
            )
            .await?;
        }
        insert_event(
            tx,
            org,
            id,
            now,
            Some(from),
            to,
            effect_name(applied),
            &actor.label,
            note,
        )
        .await?;
        audit::record(
            tx,
            now,
            org,
            actor,
            Audit {
                action: transition.action(),
                entity_type: "order",
                entity_id: id.to_string(),
                summary: serde_json::json!({
                    "before": { "status": from }, "after": { "status": to },
                    "effect": effect_name(applied), "request": transition,
                }),
            },
        )
        .await?;
        Ok(true)
    }

    /// One order with lines, shipments and its status timeline.
    /// The connected shop a marketplace order came from (`None` for
    /// manual and website orders).
    pub async fn order_shop(&self, org: OrgId, id: OrderId) -> Result<Option<ShopId>> {
        let row = sqlx::query(
            "SELECT o.shop_key FROM orders o JOIN shops s ON s.org_id = o.org_id AND s.id = o.shop_key \
             WHERE o.org_id = $1 AND o.id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| r.parse("shop_key")).transpose()
    }

    pub async fn order(&self, org: OrgId, id: OrderId) -> Result<Order> {
        let mut conn = self.read.acquire().await?;
        load_order(&mut conn, org, id).await
    }

    /// Orders newest first, filtered.
    pub async fn list_orders(
        &self,
        org: OrgId,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<Order>> {
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT * FROM orders WHERE org_id = $1 AND id < $2 \
             AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR channel = $4) \
             AND ($5 IS NULL OR placed_at >= $5) AND ($6 IS NULL OR placed_at < $6) \
             AND ($8 IS NULL OR shop_key = $8) ORDER BY id DESC LIMIT $7",
        )
        .bind(org.to_string())
        .bind(page.before())
        .bind(filter.status.map(|s| s.as_str().to_owned()))
        .bind(filter.channel.clone())
        .bind(filter.placed_from.map(|t| t.millis()))
        .bind(filter.placed_to.map(|t| t.millis()))
        .bind(limit + 1)
        .bind(filter.shop.map(|s| s.to_string()))
        .fetch_all(&self.read)
        .await?;
        let mut orders = rows
            .iter()
            .map(order_from_row)
            .collect::<Result<Vec<_>>>()?;
        if !orders.is_empty() {
            let ids: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
            let sql = format!(
                "SELECT * FROM order_lines WHERE org_id = $1 AND order_id IN ({}) ORDER BY line_no",
                placeholders(2, ids.len())
            );
            let mut q = sqlx::query(&sql).bind(org.to_string());
            for id in ids {
                q = q.bind(id);
            }
            let mut by_order: HashMap<String, Vec<OrderLine>> = HashMap::new();
            let currencies: HashMap<String, Currency> = orders
                .iter()
                .map(|o| (o.id.to_string(), o.currency))
                .collect();
            for r in q.fetch_all(&self.read).await? {
                let oid = r.text("order_id")?;
                let currency = currencies
                    .get(&oid)
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt("line without order".into()))?;
                by_order
                    .entry(oid)
                    .or_default()
                    .push(line_from_row(&r, currency)?);
            }
            for o in &mut orders {
                o.lines = by_order.remove(&o.id.to_string()).unwrap_or_default();
            }
        }
        Ok(Page::from_rows(orders, limit, |o| o.id.to_string()))
    }
}

/// Stock taken for one order line at one location.
pub(crate) struct Hold {
    pub(crate) line: OrderLineId,
    pub(crate) variant: VariantId,
    pub(crate) location: LocationId,
    pub(crate) quantity: i64,
}

/// An order line as written: marketplace lines also carry the channel's
/// listing ids and the units our stock could not cover.
pub(crate) struct LineRow<'a> {
    pub line: &'a OrderLine,
    pub external: Option<(&'a str, &'a str)>,
    pub short: i64,
}

impl<'a> From<&'a OrderLine> for LineRow<'a> {
    fn from(line: &'a OrderLine) -> Self {
        LineRow {
            line,
            external: None,
            short: 0,
        }
    }
}

/// Insert an order's lines in one statement.
pub(crate) async fn insert_lines(
    tx: &mut Tx,
    org: OrgId,
    order: OrderId,
    lines: &[LineRow<'_>],
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    const COLS: usize = 12;
    let values = (0..lines.len())
        .map(|i| format!("({})", placeholders(i * COLS + 1, COLS)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO order_lines (org_id, id, order_id, line_no, sku, variant_id, quantity, \
         unit_price_amount, total_amount, external_listing_id, external_variant_id, quantity_short) VALUES {values}"
    );
    let mut q = sqlx::query(&sql);
    for r in lines {
        let l = r.line;
        q = q
            .bind(org.to_string())
            .bind(l.id.to_string())
            .bind(order.to_string())
            .bind(l.line_no)
            .bind(l.sku.clone())
            .bind(l.variant_id.map(|v| v.to_string()))
            .bind(l.quantity)
            .bind(l.unit_price.amount)
            .bind(l.total.amount)
            .bind(r.external.map(|(item, _)| item.to_owned()))
            .bind(r.external.map(|(_, variant)| variant.to_owned()))
            .bind(r.short);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn insert_holds(
    tx: &mut Tx,
    org: OrgId,
    order: OrderId,
    holds: &[Hold],
    now: Timestamp,
) -> Result<()> {
    if holds.is_empty() {
        return Ok(());
    }
    const COLS: usize = 8;
    let values = (0..holds.len())
        .map(|i| format!("({}, 'open')", placeholders(i * COLS + 1, COLS)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO reservations (org_id, id, order_id, order_line_id, variant_id, location_id, \
         quantity, created_at, status) VALUES {values}"
    );
    let mut q = sqlx::query(&sql);
    for h in holds {
        q = q
            .bind(org.to_string())
            .bind(ReservationId::new().to_string())
            .bind(order.to_string())
            .bind(h.line.to_string())
            .bind(h.variant.to_string())
            .bind(h.location.to_string())
            .bind(h.quantity)
            .bind(now.millis());
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Components (variant, quantity per bundle) of the given bundles.
async fn bundle_components(
    tx: &mut Tx,
    org: OrgId,
    bundle_ids: &[String],
) -> Result<HashMap<VariantId, Vec<(Variant, i64)>>> {
    let mut out: HashMap<VariantId, Vec<(Variant, i64)>> = HashMap::new();
    if bundle_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT v.*, b.bundle_variant_id AS bundle_id, b.quantity AS per_bundle FROM bundle_components b \
         JOIN variants v ON v.org_id = b.org_id AND v.id = b.component_variant_id \
         WHERE b.org_id = $1 AND b.bundle_variant_id IN ({})",
        placeholders(2, bundle_ids.len())
    );
    let mut q = sqlx::query(&sql).bind(org.to_string());
    for id in bundle_ids {
        q = q.bind(id.clone());
    }
    for r in q.fetch_all(&mut **tx).await? {
        out.entry(r.parse("bundle_id")?)
            .or_default()
            .push((Variant::from_row(&r)?, r.int("per_bundle")?));
    }
    Ok(out)
}

async fn reservations(
    store: &Store,
    tx: &mut Tx,
    org: OrgId,
    order: OrderId,
    status: &str,
) -> Result<Vec<(String, VariantId, LocationId, i64)>> {
    let sql = format!(
        "SELECT id, variant_id, location_id, quantity FROM reservations \
         WHERE org_id = $1 AND order_id = $2 AND status = $3 ORDER BY variant_id, location_id{}",
        store.backend.for_update()
    );
    sqlx::query(&sql)
        .bind(org.to_string())
        .bind(order.to_string())
        .bind(status)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.text("id")?,
                r.parse("variant_id")?,
                r.parse("location_id")?,
                r.int("quantity")?,
            ))
        })
        .collect()
}

/// Release up to `units` of a line's open reservations (the rest of the
/// line stays held); returns how many were released. A reservation cut
/// in part keeps its open remainder and leaves a released record of the
/// part.
pub(crate) async fn release_line_units(
    store: &Store,
    tx: &mut Tx,
    org: OrgId,
    line: &str,
    units: i64,
    now: Timestamp,
) -> Result<i64> {
    let sql = format!(
        "SELECT id, order_id, variant_id, location_id, quantity FROM reservations \
         WHERE org_id = $1 AND order_line_id = $2 AND status = 'open' ORDER BY variant_id, location_id{}",
        store.backend.for_update()
    );
    let rows = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(line)
        .fetch_all(&mut **tx)
        .await?;
    let mut left = units;
    for r in rows {
        if left == 0 {
            break;
        }
        let (id, quantity) = (r.text("id")?, r.int("quantity")?);
        let variant: VariantId = r.parse("variant_id")?;
        let location = r.text("location_id")?;
        let take = quantity.min(left);
        left -= take;
        if take == quantity {
            close_reservation(tx, org, &id, "released", now).await?;
        } else {
            sqlx::query(
                "UPDATE reservations SET quantity = quantity - $3 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(&id)
            .bind(take)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "INSERT INTO reservations (org_id, id, order_id, order_line_id, variant_id, location_id, \
                 quantity, created_at, status, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'released', $8)",
            )
            .bind(org.to_string())
            .bind(ReservationId::new().to_string())
            .bind(r.text("order_id")?)
            .bind(line)
            .bind(variant.to_string())
            .bind(&location)
            .bind(take)
            .bind(now.millis())
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "UPDATE inventory_levels SET reserved = reserved - $4, updated_at = $5 \
             WHERE org_id = $1 AND variant_id = $2 AND location_id = $3",
        )
        .bind(org.to_string())
        .bind(variant.to_string())
        .bind(&location)
        .bind(take)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
        crate::propagation::mark_dirty(tx, org, variant, now).await?;
    }
    Ok(units - left)
}

async fn close_reservation(
    tx: &mut Tx,
    org: OrgId,
    id: &str,
    status: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE reservations SET status = $3, closed_at = $4 WHERE org_id = $1 AND id = $2",
    )
    .bind(org.to_string())
    .bind(id)
    .bind(status)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_event(
    tx: &mut Tx,
    org: OrgId,
    order: OrderId,
    at: Timestamp,
    from: Option<OrderStatus>,
    to: OrderStatus,
    effect: &str,
    source: &str,
    note: Option<String>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_events (org_id, id, order_id, at, from_status, to_status, effect, source, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(org.to_string())
    .bind(storesync_domain::Id::<()>::new().to_string())
    .bind(order.to_string())
    .bind(at.millis())
    .bind(from.map(|s| s.as_str().to_owned()))
    .bind(to.as_str())
    .bind(effect)
    .bind(source)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn order_from_row(r: &AnyRow) -> Result<Order> {
    let currency: Currency = r.parse("currency")?;
    let customer = r
        .opt_text("customer")?
        .and_then(|c| serde_json::from_str(&c).ok());
    Ok(Order {
        id: r.parse("id")?,
        channel: r.text("channel")?,
        external_id: r.text("external_id")?,
        status: r.parse("status")?,
        currency,
        subtotal: Money::new(r.int("subtotal_amount")?, currency),
        shipping_fee: Money::new(r.int("shipping_amount")?, currency),
        discount: Money::new(r.int("discount_amount")?, currency),
        total: Money::new(r.int("total_amount")?, currency),
        customer,
        note: r.opt_text("note")?,
        cancel_reason: r.opt_text("cancel_reason")?,
        placed_at: r.time("placed_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        lines: Vec::new(),
        shipments: None,
        events: None,
    })
}

fn line_from_row(r: &AnyRow, currency: Currency) -> Result<OrderLine> {
    Ok(OrderLine {
        id: r.parse("id")?,
        line_no: r.int("line_no")?,
        sku: r.text("sku")?,
        variant_id: r.opt_parse("variant_id")?,
        quantity: r.int("quantity")?,
        unit_price: Money::new(r.int("unit_price_amount")?, currency),
        total: Money::new(r.int("total_amount")?, currency),
    })
}

async fn load_order(conn: &mut sqlx::AnyConnection, org: OrgId, id: OrderId) -> Result<Order> {
    let row = sqlx::query("SELECT * FROM orders WHERE org_id = $1 AND id = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("order"))?;
    let mut order = order_from_row(&row)?;
    let currency = order.currency;
    order.lines = sqlx::query(
        "SELECT * FROM order_lines WHERE org_id = $1 AND order_id = $2 ORDER BY line_no",
    )
    .bind(org.to_string())
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| line_from_row(r, currency))
    .collect::<Result<_>>()?;
    order.shipments = Some(
        sqlx::query(
            "SELECT * FROM shipments WHERE org_id = $1 AND order_id = $2 ORDER BY shipped_at, id",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Shipment {
                id: r.parse("id")?,
                carrier: r.text("carrier")?,
                tracking_number: r.text("tracking_number")?,
                shipped_at: r.time("shipped_at")?,
            })
        })
        .collect::<Result<_>>()?,
    );
    order.events = Some(
        sqlx::query("SELECT * FROM order_events WHERE org_id = $1 AND order_id = $2 ORDER BY id")
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                Ok(OrderEvent {
                    at: r.time("at")?,
                    from_status: r.opt_parse("from_status")?,
                    to_status: r.parse("to_status")?,
                    effect: r.text("effect")?,
                    source: r.text("source")?,
                    note: r.opt_text("note")?,
                })
            })
            .collect::<Result<_>>()?,
    );
    Ok(order)
}
