//! jifen's storage: the embedded SQLite store, its migrations, and the writer
//! that sequences every region's log with group commit.
//!
//! Other crates use the store through its commands ([`Command`], one type per
//! act, run by [`Store::run`], [`Store::run_with`] or [`Store::run_once`]) and its
//! reads (methods of [`Store`]). ARCHITECTURE.md maps the files.
//!
//! A data folder holds `jifen.db` (SQLite, WAL) and `keys/`.

/// An item `pub` to this crate's own tests (feature `testing`) and `pub(crate)`
/// otherwise: the writer's batch and what runs inside one, which no other crate uses.
macro_rules! pub_for_tests {
    ($(#[$a:meta])* $kw:ident $($t:tt)*) => {
        #[cfg(feature = "testing")]
        $(#[$a])* pub $kw $($t)*
        #[cfg(not(feature = "testing"))]
        $(#[$a])* pub(crate) $kw $($t)*
    };
}

pub mod access;
pub mod accounts;
pub mod admin;
pub mod attributes;
mod audit;
pub mod backup;
mod command;
pub mod db;
mod error;
pub mod evaluate;
pub mod export;
pub mod find;
mod import;
mod import_csv;
pub mod keys;
pub mod market;
pub mod read;
pub mod recognition;
pub mod scores;
pub mod sql;
pub mod transfer;
mod web_reads;
pub mod whatif;
pub mod witness;
pub mod workflow;
pub mod year;

/// Modules no other crate uses: public only to this crate's own tests (the
/// `testing` feature, which its dev-dependency on itself turns on).
macro_rules! internal {
    ($($m:ident),*) => {$(
        #[cfg(feature = "testing")]
        pub mod $m;
        #[cfg(not(feature = "testing"))]
        mod $m;
    )*};
}
internal!(member_years, rows, sequencer);

/// A fresh PostgreSQL database per test, for the test suites of this and the
/// other crates (feature `testing`).
#[cfg(feature = "testing")]
pub mod testdb;

use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use jifen_core::{Clock, Entry};

#[cfg(not(feature = "testing"))]
use crate::sequencer::{Batch, Completion, Job};

pub use attributes::{Attributes, SetAttributes};
pub use command::{
    AddHousehold, AddReward, Answer, AppealDecided, CancelRedemption, CheckIn, Command,
    ConfirmRedemption, CreateAccount, CreateEvent, DecideAppeal, EndNotices, FileAppeal, Object,
    Objected, Once, PutIndicator, REVIEW_BATCH_MAX, ReviewClaim, ReviewClaims,
};
pub use error::{Result, StoreError};
pub use import::{EntryRow, ImportEntries, ImportMembers, Imported, MemberRow};
pub use import_csv::{IMPORT_ROWS_MAX, entries_from_csv, members_from_csv};
pub use read::{LogView, MemberRecord};
pub use sequencer::{Append, BATCH_JOBS_MAX};
#[cfg(feature = "testing")]
pub use sequencer::{Batch, Completion, Job};
pub use sql::{Conn, FromCol, Row, ToParam, Value};
pub use web_reads::{Activity, EventRow};

/// Where the store keeps its tables. The signing keys always live in the data folder.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// SQLite, in `jifen.db` inside the data folder (the embedded default).
    Sqlite,
    /// PostgreSQL at this URL (`postgres://user@host:port/db`).
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite => f.write_str("Sqlite"),
            // The URL may carry a password.
            Database::Postgres(_) => f.write_str("Postgres(<url>)"),
        }
    }
}

impl Database {
    /// `None` or an empty string is SQLite; a `postgres://` or `postgresql://` URL is PostgreSQL.
    pub fn from_url(url: Option<&str>) -> Result<Database> {
        match url.map(str::trim).filter(|u| !u.is_empty()) {
            None => Ok(Database::Sqlite),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Database::Postgres(u.to_owned()))
            }
            Some(_) => Err(StoreError::Unsupported(
                "a database URL must start with postgres:// (leave it out for SQLite in the data folder)"
                    .into(),
            )),
        }
    }
}

/// Most idle read connections kept open.
pub const READERS_IDLE_MAX: usize = 16;
/// The database file inside a data folder.
pub const DB_FILE: &str = "jifen.db";

struct Inner {
    dir: PathBuf,
    db_path: PathBuf,
    database: Database,
    clock: Arc<dyn Clock>,
    jobs: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Conn>>,
}

/// A handle on a data folder. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`, applies migrations and starts the writer.
    pub fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<Store> {
        Store::open_with(dir, &Database::Sqlite, clock)
    }

    /// Opens the store on `database`, with the keys in `dir/keys`; applies migrations
    /// and starts the writer. Several processes may open one PostgreSQL database.
    pub fn open_with(dir: &Path, database: &Database, clock: Arc<dyn Clock>) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let db_path = dir.join(DB_FILE);
        let conn = match database {
            Database::Sqlite => {
                let c = db::open(&db_path)?;
                db::migrate(&c)?;
                c
            }
            Database::Postgres(url) => {
                let c = db::open_pg(url)?;
                db::migrate_pg(&c)?;
                c
            }
        };
        let keys = keys::KeyDir::new(dir)?;
        let mut writer = sequencer::Writer::new(conn, keys, clock.clone());
        if let Database::Postgres(url) = database {
            writer = writer.reconnecting_to(url.clone());
        }
        let wal = (*database == Database::Sqlite).then(|| db_path.clone());
        let (jobs, handle) = sequencer::spawn(writer, wal)?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                database: database.clone(),
                db_path,
                clock,
                jobs: Mutex::new(Some(jobs)),
                writer: Mutex::new(Some(handle)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Whether `dir` holds a jifen database already.
    pub fn exists(dir: &Path) -> bool {
        dir.join(DB_FILE).is_file()
    }

    /// Where the tables are.
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub_for_tests! {
        /// Queues a job for the writer; its completion runs after the batch commits or fails.
        fn submit(&self, job: Job) -> Result<()> {
            let sender = self
                .inner
                .jobs
                .lock()
                .map_err(|_| StoreError::Closed)?
                .clone()
                .ok_or(StoreError::Closed)?;
            sender.send(job).map_err(|_| StoreError::Closed)
        }
    }

    pub_for_tests! {
        /// Runs `f` in the writer, inside a savepoint, and calls `done` with its result once
        /// the batch is durable (or with the error that stopped it).
        fn write_with<T: Send + 'static>(
            &self,
            f: impl FnOnce(&mut Batch<'_>) -> Result<T> + Send + 'static,
            done: impl FnOnce(Result<T>) + Send + 'static,
        ) -> Result<()> {
            self.submit(Job::Run(Box::new(move |b: Option<&mut Batch<'_>>| {
                let r = b.map(|b| b.savepoint(f));
                Box::new(move |commit: Result<(), &StoreError>| {
                    done(match (commit, r) {
                        (Ok(()), Some(r)) => r,
                        (Err(e), _) => Err(e.for_batch()),
                        // Not run, yet told it committed: never happens (see `run_batch`).
                        (Ok(()), None) => Err(StoreError::Commit("the write was not run".into())),
                    })
                }) as Completion
            })))
        }
    }

    pub_for_tests! {
        /// Runs `f` in the writer and waits until its batch is durable.
        fn write<T: Send + 'static>(
            &self,
            f: impl FnOnce(&mut Batch<'_>) -> Result<T> + Send + 'static,
        ) -> Result<T> {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            self.write_with(f, move |r| {
                let _ = tx.send(r);
            })?;
            rx.recv().map_err(|_| StoreError::Closed)?
        }
    }

    /// Appends one entry and calls `done` once it is durable. This path takes no
    /// savepoint: [`Batch::append`] checks everything before it writes.
    pub fn append_with(
        &self,
        req: Append,
        done: impl FnOnce(Result<Entry>) + Send + 'static,
    ) -> Result<()> {
        self.submit(Job::Append(req, Box::new(done)))
    }

    /// Appends one entry and waits until it is durable.
    pub fn append(&self, req: Append) -> Result<Entry> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.append_with(req, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    pub_for_tests! {
        /// Runs `f` on a read connection inside one read transaction (a consistent snapshot).
        fn read<T>(&self, f: impl FnOnce(&Conn) -> Result<T>) -> Result<T> {
            let pooled = {
                let mut pool = self.inner.readers.lock().map_err(|_| StoreError::Closed)?;
                // Sessions the server closed (PostgreSQL restarted) are dropped here.
                pool.retain(|c| !c.is_broken());
                pool.pop()
            };
            let conn = match pooled {
                // A pooled session may have died unnoticed: one fresh try.
                Some(c) => match c.begin_read() {
                    Ok(()) => c,
                    Err(e) if c.is_broken() => {
                        tracing::info!(error = %e, "a pooled read session was closed; opening another");
                        let c = self.open_reader()?;
                        c.begin_read()?;
                        c
                    }
                    Err(e) => return Err(e),
                },
                None => {
                    let c = self.open_reader()?;
                    c.begin_read()?;
                    c
                }
            };
            let r = f(&conn);
            let end = conn.commit();
            if end.is_ok() {
                let mut pool = self.inner.readers.lock().map_err(|_| StoreError::Closed)?;
                if pool.len() < READERS_IDLE_MAX {
                    pool.push(conn);
                }
            }
            let v = r?;
            end?;
            Ok(v)
        }
    }

    /// A new read connection.
    fn open_reader(&self) -> Result<Conn> {
        match &self.inner.database {
            Database::Sqlite => db::open(&self.inner.db_path),
            Database::Postgres(url) => db::open_pg(url),
        }
    }

    /// Stops the writer after the jobs already queued, and waits for it.
    pub fn close(&self) {
        if let Ok(mut j) = self.inner.jobs.lock() {
            j.take();
        }
        if let Ok(mut w) = self.inner.writer.lock()
            && let Some(h) = w.take()
        {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_is_postgres_or_nothing() {
        assert_eq!(Database::from_url(None).expect("none"), Database::Sqlite);
        assert_eq!(
            Database::from_url(Some(" ")).expect("empty"),
            Database::Sqlite
        );
        assert_eq!(
            Database::from_url(Some("postgres://u@h:5432/d")).expect("postgres"),
            Database::Postgres("postgres://u@h:5432/d".into())
        );
        assert!(Database::from_url(Some("mysql://u@h/d")).is_err());
        // The URL may hold a password: Debug does not show it.
        let shown = format!("{:?}", Database::Postgres("postgres://u:secret@h/d".into()));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
