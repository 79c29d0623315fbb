//! The OpenAPI 3.1 document, generated from the route table plus the
//! request-body schemas below.

use serde_json::{json, Map, Value};
use storesync_domain::Marketplace;

use crate::routes::{api_routes, Access};

fn money() -> Value {
    json!({ "type": "object", "required": ["amount", "currency"], "additionalProperties": false,
            "properties": { "amount": { "type": "integer", "description": "minor units" },
                            "currency": { "type": "string", "example": "IDR" } } })
}

fn schemas() -> Value {
    let money_ref = json!({ "$ref": "#/components/schemas/Money" });
    let variant = json!({ "type": "object", "required": ["sku", "price"], "additionalProperties": false,
        "properties": {
            "sku": { "type": "string", "maxLength": 64 }, "name": { "type": "string" },
            "price": money_ref, "barcode": { "type": "string" }, "weight_grams": { "type": "integer", "minimum": 0 },
            "allow_backorder": { "type": "boolean" }, "low_stock_threshold": { "type": "integer", "minimum": 0 },
            "components": { "type": "array", "description": "makes the variant a bundle",
                "items": { "type": "object", "required": ["sku", "quantity"], "additionalProperties": false,
                    "properties": { "sku": { "type": "string" }, "quantity": { "type": "integer", "minimum": 1 } } } } } });
    let s = |props: Value, required: &[&str]| json!({ "type": "object", "additionalProperties": false, "required": required, "properties": props });
    json!({
        "Money": money(),
        "NewVariant": variant,
        "Error": { "type": "object", "required": ["error"], "properties": { "error": {
            "type": "object", "required": ["code", "message"],
            "properties": { "code": { "type": "string" }, "message": { "type": "string" }, "details": { "type": "object" } } } } },
        "LoginRequest": s(json!({ "email": { "type": "string" }, "password": { "type": "string" }, "org": { "type": "string", "description": "organization slug" } }), &["email", "password"]),
        "PasswordChange": s(json!({ "current_password": { "type": "string" }, "new_password": { "type": "string", "minLength": 10 } }), &["current_password", "new_password"]),
        "NewProduct": s(json!({ "name": { "type": "string" }, "description": { "type": "string" },
            "variants": { "type": "array", "minItems": 1, "items": { "$ref": "#/components/schemas/NewVariant" } } }), &["name", "variants"]),
        "ProductPatch": s(json!({ "name": { "type": "string" }, "description": { "type": "string" },
            "variants": { "type": "array", "items": { "type": "object", "required": ["sku"], "properties": {
                "sku": { "type": "string" }, "name": { "type": "string" }, "price": { "$ref": "#/components/schemas/Money" },
                "barcode": { "type": "string" }, "weight_grams": { "type": "integer" }, "allow_backorder": { "type": "boolean" },
                "low_stock_threshold": { "type": "integer" } } } },
            "add_variants": { "type": "array", "items": { "$ref": "#/components/schemas/NewVariant" } } }), &[]),
        "NewLocation": s(json!({ "code": { "type": "string" }, "name": { "type": "string" } }), &["code", "name"]),
        "Adjustment": s(json!({ "sku": { "type": "string" }, "location": { "type": "string", "description": "code or id; default location if absent" },
            "delta": { "type": "integer", "description": "exactly one of delta and set" }, "set": { "type": "integer", "minimum": 0 },
            "reason": { "type": "string" }, "idempotency_key": { "type": "string" } }), &["sku", "reason"]),
        "Transfer": s(json!({ "sku": { "type": "string" }, "from": { "type": "string" }, "to": { "type": "string" },
            "quantity": { "type": "integer", "minimum": 1 }, "reason": { "type": "string" }, "idempotency_key": { "type": "string" } }), &["sku", "from", "to", "quantity"]),
        "NewOrder": s(json!({ "channel": { "type": "string", "enum": ["manual"] }, "external_id": { "type": "string" },
            "currency": { "type": "string" }, "status": { "type": "string", "enum": ["pending", "ready_to_ship"] },
            "lines": { "type": "array", "minItems": 1, "items": { "type": "object", "additionalProperties": false, "required": ["sku", "quantity", "unit_price"],
                "properties": { "sku": { "type": "string" }, "quantity": { "type": "integer", "minimum": 1 }, "unit_price": { "$ref": "#/components/schemas/Money" } } } },
            "customer": { "type": "object", "properties": { "name": { "type": "string" }, "email": { "type": "string" }, "phone": { "type": "string" }, "address": { "type": "string" } } },
            "shipping_fee": { "$ref": "#/components/schemas/Money" }, "discount": { "$ref": "#/components/schemas/Money" },
            "total": { "$ref": "#/components/schemas/Money" }, "placed_at": { "type": "string", "format": "date-time" }, "note": { "type": "string" } }),
            &["channel", "external_id", "currency", "lines"]),
        "Ship": s(json!({ "carrier": { "type": "string" }, "tracking_number": { "type": "string" } }), &["carrier", "tracking_number"]),
        "Cancel": s(json!({ "reason": { "type": "string" } }), &["reason"]),
        "Return": s(json!({ "restock": { "type": "boolean", "default": true } }), &[]),
        "StatusChange": s(json!({ "status": { "type": "string", "enum": ["ready_to_ship", "delivered", "completed"] } }), &["status"]),
        "NewInvitation": s(json!({ "email": { "type": "string" }, "role": { "type": "string", "enum": ["owner", "admin", "member", "viewer"], "description": "only owners invite owners" } }), &["email", "role"]),
        "MemberChange": s(json!({ "role": { "type": "string", "enum": ["owner", "admin", "member", "viewer"] } }), &["role"]),
        "ResetRequest": s(json!({ "email": { "type": "string" } }), &["email"]),
        "SignupRequest": s(json!({ "email": { "type": "string" }, "org_slug": { "type": "string", "description": "a-z, 0-9 and '-'" }, "org_name": { "type": "string" } }), &["email", "org_slug", "org_name"]),
        "NewToken": s(json!({ "name": { "type": "string" } }), &["name"]),
        "ImportOptions": s(json!({ "create_missing": { "type": "boolean", "default": true },
            "seed_from": { "type": "string", "enum": ["channel", "master"], "default": "channel" } }), &[]),
        "ShopSettings": s(json!({ "allocation_percent": { "type": "integer", "minimum": 0, "maximum": 100 },
            "buffer": { "type": "integer", "minimum": 0 }, "cap": { "type": ["integer", "null"], "minimum": 0 },
            "dry_run": { "type": "boolean" } }), &[]),
        "Mapping": s(json!({ "sku": { "type": ["string", "null"] } }), &["sku"]),
        "WebhookPush": { "type": "object", "description": "the marketplace's push exactly as it sends it; the signature covers the raw bytes" },
    })
}

/// Build the document.
pub fn document() -> Value {
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
        let error = json!({ "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
        let mut op = json!({
            "summary": spec.summary,
            "parameters": params,
            "responses": { spec.success.to_string(): { "description": "success" }, "4XX": error },
        });
        match spec.access {
            Access::Public => op["security"] = json!([]),
            Access::Signature => {
                op["security"] = json!([]);
                op["x-authentication"] = json!("the marketplace's signature over the raw body");
            }
            Access::Role(role) => op["x-required-role"] = json!(role.as_str()),
        }
        if let Some(schema) = spec.body {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": {
                "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
        }
        let entry = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[spec.method.as_str().to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "StoreSync API", "version": "1",
                  "description": "Errors are {\"error\":{\"code\",\"message\",\"details\"?}}. Authenticate with `Authorization: Bearer <token>` or the session cookie (plus `X-CSRF-Token` on changes)." },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
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
    #[test]
    fn every_body_schema_exists() {
        let doc = super::document();
        for (spec, _) in super::api_routes() {
            if let Some(b) = spec.body {
                assert!(
                    doc["components"]["schemas"][b].is_object(),
                    "missing schema {b}"
                );
            }
        }
    }
}
