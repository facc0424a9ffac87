-- PostgreSQL's 0003 replaces its row-by-row foreign keys to users with a check per statement,
-- and forbids deleting a user or changing its id. SQLite keeps its foreign keys (checked in the
-- process, at little cost) and takes the same rule on users, so both refuse the same writes.
CREATE TRIGGER users_kept_delete BEFORE DELETE ON users
BEGIN
    SELECT RAISE(ABORT, 'users are never deleted and their ids never change');
END;
CREATE TRIGGER users_kept_id BEFORE UPDATE OF id ON users WHEN old.id IS NOT new.id
BEGIN
    SELECT RAISE(ABORT, 'users are never deleted and their ids never change');
END;
