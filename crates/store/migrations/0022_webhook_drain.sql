-- Deliveries are processed in batches: a drain claims unprocessed entries
-- for a short lease, so several workers and instances never fetch the same
-- orders twice, and a crashed drain's entries are taken again when it ends.
ALTER TABLE webhook_inbox ADD COLUMN claimed_until BIGINT;
-- The marketplace's shop id the delivery names (when it names one), so a
-- push waits only for deliveries of its own shop.
ALTER TABLE webhook_inbox ADD COLUMN shop_key TEXT;
CREATE INDEX webhook_inbox_unprocessed ON webhook_inbox (marketplace, received_at) WHERE processed_at IS NULL;
-- Recent sales per variant (sale rate) are read from reservations by time.
CREATE INDEX reservations_recent ON reservations (org_id, variant_id, created_at);
-- How fast a change reaches each shop, measured: from a delivery's receipt
-- to its orders booked, and from a push's plan to the marketplace's answer
-- (a decaying maximum, milliseconds). The split threshold follows them.
ALTER TABLE shops ADD COLUMN intake_lag_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN push_latency_ms BIGINT NOT NULL DEFAULT 0;
