//! `jifen evaluate` on the demo: the unequal picture the demo is built to show (its
//! migrant workers and its oldest score lower, one reviewer approves far more), the
//! three formats agreeing, and bad input refused with a reason.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use sha2::Digest as _;

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
    what_if_and_export(&data, &tmp.0);
}

fn files_under(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, found);
        } else {
            found.push(p);
        }
    }
}

/// The what-if on the demo, and the export checked as an outside evaluator would:
/// the manifest against the region's verifier key, the rows against k and their
/// hash, and the points per indicator against the published log's entry bundles.
fn what_if_and_export(data: &Path, tmp: &Path) {
    let base = ["evaluate", "what-if", "--region", REGION, "--year", "2026"];
    let latest = ok(
        data,
        &[&base[..], &["--latest", "--format", "json"]].concat(),
    );
    let w: serde_json::Value = serde_json::from_str(&latest).expect("JSON");
    let suggested = &w["suggested"];
    assert!(
        suggested.is_object(),
        "the demo gives a suggestion: {latest}"
    );
    // Within the same budget: the points awarded move by less than a tenth.
    let awarded = |s: &serde_json::Value| s["awarded"].as_f64().expect("awarded");
    let (now, then) = (awarded(&w["today"]), awarded(&suggested["scenario"]));
    assert!((then - now).abs() < 0.1 * now, "{now} -> {then}");
    // The suggested values, fed back as a file, give the suggestion's figures.
    let values: serde_json::Map<String, serde_json::Value> = suggested["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["indicator"].as_str().expect("code").to_owned(),
                c["proposed"].clone(),
            )
        })
        .collect();
    let file = tmp.join("values.json");
    std::fs::write(&file, serde_json::to_string(&values).expect("json")).expect("write");
    let again = ok(
        data,
        &[
            &base[..],
            &["--values", file.to_str().expect("path"), "--format", "json"],
        ]
        .concat(),
    );
    let again: serde_json::Value = serde_json::from_str(&again).expect("JSON");
    assert_eq!(again["proposed"], suggested["scenario"]);
    let text = ok(
        data,
        &[&base[..], &["--values", file.to_str().expect("path")]].concat(),
    );
    assert!(text.contains("members per level"), "{text}");
    std::fs::write(&file, "indicator,points\nNOPE,3\n").expect("write");
    let out = jifen(
        data,
        &[&base[..], &["--values", file.to_str().expect("path")]].concat(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown indicator \"NOPE\""));

    let dir = tmp.join("export");
    let args = [
        "evaluate", "export", "--region", REGION, "--year", "2026", "--out",
    ];
    let out = jifen(
        data,
        &[&args[..], &[dir.to_str().expect("path"), "--k", "1"]].concat(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--k must be at least 2"));
    let said = ok(
        data,
        &[&args[..], &[dir.to_str().expect("path"), "--k", "5"]].concat(),
    );
    assert!(said.contains("rows ("), "{said}");
    let out = jifen(data, &[&args[..], &[dir.to_str().expect("path")]].concat());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let rows = std::fs::read_to_string(dir.join("rows.csv")).expect("rows");
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).expect("manifest");
    let vkey = ok(data, &["log", "vkey", "--region", REGION]);
    let v = jifen_log::NoteVerifier::from_vkey(vkey.trim()).expect("vkey");
    let body = jifen_log::open_note(&manifest, &[v]).expect("the manifest is signed by the region");
    let field = |key: &str| -> String {
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("{key} in {body}"))
            .to_owned()
    };
    let digest = sha2::Sha256::digest(rows.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(field("rows-sha256"), hex);
    // Every combination is shared by at least k rows.
    let mut combos: std::collections::HashMap<String, usize> = Default::default();
    for line in rows.lines().skip(1) {
        let combo: Vec<&str> = line.split(',').take(3).collect();
        *combos.entry(combo.join(",")).or_default() += 1;
    }
    assert_eq!(combos.values().sum::<usize>().to_string(), field("rows"));
    assert!(combos.values().all(|&n| n >= 5), "{combos:?}");
    // The points per indicator are the log's, read from what `jifen log publish` writes.
    let size: u64 = field("checkpoint-size").parse().expect("size");
    let (from, to): (i64, i64) = (
        field("from-ms").parse().expect("from"),
        field("to-ms").parse().expect("to"),
    );
    let log = tmp.join("log");
    ok(
        data,
        &["log", "publish", "--out", log.to_str().expect("path")],
    );
    let mut bundles = Vec::new();
    files_under(&log.join(REGION).join("tile").join("entries"), &mut bundles);
    let mut sums: std::collections::BTreeMap<String, (u64, i64)> = Default::default();
    for b in bundles {
        let bytes = std::fs::read(&b).expect("bundle");
        for leaf in jifen_log::decode_entry_bundle(&bytes).expect("bundle decodes") {
            let l = jifen_core::PublicLeaf::decode(&leaf).expect("leaf");
            let t = l.time.millis();
            let counted = matches!(
                l.kind,
                jifen_core::EntryKind::Award | jifen_core::EntryKind::Deduction
            );
            if let (Some(i), true) = (&l.indicator, counted && l.seq < size && t >= from && t < to)
            {
                let s = sums.entry(i.code.as_str().to_owned()).or_default();
                s.0 += 1;
                s.1 += l.annual_delta.get();
            }
        }
    }
    let manifest_sums: std::collections::BTreeMap<String, (u64, i64)> = body
        .lines()
        .filter_map(|l| l.strip_prefix("indicator "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_owned(),
                (
                    f[1].parse().expect("entries"),
                    f[2].parse().expect("points"),
                ),
            )
        })
        .collect();
    assert!(!sums.is_empty());
    assert_eq!(manifest_sums, sums);
}
