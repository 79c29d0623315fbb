//! The master catalog: locations, products, their variants (SKUs) and the
//! components of bundle variants.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sqlx::any::AnyRow;
use storesync_domain::ids::{LocationId, OrgId, ProductId, VariantId};
use storesync_domain::limits::{
    check_range, MAX_AMOUNT, MAX_BUNDLE_COMPONENT_QUANTITY, MAX_LOW_STOCK_THRESHOLD,
    MAX_WEIGHT_GRAMS,
};
use storesync_domain::{Money, Sku, Timestamp, ValidationError};

use crate::audit::{self, Actor, Audit};
use crate::db::Tx;
use crate::page::{Page, PageRequest};
use crate::row::RowExt;
use crate::{Backend, Result, Store, StoreError};

#[derive(Debug, Clone)]
pub struct Location {
    pub id: LocationId,
    pub code: String,
    pub name: String,
    pub is_default: bool,
    pub created_at: Timestamp,
}

impl Location {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Location {
            id: r.parse("id")?,
            code: r.text("code")?,
            name: r.text("name")?,
            is_default: r.flag("is_default")?,
            created_at: r.time("created_at")?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NewLocation {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleComponentInput {
    pub sku: Sku,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewVariant {
    pub sku: Sku,
    pub name: Option<String>,
    pub price: Money,
    pub barcode: Option<String>,
    pub weight_grams: Option<i64>,
    /// Accept orders beyond available stock for this SKU.
    pub allow_backorder: bool,
    pub low_stock_threshold: Option<i64>,
    /// Makes this variant a bundle of the given component SKUs.
    pub components: Vec<BundleComponentInput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    pub variants: Vec<NewVariant>,
}

/// Changes to one existing variant, found by SKU.
#[derive(Debug, Clone, Serialize)]
pub struct VariantPatch {
    pub sku: Sku,
    pub name: Option<String>,
    pub price: Option<Money>,
    pub barcode: Option<String>,
    pub weight_grams: Option<i64>,
    pub allow_backorder: Option<bool>,
    pub low_stock_threshold: Option<i64>,
    /// A bundle's new components, replacing the old ones (bundles only).
    pub components: Option<Vec<BundleComponentInput>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Edit existing variants (by SKU).
    pub variants: Vec<VariantPatch>,
    /// Add new variants to the product.
    pub add_variants: Vec<NewVariant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleComponent {
    pub sku: Sku,
    pub variant_id: VariantId,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub id: VariantId,
    pub product_id: ProductId,
    pub sku: Sku,
    pub name: Option<String>,
    pub price: Money,
    pub barcode: Option<String>,
    pub weight_grams: Option<i64>,
    pub is_bundle: bool,
    pub allow_backorder: bool,
    pub low_stock_threshold: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<BundleComponent>,
}

impl Variant {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Variant {
            id: r.parse("id")?,
            product_id: r.parse("product_id")?,
            sku: r.parse("sku")?,
            name: r.opt_text("name")?,
            price: Money::new(r.int("price_amount")?, r.parse("price_currency")?),
            barcode: r.opt_text("barcode")?,
            weight_grams: r.opt_int("weight_grams")?,
            is_bundle: r.flag("is_bundle")?,
            allow_backorder: r.flag("allow_backorder")?,
            low_stock_threshold: r.opt_int("low_stock_threshold")?,
            components: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub variants: Vec<Variant>,
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Links `components` to `bundle`: each must be an existing plain variant
/// of the organization, listed once.
async fn insert_components(
    tx: &mut Tx,
    org: OrgId,
    bundle: VariantId,
    components: &[BundleComponentInput],
    path: &str,
) -> Result<()> {
    for (j, c) in components.iter().enumerate() {
        let comp = sqlx::query("SELECT id, is_bundle FROM variants WHERE org_id = $1 AND sku = $2")
            .bind(org.to_string())
            .bind(c.sku.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        let path = format!("{path}.components[{j}].sku");
        let Some(comp) = comp else {
            return Err(ValidationError::field(path, format!("unknown SKU {}", c.sku)).into());
        };
        if comp.flag("is_bundle")? {
            return Err(
                ValidationError::field(path, "a bundle cannot contain another bundle").into(),
            );
        }
        sqlx::query(
            "INSERT INTO bundle_components (org_id, bundle_variant_id, component_variant_id, quantity) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(org.to_string())
        .bind(bundle.to_string())
        .bind(comp.text("id")?)
        .bind(c.quantity)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                ValidationError::field(path.clone(), "component listed twice").into()
            } else {
                e
            }
        })?;
    }
    Ok(())
}

/// Above this many index hits (in every organization) a search on SQLite
/// checks products newest first instead: a term that common fills a page
/// quickly.
const SEARCH_HITS: i64 = 10_000;

/// Rewrites a product's searchable text: its name, then each variant's SKU
/// and barcode, one per line.
pub(crate) async fn index_for_search<'a>(
    tx: &mut Tx,
    org: OrgId,
    product: ProductId,
    name: &str,
    variants: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<()> {
    let mut text = name.to_owned();
    for (sku, barcode) in variants {
        text.push('\n');
        text.push_str(sku);
        text.push('\n');
        text.push_str(barcode.unwrap_or_default());
    }
    sqlx::query(
        "INSERT INTO catalog_search (org_id, product_id, text) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id, product_id) DO UPDATE SET text = excluded.text",
    )
    .bind(org.to_string())
    .bind(product.to_string())
    .bind(text)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn check_text(errors: &mut ValidationError, field: &str, value: &Option<String>, max: usize) {
    if let Some(v) = value {
        if v.chars().count() > max {
            errors.add(field, format!("at most {max} characters"));
        } else {
            storesync_domain::check_text(errors, field, v);
        }
    }
}

/// Price, weight and low-stock threshold within their maximums
/// (`storesync_domain::limits`), so reports summing them cannot overflow.
fn check_numbers(
    errors: &mut ValidationError,
    path: &str,
    price: Option<i64>,
    weight_grams: Option<i64>,
    low_stock_threshold: Option<i64>,
) {
    if let Some(p) = price {
        check_range(errors, format!("{path}.price.amount"), p, 0, MAX_AMOUNT);
    }
    if let Some(w) = weight_grams {
        check_range(
            errors,
            format!("{path}.weight_grams"),
            w,
            0,
            MAX_WEIGHT_GRAMS,
        );
    }
    if let Some(t) = low_stock_threshold {
        check_range(
            errors,
            format!("{path}.low_stock_threshold"),
            t,
            0,
            MAX_LOW_STOCK_THRESHOLD,
        );
    }
}

fn validate_new_variant(errors: &mut ValidationError, path: &str, v: &NewVariant) {
    check_numbers(
        errors,
        path,
        Some(v.price.amount),
        v.weight_grams,
        v.low_stock_threshold,
    );
    check_text(errors, &format!("{path}.name"), &v.name, 200);
    check_text(errors, &format!("{path}.barcode"), &v.barcode, 64);
    validate_components(errors, path, &v.sku, &v.components);
}

fn validate_components(
    errors: &mut ValidationError,
    path: &str,
    bundle: &Sku,
    components: &[BundleComponentInput],
) {
    for (j, c) in components.iter().enumerate() {
        check_range(
            errors,
            format!("{path}.components[{j}].quantity"),
            c.quantity,
            1,
            MAX_BUNDLE_COMPONENT_QUANTITY,
        );
        if &c.sku == bundle {
            errors.add(
                format!("{path}.components[{j}].sku"),
                "a bundle cannot contain itself",
            );
        }
    }
}

impl Store {
    pub async fn list_locations(&self, org: OrgId) -> Result<Vec<Location>> {
        let rows =
            sqlx::query("SELECT * FROM locations WHERE org_id = $1 ORDER BY is_default DESC, code")
                .bind(org.to_string())
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(Location::from_row).collect()
    }

    pub async fn create_location(
        &self,
        org: OrgId,
        new: &NewLocation,
        actor: &Actor,
    ) -> Result<Location> {
        let mut errors = ValidationError::new();
        let code = new.code.trim();
        if code.is_empty()
            || code.len() > 32
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            errors.add("code", "1–32 characters of letters, digits, '-' and '_'");
        }
        if new.name.trim().is_empty() || new.name.chars().count() > 200 {
            errors.add("name", "1–200 characters");
        } else {
            storesync_domain::check_text(&mut errors, "name", &new.name);
        }
        errors.into_result()?;
        let now = self.now();
        let loc = Location {
            id: LocationId::new(),
            code: code.to_owned(),
            name: new.name.trim().to_owned(),
            is_default: false,
            created_at: now,
        };
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO locations (org_id, id, code, name, is_default, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (org_id, code) DO NOTHING",
        )
        .bind(org.to_string())
        .bind(loc.id.to_string())
        .bind(&loc.code)
        .bind(&loc.name)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::conflict(
                "duplicate_location",
                format!("a location with code {:?} already exists", loc.code),
            ));
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "location.create",
                entity_type: "location",
                entity_id: loc.id.to_string(),
                summary: serde_json::json!({ "after": new }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(loc)
    }

    /// Create a product with its variants. SKUs are unique per organization.
    pub async fn create_product(
        &self,
        org: OrgId,
        new: &NewProduct,
        actor: &Actor,
    ) -> Result<Product> {
        let mut errors = ValidationError::new();
        if new.name.trim().is_empty() || new.name.chars().count() > 300 {
            errors.add("name", "1–300 characters");
        } else {
            storesync_domain::check_text(&mut errors, "name", &new.name);
        }
        check_text(&mut errors, "description", &new.description, 20_000);
        if new.variants.is_empty() {
            errors.add("variants", "a product needs at least one variant");
        }
        let mut seen = HashSet::new();
        for (i, v) in new.variants.iter().enumerate() {
            if !seen.insert(v.sku.clone()) {
                errors.add(
                    format!("variants[{i}].sku"),
                    "SKU appears twice in this request",
                );
            }
            validate_new_variant(&mut errors, &format!("variants[{i}]"), v);
        }
        errors.into_result()?;

        let now = self.now();
        let mut tx = self.begin().await?;
        let product_id = self.insert_product(&mut tx, org, new, now).await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "product.create",
                entity_type: "product",
                entity_id: product_id.to_string(),
                summary: serde_json::json!({ "after": new }),
            },
        )
        .await?;
        let product = load_product(&mut tx, org, product_id).await?;
        tx.commit().await?;
        Ok(product)
    }

    /// Insert a product and its variants in the caller's transaction.
    pub(crate) async fn insert_product(
        &self,
        tx: &mut Tx,
        org: OrgId,
        new: &NewProduct,
        now: Timestamp,
    ) -> Result<ProductId> {
        let product_id = ProductId::new();
        sqlx::query(
            "INSERT INTO products (org_id, id, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(org.to_string())
        .bind(product_id.to_string())
        .bind(new.name.trim())
        .bind(new.description.clone())
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
        self.insert_variants(tx, org, product_id, &new.variants, "variants", now)
            .await?;
        sqlx::query(&format!(
            "{} AND product_id = $2",
            crate::propagation::REFRESH_LOW
        ))
        .bind(org.to_string())
        .bind(product_id.to_string())
        .execute(&mut **tx)
        .await?;
        index_for_search(
            tx,
            org,
            product_id,
            new.name.trim(),
            new.variants
                .iter()
                .map(|v| (v.sku.as_str(), v.barcode.as_deref())),
        )
        .await?;
        Ok(product_id)
    }

    /// Insert variants (plain ones first, so a bundle may use a component
    /// created in the same request).
    async fn insert_variants(
        &self,
        tx: &mut Tx,
        org: OrgId,
        product: ProductId,
        variants: &[NewVariant],
        field: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut order: Vec<(usize, &NewVariant)> = variants.iter().enumerate().collect();
        order.sort_by_key(|(_, v)| !v.components.is_empty());
        for (i, v) in order {
            let id = VariantId::new();
            let inserted = sqlx::query(
                "INSERT INTO variants (org_id, id, product_id, sku, name, price_amount, price_currency, \
                 barcode, weight_grams, is_bundle, allow_backorder, low_stock_threshold, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
                 ON CONFLICT (org_id, sku) DO NOTHING",
            )
            .bind(org.to_string())
            .bind(id.to_string())
            .bind(product.to_string())
            .bind(v.sku.as_str())
            .bind(v.name.clone())
            .bind(v.price.amount)
            .bind(v.price.currency.as_str())
            .bind(v.barcode.clone())
            .bind(v.weight_grams)
            .bind(i64::from(!v.components.is_empty()))
            .bind(i64::from(v.allow_backorder))
            .bind(v.low_stock_threshold)
            .bind(now.millis())
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::conflict(
                    "duplicate_sku",
                    format!("SKU {} already exists in this organization", v.sku),
                ));
            }
            insert_components(tx, org, id, &v.components, &format!("{field}[{i}]")).await?;
        }
        Ok(())
    }

    pub async fn product(&self, org: OrgId, id: ProductId) -> Result<Product> {
        let mut conn = self.read.acquire().await?;
        load_products(&mut conn, org, &[id.to_string()])
            .await?
            .pop()
            .ok_or(StoreError::NotFound("product"))
    }

    /// Products newest first, optionally filtered by a search on product
    /// name, SKU or barcode (case-insensitive substring).
    pub async fn list_products(
        &self,
        org: OrgId,
        q: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Product>> {
        let limit = page.limit();
        let q = q.map(str::trim).filter(|q| !q.is_empty());
        let pattern = q.map(|q| {
            format!(
                "%{}%",
                q.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        // A term of three characters or more is looked up in the trigram
        // index and its hits are sorted. A short one, or (on SQLite) one too
        // common for that to pay, walks the searchable texts newest product
        // first (an index holds them, so no row is read) and stops after a
        // page.
        let indexed = match q {
            Some(q) if q.chars().count() >= 3 => {
                self.search_indexed(org, q, pattern.as_deref().unwrap_or_default(), page)
                    .await?
            }
            _ => None,
        };
        let rows = match (indexed, pattern) {
            (Some(rows), _) => rows,
            (None, Some(pattern)) => {
                // SQLite's LIKE ignores ASCII case already.
                let like = match self.backend {
                    Backend::Sqlite => "LIKE",
                    Backend::Postgres => "ILIKE",
                };
                sqlx::query(&format!(
                    "SELECT s.product_id AS id FROM catalog_search s \
                     JOIN products p ON p.org_id = s.org_id AND p.id = s.product_id \
                     WHERE s.org_id = $1 AND s.product_id < $2 AND s.text {like} $3 ESCAPE '\\' \
                     AND p.archived_at IS NULL ORDER BY s.product_id DESC LIMIT $4"
                ))
                .bind(org.to_string())
                .bind(page.before())
                .bind(pattern)
                .bind(limit + 1)
                .fetch_all(&self.read)
                .await?
            }
            (None, None) => sqlx::query(
                "SELECT p.id AS id FROM products p WHERE p.org_id = $1 AND p.archived_at IS NULL \
                     AND p.id < $2 ORDER BY p.id DESC LIMIT $3",
            )
            .bind(org.to_string())
            .bind(page.before())
            .bind(limit + 1)
            .fetch_all(&self.read)
            .await?,
        };
        let ids = rows
            .iter()
            .map(|r| r.text("id"))
            .collect::<Result<Vec<_>>>()?;
        let mut conn = self.read.acquire().await?;
        let mut products = load_products(&mut conn, org, &ids).await?;
        products.sort_by_key(|p| std::cmp::Reverse(p.id));
        Ok(Page::from_rows(products, limit, |p| p.id.to_string()))
    }

    /// One page of products whose searchable text (name, SKUs, barcodes)
    /// contains `q`, ignoring case, found through the trigram index. `None`
    /// on SQLite when the term has more than [`SEARCH_HITS`] hits in the
    /// index: sorting them all would cost more than walking the catalog,
    /// where they are then dense.
    /// `pattern` is `q` as an escaped LIKE pattern.
    async fn search_indexed(
        &self,
        org: OrgId,
        q: &str,
        pattern: &str,
        page: &PageRequest,
    ) -> Result<Option<Vec<AnyRow>>> {
        let rows = match self.backend {
            Backend::Sqlite => {
                // An FTS5 phrase: the trigram tokenizer matches it as a
                // substring, ignoring case.
                let phrase = format!("\"{}\"", q.replace('"', "\"\""));
                let hits = sqlx::query(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (SELECT 1 FROM catalog_search_fts \
                     WHERE catalog_search_fts MATCH $1 LIMIT $2) AS h",
                )
                .bind(&phrase)
                .bind(SEARCH_HITS + 1)
                .fetch_one(&self.read)
                .await?
                .int("n")?;
                if hits > SEARCH_HITS {
                    return Ok(None);
                }
                // CROSS JOIN keeps the index match as the outer loop (SQLite
                // does not reorder it): one match, then a lookup per hit.
                sqlx::query(
                    "SELECT p.id AS id FROM catalog_search_fts f \
                     CROSS JOIN catalog_search s ON s.rowid = f.rowid \
                     CROSS JOIN products p ON p.org_id = s.org_id AND p.id = s.product_id \
                     WHERE catalog_search_fts MATCH $1 AND s.org_id = $2 AND p.archived_at IS NULL \
                     AND p.id < $3 ORDER BY p.id DESC LIMIT $4",
                )
                .bind(phrase)
                .bind(org.to_string())
                .bind(page.before())
                .bind(page.limit() + 1)
                .fetch_all(&self.read)
                .await?
            }
            Backend::Postgres => {
                // The planner weighs the trigram index against walking the
                // catalog by id with its own statistics.
                sqlx::query(
                    "SELECT p.id AS id FROM catalog_search s \
                     JOIN products p ON p.org_id = s.org_id AND p.id = s.product_id \
                     WHERE s.org_id = $1 AND s.text ILIKE $2 AND p.archived_at IS NULL \
                     AND p.id < $3 ORDER BY p.id DESC LIMIT $4",
                )
                .bind(org.to_string())
                .bind(pattern)
                .bind(page.before())
                .bind(page.limit() + 1)
                .fetch_all(&self.read)
                .await?
            }
        };
        Ok(Some(rows))
    }

    pub async fn update_product(
        &self,
        org: OrgId,
        id: ProductId,
        patch: &ProductPatch,
        actor: &Actor,
    ) -> Result<Product> {
        let mut errors = ValidationError::new();
        if let Some(name) = &patch.name {
            if name.trim().is_empty() || name.chars().count() > 300 {
                errors.add("name", "1–300 characters");
            } else {
                storesync_domain::check_text(&mut errors, "name", name);
            }
        }
        check_text(&mut errors, "description", &patch.description, 20_000);
        for (i, v) in patch.variants.iter().enumerate() {
            check_numbers(
                &mut errors,
                &format!("variants[{i}]"),
                v.price.map(|p| p.amount),
                v.weight_grams,
                v.low_stock_threshold,
            );
            check_text(&mut errors, &format!("variants[{i}].name"), &v.name, 200);
            check_text(
                &mut errors,
                &format!("variants[{i}].barcode"),
                &v.barcode,
                64,
            );
            if let Some(components) = &v.components {
                let path = format!("variants[{i}]");
                if components.is_empty() {
                    errors.add(
                        format!("{path}.components"),
                        "a bundle needs at least one component",
                    );
                }
                validate_components(&mut errors, &path, &v.sku, components);
            }
        }
        for (i, v) in patch.add_variants.iter().enumerate() {
            validate_new_variant(&mut errors, &format!("add_variants[{i}]"), v);
        }
        errors.into_result()?;

        let now = self.now();
        let mut tx = self.begin().await?;
        let before = load_product(&mut tx, org, id).await?;
        sqlx::query(
            "UPDATE products SET name = COALESCE($3, name), description = COALESCE($4, description), \
             updated_at = $5 WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(patch.name.as_ref().map(|n| n.trim().to_owned()))
        .bind(patch.description.clone())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        let by_sku: HashMap<&Sku, &Variant> = before.variants.iter().map(|v| (&v.sku, v)).collect();
        for (i, v) in patch.variants.iter().enumerate() {
            let Some(existing) = by_sku.get(&v.sku) else {
                return Err(ValidationError::field(
                    format!("variants[{i}].sku"),
                    format!("this product has no variant with SKU {}", v.sku),
                )
                .into());
            };
            sqlx::query(
                "UPDATE variants SET name = COALESCE($3, name), price_amount = COALESCE($4, price_amount), \
                 price_currency = COALESCE($5, price_currency), barcode = COALESCE($6, barcode), \
                 weight_grams = COALESCE($7, weight_grams), allow_backorder = COALESCE($8, allow_backorder), \
                 low_stock_threshold = COALESCE($9, low_stock_threshold), updated_at = $10 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(existing.id.to_string())
            .bind(v.name.clone())
            .bind(v.price.map(|p| p.amount))
            .bind(v.price.map(|p| p.currency.as_str().to_owned()))
            .bind(v.barcode.clone())
            .bind(v.weight_grams)
            .bind(v.allow_backorder.map(i64::from))
            .bind(v.low_stock_threshold)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
            if let Some(allow) = v.allow_backorder {
                // The level rows carry the flag so their CHECK can enforce it.
                sqlx::query(
                    "UPDATE inventory_levels SET allow_backorder = $3 WHERE org_id = $1 AND variant_id = $2",
                )
                .bind(org.to_string())
                .bind(existing.id.to_string())
                .bind(i64::from(allow))
                .execute(&mut *tx)
                .await
                .map_err(|e| match e {
                    sqlx::Error::Database(d) if d.is_check_violation() => StoreError::conflict(
                        "backorders_outstanding",
                        format!("SKU {} has more reserved than on hand; receive stock before disabling backorders", v.sku),
                    ),
                    other => other.into(),
                })?;
            }
            if let Some(components) = &v.components {
                if !existing.is_bundle {
                    return Err(ValidationError::field(
                        format!("variants[{i}].components"),
                        "only a bundle has components",
                    )
                    .into());
                }
                sqlx::query(
                    "DELETE FROM bundle_components WHERE org_id = $1 AND bundle_variant_id = $2",
                )
                .bind(org.to_string())
                .bind(existing.id.to_string())
                .execute(&mut *tx)
                .await?;
                insert_components(
                    &mut tx,
                    org,
                    existing.id,
                    components,
                    &format!("variants[{i}]"),
                )
                .await?;
                // What the bundle can sell changed: push it again.
                crate::propagation::mark_dirty(&mut tx, org, existing.id, now).await?;
            }
        }
        self.insert_variants(&mut tx, org, id, &patch.add_variants, "add_variants", now)
            .await?;
        let after = load_product(&mut tx, org, id).await?;
        index_for_search(
            &mut tx,
            org,
            id,
            &after.name,
            after
                .variants
                .iter()
                .map(|v| (v.sku.as_str(), v.barcode.as_deref())),
        )
        .await?;
        sqlx::query(&format!(
            "{} AND product_id = $2",
            crate::propagation::REFRESH_LOW
        ))
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "product.update",
                entity_type: "product",
                entity_id: id.to_string(),
                summary: serde_json::json!({ "before": before, "after": after }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Archive a product: it leaves the catalog, but its variants, stock
    /// history and orders stay intact (and its SKUs stay taken).
    pub async fn archive_product(&self, org: OrgId, id: ProductId, actor: &Actor) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE products SET archived_at = $3, updated_at = $3 \
             WHERE org_id = $1 AND id = $2 AND archived_at IS NULL",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("product"));
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "product.archive",
                entity_type: "product",
                entity_id: id.to_string(),
                summary: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The variant with this SKU, with its bundle components.
    pub async fn variant_by_sku(&self, org: OrgId, sku: &Sku) -> Result<Variant> {
        let mut conn = self.read.acquire().await?;
        variant_by_sku(&mut conn, org, sku).await
    }
}

pub(crate) async fn variant_by_sku(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
    sku: &Sku,
) -> Result<Variant> {
    let row = sqlx::query("SELECT * FROM variants WHERE org_id = $1 AND sku = $2")
        .bind(org.to_string())
        .bind(sku.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("SKU"))?;
    let mut v = Variant::from_row(&row)?;
    if v.is_bundle {
        v.components = load_components(conn, org, &[v.id.to_string()])
            .await?
            .remove(&v.id)
            .unwrap_or_default();
    }
    Ok(v)
}

pub(crate) async fn variant_by_id(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
    id: VariantId,
) -> Result<Variant> {
    let row = sqlx::query("SELECT * FROM variants WHERE org_id = $1 AND id = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("variant"))?;
    Variant::from_row(&row)
}

async fn load_components(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
    bundle_ids: &[String],
) -> Result<HashMap<VariantId, Vec<BundleComponent>>> {
    let mut out: HashMap<VariantId, Vec<BundleComponent>> = HashMap::new();
    if bundle_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT b.bundle_variant_id AS bundle_id, b.component_variant_id AS component_id, \
         b.quantity AS quantity, v.sku AS sku FROM bundle_components b \
         JOIN variants v ON v.org_id = b.org_id AND v.id = b.component_variant_id \
         WHERE b.org_id = $1 AND b.bundle_variant_id IN ({}) ORDER BY v.sku",
        placeholders(2, bundle_ids.len())
    );
    let mut q = sqlx::query(&sql).bind(org.to_string());
    for id in bundle_ids {
        q = q.bind(id.clone());
    }
    for r in q.fetch_all(&mut *conn).await? {
        out.entry(r.parse("bundle_id")?)
            .or_default()
            .push(BundleComponent {
                sku: r.parse("sku")?,
                variant_id: r.parse("component_id")?,
                quantity: r.int("quantity")?,
            });
    }
    Ok(out)
}

async fn load_product(tx: &mut Tx, org: OrgId, id: ProductId) -> Result<Product> {
    load_products(tx, org, &[id.to_string()])
        .await?
        .pop()
        .ok_or(StoreError::NotFound("product"))
}

/// Load non-archived products by id, with variants and bundle components.
async fn load_products(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
    ids: &[String],
) -> Result<Vec<Product>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(2, ids.len());
    let sql = format!(
        "SELECT * FROM products WHERE org_id = $1 AND archived_at IS NULL AND id IN ({list})"
    );
    let mut q = sqlx::query(&sql).bind(org.to_string());
    for id in ids {
        q = q.bind(id.clone());
    }
    let product_rows = q.fetch_all(&mut *conn).await?;
    // Sorted here: an ORDER BY sku tempts SQLite to walk the whole SKU
    // index instead of looking the products up.
    let sql = format!("SELECT * FROM variants WHERE org_id = $1 AND product_id IN ({list})");
    let mut q = sqlx::query(&sql).bind(org.to_string());
    for id in ids {
        q = q.bind(id.clone());
    }
    let mut variants = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(Variant::from_row)
        .collect::<Result<Vec<_>>>()?;
    variants.sort_by(|a, b| a.sku.as_str().cmp(b.sku.as_str()));
    let bundle_ids: Vec<String> = variants
        .iter()
        .filter(|v| v.is_bundle)
        .map(|v| v.id.to_string())
        .collect();
    let mut components = load_components(conn, org, &bundle_ids).await?;
    for v in &mut variants {
        if let Some(c) = components.remove(&v.id) {
            v.components = c;
        }
    }
    let mut by_product: HashMap<ProductId, Vec<Variant>> = HashMap::new();
    for v in variants {
        by_product.entry(v.product_id).or_default().push(v);
    }
    product_rows
        .iter()
        .map(|r| {
            let id: ProductId = r.parse("id")?;
            Ok(Product {
                id,
                name: r.text("name")?,
                description: r.opt_text("description")?,
                created_at: r.time("created_at")?,
                updated_at: r.time("updated_at")?,
                variants: by_product.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}
