-- PostgreSQL translation of migrations/sqlite/0003_market_year.sql: the same tables, keys and indexes;
-- integers are BIGINT, bytes BYTEA. Never edited once applied; a change is a new file.

-- The points supermarket (积分超市) and the yearly cycle.

-- A region's policy for the supermarket and the yearly close. A region without
-- a row has the defaults of jifen_core::market::Policy.
CREATE TABLE region_policies (
    region                 TEXT PRIMARY KEY REFERENCES regions(region),
    -- A reservation not fulfilled within this many hours is cancelled and refunded.
    reservation_hours      BIGINT NOT NULL,
    -- Points every member gets at the start of a year, posted by the year close.
    base_grant             BIGINT NOT NULL,
    -- Points not spent within this many years expire at a close, oldest first. NULL: never.
    expiry_years           BIGINT,
    -- Households whose members' combined annual score reaches this are model households.
    model_household_score  BIGINT,
    updated_ms             BIGINT NOT NULL
);

-- Who funds rewards: a partner merchant or a budget line, and the points of
-- redemptions it committed to honour. What is used of it is the balance of the
-- ledger account redemption:<sponsor>.
CREATE TABLE sponsors (
    region      TEXT NOT NULL REFERENCES regions(region),
    sponsor     TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,      -- merchant | budget
    budget      BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (region, sponsor)
);

CREATE TABLE rewards (
    region        TEXT NOT NULL,
    reward        BIGINT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    kind          TEXT NOT NULL,      -- goods | voucher | service
    price         BIGINT NOT NULL,
    -- Items left to reserve: a reservation takes one, a cancellation or expiry gives it back.
    stock         BIGINT NOT NULL CHECK (stock >= 0),
    min_level     TEXT,               -- a level code of the region; NULL: anyone
    limit_count   BIGINT,            -- per member per period; NULL: no limit
    limit_period  TEXT,               -- day | month | year
    sponsor       TEXT NOT NULL,
    active_from   TEXT NOT NULL,      -- YYYY-MM-DD, local
    active_to     TEXT,               -- inclusive; NULL: open-ended
    created_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    PRIMARY KEY (region, reward),
    FOREIGN KEY (region, sponsor) REFERENCES sponsors(region, sponsor)
);

-- Redemptions: reserved (points taken by a redemption entry) → fulfilled by the
-- sponsor's merchant, or cancelled / expired (points back by a refund entry).
CREATE TABLE redemptions (
    region       TEXT NOT NULL,
    redemption   BIGINT NOT NULL,
    reward       BIGINT NOT NULL,
    member       BIGINT NOT NULL,
    sponsor      TEXT NOT NULL,
    price        BIGINT NOT NULL,
    code         TEXT NOT NULL,
    status       TEXT NOT NULL,      -- reserved | fulfilled | cancelled | expired
    reserved_by  BIGINT NOT NULL,
    reserved_ms  BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL,
    closed_by    BIGINT,
    closed_ms    BIGINT,
    entry_seq    BIGINT NOT NULL,
    refund_seq   BIGINT,
    PRIMARY KEY (region, redemption),
    UNIQUE (region, code),
    FOREIGN KEY (region, reward) REFERENCES rewards(region, reward)
);
CREATE INDEX redemptions_open ON redemptions (region, status, expires_ms);
CREATE INDEX redemptions_by_member ON redemptions (region, member, reward, reserved_ms);
CREATE INDEX redemptions_by_sponsor ON redemptions (region, sponsor, status, redemption);

-- Closed years. `status` is closing while the per-member part (expiry, next
-- year's base grant) runs in chunks, `done_member` the last member done; each
-- chunk commits with its entries, so a close that stopped resumes where it was.
CREATE TABLE year_closes (
    region            TEXT NOT NULL REFERENCES regions(region),
    year              BIGINT NOT NULL,
    status            TEXT NOT NULL,      -- closing | closed
    closed_by         BIGINT NOT NULL,
    started_ms        BIGINT NOT NULL,
    closed_ms         BIGINT,
    done_member       BIGINT NOT NULL,
    -- The region's log size when the close began: entries from here on are newer
    -- than the frozen scores.
    start_size        BIGINT NOT NULL,
    members           BIGINT NOT NULL,
    base_grant        BIGINT NOT NULL,   -- per member, from the policy at the close
    expiry_years      BIGINT,
    granted           BIGINT NOT NULL,   -- points granted in all
    granted_members   BIGINT NOT NULL,
    expired           BIGINT NOT NULL,   -- points expired in all
    expired_members   BIGINT NOT NULL,
    model_households  BIGINT NOT NULL,
    PRIMARY KEY (region, year)
);

-- The annual scores a close froze, with the level each reached.
CREATE TABLE year_scores (
    region        TEXT NOT NULL,
    year          BIGINT NOT NULL,
    member        BIGINT NOT NULL,
    household     BIGINT NOT NULL,
    annual_score  BIGINT NOT NULL,
    level         TEXT,
    -- Points earned (awards, base grants, recognition in) after the expiry cut, as
    -- of the close's start; the close's expiry step adds what was earned since.
    recent_earned BIGINT NOT NULL,
    PRIMARY KEY (region, year, member)
);

CREATE TABLE year_households (
    region     TEXT NOT NULL,
    year       BIGINT NOT NULL,
    household  BIGINT NOT NULL,
    members    BIGINT NOT NULL,
    score      BIGINT NOT NULL,
    model      BIGINT NOT NULL,      -- 1: a model household (积分示范户)
    PRIMARY KEY (region, year, household)
);

-- Totals of the year's entries per indicator (or, for entries without one, per
-- kind), as the members' accounts see them: awards positive, deductions negative.
CREATE TABLE year_totals (
    region     TEXT NOT NULL,
    year       BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    indicator  TEXT NOT NULL,         -- '' for entries without an indicator
    name       TEXT NOT NULL,         -- the indicator's name, '' without one
    category   TEXT NOT NULL,         -- the indicator's category, '' without one
    entries    BIGINT NOT NULL,
    points     BIGINT NOT NULL,
    PRIMARY KEY (region, year, kind, indicator)
);
