//! `jifen drill` under HTTP load: SIGKILL of `jifen serve` at a random moment, then
//! every acknowledged write is there, the unanswered ones apply once when sent again
//! with their keys, the balances equal the answered writes, and `jifen verify` passes;
//! on SQLite, and on PostgreSQL when `JIFEN_TEST_DATABASE_URL` is set.
//! (The restart of the PostgreSQL server itself is `pg_restart.rs`, alone in its binary.)

mod common;

use common::drill;

#[test]
fn sigkill_under_http_load_loses_no_acknowledged_write_sqlite() {
    drill(&["--trials", "3", "--clients", "6"]);
}

#[test]
fn sigkill_under_http_load_loses_no_acknowledged_write_postgres() {
    let Ok(url) = std::env::var("JIFEN_TEST_DATABASE_URL") else {
        eprintln!("JIFEN_TEST_DATABASE_URL is not set: the PostgreSQL half does not run");
        return;
    };
    drill(&["--trials", "2", "--clients", "6", "--postgres", &url]);
}
