//! The arithmetic that keeps a SKU from being sold twice while its stock
//! moves between channels: how many units can sell while a change is on
//! its way, when a SKU's last units stop being shown on several channels at
//! once, and how much a push to a listing that is selling holds back.
//!
//! A push is absolute and lands some time after it was planned. Whatever
//! sells meanwhile is either overwritten (on the listing pushed) or sold
//! from units the other channels still show. Both are bounded by the sale
//! rate times the time a change takes to reach every channel; this module
//! turns those measured figures into the numbers the planner uses. Pure:
//! the store measures, the engine sends.

/// The least number of available units at which a SKU sold on several
/// channels is split between them without overlap, whatever its pace: even
/// a SKU that sold nothing lately can be bought on two channels at once.
pub const SPLIT_BELOW: i64 = 10;

/// Time allowed for a marketplace to tell us of a sale (its push reaching
/// us), on top of what we measure ourselves.
pub const DELIVERY_ALLOWANCE_MS: i64 = 500;

/// How a SKU sells and how fast a change reaches its channels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pace {
    /// Units a second it can sell over all its channels: on each, the more
    /// of its own recent pace and its shop's (every SKU together) — buyers
    /// of the SKUs that sold out turn to those still showing stock, so a
    /// SKU can take its shop's whole pace within one push cycle.
    pub units_per_sec: f64,
    /// From a sale on a marketplace until every channel shows its effect:
    /// the marketplace telling us, our booking it, and the slowest push.
    pub horizon_ms: i64,
}

/// The most units that sell within `ms` at `units_per_sec`, with a wide
/// margin: buyers arrive at random, so the count over a short time runs
/// well above its mean. An upper bound of a Poisson count (mean plus three
/// standard deviations, plus one), so it is rarely exceeded even for small
/// means. Zero when nothing sells.
pub fn units_in(units_per_sec: f64, ms: i64) -> i64 {
    if units_per_sec.is_nan() || units_per_sec <= 0.0 || ms <= 0 {
        return 0;
    }
    let mean = units_per_sec * ms as f64 / 1000.0;
    let bound = mean + 3.0 * mean.sqrt() + 1.0;
    if bound >= i64::MAX as f64 {
        return i64::MAX;
    }
    bound.ceil() as i64
}

/// At or below how many available units a SKU's listings share them
/// without overlap: [`SPLIT_BELOW`], or more for a SKU selling fast — the
/// units that can sell while the split is on its way must never exceed
/// what is left, or the channels still showing the full count sell units
/// that are gone.
pub fn split_threshold(pace: Pace) -> i64 {
    SPLIT_BELOW.max(units_in(pace.units_per_sec, pace.horizon_ms))
}

/// Whether a SKU's listings share its `available` units without overlap,
/// given the threshold in force and whether they do so now (`split_now`:
/// together they show no more than is available). A split ends only well
/// above the threshold: its pace is measured from sales, and a SKU whose
/// shares sold out sells nothing for a while, which is no sign that its
/// buyers are gone — showing the full count everywhere again at that moment
/// is exactly when they would take the same units twice.
pub fn is_split(available: i64, threshold: i64, split_now: bool) -> bool {
    available <= threshold || (split_now && available <= threshold.saturating_mul(2))
}

/// Why the threshold in force is what it is, for the explain view.
pub fn explain_threshold(pace: Pace) -> String {
    let t = split_threshold(pace);
    if t == SPLIT_BELOW {
        format!(
            "split at or below {SPLIT_BELOW} units (its shops selling {:.1}/s, {} ms from a sale to every channel)",
            pace.units_per_sec, pace.horizon_ms
        )
    } else {
        format!(
            "split at or below {t} units: its shops selling {:.1}/s, up to {t} can sell in the {} ms from a sale to every channel",
            pace.units_per_sec, pace.horizon_ms
        )
    }
}

/// What to send to a listing of a split SKU whose push lands `push_ms`
/// after it is planned, while that listing sells `units_per_sec` and shows
/// `shown` now; `target` is its share. Sales made there while the push is
/// on its way are overwritten by it (a push is absolute), so those units
/// would be shown again: the push holds back as many as can sell meanwhile
/// — never more than the listing shows, since no more can sell there —
/// and never goes below `floor`. Returns the number to send and the units
/// held back, which a later push gives back once the sales are in.
pub fn hold_back(
    target: i64,
    shown: i64,
    floor: i64,
    units_per_sec: f64,
    push_ms: i64,
) -> (i64, i64) {
    // A shop not pushed yet has no measured time: assume one.
    let push_ms = if push_ms > 0 {
        push_ms
    } else {
        UNMEASURED_PUSH_MS
    };
    let at_risk = units_in(units_per_sec, push_ms).min(shown.max(0));
    let sent = target
        .saturating_sub(at_risk)
        .max(floor.max(0))
        .min(target.max(0));
    (sent, target.max(0) - sent)
}

/// How long a push is taken to need before one was measured for its shop.
pub const UNMEASURED_PUSH_MS: i64 = 250;

/// How long a pace once seen keeps half its weight: sales are booked in
/// bursts when a marketplace's pushes stall (retries, throttles, lost
/// pushes found by a poll), and a SKU whose sales stopped reaching our books
/// for a few seconds has not stopped selling.
pub const PACE_HALF_LIFE_MS: i64 = 5_000;

/// A pace measured now against the one remembered from `elapsed_ms` ago:
/// the faster of the two, the remembered one halved every
/// [`PACE_HALF_LIFE_MS`]. A rise is taken at once; a fall only slowly.
pub fn remembered_pace(measured: f64, remembered: f64, elapsed_ms: i64) -> f64 {
    let measured = if measured.is_finite() {
        measured.max(0.0)
    } else {
        0.0
    };
    if !remembered.is_finite() || remembered <= 0.0 {
        return measured;
    }
    let decayed = remembered * 0.5f64.powf(elapsed_ms.max(0) as f64 / PACE_HALF_LIFE_MS as f64);
    measured.max(decayed)
}

/// A decaying maximum of a latency: a slower sample is taken at once (the
/// protection must follow a slowdown now), a faster one pulls the figure
/// down by an eighth of the gap (it must not forget a slowdown after one
/// lucky call).
pub fn slow_to_forget(previous_ms: i64, sample_ms: i64) -> i64 {
    let sample = sample_ms.max(0);
    if sample >= previous_ms {
        sample
    } else {
        previous_ms - (previous_ms - sample) / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_sku_that_does_not_sell_keeps_the_base_threshold() {
        assert_eq!(
            split_threshold(Pace {
                units_per_sec: 0.0,
                horizon_ms: 5_000
            }),
            SPLIT_BELOW
        );
        assert_eq!(units_in(0.0, 1_000), 0);
        assert_eq!(units_in(f64::NAN, 1_000), 0);
    }

    #[test]
    fn a_fast_seller_splits_earlier() {
        // 16 units/s and a second from sale to every channel: 16 on
        // average, up to 16 + 12 + 1.
        let t = split_threshold(Pace {
            units_per_sec: 16.0,
            horizon_ms: 1_000,
        });
        assert_eq!(t, 29);
        assert!(explain_threshold(Pace {
            units_per_sec: 16.0,
            horizon_ms: 1_000
        })
        .contains("29"));
    }

    #[test]
    fn a_split_ends_only_well_above_its_threshold() {
        assert!(is_split(10, 10, false));
        assert!(!is_split(11, 10, false));
        assert!(
            is_split(14, 10, true),
            "shares sold out, pace fell: stays split"
        );
        assert!(is_split(20, 10, true));
        assert!(
            !is_split(21, 10, true),
            "restocked well above: shown in full again"
        );
    }

    #[test]
    fn a_listing_that_shows_nothing_needs_no_hold_back() {
        assert_eq!(hold_back(3, 0, 0, 50.0, 500), (3, 0));
        // Showing 2 and selling fast: at most 2 can sell there meanwhile.
        assert_eq!(hold_back(5, 2, 0, 50.0, 500), (3, 2));
        // Never below the promotion hold.
        assert_eq!(hold_back(5, 5, 4, 50.0, 500), (4, 1));
        // Nothing selling: nothing held back.
        assert_eq!(hold_back(5, 5, 0, 0.0, 500), (5, 0));
    }

    #[test]
    fn a_pace_is_remembered_through_a_stall_and_forgotten_slowly() {
        assert_eq!(remembered_pace(12.0, 8.0, 0), 12.0, "a rise at once");
        assert_eq!(remembered_pace(0.0, 40.0, 0), 40.0);
        assert_eq!(remembered_pace(0.0, 40.0, PACE_HALF_LIFE_MS), 20.0);
        assert_eq!(remembered_pace(0.0, 40.0, 4 * PACE_HALF_LIFE_MS), 2.5);
        assert_eq!(remembered_pace(3.0, 0.0, 100), 3.0);
        assert_eq!(remembered_pace(f64::NAN, f64::NAN, 100), 0.0);
    }

    #[test]
    fn latency_follows_a_slowdown_at_once_and_forgets_slowly() {
        assert_eq!(slow_to_forget(100, 900), 900);
        assert_eq!(slow_to_forget(900, 100), 800);
        assert_eq!(slow_to_forget(0, -5), 0);
    }

    proptest! {
        #[test]
        fn more_pace_never_lowers_the_threshold(r in 0.0f64..500.0, dr in 0.0f64..100.0, h in 0i64..10_000, dh in 0i64..5_000) {
            let a = split_threshold(Pace { units_per_sec: r, horizon_ms: h });
            let b = split_threshold(Pace { units_per_sec: r + dr, horizon_ms: h + dh });
            prop_assert!(a <= b);
            prop_assert!(a >= SPLIT_BELOW);
        }

        #[test]
        fn hold_back_never_sends_more_than_the_share(target in -5i64..100, shown in -5i64..100, floor in 0i64..20, r in 0.0f64..100.0, ms in 0i64..3_000) {
            let (sent, held) = hold_back(target, shown, floor, r, ms);
            prop_assert!(sent <= target.max(0));
            prop_assert!(sent >= 0);
            prop_assert_eq!(sent + held, target.max(0));
            // What can be overwritten meanwhile is covered by what is held back.
            let at_risk = units_in(r, ms).min(shown.max(0));
            prop_assert!(held >= at_risk.min(target.max(0) - floor.min(target.max(0))));
        }
    }
}
