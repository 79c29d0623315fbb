//! REST API v1 handlers. Each is thin: typed extractors (caller with role,
//! path, body) → one store call → JSON. Ids that do not parse are simply not
//! found, exactly like another organization's ids.

pub mod accounts;
pub mod admin;
pub mod catalog;
pub mod inventory;
pub mod jobs;
pub mod listings;
pub mod orders;
pub mod shops;
pub mod webhooks;
pub mod wire;

use std::str::FromStr;

use serde::Deserialize;
use storesync_store::PageRequest;

use crate::error::ApiError;

/// Parse an id from the path; a malformed id is "not found".
pub(crate) fn parse_id<T: FromStr>(raw: &str, what: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(what))
}

/// `?limit=&cursor=` on list endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl From<&PageQuery> for PageRequest {
    fn from(q: &PageQuery) -> Self {
        PageRequest {
            limit: q.limit,
            cursor: q.cursor.clone(),
        }
    }
}
