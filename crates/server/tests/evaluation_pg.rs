//! The evaluation suite (`tests/evaluation.rs`) again, on PostgreSQL when
//! `JIFEN_TEST_DATABASE_URL` is set (see `tests/http_pg.rs`).

#[path = "evaluation.rs"]
mod suite;
