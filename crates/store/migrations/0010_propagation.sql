-- Variants whose sellable stock changed since channels were last told.
-- Written in the same transaction as the change; the propagator drains it.
CREATE TABLE dirty_variants (
    org_id      TEXT NOT NULL,
    variant_id  TEXT NOT NULL,
    marked_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, variant_id)
);
