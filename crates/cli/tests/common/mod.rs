//! Helpers shared by the CLI's end-to-end tests.
#![allow(dead_code, reason = "each test binary uses some of these helpers")]

use std::path::Path;
use std::process::Command;

/// Runs `jifen verify` on a store the ingest bench wrote (in `store`, on the database
/// `database` names, else SQLite there), asserts that it passes, and returns the
/// entry count it reports for the bench's region.
pub fn verify_bench_store(store: &Path, database: Option<&str>) -> u64 {
    let mut cmd = jifen(store);
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

/// The "today" the CLI tests run on (`JIFEN_TODAY`), so what they build and check does
/// not change with the calendar; `tests/year.rs` runs on the calendar's edges and on
/// the real date.
pub const TODAY: &str = "2026-06-15";

/// The `jifen` binary with the data folder, on the pinned [`TODAY`], with none of the
/// caller's `JIFEN_*` settings or log filter.
pub fn jifen(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jifen"));
    cmd.arg("--data")
        .arg(data)
        .env("JIFEN_TODAY", TODAY)
        .env_remove("JIFEN_DATA")
        .env_remove("JIFEN_DATABASE_URL")
        .env_remove("RUST_LOG");
    cmd
}

/// A clock for a store a test opens itself beside `jifen` processes: it reads the
/// pinned [`TODAY`] now, as theirs do.
pub fn pinned_clock() -> jifen_core::ShiftedClock {
    jifen_core::ShiftedClock::starting_at(
        jifen_core::clock::parse_today(TODAY, jifen_core::clock::CHINA_OFFSET_MINUTES)
            .expect("TODAY is a date"),
    )
}
