-- The few attributes an evaluation of fairness needs, and no more (issue: evaluation).
-- Private: never in the log or a public artefact; in the member's export; deleted
-- with the member. Both optional: a row holds what was recorded.
CREATE TABLE member_attributes (
    region      TEXT NOT NULL,
    member      INTEGER NOT NULL,
    -- Shown only as an age band.
    birth_year  INTEGER,
    -- resident (常住) | migrant (外出务工) | floating (流动人口)
    residence   TEXT,
    PRIMARY KEY (region, member),
    FOREIGN KEY (region, member) REFERENCES members(region, member)
) WITHOUT ROWID;
