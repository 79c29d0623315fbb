//! The `storesync` binary: parses the command line, loads configuration,
//! sets up logging and signals, and hands over to library code.

mod admin;
mod bench;
mod channels;
mod config;
mod demo;
mod oversell;
mod page_bench;
mod sandbox_cmd;
mod server;
mod sweep;
mod webhook_bench;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use storesync_crypto::KeyRing;
use storesync_store::{Store, StoreOptions};

use crate::config::{Config, GlobalArgs};

#[derive(Debug, Parser)]
#[command(
    name = "storesync",
    version,
    about = "Multi-channel commerce operations: one catalog, one inventory, every marketplace."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (API) after applying migrations.
    Serve {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage organizations.
    #[command(subcommand)]
    Org(admin::OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(admin::TokenCommand),
    /// Verify the inventory ledger of every organization: on-hand equals
    /// the movements, reserved equals the open reservations.
    Check,
    /// Run a benchmark.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run a marketplace sandbox (a local simulator of its real API).
    Sandbox(sandbox_cmd::SandboxArgs),
    /// Run the whole product locally: marketplace sandboxes with demo shops,
    /// a demo organization, live buyers, and StoreSync serving on --bind.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Open the configured database for an admin command: it must exist already. Only `serve`,
/// `migrate` and `demo` create one; an admin command pointed at the wrong place says so
/// instead of answering from a new, empty database.
pub(crate) async fn open_existing_store(config: &Config) -> anyhow::Result<Store> {
    if let Some(path) = sqlite_path(&config.database_url) {
        if !path.exists() {
            anyhow::bail!(
                "no database at {}: run `storesync migrate` (or `serve`) to create one, or point \
                 --data-dir / --database-url at an existing one (the demo's is in <data dir>/demo)",
                path.display()
            );
        }
    }
    open_store(config).await
}

/// The file of a SQLite URL (`sqlite://path`, `sqlite:path`, with or without `?options`).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Open (and migrate) the configured database, creating a SQLite file that does not exist.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        config.prepare_data_dir()?;
    }
    let options = StoreOptions {
        max_connections: config.max_connections,
        ..StoreOptions::default()
    };
    Store::open(&config.database_url, &options)
        .await
        .context("cannot open the database")
}

/// The master key for secrets stored in the database.
fn load_keys(config: &Config) -> anyhow::Result<KeyRing> {
    match std::env::var("STORESYNC_MASTER_KEY") {
        Ok(k) if !k.is_empty() => {
            KeyRing::from_encoded(&k).context("STORESYNC_MASTER_KEY is not a valid key")
        }
        _ => KeyRing::load_or_create(&config.master_key_file)
            .context("cannot load the master key file"),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let bind = match &cli.command {
        Command::Serve { bind } => bind.as_deref(),
        Command::Demo(args) => args.bind.as_deref(),
        _ => None,
    };
    let config = Config::load(&cli.global, bind)?;
    match cli.command {
        Command::Serve { .. } => {
            init_logging(config.json_logs);
            serve(config).await
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            println!("database is up to date ({})", store.backend().name());
            Ok(())
        }
        Command::Org(cmd) => admin::org(&config, cmd).await,
        Command::User(cmd) => admin::user(&config, cmd).await,
        Command::Token(cmd) => admin::token(&config, cmd).await,
        Command::Check => admin::check(&config).await,
        Command::Bench(cmd) => {
            init_logging(config.json_logs);
            bench::run(&config, cmd).await
        }
        Command::Demo(args) => {
            init_logging(config.json_logs);
            demo::run(config, args).await
        }
        Command::Sandbox(args) => {
            init_logging(config.json_logs);
            sandbox_cmd::run(args).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let keys = load_keys(&config)?;
    let store = open_store(&config).await?.with_keys(Arc::new(keys));
    let channels = Arc::new(channels::from_config(&config)?);
    let listener = server::bind(&config).await?;
    let running = server::start(
        &config,
        store.clone(),
        channels,
        listener,
        &config.public_url,
    )
    .await?;
    println!("StoreSync listening on http://{}", running.addr);
    shutdown_signal().await;
    running.stop().await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_paths_are_read_from_every_url_form() {
        assert_eq!(
            sqlite_path("sqlite:///var/lib/s/storesync.db?mode=rwc"),
            Some("/var/lib/s/storesync.db".into())
        );
        assert_eq!(sqlite_path("sqlite:data.db"), Some("data.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://db/x"), None);
    }
}
