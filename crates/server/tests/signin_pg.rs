//! The sign-in suite (`tests/signin.rs`) again, on PostgreSQL when
//! `JIFEN_TEST_DATABASE_URL` is set (see `tests/http_pg.rs`).

#[path = "signin.rs"]
mod suite;
