-- jifen schema v16: transfers of points under recognition agreements (积分互认). At
-- home, each transfer-out entry's row: to which partner, how many points, the entry,
-- and only the SHA-256 of the one-time secret the resident was shown. At the receiving
-- side, each transfer-in entry's row names the home log's origin, the index and leaf
-- hash of its transfer-out entry, and keeps the statement it came with; one home entry
-- is taken once.
CREATE TABLE transfers_out (
    region         TEXT NOT NULL,
    transfer       BIGINT NOT NULL,
    partner        TEXT NOT NULL,
    member         BIGINT NOT NULL,
    points         BIGINT NOT NULL,
    seq            BIGINT NOT NULL,
    secret_sha256  TEXT NOT NULL,
    created_ms     BIGINT NOT NULL,
    PRIMARY KEY (region, transfer)
);
CREATE TABLE transfers_in (
    region            TEXT NOT NULL,
    transfer          BIGINT NOT NULL,
    partner           TEXT NOT NULL,
    member            BIGINT NOT NULL,
    home_origin       TEXT NOT NULL,
    home_index        BIGINT NOT NULL,
    home_leaf_sha256  TEXT NOT NULL,
    home_points       BIGINT NOT NULL,
    points            BIGINT NOT NULL,
    seq               BIGINT NOT NULL,
    statement         TEXT NOT NULL,
    created_ms        BIGINT NOT NULL,
    PRIMARY KEY (region, transfer),
    UNIQUE (region, home_origin, home_index)
);
