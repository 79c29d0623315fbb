//! The route table of the API: one list that builds the router, the OpenAPI
//! document and the cross-tenant test, so none of them can miss a route.
//! The routes marketplaces call (OAuth callback, webhooks) are in it too,
//! marked by how they authenticate.

use axum::http::Method;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use storesync_domain::Role;

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::api::{
    accounts, admin, catalog, inventory, jobs, listings, orders, shops, webhooks, wire,
};
use crate::{session, AppState};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; the request itself carries what is checked (a sign-in, a
    /// single-use OAuth `state` with its browser binding).
    Public,
    /// A marketplace, proven by its signature over the raw body: no
    /// session, no organization until the push names a shop.
    Signature,
    /// Any signed-in member of the organization.
    Role(Role),
}

impl Access {
    /// Whether the route acts within the caller's organization (and so
    /// must never reach another's).
    pub fn org_scoped(&self) -> bool {
        matches!(self, Access::Role(_))
    }
}

/// A wire type's schema: registers the type (and what it uses) with the
/// document's generator and returns the schema that refers to it.
pub type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// Path in axum syntax (`{id}` for parameters), as in OpenAPI.
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// The JSON request body's type, as its schema in the OpenAPI document.
    pub body: Option<SchemaOf>,
    /// The JSON answer's type on success, as its schema in the OpenAPI
    /// document (none for an empty answer or a page for people).
    pub answer: Option<SchemaOf>,
    /// Query parameters: (name, required, description).
    pub query: &'static [(&'static str, bool, &'static str)],
    /// Status of a successful answer.
    pub success: u16,
}

const PAGE: [(&str, bool, &str); 2] = [
    ("limit", false, "page size, 1–200 (default 50)"),
    ("cursor", false, "`next_cursor` of the previous page"),
];

fn spec(method: Method, path: &'static str, summary: &'static str, access: Access) -> RouteSpec {
    RouteSpec {
        method,
        path,
        summary,
        access,
        body: None,
        answer: None,
        query: &[],
        success: 200,
    }
}

impl RouteSpec {
    fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self
    }
    fn answer<T: JsonSchema>(mut self) -> Self {
        self.answer = Some(schema_of::<T>);
        self
    }
    fn query(mut self, query: &'static [(&'static str, bool, &'static str)]) -> Self {
        self.query = query;
        self
    }
    fn success(mut self, status: u16) -> Self {
        self.success = status;
        self
    }
}

/// Every route of the API (the OAuth callback and webhooks included) with
/// its handler.
pub fn api_routes() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use Access::Public;
    let viewer = Access::Role(Role::Viewer);
    let member = Access::Role(Role::Member);
    let admin = Access::Role(Role::Admin);
    const PRODUCT_Q: &[(&str, bool, &str)] = &[
        ("q", false, "search in product name, SKU and barcode"),
        PAGE[0],
        PAGE[1],
    ];
    const SKU_Q: &[(&str, bool, &str)] = &[("sku", true, "the SKU"), PAGE[0], PAGE[1]];
    const ORDER_Q: &[(&str, bool, &str)] = &[
        (
            "status",
            false,
            "pending, ready_to_ship, shipped, delivered, completed, cancelled, returned",
        ),
        ("channel", false, "e.g. manual"),
        ("from", false, "placed at or after (RFC 3339)"),
        ("to", false, "placed before (RFC 3339)"),
        PAGE[0],
        PAGE[1],
    ];
    const LISTING_Q: &[(&str, bool, &str)] = &[
        ("mapped", false, "true or false"),
        ("shop", false, "shop id"),
        PAGE[0],
        PAGE[1],
    ];
    const CALLBACK_Q: &[(&str, bool, &str)] = &[
        (
            "state",
            false,
            "the single-use state of the flow (Shopee: added to the redirect URL)",
        ),
        (
            "code",
            false,
            "the authorization code; absent when the seller refused",
        ),
        ("shop_id", false, "Shopee: the shop that was authorized"),
    ];
    const JOB_Q: &[(&str, bool, &str)] = &[
        ("status", false, "queued, running, done or dead"),
        PAGE[0],
        PAGE[1],
    ];
    vec![
        (
            spec(
                Method::POST,
                "/api/v1/auth/login",
                "Sign in; sets the session cookie (429 when the client address or account has too many recent failures)",
                Public,
            )
            .body::<session::LoginRequest>()
            .answer::<wire::accounts::SessionView>(),
            post(session::login),
        ),
        (
            spec(Method::POST, "/api/v1/auth/logout", "Sign out", viewer).success(204),
            post(session::logout),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/auth/session",
                "The caller, their organizations and the CSRF token",
                viewer,
            )
            .answer::<wire::accounts::SessionView>(),
            get(session::current),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/auth/password",
                "Change one's own password (same limiter as sign-in)",
                viewer,
            )
            .body::<session::PasswordChange>()
            .success(204),
            post(session::change_password),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/auth/password-reset",
                "Mail a password reset link, if the address has an account (same answer either way)",
                Public,
            )
            .body::<accounts::ResetRequest>()
            .success(202)
            .answer::<wire::accounts::Accepted>(),
            post(accounts::request_reset),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/auth/signup",
                "Sign up with a new organization by emailed link (only where the installation allows it)",
                Public,
            )
            .body::<accounts::SignupRequest>()
            .success(202)
            .answer::<wire::accounts::Accepted>(),
            post(accounts::request_signup),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/products",
                "List products (newest first)",
                viewer,
            )
            .query(PRODUCT_Q)
            .answer::<wire::Page<wire::catalog::Product>>(),
            get(catalog::list_products),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/products",
                "Create a product with variants",
                member,
            )
            .body::<wire::catalog::NewProduct>()
            .success(201)
            .answer::<wire::catalog::Product>(),
            post(catalog::create_product),
        ),
        (
            spec(Method::GET, "/api/v1/products/{id}", "One product", viewer)
            .answer::<wire::catalog::Product>(),
            get(catalog::get_product),
        ),
        (
            spec(
                Method::PATCH,
                "/api/v1/products/{id}",
                "Edit a product, its variants, add variants",
                member,
            )
            .body::<wire::catalog::ProductPatch>()
            .answer::<wire::catalog::Product>(),
            patch(catalog::update_product),
        ),
        (
            spec(
                Method::DELETE,
                "/api/v1/products/{id}",
                "Archive a product",
                member,
            )
            .success(204),
            delete(catalog::delete_product),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/locations",
                "List stock locations",
                viewer,
            )
            .answer::<Vec<wire::catalog::Location>>(),
            get(catalog::list_locations),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/locations",
                "Create a stock location",
                member,
            )
            .body::<wire::catalog::NewLocation>()
            .success(201)
            .answer::<wire::catalog::Location>(),
            post(catalog::create_location),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/inventory",
                "Stock of a SKU per location and in total",
                viewer,
            )
            .query(&SKU_Q[..1])
            .answer::<wire::inventory::SkuInventory>(),
            get(inventory::get_inventory),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/inventory/adjustments",
                "Adjust on-hand stock (delta or set)",
                member,
            )
            .body::<inventory::AdjustBody>()
            .answer::<wire::inventory::AdjustResult>(),
            post(inventory::adjust),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/inventory/transfers",
                "Move stock between locations",
                member,
            )
            .body::<inventory::TransferBody>()
            .answer::<wire::inventory::TransferResult>(),
            post(inventory::transfer),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/inventory/movements",
                "Ledger of a SKU (newest first)",
                viewer,
            )
            .query(SKU_Q)
            .answer::<wire::Page<wire::inventory::Movement>>(),
            get(inventory::movements),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/orders",
                "List orders (newest first)",
                viewer,
            )
            .query(ORDER_Q)
            .answer::<wire::Page<wire::orders::Order>>(),
            get(orders::list),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/orders",
                "Take a manual order and reserve its stock",
                member,
            )
            .body::<wire::orders::NewOrder>()
            .success(201)
            .answer::<wire::orders::OrderOutcome>(),
            post(orders::create),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/orders/{id}",
                "One order with shipments and timeline",
                viewer,
            )
            .answer::<wire::orders::Order>(),
            get(orders::get),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/orders/{id}/ship",
                "Ship: deduct the reserved stock",
                member,
            )
            .body::<orders::ShipBody>()
            .answer::<wire::orders::OrderOutcome>(),
            post(orders::ship),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/orders/{id}/cancel",
                "Cancel: release the reserved stock",
                member,
            )
            .body::<orders::CancelBody>()
            .answer::<wire::orders::OrderOutcome>(),
            post(orders::cancel),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/orders/{id}/return",
                "Mark returned, optionally restocking",
                member,
            )
            .body::<orders::ReturnBody>()
            .answer::<wire::orders::OrderOutcome>(),
            post(orders::mark_returned),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/orders/{id}/status",
                "Move to ready_to_ship, delivered or completed",
                member,
            )
            .body::<orders::StatusBody>()
            .answer::<wire::orders::OrderOutcome>(),
            post(orders::set_status),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/shops",
                "Connected shops with status and token expiry",
                viewer,
            )
            .answer::<Vec<wire::shops::ShopView>>(),
            get(shops::list),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/shops/connect/{marketplace}",
                "Start connecting a shop: returns the marketplace's authorize URL and sets the cookie the callback must bring back",
                admin,
            )
            .success(201)
            .answer::<wire::shops::ConnectStart>(),
            post(shops::start_connect),
        ),
        (
            spec(
                Method::GET,
                "/oauth/{marketplace}/callback",
                "Where the marketplace sends the seller back after consent (HTML page; needs the cookie set when the flow started)",
                Public,
            )
            .query(CALLBACK_Q),
            get(shops::callback),
        ),
        (
            spec(
                Method::POST,
                "/webhooks/{marketplace}",
                "A marketplace's push, verified by its signature and stored before it is processed (422 stale_webhook outside the replay window)",
                Access::Signature,
            )
            .body::<wire::WebhookPush>()
            .answer::<wire::WebhookReceipt>(),
            post(webhooks::receive),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/shops/{id}/calls",
                "The shop's recent marketplace API calls",
                viewer,
            )
            .query(&PAGE)
            .answer::<wire::Page<wire::shops::ApiCall>>(),
            get(shops::calls),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/shops/{id}/pause",
                "Pause all sync work for a shop",
                member,
            )
            .answer::<wire::shops::Shop>(),
            post(shops::pause),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/shops/{id}/resume",
                "Resume a paused shop",
                member,
            )
            .answer::<wire::shops::Shop>(),
            post(shops::resume),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/shops/{id}/disconnect",
                "Disconnect (forget tokens, keep history)",
                admin,
            )
            .answer::<wire::shops::Shop>(),
            post(shops::disconnect),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/shops/{id}/sync",
                "Poll orders and push stock now",
                member,
            )
            .success(202)
            .answer::<wire::Queued>(),
            post(shops::sync_now),
        ),
        (
            spec(
                Method::PUT,
                "/api/v1/shops/{id}/settings",
                "Allocation percent, buffer, cap, dry run",
                admin,
            )
            .body::<wire::shops::ShopSettingsPatch>()
            .answer::<wire::shops::Shop>(),
            put(shops::settings),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/listings/{id}/explain",
                "Why a listing shows its number",
                viewer,
            )
            .answer::<wire::listings::Explanation>(),
            get(listings::explain),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/shops/{id}/import",
                "Import (again) the shop's listings",
                member,
            )
            .body::<wire::listings::ImportOptions>()
            .success(202)
            .answer::<wire::listings::ImportQueued>(),
            post(listings::import),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/listings",
                "Channel listings, e.g. ?mapped=false",
                viewer,
            )
            .query(LISTING_Q)
            .answer::<wire::Page<wire::listings::Listing>>(),
            get(listings::list),
        ),
        (
            spec(
                Method::PUT,
                "/api/v1/listings/{id}/mapping",
                "Map a listing to a master SKU (or unmap)",
                member,
            )
            .body::<wire::listings::Mapping>()
            .answer::<wire::listings::Listing>(),
            put(listings::map),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/jobs",
                "Background jobs (newest first), e.g. ?status=dead",
                viewer,
            )
            .query(JOB_Q)
            .answer::<wire::Page<wire::jobs::Job>>(),
            get(jobs::list),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/intake/stats",
                "Marketplace orders and the webhook loss rate",
                viewer,
            )
            .answer::<wire::jobs::IntakeStats>(),
            get(jobs::intake_stats),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/jobs/{id}/retry",
                "Run a dead job again",
                member,
            )
            .answer::<wire::jobs::Job>(),
            post(jobs::retry),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/audit",
                "Audit log (newest first)",
                viewer,
            )
            .query(&PAGE)
            .answer::<wire::Page<wire::accounts::AuditEntry>>(),
            get(admin::audit),
        ),
        (
            spec(Method::GET, "/api/v1/members", "Members and roles", admin)
            .answer::<Vec<wire::accounts::MemberView>>(),
            get(admin::list_members),
        ),
        (
            spec(
                Method::PATCH,
                "/api/v1/members/{id}",
                "Change a member's role (only owners change owners or grant the owner role)",
                admin,
            )
            .body::<admin::MemberChange>()
            .success(204),
            patch(admin::set_member_role),
        ),
        (
            spec(
                Method::DELETE,
                "/api/v1/members/{id}",
                "Remove a member; their sessions and API tokens here end at once",
                admin,
            )
            .success(204),
            delete(admin::remove_member),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/invitations",
                "Pending invitations (never their links)",
                admin,
            )
            .answer::<Vec<wire::accounts::InvitationView>>(),
            get(admin::list_invitations),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/invitations",
                "Invite someone by email; the link goes only to that address (how members are added)",
                admin,
            )
            .body::<admin::NewInvitation>()
            .success(201)
            .answer::<wire::accounts::InvitationView>(),
            post(admin::create_invitation),
        ),
        (
            spec(
                Method::DELETE,
                "/api/v1/invitations/{id}",
                "Withdraw a pending invitation",
                admin,
            )
            .success(204),
            delete(admin::revoke_invitation),
        ),
        (
            spec(
                Method::GET,
                "/api/v1/tokens",
                "API tokens (never their values)",
                admin,
            )
            .answer::<Vec<wire::accounts::ApiTokenInfo>>(),
            get(admin::list_tokens),
        ),
        (
            spec(
                Method::POST,
                "/api/v1/tokens",
                "Create an API token (its value is shown once)",
                admin,
            )
            .body::<admin::NewToken>()
            .success(201)
            .answer::<wire::accounts::CreatedToken>(),
            post(admin::create_token),
        ),
        (
            spec(
                Method::DELETE,
                "/api/v1/tokens/{id}",
                "Revoke an API token",
                admin,
            )
            .success(204),
            delete(admin::revoke_token),
        ),
    ]
}
