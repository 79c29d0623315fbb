//! The buyer simulator: a background task that places orders at each shop's configured rate,
//! only for what a listing currently shows in stock, and plans some buyer cancellations. It also
//! drives the time-based events of the sandbox (expiry warnings, planned cancellations).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use storesync_domain::Timestamp;
use tokio::sync::watch;

use crate::model::{OrderLineSpec, PlaceOrder, World};
use crate::protocol::Protocol;
use crate::sandbox::Sandbox;

/// Upper bound of orders one shop places in one tick, so a huge rate cannot stall the lock.
const MAX_ORDERS_PER_TICK: u64 = 1_000;

/// Buyers cancel within this time after ordering (TikTok lets them cancel freely in the first
/// hour; staying inside it keeps TikTok cancellations immediate). Scaled by the time scale.
const CANCEL_WINDOW_MS: f64 = 55.0 * 60.0 * 1000.0;

pub(crate) async fn run(sandbox: Arc<Sandbox>, tick_ms: u64, mut stop: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_millis(tick_ms.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let elapsed = last.elapsed().as_secs_f64();
        last = Instant::now();
        let scale = sandbox.time_scale();
        let carrier = sandbox.carrier();
        sandbox.with_world(|w, now| {
            buy(w, sandbox.proto(), now, elapsed, scale);
            crate::carrier::carry(w, sandbox.rules(), now, &carrier, scale);
            w.tick(sandbox.rules(), now);
        });
    }
}

/// Places the orders that are due for every shop with buyers.
pub(crate) fn buy(
    w: &mut World,
    proto: &dyn Protocol,
    now: Timestamp,
    elapsed_secs: f64,
    scale: f64,
) {
    let shops: Vec<u64> = w
        .shops
        .values()
        .filter(|s| s.buyers.orders_per_sec > 0.0)
        .map(|s| s.id)
        .collect();
    for shop_id in shops {
        let Some(shop) = w.shops.get_mut(&shop_id) else {
            continue;
        };
        shop.buyer_credit += shop.buyers.orders_per_sec * elapsed_secs;
        let n = (shop.buyer_credit.floor() as u64).min(MAX_ORDERS_PER_TICK);
        shop.buyer_credit -= n as f64;
        let settings = shop.buyers.clone();
        let region = shop.region.clone();
        let products = shop.products.clone();
        for _ in 0..n {
            // Buyers only see listed SKUs with stock on the listing.
            let candidates: Vec<(u64, i64)> = products
                .iter()
                .filter_map(|pid| w.products.get(pid))
                .filter(|p| p.listed)
                .flat_map(|p| p.variants.iter().map(|v| (v.id, v.total())))
                .filter(|(_, total)| *total > 0)
                .collect();
            if candidates.is_empty() {
                if let Some(s) = w.shops.get_mut(&shop_id) {
                    s.buyer_credit = 0.0;
                }
                break;
            }
            let (variant_id, shown) = candidates[w.rng.gen_range(0..candidates.len())];
            let max_q = settings.max_quantity.max(1).min(shown);
            let quantity = w.rng.gen_range(1..=max_q);
            let commerce_platform = proto.buyer_platform(&region, &settings, &mut w.rng);
            let req = PlaceOrder {
                lines: vec![OrderLineSpec {
                    seller_sku: None,
                    variant_id: Some(variant_id),
                    quantity,
                }],
                unpaid: false,
                commerce_platform,
            };
            let Ok(order) = w.place_order(shop_id, &req, proto.rules(), now) else {
                continue;
            };
            if settings.cancel_rate > 0.0 && w.rng.gen::<f64>() < settings.cancel_rate {
                let delay = (w.rng.gen::<f64>() * CANCEL_WINDOW_MS * scale) as i64;
                w.cancel_schedule
                    .push((now.millis() + delay, order.order_id));
            }
        }
    }
}
