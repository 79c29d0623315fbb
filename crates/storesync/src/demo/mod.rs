//! `storesync demo`: the whole product on one machine, no configuration.
//! Starts Shopee, TikTok Shop and Lazada sandboxes with demo shops selling the demo catalog
//! (`catalog`), a demo organization with an owner and an API token, connects every shop through
//! the real OAuth flow, starts gentle buyers and the sandboxes' carrier, lets the seller's
//! autopilot (`autopilot`) ship and restock, and serves.
//! Data lives in `<data dir>/demo` under the file names every command uses, so admin commands
//! pointed there with `--data-dir` find it; running again continues with it.

mod autopilot;
mod catalog;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use storesync_crypto::{hash_password, hash_token, random_token, KeyRing};
use storesync_domain::{Role, SystemClock};
use storesync_engine::connect::{self, ChannelRegistry};
use storesync_sandbox::{
    AuthorizeRequest, BuyerSettings, CarrierSettings, CreateShop, Marketplace, Sandbox,
    SandboxConfig, SandboxServer,
};
use storesync_store::{Actor, Store, StoreOptions};

use crate::config::Config;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Forget the previous demo's data and start over.
    #[arg(long)]
    pub reset: bool,
    /// Orders per second the buyers place in each demo shop.
    #[arg(long, default_value_t = 0.2)]
    pub buyer_rate: f64,
    /// Do not play the seller: orders stay unshipped and nothing is restocked.
    #[arg(long)]
    pub no_autopilot: bool,
    /// Multiplies every delay of the simulated world (packing, pickup, delivery, completion,
    /// buyers' cancellation window, webhook retries); 0.01 runs a day in about 15 minutes.
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    pub time_scale: f64,
}

const ORG: &str = "demo";
const OWNER: &str = "owner@demo.storesync.test";

const AUTOPILOT: &str = "autopilot@demo.storesync.test";

/// The simulated world's pace at `--time-scale 1`, in seconds: how long an order waits to be
/// packed, then to be picked up, delivered and completed.
const PACK_SECS: f64 = 60.0;
const PICKUP_SECS: f64 = 120.0;
const DELIVER_SECS: f64 = 600.0;
const COMPLETE_SECS: f64 = 1_800.0;
/// A buyer's cancellation request nobody answers lapses into a cancellation (the demo's seller
/// never answers them; the marketplace accepts them when the window passes).
const CANCEL_REQUEST_SECS: f64 = 5.0;
/// How often the autopilot looks for work at `--time-scale 1`, and never more often than
/// `MIN_ROUND_MS` however the time is scaled.
const ROUND_SECS: f64 = 5.0;
const MIN_ROUND_MS: u64 = 250;
/// A SKU with this many units available or fewer gets a supplier delivery.
const RESTOCK_AT: i64 = 5;

/// The demo's database file: the name every command opens in a data directory.
const DB_FILE: &str = "storesync.db";
/// Where demos before that kept it.
const OLD_DB_FILE: &str = "demo.db";

fn remove_db(dir: &Path) {
    for base in [DB_FILE, OLD_DB_FILE] {
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(dir.join(format!("{base}{suffix}"))).ok();
        }
    }
}

/// A demo from before the database had the common file name keeps its data.
fn adopt_old_db(dir: &Path) -> anyhow::Result<()> {
    if dir.join(DB_FILE).exists() || !dir.join(OLD_DB_FILE).exists() {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let from = dir.join(format!("{OLD_DB_FILE}{suffix}"));
        if from.exists() {
            std::fs::rename(&from, dir.join(format!("{DB_FILE}{suffix}")))
                .with_context(|| format!("cannot rename {}", from.display()))?;
        }
    }
    Ok(())
}

pub async fn run(config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let dir = config.data_dir.join("demo");
    if args.reset {
        remove_db(&dir);
    }
    if !(args.time_scale > 0.0 && args.time_scale.is_finite()) {
        bail!("--time-scale must be a positive number");
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    adopt_old_db(&dir)?;
    let keys = KeyRing::load_or_create(&dir.join("master.key"))?;
    let url = format!("sqlite://{}", dir.join(DB_FILE).display());
    let store = Store::open(&url, &StoreOptions::default())
        .await?
        .with_keys(Arc::new(keys));

    // The demo organization, its owner (a fresh password each run) and an
    // API token.
    let actor = Actor::system("demo");
    let org = match store.org_by_slug(ORG).await {
        Ok(org) => org,
        Err(_) => store.create_org(ORG, "Demo Store", &actor).await?,
    };
    let password = random_token("").expose()[..16].to_owned();
    let hash = {
        let p = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&p)).await??
    };
    let user_id = match store.credentials(OWNER).await? {
        Some((id, _)) => {
            store.set_password(id, &hash).await?;
            id
        }
        None => {
            store
                .add_member(org.id, OWNER, Some(hash), Role::Owner, &actor)
                .await?
                .id
        }
    };
    let token = random_token("ss_");
    store
        .create_api_token(org.id, user_id, "demo", &hash_token(token.expose()), &actor)
        .await?;

    // The seller's catalog, then sandboxes with one demo shop each listing their part of it
    // with what the books hold.
    catalog::create_missing(&store, org.id, &actor).await?;
    let sandbox = |m: Marketplace| {
        let mut c = SandboxConfig::new(m);
        c.time_scale = args.time_scale;
        SandboxServer::start(c)
    };
    let shopee = sandbox(Marketplace::Shopee).await?;
    let tiktok = sandbox(Marketplace::TikTok).await?;
    let lazada = sandbox(Marketplace::Lazada).await?;
    let spec = |name: &str, products: Vec<serde_json::Value>| -> anyhow::Result<CreateShop> {
        Ok(serde_json::from_value(
            serde_json::json!({ "name": name, "region": "ID", "products": products }),
        )?)
    };
    let s_shop = shopee.sandbox().create_shop(&spec(
        "Toko Demo (Shopee)",
        catalog::shop_products(&store, org.id, Marketplace::Shopee).await?,
    )?)?;
    let t_shop = tiktok.sandbox().create_shop(&spec(
        "Toko Demo (TikTok Shop)",
        catalog::shop_products(&store, org.id, Marketplace::TikTok).await?,
    )?)?;
    let l_shop = lazada.sandbox().create_shop(&spec(
        "Toko Demo (Lazada)",
        catalog::shop_products(&store, org.id, Marketplace::Lazada).await?,
    )?)?;

    let clock: Arc<dyn storesync_domain::Clock> = Arc::new(SystemClock);
    let channels = ChannelRegistry::new()
        .with(crate::channels::for_sandbox(&shopee, Arc::clone(&clock))?)
        .with(crate::channels::for_sandbox(&tiktok, Arc::clone(&clock))?)
        .with(crate::channels::for_sandbox(&lazada, Arc::clone(&clock))?);
    let channels = Arc::new(channels);

    // Serve, then point the marketplaces at us.
    let listener = crate::server::bind(&config).await?;
    let public = format!("http://{}", listener.local_addr()?);
    let running = crate::server::start(
        &config,
        store.clone(),
        Arc::clone(&channels),
        listener,
        &public,
    )
    .await?;
    shopee
        .sandbox()
        .set_push_url(Some(format!("{public}/webhooks/shopee")));
    tiktok
        .sandbox()
        .set_push_url(Some(format!("{public}/webhooks/tiktok_shop")));
    tiktok
        .sandbox()
        .set_redirect_url(Some(format!("{public}/oauth/tiktok_shop/callback")));
    lazada
        .sandbox()
        .set_push_url(Some(format!("{public}/webhooks/lazada")));

    // Connect both shops through the real OAuth flow: our authorize URL,
    // the marketplace's approval, our callback.
    let http = reqwest::Client::new();
    for (marketplace, sandbox, shop_id) in [
        (
            storesync_domain::Marketplace::Shopee,
            shopee.sandbox(),
            s_shop.shop_id,
        ),
        (
            storesync_domain::Marketplace::TikTokShop,
            tiktok.sandbox(),
            t_shop.shop_id,
        ),
        (
            storesync_domain::Marketplace::Lazada,
            lazada.sandbox(),
            l_shop.shop_id,
        ),
    ] {
        connect_shop(
            &store,
            &channels,
            &http,
            &public,
            org.id,
            user_id,
            marketplace,
            sandbox,
            shop_id,
        )
        .await?;
        if !args.no_autopilot {
            sandbox.set_carrier(CarrierSettings {
                pickup_after_secs: Some(PICKUP_SECS),
                deliver_after_secs: Some(DELIVER_SECS),
                complete_after_secs: Some(COMPLETE_SECS),
                accept_cancel_after_secs: Some(CANCEL_REQUEST_SECS),
            });
        }
        sandbox.set_buyers(
            shop_id,
            BuyerSettings {
                orders_per_sec: args.buyer_rate.max(0.0),
                max_quantity: 2,
                cancel_rate: 0.05,
                tokopedia_share: if marketplace == storesync_domain::Marketplace::TikTokShop {
                    0.3
                } else {
                    0.0
                },
            },
        )?;
    }

    // The seller's side: its own member and API token, so its work shows under its name.
    let (stop_autopilot, autopilot_stopped) = tokio::sync::watch::channel(false);
    let autopilot = if args.no_autopilot {
        None
    } else {
        let token = autopilot_token(&store, org.id, &actor).await?;
        let round_ms = ((ROUND_SECS * 1000.0 * args.time_scale) as u64).max(MIN_ROUND_MS);
        let settings = autopilot::Settings {
            ship_after: Duration::from_secs_f64(PACK_SECS * args.time_scale),
            every: Duration::from_millis(round_ms),
            restock_at: RESTOCK_AT,
        };
        let pilot = autopilot::Autopilot::new(&public, token.expose(), settings, clock);
        Some(tokio::spawn(pilot.run(autopilot_stopped)))
    };

    println!();
    println!("StoreSync demo is running.");
    println!("  StoreSync:        {public}  (API under {public}/api/v1, OpenAPI at {public}/api/v1/openapi.json)");
    println!("  Owner login:      {OWNER}");
    println!("  Owner password:   {password}");
    println!("API token: {}", token.expose());
    println!(
        "  Shopee sandbox:   {}  (shop {}, buyers at {}/s)",
        shopee.base_url(),
        s_shop.shop_id,
        args.buyer_rate
    );
    println!(
        "  TikTok sandbox:   {}  (shop {}, buyers at {}/s)",
        tiktok.base_url(),
        t_shop.shop_id,
        args.buyer_rate
    );
    println!(
        "  Lazada sandbox:   {}  (seller {}, buyers at {}/s)",
        lazada.base_url(),
        l_shop.shop_id,
        args.buyer_rate
    );
    println!("  Data:             {}", dir.display());
    println!(
        "  Admin commands:   storesync --data-dir {} check   (and org, user, token)",
        dir.display()
    );
    if args.no_autopilot {
        println!("  Autopilot:        off (orders wait for you to ship them)");
    } else {
        println!("  Autopilot:        ships ready orders and restocks low SKUs as {AUTOPILOT}");
    }
    println!("  Try:  curl -H \"Authorization: Bearer $TOKEN\" {public}/api/v1/orders");
    println!("Press Ctrl-C to stop; run again to continue, or with --reset to start over.");

    crate::shutdown_signal().await;
    println!("stopping…");
    stop_autopilot.send(true).ok();
    if let Some(task) = autopilot {
        task.await.ok();
    }
    running.stop().await?;
    shopee.shutdown().await;
    tiktok.shutdown().await;
    lazada.shutdown().await;
    store.close().await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn connect_shop(
    store: &Store,
    channels: &ChannelRegistry,
    http: &reqwest::Client,
    public: &str,
    org: storesync_domain::ids::OrgId,
    user: storesync_domain::ids::UserId,
    marketplace: storesync_domain::Marketplace,
    sandbox: &Sandbox,
    shop_id: u64,
) -> anyhow::Result<()> {
    let callback = format!("{public}/oauth/{marketplace}/callback");
    // The demo is its own browser: it holds the flow's binding cookie.
    let binding = storesync_web::connect_binding::Binding::new();
    let (authorize_url, _) = connect::start(
        store,
        channels,
        org,
        user,
        marketplace,
        &callback,
        &binding.hash(),
    )
    .await?;
    let param = |name: &str| {
        authorize_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let approved = sandbox.authorize(&AuthorizeRequest {
        shop_id,
        redirect: param("redirect").or_else(|| param("redirect_uri")),
        state: param("state"),
    })?;
    let Some(back) = approved.redirect_url else {
        bail!("the {marketplace} sandbox gave no redirect");
    };
    let answer = http
        .get(&back)
        .header("cookie", binding.cookie_pair(marketplace))
        .send()
        .await?;
    if !answer.status().is_success() {
        bail!(
            "connecting the {marketplace} demo shop failed: {}",
            answer.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// The autopilot's member (no password: it cannot sign in to the dashboard) and a fresh API
/// token for this run.
async fn autopilot_token(
    store: &Store,
    org: storesync_domain::ids::OrgId,
    actor: &Actor,
) -> anyhow::Result<storesync_crypto::Secret<String>> {
    let user = match store.credentials(AUTOPILOT).await? {
        Some((id, _)) => id,
        None => {
            store
                .add_member(org, AUTOPILOT, None, Role::Member, actor)
                .await?
                .id
        }
    };
    let token = random_token("ss_");
    store
        .create_api_token(
            org,
            user,
            "demo autopilot",
            &hash_token(token.expose()),
            actor,
        )
        .await?;
    Ok(token)
}
