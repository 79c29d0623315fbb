//! Settings › sign-ins: the organization's recent failed sign-ins (its
//! members' accounts), with where they came from, for admins.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use storesync_domain::Role;

use super::{layout, render, require, Ui, UiResult};
use crate::AppState;

/// Failed sign-ins shown at once.
const SHOWN: i64 = 100;

pub async fn page(State(s): State<AppState>, ui: Ui) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let failures = s.store.recent_failed_sign_ins(ui.org.id, SHOWN).await?;
    let field = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let content = html! {
        section class="panel" aria-labelledby="failed" {
            h2 id="failed" { "Recent failed sign-ins" }
            p class="muted" { "Wrong passwords given for members of this organization, newest first. A client address gets 10 tries in 15 minutes; an address a member signed in from before is never held back by other addresses' failures." }
            @if failures.is_empty() {
                p { "No failed sign-ins." }
            } @else {
                table class="responsive" {
                    thead { tr { th { "When" } th { "Account" } th { "Client address" } th { "Browser" } } }
                    tbody { @for e in &failures { tr {
                        td data-label="When" { (ui.time(e.at)) }
                        td data-label="Account" { (e.actor) }
                        td data-label="Client address" { (field(&e.summary, "client_address")) }
                        td data-label="Browser" { span class="muted" { (field(&e.summary, "user_agent")) } }
                    } } }
                }
            }
        }
    };
    Ok(render(
        &ui,
        layout(&ui, "/settings", "Failed sign-ins", content),
    ))
}
