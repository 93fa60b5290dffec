//! `jifen evaluate` on the demo: the unequal picture the demo is built to show (its
//! migrant workers and its oldest score lower, one reviewer approves far more), the
//! three formats agreeing, and bad input refused with a reason.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const TODAY: &str = "2026-12-07";
const REGION: &str = "tongxiang-yuefeng";

fn jifen(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jifen"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("JIFEN_DATA")
        .env("JIFEN_TODAY", TODAY)
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

fn mean(e: &serde_json::Value, dimension: &str, band: &str) -> f64 {
    e["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["dimension"] == dimension && g["band"] == band)
        .unwrap_or_else(|| panic!("{dimension} {band}"))["mean"]
        .as_f64()
        .expect("mean")
}

#[test]
fn the_demo_evaluates_to_an_unequal_picture_in_three_agreeing_formats() {
    let tmp = common::temp("cli-evaluate");
    let data = tmp.0.join("data");
    ok(&data, &["demo", "--households", "60"]);
    let args = ["evaluate", "--region", REGION, "--year", "2026"];
    let json = ok(&data, &[&args[..], &["--format", "json"]].concat());
    let e: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let overall = e["overall"]["mean"].as_f64().expect("mean");
    assert!(
        mean(&e, "residence", "migrant") < 0.85 * mean(&e, "residence", "resident"),
        "{json}"
    );
    assert!(mean(&e, "age", "75+") < 0.9 * overall, "{json}");
    let far: Vec<i64> = e["reviewers"]
        .as_array()
        .expect("reviewers")
        .iter()
        .filter(|r| r["far_rate"] == true || r["far_points"] == true)
        .map(|r| r["account"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(far, vec![12], "{json}");
    assert!(
        e["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w["kind"] == "reviewer" && w["account"] == 12),
        "{json}"
    );

    let text = ok(&data, &args);
    assert!(
        text.contains(&format!("{REGION} 2026: evaluated at log size")),
        "{text}"
    );
    assert!(
        text.contains("reviewer 12 (审核员 张) stands more than 3"),
        "{text}"
    );

    // The CSV's points per indicator are the JSON's.
    let csv = ok(&data, &[&args[..], &["--format", "csv"]].concat());
    assert!(
        csv.starts_with("section,dimension,band,key,value\n"),
        "{csv}"
    );
    for u in e["indicators"].as_array().expect("indicators") {
        let line = format!(
            "indicator,,,{}.points,{}",
            u["code"].as_str().expect("code"),
            u["points"]
        );
        assert!(csv.lines().any(|l| l == line), "{line} not in\n{csv}");
    }

    // Bad input says what is wrong.
    for (bad, says) in [
        (&["--year", "2019"][..], "no entries in 2019"),
        (
            &["--year", "2026", "--format", "xml"][..],
            "--format must be text, json or csv",
        ),
    ] {
        let out = jifen(
            &data,
            &[&["evaluate", "--region", REGION][..], bad].concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{bad:?}: {err}"
        );
    }
    let out = jifen(
        &data,
        &["evaluate", "--region", "nowhere", "--year", "2026"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
}
