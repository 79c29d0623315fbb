//! Lazada (LazOP) request and push signatures (fact sheet §3.4, §3.9).
//!
//! A request signature covers the API name without the `/rest` prefix
//! (`/orders/get`) followed by every parameter except `sign`, sorted by key
//! byte-wise, each as key and raw (unencoded) value with no separators. The
//! digest is HMAC-SHA256 keyed with the app secret, in uppercase hex. XML
//! payloads are signed verbatim as the value of `payload`.

use crate::sign::hmac_sha256_hex;

/// The exact bytes that are HMAC'd: `api_name + k1v1k2v2...` over the
/// sorted parameters, `sign` left out.
pub fn base_string(api_name: &str, params: &[(&str, &str)]) -> Vec<u8> {
    let mut pairs: Vec<&(&str, &str)> = params.iter().filter(|(k, _)| *k != "sign").collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = Vec::with_capacity(api_name.len() + 128);
    s.extend_from_slice(api_name.as_bytes());
    for (k, v) in pairs {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    s
}

/// The `sign` parameter: uppercase hex HMAC-SHA256 of [`base_string`] keyed
/// with the app secret.
pub fn sign(app_secret: &str, api_name: &str, params: &[(&str, &str)]) -> String {
    hmac_sha256_hex(app_secret.as_bytes(), &[&base_string(api_name, params)]).to_ascii_uppercase()
}

/// The push `Authorization` header: lowercase hex HMAC-SHA256 keyed with the
/// app secret over the app key followed by the raw body bytes.
pub fn push_signature(app_key: &str, app_secret: &str, body: &[u8]) -> String {
    hmac_sha256_hex(app_secret.as_bytes(), &[app_key.as_bytes(), body])
}

#[cfg(test)]
mod tests {
    use super::*;

    const L4_PAYLOAD: &str = "<Request><Product><Skus><Sku><ItemId>234234234</ItemId><SkuId>234</SkuId><SellerSku>Apple-SG-Glod-64G</SellerSku><SellableQuantity>20</SellableQuantity></Sku></Skus></Product></Request>";

    /// Name, secret, API name, parameters, expected sign.
    type Vector<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

    #[test]
    fn fact_sheet_vectors_l1_to_l4() {
        #[rustfmt::skip]
        let vectors: &[Vector<'_>] = &[
            ("L-1", "helloworld", "/order/get",
             &[("app_key", "123456"), ("access_token", "test"), ("timestamp", "1517820392000"),
               ("sign_method", "sha256"), ("order_id", "1234")],
             "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"),
            ("L-2", "SECRETLAZ", "/orders/get",
             &[("app_key", "100001"), ("access_token", "ACCESSTOKEN"), ("timestamp", "1700000000000"),
               ("sign_method", "sha256"), ("created_after", "2024-01-01T00:00:00+08:00"),
               ("limit", "10"), ("offset", "0")],
             "6B1C5125E7AC36C22A90D497334B27981AB0BF9F107447F9AC2803E4AA80FDDD"),
            ("L-3", "SECRETLAZ", "/auth/token/create",
             &[("app_key", "100001"), ("timestamp", "1700000000000"), ("sign_method", "sha256"),
               ("code", "0_100001_abcDEF")],
             "209FA118224939AEFC8E72906AEA01276AD378AF21EB037AF7050F48D210114F"),
            ("L-4", "SECRETLAZ", "/product/stock/sellable/update",
             &[("app_key", "100001"), ("access_token", "ACCESSTOKEN"), ("timestamp", "1700000000000"),
               ("sign_method", "sha256"), ("payload", L4_PAYLOAD)],
             "A152BCC455582357931DA518DB38331069B518BF651A4300710930B9DEFD508C"),
        ];
        for (name, secret, api, params, want) in vectors {
            assert_eq!(sign(secret, api, params), *want, "{name}");
            // A `sign` already present never takes part.
            let mut with_sign = params.to_vec();
            with_sign.push(("sign", "IGNORED"));
            assert_eq!(sign(secret, api, &with_sign), *want, "{name} with sign");
        }
    }

    #[test]
    fn fact_sheet_base_strings() {
        assert_eq!(
            base_string(
                "/order/get",
                &[("app_key", "123456"), ("access_token", "test"), ("timestamp", "1517820392000"),
                  ("sign_method", "sha256"), ("order_id", "1234")]
            ),
            b"/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256timestamp1517820392000"
        );
        assert_eq!(
            base_string(
                "/orders/get",
                &[("app_key", "100001"), ("access_token", "ACCESSTOKEN"), ("timestamp", "1700000000000"),
                  ("sign_method", "sha256"), ("created_after", "2024-01-01T00:00:00+08:00"),
                  ("limit", "10"), ("offset", "0")]
            ),
            b"/orders/getaccess_tokenACCESSTOKENapp_key100001created_after2024-01-01T00:00:00+08:00limit10offset0sign_methodsha256timestamp1700000000000".to_vec()
        );
    }

    #[test]
    fn uppercase_hex_and_byte_order() {
        let s = sign("k", "/p", &[("b", "2"), ("B", "1")]);
        assert_eq!(s, s.to_ascii_uppercase());
        assert_eq!(
            base_string("/p", &[("b", "2"), ("B", "1"), ("a", "3")]),
            b"/pB1a3b2"
        );
    }

    #[test]
    fn fact_sheet_push_vectors() {
        let lp1 = br#"{"seller_id":"1234567","message_type":0,"data":{"order_status":"pending","trade_order_id":"260422900198363","trade_order_line_id":"260422900298363","status_update_time":1603698638},"timestamp":1603766859530,"site":"lazada_vn"}"#;
        assert_eq!(
            push_signature("123456", "3412gyo124goi3124", lp1),
            "f599483ef22edde225833f23be067106381cc8c3d6ea21d91ad1298fb29a11d7",
            "LP-1"
        );
        let lp2 = br#"{"seller_id":"100072361","message_type":3,"data":{"item_id":"232611001","sku_list":[{"shop_sku":"232611001_SGAMZ-356805001","seller_sku":"api-create-test-111","sku_id":"356805001"}],"action":"PUBLISHED","status_update_time":1623238942696},"timestamp":1606130634,"site":"lazada_sg"}"#;
        assert_eq!(
            push_signature("100001", "SECRETLAZ", lp2),
            "18d7ef51e088721f55ff4d61ebca6235f3ed207a096a497ee72603892c9bcf5b",
            "LP-2"
        );
    }
}
