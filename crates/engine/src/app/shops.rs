//! Shop actions: the status machine (pause, resume, disconnect), syncing a
//! shop now and importing its catalog.

use storesync_domain::ids::{OrgId, ShopId};
use storesync_store::jobs::{JobId, NewJob};
use storesync_store::listings::ImportOptions;
use storesync_store::shops::{Shop, ShopSettingsPatch, ShopStatus};
use storesync_store::{job_keys, Actor, Result, StoreError};

use super::Services;

/// What a seller can do to a shop's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopAction {
    /// Stop all work for the shop (orders are polled again when resumed).
    Pause,
    Resume,
    /// Forget the shop's tokens; its orders and listings stay.
    Disconnect,
}

impl ShopAction {
    /// The action named in a URL (`pause`, `resume`, `disconnect`).
    pub fn parse(name: &str) -> Option<ShopAction> {
        match name {
            "pause" => Some(ShopAction::Pause),
            "resume" => Some(ShopAction::Resume),
            "disconnect" => Some(ShopAction::Disconnect),
            _ => None,
        }
    }

    /// The statuses the action may start from.
    pub fn from(self) -> &'static [ShopStatus] {
        match self {
            ShopAction::Pause => &[ShopStatus::Active, ShopStatus::Error],
            ShopAction::Resume => &[ShopStatus::Paused, ShopStatus::Error],
            ShopAction::Disconnect => &[
                ShopStatus::Active,
                ShopStatus::Paused,
                ShopStatus::Error,
                ShopStatus::NeedsReauth,
            ],
        }
    }

    /// The status the action leads to.
    pub fn to(self) -> ShopStatus {
        match self {
            ShopAction::Pause => ShopStatus::Paused,
            ShopAction::Resume => ShopStatus::Active,
            ShopAction::Disconnect => ShopStatus::Disconnected,
        }
    }
}

/// How long before a shop's marketplace authorization ends the seller is
/// asked to reconnect it.
pub const REAUTHORIZE_WITHIN_MS: i64 = 7 * 24 * 3_600_000;

/// A shop with what needs the seller's attention.
#[derive(Debug, Clone)]
pub struct ShopOverview {
    pub shop: Shop,
    /// The marketplace authorization ends within [`REAUTHORIZE_WITHIN_MS`]:
    /// reconnect soon.
    pub authorization_ends_soon: bool,
}

impl Services<'_> {
    /// The organization's shops, each with what needs attention.
    pub async fn list_shops(&self, org: OrgId) -> Result<Vec<ShopOverview>> {
        let soon = self.store.now().plus_millis(REAUTHORIZE_WITHIN_MS);
        let shops = self.store.list_shops(org).await?;
        Ok(shops
            .into_iter()
            .map(|shop| ShopOverview {
                authorization_ends_soon: shop.refresh_expires_at.is_some_and(|t| t < soon),
                shop,
            })
            .collect())
    }

    /// Apply `action` to the shop, or say why its status does not allow it.
    /// The check and the change are one conditional update in the store, so
    /// two racing actions cannot both apply.
    pub async fn shop_action(
        &self,
        org: OrgId,
        actor: &Actor,
        id: ShopId,
        action: ShopAction,
    ) -> Result<Shop> {
        let from = action.from();
        if let Some(shop) = self
            .store
            .change_shop_status(org, id, from, action.to(), actor)
            .await?
        {
            return Ok(shop);
        }
        let now = self.store.shop(org, id).await?;
        Err(StoreError::conflict(
            "shop_status",
            format!(
                "the shop is {}; this needs it {}",
                now.status.as_str(),
                from.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ))
    }

    /// Poll the shop's orders and push its stock as soon as a worker is
    /// free; only an active shop syncs.
    pub async fn sync_shop_now(&self, org: OrgId, id: ShopId) -> Result<()> {
        let shop = self.store.shop(org, id).await?;
        if shop.status != ShopStatus::Active {
            return Err(StoreError::conflict(
                "shop_status",
                format!("the shop is {}", shop.status.as_str()),
            ));
        }
        let payload = serde_json::json!({ "shop_id": shop.id });
        for job in [
            NewJob::new(job_keys::kind::POLL, payload.clone())
                .org(org)
                .unique(job_keys::poll(shop.id)),
            NewJob::new(job_keys::kind::PUSH, payload)
                .org(org)
                .unique(job_keys::push(shop.id)),
        ] {
            self.store.enqueue(&job).await?;
        }
        self.job_waker.notify_one();
        Ok(())
    }

    /// Change the shop's allocation rules, then sync it: new rules change
    /// what every listing of the shop should show. The sync is best effort
    /// (a paused shop keeps its new rules and syncs when resumed).
    pub async fn update_shop_settings(
        &self,
        org: OrgId,
        actor: &Actor,
        id: ShopId,
        patch: &ShopSettingsPatch,
    ) -> Result<Shop> {
        let shop = self
            .store
            .update_shop_settings(org, id, patch, actor)
            .await?;
        if let Err(e) = self.sync_shop_now(org, id).await {
            tracing::debug!(error = %e, shop = %id, "no sync after new allocation rules");
        }
        Ok(shop)
    }

    /// Queue an import of the shop's catalog; `None` when one is queued or
    /// running already.
    pub async fn import_catalog(
        &self,
        org: OrgId,
        id: ShopId,
        options: &ImportOptions,
    ) -> Result<Option<JobId>> {
        let shop = self.store.shop(org, id).await?;
        let job = NewJob::new(
            job_keys::kind::IMPORT,
            serde_json::json!({ "shop_id": shop.id, "options": options }),
        )
        .org(org)
        .unique(job_keys::import(shop.id));
        let job_id = self.store.enqueue(&job).await?;
        self.job_waker.notify_one();
        Ok(job_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_lead_from_the_statuses_they_allow() {
        for (name, action) in [
            ("pause", ShopAction::Pause),
            ("resume", ShopAction::Resume),
            ("disconnect", ShopAction::Disconnect),
        ] {
            assert_eq!(ShopAction::parse(name), Some(action));
            assert!(
                !action.from().contains(&action.to()),
                "{name} from its own result"
            );
        }
        assert_eq!(ShopAction::parse("delete"), None);
        assert!(
            !ShopAction::Resume.from().contains(&ShopStatus::NeedsReauth),
            "a shop without tokens needs connecting, not resuming"
        );
    }
}
