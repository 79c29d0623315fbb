//! TikTok Shop 202309 signing, written from the fact sheet (§2.4, §2.9) independently of the real
//! client: HMAC-SHA256(app_secret, secret + path + sorted k/v + raw body + secret), lowercase hex.

use crate::util::{hmac_hex, hmac_verify};

/// The wrapped string that is HMAC'd. `params` are the decoded query pairs as received; `sign`
/// and `access_token` are left out, a repeated key counts once (its first value), keys are
/// sorted byte-wise, and the raw body is appended unless the request is multipart.
pub fn string_to_sign(
    app_secret: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
    multipart: bool,
) -> Vec<u8> {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(params.len());
    for (k, v) in params {
        if k == "sign" || k == "access_token" || pairs.iter().any(|(pk, _)| *pk == k.as_str()) {
            continue;
        }
        pairs.push((k.as_str(), v.as_str()));
    }
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = Vec::with_capacity(2 * app_secret.len() + path.len() + body.len() + 64);
    s.extend_from_slice(app_secret.as_bytes());
    s.extend_from_slice(path.as_bytes());
    for (k, v) in pairs {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    if !multipart {
        s.extend_from_slice(body);
    }
    s.extend_from_slice(app_secret.as_bytes());
    s
}

pub fn sign(
    app_secret: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
    multipart: bool,
) -> String {
    hmac_hex(
        app_secret.as_bytes(),
        &string_to_sign(app_secret, path, params, body, multipart),
    )
}

/// Constant-time check of a received `sign` (hex, either case).
pub fn verify(
    app_secret: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
    multipart: bool,
    given: &str,
) -> bool {
    hmac_verify(
        app_secret.as_bytes(),
        &string_to_sign(app_secret, path, params, body, multipart),
        given,
    )
}

/// The webhook `Authorization` header: HMAC(app_secret, app_key + raw body).
pub fn webhook_signature(app_key: &str, app_secret: &str, body: &str) -> String {
    let mut msg = String::with_capacity(app_key.len() + body.len());
    msg.push_str(app_key);
    msg.push_str(body);
    hmac_hex(app_secret.as_bytes(), msg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fact_sheet_vectors() {
        let t1 = p(&[("app_key", "29a39d"), ("timestamp", "1623812664")]);
        assert_eq!(
            String::from_utf8(string_to_sign(
                "e59af819cc",
                "/authorization/202309/shops",
                &t1,
                b"",
                false
            ))
            .unwrap(),
            "e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"
        );
        assert_eq!(
            sign("e59af819cc", "/authorization/202309/shops", &t1, b"", false),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
        let t2 = p(&[
            ("app_key", "29a39d"),
            ("timestamp", "1623812664"),
            ("access_token", "IGNORED"),
            ("sign", "IGNORED"),
        ]);
        assert_eq!(
            sign("e59af819cc", "/authorization/202309/shops", &t2, b"", false),
            "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
        );
        let t3 = p(&[
            ("timestamp", "1696909648"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIKt"),
            ("page_size", "20"),
            ("app_key", "29a39d"),
        ]);
        assert_eq!(
            sign(
                "e59af819cc",
                "/order/202309/orders/search",
                &t3,
                br#"{"order_status":"AWAITING_SHIPMENT"}"#,
                false
            ),
            "9b9aa043907737b0156092ca06ddfb9161212f736192bf0fd428c7ebb11c1ae8"
        );
        let t4 = p(&[
            ("app_key", "68xu9ks5p4i8"),
            ("shop_cipher", "ROW_xkMbgAAAeVAQra0eZWebFQq5aIKt"),
            ("timestamp", "1696909648"),
        ]);
        assert_eq!(
            sign("e59af819cc", "/event/202309/webhooks", &t4,
                 br#"{    "address":"https://partner.tiktokshop.com",    "event_type": "PACKAGE_UPDATE"}"#, false),
            "20795f4b2d8f540c09dd2f0ec1ad2b93884eaa4947eac44d3239716842827414"
        );
        let t5 = p(&[
            ("app_key", "6a1b2c3d4e5f6"),
            ("ids", "576486316948490001,576486316948490002"),
            ("shop_cipher", "ROW_CIPHER123"),
            ("timestamp", "1700000000"),
        ]);
        let want = "6c456a2c5cf4e0ccfe130e2ffcf65ad3fcbba0e79f291a0cd560fafe56765d02";
        assert_eq!(
            sign(
                "tts_secret_0123456789abcdef",
                "/order/202309/orders",
                &t5,
                b"",
                false
            ),
            want
        );
        assert!(verify(
            "tts_secret_0123456789abcdef",
            "/order/202309/orders",
            &t5,
            b"",
            false,
            &want.to_uppercase()
        ));
    }

    #[test]
    fn webhook_vectors() {
        let tw1 = r#"{"type":1,"tts_notification_id":"7327112393057371910","shop_id":"7494049642642441621","timestamp":1644412885,"data":{"order_id":"576486316948490001","order_status":"UNPAID","is_on_hold_order":false,"update_time":1644412885}}"#;
        assert_eq!(
            webhook_signature("29a39d", "e59af819cc", tw1),
            "e21e909414e500178230da539adfc1faddd443124f93a8f67a060568a49620be"
        );
        let tw2 = r#"{"type":27,"tts_notification_id":"1","shop_id":"7494049642642441621","timestamp":1700000000,"data":{"product_id":"1729592969712207013","sku_id":"1729592969712272549","current_inventory_status":"OUT_OF_STOCK","update_time":1700000000}}"#;
        assert_eq!(
            webhook_signature("6a1b2c3d4e5f6", "tts_secret_0123456789abcdef", tw2),
            "0bb7910c9fd399eb0cb98d43ef844f5620535a633cb0a23a661f4ff2ac624ef9"
        );
    }
}
