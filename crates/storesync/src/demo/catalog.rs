//! The demo's catalog: a few dozen SKUs of a small Indonesian apparel and accessories seller,
//! some with size or colour variants, some listed on only one or two marketplaces, and two
//! bundles, priced in rupiah. It is created in the master catalog first (as a seller who keeps
//! their own product list would), then listed in the sandbox shops.

use anyhow::Context;
use storesync_domain::ids::OrgId;
use storesync_domain::{Currency, Money, Sku};
use storesync_sandbox::Marketplace;
use storesync_store::{Actor, BundleComponentInput, NewProduct, NewVariant, Store};

/// Where a product is listed.
const ALL: &[Marketplace] = &[
    Marketplace::Shopee,
    Marketplace::TikTok,
    Marketplace::Lazada,
];
const SHOPEE_TIKTOK: &[Marketplace] = &[Marketplace::Shopee, Marketplace::TikTok];
const SHOPEE_LAZADA: &[Marketplace] = &[Marketplace::Shopee, Marketplace::Lazada];
const SHOPEE: &[Marketplace] = &[Marketplace::Shopee];
const TIKTOK: &[Marketplace] = &[Marketplace::TikTok];
const LAZADA: &[Marketplace] = &[Marketplace::Lazada];

/// One variant: SKU, variant name (empty for a single-SKU product), price in rupiah, starting
/// stock.
type Variant = (&'static str, &'static str, i64, i64);

#[derive(Debug)]
pub struct DemoProduct {
    pub name: &'static str,
    pub variants: &'static [Variant],
    pub on: &'static [Marketplace],
}

#[derive(Debug)]
pub struct DemoBundle {
    pub sku: &'static str,
    pub name: &'static str,
    pub price: i64,
    /// Component SKUs and how many of each one bundle holds.
    pub components: &'static [(&'static str, i64)],
    pub on: &'static [Marketplace],
}

pub const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        name: "Kaos polos",
        variants: &[
            ("KAOS-POLOS-S", "S", 79_000, 30),
            ("KAOS-POLOS-M", "M", 79_000, 40),
            ("KAOS-POLOS-L", "L", 79_000, 35),
            ("KAOS-POLOS-XL", "XL", 84_000, 20),
        ],
        on: ALL,
    },
    DemoProduct {
        name: "Kemeja flanel",
        variants: &[
            ("FLANEL-MERAH-M", "Merah, M", 149_000, 12),
            ("FLANEL-MERAH-L", "Merah, L", 149_000, 10),
            ("FLANEL-BIRU-M", "Biru, M", 149_000, 12),
            ("FLANEL-BIRU-L", "Biru, L", 149_000, 8),
        ],
        on: ALL,
    },
    DemoProduct {
        name: "Celana chino",
        variants: &[
            ("CHINO-30", "30", 189_000, 10),
            ("CHINO-32", "32", 189_000, 14),
            ("CHINO-34", "34", 189_000, 8),
        ],
        on: SHOPEE_LAZADA,
    },
    DemoProduct {
        name: "Jaket hoodie",
        variants: &[
            ("HOODIE-HITAM-M", "Hitam, M", 219_000, 9),
            ("HOODIE-HITAM-L", "Hitam, L", 219_000, 9),
            ("HOODIE-ABU-M", "Abu-abu, M", 219_000, 6),
        ],
        on: SHOPEE_TIKTOK,
    },
    DemoProduct {
        name: "Topi baseball",
        variants: &[("TOPI-BASEBALL", "", 55_000, 25)],
        on: ALL,
    },
    DemoProduct {
        name: "Tas kanvas",
        variants: &[("TAS-KANVAS", "", 120_000, 15)],
        on: ALL,
    },
    DemoProduct {
        name: "Kaus kaki, isi 3",
        variants: &[("KAUS-KAKI-3", "", 35_000, 60)],
        on: ALL,
    },
    DemoProduct {
        name: "Sandal jepit",
        variants: &[
            ("SANDAL-40", "40", 29_000, 25),
            ("SANDAL-42", "42", 29_000, 25),
            ("SANDAL-44", "44", 29_000, 15),
        ],
        on: SHOPEE,
    },
    DemoProduct {
        name: "Masker kain, isi 5",
        variants: &[("MASKER-5", "", 25_000, 50)],
        on: SHOPEE_TIKTOK,
    },
    DemoProduct {
        name: "Botol minum 600 ml",
        variants: &[("BOTOL-600", "", 65_000, 20)],
        on: TIKTOK,
    },
    DemoProduct {
        name: "Dompet kulit",
        variants: &[
            ("DOMPET-COKLAT", "Coklat", 175_000, 7),
            ("DOMPET-HITAM", "Hitam", 175_000, 7),
        ],
        on: LAZADA,
    },
    DemoProduct {
        name: "Gantungan kunci",
        variants: &[("GANTUNGAN-KUNCI", "", 15_000, 80)],
        on: SHOPEE_TIKTOK,
    },
    DemoProduct {
        name: "Payung lipat",
        variants: &[("PAYUNG-LIPAT", "", 89_000, 12)],
        on: SHOPEE_LAZADA,
    },
    DemoProduct {
        name: "Sarung batik",
        variants: &[
            ("SARUNG-PARANG", "Parang", 135_000, 10),
            ("SARUNG-KAWUNG", "Kawung", 135_000, 10),
        ],
        on: ALL,
    },
];

pub const BUNDLES: &[DemoBundle] = &[
    DemoBundle {
        sku: "PAKET-KAOS-TOPI",
        name: "Paket kaos M + topi",
        price: 119_000,
        components: &[("KAOS-POLOS-M", 1), ("TOPI-BASEBALL", 1)],
        on: SHOPEE_TIKTOK,
    },
    DemoBundle {
        sku: "PAKET-KAUS-KAKI-2",
        name: "Kaus kaki, 2 paket isi 3",
        price: 65_000,
        components: &[("KAUS-KAKI-3", 2)],
        on: ALL,
    },
];

/// Every SKU that holds its own stock (bundles draw on their components), with its starting
/// stock.
pub fn stocked_skus() -> impl Iterator<Item = (&'static str, i64)> {
    PRODUCTS
        .iter()
        .flat_map(|p| p.variants.iter().map(|(sku, _, _, stock)| (*sku, *stock)))
}

fn rupiah(amount: i64) -> anyhow::Result<Money> {
    let idr: Currency = "IDR".parse()?;
    let scale = 10_i64.pow(u32::from(idr.minor_digits()));
    Ok(Money::new(amount * scale, idr))
}

fn variant(sku: &str, name: &str, price: i64) -> anyhow::Result<NewVariant> {
    Ok(NewVariant {
        sku: sku.parse()?,
        name: (!name.is_empty()).then(|| name.to_owned()),
        price: rupiah(price)?,
        barcode: None,
        weight_grams: None,
        allow_backorder: false,
        low_stock_threshold: Some(5),
        components: Vec::new(),
    })
}

/// Creates the products the organization's catalog does not have yet (the first run, or a demo
/// from before the catalog grew). Stock comes later, from the first shop that lists each SKU.
pub async fn create_missing(store: &Store, org: OrgId, actor: &Actor) -> anyhow::Result<()> {
    for p in PRODUCTS {
        let first: Sku = p.variants[0].0.parse()?;
        if store.inventory(org, &first).await.is_ok() {
            continue;
        }
        let variants = p
            .variants
            .iter()
            .map(|(sku, name, price, _)| variant(sku, name, *price))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store
            .create_product(
                org,
                &NewProduct {
                    name: p.name.to_owned(),
                    description: None,
                    variants,
                },
                actor,
            )
            .await
            .with_context(|| format!("cannot create the demo product {:?}", p.name))?;
    }
    for b in BUNDLES {
        let sku: Sku = b.sku.parse()?;
        if store.inventory(org, &sku).await.is_ok() {
            continue;
        }
        let mut v = variant(b.sku, "", b.price)?;
        v.components = b
            .components
            .iter()
            .map(|(sku, quantity)| {
                Ok(BundleComponentInput {
                    sku: sku.parse()?,
                    quantity: *quantity,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        store
            .create_product(
                org,
                &NewProduct {
                    name: b.name.to_owned(),
                    description: None,
                    variants: vec![v],
                },
                actor,
            )
            .await
            .with_context(|| format!("cannot create the demo bundle {:?}", b.sku))?;
    }
    Ok(())
}

/// The products one sandbox shop lists, each with the stock StoreSync has for it (a fresh demo:
/// the starting stock; a bundle: as many as its scarcest component makes).
pub async fn shop_products(
    store: &Store,
    org: OrgId,
    marketplace: Marketplace,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for p in PRODUCTS.iter().filter(|p| p.on.contains(&marketplace)) {
        let mut variants = Vec::new();
        for (sku, name, price, initial) in p.variants {
            let stock = available(store, org, sku).await?.unwrap_or(*initial);
            variants.push((sku, name, price, stock));
        }
        out.push(match variants.as_slice() {
            [(sku, _, price, stock)] => serde_json::json!({
                "name": p.name, "item_sku": sku, "price": price, "stock": stock
            }),
            _ => serde_json::json!({
                "name": p.name,
                "variants": variants.iter().map(|(sku, name, price, stock)| serde_json::json!({
                    "seller_sku": sku, "name": name, "price": price, "stock": stock
                })).collect::<Vec<_>>(),
            }),
        });
    }
    for b in BUNDLES.iter().filter(|b| b.on.contains(&marketplace)) {
        let mut stock = i64::MAX;
        for (component, quantity) in b.components {
            let have = match available(store, org, component).await? {
                Some(n) => n,
                None => stocked_skus()
                    .find(|(sku, _)| sku == component)
                    .map_or(0, |(_, n)| n),
            };
            stock = stock.min(have / quantity);
        }
        out.push(serde_json::json!({
            "name": b.name, "item_sku": b.sku, "price": b.price, "stock": stock.max(0)
        }));
    }
    Ok(out)
}

/// What StoreSync has available of a SKU, once it has had stock at all.
async fn available(store: &Store, org: OrgId, sku: &str) -> anyhow::Result<Option<i64>> {
    let sku: Sku = sku.parse()?;
    Ok(match store.inventory(org, &sku).await {
        Ok(inv) if !inv.locations.is_empty() => Some(inv.totals.available.max(0)),
        _ => None,
    })
}
