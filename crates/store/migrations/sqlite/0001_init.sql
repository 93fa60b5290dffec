-- jifen schema v1. Every table's key starts with the region, so the data of one
-- region can be moved, sharded or dropped as a unit.

CREATE TABLE regions (
    region              TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    parent              TEXT REFERENCES regions(region),
    utc_offset_minutes  INTEGER NOT NULL,
    appeal_window_days  INTEGER NOT NULL,
    -- The log's origin line, e.g. "jifen.example/log/tx-gaoqiao".
    origin              TEXT NOT NULL UNIQUE,
    -- The verifier key (public), name+keyid+base64. The private key lives in DIR/keys/.
    vkey                TEXT NOT NULL,
    created_ms          INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE levels (
    region      TEXT NOT NULL REFERENCES regions(region),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    min_score   INTEGER NOT NULL,
    PRIMARY KEY (region, code)
) WITHOUT ROWID;

CREATE TABLE indicators (
    region            TEXT NOT NULL REFERENCES regions(region),
    code              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL,
    points            INTEGER NOT NULL,
    unit              TEXT NOT NULL,
    cap_day           INTEGER,
    cap_month         INTEGER,
    cap_year          INTEGER,
    evidence          TEXT NOT NULL,
    review            TEXT NOT NULL,       -- auto | one | two
    review_threshold  INTEGER,             -- for "two": awards at or above need two reviewers
    claimants         TEXT NOT NULL,       -- residents | staff
    valid_from        TEXT NOT NULL,       -- YYYY-MM-DD
    valid_to          TEXT,
    core              INTEGER NOT NULL,    -- 1: inherited by descendant regions
    notice_days       INTEGER NOT NULL,
    created_ms        INTEGER NOT NULL,
    PRIMARY KEY (region, code, version)
) WITHOUT ROWID;

CREATE TABLE households (
    region      TEXT NOT NULL REFERENCES regions(region),
    household   INTEGER NOT NULL,
    label       TEXT NOT NULL,
    PRIMARY KEY (region, household)
) WITHOUT ROWID;

CREATE TABLE members (
    region      TEXT NOT NULL REFERENCES regions(region),
    member      INTEGER NOT NULL,
    household   INTEGER NOT NULL,
    -- Personal data: set to NULL when the member is erased.
    name        TEXT,
    -- Public: the keyed commitment that stands for the member in the log.
    commitment  BLOB NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, member),
    FOREIGN KEY (region, household) REFERENCES households(region, household)
) WITHOUT ROWID;

-- The commitment keys. Deleting a row erases the link between a member and
-- their leaves (crypto-shredding); the log stays verifiable.
CREATE TABLE member_keys (
    region      TEXT NOT NULL,
    member      INTEGER NOT NULL,
    key         BLOB NOT NULL,
    PRIMARY KEY (region, member),
    FOREIGN KEY (region, member) REFERENCES members(region, member)
) WITHOUT ROWID;

-- The ledger: one row per entry, each a leaf of the region's Merkle tree at index seq.
CREATE TABLE entries (
    region             TEXT NOT NULL,
    seq                INTEGER NOT NULL,
    time_ms            INTEGER NOT NULL,
    kind               TEXT NOT NULL,
    member             INTEGER NOT NULL,
    -- Signed, as the member's account sees it: positive when points move to the
    -- member (from `counter`), negative when they move from the member (to `counter`).
    amount             INTEGER NOT NULL,
    -- The other account of the transfer: issuance, penalty, redemption:<sponsor>, expiry, recognition.
    counter            TEXT NOT NULL,
    indicator          TEXT,
    indicator_version  INTEGER,
    quantity           INTEGER NOT NULL,
    reason             TEXT NOT NULL,
    operator           INTEGER NOT NULL,
    reverses           INTEGER,
    annual_delta       INTEGER NOT NULL,
    PRIMARY KEY (region, seq)
) WITHOUT ROWID;
CREATE INDEX entries_by_member ON entries (region, member, seq);
CREATE INDEX entries_by_reversed ON entries (region, reverses) WHERE reverses IS NOT NULL;

-- Balances of the region's system accounts (issuance, penalty, redemption:<sponsor>,
-- expiry, recognition), kept by the sequencer in the same transaction as the entries.
CREATE TABLE balances (
    region   TEXT NOT NULL,
    account  TEXT NOT NULL,
    balance  INTEGER NOT NULL,
    PRIMARY KEY (region, account)
) WITHOUT ROWID;

-- Per member and local year: the annual score (年度积分) and the net flow of
-- spendable points. A member's spendable balance (可用积分) is the sum of the
-- flows of all years, so each batch updates one row per member.
CREATE TABLE member_years (
    region        TEXT NOT NULL,
    member        INTEGER NOT NULL,
    year          INTEGER NOT NULL,
    annual_score  INTEGER NOT NULL,
    net_flow      INTEGER NOT NULL,
    PRIMARY KEY (region, member, year)
) WITHOUT ROWID;

-- Merkle tree tiles in the C2SP tlog-tiles layout: hashes of tree level 8*level,
-- nodes idx*256.. ; one blob per tile, the full tile or the widest partial one.
CREATE TABLE tiles (
    region  TEXT NOT NULL,
    level   INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    hashes  BLOB NOT NULL,
    PRIMARY KEY (region, level, idx)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    region   TEXT NOT NULL,
    size     INTEGER NOT NULL,
    root     BLOB NOT NULL,
    note     TEXT NOT NULL,
    time_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, size)
) WITHOUT ROWID;

-- Client idempotency keys for appends: a retry returns the first result.
CREATE TABLE idempotency (
    region  TEXT NOT NULL,
    key     TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (region, key)
) WITHOUT ROWID;

CREATE TABLE claims (
    region             TEXT NOT NULL,
    claim              INTEGER NOT NULL,
    member             INTEGER NOT NULL,
    indicator          TEXT NOT NULL,
    indicator_version  INTEGER NOT NULL,
    quantity           INTEGER NOT NULL,
    -- Private: the claimant's description and evidence.
    note               TEXT NOT NULL,
    status             TEXT NOT NULL,
    source             TEXT NOT NULL,      -- claim | direct | station | event | import
    submitted_by       INTEGER NOT NULL,   -- operator, or the member's own account
    submitted_ms       INTEGER NOT NULL,
    notice_until_ms    INTEGER,
    decided_ms         INTEGER,
    entry_seq          INTEGER,
    PRIMARY KEY (region, claim)
) WITHOUT ROWID;
CREATE INDEX claims_by_status ON claims (region, status, claim);

CREATE TABLE claim_reviews (
    region     TEXT NOT NULL,
    claim      INTEGER NOT NULL,
    reviewer   INTEGER NOT NULL,
    decision   TEXT NOT NULL,              -- approve | reject
    time_ms    INTEGER NOT NULL,
    PRIMARY KEY (region, claim, reviewer)
) WITHOUT ROWID;

CREATE TABLE appeals (
    region        TEXT NOT NULL,
    appeal        INTEGER NOT NULL,
    entry_seq     INTEGER NOT NULL,
    member        INTEGER NOT NULL,
    -- Private: the member's statement.
    statement     TEXT NOT NULL,
    status        TEXT NOT NULL,
    filed_ms      INTEGER NOT NULL,
    deadline_ms   INTEGER NOT NULL,
    decided_by    INTEGER,
    decided_ms    INTEGER,
    outcome_seq   INTEGER,
    PRIMARY KEY (region, appeal)
) WITHOUT ROWID;
