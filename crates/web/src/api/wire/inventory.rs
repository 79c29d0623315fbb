//! Stock levels, adjustments, transfers and the movement ledger on the
//! wire. The request bodies are next to their handlers (`api::inventory`),
//! as they are read field by field into the store's requests.

use schemars::JsonSchema;
use serde::Serialize;
use storesync_domain::ids::{LocationId, MovementId, VariantId};
use storesync_domain::{Sku, Timestamp};
use storesync_store as store;

use super::all;

/// Stock of one SKU at one location.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct LevelRow {
    pub location_id: LocationId,
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

impl From<store::LevelRow> for LevelRow {
    fn from(l: store::LevelRow) -> Self {
        LevelRow {
            location_id: l.location_id,
            location: l.location,
            on_hand: l.on_hand,
            reserved: l.reserved,
            available: l.available,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct AdjustResult {
    pub sku: Sku,
    /// Absent when the adjustment changed nothing (e.g. set to the current count).
    pub movement_id: Option<MovementId>,
    pub on_hand_before: i64,
    pub level: LevelRow,
    /// True when this answer is the stored result of an earlier identical call.
    pub replayed: bool,
}

impl From<store::AdjustResult> for AdjustResult {
    fn from(r: store::AdjustResult) -> Self {
        AdjustResult {
            sku: r.sku,
            movement_id: r.movement_id,
            on_hand_before: r.on_hand_before,
            level: r.level.into(),
            replayed: r.replayed,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct TransferResult {
    pub sku: Sku,
    pub quantity: i64,
    pub from: LevelRow,
    pub to: LevelRow,
    /// True when this answer is the stored result of an earlier identical call.
    pub replayed: bool,
}

impl From<store::TransferResult> for TransferResult {
    fn from(r: store::TransferResult) -> Self {
        TransferResult {
            sku: r.sku,
            quantity: r.quantity,
            from: r.from.into(),
            to: r.to.into(),
            replayed: r.replayed,
        }
    }
}

#[derive(Debug, JsonSchema, Clone, Copy, Serialize)]
pub struct StockTotals {
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct SkuInventory {
    pub sku: Sku,
    pub variant_id: VariantId,
    pub is_bundle: bool,
    pub allow_backorder: bool,
    /// Per location (empty for a bundle, whose stock lives in its components).
    pub locations: Vec<LevelRow>,
    pub totals: StockTotals,
}

impl From<store::SkuInventory> for SkuInventory {
    fn from(i: store::SkuInventory) -> Self {
        SkuInventory {
            sku: i.sku,
            variant_id: i.variant_id,
            is_bundle: i.is_bundle,
            allow_backorder: i.allow_backorder,
            locations: all(i.locations),
            totals: StockTotals {
                on_hand: i.totals.on_hand,
                reserved: i.totals.reserved,
                available: i.totals.available,
            },
        }
    }
}

/// One row of the append-only movement ledger.
#[derive(Debug, JsonSchema, Clone, Serialize)]
pub struct Movement {
    pub id: MovementId,
    pub sku: Sku,
    pub location: String,
    pub kind: String,
    pub quantity: i64,
    pub on_hand_after: i64,
    pub reason: String,
    pub reference_type: Option<String>,
    pub reference_id: Option<String>,
    pub actor: String,
    pub created_at: Timestamp,
}

impl From<store::Movement> for Movement {
    fn from(m: store::Movement) -> Self {
        Movement {
            id: m.id,
            sku: m.sku,
            location: m.location,
            kind: m.kind,
            quantity: m.quantity,
            on_hand_after: m.on_hand_after,
            reason: m.reason,
            reference_type: m.reference_type,
            reference_id: m.reference_id,
            actor: m.actor,
            created_at: m.created_at,
        }
    }
}
