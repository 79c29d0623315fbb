//! Shopee authorization: request verification (sign, timestamp, token, shop), the consent and
//! revoke pages, code → token exchange, rotating single-use refresh tokens, shop lookups.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::common::{
    error_response, secs, Auth, Call, Reply, ShopeeError, ACCESS_TOKEN_SECS, OLD_TOKEN_GRACE_SECS,
    REFRESH_TOKEN_SECS, TIMESTAMP_WINDOW_SECS,
};
use super::sign;
use crate::config::Credentials;
use crate::model::{AccessToken, AuthorizeRequest, RefreshToken, World};
use crate::sandbox::Sandbox;
use crate::util::{self, esc};

fn partner(sb: &Sandbox) -> Result<(i64, String), ShopeeError> {
    match sb.credentials() {
        Credentials::Shopee {
            partner_id,
            partner_key,
        } => Ok((*partner_id, partner_key.expose().to_owned())),
        Credentials::TikTok { .. } | Credentials::Lazada { .. } => Err(ShopeeError::new(
            "error_auth",
            "Invalid partner_id or shopid.",
        )),
    }
}

fn required<'a>(q: &'a [(String, String)], key: &str) -> Result<&'a str, ShopeeError> {
    util::first(q, key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ShopeeError::new("error_param", format!("There is no {key} in query.")))
}

/// Checks the common parameters of a call as Shopee's gateway does and returns what it learnt.
pub(crate) fn verify(
    sb: &Sandbox,
    auth: Auth,
    path: &str,
    query: Vec<(String, String)>,
    body: Bytes,
) -> Result<Call, ShopeeError> {
    let (our_partner, key) = partner(sb)?;
    let pid_s = required(&query, "partner_id")?;
    let ts_s = required(&query, "timestamp")?;
    let given = required(&query, "sign")?;
    let partner_id: i64 = pid_s
        .parse()
        .map_err(|_| ShopeeError::new("error_param", "Invalid partner_id."))?;
    if partner_id != our_partner {
        // The code `auth/token/get` documents for an unknown partner; the gateway answers every
        // API with it.
        return Err(ShopeeError::new(
            "invalid_partner_id",
            "Invalid partner_id.",
        ));
    }
    let ts: i64 = ts_s
        .parse()
        .map_err(|_| ShopeeError::new("error_param", "Invalid timestamp"))?;
    if (sb.clock().now_secs() - ts).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(ShopeeError::new("error_param", "Invalid timestamp"));
    }
    match auth {
        Auth::Public => {
            let base = sign::base_string(pid_s, path, ts_s, None);
            if !sign::verify(&key, &base, given) {
                return Err(ShopeeError::new("error_sign", "Wrong sign."));
            }
            Ok(Call {
                query: query.clone(),
                body,
                shop_id: 0,
                partner_id,
            })
        }
        Auth::Shop => {
            let token = required(&query, "access_token")?;
            let shop_s = required(&query, "shop_id")?;
            let base = sign::base_string(pid_s, path, ts_s, Some((token, shop_s)));
            if !sign::verify(&key, &base, given) {
                return Err(ShopeeError::new("error_sign", "Wrong sign."));
            }
            let shop_id: u64 = shop_s
                .parse()
                .map_err(|_| ShopeeError::new("error_param", "Invalid shop_id."))?;
            sb.with_world(|w, now| match w.access.get(token) {
                Some(t) if !t.revoked && t.expires_ms > now.millis() => {
                    if t.shop_ids.contains(&shop_id) && w.shops.contains_key(&shop_id) {
                        Ok(())
                    } else {
                        Err(ShopeeError::new(
                            "error_auth",
                            "Invalid partner_id or shopid.",
                        ))
                    }
                }
                // Unknown, revoked or expired: Shopee's own spelling (sic), which public
                // integrations key their token refresh on.
                _ => Err(ShopeeError::new(
                    "invalid_acceess_token",
                    "Invalid access_token.",
                )),
            })?;
            Ok(Call {
                query: query.clone(),
                body,
                shop_id,
                partner_id,
            })
        }
    }
}

fn issue_pair(w: &mut World, shop_id: u64, now_ms: i64) -> (String, String) {
    let access = w.random_hex(16);
    let refresh = w.random_hex(16);
    w.access.insert(
        access.clone(),
        AccessToken {
            shop_ids: vec![shop_id],
            expires_ms: now_ms + ACCESS_TOKEN_SECS * 1000,
            revoked: false,
        },
    );
    w.refresh.insert(
        refresh.clone(),
        RefreshToken {
            shop_ids: vec![shop_id],
            expires_ms: now_ms + REFRESH_TOKEN_SECS * 1000,
            used: false,
            revoked: false,
            access_token: access.clone(),
        },
    );
    (access, refresh)
}

fn body_i64(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// `POST /api/v2/auth/token/get`: a single-use code for a token pair.
pub(crate) fn token_get(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let code = body
        .get("code")
        .and_then(Value::as_str)
        .ok_or_else(|| ShopeeError::param("code is required"))?
        .to_owned();
    if body_i64(&body, "partner_id") != Some(call.partner_id) {
        return Err(ShopeeError::new(
            "invalid_partner_id",
            "Invalid partner_id.",
        ));
    }
    if body.get("main_account_id").is_some() {
        // The sandbox has no main (merchant) accounts.
        return Err(ShopeeError::new(
            "invalid_main_acount_id",
            "Invalid main_account_id.",
        ));
    }
    let shop_id = body_i64(&body, "shop_id")
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| ShopeeError::new("invalid_shop_id", "Invalid shop_id."))?;
    sb.with_world(|w, now| {
        let c = match w.codes.get_mut(&code) {
            Some(c) if !c.used && c.expires_ms > now.millis() => c,
            _ => return Err(ShopeeError::new("invalid_code", "Invalid code.")),
        };
        if !c.shop_ids.contains(&shop_id) {
            return Err(ShopeeError::new("invalid_shop_id", "Invalid shop_id."));
        }
        c.used = true;
        let (access, refresh) = issue_pair(w, shop_id, now.millis());
        let mut m = Map::new();
        m.insert("access_token".to_owned(), json!(access));
        m.insert("refresh_token".to_owned(), json!(refresh));
        m.insert("expire_in".to_owned(), json!(ACCESS_TOKEN_SECS));
        Ok(Reply::TopLevel(m))
    })
}

/// `POST /api/v2/auth/access_token/get`: a refresh token (usable once) for a new pair; the old
/// access token keeps working for five more minutes.
pub(crate) fn token_refresh(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let body = call.json()?;
    let token = body
        .get("refresh_token")
        .and_then(Value::as_str)
        .ok_or_else(|| ShopeeError::param("refresh_token is required"))?
        .to_owned();
    if body_i64(&body, "partner_id") != Some(call.partner_id) {
        return Err(ShopeeError::new(
            "invalid_partner_id",
            "Invalid partner_id.",
        ));
    }
    let shop_id = body_i64(&body, "shop_id")
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| ShopeeError::new("invalid_shop_id", "Invalid shop_id."))?;
    sb.with_world(|w, now| {
        let now_ms = now.millis();
        let rt = match w.refresh.get(&token) {
            Some(rt) if !rt.used && !rt.revoked => rt.clone(),
            _ => return Err(ShopeeError::new("error_auth", "Invalid refresh_token.")),
        };
        if !rt.shop_ids.contains(&shop_id) {
            return Err(ShopeeError::new("error_auth", "Invalid refresh_token."));
        }
        if rt.expires_ms <= now_ms {
            return Err(ShopeeError::new(
                "refresh_token_expired",
                "Refresh token expired.",
            ));
        }
        let shop_ok = w
            .shops
            .get(&shop_id)
            .is_some_and(|s| s.authorized && s.auth_expire_ms > now_ms);
        if !shop_ok {
            return Err(ShopeeError::new(
                "shop_access_expired",
                "Shop access expired.",
            ));
        }
        if let Some(r) = w.refresh.get_mut(&token) {
            r.used = true;
        }
        if let Some(old) = w.access.get_mut(&rt.access_token) {
            old.expires_ms = old.expires_ms.min(now_ms + OLD_TOKEN_GRACE_SECS * 1000);
        }
        let (access, refresh) = issue_pair(w, shop_id, now_ms);
        let mut m = Map::new();
        m.insert("partner_id".to_owned(), json!(call.partner_id));
        m.insert("shop_id".to_owned(), json!(shop_id));
        m.insert("access_token".to_owned(), json!(access));
        m.insert("refresh_token".to_owned(), json!(refresh));
        m.insert("expire_in".to_owned(), json!(ACCESS_TOKEN_SECS));
        Ok(Reply::TopLevel(m))
    })
}

/// `GET /api/v2/public/get_shops_by_partner`: shops that authorized this partner.
pub(crate) fn shops_by_partner(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    let page_no = call.q_i64("page_no")?.unwrap_or(1).max(1);
    let page_size = call.q_i64("page_size")?.unwrap_or(100);
    if !(1..=100).contains(&page_size) {
        return Err(ShopeeError::param("page_size should be between 1 and 100"));
    }
    sb.with_world(|w, _| {
        let shops: Vec<Value> = w
            .shops
            .values()
            .filter(|s| s.authorized)
            .map(|s| {
                json!({"region": s.region, "shop_id": s.id, "auth_time": secs(s.auth_time_ms),
                       "expire_time": secs(s.auth_expire_ms), "sip_affi_shops": []})
            })
            .collect();
        let start = ((page_no - 1) * page_size) as usize;
        let page: Vec<Value> = shops
            .iter()
            .skip(start)
            .take(page_size as usize)
            .cloned()
            .collect();
        let more = start + page.len() < shops.len();
        let mut m = Map::new();
        m.insert("authed_shop_list".to_owned(), Value::Array(page));
        m.insert("more".to_owned(), json!(more));
        Ok(Reply::TopLevel(m))
    })
}

/// `GET /api/v2/shop/get_shop_info` (fields at top level).
pub(crate) fn shop_info(sb: &Sandbox, call: &Call) -> Result<Reply, ShopeeError> {
    sb.with_world(|w, _| {
        let s = w
            .shops
            .get(&call.shop_id)
            .ok_or_else(|| ShopeeError::new("error_shop", "shopid is invalid"))?;
        let v = json!({
            "shop_name": s.name, "region": s.region, "status": "NORMAL",
            "auth_time": secs(s.auth_time_ms), "expire_time": secs(s.auth_expire_ms),
            "is_cb": false, "is_sip": false, "merchant_id": null,
            "shop_fulfillment_flag": "Others", "is_main_shop": false, "is_direct_shop": false,
            "sip_affi_shops": [],
        });
        match v {
            Value::Object(m) => Ok(Reply::TopLevel(m)),
            _ => Ok(Reply::TopLevel(Map::new())),
        }
    })
}

// ---- consent pages ----------------------------------------------------------------------------

fn shop_options(sb: &Sandbox) -> String {
    sb.shops()
        .iter()
        .map(|s| {
            format!(
                "<option value=\"{}\">{} ({}, {})</option>",
                s.shop_id,
                esc(&s.name),
                s.shop_id,
                esc(&s.region)
            )
        })
        .collect()
}

fn page(sb: &Sandbox, query: Option<String>, path: &str, action: &str, title: &str) -> Response {
    let q = util::query_pairs(query.as_deref());
    let rid = format!("consent{}", sb.next_request_seq());
    let call = verify(sb, Auth::Public, path, q.clone(), Bytes::new());
    if let Err(e) = call {
        return error_response(&rid, &e);
    }
    let redirect = util::first(&q, "redirect").unwrap_or("");
    if redirect.is_empty() {
        return error_response(
            &rid,
            &ShopeeError::new("error_param", "There is no redirect in query."),
        );
    }
    util::html(
        StatusCode::OK,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Shopee sandbox — {title}</title></head>\
             <body><h1>{title}</h1><p>Partner {partner} asks for access to your shop.</p>\
             <form method=\"post\" action=\"/__sandbox/consent/shopee\">\
             <input type=\"hidden\" name=\"redirect\" value=\"{redirect}\">\
             <input type=\"hidden\" name=\"action\" value=\"{action}\">\
             <label>Shop <select name=\"shop_id\">{options}</select></label>\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             </form></body></html>",
            partner = esc(util::first(&q, "partner_id").unwrap_or("")),
            redirect = esc(redirect),
            options = shop_options(sb),
        ),
    )
}

/// `GET /api/v2/shop/auth_partner`: the seller's consent page (signed link, 5-minute validity).
pub(crate) async fn consent_page(
    State(sb): State<Arc<Sandbox>>,
    RawQuery(q): RawQuery,
) -> Response {
    page(
        &sb,
        q,
        "/api/v2/shop/auth_partner",
        "auth",
        "Authorize partner",
    )
}

/// `GET /api/v2/shop/cancel_auth_partner`: the seller's revoke page.
pub(crate) async fn cancel_page(State(sb): State<Arc<Sandbox>>, RawQuery(q): RawQuery) -> Response {
    page(
        &sb,
        q,
        "/api/v2/shop/cancel_auth_partner",
        "cancel",
        "Cancel authorization",
    )
}

/// The Approve / Deny form post of the consent pages.
pub(crate) async fn consent_decision(State(sb): State<Arc<Sandbox>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| util::first(&form, k).unwrap_or("").to_owned();
    let redirect = get("redirect");
    let Ok(shop_id) = get("shop_id").parse::<u64>() else {
        return util::html(StatusCode::BAD_REQUEST, "<p>Choose a shop.</p>".to_owned());
    };
    if get("decision") != "approve" {
        return util::html(
            StatusCode::OK,
            "<p>Authorization was not granted.</p>".to_owned(),
        );
    }
    if get("action") == "cancel" {
        return match sb.deauthorize(shop_id) {
            Ok(()) => util::redirect(&redirect),
            Err(e) => util::html(
                StatusCode::BAD_REQUEST,
                format!("<p>{}</p>", esc(&e.to_string())),
            ),
        };
    }
    let req = AuthorizeRequest {
        shop_id,
        redirect: Some(redirect),
        state: None,
    };
    match sb.authorize(&req) {
        Ok(r) => util::redirect(r.redirect_url.as_deref().unwrap_or("/")),
        Err(e) => util::html(
            StatusCode::BAD_REQUEST,
            format!("<p>{}</p>", esc(&e.to_string())),
        ),
    }
}
