//! Public notice (公示) and appeals (申诉) over HTTP, against the real server.

mod common;

use common::*;
use serde_json::{Value, json};

/// Keys the public board must never show: who the member is, their household, their note.
const PRIVATE_KEYS: &[&str] = &["member", "member_name", "household", "note", "approvals"];

fn assert_no_private_keys(v: &Value, at: &str) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                assert!(
                    !PRIVATE_KEYS.contains(&k.as_str()),
                    "the public board shows {k:?} at {at}"
                );
                assert_no_private_keys(x, &format!("{at}.{k}"));
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                assert_no_private_keys(x, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

fn balance(app: &App, token: &str) -> (i64, i64) {
    let b = app.get("/api/v1/regions/vil/members/1/balance", Some(token));
    assert_eq!(b.status, 200, "{}", b.text());
    let b = b.json();
    (
        b["annual_score"].as_i64().expect("annual"),
        b["spendable"].as_i64().expect("spendable"),
    )
}

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn public_notice_objection_and_close() {
    let app = spawn_app();
    let resident = app.login("resident");
    let resident2 = app.login("resident2");
    let reviewer = app.login("reviewer");
    // A resident claims PROPOSAL (3 days of notice), and TREE (no notice).
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "PROPOSAL", "note": "修路建议"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &json!({"member": 1, "indicator": "TREE"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // Sessions last 12 hours on the test clock: sign in again after moving it.
    let approve = |id: &str, token: &str| {
        let r = app.post(
            &format!("/api/v1/claims/{id}/approve"),
            Some(token),
            &json!({}),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    let c = approve(&claim, &reviewer);
    assert_eq!(c["status"], "in-notice");
    assert_eq!(c["notice_until"], "2026-03-13T10:00:00+08:00");
    // The public board, without signing in: the claim on notice only, name masked.
    let board = app.get("/api/v1/regions/vil/notice", None);
    assert_eq!(board.status, 200, "{}", board.text());
    let b = board.json();
    assert_eq!(ids(&b), vec![claim.clone()]);
    let item = &b["items"][0];
    assert_eq!(item["name"], "张*");
    assert_eq!(item["indicator"], "PROPOSAL");
    assert_eq!(item["points"], 50);
    assert_eq!(item["quantity"], 1);
    assert_eq!(item["notice_until"], "2026-03-13T10:00:00+08:00");
    assert_no_private_keys(&b, "board");
    assert!(
        !board.text().contains("张三"),
        "full name shown: {}",
        board.text()
    );
    assert!(
        !board.text().contains("修路建议"),
        "note shown: {}",
        board.text()
    );
    assert_eq!(app.get("/api/v1/regions/nowhere/notice", None).status, 404);
    // Objecting needs a sign-in.
    let r = app.post(
        &format!("/api/v1/claims/{claim}/object"),
        None,
        &json!({"reason": "x"}),
        None,
    );
    assert_eq!(r.status, 401, "{}", r.text());
    // resident2 objects: the claim goes back to review, off the board, approvals dropped.
    let r = app.post(
        &format!("/api/v1/claims/{claim}/object"),
        Some(&resident2),
        &json!({"reason": "这个建议是我提的"}),
        Some("obj-1"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let o = r.json();
    assert_eq!(o["claim"], claim.as_str());
    assert_eq!(o["claim_status"], "submitted");
    assert_eq!(o["id"], "vil:1");
    // A retry with the same key gets the same answer, and no second objection.
    let again = app.post(
        &format!("/api/v1/claims/{claim}/object"),
        Some(&resident2),
        &json!({"reason": "这个建议是我提的"}),
        Some("obj-1"),
    );
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.json(), o);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let c = app
        .get(&format!("/api/v1/claims/{claim}"), Some(&reviewer))
        .json();
    assert_eq!(c["status"], "submitted");
    assert_eq!(c["approvals"], json!([]));
    assert!(ids(&app.get("/api/v1/regions/vil/notice", None).json()).is_empty());
    // Approved again: back on notice, for three days from now.
    app.clock.set(fixture_time().plus_days(1));
    let (resident, reviewer) = (app.login("resident"), app.login("reviewer"));
    let c = approve(&claim, &reviewer);
    assert_eq!(c["status"], "in-notice");
    assert_eq!(c["notice_until"], "2026-03-14T10:00:00+08:00");
    // Closing before the end posts nothing; a resident may not close.
    let r = app.post(
        "/api/v1/regions/vil/notice/close",
        Some(&resident),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app.post(
        "/api/v1/regions/vil/notice/close",
        Some(&reviewer),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!([]));
    assert_eq!(balance(&app, &resident), (0, 0));
    // Three days on, the notice has ended: objections are closed even before it posts.
    app.clock.set(fixture_time().plus_days(4));
    let (resident, resident2) = (app.login("resident"), app.login("resident2"));
    let reviewer = app.login("reviewer");
    let late = app.post(
        &format!("/api/v1/claims/{claim}/object"),
        Some(&resident2),
        &json!({"reason": "too late"}),
        None,
    );
    assert_eq!(late.status, 409, "{}", late.text());
    // Closing posts it, once.
    let r = app.post(
        "/api/v1/regions/vil/notice/close",
        Some(&reviewer),
        &json!({}),
        Some("close-1"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let posted = r.json();
    let posted = posted.as_array().expect("list");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0]["id"], claim.as_str());
    assert_eq!(posted[0]["status"], "posted");
    assert!(posted[0]["entry"].is_string());
    assert_eq!(balance(&app, &resident), (50, 50));
    let replay = app.post(
        "/api/v1/regions/vil/notice/close",
        Some(&reviewer),
        &json!({}),
        Some("close-1"),
    );
    assert_eq!(replay.status, 200, "{}", replay.text());
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json().as_array().map(Vec::len), Some(1));
    assert_eq!(balance(&app, &resident), (50, 50));
    assert!(ids(&app.get("/api/v1/regions/vil/notice", None).json()).is_empty());
    // After it posted, an objection is refused as well.
    let late = app.post(
        &format!("/api/v1/claims/{claim}/object"),
        Some(&resident2),
        &json!({"reason": "too late"}),
        None,
    );
    assert_eq!(late.status, 409, "{}", late.text());
}

/// Staff record a LITTER deduction for member 1; reviewer2 approves it (posted).
fn record_litter(app: &App) -> String {
    let reviewer = app.login("reviewer");
    let reviewer2 = app.login("reviewer2");
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &json!({"member": 1, "indicator": "LITTER", "note": "乱扔垃圾"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{claim}/approve"),
        Some(&reviewer2),
        &json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "posted");
    r.json()["entry"].as_str().expect("entry").to_owned()
}

#[test]
fn appeal_filed_decided_once_by_someone_else() {
    let app = spawn_app();
    let resident = app.login("resident");
    let resident2 = app.login("resident2");
    let entry = record_litter(&app);
    assert_eq!(balance(&app, &resident), (-2, -2));
    let appeal_path = format!("/api/v1/entries/{entry}/appeal");
    let statement = json!({"statement": "那天我不在村里"});
    // Someone else's entry: refused, nothing filed.
    let r = app.post(&appeal_path, Some(&resident2), &statement, None);
    assert_eq!(r.status, 403, "{}", r.text());
    // The member appeals within the window: filed, with the deadline 30 days after the entry.
    // Sessions last 12 hours on the test clock: sign in again after moving it.
    app.clock.set(fixture_time().plus_days(2));
    let (resident, resident2) = (app.login("resident"), app.login("resident2"));
    let (reviewer, reviewer2) = (app.login("reviewer"), app.login("reviewer2"));
    let (reviewer3, admin) = (app.login("reviewer3"), app.login("admin"));
    let r = app.post(&appeal_path, Some(&resident), &statement, Some("ap-1"));
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    assert_eq!(a["id"], "vil:1");
    assert_eq!(a["entry"], entry.as_str());
    assert_eq!(a["status"], "filed");
    assert_eq!(a["deadline"], "2026-04-09T10:00:00+08:00");
    assert_eq!(a["filed_at"], "2026-03-12T10:00:00+08:00");
    let replay = app.post(&appeal_path, Some(&resident), &statement, Some("ap-1"));
    assert_eq!(replay.status, 201, "{}", replay.text());
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json(), a);
    // A second appeal while the first is open is a conflict.
    let r = app.post(&appeal_path, Some(&resident), &statement, None);
    assert_eq!(r.status, 409, "{}", r.text());
    // Who sees it: the resident their own; resident2 nothing and not member 1's; staff all.
    let mine = app
        .get("/api/v1/regions/vil/appeals", Some(&resident))
        .json();
    assert_eq!(ids(&mine), vec!["vil:1".to_owned()]);
    let theirs = app.get("/api/v1/regions/vil/appeals", Some(&resident2));
    assert_eq!(theirs.status, 200, "{}", theirs.text());
    assert!(ids(&theirs.json()).is_empty());
    assert_eq!(
        app.get("/api/v1/regions/vil/appeals?member=1", Some(&resident2))
            .status,
        403
    );
    let queue = app
        .get("/api/v1/regions/vil/appeals?status=filed", Some(&reviewer))
        .json();
    assert_eq!(ids(&queue), vec!["vil:1".to_owned()]);
    assert_eq!(queue["items"][0]["entry"], entry.as_str());
    assert_eq!(
        app.get("/api/v1/regions/vil/appeals?status=bogus", Some(&reviewer))
            .status,
        422
    );
    // The approving reviewer may not decide; nor a reviewer of the member's household;
    // nor a resident.
    let decide = "/api/v1/appeals/vil:1/decide";
    let overturn = json!({"decision": "overturn"});
    let r = app.post(decide, Some(&reviewer2), &overturn, None);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app.post(decide, Some(&reviewer3), &overturn, None);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app.post(decide, Some(&resident), &overturn, None);
    assert_eq!(r.status, 403, "{}", r.text());
    let r = app.post(decide, Some(&admin), &json!({"decision": "adjust"}), None);
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["field"], "amount");
    assert_eq!(balance(&app, &resident), (-2, -2));
    // The admin overturns: a reversal entry, and the resident's points are back.
    let r = app.post(decide, Some(&admin), &overturn, None);
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    assert_eq!(d["status"], "overturned");
    let reversal = d["entry"].as_str().expect("reversal entry").to_owned();
    let e = app.get(&format!("/api/v1/entries/{reversal}"), Some(&resident));
    assert_eq!(e.status, 200, "{}", e.text());
    assert_eq!(e.json()["entry"]["kind"], "reversal");
    assert_eq!(e.json()["entry"]["reverses"], entry.as_str());
    assert_eq!(e.json()["entry"]["amount"], 2);
    assert_eq!(balance(&app, &resident), (0, 0));
    // Decided once only.
    let r = app.post(decide, Some(&admin), &json!({"decision": "uphold"}), None);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(balance(&app, &resident), (0, 0));
    let done = app
        .get("/api/v1/regions/vil/appeals", Some(&resident))
        .json();
    let item = &done["items"][0];
    assert_eq!(item["status"], "overturned");
    assert_eq!(item["decided_by"], 1);
    assert_eq!(item["outcome_entry"], reversal.as_str());
    // A second entry, appealed 31 days after it posted: the window has closed.
    app.clock.set(fixture_time());
    let late_entry = record_litter(&app);
    app.clock.set(fixture_time().plus_days(31));
    let (resident, reviewer) = (app.login("resident"), app.login("reviewer"));
    let r = app.post(
        &format!("/api/v1/entries/{late_entry}/appeal"),
        Some(&resident),
        &statement,
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("window"), "{}", r.text());
    let all = app
        .get("/api/v1/regions/vil/appeals", Some(&reviewer))
        .json();
    assert_eq!(ids(&all), vec!["vil:1".to_owned()]);
}
