-- People Finder's reference lists that are the department's data, not the project's: countries
-- and UK staff locations, loaded whole by `peoplefinder reference load` from the department's
-- datasets. An entry is kept as the JSON People Finder reads, under its key, in list order.
CREATE TABLE reference_entries (
    list     text NOT NULL CHECK (list IN ('countries', 'uk_staff_locations')),
    key      text NOT NULL,
    position integer NOT NULL,
    entry    jsonb NOT NULL,
    PRIMARY KEY (list, key)
);
CREATE UNIQUE INDEX reference_entries_order ON reference_entries (list, position);
