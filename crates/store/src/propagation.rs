//! Stock propagation, storage side: variants are marked dirty in the same
//! transaction as any change to their stock; the propagator drains the
//! marks into one push job per affected shop (coalescing bursts), and each
//! push computes every listing's target from the ledger at that moment.

use std::collections::HashMap;

use serde::Serialize;
use storesync_domain::ids::{OrgId, ShopId, VariantId};
use storesync_domain::inventory::bundle_available;
pub use storesync_domain::planner::Settled;
pub use storesync_domain::planner::{allocate, sticky_split, Slot};
use storesync_domain::planner::{plan_variant, settle, ListingFacts, Planned};
use storesync_domain::protection::slow_to_forget;
use storesync_domain::{Marketplace, Timestamp};

use crate::catalog::placeholders;
use crate::db::Tx;
use crate::jobs::{enqueue_in, NewJob};
use crate::listings::ListingRowId;
use crate::row::RowExt;
use crate::{Result, Store};

/// Job kind that pushes a shop's stock to its marketplace.
pub const PUSH_JOB: &str = crate::job_keys::kind::PUSH;

/// Marks a variant for every shop's push once units a push held back are
/// free again (see [`Store::hold_units`]). Payload: `{"variant_id"}`.
pub const HOLD_ENDED_JOB: &str = "stock.hold_ended";

/// How long after a hold ends its variant is marked: the hold is compared
/// with the clock of whichever instance plans next.
const HOLD_ENDED_MARGIN_MS: i64 = 50;

/// At or below this many available units (or more for a SKU selling fast,
/// see [`storesync_domain::protection::split_threshold`]), a SKU sold on
/// several channels is split between them without overlap instead of shown
/// in full on each: when every channel shows the same last units, two
/// buyers can take the same unit before any sync can react, whatever its
/// speed.
pub use storesync_domain::protection::SPLIT_BELOW;

/// Sales of the last this many milliseconds give a SKU's recent pace; the
/// last second alone is read too, so a pace that rises is seen at once.
pub const PACE_WINDOW_MS: i64 = 5_000;

/// What a listing may be showing, in SQL over `listings l` with the time in
/// `$4`: our last number (or its own count), and units a push held back
/// while it landed, until they are given back.
const HIGH_SQL: &str = "(COALESCE(l.last_pushed_qty, l.channel_stock) + \
     CASE WHEN l.held_until > $4 THEN l.held_back ELSE 0 END)";

/// Units a second from a row of sales (`last_second`, `first_in_second`,
/// `last_window`, `orders`): from the units sold in the last second and in the last
/// [`PACE_WINDOW_MS`]: the more of the two rates, so a burst counts at once.
/// The last second's units are spread over the time since the first of
/// them (at least [`PACE_MIN_SPAN_MS`]), not over a whole second: when a
/// storm began a third of a second ago, its units came in a third of a
/// second.
fn pace_of(row: &sqlx::any::AnyRow, now: i64) -> Result<f64> {
    if row.int("orders")? < 2 {
        // One order, of however many units, is a sale, not a pace.
        return Ok(0.0);
    }
    let window = row.int("last_window")? as f64 * 1000.0 / PACE_WINDOW_MS as f64;
    let span = row
        .opt_int("first_in_second")?
        .map_or(1_000, |first| (now - first).clamp(PACE_MIN_SPAN_MS, 1_000));
    Ok((row.int("last_second")? as f64 * 1000.0 / span as f64).max(window))
}

/// The shortest time the last second's sales are spread over: a pair of
/// sales a few milliseconds apart is not a pace of hundreds a second.
const PACE_MIN_SPAN_MS: i64 = 250;

/// Recompute `variants.is_low` for the variants the condition selects
/// (`$1` is the organization; the caller adds the rest). A bundle holds no
/// stock: it has as many as its scarcest component allows.
pub(crate) const REFRESH_LOW: &str = "UPDATE variants SET is_low = CASE WHEN low_stock_threshold IS NOT NULL \
     AND low_stock_threshold >= CASE WHEN is_bundle = 1 THEN COALESCE((SELECT MIN(CAST(COALESCE((SELECT SUM(il.on_hand - il.reserved) \
         FROM inventory_levels il WHERE il.org_id = b.org_id AND il.variant_id = b.component_variant_id), 0) AS BIGINT) / b.quantity) \
         FROM bundle_components b WHERE b.org_id = variants.org_id AND b.bundle_variant_id = variants.id), 0) \
     ELSE COALESCE((SELECT SUM(il.on_hand - il.reserved) FROM inventory_levels il \
     WHERE il.org_id = variants.org_id AND il.variant_id = variants.id), 0) END THEN 1 ELSE 0 END WHERE org_id = $1";

pub(crate) async fn mark_dirty(
    tx: &mut Tx,
    org: OrgId,
    variant: VariantId,
    now: Timestamp,
) -> Result<()> {
    // Every stock change passes here: keep the low-stock flags in step, of
    // the variant and of the bundles made of it.
    sqlx::query(&format!(
        "{REFRESH_LOW} AND (id = $2 OR id IN (SELECT bundle_variant_id FROM bundle_components \
         WHERE org_id = $1 AND component_variant_id = $2))"
    ))
    .bind(org.to_string())
    .bind(variant.to_string())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO dirty_variants (org_id, variant_id, marked_at) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id, variant_id) DO UPDATE SET marked_at = excluded.marked_at",
    )
    .bind(org.to_string())
    .bind(variant.to_string())
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One listing's next push.
#[derive(Debug, Clone, Serialize)]
pub struct PushItem {
    pub listing_id: ListingRowId,
    pub external_listing_id: String,
    pub external_variant_id: String,
    pub warehouse_id: Option<String>,
    /// What the channel should show.
    pub target: i64,
    /// Sellable stock in our ledger (on hand − reserved, all locations).
    pub available: i64,
    /// The marketplace's own promotion hold, below which it refuses updates.
    pub floor: Option<i64>,
    pub last_pushed: Option<i64>,
    /// A sale may have been overwritten by our last push: the channel shows
    /// either `last_pushed` or less; push again to be sure.
    pub uncertain: bool,
    /// What the channel is believed to show now.
    pub shown: i64,
    /// Our count of the listing's own stock when planned (the last push
    /// less the sales there ingested since); a sale ingested while the
    /// push is on its way moves it (see [`Store::record_push_ahead`]).
    pub channel_stock: i64,
    /// The master variant, and what all its listings together are believed
    /// to show (a raise is claimed only if that total has not moved).
    pub variant_id: VariantId,
    pub shown_total: i64,
    /// Why the number is what it is.
    pub why: String,
    /// The target is this channel's share of the last units.
    pub split: bool,
    /// At or below this many available units the variant is split (see
    /// [`storesync_domain::protection::split_threshold`]).
    pub threshold: i64,
    /// Units a second this listing sold lately.
    pub units_per_sec: f64,
    /// How long this listing's shop takes from a push's plan to the
    /// marketplace's answer, lately (a decaying maximum).
    pub push_latency_ms: i64,
    /// From a sale on a marketplace until every channel of the variant
    /// shows its effect, lately: how long units held back by a push stay
    /// this listing's (see [`Store::hold_units`]).
    pub horizon_ms: i64,
}

impl PushItem {
    /// What the planner needs to decide the number sent.
    pub fn planned(&self) -> Planned {
        Planned {
            target: self.target,
            shown: self.shown,
            channel_stock: self.channel_stock,
            last_pushed: self.last_pushed,
            uncertain: self.uncertain,
            floor: self.floor,
            split: self.split,
            units_per_sec: self.units_per_sec,
            push_latency_ms: self.push_latency_ms,
        }
    }
}

/// A listing whose channel showed something else than we believed.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub listing_id: ListingRowId,
    pub expected: i64,
    pub seen: i64,
}

/// One push decision in a listing's history.
#[derive(Debug, Clone, Serialize)]
pub struct PushRecord {
    /// What was sent (none when nothing was: refused, dry run, drift noted).
    pub quantity: Option<i64>,
    pub result: String,
    pub at: Timestamp,
}

pub(crate) async fn record_history(
    tx: &mut Tx,
    org: OrgId,
    listing: ListingRowId,
    quantity: Option<i64>,
    result: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO push_history (org_id, id, listing_id, quantity, result, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org.to_string())
    .bind(storesync_domain::Id::<()>::new().to_string())
    .bind(listing.to_string())
    .bind(quantity)
    .bind(result)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Turn up to `limit` dirty marks into push jobs, one per affected shop,
    /// in one transaction (a crash loses neither the marks nor the jobs).
    /// Returns the shops queued.
    pub async fn drain_dirty(&self, limit: i64) -> Result<Vec<ShopId>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        // Marks a booking is writing right now are left for the next round:
        // waiting for them while holding others would deadlock with it.
        let skip = match self.backend {
            crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::db::Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "SELECT org_id, variant_id FROM dirty_variants ORDER BY marked_at LIMIT $1{skip}"
        ))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_org: HashMap<String, Vec<String>> = HashMap::new();
        for r in &rows {
            by_org
                .entry(r.text("org_id")?)
                .or_default()
                .push(r.text("variant_id")?);
        }
        let mut shops = Vec::new();
        for (org, variants) in by_org {
            let list = placeholders(2, variants.len());
            // Listings of the variants themselves and of bundles made of them.
            let sql = format!(
                "SELECT DISTINCT shop_id FROM listings WHERE org_id = $1 AND variant_id IS NOT NULL AND (variant_id IN ({list}) \
                 OR variant_id IN (SELECT bundle_variant_id FROM bundle_components WHERE org_id = $1 AND component_variant_id IN ({list})))"
            );
            let mut q = sqlx::query(&sql).bind(&org);
            for v in &variants {
                q = q.bind(v.clone());
            }
            let affected = q.fetch_all(&mut *tx).await?;
            let del =
                format!("DELETE FROM dirty_variants WHERE org_id = $1 AND variant_id IN ({list})");
            let mut q = sqlx::query(&del).bind(&org);
            for v in &variants {
                q = q.bind(v.clone());
            }
            q.execute(&mut *tx).await?;
            let org_id: OrgId = org
                .parse()
                .map_err(|_| crate::StoreError::Corrupt(format!("org id {org:?}")))?;
            for a in affected {
                let shop: ShopId = a.parse("shop_id")?;
                let job = NewJob::new(PUSH_JOB, serde_json::json!({ "shop_id": shop }))
                    .org(org_id)
                    .unique(crate::job_keys::push(shop))
                    .max_attempts(50);
                enqueue_in(&mut tx, &job, now).await?;
                shops.push(shop);
            }
        }
        tx.commit().await?;
        Ok(shops)
    }

    /// What each mapped listing of the shop should show now.
    pub async fn push_plan(&self, org: OrgId, shop: ShopId) -> Result<Vec<PushItem>> {
        let mut conn = self.read.acquire().await?;
        // Every listing (of any shop still connected) of the variants this
        // shop sells, with its shop's settings, in a stable order: the split
        // of the last units is computed over all of them, the same way
        // whichever shop is being pushed.
        let rows = sqlx::query(
            "SELECT l.id, l.shop_id, l.external_listing_id, l.external_variant_id, l.warehouse_id, \
             l.channel_reserved, l.last_pushed_qty, l.channel_stock, COALESCE(l.last_pushed_qty, l.channel_stock) AS shown, \
             CASE WHEN l.held_until > $3 THEN l.held_back ELSE 0 END AS held, \
             l.variant_id, v.is_bundle, s.status AS shop_status, s.dry_run, s.allocation_percent, s.stock_buffer, s.stock_cap, \
             s.intake_lag_ms, s.push_latency_ms \
             FROM listings l JOIN variants v ON v.org_id = l.org_id AND v.id = l.variant_id \
             JOIN shops s ON s.org_id = l.org_id AND s.id = l.shop_id \
             WHERE l.org_id = $1 AND s.status <> 'disconnected' \
             AND l.variant_id IN (SELECT variant_id FROM listings WHERE org_id = $1 AND shop_id = $2 AND variant_id IS NOT NULL) \
             ORDER BY l.variant_id, l.id",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(self.now().millis())
        .fetch_all(&mut *conn)
        .await?;
        let rates = self.recent_sales(&mut conn, org, shop).await?;
        let shop_rates = self.recent_shop_sales(&mut conn, org).await?;
        struct Row {
            listing_id: ListingRowId,
            shop_id: String,
            external_listing_id: String,
            external_variant_id: String,
            warehouse_id: Option<String>,
            last_pushed: Option<i64>,
            uncertain: bool,
            channel_stock: i64,
            facts: ListingFacts,
        }
        // variant → (available, its listings)
        let mut variants: Vec<(String, i64, Vec<Row>)> = Vec::new();
        for r in rows {
            let variant = r.text("variant_id")?;
            if variants.last().is_none_or(|(v, _, _)| *v != variant) {
                let available = if r.flag("is_bundle")? {
                    self.bundle_available(&mut conn, org, &variant).await?
                } else {
                    sqlx::query(
                        "SELECT CAST(COALESCE(SUM(on_hand - reserved), 0) AS BIGINT) AS available \
                         FROM inventory_levels WHERE org_id = $1 AND variant_id = $2",
                    )
                    .bind(org.to_string())
                    .bind(&variant)
                    .fetch_one(&mut *conn)
                    .await?
                    .int("available")?
                };
                variants.push((variant, available, Vec::new()));
            }
            let Some((_, available, listings)) = variants.last_mut() else {
                continue;
            };
            let (ceiling, why) = allocate(
                *available,
                r.int("allocation_percent")?,
                r.int("stock_buffer")?,
                r.opt_int("stock_cap")?,
            );
            let floor = r.opt_int("channel_reserved")?.filter(|f| *f > 0);
            let shop_id = r.text("shop_id")?;
            listings.push(Row {
                listing_id: r.parse("id")?,
                external_listing_id: r.text("external_listing_id")?,
                external_variant_id: r.text("external_variant_id")?,
                warehouse_id: r.opt_text("warehouse_id")?,
                last_pushed: r.opt_int("last_pushed_qty")?,
                uncertain: r
                    .opt_int("last_pushed_qty")?
                    .is_some_and(|p| p != r.int("channel_stock").unwrap_or(p)),
                channel_stock: r.int("channel_stock")?,
                facts: ListingFacts {
                    slot: Slot {
                        // Held units are the listing's own: its share keeps
                        // them, so a push does not hold back twice.
                        shown: r
                            .int("channel_stock")?
                            .min(r.int("shown")?)
                            .saturating_add(r.int("held")?.max(0)),
                        // Units a push held back while it landed stay this
                        // listing's until the sales made meanwhile are in.
                        high: r.int("shown")?.saturating_add(r.int("held")?.max(0)),
                        floor: floor.unwrap_or(0),
                        ceiling,
                        frozen: r.text("shop_status")? != "active" || r.flag("dry_run")?,
                    },
                    promotion_hold: floor,
                    allocation_why: why,
                    units_per_sec: rates
                        .get(&(r.text("variant_id")?, shop_id.clone()))
                        .copied()
                        .unwrap_or(0.0),
                    shop_units_per_sec: shop_rates.get(&shop_id).copied().unwrap_or(0.0),
                    intake_lag_ms: r.int("intake_lag_ms")?,
                    push_latency_ms: r.int("push_latency_ms")?,
                },
                shop_id,
            });
        }
        let shop_key = shop.to_string();
        let mut plan = Vec::new();
        for (variant, available, listings) in variants {
            let facts: Vec<ListingFacts> = listings.iter().map(|l| l.facts.clone()).collect();
            let decided = plan_variant(available, &facts);
            let variant_id: VariantId = variant
                .parse()
                .map_err(|_| crate::StoreError::Corrupt(format!("variant id {variant:?}")))?;
            for (l, (target, why)) in listings.into_iter().zip(decided.targets) {
                if l.shop_id != shop_key {
                    continue;
                }
                plan.push(PushItem {
                    listing_id: l.listing_id,
                    external_listing_id: l.external_listing_id,
                    external_variant_id: l.external_variant_id,
                    warehouse_id: l.warehouse_id,
                    target,
                    available,
                    floor: l.facts.promotion_hold,
                    last_pushed: l.last_pushed,
                    uncertain: l.uncertain,
                    shown: l.facts.slot.high,
                    channel_stock: l.channel_stock,
                    variant_id,
                    shown_total: decided.shown_total,
                    why,
                    split: decided.split,
                    threshold: decided.threshold,
                    units_per_sec: l.facts.units_per_sec,
                    push_latency_ms: l.facts.push_latency_ms,
                    horizon_ms: decided.pace.horizon_ms,
                });
            }
        }
        plan.sort_by(|a, b| {
            (&a.external_listing_id, &a.external_variant_id)
                .cmp(&(&b.external_listing_id, &b.external_variant_id))
        });
        Ok(plan)
    }

    /// Units a second each listing's shop sold of each variant the shop
    /// sells, lately: the more of the last second's rate and the last
    /// [`PACE_WINDOW_MS`]'s. Keyed by (variant, shop).
    async fn recent_sales(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        org: OrgId,
        shop: ShopId,
    ) -> Result<HashMap<(String, String), f64>> {
        let now = self.now().millis();
        let rows = sqlx::query(
            "SELECT r.variant_id, o.shop_key, \
             CAST(SUM(CASE WHEN r.created_at >= $3 THEN r.quantity ELSE 0 END) AS BIGINT) AS last_second, \
             CAST(MIN(CASE WHEN r.created_at >= $3 THEN r.created_at END) AS BIGINT) AS first_in_second, \
             CAST(COUNT(DISTINCT r.order_id) AS BIGINT) AS orders, \
             CAST(SUM(r.quantity) AS BIGINT) AS last_window \
             FROM reservations r JOIN orders o ON o.org_id = r.org_id AND o.id = r.order_id \
             WHERE r.org_id = $1 AND r.created_at >= $2 \
             AND r.variant_id IN (SELECT variant_id FROM listings WHERE org_id = $1 AND shop_id = $4 AND variant_id IS NOT NULL) \
             GROUP BY r.variant_id, o.shop_key",
        )
        .bind(org.to_string())
        .bind(now - PACE_WINDOW_MS)
        .bind(now - 1_000)
        .bind(shop.to_string())
        .fetch_all(&mut **conn)
        .await?;
        let mut rates = HashMap::new();
        for r in rows {
            let Some(shop_key) = r.opt_text("shop_key")? else {
                continue;
            };
            rates.insert((r.text("variant_id")?, shop_key), pace_of(&r, now)?);
        }
        Ok(rates)
    }

    /// Units a second each shop of the organization sold lately, all SKUs
    /// together, measured as in [`Self::recent_sales`]: the most any one of
    /// its listings can sell. Keyed by shop.
    async fn recent_shop_sales(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        org: OrgId,
    ) -> Result<HashMap<String, f64>> {
        let now = self.now().millis();
        let rows = sqlx::query(
            "SELECT o.shop_key, \
             CAST(SUM(CASE WHEN r.created_at >= $3 THEN r.quantity ELSE 0 END) AS BIGINT) AS last_second, \
             CAST(MIN(CASE WHEN r.created_at >= $3 THEN r.created_at END) AS BIGINT) AS first_in_second, \
             CAST(COUNT(DISTINCT r.order_id) AS BIGINT) AS orders, \
             CAST(SUM(r.quantity) AS BIGINT) AS last_window \
             FROM reservations r JOIN orders o ON o.org_id = r.org_id AND o.id = r.order_id \
             WHERE r.org_id = $1 AND r.created_at >= $2 AND o.shop_key IS NOT NULL \
             GROUP BY o.shop_key",
        )
        .bind(org.to_string())
        .bind(now - PACE_WINDOW_MS)
        .bind(now - 1_000)
        .fetch_all(&mut **conn)
        .await?;
        let mut rates = HashMap::new();
        for r in rows {
            let Some(shop_key) = r.opt_text("shop_key")? else {
                continue;
            };
            rates.insert(shop_key, pace_of(&r, now)?);
        }
        self.paces.recall(&org.to_string(), &mut rates, now);
        Ok(rates)
    }

    /// Fold a push's measured time (plan to the marketplace's answer) into
    /// its shop's figure.
    pub async fn record_push_latency(&self, org: OrgId, shop: ShopId, ms: i64) -> Result<()> {
        self.fold_latency(org, shop, "push_latency_ms", ms).await
    }

    /// Fold the time from a delivery's receipt to its orders booked into
    /// its shop's figure.
    pub async fn record_intake_lag(&self, org: OrgId, shop: ShopId, ms: i64) -> Result<()> {
        self.fold_latency(org, shop, "intake_lag_ms", ms).await
    }

    async fn fold_latency(&self, org: OrgId, shop: ShopId, column: &str, ms: i64) -> Result<()> {
        let previous = sqlx::query(&format!(
            "SELECT {column} AS ms FROM shops WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.to_string())
        .bind(shop.to_string())
        .fetch_optional(&self.read)
        .await?;
        let Some(previous) = previous else {
            return Ok(());
        };
        let next = slow_to_forget(previous.int("ms")?, ms);
        sqlx::query(&format!(
            "UPDATE shops SET {column} = $3 WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(next)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn bundle_available(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        org: OrgId,
        bundle: &str,
    ) -> Result<i64> {
        let parts = sqlx::query(
            "SELECT b.quantity AS qty, CAST(COALESCE((SELECT SUM(il.on_hand - il.reserved) FROM inventory_levels il \
             WHERE il.org_id = b.org_id AND il.variant_id = b.component_variant_id), 0) AS BIGINT) AS available \
             FROM bundle_components b WHERE b.org_id = $1 AND b.bundle_variant_id = $2",
        )
        .bind(org.to_string())
        .bind(bundle)
        .fetch_all(&mut **conn)
        .await?
        .iter()
        .map(|p| Ok((p.int("available")?, p.int("qty")?)))
        .collect::<Result<Vec<_>>>()?;
        Ok(bundle_available(&parts))
    }

    /// A listing with the derivation of the number it should show now.
    pub async fn explain_listing(
        &self,
        org: OrgId,
        id: ListingRowId,
    ) -> Result<(crate::listings::Listing, Option<PushItem>)> {
        let listing = self.listing(org, id).await?;
        let plan = self.push_plan(org, listing.shop_id).await?;
        let item = plan.into_iter().find(|i| i.listing_id == id);
        Ok((listing, item))
    }

    /// Record a push decision in the listing and its history: what was sent
    /// (none when nothing was: refused, dry run), counted as if nothing
    /// moved since it was planned.
    pub async fn record_push(
        &self,
        org: OrgId,
        listing: ListingRowId,
        quantity: Option<i64>,
        result: &str,
    ) -> Result<()> {
        self.record_push_ahead(org, listing, quantity, None, 0, result)
            .await
    }

    /// Record that `quantity` was sent to a listing planned with our count
    /// of its stock at `planned` ([`PushItem::channel_stock`]).
    ///
    /// Sales there ingested while the push was on its way moved that count;
    /// each may have landed before the push (and been overwritten by it)
    /// or after: the listing is booked as showing `quantity` at most and
    /// that much less at least — in doubt, which the next push settles by
    /// reading it back. A cancellation ingested meanwhile counts as shown.
    ///
    /// `unseen` units were sold there but not ingested yet, seen in a
    /// read-back just before ([`Settled::SaleInFlight`]), and `quantity`
    /// already takes them off: the listing is booked at `quantity` plus
    /// those still not ingested. They were sold before the push, so each
    /// will be counted as possibly overwritten by it (see
    /// `sold_on_channel`), bringing our count down to `quantity`, which
    /// the next read-back confirms. The history keeps what was sent.
    pub async fn record_push_ahead(
        &self,
        org: OrgId,
        listing: ListingRowId,
        quantity: Option<i64>,
        planned: Option<i64>,
        unseen: i64,
        result: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        // $6: unseen; $7: planned count; `moved` = channel_stock − $7.
        let moved = "COALESCE(channel_stock - $7, 0)";
        sqlx::query(&format!(
            "UPDATE listings SET \
             last_pushed_qty = COALESCE(CASE WHEN $6 > 0 THEN $3 + $6 + {moved} \
                 WHEN {moved} > 0 THEN $3 + {moved} ELSE $3 END, last_pushed_qty), \
             channel_stock = COALESCE($3 + $6 + {moved}, channel_stock), \
             held_back = CASE WHEN $3 IS NULL THEN held_back ELSE 0 END, \
             held_until = CASE WHEN $3 IS NULL THEN held_until ELSE NULL END, \
             last_pushed_at = $4, last_push_result = $5 \
             WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.to_string())
        .bind(listing.to_string())
        .bind(quantity)
        .bind(now.millis())
        .bind(result)
        .bind(unseen.max(0))
        .bind(planned)
        .execute(&mut *tx)
        .await?;
        record_history(&mut tx, org, listing, quantity, result, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A push to a selling listing held `held` units back while it landed
    /// (see [`storesync_domain::planner::decide_send`]): count them as shown
    /// there for `ms`, until the sales made meanwhile are booked, so no
    /// other listing is given them first. The next number sent ends it.
    ///
    /// When the hold ends, the units are free for whichever listing the
    /// split gives them to, on any shop: a [`HOLD_ENDED_JOB`] queued in the
    /// same transaction marks the variant for every shop's push then.
    pub async fn hold_units(
        &self,
        org: OrgId,
        listing: ListingRowId,
        held: i64,
        ms: i64,
    ) -> Result<()> {
        let now = self.now();
        let until = now.plus_millis(ms.max(0));
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE listings SET held_back = $3, held_until = $4 WHERE org_id = $1 AND id = $2 RETURNING variant_id",
        )
        .bind(org.to_string())
        .bind(listing.to_string())
        .bind(held.max(0))
        .bind(until.millis())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(variant) = row.map(|r| r.opt_text("variant_id")).transpose()?.flatten() {
            let job = NewJob::new(HOLD_ENDED_JOB, serde_json::json!({ "variant_id": variant }))
                .org(org)
                .at(until.plus_millis(HOLD_ENDED_MARGIN_MS))
                .max_attempts(20);
            enqueue_in(&mut tx, &job, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The listing's recent push decisions, newest first.
    pub async fn push_history(
        &self,
        org: OrgId,
        listing: ListingRowId,
        limit: i64,
    ) -> Result<Vec<PushRecord>> {
        let rows = sqlx::query(
            "SELECT quantity, result, at FROM push_history WHERE org_id = $1 AND listing_id = $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(org.to_string())
        .bind(listing.to_string())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PushRecord {
                    quantity: r.opt_int("quantity")?,
                    result: r.text("result")?,
                    at: r.time("at")?,
                })
            })
            .collect()
    }

    /// Before sending a raise of a split share: record `to` as what the
    /// listing shows, provided the listing still shows `from` and all the
    /// variant's listings together still show `total` (what the plan that
    /// chose the raise saw). Serialized per variant, so two instances
    /// pushing two shops cannot hand out the same spare unit twice.
    /// `false`: something moved; plan again.
    pub async fn claim_raise(&self, org: OrgId, item: &PushItem) -> Result<bool> {
        let mut tx = self.begin().await?;
        let lock = format!(
            "SELECT id FROM variants WHERE org_id = $1 AND id = $2{}",
            self.backend.for_update()
        );
        sqlx::query(&lock)
            .bind(org.to_string())
            .bind(item.variant_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let now = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN l.id = $3 THEN {SHOWN} ELSE 0 END), 0) AS BIGINT) AS mine, \
             CAST(COALESCE(SUM(CASE WHEN {SHOWN} > 0 THEN {SHOWN} ELSE 0 END), 0) AS BIGINT) AS total \
             FROM listings l JOIN shops s ON s.org_id = l.org_id AND s.id = l.shop_id \
             WHERE l.org_id = $1 AND l.variant_id = $2 AND s.status <> 'disconnected'"
            .replace("{SHOWN}", HIGH_SQL)
            .as_str(),
        )
        .bind(org.to_string())
        .bind(item.variant_id.to_string())
        .bind(item.listing_id.to_string())
        .bind(self.now().millis())
        .fetch_one(&mut *tx)
        .await?;
        if now.int("mine")? != item.shown || now.int("total")? != item.shown_total {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE listings SET last_pushed_qty = $3, held_back = 0, held_until = NULL \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(item.listing_id.to_string())
        .bind(item.target)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A claimed raise that did not reach the marketplace: give the units
    /// back (unless something has moved the listing since).
    pub async fn release_raise(&self, org: OrgId, item: &PushItem) -> Result<()> {
        sqlx::query(
            "UPDATE listings SET last_pushed_qty = $4 WHERE org_id = $1 AND id = $2 AND last_pushed_qty = $3",
        )
        .bind(org.to_string())
        .bind(item.listing_id.to_string())
        .bind(item.target)
        .bind(item.last_pushed)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A transaction about to change a listing and mark its variant, with
    /// the variant locked first. A booking locks the variant (its stock, its
    /// dirty mark) and then the listing that sold it; a transaction taking
    /// them the other way round deadlocks with it on PostgreSQL (found in
    /// storms: a second of lock waits before the database broke the cycle,
    /// with every push of the organization stalled behind it).
    async fn begin_at_listing(
        &self,
        org: OrgId,
        shop: ShopId,
        external_listing_id: &str,
        external_variant_id: &str,
    ) -> Result<Tx> {
        let mut tx = self.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query(&format!(
                "SELECT v.id FROM variants v JOIN listings l ON l.org_id = v.org_id AND l.variant_id = v.id \
                 WHERE l.org_id = $1 AND l.shop_id = $2 AND l.external_listing_id = $3 AND l.external_variant_id = $4{}",
                self.backend.for_update_of("v")
            ))
            .bind(org.to_string())
            .bind(shop.to_string())
            .bind(external_listing_id)
            .bind(external_variant_id)
            .fetch_optional(&mut *tx)
            .await?;
        }
        Ok(tx)
    }

    /// A listing in doubt (a sale may have been overwritten by our last
    /// push), or about to be lowered, was read back and shows `seen`. When
    /// that is what we believe it shows after its sales, the doubt is
    /// settled without a push (a push that is not needed races the next
    /// buyer there); when it shows less, sales there are not ingested yet.
    pub async fn settle_listing(
        &self,
        org: OrgId,
        shop: ShopId,
        external_listing_id: &str,
        external_variant_id: &str,
        seen: i64,
    ) -> Result<Settled> {
        let mut tx = self
            .begin_at_listing(org, shop, external_listing_id, external_variant_id)
            .await?;
        let sql = format!(
            "SELECT id, variant_id, channel_stock, last_pushed_qty FROM listings WHERE org_id = $1 AND shop_id = $2 \
             AND external_listing_id = $3 AND external_variant_id = $4{}",
            self.backend.for_update()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(shop.to_string())
            .bind(external_listing_id)
            .bind(external_variant_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Settled::NotInDoubt);
        };
        let outcome = settle(
            row.int("channel_stock")?,
            row.opt_int("last_pushed_qty")?,
            seen,
        );
        if outcome == Settled::Confirmed {
            sqlx::query(
                "UPDATE listings SET last_pushed_qty = channel_stock WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(row.text("id")?)
            .execute(&mut *tx)
            .await?;
            // It shows less than it might have: the units it is no longer
            // counted for are free for the other listings of the split,
            // whose shops' pushes must hear of it.
            let freed = row
                .opt_int("last_pushed_qty")?
                .is_some_and(|p| p > row.int("channel_stock").unwrap_or(p));
            if let (true, Some(variant)) = (freed, row.opt_text("variant_id")?) {
                let variant: VariantId = variant
                    .parse()
                    .map_err(|_| crate::StoreError::Corrupt(format!("variant id {variant:?}")))?;
                mark_dirty(&mut tx, org, variant, self.now()).await?;
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Drift repair: the channel was read back and shows `seen` units (and
    /// holds `reserved` for promotions) on this listing. When that differs
    /// from what we believe it shows, believe the channel, record the
    /// drift in the listing's history and mark the variant for a push (which
    /// corrects the channel to its target). `None` when the listing is
    /// unknown or unmapped, or nothing drifted.
    pub async fn note_channel_stock(
        &self,
        org: OrgId,
        shop: ShopId,
        external_listing_id: &str,
        external_variant_id: &str,
        seen: i64,
        reserved: Option<i64>,
    ) -> Result<Option<Drift>> {
        let now = self.now();
        let mut tx = self
            .begin_at_listing(org, shop, external_listing_id, external_variant_id)
            .await?;
        let row = sqlx::query(
            "SELECT id, variant_id, COALESCE(last_pushed_qty, channel_stock) AS believed FROM listings \
             WHERE org_id = $1 AND shop_id = $2 AND external_listing_id = $3 AND external_variant_id = $4",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(external_listing_id)
        .bind(external_variant_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let Some(variant) = row.opt_text("variant_id")? else {
            return Ok(None);
        };
        let listing: ListingRowId = row.parse("id")?;
        let believed = row.int("believed")?;
        sqlx::query("UPDATE listings SET channel_reserved = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(listing.to_string())
            .bind(reserved)
            .execute(&mut *tx)
            .await?;
        if believed == seen {
            tx.commit().await?;
            return Ok(None);
        }
        sqlx::query(
            "UPDATE listings SET channel_stock = $3, last_pushed_qty = $3 WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(listing.to_string())
        .bind(seen)
        .execute(&mut *tx)
        .await?;
        let note = format!("drift: the channel showed {seen} where {believed} was expected");
        record_history(&mut tx, org, listing, None, &note, now).await?;
        let variant_id: VariantId = variant
            .parse()
            .map_err(|_| crate::StoreError::Corrupt(format!("variant id {variant:?}")))?;
        mark_dirty(&mut tx, org, variant_id, now).await?;
        tx.commit().await?;
        Ok(Some(Drift {
            listing_id: listing,
            expected: believed,
            seen,
        }))
    }

    /// Listings of the shop (mapped or not) the channel no longer lists.
    pub async fn listings_missing_from(
        &self,
        org: OrgId,
        shop: ShopId,
        seen: &std::collections::HashSet<(String, String)>,
    ) -> Result<Vec<ListingRowId>> {
        let rows = sqlx::query(
            "SELECT id, external_listing_id, external_variant_id FROM listings WHERE org_id = $1 AND shop_id = $2",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .fetch_all(&self.read)
        .await?;
        let mut missing = Vec::new();
        for r in rows {
            let key = (
                r.text("external_listing_id")?,
                r.text("external_variant_id")?,
            );
            if !seen.contains(&key) {
                missing.push(r.parse("id")?);
            }
        }
        Ok(missing)
    }

    /// Mark variants for propagation outside any other change (a split
    /// share given up frees units for the other listings).
    pub async fn mark_variants_dirty(&self, org: OrgId, variants: &[VariantId]) -> Result<()> {
        let now = self.now();
        // In one order, whoever marks them: two transactions marking the
        // same variants in opposite orders deadlock on PostgreSQL.
        let mut variants = variants.to_vec();
        variants.sort_unstable_by_key(|v| v.to_string());
        variants.dedup();
        let mut tx = self.begin().await?;
        for v in &variants {
            mark_dirty(&mut tx, org, *v, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether any variant waits to be propagated.
    pub async fn has_dirty_variants(&self) -> Result<bool> {
        let r = sqlx::query("SELECT 1 AS one FROM dirty_variants LIMIT 1")
            .fetch_optional(&self.read)
            .await?;
        Ok(r.is_some())
    }

    /// Whether deliveries from `marketplace` for the shop `shop_key` (its
    /// id there) received from `since` to `before` still wait in the inbox
    /// (a raise computed now could re-inflate stock a buyer already took
    /// there).
    /// Deliveries that name no shop count for every shop; other shops'
    /// deliveries, and later ones, do not hold a push back: at a high order
    /// rate there is always one more.
    pub async fn pending_webhooks(
        &self,
        marketplace: Marketplace,
        shop_key: &str,
        since: Timestamp,
        before: Timestamp,
    ) -> Result<bool> {
        let r = sqlx::query(
            "SELECT 1 AS one FROM webhook_inbox WHERE marketplace = $1 AND processed_at IS NULL AND received_at <= $2 \
             AND received_at >= $4 AND (shop_key = $3 OR shop_key IS NULL) LIMIT 1",
        )
        .bind(marketplace.as_str())
        .bind(before.millis())
        .bind(shop_key)
        .bind(since.millis())
        .fetch_optional(&self.read)
        .await?;
        Ok(r.is_some())
    }
}
