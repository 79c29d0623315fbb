//! Throwaway databases for tests and benchmarks: a fresh SQLite file or a
//! uniquely named PostgreSQL database, removed again by [`ScratchDb::drop_db`].

use std::path::{Path, PathBuf};

use sqlx::{Connection, Executor};

use crate::{Result, Store, StoreOptions};

#[derive(Debug)]
pub struct ScratchDb {
    pub store: Store,
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

impl ScratchDb {
    /// A new SQLite database file in `dir`, migrated.
    pub async fn sqlite_in(dir: &Path, options: &StoreOptions) -> Result<ScratchDb> {
        std::fs::create_dir_all(dir).map_err(|e| {
            crate::StoreError::Corrupt(format!("cannot create {}: {e}", dir.display()))
        })?;
        let path = dir.join(format!("scratch-{}.db", uuid::Uuid::now_v7()));
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(&url, options).await?;
        Ok(ScratchDb {
            store,
            url,
            kind: Kind::File(path),
        })
    }

    /// A new database on the PostgreSQL server of `admin_url`, migrated.
    pub async fn postgres_on(admin_url: &str, options: &StoreOptions) -> Result<ScratchDb> {
        let name = format!("storesync_scratch_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::postgres::PgConnection::connect(admin_url).await?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await.ok();
        let url = replace_database(admin_url, &name);
        let store = Store::open(&url, options).await?;
        Ok(ScratchDb {
            store,
            url,
            kind: Kind::Database {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// Close the store and delete the database.
    pub async fn drop_db(self) {
        self.store.close().await;
        match self.kind {
            Kind::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    std::fs::remove_file(p).ok();
                }
            }
            Kind::Database { admin_url, name } => {
                if let Ok(mut admin) = sqlx::postgres::PgConnection::connect(&admin_url).await {
                    admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await
                        .ok();
                }
            }
        }
    }
}

/// Swap the database name in a PostgreSQL URL.
pub(crate) fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    let mut out = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        assert_eq!(
            super::replace_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://h", "x"),
            "postgres://h/x"
        );
    }
}
