//! The main HTTP suite (`tests/http.rs`) again, each app on a fresh PostgreSQL
//! database of its own on the server `JIFEN_TEST_DATABASE_URL` names
//! ([`suite::common::ON_POSTGRES`] picks the store by this binary's name). Without
//! that variable the binary says once that the PostgreSQL half was skipped, and passes.

#[path = "http.rs"]
mod suite;
