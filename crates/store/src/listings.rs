//! Channel listings: one row per marketplace variant (SKU) of a connected
//! shop, with what the channel last showed and which master variant it
//! sells. Imports upsert them; unmapped ones wait for the seller.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use storesync_domain::ids::{kind, Id, OrgId, ShopId, VariantId};
use storesync_domain::inventory::MovementKind;
use storesync_domain::{Money, Sku, Timestamp};

use crate::audit::{self, Actor, Audit};
use crate::catalog::{NewProduct, NewVariant};
use crate::inventory::{apply_on_hand, ensure_level, resolve_location, LedgerEntry};
use crate::page::{Page, PageRequest};
use crate::row::RowExt;
use crate::{Result, Store, StoreError};

pub type ListingRowId = Id<kind::Listing>;

/// A listing as a channel reports it.
#[derive(Debug, Clone)]
pub struct ChannelListing {
    pub external_listing_id: String,
    pub external_variant_id: String,
    pub seller_sku: String,
    pub title: String,
    pub status: String,
    pub warehouse_id: Option<String>,
    pub stock: i64,
    pub reserved: Option<i64>,
    pub price: Option<Money>,
}

/// Where the starting stock comes from when a shop is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SeedFrom {
    /// A SKU with no stock history takes the channel's count as its on-hand.
    #[default]
    Channel,
    /// The master inventory is the truth; the channel will be overwritten.
    Master,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// Create a master product for a channel SKU the catalog does not have.
    #[serde(default = "yes")]
    pub create_missing: bool,
    #[serde(default)]
    pub seed_from: SeedFrom,
}

fn yes() -> bool {
    true
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            create_missing: true,
            seed_from: SeedFrom::Channel,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportSummary {
    pub seen: u64,
    pub mapped: u64,
    pub unmapped: u64,
    pub created_variants: u64,
    pub seeded: u64,
}

impl ImportSummary {
    pub fn add(&mut self, o: ImportSummary) {
        self.seen += o.seen;
        self.mapped += o.mapped;
        self.unmapped += o.unmapped;
        self.created_variants += o.created_variants;
        self.seeded += o.seeded;
    }
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub id: ListingRowId,
    pub shop_id: ShopId,
    pub external_listing_id: String,
    pub external_variant_id: String,
    pub seller_sku: String,
    pub title: String,
    pub status: String,
    pub variant_id: Option<VariantId>,
    pub sku: Option<String>,
    pub warehouse_id: Option<String>,
    pub channel_stock: i64,
    pub channel_reserved: Option<i64>,
    pub price: Option<Money>,
    pub last_pushed_qty: Option<i64>,
    pub last_pushed_at: Option<Timestamp>,
    pub last_push_result: Option<String>,
    pub last_seen_at: Timestamp,
}

impl Listing {
    fn from_row(r: &AnyRow) -> Result<Listing> {
        let price = match (r.opt_int("price_amount")?, r.opt_parse("price_currency")?) {
            (Some(a), Some(c)) => Some(Money::new(a, c)),
            _ => None,
        };
        Ok(Listing {
            id: r.parse("id")?,
            shop_id: r.parse("shop_id")?,
            external_listing_id: r.text("external_listing_id")?,
            external_variant_id: r.text("external_variant_id")?,
            seller_sku: r.text("seller_sku")?,
            title: r.text("title")?,
            status: r.text("status")?,
            variant_id: r.opt_parse("variant_id")?,
            sku: r.opt_text("sku")?,
            warehouse_id: r.opt_text("warehouse_id")?,
            channel_stock: r.int("channel_stock")?,
            channel_reserved: r.opt_int("channel_reserved")?,
            price,
            last_pushed_qty: r.opt_int("last_pushed_qty")?,
            last_pushed_at: r.opt_time("last_pushed_at")?,
            last_push_result: r.opt_text("last_push_result")?,
            last_seen_at: r.time("last_seen_at")?,
        })
    }
}

const LISTING_SELECT: &str =
    "SELECT l.*, v.sku AS sku FROM listings l LEFT JOIN variants v ON v.org_id = l.org_id AND v.id = l.variant_id";

impl Store {
    /// Record one page of a shop's listings: upsert each, map it to the
    /// master variant with the same SKU (creating one when allowed), and
    /// seed stock per `options`. One transaction per page.
    pub async fn import_listings(
        &self,
        org: OrgId,
        shop: ShopId,
        listings: &[ChannelListing],
        options: ImportOptions,
        actor: &Actor,
    ) -> Result<ImportSummary> {
        let now = self.now();
        let mut summary = ImportSummary::default();
        let mut tx = self.begin().await?;
        let shop_row = sqlx::query("SELECT marketplace FROM shops WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(shop.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("shop"))?;
        let marketplace = shop_row.text("marketplace")?;
        for l in listings {
            summary.seen += 1;
            let sku: Option<Sku> = l.seller_sku.trim().parse().ok();
            let existing = sqlx::query(
                "SELECT id, variant_id FROM listings WHERE org_id = $1 AND shop_id = $2 \
                 AND external_listing_id = $3 AND external_variant_id = $4",
            )
            .bind(org.to_string())
            .bind(shop.to_string())
            .bind(&l.external_listing_id)
            .bind(&l.external_variant_id)
            .fetch_optional(&mut *tx)
            .await?;
            // A mapping the seller made by hand is kept; otherwise map by SKU.
            let mut variant: Option<VariantId> = match &existing {
                Some(r) => r.opt_parse("variant_id")?,
                None => None,
            };
            let mut created = false;
            if variant.is_none() {
                if let Some(sku) = &sku {
                    let found = sqlx::query(
                        "SELECT id, is_bundle FROM variants WHERE org_id = $1 AND sku = $2",
                    )
                    .bind(org.to_string())
                    .bind(sku.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    variant = match found {
                        Some(r) => Some(r.parse("id")?),
                        None if options.create_missing => match l.price {
                            Some(price) => {
                                let product = NewProduct {
                                    name: l.title.chars().take(300).collect(),
                                    description: None,
                                    variants: vec![NewVariant {
                                        sku: sku.clone(),
                                        name: None,
                                        price,
                                        barcode: None,
                                        weight_grams: None,
                                        allow_backorder: false,
                                        low_stock_threshold: None,
                                        components: Vec::new(),
                                    }],
                                };
                                self.insert_product(&mut tx, org, &product, now).await?;
                                created = true;
                                summary.created_variants += 1;
                                let r = sqlx::query(
                                    "SELECT id FROM variants WHERE org_id = $1 AND sku = $2",
                                )
                                .bind(org.to_string())
                                .bind(sku.as_str())
                                .fetch_one(&mut *tx)
                                .await?;
                                Some(r.parse("id")?)
                            }
                            None => None,
                        },
                        None => None,
                    };
                }
            }
            if let Some(v) = variant {
                summary.mapped += 1;
                crate::propagation::mark_dirty(&mut tx, org, v, now).await?;
            } else {
                summary.unmapped += 1;
            }
            match existing {
                Some(r) => {
                    sqlx::query(
                        "UPDATE listings SET seller_sku = $3, title = $4, status = $5, variant_id = $6, \
                         warehouse_id = $7, channel_stock = $8, channel_reserved = $9, price_amount = $10, \
                         price_currency = $11, last_seen_at = $12, updated_at = $12 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.to_string())
                    .bind(r.text("id")?)
                    .bind(&l.seller_sku)
                    .bind(&l.title)
                    .bind(&l.status)
                    .bind(variant.map(|v| v.to_string()))
                    .bind(l.warehouse_id.clone())
                    .bind(l.stock)
                    .bind(l.reserved)
                    .bind(l.price.map(|p| p.amount))
                    .bind(l.price.map(|p| p.currency.as_str().to_owned()))
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO listings (org_id, id, shop_id, external_listing_id, external_variant_id, \
                         seller_sku, title, status, variant_id, warehouse_id, channel_stock, channel_reserved, \
                         price_amount, price_currency, last_seen_at, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $15)",
                    )
                    .bind(org.to_string())
                    .bind(ListingRowId::new().to_string())
                    .bind(shop.to_string())
                    .bind(&l.external_listing_id)
                    .bind(&l.external_variant_id)
                    .bind(&l.seller_sku)
                    .bind(&l.title)
                    .bind(&l.status)
                    .bind(variant.map(|v| v.to_string()))
                    .bind(l.warehouse_id.clone())
                    .bind(l.stock)
                    .bind(l.reserved)
                    .bind(l.price.map(|p| p.amount))
                    .bind(l.price.map(|p| p.currency.as_str().to_owned()))
                    .bind(now.millis())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            // Seed the master count from the channel, but only for a SKU
            // that has never had stock: importing a second shop selling
            // the same goods must not count them twice.
            if let (Some(v), SeedFrom::Channel) = (variant, options.seed_from) {
                if l.stock > 0 && (created || !has_stock_history(&mut tx, org, v).await?) {
                    let location = resolve_location(&mut tx, org, None, "location").await?;
                    let full = crate::catalog::variant_by_id(&mut tx, org, v).await?;
                    if !full.is_bundle {
                        ensure_level(&mut tx, org, &full, location.id, now).await?;
                        let reason = format!("starting stock from {marketplace} import");
                        let entry = LedgerEntry {
                            kind: MovementKind::Adjustment,
                            reason: &reason,
                            reference: Some(("shop", shop.to_string())),
                            actor,
                        };
                        apply_on_hand(&mut tx, org, v, location.id, l.stock, &entry, now).await?;
                        summary.seeded += 1;
                    }
                }
            }
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "shop.import",
                entity_type: "shop",
                entity_id: shop.to_string(),
                summary: serde_json::json!({ "options": options, "result": summary }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Listings of the organization, newest first; filter by mapping state
    /// and shop.
    pub async fn list_listings(
        &self,
        org: OrgId,
        mapped: Option<bool>,
        shop: Option<ShopId>,
        page: &PageRequest,
    ) -> Result<Page<Listing>> {
        let limit = page.limit();
        let mapped = mapped.map(i64::from);
        let sql = format!(
            "{LISTING_SELECT} WHERE l.org_id = $1 AND l.id < $2 \
             AND ($3 IS NULL OR ($3 = 1 AND l.variant_id IS NOT NULL) OR ($3 = 0 AND l.variant_id IS NULL)) \
             AND ($4 IS NULL OR l.shop_id = $4) ORDER BY l.id DESC LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(page.before())
            .bind(mapped)
            .bind(shop.map(|s| s.to_string()))
            .bind(limit + 1)
            .fetch_all(&self.read)
            .await?;
        let items = rows
            .iter()
            .map(Listing::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |l| l.id.to_string()))
    }

    /// Every listing mapped to one of `variants`.
    pub async fn listings_of_variants(
        &self,
        org: OrgId,
        variants: &[storesync_domain::ids::VariantId],
    ) -> Result<Vec<Listing>> {
        if variants.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{LISTING_SELECT} WHERE l.org_id = $1 AND l.variant_id IN ({}) ORDER BY l.shop_id, l.id",
            crate::catalog::placeholders(2, variants.len())
        );
        let mut q = sqlx::query(&sql).bind(org.to_string());
        for v in variants {
            q = q.bind(v.to_string());
        }
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(Listing::from_row)
            .collect()
    }

    pub async fn listing(&self, org: OrgId, id: ListingRowId) -> Result<Listing> {
        let row = sqlx::query(&format!(
            "{LISTING_SELECT} WHERE l.org_id = $1 AND l.id = $2"
        ))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound("listing"))?;
        Listing::from_row(&row)
    }

    /// Map a listing to the master variant with `sku`, or unmap it (`None`).
    pub async fn map_listing(
        &self,
        org: OrgId,
        id: ListingRowId,
        sku: Option<&Sku>,
        actor: &Actor,
    ) -> Result<Listing> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let variant: Option<VariantId> = match sku {
            Some(sku) => {
                let r = sqlx::query("SELECT id FROM variants WHERE org_id = $1 AND sku = $2")
                    .bind(org.to_string())
                    .bind(sku.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                match r {
                    Some(r) => Some(r.parse("id")?),
                    None => {
                        return Err(storesync_domain::ValidationError::field(
                            "sku",
                            format!("unknown SKU {sku}"),
                        )
                        .into())
                    }
                }
            }
            None => None,
        };
        let n = sqlx::query(
            "UPDATE listings SET variant_id = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(variant.map(|v| v.to_string()))
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("listing"));
        }
        if let Some(v) = variant {
            crate::propagation::mark_dirty(&mut tx, org, v, now).await?;
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "listing.map",
                entity_type: "listing",
                entity_id: id.to_string(),
                summary: serde_json::json!({ "after": { "sku": sku } }),
            },
        )
        .await?;
        tx.commit().await?;
        self.listing(org, id).await
    }
}

async fn has_stock_history(
    tx: &mut sqlx::AnyConnection,
    org: OrgId,
    variant: VariantId,
) -> Result<bool> {
    let r = sqlx::query(
        "SELECT 1 AS one FROM stock_movements WHERE org_id = $1 AND variant_id = $2 LIMIT 1",
    )
    .bind(org.to_string())
    .bind(variant.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(r.is_some())
}
