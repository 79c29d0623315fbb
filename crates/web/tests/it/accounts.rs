//! Accounts over HTTP (issue 11 items 1, 2 and 9): the pre-registration
//! takeover is gone, admins cannot touch owners, removal ends a member's
//! access at once, and invitation, reset and sign-up links arrive by mail
//! (read from a local SMTP catcher) and work once.

use storesync_store::backend_test;

use super::ui::{field, Browser};
use super::*;

async fn api_login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.call(
        None,
        Method::POST,
        "/api/v1/auth/login",
        Some(json!({ "email": email, "password": password })),
    )
    .await
    .status
}

/// Follow an invitation link in a browser and post `password` to it.
async fn accept(
    app: &TestApp,
    link: &str,
    password: &str,
) -> (Browser, StatusCode, String, String) {
    let mut b = Browser::new(&app.base);
    let (status, _, page) = b.get(link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = field(&page, "_csrf");
    let (status, location, page) = b
        .post(link, &[("_csrf", &csrf), ("password", password)])
        .await;
    (b, status, location, page)
}

backend_test! {
    async fn pre_registering_an_email_gives_no_access_to_another_org(store) {
        let app = TestApp::start(store.clone()).await;
        let smtp = SmtpCatcher::start().await;
        let a = app.tenant(Role::Owner).await;
        let b = app.tenant(Role::Owner).await;
        let hire = format!("newhire-{}@a-corp.test", &OrgId::new().to_string()[24..]);
        // The reproduction from the issue: B "adds" A's future hire with a
        // password B knows. That request no longer exists...
        let r = app.post(&b, "/api/v1/members", json!({ "email": hire, "role": "viewer", "password": "known-to-B" })).await;
        assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
        // ...and B's invitation creates no account and shows no link.
        let r = app.post(&b, "/api/v1/invitations", json!({ "email": hire, "role": "viewer" })).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(!r.body.to_string().contains("/invite/"), "{}", r.body);
        assert!(r.body.get("token").is_none());
        let listed = app.get(&b, "/api/v1/invitations").await;
        assert!(!listed.body.to_string().contains("/invite/"));
        assert_eq!(api_login(&app, &hire, "known-to-B").await, StatusCode::UNAUTHORIZED);
        // A invites the same address as admin.
        let r = app.post(&a, "/api/v1/invitations", json!({ "email": hire, "role": "admin" })).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        smtp.deliver(&app.store).await;
        let mails = smtp.to(&hire);
        assert_eq!(mails.len(), 2, "both invitations went to the hire, and only there");
        assert!(smtp.to(&b.email).is_empty());
        let a_link = smtp.link(&hire, "invite").unwrap();
        // The hire accepts B's invitation first, choosing their own password.
        let b_link = smtp.to(&hire).into_iter().find(|m| m.contains("Tenant") && !m.contains(&a_link)).map(|m| {
            let at = m.find("/invite/").unwrap();
            m[at..at + m[at..].find(char::is_whitespace).unwrap()].to_owned()
        }).unwrap();
        let (_, status, _, _) = accept(&app, &b_link, "the hire's own secret").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        // A's invitation cannot be accepted with credentials B knows: not
        // "known-to-B", not B's owner's own password.
        for wrong in ["known-to-B", b.password.as_str()] {
            let (_, status, _, page) = accept(&app, &a_link, wrong).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        }
        assert_eq!(api_login(&app, &hire, "known-to-B").await, StatusCode::UNAUTHORIZED);
        // Only the hire's own password accepts it, and B got nothing in A.
        let (mut browser, status, location, _) = accept(&app, &a_link, "the hire's own secret").await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
        let (_, _, settings) = browser.get("/settings").await;
        assert!(settings.contains(&a.slug) || settings.contains(&hire), "signed in to A");
        let members = app.get(&a, "/api/v1/members").await.body;
        assert!(!members.to_string().contains(&b.email));
        assert!(members.as_array().unwrap().iter().any(|m| m["email"] == hire.as_str() && m["role"] == "admin"));
    }
}

backend_test! {
    async fn admins_cannot_demote_or_remove_owners_in_api_or_dashboard(store) {
        let app = TestApp::start(store.clone()).await;
        let owner = app.tenant(Role::Owner).await;
        let admin = app.member(owner.org, &owner.slug, Role::Admin).await;
        let member = app.member(owner.org, &owner.slug, Role::Member).await;
        let id = |t: &Tenant| { let store = app.store.clone(); let email = t.email.clone(); async move { store.credentials(&email).await.unwrap().unwrap().0.to_string() } };
        let (owner_id, member_id) = (id(&owner).await, id(&member).await);
        let r = app.call(Some(&admin), Method::PATCH, &format!("/api/v1/members/{owner_id}"), Some(json!({ "role": "viewer" }))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app.call(Some(&admin), Method::DELETE, &format!("/api/v1/members/{owner_id}"), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app.call(Some(&admin), Method::PATCH, &format!("/api/v1/members/{member_id}"), Some(json!({ "role": "owner" }))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app.post(&admin, "/api/v1/invitations", json!({ "email": "boss@example.com", "role": "owner" })).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        // The dashboard, same rule: the probe from the issue.
        let mut b = Browser::new(&app.base);
        b.sign_in(&admin.email, &admin.password).await;
        let (_, _, page) = b.get("/settings").await;
        assert!(!page.contains(&format!("/settings/users/{owner_id}/role")), "no control for an owner's row");
        let csrf = field(&page, "_csrf");
        let (status, _, _) = b.post(&format!("/settings/users/{owner_id}/role"), &[("_csrf", &csrf), ("role", "viewer")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = b.post(&format!("/settings/users/{owner_id}/role"), &[("_csrf", &csrf), ("role", "remove")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let members = app.get(&owner, "/api/v1/members").await.body;
        assert!(members.as_array().unwrap().iter().any(|m| m["email"] == owner.email.as_str() && m["role"] == "owner"), "{members}");
        // An admin still manages members; the last owner stays even for an owner.
        let r = app.call(Some(&admin), Method::PATCH, &format!("/api/v1/members/{member_id}"), Some(json!({ "role": "viewer" }))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        let r = app.call(Some(&owner), Method::PATCH, &format!("/api/v1/members/{owner_id}"), Some(json!({ "role": "admin" }))).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("last_owner")));
    }
}

backend_test! {
    async fn removing_a_member_ends_their_sessions_and_tokens_at_once(store) {
        let app = TestApp::start(store.clone()).await;
        let owner = app.tenant(Role::Owner).await;
        let member = app.member(owner.org, &owner.slug, Role::Member).await;
        let mut b = Browser::new(&app.base);
        b.sign_in(&member.email, &member.password).await;
        assert_eq!(b.get("/settings").await.0, StatusCode::OK);
        assert_eq!(app.get(&member, "/api/v1/products").await.status, StatusCode::OK);
        let member_id = app.store.credentials(&member.email).await.unwrap().unwrap().0;
        let r = app.call(Some(&owner), Method::DELETE, &format!("/api/v1/members/{member_id}"), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        assert_eq!(app.get(&member, "/api/v1/products").await.status, StatusCode::UNAUTHORIZED);
        let (status, location, _) = b.get("/settings").await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/login"));
        let tokens = app.get(&owner, "/api/v1/tokens").await.body;
        assert!(tokens.as_array().unwrap().iter().filter(|t| t["user_id"] == member_id.to_string()).all(|t| !t["revoked_at"].is_null()), "{tokens}");
    }
}

backend_test! {
    async fn invitation_links_work_once_and_can_be_withdrawn(store) {
        let app = TestApp::start(store.clone()).await;
        let smtp = SmtpCatcher::start().await;
        let owner = app.tenant(Role::Owner).await;
        let r = app.post(&owner, "/api/v1/invitations", json!({ "email": "once@example.com", "role": "member" })).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(r.body["expires_at"].is_string() || r.body["expires_at"].is_number());
        smtp.deliver(&app.store).await;
        let link = smtp.link("once@example.com", "invite").unwrap();
        let (_, status, _, _) = accept(&app, &link, "short").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a too-short password is refused and the link kept");
        let (_, status, _, _) = accept(&app, &link, "once and only once").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) = Browser::new(&app.base).get(&link).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "used");
        assert_eq!(api_login(&app, "once@example.com", "once and only once").await, StatusCode::OK);
        // Withdrawn.
        let r = app.post(&owner, "/api/v1/invitations", json!({ "email": "never@example.com", "role": "member" })).await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        smtp.deliver(&app.store).await;
        let link = smtp.link("never@example.com", "invite").unwrap();
        let r = app.call(Some(&owner), Method::DELETE, &format!("/api/v1/invitations/{id}"), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(Browser::new(&app.base).get(&link).await.0, StatusCode::NOT_FOUND);
        assert!(app.get(&owner, "/api/v1/invitations").await.body.as_array().unwrap().is_empty());
    }
}

backend_test! {
    async fn password_reset_by_mailed_link_without_enumeration(store) {
        let app = TestApp::start(store.clone()).await;
        let smtp = SmtpCatcher::start().await;
        let owner = app.tenant(Role::Owner).await;
        let mut old = Browser::new(&app.base);
        old.sign_in(&owner.email, &owner.password).await;
        let known = app.call(None, Method::POST, "/api/v1/auth/password-reset", Some(json!({ "email": owner.email }))).await;
        let unknown = app.call(None, Method::POST, "/api/v1/auth/password-reset", Some(json!({ "email": "nobody@example.com" }))).await;
        assert_eq!(known.status, StatusCode::ACCEPTED);
        assert_eq!((known.status, &known.body), (unknown.status, &unknown.body), "the same answer either way");
        smtp.deliver(&app.store).await;
        assert!(smtp.to("nobody@example.com").is_empty());
        let link = smtp.link(&owner.email, "reset").unwrap();
        let mut b = Browser::new(&app.base);
        let (status, _, page) = b.get(&link).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = field(&page, "_csrf");
        let (status, _, page) = b.post(&link, &[("_csrf", &csrf), ("password", "a brand new secret")]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(old.get("/settings").await.1, "/login", "the reset ended the old session");
        assert_eq!(api_login(&app, &owner.email, &owner.password).await, StatusCode::UNAUTHORIZED);
        assert_eq!(api_login(&app, &owner.email, "a brand new secret").await, StatusCode::OK);
        let (status, _, _) = b.get(&link).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "single use");
        // Rate limited per address: more requests, no more mails.
        for _ in 0..5 {
            let r = app.call(None, Method::POST, "/api/v1/auth/password-reset", Some(json!({ "email": owner.email }))).await;
            assert_eq!(r.status, StatusCode::ACCEPTED);
        }
        smtp.deliver(&app.store).await;
        assert_eq!(smtp.to(&owner.email).len(), 3);
    }
}

backend_test! {
    async fn sign_up_is_off_by_default_and_creates_nothing_before_the_link(store) {
        let off = TestApp::start(store.clone()).await;
        let body = json!({ "email": "founder@example.com", "org_slug": "founded", "org_name": "Founded" });
        assert_eq!(off.call(None, Method::POST, "/api/v1/auth/signup", Some(body.clone())).await.status, StatusCode::NOT_FOUND);
        assert_eq!(Browser::new(&off.base).get("/signup").await.0, StatusCode::NOT_FOUND);

        let app = TestApp::start_with(store.clone(), WebConfig { allow_signup: true, ..WebConfig::default() }).await;
        let smtp = SmtpCatcher::start().await;
        let r = app.call(None, Method::POST, "/api/v1/auth/signup", Some(body)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert!(app.store.credentials("founder@example.com").await.unwrap().is_none(), "no account before the link");
        assert!(app.store.org_by_slug("founded").await.is_err());
        smtp.deliver(&app.store).await;
        let link = smtp.link("founder@example.com", "signup").unwrap();
        let (mut b, status, location, _) = accept(&app, &link, "founding secret").await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/"));
        let (status, _, page) = b.get("/settings").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("founder@example.com"));
        let org = app.store.org_by_slug("founded").await.unwrap();
        let members = app.store.list_members(org.id).await.unwrap();
        assert_eq!(members.iter().map(|(u, r)| (u.email.as_str(), *r)).collect::<Vec<_>>(), [("founder@example.com", Role::Owner)]);
    }
}

backend_test! {
    async fn without_a_relay_mail_jobs_fail_visibly_and_quietly(store) {
        let app = TestApp::start(store.clone()).await;
        let owner = app.tenant(Role::Owner).await;
        app.post(&owner, "/api/v1/invitations", json!({ "email": "nomail@example.com", "role": "viewer" })).await;
        let worker = storesync_engine::Worker::new(app.store.clone(), Default::default()).handle(
            storesync_engine::mail::MAIL_JOB,
            std::sync::Arc::new(storesync_engine::mail::MailHandler { store: app.store.clone(), relay: None }),
        );
        worker.run_once().await.unwrap();
        let dead = app.get(&owner, "/api/v1/jobs?status=dead").await.body;
        let text = dead.to_string();
        assert!(text.contains("no mail relay is configured"), "{text}");
        assert!(!text.contains("/invite/"), "the link shows nowhere: {text}");
        assert!(!text.contains("nomail@example.com"), "the sealed mail does not show its address: {text}");
    }
}
