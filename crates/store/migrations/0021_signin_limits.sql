-- Sign-in limiter, held in the database so it holds across `serve`
-- processes. One row per key: a SHA-256 hash of an account (email), a
-- client address, or an (account, address) pair that signed in before, so
-- rows stay small however long the input. `attempts` counts failed and
-- in-flight attempts of the window that ends at `expires_at`; a row past
-- `expires_at` is as good as absent and is pruned.
CREATE TABLE signin_limits (
    key_hash    TEXT PRIMARY KEY,
    attempts    BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX signin_limits_expiry ON signin_limits (expires_at);

-- Recent entries of one kind (failed sign-ins) without reading the whole log.
CREATE INDEX audit_log_action ON audit_log (org_id, action, id);

-- A connect flow is bound to the browser that started it: the hash of a
-- random value held in that browser's cookie.
ALTER TABLE oauth_states ADD COLUMN browser_hash TEXT;
