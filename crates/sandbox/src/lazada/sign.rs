//! Lazada (LazOP) signing, written from the fact sheet (§3.4, §3.9) independently of the real
//! client: HMAC-SHA256(app_secret, api_name + sorted k+v), uppercase hex; pushes are signed
//! HMAC-SHA256(app_secret, app_key + body), lowercase hex.

use crate::util::{hmac_hex, hmac_verify};

/// The base string: the API name (without `/rest`) followed by every parameter except `sign`,
/// sorted byte-wise by key, as key + decoded value. With `skip_empty`, parameters whose value is
/// empty are left out (the Java/C# SDKs do that; Python/npm keep the bare key).
pub fn base_string(api_name: &str, params: &[(String, String)], skip_empty: bool) -> Vec<u8> {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, v)| k != "sign" && !(skip_empty && v.is_empty()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = Vec::with_capacity(api_name.len() + 128);
    s.extend_from_slice(api_name.as_bytes());
    for (k, v) in pairs {
        s.extend_from_slice(k.as_bytes());
        s.extend_from_slice(v.as_bytes());
    }
    s
}

/// The `sign` value, uppercase hex.
pub fn sign(app_secret: &str, api_name: &str, params: &[(String, String)]) -> String {
    hmac_hex(app_secret.as_bytes(), &base_string(api_name, params, false)).to_ascii_uppercase()
}

/// Constant-time check of a received `sign` (either case). Both SDK conventions for empty
/// values are accepted, since the fact sheet cannot say which one Lazada uses.
pub fn verify(app_secret: &str, api_name: &str, params: &[(String, String)], given: &str) -> bool {
    hmac_verify(
        app_secret.as_bytes(),
        &base_string(api_name, params, false),
        given,
    ) || (params.iter().any(|(_, v)| v.is_empty())
        && hmac_verify(
            app_secret.as_bytes(),
            &base_string(api_name, params, true),
            given,
        ))
}

/// The push `Authorization` header: lowercase hex HMAC(app_secret, app_key + raw body).
pub fn push_signature(app_key: &str, app_secret: &str, body: &str) -> String {
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
        let l1 = p(&[
            ("app_key", "123456"),
            ("access_token", "test"),
            ("timestamp", "1517820392000"),
            ("sign_method", "sha256"),
            ("order_id", "1234"),
        ]);
        assert_eq!(
            String::from_utf8(base_string("/order/get", &l1, false)).unwrap(),
            "/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256timestamp1517820392000"
        );
        assert_eq!(
            sign("helloworld", "/order/get", &l1),
            "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
        );
        let l2 = p(&[
            ("app_key", "100001"),
            ("access_token", "ACCESSTOKEN"),
            ("timestamp", "1700000000000"),
            ("sign_method", "sha256"),
            ("created_after", "2024-01-01T00:00:00+08:00"),
            ("limit", "10"),
            ("offset", "0"),
        ]);
        assert_eq!(
            sign("SECRETLAZ", "/orders/get", &l2),
            "6B1C5125E7AC36C22A90D497334B27981AB0BF9F107447F9AC2803E4AA80FDDD"
        );
        let l3 = p(&[
            ("app_key", "100001"),
            ("timestamp", "1700000000000"),
            ("sign_method", "sha256"),
            ("code", "0_100001_abcDEF"),
        ]);
        assert_eq!(
            sign("SECRETLAZ", "/auth/token/create", &l3),
            "209FA118224939AEFC8E72906AEA01276AD378AF21EB037AF7050F48D210114F"
        );
        let l4 = p(&[
            ("app_key", "100001"),
            ("access_token", "ACCESSTOKEN"),
            ("timestamp", "1700000000000"),
            ("sign_method", "sha256"),
            ("payload", "<Request><Product><Skus><Sku><ItemId>234234234</ItemId><SkuId>234</SkuId><SellerSku>Apple-SG-Glod-64G</SellerSku><SellableQuantity>20</SellableQuantity></Sku></Skus></Product></Request>"),
        ]);
        assert_eq!(
            sign("SECRETLAZ", "/product/stock/sellable/update", &l4),
            "A152BCC455582357931DA518DB38331069B518BF651A4300710930B9DEFD508C"
        );
        assert!(verify(
            "SECRETLAZ",
            "/product/stock/sellable/update",
            &l4,
            "a152bcc455582357931da518db38331069b518bf651a4300710930b9defd508c"
        ));
    }

    #[test]
    fn empty_values_are_accepted_both_ways() {
        let with_empty = p(&[("app_key", "k"), ("x", "")]);
        let kept = sign("s", "/a", &with_empty);
        let dropped = sign("s", "/a", &p(&[("app_key", "k")]));
        assert_ne!(kept, dropped);
        assert!(verify("s", "/a", &with_empty, &kept));
        assert!(verify("s", "/a", &with_empty, &dropped));
        assert!(!verify("s", "/b", &with_empty, &kept));
    }

    #[test]
    fn push_vectors() {
        assert_eq!(
            push_signature(
                "123456",
                "3412gyo124goi3124",
                r#"{"seller_id":"1234567","message_type":0,"data":{"order_status":"pending","trade_order_id":"260422900198363","trade_order_line_id":"260422900298363","status_update_time":1603698638},"timestamp":1603766859530,"site":"lazada_vn"}"#
            ),
            "f599483ef22edde225833f23be067106381cc8c3d6ea21d91ad1298fb29a11d7"
        );
        assert_eq!(
            push_signature(
                "100001",
                "SECRETLAZ",
                r#"{"seller_id":"100072361","message_type":3,"data":{"item_id":"232611001","sku_list":[{"shop_sku":"232611001_SGAMZ-356805001","seller_sku":"api-create-test-111","sku_id":"356805001"}],"action":"PUBLISHED","status_update_time":1623238942696},"timestamp":1606130634,"site":"lazada_sg"}"#
            ),
            "18d7ef51e088721f55ff4d61ebca6235f3ed207a096a497ee72603892c9bcf5b"
        );
    }
}
