//! The webhook dispatcher: the background task that sends the sandbox's queued pushes, retries
//! them on the marketplace's schedule (scaled by the sandbox's time scale), applies the
//! duplicate / drop / reorder faults and records every attempt.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{mpsc, watch};

use crate::error::SandboxError;
use crate::sandbox::Sandbox;
use crate::webhook::{Delivery, Outgoing, ACK_TIMEOUT};

/// The background task that sends pushes.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    rx: mpsc::UnboundedReceiver<Outgoing>,
    sandbox: Arc<Sandbox>,
    client: reqwest::Client,
}

impl Dispatcher {
    pub fn new(
        rx: mpsc::UnboundedReceiver<Outgoing>,
        sandbox: Arc<Sandbox>,
    ) -> Result<Self, SandboxError> {
        let client = reqwest::Client::builder()
            .timeout(ACK_TIMEOUT)
            .build()
            .map_err(SandboxError::Http)?;
        Ok(Dispatcher {
            rx,
            sandbox,
            client,
        })
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut held: Option<(u64, Outgoing)> = None;
        let mut next_id: u64 = 0;
        loop {
            // While a push is held back for reordering, wait only briefly for the next one.
            let received = if held.is_some() {
                tokio::select! {
                    m = self.rx.recv() => m.map(Some),
                    _ = tokio::time::sleep(Duration::from_millis(200)) => Some(None),
                    _ = stop.wait_for(|s| *s) => None,
                }
            } else {
                tokio::select! {
                    m = self.rx.recv() => m.map(Some),
                    _ = stop.wait_for(|s| *s) => None,
                }
            };
            let Some(received) = received else { break };
            let Some(msg) = received else {
                if let Some((id, m)) = held.take() {
                    self.launch(id, m, false);
                }
                continue;
            };
            next_id += 1;
            let id = next_id;
            let faults = self.sandbox.faults().webhooks;
            let (drop, dup) = {
                let mut rng = self.sandbox.fault_rng();
                (
                    faults.drop_rate > 0.0 && rng.gen::<f64>() < faults.drop_rate,
                    faults.duplicate_rate > 0.0 && rng.gen::<f64>() < faults.duplicate_rate,
                )
            };
            if drop {
                self.sandbox.record_delivery(Delivery {
                    push_id: id,
                    attempt: 0,
                    url: msg.url.clone(),
                    event: msg.event.clone(),
                    shop_id: msg.shop_id,
                    body: msg.body.clone(),
                    signature: msg.signature.clone(),
                    status: None,
                    error: Some("dropped by fault injection".to_owned()),
                    acknowledged: false,
                    at_ms: self.sandbox.now().millis(),
                    duplicate: false,
                    dropped: true,
                });
                if let Some(lost) = msg.lost {
                    self.sandbox.add_lost_push(lost);
                }
                continue;
            }
            if faults.reorder {
                match held.take() {
                    None => {
                        held = Some((id, msg));
                        continue;
                    }
                    Some((hid, hmsg)) => {
                        self.launch(id, msg.clone(), false);
                        if dup {
                            self.launch(id, msg, true);
                        }
                        self.launch(hid, hmsg, false);
                        continue;
                    }
                }
            }
            if let Some((hid, hmsg)) = held.take() {
                self.launch(hid, hmsg, false);
            }
            if dup {
                self.launch(id, msg.clone(), true);
            }
            self.launch(id, msg, false);
        }
    }

    /// Sends one push in its own task, retrying on the schedule until acknowledged.
    fn launch(&self, id: u64, msg: Outgoing, duplicate: bool) {
        let client = self.client.clone();
        let sandbox = Arc::clone(&self.sandbox);
        tokio::spawn(async move {
            let mut attempt: u32 = 0;
            loop {
                let result = client
                    .post(&msg.url)
                    .header("content-type", "application/json")
                    .header("authorization", &msg.signature)
                    .timeout(sandbox.proto().ack_timeout())
                    .body(msg.body.clone())
                    .send()
                    .await;
                let (status, error) = match result {
                    Ok(r) => (Some(r.status().as_u16()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let acknowledged = status.is_some_and(|s| sandbox.acknowledges(s));
                sandbox.record_delivery(Delivery {
                    push_id: id,
                    attempt,
                    url: msg.url.clone(),
                    event: msg.event.clone(),
                    shop_id: msg.shop_id,
                    body: msg.body.clone(),
                    signature: msg.signature.clone(),
                    status,
                    error,
                    acknowledged,
                    at_ms: sandbox.now().millis(),
                    duplicate,
                    dropped: false,
                });
                if acknowledged {
                    return;
                }
                let Some(delay) = sandbox.proto().push_retry_secs().get(attempt as usize) else {
                    if let Some(lost) = msg.lost.clone() {
                        sandbox.add_lost_push(lost);
                    }
                    return;
                };
                attempt += 1;
                let scaled = (*delay as f64) * sandbox.time_scale();
                tokio::time::sleep(Duration::from_secs_f64(scaled.max(0.0))).await;
            }
        });
    }
}
