-- Orders arriving from marketplaces: the marketplace's own ids and status,
-- units that could not be reserved (sold by the channel beyond our stock),
-- and how the order reached us (to measure webhook loss).
ALTER TABLE order_lines ADD COLUMN external_listing_id TEXT;
ALTER TABLE order_lines ADD COLUMN external_variant_id TEXT;
ALTER TABLE order_lines ADD COLUMN quantity_short BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN marketplace_status TEXT;
ALTER TABLE orders ADD COLUMN first_seen_via TEXT;
ALTER TABLE orders ADD COLUMN seen_by_webhook BIGINT NOT NULL DEFAULT 0;
