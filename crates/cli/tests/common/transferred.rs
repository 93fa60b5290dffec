//! A transfer between two `jifen serve` processes, each with its own data folder and
//! keys (`transfer.rs`): home `vil`, receiving `sz`. Both halves of the agreement set by
//! each side's admin over HTTP; a resident's points taken out at home, the statement
//! fetched, taken at the receiving station with the code, a replay and a changed
//! statement refused, an ended half refused; `jifen verify` on both sides.

use jifen_core::Role;
use serde_json::{Value, json};

use super::{call, jifen, seed_region, serve_on, temp};

const STATION: &str = "transfer-test-station-token-0123456789abcdef";
const ADMIN: &str = "transfer-test-admin-token-0123456789abcdef";
const REVIEWER: &str = "transfer-test-reviewer-token-0123456789abc";

fn json_of(status: u16, body: &str, want: u16) -> Value {
    assert_eq!(status, want, "{body}");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn output(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run jifen");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn transfer_round_trip() {
    let tmp = temp("transfer");
    let (hdata, adata) = (tmp.0.join("home"), tmp.0.join("away"));
    let accounts = [
        ("station", "站点", Role::Station, STATION),
        ("admin", "管理员", Role::Admin, ADMIN),
        ("reviewer", "审核员", Role::Reviewer, REVIEWER),
    ];
    seed_region(&hdata, &jifen_store::Database::Sqlite, "vil", 6, &accounts);
    seed_region(&adata, &jifen_store::Database::Sqlite, "sz", 6, &accounts);
    let home = serve_on(jifen(&hdata), "127.0.0.1:0", &[]);
    let away = serve_on(jifen(&adata), "127.0.0.1:0", &[]);
    let region = |addr: &str, code: &str| {
        let (s, b) = call("GET", "", addr, &format!("/api/v1/regions/{code}"), "g", "");
        json_of(s, &b, 200)
    };
    let (h, a) = (region(&home.addr, "vil"), region(&away.addr, "sz"));
    let half = |partner: &Value, send: bool| {
        json!({"partner_origin": partner["origin"], "partner_vkey": partner["vkey"],
               "send": send, "receive": !send, "rate_num": 1, "rate_den": 2,
               "cap_per_member_year": 100, "valid_from": "2026-01-01"})
    };
    let (s, b) = call(
        "PUT",
        ADMIN,
        &home.addr,
        "/api/v1/regions/vil/agreements/sz",
        "a1",
        &half(&a, true).to_string(),
    );
    json_of(s, &b, 200);
    let (s, b) = call(
        "PUT",
        ADMIN,
        &away.addr,
        "/api/v1/regions/sz/agreements/vil",
        "a2",
        &half(&h, false).to_string(),
    );
    json_of(s, &b, 200);

    // Member 2 earns 30 points at home, then takes 20 to sz.
    for i in 0..10 {
        let (s, b) = call(
            "POST",
            REVIEWER,
            &home.addr,
            "/api/v1/regions/vil/claims",
            &format!("c{i}"),
            r#"{"member":2,"indicator":"HELP","quantity":1}"#,
        );
        assert!(s == 201, "{s} {b}");
    }
    let (s, b) = call(
        "POST",
        STATION,
        &home.addr,
        "/api/v1/regions/vil/members/2/transfers",
        "t1",
        r#"{"partner":"sz","points":20}"#,
    );
    let out = json_of(s, &b, 201);
    let secret = out["secret"].as_str().expect("secret").to_owned();
    let (s, statement) = call(
        "GET",
        STATION,
        &home.addr,
        out["statement"].as_str().expect("url"),
        "s",
        "",
    );
    assert_eq!(s, 200, "{statement}");
    assert!(
        statement
            .starts_with("jifen/statement/v1\nfrom jifen.test/log/vil\nto jifen.test/log/sz\n"),
        "{statement}"
    );
    // The home balance is 10 now: the points left.
    let (s, b) = call(
        "GET",
        STATION,
        &home.addr,
        "/api/v1/regions/vil/members/2/balance",
        "b",
        "",
    );
    assert_eq!(json_of(s, &b, 200)["spendable"], 10, "{b}");

    // At the receiving station, with the resident's code.
    let take = |doc: &str, secret: &str, key: &str| {
        call(
            "POST",
            STATION,
            &away.addr,
            "/api/v1/regions/sz/transfers-in",
            key,
            &json!({"member": 3, "statement": doc, "secret": secret}).to_string(),
        )
    };
    let (s, b) = take(&statement, "0000", "i0");
    assert!(s == 422 && b.contains("statement-secret"), "{s} {b}");
    let (s, b) = take(
        &statement.replacen("points 20", "points 200", 1),
        &secret,
        "i1",
    );
    assert!(s == 422 && b.contains("statement-signature"), "{s} {b}");
    let (s, b) = take(&statement, &secret, "i2");
    let taken = json_of(s, &b, 201);
    assert_eq!(
        (taken["points"].clone(), taken["home_points"].clone()),
        (json!(10), json!(20)),
        "{b}"
    );
    assert_eq!(taken["home_origin"], "jifen.test/log/vil");
    let (s, b) = take(&statement, &secret, "i3");
    assert!(s == 422 && b.contains("statement-used"), "{s} {b}");
    let (s, b) = call(
        "GET",
        "",
        &away.addr,
        "/api/v1/regions/sz/transfers-in",
        "l",
        "",
    );
    let list = json_of(s, &b, 200);
    assert_eq!(
        list[0]["home_index"],
        out["entry"]
            .as_str()
            .and_then(|e| e.split(':').nth(1))
            .and_then(|n| n.parse::<u64>().ok())
            .expect("seq")
    );
    assert!(
        !b.contains("\"member\""),
        "no member in the public list: {b}"
    );

    // The receiving side ends its half: the next statement is refused with the reason.
    let (s, b) = call(
        "POST",
        STATION,
        &home.addr,
        "/api/v1/regions/vil/members/2/transfers",
        "t2",
        r#"{"partner":"sz","points":4}"#,
    );
    let second = json_of(s, &b, 201);
    let (_, doc2) = call(
        "GET",
        STATION,
        &home.addr,
        second["statement"].as_str().expect("url"),
        "s2",
        "",
    );
    let (s, b) = call(
        "DELETE",
        ADMIN,
        &away.addr,
        "/api/v1/regions/sz/agreements/vil",
        "e",
        "",
    );
    json_of(s, &b, 200);
    let (s, b) = take(&doc2, second["secret"].as_str().expect("secret"), "i4");
    assert!(s == 422 && b.contains("agreement-not-in-force"), "{s} {b}");

    drop((home, away));
    for data in [&hdata, &adata] {
        let said = output(jifen(data).arg("verify"));
        assert!(said.contains("transfers"), "{said}");
    }
}
