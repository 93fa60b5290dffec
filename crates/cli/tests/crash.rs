//! A crash at any point loses nothing acknowledged and never leaves the log and
//! the balances disagreeing: kill the writer mid-ingest with SIGKILL, then audit.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn sigkill_mid_ingest_leaves_a_consistent_store() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir: PathBuf =
        std::env::temp_dir().join(format!("jifen-crash-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut child = common::jifen(&dir)
        .args([
            "bench",
            "ingest",
            "--entries",
            "5000000",
            // At most 100 awards a member (the bench indicator's yearly cap).
            "--members",
            "50000",
            "--dir",
        ])
        .arg(&dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the bench");
    let stderr = child.stderr.take().expect("piped");
    // Read acknowledgements until enough have been made durable, then kill.
    let mut acked = 0u64;
    let started = Instant::now();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("utf-8 line");
        if let Some(n) = line
            .strip_prefix("acknowledged ")
            .and_then(|r| r.strip_suffix(" entries"))
        {
            acked = n.parse().expect("a count");
            if acked >= 100_000 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the bench made no progress"
        );
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(
        acked >= 100_000,
        "the bench stopped before acknowledging enough entries"
    );

    let entries = common::verify_bench_store(&dir.join("store"), None);
    assert!(
        entries >= acked,
        "acknowledged {acked} entries but only {entries} survived the crash"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
