//! Sign in, sign out, the account page (password change) and switching
//! organization.

use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use storesync_crypto::hash_token;

use super::{
    bare_page, csrf, layout, redirect, redirect_with, render, NoFields, Ui, UiError, UiForm,
    UiResult,
};
use crate::error::ApiError;
use crate::extract::{cookie, session_cookie};
use crate::limiter::Client;
use crate::session::{
    change_own_password, session_cookie_header, sign_in, LoginRequest, PasswordChange,
};
use crate::AppState;

#[derive(Debug, Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    error: Option<String>,
}

const LOGIN_CSRF_COOKIE: &str = "storesync_login_csrf";

/// The sign-in form, with a fresh token that must come back both as a
/// cookie and as a field (so no other site can sign a visitor in).
fn login_form(state: &AppState, error: Option<&str>) -> Response {
    let token = storesync_crypto::random_token("lc_").expose().to_owned();
    let page = bare_page(
        "Sign in",
        html! {
            main id="main" class="narrow" {
                h1 { "Sign in to StoreSync" }
                @if let Some(e) = error {
                    div class="flash error" role="alert" { (e) }
                }
                form method="post" action="/login" class="stack" {
                    input type="hidden" name="_csrf" value=(token);
                    label { "Email" input type="email" name="email" autocomplete="username" required autofocus; }
                    label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { "Sign in" }
                }
                p { a href="/reset" { "Forgot your password?" } @if state.config.allow_signup { " · " a href="/signup" { "Sign up" } } }
                p class="muted" { "Developers: the " a href="/api/v1/openapi.json" { "REST API reference (OpenAPI)" } "; authenticate with an API token." }
            }
        },
    );
    let mut response = Html(page.into_string()).into_response();
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    )) {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

pub async fn login_page(
    State(state): State<AppState>,
    parts: Parts,
    Query(q): Query<LoginQuery>,
) -> UiResult<Response> {
    // Already signed in: straight to the overview.
    if let Some(id) = session_cookie(&parts) {
        if state
            .store
            .session(&hash_token(&id), state.config.session_idle_ms)
            .await?
            .is_some()
        {
            return Ok(redirect("/"));
        }
    }
    let error = q.error.map(|_| "Wrong email or password.");
    Ok(login_form(&state, error))
}

#[derive(Debug, Deserialize)]
pub struct LoginFields {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    axum::Form(f): axum::Form<LoginFields>,
) -> UiResult<Response> {
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty()
        || !storesync_crypto::constant_time_eq(expected.as_bytes(), f.csrf.as_bytes())
    {
        return Ok(login_form(
            &state,
            Some("The sign-in form expired. Please try again."),
        ));
    }
    let req = LoginRequest {
        email: f.email,
        password: f.password,
        org: None,
    };
    match sign_in(&state, req, &client).await {
        Ok((cookie, _)) => {
            let mut response = redirect("/");
            response.headers_mut().append(SET_COOKIE, cookie);
            Ok(response)
        }
        Err(ApiError::BadCredentials | ApiError::Validation(_)) => {
            Ok(login_form(&state, Some("Wrong email or password.")))
        }
        Err(ApiError::TooManyRequests) => Ok(login_form(
            &state,
            Some("Too many failed attempts from here. Wait 15 minutes and try again."),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    UiForm { .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    if let Some(id) = session_cookie(&parts) {
        state
            .store
            .close_signed_in_session(&hash_token(&id), &client)
            .await?;
    }
    let mut response = redirect("/login");
    response
        .headers_mut()
        .append(SET_COOKIE, session_cookie_header(&state, "", 0)?);
    Ok(response)
}

pub async fn account(ui: Ui) -> Response {
    let content = html! {
        section class="panel" aria-labelledby="pw" {
            h2 id="pw" { "Change password" }
            form method="post" action="/account" class="stack" {
                (csrf(&ui))
                label { "Current password" input type="password" name="current_password" autocomplete="current-password" required; }
                label { "New password (at least 10 characters)" input type="password" name="new_password" autocomplete="new-password" minlength="10" required; }
                button type="submit" { "Change password" }
            }
            p class="muted" { "Changing the password signs you out everywhere." }
        }
    };
    render(&ui, layout(&ui, "/account", "Your account", content))
}

#[derive(Debug, Deserialize)]
pub struct PasswordFields {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    Client(client): Client,
    UiForm { ui, form }: UiForm<PasswordFields>,
) -> UiResult<Response> {
    let req = PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match change_own_password(&state, &ui.user, req, &client).await {
        Ok(()) => Ok(redirect("/login")),
        Err(ApiError::BadCredentials) => Ok(redirect_with(
            "/account",
            true,
            "The current password is wrong.",
        )),
        Err(ApiError::TooManyRequests) => Ok(redirect_with(
            "/account",
            true,
            "Too many failed attempts from here. Wait 15 minutes and try again.",
        )),
        Err(e) => match UiError::from(e) {
            UiError::BadRequest(m) => Ok(redirect_with("/account", true, &m)),
            other => Err(other),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct SwitchFields {
    org: String,
}

pub async fn switch_org(
    State(state): State<AppState>,
    parts: Parts,
    UiForm { ui, form }: UiForm<SwitchFields>,
) -> UiResult<Response> {
    let target = ui
        .memberships
        .iter()
        .find(|m| m.org.slug == form.org)
        .ok_or(UiError::NotFound)?;
    let id = session_cookie(&parts).ok_or(UiError::SignIn)?;
    state
        .store
        .switch_session_org(&hash_token(&id), target.org.id)
        .await?;
    Ok(redirect_with(
        "/",
        false,
        &format!("Now working in {}.", target.org.name),
    ))
}
