//! Typed identifiers. Every id is an application-generated UUIDv7, so ids are
//! unique across backends and sort by creation time (which keyset pagination
//! relies on). The marker type keeps an `Id<Order>` from being passed where an
//! `Id<Product>` is expected.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An identifier of an entity of kind `T`.
pub struct Id<T> {
    raw: uuid::Uuid,
    kind: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self::from_uuid(uuid::Uuid::now_v7())
    }

    pub fn from_uuid(raw: uuid::Uuid) -> Self {
        Self {
            raw,
            kind: PhantomData,
        }
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.raw
    }
}

impl<T> Default for Id<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}

impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T> Eq for Id<T> {}

impl<T> std::hash::Hash for Id<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.hyphenated().fmt(f)
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The text was not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

impl<T> FromStr for Id<T> {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::try_parse(s)
            .map(Self::from_uuid)
            .map_err(|_| InvalidId)
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Marker types naming what an [`Id`] identifies.
pub mod kind {
    macro_rules! markers {
        ($($name:ident),* $(,)?) => {
            $(
                #[derive(Debug, Clone, Copy)]
                pub enum $name {}
            )*
        };
    }
    markers!(
        Org,
        User,
        Session,
        ApiToken,
        Audit,
        Location,
        Product,
        Variant,
        Movement,
        Reservation,
        Order,
        OrderLine,
        Shipment,
        Shop,
        Job,
        WebhookEvent,
        Listing,
        Invitation
    );
}

pub type OrgId = Id<kind::Org>;
pub type UserId = Id<kind::User>;
pub type ApiTokenId = Id<kind::ApiToken>;
pub type LocationId = Id<kind::Location>;
pub type ProductId = Id<kind::Product>;
pub type VariantId = Id<kind::Variant>;
pub type MovementId = Id<kind::Movement>;
pub type ReservationId = Id<kind::Reservation>;
pub type OrderId = Id<kind::Order>;
pub type OrderLineId = Id<kind::OrderLine>;
pub type ShipmentId = Id<kind::Shipment>;
pub type ShopId = Id<kind::Shop>;
pub type AuditId = Id<kind::Audit>;
pub type InvitationId = Id<kind::Invitation>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_creation() {
        let a = OrderId::new();
        let b = OrderId::new();
        assert!(a < b);
        let parsed: OrderId = a.to_string().parse().unwrap();
        assert_eq!(parsed, a);
        assert!("nope".parse::<OrderId>().is_err());
    }
}
