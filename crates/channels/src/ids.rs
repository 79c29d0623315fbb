//! Identifiers that marketplaces assign (shops, listings, variants, orders,
//! packages, warehouses), kept as opaque text with a kind marker.
//!
//! Shopee ids are 64-bit integers on the wire and TikTok ids are strings; we
//! keep both as their decimal text so one type serves every marketplace and
//! no precision is lost. The marker keeps an order id from being passed where
//! a listing id is expected, exactly like `storesync_domain::Id`.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An identifier a marketplace gave to an entity of kind `K`.
pub struct ExternalId<K> {
    raw: String,
    kind: PhantomData<fn() -> K>,
}

impl<K> ExternalId<K> {
    /// Wraps the marketplace's id text as given.
    pub fn new(raw: impl Into<String>) -> Self {
        Self {
            raw: raw.into(),
            kind: PhantomData,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The id as a signed 64-bit integer, for marketplaces (Shopee) whose
    /// ids are numbers on the wire.
    pub fn as_i64(&self) -> Option<i64> {
        self.raw.parse().ok()
    }
}

impl<K> From<i64> for ExternalId<K> {
    fn from(value: i64) -> Self {
        Self::new(value.to_string())
    }
}

impl<K> From<&str> for ExternalId<K> {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<K> Clone for ExternalId<K> {
    fn clone(&self) -> Self {
        Self::new(self.raw.clone())
    }
}

impl<K> PartialEq for ExternalId<K> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<K> Eq for ExternalId<K> {}

impl<K> std::hash::Hash for ExternalId<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl<K> PartialOrd for ExternalId<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for ExternalId<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl<K> fmt::Display for ExternalId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl<K> fmt::Debug for ExternalId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl<K> Serialize for ExternalId<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de, K> Deserialize<'de> for ExternalId<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// Marker types naming what an [`ExternalId`] identifies.
pub mod kind {
    /// A shop (Shopee `shop_id`, TikTok shop `id`).
    #[derive(Debug, Clone, Copy)]
    pub enum Shop {}
    /// A listing (Shopee `item_id`, TikTok `product_id`).
    #[derive(Debug, Clone, Copy)]
    pub enum Listing {}
    /// A sellable variant of a listing (Shopee `model_id`, 0 for an item
    /// without variants; TikTok `sku_id`).
    #[derive(Debug, Clone, Copy)]
    pub enum Variant {}
    /// An order (Shopee `order_sn`, TikTok order `id`).
    #[derive(Debug, Clone, Copy)]
    pub enum Order {}
    /// A shipment package (Shopee `package_number`, TikTok `package_id`).
    #[derive(Debug, Clone, Copy)]
    pub enum Package {}
    /// A stock location (Shopee `location_id`, TikTok `warehouse_id`).
    #[derive(Debug, Clone, Copy)]
    pub enum Warehouse {}
}

pub type ExtShopId = ExternalId<kind::Shop>;
pub type ListingId = ExternalId<kind::Listing>;
pub type ExtVariantId = ExternalId<kind::Variant>;
pub type ExtOrderId = ExternalId<kind::Order>;
pub type PackageId = ExternalId<kind::Package>;
pub type WarehouseId = ExternalId<kind::Warehouse>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_and_parses_numbers() {
        let id = ListingId::from(1_729_592_969_712_207_013_i64);
        assert_eq!(id.as_str(), "1729592969712207013");
        assert_eq!(id.as_i64(), Some(1_729_592_969_712_207_013));
        assert_eq!(ExtOrderId::new("220810QSK8S7BX").as_i64(), None);
        assert_eq!(format!("{id:?}"), "\"1729592969712207013\"");
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"1729592969712207013\"");
        assert_eq!(serde_json::from_str::<ListingId>(&json).unwrap(), id);
    }
}
