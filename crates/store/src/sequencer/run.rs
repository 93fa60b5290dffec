//! The writer thread: its state ([`Writer`]), its loop that takes jobs from the
//! queue in batches and commits them, and [`spawn`], which starts it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError};

use rustc_hash::FxHashMap;

use jifen_core::{Clock, RegionCode};

use super::ahead::{Ahead, check_ahead};
use super::batch::Batch;
use super::job::{Ack, Completion, Job};
use super::region::RegionState;
use super::threads::checkpointer;
use super::{BATCH_JOBS_MAX, CAP_CACHE_MAX, QUEUE_JOBS_MAX};
use crate::error::{Result, StoreError};
use crate::keys::KeyDir;
use crate::sql::{Conn, Kind};

/// The writer thread's state.
pub(crate) struct Writer {
    conn: Conn,
    keys: KeyDir,
    clock: Arc<dyn Clock>,
    states: FxHashMap<RegionCode, RegionState>,
    indicators_seen: Option<i64>,
    /// Where committed batches' replies go (see [`Writer::run`]); `None` before the
    /// writer runs, or when that thread could not start: then the thread that
    /// committed the batch sends them.
    acker: Option<Sender<Acks>>,
    /// PostgreSQL: where to open a new session when the server closed this one.
    reconnect: Option<String>,
}

/// How long a batch waits for the database to come back before it fails.
const RECONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
const RECONNECT_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// A committed batch's replies.
type Acks = Vec<Ack>;

/// Answers the jobs of a committed batch.
fn acknowledge(acks: Vec<Ack>) {
    for a in acks {
        a.call(Ok(()));
    }
}

impl Writer {
    pub(crate) fn new(conn: Conn, keys: KeyDir, clock: Arc<dyn Clock>) -> Self {
        Writer {
            conn,
            keys,
            clock,
            states: FxHashMap::default(),
            indicators_seen: None,
            acker: None,
            reconnect: None,
        }
    }

    /// On PostgreSQL: open a new session at `url` when the server closes the writer's
    /// (a restart). Batches in between fail and are not acknowledged.
    pub(crate) fn reconnecting_to(mut self, url: String) -> Self {
        self.reconnect = Some(url);
        self
    }

    /// Replaces a session the server closed. What a failed or unknown commit left in
    /// memory is dropped: the next batch reloads each region from what is committed.
    fn reconnect_if_broken(&mut self) {
        let Some(url) = &self.reconnect else {
            return;
        };
        if !self.conn.is_broken() {
            return;
        }
        // A restart takes seconds: the batch waits that long, then fails if it must.
        let until = std::time::Instant::now() + RECONNECT_WAIT;
        loop {
            match crate::db::open_pg(url) {
                Ok(c) => {
                    tracing::warn!("the database closed the writer's session; reconnected");
                    self.conn = c;
                    self.states.clear();
                    self.indicators_seen = None;
                    return;
                }
                Err(e) if std::time::Instant::now() >= until => {
                    tracing::error!(error = %e, "the database is unreachable; this batch fails, the next tries again");
                    return;
                }
                Err(_) => std::thread::sleep(RECONNECT_PAUSE),
            }
        }
    }

    pub(crate) fn run(mut self, rx: Receiver<Job>, wal_db: Option<std::path::PathBuf>) {
        // SQLite: checkpointing the WAL into the database file runs on its own thread and
        // connection, off the writer's path, so a commit is only an append and an fsync.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpointer = wal_db.and_then(|db_path| {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("jifen-checkpointer".into())
                .spawn(move || checkpointer(&db_path, &stop))
                .ok()
        });
        if checkpointer.is_some()
            && let Some(c) = self.conn.as_sqlite()
            && let Err(e) = c.pragma_update(None, "wal_autocheckpoint", 0)
        {
            tracing::warn!(error = %e, "cannot turn off automatic checkpoints");
        }
        // A committed batch's replies go out on a thread of their own, so the writer
        // goes on to the next batch. The
        // queue is unbounded so that the writer never waits for it: a reply that
        // submits a job (and waits while the job queue is full) cannot stall it.
        let (acks_tx, acks_rx) = std::sync::mpsc::channel::<Acks>();
        let acker = std::thread::Builder::new()
            .name("jifen-acker".into())
            .spawn(move || {
                for acks in acks_rx {
                    acknowledge(acks);
                }
            })
            .ok();
        self.acker = acker.is_some().then_some(acks_tx);
        // SQLite has one writer, this one: while a batch commits, the next can be
        // checked from memory. (On PostgreSQL a region's state is only known under
        // its lock, which the batch's own transaction takes.)
        let pipeline = (self.conn.kind() == Kind::Sqlite).then_some(&rx);
        let mut batches: u64 = 0;
        let mut ahead: Option<Ahead> = None;
        loop {
            let (mut jobs, early) = match ahead.take() {
                Some(mut a) => (std::mem::take(&mut a.rest), Some(a)),
                None => match rx.recv() {
                    Ok(first) => {
                        let mut jobs = Vec::with_capacity(rx_len_hint());
                        jobs.push(first);
                        (jobs, None)
                    }
                    Err(_) => break,
                },
            };
            let taken = early.as_ref().map_or(0, |a| a.acks.len());
            while taken + jobs.len() < BATCH_JOBS_MAX {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            ahead = self.run_batch(jobs, early, pipeline);
            batches += 1;
            if batches.is_multiple_of(WAL_CHECK_EVERY_BATCHES) {
                self.bound_wal();
            }
        }
        // What is still unfolded goes in before stopping, so the next start reads no tail.
        if self.states.values().any(|s| s.folded < s.appender.size()) {
            let fold = Job::Run(Box::new(|b: Option<&mut Batch<'_>>| {
                if let Some(b) = b
                    && let Err(e) = b.savepoint(Batch::fold_all)
                {
                    tracing::warn!(error = %e, "folding member years on stop failed");
                }
                Box::new(|_: Result<(), &StoreError>| {}) as Completion
            }));
            self.run_batch(vec![fold], None, None);
        }
        // Every reply is out before the writer stops.
        self.acker = None;
        if let Some(h) = acker {
            let _ = h.join();
        }
        stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(h) = checkpointer {
            let _ = h.join();
        }
        if let Some(c) = self.conn.as_sqlite()
            && let Err(e) = c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        {
            tracing::warn!(error = %e, "final checkpoint failed");
        }
        tracing::debug!("writer stopped: all senders gone");
    }

    /// If the background checkpointer falls behind (it can only copy what no
    /// reader still needs), the writer waits for a full checkpoint itself.
    fn bound_wal(&mut self) {
        let Some(conn) = self.conn.as_sqlite() else {
            return;
        };
        let pages: i64 = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap_or(0);
        if pages > WAL_PAGES_MAX
            && let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(RESTART)")
        {
            tracing::warn!(error = %e, "WAL restart checkpoint failed");
        }
    }

    /// Runs one batch: `early`'s appends (checked while the batch before committed),
    /// then `jobs`, in one transaction. With `pipeline` (SQLite), the commit runs on
    /// a second thread while this one checks the jobs queued behind; what it checked
    /// is returned, to start the next batch with. Once committed, the batch's signed
    /// checkpoints and replies go to the acknowledging thread. A batch that fails rolls back, and so fails what
    /// was checked ahead on top of it (the jobs it could not check run next).
    fn run_batch(
        &mut self,
        jobs: Vec<Job>,
        early: Option<Ahead>,
        pipeline: Option<&Receiver<Job>>,
    ) -> Option<Ahead> {
        self.reconnect_if_broken();
        let (now, pending, mut completions) = match early {
            Some(a) => (a.now, a.pending, a.acks),
            None => (
                self.clock.now(),
                Vec::with_capacity(jobs.len()),
                Vec::with_capacity(jobs.len()),
            ),
        };
        let Writer {
            conn,
            keys,
            clock,
            states,
            indicators_seen,
            acker,
            reconnect: _,
        } = self;
        if let Err(e) = conn.begin_write() {
            tracing::error!(error = %e, "cannot begin a write transaction");
            // What was sequenced ahead will not be written: start again from the store.
            states.clear();
            // Every job is told, none run.
            completions.extend(jobs.into_iter().map(|job| match job {
                Job::Append(_, done) => Ack::Append(Err(e.for_batch()), done),
                Job::Run(f) => Ack::Run(f(None)),
            }));
            fail(completions, &e);
            return None;
        }
        let tx = &*conn;
        let outcome = {
            let mut batch = Batch {
                tx,
                states,
                keys,
                now,
                pending,
                pending_keys: HashMap::new(),
                poisoned: None,
                savepoint_depth: 0,
                moved: FxHashMap::default(),
                moved_upto: 0,
                locked: Vec::new(),
                folds: Vec::new(),
                indicators_seen,
                indicators_checked: false,
            };
            for job in jobs {
                completions.push(match job {
                    Job::Append(req, done) => Ack::Append(batch.append(req), done),
                    Job::Run(f) => Ack::Run(f(Some(&mut batch))),
                });
            }
            let r = batch.finish();
            if let Ok(signed) = &r {
                // Remember the new checkpoints once committed.
                for (region, _, cp) in signed {
                    if let Some(s) = batch.states.get_mut(region) {
                        s.last = cp.clone();
                    }
                }
            }
            r
        };
        let signed = match outcome {
            Ok(signed) => signed,
            Err(e) => {
                if let Err(re) = tx.rollback() {
                    tracing::debug!(error = %re, "rollback after a failed batch");
                }
                tracing::error!(error = %e, "batch rolled back");
                // The in-memory trees may have advanced: reload from what is committed.
                states.clear();
                fail(completions, &e);
                return None;
            }
        };
        // Caches are bounded between batches, never inside one (see `cap_used`), and
        // before checking ahead: a miss must never hide units pending in memory.
        for s in states.values_mut() {
            if s.cap_used.len() > CAP_CACHE_MAX {
                s.cap_used.clear();
                s.cap_loaded.clear();
            }
        }
        let keys = &*keys;
        let acker = acker.as_ref();
        let commit = move || -> Result<()> {
            let committed = conn.commit();
            match &committed {
                Ok(()) => {
                    // The fork guard's record, before anything else: what readers may
                    // publish is committed, and the record must not lag behind it.
                    for (region, note, _) in &signed {
                        if let Err(e) = keys.record_signed(region.as_str(), note) {
                            tracing::warn!(error = %e, region = %region, "could not record the last signed checkpoint");
                        }
                    }
                    let unsent = match acker {
                        Some(a) => a.send(completions).err().map(|e| e.0),
                        None => Some(completions),
                    };
                    if let Some(completions) = unsent {
                        acknowledge(completions);
                    }
                }
                Err(e) => {
                    if let Err(re) = conn.rollback() {
                        tracing::debug!(error = %re, "rollback after a failed commit");
                    }
                    tracing::error!(error = %e, "batch did not commit");
                    fail(completions, e);
                }
            }
            committed
        };
        let (committed, next) = match pipeline {
            Some(rx) => std::thread::scope(|s| {
                let committing = s.spawn(commit);
                let next = check_ahead(states, rx, clock.now());
                let committed = committing
                    .join()
                    .unwrap_or_else(|_| Err(StoreError::Commit("the commit panicked".into())));
                (committed, next)
            }),
            None => (commit(), None),
        };
        let Err(e) = committed else {
            return next;
        };
        // The in-memory trees advanced: reload from what is committed. What was
        // checked ahead sat on top of the failed batch, so it fails with it.
        states.clear();
        let next = next?;
        fail(next.acks, &e);
        (!next.rest.is_empty()).then(|| Ahead {
            now: clock.now(),
            pending: Vec::new(),
            acks: Vec::new(),
            rest: next.rest,
        })
    }
}

/// Tells every job of a batch that did not commit why.
fn fail(acks: Vec<Ack>, e: &StoreError) {
    let e = e.for_batch();
    for a in acks {
        a.call(Err(&e));
    }
}

/// A first guess at a batch's size; the vector grows if the queue holds more.
fn rx_len_hint() -> usize {
    1024
}

/// How often (in batches) the writer looks at the WAL's size.
const WAL_CHECK_EVERY_BATCHES: u64 = 64;
/// WAL size, in pages, beyond which the writer checkpoints in full itself.
const WAL_PAGES_MAX: i64 = 262_144;

/// Starts the writer thread; jobs sent on the returned channel run in batches.
pub(crate) fn spawn(
    writer: Writer,
    wal_db: Option<std::path::PathBuf>,
) -> Result<(SyncSender<Job>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(QUEUE_JOBS_MAX);
    let handle = std::thread::Builder::new()
        .name("jifen-writer".into())
        .spawn(move || writer.run(rx, wal_db))
        .map_err(|e| StoreError::Io {
            path: "writer thread".into(),
            source: e,
        })?;
    Ok((tx, handle))
}
