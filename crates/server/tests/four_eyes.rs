//! Four eyes and exact retries: whoever records a claim gives it none of its
//! approvals (by the API directly, at a station, from an event check-in); every
//! write carries an `Idempotency-Key`, and a key reused with another request is
//! refused; typed text holds no control or bidirectional characters; security
//! headers are on every answer, and cookies are `Secure` behind a trusted TLS proxy.

mod common;
use common::*;

use serde_json::json;

/// A refusal as problem details, with a detail that contains `says`.
#[track_caller]
fn refused(r: &Res, status: u16, says: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let detail = r.json()["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains(says), "{detail:?} lacks {says:?}");
}

#[test]
fn the_recorder_never_approves_and_a_second_reviewer_posts() {
    let app = spawn_app();
    let (reviewer, reviewer2) = (app.login("reviewer"), app.login("reviewer2"));
    // A reviewer records an act for a resident...
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/claims"),
        Some(&reviewer),
        &json!({"member": 4, "indicator": "TREE", "quantity": 1, "note": "self"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json();
    assert_eq!(claim["status"], "submitted");
    assert_eq!(claim["recorded_by"], 2);
    let id = claim["id"].as_str().expect("id").to_owned();
    // ...and cannot approve it: the rule is named.
    let approve = format!("/api/v1/claims/{id}/approve");
    let r = app.post(&approve, Some(&reviewer), &json!({}), None);
    refused(&r, 403, "you recorded this claim");
    assert!(r.text().contains("four eyes"), "{}", r.text());
    let one = app.get(&format!("/api/v1/claims/{id}"), Some(&reviewer));
    assert_eq!(one.json()["status"], "submitted", "nothing changed");
    assert_eq!(one.json()["approvals"], json!([]));
    // The recorder may still reject their own record (it posts nothing)... but here
    // the other reviewer approves, and the points post.
    let r = app.post(&approve, Some(&reviewer2), &json!({}), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "posted");
    assert_eq!(r.json()["approvals"], json!([3]));
}

#[test]
fn the_recorder_may_reject_their_own_record() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/claims"),
        Some(&reviewer),
        &json!({"member": 4, "indicator": "TREE", "quantity": 1, "note": "typed the wrong member"}),
        None,
    );
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{id}/reject"),
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "rejected");
}

#[test]
fn a_station_operator_who_also_reviews_cannot_approve_what_they_recorded() {
    let app = spawn_app();
    let (admin, reviewer) = (app.login("admin"), app.login("reviewer"));
    // The station account (4) is given the reviewer role as well.
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/roles"),
        Some(&admin),
        &json!({"account": 4, "role": "reviewer"}),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let station = app.login("station");
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/claims"),
        Some(&station),
        &json!({"member": 3, "indicator": "TREE", "quantity": 2, "present": true}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["source"], "direct");
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let approve = format!("/api/v1/claims/{id}/approve");
    refused(
        &app.post(&approve, Some(&station), &json!({}), None),
        403,
        "you recorded this claim",
    );
    let r = app.post(&approve, Some(&reviewer), &json!({}), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "posted");
}

#[test]
fn a_two_reviewer_claim_needs_two_people_besides_its_recorder() {
    let app = spawn_app();
    let (reviewer, reviewer2, reviewer3) = (
        app.login("reviewer"),
        app.login("reviewer2"),
        app.login("reviewer3"),
    );
    // MEDIATE (10 points, two reviewers above 10): 2 × 10 = 20 needs two approvals.
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/claims"),
        Some(&reviewer),
        &json!({"member": 3, "indicator": "MEDIATE", "quantity": 2}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let approve = format!("/api/v1/claims/{id}/approve");
    refused(
        &app.post(&approve, Some(&reviewer), &json!({}), None),
        403,
        "you recorded this claim",
    );
    let r = app.post(&approve, Some(&reviewer2), &json!({}), None);
    assert_eq!(r.json()["status"], "partly-approved", "{}", r.text());
    let r = app.post(&approve, Some(&reviewer3), &json!({}), None);
    assert_eq!(r.json()["status"], "posted", "{}", r.text());
    assert_eq!(r.json()["approvals"], json!([3, 11]));
}

#[test]
fn a_write_without_a_key_is_refused_and_a_key_is_for_one_request() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let auth = format!("Bearer {reviewer}");
    let path = format!("/api/v1/regions/{VIL}/claims");
    let body = br#"{"member":4,"indicator":"TREE","quantity":1,"note":"first"}"#;
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let r = app.request_without_key("POST", &path, &headers, Some(body));
    refused(&r, 400, "needs an Idempotency-Key header");
    // Nothing was written.
    let list = app.get(&path, Some(&reviewer));
    assert_eq!(list.json()["items"], json!([]), "{}", list.text());

    let with_key = |k: &'static str, body: &[u8]| {
        let mut h = headers.to_vec();
        h.push(("Idempotency-Key", k));
        app.request_without_key("POST", &path, &h, Some(body))
    };
    let first = with_key("k-1", body);
    assert_eq!(first.status, 201, "{}", first.text());
    // A retry, byte for byte: the first answer, posted once.
    let again = with_key("k-1", body);
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    // The same key with another note: refused, naming the key; nothing new.
    let changed = with_key(
        "k-1",
        br#"{"member":4,"indicator":"TREE","quantity":1,"note":"second"}"#,
    );
    refused(&changed, 422, "Idempotency-Key \"k-1\" was already used");
    assert_eq!(changed.json()["field"], "Idempotency-Key");
    let list = app.get(&path, Some(&reviewer));
    let items = list.json()["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 1, "{}", list.text());
    assert_eq!(items[0]["note"], "first");
    // Signing in needs no key.
    let r = app.request_without_key(
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "application/json")],
        Some(
            json!({"username": "reviewer", "password": PASSWORD})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_ne!(r.status, 400, "{}", r.text());
}

#[test]
fn typed_text_with_a_bidi_override_or_nul_is_refused_by_its_field() {
    let app = spawn_app();
    let (reviewer, admin) = (app.login("reviewer"), app.login("admin"));
    let claims = format!("/api/v1/regions/{VIL}/claims");
    for (note, says) in [
        ("张三\u{202E}四李", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("nul\u{0}", "control character U+0000"),
    ] {
        let r = app.post(
            &claims,
            Some(&reviewer),
            &json!({"member": 4, "indicator": "TREE", "quantity": 1, "note": note}),
            None,
        );
        refused(&r, 422, says);
        assert!(
            r.text().contains("the note"),
            "the field is named: {}",
            r.text()
        );
    }
    // A line break in a note is fine, and stored as typed.
    let r = app.post(
        &claims,
        Some(&reviewer),
        &json!({"member": 4, "indicator": "TREE", "quantity": 1, "note": "第一行\n第二行"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["note"], "第一行\n第二行");
    // Names: a member's name with an isolate is refused the same way.
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/members"),
        Some(&admin),
        &json!({"household": 1, "name": "王\u{2067}五"}),
        None,
    );
    refused(&r, 422, "U+2067 (RIGHT-TO-LEFT ISOLATE)");
    let members = app.get(&format!("/api/v1/regions/{VIL}/members"), Some(&admin));
    assert!(!members.text().contains('\u{2067}'), "nothing was added");
}

#[test]
fn security_headers_are_on_every_answer_the_docs_included() {
    let app = spawn_app();
    for path in [
        "/api/docs",
        "/api/openapi.json",
        "/healthz",
        "/login",
        "/public",
    ] {
        let r = app.get(path, None);
        assert!(
            r.header("content-security-policy").is_some(),
            "{path}: no CSP"
        );
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
        assert!(r.header("strict-transport-security").is_none(), "{path}");
    }
    let docs = app.get("/api/docs", None);
    assert!(
        docs.header("content-security-policy")
            .is_some_and(|p| p.contains("default-src 'none'")),
        "the docs page has its own narrow policy"
    );
}

#[test]
fn cookies_are_secure_only_behind_a_trusted_tls_proxy() {
    let login = json!({"username": "reviewer", "password": PASSWORD}).to_string();
    let cookie = |app: &App, proto: Option<&str>| {
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(p) = proto {
            h.push(("X-Forwarded-Proto", p));
        }
        let r = app.request_without_key("POST", "/api/v1/auth/login", &h, Some(login.as_bytes()));
        assert_eq!(r.status, 200, "{}", r.text());
        (
            r.header("set-cookie").expect("a session cookie").to_owned(),
            r.header("strict-transport-security").map(str::to_owned),
        )
    };
    let plain = spawn_app();
    let (c, hsts) = cookie(&plain, Some("https"));
    assert!(
        !c.contains("Secure"),
        "an untrusted header changes nothing: {c}"
    );
    assert!(hsts.is_none());
    let proxied = spawn_app_trusting_proxy(true);
    let (c, hsts) = cookie(&proxied, Some("https"));
    assert!(c.ends_with("; Secure"), "{c}");
    assert!(hsts.is_some_and(|h| h.starts_with("max-age=")));
    let (c, _) = cookie(&proxied, Some("http"));
    assert!(!c.contains("Secure"), "{c}");
}

#[test]
fn an_event_check_in_is_approved_by_someone_other_than_who_checked_in() {
    let app = spawn_app();
    let (reviewer, reviewer3) = (app.login("reviewer"), app.login("reviewer3"));
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/events"),
        Some(&reviewer),
        &json!({"name": "议事会", "indicator": "MEET",
                "starts_at": "2026-03-10T09:00:00+08:00", "ends_at": "2026-03-10T12:00:00+08:00"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (_, event, exp, sig) = link_parts(r.json()["checkin_url"].as_str().expect("link"));
    // reviewer3 is also member 2, a resident: they check in themselves (MEET needs review).
    let r = app.post(
        "/api/v1/checkin",
        Some(&reviewer3),
        &json!({"region": VIL, "event": event, "exp": exp, "sig": sig}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], "submitted");
    assert_eq!(r.json()["recorded_by"], 11);
    let approve = format!(
        "/api/v1/claims/{}/approve",
        r.json()["id"].as_str().expect("id")
    );
    refused(
        &app.post(&approve, Some(&reviewer3), &json!({}), None),
        403,
        "cannot review a claim of your own",
    );
    let r = app.post(&approve, Some(&reviewer), &json!({}), None);
    assert_eq!(r.json()["status"], "posted", "{}", r.text());
}
