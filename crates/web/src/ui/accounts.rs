//! Public account pages reached from emailed links: accepting an
//! invitation, resetting a forgotten password, and signing up where the
//! installation allows it.
//!
//! The token in the link is the capability; its form posts also carry a
//! double-submit cookie, so no other site can make a visitor's browser
//! accept an invitation or set a password. These pages send no referrer, so
//! the token in their address goes nowhere else.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use storesync_crypto::{constant_time_eq, hash_token, random_token, session_id};
use storesync_domain::ids::{OrgId, UserId};
use storesync_store::StoreError;

use super::{bare_page, redirect, UiError, UiResult};
use crate::api::accounts::{RESET_ANSWER, SIGNUP_ANSWER};
use crate::error::ApiError;
use crate::extract::cookie;
use crate::session::{session_cookie_header, validate_new_password};
use crate::AppState;

const FORM_COOKIE: &str = "storesync_account_form";

/// A public page with a fresh double-submit token in `form`'s hidden field
/// and in a cookie.
fn page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    body: impl FnOnce(&str) -> Markup,
) -> Response {
    let token = random_token("af_").expose().to_owned();
    let markup = bare_page(
        title,
        html! { main id="main" class="narrow" { h1 { (title) } (body(&token)) } },
    );
    let mut response = (status, Html(markup.into_string())).into_response();
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FORM_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    )) {
        headers.append(SET_COOKIE, v);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn message(state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    page(state, status, title, |_| {
        html! { p { (text) } p { a href="/login" { "Sign in" } } }
    })
}

fn form_token_ok(parts: &Parts, sent: &str) -> bool {
    let expected = cookie(parts, FORM_COOKIE).unwrap_or_default();
    !expected.is_empty() && constant_time_eq(expected.as_bytes(), sent.as_bytes())
}

fn expired_form(state: &AppState) -> Response {
    message(
        state,
        StatusCode::FORBIDDEN,
        "Please try again",
        "The form expired. Open the link from your mail again.",
    )
}

fn error_line(error: Option<&str>) -> Markup {
    html! { @if let Some(e) = error { div class="flash error" role="alert" { (e) } } }
}

/// Open a session for `user` in `org` and go to the overview.
async fn signed_in(state: &AppState, user: UserId, org: OrgId) -> UiResult<Response> {
    let id = session_id();
    let lifetime = state.config.session_absolute_ms;
    state
        .store
        .create_session(&hash_token(id.expose()), user, org, lifetime)
        .await?;
    let mut response = redirect("/");
    response.headers_mut().append(
        SET_COOKIE,
        session_cookie_header(state, id.expose(), lifetime / 1000)?,
    );
    Ok(response)
}

fn gone(state: &AppState, what: &str) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Link not valid",
        &format!(
            "This {what} link is not valid: it was used already, has expired or was withdrawn."
        ),
    )
}

fn invitation_form(
    state: &AppState,
    token: &str,
    view: &storesync_store::accounts::InvitationView,
    error: Option<&str>,
) -> Response {
    let inv = &view.invitation;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(state, status, "Accept the invitation", |csrf| {
        html! {
            p { "You are invited to work in " strong { (view.org.name) } " as " (inv.role.as_str()) ", with the address " strong { (inv.email) } "." }
            (error_line(error))
            form method="post" action=(format!("/invite/{token}")) class="stack" {
                input type="hidden" name="_csrf" value=(csrf);
                @if view.account_exists {
                    p class="muted" { "This address has a StoreSync account: sign in with its password to accept." }
                    label { "Password of " (inv.email) input type="password" name="password" autocomplete="current-password" required autofocus; }
                    button type="submit" { "Sign in and accept" }
                    p { a href="/reset" { "Forgot your password?" } }
                } @else {
                    label { "Choose a password (at least 10 characters)" input type="password" name="password" autocomplete="new-password" minlength="10" required autofocus; }
                    button type="submit" { "Create my account and accept" }
                }
            }
        }
    })
}

pub async fn invitation_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    match state.store.invitation_by_token(&hash_token(&token)).await? {
        Some(view) => Ok(invitation_form(&state, &token, &view, None)),
        None => Ok(gone(&state, "invitation")),
    }
}

#[derive(Debug, Deserialize)]
pub struct PasswordFields {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    password: String,
}

/// Accept: a new account with the password chosen here, or the existing
/// account of the invited address after its own password is checked.
/// Nobody else's credentials are looked at, so signing in as another
/// account cannot accept.
pub async fn accept_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    axum::Form(f): axum::Form<PasswordFields>,
) -> UiResult<Response> {
    if !form_token_ok(&parts, &f.csrf) {
        return Ok(expired_form(&state));
    }
    let token_hash = hash_token(&token);
    let Some(view) = state.store.invitation_by_token(&token_hash).await? else {
        return Ok(gone(&state, "invitation"));
    };
    if view.account_exists {
        let (user, hash) = state
            .store
            .credentials(&view.invitation.email)
            .await?
            .ok_or(UiError::NotFound)?;
        // The same limiter as the sign-in page: this form checks a password too.
        let client = crate::limiter::client_meta(&parts, state.config.trust_forwarded_for);
        let attempt = match crate::limiter::claim(&state, &view.invitation.email, &client).await {
            Ok(a) => a,
            Err(crate::error::ApiError::TooManyRequests) => {
                return Ok(invitation_form(
                    &state,
                    &token,
                    &view,
                    Some("Too many failed attempts from here. Wait 15 minutes and try again."),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if !state.passwords.verify(f.password, hash).await? {
            return Ok(invitation_form(
                &state,
                &token,
                &view,
                Some("Wrong password for this address."),
            ));
        }
        attempt.succeeded(&state).await?;
        return match state.store.accept_invitation_as(&token_hash, user).await {
            Ok(org) => signed_in(&state, user, org).await,
            Err(StoreError::NotFound(_)) => Ok(gone(&state, "invitation")),
            Err(e) => Err(e.into()),
        };
    }
    if let Err(e) = validate_new_password(&f.password) {
        return Ok(invitation_form(&state, &token, &view, Some(&e.to_string())));
    }
    let hash = state.passwords.hash(f.password).await?;
    match state
        .store
        .accept_invitation_new_account(&token_hash, &hash)
        .await
    {
        Ok((user, org)) => signed_in(&state, user.id, org).await,
        Err(StoreError::NotFound(_)) => Ok(gone(&state, "invitation")),
        Err(StoreError::Conflict { message, .. }) => {
            Ok(invitation_form(&state, &token, &view, Some(&message)))
        }
        Err(e) => Err(e.into()),
    }
}

fn email_form(state: &AppState, title: &str, intro: &str, action: &str, extra: Markup) -> Response {
    page(state, StatusCode::OK, title, |csrf| {
        html! {
            p { (intro) }
            form method="post" action=(action) class="stack" {
                input type="hidden" name="_csrf" value=(csrf);
                label { "Email" input type="email" name="email" autocomplete="username" required autofocus; }
                (extra)
                button type="submit" { "Send me the link" }
            }
        }
    })
}

pub async fn reset_page(State(state): State<AppState>) -> Response {
    email_form(
        &state,
        "Forgot your password?",
        "We mail a link to choose a new password to the address of your account.",
        "/reset",
        html! {},
    )
}

#[derive(Debug, Deserialize)]
pub struct EmailFields {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    email: String,
}

pub async fn request_reset(
    State(state): State<AppState>,
    parts: Parts,
    axum::Form(f): axum::Form<EmailFields>,
) -> UiResult<Response> {
    if !form_token_ok(&parts, &f.csrf) {
        return Ok(expired_form(&state));
    }
    state.accounts().request_password_reset(&f.email).await?;
    state.job_waker.notify_one();
    Ok(message(
        &state,
        StatusCode::OK,
        "Check your mail",
        RESET_ANSWER,
    ))
}

fn new_password_form(
    state: &AppState,
    action: &str,
    title: &str,
    intro: Markup,
    error: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(state, status, title, |csrf| {
        html! {
            (intro)
            (error_line(error))
            form method="post" action=(action) class="stack" {
                input type="hidden" name="_csrf" value=(csrf);
                label { "New password (at least 10 characters)" input type="password" name="password" autocomplete="new-password" minlength="10" required autofocus; }
                button type="submit" { "Save the password" }
            }
        }
    })
}

pub async fn reset_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    if !state
        .store
        .password_reset_valid(&hash_token(&token))
        .await?
    {
        return Ok(gone(&state, "reset"));
    }
    Ok(new_password_form(
        &state,
        &format!("/reset/{token}"),
        "Choose a new password",
        html! { p class="muted" { "Saving it signs you out everywhere." } },
        None,
    ))
}

/// The password chosen on a mailed link's form, hashed; or the page to answer instead (the
/// form expired, or the password is not acceptable).
async fn chosen_password(
    state: &AppState,
    parts: &Parts,
    f: PasswordFields,
    action: &str,
    title: &str,
) -> UiResult<Result<String, Response>> {
    if !form_token_ok(parts, &f.csrf) {
        return Ok(Err(expired_form(state)));
    }
    if let Err(e) = validate_new_password(&f.password) {
        return Ok(Err(new_password_form(
            state,
            action,
            title,
            html! {},
            Some(&e.to_string()),
        )));
    }
    Ok(Ok(state.passwords.hash(f.password).await?))
}

pub async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    axum::Form(f): axum::Form<PasswordFields>,
) -> UiResult<Response> {
    let hash = match chosen_password(
        &state,
        &parts,
        f,
        &format!("/reset/{token}"),
        "Choose a new password",
    )
    .await?
    {
        Ok(hash) => hash,
        Err(again) => return Ok(again),
    };
    match state.store.reset_password(&hash_token(&token), &hash).await {
        Ok(_) => Ok(message(
            &state,
            StatusCode::OK,
            "Password changed",
            "Your new password is saved and every session of yours has ended. Sign in with it.",
        )),
        Err(StoreError::NotFound(_)) => Ok(gone(&state, "reset")),
        Err(e) => Err(e.into()),
    }
}

pub async fn signup_page(State(state): State<AppState>) -> UiResult<Response> {
    if !state.config.allow_signup {
        return Err(UiError::NotFound);
    }
    Ok(email_form(
        &state,
        "Sign up",
        "Create an organization on StoreSync. We mail you a link; your account and organization are created when you follow it.",
        "/signup",
        html! {
            label { "Organization name" input name="org_name" required maxlength="100"; }
            label { "Short name (a-z, 0-9 and '-')" input name="org_slug" required pattern="[a-z0-9-]{2,40}"; }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct SignupFields {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    email: String,
    org_name: String,
    org_slug: String,
}

pub async fn request_signup(
    State(state): State<AppState>,
    parts: Parts,
    axum::Form(f): axum::Form<SignupFields>,
) -> UiResult<Response> {
    if !state.config.allow_signup {
        return Err(UiError::NotFound);
    }
    if !form_token_ok(&parts, &f.csrf) {
        return Ok(expired_form(&state));
    }
    match state
        .accounts()
        .request_signup(&f.email, &f.org_slug, &f.org_name)
        .await
    {
        Ok(()) => {
            state.job_waker.notify_one();
            Ok(message(
                &state,
                StatusCode::OK,
                "Check your mail",
                SIGNUP_ANSWER,
            ))
        }
        Err(StoreError::Validation(v)) => Ok(message(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sign up",
            &ApiError::Validation(v).to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn signup_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> UiResult<Response> {
    let Some(pending) = state.store.signup_by_token(&hash_token(&token)).await? else {
        return Ok(gone(&state, "sign-up"));
    };
    Ok(new_password_form(
        &state,
        &format!("/signup/{token}"),
        "Finish signing up",
        html! { p { "Choose the password of " strong { (pending.email) } "; the organization " strong { (pending.org_name) } " is created with you as its owner." } },
        None,
    ))
}

pub async fn complete_signup(
    State(state): State<AppState>,
    Path(token): Path<String>,
    parts: Parts,
    axum::Form(f): axum::Form<PasswordFields>,
) -> UiResult<Response> {
    let hash = match chosen_password(
        &state,
        &parts,
        f,
        &format!("/signup/{token}"),
        "Finish signing up",
    )
    .await?
    {
        Ok(hash) => hash,
        Err(again) => return Ok(again),
    };
    match state
        .store
        .complete_signup(&hash_token(&token), &hash)
        .await
    {
        Ok((user, org)) => signed_in(&state, user.id, org.id).await,
        Err(StoreError::NotFound(_)) => Ok(gone(&state, "sign-up")),
        Err(StoreError::Conflict { message: m, .. }) => {
            Ok(message(&state, StatusCode::CONFLICT, "Sign up", &m))
        }
        Err(e) => Err(e.into()),
    }
}
