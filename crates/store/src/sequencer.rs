//! The writer: one thread owns the only write connection and runs every write
//! as part of a batch (group commit). Within a batch, each region's sequencer
//! gives entries their sequence numbers; then, in the same transaction, the
//! batch writes the entries' balances, the new tree tiles and a freshly signed
//! checkpoint per region, and commits once. Replies go out only after the
//! commit is on disk, so an acknowledged write is durable, and a crash at any
//! point leaves either all of a batch or none of it.
//!
//! SQLite allows one writer at a time, so one thread hosts the sequencers of all
//! regions; each region still has its own tree, sequence and checkpoints. While a
//! batch commits (on a second thread), the writer checks the appends queued
//! behind it from memory, to start the next batch with (`check_ahead`).

use std::collections::{BTreeSet, HashMap};

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError};

use jifen_core::{
    Account, CapPeriod, Caps, Clock, Commitment, Entry, EntryKind, Indicator, MemberId, NewEntry,
    Points, PublicLeaf, RegionCode, RegionTree, Source, Timestamp, indicator::visible_indicators,
};
use jifen_log::{Appender, Checkpoint, NoteSigner, NoteVerifier};

use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::keys::KeyDir;
use crate::member_years::{self, FOLD_ENTRIES_MAX, FOLD_INLINE_BELOW};
use crate::params;
use crate::rows::{self, SqlTiles};
use crate::sql::{Conn, Kind};

/// Most jobs one batch takes from the queue.
pub const BATCH_JOBS_MAX: usize = 8_192;
/// Most jobs waiting in the queue; submitters block beyond it (backpressure).
pub const QUEUE_JOBS_MAX: usize = 16_384;
/// Most members whose commitments a region's sequencer keeps in memory.
pub const MEMBER_CACHE_MAX: usize = 1_000_000;
/// A cap counter: member, indicator code, period kind and the period's number.
type CapKey = (MemberId, Arc<str>, CapPeriod, i32);

/// Batches with at least this many entries of a region hash their leaves on a second thread.
const PARALLEL_HASH_ENTRIES_MIN: usize = 256;
/// Most rows one bulk read of a period's cap counts may bring back.
const CAP_BULK_ROWS_MAX: usize = 200_000;
/// Largest log (entries) whose cap counts are read for all members at once: the
/// read scans the period's awards, which must stay cheap.
const CAP_BULK_TREE_ENTRIES_MAX: u64 = 100_000;
/// Most members read in one query when a region's sequencer first needs one.
const MEMBER_BULK_MAX: usize = 200_000;
/// Most cap counters a region's sequencer keeps in memory.
pub const CAP_CACHE_MAX: usize = 2_000_000;
/// Longest idempotency key, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// What a job reports once its batch committed (`Ok`) or failed (`Err`).
pub type Completion = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;
/// A unit of work run inside a batch's transaction.
pub enum Job {
    /// One append, checked without a savepoint ([`Batch::append`] writes nothing it
    /// refuses); `done` gets the entry once the batch is durable. Unboxed: the queue
    /// carries it by value, so the common path allocates no job and no completion.
    Append(Append, Done),
    /// Anything else, run inside the batch's transaction.
    Run(Box<dyn FnOnce(&mut Batch<'_>) -> Completion + Send>),
}

/// What an appender is told once its batch has ended.
pub type Done = Box<dyn FnOnce(Result<Entry>) + Send>;

/// A job's part once the batch has ended.
enum Ack {
    Append(Result<Entry>, Done),
    Run(Completion),
}

impl Ack {
    /// Answers the job. A completion that panics is logged and goes no further: the
    /// other jobs of its batch, and of the batches after it, are answered still.
    fn call(self, commit: Result<(), &StoreError>) {
        let answered =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(commit)));
        if answered.is_err() {
            tracing::error!("a write's completion panicked");
        }
    }

    fn answer(self, commit: Result<(), &StoreError>) {
        match self {
            Ack::Append(r, done) => done(match commit {
                Ok(()) => r,
                Err(e) => Err(e.for_batch()),
            }),
            Ack::Run(c) => c(commit),
        }
    }
}

/// A request to append one entry.
#[derive(Debug, Clone)]
pub struct Append {
    pub region: RegionCode,
    pub entry: NewEntry,
    /// A client's idempotency key: a retry with the same key returns the first entry.
    pub idempotency_key: Option<String>,
}

/// The in-memory state of one region's sequencer: what is committed, plus the
/// entries pending in the current batch (or checked ahead for the next one).
struct RegionState {
    origin: String,
    offset_minutes: i32,
    appender: Appender,
    last: Checkpoint,
    signer: NoteSigner,
    /// Every version of every indicator the region sees (its own and inherited core ones),
    /// by code (kept once, shared by the cap counters), then version.
    indicators: FxHashMap<String, (Arc<str>, FxHashMap<u32, Indicator>)>,
    /// Commitments of members known to exist.
    members: FxHashMap<MemberId, [u8; 32]>,
    /// Whether `members` was filled with all of the region's members in one query
    /// (a miss after that is a member created since, looked up alone).
    members_loaded: bool,
    /// Units counted against caps: derived from the committed entries on a miss, then
    /// kept up to date by the appends, pending ones included. Never cleared inside a
    /// batch, so a miss means no pending entry counts towards that key.
    cap_used: FxHashMap<CapKey, u64>,
    /// (indicator, period kind, period number) whose committed counts for every member
    /// were read into `cap_used` in one query: a miss on such a key counts zero.
    cap_loaded: FxHashSet<(Arc<str>, CapPeriod, i32)>,
    /// The local date at the batch time it was last computed for.
    today: Option<(Timestamp, time::Date)>,
    /// Next sequence number: tree size plus entries pending in the current batch (or
    /// checked ahead for the next).
    next_seq: u64,
    /// `member_years` holds the entries before this one (as committed).
    folded: u64,
    /// Member-year sums of the committed entries from `folded` on, not yet in `member_years`.
    unfolded: member_years::YearSums,
}

impl RegionState {
    fn load(conn: &Conn, keys: &KeyDir, region: &RegionCode) -> Result<Self> {
        let (origin, offset_minutes, vkey): (String, i32, String) = conn
            .query_opt(
                "SELECT origin, utc_offset_minutes, vkey FROM regions WHERE region = ?1",
                params![region.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
        let signer = NoteSigner::new(&origin, keys.load(region.as_str())?)?;
        if signer.vkey() != vkey {
            return Err(StoreError::Corrupt(format!(
                "region {region}: the key in keys/ does not match the verifier key in the database"
            )));
        }
        let verifier = NoteVerifier::from_vkey(&vkey)?;
        let (size, note): (i64, String) = conn
            .query_opt(
                "SELECT size, note FROM checkpoints WHERE region = ?1 ORDER BY size DESC LIMIT 1",
                params![region.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .ok_or_else(|| StoreError::Corrupt(format!("region {region} has no checkpoint")))?;
        let last = Checkpoint::parse(jifen_log::open_note(
            &note,
            std::slice::from_ref(&verifier),
        )?)?;
        if last.size != from_sql_u64(size)? {
            return Err(StoreError::Corrupt(format!(
                "region {region}: checkpoint row size differs from its note"
            )));
        }
        let mut tiles = SqlTiles {
            conn,
            region: region.as_str(),
        };
        let appender = Appender::resume(last.size, &mut tiles)?;
        if appender.root() != last.root {
            return Err(StoreError::Corrupt(format!(
                "region {region}: the stored tiles do not give the root of checkpoint {}",
                last.size
            )));
        }
        let beyond: Option<i64> = conn.query_row(
            "SELECT MAX(seq) FROM entries WHERE region = ?1",
            params![region.as_str()],
            |r| r.get(0),
        )?;
        if let Some(max) = beyond
            && from_sql_u64(max)? >= last.size
        {
            return Err(StoreError::Corrupt(format!(
                "region {region}: entry {max} is not covered by the latest checkpoint (size {})",
                last.size
            )));
        }
        // Refuse to go on from a database that does not extend what this key signed.
        if let Some(signed) = keys.last_signed(region.as_str())? {
            let text =
                jifen_log::open_note(&signed, std::slice::from_ref(&verifier)).map_err(|e| {
                    StoreError::Fork(format!("keys/{region}.last-signed does not verify: {e}"))
                })?;
            let remembered = Checkpoint::parse(text)?;
            if remembered.size > last.size {
                return Err(StoreError::Fork(format!(
                    "region {region}: this key already signed a tree of {} entries, but the database holds {}; \
                     it looks like an older copy of the database. Restore the newest one.",
                    remembered.size, last.size
                )));
            }
            let root = jifen_log::tree_root(&mut tiles, remembered.size)?;
            if root != remembered.root {
                return Err(StoreError::Fork(format!(
                    "region {region}: the database's tree at size {} differs from the one this key signed",
                    remembered.size
                )));
            }
        }
        let mut state = RegionState {
            origin,
            offset_minutes,
            next_seq: appender.size(),
            appender,
            last,
            signer,
            indicators: FxHashMap::default(),
            members: FxHashMap::default(),
            members_loaded: false,
            cap_used: FxHashMap::default(),
            cap_loaded: FxHashSet::default(),
            today: None,
            folded: 0,
            unfolded: member_years::YearSums::default(),
        };
        state.folded = member_years::folded_upto(conn, region)?;
        if state.folded > state.next_seq {
            return Err(StoreError::Corrupt(format!(
                "region {region}: member years are marked folded up to entry {}, beyond the log's {} entries",
                state.folded, state.next_seq
            )));
        }
        if state.folded < state.next_seq {
            state.unfolded = member_years::tail_sums(conn, region, state.folded, offset_minutes)?;
        }
        state.load_indicators(conn, region)?;
        Ok(state)
    }

    /// Writes the unfolded member-year sums into `member_years` and moves the mark to
    /// the tree's size; returns the mark before and the sums folded (for an undo).
    fn fold_in(
        &mut self,
        conn: &Conn,
        region: &RegionCode,
    ) -> Result<(u64, member_years::YearSums)> {
        let size = self.appender.size();
        member_years::fold(conn, region, &self.unfolded, size)?;
        Ok((
            std::mem::replace(&mut self.folded, size),
            std::mem::take(&mut self.unfolded),
        ))
    }

    /// Checks a new entry against the region's rules: the member exists, the
    /// indicator is visible and valid, the amount matches it, caps hold. Reads the
    /// database only on a cache miss; with no database at hand (`db` is `None`,
    /// when checking ahead) it stops there with [`Stop::NeedsDb`], having changed
    /// nothing but what its caches hold. Takes no sequence number.
    fn check(
        &mut self,
        db: Option<&Conn>,
        region: &RegionCode,
        ne: &NewEntry,
        now: Timestamp,
    ) -> std::result::Result<Checked, Stop> {
        if !self.members_loaded && !self.members.contains_key(&ne.member) {
            // One query for the region's members instead of one round trip per first
            // sight of each (what a remote database charges most for).
            let tx = db.ok_or(Stop::NeedsDb)?;
            self.members_loaded = true;
            let n = rows::member_commitments(tx, region, MEMBER_BULK_MAX, &mut self.members)?;
            if n > MEMBER_BULK_MAX {
                self.members.clear();
            }
        }
        // Once loaded, one lookup an append; the commitment travels with the entry.
        let commitment = match self.members.get(&ne.member) {
            Some(c) => *c,
            None => {
                let tx = db.ok_or(Stop::NeedsDb)?;
                let c = rows::member_commitment(tx, region, ne.member)?.ok_or_else(|| {
                    StoreError::NotFound(format!("member {} in region {region}", ne.member))
                })?;
                if self.members.len() >= MEMBER_CACHE_MAX {
                    self.members.clear();
                }
                self.members.insert(ne.member, c);
                c
            }
        };
        let date = match self.today {
            Some((at, d)) if at == now => d,
            _ => {
                let d = now
                    .local_date(self.offset_minutes)
                    .map_err(|e| StoreError::rejected(e.to_string()))?;
                self.today = Some((now, d));
                d
            }
        };
        // An indicator has at most three caps (day, month, year): no allocation here.
        let mut caps: [Option<(CapKey, u64)>; 3] = [None, None, None];
        if let Some(ir) = &ne.indicator {
            let (code, ind) = self
                .indicators
                .get(ir.code.as_str())
                .and_then(|(code, v)| v.get(&ir.version).map(|i| (code, i)))
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "indicator {} version {} in region {region} (its own or inherited)",
                        ir.code, ir.version
                    ))
                })?;
            let by_rule = matches!(ne.kind, EntryKind::Award | EntryKind::Deduction)
                && !matches!(ne.reason.source, Source::Appeal);
            if ne.kind == EntryKind::Award && ind.points.is_negative()
                || ne.kind == EntryKind::Deduction && ind.points.is_positive()
            {
                return Err(StoreError::rejected(format!(
                    "indicator {} {} points per {}; it cannot be used for a {}",
                    ind.code,
                    if ind.points.is_negative() {
                        "deducts"
                    } else {
                        "awards"
                    },
                    ind.unit,
                    ne.kind
                ))
                .into());
            }
            if by_rule {
                if !ind.valid_on(date) {
                    return Err(StoreError::rejected(format!(
                        "indicator {} version {} is not valid on {date}",
                        ind.code, ind.version
                    ))
                    .into());
                }
                let expect = ind
                    .points
                    .abs()
                    .and_then(|p| p.checked_mul(i64::from(ne.quantity)))
                    .map_err(StoreError::from_overflow)?;
                if ne.amount != expect {
                    return Err(StoreError::rejected(format!(
                        "amount {} does not match indicator {}: {} × {} {}",
                        ne.amount,
                        ind.code,
                        ind.points.abs().unwrap_or_default(),
                        ne.quantity,
                        ind.unit
                    ))
                    .into());
                }
            }
            if ne.kind == EntryKind::Award && by_rule {
                for (period, limit) in ind.caps.limits() {
                    let key: CapKey = (ne.member, code.clone(), period, period.number(date));
                    let used = match self.cap_used.get(&key) {
                        Some(u) => *u,
                        None if self.cap_loaded.contains(&(code.clone(), period, key.3)) => 0,
                        None => {
                            let tx = db.ok_or(Stop::NeedsDb)?;
                            let period_key = (code.clone(), period, key.3);
                            let (from, to) = period.bounds(date);
                            let start = Timestamp::start_of(from, self.offset_minutes);
                            let end = Timestamp::start_of(to, self.offset_minutes);
                            let (start, end) = start
                                .and_then(|s| end.map(|e| (s, e)))
                                .map_err(|e| StoreError::rejected(e.to_string()))?;
                            // Every member's count for this period in one query while the
                            // region's log is small enough to scan; else this member's
                            // alone, by its index.
                            let all = if self.appender.size() <= CAP_BULK_TREE_ENTRIES_MAX {
                                rows::cap_units_by_member(
                                    tx,
                                    region,
                                    &ir.code,
                                    start,
                                    end,
                                    CAP_BULK_ROWS_MAX,
                                )?
                            } else {
                                None
                            };
                            match all {
                                Some(all) if self.cap_used.len() + all.len() <= CAP_CACHE_MAX => {
                                    // Keys with pending units are kept: they already count
                                    // the committed ones (a miss never has pending units).
                                    for (m, u) in all {
                                        self.cap_used
                                            .entry((m, code.clone(), period, key.3))
                                            .or_insert(u);
                                    }
                                    self.cap_loaded.insert(period_key);
                                    self.cap_used.get(&key).copied().unwrap_or(0)
                                }
                                _ => rows::cap_units_used(
                                    tx, region, ne.member, &ir.code, start, end,
                                )?,
                            }
                        }
                    };
                    Caps::check(period, limit, used, ne.quantity).map_err(|e| {
                        StoreError::refused("cap-reached", format!("{}: {e}", ind.code))
                    })?;
                    if let Some(slot) = caps.iter_mut().find(|c| c.is_none()) {
                        *slot = Some((key, used + u64::from(ne.quantity)));
                    }
                }
            }
        }
        Ok(Checked { commitment, caps })
    }

    /// Counts a checked entry against its caps and moves the sequence on; returns
    /// the cap keys it added to when `keep` (to undo them inside a savepoint).
    fn accept(&mut self, caps: [Option<(CapKey, u64)>; 3], keep: bool) -> Vec<CapKey> {
        let mut kept = Vec::new();
        for (k, used) in caps.into_iter().flatten() {
            if keep {
                kept.push(k.clone());
            }
            self.cap_used.insert(k, used);
        }
        self.next_seq += 1;
        kept
    }

    fn load_indicators(&mut self, conn: &Conn, region: &RegionCode) -> Result<()> {
        let tree = RegionTree::new(rows::load_regions(conn)?);
        let lineage: Vec<RegionCode> = tree
            .lineage(region)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .iter()
            .map(|r| r.code.clone())
            .collect();
        let refs: Vec<&RegionCode> = lineage.iter().collect();
        let all = rows::load_indicators(conn, &refs)?;
        // Visibility is decided on the latest version of each (region, code), as the
        // region sees it; then every version of a visible code may be named.
        let mut latest: Vec<&Indicator> = Vec::new();
        for i in all.iter().rev() {
            if !latest
                .iter()
                .any(|l| l.region == i.region && l.code == i.code)
            {
                latest.push(i);
            }
        }
        let latest: Vec<Indicator> = latest.into_iter().cloned().collect();
        let visible: Vec<(RegionCode, String)> = visible_indicators(&tree, region, &latest)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .iter()
            .map(|i| (i.region.clone(), i.code.as_str().to_owned()))
            .collect();
        self.indicators.clear();
        for i in all.into_iter().filter(|i| {
            visible
                .iter()
                .any(|(r, c)| *r == i.region && c == i.code.as_str())
        }) {
            self.indicators
                .entry(i.code.as_str().to_owned())
                .or_insert_with(|| (Arc::from(i.code.as_str()), FxHashMap::default()))
                .1
                .insert(i.version, i);
        }
        Ok(())
    }
}

/// What a region's part of a batch adds up to, computed without the database.
struct Sums<'a> {
    /// Per system account, the change of its balance.
    balances: FxHashMap<&'a Account, i64>,
    years: member_years::YearSums,
    /// The tiles the batch's leaves changed, to store.
    tiles: Vec<jifen_log::Tile>,
}

/// Why checking an append stopped.
enum Stop {
    /// The rules refuse it (or reading the database failed).
    Refused(StoreError),
    /// Checking ahead, with no database at hand: it needs to read the database.
    NeedsDb,
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Refused(e)
    }
}

impl Stop {
    /// For a check made with the database at hand, which never asks for it.
    fn into_error(self) -> StoreError {
        match self {
            Stop::Refused(e) => e,
            Stop::NeedsDb => StoreError::Corrupt(
                "an append checked inside a transaction asked for the database".into(),
            ),
        }
    }
}

/// What checking an append found, to post it with.
struct Checked {
    commitment: Commitment,
    /// The cap counters it adds to, with their new counts (at most day, month, year).
    caps: [Option<(CapKey, u64)>; 3],
}

/// Entry kinds that spend a member's balance: checked against the balance, which
/// needs the database.
fn spends(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Redemption | EntryKind::Expiry | EntryKind::RecognitionOut
    )
}

/// The start of the next batch, checked while the batch before was committing.
struct Ahead {
    /// The next batch's time, which its entries carry.
    now: Timestamp,
    /// Appends accepted and sequenced, not yet written.
    pending: Vec<Pending>,
    /// Their answers (and refusals'), in the order the jobs came.
    acks: Vec<Ack>,
    /// The jobs from the first one that could not be checked ahead on, in order.
    rest: Vec<Job>,
}

/// While a batch commits on another thread (SQLite), checks and sequences the jobs
/// queued behind it from memory: appends whose region, member and cap counts are
/// cached, that carry no idempotency key, reverse nothing and spend nothing. At the
/// first job that needs more (the database, or the batch's transaction), it stops
/// checking and keeps that job and all after it, in order, for the batch itself.
fn check_ahead(
    states: &mut FxHashMap<RegionCode, RegionState>,
    rx: &Receiver<Job>,
    now: Timestamp,
) -> Option<Ahead> {
    let mut ahead = Ahead {
        now,
        pending: Vec::new(),
        acks: Vec::new(),
        rest: Vec::new(),
    };
    while ahead.acks.len() + ahead.rest.len() < BATCH_JOBS_MAX {
        let Ok(job) = rx.try_recv() else { break };
        let job = match job {
            Job::Append(req, done) if ahead.rest.is_empty() => {
                match append_ahead(states, &req, now) {
                    Some(Ok(p)) => {
                        ahead.acks.push(Ack::Append(Ok(p.entry.clone()), done));
                        ahead.pending.push(p);
                        continue;
                    }
                    Some(Err(e)) => {
                        ahead.acks.push(Ack::Append(Err(e), done));
                        continue;
                    }
                    None => Job::Append(req, done),
                }
            }
            job => job,
        };
        ahead.rest.push(job);
    }
    (!ahead.acks.is_empty() || !ahead.rest.is_empty()).then_some(ahead)
}

/// [`Batch::append`] from memory alone, for the appends [`check_ahead`] takes;
/// `None` when this one needs the database.
fn append_ahead(
    states: &mut FxHashMap<RegionCode, RegionState>,
    req: &Append,
    now: Timestamp,
) -> Option<Result<Pending>> {
    let ne = &req.entry;
    if req.idempotency_key.is_some() || ne.reverses.is_some() || spends(ne.kind) {
        return None;
    }
    let state = states.get_mut(&req.region)?;
    let checked = match state.check(None, &req.region, ne, now) {
        Ok(c) => c,
        Err(Stop::NeedsDb) => return None,
        Err(Stop::Refused(e)) => return Some(Err(e)),
    };
    Some(
        ne.post(&req.region, state.next_seq, now, None)
            .map_err(StoreError::from)
            .map(|entry| Pending {
                entry,
                commitment: checked.commitment,
                caps: state.accept(checked.caps, false),
                idempotency_key: None,
            }),
    )
}

/// An entry accepted in the current batch, not yet written.
struct Pending {
    entry: Entry,
    /// The member's commitment, for the entry's public leaf.
    commitment: Commitment,
    /// The cap counters it added to; kept only inside a savepoint (to undo them there).
    caps: Vec<CapKey>,
    idempotency_key: Option<String>,
}

/// The writer's side of one batch: a transaction and the sequencers' states.
/// Appends are checked and sequenced as they come; their rows are written
/// together when the batch finishes.
pub struct Batch<'c> {
    tx: &'c Conn,
    states: &'c mut FxHashMap<RegionCode, RegionState>,
    keys: &'c KeyDir,
    now: Timestamp,
    pending: Vec<Pending>,
    /// Idempotency keys of pending entries, to their index in `pending`.
    pending_keys: HashMap<(RegionCode, String), usize>,
    /// Set when a write inside the batch failed half-way: the batch must not commit.
    poisoned: Option<String>,
    savepoint_depth: u32,
    /// What the first `moved_upto` pending entries move per account, built only when
    /// [`Batch::balance`] is asked (a batch of awards never pays for it), so a job
    /// that redeems or expires thousands of times does not rescan the batch each time.
    moved: FxHashMap<(RegionCode, Account), i64>,
    moved_upto: usize,
    /// Folds of member years made by jobs of this batch: region, the mark before, the
    /// sums folded (to undo them if the job's savepoint rolls back).
    folds: Vec<(RegionCode, u64, member_years::YearSums)>,
    /// PostgreSQL: the advisory lock keys this batch's transaction holds, in the order taken.
    locked: Vec<(i64, RegionCode)>,
    /// PostgreSQL: indicator rows counted when this writer last loaded indicators
    /// (another server may add versions); checked once per batch.
    indicators_seen: &'c mut Option<i64>,
    indicators_checked: bool,
}

/// The advisory lock key of a region: jifen's key space in the high half (so other
/// users of advisory locks on the database do not collide with it), a 32-bit FNV-1a
/// of the region code in the low half. Two regions sharing a key only share a lock.
pub fn region_lock_key(region: &RegionCode) -> i64 {
    const SPACE: i64 = 0x6a69_6665; // "jife"
    let mut h: u32 = 0x811c_9dc5;
    for b in region.as_str().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (SPACE << 32) | i64::from(h)
}

impl<'c> Batch<'c> {
    /// Takes the region's writer lock for the rest of this batch's transaction, so
    /// that of several processes writing one PostgreSQL database only one extends a
    /// region's tree at a time; then drops the cached state of the region if another
    /// process extended its tree meanwhile. A no-op on SQLite (one writer) and when
    /// the batch holds the lock already.
    ///
    /// Deadlocks: a batch waits for a lock only when every key it holds is smaller,
    /// so waits always go up in key order and no cycle can form. Out of order, it
    /// takes the lock only if free and otherwise refuses this one request (a
    /// `Conflict` to retry), leaving the rest of the batch alone.
    pub fn lock_region(&mut self, region: &RegionCode) -> Result<()> {
        if self.tx.kind() != crate::sql::Kind::Postgres
            || self.locked.iter().any(|(_, r)| r == region)
        {
            return Ok(());
        }
        let key = region_lock_key(region);
        if self.locked.iter().any(|(k, _)| *k > key) {
            let got: bool =
                self.tx
                    .query_row("SELECT pg_try_advisory_xact_lock(?1)", params![key], |r| {
                        r.get(0)
                    })?;
            if !got {
                return Err(StoreError::Conflict(format!(
                    "region {region} is being written by another server; try again"
                )));
            }
        } else {
            self.tx
                .execute("SELECT pg_advisory_xact_lock(?1)", params![key])?;
        }
        self.locked.push((key, region.clone()));
        // Under the lock the stored tree is final until this batch commits: compare it
        // with what this writer remembers, and forget the region if it moved.
        if let Some(s) = self.states.get(region) {
            let size: Option<i64> = self.tx.query_row(
                "SELECT MAX(size) FROM checkpoints WHERE region = ?1",
                params![region.as_str()],
                |r| r.get(0),
            )?;
            // A writer that stops folds its member years without extending the tree.
            let folded = member_years::folded_upto(self.tx, region)?;
            if size.map(from_sql_u64).transpose()? != Some(s.last.size) || folded != s.folded {
                tracing::debug!(region = %region, "another writer extended the tree or folded: reloading");
                self.states.remove(region);
            }
        }
        if !self.indicators_checked {
            self.indicators_checked = true;
            let n: i64 = self
                .tx
                .query_row("SELECT COUNT(*) FROM indicators", params![], |r| r.get(0))?;
            if self.indicators_seen.is_some_and(|seen| seen != n) {
                self.indicators_changed()?;
            }
            *self.indicators_seen = Some(n);
        }
        Ok(())
    }

    /// The transaction, for jobs that write their own rows.
    pub fn conn(&self) -> &Conn {
        self.tx
    }

    /// The batch's time: every entry of a batch carries it.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Entries this batch accepted and has not written yet (the transaction's
    /// tables do not show them until the batch finishes).
    pub fn pending_entries(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.pending.iter().map(|p| &p.entry)
    }

    pub fn keys(&self) -> &KeyDir {
        self.keys
    }

    fn state(&mut self, region: &RegionCode) -> Result<&mut RegionState> {
        self.lock_region(region)?;
        if !self.states.contains_key(region) {
            let s = RegionState::load(self.tx, self.keys, region)?;
            self.states.insert(region.clone(), s);
        }
        Ok(self.states.get_mut(region).expect("inserted above"))
    }

    /// Indicator definitions changed: reload the caches of every loaded region.
    pub fn indicators_changed(&mut self) -> Result<()> {
        let regions: Vec<RegionCode> = self.states.keys().cloned().collect();
        for r in regions {
            let tx = self.tx;
            let s = self.states.get_mut(&r).expect("key from the map");
            s.load_indicators(tx, &r)?;
        }
        Ok(())
    }

    /// An entry of this batch not yet written, or a committed one.
    pub fn entry(&self, region: &RegionCode, seq: u64) -> Result<Option<Entry>> {
        if let Some(p) = self
            .pending
            .iter()
            .find(|p| p.entry.region == *region && p.entry.seq == seq)
        {
            return Ok(Some(p.entry.clone()));
        }
        rows::load_entry(self.tx, region, seq)
    }

    /// How much of an entry has been reversed, this batch's reversals included.
    pub fn reversed_amount(&self, region: &RegionCode, seq: u64) -> Result<Points> {
        let mut done = rows::reversed_amount(self.tx, region, seq)?;
        for p in self
            .pending
            .iter()
            .filter(|p| p.entry.region == *region && p.entry.reverses == Some(seq))
        {
            done = done
                .checked_add(p.entry.amount)
                .map_err(StoreError::from_overflow)?;
        }
        Ok(done)
    }

    /// An account's balance, this batch's entries included.
    pub fn balance(&mut self, region: &RegionCode, account: &Account) -> Result<Points> {
        let b = rows::balance(self.tx, region, account)?;
        for p in &self.pending[self.moved_upto..] {
            let e = &p.entry;
            let amount = e.amount.get();
            for (acct, delta) in [(&e.credit, amount), (&e.debit, -amount)] {
                let v = self
                    .moved
                    .entry((e.region.clone(), acct.clone()))
                    .or_insert(0);
                *v = v.checked_add(delta).ok_or(StoreError::Commit(
                    "points overflow in a batch's balances".into(),
                ))?;
            }
        }
        self.moved_upto = self.pending.len();
        let delta = self
            .moved
            .get(&(region.clone(), account.clone()))
            .copied()
            .unwrap_or(0);
        b.checked_add(Points::new(delta))
            .map_err(StoreError::from_overflow)
    }

    /// Folds a region's unfolded member-year sums into `member_years`, so that table
    /// alone holds every committed entry's effect (entries pending in this batch
    /// are not in it). For jobs that read `member_years` in bulk.
    pub fn fold_member_years(&mut self, region: &RegionCode) -> Result<()> {
        let tx = self.tx;
        let state = self.state(region)?;
        if state.folded == state.appender.size() {
            return Ok(());
        }
        let (before, sums) = state.fold_in(tx, region)?;
        self.folds.push((region.clone(), before, sums));
        Ok(())
    }

    /// Folds every loaded region's unfolded member-year sums (when the writer stops).
    fn fold_all(&mut self) -> Result<()> {
        let regions: Vec<RegionCode> = self
            .states
            .iter()
            .filter(|(_, s)| s.folded < s.appender.size())
            .map(|(r, _)| r.clone())
            .collect();
        for r in regions {
            self.fold_member_years(&r)?;
        }
        Ok(())
    }

    /// Runs `f` so that, if it fails, none of its writes or appends remain.
    pub fn savepoint<T>(&mut self, f: impl FnOnce(&mut Batch<'c>) -> Result<T>) -> Result<T> {
        let mark = self.pending.len();
        let folds_mark = self.folds.len();
        let name = format!("job{}", self.savepoint_depth);
        self.tx.execute(&format!("SAVEPOINT {name}"), params![])?;
        self.savepoint_depth += 1;
        let r = f(self);
        self.savepoint_depth -= 1;
        match r {
            Ok(v) => {
                self.tx.execute(&format!("RELEASE {name}"), params![])?;
                Ok(v)
            }
            Err(e) => {
                if mark < self.moved_upto {
                    self.moved.clear();
                    self.moved_upto = 0;
                }
                if let Err(re) = self
                    .tx
                    .execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"))
                {
                    self.poisoned = Some(format!("rollback failed: {re}"));
                }
                for p in self.pending.drain(mark..) {
                    if let Some(key) = &p.idempotency_key {
                        self.pending_keys
                            .remove(&(p.entry.region.clone(), key.clone()));
                    }
                    if let Some(s) = self.states.get_mut(&p.entry.region) {
                        s.next_seq = s.next_seq.min(p.entry.seq);
                        for k in &p.caps {
                            if let Some(u) = s.cap_used.get_mut(k) {
                                *u = u.saturating_sub(u64::from(p.entry.quantity));
                            }
                        }
                    }
                }
                // Folds inside the failed job are undone: their sums are unfolded again.
                for (region, before, sums) in self.folds.drain(folds_mark..).rev() {
                    if let Some(s) = self.states.get_mut(&region) {
                        s.folded = before;
                        member_years::merge(&mut s.unfolded, sums);
                    }
                }
                // Members created inside the failed job are gone again.
                for s in self.states.values_mut() {
                    s.members.clear();
                    s.members_loaded = false;
                }
                Err(e)
            }
        }
    }

    /// Appends one entry to its region's log after checking it against the rules:
    /// the member exists, the indicator is visible and valid, amounts match the
    /// indicator, caps hold, reversals reverse no more than is left, redemptions
    /// are covered. It writes nothing until the batch finishes, so a refused
    /// append leaves the batch as it was.
    pub fn append(&mut self, req: Append) -> Result<Entry> {
        let Append {
            region,
            entry: ne,
            idempotency_key,
        } = req;
        if let Some(key) = &idempotency_key {
            if key.is_empty() || key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
                return Err(StoreError::rejected(format!(
                    "an idempotency key must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} bytes"
                )));
            }
            if let Some(i) = self.pending_keys.get(&(region.clone(), key.clone())) {
                return Ok(self.pending[*i].entry.clone());
            }
            let seen: Option<i64> = self.tx.query_opt(
                "SELECT seq FROM idempotency WHERE region = ?1 AND key = ?2",
                params![region.as_str(), key],
                |r| r.get(0),
            )?;
            if let Some(seq) = seen {
                return rows::load_entry(self.tx, &region, from_sql_u64(seq)?)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("idempotency key names missing entry {seq}"))
                });
            }
        }
        let reversed = match ne.reverses {
            Some(seq) => {
                let orig = self
                    .entry(&region, seq)?
                    .ok_or_else(|| StoreError::NotFound(format!("entry {region}:{seq}")))?;
                Some((orig, self.reversed_amount(&region, seq)?))
            }
            None => None,
        };
        let now = self.now;
        let tx = self.tx;
        let state = self.state(&region)?;
        let checked = state
            .check(Some(tx), &region, &ne, now)
            .map_err(Stop::into_error)?;
        let entry = ne.post(
            &region,
            state.next_seq,
            now,
            reversed.as_ref().map(|(o, d)| (o, *d)),
        )?;
        if spends(entry.kind) {
            let have = self.balance(&region, &entry.debit)?;
            if have < entry.amount {
                return Err(StoreError::refused(
                    "balance-too-low",
                    format!(
                        "spendable balance {have} is less than {} needed",
                        entry.amount
                    ),
                ));
            }
        }
        let state = self.states.get_mut(&region).expect("loaded above");
        let caps = state.accept(checked.caps, self.savepoint_depth > 0);
        if let Some(key) = &idempotency_key {
            self.pending_keys
                .insert((region.clone(), key.clone()), self.pending.len());
        }
        self.pending.push(Pending {
            entry: entry.clone(),
            commitment: checked.commitment,
            caps,
            idempotency_key,
        });
        Ok(entry)
    }

    /// Phase two: tree, tiles, balances and a signed checkpoint per region; then commit.
    /// Returns the signed notes to record beside the keys.
    fn finish(&mut self) -> Result<Vec<(RegionCode, String, Checkpoint)>> {
        if let Some(p) = &self.poisoned {
            return Err(StoreError::Commit(p.clone()));
        }
        let regions: BTreeSet<RegionCode> = self
            .pending
            .iter()
            .map(|p| p.entry.region.clone())
            .collect();
        let mut signed = Vec::new();
        let tx = self.tx;
        for region in regions {
            let state = self
                .states
                .get_mut(&region)
                .expect("state loaded by append");
            let (entries, commitments): (Vec<&Entry>, Vec<Commitment>) = self
                .pending
                .iter()
                .filter(|p| p.entry.region == region)
                .map(|p| (&p.entry, p.commitment))
                .unzip();
            // Check before writing: the rows about to go in continue the tree in order.
            for (i, e) in entries.iter().enumerate() {
                assert_eq!(
                    e.seq,
                    state.appender.size() + i as u64,
                    "entries reach the tree in sequence order"
                );
            }
            // What needs no database: the system accounts' and the members' sums, and
            // the leaves into the tree. For a large batch it runs on a second core while
            // this one writes the rows. (If anything later fails, the batch rolls back
            // and the writer reloads every region's state from what is committed.)
            let offset_minutes = state.offset_minutes;
            let grow = |appender: &mut Appender| -> Result<Sums<'_>> {
                // System accounts, and per (member, year): (annual score, net flow).
                let mut balances: FxHashMap<&Account, i64> = FxHashMap::default();
                let mut years = member_years::YearSums::default();
                let mut last_year: Option<(Timestamp, i32)> = None;
                for (e, c) in entries.iter().zip(&commitments) {
                    // A batch's entries mostly share the batch's time: its year once.
                    let year = match last_year {
                        Some((t, y)) if t == e.time => y,
                        _ => {
                            let y = e
                                .time
                                .local_year(offset_minutes)
                                .map_err(|err| StoreError::rejected(err.to_string()))?;
                            last_year = Some((e.time, y));
                            y
                        }
                    };
                    let flow = if e.credit.member().is_some() {
                        e.amount.get()
                    } else {
                        -e.amount.get()
                    };
                    let system = if e.credit.member().is_some() {
                        &e.debit
                    } else {
                        &e.credit
                    };
                    debug_assert!(
                        system.member().is_none(),
                        "a transfer is between a member and a system account"
                    );
                    *balances.entry(system).or_default() -= flow;
                    let y = years.entry((e.member.get(), year)).or_default();
                    y.0 += e.annual_delta.get();
                    y.1 += flow;
                    appender.append(jifen_log::leaf_hash(&PublicLeaf::of_entry(e, c).encode()));
                }
                Ok(Sums {
                    balances,
                    years,
                    tiles: appender.take_dirty_tiles(),
                })
            };
            let pending = &self.pending;
            let write_rows = || -> Result<()> {
                rows::insert_entries(tx, &entries)?;
                for p in pending.iter().filter(|p| p.entry.region == region) {
                    if let Some(key) = &p.idempotency_key {
                        tx.execute(
                            "INSERT INTO idempotency (region, key, seq) VALUES (?1, ?2, ?3)",
                            params![region.as_str(), key, sql_u64(p.entry.seq)?],
                        )?;
                    }
                }
                Ok(())
            };
            let sums = if entries.len() >= PARALLEL_HASH_ENTRIES_MIN {
                let appender = &mut state.appender;
                std::thread::scope(|s| {
                    let h = s.spawn(move || grow(appender));
                    let written = write_rows();
                    let grown = h
                        .join()
                        .map_err(|_| StoreError::Corrupt("leaf hashing failed".into()))
                        .and_then(|r| r);
                    written.and(grown)
                })?
            } else {
                write_rows()?;
                grow(&mut state.appender)?
            };
            let mut accounts: Vec<_> = sums.balances.into_iter().collect();
            accounts.sort();
            for (account, delta) in accounts {
                tx.execute("INSERT INTO balances (region, account, balance) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (region, account) DO UPDATE SET balance = balances.balance + excluded.balance", params![region.as_str(), account.to_key(), delta])?;
            }
            // Member years: this batch's sums join the unfolded ones, folded in now
            // for a small batch or once enough have gathered (see member_years).
            let new_size = state.appender.size();
            member_years::merge(&mut state.unfolded, sums.years);
            if entries.len() < FOLD_INLINE_BELOW || new_size - state.folded >= FOLD_ENTRIES_MAX {
                state.fold_in(tx, &region)?;
            }
            rows::store_tiles(tx, &region, &sums.tiles)?;
            let next = Checkpoint {
                origin: state.origin.clone(),
                size: state.appender.size(),
                root: state.appender.root(),
                extensions: Vec::new(),
            };
            let mut tiles = SqlTiles {
                conn: tx,
                region: region.as_str(),
            };
            let proof = if state.last.size > 0 && state.last.size < next.size {
                jifen_log::consistency_proof(&mut tiles, state.last.size, next.size)?
            } else {
                Vec::new()
            };
            let note =
                jifen_log::sign_checkpoint_after(&state.signer, Some(&state.last), &next, &proof)
                    .map_err(|e| StoreError::Fork(format!("region {region}: {e}")))?;
            tx.execute("INSERT INTO checkpoints (region, size, root, note, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)", params![region.as_str(), sql_u64(next.size)?, next.root.as_slice(), note, self.now.millis()])?;
            signed.push((region, note, next));
        }
        Ok(signed)
    }
}

impl StoreError {
    fn from_overflow(_: jifen_core::points::Overflow) -> StoreError {
        StoreError::rejected("points arithmetic overflowed")
    }
}

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
}

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
            let fold = Job::Run(Box::new(|b: &mut Batch<'_>| {
                if let Err(e) = b.savepoint(Batch::fold_all) {
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
        } = self;
        if let Err(e) = conn.begin_write() {
            tracing::error!(error = %e, "cannot begin a write transaction");
            // What was sequenced ahead will not be written: start again from the store.
            states.clear();
            // Appends are told; a write job is dropped unrun, which its caller sees
            // as the writer gone.
            completions.extend(jobs.into_iter().filter_map(|job| match job {
                Job::Append(_, done) => Some(Ack::Append(Err(e.for_batch()), done)),
                Job::Run(_) => None,
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
                    Job::Run(f) => Ack::Run(f(&mut batch)),
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

/// How often the background checkpointer runs, in milliseconds.
const CHECKPOINT_INTERVAL_MS: u64 = 20;
/// How often (in batches) the writer looks at the WAL's size.
const WAL_CHECK_EVERY_BATCHES: u64 = 64;
/// WAL size, in pages, beyond which the writer checkpoints in full itself.
const WAL_PAGES_MAX: i64 = 262_144;

fn checkpointer(db_path: &std::path::Path, stop: &std::sync::atomic::AtomicBool) {
    let conn = match crate::db::open(db_path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "checkpointer cannot open the database");
            return;
        }
    };
    while !stop.load(std::sync::atomic::Ordering::Acquire) {
        std::thread::sleep(std::time::Duration::from_millis(CHECKPOINT_INTERVAL_MS));
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::debug!(error = %e, "passive checkpoint");
        }
    }
}

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
