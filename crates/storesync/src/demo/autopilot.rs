//! The demo's seller at work: a client of StoreSync's own REST API, signed in with an API token
//! of its own member (`autopilot@…`), that ships ready orders after a packing delay and
//! restocks SKUs running low with a supplier receipt. Together with the buyers and the
//! sandboxes' carrier it keeps stock, orders and sync moving for hours, and everything it does
//! is recorded under its own name in the audit log and the order timelines.
//!
//! It talks only to StoreSync, as a person at the dashboard would; the marketplace calls its
//! actions cause are StoreSync's durable jobs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use storesync_domain::{Clock, Timestamp};
use tokio::sync::watch;

use super::catalog;

/// How the autopilot paces itself, in real time (the demo scales it with `--time-scale`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long an order waits to be packed before it is shipped.
    pub ship_after: Duration,
    /// How often it looks for work.
    pub every: Duration,
    /// A SKU at or below this many available units is restocked.
    pub restock_at: i64,
}

#[derive(Debug)]
pub struct Autopilot {
    http: reqwest::Client,
    base: String,
    token: String,
    settings: Settings,
    clock: Arc<dyn Clock>,
    /// Orders asked to ship, so a shipment the marketplace has not confirmed yet is not asked
    /// for again.
    shipping: HashSet<String>,
    receipts: u64,
}

#[derive(Debug, Deserialize)]
struct OrderPage {
    items: Vec<OrderRow>,
}

#[derive(Debug, Deserialize)]
struct OrderRow {
    id: String,
    placed_at: Timestamp,
}

#[derive(Debug, Deserialize)]
struct Inventory {
    totals: Totals,
}

#[derive(Debug, Deserialize)]
struct Totals {
    available: i64,
}

impl Autopilot {
    pub fn new(base: &str, token: &str, settings: Settings, clock: Arc<dyn Clock>) -> Autopilot {
        Autopilot {
            http: reqwest::Client::new(),
            base: format!("{base}/api/v1"),
            token: token.to_owned(),
            settings,
            clock,
            shipping: HashSet::new(),
            receipts: 0,
        }
    }

    /// Works until `stop` turns true. A failed round is logged and the next one tries again.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut interval = tokio::time::interval(self.settings.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = self.ship_ready().await {
                tracing::warn!(error = %e, "demo autopilot: shipping round failed");
            }
            if let Err(e) = self.restock().await {
                tracing::warn!(error = %e, "demo autopilot: restocking round failed");
            }
        }
    }

    /// Ships every order that has waited its packing delay.
    async fn ship_ready(&mut self) -> anyhow::Result<()> {
        let page: OrderPage = self
            .http
            .get(format!("{}/orders", self.base))
            .query(&[("status", "ready_to_ship"), ("limit", "200")])
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let started = Instant::now();
        let now = self.clock.now();
        let packed_ms = i64::try_from(self.settings.ship_after.as_millis()).unwrap_or(i64::MAX);
        let ready: HashSet<String> = page.items.iter().map(|o| o.id.clone()).collect();
        // Orders that left `ready_to_ship` (shipped or cancelled) need no more watching.
        self.shipping.retain(|id| ready.contains(id));
        for order in page.items {
            if now.millis() - order.placed_at.millis() < packed_ms
                || self.shipping.contains(&order.id)
            {
                continue;
            }
            // The marketplace assigns the carrier and tracking number for its orders.
            let answer = self
                .http
                .post(format!("{}/orders/{}/ship", self.base, order.id))
                .bearer_auth(&self.token)
                .json(&json!({ "carrier": "", "tracking_number": "" }))
                .send()
                .await?;
            if answer.status().is_success() {
                self.shipping.insert(order.id);
            } else {
                // A buyer may have cancelled in between: the next round sees the new status.
                tracing::debug!(order = %order.id, status = %answer.status(), "demo autopilot: not shipped");
            }
            if started.elapsed() > self.settings.every * 4 {
                break;
            }
        }
        Ok(())
    }

    /// Receives a supplier delivery for every SKU running low.
    async fn restock(&mut self) -> anyhow::Result<()> {
        for (sku, delivery) in catalog::stocked_skus() {
            let answer = self
                .http
                .get(format!("{}/inventory", self.base))
                .query(&[("sku", sku)])
                .bearer_auth(&self.token)
                .send()
                .await?;
            if !answer.status().is_success() {
                // Not imported yet.
                continue;
            }
            let inv: Inventory = answer.json().await?;
            if inv.totals.available > self.settings.restock_at {
                continue;
            }
            self.receipts += 1;
            let po = format!("PO-{:05}", self.receipts);
            self.http
                .post(format!("{}/inventory/adjustments", self.base))
                .bearer_auth(&self.token)
                .json(&json!({
                    "sku": sku,
                    "delta": delivery,
                    "reason": format!("Receipt from supplier CV Sumber Sandang ({po})"),
                    "idempotency_key": format!("demo-receipt-{sku}-{}-{po}", self.clock.now().millis()),
                }))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(())
    }
}
