//! Short leases on a shop, held in its row so that they hold across every
//! `serve` process: one push (or drift repair) of a shop at a time, so an
//! older number never lands last, and one token refresh at a time, since
//! the marketplaces' refresh tokens are single-use.

use storesync_domain::ids::{OrgId, ShopId};

use crate::{Result, Store};

/// What a shop lease is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopLease {
    /// Pushing its stock or reading it back.
    Push,
    /// Refreshing its marketplace tokens.
    TokenRefresh,
}

impl ShopLease {
    /// Its (owner, until) columns in `shops`.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            ShopLease::Push => ("push_lease_owner", "push_lease_until"),
            ShopLease::TokenRefresh => ("refresh_lease_owner", "refresh_lease_until"),
        }
    }
}

impl Store {
    /// Take the shop's `lease` for `ms` (or extend it when `owner` already
    /// holds it). `false` when another holds it.
    pub async fn lease_shop(
        &self,
        org: OrgId,
        shop: ShopId,
        lease: ShopLease,
        owner: &str,
        ms: i64,
    ) -> Result<bool> {
        let (who, until) = lease.columns();
        let now = self.now();
        let n = sqlx::query(&format!(
            "UPDATE shops SET {who} = $3, {until} = $4 WHERE org_id = $1 AND id = $2 \
             AND ({until} IS NULL OR {until} < $5 OR {who} = $3)"
        ))
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(owner)
        .bind(now.plus_millis(ms).millis())
        .bind(now.millis())
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Give the shop's `lease` back, if `owner` holds it.
    pub async fn release_shop(
        &self,
        org: OrgId,
        shop: ShopId,
        lease: ShopLease,
        owner: &str,
    ) -> Result<()> {
        let (who, until) = lease.columns();
        sqlx::query(&format!(
            "UPDATE shops SET {who} = NULL, {until} = NULL WHERE org_id = $1 AND id = $2 AND {who} = $3"
        ))
        .bind(org.to_string())
        .bind(shop.to_string())
        .bind(owner)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
