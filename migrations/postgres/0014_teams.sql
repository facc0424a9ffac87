-- People Finder's teams: a tree under one root, each team pointing at its parent (a slug that
-- changes is followed by its children). Team writes are rare and take turns on the root's row.
CREATE TABLE teams (
    slug             text PRIMARY KEY,
    name             text NOT NULL,
    abbreviation     text,
    description      text,
    leaders_ordering text NOT NULL DEFAULT 'alphabetical' CHECK (leaders_ordering IN ('alphabetical', 'custom')),
    cost_code        text,
    team_type        text NOT NULL DEFAULT 'standard' CHECK (team_type IN ('standard', 'directorate', 'portfolio')),
    parent           text REFERENCES teams (slug) ON UPDATE CASCADE
);
CREATE INDEX teams_parent ON teams (parent);
INSERT INTO teams (slug, name, abbreviation) VALUES ('root-team', 'Root team', 'RT');
