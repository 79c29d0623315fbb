//! The carrier and the buyer after the sale: picks up arranged shipments, delivers them,
//! completes delivered orders and lets unanswered cancellation requests lapse into
//! cancellations after configurable delays, so a long-running sandbox (the demo)
//! moves orders all the way through their life as a real marketplace does, each step pushed
//! like any other status change.

use serde::{Deserialize, Serialize};
use storesync_domain::Timestamp;

use crate::model::Rules;
use crate::model::{OrderAction, Stage, World};

/// Delays, in marketplace seconds (multiplied by the sandbox's time scale), before each step.
/// Off (all `None`) by default: tests move orders themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CarrierSettings {
    /// Arranged shipment → picked up (in transit).
    pub pickup_after_secs: Option<f64>,
    /// In transit → delivered.
    pub deliver_after_secs: Option<f64>,
    /// Delivered → completed (the buyer confirms receipt or the window closes).
    pub complete_after_secs: Option<f64>,
    /// A buyer's cancellation request the seller has not answered is accepted by the
    /// marketplace after this long, as Shopee does when the seller lets the window pass.
    pub accept_cancel_after_secs: Option<f64>,
}

impl CarrierSettings {
    /// The step an order in `stage` takes next, with its delay, if the carrier handles it.
    fn next(&self, stage: Stage) -> Option<(OrderAction, f64)> {
        match stage {
            Stage::Arranged => self.pickup_after_secs.map(|d| (OrderAction::Pickup, d)),
            Stage::Shipped => self.deliver_after_secs.map(|d| (OrderAction::Deliver, d)),
            Stage::Delivered => self.complete_after_secs.map(|d| (OrderAction::Complete, d)),
            Stage::InCancel => self
                .accept_cancel_after_secs
                .map(|d| (OrderAction::AcceptCancel, d)),
            _ => None,
        }
    }
}

/// Moves every order whose current stage has lasted its delay one step on.
pub(crate) fn carry(
    w: &mut World,
    proto: &dyn Rules,
    now: Timestamp,
    settings: &CarrierSettings,
    scale: f64,
) {
    if *settings == CarrierSettings::default() {
        return;
    }
    let due: Vec<(String, OrderAction)> = w
        .orders
        .values()
        .filter_map(|o| {
            let (action, delay_secs) = settings.next(o.stage)?;
            let delay_ms = (delay_secs.max(0.0) * 1000.0 * scale) as i64;
            (now.millis() - o.update_ms >= delay_ms).then(|| (o.id.clone(), action))
        })
        .collect();
    for (order_id, action) in due {
        // The order was in the stage the action expects a moment ago, under the same lock;
        // a refusal could only mean a model rule we do not want to override.
        w.advance(&order_id, action, None, proto, now).ok();
    }
}
