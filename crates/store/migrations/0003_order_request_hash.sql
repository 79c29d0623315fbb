-- Fingerprint of the request that created an order, so a repeated intake of
-- the same order is told apart from a different order reusing its id.
ALTER TABLE orders ADD COLUMN request_hash TEXT;
