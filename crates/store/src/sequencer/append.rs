//! Appending: an [`Append`] request, checked against its region's rules and
//! sequenced in a batch ([`Batch::append`]), and what else needs a region's state.

use jifen_core::{Entry, NewEntry, RegionCode};

use super::IDEMPOTENCY_KEY_BYTES_MAX;
use super::batch::{Batch, Pending};
use super::region::{RegionState, Stop, spends};
use crate::db::from_sql_u64;
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows;

/// A request to append one entry.
#[derive(Debug, Clone)]
pub struct Append {
    pub region: RegionCode,
    pub entry: NewEntry,
    /// A client's idempotency key: a retry with the same key returns the first entry.
    pub idempotency_key: Option<String>,
}

impl<'c> Batch<'c> {
    fn state(&mut self, region: &RegionCode) -> Result<&mut RegionState> {
        self.lock_region(region)?;
        if !self.states.contains_key(region) {
            let s = RegionState::load(self.tx, self.keys, region)?;
            self.states.insert(region.clone(), s);
        }
        Ok(self.states.get_mut(region).expect("inserted above"))
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
    pub(super) fn fold_all(&mut self) -> Result<()> {
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
}
