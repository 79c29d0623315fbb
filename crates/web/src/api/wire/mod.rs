//! The API's wire format: every request body and response body that crosses
//! `/api/v1`, as web types. Store and domain types never go over the wire
//! themselves; each type here converts from (responses) or into (requests)
//! its store counterpart, so the JSON can stay put while the store changes.
//! The OpenAPI document derives its schemas from these same types.

pub mod accounts;
pub mod catalog;
pub mod inventory;
pub mod jobs;
pub mod listings;
pub mod orders;
pub mod shops;

use schemars::JsonSchema;
use serde::Serialize;
use storesync_store as store;

/// One page of a list, newest first.
#[derive(Debug, JsonSchema, Clone, Serialize)]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<S, T: From<S>> From<store::Page<S>> for Page<T> {
    fn from(p: store::Page<S>) -> Self {
        Page {
            items: p.items.into_iter().map(T::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// The answer when work was queued rather than done: `{"queued": true}`.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Queued {
    pub queued: bool,
}

/// The answer to a webhook delivery.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct WebhookReceipt {
    pub received: bool,
    /// True when this delivery was stored before (a marketplace's retry).
    pub duplicate: bool,
}

/// A marketplace's push, exactly as it sends it. Never parsed into this
/// type: the signature covers the raw bytes, so the handler reads bytes.
#[derive(Debug)]
pub struct WebhookPush;

impl JsonSchema for WebhookPush {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "WebhookPush".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "description": "the marketplace's push exactly as it sends it; the signature covers the raw bytes"
        })
    }
}

/// Every error answer: `{"error": {"code", "message", "details"?}}`.
#[derive(Debug, JsonSchema, Clone, Serialize)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct ErrorDetail {
    /// Stable, machine-readable code (e.g. `insufficient_stock`).
    pub code: String,
    /// For people; never describes internals.
    pub message: String,
    /// More about the error, e.g. the fields that failed validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Convert every item of a list.
pub(crate) fn all<S, T: From<S>>(items: Vec<S>) -> Vec<T> {
    items.into_iter().map(T::from).collect()
}
