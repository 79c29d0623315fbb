//! Webhook replay window: a correctly signed push whose own timestamp is
//! too old (or too far ahead) is refused and stores nothing, per
//! marketplace; de-duplication keys outlive every window.

use std::sync::Arc;

use storesync_channels::lazada::{LazadaClient, LazadaConfig, Venture};
use storesync_channels::shopee::{ShopeeClient, ShopeeConfig};
use storesync_channels::tiktok::{TikTokClient, TikTokConfig};
use storesync_channels::Secret;
use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, SystemClock};
use storesync_engine::connect::ChannelRegistry;
use storesync_engine::intake::WEBHOOK_KEY_RETENTION_MS;
use storesync_store::backend_test;
use storesync_store::testing::query_texts;
use storesync_web::{App, AppState, WebConfig};

use super::*;

const SHOPEE_KEY: &str = "test_partner_key_0001";
const TIKTOK_KEY: &str = "29a39d";
const TIKTOK_SECRET: &str = "e59af819cc";
const LAZADA_KEY: &str = "123456";
const LAZADA_SECRET: &str = "3412gyo124goi3124";

/// A 2017 push time, in seconds.
const IN_2017: i64 = 1_500_000_000;

fn registry() -> ChannelRegistry {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    ChannelRegistry::new()
        .with(Arc::new(
            ShopeeClient::new(
                ShopeeConfig::new(2001887, Secret::new(SHOPEE_KEY.to_owned())),
                clock.clone(),
            )
            .unwrap(),
        ))
        .with(Arc::new(
            TikTokClient::new(
                TikTokConfig::new(
                    TIKTOK_KEY,
                    Secret::new(TIKTOK_SECRET.to_owned()),
                    "7000000000000000001",
                ),
                clock.clone(),
            )
            .unwrap(),
        ))
        .with(Arc::new(
            LazadaClient::new(
                LazadaConfig::new(
                    LAZADA_KEY,
                    Secret::new(LAZADA_SECRET.to_owned()),
                    Venture::Sg,
                ),
                clock,
            )
            .unwrap(),
        ))
}

/// A signed push of `marketplace` sent at `secs` (Unix seconds): the path,
/// the body and its signature header.
fn push(base: &str, marketplace: &str, secs: i64, n: u32) -> (String, String, String) {
    match marketplace {
        "shopee" => {
            let url = format!("{base}/webhooks/shopee");
            let body = format!(
                r#"{{"shop_id":727720655,"code":3,"timestamp":{secs},"data":{{"ordersn":"220810QSK8S{n:03}","status":"PROCESSED","completed_scenario":"","update_time":{secs},"items":[]}}}}"#
            );
            let sig =
                storesync_channels::shopee::sign::push_signature(SHOPEE_KEY, &url, body.as_bytes());
            (url, body, sig)
        }
        "tiktok_shop" => {
            let body = format!(
                r#"{{"type":1,"tts_notification_id":"73271123930{n:03}","shop_id":"7494049642642441621","timestamp":{secs},"data":{{"order_id":"576486316948490{n:03}","order_status":"UNPAID","is_on_hold_order":false,"update_time":{secs}}}}}"#
            );
            let sig = storesync_channels::tiktok::sign::webhook_signature(
                TIKTOK_KEY,
                TIKTOK_SECRET,
                body.as_bytes(),
            );
            (format!("{base}/webhooks/tiktok_shop"), body, sig)
        }
        _ => {
            // Lazada's order pushes carry milliseconds.
            let ms = secs * 1000 + 530;
            let body = format!(
                r#"{{"seller_id":"1234567","message_type":0,"data":{{"order_status":"pending","trade_order_id":"260422900198{n:03}","trade_order_line_id":"260422900298{n:03}","status_update_time":{secs}}},"timestamp":{ms},"site":"lazada_sg"}}"#
            );
            let sig = storesync_channels::lazada::sign::push_signature(
                LAZADA_KEY,
                LAZADA_SECRET,
                body.as_bytes(),
            );
            (format!("{base}/webhooks/lazada"), body, sig)
        }
    }
}

async fn send(
    http: &reqwest::Client,
    (url, body, sig): &(String, String, String),
) -> (StatusCode, Value) {
    let r = http
        .post(url)
        .header("authorization", sig)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn inbox_len(store: &Store) -> usize {
    query_texts(store, "SELECT id FROM webhook_inbox")
        .await
        .len()
}

backend_test! {
    async fn stale_pushes_are_refused_per_marketplace(store) {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let channels = Arc::new(registry());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = App::from_listener(listener, AppState::new(store.clone(), WebConfig::default()).with_channels(channels.clone(), &base));
        let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move { rx.await.ok(); }));
        let http = reqwest::Client::new();

        for (i, marketplace) in ["shopee", "tiktok_shop", "lazada"].into_iter().enumerate() {
            let i = i as u32 * 10;
            let window = channels.get(marketplace.parse().unwrap()).unwrap().capabilities().webhooks.replay_window_ms;
            assert!(window >= 12 * 3_600_000, "{marketplace}: longer than the retries");
            assert!(WEBHOOK_KEY_RETENTION_MS >= window, "{marketplace}: keys outlive the window");
            let now_secs = clock.now().millis() / 1000;

            // A correctly signed push from 2017 is refused and stores nothing.
            let before = inbox_len(&store).await;
            let (status, body) = send(&http, &push(&base, marketplace, IN_2017, i)).await;
            assert_eq!((status, body["error"]["code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("stale_webhook")), "{marketplace}: {body}");
            // So is one from an hour ahead.
            let (status, _) = send(&http, &push(&base, marketplace, now_secs + 3600, i + 1)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{marketplace}");
            assert_eq!(inbox_len(&store).await, before, "{marketplace}");

            // A fresh one is accepted.
            let fresh = push(&base, marketplace, now_secs, i + 2);
            let (status, body) = send(&http, &fresh).await;
            assert_eq!((status, body), (StatusCode::OK, json!({ "received": true, "duplicate": false })), "{marketplace}");
            assert_eq!(inbox_len(&store).await, before + 1);

            // Processed and pruned as the housekeeping does, its key is still
            // there at the window's last minute: a replay is a duplicate.
            for id in query_texts(&store, "SELECT id FROM webhook_inbox").await {
                store.mark_webhook_processed(id.unwrap().parse().unwrap()).await.unwrap();
            }
            clock.advance_millis(window - 60_000);
            store.prune_webhooks(WEBHOOK_KEY_RETENTION_MS).await.unwrap();
            let (status, body) = send(&http, &fresh).await;
            assert_eq!((status, body["duplicate"].clone()), (StatusCode::OK, json!(true)), "{marketplace}");
            // Past the window it is refused, so a forgotten key never matters.
            clock.advance_millis(120_000);
            let (status, _) = send(&http, &fresh).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{marketplace}");
        }
    }
}
