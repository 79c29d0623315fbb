//! The dashboard over HTTP: sign-in with its form token, every page for
//! each role, actions through forms with the session's CSRF token (and
//! refused without it), viewers see no buttons, tenants stay apart.

use reqwest::redirect::Policy;
use storesync_store::backend_test;

use super::*;

/// A browser-like session: cookies kept by hand, redirects not followed.
pub(crate) struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// GET: status, Location, body.
    pub(crate) async fn get(&mut self, path: &str) -> (StatusCode, String, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&res);
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (res.status(), location, res.text().await.unwrap())
    }

    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&res);
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (res.status(), location, res.text().await.unwrap())
    }

    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) {
        let (_, _, page) = self.get("/login").await;
        let token = field(&page, "_csrf");
        let (status, location, _) = self
            .post(
                "/login",
                &[("_csrf", &token), ("email", email), ("password", password)],
            )
            .await;
        assert_eq!(
            (status, location.as_str()),
            (StatusCode::SEE_OTHER, "/"),
            "signed in"
        );
    }
}

/// The value of the first input named `name` in `page`.
pub fn field(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name}"));
    let rest = &page[at..];
    let v = rest.find("value=\"").unwrap() + 7;
    rest[v..v + rest[v..].find('"').unwrap()].to_owned()
}

/// The first option of the select named `name`.
fn option(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name}: {page}"));
    field(
        &page[at..]
            .replacen(&format!("name=\"{name}\""), "", 1)
            .replacen("<option", &format!("<option name=\"{name}\""), 1),
        name,
    )
}

const PAGES: [&str; 10] = [
    "/",
    "/shops",
    "/catalog",
    "/listings",
    "/inventory",
    "/orders",
    "/sync",
    "/settings",
    "/account",
    "/inventory/export.csv",
];

backend_test! {
    async fn a_seller_works_through_the_dashboard_with_forms(store) {
        let app = TestApp::start(store.clone()).await;
        let owner = app.tenant(Role::Owner).await;
        let mut b = Browser::new(&app.base);

        // Not signed in: every page sends to the sign-in form.
        let (status, location, _) = b.get("/inventory").await;
        assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/login"));
        // A wrong password gets the generic error, on the page.
        let (_, _, page) = b.get("/login").await;
        let token = field(&page, "_csrf");
        let (status, _, page) = b.post("/login", &[("_csrf", &token), ("email", &owner.email), ("password", "wrong password!")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Wrong email or password."), "{page}");
        // A sign-in form posted from elsewhere (no form token) signs no one in.
        let mut other = Browser::new(&app.base);
        let (_, _, page) = other.post("/login", &[("_csrf", "forged"), ("email", &owner.email), ("password", &owner.password)]).await;
        assert!(page.contains("expired"), "{page}");
        assert!(!other.cookies.contains_key("storesync_session"));

        b.sign_in(&owner.email, &owner.password).await;
        for p in PAGES {
            let (status, _, body) = b.get(p).await;
            assert_eq!(status, StatusCode::OK, "{p}: {body}");
        }
        let (_, _, overview) = b.get("/").await;
        assert!(overview.contains("No orders in the last 30 days yet."), "empty state tells what to do");

        // Create a product through the form, receive stock, see it.
        let (_, _, page) = b.get("/catalog/new").await;
        let csrf = field(&page, "_csrf");
        let (status, location, _) = b.post("/catalog/new", &[("_csrf", &csrf), ("name", "Kaos Polos"), ("sku", "KAOS-UI-1"), ("price", "150.000"), ("currency", "IDR"), ("low_stock", "3")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, product) = b.get(&location).await;
        assert!(product.contains("Product created."), "flash shown once: {product}");
        assert!(product.contains("Rp 150.000"), "{product}");
        let (_, _, again) = b.get(&location).await;
        assert!(!again.contains("Product created."), "flash consumed");
        // Edit the variant: price and low-stock level.
        let (status, back, _) = b.post(&format!("{location}/variants"), &[("_csrf", &csrf), ("sku", "KAOS-UI-1"), ("variant", "M"), ("price", "175000"), ("low_stock", "3")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, edited) = b.get(&back).await;
        assert!(edited.contains("KAOS-UI-1 saved.") && edited.contains("Rp 175.000"), "{edited}");
        let (_, back, _) = b.post(&format!("{location}/variants"), &[("_csrf", &csrf), ("sku", "KAOS-UI-1"), ("price", "abc")]).await;
        let (_, _, refused) = b.get(&back).await;
        assert!(refused.contains("is not an amount"), "{refused}");
        let (_, _, page) = b.get("/inventory").await;
        let location = option(&page, "location");
        let (status, back, _) = b.post("/inventory/adjust", &[("_csrf", &csrf), ("sku", "kaos-ui-1"), ("location", &location), ("mode", "delta"), ("quantity", "2"), ("reason", "delivery")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, page) = b.get(&back).await;
        assert!(page.contains("on hand 0 → 2"), "{page}");
        let (_, _, inv) = b.get("/inventory?low=1").await;
        assert!(inv.contains("KAOS-UI-1"), "2 units is at or below the low-stock level 3: {inv}");
        let (_, _, moves) = b.get("/inventory/sku/KAOS-UI-1").await;
        assert!(moves.contains("delivery") && moves.contains(&owner.email), "who and why: {moves}");
        let (_, _, csv) = b.get("/inventory/export.csv").await;
        assert!(csv.contains("KAOS-UI-1,Kaos Polos,M,"), "{csv}");
        // A bundle made in the form, then its components edited.
        let (status, bundle, _) = b.post("/catalog/new", &[("_csrf", &csrf), ("name", "Paket Dua"), ("sku", "PAKET-2"), ("price", "280000"), ("currency", "IDR"), ("components", "KAOS-UI-1 x2\n")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, page) = b.get(&bundle).await;
        assert!(page.contains("Bundle of") && page.contains("2 × <a href=\"/inventory/sku/KAOS-UI-1\">KAOS-UI-1</a>"), "{page}");
        let (_, back, _) = b.post(&format!("{bundle}/components"), &[("_csrf", &csrf), ("sku", "PAKET-2"), ("components", "KAOS-UI-1 2\nKAOS-UI-1 zero")]).await;
        let (_, _, refused) = b.get(&back).await;
        assert!(refused.contains("Line 2: &quot;KAOS-UI-1 zero&quot;"), "the offending line is named: {refused}");
        let (_, back, _) = b.post(&format!("{bundle}/components"), &[("_csrf", &csrf), ("sku", "PAKET-2"), ("components", "NOPE-9 1")]).await;
        let (_, _, refused) = b.get(&back).await;
        assert!(refused.contains("unknown SKU NOPE-9"), "{refused}");
        let (_, back, _) = b.post(&format!("{bundle}/components"), &[("_csrf", &csrf), ("sku", "PAKET-2"), ("components", "KAOS-UI-1 1")]).await;
        let (_, _, saved) = b.get(&back).await;
        assert!(saved.contains("Components of PAKET-2 saved.") && saved.contains("1 × <a"), "{saved}");
        let inv = app.call(Some(&owner), Method::GET, "/api/v1/inventory?sku=PAKET-2", None).await;
        assert_eq!(inv.body["totals"]["available"], 2, "one KAOS-UI-1 per bundle now: {}", inv.body);
        // A bad action shows its error on the page, not as JSON.
        let (_, location, _) = b.post("/inventory/adjust", &[("_csrf", &csrf), ("sku", "NOPE-1"), ("location", &location), ("mode", "delta"), ("quantity", "1"), ("reason", "x")]).await;
        let (_, _, page) = b.get(&location).await;
        assert!(page.contains("flash error") && !page.contains("\"error\":"), "{page}");

        // A post without the session's CSRF token changes nothing.
        let (status, _, page) = b.post("/inventory/adjust", &[("sku", "KAOS-UI-1"), ("location", &location), ("mode", "delta"), ("quantity", "50"), ("reason", "forged")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains("Form expired"), "{page}");
        let inv = app.call(Some(&owner), Method::GET, "/api/v1/inventory?sku=KAOS-UI-1", None).await;
        assert_eq!(inv.body["totals"]["on_hand"], 2);

        // A manual order, shipped from its page.
        let order = app.post(&owner, "/api/v1/orders", json!({ "channel": "manual", "external_id": "M-1", "currency": "IDR", "lines": [{ "sku": "KAOS-UI-1", "quantity": 1, "unit_price": { "amount": 15000000, "currency": "IDR" } }] })).await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
        let id = order.body["order"]["id"].as_str().unwrap().to_owned();
        let (_, _, page) = b.get(&format!("/orders/{id}")).await;
        assert!(page.contains("reserve"), "timeline shows the stock effect: {page}");
        let (status, _, _) = b.post(&format!("/orders/{id}/ship"), &[("_csrf", &csrf), ("carrier", "JNE"), ("tracking_number", "JNE-42")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let shipped = app.call(Some(&owner), Method::GET, &format!("/api/v1/orders/{id}"), None).await;
        assert_eq!(shipped.body["status"], "shipped", "{}", shipped.body);

        // Another tenant's order is not found here.
        let stranger = app.tenant(Role::Owner).await;
        app.post(&stranger, "/api/v1/products", json!({ "name": "Other", "variants": [{ "sku": "OTHER-1", "price": { "amount": 100, "currency": "IDR" }, "allow_backorder": true }] })).await;
        let theirs = app.post(&stranger, "/api/v1/orders", json!({ "channel": "manual", "external_id": "X-1", "currency": "IDR", "lines": [{ "sku": "OTHER-1", "quantity": 1, "unit_price": { "amount": 100, "currency": "IDR" } }] })).await;
        let their_id = theirs.body["order"]["id"].as_str().unwrap_or_else(|| panic!("{}", theirs.body));
        let (status, _, _) = b.get(&format!("/orders/{their_id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, list) = b.get("/orders").await;
        assert!(!list.contains("X-1"), "another tenant's order is not listed");

        // Sign out ends the session.
        let (status, _, _) = b.post("/logout", &[("_csrf", &csrf)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, location, _) = b.get("/orders").await;
        assert_eq!(location, "/login");
    }
}

backend_test! {
    async fn a_viewer_sees_everything_and_no_button_that_would_fail(store) {
        let app = TestApp::start(store.clone()).await;
        let owner = app.tenant(Role::Owner).await;
        let viewer = app.member(owner.org, &owner.slug, Role::Viewer).await;
        app.post(&owner, "/api/v1/products", json!({ "name": "Topi", "variants": [{ "sku": "TOPI-1", "price": { "amount": 5000000, "currency": "IDR" } }] })).await;
        let mut b = Browser::new(&app.base);
        b.sign_in(&viewer.email, &viewer.password).await;
        for p in ["/", "/shops", "/catalog", "/inventory", "/orders", "/sync", "/settings"] {
            let (status, _, body) = b.get(p).await;
            assert_eq!(status, StatusCode::OK, "{p}");
            let forms: Vec<&str> = body.match_indices("<form method=\"post\"").map(|(i, _)| &body[i..(i + 80).min(body.len())]).collect();
            assert!(forms.iter().all(|f| f.contains("/logout")), "{p}: a viewer gets only the sign-out form: {forms:?}");
        }
        let (_, _, page) = b.get("/").await;
        let csrf = field(&page, "_csrf");
        let (status, _, _) = b.post("/inventory/adjust", &[("_csrf", &csrf), ("sku", "TOPI-1"), ("location", "main"), ("mode", "delta"), ("quantity", "5"), ("reason", "sneaky")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = b.get("/audit").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the audit log is for admins");
    }
}
