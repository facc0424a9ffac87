-- As postgres/0014.
CREATE TABLE teams (
    slug             TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    abbreviation     TEXT,
    description      TEXT,
    leaders_ordering TEXT NOT NULL DEFAULT 'alphabetical' CHECK (leaders_ordering IN ('alphabetical', 'custom')),
    cost_code        TEXT,
    team_type        TEXT NOT NULL DEFAULT 'standard' CHECK (team_type IN ('standard', 'directorate', 'portfolio')),
    parent           TEXT REFERENCES teams (slug) ON UPDATE CASCADE
);
CREATE INDEX teams_parent ON teams (parent);
INSERT INTO teams (slug, name, abbreviation) VALUES ('root-team', 'Root team', 'RT');
