-- Units a push to a selling listing held back while it landed stay that
-- listing's until the sales made meanwhile are booked: counted as shown
-- there until `held_until` (ms), so no other listing is given them first.
ALTER TABLE listings ADD COLUMN held_back BIGINT NOT NULL DEFAULT 0;
ALTER TABLE listings ADD COLUMN held_until BIGINT;
