//! Orders: filter by channel, status and date; the order's lines,
//! customer, totals and timeline of status changes with their stock
//! effects; ship (carrier + tracking), cancel, and bulk ship.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use storesync_domain::ids::OrderId;
use storesync_domain::{OrderStatus, Role};
use storesync_engine::app::orders::Fulfilment;
use storesync_store::{OrderFilter, OrderTransition, PageRequest};

use super::format::{channel_label, day_start, days_from_civil, order_channels};
use super::{
    csrf, done, empty, format_money, layout, next_link, redirect_with, render, require, Ui,
    UiError, UiForm, UiResult,
};
use crate::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    shop: String,
    /// Local date `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: Option<String>,
}

/// Day number of a `YYYY-MM-DD` date.
fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

pub async fn page(
    State(s): State<AppState>,
    ui: Ui,
    Query(q): Query<ListQuery>,
) -> UiResult<Response> {
    let status: Option<OrderStatus> = q.status.parse().ok();
    let filter = OrderFilter {
        status,
        channel: (!q.channel.is_empty()).then(|| q.channel.clone()),
        placed_from: parse_date(&q.from).map(|d| day_start(d, ui.offset)),
        placed_to: parse_date(&q.to).map(|d| day_start(d + 1, ui.offset)),
        shop: q.shop.parse().ok(),
    };
    let shops = s.store.list_shops(ui.org.id).await?;
    let page = s
        .store
        .list_orders(
            ui.org.id,
            &filter,
            &PageRequest {
                limit: Some(50),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let can_ship = ui.can(Role::Member);
    let content = html! {
        form method="get" action="/orders" class="row" role="search" {
            label { "Channel" select name="channel" {
                option value="" { "All" }
                @for c in order_channels() { option value=(c) selected[q.channel == c] { (channel_label(c)) } }
            } }
            label { "Shop" select name="shop" {
                option value="" { "All" }
                @for sh in &shops { option value=(sh.id) selected[q.shop == sh.id.to_string()] { (sh.name) } }
            } }
            label { "Status" select name="status" {
                option value="" { "All" }
                @for st in OrderStatus::ALL { option value=(st.as_str()) selected[status == Some(st)] { (st.as_str().replace('_', " ")) } }
            } }
            label { "From" input type="date" name="from" value=(q.from); }
            label { "To" input type="date" name="to" value=(q.to); }
            button type="submit" class="secondary" { "Filter" }
        }
        @if page.items.is_empty() {
            (empty("No orders match.", html! { p { "Orders from connected shops arrive here within seconds of being placed." } }))
        } @else {
            form method="post" action="/orders/bulk-ship" {
                (csrf(&ui))
                section class="panel" {
                    table class="responsive" {
                        thead { tr {
                            @if can_ship { th { label class="sr-only" for="all" { "Select all" } input id="all" type="checkbox" data-select-all="order"; } }
                            th { "Order" } th { "Channel" } th { "Status" } th { "Placed" } th class="num" { "Total" } th { "Lines" }
                            @if can_ship { th { "Tracking (for bulk ship)" } }
                        } }
                        tbody {
                            @for o in &page.items {
                                tr {
                                    @if can_ship { td { @if o.status == OrderStatus::ReadyToShip { input type="checkbox" name="order" value=(o.id) aria-label=(format!("Select order {}", o.external_id)); } } }
                                    td data-label="Order" { a href=(format!("/orders/{}", o.id)) { (o.external_id) } }
                                    td data-label="Channel" { (channel_label(&o.channel)) }
                                    td data-label="Status" { span class=(format!("badge {}", o.status.as_str())) { (o.status.as_str().replace('_', " ")) } }
                                    td data-label="Placed" { (ui.time(o.placed_at)) }
                                    td class="num" data-label="Total" { (format_money(o.total)) }
                                    td data-label="Lines" { @for l in &o.lines { (l.quantity) "× " (l.sku) br; } }
                                    @if can_ship { td { @if o.status == OrderStatus::ReadyToShip {
                                        input name=(format!("tracking_{}", o.id)) aria-label=(format!("Tracking number for {}", o.external_id)) size="14";
                                    } } }
                                }
                            }
                        }
                    }
                    @if can_ship {
                        div class="row" {
                            label { "Carrier" input name="carrier" value="J&T Express"; }
                            button type="submit" { "Ship selected" }
                        }
                    }
                }
            }
            (next_link("/orders", &[("channel", &q.channel), ("shop", &q.shop), ("status", &q.status), ("from", &q.from), ("to", &q.to)], page.next_cursor.as_ref()))
        }
    };
    Ok(render(&ui, layout(&ui, "/orders", "Orders", content)))
}

pub async fn detail(
    State(s): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let id: OrderId = id.parse().map_err(|_| UiError::NotFound)?;
    let o = s.store.order(ui.org.id, id).await?;
    let customer = o.customer.as_ref().and_then(|c| c.as_object());
    let content = html! {
        div class="cards" {
            div class="card" { div class="l" { "Status" } div class="n" { span class=(format!("badge {}", o.status.as_str())) { (o.status.as_str().replace('_', " ")) } } }
            div class="card" { div class="l" { "Channel" } div class="n" { (channel_label(&o.channel)) } }
            div class="card" { div class="l" { "Placed" } div class="n" { (ui.time(o.placed_at)) } }
            div class="card" { div class="l" { "Total" } div class="n" { (format_money(o.total)) } }
        }
        section class="panel" {
            h2 { "Lines" }
            table class="responsive" {
                thead { tr { th { "SKU" } th class="num" { "Qty" } th class="num" { "Unit price" } th class="num" { "Total" } } }
                tbody {
                    @for l in &o.lines { tr {
                        td data-label="SKU" { (l.sku) @if l.variant_id.is_none() { " " span class="badge" { "unmapped" } } }
                        td class="num" data-label="Qty" { (l.quantity) }
                        td class="num" data-label="Unit price" { (format_money(l.unit_price)) }
                        td class="num" data-label="Total" { (format_money(l.total)) }
                    } }
                    tr { td colspan="3" { "Subtotal" } td class="num" { (format_money(o.subtotal)) } }
                    tr { td colspan="3" { "Shipping" } td class="num" { (format_money(o.shipping_fee)) } }
                    tr { td colspan="3" { "Discount" } td class="num" { "−" (format_money(o.discount)) } }
                    tr { td colspan="3" { strong { "Total" } } td class="num" { strong { (format_money(o.total)) } } }
                }
            }
        }
        section class="panel" {
            h2 { "Customer" }
            @if let Some(c) = customer {
                dl { @for (k, v) in c { dt { (k) } dd { (v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())) } } }
            } @else { p class="muted" { "The channel shared no customer details." } }
        }
        @if let Some(ships) = &o.shipments { @if !ships.is_empty() {
            section class="panel" { h2 { "Shipments" }
                ul { @for sh in ships { li { (sh.carrier) " " (sh.tracking_number) " — " (ui.time(sh.shipped_at)) } } } }
        } }
        section class="panel" {
            h2 { "Timeline" }
            ol {
                @for e in o.events.iter().flatten() {
                    li { (ui.time(e.at)) ": "
                        @if let Some(f) = e.from_status { (f.as_str().replace('_', " ")) " → " }
                        strong { (e.to_status.as_str().replace('_', " ")) }
                        " · stock: " (e.effect) " · by " (e.source)
                        @if let Some(n) = &e.note { " · " (n) } }
                }
            }
        }
        @if ui.can(Role::Member) && matches!(o.status, OrderStatus::Pending | OrderStatus::ReadyToShip) {
            section class="panel" {
                h2 { "Act on this order" }
                @if o.status == OrderStatus::ReadyToShip {
                    form method="post" action=(format!("/orders/{}/ship", o.id)) class="row" {
                        (csrf(&ui))
                        label { "Carrier" input name="carrier" required value="J&T Express"; }
                        label { "Tracking number" input name="tracking_number" required; }
                        button type="submit" { "Mark shipped" }
                    }
                }
                form method="post" action=(format!("/orders/{}/cancel", o.id)) class="row" {
                    (csrf(&ui))
                    label { "Reason" input name="reason" required value="out of stock"; }
                    button type="submit" class="danger" data-confirm="Cancel this order? Its reserved stock is released." { "Cancel order" }
                }
            }
        }
    };
    Ok(render(
        &ui,
        layout(&ui, "/orders", &format!("Order {}", o.external_id), content),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ShipFields {
    carrier: String,
    tracking_number: String,
}

async fn apply(
    s: &AppState,
    ui: &Ui,
    id: &str,
    t: OrderTransition,
    ok: &str,
) -> UiResult<Response> {
    require(ui, Role::Member)?;
    let oid: OrderId = id.parse().map_err(|_| UiError::NotFound)?;
    let back = format!("/orders/{oid}");
    match s
        .services()
        .fulfil(ui.user.org_id, &ui.user.actor(), oid, t)
        .await
    {
        Ok(Fulfilment::Done(_)) => Ok(redirect_with(&back, false, ok)),
        Ok(Fulfilment::Queued) => Ok(redirect_with(
            &back,
            false,
            "Sent to the marketplace; the order moves as soon as it accepts (refresh in a moment).",
        )),
        Err(e) => done::<(), _>(&back, Err(e), ""),
    }
}

pub async fn ship(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<ShipFields>,
) -> UiResult<Response> {
    let t = OrderTransition::Ship {
        carrier: form.carrier.trim().to_owned(),
        tracking_number: form.tracking_number.trim().to_owned(),
    };
    apply(&s, &ui, &id, t, "Shipped: the reserved stock is deducted.").await
}

#[derive(Debug, Deserialize)]
pub struct CancelFields {
    reason: String,
}

pub async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<CancelFields>,
) -> UiResult<Response> {
    let t = OrderTransition::Cancel {
        reason: form.reason.trim().to_owned(),
    };
    apply(
        &s,
        &ui,
        &id,
        t,
        "Cancelled: the reserved stock is released.",
    )
    .await
}

/// Ship every selected order with its own tracking number.
pub async fn bulk_ship(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<Vec<(String, String)>>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let carrier = form
        .iter()
        .find(|(k, _)| k == "carrier")
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let selected: Vec<&String> = form
        .iter()
        .filter(|(k, _)| k == "order")
        .map(|(_, v)| v)
        .collect();
    if selected.is_empty() {
        return Ok(redirect_with(
            "/orders",
            true,
            "Select the orders to ship first.",
        ));
    }
    let (mut shipped, mut problems) = (0, Vec::new());
    for id in selected {
        let tracking = form
            .iter()
            .find(|(k, _)| *k == format!("tracking_{id}"))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let Ok(oid) = id.parse::<OrderId>() else {
            continue;
        };
        if tracking.is_empty() {
            problems.push(format!("{oid}: no tracking number"));
            continue;
        }
        let t = OrderTransition::Ship {
            carrier: carrier.clone(),
            tracking_number: tracking,
        };
        match s
            .services()
            .fulfil(ui.user.org_id, &ui.user.actor(), oid, t)
            .await
        {
            Ok(_) => shipped += 1,
            Err(e) => problems.push(format!("{oid}: {e}")),
        }
    }
    let text = if problems.is_empty() {
        format!(
            "{shipped} order(s) shipped (marketplace orders as soon as the marketplace accepts)."
        )
    } else {
        format!(
            "{shipped} order(s) shipped; not shipped: {}",
            problems.join("; ")
        )
    };
    Ok(redirect_with(
        "/orders?status=ready_to_ship",
        !problems.is_empty(),
        &text,
    ))
}
