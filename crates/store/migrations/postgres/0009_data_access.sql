-- PostgreSQL translation of migrations/sqlite/0008_data_access.sql.
CREATE TABLE data_access (
    region   TEXT NOT NULL,
    member   BIGINT NOT NULL,
    time_ms  BIGINT NOT NULL,
    account  BIGINT NOT NULL REFERENCES accounts(account),
    what     TEXT NOT NULL,
    PRIMARY KEY (region, member, time_ms, account, what)
);
CREATE INDEX data_access_by_account ON data_access (region, account, time_ms);
