//! Two `jifen serve` processes on one PostgreSQL database (and one data folder for
//! the keys) posting awards to the same region at once: every post is answered,
//! no sequence number is given twice, and `jifen verify` finds one consistent log
//! and ledger holding exactly the posts. Runs when `JIFEN_TEST_DATABASE_URL` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use jifen_core::{
    Caps, Claimants, Evidence, HouseholdId, Indicator, IndicatorCode, MemberId, Points, Region,
    RegionCode, RegionKind, ReviewPolicy, Role, SystemClock, Timestamp, clock::parse_date,
};
use jifen_store::Store;
use jifen_store::accounts::{Grant, Token, TokenKind};
use jifen_store::admin::{NewMember, NewRegion};
use jifen_store::testdb::TestDatabase;

/// Posts each server takes, all at once with the other's.
const POSTS_PER_SERVER: usize = 120;
const MEMBERS: i64 = 6;
const TOKEN: &str = "two-servers-test-token-0123456789abcdef";

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `jifen serve` child, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn jifen(data: &Path, url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jifen"));
    c.arg("--data").arg(data).arg("--database").arg(url);
    c
}

fn serve(data: &Path, url: &str) -> Server {
    let mut child = jifen(data, url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jifen serve");
    let out = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("banner");
    let addr = line
        .split(" on http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in the banner {line:?}"))
        .to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 request on its own connection; the status and body.
fn post(addr: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Idempotency-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut res = String::new();
    s.read_to_string(&mut res).expect("read");
    let status = res
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {res:?}"));
    let body = res.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

/// A region with one auto-reviewed indicator, members, and a reviewer's API token.
fn seed(data: &Path, db: &TestDatabase) {
    let store = Store::open_with(data, &db.database(), Arc::new(SystemClock)).expect("open");
    let vil = RegionCode::parse("vil").expect("code");
    store
        .create_region(NewRegion {
            region: Region::new(vil.clone(), "村", RegionKind::Village, None).expect("region"),
            origin_prefix: "jifen.test/log".into(),
        })
        .expect("region created");
    store
        .put_indicator(Indicator {
            region: vil.clone(),
            code: IndicatorCode::parse("HELP").expect("code"),
            version: 1,
            name: "邻里互助".into(),
            category: "德治".into(),
            points: Points::new(3),
            unit: "次".into(),
            caps: Caps::default(),
            evidence: Evidence::None,
            review: ReviewPolicy::Auto,
            claimants: Claimants::Residents,
            valid_from: parse_date("2000-01-01").expect("date"),
            valid_to: None,
            core: false,
            notice_days: 0,
        })
        .expect("indicator");
    store
        .add_household(vil.clone(), HouseholdId::new(1).ok(), "一户")
        .expect("household");
    for m in 1..=MEMBERS {
        store
            .add_member(NewMember {
                region: vil.clone(),
                id: MemberId::new(m).ok(),
                household: HouseholdId::new(1).expect("id"),
                name: format!("居民{m}"),
            })
            .expect("member");
    }
    let reviewer = store
        .create_account(None, "reviewer", "审核员", None)
        .expect("account");
    store
        .grant_role(
            reviewer,
            Grant {
                region: vil.clone(),
                role: Role::Reviewer,
                member: None,
                sponsor: None,
            },
        )
        .expect("role");
    store
        .put_token(
            jifen_server::auth::token_hash(TOKEN),
            Token {
                account: reviewer,
                kind: TokenKind::Api,
                scope: Some((vil, Role::Reviewer)),
                expires: Timestamp::from_millis(i64::MAX / 2),
            },
        )
        .expect("token");
    store.close();
}

#[test]
fn two_servers_post_to_one_region_and_the_log_verifies() {
    let db = TestDatabase::for_suite("two jifen servers on one PostgreSQL database");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = TempDir(
        std::env::temp_dir().join(format!("jifen-two-servers-{}-{nanos}", std::process::id())),
    );
    let data = tmp.0.join("data");
    seed(&data, &db);

    let servers = [serve(&data, db.url()), serve(&data, db.url())];
    let answers: Vec<Vec<(u16, String)>> = std::thread::scope(|s| {
        let posting: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(n, server)| {
                s.spawn(move || {
                    (0..POSTS_PER_SERVER)
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
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        posting
            .into_iter()
            .map(|h| h.join().expect("poster"))
            .collect()
    });
    drop(servers);

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
