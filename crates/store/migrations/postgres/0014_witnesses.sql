-- jifen schema v14: witnesses (c2sp.org/tlog-witness). What this server holds, as a
-- witness, of each log it follows: the largest checkpoint it cosigned (it never cosigns
-- a smaller one, nor another tree of that size, across restarts). The witnesses a region
-- names, with the quorum its readers are told to ask, and the cosignatures its
-- checkpoints got back, published with them.
CREATE TABLE witnessed_logs (
    origin      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    root        BYTEA NOT NULL,
    checkpoint  TEXT NOT NULL,
    updated_ms  BIGINT NOT NULL
);
CREATE TABLE region_witnesses (
    region  TEXT NOT NULL,
    name    TEXT NOT NULL,
    vkey    TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (region, name)
);
ALTER TABLE regions ADD COLUMN witness_quorum BIGINT NOT NULL DEFAULT 0;
CREATE TABLE cosignatures (
    region     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    witness    TEXT NOT NULL,
    timestamp  BIGINT NOT NULL,
    line       TEXT NOT NULL,
    PRIMARY KEY (region, size, witness)
);
