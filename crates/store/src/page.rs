//! Keyset (cursor) pagination. The cursor is the id of the last row of the
//! previous page; ids are time-ordered UUIDv7, so "newest first" is simply
//! "id descending" and pages stay stable while rows are added.

/// Largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: Option<u32>,
    /// Opaque to callers: the last id of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub(crate) fn limit(&self) -> i64 {
        i64::from(self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT))
    }

    /// Upper bound for `id < cursor`; the largest possible id when absent.
    pub(crate) fn before(&self) -> String {
        self.cursor.clone().unwrap_or_else(|| "~".to_owned())
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from up to `limit + 1` fetched rows: the extra row only
    /// tells that another page exists.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: i64, id_of: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(&id_of)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}
