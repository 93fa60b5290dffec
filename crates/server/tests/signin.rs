//! Sign-in abuse: an account takes five wrong passwords, then refuses sign-ins
//! (even with the right password) with 429 and `Retry-After`, backing off; an
//! address takes twenty wrong passwords in fifteen minutes; the owner and the
//! region's admin see the attempts, the admin unlocks; a resident signs out
//! everywhere.

mod common;
use common::*;

use jifen_core::Timestamp;
use serde_json::json;

fn sign_in(app: &App, username: &str, password: &str) -> Res {
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"username": username, "password": password}),
        None,
    )
}

fn later(app: &App, secs: i64) {
    app.clock.set(Timestamp::from_millis(
        fixture_time().millis() + secs * 1_000,
    ));
}

#[test]
fn an_account_refuses_sign_ins_after_five_wrong_passwords_and_backs_off() {
    let app = spawn_app();
    let own = app.login("reviewer");
    for i in 0..5 {
        let r = sign_in(&app, "reviewer", "guess");
        assert_eq!(r.status, 401, "wrong password {i}: {}", r.text());
    }
    // The sixth attempt is refused before the password is looked at: even the right one.
    let r = sign_in(&app, "reviewer", PASSWORD);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("60"));
    assert_eq!(r.json()["code"], "account-locked");
    assert!(
        r.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("an admin of its region can unlock it")),
        "{}",
        r.text()
    );
    // Other accounts are not held up.
    app.login("reviewer2");
    // After the minute, one more try; a wrong one doubles the wait.
    later(&app, 61);
    assert_eq!(sign_in(&app, "reviewer", "guess").status, 401);
    let r = sign_in(&app, "reviewer", PASSWORD);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("120"));
    // The owner, signed in before, sees who tried.
    let mine = app.get("/api/v1/auth/me/sign-ins", Some(&own)).json();
    assert!(mine["locked_until"].is_string(), "{mine}");
    let failed = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["outcome"] == "failed")
        .count();
    assert_eq!(failed, 6, "{mine}");
    assert_eq!(mine["items"][0]["address"], "127.0.0.1");
    // Monitoring sees it.
    let m = app.get("/metrics", None).text();
    assert!(
        m.contains("jifen_sign_ins_refused_total{why=\"wrong\"} 6"),
        "{m}"
    );
    assert!(
        m.contains("jifen_sign_ins_refused_total{why=\"account-locked\"} 2"),
        "{m}"
    );
    // Waiting it out works too.
    later(&app, 61 + 121);
    assert_eq!(sign_in(&app, "reviewer", PASSWORD).status, 200);
}

#[test]
fn an_admin_of_the_region_sees_the_attempts_and_unlocks() {
    let app = spawn_app();
    let admin = app.login("admin");
    let station = app.login("station");
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "resident", "1234").status, 401);
    }
    assert_eq!(sign_in(&app, "resident", PASSWORD).status, 429);
    let path = format!("/api/v1/regions/{VIL}/accounts/7/sign-ins");
    let seen = app.get(&path, Some(&admin));
    assert_eq!(seen.status, 200, "{}", seen.text());
    assert!(seen.json()["locked_until"].is_string());
    // Not for other roles, and not for accounts the region does not hold.
    assert_eq!(app.get(&path, Some(&station)).status, 403);
    let r = app.get(
        &format!("/api/v1/regions/{VIL}/accounts/999/sign-ins"),
        Some(&admin),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let unlock = format!("/api/v1/regions/{VIL}/accounts/7/unlock");
    assert_eq!(
        app.post(&unlock, Some(&station), &json!(null), None).status,
        403
    );
    let r = app.post(&unlock, Some(&admin), &json!(null), None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["locked_until"].is_null(), "{}", r.text());
    assert_eq!(r.json()["items"][0]["outcome"], "unlocked");
    assert_eq!(r.json()["items"][0]["by"], 1);
    assert_eq!(sign_in(&app, "resident", PASSWORD).status, 200);
    // A success ends the run: five more wrong ones before the next lock.
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "resident", "1234").status, 401);
    }
    assert_eq!(sign_in(&app, "resident", PASSWORD).status, 429);
}

#[test]
fn an_address_refuses_sign_ins_after_twenty_wrong_passwords() {
    let app = spawn_app();
    // Unknown usernames count against the address too.
    for i in 0..20 {
        let r = sign_in(&app, &format!("nobody{i}"), "guess");
        assert_eq!(r.status, 401, "{i}: {}", r.text());
    }
    let r = sign_in(&app, "admin", PASSWORD);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["code"], "address-throttled");
    assert_eq!(r.header("retry-after"), Some("900"));
    later(&app, 901);
    assert_eq!(sign_in(&app, "admin", PASSWORD).status, 200);
}

#[test]
fn signing_out_everywhere_ends_every_session_of_the_account() {
    let app = spawn_app();
    let phone = app.login("resident");
    let pc = app.login("resident");
    let other = app.login("resident2");
    let r = app.request(
        "POST",
        "/api/v1/auth/logout-everywhere",
        &[("Authorization", &format!("Bearer {phone}"))],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    for t in [&phone, &pc] {
        assert_eq!(app.get("/api/v1/auth/me", Some(t)).status, 401);
    }
    assert_eq!(app.get("/api/v1/auth/me", Some(&other)).status, 200);
    // It needs no idempotency key: twice changes nothing.
    let again = app.login("resident");
    let r = app.request_without_key(
        "POST",
        "/api/v1/auth/logout-everywhere",
        &[("Authorization", &format!("Bearer {again}"))],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
}
