-- Merges of two records of one person, each with what it changed, so that it can be undone
-- exactly (see identity_core::merge). `record` holds both people's status and combined profile
-- from before the merge, the combined profiles' versions after it, and the links it moved.
CREATE TABLE merges (
    id        uuid PRIMARY KEY,
    survivor  uuid NOT NULL REFERENCES users (id),
    merged    uuid NOT NULL REFERENCES users (id),
    reason    text NOT NULL,
    merged_by text NOT NULL,
    merged_at timestamptz NOT NULL,
    record    jsonb NOT NULL,
    undone_by text,
    undone_at timestamptz
);
CREATE INDEX merges_survivor ON merges (survivor);
CREATE INDEX merges_merged ON merges (merged);

-- A survivor's combined profile is derived from its own profiles and those of the people merged
-- into it: every write to a person reads them by this index, which holds only merged people.
CREATE INDEX users_merged_into ON users (merged_into) WHERE merged_into IS NOT NULL;

-- For `merged` and `unmerged` changes: the person merged into.
ALTER TABLE changes ADD COLUMN survivor uuid;

-- A person's history (admin): by person only, so that numbering a change (its seq) leaves this
-- index alone on SQLite. On a large change log, build it first with
-- CREATE INDEX CONCURRENTLY (the same name): this then finds it built (deploy/README.md).
CREATE INDEX IF NOT EXISTS changes_user ON changes (user_id);
