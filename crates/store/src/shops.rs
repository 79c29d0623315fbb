//! Channel connections (marketplace shops) and the state of connect flows.
//!
//! Shop tokens are encrypted here, on their way into the database, with the
//! store's key ring and associated data naming the organization, the shop
//! and the column: a ciphertext copied to another row or column does not
//! decrypt. Callers only ever see tokens as [`Secret`]s.

use serde::Serialize;
use sqlx::any::AnyRow;
use storesync_crypto::{Aad, Secret};
use storesync_domain::ids::{OrgId, ShopId, UserId};
use storesync_domain::limits::{check_range, MAX_SHOP_BUFFER, MAX_SHOP_CAP};
use storesync_domain::{check_text, Marketplace, Timestamp, ValidationError};

use crate::audit::{self, Actor, Audit};
use crate::row::RowExt;
use crate::{Result, Store, StoreError};

/// Connection status of a shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

impl ShopStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ShopStatus::Active => "active",
            ShopStatus::NeedsReauth => "needs_reauth",
            ShopStatus::Paused => "paused",
            ShopStatus::Error => "error",
            ShopStatus::Disconnected => "disconnected",
        }
    }

    fn parse(s: &str) -> Option<ShopStatus> {
        [
            ShopStatus::Active,
            ShopStatus::NeedsReauth,
            ShopStatus::Paused,
            ShopStatus::Error,
            ShopStatus::Disconnected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone)]
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

/// How much of the available stock a shop shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// A partial change of [`ShopSettings`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ShopSettingsPatch {
    pub allocation_percent: Option<i64>,
    pub buffer: Option<i64>,
    /// `null` removes the cap; absent leaves it.
    pub cap: Option<Option<i64>>,
    pub dry_run: Option<bool>,
}

impl Shop {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Shop> {
        let status = r.text("status")?;
        Ok(Shop {
            id: r.parse("id")?,
            org_id: r.parse("org_id")?,
            marketplace: r.parse("marketplace")?,
            external_shop_id: r.text("external_shop_id")?,
            cipher: r.opt_text("shop_cipher")?,
            name: r.text("name")?,
            region: r.opt_text("region")?,
            status: ShopStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("shop status {status:?}")))?,
            access_expires_at: r.opt_time("access_expires_at")?,
            refresh_expires_at: r.opt_time("refresh_expires_at")?,
            last_error: r.opt_text("last_error")?,
            settings: ShopSettings {
                allocation_percent: r.int("allocation_percent")?,
                buffer: r.int("stock_buffer")?,
                cap: r.opt_int("stock_cap")?,
                dry_run: r.flag("dry_run")?,
            },
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// A shop's token pair, decrypted.
#[derive(Debug, Clone)]
pub struct ShopTokens {
    pub access_token: Secret<String>,
    pub refresh_token: Secret<String>,
    pub access_expires_at: Timestamp,
    pub refresh_expires_at: Option<Timestamp>,
}

/// What a completed connect flow knows about the shop.
#[derive(Debug, Clone)]
pub struct ConnectedShop {
    pub marketplace: Marketplace,
    pub external_shop_id: String,
    pub cipher: Option<String>,
    pub name: String,
    pub region: Option<String>,
    pub tokens: ShopTokens,
}

const ACCESS: &str = "access_token_enc";
const REFRESH: &str = "refresh_token_enc";

/// A pending connect flow, as found by its `state`.
#[derive(Debug, Clone)]
pub struct OAuthState {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub marketplace: Marketplace,
    /// Hash of the value the starting browser holds in its cookie; `None`
    /// only for states stored before connect flows were bound.
    pub browser_hash: Option<String>,
}

impl Store {
    fn seal(
        &self,
        org: OrgId,
        shop: ShopId,
        column: &str,
        value: &Secret<String>,
    ) -> Result<String> {
        let (org, shop) = (org.to_string(), shop.to_string());
        self.keys
            .encrypt_str(
                value.expose(),
                &Aad {
                    org: &org,
                    record: &shop,
                    column,
                },
            )
            .map_err(|e| StoreError::Corrupt(format!("cannot encrypt {column}: {e}")))
    }

    fn open_secret(
        &self,
        org: OrgId,
        shop: ShopId,
        column: &str,
        stored: &str,
    ) -> Result<Secret<String>> {
        let (org, shop) = (org.to_string(), shop.to_string());
        self.keys
            .decrypt_string(
                stored,
                &Aad {
                    org: &org,
                    record: &shop,
                    column,
                },
            )
            .map_err(|e| StoreError::Corrupt(format!("cannot decrypt {column}: {e}")))
    }

    /// Attach a marketplace shop to the organization (or refresh its tokens
    /// when it is attached already). A shop attached to another
    /// organization is refused: one marketplace shop, one owner.
    pub async fn connect_shop(
        &self,
        org: OrgId,
        shop: &ConnectedShop,
        actor: &Actor,
    ) -> Result<Shop> {
        let mut errors = ValidationError::new();
        if shop.external_shop_id.is_empty() || shop.external_shop_id.len() > 100 {
            errors.add("external_shop_id", "1–100 characters");
        } else {
            check_text(&mut errors, "external_shop_id", &shop.external_shop_id);
        }
        errors.into_result()?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let existing = sqlx::query(
            "SELECT org_id, id FROM shops WHERE marketplace = $1 AND external_shop_id = $2",
        )
        .bind(shop.marketplace.as_str())
        .bind(&shop.external_shop_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, reconnect) = match existing {
            Some(r) => {
                let owner: OrgId = r.parse("org_id")?;
                if owner != org {
                    return Err(StoreError::conflict(
                        "shop_connected_elsewhere",
                        "this marketplace shop is already connected to another organization",
                    ));
                }
                (r.parse::<ShopId>("id")?, true)
            }
            None => (ShopId::new(), false),
        };
        let access = self.seal(org, id, ACCESS, &shop.tokens.access_token)?;
        let refresh = self.seal(org, id, REFRESH, &shop.tokens.refresh_token)?;
        if reconnect {
            sqlx::query(
                "UPDATE shops SET name = $3, region = $4, status = 'active', access_token_enc = $5, \
                 refresh_token_enc = $6, access_expires_at = $7, refresh_expires_at = $8, last_error = NULL, \
                 updated_at = $9, shop_cipher = $10 WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(id.to_string())
            .bind(&shop.name)
            .bind(shop.region.clone())
            .bind(access)
            .bind(refresh)
            .bind(shop.tokens.access_expires_at.millis())
            .bind(shop.tokens.refresh_expires_at.map(|t| t.millis()))
            .bind(now.millis())
            .bind(shop.cipher.clone())
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO shops (org_id, id, marketplace, external_shop_id, name, region, status, \
                 access_token_enc, refresh_token_enc, access_expires_at, refresh_expires_at, created_at, updated_at, \
                 shop_cipher) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $10, $11, $11, $12)",
            )
            .bind(org.to_string())
            .bind(id.to_string())
            .bind(shop.marketplace.as_str())
            .bind(&shop.external_shop_id)
            .bind(&shop.name)
            .bind(shop.region.clone())
            .bind(access)
            .bind(refresh)
            .bind(shop.tokens.access_expires_at.millis())
            .bind(shop.tokens.refresh_expires_at.map(|t| t.millis()))
            .bind(now.millis())
            .bind(shop.cipher.clone())
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: if reconnect { "shop.reconnect" } else { "shop.connect" },
                entity_type: "shop",
                entity_id: id.to_string(),
                summary: serde_json::json!({ "after": {
                    "marketplace": shop.marketplace, "external_shop_id": shop.external_shop_id, "name": shop.name } }),
            },
        )
        .await?;
        tx.commit().await?;
        self.shop(org, id).await
    }

    pub async fn shop(&self, org: OrgId, id: ShopId) -> Result<Shop> {
        let row = sqlx::query("SELECT * FROM shops WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound("shop"))?;
        Shop::from_row(&row)
    }

    pub async fn list_shops(&self, org: OrgId) -> Result<Vec<Shop>> {
        let rows =
            sqlx::query("SELECT * FROM shops WHERE org_id = $1 ORDER BY marketplace, name, id")
                .bind(org.to_string())
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(Shop::from_row).collect()
    }

    /// The shop's decrypted tokens.
    pub async fn shop_tokens(&self, org: OrgId, id: ShopId) -> Result<ShopTokens> {
        let row = sqlx::query(
            "SELECT access_token_enc, refresh_token_enc, access_expires_at, refresh_expires_at \
             FROM shops WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound("shop"))?;
        let (Some(access), Some(refresh), Some(expires)) = (
            row.opt_text(ACCESS)?,
            row.opt_text(REFRESH)?,
            row.opt_time("access_expires_at")?,
        ) else {
            return Err(StoreError::conflict(
                "shop_not_connected",
                "the shop has no tokens; connect it again",
            ));
        };
        Ok(ShopTokens {
            access_token: self.open_secret(org, id, ACCESS, &access)?,
            refresh_token: self.open_secret(org, id, REFRESH, &refresh)?,
            access_expires_at: expires,
            refresh_expires_at: row.opt_time("refresh_expires_at")?,
        })
    }

    /// Store a refreshed token pair. Committed before the new access token
    /// is used: Shopee's refresh tokens are single-use, so losing the new
    /// pair would lose the shop.
    pub async fn update_shop_tokens(
        &self,
        org: OrgId,
        id: ShopId,
        tokens: &ShopTokens,
    ) -> Result<()> {
        let access = self.seal(org, id, ACCESS, &tokens.access_token)?;
        let refresh = self.seal(org, id, REFRESH, &tokens.refresh_token)?;
        let n = sqlx::query(
            "UPDATE shops SET access_token_enc = $3, refresh_token_enc = $4, access_expires_at = $5, \
             refresh_expires_at = $6, updated_at = $7 WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(access)
        .bind(refresh)
        .bind(tokens.access_expires_at.millis())
        .bind(tokens.refresh_expires_at.map(|t| t.millis()))
        .bind(self.now().millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("shop"));
        }
        Ok(())
    }

    /// Change a shop's status, recording why.
    pub async fn set_shop_status(
        &self,
        org: OrgId,
        id: ShopId,
        status: ShopStatus,
        error: Option<&str>,
        actor: &Actor,
    ) -> Result<Shop> {
        self.write_shop_status(org, id, None, status, error, actor)
            .await?
            .ok_or(StoreError::NotFound("shop"))
    }

    /// Move a shop to `to` only if its status is one of `from`, in one
    /// conditional `UPDATE`: two conflicting changes cannot both apply, as
    /// they could if the status were read first and written after. `None`
    /// when the shop is in none of `from` (nothing changed); not found when
    /// there is no such shop in the organization.
    pub async fn change_shop_status(
        &self,
        org: OrgId,
        id: ShopId,
        from: &[ShopStatus],
        to: ShopStatus,
        actor: &Actor,
    ) -> Result<Option<Shop>> {
        let changed = self
            .write_shop_status(org, id, Some(from), to, None, actor)
            .await?;
        if changed.is_none() {
            // Tell a missing shop from one in another status.
            self.shop(org, id).await?;
        }
        Ok(changed)
    }

    /// Write a shop's status (when it is one of `from`, if given); `None`
    /// when no row matched.
    async fn write_shop_status(
        &self,
        org: OrgId,
        id: ShopId,
        from: Option<&[ShopStatus]>,
        status: ShopStatus,
        error: Option<&str>,
        actor: &Actor,
    ) -> Result<Option<Shop>> {
        let now = self.now();
        let mut tx = self.begin().await?;
        let mut sql = "UPDATE shops SET status = $3, last_error = $4, updated_at = $5 \
                       WHERE org_id = $1 AND id = $2"
            .to_owned();
        if let Some(from) = from {
            if from.is_empty() {
                return Ok(None);
            }
            let list: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 6)).collect();
            sql.push_str(&format!(" AND status IN ({})", list.join(", ")));
        }
        let mut q = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .bind(status.as_str())
            .bind(error.map(str::to_owned))
            .bind(now.millis());
        for s in from.unwrap_or_default() {
            q = q.bind(s.as_str());
        }
        let n = q.execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Ok(None);
        }
        if status == ShopStatus::Disconnected {
            // Forget the tokens; history (orders, listings) stays.
            sqlx::query(
                "UPDATE shops SET access_token_enc = NULL, refresh_token_enc = NULL WHERE org_id = $1 AND id = $2",
            )
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "shop.status",
                entity_type: "shop",
                entity_id: id.to_string(),
                summary: serde_json::json!({ "after": { "status": status, "error": error } }),
            },
        )
        .await?;
        tx.commit().await?;
        self.shop(org, id).await.map(Some)
    }

    /// Change a shop's sync settings.
    pub async fn update_shop_settings(
        &self,
        org: OrgId,
        id: ShopId,
        patch: &ShopSettingsPatch,
        actor: &Actor,
    ) -> Result<Shop> {
        let mut errors = ValidationError::new();
        if patch
            .allocation_percent
            .is_some_and(|p| !(0..=100).contains(&p))
        {
            errors.add("allocation_percent", "0–100");
        }
        if let Some(b) = patch.buffer {
            check_range(&mut errors, "buffer", b, 0, MAX_SHOP_BUFFER);
        }
        if let Some(c) = patch.cap.flatten() {
            check_range(&mut errors, "cap", c, 0, MAX_SHOP_CAP);
        }
        errors.into_result()?;
        let before = self.shop(org, id).await?;
        let now = self.now();
        let mut tx = self.begin().await?;
        let cap = match patch.cap {
            Some(c) => c,
            None => before.settings.cap,
        };
        sqlx::query(
            "UPDATE shops SET allocation_percent = $3, stock_buffer = $4, stock_cap = $5, dry_run = $6, updated_at = $7 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(patch.allocation_percent.unwrap_or(before.settings.allocation_percent))
        .bind(patch.buffer.unwrap_or(before.settings.buffer))
        .bind(cap)
        .bind(i64::from(patch.dry_run.unwrap_or(before.settings.dry_run)))
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        // Every listing of the shop may now need a new number.
        sqlx::query(
            "INSERT INTO dirty_variants (org_id, variant_id, marked_at) \
             SELECT DISTINCT org_id, variant_id, $3 FROM listings WHERE org_id = $1 AND shop_id = $2 AND variant_id IS NOT NULL \
             ON CONFLICT (org_id, variant_id) DO UPDATE SET marked_at = excluded.marked_at",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            now,
            org,
            actor,
            Audit {
                action: "shop.settings",
                entity_type: "shop",
                entity_id: id.to_string(),
                summary: serde_json::json!({ "before": before.settings, "request": patch }),
            },
        )
        .await?;
        tx.commit().await?;
        self.shop(org, id).await
    }

    /// Remember a connect flow's `state` (by hash) for `ttl_ms`, bound to
    /// the browser holding the value hashed as `browser_hash`.
    pub async fn create_oauth_state(
        &self,
        state_hash: &str,
        org: OrgId,
        user: UserId,
        marketplace: Marketplace,
        ttl_ms: i64,
        browser_hash: &str,
    ) -> Result<()> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO oauth_states (state_hash, org_id, user_id, marketplace, created_at, expires_at, browser_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(state_hash)
        .bind(org.to_string())
        .bind(user.to_string())
        .bind(marketplace.as_str())
        .bind(now.millis())
        .bind(now.plus_millis(ttl_ms).millis())
        .bind(browser_hash)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Use a connect flow's `state` once: `None` when unknown, expired,
    /// already used, or issued for another marketplace.
    pub async fn consume_oauth_state(
        &self,
        state_hash: &str,
        marketplace: Marketplace,
    ) -> Result<Option<OAuthState>> {
        let now = self.now();
        let row = sqlx::query(
            "UPDATE oauth_states SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 AND marketplace = $3 RETURNING org_id, user_id, marketplace, browser_hash",
        )
        .bind(state_hash)
        .bind(now.millis())
        .bind(marketplace.as_str())
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| {
            Ok(OAuthState {
                org_id: r.parse("org_id")?,
                user_id: r.parse("user_id")?,
                marketplace: r.parse("marketplace")?,
                browser_hash: r.opt_text("browser_hash")?,
            })
        })
        .transpose()
    }
}
