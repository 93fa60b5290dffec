-- jifen schema v4: large text (适老化) as a resident's own setting, so a station
-- operator can switch it on for them and every device they sign in on shows it.
ALTER TABLE accounts ADD COLUMN large_text INTEGER NOT NULL DEFAULT 0;
