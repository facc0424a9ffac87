-- As postgres/0009. users_archived is made again by the rebuild of users after the migrations
-- (`crate::sqlite::after_migrations`), which drops the table's indexes with it.
CREATE TABLE retention_state (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT,
    lease_until TEXT,
    job_id      BLOB,
    after_row   INTEGER NOT NULL DEFAULT 0,
    after_at    TEXT,
    after_user  BLOB
) WITHOUT ROWID;

ALTER TABLE import_jobs ADD COLUMN data_removed_at TEXT;
CREATE INDEX import_jobs_retention ON import_jobs (finished_at, id)
    WHERE data_removed_at IS NULL AND finished_at IS NOT NULL;

CREATE INDEX users_archived ON users (updated_at, id) WHERE status = 'archived' AND merged_into IS NULL;
