-- As postgres/0008. The status 'erased' needs users' CHECK constraint changed, which SQLite can
-- only do by rebuilding the table with foreign keys off, and SQLite cannot switch them off inside
-- the transaction sqlx runs every migration in: the store rebuilds users right after the
-- migrations instead (`crate::sqlite::after_migrations`).
CREATE TABLE erasures (
    user_id   BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    person    BLOB NOT NULL REFERENCES users (id),
    erased_by TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    reason    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX erasures_person ON erasures (person);

CREATE INDEX import_rows_user ON import_rows (user_id) WHERE user_id IS NOT NULL;
