//! How people come to have an account and a membership: invitations,
//! password resets, sign-ups, and the outbound mail that carries their links.
//!
//! Nobody but the person ever sets or learns their password. An invitation,
//! a reset and a sign-up each carry a random token that only the invited
//! address receives (or, from the CLI, the operator of the installation); the
//! database keeps its SHA-256 hash only, and the mail that carries it is a
//! durable job enqueued in the same transaction, sealed with the key ring.

use sqlx::any::AnyRow;
use storesync_crypto::Aad;
use storesync_domain::ids::{InvitationId, OrgId, UserId};
use storesync_domain::{Role, Timestamp, ValidationError};

use crate::audit::{self, Actor, Audit};
use crate::db::Tx;
use crate::jobs::{enqueue_in, NewJob};
use crate::row::RowExt;
use crate::tenancy::{insert_org, normalize_email, Org, User};
use crate::{Result, Store, StoreError};

/// The job kind that sends one email.
pub const MAIL_JOB: &str = "mail.send";
/// An invitation can be accepted for this long.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// A password reset link works for this long.
pub const RESET_TTL_MS: i64 = 3600 * 1000;
/// A sign-up link works for this long.
pub const SIGNUP_TTL_MS: i64 = 24 * 3600 * 1000;
/// Mail-sending requests (resets, sign-ups) allowed per address and kind
/// within [`MAIL_REQUEST_WINDOW_MS`].
pub const MAIL_REQUESTS_PER_ADDRESS: i64 = 3;
/// Mail-sending requests of one kind allowed for the whole installation
/// within the window, so the form cannot be used to spray mail.
pub const MAIL_REQUESTS_TOTAL: i64 = 500;
pub const MAIL_REQUEST_WINDOW_MS: i64 = 3600 * 1000;

/// One email to send. The body carries a secret link, so `Debug` leaves it
/// out and the job stores the mail encrypted.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &"[redacted]")
            .finish()
    }
}

const MAIL_COLUMN: &str = "jobs.mail";

/// Enqueue `mail` as a job in the caller's transaction.
async fn enqueue_mail_in(
    store: &Store,
    tx: &mut Tx,
    now: Timestamp,
    org: Option<OrgId>,
    mail: &Mail,
) -> Result<()> {
    let mail_id = InvitationId::new().to_string();
    // The whole mail is sealed: the body holds a one-time link, and the
    // address is nobody's business who may list the organization's jobs.
    let sealed = serde_json::json!({ "to": mail.to, "subject": mail.subject, "body": mail.body });
    let sealed = store
        .keys
        .encrypt_str(
            &sealed.to_string(),
            &Aad {
                org: "",
                record: &mail_id,
                column: MAIL_COLUMN,
            },
        )
        .map_err(|e| StoreError::Corrupt(format!("cannot encrypt a mail: {e}")))?;
    let payload = serde_json::json!({ "mail_id": mail_id, "mail": sealed });
    let mut job = NewJob::new(MAIL_JOB, payload).max_attempts(8);
    if let Some(org) = org {
        job = job.org(org);
    }
    enqueue_in(tx, &job, now).await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Invitation {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Invitation {
            id: r.parse("id")?,
            org_id: r.parse("org_id")?,
            email: r.text("email")?,
            role: r.parse("role")?,
            invited_by: r.text("invited_by_label")?,
            created_at: r.time("created_at")?,
            expires_at: r.time("expires_at")?,
            accepted_at: r.opt_time("accepted_at")?,
            revoked_at: r.opt_time("revoked_at")?,
        })
    }
}

/// A pending invitation found by its token, with what its page shows.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub invitation: Invitation,
    pub org: Org,
    /// Whether the invited email already has an account (then the person
    /// signs in with their own password to accept).
    pub account_exists: bool,
}

/// A sign-up waiting for its link to be followed.
#[derive(Debug, Clone)]
pub struct PendingSignup {
    pub email: String,
    pub org_slug: String,
    pub org_name: String,
    pub expires_at: Timestamp,
}

/// The only rule about who may touch owners: an owner's membership, and the
/// owner role itself, are changed only by owners.
pub fn may_manage(by: Role, target_current: Option<Role>, target_new: Option<Role>) -> bool {
    let touches_owner = target_current == Some(Role::Owner) || target_new == Some(Role::Owner);
    !touches_owner || by == Role::Owner
}

fn owner_only() -> StoreError {
    StoreError::Forbidden("only an owner may change owners or grant the owner role")
}

impl Store {
    /// Invite `email` to `org` as `role`. Earlier pending invitations of the
    /// same address are revoked; `mail` (which carries the token's link) is
    /// sent by a job enqueued with it. `by_role` is the inviter's role: only
    /// owners invite owners.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_invitation(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        token_hash: &str,
        mail: Option<&Mail>,
        by_role: Role,
        actor: &Actor,
    ) -> Result<Invitation> {
        let email = normalize_email(email)?;
        if !may_manage(by_role, None, Some(role)) {
            return Err(owner_only());
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        let member = sqlx::query(
            "SELECT 1 AS one FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND u.email = $2",
        )
        .bind(org.to_string())
        .bind(&email)
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_some() {
            return Err(StoreError::conflict(
                "member_exists",
                format!("{email} is already a member of this organization"),
            ));
        }
        sqlx::query(
            "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND email = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(org.to_string())
        .bind(&email)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        let inv = Invitation {
            id: InvitationId::new(),
            org_id: org,
            email,
            role,
            invited_by: actor.label.clone(),
            created_at: now,
            expires_at: now.plus_millis(INVITATION_TTL_MS),
            accepted_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO invitations (org_id, id, email, role, token_hash, invited_by, \
             invited_by_label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org.to_string())
        .bind(inv.id.to_string())
        .bind(&inv.email)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(actor.user_id.map(|u| u.to_string()))
        .bind(&inv.invited_by)
        .bind(now.millis())
        .bind(inv.expires_at.millis())
        .execute(&mut *tx)
        .await?;
        if let Some(mail) = mail {
            // The link goes to the invited address and nowhere else.
            let mail = Mail {
                to: inv.email.clone(),
                ..mail.clone()
            };
            enqueue_mail_in(self, &mut tx, now, Some(org), &mail).await?;
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "invitation.create",
                entity_type: "invitation",
                entity_id: inv.id.to_string(),
                summary: serde_json::json!({ "after": { "email": inv.email, "role": role } }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(inv)
    }

    /// Invitations of the organization not yet accepted, revoked or expired.
    pub async fn list_invitations(&self, org: OrgId) -> Result<Vec<Invitation>> {
        let rows = sqlx::query(
            "SELECT * FROM invitations WHERE org_id = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 ORDER BY id DESC",
        )
        .bind(org.to_string())
        .bind(self.now().millis())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(Invitation::from_row).collect()
    }

    /// Withdraw a pending invitation; its link stops working.
    pub async fn revoke_invitation(
        &self,
        org: OrgId,
        id: InvitationId,
        by_role: Role,
        actor: &Actor,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT role FROM invitations WHERE org_id = $1 AND id = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("invitation"))?;
        let role: Role = row.parse("role")?;
        if !may_manage(by_role, Some(role), None) {
            return Err(owner_only());
        }
        sqlx::query("UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "invitation.revoke",
                entity_type: "invitation",
                entity_id: id.to_string(),
                summary: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pending invitation a token belongs to; expired, used and revoked
    /// ones are answered like unknown tokens.
    pub async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<InvitationView>> {
        let row = sqlx::query(
            "SELECT * FROM invitations WHERE token_hash = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(self.now().millis())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let invitation = Invitation::from_row(&row)?;
        let org = self.org(invitation.org_id).await?;
        let account_exists = sqlx::query("SELECT 1 AS one FROM users WHERE email = $1")
            .bind(&invitation.email)
            .fetch_optional(&self.read)
            .await?
            .is_some();
        Ok(Some(InvitationView {
            invitation,
            org,
            account_exists,
        }))
    }

    /// Use up an invitation inside `tx`: only one caller can, and only while
    /// it is pending.
    async fn claim_invitation(tx: &mut Tx, token_hash: &str, now: Timestamp) -> Result<Invitation> {
        let row = sqlx::query(
            "SELECT * FROM invitations WHERE token_hash = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("invitation"))?;
        let inv = Invitation::from_row(&row)?;
        let n = sqlx::query(
            "UPDATE invitations SET accepted_at = $2 WHERE token_hash = $1 AND accepted_at IS NULL \
             AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now.millis())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound("invitation"));
        }
        Ok(inv)
    }

    async fn join_from_invitation(
        tx: &mut Tx,
        inv: &Invitation,
        user: &User,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE invitations SET accepted_by = $3 WHERE org_id = $1 AND id = $2")
            .bind(inv.org_id.to_string())
            .bind(inv.id.to_string())
            .bind(user.id.to_string())
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind(inv.org_id.to_string())
        .bind(user.id.to_string())
        .bind(inv.role.as_str())
        .bind(now.millis())
        .execute(&mut **tx)
        .await?;
        audit::record(
            tx,
            now,
            inv.org_id,
            &Actor::user(user.id, &user.email),
            Audit {
                action: "invitation.accept",
                entity_type: "user",
                entity_id: user.id.to_string(),
                summary: serde_json::json!({
                    "invitation": inv.id,
                    "after": { "email": user.email, "role": inv.role },
                }),
            },
        )
        .await
    }

    /// Accept an invitation for an email that has no account yet: the
    /// person has just chosen `password_hash` on the invitation page.
    pub async fn accept_invitation_new_account(
        &self,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<(User, OrgId)> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let inv = Self::claim_invitation(&mut tx, token_hash, now).await?;
        let user = insert_new_user(
            &mut tx,
            &inv.email,
            password_hash,
            now,
            "this email has an account: sign in with it to accept the invitation",
        )
        .await?;
        Self::join_from_invitation(&mut tx, &inv, &user, now).await?;
        tx.commit().await?;
        Ok((user, inv.org_id))
    }

    /// Accept an invitation as the signed-in `user`, whose email must be the
    /// invited one (anyone else is answered as if the invitation did not
    /// exist).
    pub async fn accept_invitation_as(&self, token_hash: &str, user: UserId) -> Result<OrgId> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let inv = Self::claim_invitation(&mut tx, token_hash, now).await?;
        let row = sqlx::query("SELECT id, email, created_at FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        let user = User {
            id: row.parse("id")?,
            email: row.text("email")?,
            created_at: row.time("created_at")?,
        };
        if user.email != inv.email {
            // Dropping the transaction rolls the claim back.
            return Err(StoreError::Forbidden(
                "this invitation is for another email address",
            ));
        }
        Self::join_from_invitation(&mut tx, &inv, &user, now).await?;
        tx.commit().await?;
        Ok(inv.org_id)
    }

    /// Count a mail-sending request for `email` (of `kind`) and say whether
    /// it is within the limits. Counted the same whether or not the address
    /// has an account.
    async fn mail_request_allowed(
        tx: &mut Tx,
        kind: &str,
        email: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let since = now.millis() - MAIL_REQUEST_WINDOW_MS;
        // Old counts are of no use; dropping them keeps the table small.
        sqlx::query("DELETE FROM mail_requests WHERE kind = $1 AND created_at < $2")
            .bind(kind)
            .bind(since)
            .execute(&mut **tx)
            .await?;
        let counts = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS total, \
             CAST(COALESCE(SUM(CASE WHEN email = $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS mine \
             FROM mail_requests WHERE kind = $1 AND created_at >= $3",
        )
        .bind(kind)
        .bind(email)
        .bind(since)
        .fetch_one(&mut **tx)
        .await?;
        if counts.int("mine")? >= MAIL_REQUESTS_PER_ADDRESS
            || counts.int("total")? >= MAIL_REQUESTS_TOTAL
        {
            return Ok(false);
        }
        sqlx::query("INSERT INTO mail_requests (kind, email, created_at) VALUES ($1, $2, $3)")
            .bind(kind)
            .bind(email)
            .bind(now.millis())
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// Someone asked for a password reset of `email`. When the address has
    /// an account and the request is within the limits, a reset with
    /// `token_hash` is recorded and `mail` (carrying its link) enqueued.
    /// The caller answers the same whatever happened here, so the answer
    /// tells nobody whether the address has an account.
    pub async fn request_password_reset(
        &self,
        email: &str,
        token_hash: &str,
        mail: &Mail,
    ) -> Result<()> {
        let Ok(email) = normalize_email(email) else {
            return Ok(());
        };
        let now = self.now();
        let mut tx = self.begin().await?;
        if !Self::mail_request_allowed(&mut tx, "reset", &email, now).await? {
            tx.commit().await?;
            return Ok(());
        }
        let user = sqlx::query("SELECT id FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = user {
            let user_id: UserId = row.parse("id")?;
            sqlx::query(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(user_id.to_string())
            .bind(now.millis())
            .bind(now.plus_millis(RESET_TTL_MS).millis())
            .execute(&mut *tx)
            .await?;
            let mail = Mail {
                to: email,
                ..mail.clone()
            };
            enqueue_mail_in(self, &mut tx, now, None, &mail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether a reset token is usable (for showing its form).
    pub async fn password_reset_valid(&self, token_hash: &str) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 AS one FROM password_resets WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(self.now().millis())
        .fetch_optional(&self.read)
        .await?
        .is_some())
    }

    /// Set a new password through a reset link: once per link, within its
    /// hour. Every session of the person ends, and their other reset links
    /// stop working.
    pub async fn reset_password(&self, token_hash: &str, password_hash: &str) -> Result<UserId> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("reset link"))?;
        let user: UserId = row.parse("user_id")?;
        let n = sqlx::query(
            "UPDATE password_resets SET used_at = $3 WHERE user_id = $1 AND used_at IS NULL \
             AND (token_hash = $2 OR expires_at > $3)",
        )
        .bind(user.to_string())
        .bind(token_hash)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("reset link"));
        }
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user.to_string())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Someone asked to sign up with a new organization. Nothing but the
    /// pending request exists until the link in the mail is followed. An
    /// address that already has an account gets `existing_mail` instead
    /// (pointing to sign-in and reset), so the answer is the same for both.
    #[allow(clippy::too_many_arguments)]
    pub async fn request_signup(
        &self,
        email: &str,
        org_slug: &str,
        org_name: &str,
        token_hash: &str,
        new_mail: &Mail,
        existing_mail: &Mail,
    ) -> Result<()> {
        let email = normalize_email(email)?;
        crate::tenancy::validate_slug(org_slug)?;
        let org_name = org_name.trim();
        if org_name.is_empty() || org_name.chars().count() > 100 {
            return Err(ValidationError::field("org_name", "1–100 characters").into());
        }
        let now = self.now();
        let mut tx = self.begin().await?;
        if !Self::mail_request_allowed(&mut tx, "signup", &email, now).await? {
            tx.commit().await?;
            return Ok(());
        }
        let exists = sqlx::query("SELECT 1 AS one FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let mail = if exists {
            existing_mail
        } else {
            sqlx::query(
                "INSERT INTO signups (token_hash, email, org_slug, org_name, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_hash)
            .bind(&email)
            .bind(org_slug)
            .bind(org_name)
            .bind(now.millis())
            .bind(now.plus_millis(SIGNUP_TTL_MS).millis())
            .execute(&mut *tx)
            .await?;
            new_mail
        };
        let mail = Mail {
            to: email,
            ..mail.clone()
        };
        enqueue_mail_in(self, &mut tx, now, None, &mail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn signup_by_token(&self, token_hash: &str) -> Result<Option<PendingSignup>> {
        let row = sqlx::query(
            "SELECT * FROM signups WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(self.now().millis())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(PendingSignup {
                email: r.text("email")?,
                org_slug: r.text("org_slug")?,
                org_name: r.text("org_name")?,
                expires_at: r.time("expires_at")?,
            })
        })
        .transpose()
    }

    /// Follow a sign-up link: the account (with the password just chosen),
    /// the organization and its owner membership come into existence
    /// together, once.
    pub async fn complete_signup(
        &self,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<(User, Org)> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let pending = sqlx::query(
            "SELECT * FROM signups WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("sign-up link"))?;
        let n = sqlx::query(
            "UPDATE signups SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(token_hash)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound("sign-up link"));
        }
        let user = insert_new_user(
            &mut tx,
            &pending.text("email")?,
            password_hash,
            now,
            "this email has an account already: sign in instead",
        )
        .await?;
        let actor = Actor::user(user.id, &user.email);
        let org = insert_org(
            &mut tx,
            now,
            &pending.text("org_slug")?,
            &pending.text("org_name")?,
            &actor,
        )
        .await?;
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(org.id.to_string())
        .bind(user.id.to_string())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((user, org))
    }

    /// The mail a `mail.send` job carries, decrypted.
    pub fn open_mail(&self, payload: &serde_json::Value) -> Result<Mail> {
        let field = |v: &serde_json::Value, name: &str| {
            v.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| StoreError::Corrupt(format!("mail job without {name}")))
        };
        let mail_id = field(payload, "mail_id")?;
        let opened = self
            .keys
            .decrypt_string(
                &field(payload, "mail")?,
                &Aad {
                    org: "",
                    record: &mail_id,
                    column: MAIL_COLUMN,
                },
            )
            .map_err(|e| StoreError::Corrupt(format!("cannot decrypt a mail: {e}")))?;
        let mail: serde_json::Value = serde_json::from_str(opened.expose())
            .map_err(|e| StoreError::Corrupt(format!("sealed mail: {e}")))?;
        Ok(Mail {
            to: field(&mail, "to")?,
            subject: field(&mail, "subject")?,
            body: field(&mail, "body")?,
        })
    }
}

/// Create the account of a person who proved they own `email` (they followed a mailed link).
/// An email that has an account meanwhile is a conflict saying `taken`, never a second user.
async fn insert_new_user(
    tx: &mut Tx,
    email: &str,
    password_hash: &str,
    now: Timestamp,
    taken: &'static str,
) -> Result<User> {
    let user = User {
        id: UserId::new(),
        email: email.to_owned(),
        created_at: now,
    };
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(password_hash)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::conflict("account_exists", taken));
    }
    Ok(user)
}
