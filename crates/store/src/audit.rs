//! The audit log: who changed what, when, with a before/after summary.
//! Rows are written inside the transaction of the change they describe, so
//! there is never a change without its audit row, nor the reverse.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use storesync_domain::ids::{ApiTokenId, AuditId, OrgId, UserId};
use storesync_domain::Timestamp;

use crate::db::Tx;
use crate::page::{Page, PageRequest};
use crate::row::RowExt;
use crate::{Result, Store};

/// Who is acting: a signed-in user, an API token, or the system itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub token_id: Option<ApiTokenId>,
    /// Human-readable: an email, `token:<name>`, or `system:<component>`.
    pub label: String,
}

impl Actor {
    pub fn system(component: &str) -> Actor {
        Actor {
            user_id: None,
            token_id: None,
            label: format!("system:{component}"),
        }
    }

    pub fn user(id: UserId, email: &str) -> Actor {
        Actor {
            user_id: Some(id),
            token_id: None,
            label: email.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: Timestamp,
    pub actor: String,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<ApiTokenId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub summary: serde_json::Value,
}

impl AuditEntry {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self> {
        let summary = r.text("summary")?;
        Ok(AuditEntry {
            id: r.parse("id")?,
            at: r.time("at")?,
            actor: r.text("actor")?,
            actor_user_id: r.opt_parse("actor_user_id")?,
            actor_token_id: r.opt_parse("actor_token_id")?,
            action: r.text("action")?,
            entity_type: r.text("entity_type")?,
            entity_id: r.text("entity_id")?,
            summary: serde_json::from_str(&summary).unwrap_or(serde_json::Value::String(summary)),
        })
    }
}

/// What one audit row says; `summary` holds before/after or the request.
pub(crate) struct Audit<'a> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub summary: serde_json::Value,
}

pub(crate) async fn record(
    tx: &mut Tx,
    at: Timestamp,
    org: OrgId,
    actor: &Actor,
    entry: Audit<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, id, at, actor_user_id, actor_token_id, actor, action, \
         entity_type, entity_id, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(org.to_string())
    .bind(AuditId::new().to_string())
    .bind(at.millis())
    .bind(actor.user_id.map(|u| u.to_string()))
    .bind(actor.token_id.map(|t| t.to_string()))
    .bind(actor.label.clone())
    .bind(entry.action)
    .bind(entry.entity_type)
    .bind(entry.entity_id)
    .bind(entry.summary.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The organization's audit log, newest first.
    pub async fn list_audit(&self, org: OrgId, page: &PageRequest) -> Result<Page<AuditEntry>> {
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT * FROM audit_log WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(org.to_string())
        .bind(page.before())
        .bind(limit + 1)
        .fetch_all(&self.read)
        .await?;
        let items = rows
            .iter()
            .map(AuditEntry::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |e| e.id.to_string()))
    }
}
