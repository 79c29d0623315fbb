//! Client-side pacing of marketplace calls, per (shop, API).
//!
//! Marketplaces count requests per API per shop (TikTok: 50 per second;
//! Shopee's one public figure: 1,000 a minute) and answer excess with a
//! throttle error. A client that only reacts to those answers wastes calls
//! and delays work by the ban; so every client sends each request through a
//! [`Pacer`] first: a sliding window per key that lets up to its number of
//! calls go at once and each further call only once a slot is free again —
//! a window after the call that held it *ended*.
//! Counting from the end rather than the start keeps every second, wherever
//! it starts and however late a request arrives, under the limit: the
//! marketplace saw the old call before its answer came back, and sees the
//! new one after it was sent. That is the strict reading of "N per second"
//! the sandboxes enforce; a token bucket of the same rate and burst lets
//! almost twice as many through in the second after an idle spell. A
//! throttle answer holds the key until the ban is over.
//!
//! Waiting is cheap to observe: [`measure_waits`] runs a future and reports
//! how long the pacer held its calls back, for the call log.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ChannelError;

tokio::task_local! {
    static WAITED_US: Cell<u64>;
    static PATIENCE: Duration;
}

/// Run `f`, whose calls wait for the pacer at most `patience` each: a call
/// that would wait longer is not sent and fails at once as throttled, with
/// the wait as its delay. For work whose numbers age while they wait (a
/// stock push planned now): better sent anew, planned again, than late.
pub async fn with_patience<F: Future>(patience: Duration, f: F) -> F::Output {
    PATIENCE.scope(patience, f).await
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

/// How long a throttled key is held when the marketplace names no delay.
pub const THROTTLE_BAN: Duration = Duration::from_secs(1);

/// Added to a window: a margin for clocks that count whole milliseconds.
const MARGIN: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub struct Pacer {
    /// Calls allowed in any one `window`.
    calls: usize,
    /// How long after a call ended its slot is free again (the limit's
    /// window and a margin).
    window: Duration,
    keys: Mutex<HashMap<(String, String), Slots>>,
}

#[derive(Debug, Default)]
struct Slots {
    /// Calls under way.
    in_flight: usize,
    /// When recent calls ended, oldest first (at most `calls`).
    ended: VecDeque<Instant>,
    /// No call before this (a throttle answer's ban).
    banned_until: Option<Instant>,
}

/// A call's place in its key's window, held until the call ends (dropped).
#[must_use = "the slot is given back when dropped: hold it for the call"]
#[derive(Debug)]
pub struct Slot<'a> {
    pacer: &'a Pacer,
    key: (String, String),
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut keys = self.pacer.lock();
        if let Some(k) = keys.get_mut(&self.key) {
            k.in_flight = k.in_flight.saturating_sub(1);
            k.ended.push_back(now);
            while k.ended.len() > self.pacer.calls {
                k.ended.pop_front();
            }
        }
    }
}

impl Pacer {
    /// `per_second` requests per (shop, API) in any one second.
    pub fn new(per_second: u32) -> Self {
        Self::per_window(per_second, Duration::from_secs(1))
    }

    /// `calls` requests per (shop, API) in any `window` (e.g. 1,000 a
    /// minute): a burst goes at once as long as the window has room.
    pub fn per_window(calls: u32, window: Duration) -> Self {
        Pacer {
            calls: calls.max(1) as usize,
            window: window + MARGIN,
            keys: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Slots>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take a slot for one call of `api` for `shop`, waiting until the key
    /// has one free; the slot is given back when the returned guard drops.
    pub async fn acquire(&self, shop: &str, api: &str) -> Slot<'_> {
        loop {
            // Without patience it is never refused.
            if let Ok(slot) = self.acquire_within(shop, api, None).await {
                return slot;
            }
        }
    }

    /// As [`Pacer::acquire`], but refused (with the wait it would need)
    /// when the key has no slot free within `patience`.
    async fn acquire_within(
        &self,
        shop: &str,
        api: &str,
        patience: Option<Duration>,
    ) -> Result<Slot<'_>, Duration> {
        let key = (shop.to_owned(), api.to_owned());
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let now = Instant::now();
                let mut keys = self.lock();
                if keys.len() > 10_000 {
                    // Keys idle for a window are free again: forget them.
                    keys.retain(|_, k| {
                        k.in_flight > 0
                            || k.banned_until.is_some_and(|b| b > now)
                            || k.ended.back().is_some_and(|t| *t + self.window > now)
                    });
                }
                let k = keys.entry(key.clone()).or_default();
                while k.ended.front().is_some_and(|t| *t + self.window <= now) {
                    k.ended.pop_front();
                }
                match k.banned_until {
                    Some(ban) if ban > now => ban - now,
                    _ if k.in_flight + k.ended.len() < self.calls => {
                        k.in_flight += 1;
                        break;
                    }
                    // The earliest a slot frees: a window after the oldest
                    // ended call, or after a call under way ends (not
                    // sooner than a window from now).
                    _ => k.ended.front().map_or(self.window, |t| {
                        (*t + self.window).saturating_duration_since(now)
                    }),
                }
            };
            if patience.is_some_and(|p| waited + wait > p) {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
        if !waited.is_zero() {
            let us = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
            // Outside `measure_waits` there is nobody to tell.
            let _ = WAITED_US.try_with(|c| c.set(c.get().saturating_add(us)));
        }
        Ok(Slot { pacer: self, key })
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
        let patience = PATIENCE.try_with(|p| *p).ok();
        let slot = self
            .acquire_within(shop, api, patience)
            .await
            .map_err(|wait| ChannelError::RateLimited {
                retry_after: Some(wait),
            })?;
        let result = call.await;
        drop(slot);
        if let Err(ChannelError::RateLimited { retry_after }) = &result {
            self.throttled(shop, api, retry_after.unwrap_or(THROTTLE_BAN));
        }
        result
    }

    /// The marketplace throttled `api` for `shop`: no call of it before
    /// `ban` has passed.
    pub fn throttled(&self, shop: &str, api: &str, ban: Duration) {
        let until = Instant::now() + ban;
        let mut keys = self.lock();
        let key = keys.entry((shop.to_owned(), api.to_owned())).or_default();
        key.banned_until = Some(key.banned_until.map_or(until, |b| b.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_per_minute_budget_lets_a_burst_through_and_then_holds() {
        let pacer = Pacer::per_window(50, Duration::from_secs(60));
        let (_, waited) = measure_waits(async {
            for _ in 0..50 {
                drop(pacer.acquire("shop", "update_stock").await);
            }
        })
        .await;
        assert_eq!(waited, Duration::ZERO, "fifty in a minute pass at once");
        // The fifty-first waits for the minute: not sent within a second.
        let next = tokio::time::timeout(
            Duration::from_secs(1),
            pacer.acquire("shop", "update_stock"),
        )
        .await;
        assert!(
            next.is_err(),
            "a call over the minute's budget was let through"
        );
    }

    #[tokio::test]
    async fn a_burst_passes_then_calls_are_spaced_at_the_rate() {
        let pacer = Pacer::new(100);
        let start = Instant::now();
        let (_, waited) = measure_waits(async {
            for _ in 0..100 {
                drop(pacer.acquire("shop", "update_stock").await);
            }
        })
        .await;
        assert_eq!(waited, Duration::ZERO, "one second's worth passes at once");
        let (_, waited) = measure_waits(async {
            for _ in 0..5 {
                drop(pacer.acquire("shop", "update_stock").await);
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
    async fn no_second_sees_more_than_the_rate_even_after_an_idle_spell() {
        let pacer = Pacer::new(10);
        let mut sent = Vec::new();
        for _ in 0..25 {
            drop(pacer.acquire("shop", "update_stock").await);
            sent.push(Instant::now());
        }
        // Any 11 consecutive calls span more than a second.
        for w in sent.windows(11) {
            assert!(w[10] - w[0] >= Duration::from_secs(1), "{:?}", w[10] - w[0]);
        }
    }

    #[tokio::test]
    async fn a_slot_is_free_again_a_window_after_its_call_ended() {
        let pacer = Pacer::new(1);
        let start = Instant::now();
        let slot = pacer.acquire("shop", "update_stock").await;
        // A slow call: the marketplace may have seen it as late as its end.
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(slot);
        drop(pacer.acquire("shop", "update_stock").await);
        assert!(
            start.elapsed() >= Duration::from_millis(1_200),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn a_throttle_answer_holds_the_key_for_the_ban() {
        let pacer = Pacer::new(50);
        pacer.throttled("shop", "update_stock", Duration::from_millis(200));
        let (_, waited) = measure_waits(pacer.acquire("shop", "update_stock")).await;
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
    }

    #[tokio::test]
    async fn an_impatient_call_is_refused_with_the_wait_instead_of_waiting() {
        let pacer = Pacer::new(50);
        pacer.throttled("shop", "update_stock", Duration::from_millis(400));
        let sent = std::sync::atomic::AtomicBool::new(false);
        let answer = with_patience(
            Duration::from_millis(100),
            pacer.call(Some("shop"), "update_stock", async {
                sent.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }),
        )
        .await;
        match answer {
            Err(ChannelError::RateLimited {
                retry_after: Some(wait),
            }) => assert!(wait > Duration::from_millis(300), "{wait:?}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(
            !sent.load(std::sync::atomic::Ordering::SeqCst),
            "never sent"
        );
        // Another key, or a wait within the patience, goes through.
        with_patience(
            Duration::from_millis(100),
            pacer.call(Some("other"), "update_stock", async { Ok(()) }),
        )
        .await
        .unwrap();
    }
}
