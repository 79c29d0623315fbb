//! Stock keeping units: the key that ties a master variant to every channel
//! listing, so its spelling rules are strict and checked once, here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest SKU accepted; every marketplace we integrate allows at least this.
pub const MAX_SKU_LEN: usize = 64;

/// A validated SKU: 1–64 printable characters, no whitespace, case preserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSku {
    #[error("SKU must not be empty")]
    Empty,
    #[error("SKU is longer than {MAX_SKU_LEN} characters")]
    TooLong,
    #[error("SKU must not contain whitespace, control or invisible formatting characters")]
    BadCharacter,
}

impl Sku {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sku {
    type Err = InvalidSku;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(InvalidSku::Empty);
        }
        if s.chars().count() > MAX_SKU_LEN {
            return Err(InvalidSku::TooLong);
        }
        // Invisible formatting characters would let two SKUs look alike.
        if s.chars()
            .any(|c| c.is_whitespace() || crate::validation::forbidden_char(c))
        {
            return Err(InvalidSku::BadCharacter);
        }
        Ok(Sku(s.to_owned()))
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Sku {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sku {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!("TSHIRT-RED-M".parse::<Sku>().is_ok());
        assert_eq!("".parse::<Sku>(), Err(InvalidSku::Empty));
        assert_eq!("A B".parse::<Sku>(), Err(InvalidSku::BadCharacter));
        assert_eq!("A\0B".parse::<Sku>(), Err(InvalidSku::BadCharacter));
        assert_eq!(
            "KAOS\u{200B}-M".parse::<Sku>(),
            Err(InvalidSku::BadCharacter)
        );
        assert_eq!(
            "\u{202E}M-SOAK".parse::<Sku>(),
            Err(InvalidSku::BadCharacter)
        );
        assert_eq!("x".repeat(65).parse::<Sku>(), Err(InvalidSku::TooLong));
    }
}
