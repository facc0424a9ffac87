-- Users: one person, no personal data.
CREATE TABLE users (
    id          uuid PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('active', 'inactive', 'archived')),
    merged_into uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- What one source says about one user.
CREATE TABLE source_profiles (
    user_id        uuid NOT NULL REFERENCES users (id),
    source         text NOT NULL,
    external_id    text,
    first_name     text,
    middle_name    text,
    last_name      text,
    preferred_name text,
    display_name   text,
    email          text,
    date_of_birth  date,
    trn            text,
    -- The source's own document (for sso: the SCIM resource as last written).
    attributes     jsonb NOT NULL DEFAULT '{}'::jsonb,
    version        bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, source)
);
CREATE INDEX source_profiles_source ON source_profiles (source, user_id);

-- Derived from the source profiles after every write; what consumers read.
CREATE TABLE combined_profiles (
    user_id               uuid PRIMARY KEY REFERENCES users (id),
    first_name            text,
    first_name_source     text,
    middle_name           text,
    middle_name_source    text,
    last_name             text,
    last_name_source      text,
    preferred_name        text,
    preferred_name_source text,
    display_name          text,
    display_name_source   text,
    email                 text,
    email_source          text,
    date_of_birth         date,
    date_of_birth_source  text,
    trn                   text,
    trn_source            text,
    -- Lower-cased email while the user holds it (not archived): one live user per address.
    email_key             text,
    first_name_key        text,
    last_name_key         text,
    version               bigint NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE UNIQUE INDEX combined_profiles_email_key ON combined_profiles (email_key);
CREATE INDEX combined_profiles_match ON combined_profiles (last_name_key, date_of_birth);

-- (source, external id) -> user. external_key is the form uniqueness is enforced on.
CREATE TABLE links (
    source       text NOT NULL,
    external_key text NOT NULL,
    external_id  text NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (source, external_key)
);
CREATE INDEX links_user ON links (user_id);

-- The change log. Rows are appended with seq NULL in the writing transaction; a single sequencer
-- numbers them afterwards in the order they became visible, so a reader that resumes after the
-- last seq it saw never misses a row committed late by a slow transaction.
CREATE TABLE changes (
    id      bigserial PRIMARY KEY,
    seq     bigint UNIQUE,
    user_id uuid NOT NULL,
    source  text NOT NULL,
    actor   text NOT NULL,
    kind    text NOT NULL,
    fields  text NOT NULL,
    status  text NOT NULL,
    at      timestamptz NOT NULL
);
CREATE INDEX changes_unsequenced ON changes (id) WHERE seq IS NULL;
CREATE SEQUENCE change_seq;

-- Bearer tokens and API keys: only a hash of the secret is kept.
CREATE TABLE credentials (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    name        text NOT NULL,
    secret_hash bytea NOT NULL,
    scopes      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX credentials_live_name ON credentials (kind, name) WHERE revoked_at IS NULL;

-- The embedded teacher registry (DQT) used when no remote registry is configured.
CREATE TABLE registry_records (
    trn           text PRIMARY KEY,
    first_name    text NOT NULL,
    middle_name   text,
    last_name     text NOT NULL,
    date_of_birth date NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Import jobs and their rows: rows are stored at upload, processed in chunks, and keep their
-- result so the result file can be downloaded again.
CREATE TABLE import_jobs (
    id            uuid PRIMARY KEY,
    service       text NOT NULL,
    file_name     text NOT NULL,
    submitted_by  text NOT NULL,
    dry_run       boolean NOT NULL,
    status        text NOT NULL CHECK (status IN ('receiving', 'queued', 'running', 'done', 'failed')),
    columns       text NOT NULL,
    rows_total    bigint NOT NULL DEFAULT 0,
    rows_done     bigint NOT NULL DEFAULT 0,
    count_none    bigint NOT NULL DEFAULT 0,
    count_added   bigint NOT NULL DEFAULT 0,
    count_updated bigint NOT NULL DEFAULT 0,
    count_invalid bigint NOT NULL DEFAULT 0,
    error         text,
    attempts      integer NOT NULL DEFAULT 0,
    claimed_by    text,
    lease_until   timestamptz,
    created_at    timestamptz NOT NULL,
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX import_jobs_queue ON import_jobs (status, created_at);

CREATE TABLE import_rows (
    job_id      uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    row_number  bigint NOT NULL,
    -- The row's ID field, when it could be read.
    source_id   text NOT NULL DEFAULT '',
    raw_data    text NOT NULL,
    -- Why the record could not be read as eight fields (wrong field count, bad bytes), if so.
    problem     text,
    outcome     text,
    notes       text,
    user_id     uuid,
    PRIMARY KEY (job_id, row_number)
);
