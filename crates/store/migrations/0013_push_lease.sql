-- A short lease on pushing a shop's stock, so that with several instances
-- only one push per shop is in flight and pushes cannot overtake each other.
ALTER TABLE shops ADD COLUMN push_lease_owner TEXT;
ALTER TABLE shops ADD COLUMN push_lease_until BIGINT;
