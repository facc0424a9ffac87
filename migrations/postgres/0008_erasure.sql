-- Erasure on a person's request (DESIGN.md §7.9): an erased user keeps its id and the shape of its
-- history, with status 'erased'; who erased it, when and why is recorded here, with no personal
-- data. `person` is the survivor of the erased group (the user and everyone merged into it).
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('active', 'inactive', 'archived', 'erased'));

CREATE TABLE erasures (
    user_id   uuid PRIMARY KEY REFERENCES users (id),
    person    uuid NOT NULL REFERENCES users (id),
    erased_by text NOT NULL,
    erased_at timestamptz NOT NULL,
    reason    text NOT NULL
);
CREATE INDEX erasures_person ON erasures (person);

-- An erasure, and a person's export, find the import rows that named them by this index.
CREATE INDEX import_rows_user ON import_rows (user_id) WHERE user_id IS NOT NULL;
