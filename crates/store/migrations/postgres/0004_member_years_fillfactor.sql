-- jifen schema v4 (PostgreSQL only; SQLite updates rows in place).
-- Every batch adds to one member_years row per member it touches, so a row is
-- updated many times a year. With room left on each page, PostgreSQL writes the new
-- row version beside the old one (a HOT update: no new index entry, the old version
-- pruned on the next visit) instead of on another page with a new primary-key entry.
-- Applies to pages written from now on; VACUUM FULL member_years rewrites the rest.
ALTER TABLE member_years SET (fillfactor = 50);
