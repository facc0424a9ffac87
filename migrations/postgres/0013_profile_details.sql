-- What a source says about how to reach a person and about their work (emails with their type,
-- a contact email, phones, pronouns, name pronunciation, job title, grade, team, manager): one
-- document per profile, since nothing looks a person up by them. The combined profile keeps
-- each with the source that won it.
ALTER TABLE source_profiles ADD COLUMN details jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE combined_profiles ADD COLUMN details jsonb NOT NULL DEFAULT '{}'::jsonb;
