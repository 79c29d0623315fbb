//! Sale paces remembered by this process, so the split threshold does not
//! fall the moment a shop's sales stop reaching the books (its intake
//! stalls under faults for seconds: retries, throttles, lost pushes found by
//! a poll).

use std::collections::HashMap;

use storesync_domain::protection::{remembered_pace, PACE_HALF_LIFE_MS};

/// The paces this process measured lately, per shop, so a pace is not forgotten the moment its sales stop reaching the
/// books (see [`remembered_pace`]). Process-local: each instance remembers
/// what it measured, which is all a safety margin needs.
#[derive(Debug, Default)]
pub struct PaceMemory {
    /// Organization → shop → (pace, when it was planned with).
    seen: std::sync::Mutex<HashMap<String, ShopPaces>>,
}

/// Shop → (pace, when it was planned with).
type ShopPaces = HashMap<String, (f64, i64)>;

impl PaceMemory {
    /// The paces to plan with for the shops of `org`, given those measured
    /// `now` (shops that sold nothing lately are absent): each the more of
    /// its measured and its remembered pace, and the shops measured at
    /// nothing but remembered, with their remembered pace.
    pub(crate) fn recall(&self, org: &str, measured: &mut HashMap<String, f64>, now: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // A pace sixteen half-lives old is nothing.
        let forgotten = 16 * PACE_HALF_LIFE_MS;
        if seen.len() > 10_000 {
            seen.retain(|_, shops| shops.values().any(|(_, at)| now - *at < forgotten));
        }
        let org_seen = seen.entry(org.to_owned()).or_default();
        org_seen.retain(|_, (_, at)| now - *at < forgotten);
        for (shop, &(pace, at)) in org_seen.iter() {
            let entry = measured.entry(shop.clone()).or_insert(0.0);
            *entry = remembered_pace(*entry, pace, now - at);
        }
        for (shop, &pace) in measured.iter() {
            if pace > 0.0 {
                org_seen.insert(shop.clone(), (pace, now));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shops_pace_outlives_a_stall_of_its_bookings() {
        let memory = PaceMemory::default();
        let mut now = HashMap::from([("a".to_owned(), 40.0), ("b".to_owned(), 2.0)]);
        memory.recall("org", &mut now, 10_000);
        assert_eq!(now["a"], 40.0);
        // Nothing booked for a half-life: half the pace, not none.
        let mut later = HashMap::new();
        memory.recall("org", &mut later, 10_000 + PACE_HALF_LIFE_MS);
        assert_eq!(later["a"], 20.0);
        assert_eq!(later["b"], 1.0);
        // A faster pace is taken at once; other organizations see nothing.
        let mut faster = HashMap::from([("a".to_owned(), 60.0)]);
        memory.recall("org", &mut faster, 10_000 + PACE_HALF_LIFE_MS);
        assert_eq!(faster["a"], 60.0);
        let mut other = HashMap::new();
        memory.recall("other", &mut other, 10_000);
        assert!(other.is_empty());
        // Long forgotten.
        let mut much_later = HashMap::new();
        memory.recall("org", &mut much_later, 10_000 + 20 * PACE_HALF_LIFE_MS);
        assert!(much_later.is_empty(), "{much_later:?}");
    }
}
