//! The four-eyes suite (`tests/four_eyes.rs`) again, on PostgreSQL when
//! `JIFEN_TEST_DATABASE_URL` is set (see `tests/http_pg.rs`).

#[path = "four_eyes.rs"]
mod suite;
