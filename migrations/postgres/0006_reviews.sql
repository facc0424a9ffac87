-- The review queue (identity_core::review): an import row the seed's rules sent to manual
-- review, or two people the matcher found alike, with the people it may be.
CREATE TABLE review_items (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('import_row', 'people')),
    status           text NOT NULL CHECK (status IN ('open', 'decided')),
    -- people: the pair, the lower id first.
    subject_person   uuid REFERENCES users (id),
    candidate_person uuid REFERENCES users (id),
    -- import_row: the row, and the import profile it would write.
    import_service   text,
    import_id        text,
    import_row       bigint,
    import_job       uuid,
    import_fields    jsonb,
    candidates       jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    decision         text CHECK (decision IN ('same', 'different')),
    decision_person  uuid,
    decided_by       text,
    decided_at       timestamptz,
    CHECK ((kind = 'people') = (subject_person IS NOT NULL AND candidate_person IS NOT NULL)),
    CHECK ((kind = 'import_row') = (import_service IS NOT NULL AND import_id IS NOT NULL))
);
-- The queue, oldest first (ids are time-ordered).
CREATE INDEX review_items_open ON review_items (kind, id) WHERE status = 'open';
-- One open item per service row and per pair: a re-run of the file, or a rescan, adds none.
CREATE UNIQUE INDEX review_items_open_row ON review_items (import_service, import_id)
    WHERE kind = 'import_row' AND status = 'open';
CREATE UNIQUE INDEX review_items_open_pair ON review_items (subject_person, candidate_person)
    WHERE kind = 'people' AND status = 'open';

-- Pairs a reviewer decided are different people: never queued again.
CREATE TABLE review_different (
    low        uuid NOT NULL REFERENCES users (id),
    high       uuid NOT NULL REFERENCES users (id),
    decided_by text NOT NULL,
    decided_at timestamptz NOT NULL,
    PRIMARY KEY (low, high),
    CHECK (low < high)
);

-- The matcher's blocking keys (identity_core::matcher::blocking_keys) of every live person, kept
-- by the feed follower (admin), which looks up the people sharing a changed person's keys here.
CREATE TABLE match_keys (
    key     text NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id),
    PRIMARY KEY (key, user_id)
);
CREATE INDEX match_keys_user ON match_keys (user_id);

-- The feed follower's place in the change feed, and the replica holding its lease.
CREATE TABLE matcher_state (
    name        text PRIMARY KEY,
    after_seq   bigint NOT NULL,
    holder      text,
    lease_until timestamptz
);
