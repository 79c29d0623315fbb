//! Inventory arithmetic shared by the store, the engine and the tests'
//! reference model. Quantities are whole units in `i64`.

use serde::Serialize;

/// Stock of one variant at one location (or summed over locations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StockLevel {
    pub on_hand: i64,
    pub reserved: i64,
}

impl StockLevel {
    /// Units that can still be promised to a buyer.
    ///
    /// Levels are bounded at entry ([`crate::limits::MAX_STOCK`]), so these
    /// sums cannot overflow for data written through StoreSync; they
    /// saturate instead of wrapping for anything older or written around it.
    pub fn available(&self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }

    pub fn plus(self, other: StockLevel) -> StockLevel {
        StockLevel {
            on_hand: self.on_hand.saturating_add(other.on_hand),
            reserved: self.reserved.saturating_add(other.reserved),
        }
    }
}

/// Why stock moved. Stored in the ledger as its `as_str` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Manual correction or count.
    Adjustment,
    /// Goods moved between two locations (two rows, one per side).
    Transfer,
    /// Goods left with an order.
    Fulfilment,
    /// Returned goods put back on hand.
    Restock,
}

impl MovementKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MovementKind::Adjustment => "adjustment",
            MovementKind::Transfer => "transfer",
            MovementKind::Fulfilment => "fulfilment",
            MovementKind::Restock => "restock",
        }
    }

    pub fn parse(s: &str) -> Option<MovementKind> {
        [
            MovementKind::Adjustment,
            MovementKind::Transfer,
            MovementKind::Fulfilment,
            MovementKind::Restock,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Availability of a bundle: the number of complete bundles its components'
/// available stock can make, `min(floor(available / qty))`. A bundle without
/// components has none.
pub fn bundle_available(components: &[(i64, i64)]) -> i64 {
    components
        .iter()
        .map(
            |&(available, qty)| {
                if qty <= 0 {
                    0
                } else {
                    available.max(0) / qty
                }
            },
        )
        .min()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_availability_is_the_scarcest_component() {
        assert_eq!(bundle_available(&[(10, 2), (7, 1)]), 5);
        assert_eq!(bundle_available(&[(10, 3), (100, 1)]), 3);
        assert_eq!(bundle_available(&[(-2, 1), (5, 1)]), 0);
        assert_eq!(bundle_available(&[]), 0);
    }

    #[test]
    fn available_is_on_hand_minus_reserved() {
        let l = StockLevel {
            on_hand: 10,
            reserved: 3,
        };
        assert_eq!(l.available(), 7);
        assert_eq!(l.plus(l).available(), 14);
    }
}
