-- jifen schema v11 (SQLite's v10): region settings and languages. A person's own choice of language
-- for the pages, kept on their account (every device they sign in on shows it); a
-- region's default language, which wins over the browser's header for its pages;
-- and whether its station staff may run events (create them, show their QR codes).
ALTER TABLE accounts ADD COLUMN lang TEXT;
ALTER TABLE regions ADD COLUMN default_lang TEXT;
ALTER TABLE regions ADD COLUMN stations_run_events BIGINT NOT NULL DEFAULT 0;
