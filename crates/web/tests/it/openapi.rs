//! Real answers match the schemas the OpenAPI document derives from the
//! wire types: every key a schema requires is there, at every depth.

use storesync_store::backend_test;

use super::*;

/// The schema `s` points to, following a `$ref` into the document.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "missing schema {name}");
            target
        }
        None => s,
    }
}

/// Check that `v` has every property `schema` requires, recursively, and
/// count the objects checked.
fn conforms(doc: &Value, schema: &Value, v: &Value, at: &str) -> usize {
    let schema = resolve(doc, schema);
    if v.is_null() {
        return 0;
    }
    if let Some(branches) = schema["anyOf"].as_array() {
        // `T | null`: a non-null value is the `T` branch.
        let branch = branches.iter().find(|b| b["type"] != "null").unwrap();
        return conforms(doc, branch, v, at);
    }
    match v {
        Value::Object(fields) => {
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap();
                assert!(
                    fields.contains_key(key),
                    "{at}: `{key}` is required by the schema but missing in {v}"
                );
            }
            // A free-form value (an audit summary, a job payload) has no
            // properties to follow.
            let Some(props) = schema["properties"].as_object() else {
                return 1;
            };
            1 + fields
                .iter()
                .filter_map(|(k, x)| {
                    props
                        .get(k)
                        .map(|p| conforms(doc, p, x, &format!("{at}.{k}")))
                })
                .sum::<usize>()
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| conforms(doc, &schema["items"], x, &format!("{at}[{i}]")))
            .sum(),
        _ => 0,
    }
}

/// The success schema of `method path` in the document.
fn answer_schema<'a>(doc: &'a Value, method: &str, path: &str, status: &str) -> &'a Value {
    let s =
        &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
    assert!(
        s.is_object(),
        "{method} {path} has no {status} answer schema"
    );
    s
}

backend_test! {
    async fn real_answers_carry_what_their_schemas_require(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let doc = app.call(None, Method::GET, "/api/v1/openapi.json", None).await.body;
        let product = app.product_with_stock(&t, &["KAOS-M", "KAOS-L"], 5).await;
        let created = app.post(&t, "/api/v1/orders", order_body("M-1", &[("KAOS-M", 2)])).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let order_id = created.body["order"]["id"].as_str().unwrap().to_owned();
        app.post(&t, &format!("/api/v1/orders/{order_id}/ship"), json!({ "carrier": "JNE", "tracking_number": "JNE1" })).await;

        let product_id = product["id"].as_str().unwrap();
        let cases = [
            ("post", "/api/v1/orders", "201", created.body.clone()),
            ("get", "/api/v1/orders/{id}", "200", app.get(&t, &format!("/api/v1/orders/{order_id}")).await.body),
            ("get", "/api/v1/orders", "200", app.get(&t, "/api/v1/orders").await.body),
            ("get", "/api/v1/products", "200", app.get(&t, "/api/v1/products").await.body),
            ("get", "/api/v1/products/{id}", "200", app.get(&t, &format!("/api/v1/products/{product_id}")).await.body),
            ("get", "/api/v1/inventory", "200", app.get(&t, "/api/v1/inventory?sku=KAOS-M").await.body),
            ("get", "/api/v1/inventory/movements", "200", app.get(&t, "/api/v1/inventory/movements?sku=KAOS-M").await.body),
            ("get", "/api/v1/locations", "200", app.get(&t, "/api/v1/locations").await.body),
            ("get", "/api/v1/audit", "200", app.get(&t, "/api/v1/audit").await.body),
            ("get", "/api/v1/tokens", "200", app.get(&t, "/api/v1/tokens").await.body),
            ("get", "/api/v1/auth/session", "200", app.get(&t, "/api/v1/auth/session").await.body),
        ];
        for (method, path, status, body) in &cases {
            let schema = answer_schema(&doc, method, path, status);
            let checked = conforms(&doc, schema, body, &format!("{method} {path}"));
            assert!(checked > 0, "{method} {path}: nothing checked in {body}");
        }
        // The shipped order's detail carries its timeline and shipment, and
        // both are checked against their own schemas.
        let detail = &cases[1].3;
        assert_eq!(detail["shipments"][0]["tracking_number"], "JNE1");
        assert!(conforms(&doc, answer_schema(&doc, "get", "/api/v1/orders/{id}", "200"), detail, "order") >= 5);

        // Error answers match the error schema too.
        let missing = app.get(&t, "/api/v1/orders/not-an-id").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let error = &doc["paths"]["/api/v1/orders/{id}"]["get"]["responses"]["4XX"]["content"]["application/json"]["schema"];
        assert_eq!(conforms(&doc, error, &missing.body, "error"), 2);
    }
}
