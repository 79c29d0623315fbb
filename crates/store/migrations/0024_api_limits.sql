-- Requests counted by the API's rate limits, per key (a hashed token or
-- client address with its route group) in fixed windows. Shared by every
-- process on PostgreSQL; a single SQLite process counts in memory and
-- leaves this table empty.
CREATE TABLE api_limits (
    key_hash TEXT PRIMARY KEY,
    hits BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX api_limits_expiry ON api_limits (expires_at);
