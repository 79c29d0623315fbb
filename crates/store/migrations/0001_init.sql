-- StoreSync schema, version 1.
--
-- Written in the SQL that SQLite and PostgreSQL share, so one file serves both
-- backends; a migration that must differ gets one file per backend (see
-- src/migrate.rs). Conventions:
--   * ids are application-generated UUIDv7 text;
--   * times are BIGINT milliseconds since the Unix epoch, UTC;
--   * money is BIGINT minor units plus a currency column;
--   * flags are BIGINT 0/1 (identical on both backends);
--   * every tenant-scoped table carries org_id, leads its primary key and
--     indexes with it, and references its parents by (org_id, id), so a row can
--     never point at another organization's row and the schema can later be
--     distributed by organization.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Sessions are found by the hash of their id; the id itself is never stored.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    id            TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE audit_log (
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    id            TEXT NOT NULL,
    at            BIGINT NOT NULL,
    actor_user_id TEXT,
    actor_token_id TEXT,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    entity_type   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    summary       TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE locations (
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    id          TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    is_default  BIGINT NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, code)
);

CREATE TABLE products (
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    archived_at  BIGINT,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE variants (
    org_id          TEXT NOT NULL,
    id              TEXT NOT NULL,
    product_id      TEXT NOT NULL,
    sku             TEXT NOT NULL,
    name            TEXT,
    price_amount    BIGINT NOT NULL CHECK (price_amount >= 0),
    price_currency  TEXT NOT NULL,
    barcode         TEXT,
    weight_grams    BIGINT CHECK (weight_grams IS NULL OR weight_grams >= 0),
    is_bundle       BIGINT NOT NULL DEFAULT 0 CHECK (is_bundle IN (0, 1)),
    allow_backorder BIGINT NOT NULL DEFAULT 0 CHECK (allow_backorder IN (0, 1)),
    low_stock_threshold BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, sku),
    FOREIGN KEY (org_id, product_id) REFERENCES products (org_id, id)
);
CREATE INDEX variants_product ON variants (org_id, product_id);

CREATE TABLE bundle_components (
    org_id               TEXT NOT NULL,
    bundle_variant_id    TEXT NOT NULL,
    component_variant_id TEXT NOT NULL,
    quantity             BIGINT NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (org_id, bundle_variant_id, component_variant_id),
    FOREIGN KEY (org_id, bundle_variant_id) REFERENCES variants (org_id, id),
    FOREIGN KEY (org_id, component_variant_id) REFERENCES variants (org_id, id)
);

-- The level is the running total of the ledger below, written in the same
-- transaction; the CHECKs make an oversell impossible even for a buggy caller.
CREATE TABLE inventory_levels (
    org_id          TEXT NOT NULL,
    variant_id      TEXT NOT NULL,
    location_id     TEXT NOT NULL,
    on_hand         BIGINT NOT NULL DEFAULT 0,
    reserved        BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    allow_backorder BIGINT NOT NULL DEFAULT 0 CHECK (allow_backorder IN (0, 1)),
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, variant_id, location_id),
    FOREIGN KEY (org_id, variant_id) REFERENCES variants (org_id, id),
    FOREIGN KEY (org_id, location_id) REFERENCES locations (org_id, id),
    CHECK (allow_backorder = 1 OR on_hand - reserved >= 0)
);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE stock_movements (
    org_id          TEXT NOT NULL,
    id              TEXT NOT NULL,
    variant_id      TEXT NOT NULL,
    location_id     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('adjustment', 'transfer', 'fulfilment', 'restock')),
    quantity        BIGINT NOT NULL,
    on_hand_after   BIGINT NOT NULL,
    reason          TEXT NOT NULL,
    reference_type  TEXT,
    reference_id    TEXT,
    actor           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, variant_id) REFERENCES variants (org_id, id),
    FOREIGN KEY (org_id, location_id) REFERENCES locations (org_id, id)
);
CREATE INDEX stock_movements_variant ON stock_movements (org_id, variant_id, id);

-- Results of idempotent operations, keyed by the caller's key within a scope
-- (adjustment, transfer, order). A replay returns the stored result.
CREATE TABLE idempotency_keys (
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    scope         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (org_id, scope, idem_key)
);

-- Channel connections (marketplace shops). Token columns hold AES-256-GCM
-- ciphertexts bound to (org_id, id, column); never plain text.
CREATE TABLE shops (
    org_id              TEXT NOT NULL REFERENCES orgs (id),
    id                  TEXT NOT NULL,
    marketplace         TEXT NOT NULL,
    external_shop_id    TEXT NOT NULL,
    name                TEXT NOT NULL,
    region              TEXT,
    status              TEXT NOT NULL CHECK (status IN ('active', 'needs_reauth', 'paused', 'error', 'disconnected')),
    access_token_enc    TEXT,
    refresh_token_enc   TEXT,
    access_expires_at   BIGINT,
    refresh_expires_at  BIGINT,
    last_error          TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (marketplace, external_shop_id)
);

CREATE TABLE orders (
    org_id            TEXT NOT NULL REFERENCES orgs (id),
    id                TEXT NOT NULL,
    channel           TEXT NOT NULL,
    shop_key          TEXT NOT NULL DEFAULT '',
    external_id       TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'ready_to_ship', 'shipped', 'delivered', 'completed', 'cancelled', 'returned')),
    currency          TEXT NOT NULL,
    subtotal_amount   BIGINT NOT NULL,
    shipping_amount   BIGINT NOT NULL DEFAULT 0,
    discount_amount   BIGINT NOT NULL DEFAULT 0,
    total_amount      BIGINT NOT NULL,
    customer          TEXT,
    note              TEXT,
    cancel_reason     TEXT,
    placed_at         BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, channel, shop_key, external_id),
    CHECK (total_amount = subtotal_amount + shipping_amount - discount_amount)
);
CREATE INDEX orders_status ON orders (org_id, status, id);
CREATE INDEX orders_placed ON orders (org_id, placed_at);

CREATE TABLE order_lines (
    org_id            TEXT NOT NULL,
    id                TEXT NOT NULL,
    order_id          TEXT NOT NULL,
    line_no           BIGINT NOT NULL,
    sku               TEXT NOT NULL,
    variant_id        TEXT,
    quantity          BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_amount BIGINT NOT NULL CHECK (unit_price_amount >= 0),
    total_amount      BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, order_id, line_no),
    FOREIGN KEY (org_id, order_id) REFERENCES orders (org_id, id),
    FOREIGN KEY (org_id, variant_id) REFERENCES variants (org_id, id)
);

CREATE TABLE reservations (
    org_id         TEXT NOT NULL,
    id             TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    order_line_id  TEXT NOT NULL,
    variant_id     TEXT NOT NULL,
    location_id    TEXT NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    status         TEXT NOT NULL CHECK (status IN ('open', 'fulfilled', 'released')),
    created_at     BIGINT NOT NULL,
    closed_at      BIGINT,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, order_id) REFERENCES orders (org_id, id),
    FOREIGN KEY (org_id, order_line_id) REFERENCES order_lines (org_id, id),
    FOREIGN KEY (org_id, variant_id, location_id) REFERENCES inventory_levels (org_id, variant_id, location_id)
);
CREATE INDEX reservations_order ON reservations (org_id, order_id);
CREATE INDEX reservations_open ON reservations (org_id, variant_id, location_id, status);

-- Status history of an order with the stock effect each step applied.
CREATE TABLE order_events (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    at           BIGINT NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    effect       TEXT NOT NULL,
    source       TEXT NOT NULL,
    note         TEXT,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, order_id) REFERENCES orders (org_id, id)
);
CREATE INDEX order_events_order ON order_events (org_id, order_id, id);

CREATE TABLE shipments (
    org_id           TEXT NOT NULL,
    id               TEXT NOT NULL,
    order_id         TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    tracking_number  TEXT NOT NULL,
    shipped_at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, order_id) REFERENCES orders (org_id, id)
);
CREATE INDEX shipments_order ON shipments (org_id, order_id);

-- Durable background work. Claimed with a lease; a crashed worker's job is
-- taken again once its lease expires.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    org_id            TEXT REFERENCES orgs (id),
    kind              TEXT NOT NULL,
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at            BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    max_attempts      BIGINT NOT NULL,
    unique_key        TEXT UNIQUE,
    last_error        TEXT,
    locked_by         TEXT,
    lease_expires_at  BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);

-- Verified webhook deliveries, stored before they are processed.
CREATE TABLE webhook_inbox (
    id            TEXT PRIMARY KEY,
    org_id        TEXT REFERENCES orgs (id),
    marketplace   TEXT NOT NULL,
    dedupe_key    TEXT NOT NULL,
    payload       TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    processed_at  BIGINT,
    UNIQUE (marketplace, dedupe_key)
);
