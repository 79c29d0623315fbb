//! Orders from marketplaces. Webhooks and polling both feed one idempotent
//! upsert: the first sighting records the order and reserves its stock,
//! later sightings move the unified status forward and apply each stock
//! effect exactly once; duplicated, late and out-of-order events change
//! nothing twice.
//!
//! A marketplace order is a sale that already happened, so intake never
//! refuses it for lack of stock: units our books cannot cover are recorded
//! as short on their line (an oversell to act on), never as negative stock.

use std::collections::HashMap;

use serde::Serialize;
use storesync_domain::ids::{OrderId, OrderLineId, OrgId, ShopId};
use storesync_domain::limits::MAX_AMOUNT;
use storesync_domain::order::IllegalTransition;
use storesync_domain::{Currency, Marketplace, Money, OrderStatus, Timestamp};

use crate::audit::{self, Actor, Audit};
use crate::catalog::Variant;
use crate::db::Tx;
use crate::orders::{Hold, LineRow, OrderLine, OrderTransition};
use crate::row::RowExt;
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone)]
pub struct IngestLine {
    pub external_listing_id: String,
    pub external_variant_id: String,
    pub seller_sku: String,
    pub quantity: i64,
    pub unit_price: Money,
}

#[derive(Debug, Clone)]
pub struct IngestOrder {
    pub external_id: String,
    pub status: OrderStatus,
    pub marketplace_status: String,
    pub currency: Currency,
    pub lines: Vec<IngestLine>,
    pub placed_at: Timestamp,
    pub total: Option<Money>,
}

/// Orders booked per SQLite transaction: enough to share one disk sync
/// among several, few enough that the write lock is free again soon for
/// webhook receipts and API writes waiting on it.
const INGEST_BATCH: usize = 8;

/// Orders booked at once on PostgreSQL, each in its own transaction.
const PARALLEL_BOOKINGS: usize = 8;

/// How an order reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Webhook,
    Poll,
}

impl Via {
    fn as_str(&self) -> &'static str {
        match self {
            Via::Webhook => "webhook",
            Via::Poll => "poll",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    pub order_id: OrderId,
    pub created: bool,
    /// The status moved (or the order was created).
    pub changed: bool,
    pub status: OrderStatus,
    /// Units sold by the channel that our stock could not cover.
    pub short_units: i64,
    pub unmapped_lines: usize,
    /// Polling found an order no webhook had announced.
    pub missed_by_webhook: bool,
}

/// How many times a booking that lost a deadlock is tried in all.
const CONTENTION_ATTEMPTS: u64 = 5;

impl Store {
    /// Record or update one marketplace order of `shop`.
    pub async fn ingest_order(
        &self,
        org: OrgId,
        shop: ShopId,
        marketplace: Marketplace,
        order: &IngestOrder,
        via: Via,
        actor: &Actor,
    ) -> Result<IngestOutcome> {
        // Bookings of the same SKUs from several shops at once may deadlock
        // on PostgreSQL; the loser wrote nothing and is booked again.
        let mut attempt = 1;
        loop {
            match self
                .ingest_once(org, shop, marketplace, order, via, actor)
                .await
            {
                Err(e) if e.is_contention() && attempt < CONTENTION_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn ingest_once(
        &self,
        org: OrgId,
        shop: ShopId,
        marketplace: Marketplace,
        order: &IngestOrder,
        via: Via,
        actor: &Actor,
    ) -> Result<IngestOutcome> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let outcome = self
            .ingest_in(&mut tx, org, shop, marketplace, order, via, actor, now)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Record or update many marketplace orders of `shop`, each with its
    /// own outcome: one order that cannot be booked does not hold back the
    /// others. On SQLite they share a transaction per [`INGEST_BATCH`]
    /// orders, each order inside a savepoint (one commit, one disk sync, for
    /// several); on
    /// PostgreSQL each order is its own transaction, since a batch holding
    /// many variants' rows would deadlock with a batch from another
    /// marketplace selling the same SKUs; PostgreSQL books up to
    /// [`PARALLEL_BOOKINGS`] of them side by side instead.
    pub async fn ingest_orders(
        &self,
        org: OrgId,
        shop: ShopId,
        marketplace: Marketplace,
        orders: &[IngestOrder],
        via: Via,
        actor: &Actor,
    ) -> Result<Vec<Result<IngestOutcome>>> {
        if self.backend == crate::db::Backend::Postgres || orders.len() < 2 {
            // Side by side, as many as the pool lends at once; results in
            // the orders' order.
            use futures_util::stream::{self, StreamExt};
            // Collected first: a closure inside the stream would make the
            // caller's future not `Send` for every lifetime.
            let bookings: Vec<_> = orders
                .iter()
                .map(|order| self.ingest_order(org, shop, marketplace, order, via, actor))
                .collect();
            let outcomes = stream::iter(bookings)
                .buffered(PARALLEL_BOOKINGS)
                .collect()
                .await;
            return Ok(outcomes);
        }
        let mut outcomes = Vec::with_capacity(orders.len());
        for chunk in orders.chunks(INGEST_BATCH) {
            let now = self.now();
            let mut tx = self.begin().await?;
            for order in chunk {
                sqlx::query("SAVEPOINT ingest_order")
                    .execute(&mut *tx)
                    .await?;
                let outcome = self
                    .ingest_in(&mut tx, org, shop, marketplace, order, via, actor, now)
                    .await;
                if outcome.is_err() {
                    sqlx::query("ROLLBACK TO SAVEPOINT ingest_order")
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("RELEASE SAVEPOINT ingest_order")
                    .execute(&mut *tx)
                    .await?;
                outcomes.push(outcome);
            }
            tx.commit().await?;
        }
        Ok(outcomes)
    }

    /// Of these marketplace order ids of `shop`, the ones not in our books.
    pub async fn unknown_orders(
        &self,
        org: OrgId,
        shop: ShopId,
        marketplace: Marketplace,
        external_ids: &[String],
    ) -> Result<Vec<String>> {
        let mut known = std::collections::HashSet::new();
        for chunk in external_ids.chunks(200) {
            let list = crate::catalog::placeholders(4, chunk.len());
            let sql = format!(
                "SELECT external_id FROM orders WHERE org_id = $1 AND channel = $2 AND shop_key = $3 \
                 AND external_id IN ({list})"
            );
            let mut q = sqlx::query(&sql)
                .bind(org.to_string())
                .bind(marketplace.as_str())
                .bind(shop.to_string());
            for id in chunk {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(&self.read).await? {
                known.insert(r.text("external_id")?);
            }
        }
        Ok(external_ids
            .iter()
            .filter(|id| !known.contains(*id))
            .cloned()
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn ingest_in(
        &self,
        tx: &mut Tx,
        org: OrgId,
        shop: ShopId,
        marketplace: Marketplace,
        order: &IngestOrder,
        via: Via,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<IngestOutcome> {
        // Webhook, poll and drift may book the same new order at once.
        self.lock_key(
            tx,
            &format!("order:{org}:{marketplace}:{shop}:{}", order.external_id),
        )
        .await?;
        let sql = format!(
            "SELECT id, status, seen_by_webhook FROM orders WHERE org_id = $1 AND channel = $2 AND shop_key = $3 \
             AND external_id = $4{}",
            self.backend.for_update()
        );
        let existing = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(marketplace.as_str())
            .bind(shop.to_string())
            .bind(&order.external_id)
            .fetch_optional(&mut **tx)
            .await?;
        let outcome = match existing {
            Some(row) => {
                let id: OrderId = row.parse("id")?;
                let missed = via == Via::Poll && row.int("seen_by_webhook")? == 0;
                sqlx::query(
                    "UPDATE orders SET marketplace_status = $3, seen_by_webhook = CASE WHEN $4 = 1 THEN 1 ELSE seen_by_webhook END \
                     WHERE org_id = $1 AND id = $2",
                )
                .bind(org.to_string())
                .bind(id.to_string())
                .bind(&order.marketplace_status)
                .bind(i64::from(via == Via::Webhook))
                .execute(&mut **tx)
                .await?;
                let mut changed = self
                    .follow_status(tx, org, id, order.status, actor, now)
                    .await?;
                if order.status.holds_reservation() {
                    changed |= self
                        .release_cancelled_units(tx, org, shop, id, order, actor, now)
                        .await?;
                }
                if changed && order.status == OrderStatus::Cancelled {
                    let lines = sqlx::query(
                        "SELECT external_listing_id, external_variant_id, quantity - cancelled_quantity AS quantity \
                         FROM order_lines WHERE org_id = $1 AND order_id = $2 AND external_listing_id IS NOT NULL",
                    )
                    .bind(org.to_string())
                    .bind(id.to_string())
                    .fetch_all(&mut **tx)
                    .await?;
                    for l in lines {
                        let item = l.text("external_listing_id")?;
                        let variant = l.opt_text("external_variant_id")?.unwrap_or_default();
                        adjust_shown(tx, org, shop, &item, &variant, l.int("quantity")?).await?;
                    }
                }
                let status: OrderStatus =
                    sqlx::query("SELECT status FROM orders WHERE org_id = $1 AND id = $2")
                        .bind(org.to_string())
                        .bind(id.to_string())
                        .fetch_one(&mut **tx)
                        .await?
                        .parse("status")?;
                IngestOutcome {
                    order_id: id,
                    created: false,
                    changed,
                    status,
                    short_units: 0,
                    unmapped_lines: 0,
                    missed_by_webhook: missed,
                }
            }
            None => {
                self.create_ingested(tx, org, shop, marketplace, order, via, actor, now)
                    .await?
            }
        };
        Ok(outcome)
    }

    /// A live order that now names fewer units of a listing than we hold
    /// for it had some cancelled on the marketplace (Lazada cancels order
    /// items one by one, TikTok Shop line items): those units are released
    /// from their reservations (so shipping the rest deducts only what
    /// ships), counted back on the marketplace's listing, and noted in the
    /// order's timeline. A re-read naming the same units changes nothing.
    #[allow(clippy::too_many_arguments)]
    async fn release_cancelled_units(
        &self,
        tx: &mut Tx,
        org: OrgId,
        shop: ShopId,
        id: OrderId,
        order: &IngestOrder,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<bool> {
        if order.lines.is_empty() {
            return Ok(false);
        }
        let mut named: HashMap<(String, String), i64> = HashMap::new();
        for l in &order.lines {
            *named
                .entry((l.external_listing_id.clone(), l.external_variant_id.clone()))
                .or_default() += l.quantity;
        }
        let lines = sqlx::query(
            "SELECT id, sku, external_listing_id, external_variant_id, quantity - cancelled_quantity AS live \
             FROM order_lines WHERE org_id = $1 AND order_id = $2 AND external_listing_id IS NOT NULL \
             ORDER BY line_no",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_all(&mut **tx)
        .await?;
        let mut status = None;
        for line in lines {
            let item = line.text("external_listing_id")?;
            let variant = line.opt_text("external_variant_id")?.unwrap_or_default();
            let live = line.int("live")?;
            let left = named.entry((item.clone(), variant.clone())).or_default();
            let keep = live.min(*left);
            *left -= keep;
            let cancelled = live - keep;
            if cancelled <= 0 {
                continue;
            }
            let line_id = line.text("id")?;
            sqlx::query(
                "UPDATE order_lines SET cancelled_quantity = cancelled_quantity + $3 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(&line_id)
            .bind(cancelled)
            .execute(&mut **tx)
            .await?;
            let released =
                crate::orders::release_line_units(self, tx, org, &line_id, cancelled, now).await?;
            adjust_shown(tx, org, shop, &item, &variant, cancelled).await?;
            let current = match status {
                Some(s) => s,
                None => {
                    let s: OrderStatus =
                        sqlx::query("SELECT status FROM orders WHERE org_id = $1 AND id = $2")
                            .bind(org.to_string())
                            .bind(id.to_string())
                            .fetch_one(&mut **tx)
                            .await?
                            .parse("status")?;
                    status = Some(s);
                    s
                }
            };
            crate::orders::insert_event(
                tx,
                org,
                id,
                now,
                Some(current),
                current,
                "release",
                &actor.label,
                Some(format!(
                    "{cancelled} × {} cancelled on the marketplace; {released} reserved unit(s) released",
                    line.text("sku")?
                )),
            )
            .await?;
        }
        Ok(status.is_some())
    }

    /// Move an existing order to the marketplace's status. Contradictions
    /// (the marketplace cancelling an order we saw shipped) are logged and
    /// ignored rather than failing the intake.
    async fn follow_status(
        &self,
        tx: &mut Tx,
        org: OrgId,
        id: OrderId,
        to: OrderStatus,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<bool> {
        match self
            .apply_transition(
                tx,
                org,
                id,
                &OrderTransition::Status { status: to },
                actor,
                now,
            )
            .await
        {
            Ok(changed) => Ok(changed),
            Err(StoreError::IllegalTransition(IllegalTransition { from, to })) => {
                tracing::warn!(order = %id, %from, %to, "marketplace status contradicts the order's history; ignored");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn create_ingested(
        &self,
        tx: &mut Tx,
        org: OrgId,
        shop: ShopId,
        marketplace: Marketplace,
        order: &IngestOrder,
        via: Via,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<IngestOutcome> {
        let id = OrderId::new();
        let currency = order.currency;
        let mut subtotal: i64 = 0;
        for l in &order.lines {
            subtotal = subtotal.saturating_add(l.unit_price.amount.saturating_mul(l.quantity));
        }
        // A marketplace's amounts are held to our own maximum, so the sales
        // rollup that sums them (and the reports over it) cannot overflow,
        // whatever a marketplace answers.
        let subtotal = subtotal.clamp(0, MAX_AMOUNT);
        let total = order
            .total
            .map_or(subtotal, |t| t.amount)
            .clamp(0, MAX_AMOUNT);
        let (shipping, discount) = if total >= subtotal {
            (total - subtotal, 0)
        } else {
            (0, subtotal - total)
        };
        // Start where stock is held; a later status is reached through the
        // machine below, so its stock effect is the usual one.
        let initial = if order.status.holds_reservation() {
            order.status
        } else {
            OrderStatus::ReadyToShip
        };
        sqlx::query(
            "INSERT INTO orders (org_id, id, channel, shop_key, external_id, status, currency, subtotal_amount, \
             shipping_amount, discount_amount, total_amount, placed_at, created_at, updated_at, marketplace_status, \
             first_seen_via, seen_by_webhook) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16)",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(marketplace.as_str())
        .bind(shop.to_string())
        .bind(&order.external_id)
        .bind(initial.as_str())
        .bind(currency.as_str())
        .bind(subtotal)
        .bind(shipping)
        .bind(discount)
        .bind(total)
        .bind(order.placed_at.millis())
        .bind(now.millis())
        .bind(&order.marketplace_status)
        .bind(via.as_str())
        .bind(i64::from(via == Via::Webhook))
        .execute(&mut **tx)
        .await?;

        let mut short_units = 0;
        let mut unmapped = 0;
        let mut holds = Vec::new();
        let mut lines = Vec::with_capacity(order.lines.len());
        let mut shorts = Vec::with_capacity(order.lines.len());
        for (i, l) in order.lines.iter().enumerate() {
            let line_id = OrderLineId::new();
            let variant = self.line_variant(tx, org, shop, l).await?;
            let mut short = 0;
            if let Some(v) = &variant {
                let taken = self
                    .reserve_best_effort(tx, org, v, l.quantity, now)
                    .await?;
                let got: i64 = taken.iter().map(|(_, q)| q).sum();
                short = l.quantity - got;
                holds.extend(taken.into_iter().map(|(location, quantity)| Hold {
                    line: line_id,
                    variant: v.id,
                    location,
                    quantity,
                }));
            } else {
                unmapped += 1;
            }
            short_units += short;
            shorts.push(short);
            lines.push(OrderLine {
                id: line_id,
                line_no: i64::try_from(i).unwrap_or(i64::MAX) + 1,
                sku: l.seller_sku.clone(),
                variant_id: variant.as_ref().map(|v| v.id),
                quantity: l.quantity,
                unit_price: l.unit_price,
                total: Money::new(l.unit_price.amount.saturating_mul(l.quantity), currency),
            });
        }
        let rows: Vec<LineRow<'_>> = lines
            .iter()
            .zip(&order.lines)
            .zip(&shorts)
            .map(|((line, l), short)| LineRow {
                line,
                external: Some((
                    l.external_listing_id.as_str(),
                    l.external_variant_id.as_str(),
                )),
                short: *short,
            })
            .collect();
        crate::orders::insert_lines(tx, org, id, &rows).await?;
        crate::orders::insert_holds(tx, org, id, &holds, now).await?;
        // The marketplace took these units off its own listing when the
        // buyer ordered (and put them back if the order is already
        // cancelled): keep our picture of what it shows in step.
        if order.status != OrderStatus::Cancelled {
            for l in &order.lines {
                sold_on_channel(
                    tx,
                    org,
                    shop,
                    &l.external_listing_id,
                    &l.external_variant_id,
                    l.quantity,
                    order.placed_at,
                )
                .await?;
            }
        }
        crate::orders::insert_event(
            tx,
            org,
            id,
            now,
            None,
            initial,
            "reserve",
            &actor.label,
            Some(format!("from {marketplace} via {}", via.as_str())),
        )
        .await?;
        if order.status != initial {
            self.follow_status(tx, org, id, order.status, actor, now)
                .await?;
        }
        // `initial` is never `cancelled`; a cancellation followed above took
        // the order out again.
        crate::dashboard::add_sales(
            tx,
            org,
            order.placed_at.millis(),
            marketplace.as_str(),
            currency.as_str(),
            1,
            total,
        )
        .await?;
        audit::record(
            tx,
            now,
            org,
            actor,
            Audit {
                action: "order.ingest",
                entity_type: "order",
                entity_id: id.to_string(),
                summary: serde_json::json!({ "after": {
                    "channel": marketplace, "shop_id": shop, "external_id": order.external_id,
                    "status": order.status, "short_units": short_units, "unmapped_lines": unmapped } }),
            },
        )
        .await?;
        Ok(IngestOutcome {
            order_id: id,
            created: true,
            changed: true,
            status: order.status,
            short_units,
            unmapped_lines: unmapped,
            missed_by_webhook: via == Via::Poll,
        })
    }

    /// The master variant a marketplace line sells: the listing's mapping,
    /// else the variant with the same SKU.
    async fn line_variant(
        &self,
        tx: &mut Tx,
        org: OrgId,
        shop: ShopId,
        l: &IngestLine,
    ) -> Result<Option<Variant>> {
        let row = sqlx::query(
            "SELECT v.* FROM listings li JOIN variants v ON v.org_id = li.org_id AND v.id = li.variant_id \
             WHERE li.org_id = $1 AND li.shop_id = $2 AND li.external_listing_id = $3 AND li.external_variant_id = $4",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(&l.external_listing_id)
        .bind(&l.external_variant_id)
        .fetch_optional(&mut **tx)
        .await?;
        let row = match row {
            Some(r) => Some(r),
            None => {
                sqlx::query("SELECT * FROM variants WHERE org_id = $1 AND sku = $2")
                    .bind(org.to_string())
                    .bind(l.seller_sku.trim())
                    .fetch_optional(&mut **tx)
                    .await?
            }
        };
        match row {
            Some(r) => {
                let v = Variant::from_row(&r)?;
                // Bundles sold on a channel are left for the seller to map to
                // components; reserving them needs the bundle path.
                Ok((!v.is_bundle).then_some(v))
            }
            None => Ok(None),
        }
    }

    /// Reserve as much of `quantity` as there is; returns what was taken where.
    async fn reserve_best_effort(
        &self,
        tx: &mut Tx,
        org: OrgId,
        variant: &Variant,
        quantity: i64,
        now: Timestamp,
    ) -> Result<Vec<(storesync_domain::ids::LocationId, i64)>> {
        match self.reserve_in(tx, org, variant, quantity, now).await? {
            Ok(taken) => Ok(taken),
            Err(available) if available > 0 => Ok(self
                .reserve_in(tx, org, variant, available.min(quantity), now)
                .await?
                .unwrap_or_default()),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Counts of one organization's marketplace orders by how we first saw
    /// them: the webhook loss rate is `missed / total`.
    pub async fn intake_counts(&self, org: OrgId) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total, \
             CAST(COALESCE(SUM(CASE WHEN first_seen_via = 'poll' THEN 1 ELSE 0 END), 0) AS BIGINT) AS missed \
             FROM orders WHERE org_id = $1 AND first_seen_via IS NOT NULL",
        )
        .bind(org.to_string())
        .fetch_one(&self.read)
        .await?;
        Ok((row.int("total")?, row.int("missed")?))
    }
}

/// How far the marketplace's clock may run ahead of ours. A push can only
/// have overwritten a sale that happened before it landed; marketplaces
/// stamp orders with the second the buyer ordered (rounded down), so a sale
/// stamped at or after the push's landing plus this slack came after it.
/// Every push that is not needed races the next buyer on that listing, so
/// the window is kept as narrow as the clocks allow.
const PUSH_RACE_SLACK_MS: i64 = 1_000;

/// The marketplace took `quantity` units off the listing for a sale at
/// `sold_at`. Unless our last push may have landed after the sale (and
/// so overwritten the marketplace's deduction), the listing now shows that
/// much less. In the doubtful case what we believe it shows stays as
/// pushed (believing it shows less could hand the same unit to another
/// channel) while its own count drops; the two then differ, which makes
/// the next push send the listing's number again and settle the doubt.
async fn sold_on_channel(
    tx: &mut Tx,
    org: OrgId,
    shop: ShopId,
    item: &str,
    variant: &str,
    quantity: i64,
    sold_at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE listings SET channel_stock = channel_stock - $5, last_pushed_qty = CASE \
         WHEN last_pushed_at IS NULL OR last_pushed_at < $6 THEN last_pushed_qty - $5 ELSE last_pushed_qty END \
         WHERE org_id = $1 AND shop_id = $2 AND external_listing_id = $3 AND external_variant_id = $4",
    )
    .bind(org.to_string())
    .bind(shop.to_string())
    .bind(item)
    .bind(variant)
    .bind(quantity)
    .bind(sold_at.millis() - PUSH_RACE_SLACK_MS)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn adjust_shown(
    tx: &mut Tx,
    org: OrgId,
    shop: ShopId,
    item: &str,
    variant: &str,
    delta: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE listings SET channel_stock = channel_stock + $5, last_pushed_qty = last_pushed_qty + $5 \
         WHERE org_id = $1 AND shop_id = $2 AND external_listing_id = $3 AND external_variant_id = $4",
    )
    .bind(org.to_string())
    .bind(shop.to_string())
    .bind(item)
    .bind(variant)
    .bind(delta)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
