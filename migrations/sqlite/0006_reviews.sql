-- Same meaning as postgres/0006_reviews.sql.
CREATE TABLE review_items (
    id               BLOB PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('import_row', 'people')),
    status           TEXT NOT NULL CHECK (status IN ('open', 'decided')),
    subject_person   BLOB REFERENCES users (id),
    candidate_person BLOB REFERENCES users (id),
    import_service   TEXT,
    import_id        TEXT,
    import_row       INTEGER,
    import_job       BLOB,
    import_fields    TEXT,
    candidates       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    decision         TEXT CHECK (decision IN ('same', 'different')),
    decision_person  BLOB,
    decided_by       TEXT,
    decided_at       TEXT,
    CHECK ((kind = 'people') = (subject_person IS NOT NULL AND candidate_person IS NOT NULL)),
    CHECK ((kind = 'import_row') = (import_service IS NOT NULL AND import_id IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX review_items_open ON review_items (kind, id) WHERE status = 'open';
CREATE UNIQUE INDEX review_items_open_row ON review_items (import_service, import_id)
    WHERE kind = 'import_row' AND status = 'open';
CREATE UNIQUE INDEX review_items_open_pair ON review_items (subject_person, candidate_person)
    WHERE kind = 'people' AND status = 'open';

CREATE TABLE review_different (
    low        BLOB NOT NULL REFERENCES users (id),
    high       BLOB NOT NULL REFERENCES users (id),
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    PRIMARY KEY (low, high),
    CHECK (low < high)
) WITHOUT ROWID;

CREATE TABLE match_keys (
    key     TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
    PRIMARY KEY (key, user_id)
) WITHOUT ROWID;
CREATE INDEX match_keys_user ON match_keys (user_id);

CREATE TABLE matcher_state (
    name        TEXT PRIMARY KEY NOT NULL,
    after_seq   INTEGER NOT NULL,
    holder      TEXT,
    lease_until TEXT
);
