-- Same meaning as postgres/0001_initial.sql; see ../README.md for the type mapping.
CREATE TABLE users (
    id          BLOB PRIMARY KEY NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'archived')),
    merged_into BLOB REFERENCES users (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE source_profiles (
    user_id        BLOB NOT NULL REFERENCES users (id),
    source         TEXT NOT NULL,
    external_id    TEXT,
    first_name     TEXT,
    middle_name    TEXT,
    last_name      TEXT,
    preferred_name TEXT,
    display_name   TEXT,
    email          TEXT,
    date_of_birth  TEXT,
    trn            TEXT,
    attributes     TEXT NOT NULL DEFAULT '{}',
    version        INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (user_id, source)
) WITHOUT ROWID;
CREATE INDEX source_profiles_source ON source_profiles (source, user_id);

CREATE TABLE combined_profiles (
    user_id               BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    first_name            TEXT,
    first_name_source     TEXT,
    middle_name           TEXT,
    middle_name_source    TEXT,
    last_name             TEXT,
    last_name_source      TEXT,
    preferred_name        TEXT,
    preferred_name_source TEXT,
    display_name          TEXT,
    display_name_source   TEXT,
    email                 TEXT,
    email_source          TEXT,
    date_of_birth         TEXT,
    date_of_birth_source  TEXT,
    trn                   TEXT,
    trn_source            TEXT,
    email_key             TEXT,
    first_name_key        TEXT,
    last_name_key         TEXT,
    version               INTEGER NOT NULL,
    updated_at            TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX combined_profiles_email_key ON combined_profiles (email_key);
CREATE INDEX combined_profiles_match ON combined_profiles (last_name_key, date_of_birth);

CREATE TABLE links (
    source       TEXT NOT NULL,
    external_key TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (source, external_key)
) WITHOUT ROWID;
CREATE INDEX links_user ON links (user_id);

-- SQLite has one writer at a time, so rows become visible in id order; the sequencer still runs
-- the same way on both backends (see postgres/0001_initial.sql). Rows are never deleted, so the
-- rowid is never reused without AUTOINCREMENT (which would cost a write to sqlite_sequence).
CREATE TABLE changes (
    id      INTEGER PRIMARY KEY,
    seq     INTEGER UNIQUE,
    user_id BLOB NOT NULL,
    source  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    fields  TEXT NOT NULL,
    status  TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX changes_unsequenced ON changes (id) WHERE seq IS NULL;

CREATE TABLE credentials (
    id          BLOB PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE UNIQUE INDEX credentials_live_name ON credentials (kind, name) WHERE revoked_at IS NULL;

CREATE TABLE registry_records (
    trn           TEXT PRIMARY KEY NOT NULL,
    first_name    TEXT NOT NULL,
    middle_name   TEXT,
    last_name     TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE import_jobs (
    id            BLOB PRIMARY KEY NOT NULL,
    service       TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    submitted_by  TEXT NOT NULL,
    dry_run       INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('receiving', 'queued', 'running', 'done', 'failed')),
    columns       TEXT NOT NULL,
    rows_total    INTEGER NOT NULL DEFAULT 0,
    rows_done     INTEGER NOT NULL DEFAULT 0,
    count_none    INTEGER NOT NULL DEFAULT 0,
    count_added   INTEGER NOT NULL DEFAULT 0,
    count_updated INTEGER NOT NULL DEFAULT 0,
    count_invalid INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    lease_until   TEXT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT
);
CREATE INDEX import_jobs_queue ON import_jobs (status, created_at);

CREATE TABLE import_rows (
    job_id      BLOB NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    source_id   TEXT NOT NULL DEFAULT '',
    raw_data    TEXT NOT NULL,
    problem     TEXT,
    outcome     TEXT,
    notes       TEXT,
    user_id     BLOB,
    PRIMARY KEY (job_id, row_number)
) WITHOUT ROWID;
