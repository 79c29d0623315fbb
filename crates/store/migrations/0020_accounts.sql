-- Accounts: people join an organization by accepting an invitation sent to
-- their email (nobody else ever sets or learns their password), reset a
-- forgotten password by an emailed link, and, where the installation allows
-- it, sign up with a new organization by an emailed link. Every token is
-- stored as its SHA-256 hash only.

CREATE TABLE invitations (
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    id           TEXT NOT NULL,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   TEXT REFERENCES users (id),
    invited_by_label TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    accepted_by  TEXT REFERENCES users (id),
    revoked_at   BIGINT,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX invitations_email ON invitations (org_id, email);

CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- A sign-up waiting for its email to be confirmed: no account, no password
-- and no organization exist until the link is followed.
CREATE TABLE signups (
    token_hash  TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    org_slug    TEXT NOT NULL,
    org_name    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- Requests that send mail to an address someone typed (reset, sign-up),
-- counted per address whether or not it has an account, so the limit
-- tells nothing about who has one.
CREATE TABLE mail_requests (
    kind        TEXT NOT NULL,
    email       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX mail_requests_email ON mail_requests (kind, email, created_at);
