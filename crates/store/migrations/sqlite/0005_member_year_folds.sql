-- How far member_years is up to date: it holds the effect of a region's entries
-- with seq < upto. Later entries (the tail) are added by whoever reads a member's
-- score or balance, until the sequencer folds them in (see ARCHITECTURE.md,
-- "Member years are folded in"). No row: nothing is folded yet.
CREATE TABLE member_year_folds (
    region  TEXT NOT NULL PRIMARY KEY,
    upto    INTEGER NOT NULL
) WITHOUT ROWID;

-- Until now every entry was folded in by the batch that posted it.
INSERT INTO member_year_folds (region, upto)
SELECT region, COUNT(*) FROM entries GROUP BY region;
