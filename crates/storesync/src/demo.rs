//! `storesync demo`: the whole product on one machine, no configuration.
//! Starts Shopee, TikTok Shop and Lazada sandboxes with demo shops selling the same
//! SKUs, a demo organization with an owner and an API token, connects every
//! shop through the real OAuth flow, starts gentle buyers, and serves.
//! Data lives in `<data dir>/demo`; running again continues with it.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use storesync_channels::lazada::{LazadaClient, LazadaConfig, Venture};
use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::tiktok::{TikTokClient, TikTokConfig};
use storesync_channels::Secret;
use storesync_crypto::{hash_password, hash_token, random_token, KeyRing};
use storesync_domain::{Role, Sku, SystemClock};
use storesync_engine::connect::{self, ChannelRegistry};
use storesync_sandbox::{
    AuthorizeRequest, BuyerSettings, CreateShop, Credentials, Marketplace, Sandbox, SandboxConfig,
    SandboxServer,
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
}

const ORG: &str = "demo";
const OWNER: &str = "owner@demo.storesync.test";

/// The catalog both demo shops sell: (SKU, name, price in rupiah, starting stock).
const CATALOG: &[(&str, &str, i64, i64)] = &[
    ("KAOS-POLOS-M", "Kaos polos, M", 79_000, 40),
    ("KAOS-POLOS-L", "Kaos polos, L", 79_000, 35),
    ("TOPI-BASEBALL", "Topi baseball", 55_000, 25),
    ("TAS-KANVAS", "Tas kanvas", 120_000, 15),
    ("KAUS-KAKI-3", "Kaus kaki, isi 3", 35_000, 60),
];

fn remove_db(dir: &Path) {
    for f in ["demo.db", "demo.db-wal", "demo.db-shm"] {
        std::fs::remove_file(dir.join(f)).ok();
    }
}

pub async fn run(config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let dir = config.data_dir.join("demo");
    if args.reset {
        remove_db(&dir);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let keys = KeyRing::load_or_create(&dir.join("master.key"))?;
    let url = format!("sqlite://{}", dir.join("demo.db").display());
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

    // Sandboxes with one demo shop each, showing what the books hold.
    let shopee = SandboxServer::start(SandboxConfig::new(Marketplace::Shopee)).await?;
    let tiktok = SandboxServer::start(SandboxConfig::new(Marketplace::TikTok)).await?;
    let lazada = SandboxServer::start(SandboxConfig::new(Marketplace::Lazada)).await?;
    let mut products = Vec::new();
    for (sku, name, price, initial) in CATALOG {
        let stock = match store.inventory(org.id, &sku.parse::<Sku>()?).await {
            Ok(inv) => inv.totals.available.max(0),
            Err(_) => *initial,
        };
        products.push(
            serde_json::json!({ "name": name, "item_sku": sku, "price": price, "stock": stock }),
        );
    }
    let spec = |name: &str| -> anyhow::Result<CreateShop> {
        Ok(serde_json::from_value(
            serde_json::json!({ "name": name, "region": "ID", "products": products }),
        )?)
    };
    let s_shop = shopee.sandbox().create_shop(&spec("Toko Demo (Shopee)")?)?;
    let t_shop = tiktok
        .sandbox()
        .create_shop(&spec("Toko Demo (TikTok Shop)")?)?;
    let l_shop = lazada.sandbox().create_shop(&spec("Toko Demo (Lazada)")?)?;

    let clock: Arc<dyn storesync_domain::Clock> = Arc::new(SystemClock);
    let mut channels = ChannelRegistry::new();
    if let Credentials::Shopee {
        partner_id,
        partner_key,
    } = &shopee.sandbox().credentials()
    {
        let c = ShopeeConfig::new(*partner_id, Secret::new(partner_key.expose().to_owned()))
            .with_base_url(shopee.base_url());
        channels = channels.with(Arc::new(ShopeeClient::new(c, Arc::clone(&clock))?));
    }
    if let Credentials::TikTok {
        app_key,
        app_secret,
        service_id,
    } = &tiktok.sandbox().credentials()
    {
        let c = TikTokConfig::new(
            app_key.clone(),
            Secret::new(app_secret.expose().to_owned()),
            service_id.clone(),
        )
        .with_base_url(tiktok.base_url());
        channels = channels.with(Arc::new(TikTokClient::new(c, Arc::clone(&clock))?));
    }
    if let Credentials::Lazada {
        app_key,
        app_secret,
    } = &lazada.sandbox().credentials()
    {
        let c = LazadaConfig::new(
            app_key.clone(),
            Secret::new(app_secret.expose().to_owned()),
            Venture::Id,
        )
        .with_base_url(lazada.base_url());
        channels = channels.with(Arc::new(LazadaClient::new(c, Arc::clone(&clock))?));
    }
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
        ("shopee", shopee.sandbox(), s_shop.shop_id),
        ("tiktok_shop", tiktok.sandbox(), t_shop.shop_id),
        ("lazada", lazada.sandbox(), l_shop.shop_id),
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
        sandbox.set_buyers(
            shop_id,
            BuyerSettings {
                orders_per_sec: args.buyer_rate.max(0.0),
                max_quantity: 2,
                cancel_rate: 0.05,
                tokopedia_share: if marketplace == "tiktok_shop" {
                    0.3
                } else {
                    0.0
                },
            },
        )?;
    }

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
    println!("  Try:  curl -H \"Authorization: Bearer $TOKEN\" {public}/api/v1/orders");
    println!("Press Ctrl-C to stop; run again to continue, or with --reset to start over.");

    crate::shutdown_signal().await;
    println!("stopping…");
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
    marketplace: &str,
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
