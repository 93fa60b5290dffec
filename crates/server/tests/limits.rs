//! The limits README lists, each answering with an error that names it, and
//! losing nothing: what was sent before the limit is kept, what the limit refused
//! left no trace, and the same request goes through once the limit allows it.

mod common;
use common::*;

use jifen_core::Timestamp;
use serde_json::json;

/// The member's claims, as the reviewer's queue lists them.
fn claims_of(app: &App, token: &str, member: i64) -> usize {
    let r = app.get("/api/v1/regions/vil/claims?limit=200", Some(token));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|c| c["member"] == member)
        .count()
}

fn claim(app: &App, token: &str, indicator: &str, note: &str) -> Res {
    app.post(
        "/api/v1/regions/vil/claims",
        Some(token),
        &json!({"member": 1, "indicator": indicator, "quantity": 1, "note": note}),
        None,
    )
}

#[test]
fn a_body_past_the_limit_is_refused_whole_with_413() {
    let app = spawn_app();
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let note = "邻".repeat(jifen_server::BODY_BYTES_MAX / 3 + 1);
    let r = claim(&app, &resident, "MEDIATE", &note);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&jifen_server::BODY_BYTES_MAX.to_string())),
        "the answer names the limit: {}",
        r.text()
    );
    assert_eq!(claims_of(&app, &reviewer, 1), 0, "nothing was recorded");
    assert_eq!(claim(&app, &resident, "MEDIATE", "调解").status, 201);
}

#[test]
fn a_page_larger_than_the_limit_is_refused_by_its_field() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let max = jifen_server::PAGE_ITEMS_MAX;
    for limit in [0, max + 1, 100_000] {
        let r = app.get(
            &format!("/api/v1/regions/vil/claims?limit={limit}"),
            Some(&reviewer),
        );
        assert_eq!(r.status, 422, "limit={limit}: {}", r.text());
        assert_eq!(r.json()["field"], "limit");
    }
    let r = app.get(
        &format!("/api/v1/regions/vil/claims?limit={max}"),
        Some(&reviewer),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn a_member_has_at_most_so_many_claims_waiting_for_review() {
    let app = spawn_app();
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let max = jifen_core::claim::OPEN_CLAIMS_PER_MEMBER_MAX as usize;
    let mut first = None;
    for i in 0..max {
        let r = claim(&app, &resident, "MEDIATE", &format!("调解 {i}"));
        assert_eq!(r.status, 201, "claim {i}: {}", r.text());
        first.get_or_insert_with(|| r.json()["id"].as_str().expect("id").to_owned());
    }
    let r = claim(&app, &resident, "MEDIATE", "one too many");
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "open-claims");
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("{max} claims waiting"))),
        "{}",
        r.text()
    );
    assert_eq!(
        claims_of(&app, &reviewer, 1),
        max,
        "the refused one left nothing"
    );
    // A claim posted at once waits for no one: the limit does not hold it back.
    let r = claim(&app, &resident, "WASTE", "");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "posted");
    // Deciding one frees a place.
    let first = first.expect("a claim");
    let r = app.post(
        &format!("/api/v1/claims/{first}/reject"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(claim(&app, &resident, "MEDIATE", "now it fits").status, 201);
}

#[test]
fn an_account_past_its_write_rate_waits_and_loses_nothing() {
    let app = spawn_app_with(|s| s.limiting_writes(Some(5)));
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    for i in 0..5 {
        let r = claim(&app, &resident, "MEDIATE", &format!("调解 {i}"));
        assert_eq!(r.status, 201, "write {i}: {}", r.text());
    }
    let r = claim(&app, &resident, "MEDIATE", "the sixth");
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["code"], "rate-limited");
    assert_eq!(r.header("retry-after"), Some("12"), "a fifth of a minute");
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("5 writes in the last minute")),
        "{}",
        r.text()
    );
    // Another account has its own allowance; reads are not counted.
    assert_eq!(
        claims_of(&app, &reviewer, 1),
        5,
        "the refused one left nothing"
    );
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &json!({"member": 3, "indicator": "MEDIATE", "quantity": 1, "note": "x"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // Once the wait is over, the same request goes through.
    app.clock
        .set(Timestamp::from_millis(fixture_time().millis() + 12_000));
    assert_eq!(claim(&app, &resident, "MEDIATE", "the sixth").status, 201);
    assert_eq!(claims_of(&app, &reviewer, 1), 6);
}
