//! Atomicity: a failed write job leaves nothing, and concurrent appends land
//! with contiguous sequence numbers.

use std::sync::mpsc;

use jifen_core::Entry;
use jifen_store::{Result, StoreError};

use crate::common::{
    StoredBalances, TestStore, VIL, append_req, award, in_one_batch, indicator, rc, spawn_village,
};

fn snapshot(ts: &TestStore) -> (u64, u64, StoredBalances) {
    (
        ts.entry_count(VIL),
        ts.tree_size(VIL),
        ts.stored_balances(VIL),
    )
}

/// A write job that appends `n` awards and then fails.
fn failing_job(ts: &TestStore, n: usize) -> Result<()> {
    ts.write(move |b| {
        for _ in 0..n {
            b.append(append_req(VIL, award(1, "MEET", 5, 1)))?;
        }
        Err(StoreError::rejected("changed my mind"))
    })
}

#[test]
fn a_failed_write_job_leaves_nothing() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    for m in 1..=3 {
        ts.append_ok(VIL, award(m, "MEET", 5, 1));
    }
    let before = snapshot(&ts);
    let (cp_before, _) = ts.checkpoint(&rc(VIL)).expect("checkpoint");
    let r = failing_job(&ts, 2);
    assert!(
        matches!(r, Err(StoreError::Rejected(ref m)) if m == "changed my mind"),
        "{r:?}"
    );
    assert_eq!(
        snapshot(&ts),
        before,
        "entries, tree and balances are as they were"
    );
    assert_eq!(ts.checkpoint(&rc(VIL)).expect("checkpoint").0, cp_before);
    let next = ts.append_ok(VIL, award(1, "MEET", 5, 1));
    assert_eq!(next.seq, 3, "no gap after the failed job");
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn a_failed_job_inside_a_batch_leaves_no_gap_for_the_others() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.append_ok(VIL, award(1, "MEET", 5, 1));
    let (tx, rx) = mpsc::channel::<(usize, Result<Entry>)>();
    let (ftx, frx) = mpsc::channel::<Result<()>>();
    in_one_batch(&ts, || {
        let send = |i: usize| {
            let tx = tx.clone();
            move |r| {
                let _ = tx.send((i, r));
            }
        };
        ts.append_with(append_req(VIL, award(2, "MEET", 5, 1)), send(0))
            .expect("queued");
        ts.write_with(
            |b| {
                for _ in 0..3 {
                    b.append(append_req(VIL, award(1, "MEET", 5, 1)))?;
                }
                Err::<(), _>(StoreError::rejected("no"))
            },
            move |r| {
                let _ = ftx.send(r);
            },
        )
        .expect("queued");
        ts.append_with(append_req(VIL, award(3, "MEET", 5, 1)), send(1))
            .expect("queued");
    });
    assert!(frx.recv().expect("answered").is_err());
    let mut seqs: Vec<(usize, u64)> = (0..2)
        .map(|_| {
            let (i, r) = rx.recv().expect("answered");
            (i, r.expect("posted").seq)
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        [(0, 1), (1, 2)],
        "the failed job's three appends left no hole"
    );
    assert_eq!((ts.entry_count(VIL), ts.tree_size(VIL)), (3, 3));
    ts.stored_balances(VIL).assert_sums_to_zero();
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn concurrent_appends_land_with_contiguous_seqs() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 50;
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let (tx, rx) = mpsc::channel::<Result<Entry>>();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let tx = tx.clone();
            let store = ts.store.clone();
            s.spawn(move || {
                for _ in 0..PER_THREAD {
                    let tx = tx.clone();
                    let member = i64::try_from(t % 3).expect("small") + 1;
                    store
                        .append_with(append_req(VIL, award(member, "MEET", 5, 1)), move |r| {
                            let _ = tx.send(r);
                        })
                        .expect("queued");
                }
            });
        }
    });
    drop(tx);
    let mut seqs: Vec<u64> = rx.iter().map(|r| r.expect("posted").seq).collect();
    seqs.sort_unstable();
    let n = (THREADS * PER_THREAD) as u64;
    assert_eq!(seqs, (0..n).collect::<Vec<_>>());
    assert_eq!(ts.tree_size(VIL), n);
    let audit = ts.audit(|_, _| {}).expect("audit passes");
    let vil = audit.iter().find(|a| a.region == rc(VIL)).expect("audited");
    assert_eq!(vil.entries, n);
    assert_eq!(vil.outstanding.get(), 5 * n as i64);
}

#[test]
fn every_reply_is_out_once_the_store_has_closed() {
    // Replies go out on a thread of their own, after each commit: closing the store
    // waits for them too, so none is lost or late.
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let (tx, rx) = mpsc::channel::<u64>();
    const N: usize = 3_000;
    for i in 0..N {
        let tx = tx.clone();
        let member = 1 + (i % 3) as i64;
        ts.append_with(append_req(VIL, award(member, "MEET", 5, 1)), move |r| {
            if i + 1 == N {
                // A slow reply: close must still wait for it.
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            let _ = tx.send(r.expect("posted").seq);
        })
        .expect("queued");
    }
    drop(tx);
    ts.close();
    let mut seqs: Vec<u64> = rx.try_iter().collect();
    assert_eq!(
        seqs.len(),
        N,
        "every append answered by the time close returns"
    );
    seqs.sort_unstable();
    assert!(
        seqs.iter().copied().eq(0..N as u64),
        "one sequence number each, no gaps"
    );
}

#[test]
fn a_completion_that_panics_leaves_the_other_replies_and_the_writer_alone() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let (tx, rx) = mpsc::channel::<(usize, Result<Entry>)>();
    in_one_batch(&ts, || {
        ts.append_with(append_req(VIL, award(1, "MEET", 5, 1)), |_| {
            panic!("a caller's bug")
        })
        .expect("queued");
        let tx = tx.clone();
        ts.append_with(append_req(VIL, award(2, "MEET", 5, 1)), move |r| {
            let _ = tx.send((1, r));
        })
        .expect("queued");
    });
    drop(tx);
    let (i, r) = rx
        .recv()
        .expect("the reply after the panicking one goes out");
    assert_eq!((i, r.expect("posted").seq), (1, 1));
    // Later batches are answered too, by the same writer.
    assert_eq!(ts.append_ok(VIL, award(3, "MEET", 5, 1)).seq, 2);
    ts.close();
    assert_eq!((ts.entry_count(VIL), ts.tree_size(VIL)), (3, 3));
}
