//! Organizations, users, memberships, sessions and API tokens.
//!
//! Users are global (one email, one password) and belong to organizations
//! through memberships that carry their role. Sessions and API tokens are
//! stored only as hashes of their secret values.

use sqlx::any::AnyRow;
use storesync_domain::ids::{ApiTokenId, LocationId, OrgId, UserId};
use storesync_domain::{Role, Timestamp, ValidationError};

use crate::audit::{self, Actor, Audit};
use crate::db::Tx;
use crate::row::RowExt;
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone)]
pub struct Org {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub created_at: Timestamp,
}

impl Org {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Org {
            id: r.parse("id")?,
            slug: r.text("slug")?,
            name: r.text("name")?,
            timezone: r.text("timezone")?,
            created_at: r.time("created_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub org: Org,
    pub role: Role,
}

/// An authenticated caller within one organization.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub email: String,
    pub org_id: OrgId,
    pub role: Role,
    /// Set when the caller authenticated with an API token.
    pub token_id: Option<ApiTokenId>,
}

impl AuthUser {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            token_id: self.token_id,
            label: self.email.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiTokenInfo {
    pub id: ApiTokenId,
    pub name: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiTokenInfo {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(ApiTokenInfo {
            id: r.parse("id")?,
            name: r.text("name")?,
            user_id: r.parse("user_id")?,
            created_at: r.time("created_at")?,
            last_used_at: r.opt_time("last_used_at")?,
            revoked_at: r.opt_time("revoked_at")?,
        })
    }
}

/// A live session as found by its id hash.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: AuthUser,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub(crate) fn validate_slug(slug: &str) -> Result<(), ValidationError> {
    let ok = (2..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::field(
            "slug",
            "2–40 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

/// Lower-cased, trimmed email with a minimal sanity check.
pub(crate) fn normalize_email(email: &str) -> Result<String, ValidationError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(ValidationError::field("email", "not a valid email address"))
    }
}

const AUTH_USER_COLUMNS: &str =
    "u.id AS user_id, u.email AS email, m.org_id AS org_id, m.role AS role";

fn auth_user_from_row(r: &AnyRow, token_id: Option<ApiTokenId>) -> Result<AuthUser> {
    Ok(AuthUser {
        user_id: r.parse("user_id")?,
        email: r.text("email")?,
        org_id: r.parse("org_id")?,
        role: r.parse("role")?,
        token_id,
    })
}

/// Insert an organization with its default location `main`, in the
/// caller's transaction.
pub(crate) async fn insert_org(
    tx: &mut Tx,
    now: Timestamp,
    slug: &str,
    name: &str,
    actor: &Actor,
) -> Result<Org> {
    validate_slug(slug)?;
    let name = name.trim();
    let mut errors = ValidationError::new();
    storesync_domain::validation::check_text(&mut errors, "name", name);
    errors.into_result()?;
    if name.is_empty() {
        return Err(ValidationError::field("name", "must not be empty").into());
    }
    let org = Org {
        id: OrgId::new(),
        slug: slug.to_owned(),
        name: name.to_owned(),
        timezone: "UTC".to_owned(),
        created_at: now,
    };
    let inserted = sqlx::query(
        "INSERT INTO orgs (id, slug, name, timezone, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(org.id.to_string())
    .bind(&org.slug)
    .bind(&org.name)
    .bind(&org.timezone)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::conflict(
            "org_exists",
            format!("an organization with slug {slug:?} already exists"),
        ));
    }
    sqlx::query(
        "INSERT INTO locations (org_id, id, code, name, is_default, created_at) \
         VALUES ($1, $2, 'main', 'Main warehouse', 1, $3)",
    )
    .bind(org.id.to_string())
    .bind(LocationId::new().to_string())
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        now,
        org.id,
        actor,
        Audit {
            action: "org.create",
            entity_type: "org",
            entity_id: org.id.to_string(),
            summary: serde_json::json!({ "after": { "slug": org.slug, "name": org.name } }),
        },
    )
    .await?;
    Ok(org)
}

impl Store {
    /// Create an organization with its default location `main`.
    pub async fn create_org(&self, slug: &str, name: &str, actor: &Actor) -> Result<Org> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let org = insert_org(&mut tx, now, slug, name, actor).await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn org_by_slug(&self, slug: &str) -> Result<Org> {
        let row = sqlx::query("SELECT * FROM orgs WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound("organization"))?;
        Org::from_row(&row)
    }

    /// Every organization (for admin commands that sweep all of them).
    pub async fn all_orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query("SELECT * FROM orgs ORDER BY slug")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(Org::from_row).collect()
    }

    pub async fn org(&self, id: OrgId) -> Result<Org> {
        let row = sqlx::query("SELECT * FROM orgs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound("organization"))?;
        Org::from_row(&row)
    }

    /// Create an account for an email that has none and make it a member
    /// of `org`: how the operator bootstraps an organization's first owner
    /// (CLI, demo, tests). An email that already has an account is a
    /// conflict: its person joins other organizations only by accepting an
    /// invitation, so nobody else ever sets or learns their password.
    pub async fn add_member(
        &self,
        org: OrgId,
        email: &str,
        password_hash: Option<String>,
        role: Role,
        actor: &Actor,
    ) -> Result<User> {
        let email = normalize_email(email)?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let user = User {
            id: UserId::new(),
            email: email.clone(),
            created_at: now,
        };
        let created = sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO NOTHING",
        )
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(password_hash)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created == 0 {
            return Err(StoreError::conflict(
                "account_exists",
                format!("{email} already has an account; invite it instead"),
            ));
        }
        let inserted = sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind(org.to_string())
        .bind(user.id.to_string())
        .bind(role.as_str())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::conflict(
                "member_exists",
                format!("{email} is already a member of this organization"),
            ));
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "member.add",
                entity_type: "user",
                entity_id: user.id.to_string(),
                summary: serde_json::json!({ "after": { "email": email, "role": role } }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Change a member's role, or with `None` remove them from the
    /// organization. `by_role` is the caller's role: only owners change or
    /// remove owners or grant the owner role ([`crate::accounts::may_manage`]),
    /// and the last owner can be neither demoted nor removed. The API and the
    /// dashboard both come here, so they cannot disagree.
    pub async fn set_member_role(
        &self,
        org: OrgId,
        user: UserId,
        role: Option<Role>,
        by_role: Role,
        actor: &Actor,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        // On PostgreSQL the owner rows are locked, so two owners demoting
        // each other at once cannot both see the other still an owner.
        let lock = self.backend().for_update();
        let owners: Vec<String> = sqlx::query(&format!(
            "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner'{lock}"
        ))
        .bind(org.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.text("user_id"))
        .collect::<Result<_>>()?;
        let current: Role =
            sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org.to_string())
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("member"))?
                .parse("role")?;
        if !crate::accounts::may_manage(by_role, Some(current), role) {
            return Err(StoreError::Forbidden(
                "only an owner may change owners or grant the owner role",
            ));
        }
        if current == Role::Owner && role != Some(Role::Owner) && owners.len() <= 1 {
            return Err(StoreError::conflict(
                "last_owner",
                "the organization must keep at least one owner".to_owned(),
            ));
        }
        match role {
            Some(r) => {
                sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
                    .bind(org.to_string())
                    .bind(user.to_string())
                    .bind(r.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM sessions WHERE org_id = $1 AND user_id = $2")
                    .bind(org.to_string())
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await?;
                // Their API tokens of this organization are revoked, not
                // just inert while they are away: a later invitation must
                // not bring old tokens back to life.
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND user_id = $2 \
                     AND revoked_at IS NULL",
                )
                .bind(org.to_string())
                .bind(user.to_string())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                    .bind(org.to_string())
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: if role.is_some() { "member.role" } else { "member.remove" },
                entity_type: "user",
                entity_id: user.to_string(),
                summary: serde_json::json!({ "before": { "role": current }, "after": { "role": role } }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Set the organization's time zone (pages show times in it).
    pub async fn set_org_timezone(&self, org: OrgId, zone: &str, actor: &Actor) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE orgs SET timezone = $2 WHERE id = $1")
            .bind(org.to_string())
            .bind(zone)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "org.timezone",
                entity_type: "org",
                entity_id: org.to_string(),
                summary: serde_json::json!({ "after": { "timezone": zone } }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's id and password hash, for sign-in.
    pub async fn credentials(&self, email: &str) -> Result<Option<(UserId, Option<String>)>> {
        let Ok(email) = normalize_email(email) else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((r.parse("id")?, r.opt_text("password_hash")?)))
            .transpose()
    }

    pub async fn set_password(&self, user: UserId, password_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user.to_string())
            .bind(password_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("user"));
        }
        // A new password ends every other session of the user.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Organizations the user belongs to, oldest membership first.
    pub async fn memberships(&self, user: UserId) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT o.*, m.role AS role FROM memberships m JOIN orgs o ON o.id = m.org_id \
             WHERE m.user_id = $1 ORDER BY m.created_at, o.slug",
        )
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Membership {
                    org: Org::from_row(r)?,
                    role: r.parse("role")?,
                })
            })
            .collect()
    }

    /// The caller as a member of `org`, if they are one.
    pub async fn auth_user(&self, user: UserId, org: OrgId) -> Result<Option<AuthUser>> {
        let row = sqlx::query(&format!(
            "SELECT {AUTH_USER_COLUMNS} FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.user_id = $1 AND m.org_id = $2"
        ))
        .bind(user.to_string())
        .bind(org.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| auth_user_from_row(&r, None)).transpose()
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user: UserId,
        org: OrgId,
        absolute_lifetime_ms: i64,
    ) -> Result<Timestamp> {
        let now = self.now();
        let expires = now.plus_millis(absolute_lifetime_ms);
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, org_id, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(id_hash)
        .bind(user.to_string())
        .bind(org.to_string())
        .bind(now.millis())
        .bind(expires.millis())
        .execute(&self.write)
        .await?;
        Ok(expires)
    }

    /// Find a live session. Sessions idle longer than `idle_ms` or past their
    /// absolute expiry are deleted and not returned. Activity is recorded at
    /// most once a minute to keep reads cheap.
    pub async fn session(&self, id_hash: &str, idle_ms: i64) -> Result<Option<SessionInfo>> {
        let now = self.now();
        let row = sqlx::query(&format!(
            "SELECT {AUTH_USER_COLUMNS}, s.created_at AS s_created, s.last_seen_at AS s_seen, \
             s.expires_at AS s_expires FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             JOIN memberships m ON m.user_id = s.user_id AND m.org_id = s.org_id \
             WHERE s.id_hash = $1"
        ))
        .bind(id_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let seen = row.time("s_seen")?;
        let expires = row.time("s_expires")?;
        if now >= expires || now.millis() - seen.millis() > idle_ms {
            self.delete_session(id_hash).await?;
            return Ok(None);
        }
        if now.millis() - seen.millis() > 60_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(id_hash)
                .bind(now.millis())
                .execute(&self.write)
                .await?;
        }
        Ok(Some(SessionInfo {
            user: auth_user_from_row(&row, None)?,
            created_at: row.time("s_created")?,
            expires_at: expires,
        }))
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Move a session to another organization the user belongs to.
    pub async fn switch_session_org(&self, id_hash: &str, org: OrgId) -> Result<()> {
        sqlx::query("UPDATE sessions SET org_id = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(org.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Record a new API token for `user` in `org`; only its hash is stored.
    pub async fn create_api_token(
        &self,
        org: OrgId,
        user: UserId,
        name: &str,
        token_hash: &str,
        actor: &Actor,
    ) -> Result<ApiTokenInfo> {
        let name = name.trim();
        let mut errors = ValidationError::new();
        storesync_domain::validation::check_text(&mut errors, "name", name);
        errors.into_result()?;
        if name.is_empty() || name.len() > 100 {
            return Err(ValidationError::field("name", "1–100 characters").into());
        }
        let now = self.now();
        let info = ApiTokenInfo {
            id: ApiTokenId::new(),
            name: name.to_owned(),
            user_id: user,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.begin().await?;
        let member =
            sqlx::query("SELECT 1 AS one FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org.to_string())
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if member.is_none() {
            return Err(StoreError::NotFound("user"));
        }
        sqlx::query(
            "INSERT INTO api_tokens (org_id, id, user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.to_string())
        .bind(info.id.to_string())
        .bind(user.to_string())
        .bind(&info.name)
        .bind(token_hash)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "api_token.create",
                entity_type: "api_token",
                entity_id: info.id.to_string(),
                summary: serde_json::json!({ "after": { "name": info.name, "user_id": user } }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Resolve a bearer token by its hash. Revoked tokens, and tokens whose
    /// user has left the organization, resolve to nothing.
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<AuthUser>> {
        let row = sqlx::query(&format!(
            "SELECT {AUTH_USER_COLUMNS}, t.id AS token_id, t.last_used_at AS last_used \
             FROM api_tokens t \
             JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.user_id \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id: ApiTokenId = row.parse("token_id")?;
        let now = self.now();
        let stale = row
            .opt_int("last_used")?
            .is_none_or(|t| now.millis() - t > 60_000);
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(now.millis())
                .execute(&self.write)
                .await?;
        }
        auth_user_from_row(&row, Some(token_id)).map(Some)
    }

    pub async fn list_api_tokens(&self, org: OrgId) -> Result<Vec<ApiTokenInfo>> {
        let rows = sqlx::query("SELECT * FROM api_tokens WHERE org_id = $1 ORDER BY id DESC")
            .bind(org.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(ApiTokenInfo::from_row).collect()
    }

    pub async fn revoke_api_token(&self, org: OrgId, id: ApiTokenId, actor: &Actor) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("api token"));
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "api_token.revoke",
                entity_type: "api_token",
                entity_id: id.to_string(),
                summary: serde_json::json!({}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Members of the organization with their roles.
    pub async fn list_members(&self, org: OrgId) -> Result<Vec<(User, Role)>> {
        let rows = sqlx::query(
            "SELECT u.id AS id, u.email AS email, u.created_at AS created_at, m.role AS role \
             FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email",
        )
        .bind(org.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    User {
                        id: r.parse("id")?,
                        email: r.text("email")?,
                        created_at: r.time("created_at")?,
                    },
                    r.parse("role")?,
                ))
            })
            .collect()
    }
}
