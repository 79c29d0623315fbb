//! The catalogue: shops, products with variants, per-warehouse stock and promotion
//! reservations, changed the way a seller (or Seller Center) changes them.

use std::collections::BTreeMap;

use storesync_domain::Timestamp;

use super::rules::{IdKind, Rules};
use super::views::{CreateShop, ProductSpec, ShopView, StockInput, VariantSpec};
use super::world::{currency_for, Event, Product, Shop, Variant, World};
use crate::error::SandboxError;

impl World {
    pub fn create_shop(
        &mut self,
        spec: &CreateShop,
        rules: &dyn Rules,
        now: Timestamp,
    ) -> Result<ShopView, SandboxError> {
        let seq = self.next_seq();
        let id = spec.shop_id.unwrap_or_else(|| rules.id(IdKind::Shop, seq));
        if self.shops.contains_key(&id) {
            return Err(SandboxError::Invalid(format!("shop {id} already exists")));
        }
        let region = spec
            .region
            .clone()
            .unwrap_or_else(|| "SG".to_owned())
            .to_ascii_uppercase();
        let warehouses = match &spec.warehouses {
            Some(w) if !w.is_empty() => w.clone(),
            _ => vec![rules.default_warehouse(&region, seq)],
        };
        let cipher = rules.cipher(&region, &mut self.rng);
        let shop = Shop {
            id,
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("Sandbox shop {id}")),
            currency: currency_for(&region).to_owned(),
            region,
            cipher,
            warehouses,
            products: Vec::new(),
            orders: Vec::new(),
            authorized: false,
            auth_time_ms: 0,
            auth_expire_ms: 0,
            expiry_warned_day: None,
            webhooks: BTreeMap::new(),
            buyers: spec.buyers.clone().unwrap_or_default(),
            buyer_credit: 0.0,
        };
        self.shops.insert(id, shop);
        for p in &spec.products {
            self.add_product(id, p, rules, now)?;
        }
        self.shop_view(id, rules)
    }

    pub fn add_product(
        &mut self,
        shop_id: u64,
        spec: &ProductSpec,
        rules: &dyn Rules,
        now: Timestamp,
    ) -> Result<u64, SandboxError> {
        let warehouses = self.shop(shop_id)?.warehouses.clone();
        let seq = self.next_seq();
        let product_id = rules.id(IdKind::Product, seq);
        let has_variants = !spec.variants.is_empty();
        let specs: Vec<VariantSpec> = if has_variants {
            spec.variants.clone()
        } else {
            vec![VariantSpec {
                seller_sku: spec
                    .item_sku
                    .clone()
                    .unwrap_or_else(|| format!("SKU-{product_id}")),
                name: None,
                price: spec.price.clone().unwrap_or_default(),
                stock: spec.stock.clone().unwrap_or_default(),
                reserved: spec.reserved,
            }]
        };
        let mut variants = Vec::new();
        for v in &specs {
            let vseq = self.next_seq();
            let price = v.price.cents()?;
            let mut stock: BTreeMap<String, i64> =
                warehouses.iter().map(|w| (w.clone(), 0)).collect();
            match &v.stock {
                StockInput::Total(n) => {
                    if let Some(first) = warehouses.first() {
                        stock.insert(first.clone(), (*n).max(0));
                    }
                }
                StockInput::PerWarehouse(m) => {
                    for (w, n) in m {
                        if !warehouses.contains(w) {
                            return Err(SandboxError::Invalid(format!("unknown warehouse {w:?}")));
                        }
                        stock.insert(w.clone(), (*n).max(0));
                    }
                }
            }
            let id = rules.id(IdKind::Variant, vseq);
            self.variant_product.insert(id, product_id);
            variants.push(Variant {
                id,
                seller_sku: v.seller_sku.clone(),
                name: v.name.clone().unwrap_or_else(|| v.seller_sku.clone()),
                price_cents: price,
                original_price_cents: price,
                stock,
                reserved: v.reserved.max(0),
            });
        }
        let product = Product {
            id: product_id,
            shop_id,
            name: spec.name.clone(),
            item_sku: spec.item_sku.clone().unwrap_or_default(),
            listed: spec.listed.unwrap_or(true),
            has_variants,
            variants,
            create_ms: now.millis(),
            update_ms: now.millis(),
        };
        self.products.insert(product_id, product);
        if let Some(shop) = self.shops.get_mut(&shop_id) {
            shop.products.push(product_id);
        }
        Ok(product_id)
    }

    /// Finds a variant of the shop by seller SKU or id.
    pub fn find_variant(
        &self,
        shop_id: u64,
        seller_sku: Option<&str>,
        variant_id: Option<u64>,
    ) -> Result<(u64, u64), SandboxError> {
        let shop = self.shop(shop_id)?;
        for pid in &shop.products {
            if let Some(p) = self.products.get(pid) {
                for v in &p.variants {
                    if Some(v.id) == variant_id || Some(v.seller_sku.as_str()) == seller_sku {
                        return Ok((p.id, v.id));
                    }
                }
            }
        }
        Err(SandboxError::SkuNotFound(
            seller_sku
                .map(str::to_owned)
                .or_else(|| variant_id.map(|v| v.to_string()))
                .unwrap_or_default(),
        ))
    }

    pub fn variant_mut(&mut self, product_id: u64, variant_id: u64) -> Option<&mut Variant> {
        self.products
            .get_mut(&product_id)?
            .variants
            .iter_mut()
            .find(|v| v.id == variant_id)
    }

    /// Sets one warehouse's stock of a variant, as a seller edit would (no floor check here:
    /// callers that speak for the seller API check the promotion floor first).
    pub fn set_stock(
        &mut self,
        product_id: u64,
        variant_id: u64,
        warehouse: &str,
        quantity: i64,
        now: Timestamp,
    ) -> Result<(), SandboxError> {
        let shop_id = self
            .products
            .get(&product_id)
            .map(|p| p.shop_id)
            .ok_or_else(|| SandboxError::Invalid(format!("product {product_id} not found")))?;
        let v = self
            .variant_mut(product_id, variant_id)
            .ok_or_else(|| SandboxError::SkuNotFound(variant_id.to_string()))?;
        if !v.stock.contains_key(warehouse) {
            return Err(SandboxError::Invalid(format!(
                "unknown warehouse {warehouse:?}"
            )));
        }
        let before = v.total();
        v.stock.insert(warehouse.to_owned(), quantity.max(0));
        let after = v.total();
        let reserved = v.reserved;
        if let Some(p) = self.products.get_mut(&product_id) {
            p.update_ms = now.millis();
        }
        if before != after {
            self.events.push(Event::Inventory {
                shop_id,
                product_id,
                variant_id,
                before,
                after,
                reserved,
            });
        }
        Ok(())
    }

    pub fn set_reservation(
        &mut self,
        shop_id: u64,
        seller_sku: &str,
        reserved: i64,
        now: Timestamp,
    ) -> Result<(), SandboxError> {
        let (product_id, variant_id) = self.find_variant(shop_id, Some(seller_sku), None)?;
        let v = self
            .variant_mut(product_id, variant_id)
            .ok_or_else(|| SandboxError::SkuNotFound(seller_sku.to_owned()))?;
        v.reserved = reserved.max(0);
        if let Some(p) = self.products.get_mut(&product_id) {
            p.update_ms = now.millis();
        }
        self.events.push(Event::Reservation {
            shop_id,
            product_id,
            variant_id,
            reserved: reserved.max(0),
        });
        Ok(())
    }
}
