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
    Source, SystemClock, clock::parse_date,
};
use jifen_store::admin::{NewMember, NewRegion, insert_household, insert_member};
use jifen_store::{Append, Store};

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
}

pub fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest {
            entries,
            members,
            dir,
        } => ingest(entries, members, dir),
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

fn ingest(n: u64, members: u64, dir: Option<PathBuf>) -> Result<ExitCode> {
    if n == 0 || members == 0 {
        bail!("--entries and --members must be at least 1");
    }
    let tmp = temp_dir("ingest")?;
    let base = dir.unwrap_or_else(|| tmp.0.clone());
    let store_dir = base.join("store");
    if store_dir.exists() {
        bail!("{} exists; bench needs a fresh folder", store_dir.display());
    }
    let store = Store::open(&store_dir, Arc::new(SystemClock))?;
    let region = RegionCode::parse("bench").expect("valid code");
    store.create_region(NewRegion {
        region: Region::new(region.clone(), "bench", RegionKind::Village, None)?,
        origin_prefix: crate::ORIGIN_PREFIX_DEFAULT.into(),
    })?;
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
            per_year: Some(100),
        },
        evidence: Evidence::None,
        review: ReviewPolicy::One,
        claimants: Claimants::Residents,
        valid_from: parse_date("2000-01-01")?,
        valid_to: None,
        core: false,
        notice_days: 0,
    })?;
    let r2 = region.clone();
    store.write(move |b| {
        let now = b.now().millis();
        for h in 1..=members.div_ceil(4) {
            insert_household(
                b.conn(),
                &r2,
                HouseholdId::new(i64::try_from(h).unwrap_or(i64::MAX)).ok(),
                "户",
            )?;
        }
        for m in 1..=members {
            let id = i64::try_from(m).unwrap_or(i64::MAX);
            insert_member(
                b.conn(),
                &NewMember {
                    region: r2.clone(),
                    id: MemberId::new(id).ok(),
                    household: HouseholdId::new((id - 1) / 4 + 1).expect("positive"),
                    name: "居民".into(),
                },
                now,
            )?;
        }
        Ok(())
    })?;
    eprintln!(
        "store ready in {}: {members} members; posting {n} awards",
        store_dir.display()
    );

    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
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
        let (d, f, fe) = (done.clone(), failed.clone(), first_error.clone());
        store.append_with(req, move |r| {
            if let Err(e) = r {
                f.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut g) = fe.lock() {
                    g.get_or_insert_with(|| e.to_string());
                }
            }
            d.fetch_add(1, Ordering::Release);
        })?;
        if i % 4096 == 0 {
            let acked = done.load(Ordering::Acquire);
            bar.set_position(acked);
            report_acked(acked, &mut reported);
        }
    }
    while done.load(Ordering::Acquire) < n {
        let acked = done.load(Ordering::Acquire);
        bar.set_position(acked);
        report_acked(acked, &mut reported);
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    store.close();
    let failures = failed.load(Ordering::Relaxed);
    if failures > 0 {
        bail!(
            "{failures} of {n} appends failed; first: {}",
            first_error
                .lock()
                .ok()
                .and_then(|g| g.clone())
                .unwrap_or_default()
        );
    }
    let rate = n as f64 / secs;

    // Baseline: the same rows into a bare table (no index, no tree, no balances),
    // same durability settings, committed in batches of the sequencer's size.
    let raw_path = base.join("raw.db");
    let raw_secs = raw_insert(&raw_path, n, members)?;
    let raw_rate = n as f64 / raw_secs;
    println!(
        "baseline: {n} rows raw into a bare SQLite table in {raw_secs:.2} s = {raw_rate:.0} rows/s"
    );
    println!(
        "ratio: sequencer is {:.2}x the raw-insert time",
        secs / raw_secs
    );
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

fn raw_insert(path: &std::path::Path, n: u64, members: u64) -> Result<f64> {
    let mut conn = jifen_store::db::open(path)?;
    conn.execute_batch(
        "CREATE TABLE raw (region TEXT NOT NULL, seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, kind TEXT NOT NULL, \
         debit TEXT NOT NULL, credit TEXT NOT NULL, amount INTEGER NOT NULL, member INTEGER NOT NULL, indicator TEXT, \
         indicator_version INTEGER, quantity INTEGER NOT NULL, reason TEXT NOT NULL, operator INTEGER NOT NULL, \
         reverses INTEGER, annual_delta INTEGER NOT NULL)",
    )?;
    let started = Instant::now();
    let now = jifen_core::Clock::now(&SystemClock).millis();
    let mut i: u64 = 0;
    while i < n {
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached("INSERT INTO raw VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")?;
            let end = (i + jifen_store::sequencer::BATCH_JOBS_MAX as u64).min(n);
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
    Ok(started.elapsed().as_secs_f64())
}
