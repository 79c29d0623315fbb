-- Channel listings (one row per marketplace variant/SKU of a shop) and
-- their mapping to master variants.
CREATE TABLE listings (
    org_id               TEXT NOT NULL,
    id                   TEXT NOT NULL,
    shop_id              TEXT NOT NULL,
    external_listing_id  TEXT NOT NULL,
    external_variant_id  TEXT NOT NULL,
    seller_sku           TEXT NOT NULL,
    title                TEXT NOT NULL,
    status               TEXT NOT NULL,
    variant_id           TEXT,
    warehouse_id         TEXT,
    channel_stock        BIGINT NOT NULL DEFAULT 0,
    channel_reserved     BIGINT,
    price_amount         BIGINT,
    price_currency       TEXT,
    last_pushed_qty      BIGINT,
    last_pushed_at       BIGINT,
    last_push_result     TEXT,
    last_seen_at         BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, shop_id, external_listing_id, external_variant_id),
    FOREIGN KEY (org_id, shop_id) REFERENCES shops (org_id, id),
    FOREIGN KEY (org_id, variant_id) REFERENCES variants (org_id, id)
);
CREATE INDEX listings_variant ON listings (org_id, variant_id);
CREATE INDEX listings_unmapped ON listings (org_id, variant_id, id);
