//! Round trips between the real marketplace clients and the sandboxes: the
//! client's signing, paths, envelopes and error handling must be accepted
//! by, and correctly read, an independently written simulator.
#![allow(clippy::unwrap_used)]

mod lazada;
mod shopee;
mod tiktok;

/// Fires `calls` concurrent calls made by `call`, more than the marketplace
/// takes in a second: every one must succeed (the client's pacer kept the
/// burst under the sandbox's default limit) and together they take at least
/// a second.
pub async fn assert_burst_is_paced<F, Fut, T, E>(calls: usize, call: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let started = std::time::Instant::now();
    for r in futures_util::future::join_all((0..calls).map(|_| call())).await {
        r.unwrap();
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "{calls} calls were paced"
    );
}
