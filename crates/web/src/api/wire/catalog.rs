//! Products, variants, bundles and locations on the wire.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storesync_domain::ids::{LocationId, ProductId, VariantId};
use storesync_domain::{Money, Sku, Timestamp};
use storesync_store as store;

use super::all;

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Location {
    pub id: LocationId,
    pub code: String,
    pub name: String,
    pub is_default: bool,
    pub created_at: Timestamp,
}

impl From<store::Location> for Location {
    fn from(l: store::Location) -> Self {
        Location {
            id: l.id,
            code: l.code,
            name: l.name,
            is_default: l.is_default,
            created_at: l.created_at,
        }
    }
}

/// Body of `POST /locations`.
#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    pub code: String,
    pub name: String,
}

impl From<NewLocation> for store::NewLocation {
    fn from(l: NewLocation) -> Self {
        store::NewLocation {
            code: l.code,
            name: l.name,
        }
    }
}

/// One component of a bundle, as given.
#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleComponentInput {
    pub sku: Sku,
    #[schemars(range(min = 1))]
    pub quantity: i64,
}

impl From<BundleComponentInput> for store::BundleComponentInput {
    fn from(c: BundleComponentInput) -> Self {
        store::BundleComponentInput {
            sku: c.sku,
            quantity: c.quantity,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVariant {
    pub sku: Sku,
    #[serde(default)]
    pub name: Option<String>,
    pub price: Money,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub weight_grams: Option<i64>,
    /// Accept orders beyond available stock for this SKU.
    #[serde(default)]
    pub allow_backorder: bool,
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub low_stock_threshold: Option<i64>,
    /// Makes this variant a bundle of the given component SKUs.
    #[serde(default)]
    pub components: Vec<BundleComponentInput>,
}

impl From<NewVariant> for store::NewVariant {
    fn from(v: NewVariant) -> Self {
        store::NewVariant {
            sku: v.sku,
            name: v.name,
            price: v.price,
            barcode: v.barcode,
            weight_grams: v.weight_grams,
            allow_backorder: v.allow_backorder,
            low_stock_threshold: v.low_stock_threshold,
            components: all(v.components),
        }
    }
}

/// Body of `POST /products`.
#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[schemars(length(min = 1))]
    pub variants: Vec<NewVariant>,
}

impl From<NewProduct> for store::NewProduct {
    fn from(p: NewProduct) -> Self {
        store::NewProduct {
            name: p.name,
            description: p.description,
            variants: all(p.variants),
        }
    }
}

/// Changes to one existing variant, found by SKU.
#[derive(Debug, JsonSchema, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantPatch {
    pub sku: Sku,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub price: Option<Money>,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub weight_grams: Option<i64>,
    #[serde(default)]
    pub allow_backorder: Option<bool>,
    #[serde(default)]
    pub low_stock_threshold: Option<i64>,
    /// A bundle's new components, replacing the old ones (bundles only).
    #[serde(default)]
    pub components: Option<Vec<BundleComponentInput>>,
}

impl From<VariantPatch> for store::VariantPatch {
    fn from(v: VariantPatch) -> Self {
        store::VariantPatch {
            sku: v.sku,
            name: v.name,
            price: v.price,
            barcode: v.barcode,
            weight_grams: v.weight_grams,
            allow_backorder: v.allow_backorder,
            low_stock_threshold: v.low_stock_threshold,
            components: v.components.map(all),
        }
    }
}

/// Body of `PATCH /products/{id}`.
#[derive(Debug, JsonSchema, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Edit existing variants (by SKU).
    #[serde(default)]
    pub variants: Vec<VariantPatch>,
    /// Add new variants to the product.
    #[serde(default)]
    pub add_variants: Vec<NewVariant>,
}

impl From<ProductPatch> for store::ProductPatch {
    fn from(p: ProductPatch) -> Self {
        store::ProductPatch {
            name: p.name,
            description: p.description,
            variants: all(p.variants),
            add_variants: all(p.add_variants),
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct BundleComponent {
    pub sku: Sku,
    pub variant_id: VariantId,
    pub quantity: i64,
}

impl From<store::BundleComponent> for BundleComponent {
    fn from(c: store::BundleComponent) -> Self {
        BundleComponent {
            sku: c.sku,
            variant_id: c.variant_id,
            quantity: c.quantity,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
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
    /// A bundle's components; absent for a plain variant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<BundleComponent>,
}

impl From<store::Variant> for Variant {
    fn from(v: store::Variant) -> Self {
        Variant {
            id: v.id,
            product_id: v.product_id,
            sku: v.sku,
            name: v.name,
            price: v.price,
            barcode: v.barcode,
            weight_grams: v.weight_grams,
            is_bundle: v.is_bundle,
            allow_backorder: v.allow_backorder,
            low_stock_threshold: v.low_stock_threshold,
            components: all(v.components),
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub variants: Vec<Variant>,
}

impl From<store::Product> for Product {
    fn from(p: store::Product) -> Self {
        Product {
            id: p.id,
            name: p.name,
            description: p.description,
            created_at: p.created_at,
            updated_at: p.updated_at,
            variants: all(p.variants),
        }
    }
}
