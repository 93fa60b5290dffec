//! `jifen bench ingest` on PostgreSQL: a small run prints its figures (the
//! sequencer, the bare `COPY` baseline and the `COPY` into a table with the
//! ledger's keys and indexes), leaves the posted entries behind and its own
//! tables not, and the log it wrote verifies. Runs when `JIFEN_TEST_DATABASE_URL`
//! is set.

mod common;

use jifen_store::testdb::TestDatabase;

/// Enough for every printed time (two decimals) to be above zero.
const ENTRIES: u64 = 20_000;

/// The number after `prefix` on the line that starts with it.
fn figure(out: &str, prefix: &str, after: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"));
    let (_, rest) = line
        .split_once(after)
        .unwrap_or_else(|| panic!("no {after:?} in {line:?}"));
    rest.split(|c: char| c != '.' && !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure after {after:?} in {line:?}"))
}

#[test]
fn the_ingest_bench_prints_its_figures_and_leaves_a_log_that_verifies() {
    let db = TestDatabase::for_suite("jifen bench ingest on PostgreSQL");
    let tmp = common::temp("bench-pg");
    let out = common::jifen(&tmp.0)
        .arg("--database")
        .arg(db.url())
        .args(["bench", "ingest", "--entries"])
        .arg(ENTRIES.to_string())
        .args(["--members", "1000", "--dir"])
        .arg(&tmp.0)
        .output()
        .expect("run the bench");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the bench failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = figure(&text, "baseline: ", " in ");
    let ratio = figure(&text, "ratio: ", " is ");
    let indexed = figure(&text, "indexed: ", " in ");
    let indexed_ratio = figure(&text, "indexed: ", " s = ");
    let ingest = figure(&text, "ingest: ", " in ");
    assert!(
        [raw, ratio, indexed, indexed_ratio, ingest]
            .iter()
            .all(|f| *f > 0.0),
        "every figure is measured:\n{text}"
    );
    // The bench's own tables are gone; the sequencer's entries stay, and verify.
    let conn = jifen_store::db::open_pg(db.url()).expect("connect");
    let left: bool = conn
        .with_pg(|pg| {
            pg.client
                .query_one("SELECT to_regclass('bench_raw') IS NULL", &[])
                .map(|r| r.get(0))
                .map_err(Into::into)
        })
        .expect("a PostgreSQL connection")
        .expect("query");
    assert!(left, "the bench left its bench_raw table behind");
    drop(conn);
    let verified = common::verify_bench_store(&tmp.0.join("store"), Some(db.url()));
    assert_eq!(
        verified, ENTRIES,
        "verify counted other than what was posted"
    );
}
