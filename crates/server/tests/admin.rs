//! The admin endpoints over HTTP: households and members (and erasure),
//! indicators and their versions, levels, accounts, roles, and API tokens for an
//! integration, with the refusals (401, 403, 409, 422 naming the field).

mod common;
use common::*;

use serde_json::{Value, json};

fn put(app: &App, path: &str, token: &str, body: &Value) -> Res {
    let auth = format!("Bearer {token}");
    let bytes = serde_json::to_vec(body).expect("json");
    app.request(
        "PUT",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &auth),
        ],
        Some(&bytes),
    )
}

fn delete(app: &App, path: &str, token: &str) -> Res {
    let auth = format!("Bearer {token}");
    app.request("DELETE", path, &[("Authorization", &auth)], None)
}

/// A refusal: the status, problem details, and the field when one is expected.
#[track_caller]
fn refused(r: &Res, status: u16, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    if let Some(f) = field {
        assert_eq!(r.json()["field"], f, "{}", r.text());
    }
}

fn indicator(code: &str, points: i64) -> Value {
    json!({
        "code": code, "name": "献血", "category": "德治", "points": points, "unit": "次",
        "cap_per_year": 4, "evidence": "note", "review": "one", "claimants": "residents",
        "valid_from": "2026-01-01", "core": false, "notice_days": 0
    })
}

#[test]
fn households_and_members() {
    let app = spawn_app();
    let admin = app.login("admin");
    let reviewer = app.login("reviewer");
    let station = app.login("station");
    let resident = app.login("resident");
    let path = format!("/api/v1/regions/{VIL}/households");

    // A household takes the next free number; a retry with the key gets the same answer.
    let r = app.post(&path, Some(&admin), &json!({"label": "3号"}), Some("h-1"));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!({"id": 3, "label": "3号"}));
    let again = app.post(&path, Some(&admin), &json!({"label": "3号"}), Some("h-1"));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], 3);
    // A chosen number that is taken, an empty label, a non-admin, no one.
    refused(
        &app.post(&path, Some(&admin), &json!({"label": "x", "id": 1}), None),
        409,
        None,
    );
    refused(
        &app.post(&path, Some(&admin), &json!({"label": "  "}), None),
        422,
        Some("label"),
    );
    refused(
        &app.post(&path, Some(&reviewer), &json!({"label": "4号"}), None),
        403,
        None,
    );
    refused(
        &app.post(&path, None, &json!({"label": "4号"}), None),
        401,
        None,
    );

    // Members.
    let path = format!("/api/v1/regions/{VIL}/members");
    let r = app.post(
        &path,
        Some(&admin),
        &json!({"household": 3, "name": "王七"}),
        Some("m-1"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!({"id": 5}));
    let again = app.post(
        &path,
        Some(&admin),
        &json!({"household": 3, "name": "王七"}),
        Some("m-1"),
    );
    assert_eq!(
        (again.status, again.json()["id"].as_i64()),
        (201, Some(5)),
        "a retry adds no one"
    );
    refused(
        &app.post(
            &path,
            Some(&admin),
            &json!({"household": 99, "name": "无户"}),
            None,
        ),
        422,
        Some("household"),
    );
    refused(
        &app.post(
            &path,
            Some(&admin),
            &json!({"household": 3, "name": "重号", "id": 5}),
            None,
        ),
        409,
        None,
    );
    refused(
        &app.post(
            &path,
            Some(&admin),
            &json!({"household": 3, "name": ""}),
            None,
        ),
        422,
        Some("name"),
    );
    refused(
        &app.post(&path, Some(&admin), &json!({"household": 3}), None),
        422,
        Some("name"),
    );
    refused(
        &app.post(
            &path,
            Some(&station),
            &json!({"household": 3, "name": "王八"}),
            None,
        ),
        403,
        None,
    );

    // Staff list members with their households, a page at a time.
    let r = app.get(&format!("{path}?limit=2"), Some(&station));
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["next"], 2);
    let r = app.get(&format!("{path}?after=4"), Some(&reviewer)).json();
    assert_eq!(
        r["items"],
        json!([{"id": 5, "household": 3, "household_label": "3号", "name": "王七"}])
    );
    assert!(r.get("next").is_none(), "the last page has no next: {r}");
    refused(&app.get(&path, Some(&resident)), 403, None);
    refused(
        &app.get(&format!("{path}?limit=0"), Some(&admin)),
        422,
        Some("limit"),
    );

    // Erasure: the name goes, the member stays (the log still verifies).
    refused(
        &app.post(
            &format!("{path}/5/erase"),
            Some(&reviewer),
            &json!({}),
            None,
        ),
        403,
        None,
    );
    let r = app.post(&format!("{path}/5/erase"), Some(&admin), &json!({}), None);
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app.get(&format!("{path}?after=4"), Some(&admin)).json();
    assert_eq!(
        r["items"],
        json!([{"id": 5, "household": 3, "household_label": "3号"}])
    );
    let r = app.post(&format!("{path}/5/erase"), Some(&admin), &json!({}), None);
    assert_eq!(r.status, 204, "erasing again changes nothing: {}", r.text());
    refused(
        &app.post(&format!("{path}/99/erase"), Some(&admin), &json!({}), None),
        404,
        None,
    );
    // An admin of the village is not an admin of a region it does not hold.
    refused(
        &app.post(
            "/api/v1/regions/nowhere/households",
            Some(&admin),
            &json!({"label": "x"}),
            None,
        ),
        403,
        None,
    );
}

#[test]
fn indicators_versions_and_levels() {
    let app = spawn_app();
    let admin = app.login("admin");
    let reviewer = app.login("reviewer");
    let resident = app.login("resident");
    let path = format!("/api/v1/regions/{VIL}/indicators");

    let r = app.post(&path, Some(&admin), &indicator("BLOOD", 20), None);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!({"code": "BLOOD", "version": 1}));
    // The same code again is a new version; the region now sees version 2.
    let r = app.post(&path, Some(&admin), &indicator("BLOOD", 30), None);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!({"code": "BLOOD", "version": 2}));
    let list = app.get(&path, None).json();
    let blood = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|i| i["code"] == "BLOOD")
        .expect("BLOOD listed")
        .clone();
    assert_eq!(
        (&blood["version"], &blood["points"], &blood["cap_per_year"]),
        (&json!(2), &json!(30), &json!(4))
    );
    assert_eq!(blood["evidence"], "note");
    // A claim now names version 2.
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/claims"),
        Some(&resident),
        &json!({"member": 1, "indicator": "BLOOD", "note": "400ml"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["indicator_version"], 2);

    // Bad input names the field.
    let cases: Vec<(&str, Value, &str)> = vec![
        ("bad code", json!({"code": "a b"}), "code"),
        ("evidence", json!({"evidence": "photo"}), "evidence"),
        ("review", json!({"review": "three"}), "review"),
        (
            "two without threshold",
            json!({"review": "two"}),
            "review_threshold",
        ),
        (
            "threshold without two",
            json!({"review": "one", "review_threshold": 10}),
            "review_threshold",
        ),
        ("claimants", json!({"claimants": "everyone"}), "claimants"),
        ("zero points", json!({"points": 0}), "points"),
        ("deduction by residents", json!({"points": -5}), "claimants"),
        ("empty name", json!({"name": ""}), "name"),
        ("zero cap", json!({"cap_per_day": 0}), "cap_per_day"),
        (
            "bad date",
            json!({"valid_from": "2026-13-01"}),
            "valid_from",
        ),
        (
            "to before from",
            json!({"valid_to": "2025-01-01"}),
            "valid_to",
        ),
        (
            "notice too long",
            json!({"notice_days": 1000}),
            "notice_days",
        ),
        ("unknown field", json!({"colour": "red"}), "colour"),
        ("wrong type", json!({"points": "many"}), "points"),
        // MEET is the city's core indicator: the village cannot redefine it.
        ("shadows core", json!({"code": "MEET"}), "code"),
    ];
    for (label, patch, field) in cases {
        let mut body = indicator("NEW", 5);
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let r = app.post(&path, Some(&admin), &body, None);
        assert_eq!(r.status, 422, "{label}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{label}: {}", r.text());
    }
    let mut missing = indicator("NEW", 5);
    missing
        .as_object_mut()
        .expect("object")
        .remove("valid_from");
    refused(
        &app.post(&path, Some(&admin), &missing, None),
        422,
        Some("valid_from"),
    );
    // Only the region's admin.
    refused(
        &app.post(&path, Some(&reviewer), &indicator("NEW", 5), None),
        403,
        None,
    );
    refused(
        &app.post(
            "/api/v1/regions/city/indicators",
            Some(&resident),
            &indicator("NEW", 5),
            None,
        ),
        403,
        None,
    );
    assert!(
        !app.get(&path, None).text().contains("\"NEW\""),
        "no refused indicator was written"
    );

    // Levels replace the region's levels; the balance shows the next one.
    let levels = format!("/api/v1/regions/{VIL}/levels");
    let body = json!([
        {"code": "voucher", "name": "购物券", "min_score": 800},
        {"code": "model", "name": "示范户", "min_score": 1000}
    ]);
    let r = put(&app, &levels, &admin, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), body);
    let r = put(
        &app,
        &levels,
        &admin,
        &json!([{"code": "low", "name": "起步", "min_score": 10}]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let b = app
        .get(
            &format!("/api/v1/regions/{VIL}/members/1/balance"),
            Some(&resident),
        )
        .json();
    assert_eq!(b["next_level"]["code"], "low", "{b}");
    let bad = json!([
        {"code": "a", "name": "A", "min_score": 100},
        {"code": "b", "name": "B", "min_score": 100}
    ]);
    refused(
        &put(&app, &levels, &admin, &bad),
        422,
        Some("[1].min_score"),
    );
    refused(
        &put(
            &app,
            &levels,
            &admin,
            &json!([{"code": "a", "name": " ", "min_score": 1}]),
        ),
        422,
        Some("[0].name"),
    );
    refused(
        &put(&app, &levels, &admin, &json!([{"code": "a", "name": "A"}])),
        422,
        Some("[0].min_score"),
    );
    refused(&put(&app, &levels, &reviewer, &body), 403, None);
    let b = app
        .get(
            &format!("/api/v1/regions/{VIL}/members/1/balance"),
            Some(&resident),
        )
        .json();
    assert_eq!(
        b["next_level"]["code"], "low",
        "refusals changed nothing: {b}"
    );
}

#[test]
fn accounts_roles_and_api_tokens() {
    let app = spawn_app();
    let admin = app.login("admin");
    let reviewer = app.login("reviewer");
    let resident = app.login("resident");

    // Accounts: any region's admin creates them.
    let r = app.post(
        "/api/v1/accounts",
        Some(&admin),
        &json!({"username": "bloodbank", "display_name": "市血站"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let bank = r.json()["id"].as_i64().expect("id");
    let r = app.post(
        "/api/v1/accounts",
        Some(&admin),
        &json!({"username": "clerk", "display_name": "文书", "password": PASSWORD}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let clerk = r.json()["id"].as_i64().expect("id");
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (
            json!({"username": "bloodbank", "display_name": "x"}),
            409,
            None,
        ),
        (
            json!({"username": "has space", "display_name": "x"}),
            422,
            Some("username"),
        ),
        (
            json!({"username": "ok", "display_name": " "}),
            422,
            Some("display_name"),
        ),
        (
            json!({"username": "ok", "display_name": "x", "password": "short"}),
            422,
            Some("password"),
        ),
        // Staff passwords: not digits only, not the username, not a common one.
        (
            json!({"username": "ok", "display_name": "x", "password": "13800138000"}),
            422,
            Some("password"),
        ),
        (
            json!({"username": "clerk9", "display_name": "x", "password": "Clerk9-spring-2026"}),
            422,
            Some("password"),
        ),
        (
            json!({"username": "ok", "display_name": "x", "password": "Password123"}),
            422,
            Some("password"),
        ),
        (json!({"username": "ok"}), 422, Some("display_name")),
    ];
    for (body, status, field) in cases {
        refused(
            &app.post("/api/v1/accounts", Some(&admin), &body, None),
            status,
            field,
        );
    }
    refused(
        &app.post(
            "/api/v1/accounts",
            Some(&reviewer),
            &json!({"username": "ok", "display_name": "x"}),
            None,
        ),
        403,
        None,
    );
    refused(
        &app.post(
            "/api/v1/accounts",
            None,
            &json!({"username": "ok", "display_name": "x"}),
            None,
        ),
        401,
        None,
    );

    // Roles. A token already in use sees a new role at once.
    let clerk_token = app.login("clerk");
    let members = format!("/api/v1/regions/{VIL}/members");
    refused(&app.get(&members, Some(&clerk_token)), 403, None);
    let roles = format!("/api/v1/regions/{VIL}/roles");
    let r = app.post(
        &roles,
        Some(&admin),
        &json!({"account": clerk, "role": "reviewer"}),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(app.get(&members, Some(&clerk_token)).status, 200);
    let r = app.post(
        &roles,
        Some(&admin),
        &json!({"account": bank, "role": "station"}),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (json!({"account": bank, "role": "king"}), 422, Some("role")),
        (
            json!({"account": 999, "role": "station"}),
            422,
            Some("account"),
        ),
        (
            json!({"account": bank, "role": "resident"}),
            422,
            Some("member"),
        ),
        (
            json!({"account": bank, "role": "resident", "member": 99}),
            422,
            Some("member"),
        ),
        (
            json!({"account": bank, "role": "merchant"}),
            422,
            Some("sponsor"),
        ),
        (
            json!({"account": bank, "role": "merchant", "sponsor": "Bad Code"}),
            422,
            Some("sponsor"),
        ),
    ];
    for (body, status, field) in cases {
        refused(&app.post(&roles, Some(&admin), &body, None), status, field);
    }
    refused(
        &app.post(
            &roles,
            Some(&reviewer),
            &json!({"account": bank, "role": "admin"}),
            None,
        ),
        403,
        None,
    );

    // The region's accounts, with their roles there only.
    let r = app.get(&format!("/api/v1/regions/{VIL}/accounts"), Some(&admin));
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json()["items"].as_array().expect("items").clone();
    let row = items
        .iter()
        .find(|a| a["id"] == bank)
        .expect("the blood bank is listed");
    assert_eq!(
        row["roles"],
        json!([{"region": "vil", "role": "station"}]),
        "{row}"
    );
    assert!(
        items
            .iter()
            .flat_map(|a| a["roles"].as_array().expect("roles"))
            .all(|g| g["region"] == VIL),
        "roles in other regions are not shown"
    );
    let page = app
        .get(
            &format!("/api/v1/regions/{VIL}/accounts?limit=2"),
            Some(&admin),
        )
        .json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["next"], 2);
    refused(
        &app.get(&format!("/api/v1/regions/{VIL}/accounts"), Some(&reviewer)),
        403,
        None,
    );

    // An API token for the blood bank, as a station in the village.
    let tokens = format!("/api/v1/regions/{VIL}/tokens");
    let cases: Vec<(Value, u16, Option<&str>)> = vec![
        (
            json!({"account": bank, "role": "reviewer", "days": 30}),
            422,
            Some("role"),
        ),
        (
            json!({"account": bank, "role": "station", "days": 0}),
            422,
            Some("days"),
        ),
        (
            json!({"account": bank, "role": "station", "days": 400}),
            422,
            Some("days"),
        ),
        (
            json!({"account": 999, "role": "station", "days": 30}),
            422,
            Some("account"),
        ),
    ];
    for (body, status, field) in cases {
        refused(&app.post(&tokens, Some(&admin), &body, None), status, field);
    }
    refused(
        &app.post(
            &tokens,
            Some(&reviewer),
            &json!({"account": bank, "role": "station", "days": 30}),
            None,
        ),
        403,
        None,
    );
    let r = app.post(
        &tokens,
        Some(&admin),
        &json!({"account": bank, "role": "station", "days": 30}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let out = r.json();
    let token = out["token"].as_str().expect("token").to_owned();
    assert_eq!(out["expires_at"], "2026-04-09T10:00:00+08:00");
    // It records for a resident who is present, under the same rules as anyone.
    let claim = json!({"member": 1, "indicator": "TREE", "note": "献血后植树", "present": true});
    let r = app.post(
        &format!("/api/v1/regions/{VIL}/claims"),
        Some(&token),
        &claim,
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["source"], "station");
    let mut absent = claim.clone();
    absent["present"] = json!(false);
    refused(
        &app.post(
            &format!("/api/v1/regions/{VIL}/claims"),
            Some(&token),
            &absent,
            None,
        ),
        422,
        Some("present"),
    );
    // It acts nowhere else, and as nothing else.
    let mut city = claim.clone();
    city["indicator"] = json!("MEET");
    refused(
        &app.post("/api/v1/regions/city/claims", Some(&token), &city, None),
        403,
        None,
    );
    refused(
        &app.get("/api/v1/regions/city/members", Some(&token)),
        403,
        None,
    );
    refused(
        &app.post(
            &format!("/api/v1/regions/{VIL}/households"),
            Some(&token),
            &json!({"label": "x"}),
            None,
        ),
        403,
        None,
    );
    // Even when the account holds more: a scoped token of a station-and-reviewer
    // account still acts only as a station.
    let r = app.post(
        &roles,
        Some(&admin),
        &json!({"account": bank, "role": "reviewer"}),
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let id = app
        .post(
            &format!("/api/v1/regions/{VIL}/claims"),
            Some(&resident),
            &json!({"member": 1, "indicator": "TREE"}),
            None,
        )
        .json()["id"]
        .as_str()
        .expect("claim id")
        .to_owned();
    refused(
        &app.post(
            &format!("/api/v1/claims/{id}/approve"),
            Some(&token),
            &json!({}),
            None,
        ),
        403,
        None,
    );

    // Revoking the role stops the token at once.
    let r = delete(
        &app,
        &format!("/api/v1/regions/{VIL}/roles/{bank}/station"),
        &admin,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    refused(
        &app.post(
            &format!("/api/v1/regions/{VIL}/claims"),
            Some(&token),
            &claim,
            None,
        ),
        403,
        None,
    );
    refused(
        &delete(
            &app,
            &format!("/api/v1/regions/{VIL}/roles/{bank}/station"),
            &admin,
        ),
        404,
        None,
    );
    refused(
        &delete(
            &app,
            &format!("/api/v1/regions/{VIL}/roles/{bank}/king"),
            &admin,
        ),
        404,
        None,
    );
    refused(
        &delete(
            &app,
            &format!("/api/v1/regions/{VIL}/roles/{bank}/reviewer"),
            &reviewer,
        ),
        403,
        None,
    );
    // An admin cannot take their own admin role, so a region keeps someone to configure it.
    refused(
        &delete(
            &app,
            &format!("/api/v1/regions/{VIL}/roles/1/admin"),
            &admin,
        ),
        409,
        None,
    );
    assert_eq!(app.get(&members, Some(&admin)).status, 200);
}

/// A region's half of a recognition agreement: set by its admin, read by anyone, a bad
/// one refused naming its field, ended for good.
#[test]
fn an_agreement_half_is_set_read_refused_and_ended() {
    let app = spawn_app();
    let admin = app.login("admin");
    let partner = partner_log();
    let body = json!({"partner_origin": "jifen.sz/log/sz-nanshan", "partner_vkey": partner.vkey(),
                      "send": true, "receive": true, "categories": ["志愿服务"],
                      "rate_num": 1, "rate_den": 2, "cap_per_member_year": 200,
                      "valid_from": "2026-01-01", "valid_to": "2026-12-31"});
    let path = "/api/v1/regions/vil/agreements/sz-nanshan";
    let mut bad = body.clone();
    bad["valid_from"] = json!("2026-13-01");
    refused(&put(&app, path, &admin, &bad), 422, Some("valid_from"));
    let mut bad = body.clone();
    bad["rate_den"] = json!(0);
    refused(&put(&app, path, &admin, &bad), 422, Some("rate_den"));
    let mut bad = body.clone();
    bad["partner_vkey"] = json!("nonsense");
    refused(&put(&app, path, &admin, &bad), 422, Some("partner_vkey"));
    let mut bad = body.clone();
    bad["send"] = json!(false);
    bad["receive"] = json!(false);
    refused(&put(&app, path, &admin, &bad), 422, Some("send"));
    assert_eq!(
        app.get("/api/v1/regions/vil/agreements", None).json(),
        json!([])
    );
    let r = put(&app, path, &admin, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let listed = app.get("/api/v1/regions/vil/agreements", None).json();
    assert_eq!(listed[0]["partner"], "sz-nanshan");
    assert_eq!(listed[0]["rate_den"], 2);
    assert_eq!(listed[0]["in_force"], true, "{listed}");
    let r = delete(&app, path, &admin);
    assert_eq!(r.status, 200, "{}", r.text());
    let one = app.get(path, None).json();
    assert_eq!(one["in_force"], false);
    assert!(one["ended"].is_string(), "{one}");
    refused(&put(&app, path, &admin, &body), 409, None);
    let r = app.get("/api/v1/regions/vil/agreements/Not_A_Name", None);
    assert_eq!(r.status, 404);
}
