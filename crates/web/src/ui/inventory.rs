//! Inventory: levels per variant and location, adjust and transfer, the
//! movement history of a SKU (who, what, why), low-stock filter and a CSV
//! export of current stock.

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use storesync_domain::{Role, Sku};
use storesync_store::{AdjustRequest, PageRequest, StockChange, TransferRequest};

use super::csv::{Cell::Int, Cell::Text, CsvOut};
use super::{
    csrf, done, empty, layout, next_link, redirect_with, render, require, Ui, UiForm, UiResult,
};
use crate::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct LevelsQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    low: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    ui: Ui,
    Query(q): Query<LevelsQuery>,
) -> UiResult<Response> {
    let prefix = q.q.trim().to_uppercase();
    let low = q.low.as_deref().is_some_and(|l| !l.is_empty());
    let page = s
        .store
        .stock_levels(
            ui.org.id,
            Some(prefix.as_str()),
            low,
            &PageRequest {
                limit: Some(50),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let locations = s.store.list_locations(ui.org.id).await?;
    let content = html! {
        form method="get" action="/inventory" class="row" role="search" {
            label { "SKU starts with" input type="search" name="q" value=(prefix); }
            label { "Only low stock" input type="checkbox" name="low" value="1" checked[low]; }
            button type="submit" class="secondary" { "Filter" }
            a href="/inventory/export.csv" download { "Export CSV" }
        }
        @if ui.can(Role::Member) {
            section class="panel" aria-labelledby="adj" {
                h2 id="adj" { "Adjust stock" }
                form method="post" action="/inventory/adjust" class="row" {
                    (csrf(&ui))
                    label { "SKU" input name="sku" required; }
                    label { "Location" select name="location" { @for l in &locations { option value=(l.code) selected[l.is_default] { (l.name) } } } }
                    label { "Change" select name="mode" { option value="delta" { "add / remove (±)" } option value="set" { "set count to" } } }
                    label { "Units" input type="number" name="quantity" required; }
                    label { "Why" input name="reason" required placeholder="delivery, damaged, stock take…"; }
                    button type="submit" { "Apply" }
                }
                @if locations.len() > 1 {
                    h2 { "Transfer between locations" }
                    form method="post" action="/inventory/transfer" class="row" {
                        (csrf(&ui))
                        label { "SKU" input name="sku" required; }
                        label { "From" select name="from" { @for l in &locations { option value=(l.code) { (l.name) } } } }
                        label { "To" select name="to" { @for l in &locations { option value=(l.code) { (l.name) } } } }
                        label { "Units" input type="number" name="quantity" min="1" required; }
                        button type="submit" { "Transfer" }
                    }
                }
            }
        }
        @if page.items.is_empty() {
            (empty(if low { "No SKU is at or below its low-stock level." } else { "No stock yet." },
                html! { p { "Create products in the " a href="/catalog" { "catalog" } " or connect a shop, then receive stock here." } }))
        } @else {
            section class="panel" {
                table class="responsive" {
                    thead { tr { th { "SKU" } th { "Product" } th class="num" { "On hand" } th class="num" { "Reserved" } th class="num" { "Available" } th { "Per location" } } }
                    tbody {
                        @for r in &page.items {
                            tr {
                                td data-label="SKU" { a href=(format!("/inventory/sku/{}", r.sku)) { (r.sku) } }
                                td data-label="Product" { (r.product) @if let Some(v) = &r.variant { " — " (v) } }
                                td class="num" data-label="On hand" { (r.on_hand) }
                                td class="num" data-label="Reserved" { (r.reserved) }
                                td class="num" data-label="Available" {
                                    span class=(if r.is_low() { "danger" } else { "" }) { (r.available) }
                                    @if let Some(t) = r.low_stock_threshold { br; span class="muted" { "low at " (t) } }
                                }
                                td data-label="Per location" {
                                    @for l in &r.locations { span class="muted" { (l.location) ": " (l.available) " avail / " (l.on_hand) " on hand" } br; }
                                }
                            }
                        }
                    }
                }
                (next_link("/inventory", &[("q", &prefix), ("low", if low { "1" } else { "" })], page.next_cursor.as_ref()))
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/inventory", "Inventory", content)))
}

#[derive(Debug, Deserialize, Default)]
pub struct SkuQuery {
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn sku(
    State(s): State<AppState>,
    ui: Ui,
    Path(sku): Path<String>,
    Query(q): Query<SkuQuery>,
) -> UiResult<Response> {
    let sku: Sku = sku.parse().map_err(|_| super::UiError::NotFound)?;
    let inv = s.store.inventory(ui.org.id, &sku).await?;
    let moves = s
        .store
        .movements(
            ui.org.id,
            &sku,
            &PageRequest {
                limit: Some(50),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let content = html! {
        div class="cards" {
            div class="card" { div class="l" { "On hand" } div class="n" { (inv.totals.on_hand) } }
            div class="card" { div class="l" { "Reserved for orders" } div class="n" { (inv.totals.reserved) } }
            div class="card" { div class="l" { "Available to sell" } div class="n" { (inv.totals.available) } }
        }
        section class="panel" {
            h2 { "Per location" }
            table { thead { tr { th { "Location" } th class="num" { "On hand" } th class="num" { "Reserved" } th class="num" { "Available" } } }
                tbody { @for l in &inv.locations { tr { td { (l.location) } td class="num" { (l.on_hand) } td class="num" { (l.reserved) } td class="num" { (l.available) } } } } }
        }
        section class="panel" {
            h2 { "Movements" }
            @if moves.items.is_empty() { p class="muted" { "No movements yet." } } @else {
                table class="responsive" {
                    thead { tr { th { "When" } th { "What" } th class="num" { "Units" } th class="num" { "On hand after" } th { "Where" } th { "Who" } th { "Why" } } }
                    tbody {
                        @for m in &moves.items {
                            tr {
                                td data-label="When" { (ui.time(m.created_at)) }
                                td data-label="What" { (m.kind) }
                                td class="num" data-label="Units" { (m.quantity) }
                                td class="num" data-label="On hand after" { (m.on_hand_after) }
                                td data-label="Where" { (m.location) }
                                td data-label="Who" { (m.actor) }
                                td data-label="Why" { (m.reason)
                                    @if let (Some(t), Some(id)) = (&m.reference_type, &m.reference_id) {
                                        @if t == "order" { " · " a href=(format!("/orders/{id}")) { "order" } } @else { " · " (t) }
                                    } }
                            }
                        }
                    }
                }
                (next_link(&format!("/inventory/sku/{sku}"), &[], moves.next_cursor.as_ref()))
            }
        }
    };
    Ok(render(
        &ui,
        layout(&ui, "/inventory", &format!("Stock of {sku}"), content),
    ))
}

#[derive(Debug, Deserialize)]
pub struct AdjustFields {
    sku: String,
    location: String,
    mode: String,
    quantity: i64,
    reason: String,
}

pub async fn adjust(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<AdjustFields>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let sku: Sku = match form.sku.trim().to_uppercase().parse() {
        Ok(s) => s,
        Err(e) => return Ok(redirect_with("/inventory", true, &format!("SKU: {e}"))),
    };
    let req = AdjustRequest {
        sku: sku.clone(),
        location: Some(form.location),
        change: if form.mode == "set" {
            StockChange::Set(form.quantity)
        } else {
            StockChange::Delta(form.quantity)
        },
        reason: form.reason,
        idempotency_key: None,
    };
    let result = s
        .store
        .adjust_stock(ui.org.id, &req, &ui.user.actor())
        .await;
    let msg = match &result {
        Ok(r) => format!(
            "{}: on hand {} → {}; every channel follows.",
            sku.as_str(),
            r.on_hand_before,
            r.level.on_hand
        ),
        Err(_) => String::new(),
    };
    done("/inventory", result, &msg)
}

#[derive(Debug, Deserialize)]
pub struct TransferFields {
    sku: String,
    from: String,
    to: String,
    quantity: i64,
}

pub async fn transfer(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<TransferFields>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let sku: Sku = match form.sku.trim().to_uppercase().parse() {
        Ok(s) => s,
        Err(e) => return Ok(redirect_with("/inventory", true, &format!("SKU: {e}"))),
    };
    let req = TransferRequest {
        sku,
        from: form.from,
        to: form.to,
        quantity: form.quantity,
        reason: None,
        idempotency_key: None,
    };
    let result = s
        .store
        .transfer_stock(ui.org.id, &req, &ui.user.actor())
        .await;
    done("/inventory", result, "Transferred.")
}

/// Current stock of every variant and location, as CSV.
pub async fn export(State(s): State<AppState>, ui: Ui) -> UiResult<Response> {
    let mut out = CsvOut::new(&[
        "sku",
        "product",
        "variant",
        "location",
        "on_hand",
        "reserved",
        "available",
    ])?;
    let mut cursor = None;
    loop {
        let page = s
            .store
            .stock_levels(
                ui.org.id,
                None,
                false,
                &PageRequest {
                    limit: Some(500),
                    cursor,
                },
            )
            .await?;
        for r in &page.items {
            let (sku, product) = (Text(&r.sku), Text(&r.product));
            let variant = Text(r.variant.as_deref().unwrap_or(""));
            if r.locations.is_empty() {
                out.row(&[sku, product, variant, Text(""), Int(0), Int(0), Int(0)])?;
            }
            for l in &r.locations {
                out.row(&[
                    sku,
                    product,
                    variant,
                    Text(&l.location),
                    Int(l.on_hand),
                    Int(l.reserved),
                    Int(l.available),
                ])?;
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"stock-{}.csv\"", ui.org.slug),
            ),
        ],
        out.finish()?,
    )
        .into_response())
}
