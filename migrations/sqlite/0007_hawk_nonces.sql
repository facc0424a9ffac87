-- Same meaning as postgres/0007_hawk_nonces.sql.
CREATE TABLE hawk_nonces (
    key_id TEXT NOT NULL,
    nonce  TEXT NOT NULL,
    ts     INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce, ts)
) WITHOUT ROWID;
CREATE INDEX hawk_nonces_ts ON hawk_nonces (ts);
