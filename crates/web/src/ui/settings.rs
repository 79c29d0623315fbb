//! Settings: users and roles, API tokens (shown once), locations, the
//! organization's time zone. Allocation rules live with the shops.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use storesync_domain::ids::{ApiTokenId, InvitationId, UserId};
use storesync_domain::Role;
use storesync_store::NewLocation;

use super::format::ZONES;
use super::{
    csrf, done, layout, redirect_with, render, require, NoFields, Ui, UiError, UiForm, UiResult,
};
use crate::AppState;

pub async fn page(State(s): State<AppState>, ui: Ui) -> UiResult<Response> {
    let admin = ui.can(Role::Admin);
    // One rule with the API (`GET /api/v1/members` needs admin): only
    // admins see who is in the organization and their emails.
    let members = if admin {
        s.store.list_members(ui.org.id).await?
    } else {
        Vec::new()
    };
    let tokens = if admin {
        s.store.list_api_tokens(ui.org.id).await?
    } else {
        Vec::new()
    };
    let invitations = if admin {
        s.store.list_invitations(ui.org.id).await?
    } else {
        Vec::new()
    };
    let owner = ui.user.role == Role::Owner;
    // Roles this user may hand out: only owners grant the owner role.
    let grantable: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| owner || *r != Role::Owner)
        .collect();
    let locations = s.store.list_locations(ui.org.id).await?;
    let content = html! {
        section class="panel" aria-labelledby="users" {
            h2 id="users" { "Users and roles" }
            p class="muted" { "Viewers see everything; members also sell, ship and adjust stock; admins also connect shops and manage users and tokens; owners also make owners." }
            table class="responsive" {
                thead { tr { th { "Email" } th { "Role" } @if admin { th {} } } }
                tbody { @for (u, role) in &members { tr {
                    td data-label="Email" { (u.email) }
                    td data-label="Role" {
                        @if admin && u.id != ui.user.user_id && (owner || *role != Role::Owner) {
                            form method="post" action=(format!("/settings/users/{}/role", u.id)) class="row" {
                                (csrf(&ui))
                                label class="sr-only" for=(format!("role-{}", u.id)) { "Role of " (u.email) }
                                select id=(format!("role-{}", u.id)) name="role" {
                                    @for r in &grantable { option value=(r.as_str()) selected[r == role] { (r.as_str()) } }
                                    option value="remove" { "remove from organization" }
                                }
                                button type="submit" class="secondary" { "Change" }
                            }
                        } @else { (role.as_str()) }
                    }
                } } }
            }
            @if admin {
                p { a href="/settings/sign-ins" { "Recent failed sign-ins" } }
                @if !invitations.is_empty() {
                    h2 { "Pending invitations" }
                    table class="responsive" {
                        thead { tr { th { "Email" } th { "Role" } th { "Expires" } th {} } }
                        tbody { @for i in &invitations { tr {
                            td data-label="Email" { (i.email) }
                            td data-label="Role" { (i.role.as_str()) }
                            td data-label="Expires" { (ui.time(i.expires_at)) }
                            td { @if owner || i.role != Role::Owner {
                                form method="post" action=(format!("/settings/invitations/{}/revoke", i.id)) class="inline" {
                                    (csrf(&ui)) button type="submit" class="secondary" { "Withdraw" }
                                }
                            } }
                        } } }
                    }
                }
                h2 { "Invite a user" }
                p class="muted" { "The invitation link goes by mail to that address only and works once, for 7 days. Someone with a StoreSync account signs in with their own password to accept; anyone else chooses one." }
                form method="post" action="/settings/users" class="row" {
                    (csrf(&ui))
                    label { "Email" input type="email" name="email" required; }
                    label { "Role" select name="role" { @for r in &grantable { option value=(r.as_str()) selected[*r == Role::Member] { (r.as_str()) } } } }
                    button type="submit" { "Invite" }
                }
            }
        }
        @if admin {
            section class="panel" aria-labelledby="tokens" {
                h2 id="tokens" { "API tokens" }
                @if tokens.is_empty() { p class="muted" { "No tokens yet. A token lets scripts use the REST API as you." } } @else {
                    table class="responsive" {
                        thead { tr { th { "Name" } th { "Created" } th { "Last used" } th {} } }
                        tbody { @for t in &tokens { tr {
                            td data-label="Name" { (t.name) }
                            td data-label="Created" { (ui.time(t.created_at)) }
                            td data-label="Last used" { @if let Some(at) = t.last_used_at { (ui.time(at)) } @else { "never" } }
                            td { @if let Some(at) = t.revoked_at { span class="muted" { "revoked " (ui.time(at)) } } @else {
                                form method="post" action=(format!("/settings/tokens/{}/revoke", t.id)) class="inline" {
                                    (csrf(&ui)) button type="submit" class="danger" data-confirm="Revoke this token? Scripts using it stop working." { "Revoke" }
                                }
                            } }
                        } } }
                    }
                }
                form method="post" action="/settings/tokens" class="row" {
                    (csrf(&ui))
                    label { "Token name" input name="name" required placeholder="warehouse script"; }
                    button type="submit" { "Create token" }
                }
            }
            section class="panel" aria-labelledby="tz" {
                h2 id="tz" { "Time zone" }
                form method="post" action="/settings/timezone" class="row" {
                    (csrf(&ui))
                    label { "Times are shown in" select name="timezone" {
                        @for (z, offset) in ZONES { option value=(z) selected[ui.org.timezone == z] { (z) " (UTC" (if offset >= 0 { "+" } else { "" }) (offset / 60) ")" } }
                    } }
                    button type="submit" class="secondary" { "Save" }
                }
            }
        }
        section class="panel" aria-labelledby="locs" {
            h2 id="locs" { "Locations" }
            ul { @for l in &locations { li { (l.name) " (" (l.code) ")" @if l.is_default { " — default" } } } }
            @if admin {
                form method="post" action="/settings/locations" class="row" {
                    (csrf(&ui))
                    label { "Code" input name="code" required pattern="[A-Za-z0-9_-]+" placeholder="JKT-2"; }
                    label { "Name" input name="name" required placeholder="Jakarta warehouse 2"; }
                    button type="submit" { "Add location" }
                }
            }
            p { a href="/shops" { "Allocation rules per shop" } " are on the Shops page." }
        }
    };
    Ok(render(&ui, layout(&ui, "/settings", "Settings", content)))
}

#[derive(Debug, Deserialize)]
pub struct UserFields {
    email: String,
    role: String,
}

fn parse_role(r: &str) -> UiResult<Role> {
    r.parse()
        .map_err(|_| UiError::BadRequest(format!("unknown role {r:?}")))
}

/// "Add a user" invites: the link goes by mail to that address only.
pub async fn add_user(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<UserFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let role = parse_role(&form.role)?;
    let result = s.services().invite(&ui.user, &form.email, role).await;
    done(
        "/settings",
        result,
        &format!(
            "Invitation to {} as {} sent by mail.",
            form.email.trim(),
            role.as_str()
        ),
    )
}

pub async fn revoke_invitation(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let id: InvitationId = id.parse().map_err(|_| UiError::NotFound)?;
    let result = s.services().withdraw_invitation(&ui.user, id).await;
    done("/settings", result, "Invitation withdrawn.")
}

#[derive(Debug, Deserialize)]
pub struct RoleFields {
    role: String,
}

pub async fn set_role(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<RoleFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let user: UserId = id.parse().map_err(|_| UiError::NotFound)?;
    let role = match form.role.as_str() {
        "remove" => None,
        r => Some(parse_role(r)?),
    };
    // Who may touch owners is decided by the store, for the API too.
    let result = s.services().set_member_role(&ui.user, user, role).await;
    done(
        "/settings",
        result,
        if role.is_some() {
            "Role changed."
        } else {
            "Removed from the organization."
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct TokenFields {
    name: String,
}

/// The new token is shown on this one page and never again.
pub async fn create_token(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<TokenFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    match s
        .services()
        .create_api_token(&ui.user, form.name.trim())
        .await
    {
        Ok((info, token)) => {
            let content = html! {
                p { "Copy the token “" (info.name) "” now; it is not shown again." }
                p class="token" { (token.expose()) }
                p { a href="/settings" { "Back to settings" } }
            };
            let mut response = render(&ui, layout(&ui, "/settings", "New API token", content));
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Err(e) => done::<(), _>("/settings", Err(e), ""),
    }
}

pub async fn revoke_token(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let id: ApiTokenId = id.parse().map_err(|_| UiError::NotFound)?;
    let result = s.services().revoke_api_token(&ui.user, id).await;
    done("/settings", result, "Token revoked.")
}

#[derive(Debug, Deserialize)]
pub struct LocationFields {
    code: String,
    name: String,
}

pub async fn add_location(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<LocationFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let new = NewLocation {
        code: form.code.trim().to_owned(),
        name: form.name.trim().to_owned(),
    };
    let result = s
        .store
        .create_location(ui.org.id, &new, &ui.user.actor())
        .await;
    done("/settings", result, "Location added.")
}

#[derive(Debug, Deserialize)]
pub struct TimezoneFields {
    timezone: String,
}

pub async fn set_timezone(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<TimezoneFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    if !ZONES.iter().any(|(z, _)| *z == form.timezone) {
        return Ok(redirect_with(
            "/settings",
            true,
            "Choose one of the listed time zones.",
        ));
    }
    let result = s
        .store
        .set_org_timezone(ui.org.id, &form.timezone, &ui.user.actor())
        .await;
    done("/settings", result, "Time zone saved.")
}
