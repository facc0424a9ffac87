-- As postgres/0004: the index of profiles by (source, user_id) that SCIM lists Staff SSO's users
-- through now holds SSO's profiles only, so that no other source's writes maintain it.
DROP INDEX source_profiles_source;
CREATE INDEX source_profiles_sso ON source_profiles (user_id) WHERE source = 'sso';
