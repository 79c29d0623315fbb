//! Idempotency keys: an operation carrying a key runs once; a replay with the
//! same request returns the stored result, a replay with a different request
//! is refused. The key is claimed at the start of the operation's own
//! transaction, so two concurrent calls with one key cannot both apply.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use storesync_domain::ids::OrgId;
use storesync_domain::Timestamp;

use crate::db::Tx;
use crate::row::RowExt;
use crate::{Result, StoreError};

/// Stable fingerprint of a request, to tell a replay from a key reused for
/// something else.
pub(crate) fn request_hash<T: Serialize>(request: &T) -> String {
    let json = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// Outcome of claiming a key.
pub(crate) enum Claim<T> {
    /// First use: run the operation, then call [`finish`].
    Fresh,
    /// Already done: this is the stored result.
    Replay(T),
}

pub(crate) async fn claim<T: DeserializeOwned>(
    tx: &mut Tx,
    org: OrgId,
    scope: &str,
    key: &str,
    hash: &str,
    now: Timestamp,
) -> Result<Claim<T>> {
    // On PostgreSQL a concurrent claim of the same key waits here until the
    // first transaction ends, then sees its row.
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (org_id, scope, idem_key, request_hash, response, created_at) \
         VALUES ($1, $2, $3, $4, '', $5) ON CONFLICT (org_id, scope, idem_key) DO NOTHING",
    )
    .bind(org.to_string())
    .bind(scope)
    .bind(key)
    .bind(hash)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let row = sqlx::query(
        "SELECT request_hash, response FROM idempotency_keys \
         WHERE org_id = $1 AND scope = $2 AND idem_key = $3",
    )
    .bind(org.to_string())
    .bind(scope)
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    if row.text("request_hash")? != hash {
        return Err(StoreError::IdempotencyMismatch);
    }
    let stored = row.text("response")?;
    serde_json::from_str(&stored)
        .map(Claim::Replay)
        .map_err(|e| StoreError::Corrupt(format!("idempotent response: {e}")))
}

pub(crate) async fn finish<T: Serialize>(
    tx: &mut Tx,
    org: OrgId,
    scope: &str,
    key: &str,
    response: &T,
) -> Result<()> {
    let json = serde_json::to_string(response)
        .map_err(|e| StoreError::Corrupt(format!("idempotent response: {e}")))?;
    sqlx::query(
        "UPDATE idempotency_keys SET response = $4 WHERE org_id = $1 AND scope = $2 AND idem_key = $3",
    )
    .bind(org.to_string())
    .bind(scope)
    .bind(key)
    .bind(json)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
