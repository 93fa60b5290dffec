-- jifen schema v14: recognition between regions (积分互认). Each region keeps its own
-- half of an agreement with a partner region (its log origin and key): whether it sends,
-- receives, which categories count, the exchange rate, a cap per member and year, the
-- dates, the witnesses it requires on the partner's checkpoints. Ending a half keeps it
-- (ended_ms), so what was agreed stays readable.
CREATE TABLE recognition_agreements (
    region               TEXT NOT NULL,
    partner              TEXT NOT NULL,
    partner_origin       TEXT NOT NULL,
    partner_vkey         TEXT NOT NULL,
    send                 INTEGER NOT NULL,
    receive              INTEGER NOT NULL,
    categories           TEXT NOT NULL,
    rate_num             INTEGER NOT NULL,
    rate_den             INTEGER NOT NULL,
    cap_per_member_year  INTEGER NOT NULL,
    valid_from           TEXT NOT NULL,
    valid_to             TEXT,
    witnesses            TEXT NOT NULL,
    quorum               INTEGER NOT NULL,
    updated_ms           INTEGER NOT NULL,
    ended_ms             INTEGER,
    PRIMARY KEY (region, partner)
) WITHOUT ROWID;
