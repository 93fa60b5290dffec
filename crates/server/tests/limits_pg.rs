//! The limits suite (`tests/limits.rs`) again, on PostgreSQL when
//! `JIFEN_TEST_DATABASE_URL` is set (see `tests/http_pg.rs`).

#[path = "limits.rs"]
mod suite;
