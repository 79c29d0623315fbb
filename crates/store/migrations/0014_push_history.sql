-- Time the client held a call back to stay within the marketplace's rate.
ALTER TABLE api_calls ADD COLUMN pacing_wait_ms BIGINT NOT NULL DEFAULT 0;

-- Every push decision per listing (sent, refused, dry run, drift found),
-- with the number and why; pruned with the call log.
CREATE TABLE push_history (
    org_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    listing_id  TEXT NOT NULL,
    quantity    BIGINT,
    result      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, listing_id) REFERENCES listings (org_id, id)
);
CREATE INDEX push_history_listing ON push_history (org_id, listing_id, id);
CREATE INDEX push_history_at ON push_history (at);
