//! Members, invitations and API tokens: who may invite whom, how a token is
//! made and what revoking does. The rule on owners (only an owner touches
//! owners or grants the owner role; one owner remains) is checked by the
//! store in the transaction of the change (`store::accounts::may_manage`);
//! these services decide the rest, so the API and the dashboard cannot
//! differ.

use storesync_crypto::{hash_token, random_token, Secret};
use storesync_domain::ids::{ApiTokenId, InvitationId, UserId};
use storesync_domain::Role;
use storesync_store::accounts::Invitation;
use storesync_store::{ApiTokenInfo, AuthUser, Result};

use super::Services;
use crate::accounts::{Accounts, Delivery};

/// Prefix of every API token, so one found in a log or a repository is
/// recognised for what it is.
pub const API_TOKEN_PREFIX: &str = "ss_";

impl Services<'_> {
    /// Invite `email` into the caller's organization as `role`. The link
    /// goes by mail to that address only, never back to the caller (who
    /// could otherwise accept it as someone else); the mail job is queued
    /// with the invitation and the worker woken.
    pub async fn invite(&self, caller: &AuthUser, email: &str, role: Role) -> Result<Invitation> {
        let accounts = Accounts::new(self.store.clone(), self.public_url);
        let (invitation, _) = accounts
            .invite(
                caller.org_id,
                email,
                role,
                caller.role,
                &caller.actor(),
                Delivery::Mail,
            )
            .await?;
        self.job_waker.notify_one();
        Ok(invitation)
    }

    /// Withdraw a pending invitation (an invitation to owner only by an
    /// owner).
    pub async fn withdraw_invitation(&self, caller: &AuthUser, id: InvitationId) -> Result<()> {
        self.store
            .revoke_invitation(caller.org_id, id, caller.role, &caller.actor())
            .await
    }

    /// Give a member another role, or with `None` remove them: their
    /// sessions and API tokens in this organization end at once.
    pub async fn set_member_role(
        &self,
        caller: &AuthUser,
        member: UserId,
        role: Option<Role>,
    ) -> Result<()> {
        self.store
            .set_member_role(caller.org_id, member, role, caller.role, &caller.actor())
            .await
    }

    /// A new API token for the caller, acting with the caller's role in the
    /// caller's organization: its record, and its value, which exists only
    /// in this answer (the store keeps its hash).
    pub async fn create_api_token(
        &self,
        caller: &AuthUser,
        name: &str,
    ) -> Result<(ApiTokenInfo, Secret<String>)> {
        let token = random_token(API_TOKEN_PREFIX);
        let info = self
            .store
            .create_api_token(
                caller.org_id,
                caller.user_id,
                name,
                &hash_token(token.expose()),
                &caller.actor(),
            )
            .await?;
        Ok((info, token))
    }

    /// Revoke an API token of the caller's organization; it stops working
    /// at its next request.
    pub async fn revoke_api_token(&self, caller: &AuthUser, id: ApiTokenId) -> Result<()> {
        self.store
            .revoke_api_token(caller.org_id, id, &caller.actor())
            .await
    }
}
