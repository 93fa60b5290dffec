//! The demo's points supermarket and closed year, through the CLI: the report,
//! a second close that changes nothing, and `jifen verify` over all of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp(tag: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!("jifen-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("temp dir");
    TempDir(p)
}

fn jifen(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jifen"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run jifen")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = jifen(data, args);
    assert!(
        out.status.success(),
        "jifen {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Last year in China Standard Time, as the demo sees it.
fn last_year() -> i32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let cst = i64::try_from(now).expect("fits") + 8 * 3600;
    time::OffsetDateTime::from_unix_timestamp(cst)
        .expect("in range")
        .year()
        - 1
}

#[test]
fn the_demo_has_a_supermarket_and_a_closed_year_that_verify() {
    let tmp = temp("year");
    let data = tmp.0.join("data");
    ok(&data, &["demo", "--households", "30"]);
    let year = last_year().to_string();
    let region = "tongxiang-yuefeng";
    let report = ok(
        &data,
        &["year", "report", "--region", region, "--year", &year],
    );
    assert!(
        report.contains(&format!("{region} {year}: closed")),
        "{report}"
    );
    assert!(
        report.contains("levels:") && report.contains("categories:"),
        "{report}"
    );
    let csv = ok(
        &data,
        &[
            "year", "report", "--region", region, "--year", &year, "--format", "csv",
        ],
    );
    assert!(
        csv.starts_with("section,code,name,category,count,points\n"),
        "{csv}"
    );
    assert!(csv.contains("\nindicator,TX-COUNCIL,"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&ok(
        &data,
        &[
            "year", "report", "--region", region, "--year", &year, "--format", "json",
        ],
    ))
    .expect("JSON");
    assert_eq!(json["close"]["status"], "closed");

    let again = ok(
        &data,
        &["year", "close", "--region", region, "--year", &year],
    );
    assert!(again.contains("already; nothing changed"), "{again}");

    // The supermarket was used: redemptions and refunds are in the ledger.
    let entries = ok(&data, &["export", "entries", "--region", region]);
    assert!(
        entries.contains(",redemption,"),
        "no redemptions in the demo"
    );
    // And the close cannot run for a year that has not ended.
    let this_year = (last_year() + 1).to_string();
    let out = jifen(
        &data,
        &["year", "close", "--region", region, "--year", &this_year],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not ended"));
    let out = jifen(
        &data,
        &["year", "report", "--region", region, "--year", "1999"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    ok(&data, &["verify"]);
}
