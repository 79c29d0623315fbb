//! `POST /webhooks/{marketplace}`: verify the marketplace's signature over
//! the raw body, store the delivery in the inbox, answer at once. Work
//! happens later in a job, so the marketplace's short answer budget (TikTok
//! 3 s, Lazada 500 ms) is never at risk. A push whose own timestamp is
//! outside the marketplace's replay window is refused with 422
//! (`stale_webhook`) and stored nothing: a captured push cannot be replayed
//! later. A 4xx rather than a 2xx "accepted and dropped", so a prober or a
//! marketplace with a wrong clock sees the refusal; the marketplaces retry
//! it a bounded number of times, each retry refused the same way, and
//! polling covers whatever the push was about.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use storesync_channels::{replay, WebhookRequest};
use storesync_crypto::hash_token;
use storesync_domain::Marketplace;

use super::wire::WebhookReceipt;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub async fn receive(
    State(s): State<AppState>,
    Path(marketplace): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<WebhookReceipt>)> {
    let marketplace: Marketplace = marketplace
        .parse()
        .map_err(|_| ApiError::NotFound("marketplace"))?;
    let channel = s
        .channels
        .get(marketplace)
        .ok_or(ApiError::NotFound("marketplace"))?;
    // The URL the marketplace was told to call, exactly (Shopee signs it).
    let mut url = format!("{}/webhooks/{marketplace}", s.public_url);
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    let request = WebhookRequest {
        url: &url,
        headers: &headers,
        body: &body,
    };
    if let Err(e) = channel.verify_webhook(&request) {
        tracing::warn!(%marketplace, error = %e, "webhook refused");
        delivered(marketplace, "bad_signature");
        return Err(ApiError::WebhookSignature);
    }
    // After the signature, so the timestamp read is the marketplace's own.
    let sent = channel
        .webhook_sent_at(&body)
        .map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let window = channel.capabilities().webhooks.replay_window_ms;
    if !replay::within_window(sent, s.store.now(), window) {
        tracing::warn!(%marketplace, sent = %sent.to_rfc3339(), "stale webhook refused");
        delivered(marketplace, "stale");
        return Err(ApiError::StaleWebhook);
    }
    let payload = std::str::from_utf8(&body)
        .map_err(|_| ApiError::MalformedJson("body is not UTF-8".into()))?;
    // A retry of the same delivery carries the same bytes.
    let key = hash_token(payload);
    // The shop it names lets a push of another shop go ahead meanwhile; an
    // unreadable body is still stored (its processing reports it).
    let shop_key = channel
        .parse_webhook(&body)
        .ok()
        .and_then(|events| events.into_iter().find_map(|e| e.shop_id))
        .map(|id| id.as_str().to_owned());
    let stored = s
        .store
        .record_webhook(marketplace, &key, payload, shop_key.as_deref())
        .await?;
    if stored.is_some() {
        s.intake_waker.notify_one();
    }
    delivered(
        marketplace,
        if stored.is_some() {
            "accepted"
        } else {
            "duplicate"
        },
    );
    Ok((
        StatusCode::OK,
        Json(WebhookReceipt {
            received: true,
            duplicate: stored.is_none(),
        }),
    ))
}

/// Count a delivery by what became of it.
fn delivered(marketplace: Marketplace, outcome: &'static str) {
    metrics::counter!("storesync_webhook_deliveries_total",
        "marketplace" => marketplace.as_str(), "outcome" => outcome)
    .increment(1);
}
