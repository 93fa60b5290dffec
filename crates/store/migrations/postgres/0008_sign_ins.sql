-- PostgreSQL translation of migrations/sqlite/0007_sign_ins.sql.
CREATE TABLE sign_ins (
    account     BIGINT NOT NULL REFERENCES accounts(account),
    time_ms     BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('failed', 'succeeded', 'unlocked')),
    address     TEXT NOT NULL,
    by_account  BIGINT REFERENCES accounts(account)
);
CREATE INDEX sign_ins_account ON sign_ins (account, time_ms);
CREATE INDEX sign_ins_time ON sign_ins (time_ms);
