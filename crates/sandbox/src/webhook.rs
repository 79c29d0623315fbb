//! Webhook pushes as data: a push ready to send, the record of one delivery attempt and the
//! queue the sandbox puts pushes on. Sending them (retries on the marketplace's schedule,
//! duplicate / drop / reorder faults) is the dispatcher's work in `dispatch.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::model::LostPush;

/// How long a receiver has to answer by default (Shopee and TikTok: 3 s; Lazada overrides it
/// with 500 ms through its protocol).
pub(crate) const ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// A push ready to send: exact body bytes and the headers carrying its signature.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub url: String,
    pub body: String,
    pub signature: String,
    pub event: String,
    pub shop_id: Option<u64>,
    /// Shopee only: what `get_lost_push_message` returns if the push never gets through.
    pub lost: Option<LostPush>,
}

/// One delivery attempt (or a push the faults swallowed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Sequence number of the push; duplicates share it.
    pub push_id: u64,
    /// 0 for the first attempt, 1.. for retries.
    pub attempt: u32,
    pub url: String,
    pub event: String,
    pub shop_id: Option<u64>,
    pub body: String,
    /// The `Authorization` header value sent.
    pub signature: String,
    /// HTTP status answered by the receiver, if any.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub acknowledged: bool,
    /// The sandbox clock when the attempt was made, unix ms.
    pub at_ms: i64,
    pub duplicate: bool,
    pub dropped: bool,
}

/// The sending half, owned by the sandbox.
#[derive(Debug, Clone)]
pub(crate) struct WebhookQueue {
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl WebhookQueue {
    pub fn enqueue(&self, msg: Outgoing) {
        // The receiver lives as long as the server; after shutdown pushes are simply not sent.
        let _ = self.tx.send(msg);
    }
}

pub(crate) fn channel() -> (WebhookQueue, mpsc::UnboundedReceiver<Outgoing>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (WebhookQueue { tx }, rx)
}
