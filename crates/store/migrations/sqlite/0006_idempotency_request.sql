-- The digest of the request an Idempotency-Key answered (SHA-256 of method, path and
-- body), so the same key with another body is refused instead of answered with the
-- first response; NULL for answers kept before this column. Old answers are deleted
-- by their age, hence the index.
ALTER TABLE http_idempotency ADD COLUMN request BLOB;
CREATE INDEX http_idempotency_created ON http_idempotency (created_ms);
