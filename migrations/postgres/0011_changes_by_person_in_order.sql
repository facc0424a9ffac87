-- A person's changes in the order they were written (#21): a subject's export pages through all
-- of them by (user_id, id), one index range a page, where by user_id alone every page sorted the
-- whole history (quadratic in its length). It serves what changes_user did, which goes. On a
-- large change log, build it first with CREATE INDEX CONCURRENTLY (the same name): this then
-- finds it built (deploy/README.md).
CREATE INDEX IF NOT EXISTS changes_user_id ON changes (user_id, id);
DROP INDEX IF EXISTS changes_user;
