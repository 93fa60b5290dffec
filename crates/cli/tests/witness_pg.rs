//! The witnesses' round (`common/witnessed.rs`) with the log on PostgreSQL.

mod common;

#[test]
fn witnesses_keep_a_log_on_postgresql_honest() {
    let db = jifen_store::testdb::TestDatabase::for_suite("witnesses with the log on PostgreSQL");
    common::witnessed::witnessed_logs(Some(&db));
}
