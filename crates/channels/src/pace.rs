//! Client-side pacing of marketplace calls, per (shop, API).
//!
//! Marketplaces count requests per API per shop (TikTok: 50 per second) and
//! answer excess with a throttle error. A client that only reacts to those
//! answers wastes calls and delays work by the ban; so every client sends
//! each request through a [`Pacer`] first: a generic cell rate algorithm
//! (one "theoretical arrival time" per key) that lets a burst of up to one
//! second's worth through at once and then spaces calls at the rate. A
//! throttle answer pushes the key's next slot past the ban.
//!
//! Waiting is cheap to observe: [`measure_waits`] runs a future and reports
//! how long the pacer held its calls back, for the call log.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ChannelError;

tokio::task_local! {
    static WAITED_US: Cell<u64>;
}

/// Run `f`, returning its output and the time its calls waited for pacing.
pub async fn measure_waits<F: Future>(f: F) -> (F::Output, Duration) {
    WAITED_US
        .scope(Cell::new(0), async move {
            let out = f.await;
            let us = WAITED_US.try_with(Cell::get).unwrap_or(0);
            (out, Duration::from_micros(us))
        })
        .await
}

#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    /// How far ahead of now a key's next slot may be and still pass at once.
    burst: Duration,
    next: Mutex<HashMap<(String, String), Instant>>,
}

impl Pacer {
    /// `per_second` requests per (shop, API), in bursts of up to as many.
    pub fn new(per_second: u32) -> Self {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        Pacer {
            interval,
            burst: interval * (per_second - 1),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Take a slot for one call of `api` for `shop`, waiting if the key is
    /// ahead of its rate.
    pub async fn acquire(&self, shop: &str, api: &str) {
        let wait = {
            let now = Instant::now();
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            if next.len() > 10_000 {
                // Keys long past are free again: forget them.
                next.retain(|_, at| *at > now);
            }
            let tat = next.entry((shop.to_owned(), api.to_owned())).or_insert(now);
            let start = (*tat).max(now);
            let allowed = start.checked_sub(self.burst).unwrap_or(now).max(now);
            *tat = start + self.interval;
            allowed.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            let us = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
            // Outside `measure_waits` there is nobody to tell.
            let _ = WAITED_US.try_with(|c| c.set(c.get().saturating_add(us)));
        }
    }

    /// Run one call of `api` for `shop` (unpaced without a shop: app-level
    /// calls such as token exchanges), noting a throttle answer.
    pub async fn call<T>(
        &self,
        shop: Option<&str>,
        api: &str,
        call: impl Future<Output = Result<T, ChannelError>>,
    ) -> Result<T, ChannelError> {
        let Some(shop) = shop else {
            return call.await;
        };
        self.acquire(shop, api).await;
        let result = call.await;
        if let Err(ChannelError::RateLimited { retry_after }) = &result {
            self.throttled(shop, api, retry_after.unwrap_or(Duration::from_secs(1)));
        }
        result
    }

    /// The marketplace throttled `api` for `shop`: no call of it before
    /// `ban` has passed.
    pub fn throttled(&self, shop: &str, api: &str, ban: Duration) {
        let now = Instant::now();
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let tat = next.entry((shop.to_owned(), api.to_owned())).or_insert(now);
        *tat = (*tat).max(now + ban + self.burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_passes_then_calls_are_spaced_at_the_rate() {
        let pacer = Pacer::new(100);
        let start = Instant::now();
        let (_, waited) = measure_waits(async {
            for _ in 0..100 {
                pacer.acquire("shop", "update_stock").await;
            }
        })
        .await;
        assert_eq!(waited, Duration::ZERO, "one second's worth passes at once");
        let (_, waited) = measure_waits(async {
            for _ in 0..5 {
                pacer.acquire("shop", "update_stock").await;
            }
        })
        .await;
        assert!(waited >= Duration::from_millis(40), "{waited:?}");
        assert!(start.elapsed() >= Duration::from_millis(40));
        // Other shops and other APIs have their own budget.
        let (_, waited) = measure_waits(pacer.acquire("other", "update_stock")).await;
        assert_eq!(waited, Duration::ZERO);
        let (_, waited) = measure_waits(pacer.acquire("shop", "get_order_detail")).await;
        assert_eq!(waited, Duration::ZERO);
    }

    #[tokio::test]
    async fn a_throttle_answer_holds_the_key_for_the_ban() {
        let pacer = Pacer::new(50);
        pacer.throttled("shop", "update_stock", Duration::from_millis(200));
        let (_, waited) = measure_waits(pacer.acquire("shop", "update_stock")).await;
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
    }
}
