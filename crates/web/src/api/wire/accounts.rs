//! Members, invitations, API tokens, sessions and the audit log on the
//! wire. Request bodies are next to their handlers (`api::admin`,
//! `api::accounts`, `session`).

use schemars::JsonSchema;
use serde::Serialize;
use storesync_domain::ids::{ApiTokenId, AuditId, InvitationId, OrgId, UserId};
use storesync_domain::{Role, Timestamp};
use storesync_store as store;

/// One row of the audit log.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: Timestamp,
    pub actor: String,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<ApiTokenId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// What changed; its shape depends on `action`.
    pub summary: serde_json::Value,
}

impl From<store::AuditEntry> for AuditEntry {
    fn from(a: store::AuditEntry) -> Self {
        AuditEntry {
            id: a.id,
            at: a.at,
            actor: a.actor,
            actor_user_id: a.actor_user_id,
            actor_token_id: a.actor_token_id,
            action: a.action,
            entity_type: a.entity_type,
            entity_id: a.entity_id,
            summary: a.summary,
        }
    }
}

/// A member of the organization and their role.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub created_at: Timestamp,
}

impl From<(store::User, Role)> for MemberView {
    fn from((u, role): (store::User, Role)) -> Self {
        MemberView {
            user_id: u.id,
            email: u.email,
            role,
            created_at: u.created_at,
        }
    }
}

/// An invitation as the API shows it: never its token or link, which only
/// the invited address receives.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct InvitationView {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl From<store::accounts::Invitation> for InvitationView {
    fn from(i: store::accounts::Invitation) -> Self {
        InvitationView {
            id: i.id,
            email: i.email,
            role: i.role,
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// An API token's record, never its value.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct ApiTokenInfo {
    pub id: ApiTokenId,
    pub name: String,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<store::ApiTokenInfo> for ApiTokenInfo {
    fn from(t: store::ApiTokenInfo) -> Self {
        ApiTokenInfo {
            id: t.id,
            name: t.name,
            user_id: t.user_id,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A new API token: its record and its value, shown once.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: ApiTokenInfo,
    /// Shown once; only its hash is kept.
    pub token: String,
}

/// The answer to a request whose outcome goes by mail.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Accepted {
    pub message: &'static str,
}

/// The signed-in caller within one organization.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Caller {
    pub user_id: UserId,
    pub email: String,
    pub org_id: OrgId,
    pub role: Role,
    /// Set when the caller authenticated with an API token.
    pub token_id: Option<ApiTokenId>,
}

impl From<store::AuthUser> for Caller {
    fn from(u: store::AuthUser) -> Self {
        Caller {
            user_id: u.user_id,
            email: u.email,
            org_id: u.org_id,
            role: u.role,
            token_id: u.token_id,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Org {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub created_at: Timestamp,
}

/// One organization the caller belongs to, and their role there.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Membership {
    pub org: Org,
    pub role: Role,
}

impl From<store::Membership> for Membership {
    fn from(m: store::Membership) -> Self {
        Membership {
            org: Org {
                id: m.org.id,
                slug: m.org.slug,
                name: m.org.name,
                timezone: m.org.timezone,
                created_at: m.org.created_at,
            },
            role: m.role,
        }
    }
}

/// The answer of `GET /auth/session` and of a sign-in.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct SessionView {
    pub user: Caller,
    pub csrf_token: Option<String>,
    pub memberships: Vec<Membership>,
}
