-- Retention (DESIGN.md §7.9): import-worker's sweep removes what identity no longer needs to
-- keep. One row holds the sweep's lease (one worker at a time) and its place in each part, moved
-- in the same transaction as the rows it redacted, so a sweep killed at any point resumes where
-- its last chunk committed.
CREATE TABLE retention_state (
    name        text PRIMARY KEY,
    holder      text,
    lease_until timestamptz,
    -- Import rows: the job being swept and the last row number of it already swept.
    job_id      uuid,
    after_row   bigint NOT NULL DEFAULT 0,
    -- Archived people: the last swept, by (archived at, id).
    after_at    timestamptz,
    after_user  uuid
);

-- When the sweep began removing a finished job's rows' raw data, service ids and notes: from then
-- the job cannot be resumed and its results are gone.
ALTER TABLE import_jobs ADD COLUMN data_removed_at timestamptz;
CREATE INDEX import_jobs_retention ON import_jobs (finished_at, id)
    WHERE data_removed_at IS NULL AND finished_at IS NOT NULL;

-- People archived by their owner (not by a merge), by when: an archived user's updated_at is
-- the time of its archiving, as only a change of status moves it.
CREATE INDEX users_archived ON users (updated_at, id) WHERE status = 'archived' AND merged_into IS NULL;
