//! Faults on demand: added latency, injected 5xx answers and timeouts, per-(shop, API) rate
//! limits, clock skew and webhook mischief. All off by default except the rate limits, which
//! follow each marketplace's documented (or publicly reported) limit unless turned off.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// What the sandbox does wrong on purpose. Set through `PUT /__sandbox/faults` or
/// [`crate::Sandbox::set_faults`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every marketplace API call, in real milliseconds.
    pub latency_ms: u64,
    /// Fraction of API calls answered with a server error in the marketplace's envelope
    /// (Shopee HTTP 500 `error_server`; TikTok HTTP 500 code 36009003).
    pub error_rate: f64,
    /// Fraction of API calls held for `timeout_ms` and then answered HTTP 504 (Shopee
    /// `error_network`; TikTok code 36009007), so a client with a shorter timeout times out.
    pub timeout_rate: f64,
    /// How long a "timed out" call is held (real ms); 0 means 30 000.
    pub timeout_ms: u64,
    /// Requests allowed per (shop, API) in any one second; excess calls get the marketplace's
    /// throttle answer. `None` = the marketplace's own limit ([`crate::documented_limit`]).
    pub rate_limit_qps: Option<u32>,
    /// How long a (shop, API) that went over the limit stays refused, in seconds. `None` = the
    /// marketplace's own ban (Lazada: 1 s; the others refuse only the excess calls).
    pub rate_limit_ban_secs: Option<u32>,
    /// No rate limit at all: for tests about something else that send bursts on purpose.
    pub rate_limit_off: bool,
    /// Shift of the sandbox clock against the injected clock, in seconds (positive = ahead).
    pub clock_skew_secs: i64,
    pub webhooks: WebhookFaults,
}

/// Webhook delivery faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookFaults {
    /// Fraction of pushes sent twice.
    pub duplicate_rate: f64,
    /// Fraction of pushes never sent (Shopee keeps them for `get_lost_push_message`).
    pub drop_rate: f64,
    /// Hold each push until the next one has been sent, so consecutive pushes arrive swapped.
    pub reorder: bool,
}

impl FaultConfig {
    pub(crate) fn timeout_hold_ms(&self) -> u64 {
        if self.timeout_ms == 0 {
            30_000
        } else {
            self.timeout_ms
        }
    }

    pub(crate) fn injects_errors(&self) -> bool {
        self.error_rate > 0.0 || self.timeout_rate > 0.0
    }

    /// The limit in force, if any, for a marketplace whose own limit is `documented`
    /// (see [`crate::documented_limit`]).
    pub fn rate_limit(&self, documented: RateLimit) -> Option<RateLimit> {
        if self.rate_limit_off {
            return None;
        }
        Some(match self.rate_limit_qps {
            Some(qps) => RateLimit {
                calls: qps,
                window_secs: 1,
                ban_secs: self.rate_limit_ban_secs.unwrap_or(documented.ban_secs),
            },
            None => RateLimit {
                ban_secs: self.rate_limit_ban_secs.unwrap_or(documented.ban_secs),
                ..documented
            },
        })
    }
}

/// A per-(shop, API) request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Calls allowed in any `window_secs` seconds.
    pub calls: u32,
    /// The window the calls are counted over (1: calls per second; Shopee's
    /// one public figure is per minute).
    pub window_secs: u32,
    /// Seconds a key stays refused after going over (0: only the excess calls are refused).
    pub ban_secs: u32,
}

/// A fault decided for one call before it is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    ServerError,
    Timeout,
}

/// A sliding window per (shop, API), counted on the sandbox clock so tests with a manual clock
/// are deterministic. A sliding window (rather than calendar seconds) is the strict reading of
/// "N requests per second" (or minute): no window, wherever it starts, sees more than N.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    keys: HashMap<(u64, String), Window>,
}

#[derive(Debug, Default)]
struct Window {
    /// Times (ms) of the calls let through in the last window, oldest first.
    recent: VecDeque<i64>,
    /// Refused until this time (ms) after going over, when the marketplace bans.
    banned_until_ms: i64,
}

impl RateLimiter {
    /// Counts the call; `Some(seconds)` when it is refused, with how long the refusal lasts
    /// (at least 1, as marketplaces word it).
    pub fn hit(&mut self, shop: u64, api: &str, now_ms: i64, limit: RateLimit) -> Option<u32> {
        if self.keys.len() > 10_000 {
            // Keys idle for a window are free again: forget them.
            let window_ms = i64::from(limit.window_secs.max(1)) * 1000;
            self.keys.retain(|_, w| {
                w.banned_until_ms > now_ms
                    || w.recent.back().is_some_and(|t| *t > now_ms - window_ms)
            });
        }
        let w = self.keys.entry((shop, api.to_owned())).or_default();
        if w.banned_until_ms > now_ms {
            let left = (w.banned_until_ms - now_ms + 999) / 1000;
            return Some(u32::try_from(left).unwrap_or(u32::MAX).max(1));
        }
        let window_ms = i64::from(limit.window_secs.max(1)) * 1000;
        while w.recent.front().is_some_and(|t| *t <= now_ms - window_ms) {
            w.recent.pop_front();
        }
        if w.recent.len() >= limit.calls as usize {
            if limit.ban_secs > 0 {
                w.banned_until_ms = now_ms + i64::from(limit.ban_secs) * 1000;
            }
            return Some(limit.ban_secs.max(1));
        }
        w.recent.push_back(now_ms);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: RateLimit = RateLimit {
        calls: 2,
        window_secs: 1,
        ban_secs: 0,
    };

    #[test]
    fn limiter_windows() {
        let mut l = RateLimiter::default();
        assert_eq!(l.hit(1, "a", 10_000, TWO), None);
        assert_eq!(l.hit(1, "a", 10_500, TWO), None);
        assert_eq!(l.hit(1, "a", 10_900, TWO), Some(1));
        assert_eq!(
            l.hit(2, "a", 10_900, TWO),
            None,
            "other shops have their own budget"
        );
        assert_eq!(
            l.hit(1, "b", 10_900, TWO),
            None,
            "other APIs have their own budget"
        );
        assert_eq!(
            l.hit(1, "a", 11_000, TWO),
            None,
            "the first call left the window"
        );
        assert_eq!(
            l.hit(1, "a", 11_200, TWO),
            Some(1),
            "a second that starts between calendar seconds counts too"
        );
    }

    #[test]
    fn a_ban_refuses_every_call_until_it_ends() {
        let mut l = RateLimiter::default();
        let ban = RateLimit {
            calls: 1,
            window_secs: 1,
            ban_secs: 2,
        };
        assert_eq!(l.hit(1, "a", 0, ban), None);
        assert_eq!(l.hit(1, "a", 100, ban), Some(2));
        assert_eq!(l.hit(1, "a", 1_500, ban), Some(1), "still banned");
        assert_eq!(l.hit(1, "a", 2_100, ban), None);
    }
}
