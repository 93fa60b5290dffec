//! The PostgreSQL server restarted under a running `jifen serve` with writes in
//! flight: jifen reconnects and goes on acknowledging writes, and no write it
//! acknowledged is missing afterwards. Alone in its test binary, since it restarts
//! the server every PostgreSQL test uses. Runs where `JIFEN_TEST_PG_RESTART` names
//! the shell command that restarts it (CI sets it); needs `JIFEN_TEST_DATABASE_URL`.

mod common;

#[test]
fn a_postgres_restart_under_load_loses_no_acknowledged_write() {
    let (Ok(url), Ok(restart)) = (
        std::env::var("JIFEN_TEST_DATABASE_URL"),
        std::env::var("JIFEN_TEST_PG_RESTART"),
    ) else {
        eprintln!(
            "JIFEN_TEST_DATABASE_URL and JIFEN_TEST_PG_RESTART are not both set: not restarting PostgreSQL"
        );
        return;
    };
    let out = common::drill(&[
        "--fault",
        "db-restart",
        "--trials",
        "2",
        "--clients",
        "6",
        "--postgres",
        &url,
        "--restart-cmd",
        &restart,
    ]);
    assert!(
        !out.contains("(after the restart 0)"),
        "jifen went on after the restart in every trial:\n{out}"
    );
}
