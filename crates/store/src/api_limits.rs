//! Request counts behind the API's rate limits: per key (the caller's
//! hashed token or client address, with the route group) in fixed windows.
//! On PostgreSQL the count is a row every `serve` process shares, so a
//! limit holds however the load balancer spreads a client's requests; a
//! SQLite installation runs one process, which counts in memory instead of
//! making every API read a write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use crate::row::RowExt;
use crate::{Backend, Result, Store};

/// How often, at most, a process deletes windows that are over.
const PRUNE_EVERY_MS: i64 = 60_000;

/// The in-process counts (SQLite) and when expired rows were last pruned.
#[derive(Debug, Default)]
pub struct ApiHits {
    windows: Mutex<HashMap<String, (i64, i64)>>,
    pruned_at: AtomicI64,
}

impl ApiHits {
    /// Count one request under `key`; the count in its window and when the
    /// window ends.
    fn hit(&self, key: &str, now: i64, window_ms: i64) -> (i64, i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows
            .entry(key.to_owned())
            .or_insert((0, now + window_ms));
        if entry.1 <= now {
            *entry = (0, now + window_ms);
        }
        entry.0 += 1;
        *entry
    }
}

impl Store {
    /// Count one request under `key` against at most `limit` in a window of
    /// `window_ms`: `None` when it may go on, else how many milliseconds
    /// until the window ends (for `Retry-After`). Refused requests count
    /// too: a client that keeps knocking stays refused until the window ends.
    pub async fn claim_api_hit(
        &self,
        key: &str,
        limit: i64,
        window_ms: i64,
    ) -> Result<Option<i64>> {
        let now = self.now().millis();
        let (hits, ends) = match self.backend() {
            Backend::Sqlite => self.api_hits.hit(key, now, window_ms),
            Backend::Postgres => {
                let row = sqlx::query(
                    "INSERT INTO api_limits (key_hash, hits, expires_at) VALUES ($1, 1, $2) \
                     ON CONFLICT (key_hash) DO UPDATE SET \
                     hits = CASE WHEN api_limits.expires_at <= $3 THEN 1 ELSE api_limits.hits + 1 END, \
                     expires_at = CASE WHEN api_limits.expires_at <= $3 THEN $2 ELSE api_limits.expires_at END \
                     RETURNING hits, expires_at",
                )
                .bind(key)
                .bind(now + window_ms)
                .bind(now)
                .fetch_one(&self.write)
                .await?;
                self.prune_api_limits(now).await;
                (row.int("hits")?, row.int("expires_at")?)
            }
        };
        Ok((hits > limit).then(|| (ends - now).max(1)))
    }

    /// Delete windows that are over, at most once a minute per process; a
    /// failure only leaves rows for the next time.
    async fn prune_api_limits(&self, now: i64) {
        let last = self.api_hits.pruned_at.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY_MS
            || self
                .api_hits
                .pruned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Err(e) = sqlx::query("DELETE FROM api_limits WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.write)
            .await
        {
            tracing::warn!(error = %e, "could not prune API limit windows");
        }
    }
}
