//! The data access suite (`tests/data_access.rs`) again, on PostgreSQL when
//! `JIFEN_TEST_DATABASE_URL` is set (see `tests/http_pg.rs`).

#[path = "data_access.rs"]
mod suite;
