//! PostgreSQL's writer locks: one advisory lock per region, taken in key order,
//! so that of several servers on one database one extends a region's tree at a time.

use jifen_core::RegionCode;

use super::batch::Batch;
use crate::db::from_sql_u64;
use crate::error::{Result, StoreError};
use crate::member_years;
use crate::params;

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
}
