-- As postgres/0015.
CREATE TABLE reference_entries (
    list     TEXT NOT NULL CHECK (list IN ('countries', 'uk_staff_locations')),
    key      TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry    TEXT NOT NULL,
    PRIMARY KEY (list, key)
);
CREATE UNIQUE INDEX reference_entries_order ON reference_entries (list, position);
