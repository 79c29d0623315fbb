//! The dashboard: server-rendered pages (maud templates, checked at compile
//! time), a small stylesheet and a little script of our own, no JavaScript
//! build step.
//!
//! Pages authenticate with the session cookie and redirect to the sign-in
//! page without one. Every form post carries the session's CSRF token in a
//! hidden `_csrf` field ([`UiForm`]); a post without it changes nothing.
//! Actions answer with a redirect (post/redirect/get) and a one-shot flash
//! message in a cookie, so a failed action shows its error on the page it
//! came from, never as JSON. Roles show: a viewer sees no buttons that
//! would fail.

mod accounts;
mod auth;
mod catalog;
pub mod csv;
mod format;
mod inventory;
mod orders;
mod overview;
mod settings;
mod shops;
mod signins;
mod sync;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::de::DeserializeOwned;
use storesync_crypto::{constant_time_eq, hash_token};
use storesync_domain::Role;
use storesync_store::{AuthUser, Membership, Org, StoreError};

use crate::error::ApiError;
use crate::extract::{cookie, session_cookie};
use crate::session::csrf_token_for;
use crate::AppState;

pub use format::{format_money, format_time, tz_offset_minutes};

const FLASH_COOKIE: &str = "storesync_flash";

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route(
            "/invite/{token}",
            get(accounts::invitation_page).post(accounts::accept_invitation),
        )
        .route(
            "/reset",
            get(accounts::reset_page).post(accounts::request_reset),
        )
        .route(
            "/reset/{token}",
            get(accounts::reset_form).post(accounts::reset),
        )
        .route(
            "/signup",
            get(accounts::signup_page).post(accounts::request_signup),
        )
        .route(
            "/signup/{token}",
            get(accounts::signup_form).post(accounts::complete_signup),
        )
        .route("/account", get(auth::account).post(auth::change_password))
        .route("/switch-org", post(auth::switch_org))
        .route("/shops", get(shops::page))
        .route("/shops/connect", post(shops::connect))
        .route("/shops/{id}/{action}", post(shops::action))
        .route("/shops/{id}/settings", post(shops::settings))
        .route("/catalog", get(catalog::page))
        .route("/catalog/new", get(catalog::new_page).post(catalog::create))
        .route("/catalog/{id}", get(catalog::product).post(catalog::rename))
        .route("/catalog/{id}/variants", post(catalog::edit_variant))
        .route("/catalog/{id}/components", post(catalog::edit_components))
        .route("/listings", get(catalog::listings))
        .route("/listings/{id}/map", post(catalog::map))
        .route("/inventory", get(inventory::page))
        .route("/inventory/export.csv", get(inventory::export))
        .route("/inventory/adjust", post(inventory::adjust))
        .route("/inventory/transfer", post(inventory::transfer))
        .route("/inventory/sku/{sku}", get(inventory::sku))
        .route("/orders", get(orders::page))
        .route("/orders/bulk-ship", post(orders::bulk_ship))
        .route("/orders/{id}", get(orders::detail))
        .route("/orders/{id}/ship", post(orders::ship))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/sync", get(sync::page))
        .route("/sync/jobs/{id}/retry", post(sync::retry))
        .route("/settings", get(settings::page))
        .route("/settings/sign-ins", get(signins::page))
        .route("/settings/users", post(settings::add_user))
        .route("/settings/users/{id}/role", post(settings::set_role))
        .route(
            "/settings/invitations/{id}/revoke",
            post(settings::revoke_invitation),
        )
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/settings/locations", post(settings::add_location))
        .route("/settings/timezone", post(settings::set_timezone))
        .route("/audit", get(sync::audit))
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/app.js", get(script))
}

async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", include_str!("assets/app.css"))
}

async fn script() -> impl IntoResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    )
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
}

/// The signed-in user of a page, in their current organization.
#[derive(Debug, Clone)]
pub struct Ui {
    pub user: AuthUser,
    pub org: Org,
    pub memberships: Vec<Membership>,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// Minutes east of UTC of the organization's time zone.
    pub offset: i64,
}

/// A one-shot message shown on the next page.
#[derive(Debug, Clone)]
pub struct Flash {
    pub error: bool,
    pub text: String,
}

impl Ui {
    pub fn can(&self, role: Role) -> bool {
        self.user.role.allows(role)
    }

    pub fn time(&self, t: storesync_domain::Timestamp) -> String {
        format_time(t, self.offset)
    }
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum UiError {
    /// Not signed in: go to the sign-in page.
    SignIn,
    Forbidden,
    NotFound,
    /// The form's CSRF token is missing or wrong.
    Csrf,
    BadRequest(String),
    Internal(String),
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        UiError::from(ApiError::Store(e))
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthenticated => UiError::SignIn,
            ApiError::Forbidden { .. } => UiError::Forbidden,
            ApiError::NotFound(_) => UiError::NotFound,
            ApiError::Csrf => UiError::Csrf,
            ApiError::Internal(m) => UiError::Internal(m),
            ApiError::Store(StoreError::NotFound(_)) => UiError::NotFound,
            ApiError::Store(StoreError::Forbidden(_)) => UiError::Forbidden,
            other if other.status().is_server_error() => UiError::Internal(other.to_string()),
            other => UiError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            UiError::SignIn => return redirect("/login"),
            UiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow this. Ask an owner or admin.".to_owned(),
            ),
            UiError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. It may have been removed, or belong to another organization.".to_owned(),
            ),
            UiError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from this session's page. Reload the page and try again.".to_owned(),
            ),
            UiError::BadRequest(m) => (StatusCode::UNPROCESSABLE_ENTITY, "Cannot do that", m),
            UiError::Internal(m) => {
                tracing::error!(error = %m, "dashboard page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not finish this. Try again; if it keeps failing, check the server log.".to_owned(),
                )
            }
        };
        let body = bare_page(
            title,
            html! {
                main id="main" class="narrow" {
                    h1 { (title) }
                    p { (text) }
                    p { a href="/" { "Back to the overview" } }
                }
            },
        );
        (status, Html(body.into_string())).into_response()
    }
}

pub type UiResult<T> = Result<T, UiError>;

/// Session of the request, or `None`.
async fn session_user(parts: &Parts, state: &AppState) -> UiResult<Option<(AuthUser, String)>> {
    let Some(id) = session_cookie(parts) else {
        return Ok(None);
    };
    let session = state
        .store
        .session(&hash_token(&id), state.config.session_idle_ms)
        .await?;
    Ok(session.map(|s| (s.user, id)))
}

fn read_flash(parts: &Parts) -> Option<Flash> {
    let raw = cookie(parts, FLASH_COOKIE)?;
    let decoded: String = url::form_urlencoded::parse(format!("f={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let (kind, text) = decoded.split_once(':')?;
    (!text.is_empty()).then(|| Flash {
        error: kind == "error",
        text: text.chars().take(500).collect(),
    })
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> UiResult<Self> {
        let (user, session_id) = session_user(parts, state).await?.ok_or(UiError::SignIn)?;
        if user.token_id.is_some() {
            return Err(UiError::SignIn);
        }
        let memberships = state.store.memberships(user.user_id).await?;
        let org = memberships
            .iter()
            .find(|m| m.org.id == user.org_id)
            .map(|m| m.org.clone())
            .ok_or(UiError::SignIn)?;
        let offset = tz_offset_minutes(&org.timezone);
        Ok(Ui {
            csrf: csrf_token_for(&session_id),
            flash: read_flash(parts),
            user,
            org,
            memberships,
            offset,
        })
    }
}

/// The fields of a form that carries nothing but its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// A form post: the signed-in user, a valid CSRF token, and the fields.
#[derive(Debug)]
pub struct UiForm<T> {
    pub ui: Ui,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for UiForm<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> UiResult<Self> {
        let (mut parts, body) = req.into_parts();
        let ui = Ui::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| UiError::BadRequest("the form could not be read".into()))?;
        let sent: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| UiError::Csrf)?;
        if !constant_time_eq(sent.csrf.as_bytes(), ui.csrf.as_bytes()) {
            return Err(UiError::Csrf);
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| UiError::BadRequest(format!("the form is incomplete: {e}")))?;
        Ok(UiForm { ui, form })
    }
}

/// Only `role` and up may do this.
pub fn require(ui: &Ui, role: Role) -> UiResult<()> {
    if ui.can(role) {
        Ok(())
    } else {
        Err(UiError::Forbidden)
    }
}

pub fn redirect(to: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(to) {
        headers.insert(LOCATION, v);
    }
    (StatusCode::SEE_OTHER, headers).into_response()
}

/// Redirect to `to`, showing `text` there once.
pub fn redirect_with(to: &str, error: bool, text: &str) -> Response {
    let mut response = redirect(to);
    let value: String = url::form_urlencoded::byte_serialize(
        format!("{}:{text}", if error { "error" } else { "ok" }).as_bytes(),
    )
    .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
    )) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

/// The outcome of an action: back to `to` with its message.
pub fn done<T, E: Into<UiError>>(to: &str, result: Result<T, E>, ok: &str) -> UiResult<Response> {
    match result.map_err(Into::into) {
        Ok(_) => Ok(redirect_with(to, false, ok)),
        Err(UiError::BadRequest(m)) => Ok(redirect_with(to, true, &m)),
        Err(e) => Err(e),
    }
}

/// A page: the flash cookie (if any) is consumed by showing it.
pub fn render(ui: &Ui, markup: Markup) -> Response {
    let mut response = Html(markup.into_string()).into_response();
    if ui.flash.is_some() {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{FLASH_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        )) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · StoreSync" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body { (body) }
        }
    }
}

const NAV: [(&str, &str); 8] = [
    ("/", "Overview"),
    ("/shops", "Shops"),
    ("/catalog", "Catalog"),
    ("/inventory", "Inventory"),
    ("/orders", "Orders"),
    ("/sync", "Sync"),
    ("/settings", "Settings"),
    ("/audit", "Audit log"),
];

/// The hidden CSRF field of every form.
pub fn csrf(ui: &Ui) -> Markup {
    html! { input type="hidden" name="_csrf" value=(ui.csrf); }
}

/// A page inside the application frame.
pub fn layout(ui: &Ui, active: &str, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (ui.org.name) " · StoreSync" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { "StoreSync" }
                    nav aria-label="Main" {
                        ul {
                            @for (href, label) in NAV {
                                li {
                                    a href=(href) aria-current=[(href == active).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    div class="who" {
                        @if ui.memberships.len() > 1 {
                            form method="post" action="/switch-org" class="inline" {
                                (csrf(ui))
                                label for="org-switch" class="sr-only" { "Organization" }
                                select id="org-switch" name="org" data-autosubmit {
                                    @for m in &ui.memberships {
                                        option value=(m.org.slug) selected[m.org.id == ui.org.id] { (m.org.name) }
                                    }
                                }
                                noscript { button type="submit" { "Switch" } }
                            }
                        } @else {
                            span class="org" { (ui.org.name) }
                        }
                        a href="/account" { (ui.user.email) }
                        span class="role" { (ui.user.role.as_str()) }
                        form method="post" action="/logout" class="inline" {
                            (csrf(ui))
                            button type="submit" class="link" { "Sign out" }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    @if let Some(f) = &ui.flash {
                        div class=(if f.error { "flash error" } else { "flash ok" }) role=(if f.error { "alert" } else { "status" }) { (f.text) }
                    }
                    (content)
                }
            }
        }
    }
}

/// An empty state that tells the seller what to do next.
pub fn empty(text: &str, next: Markup) -> Markup {
    html! {
        div class="empty" { p { (text) } (next) }
    }
}

/// "Next page" link for keyset pagination, keeping the other parameters.
pub fn next_link(base: &str, params: &[(&str, &str)], cursor: Option<&String>) -> Markup {
    let Some(cursor) = cursor else {
        return html! {};
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if !v.is_empty() {
            query.append_pair(k, v);
        }
    }
    query.append_pair("cursor", cursor);
    let href = format!("{base}?{}", query.finish());
    html! { p class="pager" { a href=(href) rel="next" { "Next page →" } } }
}

/// Escape-free inline SVG produced by our own code.
pub fn svg(markup: String) -> PreEscaped<String> {
    PreEscaped(markup)
}
