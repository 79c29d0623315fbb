//! Push verification: a genuine push verifies and parses into an event
//! about its order; one changed after signing, re-serialized, signed over
//! other bytes or with another secret, or unsigned is rejected.

use axum::http::HeaderMap;
use serde_json::json;
use storesync_channels::{
    Channel, ChannelError, ExtOrderId, HttpSettings, WebhookEventKind, WebhookRequest,
};

use crate::harness::{Env, Harness, Hooks};

/// The header every marketplace carries its push signature in.
const SIGNATURE: &str = "authorization";

fn assert_rejected(result: Result<(), ChannelError>, what: &str) {
    assert!(
        matches!(result, Err(ChannelError::WebhookRejected { .. })),
        "{what}: {result:?}"
    );
}

pub async fn genuine_pushes_verify_and_tampered_wrongly_signed_or_unsigned_ones_are_rejected<
    H: Harness,
>() {
    let env = Env::<H>::start().await;
    let mut hooks = Hooks::start(H::PUSH_PATH).await;
    env.sb().set_push_url(Some(hooks.url.clone()));
    let (view, _, _) = env.shop(json!({"name": "Pens", "products": [
        {"name": "Pen", "item_sku": "PEN-1", "price": "1.50", "stock": 5}]}));
    let order = env.place(view.shop_id, json!({"lines": [{"seller_sku": "PEN-1"}]}));
    let id = order.order_id.clone();
    let (headers, body) = hooks
        .wait_for("new order", |v| H::is_order_push(v, &id))
        .await;
    let url = hooks.url.as_str();
    let verify = |client: &H::Client, headers: &HeaderMap, body: &[u8]| {
        client.verify_webhook(&WebhookRequest { url, headers, body })
    };

    verify(&env.client, &headers, &body).unwrap();
    assert_eq!(
        headers[SIGNATURE].to_str().unwrap(),
        H::doc_push_signature(H::SECRET, url, &body),
        "signed as the docs say"
    );
    let events = env.client.parse_webhook(&body).unwrap();
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            WebhookEventKind::OrderStatusChanged { order_id, .. } if *order_id == ExtOrderId::new(id.as_str()))),
        "{events:?}"
    );

    // The same push about another order.
    let tampered = String::from_utf8(body.to_vec())
        .unwrap()
        .replace(id.as_str(), &format!("{id}0"));
    assert_ne!(tampered.as_bytes(), &body[..]);
    assert_rejected(
        verify(&env.client, &headers, tampered.as_bytes()),
        "changed after signing",
    );

    let mut reserialized =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body).unwrap())
            .unwrap();
    reserialized.push(b'\n');
    assert_rejected(
        verify(&env.client, &headers, &reserialized),
        "the signature covers the raw bytes",
    );

    let mut other_bytes = headers.clone();
    other_bytes.insert(
        SIGNATURE,
        H::doc_push_signature(H::SECRET, url, tampered.as_bytes())
            .parse()
            .unwrap(),
    );
    assert_rejected(
        verify(&env.client, &other_bytes, &body),
        "signed over other bytes",
    );
    let mut other_secret = headers.clone();
    other_secret.insert(
        SIGNATURE,
        H::doc_push_signature("another-secret", url, &body)
            .parse()
            .unwrap(),
    );
    assert_rejected(
        verify(&env.client, &other_secret, &body),
        "signed with another secret",
    );
    let mut unsigned = headers.clone();
    unsigned.remove(SIGNATURE);
    assert_rejected(verify(&env.client, &unsigned, &body), "unsigned");

    // A client with another secret rejects the sandbox's genuine push.
    let other = env.other_client("another-secret", env.clock.clone(), HttpSettings::default());
    assert_rejected(verify(&other, &headers, &body), "another client's secret");

    // A body that is not JSON does not parse.
    let err = env.client.parse_webhook(b"not json").unwrap_err();
    assert!(
        matches!(err, ChannelError::WebhookRejected { .. }),
        "{err:?}"
    );
}
