//! Witnesses between independent servers, the log on SQLite: cosigning after the commit,
//! a restart that forgets nothing, a split view refused and caught, a witness down while
//! appends go on, and the audit that requires the quorum (`common/witnessed.rs`).

mod common;

#[test]
fn witnesses_keep_a_log_honest() {
    common::witnessed::witnessed_logs(None);
}
