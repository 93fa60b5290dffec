//! A batch: the writer's transaction, the sequencers' states and the entries
//! accepted but not yet written; what jobs read through it, and savepoints.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use jifen_core::{Account, Commitment, Entry, Points, RegionCode, Timestamp};

use super::CapKey;
use super::region::RegionState;
use crate::error::{Result, StoreError};
use crate::keys::KeyDir;
use crate::member_years;
use crate::params;
use crate::rows;
use crate::sql::Conn;

/// An entry accepted in the current batch, not yet written.
pub(super) struct Pending {
    pub(super) entry: Entry,
    /// The member's commitment, for the entry's public leaf.
    pub(super) commitment: Commitment,
    /// The cap counters it added to; kept only inside a savepoint (to undo them there).
    pub(super) caps: Vec<CapKey>,
    pub(super) idempotency_key: Option<String>,
}

/// The writer's side of one batch: a transaction and the sequencers' states.
/// Appends are checked and sequenced as they come; their rows are written
/// together when the batch finishes.
pub struct Batch<'c> {
    pub(super) tx: &'c Conn,
    pub(super) states: &'c mut FxHashMap<RegionCode, RegionState>,
    pub(super) keys: &'c KeyDir,
    pub(super) now: Timestamp,
    pub(super) pending: Vec<Pending>,
    /// Idempotency keys of pending entries, to their index in `pending`.
    pub(super) pending_keys: HashMap<(RegionCode, String), usize>,
    /// Set when a write inside the batch failed half-way: the batch must not commit.
    pub(super) poisoned: Option<String>,
    pub(super) savepoint_depth: u32,
    /// What the first `moved_upto` pending entries move per account, built only when
    /// [`Batch::balance`] is asked (a batch of awards never pays for it), so a job
    /// that redeems or expires thousands of times does not rescan the batch each time.
    pub(super) moved: FxHashMap<(RegionCode, Account), i64>,
    pub(super) moved_upto: usize,
    /// Folds of member years made by jobs of this batch: region, the mark before, the
    /// sums folded (to undo them if the job's savepoint rolls back).
    pub(super) folds: Vec<(RegionCode, u64, member_years::YearSums)>,
    /// PostgreSQL: the advisory lock keys this batch's transaction holds, in the order taken.
    pub(super) locked: Vec<(i64, RegionCode)>,
    /// PostgreSQL: indicator rows counted when this writer last loaded indicators
    /// (another server may add versions); checked once per batch.
    pub(super) indicators_seen: &'c mut Option<i64>,
    pub(super) indicators_checked: bool,
}

impl<'c> Batch<'c> {
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
        let b = member_years::balance(self.tx, region, account)?;
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
}
