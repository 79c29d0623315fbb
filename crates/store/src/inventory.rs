//! The inventory ledger: levels per (variant, location), the append-only
//! movement ledger that justifies `on_hand`, and the reservations that
//! justify `reserved`.
//!
//! Every change writes the level and its ledger row in one transaction, and
//! every decrease is a conditional `UPDATE … WHERE on_hand - reserved >= n`:
//! there is no separate check step that a concurrent writer could slip past.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use storesync_domain::ids::{LocationId, MovementId, OrgId, VariantId};
use storesync_domain::inventory::{bundle_available, MovementKind, StockLevel};
use storesync_domain::limits::{self, check_range, Delta, Quantity, MAX_STOCK};
use storesync_domain::{check_text, Sku, Timestamp, ValidationError};

use crate::audit::{self, Actor, Audit};
use crate::catalog::{variant_by_sku, Location, Variant};
use crate::db::Tx;
use crate::idempotency::{self, Claim};
use crate::page::{Page, PageRequest};
use crate::row::RowExt;
use crate::{Result, Shortage, Store, StoreError};

/// How an adjustment changes on-hand stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockChange {
    /// Add (or with a negative number, remove) units.
    Delta(i64),
    /// Set on-hand to an absolute count (a stock take).
    Set(i64),
}

#[derive(Debug, Clone, Serialize)]
pub struct AdjustRequest {
    pub sku: Sku,
    /// Location code or id; the default location when absent.
    pub location: Option<String>,
    pub change: StockChange,
    pub reason: String,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LevelRow {
    pub location_id: LocationId,
    pub location: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdjustResult {
    pub sku: Sku,
    /// Absent when the adjustment changed nothing (e.g. set to the current count).
    pub movement_id: Option<MovementId>,
    pub on_hand_before: i64,
    pub level: LevelRow,
    /// True when this answer is the stored result of an earlier identical call.
    #[serde(default)]
    pub replayed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransferRequest {
    pub sku: Sku,
    pub from: String,
    pub to: String,
    pub quantity: i64,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferResult {
    pub sku: Sku,
    pub quantity: i64,
    pub from: LevelRow,
    pub to: LevelRow,
    #[serde(default)]
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct SkuInventory {
    pub sku: Sku,
    pub variant_id: VariantId,
    pub is_bundle: bool,
    pub allow_backorder: bool,
    /// Per location (empty for a bundle, whose stock lives in its components).
    pub locations: Vec<LevelRow>,
    pub totals: StockTotals,
}

#[derive(Debug, Clone, Copy)]
pub struct StockTotals {
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

#[derive(Debug, Clone)]
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

/// What a ledger row is about, for [`apply_on_hand`].
pub(crate) struct LedgerEntry<'a> {
    pub kind: MovementKind,
    pub reason: &'a str,
    pub reference: Option<(&'a str, String)>,
    pub actor: &'a Actor,
}

fn level_from_row(r: &AnyRow) -> Result<LevelRow> {
    let on_hand = r.int("on_hand")?;
    let reserved = r.int("reserved")?;
    Ok(LevelRow {
        location_id: r.parse("location_id")?,
        location: r.text("code")?,
        on_hand,
        reserved,
        available: on_hand.saturating_sub(reserved),
    })
}

pub(crate) async fn resolve_location(
    tx: &mut sqlx::AnyConnection,
    org: OrgId,
    key: Option<&str>,
    field: &str,
) -> Result<Location> {
    let row = match key {
        None => {
            sqlx::query("SELECT * FROM locations WHERE org_id = $1 AND is_default = 1")
                .bind(org.to_string())
                .fetch_optional(&mut *tx)
                .await?
        }
        Some(key) => {
            sqlx::query("SELECT * FROM locations WHERE org_id = $1 AND (code = $2 OR id = $2)")
                .bind(org.to_string())
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
        }
    };
    match row {
        Some(r) => Location::from_row(&r),
        None => Err(ValidationError::field(field, "unknown location").into()),
    }
}

/// Make sure a level row exists so conditional updates have a row to hit.
pub(crate) async fn ensure_level(
    tx: &mut Tx,
    org: OrgId,
    variant: &Variant,
    location: LocationId,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO inventory_levels (org_id, variant_id, location_id, on_hand, reserved, allow_backorder, updated_at) \
         VALUES ($1, $2, $3, 0, 0, $4, $5) ON CONFLICT (org_id, variant_id, location_id) DO NOTHING",
    )
    .bind(org.to_string())
    .bind(variant.id.to_string())
    .bind(location.to_string())
    .bind(i64::from(variant.allow_backorder))
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Read one level inside the transaction, locking it on PostgreSQL.
pub(crate) async fn lock_level(
    store: &Store,
    tx: &mut Tx,
    org: OrgId,
    variant: VariantId,
    location: LocationId,
) -> Result<LevelRow> {
    let sql = format!(
        "SELECT l.location_id AS location_id, c.code AS code, l.on_hand AS on_hand, l.reserved AS reserved \
         FROM inventory_levels l JOIN locations c ON c.org_id = l.org_id AND c.id = l.location_id \
         WHERE l.org_id = $1 AND l.variant_id = $2 AND l.location_id = $3{}",
        store.backend.for_update_of("l")
    );
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(variant.to_string())
        .bind(location.to_string())
        .fetch_one(&mut **tx)
        .await?;
    level_from_row(&row)
}

/// Change on-hand by `delta` and append the ledger row, in the caller's
/// transaction. A decrease that would leave less on hand than reserved is
/// refused by the `WHERE` (unless the level allows backorders), so two
/// writers can never both take the last unit. Returns the new on-hand, or
/// `None` when the stock was not there.
pub(crate) async fn apply_on_hand(
    tx: &mut Tx,
    org: OrgId,
    variant: VariantId,
    location: LocationId,
    delta: i64,
    entry: &LedgerEntry<'_>,
    now: Timestamp,
) -> Result<Option<(MovementId, i64)>> {
    apply_level(tx, org, variant, location, delta, 0, entry, now).await
}

/// Change on-hand by `delta` and reserved by `reserved_delta` in one
/// statement (shipping lowers both at once, leaving available unchanged),
/// appending the ledger row for the on-hand part.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply_level(
    tx: &mut Tx,
    org: OrgId,
    variant: VariantId,
    location: LocationId,
    delta: i64,
    reserved_delta: i64,
    entry: &LedgerEntry<'_>,
    now: Timestamp,
) -> Result<Option<(MovementId, i64)>> {
    let row = sqlx::query(
        "UPDATE inventory_levels SET on_hand = on_hand + $4, reserved = reserved + $6, updated_at = $5 \
         WHERE org_id = $1 AND variant_id = $2 AND location_id = $3 \
         AND (allow_backorder = 1 OR (on_hand + $4) - (reserved + $6) >= 0 OR ($4 >= 0 AND $6 <= 0)) \
         RETURNING on_hand",
    )
    .bind(org.to_string())
    .bind(variant.to_string())
    .bind(location.to_string())
    .bind(delta)
    .bind(now.millis())
    .bind(reserved_delta)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    crate::propagation::mark_dirty(tx, org, variant, now).await?;
    let on_hand_after = row.int("on_hand")?;
    let id = MovementId::new();
    let (ref_type, ref_id) = match &entry.reference {
        Some((t, id)) => (Some((*t).to_owned()), Some(id.clone())),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO stock_movements (org_id, id, variant_id, location_id, kind, quantity, on_hand_after, \
         reason, reference_type, reference_id, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(org.to_string())
    .bind(id.to_string())
    .bind(variant.to_string())
    .bind(location.to_string())
    .bind(entry.kind.as_str())
    .bind(delta)
    .bind(on_hand_after)
    .bind(entry.reason)
    .bind(ref_type)
    .bind(ref_id)
    .bind(entry.actor.label.clone())
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    Ok(Some((id, on_hand_after)))
}

fn validate_reason(errors: &mut ValidationError, reason: &str) {
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        errors.add("reason", "1–500 characters explaining the change");
    } else {
        check_text(errors, "reason", reason);
    }
}

fn validate_key(errors: &mut ValidationError, key: &Option<String>) {
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        errors.add("idempotency_key", "1–200 characters");
    } else if let Some(k) = key {
        check_text(errors, "idempotency_key", k);
    }
}

/// The location code a request names, checked like every stored text.
fn validate_location(errors: &mut ValidationError, field: &str, code: Option<&str>) {
    if let Some(code) = code {
        check_text(errors, field, code);
    }
}

/// The error for a change that would take a level past [`MAX_STOCK`].
fn above_maximum(field: &str) -> StoreError {
    ValidationError::field(
        field,
        format!("would take on-hand stock above the maximum of {MAX_STOCK} units per location"),
    )
    .into()
}

impl Store {
    /// Adjust on-hand stock of one SKU at one location.
    pub async fn adjust_stock(
        &self,
        org: OrgId,
        req: &AdjustRequest,
        actor: &Actor,
    ) -> Result<AdjustResult> {
        let mut errors = ValidationError::new();
        validate_reason(&mut errors, &req.reason);
        validate_key(&mut errors, &req.idempotency_key);
        validate_location(&mut errors, "location", req.location.as_deref());
        // Bounded here so that nothing downstream (sums, pushes) can wrap.
        let bounded = match req.change {
            StockChange::Delta(d) => Delta::new("delta", d).map(|_| ()),
            StockChange::Set(n) => Quantity::new("set", n).map(|_| ()),
        };
        if let Err(e) = bounded {
            errors.0.extend(e.0);
        }
        errors.into_result()?;

        let now = self.now();
        let mut tx = self.begin().await?;
        if let Some(key) = &req.idempotency_key {
            let hash =
                idempotency::request_hash(&(&req.sku, &req.location, &req.change, &req.reason));
            if let Claim::Replay(mut r) = idempotency::claim::<AdjustResult>(
                &mut tx,
                org,
                "inventory.adjust",
                key,
                &hash,
                now,
            )
            .await?
            {
                r.replayed = true;
                return Ok(r);
            }
        }
        let variant = variant_by_sku(&mut tx, org, &req.sku)
            .await
            .map_err(|e| unknown_sku(e, "sku", &req.sku))?;
        if variant.is_bundle {
            return Err(ValidationError::field(
                "sku",
                "a bundle's stock comes from its components; adjust those instead",
            )
            .into());
        }
        let location = resolve_location(&mut tx, org, req.location.as_deref(), "location").await?;
        ensure_level(&mut tx, org, &variant, location.id, now).await?;
        let before = lock_level(self, &mut tx, org, variant.id, location.id).await?;
        let delta = match req.change {
            StockChange::Delta(d) => {
                if limits::on_hand_after(before.on_hand, d).is_none() {
                    return Err(above_maximum("delta"));
                }
                d
            }
            // Both sides are bounded (the level by earlier checks), but a
            // level written before the bounds existed may not be.
            StockChange::Set(n) => n
                .checked_sub(before.on_hand)
                .ok_or_else(|| above_maximum("set"))?,
        };
        let entry = LedgerEntry {
            kind: MovementKind::Adjustment,
            reason: req.reason.trim(),
            reference: None,
            actor,
        };
        let movement_id = if delta == 0 {
            None
        } else {
            match apply_on_hand(&mut tx, org, variant.id, location.id, delta, &entry, now).await? {
                Some((id, _)) => Some(id),
                None => {
                    return Err(StoreError::InsufficientStock(vec![Shortage {
                        sku: req.sku.to_string(),
                        requested: -delta,
                        available: before.available,
                    }]))
                }
            }
        };
        let level = lock_level(self, &mut tx, org, variant.id, location.id).await?;
        let result = AdjustResult {
            sku: req.sku.clone(),
            movement_id,
            on_hand_before: before.on_hand,
            level,
            replayed: false,
        };
        if let Some(key) = &req.idempotency_key {
            idempotency::finish(&mut tx, org, "inventory.adjust", key, &result).await?;
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "inventory.adjust",
                entity_type: "variant",
                entity_id: variant.id.to_string(),
                summary: serde_json::json!({
                    "sku": req.sku, "location": location.code, "change": req.change, "reason": req.reason,
                    "before": { "on_hand": before.on_hand }, "after": { "on_hand": result.level.on_hand },
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(result)
    }

    /// Move on-hand units of one SKU between two locations.
    pub async fn transfer_stock(
        &self,
        org: OrgId,
        req: &TransferRequest,
        actor: &Actor,
    ) -> Result<TransferResult> {
        let mut errors = ValidationError::new();
        check_range(&mut errors, "quantity", req.quantity, 1, MAX_STOCK);
        validate_location(&mut errors, "from", Some(&req.from));
        validate_location(&mut errors, "to", Some(&req.to));
        if let Some(r) = &req.reason {
            validate_reason(&mut errors, r);
        }
        validate_key(&mut errors, &req.idempotency_key);
        errors.into_result()?;

        let now = self.now();
        let mut tx = self.begin().await?;
        if let Some(key) = &req.idempotency_key {
            let hash = idempotency::request_hash(req);
            if let Claim::Replay(mut r) = idempotency::claim::<TransferResult>(
                &mut tx,
                org,
                "inventory.transfer",
                key,
                &hash,
                now,
            )
            .await?
            {
                r.replayed = true;
                return Ok(r);
            }
        }
        let variant = variant_by_sku(&mut tx, org, &req.sku)
            .await
            .map_err(|e| unknown_sku(e, "sku", &req.sku))?;
        if variant.is_bundle {
            return Err(ValidationError::field("sku", "bundles have no stock of their own").into());
        }
        let from = resolve_location(&mut tx, org, Some(&req.from), "from").await?;
        let to = resolve_location(&mut tx, org, Some(&req.to), "to").await?;
        if from.id == to.id {
            return Err(ValidationError::field("to", "must differ from `from`").into());
        }
        ensure_level(&mut tx, org, &variant, from.id, now).await?;
        ensure_level(&mut tx, org, &variant, to.id, now).await?;
        let reason = req.reason.as_deref().map_or("transfer", str::trim);
        let reference = Some(("transfer", format!("{}->{}", from.code, to.code)));
        let entry = LedgerEntry {
            kind: MovementKind::Transfer,
            reason,
            reference,
            actor,
        };
        // Lock both rows in a fixed order (by location id) to avoid deadlocks.
        let (first, second) = if from.id < to.id {
            (from.id, to.id)
        } else {
            (to.id, from.id)
        };
        let first_level = lock_level(self, &mut tx, org, variant.id, first).await?;
        let second_level = lock_level(self, &mut tx, org, variant.id, second).await?;
        let (from_before, to_before) = if first == from.id {
            (first_level, second_level)
        } else {
            (second_level, first_level)
        };
        if limits::on_hand_after(to_before.on_hand, req.quantity).is_none() {
            return Err(above_maximum("quantity"));
        }
        // Transfers never go into backorder: only units physically there move.
        if from_before.available < req.quantity {
            return Err(StoreError::InsufficientStock(vec![Shortage {
                sku: req.sku.to_string(),
                requested: req.quantity,
                available: from_before.available,
            }]));
        }
        apply_on_hand(
            &mut tx,
            org,
            variant.id,
            from.id,
            -req.quantity,
            &entry,
            now,
        )
        .await?
        .ok_or_else(|| {
            StoreError::InsufficientStock(vec![Shortage {
                sku: req.sku.to_string(),
                requested: req.quantity,
                available: from_before.available,
            }])
        })?;
        apply_on_hand(&mut tx, org, variant.id, to.id, req.quantity, &entry, now).await?;
        let result = TransferResult {
            sku: req.sku.clone(),
            quantity: req.quantity,
            from: lock_level(self, &mut tx, org, variant.id, from.id).await?,
            to: lock_level(self, &mut tx, org, variant.id, to.id).await?,
            replayed: false,
        };
        if let Some(key) = &req.idempotency_key {
            idempotency::finish(&mut tx, org, "inventory.transfer", key, &result).await?;
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "inventory.transfer",
                entity_type: "variant",
                entity_id: variant.id.to_string(),
                summary: serde_json::json!({
                    "sku": req.sku, "from": from.code, "to": to.code, "quantity": req.quantity,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(result)
    }

    /// Stock of one SKU per location and in total. A bundle shows how many
    /// complete bundles its components' available stock can make.
    pub async fn inventory(&self, org: OrgId, sku: &Sku) -> Result<SkuInventory> {
        let mut conn = self.read.acquire().await?;
        // The variant and its levels in one round trip: this is the hottest
        // read of the API.
        let rows = sqlx::query(
            "SELECT v.*, l.location_id AS location_id, c.code AS code, l.on_hand AS on_hand, \
             l.reserved AS reserved FROM variants v \
             LEFT JOIN inventory_levels l ON l.org_id = v.org_id AND l.variant_id = v.id \
             LEFT JOIN locations c ON c.org_id = l.org_id AND c.id = l.location_id \
             WHERE v.org_id = $1 AND v.sku = $2 ORDER BY c.is_default DESC, c.code",
        )
        .bind(org.to_string())
        .bind(sku.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let first = rows.first().ok_or(StoreError::NotFound("SKU"))?;
        let variant = Variant::from_row(first)?;
        if variant.is_bundle {
            let variant = variant_by_sku(&mut conn, org, sku).await?;
            let mut parts = Vec::with_capacity(variant.components.len());
            for c in &variant.components {
                let t = totals(&mut conn, org, c.variant_id).await?;
                parts.push((t.available(), c.quantity));
            }
            let available = bundle_available(&parts);
            return Ok(SkuInventory {
                sku: variant.sku,
                variant_id: variant.id,
                is_bundle: true,
                allow_backorder: variant.allow_backorder,
                locations: Vec::new(),
                totals: StockTotals {
                    on_hand: available,
                    reserved: 0,
                    available,
                },
            });
        }
        let mut locations = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.opt_text("location_id")?.is_some() {
                locations.push(level_from_row(r)?);
            }
        }
        let sum = locations.iter().fold(StockLevel::default(), |acc, l| {
            acc.plus(StockLevel {
                on_hand: l.on_hand,
                reserved: l.reserved,
            })
        });
        Ok(SkuInventory {
            sku: variant.sku,
            variant_id: variant.id,
            is_bundle: false,
            allow_backorder: variant.allow_backorder,
            locations,
            totals: StockTotals {
                on_hand: sum.on_hand,
                reserved: sum.reserved,
                available: sum.available(),
            },
        })
    }

    /// Ledger rows of one SKU, newest first.
    pub async fn movements(
        &self,
        org: OrgId,
        sku: &Sku,
        page: &PageRequest,
    ) -> Result<Page<Movement>> {
        let mut conn = self.read.acquire().await?;
        let variant = variant_by_sku(&mut conn, org, sku).await?;
        let limit = page.limit();
        let rows = sqlx::query(
            "SELECT m.*, c.code AS code FROM stock_movements m \
             JOIN locations c ON c.org_id = m.org_id AND c.id = m.location_id \
             WHERE m.org_id = $1 AND m.variant_id = $2 AND m.id < $3 ORDER BY m.id DESC LIMIT $4",
        )
        .bind(org.to_string())
        .bind(variant.id.to_string())
        .bind(page.before())
        .bind(limit + 1)
        .fetch_all(&mut *conn)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Movement {
                    id: r.parse("id")?,
                    sku: variant.sku.clone(),
                    location: r.text("code")?,
                    kind: r.text("kind")?,
                    quantity: r.int("quantity")?,
                    on_hand_after: r.int("on_hand_after")?,
                    reason: r.text("reason")?,
                    reference_type: r.opt_text("reference_type")?,
                    reference_id: r.opt_text("reference_id")?,
                    actor: r.text("actor")?,
                    created_at: r.time("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |m| m.id.to_string()))
    }

    /// Check the ledger invariants of one organization and describe every
    /// violation: on-hand must equal the sum of movements, reserved the sum
    /// of open reservations, and available may only be negative where
    /// backorders are allowed. An empty list means the books balance.
    pub async fn verify_inventory(&self, org: OrgId) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT v.sku AS sku, c.code AS code, l.on_hand AS on_hand, l.reserved AS reserved, \
             l.allow_backorder AS allow_backorder, \
             CAST(COALESCE((SELECT SUM(m.quantity) FROM stock_movements m WHERE m.org_id = l.org_id \
                 AND m.variant_id = l.variant_id AND m.location_id = l.location_id), 0) AS BIGINT) AS moved, \
             CAST(COALESCE((SELECT SUM(r.quantity) FROM reservations r WHERE r.org_id = l.org_id \
                 AND r.variant_id = l.variant_id AND r.location_id = l.location_id AND r.status = 'open'), 0) AS BIGINT) AS held \
             FROM inventory_levels l \
             JOIN variants v ON v.org_id = l.org_id AND v.id = l.variant_id \
             JOIN locations c ON c.org_id = l.org_id AND c.id = l.location_id \
             WHERE l.org_id = $1",
        )
        .bind(org.to_string())
        .fetch_all(&self.read)
        .await?;
        let mut problems = Vec::new();
        for r in rows {
            let (sku, code) = (r.text("sku")?, r.text("code")?);
            let (on_hand, reserved) = (r.int("on_hand")?, r.int("reserved")?);
            let (moved, held) = (r.int("moved")?, r.int("held")?);
            if on_hand != moved {
                problems.push(format!(
                    "{sku}@{code}: on_hand {on_hand} but movements sum to {moved}"
                ));
            }
            if reserved != held {
                problems.push(format!(
                    "{sku}@{code}: reserved {reserved} but open reservations sum to {held}"
                ));
            }
            if on_hand.saturating_sub(reserved) < 0 && !r.flag("allow_backorder")? {
                problems.push(format!(
                    "{sku}@{code}: available {} without backorders",
                    on_hand.saturating_sub(reserved)
                ));
            }
        }
        Ok(problems)
    }
}

/// Totals of one plain variant over all locations.
pub(crate) async fn totals(
    conn: &mut sqlx::AnyConnection,
    org: OrgId,
    variant: VariantId,
) -> Result<StockLevel> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) AS on_hand, \
         CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS reserved \
         FROM inventory_levels WHERE org_id = $1 AND variant_id = $2",
    )
    .bind(org.to_string())
    .bind(variant.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(StockLevel {
        on_hand: row.int("on_hand")?,
        reserved: row.int("reserved")?,
    })
}

/// Turn "SKU not found" into a validation error on the request field.
pub(crate) fn unknown_sku(e: StoreError, field: &str, sku: &Sku) -> StoreError {
    match e {
        StoreError::NotFound(_) => {
            ValidationError::field(field, format!("unknown SKU {sku}")).into()
        }
        other => other,
    }
}
