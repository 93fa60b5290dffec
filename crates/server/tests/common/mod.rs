//! The HTTP test harness: a real server on 127.0.0.1 port 0 over a fresh store in
//! its own temp folder, with a small fixture (a city and a village, indicators,
//! residents in two households, one account per role), and a plain HTTP/1.1
//! client so tests speak to it as any client would.

#![allow(dead_code, reason = "each test file uses its own part of the harness")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;

use jifen_core::{
    Caps, Claimants, Evidence, FixedClock, HouseholdId, Indicator, IndicatorCode, Level, Levels,
    MemberId, OperatorId, Points, Region, RegionCode, RegionKind, ReviewPolicy, Role, SponsorCode,
    Timestamp, clock::parse_date,
};
use jifen_store::Store;
use jifen_store::accounts::Grant;
use jifen_store::admin::{NewMember, NewRegion};

pub const CITY: &str = "city";
pub const VIL: &str = "vil";
/// Every fixture account's password.
pub const PASSWORD: &str = "test-password";

/// Fixture accounts: (id, username, role in both regions, member in the village).
/// `resident` is member 1 (household 1), `resident2` member 3 (household 2);
/// `reviewer3` is also member 2, in household 1 with `resident`.
pub const ACCOUNTS: &[(i64, &str, Role, Option<i64>)] = &[
    (1, "admin", Role::Admin, None),
    (2, "reviewer", Role::Reviewer, None),
    (3, "reviewer2", Role::Reviewer, None),
    (4, "station", Role::Station, None),
    (5, "merchant", Role::Merchant, None),
    (6, "auditor", Role::Auditor, None),
    (7, "resident", Role::Resident, Some(1)),
    (8, "resident2", Role::Resident, Some(3)),
    (11, "reviewer3", Role::Reviewer, Some(2)),
];

pub struct TempDir(pub PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct App {
    pub addr: SocketAddr,
    pub clock: Arc<FixedClock>,
    pub store: Store,
    pub dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The app's own PostgreSQL database on the suite's PostgreSQL half; dropped last.
    pub pg: Option<jifen_store::testdb::TestDatabase>,
}

/// Whether this binary is a suite's PostgreSQL half (`tests/http_pg.rs` compiles
/// `http.rs` again, and so on for each suite): chosen by the binary's name ending
/// in `_pg`, so one suite serves both stores.
pub const ON_POSTGRES: bool = ends_with_pg(env!("CARGO_CRATE_NAME").as_bytes());

const fn ends_with_pg(name: &[u8]) -> bool {
    let n = name.len();
    n >= 3 && name[n - 3] == b'_' && name[n - 2] == b'p' && name[n - 1] == b'g'
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.store.close();
    }
}

/// A partner region's log for recognition tests (`jifen.sz/log/sz-nanshan`, a fixed key):
/// only its verifier key is used, as the other region would publish it.
pub fn partner_log() -> jifen_log::NoteSigner {
    jifen_log::NoteSigner::new(
        "jifen.sz/log/sz-nanshan",
        ed25519_dalek::SigningKey::from_bytes(&[4; 32]),
    )
    .expect("signer")
}

/// 2026-03-10 10:00 in China.
pub fn fixture_time() -> Timestamp {
    let d = parse_date("2026-03-10").expect("valid");
    Timestamp::from_millis(Timestamp::start_of(d, 480).expect("in range").millis() + 10 * 3_600_000)
}

fn indicator(
    region: &str,
    code: &str,
    points: i64,
    caps: Caps,
    review: ReviewPolicy,
    core: bool,
    notice_days: u32,
) -> Indicator {
    Indicator {
        region: RegionCode::parse(region).expect("valid"),
        code: IndicatorCode::parse(code).expect("valid"),
        version: 1,
        name: code.to_owned(),
        category: "自治".into(),
        points: Points::new(points),
        unit: "次".into(),
        caps,
        evidence: Evidence::None,
        review,
        claimants: if points > 0 {
            Claimants::Residents
        } else {
            Claimants::StaffOnly
        },
        valid_from: parse_date("2020-01-01").expect("valid"),
        valid_to: None,
        core,
        notice_days,
    }
}

/// Starts a server over a fresh fixture store.
pub fn spawn_app() -> App {
    spawn_app_trusting_proxy(false)
}

/// [`spawn_app`], believing `X-Forwarded-Proto` as a server behind a TLS proxy does
/// (`jifen serve --trust-forwarded-proto`).
pub fn spawn_app_trusting_proxy(trust_forwarded_proto: bool) -> App {
    spawn_app_with(move |s| s.trusting_forwarded_proto(trust_forwarded_proto))
}

/// [`spawn_app`] with its state set up by `setup` (a limit, a proxy) before it serves.
pub fn spawn_app_with(setup: impl FnOnce(jifen_server::AppState) -> jifen_server::AppState) -> App {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = TempDir(std::env::temp_dir().join(format!(
        "jifen-http-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )));
    let clock = Arc::new(FixedClock::new(fixture_time()));
    let pg = ON_POSTGRES.then(|| {
        jifen_store::testdb::TestDatabase::for_suite(concat!(
            "HTTP suite ",
            env!("CARGO_CRATE_NAME")
        ))
    });
    let database = pg
        .as_ref()
        .map_or(jifen_store::Database::Sqlite, |d| d.database());
    let store = Store::open_with(&dir.0, &database, clock.clone()).expect("open store");
    let rc = |s: &str| RegionCode::parse(s).expect("valid");
    store
        .create_region(NewRegion {
            region: Region::new(rc(CITY), "市", RegionKind::City, None).expect("valid"),
            origin_prefix: "test.local/log".into(),
        })
        .expect("city");
    store
        .create_region(NewRegion {
            region: Region::new(rc(VIL), "村", RegionKind::Village, Some(rc(CITY))).expect("valid"),
            origin_prefix: "test.local/log".into(),
        })
        .expect("village");
    for ind in [
        indicator(
            CITY,
            "MEET",
            5,
            Caps {
                per_day: Some(1),
                ..Caps::default()
            },
            ReviewPolicy::One,
            true,
            0,
        ),
        indicator(
            CITY,
            "LITTER",
            -2,
            Caps::default(),
            ReviewPolicy::One,
            true,
            0,
        ),
        indicator(
            VIL,
            "TREE",
            2,
            Caps {
                per_year: Some(50),
                ..Caps::default()
            },
            ReviewPolicy::One,
            false,
            0,
        ),
        indicator(
            VIL,
            "MEDIATE",
            10,
            Caps::default(),
            ReviewPolicy::TwoAbove(Points::new(10)),
            false,
            0,
        ),
        indicator(
            VIL,
            "PROPOSAL",
            50,
            Caps::default(),
            ReviewPolicy::One,
            false,
            3,
        ),
        indicator(
            VIL,
            "WASTE",
            1,
            Caps {
                per_day: Some(1),
                ..Caps::default()
            },
            ReviewPolicy::Auto,
            false,
            0,
        ),
    ] {
        store.put_indicator(ind).expect("indicator");
    }
    store
        .set_levels(
            rc(VIL),
            Levels::new(vec![Level {
                code: "voucher".into(),
                name: "购物券".into(),
                min_score: Points::new(800),
            }])
            .expect("levels"),
        )
        .expect("levels");
    let h1 = store
        .add_household(rc(VIL), None, "1号")
        .expect("household");
    let h2 = store
        .add_household(rc(VIL), None, "2号")
        .expect("household");
    for (h, name) in [(h1, "张三"), (h1, "张四"), (h2, "李五"), (h2, "李六")] {
        store
            .add_member(NewMember {
                region: rc(VIL),
                id: None,
                household: h,
                name: name.into(),
            })
            .expect("member");
    }
    let _ = HouseholdId::new(1);
    let hash = jifen_server::auth::hash_password(PASSWORD).expect("hash");
    for (id, user, role, member) in ACCOUNTS {
        let id = store
            .create_account(
                Some(OperatorId::new(*id).expect("positive")),
                user,
                user,
                Some(hash.clone()),
            )
            .expect("account");
        for region in [CITY, VIL] {
            let member = member
                .filter(|_| region == VIL)
                .map(|m| MemberId::new(m).expect("positive"));
            if *role == Role::Resident && member.is_none() {
                continue;
            }
            let sponsor =
                (*role == Role::Merchant).then(|| SponsorCode::parse("coop").expect("valid"));
            store
                .grant_role(
                    id,
                    Grant {
                        region: rc(region),
                        role: *role,
                        member,
                        sponsor,
                    },
                )
                .expect("grant");
            // Staff who live in the village also hold the resident role there.
            if *role != Role::Resident && member.is_some() {
                store
                    .grant_role(
                        id,
                        Grant {
                            region: rc(region),
                            role: Role::Resident,
                            member,
                            sponsor: None,
                        },
                    )
                    .expect("grant");
            }
        }
    }
    let state = setup(jifen_server::AppState::new(
        store.clone(),
        [7u8; 32],
        String::new(),
    ));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            addr_tx
                .send(listener.local_addr().expect("addr"))
                .expect("send addr");
            jifen_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
    });
    let addr = addr_rx.recv().expect("server address");
    App {
        addr,
        clock,
        store,
        dir,
        shutdown: Some(tx),
        thread: Some(thread),
        pg,
    }
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends one request on a fresh connection; `headers` as (name, value). A write
    /// (any method but GET) that names no `Idempotency-Key` gets a fresh one, as
    /// every client must send; [`App::request_without_key`] sends none.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Res {
        static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut headers = headers.to_vec();
        let key;
        if method != "GET"
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("idempotency-key"))
        {
            key = format!(
                "test-{}",
                NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            headers.push(("Idempotency-Key", &key));
        }
        self.request_without_key(method, path, &headers, body)
    }

    /// [`App::request`] exactly as given, with no key added.
    pub fn request_without_key(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Res {
        let mut s = TcpStream::connect(self.addr).expect("connect");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        s.write_all(req.as_bytes()).expect("write");
        s.write_all(body).expect("write body");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        parse_response(&raw)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Res {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        self.request("GET", path, &h, None)
    }

    /// POSTs JSON, with a bearer token and an idempotency key (a fresh one for `None`).
    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
        key: Option<&str>,
    ) -> Res {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        if let Some(k) = key {
            h.push(("Idempotency-Key", k));
        }
        let bytes = serde_json::to_vec(body).expect("json");
        self.request("POST", path, &h, Some(&bytes))
    }

    /// A `PUT` of JSON with a bearer token.
    pub fn put(&self, path: &str, token: &str, body: &serde_json::Value) -> Res {
        let auth = format!("Bearer {token}");
        let bytes = serde_json::to_vec(body).expect("json");
        self.request(
            "PUT",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(&bytes),
        )
    }

    /// The fixture merchant's sponsor `coop` in the village, with `budget` points.
    pub fn coop(&self, admin: &str, budget: i64) {
        let r = self.put(
            &format!("/api/v1/regions/{VIL}/sponsors/coop"),
            admin,
            &serde_json::json!({"name": "供销社", "kind": "merchant", "budget": budget}),
        );
        assert!(r.status == 201 || r.status == 200, "{}", r.text());
    }

    /// Two witnesses, `w1.test` and `w2.test` (keys from seeds 1 and 2), named by the
    /// village with a quorum of two; their addresses lead nowhere (nothing is sent in
    /// these tests: cosignatures are recorded by [`App::cosign`]).
    pub fn two_witnesses(&self) -> [jifen_log::Cosigner; 2] {
        let w = |name: &str, seed: u8| {
            jifen_log::Cosigner::new(name, ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
                .expect("cosigner")
        };
        let (w1, w2) = (w("w1.test", 1), w("w2.test", 2));
        let admin = self.login("admin");
        let named = self.put(
            &format!("/api/v1/regions/{VIL}/witnesses"),
            &admin,
            &serde_json::json!({"quorum": 2, "witnesses": [
                {"name": "w1.test", "vkey": w1.vkey(), "url": "http://127.0.0.1:9/w1"},
                {"name": "w2.test", "vkey": w2.vkey(), "url": "http://127.0.0.1:9/w2"}]}),
        );
        assert_eq!(named.status, 200, "{}", named.text());
        [w1, w2]
    }

    /// Keeps `w`'s cosignature on the village's latest checkpoint, as if it had answered.
    pub fn cosign(&self, w: &jifen_log::Cosigner) {
        let vil = jifen_core::RegionCode::parse(VIL).expect("code");
        let (cp, _) = self.store.checkpoint(&vil).expect("checkpoint");
        let line = w.cosign(&cp.to_text(), 1_765_000_000).expect("line");
        let kept = self
            .store
            .record_cosignatures(vil, cp.size, line)
            .expect("kept");
        assert_eq!(kept, 1);
    }

    /// Signs in as a fixture account; returns the token.
    pub fn login(&self, username: &str) -> String {
        let r = self.post(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"username": username, "password": PASSWORD}),
            None,
        );
        assert_eq!(r.status, 200, "login {username}: {}", r.text());
        r.json()["token"].as_str().expect("token").to_owned()
    }
}

fn parse_response(raw: &[u8]) -> Res {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size line");
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16)
                .expect("chunk size");
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[nl + 2 + size + 2..];
        }
        body = out;
    }
    Res {
        status,
        headers,
        body,
    }
}

/// `/checkin/{region}/{event}?exp=…&sig=…` → (region, event, exp, sig).
pub fn link_parts(url: &str) -> (String, i64, i64, String) {
    let rest = url
        .strip_prefix("/checkin/")
        .unwrap_or_else(|| panic!("a relative check-in link: {url}"));
    let (path, query) = rest.split_once('?').expect("a query");
    let (region, event) = path.split_once('/').expect("region/event");
    let mut exp = None;
    let mut sig = None;
    for kv in query.split('&') {
        match kv.split_once('=') {
            Some(("exp", v)) => exp = Some(v.parse().expect("exp is a number")),
            Some(("sig", v)) => sig = Some(v.to_owned()),
            _ => panic!("unexpected query part {kv:?} in {url}"),
        }
    }
    (
        region.to_owned(),
        event.parse().expect("event is a number"),
        exp.expect("exp"),
        sig.expect("sig"),
    )
}
