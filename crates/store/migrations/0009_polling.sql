-- How far a shop's orders have been polled: the next poll starts here (less
-- an overlap window, so nothing on the boundary is missed).
ALTER TABLE shops ADD COLUMN orders_polled_until BIGINT;
