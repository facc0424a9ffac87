-- As postgres/0011, whose index SQLite has already: changes_user (user_id) holds each row's
-- rowid, which is changes.id, after the key, so it is ordered by (user_id, id).
SELECT 1;
