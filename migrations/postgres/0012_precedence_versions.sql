-- Precedence as data (DESIGN.md §7.2): each `admin precedence set` stores a new version; the
-- highest is in force. No row: the precedence the project ships (version 0).
CREATE TABLE precedence_versions (
    version  bigint PRIMARY KEY,
    -- The TOML document, as `admin precedence show` prints it.
    document text NOT NULL,
    set_by   text NOT NULL,
    set_at   timestamptz NOT NULL
);

-- The re-derivation a new version starts: one process at a time under a lease, its place moved
-- in the same transaction as the combined profiles of each chunk, so one killed resumes where
-- its last chunk committed and derives nobody twice with different versions.
CREATE TABLE precedence_rederive (
    name        text PRIMARY KEY,
    holder      text,
    lease_until timestamptz,
    -- The version being (or last) derived, and how far: 'pass' over everyone in id order, up to
    -- after_user, or 'done'.
    version     bigint NOT NULL DEFAULT 0,
    phase       text NOT NULL DEFAULT 'done',
    after_user  uuid
);
