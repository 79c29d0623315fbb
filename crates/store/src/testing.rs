//! Test harness: a fresh database per test on each backend.
//!
//! SQLite tests get a temporary file. PostgreSQL tests get a uniquely named
//! database created on the server named by `STORESYNC_TEST_POSTGRES_URL`;
//! when that is unset they are skipped with a loud message, unless
//! `STORESYNC_REQUIRE_POSTGRES=1`, which turns the skip into a failure (CI
//! sets it, so a missing server can never pass silently).
#![allow(clippy::expect_used, clippy::panic)]

use crate::scratch::ScratchDb;
use crate::{Store, StoreOptions};

/// A database made for one test; call [`TestDb::cleanup`] at the end.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    scratch: ScratchDb,
}

impl TestDb {
    fn from_scratch(scratch: ScratchDb) -> TestDb {
        TestDb {
            store: scratch.store.clone(),
            url: scratch.url.clone(),
            scratch,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join("storesync-tests");
        let scratch = ScratchDb::sqlite_in(&dir, &StoreOptions::default())
            .await
            .expect("open sqlite");
        Self::from_scratch(scratch)
    }

    /// A fresh PostgreSQL database, or `None` (after saying so loudly) when
    /// no server is configured and none is required.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_url()?;
        let scratch = ScratchDb::postgres_on(&admin_url, &StoreOptions::default())
            .await
            .expect("create a database on STORESYNC_TEST_POSTGRES_URL");
        Some(Self::from_scratch(scratch))
    }

    pub async fn cleanup(self) {
        self.scratch.drop_db().await;
    }
}

/// The PostgreSQL server for tests, honouring the skip/require rules.
pub fn postgres_url() -> Option<String> {
    match std::env::var("STORESYNC_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("STORESYNC_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("STORESYNC_REQUIRE_POSTGRES=1 but STORESYNC_TEST_POSTGRES_URL is not set");
            }
            eprintln!(
                "\n*** SKIPPING PostgreSQL test: STORESYNC_TEST_POSTGRES_URL is not set. \
                 Set it (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the \
                 PostgreSQL half of the suite. ***\n"
            );
            None
        }
    }
}

/// Define a test that runs once per backend: `<name>::sqlite` and
/// `<name>::postgres`. The body sees the fresh [`Store`] as the given name.
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($store:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($store: $crate::Store) $body

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite().await;
                run(db.store.clone()).await;
                db.cleanup().await;
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::testing::TestDb::postgres().await else { return };
                run(db.store.clone()).await;
                db.cleanup().await;
            }
        }
    };
}

/// Run raw SQL returning one text column (tests inspect what is really stored).
pub async fn query_texts(store: &Store, sql: &str) -> Vec<Option<String>> {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_all(&store.read)
        .await
        .expect("query")
        .iter()
        .map(|r| r.try_get::<Option<String>, _>(0).expect("text column"))
        .collect()
}

/// Run a raw SQL statement (tests tamper with stored data).
pub async fn execute(store: &Store, sql: &str) {
    sqlx::query(sql)
        .execute(&store.write)
        .await
        .expect("execute");
}
