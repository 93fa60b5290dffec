//! Two `jifen serve` processes on one PostgreSQL database (and one data folder for
//! the keys) posting awards to the same region at once: every post is answered,
//! no sequence number is given twice, and `jifen verify` finds one consistent log
//! and ledger holding exactly the posts. Meanwhile both add households and members
//! by the next free number, and no number is given twice; and a role revoked
//! through one server stops working on another within its token cache's lifetime.
//! Runs when `JIFEN_TEST_DATABASE_URL` is set.

mod common;
use common::{Server, call};

use std::path::Path;
use std::process::Command;

use jifen_core::Role;
use jifen_store::testdb::TestDatabase;

/// Posts each server takes, all at once with the other's.
const POSTS_PER_SERVER: usize = 120;
const MEMBERS: i64 = 6;
const TOKEN: &str = "two-servers-test-token-0123456789abcdef";
const ADMIN_TOKEN: &str = "two-servers-admin-token-0123456789abcdef";
/// Threads per server adding households and members while the posts go on.
const ADDERS_PER_SERVER: usize = 4;
/// Households (each with a member) each adder adds.
const ADDS_PER_ADDER: usize = 5;

fn serve(data: &Path, url: &str) -> Server {
    common::serve(jifen(data, url))
}

fn jifen(data: &Path, url: &str) -> Command {
    let mut c = common::jifen(data);
    c.arg("--database").arg(url);
    c
}

/// One HTTP/1.1 request on its own connection; the status and body.
fn post(addr: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    post_as(TOKEN, addr, path, key, body)
}

fn post_as(token: &str, addr: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    call("POST", token, addr, path, key, body)
}

/// Adds a household and a member in it by the next free numbers, as the admin;
/// returns both numbers.
fn add_household_and_member(addr: &str, server: usize, i: usize) -> (i64, i64) {
    let (status, body) = post_as(
        ADMIN_TOKEN,
        addr,
        "/api/v1/regions/vil/households",
        &format!("server{server}-household{i}"),
        &format!(r#"{{"label":"户{server}-{i}"}}"#),
    );
    assert_eq!(status, 201, "a household is added: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
    let household = v["id"].as_i64().expect("the household's number");
    let (status, body) = post_as(
        ADMIN_TOKEN,
        addr,
        "/api/v1/regions/vil/members",
        &format!("server{server}-member{i}"),
        &format!(r#"{{"household":{household},"name":"新居民{server}-{i}"}}"#),
    );
    assert_eq!(status, 201, "a member is added: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
    (household, v["id"].as_i64().expect("the member's number"))
}

/// A region with one auto-reviewed indicator, members, and reviewer and admin API tokens.
/// Returns the reviewer's account id.
fn seed(data: &Path, db: &TestDatabase) -> i64 {
    let ids = common::seed_village(
        data,
        &db.database(),
        MEMBERS,
        &[
            ("reviewer", "审核员", Role::Reviewer, TOKEN),
            ("admin", "管理员", Role::Admin, ADMIN_TOKEN),
        ],
    );
    ids[0].get()
}

#[test]
fn two_servers_post_to_one_region_and_the_log_verifies() {
    let db = TestDatabase::for_suite("two jifen servers on one PostgreSQL database");
    let tmp = common::temp("two-servers");
    let data = tmp.0.join("data");
    let reviewer = seed(&data, &db);

    let servers = [serve(&data, db.url()), serve(&data, db.url())];
    let answers: Vec<(Vec<(u16, String)>, Vec<(i64, i64)>)> = std::thread::scope(|s| {
        let posting: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(n, server)| {
                s.spawn(move || {
                    // Adders beside the poster, all starting at once on both servers.
                    let adders: Vec<_> = (0..ADDERS_PER_SERVER)
                        .map(|a| {
                            s.spawn(move || {
                                (0..ADDS_PER_ADDER)
                                    .map(|i| {
                                        add_household_and_member(
                                            &server.addr,
                                            n,
                                            a * ADDS_PER_ADDER + i,
                                        )
                                    })
                                    .collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    let posts = (0..POSTS_PER_SERVER)
                        .map(|i| {
                            let member = i64::try_from(i).expect("small") % MEMBERS + 1;
                            post(
                                &server.addr,
                                "/api/v1/regions/vil/claims",
                                &format!("server{n}-post{i}"),
                                &format!(
                                    r#"{{"member":{member},"indicator":"HELP","quantity":1}}"#
                                ),
                            )
                        })
                        .collect::<Vec<_>>();
                    let added = adders
                        .into_iter()
                        .flat_map(|h| h.join().expect("adder"))
                        .collect::<Vec<_>>();
                    (posts, added)
                })
            })
            .collect();
        posting
            .into_iter()
            .map(|h| h.join().expect("poster"))
            .collect()
    });
    drop(servers);

    let (answers, added): (Vec<_>, Vec<_>) = answers.into_iter().unzip();
    let added: Vec<(i64, i64)> = added.into_iter().flatten().collect();
    let adds = 2 * ADDERS_PER_SERVER * ADDS_PER_ADDER;
    assert_eq!(added.len(), adds);
    let mut households: Vec<i64> = added.iter().map(|(h, _)| *h).collect();
    let mut members: Vec<i64> = added.iter().map(|(_, m)| *m).collect();
    households.sort_unstable();
    members.sort_unstable();
    let expect_households: Vec<i64> = (2..).take(adds).collect();
    let expect_members: Vec<i64> = (MEMBERS + 1..).take(adds).collect();
    assert_eq!(
        households, expect_households,
        "each household added by either server got the next free number, none twice"
    );
    assert_eq!(
        members, expect_members,
        "each member added by either server got the next free number, none twice"
    );

    let mut seqs = Vec::new();
    for (status, body) in answers.iter().flatten() {
        assert_eq!(*status, 201, "every post is taken: {body}");
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON answer");
        let id = v["entry"]
            .as_str()
            .unwrap_or_else(|| panic!("a posted award names its entry: {body}"));
        seqs.push(id.to_owned());
    }
    let total = 2 * POSTS_PER_SERVER;
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), total, "no entry was given to two posts");

    // A later server resumes from what the two left (the shared fork guard in
    // keys/ agrees with the database) and extends the same tree.
    let third = serve(&data, db.url());
    let (status, body) = post(
        &third.addr,
        "/api/v1/regions/vil/claims",
        "third-post",
        r#"{"member":1,"indicator":"HELP","quantity":1}"#,
    );
    assert_eq!(status, 201, "{body}");
    assert!(
        body.contains(&format!("\"entry\":\"vil:{total}\"")),
        "the next sequence number after both servers' posts: {body}"
    );

    // A role revoked through one server stops working on another that had the token
    // cached, within the cache's lifetime.
    let fourth = serve(&data, db.url());
    let is_reviewer = |addr: &str| {
        let (status, body) = call("GET", TOKEN, addr, "/api/v1/auth/me", "", "");
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
        v["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .any(|g| g["role"] == "reviewer")
    };
    assert!(is_reviewer(&fourth.addr), "cached with its role");
    let (status, body) = call(
        "DELETE",
        ADMIN_TOKEN,
        &third.addr,
        &format!("/api/v1/regions/vil/roles/{reviewer}/reviewer"),
        "revoke",
        "",
    );
    assert_eq!(status, 204, "{body}");
    let revoked = std::time::Instant::now();
    while is_reviewer(&fourth.addr) {
        assert!(
            revoked.elapsed().as_secs() <= jifen_server::auth::TOKEN_CACHE_SECONDS + 2,
            "the other server still trusts the revoked role"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (status, body) = post(
        &fourth.addr,
        "/api/v1/regions/vil/claims",
        "after-revoke",
        r#"{"member":1,"indicator":"HELP","quantity":1}"#,
    );
    assert_eq!(status, 403, "a revoked role posts nothing: {body}");
    drop(fourth);
    drop(third);

    let out = jifen(&data, db.url())
        .arg("verify")
        .output()
        .expect("run verify");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "verify: {text}");
    assert!(
        text.contains(&format!("ok vil: {} entries", total + 1)),
        "verify counts every post: {text}"
    );
}
