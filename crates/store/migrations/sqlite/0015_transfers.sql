-- jifen schema v15: transfers of points under recognition agreements (积分互认). At
-- home, each transfer-out entry's row: to which partner, how many points, the entry,
-- and only the SHA-256 of the one-time secret the resident was shown. At the receiving
-- side, each transfer-in entry's row names the home log's origin, the index and leaf
-- hash of its transfer-out entry, and keeps the statement it came with; one home entry
-- is taken once.
CREATE TABLE transfers_out (
    region         TEXT NOT NULL,
    transfer       INTEGER NOT NULL,
    partner        TEXT NOT NULL,
    member         INTEGER NOT NULL,
    points         INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    secret_sha256  TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    PRIMARY KEY (region, transfer)
) WITHOUT ROWID;
CREATE TABLE transfers_in (
    region            TEXT NOT NULL,
    transfer          INTEGER NOT NULL,
    partner           TEXT NOT NULL,
    member            INTEGER NOT NULL,
    home_origin       TEXT NOT NULL,
    home_index        INTEGER NOT NULL,
    home_leaf_sha256  TEXT NOT NULL,
    home_points       INTEGER NOT NULL,
    points            INTEGER NOT NULL,
    seq               INTEGER NOT NULL,
    statement         TEXT NOT NULL,
    created_ms        INTEGER NOT NULL,
    PRIMARY KEY (region, transfer),
    UNIQUE (region, home_origin, home_index)
) WITHOUT ROWID;
