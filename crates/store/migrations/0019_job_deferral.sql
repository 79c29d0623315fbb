-- The unique key a running job was claimed with, so a job that is put back
-- (deferred, not failed) can take its key back or merge into the job that
-- took it meanwhile.
ALTER TABLE jobs ADD COLUMN held_key TEXT;
