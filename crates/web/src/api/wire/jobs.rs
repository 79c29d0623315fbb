//! Background jobs and intake figures on the wire.

use schemars::JsonSchema;
use serde::Serialize;
use storesync_domain::ids::OrgId;
use storesync_domain::Timestamp;
use storesync_store::jobs::{self as store, JobId};

/// Where a job is in its life.
#[derive(Debug, JsonSchema, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl From<store::JobStatus> for JobStatus {
    fn from(s: store::JobStatus) -> Self {
        match s {
            store::JobStatus::Queued => JobStatus::Queued,
            store::JobStatus::Running => JobStatus::Running,
            store::JobStatus::Done => JobStatus::Done,
            store::JobStatus::Dead => JobStatus::Dead,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub org_id: Option<OrgId>,
    /// What the job works on; its shape depends on `kind`.
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<store::Job> for Job {
    fn from(j: store::Job) -> Self {
        Job {
            id: j.id,
            kind: j.kind,
            org_id: j.org_id,
            payload: j.payload,
            status: j.status.into(),
            run_at: j.run_at,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            locked_by: j.locked_by,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

/// Marketplace orders and how many of them only polling found.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct IntakeStats {
    pub marketplace_orders: i64,
    pub found_by_polling_only: i64,
    /// `found_by_polling_only / marketplace_orders`; 0 with no orders.
    pub webhook_loss_rate: f64,
}
