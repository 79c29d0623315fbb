//! TikTok authorization: gateway checks (app_key, sign, timestamp window, x-tts-access-token,
//! shop_cipher), the consent page, the auth-host token endpoints and the shop lookups.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::common::{
    codes, error_response, request_id, secs, sid, Call, Scope, TtError, ACCESS_TOKEN_SECS,
    TIMESTAMP_FUTURE_SECS, TIMESTAMP_PAST_SECS,
};
use super::sign;
use crate::config::Credentials;
use crate::model::{AccessToken, AuthorizeRequest, RefreshToken, World};
use crate::sandbox::Sandbox;
use crate::util::{self, esc};

fn app(sb: &Sandbox) -> Result<(String, String, String), TtError> {
    match sb.credentials() {
        Credentials::TikTok {
            app_key,
            app_secret,
            service_id,
        } => Ok((
            app_key.clone(),
            app_secret.expose().to_owned(),
            service_id.clone(),
        )),
        Credentials::Shopee { .. } | Credentials::Lazada { .. } => Err(TtError::invalid(
            "Invalid credentials. The `app_key` is invalid.",
        )),
    }
}

/// Checks a call as TikTok's gateway does.
pub(crate) fn verify(
    sb: &Sandbox,
    scope: Scope,
    path: &str,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
    body: Bytes,
    param: String,
) -> Result<Call, TtError> {
    let (app_key, secret, _) = app(sb)?;
    let given_key = util::first(&query, "app_key").unwrap_or("");
    // Messages carry the keywords of TikTok's documented messages ("Missing credentials",
    // "earlier than 5 minutes", …): public clients branch on them, since one code covers many
    // request errors.
    if given_key.is_empty() {
        return Err(TtError::unauthorized(
            codes::REQUEST_INVALID,
            "Missing credentials. The `app_key` query parameter is missing.",
        ));
    }
    if given_key != app_key {
        return Err(TtError::unauthorized(
            codes::REQUEST_INVALID,
            "Invalid credentials. The `app_key` query parameter is invalid.",
        ));
    }
    let given_sign = util::first(&query, "sign").unwrap_or("");
    if given_sign.is_empty() {
        return Err(TtError::unauthorized(
            codes::REQUEST_INVALID,
            "Missing credentials. The `sign` query parameter is missing.",
        ));
    }
    let ts: i64 = util::first(&query, "timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            TtError::invalid(
                "Invalid timestamp. The `timestamp` query parameter is missing or not a number.",
            )
        })?;
    check_timestamp(ts, sb.clock().now_secs())?;
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !sign::verify(&secret, path, &query, &body, multipart, given_sign) {
        return Err(TtError::unauthorized(
            codes::INVALID_SIGN,
            "Invalid credentials. The `sign` query parameter is invalid.",
        ));
    }
    let token = headers
        .get("x-tts-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if token.is_empty() {
        return Err(TtError::unauthorized(
            codes::REQUEST_INVALID,
            "Missing credentials. The `x-tts-access-token` header is missing.",
        ));
    }
    let cipher = util::first(&query, "shop_cipher").unwrap_or("").to_owned();
    let (shop_id, token_shops) = sb.with_world(|w, now| {
        let t = match w.access.get(&token) {
            Some(t) if !t.revoked => t.clone(),
            _ => {
                return Err(TtError::unauthorized(
                    codes::REQUEST_INVALID,
                    "Invalid credentials. The `x-tts-access-token` header is invalid.",
                ))
            }
        };
        if t.expires_ms <= now.millis() {
            return Err(TtError::unauthorized(
                codes::TOKEN_EXPIRED,
                "Expired credentials. The access token has expired; refresh it.",
            ));
        }
        match scope {
            Scope::NoCipher if !cipher.is_empty() => Err(TtError::invalid(
                "Unexpected identifier. The `shop_cipher` query parameter is not required for this API.",
            )),
            Scope::NoCipher => Ok((0, t.shop_ids)),
            Scope::Cipher if cipher.is_empty() => Err(TtError::new(
                codes::CIPHER_MISSING,
                "Missing identifier. The `shop_cipher` query parameter is required for this API.",
            )),
            Scope::Cipher => {
                let Some(shop) = w.shop_by_cipher(&cipher) else {
                    return Err(TtError::invalid("Invalid `shop_cipher`."));
                };
                if !t.shop_ids.contains(&shop.id) {
                    return Err(TtError::new(
                        codes::TOKEN_SHOP_MISMATCH,
                        "The access token is not authorized for this shop_cipher.",
                    ));
                }
                Ok((shop.id, t.shop_ids))
            }
        }
    })?;
    Ok(Call {
        query,
        body,
        shop_id,
        token_shops,
        param,
    })
}

/// The accepted window is [now − 5 min, now + 30 s]; each side has its own message.
fn check_timestamp(ts: i64, now: i64) -> Result<(), TtError> {
    if ts < 0 {
        return Err(TtError::invalid(
            "Invalid timestamp. The `timestamp` is lesser than 0.",
        ));
    }
    if ts < now - TIMESTAMP_PAST_SECS {
        return Err(TtError::invalid(
            "Invalid timestamp. The `timestamp` is earlier than 5 minutes before the current time.",
        ));
    }
    if ts > now + TIMESTAMP_FUTURE_SECS {
        return Err(TtError::invalid(
            "Invalid timestamp. The `timestamp` is more than 30 seconds after the current time.",
        ));
    }
    Ok(())
}

fn token_data(
    w: &World,
    access: &str,
    access_exp_ms: i64,
    refresh: &RefreshToken,
    refresh_token: &str,
) -> Value {
    let shop = refresh.shop_ids.first().and_then(|id| w.shops.get(id));
    json!({
        "access_token": access,
        "access_token_expire_in": secs(access_exp_ms),
        "refresh_token": refresh_token,
        "refresh_token_expire_in": secs(refresh.expires_ms),
        "open_id": shop.map(|s| (s.id % 1_000_000_000 + 7_010_736_057_000_000_000).to_string()).unwrap_or_default(),
        "seller_name": shop.map(|s| s.name.clone()).unwrap_or_default(),
        "seller_base_region": shop.map(|s| s.region.clone()).unwrap_or_default(),
        "user_type": 0,
        "granted_scopes": ["seller.authorization.info", "seller.product.basic", "seller.order.info",
                           "seller.fulfillment.basic", "seller.return_refund.basic"],
    })
}

fn new_access(w: &mut World, shop_ids: Vec<u64>, now_ms: i64) -> (String, i64) {
    let token = format!("TTP_{}", w.random_hex(20));
    let exp = now_ms + ACCESS_TOKEN_SECS * 1000;
    w.access.insert(
        token.clone(),
        AccessToken {
            shop_ids,
            expires_ms: exp,
            revoked: false,
        },
    );
    (token, exp)
}

fn token_reply(sb: &Sandbox, r: Result<Value, TtError>) -> Response {
    let rid = request_id(sb);
    match r {
        Ok(data) => util::json(
            StatusCode::OK,
            &json!({"code": 0, "message": "success", "request_id": rid, "data": data}),
        ),
        Err(e) => error_response(&rid, &e),
    }
}

fn check_app(sb: &Sandbox, q: &[(String, String)], grant: &str) -> Result<(), TtError> {
    let (key, secret, _) = app(sb)?;
    if util::first(q, "app_key") != Some(key.as_str())
        || util::first(q, "app_secret") != Some(secret.as_str())
    {
        return Err(TtError::invalid(
            "Invalid credentials. The app_key or app_secret is invalid.",
        ));
    }
    if util::first(q, "grant_type") != Some(grant) {
        return Err(TtError::invalid(format!(
            "Invalid grant_type. Expected {grant}."
        )));
    }
    Ok(())
}

/// `GET /api/v2/token/get` on the auth host (unsigned; the secret is in the query).
pub(crate) async fn token_get(State(sb): State<Arc<Sandbox>>, RawQuery(q): RawQuery) -> Response {
    let q = util::query_pairs(q.as_deref());
    let r = check_app(&sb, &q, "authorized_code").and_then(|()| {
        let code = util::first(&q, "auth_code").unwrap_or("").to_owned();
        sb.with_world(|w, now| {
            let now_ms = now.millis();
            let c = match w.codes.get_mut(&code) {
                Some(c) if !c.used && c.expires_ms > now_ms => c,
                _ => {
                    return Err(TtError::new(
                        codes::AUTH_CODE_INVALID,
                        "Invalid auth_code. It is expired, used or unknown.",
                    ))
                }
            };
            c.used = true;
            let shop_ids = c.shop_ids.clone();
            let auth_end = shop_ids
                .iter()
                .filter_map(|id| w.shops.get(id))
                .map(|s| s.auth_expire_ms)
                .min()
                .unwrap_or(now_ms);
            let (access, exp) = new_access(w, shop_ids.clone(), now_ms);
            let refresh_token = format!("TTP_{}", w.random_hex(20));
            let rt = RefreshToken {
                shop_ids,
                expires_ms: auth_end,
                used: false,
                revoked: false,
                access_token: access.clone(),
            };
            let data = token_data(w, &access, exp, &rt, &refresh_token);
            w.refresh.insert(refresh_token, rt);
            Ok(data)
        })
    });
    token_reply(&sb, r)
}

/// `GET /api/v2/token/refresh` on the auth host. The refresh token's expiry (the end of the
/// authorization) does not move; the same refresh token is returned.
pub(crate) async fn token_refresh(
    State(sb): State<Arc<Sandbox>>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = util::query_pairs(q.as_deref());
    let r = check_app(&sb, &q, "refresh_token").and_then(|()| {
        let token = util::first(&q, "refresh_token").unwrap_or("").to_owned();
        sb.with_world(|w, now| {
            let now_ms = now.millis();
            let rt = match w.refresh.get(&token) {
                Some(rt) if !rt.revoked && rt.expires_ms > now_ms => rt.clone(),
                _ => {
                    return Err(TtError::invalid(
                        "Invalid refresh_token. It is expired, revoked or unknown.",
                    ))
                }
            };
            let (access, exp) = new_access(w, rt.shop_ids.clone(), now_ms);
            if let Some(r) = w.refresh.get_mut(&token) {
                r.access_token = access.clone();
            }
            Ok(token_data(w, &access, exp, &rt, &token))
        })
    });
    token_reply(&sb, r)
}

/// `GET /authorization/202309/shops`.
pub(crate) fn authorized_shops(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    sb.with_world(|w, _| {
        let shops: Vec<Value> = call
            .token_shops
            .iter()
            .filter_map(|id| w.shops.get(id))
            .map(|s| {
                json!({"id": sid(s.id), "name": s.name, "region": s.region, "seller_type": "LOCAL",
                       "cipher": s.cipher, "code": format!("{}LC{:06}", s.region, s.id % 1_000_000)})
            })
            .collect();
        Ok(json!({"shops": shops}))
    })
}

/// `GET /seller/202309/shops`.
pub(crate) fn active_shops(sb: &Sandbox, call: &Call) -> Result<Value, TtError> {
    sb.with_world(|w, _| {
        let shops: Vec<Value> = call
            .token_shops
            .iter()
            .filter_map(|id| w.shops.get(id))
            .filter(|s| s.authorized)
            .map(|s| json!({"id": sid(s.id), "region": s.region}))
            .collect();
        Ok(json!({"shops": shops}))
    })
}

// ---- consent page -------------------------------------------------------------------------------

/// `GET /open/authorize?service_id=…&state=…`: the seller's consent page.
pub(crate) async fn consent_page(
    State(sb): State<Arc<Sandbox>>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = util::query_pairs(q.as_deref());
    let service_ok = app(&sb)
        .is_ok_and(|(_, _, service)| util::first(&q, "service_id") == Some(service.as_str()));
    if !service_ok {
        return util::html(
            StatusCode::BAD_REQUEST,
            "<p>Unknown service_id.</p>".to_owned(),
        );
    }
    let state = util::first(&q, "state").unwrap_or("");
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
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>TikTok Shop sandbox — authorize</title></head>\
             <body><h1>Authorize app</h1><form method=\"post\" action=\"/__sandbox/consent/tiktok\">\
             <input type=\"hidden\" name=\"state\" value=\"{state}\">\
             <label>Shop <select name=\"shop_id\">{options}</select></label>\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             </form></body></html>",
            state = esc(state),
        ),
    )
}

/// The Approve / Deny form post: redirects to the app's registered redirect URL with
/// `code` and `state`, or `code=null&error=auth_denied`.
pub(crate) async fn consent_decision(State(sb): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| util::first(&form, k).unwrap_or("").to_owned();
    let state = get("state");
    let Some(redirect) = sb.with_world(|w, _| w.redirect_url.clone()) else {
        return util::html(
            StatusCode::BAD_REQUEST,
            "<p>The app has no redirect URL registered (PUT /__sandbox/app).</p>".to_owned(),
        );
    };
    if get("decision") != "approve" {
        return util::redirect(&util::with_query(
            &redirect,
            &[
                ("code", "null"),
                ("error", "auth_denied"),
                ("state", &state),
            ],
        ));
    }
    let Ok(shop_id) = get("shop_id").parse::<u64>() else {
        return util::html(StatusCode::BAD_REQUEST, "<p>Choose a shop.</p>".to_owned());
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
