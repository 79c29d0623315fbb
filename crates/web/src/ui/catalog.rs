//! Catalog: products and variants (search by name, SKU or barcode, keyset
//! pages), create a product, a product's listings on every channel, and
//! unmapped listings with one-click mapping to a suggested variant.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use storesync_domain::ids::{ProductId, ShopId};
use storesync_domain::{Marketplace, Money, Role, Sku};
use storesync_store::listings::ListingRowId;
use storesync_store::{
    BundleComponentInput, NewProduct, NewVariant, PageRequest, ProductPatch, VariantPatch,
};

use super::{
    csrf, done, empty, format_money, layout, next_link, redirect_with, render, require, Ui,
    UiError, UiForm, UiResult,
};
use crate::AppState;

const PAGE: u32 = 50;

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn page(
    State(s): State<AppState>,
    ui: Ui,
    Query(q): Query<ListQuery>,
) -> UiResult<Response> {
    let search = q.q.trim();
    let page = s
        .store
        .list_products(
            ui.org.id,
            (!search.is_empty()).then_some(search),
            &PageRequest {
                limit: Some(PAGE),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let content = html! {
        form method="get" action="/catalog" class="row" role="search" {
            label { "Search name, SKU or barcode" input type="search" name="q" value=(search); }
            button type="submit" class="secondary" { "Search" }
            @if ui.can(Role::Member) { a href="/catalog/new" { "New product" } }
            a href="/listings?mapped=false" { "Unmapped listings" }
        }
        @if page.items.is_empty() {
            @if search.is_empty() {
                (empty("Your catalog is empty.", html! { p { "Connect a shop to import its listings (SKUs are created for you), or " a href="/catalog/new" { "add a product" } "." } }))
            } @else {
                (empty("Nothing matches your search.", html! { p { "Try part of the SKU or the product name." } }))
            }
        } @else {
            section class="panel" {
                table class="responsive" {
                    thead { tr { th { "Product" } th { "SKU" } th { "Variant" } th class="num" { "Price" } th { "Barcode" } } }
                    tbody {
                        @for p in &page.items {
                            @for (i, v) in p.variants.iter().enumerate() {
                                tr {
                                    td data-label="Product" { @if i == 0 { a href=(format!("/catalog/{}", p.id)) { (p.name) } } }
                                    td data-label="SKU" { a href=(format!("/inventory/sku/{}", v.sku)) { (v.sku.as_str()) } @if v.is_bundle { " " span class="badge" { "bundle" } } }
                                    td data-label="Variant" { (v.name.as_deref().unwrap_or("—")) }
                                    td class="num" data-label="Price" { (format_money(v.price)) }
                                    td data-label="Barcode" { (v.barcode.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                (next_link("/catalog", &[("q", search)], page.next_cursor.as_ref()))
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/catalog", "Catalog", content)))
}

pub async fn product(
    State(s): State<AppState>,
    ui: Ui,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let id: ProductId = id.parse().map_err(|_| UiError::NotFound)?;
    let product = s.store.product(ui.org.id, id).await?;
    let ids: Vec<_> = product.variants.iter().map(|v| v.id).collect();
    let listings = s.store.listings_of_variants(ui.org.id, &ids).await?;
    let shops: HashMap<ShopId, (String, Marketplace)> = s
        .store
        .list_shops(ui.org.id)
        .await?
        .into_iter()
        .map(|sh| (sh.id, (sh.name, sh.marketplace)))
        .collect();
    let edit = ui.can(Role::Member);
    let content = html! {
        @if let Some(d) = &product.description { p { (d) } }
        @if edit {
            form method="post" action=(format!("/catalog/{}", product.id)) class="row panel" {
                (csrf(&ui))
                label { "Product name" input name="name" value=(product.name) required maxlength="300"; }
                button type="submit" class="secondary" { "Rename" }
            }
        }
        @for v in &product.variants {
            section class="panel" {
                h2 { (v.sku.as_str()) @if let Some(n) = &v.name { " — " (n) } }
                @if edit {
                    form method="post" action=(format!("/catalog/{}/variants", product.id)) class="row" {
                        (csrf(&ui))
                        input type="hidden" name="sku" value=(v.sku.as_str());
                        label { "Variant name" input name="variant" value=(v.name.as_deref().unwrap_or("")); }
                        label { "Price (" (v.price.currency.as_str()) ")" input name="price" inputmode="decimal" value=(plain_amount(v.price)); }
                        label { "Barcode" input name="barcode" value=(v.barcode.as_deref().unwrap_or("")); }
                        label { "Low-stock level" input type="number" min="0" name="low_stock" value=[v.low_stock_threshold]; }
                        button type="submit" class="secondary" { "Save variant" }
                    }
                }
                @if v.is_bundle {
                    h3 { "Bundle of" }
                    ul {
                        @for c in &v.components {
                            li { (c.quantity) " × " a href=(format!("/inventory/sku/{}", c.sku)) { (c.sku.as_str()) } }
                        }
                    }
                    @if edit {
                        form method="post" action=(format!("/catalog/{}/components", product.id)) class="stack" {
                            (csrf(&ui))
                            input type="hidden" name="sku" value=(v.sku.as_str());
                            label { "Components, one per line: SKU and how many (e.g. " code { "TEE-RED-M 2" } ")"
                                textarea name="components" rows=(v.components.len().max(2) + 1) required {
                                    @for c in &v.components { (c.sku.as_str()) " " (c.quantity) "\n" }
                                }
                            }
                            button type="submit" class="secondary" { "Save components" }
                        }
                    }
                }
                p { "Price " (format_money(v.price))
                    @if let Some(t) = v.low_stock_threshold { " · low-stock level " (t) }
                    " · " a href=(format!("/inventory/sku/{}", v.sku)) { "Stock and movements" } }
                @let mine: Vec<_> = listings.iter().filter(|l| l.variant_id == Some(v.id)).collect();
                @if mine.is_empty() {
                    p class="muted" { "Not listed on any connected shop yet." }
                } @else {
                    table class="responsive" {
                        thead { tr { th { "Shop" } th { "Listing" } th class="num" { "Shows" } th class="num" { "Last pushed" } th { "Result" } } }
                        tbody {
                            @for l in mine {
                                @let (shop, market) = shops.get(&l.shop_id).map(|(name, m)| (name.as_str(), m.label())).unwrap_or_default();
                                tr {
                                    td data-label="Shop" { (shop) " (" (market) ")" }
                                    td data-label="Listing" { (l.title) br; span class="muted" { (l.external_listing_id) " / " (l.external_variant_id) } }
                                    td class="num" data-label="Shows" { (l.channel_stock) }
                                    td class="num" data-label="Last pushed" { @if let Some(q) = l.last_pushed_qty { (q) } @else { "—" } @if let Some(t) = l.last_pushed_at { br; span class="muted" { (ui.time(t)) } } }
                                    td data-label="Result" { (l.last_push_result.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/catalog", &product.name, content)))
}

/// An amount as typed in a form: `150000` or `12.50`.
fn plain_amount(m: Money) -> String {
    let digits = u32::from(m.currency.minor_digits());
    if digits == 0 {
        return m.amount.to_string();
    }
    let unit = 10i64.pow(digits);
    format!(
        "{}.{:0width$}",
        m.amount / unit,
        m.amount % unit,
        width = digits as usize
    )
}

#[derive(Debug, Deserialize)]
pub struct RenameFields {
    name: String,
}

pub async fn rename(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<RenameFields>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let id: ProductId = id.parse().map_err(|_| UiError::NotFound)?;
    let patch = ProductPatch {
        name: Some(form.name.trim().to_owned()),
        description: None,
        variants: Vec::new(),
        add_variants: Vec::new(),
    };
    let result = s
        .store
        .update_product(ui.org.id, id, &patch, &ui.user.actor())
        .await;
    done(&format!("/catalog/{id}"), result, "Renamed.")
}

/// The product of a variant form's URL and its variant with the form's SKU,
/// for a user who may edit the catalog.
async fn variant_of_form(
    s: &AppState,
    ui: &Ui,
    id: &str,
    sku: &str,
) -> UiResult<(ProductId, storesync_store::Variant)> {
    require(ui, Role::Member)?;
    let id: ProductId = id.parse().map_err(|_| UiError::NotFound)?;
    let product = s.store.product(ui.org.id, id).await?;
    let variant = product
        .variants
        .into_iter()
        .find(|v| v.sku.as_str() == sku)
        .ok_or(UiError::NotFound)?;
    Ok((id, variant))
}

#[derive(Debug, Deserialize)]
pub struct VariantFields {
    sku: String,
    #[serde(default)]
    variant: String,
    price: String,
    #[serde(default)]
    barcode: String,
    #[serde(default)]
    low_stock: String,
}

pub async fn edit_variant(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<VariantFields>,
) -> UiResult<Response> {
    let (id, v) = variant_of_form(&s, &ui, &id, &form.sku).await?;
    let back = format!("/catalog/{id}");
    let price = match parse_amount(&form.price, v.price.currency) {
        Ok(p) => p,
        Err(e) => return Ok(redirect_with(&back, true, &e)),
    };
    let low = match opt(&form.low_stock).map(|l| l.parse::<i64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Ok(redirect_with(
                &back,
                true,
                "The low-stock level must be a whole number.",
            ))
        }
    };
    let patch = ProductPatch {
        name: None,
        description: None,
        variants: vec![VariantPatch {
            sku: v.sku.clone(),
            name: opt(&form.variant),
            price: Some(price),
            barcode: opt(&form.barcode),
            weight_grams: None,
            allow_backorder: None,
            low_stock_threshold: low,
            components: None,
        }],
        add_variants: Vec::new(),
    };
    let result = s
        .store
        .update_product(ui.org.id, id, &patch, &ui.user.actor())
        .await;
    done(&back, result, &format!("{} saved.", v.sku.as_str()))
}

#[derive(Debug, Deserialize)]
pub struct ComponentFields {
    sku: String,
    components: String,
}

/// Components as typed: one per line, a SKU and optionally how many
/// (`TEE-RED-M 2`, `TEE-RED-M x2`, `TEE-RED-M`); the error names the line.
pub fn parse_components(text: &str) -> Result<Vec<BundleComponentInput>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let sku = parts.next().unwrap_or_default();
        let quantity = match parts.next().map(|q| q.trim_start_matches(['x', 'X', '×'])) {
            None => 1,
            Some(q) => match q.parse::<i64>() {
                Ok(q) if q >= 1 => q,
                _ => {
                    return Err(format!(
                        "Line {}: \"{line}\" — how many must be a whole number of at least 1.",
                        n + 1
                    ))
                }
            },
        };
        if parts.next().is_some() {
            return Err(format!(
                "Line {}: \"{line}\" — write a SKU and how many, nothing else.",
                n + 1
            ));
        }
        let sku = sku
            .parse()
            .map_err(|e| format!("Line {}: \"{line}\" — {e}", n + 1))?;
        out.push(BundleComponentInput { sku, quantity });
    }
    if out.is_empty() {
        return Err("A bundle needs at least one component.".to_owned());
    }
    Ok(out)
}

pub async fn edit_components(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<ComponentFields>,
) -> UiResult<Response> {
    let (id, v) = variant_of_form(&s, &ui, &id, &form.sku).await?;
    let back = format!("/catalog/{id}");
    let components = match parse_components(&form.components) {
        Ok(c) => c,
        Err(e) => return Ok(redirect_with(&back, true, &e)),
    };
    let patch = ProductPatch {
        variants: vec![VariantPatch {
            sku: v.sku.clone(),
            name: None,
            price: None,
            barcode: None,
            weight_grams: None,
            allow_backorder: None,
            low_stock_threshold: None,
            components: Some(components),
        }],
        ..ProductPatch::default()
    };
    let result = s
        .store
        .update_product(ui.org.id, id, &patch, &ui.user.actor())
        .await;
    done(
        &back,
        result,
        &format!("Components of {} saved.", v.sku.as_str()),
    )
}

pub async fn new_page(ui: Ui) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let content = html! {
        form method="post" action="/catalog/new" class="stack panel" {
            (csrf(&ui))
            label { "Product name" input name="name" required maxlength="200"; }
            label { "SKU" input name="sku" required maxlength="64" autocapitalize="characters"; }
            label { "Variant name (optional, e.g. size M)" input name="variant"; }
            label { "Price (e.g. 150000 or 12.50)" input name="price" required inputmode="decimal"; }
            label { "Currency" select name="currency" {
                @for c in ["IDR", "MYR", "SGD", "THB", "VND", "PHP", "USD"] { option value=(c) { (c) } }
            } }
            label { "Barcode (optional)" input name="barcode"; }
            label { "Low-stock level (optional)" input type="number" name="low_stock" min="0"; }
            label { "Bundle of (optional): one component per line, its SKU and how many, e.g. " code { "TEE-RED-M 2" }
                textarea name="components" rows="3" {} }
            button type="submit" { "Create product" }
        }
    };
    Ok(render(&ui, layout(&ui, "/catalog", "New product", content)))
}

#[derive(Debug, Deserialize)]
pub struct NewFields {
    name: String,
    sku: String,
    #[serde(default)]
    variant: String,
    price: String,
    currency: String,
    #[serde(default)]
    barcode: String,
    #[serde(default)]
    low_stock: String,
    #[serde(default)]
    components: String,
}

/// `150000`, `12.50` or `12,50` in the currency's minor units.
pub fn parse_amount(text: &str, currency: storesync_domain::Currency) -> Result<Money, String> {
    let t = text.trim().replace(' ', "");
    let digits = u32::from(currency.minor_digits());
    let (whole, frac) = match t.rsplit_once(['.', ',']) {
        Some((w, f)) if f.len() <= digits as usize && !f.is_empty() => {
            (w.replace(['.', ','], ""), f.to_owned())
        }
        _ => (t.replace(['.', ','], ""), String::new()),
    };
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("“{text}” is not an amount"))?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = digits as usize)
            .parse()
            .map_err(|_| format!("“{text}” is not an amount"))?
    };
    let amount = whole
        .checked_mul(10i64.pow(digits))
        .and_then(|w| w.checked_add(frac))
        .filter(|a| *a >= 0)
        .ok_or_else(|| format!("“{text}” is out of range"))?;
    Ok(Money::new(amount, currency))
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub async fn create(
    State(s): State<AppState>,
    UiForm { ui, form }: UiForm<NewFields>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let back = "/catalog/new";
    let currency = match form.currency.parse() {
        Ok(c) => c,
        Err(e) => return Ok(redirect_with(back, true, &format!("{e}"))),
    };
    let price = match parse_amount(&form.price, currency) {
        Ok(p) => p,
        Err(e) => return Ok(redirect_with(back, true, &e)),
    };
    let sku: Sku = match form.sku.trim().parse() {
        Ok(s) => s,
        Err(e) => return Ok(redirect_with(back, true, &format!("SKU: {e}"))),
    };
    let low = match opt(&form.low_stock).map(|l| l.parse::<i64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return Ok(redirect_with(
                back,
                true,
                "The low-stock level must be a whole number.",
            ))
        }
    };
    let components = if form.components.trim().is_empty() {
        Vec::new()
    } else {
        match parse_components(&form.components) {
            Ok(c) => c,
            Err(e) => return Ok(redirect_with(back, true, &e)),
        }
    };
    let new = NewProduct {
        name: form.name.trim().to_owned(),
        description: None,
        variants: vec![NewVariant {
            sku,
            name: opt(&form.variant),
            price,
            barcode: opt(&form.barcode),
            weight_grams: None,
            allow_backorder: false,
            low_stock_threshold: low,
            components,
        }],
    };
    match s
        .store
        .create_product(ui.org.id, &new, &ui.user.actor())
        .await
    {
        Ok(p) => Ok(redirect_with(
            &format!("/catalog/{}", p.id),
            false,
            "Product created. Receive stock on the Inventory page.",
        )),
        Err(e) => done::<(), _>(back, Err(e), ""),
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct ListingQuery {
    #[serde(default)]
    mapped: Option<String>,
    #[serde(default)]
    shop: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

pub async fn listings(
    State(s): State<AppState>,
    ui: Ui,
    Query(q): Query<ListingQuery>,
) -> UiResult<Response> {
    let mapped = match q.mapped.as_deref() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let shop: Option<ShopId> = q
        .shop
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok());
    let page = s
        .store
        .list_listings(
            ui.org.id,
            mapped,
            shop,
            &PageRequest {
                limit: Some(PAGE),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    // Suggest the variant whose SKU matches the listing's seller SKU.
    let mut suggestions = HashMap::new();
    for l in page.items.iter().filter(|l| l.variant_id.is_none()) {
        if let Ok(sku) = l.seller_sku.trim().to_uppercase().parse::<Sku>() {
            if s.store.variant_by_sku(ui.org.id, &sku).await.is_ok() {
                suggestions.insert(l.id, sku);
            }
        }
    }
    let mapped_param = q.mapped.clone().unwrap_or_default();
    let shop_param = q.shop.clone().unwrap_or_default();
    let title = if mapped == Some(false) {
        "Unmapped listings"
    } else {
        "Listings"
    };
    let content = html! {
        p { a href="/listings?mapped=false" { "Unmapped only" } " · " a href="/listings" { "All listings" } }
        @if page.items.is_empty() {
            (empty(if mapped == Some(false) { "Every listing is mapped to a SKU." } else { "No listings yet." },
                html! { p { "Listings come from connected shops; " a href="/shops" { "connect or sync a shop" } "." } }))
        } @else {
            section class="panel" {
                table class="responsive" {
                    thead { tr { th { "Listing" } th { "Seller SKU" } th class="num" { "Shows" } th { "Mapped to" } } }
                    tbody {
                        @for l in &page.items {
                            tr {
                                td data-label="Listing" { (l.title) br; span class="muted" { (l.external_listing_id) " / " (l.external_variant_id) } }
                                td data-label="Seller SKU" { (l.seller_sku) }
                                td class="num" data-label="Shows" { (l.channel_stock) }
                                td data-label="Mapped to" {
                                    @if let Some(sku) = &l.sku {
                                        a href=(format!("/inventory/sku/{sku}")) { (sku) }
                                    } @else if ui.can(Role::Member) {
                                        form method="post" action=(format!("/listings/{}/map", l.id)) class="row" {
                                            (csrf(&ui))
                                            label { "SKU" input name="sku" value=[suggestions.get(&l.id).map(|s| s.as_str().to_owned())] required; }
                                            button type="submit" class="secondary" {
                                                @if suggestions.contains_key(&l.id) { "Map to suggested" } @else { "Map" }
                                            }
                                        }
                                    } @else { span class="warn" { "not mapped" } }
                                }
                            }
                        }
                    }
                }
                (next_link("/listings", &[("mapped", &mapped_param), ("shop", &shop_param)], page.next_cursor.as_ref()))
            }
        }
    };
    Ok(render(&ui, layout(&ui, "/catalog", title, content)))
}

#[derive(Debug, Deserialize)]
pub struct MapFields {
    sku: String,
}

pub async fn map(
    State(s): State<AppState>,
    Path(id): Path<String>,
    UiForm { ui, form }: UiForm<MapFields>,
) -> UiResult<Response> {
    require(&ui, Role::Member)?;
    let id: ListingRowId = id.parse().map_err(|_| UiError::NotFound)?;
    let back = "/listings?mapped=false";
    let sku: Sku = match form.sku.trim().parse() {
        Ok(s) => s,
        Err(e) => return Ok(redirect_with(back, true, &format!("SKU: {e}"))),
    };
    let result = s
        .store
        .map_listing(ui.org.id, id, Some(&sku), &ui.user.actor())
        .await;
    done(
        back,
        result,
        &format!("Mapped to {}; its stock is pushed now.", sku.as_str()),
    )
}
