-- As postgres/0012.
CREATE TABLE precedence_versions (
    version  INTEGER PRIMARY KEY NOT NULL,
    document TEXT NOT NULL,
    set_by   TEXT NOT NULL,
    set_at   TEXT NOT NULL
);

CREATE TABLE precedence_rederive (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT,
    lease_until TEXT,
    version     INTEGER NOT NULL DEFAULT 0,
    phase       TEXT NOT NULL DEFAULT 'done',
    after_user  BLOB
) WITHOUT ROWID;
