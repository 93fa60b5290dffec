//! The evaluation over HTTP: a station records a member's birth year and residence
//! (checked, private, in the member's export, staff reads recorded); the admin and
//! the auditor read the year's evaluation, and bad requests say what is wrong.

mod common;
use common::*;

use serde_json::json;

fn put(app: &App, token: &str, member: i64, body: serde_json::Value) -> Res {
    let auth = format!("Bearer {token}");
    let bytes = serde_json::to_vec(&body).expect("json");
    app.request(
        "PUT",
        &format!("/api/v1/regions/vil/members/{member}/attributes"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&bytes),
    )
}

#[test]
fn a_station_records_attributes_which_are_checked_private_and_exported() {
    let app = spawn_app();
    let station = app.login("station");
    let resident = app.login("resident");
    let r = put(
        &app,
        &station,
        1,
        json!({"birth_year": 1958, "residence": "外出务工"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"birth_year": 1958, "residence": "migrant"})
    );
    // Bad values name their field; nothing changes.
    let r = put(
        &app,
        &station,
        1,
        json!({"birth_year": 1958, "residence": "away"}),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("residence"), "{}", r.text());
    let r = put(&app, &station, 1, json!({"birth_year": 2999}));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("birth_year"), "{}", r.text());
    let r = put(&app, &station, 1, json!({"age": 60}));
    assert_eq!(r.status, 422, "{}", r.text());
    let r = put(&app, &station, 999, json!({"birth_year": 1958}));
    assert_eq!(r.status, 404, "{}", r.text());
    // The member reads their own (unrecorded); the station's read is recorded.
    let r = app.get("/api/v1/regions/vil/members/1/attributes", Some(&resident));
    assert_eq!(
        r.json(),
        json!({"birth_year": 1958, "residence": "migrant"})
    );
    let r = app.get("/api/v1/regions/vil/members/1/attributes", Some(&station));
    assert_eq!(r.status, 200);
    let r = app.get("/api/v1/regions/vil/members/1/data-access", Some(&resident));
    let whats: Vec<String> = r
        .json()
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["what"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        whats,
        vec!["GET /api/v1/regions/{region}/members/{member}/attributes".to_owned()]
    );
    // Nothing of it is public: the log's entries and the notice board never carry it.
    let r = app.get("/notice/vil?lang=en", None);
    assert!(!r.text().contains("1958"));
}

#[test]
fn the_admin_and_the_auditor_read_the_evaluation_and_bad_years_are_refused() {
    let app = spawn_app();
    let admin = app.login("admin");
    let auditor = app.login("auditor");
    let station = app.login("station");
    assert_eq!(
        put(
            &app,
            &station,
            1,
            json!({"birth_year": 1940, "residence": "resident"})
        )
        .status,
        200
    );
    // The fixture has no entries yet: a claim of member 1, approved by the reviewer.
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "TREE", "quantity": 1}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{claim}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.get("/api/v1/regions/vil/evaluation?year=2026", Some(&auditor));
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.json();
    assert_eq!(e["year"], 2026);
    let members = e["overall"]["members"].as_u64().expect("members");
    assert!(members >= 3, "{e}");
    // Every member falls in one band of each dimension.
    for d in ["age", "residence", "household"] {
        let sum: u64 = e["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter(|g| g["dimension"] == d)
            .map(|g| g["members"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(sum, members, "{d}: {e}");
    }
    let old = e["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["dimension"] == "age" && g["band"] == "75+")
        .expect("75+")
        .clone();
    assert_eq!(old["members"], 1, "{old}");
    assert_eq!(e["reviewers"][0]["decisions"], 1, "{e}");
    assert_eq!(e["rules"]["reviewer_far_mads"], 3.0);
    assert_eq!(
        e["participants_by_month"].as_array().map(Vec::len),
        Some(12)
    );
    // No member id, name or commitment in it.
    assert!(!r.text().contains("commitment"));
    assert!(!r.text().contains("\"member\""));
    let r = app.get("/api/v1/regions/vil/evaluation?year=2026", Some(&admin));
    assert_eq!(r.status, 200);

    for (q, status, says) in [
        ("", 422, "year is required"),
        ("?year=20x6", 422, "is not a year"),
        ("?year=1999", 422, "no entries in 1999"),
        ("?year=2026&k=5", 400, ""),
    ] {
        let r = app.get(
            &format!("/api/v1/regions/vil/evaluation{q}"),
            Some(&auditor),
        );
        assert_eq!(r.status, status, "{q}: {}", r.text());
        assert!(r.text().contains(says), "{q}: {}", r.text());
    }
    let r = app.get(
        "/api/v1/regions/nowhere/evaluation?year=2026",
        Some(&auditor),
    );
    assert!(matches!(r.status, 403 | 404), "{}", r.text());
}

#[test]
fn the_what_if_and_the_export_answer_the_auditor_and_say_what_is_wrong() {
    let app = spawn_app();
    let auditor = app.login("auditor");
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "TREE", "quantity": 2}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{claim}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let what_if = |token: &str, body: serde_json::Value| {
        app.post(
            "/api/v1/regions/vil/evaluation/what-if?year=2026",
            Some(token),
            &body,
            None,
        )
    };
    let today = what_if(&auditor, json!({"latest": true}));
    assert_eq!(today.status, 200, "{}", today.text());
    let today = today.json();
    let tree_points = today["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["indicator"] == "TREE")
        .expect("TREE")["today"]
        .as_i64()
        .expect("points");
    // The latest values are today's: nothing moves.
    assert_eq!(today["today"], today["proposed"], "{today}");
    let r = what_if(&auditor, json!({"values": {"TREE": tree_points + 3}}));
    assert_eq!(r.status, 200, "{}", r.text());
    let w = r.json();
    // Two units of TREE, each 3 points more.
    assert_eq!(
        w["proposed"]["awarded"].as_i64().expect("awarded")
            - w["today"]["awarded"].as_i64().expect("awarded"),
        6,
        "{w}"
    );
    assert!(
        w["rule"]
            .as_str()
            .expect("rule")
            .contains("the lowest mean score")
    );
    let r = what_if(
        &auditor,
        json!({"csv": format!("indicator,points\nTREE,{}\n", tree_points + 3)}),
    );
    assert_eq!(r.json()["proposed"], w["proposed"]);
    for (body, says) in [
        (
            json!({"values": {"NOPE": 3}}),
            "unknown indicator \\\"NOPE\\\"",
        ),
        (json!({"values": {"TREE": "many"}}), "whole number"),
        (json!({"csv": "code;points\nTREE;3"}), "indicator,points"),
        (
            json!({"values": {"TREE": 3}, "latest": true}),
            "exactly one",
        ),
        (json!({}), "exactly one"),
    ] {
        let r = what_if(&auditor, body.clone());
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert!(r.text().contains(says), "{body}: {}", r.text());
        assert!(r.text().contains("values"), "{body}: {}", r.text());
    }
    assert_eq!(what_if(&resident, json!({"latest": true})).status, 403);

    let r = app.get(
        "/api/v1/regions/vil/evaluation/export?year=2026&k=2",
        Some(&auditor),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let x = r.json();
    let manifest = x["manifest"].as_str().expect("manifest");
    assert!(
        manifest.starts_with("jifen evaluation export v1\nregion vil\nyear 2026\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("\nk 2\n") && manifest.contains("\nindicator TREE 1 "),
        "{manifest}"
    );
    // A signed note: a blank line, then the signature line by the log's key.
    assert!(manifest.contains("\n\n\u{2014} "), "{manifest}");
    let rows = x["rows_csv"].as_str().expect("rows");
    assert!(
        rows.starts_with("age_band,residence,household_band,score"),
        "{rows}"
    );
    assert!(!rows.contains("commitment") && !rows.contains("member"));
    for (q, says) in [
        ("?year=2026&k=1", "k must be at least 2"),
        ("?year=2026&k=many", "not a whole number"),
        ("?year=1999", "no entries in 1999"),
    ] {
        let r = app.get(
            &format!("/api/v1/regions/vil/evaluation/export{q}"),
            Some(&auditor),
        );
        assert_eq!(r.status, 422, "{q}: {}", r.text());
        assert!(r.text().contains(says), "{q}: {}", r.text());
    }
    assert_eq!(
        app.get(
            "/api/v1/regions/vil/evaluation/export?year=2026",
            Some(&resident)
        )
        .status,
        403
    );
}
