-- One searchable text per product (its name, every variant's SKU and
-- barcode, one per line), rewritten by the store with every product change.
-- A trigram full-text index over it finds substring matches without
-- scanning the catalog.
CREATE TABLE catalog_search (
    org_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (org_id, product_id)
);
CREATE VIRTUAL TABLE catalog_search_fts USING fts5(
    text, content='catalog_search', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER catalog_search_ai AFTER INSERT ON catalog_search BEGIN
    INSERT INTO catalog_search_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER catalog_search_ad AFTER DELETE ON catalog_search BEGIN
    INSERT INTO catalog_search_fts (catalog_search_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER catalog_search_au AFTER UPDATE ON catalog_search BEGIN
    INSERT INTO catalog_search_fts (catalog_search_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO catalog_search_fts (rowid, text) VALUES (new.rowid, new.text);
END;
INSERT INTO catalog_search (org_id, product_id, text)
SELECT p.org_id, p.id, p.name || char(10) || COALESCE((
    SELECT group_concat(v.sku || char(10) || COALESCE(v.barcode, ''), char(10))
    FROM variants v WHERE v.org_id = p.org_id AND v.product_id = p.id), '')
FROM products p;
-- Short or very common terms walk the texts newest product first without
-- reading a row.
CREATE INDEX catalog_search_walk ON catalog_search (org_id, product_id DESC, text);
