//! A transfer between two `jifen serve` processes, each with its own data folder and
//! keys (`transfer.rs`): home `vil`, receiving `sz`. Both halves of the agreement set by
//! each side's admin over HTTP; a resident's points taken out at home, the statement
//! fetched, taken at the receiving station with the code, a replay and a changed
//! statement refused, an ended half refused; a statement of scores of a closed year
//! made at home and taken at sz for one member only; `jifen verify` on both sides.

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
    let on = |data: &std::path::Path, day: &str| {
        let mut cmd = jifen(data);
        cmd.env("JIFEN_TODAY", day);
        serve_on(cmd, "127.0.0.1:0", &[])
    };
    let (home, away) = (on(&hdata, "2027-01-10"), on(&adata, "2027-01-11"));
    let (s, b) = call(
        "PUT",
        ADMIN,
        &away.addr,
        "/api/v1/regions/sz/agreements/vil-again",
        "a3",
        &json!({"partner_origin": h["origin"], "partner_vkey": h["vkey"], "receive": true,
                "rate_num": 1, "rate_den": 2, "count_scores": true, "valid_from": "2026-01-01"})
        .to_string(),
    );
    json_of(s, &b, 200);
    // Scores of past years, in January 2027 (both servers restarted on that day): home
    // closes 2026 and states member 2's; sz agrees again under another name and takes
    // them for member 3 (no points move), once per home resident.
    let (s, b) = call(
        "POST",
        STATION,
        &home.addr,
        "/api/v1/regions/vil/members/2/score-statements",
        "p0",
        r#"{"partner":"sz"}"#,
    );
    assert!(s == 422 && b.contains("no-closed-years"), "{s} {b}");
    let (s, b) = call(
        "POST",
        ADMIN,
        &home.addr,
        "/api/v1/regions/vil/years/2026/close",
        "y",
        "",
    );
    json_of(s, &b, 200);
    let (s, b) = call(
        "POST",
        STATION,
        &home.addr,
        "/api/v1/regions/vil/members/2/score-statements",
        "p1",
        r#"{"partner":"sz"}"#,
    );
    let stated = json_of(s, &b, 201);
    let scores = stated["statement"].as_str().expect("statement").to_owned();
    assert!(
        scores.starts_with("jifen/scores/v1\nfrom jifen.test/log/vil\nto jifen.test/log/sz\n")
            && scores.contains("\nyear 2026 30\n"),
        "{scores}"
    );
    let take_scores = |member: i64, doc: &str, key: &str| {
        call(
            "POST",
            STATION,
            &away.addr,
            "/api/v1/regions/sz/recognized-scores",
            key,
            &json!({"member": member, "statement": doc, "secret": stated["secret"]}).to_string(),
        )
    };
    let (s, b) = take_scores(
        3,
        &scores.replacen("year 2026 30", "year 2026 900", 1),
        "r0",
    );
    assert!(s == 422 && b.contains("statement-signature"), "{s} {b}");
    let (s, b) = take_scores(3, &scores, "r1");
    let rows = json_of(s, &b, 201);
    assert_eq!(
        (rows[0]["year"].clone(), rows[0]["partner"].clone()),
        (json!(2026), json!("vil-again")),
        "{b}"
    );
    let (s, b) = take_scores(4, &scores, "r2");
    assert!(s == 422 && b.contains("statement-other-member"), "{s} {b}");
    let (s, b) = call(
        "GET",
        STATION,
        &away.addr,
        "/api/v1/regions/sz/members/3/recognized-scores",
        "g",
        "",
    );
    assert_eq!(
        json_of(s, &b, 200)[0]["points"],
        15,
        "at the rate 1 : 2: {b}"
    );

    drop((home, away));
    for data in [&hdata, &adata] {
        let said = output(jifen(data).arg("verify"));
        assert!(said.contains("transfers"), "{said}");
    }
}

/// Three processes: home `vil` names a witness and a quorum of one, receiving `sz`
/// trusts that witness. While the witness is down, home's appends go on and a
/// transfer's statement is refused at sz (its checkpoint unwitnessed); once the witness
/// runs and cosigns, the statement fetched again carries the cosignature and is taken.
pub fn witnessed_transfer() {
    const WITNESS: &str = "witness.test/t1";
    let tmp = temp("transfer-witnessed");
    let (hdata, adata, wdata) = (
        tmp.0.join("home"),
        tmp.0.join("away"),
        tmp.0.join("witness"),
    );
    let accounts = [
        ("station", "站点", Role::Station, STATION),
        ("admin", "管理员", Role::Admin, ADMIN),
        ("reviewer", "审核员", Role::Reviewer, REVIEWER),
    ];
    seed_region(&hdata, &jifen_store::Database::Sqlite, "vil", 6, &accounts);
    seed_region(&adata, &jifen_store::Database::Sqlite, "sz", 6, &accounts);
    let home_vkey = output(jifen(&hdata).args(["log", "vkey", "--region", "vil"]));
    output(jifen(&wdata).args(["init", "--region", "wit", "--name", "见证"]));
    let witness_vkey = output(jifen(&wdata).args(["witness", "vkey", "--name", WITNESS]));
    // The witness's address, chosen now; it starts later.
    let waddr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let home = serve_on(jifen(&hdata), "127.0.0.1:0", &[]);
    let away = serve_on(jifen(&adata), "127.0.0.1:0", &[]);
    let (s, b) = call(
        "PUT",
        ADMIN,
        &home.addr,
        "/api/v1/regions/vil/witnesses",
        "w",
        &json!({"witnesses": [{"name": WITNESS, "vkey": witness_vkey,
                               "url": format!("http://{waddr}/witness")}], "quorum": 1})
        .to_string(),
    );
    json_of(s, &b, 200);
    let (s, b) = call("GET", "", &home.addr, "/api/v1/regions/vil", "g", "");
    let h = json_of(s, &b, 200);
    let (s, b) = call("GET", "", &away.addr, "/api/v1/regions/sz", "g", "");
    let a = json_of(s, &b, 200);
    let (s, b) = call(
        "PUT",
        ADMIN,
        &home.addr,
        "/api/v1/regions/vil/agreements/sz",
        "a1",
        &json!({"partner_origin": a["origin"], "partner_vkey": a["vkey"], "send": true,
                "valid_from": "2026-01-01"})
        .to_string(),
    );
    json_of(s, &b, 200);
    let (s, b) = call(
        "PUT",
        ADMIN,
        &away.addr,
        "/api/v1/regions/sz/agreements/vil",
        "a2",
        &json!({"partner_origin": h["origin"], "partner_vkey": h["vkey"], "receive": true,
                "witnesses": [witness_vkey], "quorum": 1, "valid_from": "2026-01-01"})
        .to_string(),
    );
    json_of(s, &b, 200);

    // The witness is down: appends go on.
    for i in 0..4 {
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
        r#"{"partner":"sz","points":5}"#,
    );
    let out = json_of(s, &b, 201);
    let secret = out["secret"].as_str().expect("secret").to_owned();
    let url = out["statement"].as_str().expect("url").to_owned();
    let statement = || {
        let (s, doc) = call("GET", STATION, &home.addr, &url, "s", "");
        assert_eq!(s, 200, "{doc}");
        doc
    };
    let take = |doc: &str, key: &str| {
        call(
            "POST",
            STATION,
            &away.addr,
            "/api/v1/regions/sz/transfers-in",
            key,
            &json!({"member": 3, "statement": doc, "secret": secret}).to_string(),
        )
    };
    let (s, b) = take(&statement(), "i1");
    assert!(s == 422 && b.contains("statement-unwitnessed"), "{s} {b}");

    // The witness comes up; home's submitter reaches it and the statement, fetched
    // again, is on a checkpoint it cosigned.
    let _witness = serve_on(
        jifen(&wdata),
        &waddr,
        &["--witness-name", WITNESS, "--witness-log", &home_vkey],
    );
    let start = std::time::Instant::now();
    let cosigned = loop {
        let doc = statement();
        if doc.contains(&format!("\u{2014} {WITNESS} ")) {
            break doc;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(90),
            "no cosignature on the statement's checkpoint: {doc}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let (s, b) = take(&cosigned, "i2");
    let taken = json_of(s, &b, 201);
    assert_eq!(taken["home_points"], 5, "{b}");
}
