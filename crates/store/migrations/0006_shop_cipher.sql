-- TikTok Shop addresses a shop by an opaque `cipher` next to its id.
ALTER TABLE shops ADD COLUMN shop_cipher TEXT;
