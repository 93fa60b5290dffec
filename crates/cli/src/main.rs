//! `jifen`: the command line. Only CLI and glue: parsing flags, opening the
//! store, printing. The work happens in the library crates.

mod bench;
mod csvio;
mod demo;
mod drill;
mod evaluatecmd;
mod http;
mod logcmd;
mod serve;
mod yearcmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use jifen_core::{Region, RegionCode, RegionKind, ShiftedClock, SystemClock};
use jifen_store::admin::NewRegion;
use jifen_store::{Database, Store};

/// Default log origin prefix: a region's log is named `<prefix>/<region code>`.
pub const ORIGIN_PREFIX_DEFAULT: &str = "jifen.local/log";

#[derive(Parser)]
#[command(
    name = "jifen",
    version,
    about = "Community participation points (积分) with a public, verifiable ledger"
)]
struct Cli {
    /// The data folder: the database and the regions' signing keys.
    #[arg(
        long,
        global = true,
        env = "JIFEN_DATA",
        default_value = "./jifen-data"
    )]
    data: PathBuf,
    /// Keep the tables in PostgreSQL at this URL (postgres://user@host:port/db) instead
    /// of SQLite in the data folder; the signing keys stay in the data folder.
    #[arg(
        long,
        global = true,
        env = "JIFEN_DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// Run as if today were this date (YYYY-MM-DD, noon China time) or this RFC 3339
    /// instant; time then runs on from there. For reproducible demos and date tests.
    #[arg(long, global = true, env = "JIFEN_TODAY", hide = true)]
    today: Option<String>,
    /// When serving behind a TLS proxy that sets `X-Forwarded-Proto` (and drops the
    /// clients' own): believe it, so session cookies are marked `Secure`.
    #[arg(long, global = true, env = "JIFEN_TRUST_FORWARDED_PROTO")]
    trust_forwarded_proto: bool,
    /// When serving: at most this many API writes per account in any minute (429 with
    /// Retry-After past it); 0: no limit.
    #[arg(long, global = true, env = "JIFEN_ACCOUNT_WRITES_PER_MINUTE",
          default_value_t = jifen_server::throttle::ACCOUNT_WRITES_PER_MINUTE)]
    account_writes_per_minute: u32,
    #[command(subcommand)]
    command: Command,
}

/// The database every command opens, from `--database` (set once in `main`, before any
/// command runs; the subcommands' signatures stay about the data folder).
static DATABASE: std::sync::OnceLock<Database> = std::sync::OnceLock::new();

/// The clock every command runs on, from `--today` / `JIFEN_TODAY` (set once in
/// `main`); the system clock when not given.
static CLOCK: std::sync::OnceLock<Arc<dyn jifen_core::Clock>> = std::sync::OnceLock::new();

/// The process's clock: the system's, or the one `JIFEN_TODAY` shifted.
pub fn clock() -> Arc<dyn jifen_core::Clock> {
    CLOCK.get_or_init(|| Arc::new(SystemClock)).clone()
}

/// `--trust-forwarded-proto`, set once in `main`.
static TRUST_FORWARDED_PROTO: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether `jifen serve` believes a proxy's `X-Forwarded-Proto`.
pub fn trust_forwarded_proto() -> bool {
    TRUST_FORWARDED_PROTO.load(std::sync::atomic::Ordering::Relaxed)
}

/// `--account-writes-per-minute`, set once in `main`.
static ACCOUNT_WRITES_PER_MINUTE: std::sync::atomic::AtomicU32 =
    std::sync::atomic::AtomicU32::new(jifen_server::throttle::ACCOUNT_WRITES_PER_MINUTE);

/// `jifen serve`'s limit of API writes per account per minute (0: none).
pub fn account_writes_per_minute() -> u32 {
    ACCOUNT_WRITES_PER_MINUTE.load(std::sync::atomic::Ordering::Relaxed)
}

/// The database `--database` chose (SQLite in the data folder when not given).
pub fn database() -> &'static Database {
    DATABASE.get_or_init(|| Database::Sqlite)
}

/// Opens (creating if needed) the store: the tables where `--database` says, the keys in `data`.
pub fn open_store(data: &std::path::Path, clock: Arc<dyn jifen_core::Clock>) -> Result<Store> {
    Store::open_with(data, database(), clock).with_context(|| match database() {
        Database::Sqlite => format!("opening {}", data.display()),
        Database::Postgres(_) => "opening the PostgreSQL database".to_owned(),
    })
}

#[derive(Subcommand)]
enum WitnessCommand {
    /// Print the witness's verifier key under NAME (making its key on first use): what
    /// a log's operator names it by.
    Vkey {
        /// The witness's key name, as given to `jifen serve --witness-name`.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Create a region (and the data folder, if new) with its signing key.
    Init {
        /// Region code: lowercase letters, digits and '-'.
        #[arg(long)]
        region: String,
        /// Region name, e.g. 高桥村.
        #[arg(long)]
        name: String,
        /// city, district, town, village or community.
        #[arg(long, default_value = "village")]
        kind: String,
        /// Parent region code, for the 10+X inheritance of core indicators.
        #[arg(long)]
        parent: Option<String>,
        /// The log origin is <prefix>/<region>.
        #[arg(long, default_value = ORIGIN_PREFIX_DEFAULT)]
        origin_prefix: String,
    },
    /// Seed demo regions modelled on the Tongxiang and Shenzhen pilots, with last year (closed) and this year up to today.
    Demo(demo::DemoArgs),
    /// Serve the HTTP API (and the live log) on the data folder.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        witness: serve::WitnessArgs,
    },
    /// This server as a witness of other logs: its verifier key.
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// List regions, one a line, code first.
    Regions,
    /// Offline audit: rebuild every tree, check every signature, balance and sum.
    Verify {
        /// Require cosignatures by this witness (its cosignature/v1 vkey) on each
        /// region's latest checkpoint. Repeat for each witness.
        #[arg(long = "witness", value_name = "VKEY")]
        witnesses: Vec<String>,
        /// How many of the --witness keys must have cosigned (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// The transparency log: publish, verifier keys, receipts.
    #[command(subcommand)]
    Log(logcmd::LogCommand),
    /// Import members or entries from CSV (all rows or none).
    Import(csvio::ImportArgs),
    /// Export members or entries as CSV.
    Export(csvio::ExportArgs),
    /// The yearly cycle: close a year, read a closed year's report.
    #[command(subcommand)]
    Year(yearcmd::YearCommand),
    /// Evaluate a region's year: participation, inequality (Gini, Lorenz, top 10 %),
    /// indicators and categories by age band, residence and household size,
    /// deductions, reviewers, appeals, the budget, and warnings. Aggregates only.
    Evaluate(evaluatecmd::EvaluateArgs),
    /// Back the data folder up into one file while the server runs: the database
    /// (SQLite) and the keys. On PostgreSQL the file holds the keys; pg_dump the tables.
    Backup {
        /// The backup file to write; it must not exist.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into an empty data folder (--data). Each region then takes no
    /// write until `jifen log resume` shows it the old server's latest checkpoint.
    Restore {
        /// The backup file (from `jifen backup`).
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Fault drills under HTTP load (SIGKILL of the server, restart of PostgreSQL),
    /// repeated; each checks that no acknowledged write is lost. Prints the counts.
    Drill(drill::DrillArgs),
    /// Benchmarks (programs that print their figures).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match Database::from_url(cli.database.as_deref()) {
        Ok(db) => {
            let _ = DATABASE.set(db);
        }
        Err(e) => {
            eprintln!("jifen: --database: {e}");
            return ExitCode::FAILURE;
        }
    }
    TRUST_FORWARDED_PROTO.store(
        cli.trust_forwarded_proto,
        std::sync::atomic::Ordering::Relaxed,
    );
    ACCOUNT_WRITES_PER_MINUTE.store(
        cli.account_writes_per_minute,
        std::sync::atomic::Ordering::Relaxed,
    );
    if let Some(today) = cli.today.as_deref() {
        match jifen_core::clock::parse_today(today, jifen_core::clock::CHINA_OFFSET_MINUTES) {
            Ok(at) => {
                let _ = CLOCK.set(Arc::new(ShiftedClock::starting_at(at)));
            }
            Err(e) => {
                eprintln!("jifen: --today (JIFEN_TODAY): {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("jifen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store in an existing data folder.
pub fn open_existing(data: &std::path::Path) -> Result<Store> {
    if *database() == Database::Sqlite && !Store::exists(data) {
        bail!(
            "{} holds no jifen data; run `jifen init` or `jifen demo` first, or pass --data",
            data.display()
        );
    }
    open_store(data, clock())
}

/// Parses `--witness` verifier keys (cosignature/v1).
pub fn witness_verifiers(vkeys: &[String]) -> Result<Vec<jifen_log::CosignatureVerifier>> {
    let mut out: Vec<jifen_log::CosignatureVerifier> = Vec::new();
    for v in vkeys {
        let key = jifen_log::CosignatureVerifier::from_vkey(v.trim())
            .map_err(|e| anyhow::anyhow!("--witness {v:?}: {e}"))?;
        let public =
            |k: &jifen_log::CosignatureVerifier| k.vkey().rsplit('+').next().map(str::to_owned);
        if out
            .iter()
            .any(|o| o.name() == key.name() || public(o) == public(&key))
        {
            bail!(
                "--witness {v:?}: that witness (its name or its key) is given twice; each counts once toward --quorum"
            );
        }
        out.push(key);
    }
    Ok(out)
}

pub fn parse_region(s: &str) -> Result<RegionCode> {
    RegionCode::parse(s).map_err(|e| anyhow::anyhow!("--region: {e}"))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init {
            region,
            name,
            kind,
            parent,
            origin_prefix,
        } => {
            let code = parse_region(&region)?;
            let kind = RegionKind::parse(&kind)?;
            let parent = parent
                .as_deref()
                .map(RegionCode::parse)
                .transpose()
                .context("--parent")?;
            let region = Region::new(code.clone(), &name, kind, parent).context("--name")?;
            let store = open_store(&cli.data, clock())?;
            let vkey = store.create_region(NewRegion {
                region,
                origin_prefix,
            })?;
            store.close();
            println!("created region {code} in {}", cli.data.display());
            println!("verifier key: {vkey}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo::run(&cli.data, args),
        Command::Witness(WitnessCommand::Vkey { name }) => {
            println!("{}", serve::cosigner(&cli.data, &name)?.vkey());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { listen, witness } => {
            let store = open_existing(&cli.data)?;
            serve::serve(&cli.data, store, listen, &witness, |url| {
                println!(
                    "jifen serving {} on {url} (API docs: {url}/api/docs); Ctrl-C stops",
                    cli.data.display()
                );
            })
        }
        Command::Regions => {
            let store = open_existing(&cli.data)?;
            for r in store.regions()? {
                println!(
                    "{}\t{}\t{}\tparent={}\tmembers={}\tentries={}",
                    r.region.code,
                    r.region.name,
                    r.region.kind.as_str(),
                    r.region.parent.as_ref().map_or("-", |p| p.as_str()),
                    r.members,
                    r.size
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { witnesses, quorum } => {
            let witnesses = witness_verifiers(&witnesses)?;
            let quorum = quorum.unwrap_or(witnesses.len());
            if quorum > witnesses.len() {
                bail!(
                    "--quorum {quorum} is more than the {} --witness keys given",
                    witnesses.len()
                );
            }
            let store = open_existing(&cli.data)?;
            let started = std::time::Instant::now();
            match store
                .audit(|_, _| {})
                .and_then(|r| store.audit_witnesses(&witnesses, quorum).map(|w| (r, w)))
                .and_then(|(r, w)| store.audit_transfers().map(|t| (r, w, t)))
            {
                Ok((regions, witnessed, transfers)) => {
                    for r in &regions {
                        println!(
                            "ok {}: {} entries, {} checkpoints, {} members, outstanding {} points",
                            r.region, r.entries, r.checkpoints, r.members, r.outstanding
                        );
                    }
                    for w in &witnessed {
                        if w.named == 0 && w.on_record == 0 && w.unchecked == 0 {
                            continue;
                        }
                        println!(
                            "ok {}: the latest checkpoint ({} entries) is cosigned by {} of the witnesses required ({}); {} cosignatures on record verified{}",
                            w.region,
                            w.size,
                            w.cosigned_by.len(),
                            if w.cosigned_by.is_empty() {
                                "none".to_owned()
                            } else {
                                w.cosigned_by.join(", ")
                            },
                            w.on_record,
                            if w.unchecked > 0 {
                                format!(
                                    ", {} by witnesses no longer named and not given (not checked)",
                                    w.unchecked
                                )
                            } else {
                                String::new()
                            }
                        );
                    }
                    for t in transfers.iter().filter(|t| t.out + t.taken_in > 0) {
                        println!(
                            "ok {}: {} transfers out and {} transfers in, each with its entry; each statement taken checks against its agreement's key",
                            t.region, t.out, t.taken_in
                        );
                    }
                    println!(
                        "verified {} regions in {:.2} s: trees, tiles, signatures, consistency, balances and sums all hold",
                        regions.len(),
                        started.elapsed().as_secs_f64()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Log(cmd) => logcmd::run(&cli.data, cmd),
        Command::Import(args) => csvio::import(&cli.data, args),
        Command::Export(args) => csvio::export(&cli.data, args),
        Command::Year(cmd) => yearcmd::run(&cli.data, cmd),
        Command::Evaluate(args) => evaluatecmd::run(&cli.data, args),
        Command::Backup { out } => {
            let summary = jifen_store::backup::backup(&cli.data, database(), &out)
                .with_context(|| format!("backing up {}", cli.data.display()))?;
            if summary.tables {
                println!(
                    "backed up {} (the database and {} key files) to {}: {} bytes",
                    cli.data.display(),
                    summary.key_files,
                    out.display(),
                    summary.bytes
                );
            } else {
                println!(
                    "backed up the {} key files of {} to {}; the tables are in PostgreSQL: \
                     pg_dump --format=custom --file=jifen.pgdump <database> (see README, Operating jifen)",
                    summary.key_files,
                    cli.data.display(),
                    out.display()
                );
            }
            println!("the backup holds the regions' signing keys: keep it as safe as the keys");
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { from } => {
            let summary = jifen_store::backup::restore(&from, &cli.data, database(), clock())
                .with_context(|| {
                    format!("restoring {} into {}", from.display(), cli.data.display())
                })?;
            for (region, size) in &summary.regions {
                println!(
                    "restored {region} at {size} entries; it takes no write until `jifen log resume --region {region} --checkpoint FILE` shows it the old server's latest checkpoint"
                );
            }
            println!(
                "restored {} regions and {} key files into {}",
                summary.regions.len(),
                summary.key_files,
                cli.data.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Drill(args) => drill::run(args),
        Command::Bench(cmd) => bench::run(cmd),
    }
}
