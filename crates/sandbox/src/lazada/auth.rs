//! Lazada authorization: the gateway checks (parameters merged from query and form body,
//! app_key, sign, sign_method, timestamp window, access token), the consent page, token create
//! and refresh (rotating refresh tokens whose expiry never moves) and the seller lookup.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::common::{
    msg, new_access_token, new_refresh_token, parse_timestamp, Auth, Call, LzError,
    ACCESS_TOKEN_SECS, TIMESTAMP_WINDOW_SECS,
};
use super::sign;
use crate::config::Credentials;
use crate::model::{AccessToken, AuthorizeRequest, RefreshToken, World};
use crate::sandbox::Sandbox;
use crate::util::{self, esc};

fn app(sb: &Sandbox) -> Option<(String, String)> {
    match sb.credentials() {
        Credentials::Lazada {
            app_key,
            app_secret,
        } => Some((app_key.clone(), app_secret.expose().to_owned())),
        _ => None,
    }
}

/// Whether the body is a form (the Python SDK posts every parameter this way).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Checks a call as the LazOP gateway does and names the seller the token acts for.
pub(crate) fn verify(
    sb: &Sandbox,
    auth: Auth,
    api_name: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Call, LzError> {
    let mut params = util::query_pairs(query);
    if is_form(headers) {
        params.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    let get = |k: &str| util::first(&params, k).unwrap_or("").to_owned();
    let Some((app_key, secret)) = app(sb) else {
        return Err(LzError::isv(
            "InvalidAppKey",
            "The specified app key is invalid",
        ));
    };
    let given_key = get("app_key");
    if given_key.is_empty() {
        return Err(LzError::missing("app_key"));
    }
    if given_key != app_key {
        return Err(LzError::isv(
            "InvalidAppKey",
            "The specified app key is invalid",
        ));
    }
    let given_sign = get("sign");
    if given_sign.is_empty() {
        return Err(LzError::missing("sign"));
    }
    let method = get("sign_method");
    if method.is_empty() {
        return Err(LzError::missing("sign_method"));
    }
    if !method.eq_ignore_ascii_case("sha256") {
        return Err(LzError::isv(
            "InvalidSignMethod",
            "The specified sign method is not supported",
        ));
    }
    let ts = get("timestamp");
    if ts.is_empty() {
        return Err(LzError::missing("timestamp"));
    }
    let now_ms = sb.now().millis();
    match parse_timestamp(&ts) {
        Some(t) if (now_ms - t).abs() <= TIMESTAMP_WINDOW_SECS * 1000 => {}
        _ => return Err(LzError::isv("InvalidTimestamp", msg::INVALID_TIMESTAMP)),
    }
    if !sign::verify(&secret, api_name, &params, &given_sign) {
        return Err(LzError::isv(
            "IncompleteSignature",
            msg::INCOMPLETE_SIGNATURE,
        ));
    }
    let shop_id = match auth {
        Auth::NoToken => 0,
        Auth::Token => {
            let token = get("access_token");
            if token.is_empty() {
                return Err(LzError::missing("access_token"));
            }
            sb.with_world(|w, now| match w.access.get(&token) {
                Some(t) if !t.revoked && t.expires_ms > now.millis() => {
                    Ok(t.shop_ids.first().copied().unwrap_or(0))
                }
                _ => Err(LzError::isv(
                    "IllegalAccessToken",
                    msg::ILLEGAL_ACCESS_TOKEN,
                )),
            })?
        }
    };
    Ok(Call { params, shop_id })
}

/// A freshly issued pair: access token, refresh token, access expiry (ms).
type Issued = (String, String, i64);

fn token_answer(
    w: &World,
    shop_id: u64,
    (access, refresh, access_exp_ms): &Issued,
    refresh_exp_ms: i64,
    now_ms: i64,
    list_key: &str,
) -> Value {
    let (country, name) = w
        .shops
        .get(&shop_id)
        .map(|s| (s.region.to_ascii_lowercase(), s.name.clone()))
        .unwrap_or_default();
    let mut v = json!({
        "access_token": access,
        "refresh_token": refresh,
        "country": country,
        "expires_in": (access_exp_ms - now_ms) / 1000,
        "refresh_expires_in": ((refresh_exp_ms - now_ms) / 1000).max(0),
        "account_platform": "seller_center",
        "account": format!("{}@sandbox.lazada.test", name.to_ascii_lowercase().replace(' ', ".")),
    });
    v[list_key] = json!([{
        "country": country,
        "seller_id": shop_id.to_string(),
        "user_id": 10_100 + shop_id % 100_000,
        "short_code": format!("{}{:05}", country.to_ascii_uppercase(), shop_id % 100_000),
    }]);
    v
}

fn issue(w: &mut World, shop_id: u64, refresh_exp_ms: i64, now_ms: i64) -> Issued {
    let access = new_access_token(w);
    let refresh = new_refresh_token(w);
    let access_exp = now_ms + ACCESS_TOKEN_SECS * 1000;
    w.access.insert(
        access.clone(),
        AccessToken {
            shop_ids: vec![shop_id],
            expires_ms: access_exp,
            revoked: false,
        },
    );
    w.refresh.insert(
        refresh.clone(),
        RefreshToken {
            shop_ids: vec![shop_id],
            expires_ms: refresh_exp_ms,
            used: false,
            revoked: false,
            access_token: access.clone(),
        },
    );
    (access, refresh, access_exp)
}

/// `/auth/token/create` on the auth host: a single-use code for a token pair.
pub(crate) fn token_create(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let code = call.required("code")?.to_owned();
    sb.with_world(|w, now| {
        let now_ms = now.millis();
        let c = match w.codes.get_mut(&code) {
            Some(c) if !c.used && c.expires_ms > now_ms => c,
            _ => return Err(LzError::isv("InvalidCode", msg::INVALID_CODE)),
        };
        c.used = true;
        let shop_id = c.shop_ids.first().copied().unwrap_or(0);
        let auth_end = w.shops.get(&shop_id).map_or(now_ms, |s| s.auth_expire_ms);
        let issued = issue(w, shop_id, auth_end, now_ms);
        Ok(token_answer(
            w,
            shop_id,
            &issued,
            auth_end,
            now_ms,
            "country_user_info",
        ))
    })
}

/// `/auth/token/refresh`: a new access *and* refresh token; the old refresh token is dead and
/// the new one expires when the old one would have (the lifetime is not extended).
pub(crate) fn token_refresh(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    let token = call.required("refresh_token")?.to_owned();
    sb.with_world(|w, now| {
        let now_ms = now.millis();
        let rt = match w.refresh.get_mut(&token) {
            Some(rt) if !rt.used && !rt.revoked && rt.expires_ms > now_ms => rt,
            _ => {
                return Err(LzError::isv(
                    "IllegalRefreshToken",
                    msg::ILLEGAL_REFRESH_TOKEN,
                ))
            }
        };
        rt.used = true;
        let shop_id = rt.shop_ids.first().copied().unwrap_or(0);
        let expires = rt.expires_ms;
        let issued = issue(w, shop_id, expires, now_ms);
        Ok(token_answer(
            w,
            shop_id,
            &issued,
            expires,
            now_ms,
            "country_user_info_list",
        ))
    })
}

/// `/seller/get`.
pub(crate) fn seller_get(sb: &Sandbox, call: &Call) -> Result<Value, LzError> {
    sb.with_world(|w, _| {
        let s = w
            .shop(call.shop_id)
            .map_err(|_| LzError::isv("IllegalAccessToken", msg::ILLEGAL_ACCESS_TOKEN))?;
        Ok(json!({
            "seller_id": s.id, "name": s.name, "name_company": format!("{} Pte Ltd", s.name),
            "short_code": format!("{}{:05}", s.region, s.id % 100_000),
            "email": "seller@sandbox.lazada.test", "logo_url": "", "cb": false,
            "location": s.region, "status": "ACTIVE", "verified": true,
        }))
    })
}

// ---- consent page -------------------------------------------------------------------------------

/// `GET /oauth/authorize?response_type=code&force_auth=true&redirect_uri=…&client_id=…[&state=…]`.
pub(crate) async fn consent_page(
    State(sb): State<Arc<Sandbox>>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = util::query_pairs(q.as_deref());
    let get = |k: &str| util::first(&q, k).unwrap_or("").to_owned();
    let bad = |m: &str| util::html(StatusCode::BAD_REQUEST, format!("<p>{}</p>", esc(m)));
    if app(&sb).is_none_or(|(key, _)| get("client_id") != key) {
        return bad("Unknown client_id.");
    }
    if get("response_type") != "code" {
        return bad("response_type must be code.");
    }
    if util::first(&q, "uuid").is_some() {
        return bad("The uuid parameter must not be used.");
    }
    let redirect = get("redirect_uri");
    if redirect.is_empty() {
        return bad("redirect_uri is required.");
    }
    let options: String = sb
        .shops()
        .iter()
        .map(|s| {
            format!(
                "<option value=\"{}\">{} ({})</option>",
                s.shop_id,
                esc(&s.name),
                esc(&s.region)
            )
        })
        .collect();
    util::html(
        StatusCode::OK,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Lazada sandbox — authorize</title></head>\
             <body><h1>Authorize app</h1><form method=\"post\" action=\"/__sandbox/consent/lazada\">\
             <input type=\"hidden\" name=\"redirect_uri\" value=\"{redirect}\">\
             <input type=\"hidden\" name=\"state\" value=\"{state}\">\
             <label>Seller <select name=\"shop_id\">{options}</select></label>\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             </form></body></html>",
            redirect = esc(&redirect),
            state = esc(&get("state")),
        ),
    )
}

/// The Approve / Deny form post: redirects to `redirect_uri` with `code` (and `state`), or with
/// `error=access_denied` (Lazada's refusal parameters are UNCONFIRMED).
pub(crate) async fn consent_decision(State(sb): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| util::first(&form, k).unwrap_or("").to_owned();
    let (redirect, state) = (get("redirect_uri"), get("state"));
    if redirect.is_empty() {
        return util::html(
            StatusCode::BAD_REQUEST,
            "<p>redirect_uri is required.</p>".to_owned(),
        );
    }
    if get("decision") != "approve" {
        let mut params = vec![("error", "access_denied")];
        if !state.is_empty() {
            params.push(("state", state.as_str()));
        }
        return util::redirect(&util::with_query(&redirect, &params));
    }
    let Ok(shop_id) = get("shop_id").parse::<u64>() else {
        return util::html(
            StatusCode::BAD_REQUEST,
            "<p>Choose a seller.</p>".to_owned(),
        );
    };
    let req = AuthorizeRequest {
        shop_id,
        redirect: Some(redirect),
        state: Some(state),
    };
    match sb.authorize(&req) {
        Ok(r) => util::redirect(r.redirect_url.as_deref().unwrap_or("/")),
        Err(e) => util::html(
            StatusCode::BAD_REQUEST,
            format!("<p>{}</p>", esc(&e.to_string())),
        ),
    }
}
