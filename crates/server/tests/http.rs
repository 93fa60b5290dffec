//! End-to-end HTTP tests against the real server on port 0 (on SQLite here; on
//! PostgreSQL as `tests/http_pg.rs`, which compiles this file again).

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::json;

#[test]
fn claim_review_post_and_prove() {
    let app = spawn_app();
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    // A resident claims for themself.
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "TREE", "quantity": 3, "note": "植树"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(r.json()["status"], "submitted");
    // The reviewer approves: posted.
    let r = app.post(
        &format!("/api/v1/claims/{id}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "posted");
    let entry = r.json()["entry"].as_str().expect("entry id").to_owned();
    // The balance shows it.
    let b = app
        .get("/api/v1/regions/vil/members/1/balance", Some(&resident))
        .json();
    assert_eq!(
        (b["annual_score"].as_i64(), b["spendable"].as_i64()),
        (Some(6), Some(6))
    );
    // The entry comes with a proof against a signed checkpoint.
    let e = app.get(&format!("/api/v1/entries/{entry}"), Some(&resident));
    assert_eq!(e.status, 200, "{}", e.text());
    let e = e.json();
    assert_eq!(e["entry"]["amount"], 6);
    // The tree size is the signed checkpoint's (its second line), and covers the entry.
    let size_line = e["checkpoint"]
        .as_str()
        .and_then(|n| n.lines().nth(1))
        .and_then(|l| l.parse::<u64>().ok())
        .expect("a size line");
    assert_eq!(e["tree_size"].as_u64(), Some(size_line), "{e}");
    assert!(e["index"].as_u64().expect("index") < size_line);
    assert!(
        e["checkpoint"]
            .as_str()
            .expect("note")
            .starts_with("test.local/log/vil\n")
    );
    assert!(
        e["receipt"]
            .as_str()
            .expect("receipt")
            .starts_with("c2sp.org/tlog-proof@v1\n")
    );
    // Another resident may not see it.
    let other = app.login("resident2");
    assert_eq!(
        app.get(&format!("/api/v1/entries/{entry}"), Some(&other))
            .status,
        403
    );
}

#[test]
fn bad_requests_get_problem_details_and_change_nothing() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let before = app
        .store
        .region(&jifen_core::RegionCode::parse(VIL).expect("valid"))
        .expect("region")
        .size;
    let cases: Vec<(&str, Vec<(&str, &str)>, &[u8], u16, Option<&str>)> = vec![
        (
            "malformed",
            vec![("Content-Type", "application/json")],
            b"{\"member\": 1,",
            400,
            None,
        ),
        (
            "wrong type",
            vec![("Content-Type", "application/json")],
            br#"{"member":"x","indicator":"TREE"}"#,
            422,
            Some("member"),
        ),
        (
            "unknown field",
            vec![("Content-Type", "application/json")],
            br#"{"member":2,"indicator":"TREE","extra":1}"#,
            422,
            Some("extra"),
        ),
        (
            "missing field",
            vec![("Content-Type", "application/json")],
            br#"{"member":2}"#,
            422,
            Some("indicator"),
        ),
        (
            "not json",
            vec![("Content-Type", "text/plain")],
            b"member=2",
            415,
            None,
        ),
    ];
    for (label, mut headers, body, status, field) in cases {
        let auth = format!("Bearer {reviewer}");
        headers.push(("Authorization", &auth));
        let r = app.request("POST", "/api/v1/regions/vil/claims", &headers, Some(body));
        assert_eq!(r.status, status, "{label}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/problem+json"),
            "{label}"
        );
        let p = r.json();
        assert_eq!(p["status"], status, "{label}");
        assert!(
            p["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{label}"
        );
        if let Some(f) = field {
            assert_eq!(p["field"], f, "{label}: {p}");
        }
    }
    // Oversized body.
    let big = vec![b' '; jifen_server::BODY_BYTES_MAX + 10];
    let auth = format!("Bearer {reviewer}");
    let r = app.request(
        "POST",
        "/api/v1/regions/vil/claims",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        Some(&big),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    // No token, a bad token.
    assert_eq!(
        app.post(
            "/api/v1/regions/vil/claims",
            None,
            &json!({"member": 2, "indicator": "TREE"}),
            None
        )
        .status,
        401
    );
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some("nope"),
        &json!({"member": 2, "indicator": "TREE"}),
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let after = app
        .store
        .region(&jifen_core::RegionCode::parse(VIL).expect("valid"))
        .expect("region")
        .size;
    assert_eq!(before, after, "refused requests posted nothing");
    let claims = app
        .get("/api/v1/regions/vil/claims", Some(&reviewer))
        .json();
    assert_eq!(
        claims["items"].as_array().map(Vec::len),
        Some(0),
        "refused requests made no claims"
    );
}

#[test]
fn an_idempotent_retry_returns_the_first_answer() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let body = json!({"member": 2, "indicator": "WASTE"});
    let a = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &body,
        Some("k-1"),
    );
    assert_eq!(a.status, 201, "{}", a.text());
    assert_eq!(a.json()["status"], "posted", "auto review posts at once");
    let b = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &body,
        Some("k-1"),
    );
    assert_eq!(b.status, 201);
    assert_eq!(b.body, a.body, "the same answer");
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    let size = app
        .store
        .region(&jifen_core::RegionCode::parse(VIL).expect("valid"))
        .expect("region")
        .size;
    assert_eq!(size, 1, "one entry, not two");
    // The same key for another request is refused.
    let c = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &json!({"member": 3, "indicator": "WASTE"}),
        Some("k-1"),
    );
    // Another body under the same key is another request, not a retry: refused by
    // the key, never answered with the first claim.
    assert_eq!(c.status, 422, "another body: {}", c.text());
    assert_eq!(c.json()["field"], "Idempotency-Key");
    let d = app.post(
        "/api/v1/claims/vil:1/approve",
        Some(&reviewer),
        &json!({}),
        Some("k-1"),
    );
    assert_eq!(d.status, 422, "another path: {}", d.text());
    assert!(d.text().contains("already used"), "{}", d.text());
}

#[test]
fn separation_of_duties_and_caps_at_approval() {
    let app = spawn_app();
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let reviewer2 = app.login("reviewer2");
    let reviewer3 = app.login("reviewer3"); // lives in household 1 with `resident`
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "MEDIATE", "note": "调解"}),
        None,
    );
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{id}/approve"),
        Some(&reviewer3),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 403, "own household: {}", r.text());
    let r = app.post(
        &format!("/api/v1/claims/{id}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.json()["status"], "partly-approved", "{}", r.text());
    let r = app.post(
        &format!("/api/v1/claims/{id}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 403, "the same reviewer twice: {}", r.text());
    let r = app.post(
        &format!("/api/v1/claims/{id}/approve"),
        Some(&reviewer2),
        &json!({}),
        None,
    );
    assert_eq!(r.json()["status"], "posted", "{}", r.text());
    // A resident claims for someone else: refused.
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 3, "indicator": "TREE"}),
        None,
    );
    assert_eq!(r.status, 403);
    // The day cap, enforced at approval with the reason.
    let a = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "MEET"}),
        None,
    );
    let b = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "MEET"}),
        None,
    );
    let (a, b) = (
        a.json()["id"].as_str().expect("id").to_owned(),
        b.json()["id"].as_str().expect("id").to_owned(),
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/claims/{a}/approve"),
            Some(&reviewer),
            &json!({}),
            None
        )
        .status,
        200
    );
    let r = app.post(
        &format!("/api/v1/claims/{b}/approve"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .expect("detail")
            .contains("at most 1 per day"),
        "{}",
        r.text()
    );
    // A station records for a resident only when present.
    let station = app.login("station");
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&station),
        &json!({"member": 4, "indicator": "TREE"}),
        None,
    );
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (422, Some("present"))
    );
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&station),
        &json!({"member": 4, "indicator": "TREE", "present": true}),
        None,
    );
    assert_eq!(
        (r.status, r.json()["source"].as_str()),
        (201, Some("station")),
        "{}",
        r.text()
    );
}

#[test]
fn the_live_log_and_the_documents() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    for m in 1..=4 {
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(&reviewer),
            &json!({"member": m, "indicator": "WASTE"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let cp = app.get("/log/vil/checkpoint", None);
    assert_eq!(cp.status, 200);
    assert!(
        cp.text().starts_with("test.local/log/vil\n4\n"),
        "{}",
        cp.text()
    );
    // Kept by proxies a second; a poller with its ETag gets 304, no body.
    assert_eq!(cp.header("cache-control"), Some("public, max-age=1"));
    let tag = cp.header("etag").expect("an ETag").to_owned();
    let again = app.request(
        "GET",
        "/log/vil/checkpoint",
        &[("If-None-Match", &tag)],
        None,
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    let t = app.get("/log/vil/tile/0/000.p/4", None);
    assert_eq!((t.status, t.body.len()), (200, 4 * 32));
    assert_eq!(
        t.header("cache-control"),
        Some("public, max-age=31536000, immutable"),
        "a partial tile is named by its width: it never changes"
    );
    let tag = t.header("etag").expect("an ETag").to_owned();
    let again = app.request(
        "GET",
        "/log/vil/tile/0/000.p/4",
        &[("If-None-Match", &tag)],
        None,
    );
    assert_eq!(again.status, 304);
    // A new entry (the next day: one a day) shows in the checkpoint once the second
    // it is kept has passed.
    app.clock.set(jifen_core::Timestamp::from_millis(
        common::fixture_time().millis() + 86_400_000,
    ));
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&app.login("reviewer")),
        &json!({"member": 1, "indicator": "WASTE", "note": "again"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    std::thread::sleep(
        jifen_server::logs::CHECKPOINT_CACHE + std::time::Duration::from_millis(100),
    );
    let cp5 = app.get("/log/vil/checkpoint", None);
    assert!(
        cp5.text().starts_with("test.local/log/vil\n5\n"),
        "{}",
        cp5.text()
    );
    assert_ne!(cp5.header("etag"), cp.header("etag"));
    assert_eq!(
        app.get("/log/vil/tile/0/000.p/6", None).status,
        404,
        "wider than the tree"
    );
    assert_eq!(
        app.get("/log/vil/tile/0/000", None).status,
        404,
        "not full yet"
    );
    let bundle = app.get("/log/vil/tile/entries/000.p/4", None);
    assert_eq!(bundle.status, 200);
    assert_eq!(
        jifen_log::decode_entry_bundle(&bundle.body)
            .expect("bundle")
            .len(),
        4
    );
    assert_eq!(app.get("/healthz", None).status, 200);
    let m = app.get("/metrics", None).text();
    assert!(
        m.contains("jifen_http_requests_total{class=\"2xx\"}"),
        "{m}"
    );
    assert!(m.contains("jifen_log_entries{region=\"vil\"} 5"), "{m}");
    let doc = app.get("/api/openapi.json", None).json();
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/regions/{region}/claims",
        "/api/v1/claims/{id}/approve",
        "/api/v1/claims/{id}/reject",
        "/api/v1/regions/{region}/members/{member}/balance",
        "/api/v1/entries/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lists {path}");
    }
    assert!(
        app.get("/api/docs", None)
            .text()
            .contains("/api/v1/claims/{id}/approve")
    );
}
