-- PostgreSQL translation of migrations/sqlite/0001_init.sql: the same tables, keys and indexes;
-- integers are BIGINT, bytes BYTEA. Never edited once applied; a change is a new file.

-- jifen schema v1. Every table's key starts with the region, so the data of one
-- region can be moved, sharded or dropped as a unit.

CREATE TABLE regions (
    region              TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    parent              TEXT REFERENCES regions(region),
    utc_offset_minutes  BIGINT NOT NULL,
    appeal_window_days  BIGINT NOT NULL,
    -- The log's origin line, e.g. "jifen.example/log/tx-gaoqiao".
    origin              TEXT NOT NULL UNIQUE,
    -- The verifier key (public), name+keyid+base64. The private key lives in DIR/keys/.
    vkey                TEXT NOT NULL,
    created_ms          BIGINT NOT NULL
);

CREATE TABLE levels (
    region      TEXT NOT NULL REFERENCES regions(region),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    min_score   BIGINT NOT NULL,
    PRIMARY KEY (region, code)
);

CREATE TABLE indicators (
    region            TEXT NOT NULL REFERENCES regions(region),
    code              TEXT NOT NULL,
    version           BIGINT NOT NULL,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL,
    points            BIGINT NOT NULL,
    unit              TEXT NOT NULL,
    cap_day           BIGINT,
    cap_month         BIGINT,
    cap_year          BIGINT,
    evidence          TEXT NOT NULL,
    review            TEXT NOT NULL,       -- auto | one | two
    review_threshold  BIGINT,             -- for "two": awards at or above need two reviewers
    claimants         TEXT NOT NULL,       -- residents | staff
    valid_from        TEXT NOT NULL,       -- YYYY-MM-DD
    valid_to          TEXT,
    core              BIGINT NOT NULL,    -- 1: inherited by descendant regions
    notice_days       BIGINT NOT NULL,
    created_ms        BIGINT NOT NULL,
    PRIMARY KEY (region, code, version)
);

CREATE TABLE households (
    region      TEXT NOT NULL REFERENCES regions(region),
    household   BIGINT NOT NULL,
    label       TEXT NOT NULL,
    PRIMARY KEY (region, household)
);

CREATE TABLE members (
    region      TEXT NOT NULL REFERENCES regions(region),
    member      BIGINT NOT NULL,
    household   BIGINT NOT NULL,
    -- Personal data: set to NULL when the member is erased.
    name        TEXT,
    -- Public: the keyed commitment that stands for the member in the log.
    commitment  BYTEA NOT NULL,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (region, member),
    FOREIGN KEY (region, household) REFERENCES households(region, household)
);

-- The commitment keys. Deleting a row erases the link between a member and
-- their leaves (crypto-shredding); the log stays verifiable.
CREATE TABLE member_keys (
    region      TEXT NOT NULL,
    member      BIGINT NOT NULL,
    key         BYTEA NOT NULL,
    PRIMARY KEY (region, member),
    FOREIGN KEY (region, member) REFERENCES members(region, member)
);

-- The ledger: one row per entry, each a leaf of the region's Merkle tree at index seq.
CREATE TABLE entries (
    region             TEXT NOT NULL,
    seq                BIGINT NOT NULL,
    time_ms            BIGINT NOT NULL,
    kind               TEXT NOT NULL,
    member             BIGINT NOT NULL,
    -- Signed, as the member's account sees it: positive when points move to the
    -- member (from `counter`), negative when they move from the member (to `counter`).
    amount             BIGINT NOT NULL,
    -- The other account of the transfer: issuance, penalty, redemption:<sponsor>, expiry, recognition.
    counter            TEXT NOT NULL,
    indicator          TEXT,
    indicator_version  BIGINT,
    quantity           BIGINT NOT NULL,
    reason             TEXT NOT NULL,
    operator           BIGINT NOT NULL,
    reverses           BIGINT,
    annual_delta       BIGINT NOT NULL,
    PRIMARY KEY (region, seq)
);
CREATE INDEX entries_by_member ON entries (region, member, seq);
CREATE INDEX entries_by_reversed ON entries (region, reverses) WHERE reverses IS NOT NULL;

-- Balances of the region's system accounts (issuance, penalty, redemption:<sponsor>,
-- expiry, recognition), kept by the sequencer in the same transaction as the entries.
CREATE TABLE balances (
    region   TEXT NOT NULL,
    account  TEXT NOT NULL,
    balance  BIGINT NOT NULL,
    PRIMARY KEY (region, account)
);

-- Per member and local year: the annual score (年度积分) and the net flow of
-- spendable points. A member's spendable balance (可用积分) is the sum of the
-- flows of all years, so each batch updates one row per member.
CREATE TABLE member_years (
    region        TEXT NOT NULL,
    member        BIGINT NOT NULL,
    year          BIGINT NOT NULL,
    annual_score  BIGINT NOT NULL,
    net_flow      BIGINT NOT NULL,
    PRIMARY KEY (region, member, year)
);

-- Merkle tree tiles in the C2SP tlog-tiles layout: hashes of tree level 8*level,
-- nodes idx*256.. ; one blob per tile, the full tile or the widest partial one.
CREATE TABLE tiles (
    region  TEXT NOT NULL,
    level   BIGINT NOT NULL,
    idx     BIGINT NOT NULL,
    hashes  BYTEA NOT NULL,
    PRIMARY KEY (region, level, idx)
);

CREATE TABLE checkpoints (
    region   TEXT NOT NULL,
    size     BIGINT NOT NULL,
    root     BYTEA NOT NULL,
    note     TEXT NOT NULL,
    time_ms  BIGINT NOT NULL,
    PRIMARY KEY (region, size)
);

-- Client idempotency keys for appends: a retry returns the first result.
CREATE TABLE idempotency (
    region  TEXT NOT NULL,
    key     TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (region, key)
);

CREATE TABLE claims (
    region             TEXT NOT NULL,
    claim              BIGINT NOT NULL,
    member             BIGINT NOT NULL,
    indicator          TEXT NOT NULL,
    indicator_version  BIGINT NOT NULL,
    quantity           BIGINT NOT NULL,
    -- Private: the claimant's description and evidence.
    note               TEXT NOT NULL,
    status             TEXT NOT NULL,
    source             TEXT NOT NULL,      -- claim | direct | station | event | import
    submitted_by       BIGINT NOT NULL,   -- operator, or the member's own account
    submitted_ms       BIGINT NOT NULL,
    notice_until_ms    BIGINT,
    decided_ms         BIGINT,
    entry_seq          BIGINT,
    PRIMARY KEY (region, claim)
);
CREATE INDEX claims_by_status ON claims (region, status, claim);

CREATE TABLE claim_reviews (
    region     TEXT NOT NULL,
    claim      BIGINT NOT NULL,
    reviewer   BIGINT NOT NULL,
    decision   TEXT NOT NULL,              -- approve | reject
    time_ms    BIGINT NOT NULL,
    PRIMARY KEY (region, claim, reviewer)
);

CREATE TABLE appeals (
    region        TEXT NOT NULL,
    appeal        BIGINT NOT NULL,
    entry_seq     BIGINT NOT NULL,
    member        BIGINT NOT NULL,
    -- Private: the member's statement.
    statement     TEXT NOT NULL,
    status        TEXT NOT NULL,
    filed_ms      BIGINT NOT NULL,
    deadline_ms   BIGINT NOT NULL,
    decided_by    BIGINT,
    decided_ms    BIGINT,
    outcome_seq   BIGINT,
    PRIMARY KEY (region, appeal)
);
