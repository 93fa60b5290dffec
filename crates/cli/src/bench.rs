//! `jifen bench`: programs that measure and print their figures.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jifen_core::{
    Caps, Claimants, EntryKind, Evidence, HouseholdId, Indicator, IndicatorCode, IndicatorRef,
    MemberId, NewEntry, OperatorId, Points, Reason, Region, RegionCode, RegionKind, ReviewPolicy,
    Source, clock::parse_date,
};
use jifen_store::admin::NewRegion;
use jifen_store::{Append, ImportMembers, MemberRow, Store};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Post N awards through the real sequencer into a fresh store, then insert the
    /// same rows raw into a bare SQLite table as a baseline.
    Ingest {
        #[arg(long, default_value_t = 1_000_000)]
        entries: u64,
        /// Members the awards are spread over (each award names one).
        #[arg(long, default_value_t = 100_000)]
        members: u64,
        /// Where the fresh store goes (a new temporary folder if not given; removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Serve a fresh store in-process on loopback and post awards to it over HTTP
    /// (`POST /api/v1/regions/{region}/claims` as a reviewer, auto-posted), from many
    /// keep-alive connections at once; prints throughput and latency.
    Api {
        /// Concurrent keep-alive connections, each with one request in flight.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// How long to run, in seconds (unless --requests is given).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Send exactly this many requests instead of running for --seconds.
        #[arg(long)]
        requests: Option<u64>,
        /// Members the awards are spread over, round-robin.
        #[arg(long, default_value_t = 1_000)]
        members: u64,
        /// Threads of the client's runtime (the server's runtime has one per core).
        #[arg(long, default_value_t = 1)]
        client_threads: usize,
        /// Where the fresh store goes (a new temporary folder if not given; removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Evaluate a year for N members who each have a year of entries (built first,
    /// timed apart), with the what-if and the export; then the evaluation page of
    /// a smaller region over HTTP. Prints each time.
    Evaluate {
        #[arg(long, default_value_t = 1_000_000)]
        members: u64,
        #[arg(long, default_value_t = 12)]
        entries_per_member: u32,
        /// Members of the region whose page is asked for.
        #[arg(long, default_value_t = 10_000)]
        page_members: u64,
        /// Times the page is asked for (one at a time).
        #[arg(long, default_value_t = 20)]
        page_requests: u32,
        /// Where the fresh store goes (a new temporary folder if not given; removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Witnessing: checkpoints one witness cosigns per second from many logs at once,
    /// and award acknowledgements with and without a witness named (it must add nothing:
    /// witnessing is after the commit).
    Witness {
        /// Outside logs submitting to the witness at once.
        #[arg(long, default_value_t = 16)]
        logs: usize,
        /// Checkpoints each of them submits, one leaf larger each time.
        #[arg(long, default_value_t = 500)]
        checkpoints: usize,
        /// Connections sending awards to the log.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Awards in each of the two runs (no witness, witnessed).
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        #[arg(long, default_value_t = 1_000)]
        members: u64,
        /// Where the fresh stores go (a new temporary folder if not given; removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Close a year for N members who each have a year of entries (built first,
    /// timed apart); prints the close's time and rate.
    YearClose {
        #[arg(long, default_value_t = 1_000_000)]
        members: u64,
        /// Entries per member over the year (awards, and every fourth for half the members a redemption).
        #[arg(long, default_value_t = 12)]
        entries_per_member: u32,
        /// Points not spent within this many years expire at the close (0: no expiry).
        #[arg(long, default_value_t = 1)]
        expiry_years: u32,
        /// Where the fresh store goes (a new temporary folder if not given; removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

mod evaluate;
mod witness;
mod year_close;

/// The local (UTC+8) time of a date, at `hour`.
fn at(date: &str, hour: i64) -> Result<jifen_core::Timestamp> {
    let d = parse_date(date)?;
    let start = jifen_core::Timestamp::start_of(d, jifen_core::clock::CHINA_OFFSET_MINUTES)?;
    Ok(jifen_core::Timestamp::from_millis(
        start.millis() + hour * 3_600_000,
    ))
}

/// Posts `per_member` entries for each of members 1..=`members` over `year` through
/// the real sequencer: entry k of every member in the same month (the clock set to
/// its 15th), each month landed before the next. `entry(member, k, seq)` makes one.
fn post_year(
    store: &Store,
    region: &RegionCode,
    clock: &jifen_core::FixedClock,
    year: i32,
    members: u64,
    per_member: u32,
    entry: impl Fn(MemberId, u32, u64) -> NewEntry,
) -> Result<()> {
    let total = members * u64::from(per_member);
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} fixture entries {per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut sent = 0u64;
    for k in 0..per_member {
        let month = 1 + (k * 12 / per_member);
        clock.set(at(&format!("{year}-{month:02}-15"), 10)?);
        for m in 1..=members {
            let member = MemberId::new(i64::try_from(m)?)?;
            let (d, f) = (done.clone(), failed.clone());
            store.append_with(
                Append {
                    region: region.clone(),
                    entry: entry(member, k, sent + 1),
                    idempotency_key: None,
                },
                move |r| {
                    if r.is_err() {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                    d.fetch_add(1, Ordering::Release);
                },
            )?;
            sent += 1;
            if sent.is_multiple_of(8192) {
                bar.set_position(done.load(Ordering::Acquire));
            }
        }
        // The month's entries land before the clock moves on.
        while done.load(Ordering::Acquire) < sent {
            bar.set_position(done.load(Ordering::Acquire));
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    bar.finish_and_clear();
    let failures = failed.load(Ordering::Relaxed);
    if failures > 0 {
        bail!("{failures} fixture entries were refused");
    }
    Ok(())
}

pub fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest {
            entries,
            members,
            dir,
        } => ingest(entries, members, dir),
        BenchCommand::Api {
            clients,
            seconds,
            requests,
            members,
            client_threads,
            dir,
        } => api::run(api::Args {
            clients,
            seconds,
            requests,
            members,
            client_threads,
            dir,
        }),
        BenchCommand::Evaluate {
            members,
            entries_per_member,
            page_members,
            page_requests,
            dir,
        } => evaluate::run(evaluate::Args {
            members,
            entries_per_member,
            page_members,
            page_requests,
            dir,
        }),
        BenchCommand::Witness {
            logs,
            checkpoints,
            clients,
            requests,
            members,
            dir,
        } => witness::run(witness::Args {
            logs,
            checkpoints,
            clients,
            requests,
            members,
            dir,
        }),
        BenchCommand::YearClose {
            members,
            entries_per_member,
            expiry_years,
            dir,
        } => year_close::run(year_close::Args {
            members,
            entries_per_member,
            expiry_years: (expiry_years > 0).then_some(expiry_years),
            dir,
        }),
    }
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> Result<TempDir> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let p = std::env::temp_dir().join(format!("jifen-bench-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    Ok(TempDir(p))
}

/// Opens a new store in `<base>/store` (which must not exist yet) with one region, `bench`.
fn fresh_store(base: &std::path::Path) -> Result<(PathBuf, Store, RegionCode)> {
    fresh_store_with(base, crate::clock())
}

/// [`fresh_store`] with a given clock.
fn fresh_store_with(
    base: &std::path::Path,
    clock: Arc<dyn jifen_core::Clock>,
) -> Result<(PathBuf, Store, RegionCode)> {
    let store_dir = base.join("store");
    if store_dir.exists() {
        bail!("{} exists; bench needs a fresh folder", store_dir.display());
    }
    let store = crate::open_store(&store_dir, clock)?;
    if !store.regions()?.is_empty() {
        store.close();
        bail!(
            "the bench needs an empty database: this one holds regions already (create a new one)"
        );
    }
    let region = RegionCode::parse("bench").expect("valid code");
    store.create_region(NewRegion {
        region: Region::new(region.clone(), "bench", RegionKind::Village, None)?,
        origin_prefix: crate::ORIGIN_PREFIX_DEFAULT.into(),
    })?;
    Ok((store_dir, store, region))
}

/// Members 1..=`members` in households of four, in one write.
fn seed_members(store: &Store, region: &RegionCode, members: u64) -> Result<()> {
    seed_members_with(store, region, members, |_| Ok(Default::default()))
}

/// [`seed_members`], each member with the attributes `attributes(id)` gives.
fn seed_members_with(
    store: &Store,
    region: &RegionCode,
    members: u64,
    attributes: impl Fn(i64) -> Result<jifen_store::Attributes>,
) -> Result<()> {
    let rows = (1..=i64::try_from(members)?)
        .map(|id| {
            Ok(MemberRow {
                line: None,
                member: Some(MemberId::new(id)?),
                household: HouseholdId::new((id - 1) / 4 + 1)?,
                household_label: Some("户".into()),
                name: "居民".into(),
                attributes: attributes(id)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    store.run(ImportMembers {
        region: region.clone(),
        rows,
    })?;
    Ok(())
}

/// The bench indicator's yearly cap per member (every award goes through it).
const TREES_PER_YEAR_MAX: u32 = 100;

fn ingest(n: u64, members: u64, dir: Option<PathBuf>) -> Result<ExitCode> {
    if n == 0 || members == 0 {
        bail!("--entries and --members must be at least 1");
    }
    if n.div_ceil(members) > u64::from(TREES_PER_YEAR_MAX) {
        bail!(
            "--entries {n} over --members {members} gives a member more than {TREES_PER_YEAR_MAX} awards, \
             the bench indicator's yearly cap: give at least {} members",
            n.div_ceil(u64::from(TREES_PER_YEAR_MAX))
        );
    }
    let tmp = temp_dir("ingest")?;
    let base = dir.unwrap_or_else(|| tmp.0.clone());
    let (store_dir, store, region) = fresh_store(&base)?;
    // A realistic award: 2 points a tree, at most 100 trees a year per member,
    // so every award goes through the cap check as well.
    let code = IndicatorCode::parse("TREE").expect("valid code");
    store.put_indicator(Indicator {
        region: region.clone(),
        code: code.clone(),
        version: 1,
        name: "植树".into(),
        category: "德治".into(),
        points: Points::new(2),
        unit: "棵".into(),
        caps: Caps {
            per_day: None,
            per_month: None,
            per_year: Some(TREES_PER_YEAR_MAX),
        },
        evidence: Evidence::None,
        review: ReviewPolicy::One,
        claimants: Claimants::Residents,
        valid_from: parse_date("2000-01-01")?,
        valid_to: None,
        core: false,
        notice_days: 0,
    })?;
    seed_members(&store, &region, members)?;
    eprintln!(
        "store ready in {}: {members} members; posting {n} awards",
        store_dir.display()
    );

    // One shared tally, so each append's completion holds one reference, not three.
    #[derive(Default)]
    struct Tally {
        done: AtomicU64,
        failed: AtomicU64,
        first_error: std::sync::Mutex<Option<String>>,
    }
    let tally = Arc::new(Tally::default());
    let bar = indicatif::ProgressBar::new(n);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec} eta {eta}")
            .expect("valid template"),
    );
    let started = Instant::now();
    let mut reported = 0u64;
    for i in 0..n {
        let member = MemberId::new(i64::try_from(i % members + 1).unwrap_or(1)).expect("positive");
        let req = Append {
            region: region.clone(),
            entry: NewEntry {
                kind: EntryKind::Award,
                member,
                amount: Points::new(2),
                indicator: Some(IndicatorRef {
                    code: code.clone(),
                    version: 1,
                }),
                quantity: 1,
                reason: Reason::new(Source::Direct, i + 1),
                operator: OperatorId::new(2).expect("positive"),
                reverses: None,
                sponsor: None,
                counts_annual: false,
            },
            idempotency_key: None,
        };
        let t = tally.clone();
        store.append_with(req, move |r| {
            if let Err(e) = r {
                t.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut g) = t.first_error.lock() {
                    g.get_or_insert_with(|| e.to_string());
                }
            }
            t.done.fetch_add(1, Ordering::Release);
        })?;
        if i % 4096 == 0 {
            let acked = tally.done.load(Ordering::Acquire);
            bar.set_position(acked);
            report_acked(acked, &mut reported);
        }
    }
    while tally.done.load(Ordering::Acquire) < n {
        let acked = tally.done.load(Ordering::Acquire);
        bar.set_position(acked);
        report_acked(acked, &mut reported);
        std::thread::sleep(Duration::from_millis(2));
    }
    bar.finish_and_clear();
    // Closing is timed too: the writer folds what member-year sums it still holds
    // (and checkpoints the WAL) before it stops.
    store.close();
    let secs = started.elapsed().as_secs_f64();
    let failures = tally.failed.load(Ordering::Relaxed);
    if failures > 0 {
        bail!(
            "{failures} of {n} appends failed; first: {}",
            tally
                .first_error
                .lock()
                .ok()
                .and_then(|g| g.clone())
                .unwrap_or_default()
        );
    }
    let rate = n as f64 / secs;

    // Baseline: the same rows into a bare table (no index, no tree, no balances),
    // same durability settings, committed in batches of the sequencer's size.
    let (raw_secs, what) = match crate::database() {
        jifen_store::Database::Sqlite => (
            raw_insert(&base.join("raw.db"), n, members)?,
            "raw into a bare SQLite table",
        ),
        jifen_store::Database::Postgres(url) => (
            raw_copy(url, n, members, RAW_TABLE)?,
            "by COPY into a bare PostgreSQL table",
        ),
    };
    let raw_rate = n as f64 / raw_secs;
    println!("baseline: {n} rows {what} in {raw_secs:.2} s = {raw_rate:.0} rows/s");
    println!(
        "ratio: sequencer is {:.2}x the raw-insert time",
        secs / raw_secs
    );
    // PostgreSQL: the same COPY into a table with the ledger's own keys and indexes
    // (copied from `entries`), no sequencer: how much of the ratio the indexes take.
    if let jifen_store::Database::Postgres(url) = crate::database() {
        let floor = raw_copy(url, n, members, INDEXED_TABLE)?;
        println!(
            "indexed: {n} rows by COPY into a table with the ledger's keys and indexes (no sequencer) in {floor:.2} s = {:.2}x the raw-insert time",
            floor / raw_secs
        );
    }
    println!("ingest: {n} entries in {secs:.2} s = {rate:.0} entries/s");
    Ok(ExitCode::SUCCESS)
}

/// When standard error is not a terminal (no progress bar), says every so often how
/// many appends were acknowledged as durable, so a crash test can hold the store to it.
fn report_acked(acked: u64, reported: &mut u64) {
    use std::io::IsTerminal;
    if acked >= *reported + ACK_REPORT_EVERY_ENTRIES && !std::io::stderr().is_terminal() {
        eprintln!("acknowledged {acked} entries");
        *reported = acked;
    }
}

/// How often (in entries) the bench reports acknowledged appends.
const ACK_REPORT_EVERY_ENTRIES: u64 = 50_000;

/// The PostgreSQL baseline's table: bare, the columns of `entries`.
const RAW_TABLE: &str = "CREATE TABLE bench_raw (region TEXT NOT NULL, seq BIGINT NOT NULL, \
     time_ms BIGINT NOT NULL, kind TEXT NOT NULL, member BIGINT NOT NULL, amount BIGINT NOT NULL, \
     counter TEXT NOT NULL, indicator TEXT, indicator_version BIGINT, quantity BIGINT NOT NULL, \
     reason TEXT NOT NULL, operator BIGINT NOT NULL, reverses BIGINT, annual_delta BIGINT NOT NULL)";

/// The same columns with the ledger's primary key and indexes, taken from `entries`
/// itself so that they cannot drift from the schema.
const INDEXED_TABLE: &str = "CREATE TABLE bench_raw (LIKE entries INCLUDING INDEXES)";

/// The PostgreSQL baseline: the same rows as the sequencer writes, by `COPY` (text
/// format) into a table `create` makes (`bench_raw`, in the same database), one
/// commit per batch of the sequencer's size; the table is dropped afterwards.
fn raw_copy(url: &str, n: u64, members: u64, create: &str) -> Result<f64> {
    use std::io::Write;
    let conn = jifen_store::db::open_pg(url)?;
    let run = |pg: &mut jifen_store::sql::PgConn| -> jifen_store::Result<f64> {
        pg.client
            .batch_execute(&format!("DROP TABLE IF EXISTS bench_raw; {create}"))?;
        let started = Instant::now();
        let now = jifen_core::Clock::now(crate::clock().as_ref()).millis();
        let mut i: u64 = 0;
        let mut line = String::new();
        while i < n {
            let end = (i + jifen_store::BATCH_JOBS_MAX as u64).min(n);
            let mut w = pg
                .client
                .copy_in("COPY bench_raw FROM STDIN (FORMAT text)")?;
            while i < end {
                line.clear();
                let member = i % members + 1;
                line.push_str(&format!(
                    "bench\t{i}\t{now}\taward\t{member}\t2\tissuance\tTREE\t1\t1\tdirect:{}\t2\t\\N\t2\n",
                    i + 1
                ));
                w.write_all(line.as_bytes())
                    .map_err(|e| jifen_store::StoreError::Io {
                        path: "COPY".into(),
                        source: e,
                    })?;
                i += 1;
            }
            w.finish()?;
        }
        let secs = started.elapsed().as_secs_f64();
        pg.client.batch_execute("DROP TABLE bench_raw")?;
        Ok(secs)
    };
    Ok(conn.with_pg(run).expect("open_pg opens PostgreSQL")?)
}

fn raw_insert(path: &std::path::Path, n: u64, members: u64) -> Result<f64> {
    let db = jifen_store::db::open(path)?;
    let conn = db.as_sqlite().expect("jifen_store::db::open opens SQLite");
    conn.execute_batch(
        "CREATE TABLE raw (region TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, kind TEXT NOT NULL, \
         debit TEXT NOT NULL, credit TEXT NOT NULL, amount INTEGER NOT NULL, member INTEGER NOT NULL, indicator TEXT, \
         indicator_version INTEGER, quantity INTEGER NOT NULL, reason TEXT NOT NULL, operator INTEGER NOT NULL, \
         reverses INTEGER, annual_delta INTEGER NOT NULL)",
    )?;
    let started = Instant::now();
    let now = jifen_core::Clock::now(crate::clock().as_ref()).millis();
    let mut i: u64 = 0;
    while i < n {
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Deferred)?;
        {
            let mut st = tx.prepare_cached("INSERT INTO raw VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")?;
            let end = (i + jifen_store::BATCH_JOBS_MAX as u64).min(n);
            while i < end {
                let member = i64::try_from(i % members + 1).unwrap_or(1);
                st.execute(rusqlite::params![
                    "bench",
                    i64::try_from(i).unwrap_or(i64::MAX),
                    now,
                    "award",
                    "issuance",
                    format!("member:{member}"),
                    2,
                    member,
                    "TREE",
                    1,
                    1,
                    format!("direct:{}", i + 1),
                    2,
                    Option::<i64>::None,
                    2
                ])?;
                i += 1;
            }
        }
        tx.commit()?;
    }
    // Timed until closed, as the sequencer is: closing checkpoints what is left in
    // the WAL into the database file.
    drop(db);
    Ok(started.elapsed().as_secs_f64())
}

/// `jifen bench api`: the HTTP API end to end on loopback.
///
/// The server is the real one (`jifen_server::serve` on its own multi-threaded
/// runtime, one worker per core, as `jifen serve` runs it) on a fresh store. The
/// client is hyper's HTTP/1.1 connection API on a second runtime: one task per
/// connection, each with one request in flight, sending the next as soon as the
/// previous answer is read (a closed loop, like wrk). Both share the machine's cores.
mod api {
    use std::net::SocketAddr;
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use anyhow::{Context, Result, anyhow, bail};
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::client::conn::http1::SendRequest;
    use hyper::{Method, StatusCode};

    use crate::http::{call, connect};
    use jifen_core::{
        Caps, Claimants, Evidence, Indicator, IndicatorCode, Points, RegionCode, ReviewPolicy,
        Role, clock::parse_date,
    };
    use jifen_store::Store;
    use jifen_store::accounts::Grant;

    /// The indicator every award names: 2 points an hour, posted without review.
    const INDICATOR: &str = "VOLUNTEER";
    const USERNAME: &str = "bench-reviewer";
    /// Longest wait for any one answer, in seconds; past it the request is an error.
    const REQUEST_TIMEOUT_S: u64 = 30;
    /// Most connections the bench opens.
    const CLIENTS_MAX: usize = 4_096;

    pub struct Args {
        pub clients: usize,
        pub seconds: u64,
        pub requests: Option<u64>,
        pub members: u64,
        pub client_threads: usize,
        pub dir: Option<PathBuf>,
    }

    /// What one connection did.
    #[derive(Default)]
    struct Tally {
        /// Every answered or failed request's latency, in nanoseconds.
        latencies_ns: Vec<u64>,
        ok: u64,
        errors: u64,
        first_error: Option<String>,
    }

    impl Tally {
        fn error(&mut self, message: String) {
            self.errors += 1;
            self.first_error.get_or_insert(message);
        }
    }

    pub fn run(a: Args) -> Result<ExitCode> {
        if a.clients == 0 || a.clients > CLIENTS_MAX {
            bail!("--clients must be between 1 and {CLIENTS_MAX}");
        }
        if a.members == 0 || a.client_threads == 0 {
            bail!("--members and --client-threads must be at least 1");
        }
        if a.requests == Some(0) || (a.requests.is_none() && a.seconds == 0) {
            bail!("--requests and --seconds must be at least 1");
        }
        let tmp = super::temp_dir("api")?;
        let base = a.dir.clone().unwrap_or_else(|| tmp.0.clone());
        let (store_dir, store, region) = super::fresh_store(&base)?;
        seed(&store, &region, a.members)?;
        let password = jifen_server::auth::new_token().map_err(|e| anyhow!("{}", e.detail))?;
        let hash =
            jifen_server::auth::hash_password(&password).map_err(|e| anyhow!("{}", e.detail))?;
        let reviewer = store.create_account(None, USERNAME, "bench reviewer", Some(hash))?;
        store.grant_role(
            reviewer,
            Grant {
                region: region.clone(),
                role: Role::Reviewer,
                member: None,
                sponsor: None,
            },
        )?;
        let size_before = store.region(&region)?.size;
        let batches_before = checkpoints(&store, &region)?;

        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("jifen-server")
            .build()
            .context("starting the server's runtime")?;
        let listener = server_rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .context("listening on 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = jifen_server::AppState::new(
            store.clone(),
            jifen_store::keys::random_secret()?,
            format!("http://{addr}"),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = server_rt.spawn(jifen_server::serve(listener, state, async {
            let _ = stop_rx.await;
        }));

        let client_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(a.client_threads)
            .enable_all()
            .thread_name("jifen-bench-client")
            .build()
            .context("starting the client's runtime")?;
        let outcome = client_rt.block_on(drive(&a, addr, &region, &password));

        // Stop the server whatever the load did: the connections are closed by now.
        let _ = stop_tx.send(());
        let served = server_rt.block_on(server);
        drop(server_rt);
        let (tallies, secs) = outcome?;
        served
            .context("the server task failed")?
            .context("serving")?;

        let mut latencies: Vec<u64> = Vec::new();
        let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
        for t in tallies {
            latencies.extend_from_slice(&t.latencies_ns);
            ok += t.ok;
            errors += t.errors;
            if first_error.is_none() {
                first_error = t.first_error;
            }
        }
        latencies.sort_unstable();
        // Every request sent is counted once: either it came back 201 "posted" (ok)
        // or it is an error (another status or body, a timeout, a broken connection).
        let sent = ok + errors;
        let size_after = store.region(&region)?.size;
        let batches = checkpoints(&store, &region)? - batches_before;
        store.close();
        let logged = size_after - size_before;
        // The writer signs one checkpoint per region per batch that appended to it,
        // so the checkpoints the load added count the group commits it took.
        println!(
            "writer: {batches} group commits, {:.1} awards each on average",
            logged as f64 / batches.max(1) as f64
        );
        if let Some(e) = &first_error {
            println!("first error: {e}");
        }
        let consistent = logged == ok;
        println!(
            "check: the region's log grew by {logged} entries for {ok} successful requests: {}",
            if consistent { "equal" } else { "MISMATCH" }
        );
        if a.dir.is_some() {
            println!("store kept in {}", store_dir.display());
        }
        let rate = sent as f64 / secs;
        println!(
            "api: {sent} requests in {secs:.2} s = {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
            percentile_ms(&latencies, 500),
            percentile_ms(&latencies, 990),
        );
        Ok(if errors == 0 && consistent {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }

    /// How many checkpoints the region's log has.
    fn checkpoints(store: &Store, region: &RegionCode) -> Result<u64> {
        Ok(store.checkpoint_count(region)?)
    }

    /// Members, and the one indicator: +2 an hour, no cap, posted at once (auto review).
    pub(super) fn seed(store: &Store, region: &RegionCode, members: u64) -> Result<()> {
        store.put_indicator(Indicator {
            region: region.clone(),
            code: IndicatorCode::parse(INDICATOR).expect("valid code"),
            version: 1,
            name: "志愿服务".into(),
            category: "德治".into(),
            points: Points::new(2),
            unit: "小时".into(),
            caps: Caps::default(),
            evidence: Evidence::None,
            review: ReviewPolicy::Auto,
            claimants: Claimants::Residents,
            valid_from: parse_date("2000-01-01")?,
            valid_to: None,
            core: false,
            notice_days: 0,
        })?;
        super::seed_members(store, region, members)
    }

    /// Signs in, checks the server answers, then runs the load. Returns each
    /// connection's tally and the load's wall time in seconds.
    async fn drive(
        a: &Args,
        addr: SocketAddr,
        region: &RegionCode,
        password: &str,
    ) -> Result<(Vec<Tally>, f64)> {
        let host = addr.to_string();
        let mut setup = connect(addr).await?;
        let login = serde_json::json!({ "username": USERNAME, "password": password });
        let (status, body) = call(
            &mut setup,
            &host,
            Method::POST,
            "/api/v1/auth/login",
            None,
            None,
            Some(serde_json::to_vec(&login)?),
        )
        .await?;
        if status != StatusCode::OK {
            bail!(
                "login answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let token: serde_json::Value = serde_json::from_slice(&body).context("login answer")?;
        let token = token["token"]
            .as_str()
            .ok_or_else(|| anyhow!("login answer has no token"))?
            .to_owned();
        let bearer = format!("Bearer {token}");
        // The server answers, knows the token (and has it cached from here on).
        let (status, body) = call(
            &mut setup,
            &host,
            Method::GET,
            "/api/v1/auth/me",
            Some(&bearer),
            None,
            None,
        )
        .await?;
        if status != StatusCode::OK {
            bail!(
                "GET /api/v1/auth/me answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        drop(setup);

        let mut senders = Vec::with_capacity(a.clients);
        for _ in 0..a.clients {
            senders.push(connect(addr).await?);
        }
        println!(
            "setup: server in-process on http://{addr} ({} tokio workers, store in a fresh temp folder, \
             region {region}, {} members, indicator {INDICATOR} +2 auto-posted); client: {} keep-alive \
             HTTP/1.1 connections (hyper) on {} thread(s), one request in flight each, {}",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            a.members,
            a.clients,
            a.client_threads,
            match a.requests {
                Some(n) => format!("{n} requests"),
                None => format!("{} s", a.seconds),
            }
        );

        let path: Arc<str> = format!("/api/v1/regions/{region}/claims").into();
        let host: Arc<str> = host.into();
        let bearer: Arc<str> = bearer.into();
        // Numbers the requests: the n-th names member n mod members + 1.
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + Duration::from_secs(a.seconds);
        let mut tasks = Vec::with_capacity(a.clients);
        for sender in senders {
            let load = Load {
                addr,
                host: host.clone(),
                path: path.clone(),
                bearer: bearer.clone(),
                next: next.clone(),
                limit: a.requests,
                deadline,
                members: a.members,
            };
            tasks.push(tokio::spawn(load.run(sender)));
        }
        let mut tallies = Vec::with_capacity(tasks.len());
        for t in tasks {
            tallies.push(t.await.context("a client task failed")?);
        }
        Ok((tallies, started.elapsed().as_secs_f64()))
    }

    /// One connection's share of the load.
    struct Load {
        addr: SocketAddr,
        host: Arc<str>,
        path: Arc<str>,
        bearer: Arc<str>,
        next: Arc<AtomicU64>,
        /// With --requests: how many in all; otherwise run until `deadline`.
        limit: Option<u64>,
        deadline: Instant,
        members: u64,
    }

    impl Load {
        async fn run(self, mut sender: SendRequest<Full<Bytes>>) -> Tally {
            let mut t = Tally::default();
            loop {
                if self.limit.is_none() && Instant::now() >= self.deadline {
                    break;
                }
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                if self.limit.is_some_and(|limit| n >= limit) {
                    break;
                }
                let member = n % self.members + 1;
                let body =
                    format!(r#"{{"member":{member},"indicator":"{INDICATOR}","quantity":1}}"#);
                // Every write carries its own key, as a real client's must.
                let key = format!("bench-{n}");
                let sent_at = Instant::now();
                let answer = tokio::time::timeout(
                    Duration::from_secs(REQUEST_TIMEOUT_S),
                    call(
                        &mut sender,
                        &self.host,
                        Method::POST,
                        &self.path,
                        Some(&self.bearer),
                        Some(&key),
                        Some(body.into_bytes()),
                    ),
                )
                .await;
                let elapsed = u64::try_from(sent_at.elapsed().as_nanos()).unwrap_or(u64::MAX);
                t.latencies_ns.push(elapsed);
                match answer {
                    Ok(Ok((status, body))) => match posted(status, &body) {
                        Ok(()) => t.ok += 1,
                        Err(e) => t.error(e),
                    },
                    Ok(Err(e)) => {
                        t.error(format!("request failed: {e:#}"));
                        if !self.reconnect(&mut sender, &mut t).await {
                            break;
                        }
                    }
                    Err(_) => {
                        t.error(format!("no answer within {REQUEST_TIMEOUT_S} s"));
                        if !self.reconnect(&mut sender, &mut t).await {
                            break;
                        }
                    }
                }
            }
            t
        }

        /// A broken or stuck connection is replaced; false if that fails too.
        async fn reconnect(&self, sender: &mut SendRequest<Full<Bytes>>, t: &mut Tally) -> bool {
            match connect(self.addr).await {
                Ok(s) => {
                    *sender = s;
                    true
                }
                Err(e) => {
                    t.first_error
                        .get_or_insert_with(|| format!("reconnecting: {e:#}"));
                    false
                }
            }
        }
    }

    /// Ok when the answer is a 201 whose claim says it was posted.
    fn posted(status: StatusCode, body: &[u8]) -> Result<(), String> {
        let text = || String::from_utf8_lossy(body).into_owned();
        if status != StatusCode::CREATED {
            return Err(format!("{status}: {}", text()));
        }
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| format!("201 with a body that is not JSON ({e}): {}", text()))?;
        if v["status"] != "posted" {
            return Err(format!("201 but the claim was not posted: {}", text()));
        }
        Ok(())
    }

    /// The latency below which `permille`/1000 of the requests fell (nearest rank), in ms.
    fn percentile_ms(sorted_ns: &[u64], permille: usize) -> f64 {
        if sorted_ns.is_empty() {
            return 0.0;
        }
        let rank = (sorted_ns.len() * permille).div_ceil(1000).max(1);
        sorted_ns[rank - 1] as f64 / 1e6
    }
}
