//! Shops: status, token expiry, last error; connect (the marketplace's
//! OAuth pages), pause/resume, sync now, disconnect, allocation rules.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use storesync_domain::ids::ShopId;
use storesync_domain::{Marketplace, Role};
use storesync_engine::app::shops::ShopAction;
use storesync_engine::connect;
use storesync_store::shops::ShopSettingsPatch;

use super::{
    csrf, done, empty, layout, redirect, render, require, NoFields, Ui, UiError, UiForm, UiResult,
};
use crate::connect_binding::Binding;
use crate::error::ApiError;
use crate::AppState;

pub async fn page(State(s): State<AppState>, ui: Ui) -> UiResult<Response> {
    let shops = s.store.list_shops(ui.org.id).await?;
    let soon = s.store.now().plus_millis(7 * 86_400_000);
    let marketplaces: Vec<Marketplace> = s.channels.marketplaces().collect();
    let content = html! {
        @if ui.can(Role::Admin) {
            section class="panel" aria-labelledby="connect" {
                h2 id="connect" { "Connect a shop" }
                @if marketplaces.is_empty() {
                    p class="muted" { "No marketplace app is configured on this installation (see README: configuration)." }
                } @else {
                    div class="actions" {
                        @for m in &marketplaces {
                            form method="post" action="/shops/connect" class="inline" {
                                (csrf(&ui))
                                input type="hidden" name="marketplace" value=(m.as_str());
                                button type="submit" { "Connect " (m.label()) }
                            }
                        }
                    }
                    p class="muted" { "You sign in at the marketplace and approve StoreSync; you come back here when it is done." }
                }
            }
        }
        @if shops.is_empty() {
            (empty("No shops connected yet.", html! { p { "Connect your first shop above; its listings are imported and mapped to your SKUs." } }))
        } @else {
            section class="panel" {
                table class="responsive" {
                    thead { tr { th { "Shop" } th { "Marketplace" } th { "Status" } th { "Authorization" } th { "Last error" } th { "Actions" } } }
                    tbody {
                        @for shop in &shops {
                            tr {
                                td data-label="Shop" { (shop.name) br; span class="muted" { (shop.external_shop_id) } }
                                td data-label="Marketplace" { (shop.marketplace.label()) }
                                td data-label="Status" { span class=(format!("badge {}", shop.status.as_str())) { (shop.status.as_str().replace('_', " ")) }
                                    @if shop.settings.dry_run { " " span class="badge" { "dry run" } } }
                                td data-label="Authorization" {
                                    @if let Some(t) = shop.access_expires_at { "token until " (ui.time(t)) br; }
                                    @if let Some(t) = shop.refresh_expires_at {
                                        span class=(if t < soon { "danger" } else { "muted" }) { "ends " (ui.time(t)) }
                                    }
                                }
                                td data-label="Last error" { @if let Some(e) = &shop.last_error { span class="danger" { (e) } } @else { span class="muted" { "—" } } }
                                td data-label="Actions" {
                                    div class="actions" {
                                        a href=(format!("/sync?shop={}", shop.id)) { "Calls" }
                                        a href=(format!("/listings?shop={}", shop.id)) { "Listings" }
                                        @if ui.can(Role::Member) && shop.status.as_str() == "active" {
                                            (action_button(&ui, shop.id, "sync", "Sync now", false))
                                            (action_button(&ui, shop.id, "pause", "Pause", false))
                                        }
                                        @if ui.can(Role::Member) && matches!(shop.status.as_str(), "paused" | "error") {
                                            (action_button(&ui, shop.id, "resume", "Resume", false))
                                        }
                                        @if ui.can(Role::Admin) && shop.status.as_str() != "disconnected" {
                                            (action_button(&ui, shop.id, "disconnect", "Disconnect", true))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if ui.can(Role::Admin) {
                section class="panel" aria-labelledby="alloc" {
                    h2 id="alloc" { "Allocation rules" }
                    p class="muted" { "How much of your available stock each shop shows. At 10 units or fewer the last units are split between shops so none is sold twice." }
                    @for shop in shops.iter().filter(|s| s.status.as_str() != "disconnected") {
                        form method="post" action=(format!("/shops/{}/settings", shop.id)) class="row" {
                            (csrf(&ui))
                            strong { (shop.name) }
                            label { "Show % of available" input type="number" name="allocation_percent" min="0" max="100" value=(shop.settings.allocation_percent); }
                            label { "Hold back (units)" input type="number" name="buffer" min="0" value=(shop.settings.buffer); }
                            label { "At most (units, empty = no cap)" input type="number" name="cap" min="0" value=[shop.settings.cap]; }
                            label { "Dry run" select name="dry_run" {
                                option value="false" selected[!shop.settings.dry_run] { "off — push stock" }
                                option value="true" selected[shop.settings.dry_run] { "on — compute, do not push" }
                            } }
                            button type="submit" class="secondary" { "Save" }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/shops", "Shops", content)))
}

fn action_button(ui: &Ui, id: ShopId, action: &str, label: &str, danger: bool) -> maud::Markup {
    html! {
        form method="post" action=(format!("/shops/{id}/{action}")) class="inline" {
            (csrf(ui))
            @if danger {
                button type="submit" class="danger" data-confirm="Disconnect this shop? Its orders and listings stay; stock stops syncing." { (label) }
            } @else {
                button type="submit" class="secondary" { (label) }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ConnectFields {
    marketplace: String,
}

/// Start the marketplace's OAuth flow: off to its authorize page.
pub async fn connect(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<ConnectFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let binding = Binding::new();
    let started = async {
        let marketplace = connect::marketplace(&form.marketplace)?;
        let callback = format!("{}/oauth/{marketplace}/callback", s.public_url);
        let (url, _) = connect::start(
            &s.store,
            &s.channels,
            ui.org.id,
            ui.user.user_id,
            marketplace,
            &callback,
            &binding.hash(),
        )
        .await?;
        Ok::<_, connect::ConnectError>((url, marketplace))
    }
    .await
    .map_err(ApiError::from);
    match started {
        Ok((url, marketplace)) => {
            let mut response = redirect(url.as_str());
            response.headers_mut().append(
                axum::http::header::SET_COOKIE,
                binding.set_cookie(&s, marketplace)?,
            );
            Ok(response)
        }
        Err(e) => done::<(), _>("/shops", Err(e), ""),
    }
}

pub async fn action(
    State(s): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    UiForm { ui, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    let id: ShopId = id.parse().map_err(|_| UiError::NotFound)?;
    if action == "sync" {
        require(&ui, Role::Member)?;
        return done(
            "/shops",
            s.services().sync_shop_now(ui.org.id, id).await,
            "Sync queued: orders are polled and stock pushed now.",
        );
    }
    let action = ShopAction::parse(&action).ok_or(UiError::NotFound)?;
    require(
        &ui,
        if action == ShopAction::Disconnect {
            Role::Admin
        } else {
            Role::Member
        },
    )?;
    let result = s
        .services()
        .shop_action(ui.org.id, &ui.user.actor(), id, action)
        .await;
    done(
        "/shops",
        result,
        &format!("Shop {}.", action.to().as_str().replace('_', " ")),
    )
}

#[derive(Debug, Deserialize)]
pub struct SettingsFields {
    allocation_percent: i64,
    buffer: i64,
    #[serde(default)]
    cap: String,
    dry_run: bool,
}

pub async fn settings(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<SettingsFields>,
) -> UiResult<Response> {
    require(&ui, Role::Admin)?;
    let id: ShopId = id.parse().map_err(|_| UiError::NotFound)?;
    let cap = match form.cap.trim() {
        "" => None,
        c => Some(
            c.parse::<i64>()
                .map_err(|_| UiError::BadRequest(format!("“{c}” is not a number of units")))?,
        ),
    };
    let patch = ShopSettingsPatch {
        allocation_percent: Some(form.allocation_percent),
        buffer: Some(form.buffer),
        cap: Some(cap),
        dry_run: Some(form.dry_run),
    };
    let result = s
        .services()
        .update_shop_settings(ui.org.id, &ui.user.actor(), id, &patch)
        .await;
    done("/shops", result, "Allocation rules saved.")
}
