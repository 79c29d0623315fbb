//! The marketplaces StoreSync sells on: one vocabulary for every layer, so
//! no crate passes a marketplace around as a bare string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where buyers shop. Tokopedia is served through TikTok Shop: its orders
/// arrive from a TikTok Shop connection with [`Marketplace::Tokopedia`] as
/// the order's marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Marketplace {
    Shopee,
    TikTokShop,
    Lazada,
    Tokopedia,
}

impl Marketplace {
    pub const ALL: [Marketplace; 4] = [
        Marketplace::Shopee,
        Marketplace::TikTokShop,
        Marketplace::Lazada,
        Marketplace::Tokopedia,
    ];

    /// Stable lowercase name for storage, URLs and metrics labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            Marketplace::Shopee => "shopee",
            Marketplace::TikTokShop => "tiktok_shop",
            Marketplace::Lazada => "lazada",
            Marketplace::Tokopedia => "tokopedia",
        }
    }

    /// The name people know it by, for pages and messages.
    pub fn label(&self) -> &'static str {
        match self {
            Marketplace::Shopee => "Shopee",
            Marketplace::TikTokShop => "TikTok Shop",
            Marketplace::Lazada => "Lazada",
            Marketplace::Tokopedia => "Tokopedia",
        }
    }
}

impl fmt::Display for Marketplace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown marketplace {0:?} (expected shopee, tiktok_shop, lazada or tokopedia)")]
pub struct UnknownMarketplace(pub String);

impl FromStr for Marketplace {
    type Err = UnknownMarketplace;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Marketplace::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMarketplace(s.to_owned()))
    }
}

// By hand rather than derived: the stored name (`tiktok_shop`) is not what
// serde's case conversion would make of `TikTokShop`, and the one name table
// is `as_str`.
impl Serialize for Marketplace {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Marketplace {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketplace_names_round_trip() {
        for m in Marketplace::ALL {
            assert_eq!(m.as_str().parse::<Marketplace>().unwrap(), m);
        }
        assert!("TikTok".parse::<Marketplace>().is_err());
    }

    #[test]
    fn serde_uses_the_stored_name() {
        for m in Marketplace::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(serde_json::from_str::<Marketplace>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<Marketplace>("\"TikTok Shop\"").is_err());
    }

    #[test]
    fn labels_are_distinct() {
        let mut labels: Vec<&str> = Marketplace::ALL.iter().map(|m| m.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Marketplace::ALL.len());
        assert_eq!(Marketplace::TikTokShop.label(), "TikTok Shop");
    }
}
