//! Read models for the dashboard: sales per day and channel, what needs
//! the seller's attention, and stock levels per variant and location.
//! Every query is scoped to one organization and served by an index.

use serde::Serialize;
use storesync_domain::ids::{OrgId, ShopId, VariantId};
use storesync_domain::{Marketplace, Timestamp};

use crate::catalog::placeholders;
use crate::row::RowExt;
use crate::{Page, PageRequest, Result, Store};

/// Orders and revenue of one local day on one channel, in one currency
/// (cancelled orders excluded).
#[derive(Debug, Clone, Serialize)]
pub struct DaySales {
    /// Days since 1970-01-01 in the organization's time zone.
    pub day: i64,
    pub channel: String,
    pub currency: String,
    pub orders: i64,
    pub revenue: i64,
}

/// A shop that needs the seller.
#[derive(Debug, Clone, Serialize)]
pub struct ShopAttention {
    pub id: ShopId,
    pub name: String,
    pub marketplace: Marketplace,
    pub status: String,
    /// Its authorization ends within 7 days.
    pub ends_soon: bool,
}

/// What needs the seller's attention now.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Attention {
    pub shops: Vec<ShopAttention>,
    pub failed_jobs: i64,
    pub dead_jobs: i64,
    pub unmapped_listings: i64,
    pub low_stock: i64,
    /// Orders ready to ship for longer than the handling time.
    pub late_orders: i64,
}

const HOUR_MS: i64 = 3_600_000;

/// Adds `orders` orders worth `revenue` to the hourly sales rollup, in the
/// caller's transaction (negative to take a cancelled order out). Call it
/// last in the transaction: on PostgreSQL the rollup row stays locked until
/// commit, and every order of that hour and channel goes through it.
pub(crate) async fn add_sales(
    tx: &mut crate::db::Tx,
    org: OrgId,
    placed_at: i64,
    channel: &str,
    currency: &str,
    orders: i64,
    revenue: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sales_hourly (org_id, hour, channel, currency, orders, revenue) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, hour, channel, currency) \
         DO UPDATE SET orders = sales_hourly.orders + excluded.orders, \
         revenue = sales_hourly.revenue + excluded.revenue",
    )
    .bind(org.to_string())
    .bind(placed_at.div_euclid(HOUR_MS))
    .bind(channel)
    .bind(currency)
    .bind(orders)
    .bind(revenue)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How long an order may wait ready to ship before it counts as late (the
/// marketplaces' usual handling time).
pub const HANDLING_TIME_MS: i64 = 48 * 3_600_000;

/// Stock of one variant: totals and per location.
#[derive(Debug, Clone, Serialize)]
pub struct StockRow {
    pub variant_id: VariantId,
    pub sku: String,
    pub product: String,
    pub variant: Option<String>,
    pub low_stock_threshold: Option<i64>,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub locations: Vec<LocationLevel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocationLevel {
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

impl StockRow {
    pub fn is_low(&self) -> bool {
        self.low_stock_threshold
            .is_some_and(|t| self.available <= t)
    }
}

impl Store {
    /// Orders and revenue per local day and channel from `from` to `to`.
    ///
    /// Read from the hourly rollup when the zone is a whole number of hours
    /// from UTC and `from` starts an hour (every zone we offer); `to` then
    /// counts up to the end of its hour. Anything else is summed from the
    /// orders themselves.
    pub async fn sales_by_day(
        &self,
        org: OrgId,
        from: Timestamp,
        to: Timestamp,
        utc_offset_minutes: i64,
    ) -> Result<Vec<DaySales>> {
        let offset = utc_offset_minutes * 60_000;
        let rollup = utc_offset_minutes % 60 == 0 && from.millis().rem_euclid(HOUR_MS) == 0;
        let rows = if rollup {
            sqlx::query(
                "SELECT CAST((hour * 3600000 + $4) / 86400000 AS BIGINT) AS day, channel, currency, \
                 CAST(SUM(orders) AS BIGINT) AS orders, CAST(SUM(revenue) AS BIGINT) AS revenue \
                 FROM sales_hourly WHERE org_id = $1 AND hour >= $2 AND hour < $3 \
                 GROUP BY 1, channel, currency HAVING SUM(orders) <> 0 ORDER BY 1, channel",
            )
            .bind(org.to_string())
            .bind(from.millis().div_euclid(HOUR_MS))
            .bind((to.millis() + HOUR_MS - 1).div_euclid(HOUR_MS))
            .bind(offset)
            .fetch_all(&self.read)
            .await?
        } else {
            self.sales_by_day_from_orders(org, from, to, offset).await?
        };
        rows.iter()
            .map(|r| {
                Ok(DaySales {
                    day: r.int("day")?,
                    channel: r.text("channel")?,
                    currency: r.text("currency")?,
                    orders: r.int("orders")?,
                    revenue: r.int("revenue")?,
                })
            })
            .collect()
    }

    /// Recomputes an organization's hourly sales rollup from its orders
    /// (after bulk loads, or to repair it).
    pub async fn rebuild_sales_rollup(&self, org: OrgId) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM sales_hourly WHERE org_id = $1")
            .bind(org.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sales_hourly (org_id, hour, channel, currency, orders, revenue) \
             SELECT org_id, CAST(placed_at / 3600000 AS BIGINT), channel, currency, \
             CAST(COUNT(*) AS BIGINT), CAST(SUM(total_amount) AS BIGINT) \
             FROM orders WHERE org_id = $1 AND status <> 'cancelled' \
             GROUP BY org_id, CAST(placed_at / 3600000 AS BIGINT), channel, currency",
        )
        .bind(org.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sales_by_day_from_orders(
        &self,
        org: OrgId,
        from: Timestamp,
        to: Timestamp,
        offset: i64,
    ) -> Result<Vec<sqlx::any::AnyRow>> {
        Ok(sqlx::query(
            "SELECT CAST((placed_at + $4) / 86400000 AS BIGINT) AS day, channel, currency, \
             CAST(COUNT(*) AS BIGINT) AS orders, CAST(SUM(total_amount) AS BIGINT) AS revenue \
             FROM orders WHERE org_id = $1 AND placed_at >= $2 AND placed_at < $3 AND status <> 'cancelled' \
             GROUP BY 1, channel, currency ORDER BY 1, channel",
        )
        .bind(org.to_string())
        .bind(from.millis())
        .bind(to.millis())
        .bind(offset)
        .fetch_all(&self.read)
        .await?)
    }

    /// Everything the overview lists under "needs attention".
    pub async fn attention(&self, org: OrgId) -> Result<Attention> {
        let now = self.now();
        let mut a = Attention::default();
        let soon = now.plus_millis(7 * 86_400_000).millis();
        for r in sqlx::query(
            "SELECT id, name, marketplace, status, refresh_expires_at FROM shops WHERE org_id = $1 \
             AND status <> 'disconnected' AND (status <> 'active' OR refresh_expires_at < $2) ORDER BY name",
        )
        .bind(org.to_string())
        .bind(soon)
        .fetch_all(&self.read)
        .await?
        {
            a.shops.push(ShopAttention {
                id: r.parse("id")?,
                name: r.text("name")?,
                marketplace: r.parse("marketplace")?,
                status: r.text("status")?,
                ends_soon: r.opt_int("refresh_expires_at")?.is_some_and(|t| t < soon),
            });
        }
        let count = |sql: &'static str| {
            let org = org.to_string();
            async move {
                sqlx::query(sql)
                    .bind(org)
                    .bind(now.plus_millis(-HANDLING_TIME_MS).millis())
                    .fetch_one(&self.read)
                    .await?
                    .int("n")
            }
        };
        a.failed_jobs = count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM jobs WHERE org_id = $1 AND status = 'queued' AND attempts > 0 AND $2 = $2",
        )
        .await?;
        a.dead_jobs = count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM jobs WHERE org_id = $1 AND status = 'dead' AND $2 = $2",
        )
        .await?;
        a.unmapped_listings = count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM listings WHERE org_id = $1 AND variant_id IS NULL AND $2 = $2",
        )
        .await?;
        a.low_stock = count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM variants WHERE org_id = $1 AND is_low = 1 AND $2 = $2",
        )
        .await?;
        a.late_orders = count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM orders WHERE org_id = $1 AND status = 'ready_to_ship' AND placed_at < $2",
        )
        .await?;
        Ok(a)
    }

    /// Stock per variant (SKU order, keyset-paged), optionally searched by
    /// SKU prefix or only those at or below their low-stock threshold.
    pub async fn stock_levels(
        &self,
        org: OrgId,
        sku_prefix: Option<&str>,
        low_only: bool,
        page: &PageRequest,
    ) -> Result<Page<StockRow>> {
        let limit = page.limit();
        let after = page.cursor.clone().unwrap_or_default();
        let prefix = sku_prefix.map(str::trim).filter(|p| !p.is_empty());
        let mut sql = String::from(
            "SELECT v.id, v.sku, v.name AS variant_name, p.name AS product_name, v.low_stock_threshold, \
             CAST(COALESCE((SELECT SUM(il.on_hand) FROM inventory_levels il WHERE il.org_id = v.org_id AND il.variant_id = v.id), 0) AS BIGINT) AS on_hand, \
             CAST(COALESCE((SELECT SUM(il.reserved) FROM inventory_levels il WHERE il.org_id = v.org_id AND il.variant_id = v.id), 0) AS BIGINT) AS reserved \
             FROM variants v JOIN products p ON p.org_id = v.org_id AND p.id = v.product_id \
             WHERE v.org_id = $1 AND v.sku > $2",
        );
        if prefix.is_some() {
            // A prefix range keeps the SKU index usable.
            sql.push_str(" AND v.sku >= $4 AND v.sku < $5");
        } else {
            sql.push_str(" AND $4 = $4 AND $5 = $5");
        }
        if low_only {
            sql.push_str(" AND v.is_low = 1");
        }
        sql.push_str(" ORDER BY v.sku LIMIT $3");
        let (lo, hi) = match prefix {
            Some(p) => (p.to_owned(), format!("{p}\u{10FFFF}")),
            None => (String::new(), String::new()),
        };
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(&after)
            .bind(limit + 1)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.read)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let (on_hand, reserved) = (r.int("on_hand")?, r.int("reserved")?);
            items.push(StockRow {
                variant_id: r.parse("id")?,
                sku: r.text("sku")?,
                product: r.text("product_name")?,
                variant: r.opt_text("variant_name")?,
                low_stock_threshold: r.opt_int("low_stock_threshold")?,
                on_hand,
                reserved,
                available: on_hand.saturating_sub(reserved),
                locations: Vec::new(),
            });
        }
        let page_rows = items
            .len()
            .min(usize::try_from(limit).unwrap_or(usize::MAX));
        if page_rows > 0 {
            let ids: Vec<String> = items[..page_rows]
                .iter()
                .map(|i| i.variant_id.to_string())
                .collect();
            let sql = format!(
                "SELECT il.variant_id, l.code, il.on_hand, il.reserved FROM inventory_levels il \
                 JOIN locations l ON l.org_id = il.org_id AND l.id = il.location_id \
                 WHERE il.org_id = $1 AND il.variant_id IN ({}) ORDER BY l.code",
                placeholders(2, ids.len())
            );
            let mut q = sqlx::query(&sql).bind(org.to_string());
            for id in &ids {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(&self.read).await? {
                let variant: VariantId = r.parse("variant_id")?;
                if let Some(item) = items.iter_mut().find(|i| i.variant_id == variant) {
                    let (on_hand, reserved) = (r.int("on_hand")?, r.int("reserved")?);
                    item.locations.push(LocationLevel {
                        location: r.text("code")?,
                        on_hand,
                        reserved,
                        available: on_hand.saturating_sub(reserved),
                    });
                }
            }
        }
        Ok(Page::from_rows(items, limit, |i| i.sku.clone()))
    }
}

impl Store {
    /// Benchmarks only: fill an organization with `variants` variants (one
    /// per product, stock at its first location) and `orders` one-line
    /// orders spread over the last 60 days, with plain multi-row inserts.
    pub async fn seed_for_page_bench(
        &self,
        org: OrgId,
        variants: usize,
        orders: usize,
    ) -> Result<()> {
        let location = self
            .list_locations(org)
            .await?
            .into_iter()
            .next()
            .ok_or(crate::StoreError::NotFound("location"))?;
        let now = self.now().millis();
        let org_s = org.to_string();
        let mut variant_ids = Vec::with_capacity(variants);
        const BATCH: usize = 200;
        for start in (0..variants).step_by(BATCH) {
            let end = (start + BATCH).min(variants);
            let mut tx = self.begin().await?;
            let mut products = String::from(
                "INSERT INTO products (org_id, id, name, created_at, updated_at) VALUES ",
            );
            let mut vars = String::from(
                "INSERT INTO variants (org_id, id, product_id, sku, price_amount, price_currency, low_stock_threshold, created_at, updated_at) VALUES ",
            );
            let mut search =
                String::from("INSERT INTO catalog_search (org_id, product_id, text) VALUES ");
            let mut levels = String::from(
                "INSERT INTO inventory_levels (org_id, variant_id, location_id, on_hand, reserved, updated_at) VALUES ",
            );
            for i in start..end {
                let p = storesync_domain::Id::<()>::new().to_string();
                let v = VariantId::new();
                variant_ids.push((v, format!("SKU-{i:06}")));
                let sep = if i == start { "" } else { "," };
                products.push_str(&format!("{sep}('{org_s}','{p}','Product {i}',{now},{now})"));
                vars.push_str(&format!(
                    "{sep}('{org_s}','{v}','{p}','SKU-{i:06}',{},'IDR',{},{now},{now})",
                    10_000 + (i % 500) * 1_000,
                    i % 7
                ));
                search.push_str(&format!(
                    "{sep}('{org_s}','{p}','Product {i}\nSKU-{i:06}\n')"
                ));
                levels.push_str(&format!(
                    "{sep}('{org_s}','{v}','{}',{},0,{now})",
                    location.id,
                    i % 40
                ));
            }
            for sql in [products, vars, search, levels] {
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        if variant_ids.is_empty() {
            return Ok(());
        }
        const CHANNELS: [&str; 4] = ["shopee", "tiktok_shop", "lazada", "tokopedia"];
        const STATUSES: [&str; 4] = ["completed", "shipped", "ready_to_ship", "cancelled"];
        for start in (0..orders).step_by(BATCH) {
            let end = (start + BATCH).min(orders);
            let mut tx = self.begin().await?;
            let mut os = String::from(
                "INSERT INTO orders (org_id, id, channel, shop_key, external_id, status, currency, subtotal_amount, \
                 shipping_amount, discount_amount, total_amount, placed_at, created_at, updated_at) VALUES ",
            );
            let mut lines = String::from(
                "INSERT INTO order_lines (org_id, id, order_id, line_no, sku, variant_id, quantity, unit_price_amount, total_amount) VALUES ",
            );
            for i in start..end {
                let o = storesync_domain::Id::<()>::new().to_string();
                let l = storesync_domain::Id::<()>::new().to_string();
                let (v, sku) = &variant_ids[i % variant_ids.len()];
                let amount = 25_000 + (i as i64 % 300) * 1_000;
                let placed = now - (i as i64 * 7_919 * 1_000) % (60 * 86_400_000);
                let sep = if i == start { "" } else { "," };
                os.push_str(&format!(
                    "{sep}('{org_s}','{o}','{}','','B-{i:07}','{}','IDR',{amount},0,0,{amount},{placed},{placed},{placed})",
                    CHANNELS[i % 4],
                    STATUSES[(i / 4) % 4]
                ));
                lines.push_str(&format!(
                    "{sep}('{org_s}','{l}','{o}',1,'{sku}','{v}',1,{amount},{amount})"
                ));
            }
            sqlx::query(&os).execute(&mut *tx).await?;
            sqlx::query(&lines).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        sqlx::query(crate::propagation::REFRESH_LOW)
            .bind(org.to_string())
            .execute(&self.write)
            .await?;
        self.rebuild_sales_rollup(org).await
    }
}
