//! The `tests/appeals.rs` suite again, each app on a fresh PostgreSQL database of
//! its own on the server `JIFEN_TEST_DATABASE_URL` names (the harness picks the
//! store by this binary's name ending in `_pg`). Without that variable the binary
//! says once that the PostgreSQL half was skipped, and passes.

#[path = "appeals.rs"]
mod suite;
