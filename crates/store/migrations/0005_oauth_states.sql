-- Pending marketplace authorizations: the `state` a connect flow sends to
-- the marketplace, bound to who started it. Stored as a hash, single use.
CREATE TABLE oauth_states (
    state_hash   TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    marketplace  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
