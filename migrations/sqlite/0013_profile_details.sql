-- As postgres/0013.
ALTER TABLE source_profiles ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
ALTER TABLE combined_profiles ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
