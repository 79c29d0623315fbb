//! The durable job queue: every piece of background work (talking to a
//! marketplace, processing a webhook) is a row here, enqueued in the same
//! transaction as the change that caused it.
//!
//! Claiming takes a lease: a worker that dies leaves its job `running` with
//! an expired lease, and the next claim takes it again. On PostgreSQL claims
//! use `FOR UPDATE SKIP LOCKED`, so any number of processes share the queue
//! without taking the same job; SQLite's single writer serializes claims.
//! A unique key de-duplicates jobs that are still queued: it is released
//! when the job is claimed, so a change that arrives while a job runs can
//! queue its successor instead of being lost.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use storesync_domain::ids::{kind, Id, OrgId};
use storesync_domain::Timestamp;

use crate::db::Tx;
use crate::page::{Page, PageRequest};
use crate::row::RowExt;
use crate::{Backend, Result, Store, StoreError};

pub type JobId = Id<kind::Job>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        match s {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "dead" => Some(JobStatus::Dead),
            _ => None,
        }
    }
}

/// Work to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub org: Option<OrgId>,
    pub payload: serde_json::Value,
    pub run_at: Option<Timestamp>,
    /// While a job with this key is queued, enqueuing another with the same
    /// key does nothing (once it runs, a successor may be queued).
    pub unique_key: Option<String>,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn new(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_owned(),
            org: None,
            payload,
            run_at: None,
            unique_key: None,
            max_attempts: 10,
        }
    }

    pub fn org(mut self, org: OrgId) -> Self {
        self.org = Some(org);
        self
    }

    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    pub fn at(mut self, when: Timestamp) -> Self {
        self.run_at = Some(when);
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub org_id: Option<OrgId>,
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

impl Job {
    fn from_row(r: &AnyRow) -> Result<Job> {
        let status = r.text("status")?;
        Ok(Job {
            id: r.parse("id")?,
            kind: r.text("kind")?,
            org_id: r.opt_parse("org_id")?,
            payload: serde_json::from_str(&r.text("payload")?)
                .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
            status: JobStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {status:?}")))?,
            run_at: r.time("run_at")?,
            attempts: r.int("attempts")?,
            max_attempts: r.int("max_attempts")?,
            last_error: r.opt_text("last_error")?,
            locked_by: r.opt_text("locked_by")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// What happened to a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    Retried { at: Timestamp },
    Dead,
}

/// Which job kinds a claim takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindFilter {
    Any,
    Only(Vec<String>),
    Except(Vec<String>),
}

/// What happened to a deferred job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferOutcome {
    /// Back in the queue for `at`, its attempt given back.
    Requeued { at: Timestamp },
    /// A job with the same unique key was queued meanwhile and does the same
    /// work: this one is done and that one runs no later than `at`.
    Merged { at: Timestamp },
}

pub(crate) async fn enqueue_in(tx: &mut Tx, job: &NewJob, now: Timestamp) -> Result<Option<JobId>> {
    let id = JobId::new();
    let n = sqlx::query(
        "INSERT INTO jobs (id, org_id, kind, payload, status, run_at, attempts, max_attempts, unique_key, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7, $8, $8) \
         ON CONFLICT (unique_key) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(job.org.map(|o| o.to_string()))
    .bind(&job.kind)
    .bind(job.payload.to_string())
    .bind(job.run_at.unwrap_or(now).millis())
    .bind(job.max_attempts)
    .bind(job.unique_key.clone())
    .bind(now.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((n == 1).then_some(id))
}

impl Store {
    /// Enqueue a job; `None` when a job with the same unique key is pending.
    pub async fn enqueue(&self, job: &NewJob) -> Result<Option<JobId>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let id = enqueue_in(&mut tx, job, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claim up to `limit` due jobs (queued and due, or running with an
    /// expired lease) for `worker`, leasing them for `lease_ms`.
    pub async fn claim_jobs(&self, worker: &str, limit: i64, lease_ms: i64) -> Result<Vec<Job>> {
        self.claim_jobs_of(worker, &KindFilter::Any, limit, lease_ms)
            .await
    }

    /// [`Store::claim_jobs`] for the job kinds `kinds` selects.
    pub async fn claim_jobs_of(
        &self,
        worker: &str,
        kinds: &KindFilter,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<Job>> {
        let now = self.now();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let (listed, negate) = match kinds {
            KindFilter::Any => (&[][..], true),
            KindFilter::Only(k) => (k.as_slice(), false),
            KindFilter::Except(k) => (k.as_slice(), true),
        };
        let kind_sql = if listed.is_empty() {
            if negate {
                String::new()
            } else {
                " AND 1 = 0".to_owned()
            }
        } else {
            let marks: Vec<String> = (0..listed.len()).map(|i| format!("${}", i + 5)).collect();
            let not = if negate { "NOT " } else { "" };
            format!(" AND kind {not}IN ({})", marks.join(", "))
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', locked_by = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3, held_key = COALESCE(unique_key, held_key), \
             unique_key = NULL \
             WHERE id IN (SELECT id FROM jobs WHERE ((status = 'queued' AND run_at <= $3) \
                 OR (status = 'running' AND lease_expires_at < $3)){kind_sql} ORDER BY run_at, id LIMIT $4{lock}) \
             RETURNING *"
        );
        let mut tx = self.begin().await?;
        let mut query = sqlx::query(&sql)
            .bind(worker)
            .bind(now.plus_millis(lease_ms).millis())
            .bind(now.millis())
            .bind(limit);
        for kind in listed {
            query = query.bind(kind.as_str());
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut jobs = rows.iter().map(Job::from_row).collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    /// Extend the lease of a job the worker still holds.
    pub async fn heartbeat_job(&self, id: JobId, worker: &str, lease_ms: i64) -> Result<bool> {
        let now = self.now();
        let n = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $3 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        )
        .bind(id.to_string())
        .bind(worker)
        .bind(now.plus_millis(lease_ms).millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Mark a job done. Only the worker holding the lease may; a worker whose
    /// lease was taken over gets `false` and must not apply anything further.
    pub async fn complete_job(&self, id: JobId, worker: &str) -> Result<bool> {
        let now = self.now();
        let n = sqlx::query(
            "UPDATE jobs SET status = 'done', unique_key = NULL, locked_by = NULL, lease_expires_at = NULL, \
             last_error = NULL, updated_at = $3 WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        )
        .bind(id.to_string())
        .bind(worker)
        .bind(now.millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Record a failed attempt: retry at `retry_at`, or `dead` when attempts
    /// are used up (or `retry_at` is `None`: a permanent failure).
    pub async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<Option<FailOutcome>> {
        let now = self.now();
        let error: String = error.chars().take(2000).collect();
        let row = sqlx::query(
            "UPDATE jobs SET \
               status = CASE WHEN $4 IS NULL OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
               unique_key = CASE WHEN $4 IS NULL OR attempts >= max_attempts THEN NULL ELSE unique_key END, \
               run_at = COALESCE($4, run_at), last_error = $3, locked_by = NULL, lease_expires_at = NULL, \
               updated_at = $5 \
             WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING status, run_at",
        )
        .bind(id.to_string())
        .bind(worker)
        .bind(error)
        .bind(retry_at.map(|t| t.millis()))
        .bind(now.millis())
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(if row.text("status")? == "dead" {
            FailOutcome::Dead
        } else {
            FailOutcome::Retried {
                at: row.time("run_at")?,
            }
        }))
    }

    /// Put a job back without counting its attempt: it could not start yet
    /// (a lease held elsewhere, input still arriving), which is no failure
    /// and must not bring it closer to `dead` however long the wait. It takes
    /// its unique key back; if a job with that key was queued while it ran,
    /// the two are merged into that one. `None`: the lease was lost.
    pub async fn defer_job(
        &self,
        id: JobId,
        worker: &str,
        run_at: Timestamp,
    ) -> Result<Option<DeferOutcome>> {
        let now = self.now();
        let merged = sqlx::query(
            "UPDATE jobs SET run_at = CASE WHEN run_at > $3 THEN $3 ELSE run_at END, updated_at = $4 \
             WHERE status = 'queued' AND unique_key = \
                 (SELECT held_key FROM jobs WHERE id = $1 AND locked_by = $2 AND status = 'running')",
        )
        .bind(id.to_string())
        .bind(worker)
        .bind(run_at.millis())
        .bind(now.millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        if merged == 1 {
            return Ok(self
                .complete_job(id, worker)
                .await?
                .then_some(DeferOutcome::Merged { at: run_at }));
        }
        let requeue = |keep_key: bool| {
            let key = if keep_key { "held_key" } else { "NULL" };
            format!(
                "UPDATE jobs SET status = 'queued', attempts = attempts - 1, run_at = $3, \
                 unique_key = {key}, locked_by = NULL, lease_expires_at = NULL, updated_at = $4 \
                 WHERE id = $1 AND locked_by = $2 AND status = 'running'"
            )
        };
        let mut n = 0;
        for keep_key in [true, false] {
            match sqlx::query(&requeue(keep_key))
                .bind(id.to_string())
                .bind(worker)
                .bind(run_at.millis())
                .bind(now.millis())
                .execute(&self.write)
                .await
            {
                Ok(done) => {
                    n = done.rows_affected();
                    break;
                }
                // The key was taken between the two statements: requeue
                // without it (the other job does the same work anyway).
                Err(sqlx::Error::Database(e)) if keep_key && e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok((n == 1).then_some(DeferOutcome::Requeued { at: run_at }))
    }

    /// Put a dead job of the organization back in the queue, now.
    pub async fn retry_job(&self, org: OrgId, id: JobId) -> Result<Job> {
        let now = self.now();
        let row = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_at = $3, attempts = 0, updated_at = $3 \
             WHERE id = $1 AND org_id = $2 AND status = 'dead' RETURNING *",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(now.millis())
        .fetch_optional(&self.write)
        .await?;
        match row {
            Some(r) => Job::from_row(&r),
            None => {
                // Tell "not yours / not there" from "not dead".
                let exists = sqlx::query("SELECT status FROM jobs WHERE id = $1 AND org_id = $2")
                    .bind(id.to_string())
                    .bind(org.to_string())
                    .fetch_optional(&self.read)
                    .await?;
                match exists {
                    None => Err(StoreError::NotFound("job")),
                    Some(_) => Err(StoreError::conflict(
                        "job_not_dead",
                        "only dead jobs can be retried",
                    )),
                }
            }
        }
    }

    /// The organization's jobs, newest first, optionally one status only.
    pub async fn list_jobs(
        &self,
        org: OrgId,
        status: Option<JobStatus>,
        page: &PageRequest,
    ) -> Result<Page<Job>> {
        let limit = page.limit();
        let status = status.map(|s| match s {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        });
        let rows = sqlx::query(
            "SELECT * FROM jobs WHERE org_id = $1 AND id < $2 AND ($3 IS NULL OR status = $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(org.to_string())
        .bind(page.before())
        .bind(status)
        .bind(limit + 1)
        .fetch_all(&self.read)
        .await?;
        let items = rows.iter().map(Job::from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |j| j.id.to_string()))
    }

    /// Advance schedule `name` if it is due and, in the same transaction,
    /// enqueue its job. Of several instances ticking at once exactly one
    /// wins a period; the others get `false`.
    pub async fn claim_schedule(&self, name: &str, every_ms: i64, job: &NewJob) -> Result<bool> {
        let now = self.now();
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO schedules (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        let won = sqlx::query(
            "UPDATE schedules SET next_run_at = $3 WHERE name = $1 AND next_run_at <= $2",
        )
        .bind(name)
        .bind(now.millis())
        .bind(now.plus_millis(every_ms).millis())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if won {
            enqueue_in(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(won)
    }

    /// Jobs running or due within a second, in every organization
    /// (benchmarks and tests wait on it; checks scheduled for later, such
    /// as a drift read-back after a fault, do not count).
    pub async fn pending_job_count(&self) -> Result<i64> {
        let r = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM jobs WHERE status = 'running' \
             OR (status = 'queued' AND run_at <= $1)",
        )
        .bind(self.now().plus_millis(1000).millis())
        .fetch_one(&self.read)
        .await?;
        r.int("n")
    }

    /// One job by id (any organization); for workers and tests.
    pub async fn job(&self, id: JobId) -> Result<Job> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound("job"))?;
        Job::from_row(&row)
    }
}
