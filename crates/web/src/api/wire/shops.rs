//! Connected shops, their settings and their marketplace call log on the
//! wire.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storesync_domain::ids::{OrgId, ShopId};
use storesync_domain::{Marketplace, Timestamp};
use storesync_store::shops as store;

/// Connection status of a shop.
#[derive(Debug, JsonSchema, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopStatus {
    Active,
    /// The marketplace refused our tokens: the seller must connect again.
    NeedsReauth,
    /// Paused by the seller: no jobs run for it.
    Paused,
    Error,
    Disconnected,
}

impl From<store::ShopStatus> for ShopStatus {
    fn from(s: store::ShopStatus) -> Self {
        match s {
            store::ShopStatus::Active => ShopStatus::Active,
            store::ShopStatus::NeedsReauth => ShopStatus::NeedsReauth,
            store::ShopStatus::Paused => ShopStatus::Paused,
            store::ShopStatus::Error => ShopStatus::Error,
            store::ShopStatus::Disconnected => ShopStatus::Disconnected,
        }
    }
}

/// How much of the available stock a shop shows.
#[derive(Debug, JsonSchema, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShopSettings {
    /// Share of available stock shown, 0–100.
    pub allocation_percent: i64,
    /// Units held back from this shop.
    pub buffer: i64,
    /// Never show more than this.
    pub cap: Option<i64>,
    /// Compute and record pushes without sending them.
    pub dry_run: bool,
}

impl From<store::ShopSettings> for ShopSettings {
    fn from(s: store::ShopSettings) -> Self {
        ShopSettings {
            allocation_percent: s.allocation_percent,
            buffer: s.buffer,
            cap: s.cap,
            dry_run: s.dry_run,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Shop {
    pub id: ShopId,
    pub org_id: OrgId,
    pub marketplace: Marketplace,
    pub external_shop_id: String,
    /// Marketplace-specific shop handle sent with API calls (TikTok's cipher).
    pub cipher: Option<String>,
    pub name: String,
    pub region: Option<String>,
    pub status: ShopStatus,
    pub access_expires_at: Option<Timestamp>,
    pub refresh_expires_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub settings: ShopSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<store::Shop> for Shop {
    fn from(s: store::Shop) -> Self {
        Shop {
            id: s.id,
            org_id: s.org_id,
            marketplace: s.marketplace,
            external_shop_id: s.external_shop_id,
            cipher: s.cipher,
            name: s.name,
            region: s.region,
            status: s.status.into(),
            access_expires_at: s.access_expires_at,
            refresh_expires_at: s.refresh_expires_at,
            last_error: s.last_error,
            settings: s.settings.into(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A shop as the list shows it, with what needs the seller's attention.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct ShopView {
    #[serde(flatten)]
    pub shop: Shop,
    /// The marketplace authorization ends within 7 days: reconnect soon.
    pub authorization_ends_soon: bool,
}

impl From<storesync_engine::app::shops::ShopOverview> for ShopView {
    fn from(o: storesync_engine::app::shops::ShopOverview) -> Self {
        ShopView {
            shop: o.shop.into(),
            authorization_ends_soon: o.authorization_ends_soon,
        }
    }
}

/// Body of `PUT /shops/{id}/settings`: a partial change of the settings.
#[derive(Debug, JsonSchema, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettingsPatch {
    /// Share of available stock shown.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub allocation_percent: Option<i64>,
    /// Units held back from this shop.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub buffer: Option<i64>,
    /// `null` removes the cap; absent leaves it.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<i64>")]
    pub cap: Option<Option<i64>>,
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// A field that is present (even as `null`) is `Some`; absent is `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl From<ShopSettingsPatch> for store::ShopSettingsPatch {
    fn from(p: ShopSettingsPatch) -> Self {
        store::ShopSettingsPatch {
            allocation_percent: p.allocation_percent,
            buffer: p.buffer,
            cap: p.cap,
            dry_run: p.dry_run,
        }
    }
}

/// Where to send the seller to connect a shop.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct ConnectStart {
    /// Send the seller here; the marketplace returns them to our callback.
    pub authorize_url: String,
    pub expires_at: Timestamp,
}

/// One marketplace API call made for a shop.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct ApiCall {
    pub id: String,
    pub shop_id: ShopId,
    pub operation: String,
    /// `ok`, `rate_limited`, `transient`, `token_expired`, `unauthorized`,
    /// `invalid`, `signature`, `protocol`, …
    pub outcome: String,
    /// The marketplace's error code, when it gave one.
    pub code: Option<String>,
    pub duration_ms: i64,
    /// Time the client held the call back to stay within the rate.
    pub pacing_wait_ms: i64,
    pub at: Timestamp,
}

impl From<storesync_store::webhooks::ApiCall> for ApiCall {
    fn from(c: storesync_store::webhooks::ApiCall) -> Self {
        ApiCall {
            id: c.id,
            shop_id: c.shop_id,
            operation: c.operation,
            outcome: c.outcome,
            code: c.code,
            duration_ms: c.duration_ms,
            pacing_wait_ms: c.pacing_wait_ms,
            at: c.at,
        }
    }
}
