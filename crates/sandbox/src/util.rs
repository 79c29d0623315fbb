//! Small helpers shared by the marketplace modules: HMAC, query parsing, decimals, JSON replies.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hex HMAC-SHA256 of `msg` under `key` (both used as raw bytes).
pub(crate) fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty string is never a valid sign.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Constant-time check of a hex signature (either case) against HMAC-SHA256(key, msg).
pub(crate) fn hmac_verify(key: &[u8], msg: &[u8], sign_hex: &str) -> bool {
    let Ok(given) = hex::decode(sign_hex) else {
        return false;
    };
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.verify_slice(&given).is_ok()
        }
        Err(_) => false,
    }
}

/// Query pairs, URL-decoded, in the order they arrived.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of a query key.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Every value of a query key (for Shopee's repeated list parameters).
pub(crate) fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Parses `12`, `12.5`, `12.50` into hundredths; more than two decimals or signs are refused.
pub(crate) fn parse_decimal_cents(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || frac.len() > 2 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let mut f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    if frac.len() == 1 {
        f *= 10;
    }
    i.checked_mul(100)?.checked_add(f)
}

/// Hundredths as a decimal string: two decimals, or none for currencies written without them.
pub(crate) fn cents_to_decimal(cents: i64, currency: &str) -> String {
    if matches!(currency, "IDR" | "VND" | "JPY" | "KRW") {
        return (cents / 100).to_string();
    }
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// A JSON reply with the given status.
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A 200 reply whose JSON body is already serialized.
pub(crate) fn raw_json(body: String) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// An HTML page.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// A 302 redirect.
pub(crate) fn redirect(to: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Appends query parameters to a URL that may already carry some.
pub(crate) fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => {
            let sep = if base.contains('?') { '&' } else { '?' };
            let q: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish();
            format!("{base}{sep}{q}")
        }
    }
}

/// Escapes text for an HTML attribute or body.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Wall-clock unix seconds, for clients that sign requests against a running sandbox.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal_cents("12"), Some(1200));
        assert_eq!(parse_decimal_cents("12.5"), Some(1250));
        assert_eq!(parse_decimal_cents("0.07"), Some(7));
        assert_eq!(parse_decimal_cents("1.234"), None);
        assert_eq!(parse_decimal_cents("-1"), None);
        assert_eq!(cents_to_decimal(1250, "SGD"), "12.50");
        assert_eq!(cents_to_decimal(1_500_000, "IDR"), "15000");
    }

    #[test]
    fn query_append() {
        assert_eq!(
            with_query("https://a.example/cb?x=1", &[("code", "c d")]),
            "https://a.example/cb?x=1&code=c+d"
        );
    }
}
