-- Every marketplace API call made for a shop: what, how it went, how long.
-- Never tokens, secrets or personal data. Pruned after a week.
CREATE TABLE api_calls (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    shop_id      TEXT NOT NULL,
    operation    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    code         TEXT,
    duration_ms  BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX api_calls_shop ON api_calls (org_id, shop_id, id);
CREATE INDEX api_calls_at ON api_calls (at);
