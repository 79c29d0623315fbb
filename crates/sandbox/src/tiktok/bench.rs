//! The throughput benchmark's requests as a TikTok Shop client signs them: an inventory update
//! and an order search, each signed over path, parameters and body.

use serde_json::json;

use crate::config::Credentials;
use crate::protocol::{BenchOp, BenchTarget};
use crate::util;

/// One request of the throughput benchmark, signed with the target's credentials.
pub(crate) fn request(
    client: &reqwest::Client,
    t: &BenchTarget,
    op: BenchOp,
    n: u64,
) -> reqwest::RequestBuilder {
    let ts = util::now_secs().to_string();
    let Credentials::TikTok {
        app_key,
        app_secret,
        ..
    } = &t.credentials
    else {
        // The sandbox was built from these credentials, so they are always this
        // marketplace's; a request without a signature is simply counted as a failure.
        return client.get(&t.base);
    };
    let (path, mut params, body) = match op {
        BenchOp::StockUpdate => (
            format!("/product/202309/products/{}/inventory/update", t.product_id),
            vec![],
            json!({"skus": [{"id": t.sku_id.to_string(), "inventory": [{"warehouse_id": t.warehouse,
                "quantity": 500 + (n % 100)}]}]})
            .to_string(),
        ),
        BenchOp::OrderSearch => (
            "/order/202309/orders/search".to_owned(),
            vec![("page_size".to_owned(), t.page_size.to_string())],
            "{}".to_owned(),
        ),
    };
    params.push(("app_key".to_owned(), app_key.clone()));
    params.push(("timestamp".to_owned(), ts));
    params.push(("shop_cipher".to_owned(), t.cipher.clone()));
    let sign = super::sign::sign(app_secret.expose(), &path, &params, body.as_bytes(), false);
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .append_pair("sign", &sign)
        .finish();
    client
        .post(format!("{}{path}?{query}", t.base))
        .header("content-type", "application/json")
        .header("x-tts-access-token", &t.token)
        .body(body)
}
