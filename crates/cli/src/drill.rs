//! `jifen drill`: a fault under HTTP load, repeated, and the proof that nothing
//! acknowledged is lost.
//!
//! Each trial seeds a fresh store (a temporary folder; on PostgreSQL also a fresh
//! database), starts `jifen serve` on it as a child process, and drives writes of
//! five kinds over HTTP from several connections: a station records a claim that
//! needs review, a reviewer approves a recorded claim, a resident checks in to an
//! event, a station reserves a reward for a member, the merchant confirms a
//! reservation. At a random moment the fault strikes:
//! - `kill`: the server gets SIGKILL, and is started again on the same store;
//! - `db-restart`: the PostgreSQL server is restarted (`--restart-cmd`) while jifen
//!   runs, and the load goes on for a while after.
//!
//! Then every write whose answer never came (or came as a 5xx) is sent again with
//! its Idempotency-Key, and the trial checks that:
//! - every acknowledged write is there: each claim and redemption in the state its
//!   last answer gave;
//! - nothing is there twice or half: each member's spendable balance and annual score
//!   equal what the drill's own record of the answered writes says;
//! - `jifen verify` passes on the store.
//!
//! The figures it prints are counts: acknowledged, in flight at the fault, found
//! committed on retry, lost (must be 0).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, StatusCode};
use jifen_core::market::{Policy, Reward, RewardKind, Sponsor, SponsorKind};
use jifen_core::{
    Caps, Claimants, Evidence, HouseholdId, Indicator, IndicatorCode, MemberId, OperatorId, Points,
    Region, RegionCode, RegionKind, ReviewPolicy, Role, Source, SponsorCode, Timestamp,
    clock::parse_date,
};
use jifen_store::accounts::{Grant, Token, TokenKind};
use jifen_store::admin::{NewMember, NewRegion};
use jifen_store::workflow::NewClaim;
use jifen_store::{AddReward, CreateEvent, Database, Store};

use crate::http::{connect, exchange};

const REGION: &str = "drill";
/// Recorded by a station, approved by a reviewer: +3.
const RECORDED: &str = "MEET";
const RECORDED_POINTS: i64 = 3;
/// Checked in to at an event, posted at once: +2.
const EVENT: &str = "EVENT";
const EVENT_POINTS: i64 = 2;
/// What each member starts with, so that reservations never run short.
const START: &str = "START";
const START_POINTS: i64 = 100_000;
const PRICE: i64 = 5;
const SPONSOR: &str = "shop";
/// Longest wait for one answer during the load.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the retries after the fault may take in all (PostgreSQL may be slow back).
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// SIGKILL the server, then start it again.
    Kill,
    /// Restart the PostgreSQL server under the running jifen (needs --postgres and --restart-cmd).
    DbRestart,
}

#[derive(clap::Args)]
pub struct DrillArgs {
    /// The fault to strike each trial with.
    #[arg(long, value_enum, default_value = "kill")]
    fault: Fault,
    /// How many trials.
    #[arg(long, default_value_t = 10)]
    trials: u32,
    /// Concurrent connections writing.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Members in the drill's region (each also a resident account).
    #[arg(long, default_value_t = 40)]
    members: i64,
    /// Events open for check-in (each member checks in to each once at most).
    #[arg(long, default_value_t = 10)]
    events: i64,
    /// The fault strikes at a random moment in this many milliseconds of load
    /// (from a fifth of it on).
    #[arg(long, default_value_t = 2_000)]
    within_ms: u64,
    /// With db-restart: how long the load goes on after the restart command returns.
    #[arg(long, default_value_t = 3_000)]
    after_ms: u64,
    /// A PostgreSQL server (postgres://user@host:port/db): each trial creates a
    /// database of its own there, and drops it when the trial passed.
    #[arg(long)]
    postgres: Option<String>,
    /// With db-restart: the shell command that restarts the PostgreSQL server and
    /// returns once it accepts connections again.
    #[arg(long)]
    restart_cmd: Option<String>,
    /// Seed of the random choices (printed, to repeat a trial).
    #[arg(long)]
    seed: Option<u64>,
    /// Keep each trial's folder (and database) under this folder.
    #[arg(long)]
    keep: Option<PathBuf>,
}

pub fn run(a: DrillArgs) -> Result<ExitCode> {
    if a.trials == 0 || a.clients == 0 || a.members < 2 || a.events < 1 || a.within_ms < 10 {
        bail!(
            "--trials, --clients and --events must be at least 1, --members at least 2, --within-ms at least 10"
        );
    }
    if a.fault == Fault::DbRestart && (a.postgres.is_none() || a.restart_cmd.is_none()) {
        bail!("--fault db-restart needs --postgres URL and --restart-cmd COMMAND");
    }
    let seed = match a.seed {
        Some(s) => s,
        None => {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).map_err(|e| anyhow!("no randomness: {e}"))?;
            u64::from_le_bytes(b)
        }
    };
    println!(
        "drill: fault {}, {} trials, {} connections, {} members, {} events, seed {seed}, {}",
        match a.fault {
            Fault::Kill => "SIGKILL of jifen serve",
            Fault::DbRestart => "restart of the PostgreSQL server",
        },
        a.trials,
        a.clients,
        a.members,
        a.events,
        if a.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let mut total = Figures::default();
    let mut failed = 0u32;
    let mut rng = Rng(seed | 1);
    for n in 1..=a.trials {
        let trial_seed = rng.next();
        let started = Instant::now();
        match trial(&a, n, trial_seed) {
            Ok(f) => {
                println!(
                    "trial {n}: {} after {} ms; {}; {:.1} s",
                    match a.fault {
                        Fault::Kill => "killed",
                        Fault::DbRestart => "database restarted",
                    },
                    f.fault_at_ms,
                    f.line(a.fault),
                    started.elapsed().as_secs_f64()
                );
                if !f.problems.is_empty() {
                    failed += 1;
                    for p in f.problems.iter().take(10) {
                        println!("  FAILED: {p}");
                    }
                }
                total.add(&f);
            }
            Err(e) => {
                failed += 1;
                println!("trial {n}: FAILED to run (seed {trial_seed}): {e:#}");
            }
        }
    }
    println!("total: {} trials, {}", a.trials, total.line(a.fault));
    println!(
        "{}: {failed} of {} trials failed; lost acknowledged writes {}",
        if failed == 0 { "ok" } else { "FAILED" },
        a.trials,
        total.lost
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a trial counted.
#[derive(Default)]
struct Figures {
    fault_at_ms: u64,
    /// Writes answered 2xx before the fault.
    acknowledged: u64,
    /// Writes answered 2xx after a database restart (the server went on).
    acknowledged_after: u64,
    /// Writes whose answer never came or was a 5xx.
    in_flight: u64,
    /// Of those, found committed when sent again (the answer was replayed).
    committed_unacknowledged: u64,
    /// Acknowledged writes not there after the fault.
    lost: u64,
    /// Members whose balance disagrees with the answered writes.
    balances_wrong: u64,
    problems: Vec<String>,
}

impl Figures {
    fn add(&mut self, f: &Figures) {
        self.acknowledged += f.acknowledged;
        self.acknowledged_after += f.acknowledged_after;
        self.in_flight += f.in_flight;
        self.committed_unacknowledged += f.committed_unacknowledged;
        self.lost += f.lost;
        self.balances_wrong += f.balances_wrong;
    }

    fn line(&self, fault: Fault) -> String {
        let after = match fault {
            Fault::Kill => String::new(),
            Fault::DbRestart => format!(" (after the restart {})", self.acknowledged_after),
        };
        format!(
            "acknowledged {}{after}, in flight {} (committed though unanswered {}), lost {}, wrong balances {}",
            self.acknowledged,
            self.in_flight,
            self.committed_unacknowledged,
            self.lost,
            self.balances_wrong
        )
    }
}

/// xorshift64*: the drill's choices, repeatable from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A trial's folder, removed when the trial passes unless kept.
struct Place {
    dir: PathBuf,
    database: Database,
    /// PostgreSQL: (admin URL, database name), dropped at the end.
    pg: Option<(String, String)>,
    keep: bool,
}

impl Place {
    fn new(a: &DrillArgs, n: u32) -> Result<Place> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tag = format!("jifen-drill-{}-{n}-{nanos}", std::process::id());
        let dir = match &a.keep {
            Some(k) => k.join(&tag),
            None => std::env::temp_dir().join(&tag),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let (database, pg) = match &a.postgres {
            None => (Database::Sqlite, None),
            Some(url) => {
                let name = tag.replace('-', "_");
                let mut admin = postgres::Client::connect(url, postgres::NoTls)
                    .with_context(|| "connecting to --postgres")?;
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .with_context(|| format!("creating the database {name}"))?;
                let db_url = with_database(url, &name)?;
                (
                    Database::from_url(Some(&db_url)).map_err(|e| anyhow!("{e}"))?,
                    Some((url.clone(), name)),
                )
            }
        };
        Ok(Place {
            dir,
            database,
            pg,
            keep: a.keep.is_some(),
        })
    }

    fn url(&self) -> Option<String> {
        match &self.database {
            Database::Postgres(u) => Some(u.clone()),
            Database::Sqlite => None,
        }
    }

    fn remove(self) {
        if self.keep {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((url, name)) = &self.pg
            && let Ok(mut admin) = postgres::Client::connect(url, postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The URL with its database name replaced.
fn with_database(url: &str, name: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .ok_or_else(|| anyhow!("--postgres: not a URL: {url}"))?
        + 3;
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// The accounts' tokens, by role; residents' by member number (index m - 1).
struct Tokens {
    station: String,
    reviewer: String,
    merchant: String,
    residents: Vec<String>,
}

/// The seeded region: its accounts, events (number, exp, sig) and reward.
struct Seeded {
    tokens: Tokens,
    events: Vec<i64>,
    reward: u64,
}

fn seed(place: &Place, a: &DrillArgs) -> Result<Seeded> {
    let clock = crate::clock();
    let store = Store::open_with(&place.dir, &place.database, clock.clone())
        .context("opening the trial's store")?;
    let region = RegionCode::parse(REGION).map_err(|e| anyhow!("{e}"))?;
    store.create_region(NewRegion {
        region: Region::new(region.clone(), "演练村", RegionKind::Village, None)?,
        origin_prefix: "drill.jifen.invalid/log".into(),
    })?;
    for (code, name, points, review) in [
        (START, "起始积分", START_POINTS, ReviewPolicy::Auto),
        (
            RECORDED,
            "参加村民议事会",
            RECORDED_POINTS,
            ReviewPolicy::One,
        ),
        (EVENT, "志愿活动签到", EVENT_POINTS, ReviewPolicy::Auto),
    ] {
        store.put_indicator(Indicator {
            region: region.clone(),
            code: IndicatorCode::parse(code).map_err(|e| anyhow!("{e}"))?,
            version: 1,
            name: name.into(),
            category: "德治".into(),
            points: Points::new(points),
            unit: "次".into(),
            caps: Caps::default(),
            evidence: Evidence::None,
            review,
            claimants: Claimants::Residents,
            valid_from: parse_date("2000-01-01")?,
            valid_to: None,
            core: false,
            notice_days: 0,
        })?;
    }
    let household = HouseholdId::new(1).map_err(|e| anyhow!("{e}"))?;
    store.add_household(region.clone(), Some(household), "演练户")?;
    let new_token = || jifen_server::auth::new_token().map_err(|e| anyhow!("{}", e.detail));
    let far = Timestamp::from_millis(i64::MAX / 2);
    let account = |username: &str,
                   role: Role,
                   member: Option<MemberId>,
                   sponsor|
     -> Result<(OperatorId, String)> {
        let id = store.create_account(None, username, username, None)?;
        store.grant_role(
            id,
            Grant {
                region: region.clone(),
                role,
                member,
                sponsor,
            },
        )?;
        let token = new_token()?;
        store.put_token(
            jifen_server::auth::token_hash(&token),
            Token {
                account: id,
                kind: TokenKind::Api,
                scope: Some((region.clone(), role)),
                expires: far,
            },
        )?;
        Ok((id, token))
    };
    let sponsor = SponsorCode::parse(SPONSOR).map_err(|e| anyhow!("{e}"))?;
    let (_, station) = account("drill-station", Role::Station, None, None)?;
    let (reviewer_id, reviewer) = account("drill-reviewer", Role::Reviewer, None, None)?;
    let (_, merchant) = account(
        "drill-merchant",
        Role::Merchant,
        None,
        Some(sponsor.clone()),
    )?;
    let mut residents = Vec::new();
    let start = IndicatorCode::parse(START).map_err(|e| anyhow!("{e}"))?;
    for m in 1..=a.members {
        let id = MemberId::new(m).map_err(|e| anyhow!("{e}"))?;
        store.add_member(NewMember {
            region: region.clone(),
            id: Some(id),
            household,
            name: format!("村民{m}"),
        })?;
        let (_, token) = account(
            &format!("drill-resident-{m}"),
            Role::Resident,
            Some(id),
            None,
        )?;
        residents.push(token);
        store.run(NewClaim {
            region: region.clone(),
            member: id,
            indicator: start.clone(),
            quantity: 1,
            note: String::new(),
            source: Source::Direct,
            submitted_by: reviewer_id,
            by_staff: true,
        })?;
    }
    store.set_policy(
        region.clone(),
        Policy {
            reservation_hours: 72,
            base_grant: Points::new(0),
            expiry_years: None,
            model_household_score: None,
        },
    )?;
    store.put_sponsor(
        region.clone(),
        Sponsor {
            code: sponsor.clone(),
            name: "演练超市".into(),
            kind: SponsorKind::Merchant,
            budget: Points::new(1_000_000_000),
        },
    )?;
    let today = clock
        .now()
        .local_date(jifen_core::clock::CHINA_OFFSET_MINUTES)
        .map_err(|e| anyhow!("{e}"))?;
    let reward = store.run(AddReward {
        region: region.clone(),
        reward: Reward {
            name: "洗衣液".into(),
            description: String::new(),
            kind: RewardKind::Goods,
            price: Points::new(PRICE),
            stock: 1_000_000,
            min_level: None,
            limit: None,
            sponsor,
            active_from: today,
            active_to: None,
            category: None,
        },
    })?;
    let now = clock.now();
    let mut events = Vec::new();
    let event = IndicatorCode::parse(EVENT).map_err(|e| anyhow!("{e}"))?;
    for e in 1..=a.events {
        let ev = store.run(CreateEvent {
            region: region.clone(),
            name: format!("演练活动{e}"),
            indicator: event.clone(),
            starts: Timestamp::from_millis(now.millis() - 3_600_000),
            ends: Timestamp::from_millis(now.millis() + 86_400_000),
            by: reviewer_id,
        })?;
        events.push(ev.id);
    }
    store.close();
    Ok(Seeded {
        tokens: Tokens {
            station,
            reviewer,
            merchant,
            residents,
        },
        events,
        reward: reward.id,
    })
}

/// `jifen serve` on the trial's store, as a child process.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(place: &Place) -> Result<Server> {
        let exe = std::env::current_exe().context("finding the jifen binary")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(place.dir.join("server.log"))
            .context("opening server.log")?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("--data").arg(&place.dir);
        if let Some(url) = place.url() {
            cmd.arg("--database").arg(url);
        }
        let mut child = cmd
            // The drill's few accounts write far faster than people do.
            .args(["--account-writes-per-minute", "0"])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("JIFEN_DATA")
            .env_remove("JIFEN_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting jifen serve")?;
        let out = child.stdout.take().context("the server's stdout")?;
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .context("reading the server's banner")?;
        let addr = line
            .split(" on http://")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(Server { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "jifen serve did not start (banner {line:?}); see {}",
                    place.dir.join("server.log").display()
                )
            }
        }
    }

    fn kill(mut self) -> Result<()> {
        self.child.kill().context("SIGKILL")?;
        self.child.wait().context("waiting for the killed server")?;
        Ok(())
    }

    /// Ctrl-C, as an operator stops it; SIGKILL if it has not stopped in 20 s.
    fn stop(mut self) -> Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Record,
    Approve,
    Checkin,
    Reserve,
    Confirm,
}

/// One write the drill sent, and what became of it.
struct Op {
    kind: Kind,
    member: i64,
    /// The claim or redemption it acts on (approve, confirm).
    of: Option<String>,
    path: String,
    token: Arc<str>,
    key: String,
    body: Vec<u8>,
    state: OpState,
}

enum OpState {
    /// Answered 2xx before the fault (or, after a database restart, after it).
    Acked {
        answer: serde_json::Value,
        after: bool,
    },
    /// No answer, or a 5xx: sent again after the fault.
    InFlight(String),
    /// Answered 2xx when sent again.
    Recovered(serde_json::Value),
    /// Answered with a refusal: a drill that is set up right never sees one.
    Refused(String),
}

/// What the clients share: the writes still to make and the record of those made.
struct Plan {
    ops: Vec<Op>,
    /// Recorded claims not yet approved: (claim id, member).
    to_approve: Vec<(String, i64)>,
    /// Reservations not yet confirmed: (redemption id, code, member).
    to_confirm: Vec<(u64, String, i64)>,
    /// (member, index into the events) not yet checked in.
    checkins: Vec<(i64, usize)>,
    next_key: u64,
    rng: Rng,
}

struct Load {
    host: String,
    addr: Mutex<SocketAddr>,
    plan: Mutex<Plan>,
    tokens: Tokens,
    events: Vec<(i64, i64, String)>,
    reward: u64,
    members: i64,
    /// Set once the fault struck (kill) or the load is over (db-restart).
    stop: AtomicBool,
    /// Set once the restart command returned.
    restarted: AtomicBool,
}

impl Load {
    /// The next write, chosen at random among those possible now.
    fn next_op(&self) -> Option<Op> {
        let mut plan = self.plan.lock().ok()?;
        let p = &mut *plan;
        p.next_key += 1;
        let key = format!("drill-{}", p.next_key);
        let roll = p.rng.below(100);
        let region = REGION;
        let (kind, member, of, path, token, body): (
            Kind,
            i64,
            Option<String>,
            String,
            &str,
            String,
        ) = if roll < 25 && !p.to_approve.is_empty() {
            let i = p.rng.below(p.to_approve.len() as u64) as usize;
            let (claim, member) = p.to_approve.swap_remove(i);
            (
                Kind::Approve,
                member,
                Some(claim.clone()),
                format!("/api/v1/claims/{claim}/approve"),
                &self.tokens.reviewer,
                String::new(),
            )
        } else if roll < 40 && !p.to_confirm.is_empty() {
            let i = p.rng.below(p.to_confirm.len() as u64) as usize;
            let (id, code, member) = p.to_confirm.swap_remove(i);
            (
                Kind::Confirm,
                member,
                Some(id.to_string()),
                format!("/api/v1/regions/{region}/merchant/confirm"),
                &self.tokens.merchant,
                serde_json::json!({ "code": code }).to_string(),
            )
        } else if roll < 60 && !p.checkins.is_empty() {
            let i = p.rng.below(p.checkins.len() as u64) as usize;
            let (member, e) = p.checkins.swap_remove(i);
            let (event, exp, sig) = &self.events[e];
            (
                Kind::Checkin,
                member,
                None,
                "/api/v1/checkin".to_owned(),
                &self.tokens.residents[(member - 1) as usize],
                serde_json::json!({ "region": region, "event": event, "exp": exp, "sig": sig })
                    .to_string(),
            )
        } else if roll < 75 {
            let member = 1 + p.rng.below(self.members as u64) as i64;
            (
                Kind::Reserve,
                member,
                None,
                format!("/api/v1/regions/{region}/redemptions"),
                &self.tokens.station,
                serde_json::json!({ "reward": self.reward, "member": member, "present": true })
                    .to_string(),
            )
        } else {
            let member = 1 + p.rng.below(self.members as u64) as i64;
            (
                Kind::Record,
                member,
                None,
                format!("/api/v1/regions/{region}/claims"),
                &self.tokens.station,
                serde_json::json!({
                    "member": member, "indicator": RECORDED, "quantity": 1,
                    "note": "演练:参加议事会", "present": true
                })
                .to_string(),
            )
        };
        Some(Op {
            kind,
            member,
            of,
            path,
            token: format!("Bearer {token}").into(),
            key,
            body: body.into_bytes(),
            state: OpState::InFlight(String::new()),
        })
    }

    /// Files an answered write, and queues what may follow it.
    fn file(&self, op: Op) {
        let Ok(mut plan) = self.plan.lock() else {
            return;
        };
        if let OpState::Acked { answer, .. } = &op.state {
            match op.kind {
                Kind::Record => {
                    if let Some(id) = answer["id"].as_str() {
                        plan.to_approve.push((id.to_owned(), op.member));
                    }
                }
                Kind::Reserve => {
                    if let (Some(id), Some(code)) = (answer["id"].as_u64(), answer["code"].as_str())
                    {
                        plan.to_confirm.push((id, code.to_owned(), op.member));
                    }
                }
                Kind::Approve | Kind::Checkin | Kind::Confirm => {}
            }
        }
        plan.ops.push(op);
    }

    /// One connection's share of the load, until `stop`.
    async fn client(self: Arc<Self>) {
        let mut conn: Option<SendRequest<Full<Bytes>>> = None;
        while !self.stop.load(Ordering::Acquire) {
            let Some(sender) = conn.as_mut() else {
                let addr = match self.addr.lock() {
                    Ok(a) => *a,
                    Err(_) => return,
                };
                match connect(addr).await {
                    Ok(s) => conn = Some(s),
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
                continue;
            };
            let Some(mut op) = self.next_op() else {
                return;
            };
            let after = self.restarted.load(Ordering::Acquire);
            let answer = tokio::time::timeout(
                REQUEST_TIMEOUT,
                exchange(
                    sender,
                    &self.host,
                    Method::POST,
                    &op.path,
                    Some(&op.token),
                    Some(&op.key),
                    Some(op.body.clone()),
                ),
            )
            .await;
            let mut pause = false;
            op.state = match answer {
                Ok(Ok((status, _, body))) if status.is_success() => OpState::Acked {
                    answer: serde_json::from_slice(&body).unwrap_or_default(),
                    after,
                },
                Ok(Ok((status, _, body))) if status.is_server_error() => {
                    pause = true;
                    OpState::InFlight(format!("{status}: {}", String::from_utf8_lossy(&body)))
                }
                Ok(Ok((status, _, body))) => {
                    OpState::Refused(format!("{status}: {}", String::from_utf8_lossy(&body)))
                }
                Ok(Err(e)) => {
                    conn = None;
                    OpState::InFlight(format!("{e:#}"))
                }
                Err(_) => {
                    conn = None;
                    OpState::InFlight(format!("no answer in {REQUEST_TIMEOUT:?}"))
                }
            };
            self.file(op);
            if pause {
                // The database is away: do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Where the drill sends its requests, and until when it keeps trying.
struct Target {
    addr: SocketAddr,
    host: String,
    deadline: Instant,
}

impl Target {
    /// Sends one request until it is answered (not 5xx, not a broken connection), or
    /// the deadline passes. Returns the status, whether the answer was replayed, and
    /// the body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, bool, serde_json::Value)> {
        let (addr, host, deadline) = (self.addr, self.host.as_str(), self.deadline);
        let mut last = String::new();
        while Instant::now() < deadline {
            match connect(addr).await {
                Ok(mut s) => {
                    match exchange(
                        &mut s,
                        host,
                        method.clone(),
                        path,
                        Some(token),
                        key,
                        body.clone(),
                    )
                    .await
                    {
                        Ok((status, headers, b)) if !status.is_server_error() => {
                            let replayed = headers
                                .get("idempotent-replayed")
                                .is_some_and(|v| v.as_bytes() == b"true");
                            let v = serde_json::from_slice(&b).unwrap_or_else(|_| {
                                serde_json::Value::String(String::from_utf8_lossy(&b).into_owned())
                            });
                            return Ok((status, replayed, v));
                        }
                        Ok((status, _, b)) => {
                            last = format!("{status}: {}", String::from_utf8_lossy(&b));
                        }
                        Err(e) => last = format!("{e:#}"),
                    }
                }
                Err(e) => last = format!("{e:#}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("{method} {path}: no answer before the deadline; last: {last}")
    }
}

fn trial(a: &DrillArgs, n: u32, trial_seed: u64) -> Result<Figures> {
    let place = Place::new(a, n)?;
    let seeded = seed(&place, a).context("seeding")?;
    let server = Server::start(&place)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client's runtime")?;
    let mut rng = Rng(trial_seed | 1);
    let fault_at_ms = a.within_ms / 5 + rng.below(a.within_ms - a.within_ms / 5);
    let result = rt.block_on(drive(a, &place, server, seeded, rng, fault_at_ms));
    drop(rt);
    match result {
        Ok(mut f) => {
            f.fault_at_ms = fault_at_ms;
            if f.problems.is_empty() {
                place.remove();
            } else {
                f.problems.push(format!(
                    "the trial's store is kept in {}",
                    place.dir.display()
                ));
            }
            Ok(f)
        }
        Err(e) => Err(e.context(format!(
            "the trial's store is kept in {}",
            place.dir.display()
        ))),
    }
}

async fn drive(
    a: &DrillArgs,
    place: &Place,
    server: Server,
    seeded: Seeded,
    rng: Rng,
    fault_at_ms: u64,
) -> Result<Figures> {
    let host = server.addr.to_string();
    let deadline = Instant::now() + RECOVERY_TIMEOUT;
    let target = Target {
        addr: server.addr,
        host: host.clone(),
        deadline,
    };
    // The check-in links, as a reviewer reads them from the event.
    let mut events = Vec::new();
    for e in &seeded.events {
        let (status, _, v) = target
            .send(
                Method::GET,
                &format!("/api/v1/regions/{REGION}/events/{e}"),
                &format!("Bearer {}", seeded.tokens.reviewer),
                None,
                None,
            )
            .await?;
        let url = v["checkin_url"].as_str().unwrap_or_default();
        let query = url.split_once('?').map(|q| q.1).unwrap_or_default();
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .map(str::to_owned)
        };
        let (Some(exp), Some(sig)) = (param("exp"), param("sig")) else {
            bail!("event {e}: {status}, no check-in link in {v}");
        };
        events.push((*e, exp.parse::<i64>().context("exp")?, sig));
    }
    let members = a.members;
    let before = balances(&target, &seeded.tokens.reviewer, members).await?;
    let mut checkins = Vec::new();
    for m in 1..=members {
        for e in 0..events.len() {
            checkins.push((m, e));
        }
    }
    let load = Arc::new(Load {
        host: host.clone(),
        addr: Mutex::new(server.addr),
        plan: Mutex::new(Plan {
            ops: Vec::new(),
            to_approve: Vec::new(),
            to_confirm: Vec::new(),
            checkins,
            next_key: 0,
            rng,
        }),
        tokens: seeded.tokens,
        events,
        reward: seeded.reward,
        members,
        stop: AtomicBool::new(false),
        restarted: AtomicBool::new(false),
    });
    let mut clients = Vec::new();
    for _ in 0..a.clients {
        clients.push(tokio::spawn(load.clone().client()));
    }
    tokio::time::sleep(Duration::from_millis(fault_at_ms)).await;
    let server = match a.fault {
        Fault::Kill => {
            server.kill()?;
            load.stop.store(true, Ordering::Release);
            for c in clients.drain(..) {
                let _ = c.await;
            }
            let again = Server::start(place).context("starting jifen serve after the kill")?;
            if let Ok(mut addr) = load.addr.lock() {
                *addr = again.addr;
            }
            again
        }
        Fault::DbRestart => {
            let cmd = a.restart_cmd.clone().unwrap_or_default();
            let status = tokio::task::spawn_blocking(move || {
                std::process::Command::new("sh")
                    .arg("-c")
                    .arg(&cmd)
                    .status()
            })
            .await
            .context("the restart command's thread")?
            .context("running --restart-cmd")?;
            if !status.success() {
                bail!("--restart-cmd failed: {status}");
            }
            load.restarted.store(true, Ordering::Release);
            tokio::time::sleep(Duration::from_millis(a.after_ms)).await;
            load.stop.store(true, Ordering::Release);
            for c in clients.drain(..) {
                let _ = c.await;
            }
            server
        }
    };
    let target = Target {
        addr: server.addr,
        host: server.addr.to_string(),
        deadline,
    };
    let mut plan = std::mem::replace(
        &mut *load.plan.lock().map_err(|_| anyhow!("a client panicked"))?,
        Plan {
            ops: Vec::new(),
            to_approve: Vec::new(),
            to_confirm: Vec::new(),
            checkins: Vec::new(),
            next_key: 0,
            rng: Rng(1),
        },
    );
    let mut f = Figures::default();
    // Everything unanswered goes again, under its own key.
    for op in &mut plan.ops {
        if let OpState::InFlight(why) = &op.state {
            f.in_flight += 1;
            let why = why.clone();
            let (status, replayed, answer) = target
                .send(
                    Method::POST,
                    &op.path,
                    &op.token,
                    Some(&op.key),
                    Some(op.body.clone()),
                )
                .await
                .with_context(|| format!("{:?} sent again (first: {why})", op.kind))?;
            op.state = if status.is_success() {
                if replayed {
                    f.committed_unacknowledged += 1;
                }
                OpState::Recovered(answer)
            } else {
                OpState::Refused(format!("{:?} sent again: {status}: {answer}", op.kind))
            };
        }
    }
    // The last answer for each claim and redemption, and what the members should hold.
    let mut expected: std::collections::BTreeMap<String, (String, bool, usize)> =
        Default::default();
    let mut earned = vec![0i64; members as usize + 1];
    let mut spent = vec![0i64; members as usize + 1];
    for op in &plan.ops {
        let (answer, acked) = match &op.state {
            OpState::Acked { answer, after } => {
                if *after {
                    f.acknowledged_after += 1;
                }
                f.acknowledged += 1;
                (answer, true)
            }
            OpState::Recovered(answer) => (answer, false),
            OpState::Refused(why) => {
                f.problems.push(format!(
                    "{:?} for member {} was refused: {why}",
                    op.kind, op.member
                ));
                continue;
            }
            OpState::InFlight(_) => continue,
        };
        let status = answer["status"].as_str().unwrap_or_default().to_owned();
        let m = op.member as usize;
        match op.kind {
            Kind::Record => {
                let id = answer["id"].as_str().unwrap_or_default();
                expected
                    .entry(format!("claim {id}"))
                    .or_insert((status, acked, m));
            }
            Kind::Approve => {
                earned[m] += RECORDED_POINTS;
                let id = op.of.clone().unwrap_or_default();
                expected.insert(format!("claim {id}"), (status, acked, m));
            }
            Kind::Checkin => {
                earned[m] += EVENT_POINTS;
                let id = answer["id"].as_str().unwrap_or_default();
                expected.insert(format!("claim {id}"), (status, acked, m));
            }
            Kind::Reserve => {
                spent[m] += PRICE;
                let id = answer["id"].as_u64().unwrap_or_default();
                expected
                    .entry(format!("redemption {id}"))
                    .or_insert((status, acked, m));
            }
            Kind::Confirm => {
                let id = op.of.clone().unwrap_or_default();
                expected.insert(format!("redemption {id}"), (status, acked, m));
            }
        }
    }
    let reviewer = format!("Bearer {}", load.tokens.reviewer);
    for (what, (status, acked, m)) in &expected {
        let (path, token) = match what.split_once(' ') {
            Some(("claim", id)) => (format!("/api/v1/claims/{id}"), reviewer.clone()),
            // A member's own redemption is theirs to read.
            Some((_, id)) => (
                format!("/api/v1/regions/{REGION}/redemptions/{id}"),
                format!("Bearer {}", load.tokens.residents[m - 1]),
            ),
            None => continue,
        };
        let (code, _, v) = target.send(Method::GET, &path, &token, None, None).await?;
        let now = v["status"].as_str().unwrap_or_default();
        if code != StatusCode::OK || now != status {
            if *acked {
                f.lost += 1;
            }
            f.problems.push(format!(
                "{what}: answered {status:?}{}, now {code} {now:?}",
                if *acked { " (acknowledged)" } else { "" }
            ));
        }
    }
    let after = balances(&target, &load.tokens.reviewer, members).await?;
    for m in 1..=members as usize {
        let (s0, a0) = before[m];
        let (s1, a1) = after[m];
        let want = (s0 + earned[m] - spent[m], a0 + earned[m]);
        if (s1, a1) != want {
            f.balances_wrong += 1;
            f.problems.push(format!(
                "member {m}: spendable {s1}, annual score {a1}; the answered writes make {}, {}",
                want.0, want.1
            ));
        }
    }
    if a.fault == Fault::DbRestart && f.acknowledged_after == 0 {
        f.problems
            .push("no write was acknowledged after the database restarted".into());
    }
    server.stop()?;
    let verified = verify(place)?;
    if let Some(why) = verified {
        f.problems.push(format!("jifen verify failed: {why}"));
    }
    Ok(f)
}

/// Each member's (spendable, annual score), by member number (index 0 unused).
async fn balances(target: &Target, reviewer: &str, members: i64) -> Result<Vec<(i64, i64)>> {
    let bearer = format!("Bearer {reviewer}");
    let mut out = vec![(0, 0)];
    for m in 1..=members {
        let (status, _, v) = target
            .send(
                Method::GET,
                &format!("/api/v1/regions/{REGION}/members/{m}/balance"),
                &bearer,
                None,
                None,
            )
            .await?;
        match (v["spendable"].as_i64(), v["annual_score"].as_i64()) {
            (Some(s), Some(a)) => out.push((s, a)),
            _ => bail!("member {m}'s balance: {status}: {v}"),
        }
    }
    Ok(out)
}

/// `jifen verify` on the trial's store: `None` when it passes, else what it printed.
fn verify(place: &Place) -> Result<Option<String>> {
    let exe = std::env::current_exe().context("finding the jifen binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--data").arg(&place.dir);
    if let Some(url) = place.url() {
        cmd.arg("--database").arg(url);
    }
    let out = cmd
        .arg("verify")
        .env_remove("JIFEN_DATA")
        .env_remove("JIFEN_DATABASE_URL")
        .output()
        .context("running jifen verify")?;
    Ok((!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        let w = |u| with_database(u, "t1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            w("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(w("postgres://h:1"), "postgres://h:1/t1");
        assert_eq!(
            w("postgresql://u:p@h/db?sslmode=disable"),
            "postgresql://u:p@h/t1?sslmode=disable"
        );
        assert!(with_database("not a url", "t1").is_err());
    }
}
