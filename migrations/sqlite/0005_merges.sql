-- Same meaning as postgres/0005_merges.sql.
CREATE TABLE merges (
    id        BLOB PRIMARY KEY NOT NULL,
    survivor  BLOB NOT NULL REFERENCES users (id),
    merged    BLOB NOT NULL REFERENCES users (id),
    reason    TEXT NOT NULL,
    merged_by TEXT NOT NULL,
    merged_at TEXT NOT NULL,
    record    TEXT NOT NULL,
    undone_by TEXT,
    undone_at TEXT
) WITHOUT ROWID;
CREATE INDEX merges_survivor ON merges (survivor);
CREATE INDEX merges_merged ON merges (merged);

CREATE INDEX users_merged_into ON users (merged_into) WHERE merged_into IS NOT NULL;

ALTER TABLE changes ADD COLUMN survivor BLOB;

-- A person's history (admin), newest first.
CREATE INDEX IF NOT EXISTS changes_user ON changes (user_id);
