-- Per-shop sync settings: what share of available stock the shop shows,
-- units held back, an upper limit, and dry-run (compute and record pushes
-- without sending them, for safe onboarding).
ALTER TABLE shops ADD COLUMN allocation_percent BIGINT NOT NULL DEFAULT 100;
ALTER TABLE shops ADD COLUMN stock_buffer BIGINT NOT NULL DEFAULT 0;
ALTER TABLE shops ADD COLUMN stock_cap BIGINT;
ALTER TABLE shops ADD COLUMN dry_run BIGINT NOT NULL DEFAULT 0;
