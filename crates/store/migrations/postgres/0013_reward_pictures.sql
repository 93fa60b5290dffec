-- jifen schema v13 (SQLite's v12): the shop's categories and pictures. A reward's category (where
-- the shop lists it), and one picture per reward, kept with it (checked by its
-- bytes to be a PNG, JPEG or WebP image, at most 200 KB), its SHA-256 the ETag
-- that lets browsers and proxies keep it.
ALTER TABLE rewards ADD COLUMN category TEXT;
CREATE TABLE reward_pictures (
    region        TEXT NOT NULL,
    reward        BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    bytes         BYTEA NOT NULL,
    sha256        TEXT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    PRIMARY KEY (region, reward)
);
