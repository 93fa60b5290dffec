//! SQLite's pipeline: while a batch commits, the appends queued behind it are
//! checked and sequenced from memory, up to the first job that needs the
//! database or the batch's transaction. The gate of [`in_one_batch`] holds a
//! batch open while jobs queue behind it, so they are exactly what is checked
//! ahead when it commits. SQLite only: PostgreSQL checks nothing ahead (a
//! region's state is known only under its lock).

use std::sync::mpsc;

use jifen_core::{Caps, Entry};
use jifen_store::StoreError;
use jifen_store::admin::{NewMember, insert_member};

use crate::common::{
    Expect, VIL, append_req, award, check, hid, in_one_batch, in_one_batch_with, indicator, mid,
    spawn_village,
};

type Answers = mpsc::Receiver<(usize, Result<Entry, StoreError>)>;

/// A completion that sends its answer, numbered `i`, to the test.
fn answer(
    tx: &mpsc::Sender<(usize, Result<Entry, StoreError>)>,
    i: usize,
) -> impl FnOnce(Result<Entry, StoreError>) + Send + 'static {
    let tx = tx.clone();
    move |r| {
        let _ = tx.send((i, r));
    }
}

/// The first `n` answers, in the order the jobs were queued.
fn answers(rx: &Answers, n: usize) -> Vec<Result<Entry, StoreError>> {
    let mut got: Vec<_> = (0..n).map(|_| rx.recv().expect("answered")).collect();
    got.sort_by_key(|(i, _)| *i);
    got.into_iter().map(|(_, r)| r).collect()
}

/// Queues a write that adds member `id` to the village (a job that needs the
/// batch's transaction).
fn add_member_job(ts: &jifen_store::Store, id: i64, done: mpsc::Sender<bool>) {
    ts.write_with(
        move |b| {
            insert_member(
                b,
                &NewMember {
                    region: crate::common::rc(VIL),
                    id: Some(mid(id)),
                    household: hid(1),
                    name: "赵六".into(),
                },
            )
        },
        move |r| {
            let _ = done.send(r.is_ok());
        },
    )
    .expect("queued");
}

#[test]
fn appends_queued_behind_a_commit_keep_their_order_and_caps() {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        caps: Caps {
            per_day: Some(2),
            ..Caps::default()
        },
        ..indicator(VIL, "DAILY", 2)
    });
    ts.put(indicator(VIL, "MEET", 5));
    // Loads the village's sequencer: its members and the day's cap counts.
    ts.append_ok(VIL, award(1, "DAILY", 2, 1));
    let (tx, rx) = mpsc::channel();
    let (member_tx, member_rx) = mpsc::channel();
    in_one_batch(&ts, || {
        let queue = |i, e| {
            ts.append_with(append_req(VIL, e), answer(&tx, i))
                .expect("queued");
        };
        queue(0, award(1, "DAILY", 2, 1));
        queue(1, award(1, "DAILY", 2, 1));
        queue(2, award(2, "MEET", 5, 1));
        // Needs the transaction: it and all after it wait for their batch.
        add_member_job(&ts, 9, member_tx);
        queue(3, award(9, "MEET", 5, 1));
        queue(4, award(1, "DAILY", 2, 1));
        queue(5, award(3, "DAILY", 2, 1));
    });
    let got = answers(&rx, 6);
    assert!(member_rx.recv().expect("answered"), "member 9 added");
    let seqs: Vec<Option<u64>> = got.iter().map(|r| r.as_ref().ok().map(|e| e.seq)).collect();
    assert_eq!(
        seqs,
        [Some(1), None, Some(2), Some(3), None, Some(4)],
        "sequence numbers in queue order; refusals take none: {got:?}"
    );
    check(
        "member 1's third of the day",
        &got[1],
        Expect::Rejected("per day"),
    );
    check(
        "and a fourth, after the write",
        &got[4],
        Expect::Rejected("per day"),
    );
    assert_eq!((ts.entry_count(VIL), ts.tree_size(VIL)), (5, 5));
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn a_batch_that_fails_to_commit_fails_what_was_checked_behind_it() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.append_ok(VIL, award(1, "MEET", 5, 1));
    let (gate_tx, gate_rx) = mpsc::channel::<(bool, bool)>();
    let (tx, rx) = mpsc::channel();
    let (member_tx, member_rx) = mpsc::channel();
    // A gate whose batch breaks a foreign key checked only at commit: the commit fails.
    let break_the_batch = move |b: Option<&mut jifen_store::Batch<'_>>| -> jifen_store::Completion {
        let wrote = b.is_some_and(|b| {
            b.conn()
                .execute_batch(
                    "PRAGMA defer_foreign_keys = ON; \
                     INSERT INTO levels (region, code, name, min_score) VALUES ('NOPE', 'x', 'x', 1)",
                )
                .is_ok()
        });
        Box::new(move |committed| {
            let _ = gate_tx.send((wrote, committed.is_ok()));
        })
    };
    in_one_batch_with(&ts, break_the_batch, || {
        for (i, m) in [2, 3].into_iter().enumerate() {
            ts.append_with(append_req(VIL, award(m, "MEET", 5, 1)), answer(&tx, i))
                .expect("queued");
        }
        add_member_job(&ts, 9, member_tx);
        ts.append_with(append_req(VIL, award(9, "MEET", 5, 1)), answer(&tx, 2))
            .expect("queued");
    });

    assert_eq!(
        gate_rx.recv().expect("answered"),
        (true, false),
        "the gate's write went in and its batch did not commit"
    );
    let got = answers(&rx, 3);
    for r in &got[..2] {
        assert!(
            matches!(r, Err(StoreError::Commit(m)) if m.contains("FOREIGN KEY"))
                && r.as_ref()
                    .err()
                    .map(|e| e.to_string().matches("did not commit").count())
                    == Some(1),
            "checked behind the failed batch, it fails with it and says why: {r:?}"
        );
    }
    assert!(
        member_rx.recv().expect("answered"),
        "the jobs not checked ahead ran in a batch of their own"
    );
    assert_eq!(
        got[2].as_ref().map(|e| e.seq).ok(),
        Some(1),
        "the sequence goes on from what was committed: {got:?}"
    );
    assert_eq!(ts.append_ok(VIL, award(2, "MEET", 5, 1)).seq, 2);
    assert_eq!((ts.entry_count(VIL), ts.tree_size(VIL)), (3, 3));
    ts.audit(|_, _| {}).expect("audit passes");
}
