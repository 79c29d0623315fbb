//! Invitations, password resets and sign-ups: the links and the mails that
//! carry them. The store records each token's hash and enqueues its mail in
//! one transaction; this module makes the token and writes the words.

use storesync_crypto::{hash_token, random_token, Secret};
use storesync_domain::ids::OrgId;
use storesync_domain::Role;
use storesync_store::accounts::{Invitation, Mail};
use storesync_store::{Actor, Store, StoreError};

/// How an invitation's link reaches the invited person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// By mail to the invited address (API, dashboard).
    Mail,
    /// Handed back to the caller: only the CLI, whose operator runs the
    /// installation and is trusted with it.
    Operator,
}

/// Makes account links for an installation reached at `public_url`.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub store: Store,
    pub public_url: String,
}

impl Accounts {
    pub fn new(store: Store, public_url: &str) -> Accounts {
        Accounts {
            store,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    fn link(&self, path: &str, token: &Secret<String>) -> String {
        format!("{}/{path}/{}", self.public_url, token.expose())
    }

    /// Invite `email` to `org` as `role`. With [`Delivery::Mail`] the link
    /// goes only into the mail and `None` comes back.
    #[allow(clippy::too_many_arguments)]
    pub async fn invite(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        by_role: Role,
        actor: &Actor,
        delivery: Delivery,
    ) -> Result<(Invitation, Option<Secret<String>>), StoreError> {
        let org_row = self.store.org(org).await?;
        let token = random_token("inv_");
        let link = self.link("invite", &token);
        let mail = Mail {
            to: email.to_owned(),
            subject: format!("You are invited to {} on StoreSync", org_row.name),
            body: format!(
                "{} invites you to work in {} on StoreSync as {}.\n\n\
                 Accept the invitation here (the link works once, for 7 days):\n\n{link}\n\n\
                 If you have a StoreSync account with this address, you will sign in with \
                 your own password; otherwise you choose one there.\n\
                 If you did not expect this, ignore this mail.\n",
                actor.label,
                org_row.name,
                role.as_str()
            ),
        };
        let inv = self
            .store
            .create_invitation(
                org,
                email,
                role,
                &hash_token(token.expose()),
                (delivery == Delivery::Mail).then_some(&mail),
                by_role,
                actor,
            )
            .await?;
        let handed = (delivery == Delivery::Operator).then(|| Secret::new(link));
        Ok((inv, handed))
    }

    /// Mail a reset link to `email` if it has an account (and the limits
    /// allow); the caller answers the same whatever happened.
    pub async fn request_password_reset(&self, email: &str) -> Result<(), StoreError> {
        let token = random_token("pwr_");
        let link = self.link("reset", &token);
        let mail = Mail {
            to: email.to_owned(),
            subject: "Reset your StoreSync password".to_owned(),
            body: format!(
                "Someone asked to reset the password of the StoreSync account of this \
                 address. Choose a new password here (the link works once, for 1 hour):\n\n\
                 {link}\n\nIf it was not you, ignore this mail: your password stays as it is.\n"
            ),
        };
        self.store
            .request_password_reset(email, &hash_token(token.expose()), &mail)
            .await
    }

    /// Mail a sign-up link (or, to an address with an account, a note
    /// saying so); nothing else exists until the link is followed.
    pub async fn request_signup(
        &self,
        email: &str,
        org_slug: &str,
        org_name: &str,
    ) -> Result<(), StoreError> {
        let token = random_token("sgn_");
        let link = self.link("signup", &token);
        let new_mail = Mail {
            to: email.to_owned(),
            subject: "Confirm your StoreSync sign-up".to_owned(),
            body: format!(
                "Follow this link to choose your password and create the organization \
                 {org_name:?} on StoreSync (the link works once, for 24 hours):\n\n{link}\n\n\
                 If you did not sign up, ignore this mail; nothing was created.\n"
            ),
        };
        let existing_mail = Mail {
            to: email.to_owned(),
            subject: "Your StoreSync sign-up".to_owned(),
            body: format!(
                "Someone asked to sign up to StoreSync with this address, which already has \
                 an account. Sign in at {0}/login; if you forgot your password, reset it at \
                 {0}/reset.\n\nIf it was not you, ignore this mail.\n",
                self.public_url
            ),
        };
        self.store
            .request_signup(
                email,
                org_slug,
                org_name,
                &hash_token(token.expose()),
                &new_mail,
                &existing_mail,
            )
            .await
    }
}
