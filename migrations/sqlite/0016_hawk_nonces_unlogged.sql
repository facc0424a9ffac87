-- PostgreSQL's 0016 makes Hawk nonces unlogged; SQLite has no such table kind, and its nonces
-- commit through the one writer with the rest (DECISIONS.md "Hawk"). Nothing to change.
SELECT 1;
