//! The demo's points supermarket and closed year, through the CLI: the report,
//! a second close that changes nothing, and `jifen verify` over all of it, on the
//! dates where calendars go wrong (through `JIFEN_TODAY`) and on today's.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use time::{Date, Month};

/// A fresh folder for one test.
fn temp(tag: &str) -> common::TempDir {
    common::temp(&format!("cli-year-{tag}"))
}

/// Runs jifen with `JIFEN_TODAY` set to `today`, or on the real clock for `None`.
fn jifen(data: &Path, today: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jifen"));
    cmd.arg("--data")
        .arg(data)
        .args(args)
        .env_remove("JIFEN_DATA");
    match today {
        Some(t) => cmd.env("JIFEN_TODAY", t),
        None => cmd.env_remove("JIFEN_TODAY"),
    };
    cmd.output().expect("run jifen")
}

fn ok(data: &Path, today: Option<&str>, args: &[&str]) -> String {
    let out = jifen(data, today, args);
    assert!(
        out.status.success(),
        "jifen {args:?} (today {today:?}) failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The local (China Standard Time) date the demo takes as today: the `JIFEN_TODAY`
/// given, or the real one.
fn today_in_china(today: Option<&str>) -> Date {
    let unix = match today {
        Some(t) if t.len() == 10 => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            return Date::parse(t, &format).expect("a YYYY-MM-DD date");
        }
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .expect("an RFC 3339 time")
            .unix_timestamp(),
        None => i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs(),
        )
        .expect("fits"),
    };
    time::OffsetDateTime::from_unix_timestamp(unix + 8 * 3600)
        .expect("in range")
        .date()
}

/// Each entry of a CSV export of entries: its local date (the `time` column) and kind.
fn entry_dates(csv: &str) -> Vec<(Date, String)> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    csv.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let date = Date::parse(&fields[2][..10], &format).expect("a dated entry");
            (date, fields[3].to_owned())
        })
        .collect()
}

#[test]
fn the_demo_on_new_years_day() {
    demo_has_a_supermarket_and_a_closed_year_that_verify("new-year", Some("2027-01-01"));
}

#[test]
fn the_demo_on_the_last_day_of_a_year() {
    demo_has_a_supermarket_and_a_closed_year_that_verify("dec-31", Some("2026-12-31"));
}

#[test]
fn the_demo_on_a_leap_day() {
    demo_has_a_supermarket_and_a_closed_year_that_verify("leap-day", Some("2028-02-29"));
}

/// The last evening before a year can be closed: it still may not be.
#[test]
fn the_demo_the_evening_before_a_year_close() {
    demo_has_a_supermarket_and_a_closed_year_that_verify("eve", Some("2027-12-31T22:00:00+08:00"));
}

#[test]
fn the_demo_today() {
    demo_has_a_supermarket_and_a_closed_year_that_verify("today", None);
}

fn demo_has_a_supermarket_and_a_closed_year_that_verify(tag: &str, today: Option<&str>) {
    let tmp = temp(tag);
    let data = tmp.0.join("data");
    let ok = |args: &[&str]| ok(&data, today, args);
    let jifen = |args: &[&str]| jifen(&data, today, args);
    ok(&["demo", "--households", "30"]);
    let date = today_in_china(today);
    let last = date.year() - 1;
    let year = last.to_string();
    let region = "tongxiang-yuefeng";
    let report = ok(&["year", "report", "--region", region, "--year", &year]);
    assert!(
        report.contains(&format!("{region} {year}: closed")),
        "{report}"
    );
    assert!(
        report.contains("levels:") && report.contains("categories:"),
        "{report}"
    );
    let csv = ok(&[
        "year", "report", "--region", region, "--year", &year, "--format", "csv",
    ]);
    assert!(
        csv.starts_with("section,code,name,category,count,points\n"),
        "{csv}"
    );
    assert!(csv.contains("\nindicator,TX-COUNCIL,"), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "year", "report", "--region", region, "--year", &year, "--format", "json",
    ]))
    .expect("JSON");
    assert_eq!(json["close"]["status"], "closed");

    let again = ok(&["year", "close", "--region", region, "--year", &year]);
    assert!(again.contains("already; nothing changed"), "{again}");

    // The supermarket was used: redemptions and refunds are in the ledger.
    let entries = ok(&["export", "entries", "--region", region]);
    assert!(
        entries.contains(",redemption,"),
        "no redemptions in the demo"
    );
    // Last year is simulated whole, January to December, and this year up to
    // yesterday: nothing is dated after today.
    let dates = entry_dates(&entries);
    for month in [Month::January, Month::December] {
        assert!(
            dates
                .iter()
                .any(|(d, kind)| kind == "award" && d.year() == last && d.month() == month),
            "no awards in {month} {last} (today {date})"
        );
    }
    assert!(
        dates.iter().all(|(d, _)| *d <= date),
        "an entry dated after {date}"
    );
    if date.ordinal() > 1 {
        assert!(
            dates
                .iter()
                .any(|(d, kind)| kind == "award" && d.year() == date.year()),
            "no awards this year before {date}"
        );
    }
    // And the close cannot run for a year that has not ended.
    let this_year = date.year().to_string();
    let out = jifen(&["year", "close", "--region", region, "--year", &this_year]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not ended"));
    let out = jifen(&["year", "report", "--region", region, "--year", "1999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    ok(&["verify"]);
}

/// A `JIFEN_TODAY` that is not a date or an instant is refused by name.
#[test]
fn a_bad_today_is_refused() {
    let tmp = temp("bad-today");
    let out = jifen(&tmp.0.join("data"), Some("2027-02-29"), &["regions"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("JIFEN_TODAY") && err.contains("\"2027-02-29\" is neither"),
        "{err}"
    );
}
