-- jifen schema v13: witnesses (c2sp.org/tlog-witness). What this server holds, as a
-- witness, of each log it follows: the largest checkpoint it cosigned (it never cosigns
-- a smaller one, nor another tree of that size, across restarts). The witnesses a region
-- names, with the quorum its readers are told to ask, and the cosignatures its
-- checkpoints got back, published with them.
CREATE TABLE witnessed_logs (
    origin      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    root        BLOB NOT NULL,
    checkpoint  TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE region_witnesses (
    region  TEXT NOT NULL,
    name    TEXT NOT NULL,
    vkey    TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (region, name)
) WITHOUT ROWID;
ALTER TABLE regions ADD COLUMN witness_quorum INTEGER NOT NULL DEFAULT 0;
CREATE TABLE cosignatures (
    region     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    witness    TEXT NOT NULL,
    timestamp  INTEGER NOT NULL,
    line       TEXT NOT NULL,
    PRIMARY KEY (region, size, witness)
) WITHOUT ROWID;
