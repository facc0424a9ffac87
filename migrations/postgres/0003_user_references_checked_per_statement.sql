-- A source profile, a combined profile and a link each belong to a user. As foreign keys,
-- PostgreSQL checked that row by row: for every row a query of its own and a lock on the user's
-- row, 22% of the server's time in an import of new people (BENCHMARKS.md, #23). The rule is now
-- checked once per statement, over all of the statement's new rows, after every part of the
-- statement has run (as the foreign keys were).
--
-- A foreign key also stops a user that rows refer to from being deleted, or its id changed, while
-- they are written. Users are never deleted and their ids never change (a merge archives, an
-- erasure keeps the id: ../shared/DESIGN.md §7.9); users_kept makes that a rule of the database,
-- so nothing can leave a row without its user.
CREATE FUNCTION users_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM referencing r WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id)) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('a row of %I refers to a user that does not exist', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;

-- It reads `users` of this schema, whatever the search path of the session that writes.
DO $$ BEGIN EXECUTE format('ALTER FUNCTION users_exist() SET search_path = %I', current_schema()); END $$;

CREATE FUNCTION users_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation', MESSAGE = 'users are never deleted and their ids never change';
END
$$;

ALTER TABLE source_profiles DROP CONSTRAINT source_profiles_user_id_fkey;
ALTER TABLE combined_profiles DROP CONSTRAINT combined_profiles_user_id_fkey;
ALTER TABLE links DROP CONSTRAINT links_user_id_fkey;

-- A trigger with a transition table takes one event, so inserts and updates have one each.
CREATE TRIGGER source_profiles_inserted AFTER INSERT ON source_profiles
    REFERENCING NEW TABLE AS referencing FOR EACH STATEMENT EXECUTE FUNCTION users_exist();
CREATE TRIGGER source_profiles_updated AFTER UPDATE ON source_profiles
    REFERENCING NEW TABLE AS referencing FOR EACH STATEMENT EXECUTE FUNCTION users_exist();
CREATE TRIGGER combined_profiles_inserted AFTER INSERT ON combined_profiles
    REFERENCING NEW TABLE AS referencing FOR EACH STATEMENT EXECUTE FUNCTION users_exist();
CREATE TRIGGER combined_profiles_updated AFTER UPDATE ON combined_profiles
    REFERENCING NEW TABLE AS referencing FOR EACH STATEMENT EXECUTE FUNCTION users_exist();
CREATE TRIGGER links_inserted AFTER INSERT ON links
    REFERENCING NEW TABLE AS referencing FOR EACH STATEMENT EXECUTE FUNCTION users_exist();
CREATE TRIGGER links_updated AFTER UPDATE ON links
    REFERENCING NEW TABLE AS referencing FOR EACH STATEMENT EXECUTE FUNCTION users_exist();

CREATE TRIGGER users_kept_delete BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_kept();
CREATE TRIGGER users_kept_id BEFORE UPDATE OF id ON users FOR EACH ROW
    WHEN (old.id IS DISTINCT FROM new.id) EXECUTE FUNCTION users_kept();
CREATE TRIGGER users_not_truncated BEFORE TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION users_kept();
