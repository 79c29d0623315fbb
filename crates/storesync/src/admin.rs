//! Admin commands: organizations, users and API tokens from the shell.

use std::io::BufRead;

use anyhow::{bail, Context};
use clap::Subcommand;
use storesync_crypto::{hash_password, hash_token, random_token};
use storesync_domain::Role;
use storesync_store::Actor;

use crate::config::Config;
use crate::open_existing_store;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization (with its default location `main`).
    Create {
        /// Short unique name: a-z, 0-9 and '-'.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user in an organization (or add an existing user to it).
    Create {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long)]
        email: String,
        /// owner, admin, member or viewer.
        #[arg(long, default_value = "member")]
        role: Role,
        /// Read the password from the first line of standard input; otherwise one is generated and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a member; it is printed once.
    Create {
        #[arg(long, value_name = "SLUG")]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn cli_actor() -> Actor {
    Actor::system("cli")
}

pub async fn org(config: &Config, cmd: OrgCommand) -> anyhow::Result<()> {
    let OrgCommand::Create { slug, name } = cmd;
    let store = open_existing_store(config).await?;
    let org = store.create_org(&slug, &name, &cli_actor()).await?;
    println!("created organization {} ({})", org.slug, org.id);
    Ok(())
}

pub async fn user(config: &Config, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create {
        org,
        email,
        role,
        password_stdin,
    } = cmd;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let p = line.trim_end_matches(['\r', '\n']).to_owned();
        if p.chars().count() < storesync_web::session::MIN_PASSWORD_LEN {
            bail!(
                "the password must have at least {} characters",
                storesync_web::session::MIN_PASSWORD_LEN
            );
        }
        (p, false)
    } else {
        (random_token("").expose()[..20].to_owned(), true)
    };
    let store = open_existing_store(config).await?;
    let org = store
        .org_by_slug(&org)
        .await
        .with_context(|| format!("no organization {org:?}"))?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password).map(|h| (h, password)))
        .await??;
    let user = store
        .add_member(org.id, &email, Some(hash.0), role, &cli_actor())
        .await?;
    println!("{} is now {} of {}", user.email, role, org.slug);
    if generated {
        println!("password: {}", hash.1);
        println!("(shown once; change it after signing in)");
    }
    Ok(())
}

pub async fn token(config: &Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create { org, email, name } = cmd;
    let store = open_existing_store(config).await?;
    let org = store
        .org_by_slug(&org)
        .await
        .with_context(|| format!("no organization {org:?}"))?;
    let (user_id, _) = store
        .credentials(&email)
        .await?
        .with_context(|| format!("no user {email:?}"))?;
    let token = random_token("ss_");
    store
        .create_api_token(
            org.id,
            user_id,
            &name,
            &hash_token(token.expose()),
            &cli_actor(),
        )
        .await
        .with_context(|| format!("{email} is not a member of {}", org.slug))?;
    println!("API token: {}", token.expose());
    println!("(shown once; it acts as {email} in {})", org.slug);
    Ok(())
}

/// `storesync check`: verify the inventory ledger of every organization.
pub async fn check(config: &Config) -> anyhow::Result<()> {
    let store = open_existing_store(config).await?;
    let orgs = store.all_orgs().await?;
    if orgs.is_empty() {
        println!("no organizations in this database: nothing to check (create one with `storesync org create`)");
        return Ok(());
    }
    let mut problems = 0;
    for org in orgs {
        let found = store.verify_inventory(org.id).await?;
        if found.is_empty() {
            println!("{}: ledger balances", org.slug);
        }
        for p in &found {
            println!("{}: {p}", org.slug);
        }
        problems += found.len();
    }
    if problems > 0 {
        bail!("{problems} inventory problem(s) found");
    }
    Ok(())
}
