//! Helpers shared by the CLI's end-to-end tests.
#![allow(dead_code, reason = "each test binary uses some of these helpers")]

pub mod transferred;
pub mod witnessed;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use jifen_core::{
    Caps, Claimants, Evidence, HouseholdId, Indicator, IndicatorCode, MemberId, OperatorId, Points,
    Region, RegionCode, RegionKind, ReviewPolicy, Role, Timestamp, clock::parse_date,
};
use jifen_store::accounts::{Grant, Token, TokenKind};
use jifen_store::admin::{NewMember, NewRegion};
use jifen_store::{Database, Store};

/// A folder removed when dropped.
pub struct TempDir(pub PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty folder under the system's temp folder, named by `tag`.
pub fn temp(tag: &str) -> TempDir {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let p = std::env::temp_dir().join(format!("jifen-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&p).expect("temp dir");
    TempDir(p)
}

/// A village `vil` (origin prefix `jifen.test/log`) in the store at `data` on
/// `database`: members 1..=`members` in household 1, the indicator `HELP` (+3 a
/// time, posted at once), and for each (username, display name, role, API token)
/// an account holding that role there, with that token. Returns the accounts.
pub fn seed_village(
    data: &Path,
    database: &Database,
    members: i64,
    accounts: &[(&str, &str, Role, &str)],
) -> Vec<OperatorId> {
    seed_region(data, database, "vil", members, accounts)
}

/// [`seed_village`] for a region of another code (origin `jifen.test/log/<code>`).
pub fn seed_region(
    data: &Path,
    database: &Database,
    code: &str,
    members: i64,
    accounts: &[(&str, &str, Role, &str)],
) -> Vec<OperatorId> {
    let store = Store::open_with(data, database, Arc::new(pinned_clock())).expect("open");
    let vil = RegionCode::parse(code).expect("code");
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
    for m in 1..=members {
        store
            .add_member(NewMember {
                region: vil.clone(),
                id: MemberId::new(m).ok(),
                household: HouseholdId::new(1).expect("id"),
                name: format!("居民{m}"),
            })
            .expect("member");
    }
    let mut ids = Vec::new();
    for (username, display, role, token) in accounts {
        let id = store
            .create_account(None, username, display, None)
            .expect("account");
        store
            .grant_role(
                id,
                Grant {
                    region: vil.clone(),
                    role: *role,
                    member: None,
                    sponsor: None,
                },
            )
            .expect("role");
        store
            .put_token(
                jifen_server::auth::token_hash(token),
                Token {
                    account: id,
                    kind: TokenKind::Api,
                    scope: Some((vil.clone(), *role)),
                    expires: Timestamp::from_millis(i64::MAX / 2),
                },
            )
            .expect("token");
        ids.push(id);
    }
    store.close();
    ids
}

/// Runs `jifen verify` on a store the ingest bench wrote (in `store`, on the database
/// `database` names, else SQLite there), asserts that it passes, and returns the
/// entry count it reports for the bench's region.
pub fn verify_bench_store(store: &Path, database: Option<&str>) -> u64 {
    let mut cmd = jifen(store);
    if let Some(url) = database {
        cmd.arg("--database").arg(url);
    }
    let out = cmd.arg("verify").output().expect("run verify");
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "verify failed:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
        .lines()
        .find_map(|l| l.strip_prefix("ok bench: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count for the bench region in:\n{report}"))
}

/// The "today" the CLI tests run on (`JIFEN_TODAY`), so what they build and check does
/// not change with the calendar; `tests/year.rs` runs on the calendar's edges and on
/// the real date.
pub const TODAY: &str = "2026-06-15";

/// The `jifen` binary with the data folder, on the pinned [`TODAY`], with none of the
/// caller's `JIFEN_*` settings or log filter.
pub fn jifen(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jifen"));
    cmd.arg("--data")
        .arg(data)
        .env("JIFEN_TODAY", TODAY)
        .env_remove("JIFEN_DATA")
        .env_remove("JIFEN_DATABASE_URL")
        .env_remove("RUST_LOG");
    cmd
}

/// A clock for a store a test opens itself beside `jifen` processes: it reads the
/// pinned [`TODAY`] now, as theirs do.
pub fn pinned_clock() -> jifen_core::ShiftedClock {
    jifen_core::ShiftedClock::starting_at(
        jifen_core::clock::parse_today(TODAY, jifen_core::clock::CHINA_OFFSET_MINUTES)
            .expect("TODAY is a date"),
    )
}

/// A `jifen serve` child, killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub addr: String,
}
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` (a [`jifen`] command) as `serve` on a free port; the address is
/// read from its banner.
pub fn serve(cmd: Command) -> Server {
    serve_on(cmd, "127.0.0.1:0", &[])
}

/// [`serve`] on `listen`, with `extra` flags of `serve`.
pub fn serve_on(mut cmd: Command, listen: &str, extra: &[&str]) -> Server {
    use std::io::BufRead;
    let mut child = cmd
        .args(["serve", "--listen", listen])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start jifen serve");
    let out = child.stdout.take().expect("piped");
    let mut line = String::new();
    std::io::BufReader::new(out)
        .read_line(&mut line)
        .expect("banner");
    let addr = line
        .split(" on http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in the banner {line:?}"))
        .to_owned();
    Server { child, addr }
}

/// One HTTP/1.1 request on its own connection, with a bearer token and an
/// idempotency key; the status and body.
pub fn call(
    method: &str,
    token: &str,
    addr: &str,
    path: &str,
    key: &str,
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
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

/// Runs the drill with `args` and returns its output, asserting it passed with
/// acknowledged writes and none lost.
pub fn drill(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jifen"))
        .arg("drill")
        .args(args)
        .env_remove("JIFEN_DATA")
        .env_remove("JIFEN_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .expect("run jifen drill");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the drill failed:\n{text}");
    let total = text
        .lines()
        .find(|l| l.starts_with("total: "))
        .unwrap_or_else(|| panic!("no total in:\n{text}"));
    let count = |name: &str| -> u64 {
        total
            .split(name)
            .nth(1)
            .and_then(|r| r.trim_start().split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name:?} count in {total:?}"))
    };
    assert!(
        count("acknowledged ") > 0,
        "nothing was acknowledged:\n{text}"
    );
    assert_eq!(count("lost "), 0, "{text}");
    assert_eq!(count("wrong balances "), 0, "{text}");
    assert!(text.contains("ok: 0 of"), "{text}");
    text
}
