//! Splitting a time range into the windows a marketplace accepts per call
//! (Shopee's order list takes at most 15 days).

use std::time::Duration;

use storesync_domain::Timestamp;

/// A half-open range of time `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl TimeRange {
    pub fn new(from: Timestamp, to: Timestamp) -> Self {
        Self { from, to }
    }

    /// The range in whole unix seconds, widened outwards (`from` rounded
    /// down, `to` rounded up) so no event at a fractional second is missed.
    pub fn to_unix_seconds(&self) -> (i64, i64) {
        let from = self.from.millis().div_euclid(1000);
        let to =
            self.to.millis().div_euclid(1000) + i64::from(self.to.millis().rem_euclid(1000) != 0);
        (from, to)
    }
}

/// Splits `[from, to]` (in any integer unit) into consecutive windows no
/// longer than `max_len`. Windows share their boundaries, because the
/// marketplaces treat both ends as inclusive or do not say; the few
/// duplicates this can return are removed by the caller's id de-duplication.
/// An empty or inverted range yields no window.
pub fn split_range(from: i64, to: i64, max_len: i64) -> Vec<(i64, i64)> {
    let mut windows = Vec::new();
    if to <= from || max_len <= 0 {
        return windows;
    }
    let mut start = from;
    while start < to {
        let end = start.saturating_add(max_len).min(to);
        windows.push((start, end));
        start = end;
    }
    windows
}

/// [`split_range`] in unix seconds with a [`Duration`] limit.
pub fn split_seconds(range: TimeRange, max: Option<Duration>) -> Vec<(i64, i64)> {
    let (from, to) = range.to_unix_seconds();
    match max {
        Some(max) => split_range(from, to, i64::try_from(max.as_secs()).unwrap_or(i64::MAX)),
        None if to > from => vec![(from, to)],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    /// From, to, limit, expected windows.
    type Case = (i64, i64, i64, &'static [(i64, i64)]);

    #[test]
    fn splits_into_windows_no_longer_than_the_limit() {
        let cases: &[Case] = &[
            (0, 15 * DAY, 15 * DAY, &[(0, 15 * DAY)]),
            (
                0,
                15 * DAY + 1,
                15 * DAY,
                &[(0, 15 * DAY), (15 * DAY, 15 * DAY + 1)],
            ),
            (
                100,
                100 + 40 * DAY,
                15 * DAY,
                &[
                    (100, 100 + 15 * DAY),
                    (100 + 15 * DAY, 100 + 30 * DAY),
                    (100 + 30 * DAY, 100 + 40 * DAY),
                ],
            ),
            (5, 6, 15 * DAY, &[(5, 6)]),
            (5, 5, 15 * DAY, &[]),
            (6, 5, 15 * DAY, &[]),
        ];
        for (from, to, max, want) in cases {
            let got = split_range(*from, *to, *max);
            assert_eq!(got, want.to_vec(), "{from}..{to} by {max}");
            for (a, b) in &got {
                assert!(b - a <= *max && a < b);
            }
        }
    }

    #[test]
    fn millisecond_ranges_widen_to_whole_seconds() {
        let r = TimeRange::new(Timestamp::from_millis(1_500), Timestamp::from_millis(3_001));
        assert_eq!(r.to_unix_seconds(), (1, 4));
        let r = TimeRange::new(Timestamp::from_millis(2_000), Timestamp::from_millis(3_000));
        assert_eq!(r.to_unix_seconds(), (2, 3));
        let w = split_seconds(
            TimeRange::new(
                Timestamp::from_millis(0),
                Timestamp::from_millis(31 * DAY * 1000),
            ),
            Some(Duration::from_secs(15 * 86_400)),
        );
        assert_eq!(
            w,
            vec![(0, 15 * DAY), (15 * DAY, 30 * DAY), (30 * DAY, 31 * DAY)]
        );
        assert_eq!(
            split_seconds(
                TimeRange::new(Timestamp::from_millis(0), Timestamp::from_millis(1000)),
                None
            ),
            vec![(0, 1)]
        );
    }
}
