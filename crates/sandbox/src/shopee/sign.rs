//! Shopee v2 signing, written from the fact sheet (§1.4, §1.8) independently of the real client:
//! HMAC-SHA256 keyed with the partner key's UTF-8 bytes over a fixed concatenation, lowercase hex.

use crate::util::{hmac_hex, hmac_verify};

/// The base string: `partner_id + path + timestamp [+ access_token + shop_id|merchant_id]`,
/// every part exactly as it appeared in the query.
pub fn base_string(
    partner_id: &str,
    path: &str,
    timestamp: &str,
    token_and_shop: Option<(&str, &str)>,
) -> String {
    let mut s = String::with_capacity(128);
    s.push_str(partner_id);
    s.push_str(path);
    s.push_str(timestamp);
    if let Some((token, shop)) = token_and_shop {
        s.push_str(token);
        s.push_str(shop);
    }
    s
}

/// The `sign` for a base string.
pub fn sign(partner_key: &str, base: &str) -> String {
    hmac_hex(partner_key.as_bytes(), base.as_bytes())
}

/// Checks a received `sign` (hex, either case) in constant time.
pub fn verify(partner_key: &str, base: &str, given: &str) -> bool {
    hmac_verify(partner_key.as_bytes(), base.as_bytes(), given)
}

/// The push `Authorization` header: HMAC(partner_key, callback_url + "|" + raw body).
pub fn push_signature(partner_key: &str, url: &str, body: &str) -> String {
    let mut msg = String::with_capacity(url.len() + 1 + body.len());
    msg.push_str(url);
    msg.push('|');
    msg.push_str(body);
    hmac_hex(partner_key.as_bytes(), msg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test_partner_key_0001";

    #[test]
    fn fact_sheet_vectors() {
        let token = "59777174636562737266615546704c6d";
        let cases = [
            (
                KEY,
                base_string(
                    "2001887",
                    "/api/v2/public/get_shops_by_partner",
                    "1655714431",
                    None,
                ),
                "8d7239f81b0c055d534f72d722da7115991147f11955daeccd65b7e0e5f80300",
            ),
            (
                KEY,
                base_string(
                    "2001887",
                    "/api/v2/shop/get_shop_info",
                    "1655714431",
                    Some((token, "14701711")),
                ),
                "e65d1e88c74d6cde458da54aa46f4a575312840622dcd9fd593ce7d8fd39c6a3",
            ),
            (
                KEY,
                base_string(
                    "2001887",
                    "/api/v2/global_product/get_category",
                    "1655714431",
                    Some(("09777174636962737266615546704c6d", "1000000")),
                ),
                "96b0441068b9b49376b1da62a781f2a981e656aefc3264452d35baafd4c070f1",
            ),
            (
                KEY,
                base_string("2001887", "/api/v2/shop/auth_partner", "1655714431", None),
                "6e9296d1aa46111dcbbd6d0df4079f25d6f984c31c2b3374570dd61ec03206c6",
            ),
            (
                KEY,
                base_string("2001887", "/api/v2/auth/token/get", "1655714431", None),
                "ce14694a970fefe08798e36a67310fb889a762561f8d15cc94393e68544de890",
            ),
            (
                KEY,
                base_string(
                    "2001887",
                    "/api/v2/product/update_stock",
                    "1655714431",
                    Some((token, "14701711")),
                ),
                "9cf539b8b7a0f4c5d15a07b3a3e126c7c5791c06d9036ca6d88bab294a07a596",
            ),
            (
                "shpk6b4f7a2e9c",
                base_string(
                    "1000001",
                    "/api/v2/order/get_order_list",
                    "1700000000",
                    Some(("ACCESS123", "600000")),
                ),
                "0b3ae510f19fac427c3103029e3498da37a586ff42df186fffa843deb24404bb",
            ),
        ];
        for (key, base, want) in cases {
            assert_eq!(sign(key, &base), want, "{base}");
            assert!(verify(key, &base, want));
            assert!(
                verify(key, &base, &want.to_uppercase()),
                "hex case is not significant"
            );
        }
    }

    #[test]
    fn push_vectors() {
        let sp1 = r#"{"data":{"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"","update_time":1660123127,"items":[]},"shop_id":727720655,"code":3,"timestamp":1660123127}"#;
        assert_eq!(
            push_signature(KEY, "https://example.com/shopee/push", sp1),
            "4b6d44dff4c09df8907806656aa3b076d8f39b212ddc79f024873e9cccdbe477"
        );
        let sp2 = r#"{"shop_id":600000,"code":4,"timestamp":1700000000,"data":{"ordersn":"231114ABCDEF12","package_number":"OFG1234567","tracking_no":"SPXID0123456789"}}"#;
        assert_eq!(
            push_signature("shpk6b4f7a2e9c", "http://127.0.0.1:9000/hooks/shopee", sp2),
            "a8a3ca22cddb922cbef2a5a877e720d276c08bb06fa2bd8fccc3e8c765d905d2"
        );
    }
}
