-- PostgreSQL translation of migrations/sqlite/0002_accounts_events.sql: the same tables, keys and indexes;
-- integers are BIGINT, bytes BYTEA. Never edited once applied; a change is a new file.

-- Accounts, roles, tokens; events and check-ins; objections; HTTP idempotency.

-- People and integrations that sign in. Not per region: one person may hold roles
-- in several regions. (Distributed, this is a small reference table.)
CREATE TABLE accounts (
    account        BIGINT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    -- Argon2id PHC string; NULL for integrations, which use API tokens only.
    password_hash  TEXT,
    created_ms     BIGINT NOT NULL,
    disabled       BIGINT NOT NULL DEFAULT 0
);

-- Roles per region: resident, reviewer, station, admin, merchant, auditor.
CREATE TABLE account_roles (
    region   TEXT NOT NULL REFERENCES regions(region),
    account  BIGINT NOT NULL REFERENCES accounts(account),
    role     TEXT NOT NULL,
    -- A resident role names the member record; staff who are also residents name theirs
    -- too, so the separation-of-duties rules can see their household.
    member   BIGINT,
    -- A merchant role names the sponsor it fulfils for.
    sponsor  TEXT,
    PRIMARY KEY (region, account, role)
);
CREATE INDEX account_roles_by_account ON account_roles (account);

-- Bearer tokens. Only a hash is kept: a stolen database does not yield tokens.
CREATE TABLE tokens (
    token_hash  BYTEA PRIMARY KEY,
    account     BIGINT NOT NULL REFERENCES accounts(account),
    kind        TEXT NOT NULL,      -- session | api
    -- API tokens act in one region and one role only.
    region      TEXT,
    role        TEXT,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL
);

-- Events (活动) with a check-in window; check-ins make claims.
CREATE TABLE events (
    region      TEXT NOT NULL REFERENCES regions(region),
    event       BIGINT NOT NULL,
    name        TEXT NOT NULL,
    indicator   TEXT NOT NULL,
    starts_ms   BIGINT NOT NULL,
    ends_ms     BIGINT NOT NULL,
    created_by  BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (region, event)
);

CREATE TABLE checkins (
    region   TEXT NOT NULL,
    event    BIGINT NOT NULL,
    member   BIGINT NOT NULL,
    claim    BIGINT NOT NULL,
    time_ms  BIGINT NOT NULL,
    PRIMARY KEY (region, event, member)
);

-- Objections raised against claims on public notice (公示).
CREATE TABLE objections (
    region     TEXT NOT NULL,
    objection  BIGINT NOT NULL,
    claim      BIGINT NOT NULL,
    account    BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    time_ms    BIGINT NOT NULL,
    PRIMARY KEY (region, objection)
);

-- Responses to HTTP writes by (account, Idempotency-Key): a retry gets the first answer.
CREATE TABLE http_idempotency (
    account     BIGINT NOT NULL,
    key         TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      BIGINT NOT NULL,
    body        BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (account, key)
);
