-- One searchable text per product (its name, every variant's SKU and
-- barcode, one per line), rewritten by the store with every product change.
-- A trigram GIN index (pg_trgm) over it finds substring matches without
-- scanning the catalog; where the extension cannot be created the search
-- still works, by scanning.
CREATE TABLE catalog_search (
    org_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (org_id, product_id)
);
INSERT INTO catalog_search (org_id, product_id, text)
SELECT p.org_id, p.id, p.name || chr(10) || COALESCE((
    SELECT string_agg(v.sku || chr(10) || COALESCE(v.barcode, ''), chr(10))
    FROM variants v WHERE v.org_id = p.org_id AND v.product_id = p.id), '')
FROM products p;
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available; catalog search will scan';
END
$$;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX catalog_search_trgm ON catalog_search USING gin (text gin_trgm_ops)';
    END IF;
END
$$;
