-- Numbering a change leaves the entry of its unnumbered version in changes_unsequenced until
-- VACUUM, so the sequencer's scan of that index from its start slowed with every change since
-- the last vacuum (10 ms a poll after 750,000 changes without autovacuum). Each change now
-- records the transaction that wrote it and the index is keyed by it: the sequencer starts its
-- scan at the oldest transaction that may still have rows to number (sql/changes.rs).
-- Rows written before this migration take its transaction's id.
ALTER TABLE changes ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP INDEX changes_unsequenced;
CREATE INDEX changes_unsequenced ON changes (xact_id) WHERE seq IS NULL;
