//! The sign-in limiter and the sign-in entries of the audit log.
//!
//! The limiter lives in the database so it holds across every `serve`
//! process of an installation. An attempt is *claimed* before the password
//! is checked, with one conditional upsert per key that only succeeds while
//! the key is under its limit, so parallel attempts cannot all slip through
//! a check that runs before the (slow) verify. A claim that turns out to be
//! a correct password is given back; a wrong one stays, as a failure. Keys
//! are stored as SHA-256 hashes, so a row has the same size whatever the
//! input, and rows past their window are pruned.

use sha2::{Digest, Sha256};
use storesync_domain::ids::{OrgId, UserId};

use crate::audit::{record, Actor, Audit, AuditEntry};
use crate::row::RowExt;
use crate::tenancy::AuthUser;
use crate::{Result, Store};

/// Audit action of a failed sign-in.
pub const SIGN_IN_FAILED: &str = "auth.sign_in_failed";

/// What the limiter counts attempts under.
#[derive(Debug, Clone, Copy)]
pub enum SigninKey<'a> {
    /// A normalized email, known to us or not.
    Account(&'a str),
    /// A client address.
    Address(&'a str),
    /// An address that signed in to an account before.
    KnownAddress { account: &'a str, address: &'a str },
}

impl SigninKey<'_> {
    fn hash(&self) -> String {
        let text = match self {
            SigninKey::Account(a) => format!("account\n{a}"),
            SigninKey::Address(a) => format!("address\n{a}"),
            SigninKey::KnownAddress { account, address } => {
                format!("known\n{account}\n{address}")
            }
        };
        hex::encode(Sha256::digest(text.as_bytes()))
    }
}

/// At most `max_attempts` failed (or in-flight) attempts per `window_ms`.
#[derive(Debug, Clone, Copy)]
pub struct SigninLimit {
    pub max_attempts: i64,
    pub window_ms: i64,
}

/// Where a sign-in came from, as the audit log records it.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub address: String,
    pub user_agent: String,
}

impl ClientMeta {
    fn summary(&self) -> serde_json::Value {
        serde_json::json!({ "client_address": self.address, "user_agent": self.user_agent })
    }
}

impl Store {
    /// Claim one attempt under every key, each within its limit — all of
    /// them or none (`false`: the caller must refuse the attempt). Keys are
    /// claimed in the order given; callers keep one order (account before
    /// address) so two claims never wait on each other's rows in a cycle.
    pub async fn claim_signin_attempt(
        &self,
        claims: &[(SigninKey<'_>, SigninLimit)],
    ) -> Result<bool> {
        let now = self.now().millis();
        let mut tx = self.begin().await?;
        for (key, limit) in claims {
            // A row whose window is over starts a new one; a row under its
            // limit counts one more; a row at its limit is left alone and
            // returns nothing.
            let claimed = sqlx::query(
                "INSERT INTO signin_limits (key_hash, attempts, expires_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (key_hash) DO UPDATE SET \
                 attempts = CASE WHEN signin_limits.expires_at <= $3 THEN 1 \
                   ELSE signin_limits.attempts + 1 END, \
                 expires_at = CASE WHEN signin_limits.expires_at <= $3 THEN $2 \
                   ELSE signin_limits.expires_at END \
                 WHERE signin_limits.expires_at <= $3 OR signin_limits.attempts < $4 \
                 RETURNING attempts",
            )
            .bind(key.hash())
            .bind(now + limit.window_ms)
            .bind(now)
            .bind(limit.max_attempts)
            .fetch_optional(&mut *tx)
            .await?;
            if claimed.is_none() {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        self.prune_signin_limits(now).await;
        Ok(true)
    }

    /// Give back an attempt claimed under each key (it was a correct
    /// password, not a failure).
    pub async fn release_signin_attempt(&self, keys: &[SigninKey<'_>]) -> Result<()> {
        for key in keys {
            sqlx::query(
                "UPDATE signin_limits SET attempts = attempts - 1 \
                 WHERE key_hash = $1 AND attempts > 0",
            )
            .bind(key.hash())
            .execute(&self.write)
            .await?;
        }
        Ok(())
    }

    /// Remember that `address` signed in to `account`, for `keep_ms`.
    pub async fn remember_signin_address(
        &self,
        account: &str,
        address: &str,
        keep_ms: i64,
    ) -> Result<()> {
        let key = SigninKey::KnownAddress { account, address };
        sqlx::query(
            "INSERT INTO signin_limits (key_hash, attempts, expires_at) VALUES ($1, 0, $2) \
             ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(key.hash())
        .bind(self.now().millis() + keep_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Whether `address` signed in to `account` recently.
    pub async fn is_known_signin_address(&self, account: &str, address: &str) -> Result<bool> {
        let key = SigninKey::KnownAddress { account, address };
        let row =
            sqlx::query("SELECT 1 FROM signin_limits WHERE key_hash = $1 AND expires_at > $2")
                .bind(key.hash())
                .bind(self.now().millis())
                .fetch_optional(&self.read)
                .await?;
        Ok(row.is_some())
    }

    /// Rows whose window is over. A failure here only leaves old rows for
    /// the next claim to delete, so it is logged, not returned.
    async fn prune_signin_limits(&self, now: i64) {
        let pruned = sqlx::query("DELETE FROM signin_limits WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.write)
            .await;
        if let Err(e) = pruned {
            tracing::warn!(error = %e, "pruning sign-in limits failed");
        }
    }

    /// Open a session for a sign-in and write its audit row, together.
    pub async fn open_signed_in_session(
        &self,
        id_hash: &str,
        user: UserId,
        email: &str,
        org: OrgId,
        absolute_lifetime_ms: i64,
        client: &ClientMeta,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, org_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(id_hash)
        .bind(user.to_string())
        .bind(org.to_string())
        .bind(now.millis())
        .bind(now.plus_millis(absolute_lifetime_ms).millis())
        .execute(&mut *tx)
        .await?;
        let entry = Audit {
            action: "auth.sign_in",
            entity_type: "user",
            entity_id: user.to_string(),
            summary: client.summary(),
        };
        record(&mut tx, now, org, &Actor::user(user, email), entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record a failed sign-in in the audit log of every organization the
    /// account belongs to. An unknown email belongs to none: it is logged
    /// (hashed) and counted by the limiter like any other, and the caller
    /// answers both the same way.
    pub async fn record_failed_sign_in(
        &self,
        user: Option<(UserId, &str)>,
        client: &ClientMeta,
    ) -> Result<()> {
        let Some((user, email)) = user else {
            tracing::info!(
                client_address = %client.address,
                "failed sign-in for an email with no account"
            );
            return Ok(());
        };
        let now = self.now();
        let mut tx = self.begin().await?;
        let orgs = sqlx::query("SELECT org_id FROM memberships WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&mut *tx)
            .await?;
        for row in &orgs {
            let org: OrgId = row.parse("org_id")?;
            let entry = Audit {
                action: SIGN_IN_FAILED,
                entity_type: "user",
                entity_id: user.to_string(),
                summary: client.summary(),
            };
            record(&mut tx, now, org, &Actor::user(user, email), entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// End a session (sign-out) and write the audit row, together. An
    /// unknown or expired session changes nothing.
    pub async fn close_signed_in_session(&self, id_hash: &str, client: &ClientMeta) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT s.user_id, s.org_id, u.email FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        if let Some(row) = row {
            let user: UserId = row.parse("user_id")?;
            let org: OrgId = row.parse("org_id")?;
            let email = row.text("email")?;
            let entry = Audit {
                action: "auth.sign_out",
                entity_type: "user",
                entity_id: user.to_string(),
                summary: client.summary(),
            };
            record(&mut tx, now, org, &Actor::user(user, &email), entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Set the caller's own new password, end every session of theirs and
    /// write the audit row (in the organization they are working in),
    /// together.
    pub async fn change_own_password(
        &self,
        user: &AuthUser,
        password_hash: &str,
        client: &ClientMeta,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user.user_id.to_string())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(crate::StoreError::NotFound("user"));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        let entry = Audit {
            action: "auth.password_changed",
            entity_type: "user",
            entity_id: user.user_id.to_string(),
            summary: client.summary(),
        };
        record(&mut tx, self.now(), user.org_id, &user.actor(), entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A wrong current password given to a password change.
    pub async fn record_failed_password_change(
        &self,
        user: &AuthUser,
        client: &ClientMeta,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let entry = Audit {
            action: "auth.password_change_failed",
            entity_type: "user",
            entity_id: user.user_id.to_string(),
            summary: client.summary(),
        };
        record(&mut tx, self.now(), user.org_id, &user.actor(), entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organization's most recent failed sign-ins (of its members),
    /// newest first.
    pub async fn recent_failed_sign_ins(&self, org: OrgId, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log WHERE org_id = $1 AND action = $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(org.to_string())
        .bind(SIGN_IN_FAILED)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(AuditEntry::from_row).collect()
    }
}
