//! The throughput benchmark's requests as a Lazada client signs them: a sellable-stock update
//! and an order list query, each a signed form post.

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
    let Credentials::Lazada {
        app_key,
        app_secret,
    } = &t.credentials
    else {
        // The sandbox was built from these credentials, so they are always this
        // marketplace's; a request without a signature is simply counted as a failure.
        return client.get(&t.base);
    };
    let ts_ms = format!("{ts}000");
    let mut params: Vec<(String, String)> = vec![
        ("app_key".to_owned(), app_key.clone()),
        ("timestamp".to_owned(), ts_ms),
        ("sign_method".to_owned(), "sha256".to_owned()),
        ("access_token".to_owned(), t.token.clone()),
    ];
    let api = match op {
        BenchOp::StockUpdate => {
            params.push((
                "payload".to_owned(),
                format!(
                    "<Request><Product><Skus><Sku><ItemId>{}</ItemId><SkuId>{}</SkuId><SellableQuantity>{}</SellableQuantity></Sku></Skus></Product></Request>",
                    t.product_id,
                    t.sku_id,
                    500 + (n % 100)
                ),
            ));
            "/product/stock/sellable/update"
        }
        BenchOp::OrderSearch => {
            let after = time::OffsetDateTime::from_unix_timestamp(util::now_secs() - 86_400)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            params.push(("created_after".to_owned(), after));
            params.push(("limit".to_owned(), t.page_size.min(100).to_string()));
            "/orders/get"
        }
    };
    let sign = super::sign::sign(app_secret.expose(), api, &params);
    params.push(("sign".to_owned(), sign));
    let form: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    client
        .post(format!("{}/rest{api}", t.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
}
