-- One token refresh per shop at a time across every `serve` process: the
-- marketplaces' refresh tokens are single-use, so two processes refreshing
-- at once would have the second refused and the shop parked.
ALTER TABLE shops ADD COLUMN refresh_lease_owner TEXT;
ALTER TABLE shops ADD COLUMN refresh_lease_until BIGINT;
