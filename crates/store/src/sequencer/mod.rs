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
//!
//! # Files
//! - `region.rs`: a region's sequencer state (`RegionState`), loaded and checked against.
//! - `batch.rs`: [`Batch`], its transaction and its reads (entries, balances, savepoints).
//! - `pg_lock.rs`: PostgreSQL's per-region writer locks ([`region_lock_key`], [`Batch::lock_region`]).
//! - `append.rs`: [`Append`] and [`Batch::append`], with what needs a region's state.
//! - `seal.rs`: the end of a batch: rows, tiles, balances and signed checkpoints.
//! - `job.rs`: the queue's [`Job`]s and their answers once a batch has ended.
//! - `ahead.rs`: checking the next batch from memory while one commits.
//! - `threads.rs`: the background WAL checkpointer.
//! - `run.rs`: the writer thread (`Writer`), its loop over batches, and `spawn`.

use std::sync::Arc;

use jifen_core::{CapPeriod, MemberId};

use crate::error::StoreError;

mod ahead;
mod append;
mod batch;
mod job;
mod pg_lock;
mod region;
mod run;
mod seal;
mod threads;

pub use append::Append;
pub use batch::Batch;
pub use job::{Completion, Job};
pub(crate) use run::{Writer, spawn};

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

impl StoreError {
    fn from_overflow(_: jifen_core::points::Overflow) -> StoreError {
        StoreError::rejected("points arithmetic overflowed")
    }
}
