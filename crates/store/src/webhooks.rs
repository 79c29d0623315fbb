//! The webhook inbox: verified deliveries are stored before they are
//! processed, de-duplicated by key (the marketplace's notification id or a
//! hash of the body), and a processing job is enqueued in the same
//! transaction, so a delivery acknowledged to the marketplace is never lost.
//!
//! Processing drains the inbox in batches: one queued drain job per
//! marketplace (a unique key, so a burst of deliveries queues one job, not
//! thousands), which claims unprocessed entries for a short lease. A batch
//! lets intake fetch many orders in one marketplace call and book them
//! together; the claim keeps concurrent drains (several workers, several
//! instances) from fetching the same orders twice.

use storesync_domain::ids::{kind, Id, OrgId, ShopId};

use crate::page::{Page, PageRequest};
use storesync_domain::{Marketplace, Timestamp};

use crate::jobs::{enqueue_in, NewJob};
use crate::row::RowExt;
use crate::shops::Shop;
use crate::{Result, Store, StoreError};

pub type WebhookId = Id<kind::WebhookEvent>;

/// One marketplace API call made for a shop.
#[derive(Debug, Clone)]
pub struct ApiCall {
    pub id: String,
    pub org_id: OrgId,
    pub shop_id: ShopId,
    pub operation: String,
    /// `ok`, `rate_limited`, `transient`, `token_expired`, `unauthorized`,
    /// `invalid`, `signature`, `protocol`, …
    pub outcome: String,
    /// The marketplace's error code, when it gave one.
    pub code: Option<String>,
    pub duration_ms: i64,
    /// Time the client held the call back to stay within the rate.
    pub pacing_wait_ms: i64,
    pub at: Timestamp,
}

/// Job kind that drains a marketplace's unprocessed inbox entries.
pub const PROCESS_WEBHOOK_JOB: &str = crate::job_keys::kind::DRAIN_WEBHOOKS;

/// The drain job of one marketplace's deliveries (queued at most once).
pub fn drain_job(marketplace: Marketplace) -> NewJob {
    NewJob::new(
        PROCESS_WEBHOOK_JOB,
        serde_json::json!({ "marketplace": marketplace }),
    )
    .unique(crate::job_keys::drain_webhooks(marketplace))
    .max_attempts(20)
}

#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub id: WebhookId,
    pub marketplace: Marketplace,
    pub payload: String,
    pub received_at: Timestamp,
    pub processed_at: Option<Timestamp>,
}

fn inbox_entry(r: &sqlx::any::AnyRow) -> Result<InboxEntry> {
    Ok(InboxEntry {
        id: r.parse("id")?,
        marketplace: r.parse("marketplace")?,
        payload: r.text("payload")?,
        received_at: r.time("received_at")?,
        processed_at: r.opt_time("processed_at")?,
    })
}

impl Store {
    /// Store a verified delivery and queue its processing. `None` when the
    /// same delivery was stored before (a marketplace retry).
    /// `shop_key` is the marketplace's id of the shop the delivery names,
    /// when it names one.
    pub async fn record_webhook(
        &self,
        marketplace: Marketplace,
        dedupe_key: &str,
        payload: &str,
        shop_key: Option<&str>,
    ) -> Result<Option<WebhookId>> {
        let now = self.now();
        let id = WebhookId::new();
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO webhook_inbox (id, marketplace, dedupe_key, payload, received_at, shop_key) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (marketplace, dedupe_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(marketplace.as_str())
        .bind(dedupe_key)
        .bind(payload)
        .bind(now.millis())
        .bind(shop_key)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        enqueue_in(&mut tx, &drain_job(marketplace), now).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    pub async fn webhook(&self, id: WebhookId) -> Result<InboxEntry> {
        let r = sqlx::query("SELECT * FROM webhook_inbox WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound("webhook"))?;
        inbox_entry(&r)
    }

    /// Claim up to `limit` of a marketplace's unprocessed deliveries, oldest
    /// first, for `lease_ms`: entries another drain holds are skipped, and
    /// a crashed drain's entries are free again when their lease ends.
    pub async fn claim_webhooks(
        &self,
        marketplace: Marketplace,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<InboxEntry>> {
        let now = self.now().millis();
        let lock = match self.backend {
            crate::db::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::db::Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE webhook_inbox SET claimed_until = $3 WHERE id IN (SELECT id FROM webhook_inbox \
             WHERE marketplace = $1 AND processed_at IS NULL AND (claimed_until IS NULL OR claimed_until < $2) \
             ORDER BY received_at LIMIT $4{lock}) \
             RETURNING id, marketplace, payload, received_at, processed_at"
        ))
        .bind(marketplace.as_str())
        .bind(now)
        .bind(now + lease_ms)
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        let mut entries = rows.iter().map(inbox_entry).collect::<Result<Vec<_>>>()?;
        entries.sort_by_key(|e| e.received_at);
        Ok(entries)
    }

    /// Give claimed deliveries back unprocessed (their processing failed
    /// in a way worth retrying).
    pub async fn release_webhooks(&self, ids: &[WebhookId]) -> Result<()> {
        self.set_webhooks(ids, "claimed_until = $1", 0).await
    }

    pub async fn mark_webhook_processed(&self, id: WebhookId) -> Result<()> {
        self.mark_webhooks_processed(&[id]).await
    }

    pub async fn mark_webhooks_processed(&self, ids: &[WebhookId]) -> Result<()> {
        let now = self.now().millis();
        self.set_webhooks(ids, "processed_at = $1, claimed_until = NULL", now)
            .await
    }

    async fn set_webhooks(&self, ids: &[WebhookId], set: &str, value: i64) -> Result<()> {
        for chunk in ids.chunks(500) {
            let list = crate::catalog::placeholders(2, chunk.len());
            let sql = format!("UPDATE webhook_inbox SET {set} WHERE id IN ({list})");
            let mut q = sqlx::query(&sql).bind(value);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            q.execute(&self.write).await?;
        }
        Ok(())
    }

    /// Forget processed deliveries older than `keep_ms` (at least the
    /// marketplaces' longest retry window, so a late retry is still caught
    /// as a duplicate).
    pub async fn prune_webhooks(&self, keep_ms: i64) -> Result<u64> {
        let cutoff = self.now().millis() - keep_ms;
        Ok(sqlx::query(
            "DELETE FROM webhook_inbox WHERE processed_at IS NOT NULL AND received_at < $1",
        )
        .bind(cutoff)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Record one marketplace API call of a shop.
    pub async fn record_api_call(&self, call: &ApiCall) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_calls (org_id, id, shop_id, operation, outcome, code, duration_ms, at, pacing_wait_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(call.org_id.to_string())
        .bind(storesync_domain::Id::<()>::new().to_string())
        .bind(call.shop_id.to_string())
        .bind(&call.operation)
        .bind(&call.outcome)
        .bind(call.code.clone())
        .bind(call.duration_ms)
        .bind(call.at.millis())
        .bind(call.pacing_wait_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A shop's recent API calls, newest first.
    pub async fn list_api_calls(
        &self,
        org: OrgId,
        shop: ShopId,
        page: &PageRequest,
    ) -> Result<Page<ApiCall>> {
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT * FROM api_calls WHERE org_id = $1 AND shop_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4",
        )
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(page.before())
        .bind(limit + 1)
        .fetch_all(&self.read)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(ApiCall {
                    id: r.text("id")?,
                    org_id: r.parse("org_id")?,
                    shop_id: r.parse("shop_id")?,
                    operation: r.text("operation")?,
                    outcome: r.text("outcome")?,
                    code: r.opt_text("code")?,
                    duration_ms: r.int("duration_ms")?,
                    pacing_wait_ms: r.int("pacing_wait_ms")?,
                    at: r.time("at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |c| c.id.clone()))
    }

    /// Deliveries stored but not processed yet, in every organization
    /// (benchmarks wait on it).
    pub async fn unprocessed_webhooks(&self) -> Result<i64> {
        let r = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM webhook_inbox WHERE processed_at IS NULL",
        )
        .fetch_one(&self.read)
        .await?;
        r.int("n")
    }

    /// Forget API call records older than `keep_ms`.
    pub async fn prune_api_calls(&self, keep_ms: i64) -> Result<u64> {
        let cutoff = self.now().millis() - keep_ms;
        let calls = sqlx::query("DELETE FROM api_calls WHERE at < $1")
            .bind(cutoff)
            .execute(&self.write)
            .await?
            .rows_affected();
        let pushes = sqlx::query("DELETE FROM push_history WHERE at < $1")
            .bind(cutoff)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(calls + pushes)
    }

    /// The shop a marketplace event names. Webhooks identify shops
    /// globally, so this is the one lookup not scoped to an organization;
    /// everything after it is.
    pub async fn shop_by_external(
        &self,
        marketplace: Marketplace,
        external_shop_id: &str,
    ) -> Result<Option<Shop>> {
        let r = sqlx::query("SELECT * FROM shops WHERE marketplace = $1 AND external_shop_id = $2")
            .bind(marketplace.as_str())
            .bind(external_shop_id)
            .fetch_optional(&self.read)
            .await?;
        r.map(|r| Shop::from_row(&r)).transpose()
    }

    /// Every active shop of every organization (for scheduled polling).
    pub async fn active_shops(&self) -> Result<Vec<Shop>> {
        let rows = sqlx::query("SELECT * FROM shops WHERE status = 'active' ORDER BY org_id, id")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(Shop::from_row).collect()
    }

    /// Active shops whose access token expires before `before`.
    pub async fn shops_expiring_before(&self, before: Timestamp) -> Result<Vec<Shop>> {
        let rows = sqlx::query(
            "SELECT * FROM shops WHERE status = 'active' AND access_expires_at IS NOT NULL \
             AND access_expires_at < $1 ORDER BY access_expires_at",
        )
        .bind(before.millis())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(Shop::from_row).collect()
    }

    /// Where the next order poll of a shop starts.
    pub async fn orders_polled_until(&self, shop: &Shop) -> Result<Option<Timestamp>> {
        let r = sqlx::query("SELECT orders_polled_until FROM shops WHERE org_id = $1 AND id = $2")
            .bind(shop.org_id.to_string())
            .bind(shop.id.to_string())
            .fetch_one(&self.read)
            .await?;
        r.opt_time("orders_polled_until")
    }

    pub async fn set_orders_polled_until(&self, shop: &Shop, until: Timestamp) -> Result<()> {
        sqlx::query("UPDATE shops SET orders_polled_until = $3 WHERE org_id = $1 AND id = $2")
            .bind(shop.org_id.to_string())
            .bind(shop.id.to_string())
            .bind(until.millis())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
