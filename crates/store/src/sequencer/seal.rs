//! Sealing a batch: its entries' rows, the tree's new tiles, the balances and
//! member years, and a freshly signed checkpoint per region ([`Batch::finish`]).

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use jifen_core::{Account, Commitment, Entry, PublicLeaf, RegionCode, Timestamp};
use jifen_log::{Appender, Checkpoint};

use super::PARALLEL_HASH_ENTRIES_MIN;
use super::batch::Batch;
use crate::db::sql_u64;
use crate::error::{Result, StoreError};
use crate::member_years::{self, FOLD_ENTRIES_MAX, FOLD_INLINE_BELOW};
use crate::params;
use crate::rows::{self, SqlTiles};

/// What a region's part of a batch adds up to, computed without the database.
struct Sums<'a> {
    /// Per system account, the change of its balance.
    balances: FxHashMap<&'a Account, i64>,
    years: member_years::YearSums,
    /// The tiles the batch's leaves changed, to store.
    tiles: Vec<jifen_log::Tile>,
}

impl<'c> Batch<'c> {
    /// Phase two: tree, tiles, balances and a signed checkpoint per region; then commit.
    /// Returns the signed notes to record beside the keys.
    pub(super) fn finish(&mut self) -> Result<Vec<(RegionCode, String, Checkpoint)>> {
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
