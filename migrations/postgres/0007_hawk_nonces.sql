-- Hawk nonces seen (#20): a request's (key id, nonce, timestamp) is accepted once, by whichever
-- replica sees it first. Rows older than the timestamp window are swept: a request that old is
-- refused by its timestamp before its nonce is looked at.
CREATE TABLE hawk_nonces (
    key_id TEXT NOT NULL,
    nonce  TEXT NOT NULL,
    ts     BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce, ts)
);
CREATE INDEX hawk_nonces_ts ON hawk_nonces (ts);
