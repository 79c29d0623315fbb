//! Figures for whoever runs StoreSync (the `/metrics` and `/readyz`
//! endpoints), across every organization: queue depth by job kind, how
//! long each shop's marketplace tokens have left, connection pool use, and
//! whether this database is ready to serve. Nothing here names a tenant's
//! data beyond ids.

use storesync_domain::ids::ShopId;
use storesync_domain::Timestamp;

use crate::row::RowExt;
use crate::{Result, Store};

/// Jobs of one kind in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    /// `queued`, `running` or `dead`.
    pub status: String,
    pub count: i64,
}

/// When a connected shop's access token and its authorization (the
/// refresh token) end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopExpiry {
    pub shop_id: ShopId,
    pub marketplace: String,
    pub access_expires_at: Option<Timestamp>,
    pub authorization_expires_at: Option<Timestamp>,
}

/// One connection pool's connections now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `write` or `read`.
    pub pool: &'static str,
    pub idle: u64,
    pub in_use: u64,
}

impl Store {
    /// Jobs waiting, running and given up, by kind.
    pub async fn job_counts(&self) -> Result<Vec<JobCount>> {
        let rows = sqlx::query(
            "SELECT kind, status, CAST(COUNT(*) AS BIGINT) AS n FROM jobs \
             WHERE status IN ('queued', 'running', 'dead') GROUP BY kind, status ORDER BY kind, status",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobCount {
                    kind: r.text("kind")?,
                    status: r.text("status")?,
                    count: r.int("n")?,
                })
            })
            .collect()
    }

    /// Every shop still connected, with its tokens' ends.
    pub async fn shop_expiries(&self) -> Result<Vec<ShopExpiry>> {
        let rows = sqlx::query(
            "SELECT id, marketplace, access_expires_at, refresh_expires_at FROM shops \
             WHERE status <> 'disconnected' ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ShopExpiry {
                    shop_id: r.parse("id")?,
                    marketplace: r.text("marketplace")?,
                    access_expires_at: r.opt_int("access_expires_at")?.map(Timestamp::from_millis),
                    authorization_expires_at: r
                        .opt_int("refresh_expires_at")?
                        .map(Timestamp::from_millis),
                })
            })
            .collect()
    }

    /// The write and read pools' connections, idle and lent out.
    pub fn pool_use(&self) -> [PoolUse; 2] {
        let of = |pool: &'static str, p: &sqlx::AnyPool| {
            let idle = u64::try_from(p.num_idle()).unwrap_or(u64::MAX);
            PoolUse {
                pool,
                idle,
                in_use: u64::from(p.size()).saturating_sub(idle),
            }
        };
        [of("write", &self.write), of("read", &self.read)]
    }

    /// The latest schema step applied to this database, if any.
    pub async fn schema_version(&self) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT CAST(MAX(version) AS BIGINT) AS v FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_optional(&self.read)
        .await;
        match row {
            Ok(row) => Ok(row.map(|r| r.opt_int("v")).transpose()?.flatten()),
            // Never migrated: no table yet.
            Err(sqlx::Error::Database(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// How late the most overdue queued job is, in ms (none when nothing is
    /// due): jobs waiting long past their time mean no worker is taking them.
    pub async fn oldest_overdue_job_ms(&self) -> Result<Option<i64>> {
        let now = self.now().millis();
        let row = sqlx::query(
            "SELECT CAST(MIN(run_at) AS BIGINT) AS due FROM jobs WHERE status = 'queued' AND run_at <= $1",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(row.opt_int("due")?.map(|due| now - due))
    }
}

/// The schema step this build expects.
pub fn expected_schema_version() -> i64 {
    crate::migrate::latest_version()
}
