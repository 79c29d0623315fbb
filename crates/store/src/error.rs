//! Errors of the store, already translated into domain terms: callers never
//! see a raw constraint violation.

use serde::Serialize;
use storesync_domain::order::IllegalTransition;
use storesync_domain::ValidationError;

/// One SKU an order could not get enough stock for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortage {
    pub sku: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The entity does not exist in the caller's organization (which is also
    /// what another organization's ids look like).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with existing data (duplicate SKU, slug, …).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The caller's role does not allow this change (e.g. an admin touching
    /// an owner).
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("insufficient stock")]
    InsufficientStock(Vec<Shortage>),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("this idempotency key was already used for a different request")]
    IdempotencyMismatch,
    /// Stored data does not parse; a bug or manual tampering.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Whether the database gave up on the transaction because another one
    /// held what it needed: a deadlock or serialization failure on
    /// PostgreSQL (40P01, 40001), a busy or locked database on SQLite.
    /// Nothing was written; running the same transaction again succeeds.
    pub fn is_contention(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(e)) = self else {
            return false;
        };
        matches!(
            e.code().as_deref(),
            Some("40P01" | "40001" | "5" | "6" | "517" | "261" | "262")
        )
    }

    /// Whether the database refused the write because of a unique key.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}
