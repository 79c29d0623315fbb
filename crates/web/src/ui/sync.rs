//! Sync activity (recent jobs, failures with their errors, retry; a shop's
//! marketplace calls with their pacing waits) and the audit log.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use storesync_domain::ids::ShopId;
use storesync_domain::Role;
use storesync_store::jobs::{JobId, JobStatus};
use storesync_store::PageRequest;

use super::{
    csrf, done, empty, layout, next_link, render, require, NoFields, Ui, UiError, UiForm, UiResult,
};
use crate::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct SyncQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    shop: String,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    ui: Ui,
    Query(q): Query<SyncQuery>,
) -> UiResult<Response> {
    let status = JobStatus::parse(&q.status);
    let jobs = s
        .store
        .list_jobs(
            ui.org.id,
            status,
            &PageRequest {
                limit: Some(50),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let shops = s.store.list_shops(ui.org.id).await?;
    let shop: Option<ShopId> = q.shop.parse().ok();
    let calls = match shop {
        Some(id) => Some(
            s.store
                .list_api_calls(
                    ui.org.id,
                    id,
                    &PageRequest {
                        limit: Some(50),
                        cursor: None,
                    },
                )
                .await?,
        ),
        None => None,
    };
    let content = html! {
        form method="get" action="/sync" class="row" {
            label { "Jobs" select name="status" {
                option value="" { "All" }
                @for st in ["queued", "running", "done", "dead"] { option value=(st) selected[q.status == st] { (st) } }
            } }
            label { "Marketplace calls of" select name="shop" {
                option value="" { "—" }
                @for sh in &shops { option value=(sh.id) selected[shop == Some(sh.id)] { (sh.name) " (" (sh.marketplace.label()) ")" } }
            } }
            button type="submit" class="secondary" { "Show" }
        }
        @if let Some(calls) = &calls {
            section class="panel" {
                h2 { "Marketplace calls" }
                @if calls.items.is_empty() { p class="muted" { "No calls recorded in the last week." } } @else {
                    table class="responsive" {
                        thead { tr { th { "When" } th { "Operation" } th { "Outcome" } th { "Code" } th class="num" { "Took (ms)" } th class="num" { "Rate-limit wait (ms)" } } }
                        tbody { @for c in &calls.items { tr {
                            td data-label="When" { (ui.time(c.at)) }
                            td data-label="Operation" { (c.operation) }
                            td data-label="Outcome" { span class=(if c.outcome == "ok" { "okc" } else { "danger" }) { (c.outcome) } }
                            td data-label="Code" { (c.code.as_deref().unwrap_or("")) }
                            td class="num" data-label="Took (ms)" { (c.duration_ms) }
                            td class="num" data-label="Rate-limit wait (ms)" { (c.pacing_wait_ms) }
                        } } }
                    }
                }
            }
        }
        section class="panel" {
            h2 { "Jobs" }
            @if jobs.items.is_empty() {
                (empty("No jobs here.", html! { p { "Imports, order polls, stock pushes and token refreshes appear here as they run." } }))
            } @else {
                table class="responsive" {
                    thead { tr { th { "Kind" } th { "Status" } th class="num" { "Attempts" } th { "Next run / updated" } th { "Last error" } th {} } }
                    tbody { @for j in &jobs.items { tr {
                        td data-label="Kind" { (j.kind) }
                        td data-label="Status" { span class=(format!("badge {}", j.status.as_str())) { (j.status.as_str()) } }
                        td class="num" data-label="Attempts" { (j.attempts) " / " (j.max_attempts) }
                        td data-label="When" { (ui.time(if j.status == JobStatus::Queued { j.run_at } else { j.updated_at })) }
                        td data-label="Last error" { @if let Some(e) = &j.last_error { span class="danger" { (e) } } }
                        td { @if j.status == JobStatus::Dead && ui.can(Role::Member) {
                            form method="post" action=(format!("/sync/jobs/{}/retry", j.id)) class="inline" { (csrf(&ui)) button type="submit" class="secondary" { "Retry" } }
                        } }
                    } } }
                }
                (next_link("/sync", &[("status", &q.status), ("shop", &q.shop)], jobs.next_cursor.as_ref()))
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/sync", "Sync activity", content)))
}

pub async fn retry(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let id: JobId = id.parse().map_err(|_| UiError::NotFound)?;
    let result = s.store.retry_job(ui.org.id, id).await;
    if result.is_ok() {
        s.job_waker.notify_one();
    }
    done("/sync?status=dead", result, "Queued again.")
}

#[derive(Debug, Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn audit(
    State(s): State<AppState>,
    ui: Ui,
    Query(q): Query<AuditQuery>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let page = s
        .store
        .list_audit(
            ui.org.id,
            &PageRequest {
                limit: Some(100),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let filter = q.action.trim();
    let content = html! {
        form method="get" action="/audit" class="row" role="search" {
            label { "Action starts with" input name="action" value=(filter) placeholder="order., inventory., member."; }
            button type="submit" class="secondary" { "Filter" }
        }
        section class="panel" {
            table class="responsive" {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "What" } th { "Change" } } }
                tbody { @for e in page.items.iter().filter(|e| e.action.starts_with(filter)) { tr {
                    td data-label="When" { (ui.time(e.at)) }
                    td data-label="Who" { (e.actor) }
                    td data-label="Action" { (e.action) }
                    td data-label="What" { (e.entity_type) " " span class="muted" { (e.entity_id) } }
                    td data-label="Change" { code { (e.summary.to_string()) } }
                } } }
            }
            (next_link("/audit", &[("action", filter)], page.next_cursor.as_ref()))
        }
    };
    Ok(render(&ui, layout(&ui, "/audit", "Audit log", content)))
}
