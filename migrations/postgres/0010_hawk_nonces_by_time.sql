-- Hawk nonces keyed by time first (#20): a nonce's timestamp is within a minute of now, so new
-- keys land at the right-hand end of one index, where they went to random pages of the primary
-- key and to a second index on ts before; the sweep of old nonces reads the same index's left
-- end. Uniqueness is the same triple.
ALTER TABLE hawk_nonces DROP CONSTRAINT hawk_nonces_pkey;
ALTER TABLE hawk_nonces ADD PRIMARY KEY (ts, key_id, nonce);
DROP INDEX hawk_nonces_ts;
