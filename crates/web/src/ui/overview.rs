//! The overview: orders and revenue today and this week per channel, the
//! last 30 days as a chart, and what needs attention.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use storesync_domain::{Currency, Money};
use storesync_store::dashboard::{Attention, DaySales};

use super::format::{channel_label, day_start, format_day, local_day};
use super::{empty, format_money, layout, render, svg, Ui, UiResult};
use crate::api::shops::escape;
use crate::AppState;

const COLORS: [&str; 6] = [
    "#ee4d2d", "#111111", "#0f146d", "#03ac0e", "#0b6bcb", "#8e44ad",
];

pub async fn page(State(s): State<AppState>, ui: Ui) -> UiResult<Response> {
    let now = s.store.now();
    let today = local_day(now, ui.offset);
    let from = day_start(today - 29, ui.offset);
    let sales = s
        .store
        .sales_by_day(ui.org.id, from, now.plus_millis(1), ui.offset)
        .await?;
    let attention = s.store.attention(ui.org.id).await?;
    // Revenue is shown in the currency most orders use.
    let mut by_currency: BTreeMap<&str, i64> = BTreeMap::new();
    for d in &sales {
        *by_currency.entry(d.currency.as_str()).or_default() += d.orders;
    }
    let currency: Option<Currency> = by_currency
        .iter()
        .max_by_key(|(_, n)| **n)
        .and_then(|(c, _)| c.parse().ok());
    let content = html! {
        (attention_panel(&attention))
        @match currency {
            None => (empty("No orders in the last 30 days yet.", html! {
                p { "Connect a shop on " a href="/shops" { "Shops" } " — its orders land here as they are placed." }
            })),
            Some(cur) => {
                (totals(&sales, cur, today))
                section class="panel chart" aria-labelledby="chart-title" {
                    h2 id="chart-title" { "Revenue, last 30 days (" (cur.as_str()) ")" }
                    (chart(&sales, cur, today))
                }
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/", "Overview", content)))
}

fn attention_panel(a: &Attention) -> Markup {
    let nothing = a.shops.is_empty()
        && a.failed_jobs == 0
        && a.dead_jobs == 0
        && a.unmapped_listings == 0
        && a.low_stock == 0
        && a.late_orders == 0;
    html! {
        section class="panel" aria-labelledby="att" {
            h2 id="att" { "Needs attention" }
            @if nothing {
                p class="okc" { "All clear: shops connected, sync healthy, nothing late." }
            } @else {
                ul class="attention" {
                    @for shop in &a.shops {
                        li class="danger" {
                            a href="/shops" { (shop.name) } " (" (shop.marketplace.label()) "): "
                            @if shop.status == "needs_reauth" { "connect it again — the marketplace refused its authorization" }
                            @else if shop.status != "active" { "status " (shop.status) }
                            @else { "its authorization ends within 7 days — connect it again" }
                        }
                    }
                    @if a.dead_jobs > 0 { li class="danger" { a href="/sync" { (a.dead_jobs) " sync job(s) gave up" } " — see the error and retry" } }
                    @if a.failed_jobs > 0 { li class="warn" { a href="/sync" { (a.failed_jobs) " sync job(s) failing and retrying" } } }
                    @if a.unmapped_listings > 0 { li class="warn" { a href="/listings?mapped=false" { (a.unmapped_listings) " listing(s) not mapped to a SKU" } " — their stock is not synced" } }
                    @if a.low_stock > 0 { li class="warn" { a href="/inventory?low=1" { (a.low_stock) " SKU(s) at or below their low-stock level" } } }
                    @if a.late_orders > 0 { li class="danger" { a href="/orders?status=ready_to_ship" { (a.late_orders) " order(s) waiting to ship for more than 48 hours" } } }
                }
            }
        }
    }
}

fn totals(sales: &[DaySales], cur: Currency, today: i64) -> Markup {
    let week_start = today - 6;
    let mut rows: BTreeMap<&str, [i64; 4]> = BTreeMap::new();
    for d in sales.iter().filter(|d| d.currency == cur.as_str()) {
        let r = rows.entry(d.channel.as_str()).or_default();
        if d.day == today {
            r[0] += d.orders;
            r[1] += d.revenue;
        }
        if d.day >= week_start {
            r[2] += d.orders;
            r[3] += d.revenue;
        }
    }
    let sum = rows.values().fold([0i64; 4], |mut acc, r| {
        for i in 0..4 {
            acc[i] += r[i];
        }
        acc
    });
    html! {
        div class="cards" {
            div class="card" { div class="l" { "Orders today" } div class="n" { (sum[0]) } }
            div class="card" { div class="l" { "Revenue today" } div class="n" { (format_money(Money::new(sum[1], cur))) } }
            div class="card" { div class="l" { "Orders, last 7 days" } div class="n" { (sum[2]) } }
            div class="card" { div class="l" { "Revenue, last 7 days" } div class="n" { (format_money(Money::new(sum[3], cur))) } }
        }
        section class="panel" aria-labelledby="per-channel" {
            h2 id="per-channel" { "Per channel" }
            table class="responsive" {
                thead { tr { th { "Channel" } th class="num" { "Orders today" } th class="num" { "Revenue today" } th class="num" { "Orders, 7 days" } th class="num" { "Revenue, 7 days" } } }
                tbody {
                    @for (channel, r) in &rows {
                        tr {
                            td data-label="Channel" { (channel_label(channel)) }
                            td class="num" data-label="Orders today" { (r[0]) }
                            td class="num" data-label="Revenue today" { (format_money(Money::new(r[1], cur))) }
                            td class="num" data-label="Orders, 7 days" { (r[2]) }
                            td class="num" data-label="Revenue, 7 days" { (format_money(Money::new(r[3], cur))) }
                        }
                    }
                }
            }
        }
    }
}

/// Stacked daily revenue per channel as an SVG bar chart, drawn here.
fn chart(sales: &[DaySales], cur: Currency, today: i64) -> Markup {
    let first = today - 29;
    let channels: Vec<&str> = {
        let mut c: Vec<&str> = sales
            .iter()
            .filter(|d| d.currency == cur.as_str())
            .map(|d| d.channel.as_str())
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let mut grid = vec![vec![0i64; channels.len()]; 30];
    for d in sales.iter().filter(|d| d.currency == cur.as_str()) {
        if let (Ok(i), Some(c)) = (
            usize::try_from(d.day - first),
            channels.iter().position(|c| *c == d.channel),
        ) {
            if i < 30 {
                grid[i][c] += d.revenue;
            }
        }
    }
    let max = grid
        .iter()
        .map(|day| day.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, left, bottom) = (900.0_f64, 240.0_f64, 8.0_f64, 24.0_f64);
    let bar = (w - left) / 30.0;
    let mut out = String::new();
    out.push_str(&format!(
        "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Daily revenue for the last 30 days, stacked by channel; highest day {}\">",
        escape(&format_money(Money::new(max, cur)))
    ));
    for (i, day) in grid.iter().enumerate() {
        let mut y = h - bottom;
        let x = left + bar * i as f64;
        for (c, revenue) in day.iter().enumerate() {
            if *revenue <= 0 {
                continue;
            }
            let bh = (h - bottom - 10.0) * (*revenue as f64) / (max as f64);
            y -= bh;
            out.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                bar - 3.0,
                COLORS[c % COLORS.len()],
                escape(&format_day(first + i as i64)),
                escape(channel_label(channels[c])),
                escape(&format_money(Money::new(*revenue, cur)))
            ));
        }
        if i % 5 == 0 || i == 29 {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#5b6475\">{}</text>",
                x,
                h - 6.0,
                escape(&format_day(first + i as i64))
            ));
        }
    }
    out.push_str("</svg>");
    html! {
        (svg(out))
        div class="legend" {
            @for (c, name) in channels.iter().enumerate() {
                span { i style=(format!("background:{}", COLORS[c % COLORS.len()])) {} (channel_label(name)) }
            }
        }
    }
}
