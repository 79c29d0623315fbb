//! Faults on demand: added latency, injected 5xx answers and timeouts, per-(shop, API) rate
//! limits, clock skew and webhook mischief. All off by default.

use std::collections::HashMap;

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
    /// Requests per second allowed per (shop, API); excess calls get the marketplace's
    /// throttle answer. TikTok's published limit is 50. `None` = unlimited.
    pub rate_limit_qps: Option<u32>,
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
}

/// A fault decided for one call before it is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    ServerError,
    Timeout,
}

/// Fixed one-second windows per (shop, API), counted on the sandbox clock so tests with a
/// manual clock are deterministic.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    windows: HashMap<(u64, String), (i64, u32)>,
}

impl RateLimiter {
    /// Counts the call and says whether it exceeds `qps` in the current second.
    pub fn hit(&mut self, shop: u64, api: &str, now_secs: i64, qps: u32) -> bool {
        let entry = self
            .windows
            .entry((shop, api.to_owned()))
            .or_insert((now_secs, 0));
        if entry.0 != now_secs {
            *entry = (now_secs, 0);
        }
        entry.1 += 1;
        entry.1 > qps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_windows() {
        let mut l = RateLimiter::default();
        assert!(!l.hit(1, "a", 10, 2));
        assert!(!l.hit(1, "a", 10, 2));
        assert!(l.hit(1, "a", 10, 2));
        assert!(!l.hit(2, "a", 10, 2), "other shops have their own budget");
        assert!(!l.hit(1, "b", 10, 2), "other APIs have their own budget");
        assert!(!l.hit(1, "a", 11, 2), "a new second starts afresh");
    }
}
