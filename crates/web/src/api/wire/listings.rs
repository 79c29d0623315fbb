//! Channel listings, their mapping, catalog imports and the explanation of
//! a listing's number on the wire.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use storesync_domain::ids::{ShopId, VariantId};
use storesync_domain::{Money, Sku, Timestamp};
use storesync_store::jobs::JobId;
use storesync_store::listings::{self as store, ListingRowId};
use storesync_store::propagation::{PushItem, PushRecord};

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Listing {
    pub id: ListingRowId,
    pub shop_id: ShopId,
    pub external_listing_id: String,
    pub external_variant_id: String,
    pub seller_sku: String,
    pub title: String,
    pub status: String,
    pub variant_id: Option<VariantId>,
    pub sku: Option<String>,
    pub warehouse_id: Option<String>,
    pub channel_stock: i64,
    pub channel_reserved: Option<i64>,
    pub price: Option<Money>,
    pub last_pushed_qty: Option<i64>,
    pub last_pushed_at: Option<Timestamp>,
    pub last_push_result: Option<String>,
    pub last_seen_at: Timestamp,
}

impl From<store::Listing> for Listing {
    fn from(l: store::Listing) -> Self {
        Listing {
            id: l.id,
            shop_id: l.shop_id,
            external_listing_id: l.external_listing_id,
            external_variant_id: l.external_variant_id,
            seller_sku: l.seller_sku,
            title: l.title,
            status: l.status,
            variant_id: l.variant_id,
            sku: l.sku,
            warehouse_id: l.warehouse_id,
            channel_stock: l.channel_stock,
            channel_reserved: l.channel_reserved,
            price: l.price,
            last_pushed_qty: l.last_pushed_qty,
            last_pushed_at: l.last_pushed_at,
            last_push_result: l.last_push_result,
            last_seen_at: l.last_seen_at,
        }
    }
}

/// Body of `PUT /listings/{id}/mapping`.
#[derive(Debug, JsonSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The master SKU this listing sells; `null` unmaps it.
    pub sku: Option<Sku>,
}

/// Where the starting stock comes from when a shop is imported.
#[derive(Debug, JsonSchema, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SeedFrom {
    /// A SKU with no stock history takes the channel's count as its on-hand.
    #[default]
    Channel,
    /// The master inventory is the truth; the channel will be overwritten.
    Master,
}

/// Body of `POST /shops/{id}/import`.
#[derive(Debug, JsonSchema, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    /// Create a master product for a channel SKU the catalog does not have.
    #[serde(default = "yes")]
    pub create_missing: bool,
    #[serde(default)]
    pub seed_from: SeedFrom,
}

fn yes() -> bool {
    true
}

impl From<ImportOptions> for store::ImportOptions {
    fn from(o: ImportOptions) -> Self {
        store::ImportOptions {
            create_missing: o.create_missing,
            seed_from: match o.seed_from {
                SeedFrom::Channel => store::SeedFrom::Channel,
                SeedFrom::Master => store::SeedFrom::Master,
            },
        }
    }
}

/// The answer to an import request.
#[derive(Debug, JsonSchema, Serialize)]
pub struct ImportQueued {
    pub job_id: Option<JobId>,
    /// False when an import of this shop was already queued or running.
    pub queued: bool,
}

/// One listing's next push, as planned now.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct PlannedPush {
    pub listing_id: ListingRowId,
    pub external_listing_id: String,
    pub external_variant_id: String,
    pub warehouse_id: Option<String>,
    /// What the channel should show.
    pub target: i64,
    /// Sellable stock in our ledger (on hand − reserved, all locations).
    pub available: i64,
    /// The marketplace's own promotion hold, below which it refuses updates.
    pub floor: Option<i64>,
    pub last_pushed: Option<i64>,
    /// A sale may have been overwritten by our last push.
    pub uncertain: bool,
    /// What the channel is believed to show now.
    pub shown: i64,
    /// Our count of the listing's own stock when planned.
    pub channel_stock: i64,
    pub variant_id: VariantId,
    /// What all listings of the variant together are believed to show.
    pub shown_total: i64,
    /// Why the number is what it is.
    pub why: String,
    /// The target is this channel's share of the last units.
    pub split: bool,
    /// At or below this many available units the variant is split.
    pub threshold: i64,
    /// Units a second this listing sold lately.
    pub units_per_sec: f64,
    /// How long this listing's shop takes from a push's plan to the
    /// marketplace's answer, lately.
    pub push_latency_ms: i64,
}

impl From<PushItem> for PlannedPush {
    fn from(p: PushItem) -> Self {
        PlannedPush {
            listing_id: p.listing_id,
            external_listing_id: p.external_listing_id,
            external_variant_id: p.external_variant_id,
            warehouse_id: p.warehouse_id,
            target: p.target,
            available: p.available,
            floor: p.floor,
            last_pushed: p.last_pushed,
            uncertain: p.uncertain,
            shown: p.shown,
            channel_stock: p.channel_stock,
            variant_id: p.variant_id,
            shown_total: p.shown_total,
            why: p.why,
            split: p.split,
            threshold: p.threshold,
            units_per_sec: p.units_per_sec,
            push_latency_ms: p.push_latency_ms,
        }
    }
}

/// One push decision in a listing's history.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct PushDecision {
    /// What was sent (none when nothing was: refused, dry run, drift noted).
    pub quantity: Option<i64>,
    pub result: String,
    pub at: Timestamp,
}

impl From<PushRecord> for PushDecision {
    fn from(r: PushRecord) -> Self {
        PushDecision {
            quantity: r.quantity,
            result: r.result,
            at: r.at,
        }
    }
}

/// The answer of `GET /listings/{id}/explain`: why a listing shows its
/// number.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Explanation {
    /// Recent push decisions, newest first.
    pub history: Vec<PushDecision>,
    pub listing: Listing,
    /// The push the propagator would make now; absent when the listing is
    /// not pushed (unmapped, or its shop is not active).
    pub next: Option<PlannedPush>,
    /// The last push, as recorded on the listing.
    pub last_push: LastPush,
}

/// The last push recorded on a listing.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct LastPush {
    pub quantity: Option<i64>,
    pub at: Option<Timestamp>,
    pub result: Option<String>,
}
