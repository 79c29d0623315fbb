//! The sandbox's notion of "now": an injected clock plus an adjustable skew (a fault knob).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use storesync_domain::{Clock, Timestamp};

/// The injected clock shifted by a skew that tests can set, to play a marketplace whose clock
/// disagrees with ours (the timestamp window checks then see the difference).
#[derive(Debug, Clone)]
pub struct SandboxClock {
    base: Arc<dyn Clock>,
    skew_ms: Arc<AtomicI64>,
}

impl SandboxClock {
    pub fn new(base: Arc<dyn Clock>) -> Self {
        SandboxClock {
            base,
            skew_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.base
            .now()
            .plus_millis(self.skew_ms.load(Ordering::Relaxed))
    }

    /// Unix seconds, the unit both Shopee and TikTok put on the wire.
    pub fn now_secs(&self) -> i64 {
        self.now().millis().div_euclid(1000)
    }

    pub fn set_skew_secs(&self, secs: i64) {
        self.skew_ms
            .store(secs.saturating_mul(1000), Ordering::Relaxed);
    }

    pub fn skew_secs(&self) -> i64 {
        self.skew_ms.load(Ordering::Relaxed) / 1000
    }
}
