-- PostgreSQL translation of migrations/sqlite/0009_member_attributes.sql.
CREATE TABLE member_attributes (
    region      TEXT NOT NULL,
    member      BIGINT NOT NULL,
    birth_year  INTEGER,
    residence   TEXT,
    PRIMARY KEY (region, member),
    FOREIGN KEY (region, member) REFERENCES members(region, member)
);
