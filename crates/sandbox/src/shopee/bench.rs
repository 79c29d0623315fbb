//! The throughput benchmark's requests as a Shopee client signs them: a stock update and an
//! order list query, each with the partner signature over path, timestamp, token and shop.

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
    let Credentials::Shopee {
        partner_id,
        partner_key,
    } = &t.credentials
    else {
        // The sandbox was built from these credentials, so they are always this
        // marketplace's; a request without a signature is simply counted as a failure.
        return client.get(&t.base);
    };
    let pid = partner_id.to_string();
    let shop = t.shop_id.to_string();
    let (method, path) = match op {
        BenchOp::StockUpdate => ("POST", "/api/v2/product/update_stock"),
        BenchOp::OrderSearch => ("GET", "/api/v2/order/get_order_list"),
    };
    let base = super::sign::base_string(&pid, path, &ts, Some((&t.token, &shop)));
    let sign = super::sign::sign(partner_key.expose(), &base);
    let mut url = format!(
        "{}{path}?partner_id={pid}&timestamp={ts}&sign={sign}&access_token={}&shop_id={shop}",
        t.base, t.token
    );
    if method == "POST" {
        let body = json!({"item_id": t.product_id, "stock_list": [{"model_id": 0,
            "seller_stock": [{"location_id": t.warehouse, "stock": 500 + (n % 100)}]}]})
        .to_string();
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
    } else {
        let now = util::now_secs();
        url.push_str(&format!(
            "&time_range_field=create_time&time_from={}&time_to={}&page_size={}",
            now - 86_400,
            now + 60,
            t.page_size
        ));
        client.get(url)
    }
}
