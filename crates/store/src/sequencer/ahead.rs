//! Checking ahead: while a batch commits (SQLite), the appends queued behind it
//! are checked and sequenced from memory, to start the next batch with.

use std::sync::mpsc::Receiver;

use rustc_hash::FxHashMap;

use jifen_core::{RegionCode, Timestamp};

use super::BATCH_JOBS_MAX;
use super::append::Append;
use super::batch::Pending;
use super::job::{Ack, Job};
use super::region::{RegionState, Stop, spends};
use crate::error::{Result, StoreError};

/// The start of the next batch, checked while the batch before was committing.
pub(super) struct Ahead {
    /// The next batch's time, which its entries carry.
    pub(super) now: Timestamp,
    /// Appends accepted and sequenced, not yet written.
    pub(super) pending: Vec<Pending>,
    /// Their answers (and refusals'), in the order the jobs came.
    pub(super) acks: Vec<Ack>,
    /// The jobs from the first one that could not be checked ahead on, in order.
    pub(super) rest: Vec<Job>,
}

/// While a batch commits on another thread (SQLite), checks and sequences the jobs
/// queued behind it from memory: appends whose region, member and cap counts are
/// cached, that carry no idempotency key, reverse nothing and spend nothing. At the
/// first job that needs more (the database, or the batch's transaction), it stops
/// checking and keeps that job and all after it, in order, for the batch itself.
pub(super) fn check_ahead(
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

/// [`Batch::append`](super::Batch::append) from memory alone, for the appends [`check_ahead`] takes;
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
