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

use serde::Serialize;
use storesync_store as store;

/// One page of a list, newest first.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    pub queued: bool,
}

/// Convert every item of a list.
pub(crate) fn all<S, T: From<S>>(items: Vec<S>) -> Vec<T> {
    items.into_iter().map(T::from).collect()
}
