-- One-row-per-key table used by `storesync bench` to measure the raw write
-- ceiling of the database it runs on. Holds no business data.
CREATE TABLE bench_scratch (
    k TEXT PRIMARY KEY,
    v BIGINT NOT NULL
);
