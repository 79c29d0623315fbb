-- Units of a line the marketplace cancelled while the rest of the order
-- went on (a partial cancel); `quantity` stays what was ordered.
ALTER TABLE order_lines ADD COLUMN cancelled_quantity BIGINT NOT NULL DEFAULT 0;
