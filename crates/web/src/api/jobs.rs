//! Background jobs: what ran, what failed and why, and a retry button.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use storesync_store::jobs::{JobId, JobStatus};
use storesync_store::PageRequest;

use super::parse_id;
use super::wire::jobs::{IntakeStats, Job};
use super::wire::Page;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller, Member, Viewer};
use crate::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
    ApiQuery(q): ApiQuery<JobQuery>,
) -> ApiResult<Json<Page<Job>>> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(
        s.store
            .list_jobs(caller.org_id, q.status, &page)
            .await?
            .into(),
    ))
}

pub async fn retry(
    State(s): State<AppState>,
    caller: Caller<Member>,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    let id: JobId = parse_id(&id, "job")?;
    let job = s.store.retry_job(caller.org_id, id).await?;
    s.job_waker.notify_one();
    Ok(Json(job.into()))
}

/// Orders from marketplaces and how many of them polling found because no
/// webhook announced them: the webhook loss rate.
pub async fn intake_stats(
    State(s): State<AppState>,
    caller: Caller<Viewer>,
) -> ApiResult<Json<IntakeStats>> {
    let (total, missed) = s.store.intake_counts(caller.org_id).await?;
    let rate = if total > 0 {
        missed as f64 / total as f64
    } else {
        0.0
    };
    Ok(Json(IntakeStats {
        marketplace_orders: total,
        found_by_polling_only: missed,
        webhook_loss_rate: rate,
    }))
}
