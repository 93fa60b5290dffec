-- jifen schema v12 (SQLite's v11): the committee's queue and the resident's own code.
-- A reviewer's reason for a decision (private: the claimant and staff see it, the
-- log never holds it); the days a region gives its reviewers to decide a claim
-- (the queue counts what is past them); and each member's code, which staff of the
-- region scan to open that resident. The code is not a credential: it only finds
-- the member for someone already signed in as staff, and the resident can renew it.
ALTER TABLE claim_reviews ADD COLUMN reason TEXT;
ALTER TABLE regions ADD COLUMN review_days BIGINT NOT NULL DEFAULT 7;
CREATE TABLE member_codes (
    region      TEXT NOT NULL,
    member      BIGINT NOT NULL,
    code        TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (region, member)
);
CREATE UNIQUE INDEX member_codes_by_code ON member_codes (region, code);
