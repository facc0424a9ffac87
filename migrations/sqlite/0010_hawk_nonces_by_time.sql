-- As postgres/0010: the same rows, keyed by time first (SQLite changes a primary key by making
-- the table again).
CREATE TABLE hawk_nonces_by_time (
    key_id TEXT NOT NULL,
    nonce  TEXT NOT NULL,
    ts     INTEGER NOT NULL,
    PRIMARY KEY (ts, key_id, nonce)
) WITHOUT ROWID;
INSERT INTO hawk_nonces_by_time (key_id, nonce, ts) SELECT key_id, nonce, ts FROM hawk_nonces;
DROP TABLE hawk_nonces;
ALTER TABLE hawk_nonces_by_time RENAME TO hawk_nonces;
