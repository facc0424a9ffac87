-- Hawk nonces without the write-ahead log (#20): a signed request's nonce is recorded and
-- committed before it is answered, and with a logged table every such commit waited for a WAL
-- flush, which kept Hawk on api at 0.8× of an API key. A nonce is only worth its timestamp's
-- window (a minute either side of now): what an unlogged table loses, in a crash of the server
-- or a failover to a standby, is the nonces of the last minute, so a request captured in that
-- minute could be replayed once in the minute after. DECISIONS.md "Hawk" weighs this.
ALTER TABLE hawk_nonces SET UNLOGGED;
