//! The largest numbers StoreSync accepts, checked once at entry so that
//! everything downstream (sums over locations and variants, bundle
//! arithmetic, the numbers pushed to marketplaces) stays far from `i64`'s
//! edge.
//!
//! The bounds are generous for any real seller and small enough that a sum
//! of billions of them still fits in an `i64`: with at most
//! [`MAX_STOCK`] (10⁹) units per level, SQL `SUM`s over levels cannot
//! overflow (SQLite raises an error on integer overflow, PostgreSQL widens
//! to `numeric`) until an organization holds more than 9·10⁹ level rows.

use crate::validation::ValidationError;

/// Most units on hand at one location (and the most `set` may ask for).
pub const MAX_STOCK: i64 = 1_000_000_000;
/// Largest single adjustment, either way.
pub const MAX_DELTA: i64 = MAX_STOCK;
/// Largest price or amount, in minor units (10¹² minor units: ten billion
/// dollars, or ten billion rupiah written with two digits).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// Heaviest variant, in grams (one tonne).
pub const MAX_WEIGHT_GRAMS: i64 = 1_000_000;
/// Highest low-stock threshold.
pub const MAX_LOW_STOCK_THRESHOLD: i64 = MAX_STOCK;
/// Largest per-shop stock buffer.
pub const MAX_SHOP_BUFFER: i64 = MAX_STOCK;
/// Largest per-shop stock cap.
pub const MAX_SHOP_CAP: i64 = MAX_STOCK;
/// Most units of one component in one bundle.
pub const MAX_BUNDLE_COMPONENT_QUANTITY: i64 = 10_000;

/// Checks that `value` lies in `min..=max`, adding an error naming `field`
/// otherwise. Returns whether it did.
pub fn check_range(
    errors: &mut ValidationError,
    field: impl Into<String>,
    value: i64,
    min: i64,
    max: i64,
) -> bool {
    if (min..=max).contains(&value) {
        return true;
    }
    let message = if value < min && min == 0 {
        "must not be negative".to_owned()
    } else if value < min {
        format!("must be at least {min}")
    } else {
        format!("must be at most {max}")
    };
    errors.add(field, message);
    false
}

/// A stock quantity for one level, known to lie in `0..=MAX_STOCK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    /// The quantity, or a validation error naming `field`.
    pub fn new(field: &str, value: i64) -> Result<Quantity, ValidationError> {
        let mut errors = ValidationError::new();
        check_range(&mut errors, field, value, 0, MAX_STOCK);
        errors.into_result().map(|()| Quantity(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A stock change for one level, known to lie in `-MAX_DELTA..=MAX_DELTA`
/// and not to be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta(i64);

impl Delta {
    /// The delta, or a validation error naming `field`.
    pub fn new(field: &str, value: i64) -> Result<Delta, ValidationError> {
        if value == 0 {
            return Err(ValidationError::field(field, "must not be zero"));
        }
        let mut errors = ValidationError::new();
        check_range(&mut errors, field, value, -MAX_DELTA, MAX_DELTA);
        errors.into_result().map(|()| Delta(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The on-hand count after applying `delta` to `on_hand`, when it stays
/// within `0..=MAX_STOCK` (or below zero only where backorders allow it,
/// which the database checks); `None` when it would pass the maximum or
/// overflow.
pub fn on_hand_after(on_hand: i64, delta: i64) -> Option<i64> {
    on_hand.checked_add(delta).filter(|n| *n <= MAX_STOCK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_the_field() {
        let err = Quantity::new("set", i64::MAX).unwrap_err();
        assert_eq!(err.0[0].field, "set");
        assert!(err.0[0].message.contains("at most"));
        assert_eq!(Quantity::new("set", -1).unwrap_err().0[0].field, "set");
        assert_eq!(Quantity::new("set", MAX_STOCK).unwrap().get(), MAX_STOCK);
        assert!(Delta::new("delta", 0).is_err());
        assert!(Delta::new("delta", i64::MIN).is_err());
        assert_eq!(Delta::new("delta", -MAX_DELTA).unwrap().get(), -MAX_DELTA);
    }

    #[test]
    fn on_hand_never_passes_the_maximum() {
        assert_eq!(on_hand_after(MAX_STOCK, 1), None);
        assert_eq!(on_hand_after(i64::MAX, 1), None);
        assert_eq!(on_hand_after(5, -3), Some(2));
    }
}
