-- Who read a member's personal data (PIPL): one row per staff read of one member's
-- name, history or claims, by page or API. The member sees their rows; the auditor
-- sees counts per staff account. Erased with the member.
CREATE TABLE data_access (
    region   TEXT NOT NULL,
    member   INTEGER NOT NULL,
    time_ms  INTEGER NOT NULL,
    account  INTEGER NOT NULL REFERENCES accounts(account),
    -- What was read: the API route, e.g. "GET /api/v1/regions/{region}/members".
    what     TEXT NOT NULL,
    PRIMARY KEY (region, member, time_ms, account, what)
);
CREATE INDEX data_access_by_account ON data_access (region, account, time_ms);
