//! Deserializing request bodies so that an object type accepts only a JSON
//! object, at every depth.
//!
//! serde's derived `Deserialize` for a struct also accepts a sequence, its
//! elements taken as the fields in order, so `[7,0,null,true]` would be
//! read as shop settings and `[100,"IDR"]` as a price. The body is parsed
//! into a `serde_json::Value` first and then read through [`Strict`], a
//! deserializer that answers every request for a struct with an error when
//! it holds an array. Everything else is serde_json's own behaviour.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Error as _, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Value};

/// Reads `T` from `value`, refusing arrays where `T` (or any part of it)
/// expects an object. Errors name the path of the offending field.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("{path}: {}", e.into_inner())
        }
    })
}

/// A JSON value read strictly (see the module documentation).
#[derive(Debug)]
pub(crate) struct Strict(pub Value);

impl<'de> IntoDeserializer<'de, Error> for Strict {
    type Deserializer = Strict;
    fn into_deserializer(self) -> Strict {
        self
    }
}

impl<'de> serde::Deserializer<'de> for Strict {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Strict));
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Value::Object(map) => {
                let mut map = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Strict(v))));
                let v = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(v)
            }
            scalar => scalar.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if matches!(self.0, Value::Array(_)) {
            return Err(Error::invalid_type(Unexpected::Seq, &"a JSON object"));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Our bodies' enums are plain strings; serde_json reads them.
        self.0.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Price {
        amount: i64,
        currency: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        note: Option<String>,
        prices: Vec<Price>,
    }

    #[test]
    fn objects_only_at_every_depth() {
        let ok: Body =
            from_value(json!({"name": "x", "prices": [{"amount": 1, "currency": "IDR"}]})).unwrap();
        assert_eq!(ok.prices[0].amount, 1);
        assert_eq!(ok.note, None);
        let top = from_value::<Body>(json!(["x", null, []])).unwrap_err();
        assert!(top.contains("a JSON object"), "{top}");
        let nested = from_value::<Body>(json!({"name": "x", "prices": [[1, "IDR"]]})).unwrap_err();
        assert!(nested.starts_with("prices[0]"), "{nested}");
        let unknown =
            from_value::<Body>(json!({"name": "x", "prices": [], "colour": 1})).unwrap_err();
        assert!(unknown.contains("colour"), "{unknown}");
        let wrong = from_value::<Body>(json!({"name": 5, "prices": []})).unwrap_err();
        assert!(wrong.starts_with("name"), "{wrong}");
    }
}
