-- PostgreSQL's 0002 keys its index of unnumbered changes by the writing transaction, to skip the
-- entries that numbered rows leave behind until VACUUM. SQLite removes an index entry when its
-- row changes, so there is nothing to skip and nothing to change.
SELECT 1;
