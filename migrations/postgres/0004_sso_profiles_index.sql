-- SCIM lists and counts Staff SSO's users in id order, through an index of every profile by
-- (source, user_id). Every import's profiles paid for entries that no query reads: one of the
-- ten index entries a new person costs (BENCHMARKS.md, #23). The index now holds SSO's profiles
-- only; the queries name the source as this predicate does.
DROP INDEX source_profiles_source;
CREATE INDEX source_profiles_sso ON source_profiles (user_id) WHERE source = 'sso';
