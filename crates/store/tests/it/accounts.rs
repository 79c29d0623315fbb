//! Accounts: invitations, owner protection, member removal, password resets,
//! sign-ups and the mail jobs that carry their links.

use std::sync::Arc;

use storesync_domain::time::ManualClock;
use storesync_domain::{Clock, Role};
use storesync_store::accounts::{Mail, INVITATION_TTL_MS, MAIL_JOB, RESET_TTL_MS};
use storesync_store::testing::query_texts;
use storesync_store::{backend_test, Store, StoreError};

use super::*;

fn mail(body: &str) -> Mail {
    Mail {
        to: "someone@example.com".into(),
        subject: "Link".into(),
        body: body.into(),
    }
}

fn email() -> String {
    format!("{}@example.com", uuid_suffix())
}

fn clocked(store: &Store) -> (Store, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(storesync_domain::SystemClock.now()));
    (store.with_clock(clock.clone()), clock)
}

backend_test! {
    async fn adding_an_existing_person_never_sets_or_reveals_their_password(store) {
        // Issue 11 item 1 at the store: B "adds" A's future hire with a
        // password B knows; later A invites the same email. B's password must
        // not be theirs, and A's invitation cannot be accepted by B.
        let a = store.create_org(&format!("a-{}", uuid_suffix()), "A", &actor()).await.unwrap();
        let b = store.create_org(&format!("b-{}", uuid_suffix()), "B", &actor()).await.unwrap();
        let b_owner = store.add_member(b.id, &email(), Some("b-owner".into()), Role::Owner, &actor()).await.unwrap();
        let hire = email();
        store.create_invitation(b.id, &hire, Role::Viewer, "b-inv", None, Role::Owner, &actor()).await.unwrap();
        assert!(store.credentials(&hire).await.unwrap().is_none(), "an invitation creates no account");
        store.create_invitation(a.id, &hire, Role::Admin, "a-inv", None, Role::Owner, &actor()).await.unwrap();
        // B's owner, signed in as themselves, cannot accept A's invitation.
        assert!(matches!(store.accept_invitation_as("a-inv", b_owner.id).await, Err(StoreError::Forbidden(_))));
        // The hire accepts A's invitation with a password of their own.
        let (user, org) = store.accept_invitation_new_account("a-inv", "hire's own").await.unwrap();
        assert_eq!(org, a.id);
        assert_eq!(store.credentials(&hire).await.unwrap().unwrap().1.as_deref(), Some("hire's own"));
        // B's invitation, still pending, cannot set a password now either.
        assert!(matches!(store.accept_invitation_new_account("b-inv", "known-to-B").await, Err(StoreError::Conflict { code: "account_exists", .. })));
        assert_eq!(store.credentials(&hire).await.unwrap().unwrap().1.as_deref(), Some("hire's own"));
        assert_eq!(store.memberships(user.id).await.unwrap().len(), 1, "the failed acceptance joined nothing");
        // add_member on an existing account is refused, whatever password.
        assert!(matches!(store.add_member(b.id, &hire, Some("x".into()), Role::Viewer, &actor()).await, Err(StoreError::Conflict { code: "account_exists", .. })));
    }
}

backend_test! {
    async fn invitations_expire_are_single_use_and_revocable(store) {
        let (store, clock) = clocked(&store);
        let org = store.create_org(&format!("i-{}", uuid_suffix()), "I", &actor()).await.unwrap();
        let who = email();
        // Admins cannot invite owners.
        assert!(matches!(store.create_invitation(org.id, &who, Role::Owner, "x", None, Role::Admin, &actor()).await, Err(StoreError::Forbidden(_))));
        let inv = store.create_invitation(org.id, &who, Role::Member, "t1", Some(&mail("secret link t1")), Role::Admin, &actor()).await.unwrap();
        assert_eq!(store.list_invitations(org.id).await.unwrap().len(), 1);
        // The mail job carries the link only encrypted.
        let payloads = query_texts(&store, &format!("SELECT payload FROM jobs WHERE kind = '{MAIL_JOB}'")).await;
        let payload = payloads.iter().flatten().find(|p| store.open_mail(&serde_json::from_str(p).unwrap()).unwrap().to == who).unwrap();
        assert!(!payload.contains("secret link") && !payload.contains(&who), "sealed: {payload}");
        let job: serde_json::Value = serde_json::from_str(payload).unwrap();
        assert_eq!(store.open_mail(&job).unwrap().body, "secret link t1");
        // A newer invitation replaces it.
        store.create_invitation(org.id, &who, Role::Viewer, "t2", None, Role::Admin, &actor()).await.unwrap();
        assert!(store.invitation_by_token("t1").await.unwrap().is_none());
        assert!(matches!(store.accept_invitation_new_account("t1", "pw").await, Err(StoreError::NotFound(_))));
        // Expiry after seven days.
        clock.advance_millis(INVITATION_TTL_MS + 1);
        assert!(store.invitation_by_token("t2").await.unwrap().is_none());
        assert!(matches!(store.accept_invitation_new_account("t2", "pw").await, Err(StoreError::NotFound(_))));
        assert!(store.list_invitations(org.id).await.unwrap().is_empty());
        // Single use.
        let t3 = store.create_invitation(org.id, &who, Role::Viewer, "t3", None, Role::Admin, &actor()).await.unwrap();
        assert!(store.invitation_by_token("t3").await.unwrap().is_some_and(|v| !v.account_exists));
        store.accept_invitation_new_account("t3", "pw").await.unwrap();
        assert!(matches!(store.accept_invitation_new_account("t3", "pw2").await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.revoke_invitation(org.id, t3.id, Role::Owner, &actor()).await, Err(StoreError::NotFound(_))));
        // Revoked invitations stop working; already a member is a conflict.
        assert!(matches!(store.create_invitation(org.id, &who, Role::Viewer, "t4", None, Role::Admin, &actor()).await, Err(StoreError::Conflict { code: "member_exists", .. })));
        let other = email();
        let t5 = store.create_invitation(org.id, &other, Role::Viewer, "t5", None, Role::Admin, &actor()).await.unwrap();
        store.revoke_invitation(org.id, t5.id, Role::Admin, &actor()).await.unwrap();
        assert!(store.invitation_by_token("t5").await.unwrap().is_none());
        let _ = inv;
    }
}

backend_test! {
    async fn only_owners_touch_owners_and_one_owner_remains(store) {
        let org = store.create_org(&format!("o-{}", uuid_suffix()), "O", &actor()).await.unwrap();
        let owner = store.add_member(org.id, &email(), None, Role::Owner, &actor()).await.unwrap();
        let admin = store.add_member(org.id, &email(), None, Role::Admin, &actor()).await.unwrap();
        let member = store.add_member(org.id, &email(), None, Role::Member, &actor()).await.unwrap();
        // An admin can neither demote nor remove an owner, nor make one.
        for role in [Some(Role::Viewer), Some(Role::Admin), None] {
            assert!(matches!(store.set_member_role(org.id, owner.id, role, Role::Admin, &actor()).await, Err(StoreError::Forbidden(_))), "{role:?}");
        }
        assert!(matches!(store.set_member_role(org.id, member.id, Some(Role::Owner), Role::Admin, &actor()).await, Err(StoreError::Forbidden(_))));
        assert!(matches!(store.set_member_role(org.id, admin.id, Some(Role::Owner), Role::Admin, &actor()).await, Err(StoreError::Forbidden(_))));
        // An admin still manages non-owners.
        store.set_member_role(org.id, member.id, Some(Role::Viewer), Role::Admin, &actor()).await.unwrap();
        // The last owner stays, even for an owner.
        assert!(matches!(store.set_member_role(org.id, owner.id, Some(Role::Admin), Role::Owner, &actor()).await, Err(StoreError::Conflict { code: "last_owner", .. })));
        assert!(matches!(store.set_member_role(org.id, owner.id, None, Role::Owner, &actor()).await, Err(StoreError::Conflict { code: "last_owner", .. })));
        store.set_member_role(org.id, admin.id, Some(Role::Owner), Role::Owner, &actor()).await.unwrap();
        store.set_member_role(org.id, owner.id, Some(Role::Admin), Role::Owner, &actor()).await.unwrap();
        let roles: Vec<_> = store.list_members(org.id).await.unwrap().into_iter().map(|(_, r)| r).collect();
        assert_eq!(roles.iter().filter(|r| **r == Role::Owner).count(), 1);
    }
}

backend_test! {
    async fn removing_a_member_ends_their_sessions_and_tokens_there(store) {
        let org = store.create_org(&format!("r-{}", uuid_suffix()), "R", &actor()).await.unwrap();
        let other = store.create_org(&format!("r-{}", uuid_suffix()), "R2", &actor()).await.unwrap();
        store.add_member(org.id, &email(), None, Role::Owner, &actor()).await.unwrap();
        let who = email();
        let user = store.add_member(org.id, &who, None, Role::Member, &actor()).await.unwrap();
        store.create_invitation(other.id, &who, Role::Member, "inv-r", None, Role::Owner, &actor()).await.unwrap();
        store.accept_invitation_as("inv-r", user.id).await.unwrap();
        store.create_session("s-here", user.id, org.id, 3_600_000).await.unwrap();
        store.create_session("s-there", user.id, other.id, 3_600_000).await.unwrap();
        store.create_api_token(org.id, user.id, "here", "tok-here", &actor()).await.unwrap();
        store.create_api_token(other.id, user.id, "there", "tok-there", &actor()).await.unwrap();
        store.set_member_role(org.id, user.id, None, Role::Owner, &actor()).await.unwrap();
        assert!(store.session("s-here", 600_000).await.unwrap().is_none());
        assert!(store.api_token_user("tok-here").await.unwrap().is_none());
        assert!(store.list_api_tokens(org.id).await.unwrap().iter().all(|t| t.revoked_at.is_some()), "revoked, not just inert");
        // Invited back, the old token stays dead.
        store.create_invitation(org.id, &who, Role::Member, "inv-back", None, Role::Owner, &actor()).await.unwrap();
        store.accept_invitation_as("inv-back", user.id).await.unwrap();
        assert!(store.api_token_user("tok-here").await.unwrap().is_none());
        // The other organization is untouched.
        assert!(store.session("s-there", 600_000).await.unwrap().is_some());
        assert!(store.api_token_user("tok-there").await.unwrap().is_some());
    }
}

backend_test! {
    async fn password_reset_is_single_use_expires_and_ends_sessions(store) {
        let (store, clock) = clocked(&store);
        let org = store.create_org(&format!("p-{}", uuid_suffix()), "P", &actor()).await.unwrap();
        let who = email();
        let user = store.add_member(org.id, &who, Some("old".into()), Role::Member, &actor()).await.unwrap();
        store.create_session("s1", user.id, org.id, 3_600_000).await.unwrap();
        store.request_password_reset(&who.to_uppercase(), "r1", &mail("reset r1")).await.unwrap();
        assert!(store.password_reset_valid("r1").await.unwrap());
        store.reset_password("r1", "new").await.unwrap();
        assert_eq!(store.credentials(&who).await.unwrap().unwrap().1.as_deref(), Some("new"));
        assert!(store.session("s1", 600_000).await.unwrap().is_none(), "a reset ends every session");
        assert!(matches!(store.reset_password("r1", "again").await, Err(StoreError::NotFound(_))), "single use");
        store.request_password_reset(&who, "r2", &mail("reset r2")).await.unwrap();
        clock.advance_millis(RESET_TTL_MS + 1);
        assert!(!store.password_reset_valid("r2").await.unwrap());
        assert!(matches!(store.reset_password("r2", "late").await, Err(StoreError::NotFound(_))), "expired");
        assert_eq!(store.credentials(&who).await.unwrap().unwrap().1.as_deref(), Some("new"));
    }
}

backend_test! {
    async fn reset_requests_are_limited_per_address_and_say_nothing_of_accounts(store) {
        let org = store.create_org(&format!("q-{}", uuid_suffix()), "Q", &actor()).await.unwrap();
        let known = email();
        store.add_member(org.id, &known, Some("pw".into()), Role::Member, &actor()).await.unwrap();
        let unknown = email();
        let mails = |store: Store, to: String| async move {
            query_texts(&store, &format!("SELECT payload FROM jobs WHERE kind = '{MAIL_JOB}'")).await.into_iter().flatten().filter(|p| store.open_mail(&serde_json::from_str(p).unwrap()).unwrap().to == to).count()
        };
        for i in 0..5 {
            store.request_password_reset(&known, &format!("k{i}"), &mail("reset")).await.unwrap();
            store.request_password_reset(&unknown, &format!("u{i}"), &mail("reset")).await.unwrap();
        }
        assert_eq!(mails(store.clone(), known.clone()).await, 3, "three mails an hour per address");
        assert_eq!(mails(store.clone(), unknown.clone()).await, 0, "no account, no mail, same answer");
        assert!(store.password_reset_valid("k2").await.unwrap());
        assert!(!store.password_reset_valid("k3").await.unwrap());
        assert!(!store.password_reset_valid("u0").await.unwrap());
    }
}

backend_test! {
    async fn sign_up_creates_nothing_until_the_link_is_followed(store) {
        let who = email();
        let slug = format!("s-{}", uuid_suffix());
        store.request_signup(&who, &slug, "Shop", "su1", &mail("new su1"), &mail("existing")).await.unwrap();
        assert!(store.credentials(&who).await.unwrap().is_none());
        assert!(store.org_by_slug(&slug).await.is_err());
        let pending = store.signup_by_token("su1").await.unwrap().unwrap();
        assert_eq!(pending.org_slug, slug);
        let (user, org) = store.complete_signup("su1", "chosen").await.unwrap();
        assert_eq!(store.memberships(user.id).await.unwrap()[0].role, Role::Owner);
        assert_eq!(org.slug, slug);
        assert!(matches!(store.complete_signup("su1", "again").await, Err(StoreError::NotFound(_))));
        // An address with an account gets the other mail, and no link.
        store.request_signup(&who, &format!("t-{}", uuid_suffix()), "Two", "su2", &mail("new su2"), &mail("existing")).await.unwrap();
        assert!(store.signup_by_token("su2").await.unwrap().is_none());
    }
}
