//! Connecting to SQLite or PostgreSQL, and the few things that differ
//! between them (transaction start, row locks).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Transaction};
use storesync_crypto::KeyRing;
use storesync_domain::{Clock, SystemClock, Timestamp};

use crate::{migrate, Result, StoreError};

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Row-lock suffix for a `SELECT` whose rows the transaction will update.
    /// SQLite has a single writer, and write transactions start with
    /// `BEGIN IMMEDIATE`, so it needs none.
    pub(crate) fn for_update(&self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Like [`Backend::for_update`], locking only the rows of `table` in a join.
    pub(crate) fn for_update_of(&self, table: &str) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!(" FOR UPDATE OF {table}"),
        }
    }
}

/// Tuning knobs; the defaults suit a small server.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections for writes on PostgreSQL (SQLite always uses one writer).
    pub max_connections: u32,
    /// How long a statement waits for a locked SQLite database.
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) write: AnyPool,
    pub(crate) read: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) clock: Arc<dyn Clock>,
    /// Encrypts secrets (shop tokens) on their way into the database.
    pub(crate) keys: Arc<KeyRing>,
    /// Sale paces seen lately by this process (see
    /// [`crate::pace::PaceMemory`]).
    pub(crate) paces: Arc<crate::pace::PaceMemory>,
    /// API rate-limit counts of this process (see [`crate::api_limits`]).
    pub(crate) api_hits: Arc<crate::api_limits::ApiHits>,
}

pub(crate) type Tx = Transaction<'static, Any>;

impl Store {
    /// Connect to `url` (`sqlite://path` or `postgres://…`). Does not migrate.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store> {
        Self::connect_with_clock(url, options, Arc::new(SystemClock)).await
    }

    pub async fn connect_with_clock(
        url: &str,
        options: &StoreOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Configuration(
                "database URL must start with sqlite: or postgres:".into(),
            ))
        })?;
        let (write, read) = match backend {
            Backend::Sqlite => {
                let connect =
                    AnyConnectOptions::from_str(&sqlite_url(url))?.disable_statement_logging();
                let busy_ms = options.busy_timeout.as_millis();
                let pragmas = Arc::new(format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
                ));
                let pool = |max: u32| {
                    let pragmas = Arc::clone(&pragmas);
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(move |conn, _| {
                            let pragmas = Arc::clone(&pragmas);
                            Box::pin(async move {
                                conn.execute(pragmas.as_str()).await?;
                                Ok(())
                            })
                        })
                };
                // One writer: SQLite serializes writes anyway, and queueing
                // them in the pool avoids lock-upgrade failures.
                let write = pool(1).connect_with(connect.clone()).await?;
                let read = pool(4).connect_with(connect).await?;
                (write, read)
            }
            Backend::Postgres => {
                let connect = AnyConnectOptions::from_str(url)?.disable_statement_logging();
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(connect)
                    .await?;
                (pool.clone(), pool)
            }
        };
        Ok(Store {
            write,
            read,
            backend,
            clock,
            // A throwaway key until the installation's is given: secrets
            // written with it are unreadable after a restart, never plain.
            keys: Arc::new(KeyRing::generate()),
            paces: Arc::default(),
            api_hits: Arc::default(),
        })
    }

    /// Connect and bring the schema up to date.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Apply pending schema migrations. Safe to run from several processes.
    pub async fn migrate(&self) -> Result<()> {
        migrate::run(self).await
    }

    /// Use the installation's key ring for stored secrets.
    pub fn with_keys(&self, keys: Arc<KeyRing>) -> Store {
        Store {
            keys,
            ..self.clone()
        }
    }

    /// The same database seen through another clock (tests move time).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Store {
        Store {
            clock,
            ..self.clone()
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Hold, until `tx` ends, a lock on a natural key that may not have a row yet (a
    /// marketplace order about to be booked), so transactions creating the same thing take
    /// turns instead of both inserting and one failing on the unique key. A `FOR UPDATE` on
    /// the row cannot do this while the row does not exist. SQLite's write transactions
    /// already run one at a time.
    pub(crate) async fn lock_key(&self, tx: &mut Tx, key: &str) -> Result<()> {
        if self.backend == Backend::Postgres {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(key.as_bytes());
            let mut first = [0u8; 8];
            first.copy_from_slice(&digest[..8]);
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(i64::from_be_bytes(first))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Start a write transaction. SQLite takes its write lock up front, so a
    /// transaction never fails half-way on a lock upgrade.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// One trivial single-row write transaction: the ceiling the benchmark
    /// compares real work against.
    pub async fn bench_trivial_write(&self, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO bench_scratch (k, v) VALUES ($1, 1) \
             ON CONFLICT (k) DO UPDATE SET v = bench_scratch.v + 1",
        )
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// sqlx needs `mode=rwc` to create a missing SQLite file.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
