//! Helpers shared by the CLI's end-to-end tests.

use std::path::Path;
use std::process::Command;

/// Runs `jifen verify` on a store the ingest bench wrote (in `store`, on the database
/// `database` names, else SQLite there), asserts that it passes, and returns the
/// entry count it reports for the bench's region.
pub fn verify_bench_store(store: &Path, database: Option<&str>) -> u64 {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jifen"));
    cmd.arg("--data").arg(store);
    if let Some(url) = database {
        cmd.arg("--database").arg(url);
    }
    let out = cmd.arg("verify").output().expect("run verify");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "verify failed:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
        .lines()
        .find_map(|l| l.strip_prefix("ok bench: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count for the bench region in:\n{report}"))
}
