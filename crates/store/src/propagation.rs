//! Stock propagation, storage side: variants are marked dirty in the same
//! transaction as any change to their stock; the propagator drains the
//! marks into one push job per affected shop (coalescing bursts), and each
//! push computes every listing's target from the ledger at that moment.

use std::collections::HashMap;

use serde::Serialize;
use storesync_domain::ids::{OrgId, ShopId, VariantId};
use storesync_domain::inventory::bundle_available;
use storesync_domain::Timestamp;

use crate::catalog::placeholders;
use crate::db::Tx;
use crate::jobs::{enqueue_in, NewJob};
use crate::listings::ListingRowId;
use crate::row::RowExt;
use crate::{Result, Store};

/// Job kind that pushes a shop's stock to its marketplace.
pub const PUSH_JOB: &str = "stock.push";

/// At or below this many available units, a SKU sold on several channels
/// is split between them without overlap instead of shown in full on each:
/// when every channel shows the same last units, two buyers can take the
/// same unit before any sync can react, whatever its speed.
pub const SPLIT_BELOW: i64 = 10;

/// This channel's share of `available` units split over `channels`
/// channels, `index` being its place among them (a stable order).
pub fn split_share(available: i64, channels: usize, index: usize) -> i64 {
    let n = i64::try_from(channels.max(1)).unwrap_or(1);
    let i = i64::try_from(index).unwrap_or(0);
    let base = available.max(0) / n;
    let extra = i64::from(i < available.max(0) % n);
    base + extra
}

pub(crate) async fn mark_dirty(
    tx: &mut Tx,
    org: OrgId,
    variant: VariantId,
    now: Timestamp,
) -> Result<()> {
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
    /// Why the number is what it is.
    pub why: String,
    /// The target is this channel's share of the last units.
    pub split: bool,
}

impl Store {
    /// Turn up to `limit` dirty marks into push jobs, one per affected shop,
    /// in one transaction (a crash loses neither the marks nor the jobs).
    /// Returns the shops queued.
    pub async fn drain_dirty(&self, limit: i64) -> Result<Vec<ShopId>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT org_id, variant_id FROM dirty_variants ORDER BY marked_at LIMIT $1",
        )
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
                    .unique(format!("{PUSH_JOB}:{shop}"))
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
        let rows = sqlx::query(
            "SELECT l.id, l.external_listing_id, l.external_variant_id, l.warehouse_id, l.channel_reserved, \
             l.last_pushed_qty, v.id AS variant_id, v.is_bundle, \
             CAST(COALESCE((SELECT SUM(il.on_hand - il.reserved) FROM inventory_levels il \
                 WHERE il.org_id = l.org_id AND il.variant_id = l.variant_id), 0) AS BIGINT) AS available \
             FROM listings l JOIN variants v ON v.org_id = l.org_id AND v.id = l.variant_id \
             WHERE l.org_id = $1 AND l.shop_id = $2 ORDER BY l.external_listing_id, l.external_variant_id",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .fetch_all(&mut *conn)
        .await?;
        // Which active shops sell each variant, in a stable order.
        let sellers = sqlx::query(
            "SELECT DISTINCT l.variant_id AS variant_id, l.shop_id AS shop_id FROM listings l \
             JOIN shops s ON s.org_id = l.org_id AND s.id = l.shop_id \
             WHERE l.org_id = $1 AND l.variant_id IS NOT NULL AND s.status = 'active' \
             AND l.variant_id IN (SELECT variant_id FROM listings WHERE org_id = $1 AND shop_id = $2) \
             ORDER BY l.variant_id, l.shop_id",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut shops_of: HashMap<String, Vec<String>> = HashMap::new();
        for r in &sellers {
            shops_of
                .entry(r.text("variant_id")?)
                .or_default()
                .push(r.text("shop_id")?);
        }
        let shop_key = shop.to_string();
        let settings = sqlx::query("SELECT allocation_percent, stock_buffer, stock_cap FROM shops WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(shop.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(crate::StoreError::NotFound("shop"))?;
        let (percent, buffer, cap) = (
            settings.int("allocation_percent")?,
            settings.int("stock_buffer")?,
            settings.opt_int("stock_cap")?,
        );
        let mut plan = Vec::with_capacity(rows.len());
        for r in rows {
            let available = if r.flag("is_bundle")? {
                let parts = sqlx::query(
                    "SELECT b.quantity AS qty, CAST(COALESCE((SELECT SUM(il.on_hand - il.reserved) FROM inventory_levels il \
                     WHERE il.org_id = b.org_id AND il.variant_id = b.component_variant_id), 0) AS BIGINT) AS available \
                     FROM bundle_components b WHERE b.org_id = $1 AND b.bundle_variant_id = $2",
                )
                .bind(org.to_string())
                .bind(r.text("variant_id")?)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|p| Ok((p.int("available")?, p.int("qty")?)))
                .collect::<Result<Vec<_>>>()?;
                bundle_available(&parts)
            } else {
                r.int("available")?
            };
            let floor = r.opt_int("channel_reserved")?.filter(|f| *f > 0);
            let mut target = available.max(0);
            let mut why = format!("available {available} (on hand − reserved, all locations)");
            if percent < 100 {
                target = target * percent / 100;
                why.push_str(&format!("; {percent} % allocated to this shop: {target}"));
            }
            if buffer > 0 {
                target = (target - buffer).max(0);
                why.push_str(&format!("; less a buffer of {buffer}: {target}"));
            }
            if let Some(c) = cap {
                if target > c {
                    target = c;
                    why.push_str(&format!("; capped at {c}"));
                }
            }
            let channels = shops_of
                .get(&r.text("variant_id")?)
                .cloned()
                .unwrap_or_default();
            // The split is of the units themselves, so shares never overlap
            // whatever each shop's own allocation.
            let split = channels.len() > 1 && available.max(0) <= SPLIT_BELOW;
            if split {
                let index = channels.iter().position(|s| *s == shop_key).unwrap_or(0);
                let share = split_share(available.max(0), channels.len(), index);
                target = target.min(share);
                why.push_str(&format!(
                    "; at or below {SPLIT_BELOW} units split without overlap over {} channels: share {share}",
                    channels.len()
                ));
            }
            if let Some(f) = floor {
                if target < f {
                    why.push_str(&format!("; raised to the marketplace's promotion hold {f}"));
                    target = f;
                }
            }
            plan.push(PushItem {
                listing_id: r.parse("id")?,
                external_listing_id: r.text("external_listing_id")?,
                external_variant_id: r.text("external_variant_id")?,
                warehouse_id: r.opt_text("warehouse_id")?,
                target,
                available,
                floor,
                last_pushed: r.opt_int("last_pushed_qty")?,
                why,
                split,
            });
        }
        Ok(plan)
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

    /// Record what a push did to one listing.
    pub async fn record_push(
        &self,
        org: OrgId,
        listing: ListingRowId,
        quantity: Option<i64>,
        result: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE listings SET last_pushed_qty = COALESCE($3, last_pushed_qty), \
             channel_stock = COALESCE($3, channel_stock), last_pushed_at = $4, last_push_result = $5 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(listing.to_string())
        .bind(quantity)
        .bind(self.now().millis())
        .bind(result)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Take the shop's push lease for `ms` (or extend it when `owner`
    /// already holds it). `false` when another instance is pushing.
    pub async fn lease_shop_push(
        &self,
        org: OrgId,
        shop: ShopId,
        owner: &str,
        ms: i64,
    ) -> Result<bool> {
        let now = self.now();
        let n = sqlx::query(
            "UPDATE shops SET push_lease_owner = $3, push_lease_until = $4 WHERE org_id = $1 AND id = $2 \
             AND (push_lease_until IS NULL OR push_lease_until < $5 OR push_lease_owner = $3)",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(owner)
        .bind(now.plus_millis(ms).millis())
        .bind(now.millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn release_shop_push(&self, org: OrgId, shop: ShopId, owner: &str) -> Result<()> {
        sqlx::query(
            "UPDATE shops SET push_lease_owner = NULL, push_lease_until = NULL \
             WHERE org_id = $1 AND id = $2 AND push_lease_owner = $3",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(owner)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Whether any variant waits to be propagated.
    pub async fn has_dirty_variants(&self) -> Result<bool> {
        let r = sqlx::query("SELECT 1 AS one FROM dirty_variants LIMIT 1")
            .fetch_optional(&self.read)
            .await?;
        Ok(r.is_some())
    }

    /// Whether deliveries from `marketplace` received before `before` still
    /// wait in the inbox (a push computed now could re-inflate stock a buyer
    /// already took). Later deliveries do not hold a push back: at a high
    /// order rate there is always one more.
    pub async fn pending_webhooks(&self, marketplace: &str, before: Timestamp) -> Result<bool> {
        let r = sqlx::query(
            "SELECT 1 AS one FROM webhook_inbox WHERE marketplace = $1 AND processed_at IS NULL AND received_at <= $2 LIMIT 1",
        )
        .bind(marketplace)
        .bind(before.millis())
        .fetch_optional(&self.read)
        .await?;
        Ok(r.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::split_share;

    #[test]
    fn shares_add_up_and_never_overlap() {
        for available in 0..30 {
            for channels in 1..5 {
                let total: i64 = (0..channels)
                    .map(|i| split_share(available, channels, i))
                    .sum();
                assert_eq!(total, available, "{available} over {channels}");
            }
        }
        assert_eq!(split_share(5, 2, 0), 3);
        assert_eq!(split_share(5, 2, 1), 2);
        assert_eq!(split_share(-3, 2, 0), 0);
    }
}
