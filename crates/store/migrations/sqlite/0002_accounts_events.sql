-- Accounts, roles, tokens; events and check-ins; objections; HTTP idempotency.

-- People and integrations that sign in. Not per region: one person may hold roles
-- in several regions. (Distributed, this is a small reference table.)
CREATE TABLE accounts (
    account        INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    -- Argon2id PHC string; NULL for integrations, which use API tokens only.
    password_hash  TEXT,
    created_ms     INTEGER NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0
);

-- Roles per region: resident, reviewer, station, admin, merchant, auditor.
CREATE TABLE account_roles (
    region   TEXT NOT NULL REFERENCES regions(region),
    account  INTEGER NOT NULL REFERENCES accounts(account),
    role     TEXT NOT NULL,
    -- A resident role names the member record; staff who are also residents name theirs
    -- too, so the separation-of-duties rules can see their household.
    member   INTEGER,
    -- A merchant role names the sponsor it fulfils for.
    sponsor  TEXT,
    PRIMARY KEY (region, account, role)
) WITHOUT ROWID;
CREATE INDEX account_roles_by_account ON account_roles (account);

-- Bearer tokens. Only a hash is kept: a stolen database does not yield tokens.
CREATE TABLE tokens (
    token_hash  BLOB PRIMARY KEY,
    account     INTEGER NOT NULL REFERENCES accounts(account),
    kind        TEXT NOT NULL,      -- session | api
    -- API tokens act in one region and one role only.
    region      TEXT,
    role        TEXT,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;

-- Events (活动) with a check-in window; check-ins make claims.
CREATE TABLE events (
    region      TEXT NOT NULL REFERENCES regions(region),
    event       INTEGER NOT NULL,
    name        TEXT NOT NULL,
    indicator   TEXT NOT NULL,
    starts_ms   INTEGER NOT NULL,
    ends_ms     INTEGER NOT NULL,
    created_by  INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, event)
) WITHOUT ROWID;

CREATE TABLE checkins (
    region   TEXT NOT NULL,
    event    INTEGER NOT NULL,
    member   INTEGER NOT NULL,
    claim    INTEGER NOT NULL,
    time_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, event, member)
) WITHOUT ROWID;

-- Objections raised against claims on public notice (公示).
CREATE TABLE objections (
    region     TEXT NOT NULL,
    objection  INTEGER NOT NULL,
    claim      INTEGER NOT NULL,
    account    INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    time_ms    INTEGER NOT NULL,
    PRIMARY KEY (region, objection)
) WITHOUT ROWID;

-- Responses to HTTP writes by (account, Idempotency-Key): a retry gets the first answer.
CREATE TABLE http_idempotency (
    account     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (account, key)
) WITHOUT ROWID;
