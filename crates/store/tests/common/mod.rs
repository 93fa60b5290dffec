//! Shared fixtures for the store's behaviour suite: a fresh store per test in its
//! own temp folder, a clock the test moves, and builders for the domain values the
//! tests keep writing.

#![allow(
    dead_code,
    reason = "each test module uses its own part of the fixtures"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jifen_core::{Account, FixedClock, Ledger};
use jifen_core::{
    Caps, Claimants, Entry, EntryKind, Evidence, HouseholdId, Indicator, IndicatorCode,
    IndicatorRef, Level, Levels, MemberId, NewEntry, OperatorId, Points, Reason, Region,
    RegionCode, RegionKind, ReviewPolicy, Source, SponsorCode, Timestamp, clock::parse_date,
};
use jifen_store::admin::{NewMember, NewRegion};
use jifen_store::testdb::TestDatabase;
use jifen_store::{Append, Database, Store, StoreError};

/// Whether this binary is the suite's PostgreSQL half (`tests/behaviour_pg.rs`, which
/// compiles the same modules): chosen by the binary's name, so one suite serves both.
pub const ON_POSTGRES: bool = matches!(env!("CARGO_CRATE_NAME").as_bytes(), b"behaviour_pg");

/// China Standard Time, the offset every region here keeps.
pub const CST_MINUTES: i32 = 480;
/// The parent region and the village most tests work in.
pub const CITY: &str = "city";
pub const VIL: &str = "vil";
/// Operators: a system job, two reviewers with no ties to anyone, an auditor.
pub const SYSTEM: i64 = 1;
pub const REVIEWER_A: i64 = 100;
pub const REVIEWER_B: i64 = 102;

/// A temp folder removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "jifen-store-{tag}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store in a fresh temp folder with a clock the test controls.
pub struct TestStore {
    pub store: Store,
    pub clock: Arc<FixedClock>,
    pub dir: TempDir,
    /// The test's own PostgreSQL database, on the PostgreSQL half; dropped last.
    pub pg: Option<TestDatabase>,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        // Stop the writer before the folder goes.
        self.store.close();
    }
}

/// 10:00 local time on 2026-03-10, a Tuesday: where every test's clock starts.
pub fn t0() -> Timestamp {
    local("2026-03-10", 10, 0)
}

/// A local (UTC+8) time on a date given as `YYYY-MM-DD`.
pub fn local(date: &str, hour: i64, minute: i64) -> Timestamp {
    let d = parse_date(date).expect("valid date");
    let start = Timestamp::start_of(d, CST_MINUTES).expect("in range");
    Timestamp::from_millis(start.millis() + (hour * 60 + minute) * 60_000)
}

/// Opens a store in a fresh temp folder, the clock at [`t0`].
pub fn spawn_store() -> TestStore {
    let dir = TempDir::new("behaviour");
    let clock = Arc::new(FixedClock::new(t0()));
    let pg = ON_POSTGRES.then(|| TestDatabase::for_suite("store behaviour suite"));
    let database = pg.as_ref().map_or(Database::Sqlite, TestDatabase::database);
    let store = Store::open_with(dir.path(), &database, clock.clone()).expect("store opens");
    TestStore {
        store,
        clock,
        dir,
        pg,
    }
}

impl TestStore {
    /// Runs one statement behind the store's back, on a connection of its own
    /// (to tamper with what the audit must catch); returns the rows it changed.
    pub fn raw_execute(&self, sql: &str) -> usize {
        self.raw_conn()
            .execute(sql, jifen_store::params![])
            .expect("raw change")
    }

    /// A connection of its own to the store's database, behind the store's back.
    pub fn raw_conn(&self) -> jifen_store::sql::Conn {
        match self.store.database() {
            Database::Sqlite => jifen_store::db::open(&self.dir.path().join(jifen_store::DB_FILE)),
            Database::Postgres(url) => jifen_store::db::open_pg(url),
        }
        .expect("raw connection")
    }
}

/// A store with the standard tree (a city and its village) and people:
/// household 1 holds members 1 and 2, household 2 holds member 3.
pub fn spawn_village() -> TestStore {
    let ts = spawn_store();
    ts.add_region(CITY, None);
    ts.add_region(VIL, Some(CITY));
    ts.household(VIL, 1);
    ts.household(VIL, 2);
    ts.member(VIL, 1, 1, "张小三");
    ts.member(VIL, 2, 1, "李四");
    ts.member(VIL, 3, 2, "王五");
    ts
}

pub fn rc(s: &str) -> RegionCode {
    RegionCode::parse(s).expect("valid region code")
}
pub fn code(s: &str) -> IndicatorCode {
    IndicatorCode::parse(s).expect("valid indicator code")
}
pub fn mid(n: i64) -> MemberId {
    MemberId::new(n).expect("positive member id")
}
pub fn hid(n: i64) -> HouseholdId {
    HouseholdId::new(n).expect("positive household id")
}
pub fn op(n: i64) -> OperatorId {
    OperatorId::new(n).expect("positive operator id")
}
pub fn pts(n: i64) -> Points {
    Points::new(n)
}
pub fn sponsor(s: &str) -> SponsorCode {
    SponsorCode::parse(s).expect("valid sponsor code")
}

pub fn region_spec(code: &str, parent: Option<&str>) -> NewRegion {
    let kind = if parent.is_some() {
        RegionKind::Village
    } else {
        RegionKind::City
    };
    NewRegion {
        region: Region::new(rc(code), &format!("{code} 区域"), kind, parent.map(rc))
            .expect("valid region"),
        origin_prefix: "jifen.test/log".into(),
    }
}

/// An indicator with plain defaults: no caps, one reviewer, residents may claim
/// awards and staff record deductions, valid since 2020, not core, no notice.
pub fn indicator(region: &str, c: &str, points: i64) -> Indicator {
    Indicator {
        region: rc(region),
        code: code(c),
        version: 1,
        name: format!("{c} 指标"),
        category: "自治".into(),
        points: pts(points),
        unit: "次".into(),
        caps: Caps::default(),
        evidence: Evidence::None,
        review: ReviewPolicy::One,
        claimants: if points < 0 {
            Claimants::StaffOnly
        } else {
            Claimants::Residents
        },
        valid_from: parse_date("2020-01-01").expect("valid date"),
        valid_to: None,
        core: false,
        notice_days: 0,
    }
}

pub fn levels(list: &[(&str, i64)]) -> Levels {
    Levels::new(
        list.iter()
            .map(|(c, min)| Level {
                code: (*c).into(),
                name: format!("{c} 级"),
                min_score: pts(*min),
            })
            .collect(),
    )
    .expect("rising levels")
}

/// A new entry of `kind` for `member`, with no indicator, by the system operator.
pub fn entry(kind: EntryKind, member: i64, amount: i64) -> NewEntry {
    NewEntry {
        kind,
        member: mid(member),
        amount: pts(amount),
        indicator: None,
        quantity: 1,
        reason: Reason::new(Source::Direct, 1),
        operator: op(SYSTEM),
        reverses: None,
        sponsor: None,
        counts_annual: false,
    }
}

/// An award or deduction under indicator `c` version 1 of `quantity` units at `per_unit`.
pub fn ruled(kind: EntryKind, member: i64, c: &str, per_unit: i64, quantity: u32) -> NewEntry {
    NewEntry {
        indicator: Some(IndicatorRef {
            code: code(c),
            version: 1,
        }),
        quantity,
        ..entry(kind, member, per_unit * i64::from(quantity))
    }
}

pub fn award(member: i64, c: &str, per_unit: i64, quantity: u32) -> NewEntry {
    ruled(EntryKind::Award, member, c, per_unit, quantity)
}

pub fn deduction(member: i64, c: &str, per_unit: i64, quantity: u32) -> NewEntry {
    ruled(EntryKind::Deduction, member, c, per_unit, quantity)
}

pub fn reversal(member: i64, of: u64, amount: i64) -> NewEntry {
    NewEntry {
        reverses: Some(of),
        ..entry(EntryKind::Reversal, member, amount)
    }
}

pub fn redemption(member: i64, amount: i64) -> NewEntry {
    NewEntry {
        sponsor: Some(sponsor("coop")),
        reason: Reason::new(Source::Shop, 1),
        ..entry(EntryKind::Redemption, member, amount)
    }
}

pub fn append_req(region: &str, e: NewEntry) -> Append {
    Append {
        region: rc(region),
        entry: e,
        idempotency_key: None,
    }
}

/// What a data-driven case expects of a store call.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    Ok,
    /// `StoreError::Rejected` (or `Refused`) whose message contains the text.
    Rejected(&'static str),
    NotFound(&'static str),
    Conflict(&'static str),
    /// `StoreError::Forbidden`: separation of duties.
    Forbidden(&'static str),
}

/// Checks one outcome against what a case expects; `label` names the case in failures.
pub fn check<T: std::fmt::Debug>(label: &str, got: &Result<T, StoreError>, expect: Expect) {
    let fits = |e: &StoreError, want: &str| {
        let msg = e.to_string();
        assert!(
            msg.contains(want),
            "{label}: error {msg:?} should mention {want:?}"
        );
    };
    match (expect, got) {
        (Expect::Ok, Ok(_)) => {}
        (Expect::Rejected(w), Err(e)) if e.is_refusal() => fits(e, w),
        (Expect::NotFound(w), Err(e @ StoreError::NotFound(_))) => fits(e, w),
        (Expect::Conflict(w), Err(e @ StoreError::Conflict(_))) => fits(e, w),
        (Expect::Forbidden(w), Err(e @ StoreError::Forbidden(_))) => fits(e, w),
        (want, got) => panic!("{label}: expected {want:?}, got {got:?}"),
    }
}

impl TestStore {
    pub fn set_time(&self, at: Timestamp) {
        self.clock.set(at);
    }

    pub fn advance_days(&self, days: i64) {
        self.clock.set(self.store.clock().now().plus_days(days));
    }

    pub fn add_region(&self, code: &str, parent: Option<&str>) -> String {
        self.store
            .create_region(region_spec(code, parent))
            .expect("region created")
    }

    pub fn household(&self, region: &str, id: i64) {
        self.store
            .add_household(rc(region), Some(hid(id)), &format!("{id} 号"))
            .expect("household added");
    }

    pub fn member(&self, region: &str, id: i64, household: i64, name: &str) {
        self.store
            .add_member(NewMember {
                region: rc(region),
                id: Some(mid(id)),
                household: hid(household),
                name: name.into(),
            })
            .expect("member added");
    }

    pub fn put(&self, ind: Indicator) -> u32 {
        self.store.put_indicator(ind).expect("indicator stored")
    }

    pub fn append_ok(&self, region: &str, e: NewEntry) -> Entry {
        self.store
            .append(append_req(region, e))
            .expect("append accepted")
    }

    /// Entries stored for a region.
    pub fn entry_count(&self, region: &str) -> u64 {
        self.count(
            "SELECT COUNT(*) FROM entries WHERE region = ?1",
            region.to_owned(),
        )
    }

    /// Runs a `SELECT COUNT(*)`-like query with one text parameter.
    pub fn count(&self, sql: &str, param: String) -> u64 {
        let sql = sql.to_owned();
        self.store
            .read(move |c| c.query_row(&sql, jifen_store::params![param], |r| r.get::<i64>(0)))
            .map(|n| u64::try_from(n).expect("a count"))
            .expect("query runs")
    }

    pub fn tree_size(&self, region: &str) -> u64 {
        self.store
            .checkpoint(&rc(region))
            .expect("checkpoint")
            .0
            .size
    }

    /// Every stored balance row of a region: system accounts, then (member, year) rows.
    pub fn stored_balances(&self, region: &str) -> StoredBalances {
        let region = region.to_owned();
        self.store
            .read(move |c| {
                let system: Vec<(String, i64)> = c.query_map(
                    "SELECT account, balance FROM balances WHERE region = ?1 ORDER BY account",
                    jifen_store::params![region],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                // Stored rows plus the entries not folded into them yet.
                let code = jifen_core::RegionCode::parse(&region).expect("a region code");
                let members = jifen_store::member_years::all(c, &code)?;
                Ok(StoredBalances { system, members })
            })
            .expect("balances read")
    }

    /// Checks the stored balances of a region against a ledger derived by the test.
    pub fn assert_balances_match(&self, region: &str, ledger: &Ledger) {
        let stored = self.stored_balances(region);
        stored.assert_sums_to_zero();
        for (key, balance) in &stored.system {
            let account = Account::parse_key(key).expect("a stored account key");
            assert_eq!(
                ledger.balance(&account),
                pts(*balance),
                "system account {key}"
            );
        }
        let nonzero_system = ledger
            .balances
            .iter()
            .filter(|(a, p)| a.member().is_none() && **p != Points::ZERO)
            .count();
        let stored_nonzero = stored.system.iter().filter(|(_, b)| *b != 0).count();
        assert_eq!(
            stored_nonzero, nonzero_system,
            "system accounts with points"
        );
        for (m, year, annual, flow) in &stored.members {
            assert_eq!(
                ledger.annual_score(mid(*m), *year),
                pts(*annual),
                "annual score of member {m} in {year}"
            );
            assert_eq!(
                ledger.net_flow(mid(*m), *year),
                pts(*flow),
                "net flow of member {m} in {year}"
            );
        }
        for ((m, year), flow) in &ledger.flows {
            let row = stored
                .members
                .iter()
                .find(|r| r.0 == m.get() && r.1 == *year);
            assert!(
                row.is_some() || *flow == Points::ZERO,
                "member {m} has no stored row for {year}"
            );
        }
        for (account, balance) in &ledger.balances {
            if let Some(m) = account.member() {
                let b = self
                    .store
                    .balance(&rc(region), m, 2026)
                    .expect("member balance");
                assert_eq!(b.spendable, *balance, "spendable of member {m}");
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBalances {
    pub system: Vec<(String, i64)>,
    /// (member, year, annual score, net flow)
    pub members: Vec<(i64, i32, i64, i64)>,
}

impl StoredBalances {
    /// The region's stored accounts (system balances and members' net flows) sum to zero.
    pub fn assert_sums_to_zero(&self) {
        let system: i64 = self.system.iter().map(|(_, b)| b).sum();
        let members: i64 = self.members.iter().map(|r| r.3).sum();
        assert_eq!(
            system + members,
            0,
            "stored balances must sum to zero: {self:?}"
        );
    }
}

/// Runs `jobs` in one batch of the writer: a gate job holds the writer while the
/// jobs are queued behind it, so the writer takes them all at once.
pub fn in_one_batch(store: &Store, queue: impl FnOnce()) {
    in_one_batch_with(store, |_| Box::new(|_| {}), queue);
}

/// [`in_one_batch`] whose gate job, once opened, runs `inside` in its own batch
/// (to make that batch fail, say); the gate's completion is what `inside` returns.
pub fn in_one_batch_with(
    store: &Store,
    inside: impl FnOnce(Option<&mut jifen_store::Batch<'_>>) -> jifen_store::Completion + Send + 'static,
    queue: impl FnOnce(),
) {
    let (open_tx, open_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    store
        .submit(jifen_store::Job::Run(Box::new(move |b| {
            let _ = started_tx.send(());
            let _ = open_rx.recv();
            inside(b)
        })))
        .expect("gate queued");
    // Once the gate runs, its batch is already taken: what is queued now waits for the next.
    started_rx.recv().expect("gate started");
    queue();
    open_tx.send(()).expect("gate opened");
}

/// The local year of an entry in a UTC+8 region.
pub fn year_of(e: &Entry) -> i32 {
    e.time.local_year(CST_MINUTES).expect("in range")
}
