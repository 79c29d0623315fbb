use storesync_domain::Role;
use storesync_store::{backend_test, StoreError};

use super::*;

backend_test! {
    async fn members_sessions_and_tokens(store) {
        let org = store.create_org("acme", "Acme", &actor()).await.unwrap();
        assert!(matches!(store.create_org("acme", "Again", &actor()).await, Err(StoreError::Conflict { .. })));
        assert!(matches!(store.create_org("Bad Slug", "x", &actor()).await, Err(StoreError::Validation(_))));
        let user = store.add_member(org.id, "Owner@Example.com ", Some("hash".into()), Role::Owner, &actor()).await.unwrap();
        assert_eq!(user.email, "owner@example.com");
        assert!(matches!(store.add_member(org.id, "owner@example.com", None, Role::Viewer, &actor()).await, Err(StoreError::Conflict { .. })));
        let (id, hash) = store.credentials("OWNER@example.com").await.unwrap().unwrap();
        assert_eq!((id, hash.as_deref()), (user.id, Some("hash")));

        // A second organization for the same user: only through an invitation
        // the person accepts as themselves; add_member refuses an existing
        // account (and so never touches its password).
        let other = store.create_org("beta", "Beta", &actor()).await.unwrap();
        assert!(matches!(store.add_member(other.id, "owner@example.com", Some("beta's".into()), Role::Viewer, &actor()).await, Err(StoreError::Conflict { code: "account_exists", .. })));
        store.create_invitation(other.id, "owner@example.com", Role::Viewer, "inv-hash", None, Role::Owner, &actor()).await.unwrap();
        store.accept_invitation_as("inv-hash", user.id).await.unwrap();
        assert_eq!(store.credentials("owner@example.com").await.unwrap().unwrap().1.as_deref(), Some("hash"));
        let m = store.memberships(user.id).await.unwrap();
        assert_eq!(m.iter().map(|m| (m.org.slug.as_str(), m.role)).collect::<Vec<_>>(), vec![("acme", Role::Owner), ("beta", Role::Viewer)]);

        store.create_session("sess-hash", user.id, org.id, 3_600_000).await.unwrap();
        let s = store.session("sess-hash", 600_000).await.unwrap().unwrap();
        assert_eq!((s.user.org_id, s.user.role), (org.id, Role::Owner));
        store.switch_session_org("sess-hash", other.id).await.unwrap();
        assert_eq!(store.session("sess-hash", 600_000).await.unwrap().unwrap().user.role, Role::Viewer);
        store.delete_session("sess-hash").await.unwrap();
        assert!(store.session("sess-hash", 600_000).await.unwrap().is_none());

        let t = store.create_api_token(org.id, user.id, "ci", "tok-hash", &actor()).await.unwrap();
        let who = store.api_token_user("tok-hash").await.unwrap().unwrap();
        assert_eq!((who.org_id, who.token_id), (org.id, Some(t.id)));
        assert!(matches!(store.revoke_api_token(other.id, t.id, &actor()).await, Err(StoreError::NotFound(_))), "other org cannot revoke");
        store.revoke_api_token(org.id, t.id, &actor()).await.unwrap();
        assert!(store.api_token_user("tok-hash").await.unwrap().is_none());

        let audit = store.list_audit(org.id, &storesync_store::PageRequest::default()).await.unwrap();
        let actions: Vec<_> = audit.items.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["api_token.revoke", "api_token.create", "member.add", "org.create"]);
    }
}

backend_test! {
    async fn one_org_never_sees_another_orgs_rows(store) {
        let a = org_with_skus(&store, &["SAME"]).await;
        let b = org_with_skus(&store, &["SAME"]).await;
        receive(&store, a, "SAME", 5).await;
        let order_a = store.create_order(a, &order("x", &[("SAME", 1)]), &actor()).await.unwrap().order;
        assert_eq!(available(&store, b, "SAME").await, (0, 0, 0));
        assert!(matches!(store.order(b, order_a.id).await, Err(StoreError::NotFound(_))));
        let err = store.transition_order(b, order_a.id, &storesync_store::OrderTransition::Cancel { reason: "x".into() }, &actor()).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
        let product_a = store.list_products(a, None, &Default::default()).await.unwrap().items.remove(0);
        assert!(matches!(store.product(b, product_a.id).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.archive_product(b, product_a.id, &actor()).await, Err(StoreError::NotFound(_))));
        assert!(store.list_audit(b, &Default::default()).await.unwrap().items.iter().all(|e| e.action != "order.create"));
    }
}

backend_test! {
    async fn sessions_end_after_idle_and_absolute_timeouts(store) {
        use std::sync::Arc;
        use storesync_domain::time::ManualClock;
        use storesync_domain::Clock;
        let clock = Arc::new(ManualClock::new(storesync_domain::SystemClock.now()));
        let store = store.with_clock(clock.clone());
        let org = store.create_org(&format!("s-{}", uuid_suffix()), "S", &actor()).await.unwrap();
        let user = store.add_member(org.id, &format!("{}@example.com", uuid_suffix()), None, Role::Member, &actor()).await.unwrap();
        let (idle, absolute) = (30 * 60_000, 4 * 3_600_000);
        store.create_session("h1", user.id, org.id, absolute).await.unwrap();
        // Activity every 20 minutes keeps it alive until the absolute limit.
        for _ in 0..11 {
            clock.advance_millis(20 * 60_000);
            assert!(store.session("h1", idle).await.unwrap().is_some());
        }
        clock.advance_millis(20 * 60_000);
        assert!(store.session("h1", idle).await.unwrap().is_none(), "past the absolute timeout");
        store.create_session("h2", user.id, org.id, absolute).await.unwrap();
        clock.advance_millis(idle + 1);
        assert!(store.session("h2", idle).await.unwrap().is_none(), "idle too long");
        clock.advance_millis(-(idle + 1));
        assert!(store.session("h2", idle).await.unwrap().is_none(), "an expired session is deleted, not just hidden");
    }
}

/// Tables with an `org_id` whose primary key does not lead with it, and
/// why: each is looked up by something other than an organization first.
const NOT_KEYED_BY_ORGANIZATION: &[(&str, &str)] = &[
    (
        "jobs",
        "one queue claimed across organizations; system jobs have none",
    ),
    (
        "webhook_inbox",
        "a delivery is stored before its shop, and so its organization, is known",
    ),
    (
        "sessions",
        "found by the cookie's hash before the organization is known",
    ),
    (
        "oauth_states",
        "found by the callback's state before the organization is known",
    ),
];

backend_test! {
    async fn every_tenant_table_leads_its_primary_key_with_org_id(store) {
        // (table, first primary-key column), for every table with an org_id.
        let sql = match store.backend() {
            storesync_store::Backend::Sqlite => "SELECT m.name || ' ' || COALESCE((SELECT p.name FROM pragma_table_info(m.name) p WHERE p.pk = 1), '-') \
                FROM sqlite_master m WHERE m.type = 'table' \
                AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'org_id') ORDER BY m.name",
            storesync_store::Backend::Postgres => "SELECT c.relname || ' ' || COALESCE((SELECT a.attname FROM pg_index i \
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
                WHERE i.indrelid = c.oid AND i.indisprimary), '-') \
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname = current_schema() AND c.relkind = 'r' \
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped) \
                ORDER BY c.relname",
        };
        let rows = storesync_store::testing::query_texts(&store, sql).await;
        let tables: Vec<(String, String)> = rows.into_iter().flatten().map(|r| {
            let (t, pk) = r.split_once(' ').unwrap();
            (t.to_owned(), pk.to_owned())
        }).collect();
        assert!(tables.len() > 20, "{tables:?}");
        let exceptions: Vec<&str> = NOT_KEYED_BY_ORGANIZATION.iter().map(|(t, _)| *t).collect();
        for (table, first) in &tables {
            if exceptions.contains(&table.as_str()) {
                continue;
            }
            assert_eq!(first, "org_id", "{table}: a tenant table leads its primary key with org_id");
        }
        // Each exception still exists and is still one.
        for t in exceptions {
            let found = tables.iter().find(|(name, _)| name == t).unwrap_or_else(|| panic!("{t} is gone: drop it from the exceptions"));
            assert_ne!(found.1, "org_id", "{t} is keyed by organization now: drop it from the exceptions");
        }
    }
}
