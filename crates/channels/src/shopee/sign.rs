//! Shopee v2 request and push signatures (fact sheet §1.4, §1.8).
//!
//! A request signature covers fixed fields concatenated without separators:
//! partner id, API path, timestamp, and for shop/merchant calls the access
//! token and shop/merchant id. Never the query or the body. The partner key is
//! used as its literal UTF-8 text, even though it looks like hex.

use crate::sign::hmac_sha256_hex;

/// Which kind of call is signed; it decides the fields after the timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignScope<'a> {
    /// Partner-level calls: auth link, token endpoints, `/public/*`, `/push/*`.
    Public,
    Shop {
        access_token: &'a str,
        shop_id: i64,
    },
    Merchant {
        access_token: &'a str,
        merchant_id: i64,
    },
}

/// The exact string that is HMAC'd.
pub fn base_string(
    partner_id: i64,
    api_path: &str,
    timestamp: i64,
    scope: SignScope<'_>,
) -> String {
    let mut base = format!("{partner_id}{api_path}{timestamp}");
    match scope {
        SignScope::Public => {}
        SignScope::Shop {
            access_token,
            shop_id,
        } => {
            base.push_str(access_token);
            base.push_str(&shop_id.to_string());
        }
        SignScope::Merchant {
            access_token,
            merchant_id,
        } => {
            base.push_str(access_token);
            base.push_str(&merchant_id.to_string());
        }
    }
    base
}

/// The `sign` query parameter: lowercase hex HMAC-SHA256 of the base string.
pub fn sign(
    partner_key: &str,
    partner_id: i64,
    api_path: &str,
    timestamp: i64,
    scope: SignScope<'_>,
) -> String {
    let base = base_string(partner_id, api_path, timestamp, scope);
    hmac_sha256_hex(partner_key.as_bytes(), &[base.as_bytes()])
}

/// The `Authorization` header of a push: HMAC over the callback URL exactly
/// as configured, a `|`, and the raw body bytes.
pub fn push_signature(partner_key: &str, callback_url: &str, body: &[u8]) -> String {
    hmac_sha256_hex(
        partner_key.as_bytes(),
        &[callback_url.as_bytes(), b"|", body],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name, key, partner id, path, timestamp, scope, base string, sign.
    type Vector<'a> = (
        &'a str,
        &'a str,
        i64,
        &'a str,
        i64,
        SignScope<'a>,
        &'a str,
        &'a str,
    );

    const KEY: &str = "test_partner_key_0001";
    const TOKEN: &str = "59777174636562737266615546704c6d";

    #[test]
    fn fact_sheet_request_vectors() {
        let shop = SignScope::Shop {
            access_token: TOKEN,
            shop_id: 14_701_711,
        };
        #[rustfmt::skip]
        let vectors: &[Vector<'_>] = &[
            ("S-1", KEY, 2_001_887, "/api/v2/public/get_shops_by_partner", 1_655_714_431, SignScope::Public,
             "2001887/api/v2/public/get_shops_by_partner1655714431",
             "8d7239f81b0c055d534f72d722da7115991147f11955daeccd65b7e0e5f80300"),
            ("S-2", KEY, 2_001_887, "/api/v2/shop/get_shop_info", 1_655_714_431, shop,
             "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711",
             "e65d1e88c74d6cde458da54aa46f4a575312840622dcd9fd593ce7d8fd39c6a3"),
            ("S-3", KEY, 2_001_887, "/api/v2/global_product/get_category", 1_655_714_431,
             SignScope::Merchant { access_token: "09777174636962737266615546704c6d", merchant_id: 1_000_000 },
             "2001887/api/v2/global_product/get_category165571443109777174636962737266615546704c6d1000000",
             "96b0441068b9b49376b1da62a781f2a981e656aefc3264452d35baafd4c070f1"),
            ("S-4", KEY, 2_001_887, "/api/v2/shop/auth_partner", 1_655_714_431, SignScope::Public,
             "2001887/api/v2/shop/auth_partner1655714431",
             "6e9296d1aa46111dcbbd6d0df4079f25d6f984c31c2b3374570dd61ec03206c6"),
            ("S-5", KEY, 2_001_887, "/api/v2/auth/token/get", 1_655_714_431, SignScope::Public,
             "2001887/api/v2/auth/token/get1655714431",
             "ce14694a970fefe08798e36a67310fb889a762561f8d15cc94393e68544de890"),
            ("S-6", KEY, 2_001_887, "/api/v2/product/update_stock", 1_655_714_431, shop,
             "2001887/api/v2/product/update_stock165571443159777174636562737266615546704c6d14701711",
             "9cf539b8b7a0f4c5d15a07b3a3e126c7c5791c06d9036ca6d88bab294a07a596"),
            ("S-7", "shpk6b4f7a2e9c", 1_000_001, "/api/v2/order/get_order_list", 1_700_000_000,
             SignScope::Shop { access_token: "ACCESS123", shop_id: 600_000 },
             "1000001/api/v2/order/get_order_list1700000000ACCESS123600000",
             "0b3ae510f19fac427c3103029e3498da37a586ff42df186fffa843deb24404bb"),
        ];
        for (name, key, partner, path, ts, scope, base, want) in vectors {
            assert_eq!(
                base_string(*partner, path, *ts, *scope),
                *base,
                "{name} base"
            );
            assert_eq!(sign(key, *partner, path, *ts, *scope), *want, "{name} sign");
        }
    }

    #[test]
    fn own_vectors_pin_down_the_rules() {
        // Every input matters: path, timestamp, token, shop id and key.
        let base = sign(
            KEY,
            1,
            "/api/v2/a",
            10,
            SignScope::Shop {
                access_token: "t",
                shop_id: 5,
            },
        );
        for other in [
            sign(
                KEY,
                1,
                "/api/v2/b",
                10,
                SignScope::Shop {
                    access_token: "t",
                    shop_id: 5,
                },
            ),
            sign(
                KEY,
                1,
                "/api/v2/a",
                11,
                SignScope::Shop {
                    access_token: "t",
                    shop_id: 5,
                },
            ),
            sign(
                KEY,
                1,
                "/api/v2/a",
                10,
                SignScope::Shop {
                    access_token: "u",
                    shop_id: 5,
                },
            ),
            sign(
                KEY,
                1,
                "/api/v2/a",
                10,
                SignScope::Shop {
                    access_token: "t",
                    shop_id: 6,
                },
            ),
            sign(
                "other",
                1,
                "/api/v2/a",
                10,
                SignScope::Shop {
                    access_token: "t",
                    shop_id: 5,
                },
            ),
            sign(KEY, 1, "/api/v2/a", 10, SignScope::Public),
        ] {
            assert_ne!(base, other);
        }
        // The key is its UTF-8 text, not hex-decoded bytes: "shpk" is not hex.
        assert_eq!(
            sign(
                "shpk6b4f7a2e9c",
                1_000_001,
                "/api/v2/order/get_order_list",
                1_700_000_000,
                SignScope::Shop {
                    access_token: "ACCESS123",
                    shop_id: 600_000
                }
            ),
            crate::sign::hmac_sha256_hex(
                b"shpk6b4f7a2e9c",
                &[b"1000001/api/v2/order/get_order_list1700000000ACCESS123600000"]
            )
        );
        assert_eq!(base.len(), 64);
        assert!(base
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn fact_sheet_push_vectors() {
        let sp1 = br#"{"data":{"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"","update_time":1660123127,"items":[]},"shop_id":727720655,"code":3,"timestamp":1660123127}"#;
        assert_eq!(
            push_signature(KEY, "https://example.com/shopee/push", sp1),
            "4b6d44dff4c09df8907806656aa3b076d8f39b212ddc79f024873e9cccdbe477",
            "SP-1"
        );
        let sp2 = br#"{"shop_id":600000,"code":4,"timestamp":1700000000,"data":{"ordersn":"231114ABCDEF12","package_number":"OFG1234567","tracking_no":"SPXID0123456789"}}"#;
        assert_eq!(
            push_signature("shpk6b4f7a2e9c", "http://127.0.0.1:9000/hooks/shopee", sp2),
            "a8a3ca22cddb922cbef2a5a877e720d276c08bb06fa2bd8fccc3e8c765d905d2",
            "SP-2"
        );
        // The URL is part of what is signed.
        assert_ne!(
            push_signature(KEY, "https://example.com/shopee/push/", sp1),
            push_signature(KEY, "https://example.com/shopee/push", sp1)
        );
    }
}
