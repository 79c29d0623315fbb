-- Next run time of each periodic schedule. Advancing it with a conditional
-- update decides which instance enqueues the period's job.
CREATE TABLE schedules (
    name         TEXT PRIMARY KEY,
    next_run_at  BIGINT NOT NULL
);
