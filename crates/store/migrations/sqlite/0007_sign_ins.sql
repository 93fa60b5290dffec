-- Sign-in attempts per account: wrong passwords in a row make the account refuse
-- sign-ins for a while (core signin.rs); a successful sign-in or an admin's unlock
-- ends the run. Kept so the account's owner and its admins see recent attempts;
-- deleted after SIGN_INS_KEEP_DAYS by the server's sweep.
CREATE TABLE sign_ins (
    account     INTEGER NOT NULL REFERENCES accounts(account),
    time_ms     INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('failed', 'succeeded', 'unlocked')),
    -- The client's address as the server saw it; for an unlock, empty.
    address     TEXT NOT NULL,
    -- For an unlock: the admin who did it.
    by_account  INTEGER REFERENCES accounts(account)
);
CREATE INDEX sign_ins_account ON sign_ins (account, time_ms);
CREATE INDEX sign_ins_time ON sign_ins (time_ms);
