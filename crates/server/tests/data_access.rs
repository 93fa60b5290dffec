//! The data access log (PIPL): every staff read of a member's personal data is
//! recorded (who, when, which member, which route) before the answer goes out; the
//! member sees it, in their export too; the auditor sees counts per staff account;
//! a member's own reads are not recorded; erasure takes the rows with the member.

mod common;
use common::*;

use serde_json::json;

fn accesses(app: &App, token: &str, member: i64) -> Vec<serde_json::Value> {
    let r = app.get(
        &format!("/api/v1/regions/vil/members/{member}/data-access"),
        Some(token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().expect("a list").clone()
}

#[test]
fn staff_reads_are_recorded_and_the_member_sees_them() {
    let app = spawn_app();
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let station = app.login("station");
    let auditor = app.login("auditor");
    // The member's own reads leave nothing.
    for path in ["balance", "entries"] {
        let r = app.get(
            &format!("/api/v1/regions/vil/members/1/{path}"),
            Some(&resident),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert!(accesses(&app, &resident, 1).is_empty());
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "MEDIATE", "quantity": 1, "note": "调解"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json()["id"].as_str().expect("id").to_owned();
    assert!(
        accesses(&app, &resident, 1).is_empty(),
        "claiming reads nothing"
    );

    // Staff read: the reviewer the history and the claim, the station the member list.
    let r = app.get("/api/v1/regions/vil/members/1/entries", Some(&reviewer));
    assert_eq!(r.status, 200);
    let r = app.get(&format!("/api/v1/claims/{claim}"), Some(&reviewer));
    assert_eq!(r.status, 200);
    let r = app.get("/api/v1/regions/vil/members", Some(&station));
    assert_eq!(r.status, 200);
    let listed = r.json()["items"].as_array().expect("items").len() as u64;
    assert!(listed >= 3, "the fixture has members 1 to 3 at least");

    let mine = accesses(&app, &resident, 1);
    let whats: Vec<(&str, &str)> = mine
        .iter()
        .map(|a| {
            (
                a["account_name"].as_str().expect("name"),
                a["what"].as_str().expect("what"),
            )
        })
        .collect();
    assert_eq!(mine.len(), 3, "{mine:?}");
    for want in [
        (
            "reviewer",
            "GET /api/v1/regions/{region}/members/{member}/entries",
        ),
        ("reviewer", "GET /api/v1/claims/{id}"),
        ("station", "GET /api/v1/regions/{region}/members"),
    ] {
        assert!(whats.contains(&want), "{want:?} in {whats:?}");
    }
    assert!(
        mine.iter()
            .all(|a| a["at"].as_str().is_some_and(|t| t.contains('T')))
    );
    // Member 3 was read once, by the station's list.
    assert_eq!(accesses(&app, &auditor, 3).len(), 1);

    // The auditor sees counts per staff account, nothing about the residents.
    let r = app.get("/api/v1/regions/vil/data-access/summary", Some(&auditor));
    assert_eq!(r.status, 200, "{}", r.text());
    let sum = r.json();
    let by = |name: &str| {
        sum["accounts"]
            .as_array()
            .expect("accounts")
            .iter()
            .find(|a| a["account_name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {sum}"))
    };
    assert_eq!(by("reviewer")["reads"], 2);
    assert_eq!(by("reviewer")["members"], 1);
    assert_eq!(by("station")["reads"], listed);
    assert_eq!(by("station")["members"], listed);
    // The auditor's own reads of the log are not of members' data.
    assert_eq!(sum["accounts"].as_array().expect("accounts").len(), 2);
    let r = app.get(
        "/api/v1/regions/vil/data-access/summary?days=0",
        Some(&auditor),
    );
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["field"], "days");

    // Another resident's log is not theirs to see; staff other than admin and auditor neither.
    let r = app.get("/api/v1/regions/vil/members/3/data-access", Some(&resident));
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app.get("/api/v1/regions/vil/members/1/data-access", Some(&reviewer));
    assert_eq!(r.status, 403, "{}", r.text());
}

#[test]
fn erasing_a_member_erases_who_read_their_data() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let admin = app.login("admin");
    let auditor = app.login("auditor");
    assert_eq!(
        app.get("/api/v1/regions/vil/members/3/balance", Some(&reviewer))
            .status,
        200
    );
    assert_eq!(accesses(&app, &auditor, 3).len(), 1);
    let r = app.post(
        "/api/v1/regions/vil/members/3/erase",
        Some(&admin),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(accesses(&app, &auditor, 3).is_empty());
}
