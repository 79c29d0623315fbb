//! Schema migrations, embedded in the binary. Each migration names the SQL
//! for each backend; most share one file written in the common dialect.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{Backend, Result, Store};

struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        version: 1,
        description: "init",
        sqlite: include_str!("../migrations/0001_init.sql"),
        postgres: include_str!("../migrations/0001_init.sql"),
    },
    Step {
        version: 2,
        description: "bench scratch",
        sqlite: include_str!("../migrations/0002_bench_scratch.sql"),
        postgres: include_str!("../migrations/0002_bench_scratch.sql"),
    },
    Step {
        version: 3,
        description: "order request hash",
        sqlite: include_str!("../migrations/0003_order_request_hash.sql"),
        postgres: include_str!("../migrations/0003_order_request_hash.sql"),
    },
    Step {
        version: 4,
        description: "schedules",
        sqlite: include_str!("../migrations/0004_schedules.sql"),
        postgres: include_str!("../migrations/0004_schedules.sql"),
    },
    Step {
        version: 5,
        description: "oauth states",
        sqlite: include_str!("../migrations/0005_oauth_states.sql"),
        postgres: include_str!("../migrations/0005_oauth_states.sql"),
    },
    Step {
        version: 6,
        description: "shop cipher",
        sqlite: include_str!("../migrations/0006_shop_cipher.sql"),
        postgres: include_str!("../migrations/0006_shop_cipher.sql"),
    },
    Step {
        version: 7,
        description: "listings",
        sqlite: include_str!("../migrations/0007_listings.sql"),
        postgres: include_str!("../migrations/0007_listings.sql"),
    },
    Step {
        version: 8,
        description: "ingestion",
        sqlite: include_str!("../migrations/0008_ingestion.sql"),
        postgres: include_str!("../migrations/0008_ingestion.sql"),
    },
    Step {
        version: 9,
        description: "polling",
        sqlite: include_str!("../migrations/0009_polling.sql"),
        postgres: include_str!("../migrations/0009_polling.sql"),
    },
    Step {
        version: 10,
        description: "propagation",
        sqlite: include_str!("../migrations/0010_propagation.sql"),
        postgres: include_str!("../migrations/0010_propagation.sql"),
    },
    Step {
        version: 11,
        description: "shop settings",
        sqlite: include_str!("../migrations/0011_shop_settings.sql"),
        postgres: include_str!("../migrations/0011_shop_settings.sql"),
    },
    Step {
        version: 12,
        description: "api calls",
        sqlite: include_str!("../migrations/0012_api_calls.sql"),
        postgres: include_str!("../migrations/0012_api_calls.sql"),
    },
    Step {
        version: 13,
        description: "push lease",
        sqlite: include_str!("../migrations/0013_push_lease.sql"),
        postgres: include_str!("../migrations/0013_push_lease.sql"),
    },
    Step {
        version: 14,
        description: "push history and pacing waits",
        sqlite: include_str!("../migrations/0014_push_history.sql"),
        postgres: include_str!("../migrations/0014_push_history.sql"),
    },
    Step {
        version: 15,
        description: "dashboard indexes",
        sqlite: include_str!("../migrations/0015_dashboard_indexes.sql"),
        postgres: include_str!("../migrations/0015_dashboard_indexes.sql"),
    },
    Step {
        version: 16,
        description: "sales hourly",
        sqlite: include_str!("../migrations/0016_sales_hourly.sql"),
        postgres: include_str!("../migrations/0016_sales_hourly.sql"),
    },
    Step {
        version: 17,
        description: "catalog search",
        sqlite: include_str!("../migrations/0017_catalog_search_sqlite.sql"),
        postgres: include_str!("../migrations/0017_catalog_search_postgres.sql"),
    },
    Step {
        version: 18,
        description: "line cancellations",
        sqlite: include_str!("../migrations/0018_line_cancellations.sql"),
        postgres: include_str!("../migrations/0018_line_cancellations.sql"),
    },
    Step {
        version: 19,
        description: "job deferral",
        sqlite: include_str!("../migrations/0019_job_deferral.sql"),
        postgres: include_str!("../migrations/0019_job_deferral.sql"),
    },
    Step {
        version: 20,
        description: "accounts",
        sqlite: include_str!("../migrations/0020_accounts.sql"),
        postgres: include_str!("../migrations/0020_accounts.sql"),
    },
    Step {
        version: 21,
        description: "sign-in limits and connect binding",
        sqlite: include_str!("../migrations/0021_signin_limits.sql"),
        postgres: include_str!("../migrations/0021_signin_limits.sql"),
    },
    Step {
        version: 22,
        description: "webhook drain and sale rates",
        sqlite: include_str!("../migrations/0022_webhook_drain.sql"),
        postgres: include_str!("../migrations/0022_webhook_drain.sql"),
    },
    Step {
        version: 23,
        description: "units held back by a push",
        sqlite: include_str!("../migrations/0023_held_back.sql"),
        postgres: include_str!("../migrations/0023_held_back.sql"),
    },
    Step {
        version: 24,
        description: "API rate limits",
        sqlite: include_str!("../migrations/0024_api_limits.sql"),
        postgres: include_str!("../migrations/0024_api_limits.sql"),
    },
    Step {
        version: 25,
        description: "token refresh lease",
        sqlite: include_str!("../migrations/0025_refresh_lease.sql"),
        postgres: include_str!("../migrations/0025_refresh_lease.sql"),
    },
];

/// The last schema step of this build.
pub(crate) fn latest_version() -> i64 {
    STEPS.last().map_or(0, |s| s.version)
}

fn migrator(backend: Backend) -> Migrator {
    let migrations: Vec<Migration> = STEPS
        .iter()
        .map(|s| {
            let sql = match backend {
                Backend::Sqlite => s.sqlite,
                Backend::Postgres => s.postgres,
            };
            Migration::new(
                s.version,
                Cow::Borrowed(s.description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub(crate) async fn run(store: &Store) -> Result<()> {
    // Migrator takes a database-level advisory lock on PostgreSQL, so several
    // instances starting together apply each step once.
    migrator(store.backend).run(&store.write).await?;
    Ok(())
}
