//! Small serde helpers shared by the marketplaces' wire types.

use serde::{Deserialize, Deserializer};
use storesync_domain::Timestamp;

/// Accepts an id written as a JSON string or a JSON integer and keeps its
/// decimal text (TikTok's product-creation webhook sends a number where
/// every other payload sends a string; Shopee ids are numbers).
pub(crate) fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        Uint(u64),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::Text(s) => s,
        Raw::Int(i) => i.to_string(),
        Raw::Uint(u) => u.to_string(),
    })
}

/// [`id_text`] for optional fields (`null` or absent become `None`).
pub(crate) fn opt_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "id_text")] String);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// Unix seconds to a timestamp; zero or negative means "not set" on both
/// marketplaces.
pub(crate) fn from_unix_seconds(seconds: i64) -> Option<Timestamp> {
    (seconds > 0).then(|| Timestamp::from_millis(seconds.saturating_mul(1000)))
}

/// The current time in unix seconds, as the signers want it.
pub(crate) fn unix_seconds(now: Timestamp) -> i64 {
    now.millis().div_euclid(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "id_text")]
        a: String,
        #[serde(default, deserialize_with = "opt_id_text")]
        b: Option<String>,
    }

    #[test]
    fn ids_as_text_or_number() {
        let t: T = serde_json::from_str(r#"{"a":1729592969712207013,"b":"7"}"#).unwrap();
        assert_eq!(
            (t.a.as_str(), t.b.as_deref()),
            ("1729592969712207013", Some("7"))
        );
        let t: T = serde_json::from_str(r#"{"a":"x","b":null}"#).unwrap();
        assert_eq!((t.a.as_str(), t.b), ("x", None));
        let t: T = serde_json::from_str(r#"{"a":18446744073709551615}"#).unwrap();
        assert_eq!(t.a, "18446744073709551615");
        assert_eq!(from_unix_seconds(0), None);
        assert_eq!(from_unix_seconds(2).unwrap().millis(), 2000);
        assert_eq!(unix_seconds(Timestamp::from_millis(1_999)), 1);
    }
}
