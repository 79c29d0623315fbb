//! The OpenAPI 3.1 document, generated from the route table. Request and
//! response schemas are derived (`schemars`, JSON Schema 2020-12, the
//! dialect of OpenAPI 3.1) from the very wire types the handlers read and
//! write (`api::wire` and the request bodies beside their handlers), so
//! the document cannot drift from the JSON.

use schemars::generate::{Contract, SchemaSettings};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};
use storesync_domain::Marketplace;

use crate::api::wire::ErrorBody;
use crate::routes::{api_routes, Access, SchemaOf};

/// Where shared schemas live in the document; `$ref`s point there.
const SCHEMAS: &str = "/components/schemas";

/// A generator for one direction: requests are described as they are read,
/// answers as they are written (a field skipped when empty is optional).
fn generator(contract: Contract) -> SchemaGenerator {
    SchemaGenerator::new(SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = SCHEMAS.into();
        s.meta_schema = None;
        s.contract = contract;
    }))
}

fn content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// Build the document.
pub fn document() -> Value {
    let mut requests = generator(Contract::Deserialize);
    let mut answers = generator(Contract::Serialize);
    let schema = |g: &mut SchemaGenerator, of: SchemaOf| of(g).to_value();
    let error = json!({ "description": "error", "content": content(schema(&mut answers, |g| g.subschema_for::<ErrorBody>())) });
    let mut paths = Map::new();
    for (spec, _) in api_routes() {
        let mut params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let schema = if name == "marketplace" {
                    let names: Vec<&str> = Marketplace::ALL.iter().map(|m| m.as_str()).collect();
                    json!({ "type": "string", "enum": names })
                } else {
                    json!({ "type": "string" })
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        params.extend(spec.query.iter().map(|(name, required, desc)| {
            json!({ "name": name, "in": "query", "required": required, "description": desc, "schema": { "type": "string" } })
        }));
        let mut success = json!({ "description": "success" });
        if let Some(answer) = spec.answer {
            success["content"] = content(schema(&mut answers, answer));
        }
        let mut op = json!({
            "summary": spec.summary,
            "parameters": params,
            "responses": { spec.success.to_string(): success, "4XX": error },
        });
        match spec.access {
            Access::Public => op["security"] = json!([]),
            Access::Signature => {
                op["security"] = json!([]);
                op["x-authentication"] = json!("the marketplace's signature over the raw body");
            }
            Access::Role(role) => op["x-required-role"] = json!(role.as_str()),
        }
        if let Some(body) = spec.body {
            op["requestBody"] =
                json!({ "required": true, "content": content(schema(&mut requests, body)) });
        }
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[spec.method.as_str().to_lowercase()] = op;
    }
    // Request and answer types are distinct types with distinct names; the
    // shared vocabulary (money, statuses, roles) is the same either way.
    let mut schemas = answers.take_definitions(true);
    schemas.extend(requests.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "info": { "title": "StoreSync API", "version": "1",
                  "description": "Errors are {\"error\":{\"code\",\"message\",\"details\"?}}. Authenticate with `Authorization: Bearer <token>` or the session cookie (plus `X-CSRF-Token` on changes). Requests are rate-limited per token and per client address in each route group (products, orders, sync, other; per minute): over a limit the answer is 429 `rate_limited` with `Retry-After`." },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::session::SESSION_COOKIE }
            }
        },
        "security": [{ "bearer": [] }, { "session": [] }]
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::{api_routes, document, SCHEMAS};

    /// Every `$ref` under `v`.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_json_body_and_answer_names_a_schema_that_exists() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let prefix = format!("#{SCHEMAS}/");
        let mut named = 0;
        for (spec, _) in api_routes() {
            let op = &doc["paths"][spec.path][spec.method.as_str().to_lowercase()];
            let success = &op["responses"][spec.success.to_string()];
            let parts = [
                (spec.body.is_some(), &op["requestBody"]),
                (spec.answer.is_some(), success),
            ];
            for (declared, part) in parts {
                let schema = &part["content"]["application/json"]["schema"];
                assert_eq!(
                    declared,
                    schema.is_object(),
                    "{} {}",
                    spec.method,
                    spec.path
                );
                if !declared {
                    continue;
                }
                let mut found = Vec::new();
                refs(schema, &mut found);
                assert!(
                    !found.is_empty(),
                    "{} {} names no schema: {schema}",
                    spec.method,
                    spec.path
                );
                named += 1;
            }
            // A route answering JSON on success says what it answers: all
            // but the empty answers (204) and the OAuth page for people.
            let html = spec.path.starts_with("/oauth/");
            assert_eq!(
                spec.answer.is_some(),
                spec.success != 204 && !html,
                "{} {}",
                spec.method,
                spec.path
            );
        }
        assert!(named > 60, "only {named} bodies and answers");
        // Every reference anywhere resolves.
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in all {
            let name = r
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{r} is not a component"));
            assert!(schemas[name].is_object(), "missing schema {name}");
        }
    }

    #[test]
    fn request_bodies_refuse_unknown_fields_as_the_handlers_do() {
        let doc = document();
        for name in ["NewOrder", "NewProduct", "Adjustment", "ShopSettingsPatch"] {
            let s = &doc["components"]["schemas"][name];
            assert_eq!(s["additionalProperties"], false, "{name}: {s}");
        }
        assert_eq!(
            doc["components"]["schemas"]["NewOrder"]["required"],
            serde_json::json!(["channel", "external_id", "currency", "lines"])
        );
    }
}
