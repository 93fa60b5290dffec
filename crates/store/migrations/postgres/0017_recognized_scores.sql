-- jifen schema v17: the categories a transfer counted (kept with it, so its statement
-- says what the half said when the points left), a half's policy for the partner's
-- statements of annual scores, and the scores taken from them: one row per member,
-- partner and year (a newer statement replaces an older), with the statement, and the
-- home region's pseudonymous subject, so one home resident's scores go to one member.
ALTER TABLE transfers_out ADD COLUMN categories TEXT NOT NULL DEFAULT '';
ALTER TABLE recognition_agreements ADD COLUMN count_scores BIGINT NOT NULL DEFAULT 0;
CREATE TABLE recognized_scores (
    region       TEXT NOT NULL,
    member       BIGINT NOT NULL,
    partner      TEXT NOT NULL,
    year         BIGINT NOT NULL,
    home_origin  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    home_score   BIGINT NOT NULL,
    points       BIGINT NOT NULL,
    statement    TEXT NOT NULL,
    operator     BIGINT NOT NULL,
    created_ms   BIGINT NOT NULL,
    PRIMARY KEY (region, member, partner, year)
);
CREATE INDEX recognized_scores_by_subject ON recognized_scores (region, home_origin, subject);
