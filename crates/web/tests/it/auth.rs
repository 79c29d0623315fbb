use storesync_store::backend_test;

use super::*;

async fn login(app: &TestApp, t: &Tenant) -> (String, String) {
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "email": t.email, "password": t.password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    (pair, body["csrf_token"].as_str().unwrap().to_owned())
}

backend_test! {
    async fn roles_tokens_sessions_and_csrf(store) {
        let app = TestApp::start(store).await;
        let owner = app.tenant(Role::Owner).await;
        let viewer = app.member(owner.org, &owner.slug, Role::Viewer).await;
        let member = app.member(owner.org, &owner.slug, Role::Member).await;

        let anon = app.call(None, Method::GET, "/api/v1/products", None).await;
        assert_eq!((anon.status, error_code(&anon)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
        let bogus = Tenant { token: "ss_nonsense".into(), ..owner.clone() };
        assert_eq!(app.get(&bogus, "/api/v1/products").await.status, StatusCode::UNAUTHORIZED);

        assert_eq!(app.get(&viewer, "/api/v1/products").await.status, StatusCode::OK);
        let r = app.post(&viewer, "/api/v1/locations", json!({ "code": "X", "name": "X" })).await;
        assert_eq!((r.status, error_code(&r)), (StatusCode::FORBIDDEN, "forbidden"));
        let r = app.post(&member, "/api/v1/tokens", json!({ "name": "ci" })).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "only owner/admin manage tokens");
        let r = app.post(&member, "/api/v1/invitations", json!({ "email": "x@example.com", "role": "viewer" })).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // Tokens: shown once, usable, revocable.
        let created = app.post(&owner, "/api/v1/tokens", json!({ "name": "ci" })).await;
        assert_eq!(created.status, StatusCode::CREATED);
        let token = created.body["token"].as_str().unwrap().to_owned();
        let ci = Tenant { token: token.clone(), ..owner.clone() };
        assert_eq!(app.get(&ci, "/api/v1/products").await.status, StatusCode::OK);
        let listed = app.get(&owner, "/api/v1/tokens").await;
        assert!(!listed.body.to_string().contains(&token), "token value listed");
        let id = created.body["id"].as_str().unwrap();
        let r = app.call(Some(&owner), Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&ci, "/api/v1/products").await.status, StatusCode::UNAUTHORIZED);

        // Members are invited; nobody sets another person's password.
        let r = app.post(&owner, "/api/v1/invitations", json!({ "email": "new@example.com", "role": "member" })).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app.post(&owner, "/api/v1/invitations", json!({ "email": "new@example.com", "role": "member", "password": "a long enough secret" })).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no password field: {}", r.body);
        let r = app.post(&owner, "/api/v1/invitations", json!({ "email": "not an address", "role": "member" })).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Sessions: cookie works for reads; writes need the CSRF header.
        let (cookie, csrf) = login(&app, &member).await;
        let r = app.http.get(format!("{}/api/v1/auth/session", app.base)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let loc = json!({ "code": "GUDANG", "name": "Gudang" });
        let r = app.http.post(format!("{}/api/v1/locations", app.base)).header("cookie", &cookie).json(&loc).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "write without CSRF token");
        let r = app.http.post(format!("{}/api/v1/locations", app.base)).header("cookie", &cookie).header("x-csrf-token", "wrong").json(&loc).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = app.http.post(format!("{}/api/v1/locations", app.base)).header("cookie", &cookie).header("x-csrf-token", &csrf).json(&loc).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = app.http.post(format!("{}/api/v1/auth/logout", app.base)).header("cookie", &cookie).header("x-csrf-token", &csrf).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = app.http.get(format!("{}/api/v1/auth/session", app.base)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "session ended");
        let (cookie2, _) = login(&app, &member).await;
        assert_ne!(cookie, cookie2, "a new session id at every sign-in");
    }
}

backend_test! {
    async fn wrong_passwords_are_generic_and_rate_limited(store) {
        let app = TestApp::start(store).await;
        let t = app.tenant(Role::Owner).await;
        let attempt = |email: String, password: &'static str| {
            let http = app.http.clone();
            let url = format!("{}/api/v1/auth/login", app.base);
            async move { http.post(url).json(&json!({ "email": email, "password": password })).send().await.unwrap() }
        };
        let wrong = attempt(t.email.clone(), "not the password").await;
        let unknown = attempt("nobody@example.com".into(), "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        let (a, b): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
        assert_eq!(a, b, "unknown email and wrong password look the same");
        for _ in 0..9 {
            attempt(t.email.clone(), "still wrong").await;
        }
        let locked = attempt(t.email.clone(), "still wrong").await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
