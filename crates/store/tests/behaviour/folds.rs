//! Member years folded in later: a large batch leaves its member-year sums in the
//! sequencer's memory; readers add the entries not folded in yet (the tail), and
//! a fold, however it comes, leaves `member_years` equal to what the entries give.

use jifen_core::{Ledger, NewEntry};
use jifen_store::member_years::FOLD_INLINE_BELOW;
use jifen_store::{Database, Store, StoreError};

use crate::common::{
    TestStore, VIL, append_req, award, entry, indicator, mid, rc, redemption, spawn_village,
    year_of,
};

/// Where `member_years` is folded up to, and the tree's size.
fn mark_and_size(store: &Store) -> (u64, u64) {
    let mark = store
        .read(|c| jifen_store::member_years::folded_upto(c, &rc(VIL)))
        .expect("mark read");
    (mark, store.checkpoint(&rc(VIL)).expect("checkpoint").0.size)
}

/// Members 1 to 3's spendable balance and annual score, as the store answers them,
/// equal the ledger's.
fn assert_members_match(store: &Store, ledger: &Ledger, year: i32) {
    for m in 1..=3 {
        let b = store.balance(&rc(VIL), mid(m), year).expect("balance");
        assert_eq!(
            (b.spendable, b.annual_score),
            (
                ledger.net_flow(mid(m), year),
                ledger.annual_score(mid(m), year)
            ),
            "member {m}"
        );
    }
}

/// The stored `member_years` rows alone (no tail), by (member, year).
fn stored_rows(store: &Store) -> Vec<(i64, i32, i64, i64)> {
    store
        .read(|c| {
            c.query_map(
                "SELECT member, year, annual_score, net_flow FROM member_years \
             WHERE region = ?1 ORDER BY member, year",
                jifen_store::params![VIL],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .expect("member years read")
}

/// What the ledger gives, as rows like [`stored_rows`].
fn ledger_rows(ledger: &Ledger, members: &[i64], years: &[i32]) -> Vec<(i64, i32, i64, i64)> {
    let mut rows = Vec::new();
    for &m in members {
        for &y in years {
            let (a, f) = (
                ledger.annual_score(mid(m), y).get(),
                ledger.net_flow(mid(m), y).get(),
            );
            if (a, f) != (0, 0) {
                rows.push((m, y, a, f));
            }
        }
    }
    rows
}

/// Posts `n` awards to members 1..=3 in one job (one batch), and records them.
fn large_batch(ts: &TestStore, ledger: &mut Ledger, n: usize) {
    let posted = ts
        .write(move |b| {
            (0..n)
                .map(|i| b.append(append_req(VIL, award(i as i64 % 3 + 1, "MEET", 5, 1))))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("batch posted");
    for e in posted {
        ledger.apply(&e, year_of(&e)).expect("applies");
    }
}

fn post(ts: &TestStore, ledger: &mut Ledger, e: NewEntry) {
    let e = ts.append_ok(VIL, e);
    ledger.apply(&e, year_of(&e)).expect("applies");
}

/// A village with one base grant; returns its local year too.
fn village_with_points() -> (TestStore, Ledger, i32) {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let mut ledger = Ledger::new();
    let e = ts.append_ok(VIL, entry(jifen_core::EntryKind::BaseGrant, 1, 100));
    ledger.apply(&e, year_of(&e)).expect("applies");
    (ts, ledger, year_of(&e))
}

#[test]
fn a_large_batch_stays_unfolded_and_every_reader_adds_it() {
    let (ts, mut ledger, year) = village_with_points();
    assert_eq!(mark_and_size(&ts), (1, 1), "a single entry folds at once");

    large_batch(&ts, &mut ledger, FOLD_INLINE_BELOW + 200);
    let (mark, size) = mark_and_size(&ts);
    assert_eq!(
        (mark, size),
        (1, 1 + FOLD_INLINE_BELOW as u64 + 200),
        "a large batch is not folded"
    );
    // The stored rows alone still show only the base grant ...
    assert_eq!(stored_rows(&ts), vec![(1, year, 100, 100)]);
    // ... but balances, scores, levels and the audit see every entry.
    assert_members_match(&ts, &ledger, year);
    ts.assert_balances_match(VIL, &ledger);
    ts.audit(|_, _| {}).expect("audit passes with a tail");

    // Redeeming checks the balance with the tail in it: member 2 has 410 × 5 points.
    let spendable = ledger.net_flow(mid(2), year).get();
    let over = ts.append(append_req(VIL, redemption(2, spendable + 1)));
    assert!(
        matches!(&over, Err(e) if e.to_string().contains(&format!("spendable balance {spendable}"))),
        "{over:?}"
    );
    // A small batch folds everything gathered before it, and the stored rows are whole.
    post(&ts, &mut ledger, redemption(2, spendable));
    let (mark, size) = mark_and_size(&ts);
    assert_eq!(mark, size, "a small batch folds the tail in");
    assert_eq!(stored_rows(&ts), ledger_rows(&ledger, &[1, 2, 3], &[year]));
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn a_wrong_fold_mark_is_caught() {
    let (ts, mut ledger, _) = village_with_points();
    post(&ts, &mut ledger, award(3, "MEET", 5, 2));
    ts.audit(|_, _| {}).expect("audit passes");
    // Below the truth: the last entry counts twice.
    ts.raw_execute("UPDATE member_year_folds SET upto = upto - 1 WHERE region = 'vil'");
    let r = ts.audit(|_, _| {});
    assert!(
        matches!(&r, Err(StoreError::Corrupt(m)) if m.contains("member 3")),
        "{r:?}"
    );
    // Beyond the log.
    ts.raw_execute("UPDATE member_year_folds SET upto = upto + 5 WHERE region = 'vil'");
    let r = ts.audit(|_, _| {});
    assert!(
        matches!(&r, Err(StoreError::Corrupt(m)) if m.contains("beyond the log")),
        "{r:?}"
    );
}

#[test]
fn a_fold_undone_with_its_job_is_folded_again_later() {
    let (ts, mut ledger, year) = village_with_points();
    large_batch(&ts, &mut ledger, FOLD_INLINE_BELOW + 10);
    // A job folds, then fails: its fold is rolled back with it.
    let r = ts.write(|b| {
        b.fold_member_years(&rc(VIL))?;
        Err::<(), _>(StoreError::rejected("the job fails after folding"))
    });
    assert!(r.is_err());
    let (mark, size) = mark_and_size(&ts);
    assert!(mark < size, "the failed job's fold is gone");
    ts.assert_balances_match(VIL, &ledger);
    // The sums it had taken are still there to fold.
    ts.write(|b| b.fold_member_years(&rc(VIL))).expect("folded");
    let (mark, size) = mark_and_size(&ts);
    assert_eq!(mark, size);
    assert_eq!(stored_rows(&ts), ledger_rows(&ledger, &[1, 2, 3], &[year]));
    ts.audit(|_, _| {}).expect("audit passes");
}

/// A sequencer that starts on a database with unfolded entries (it stopped without
/// folding, say it crashed) reads them back and folds them with the next ones.
#[test]
fn a_restarted_sequencer_reads_the_tail_back() {
    let (ts, mut ledger, year) = village_with_points();
    large_batch(&ts, &mut ledger, 300);
    ts.store.close();
    let database = ts.store.database().clone();
    // As if the writer had stopped before folding anything.
    let raw = ts.raw_conn();
    raw.execute_batch(
        "DELETE FROM member_years WHERE region = 'vil'; \
         UPDATE member_year_folds SET upto = 0 WHERE region = 'vil'",
    )
    .expect("unfolded");
    drop(raw);
    let store = Store::open_with(ts.dir.path(), &database, ts.clock.clone()).expect("reopens");
    assert_eq!(mark_and_size(&store), (0, 301));
    assert!(stored_rows(&store).is_empty());
    let all = store
        .read(|c| jifen_store::member_years::all(c, &rc(VIL)))
        .expect("read");
    assert_eq!(all, ledger_rows(&ledger, &[1, 2, 3], &[year]));
    store
        .audit(|_, _| {})
        .expect("audit passes on the tail alone");
    // The next batch (small) folds the tail the sequencer read back, and its own entry.
    let e = store
        .append(append_req(VIL, award(2, "MEET", 5, 1)))
        .expect("posted");
    ledger.apply(&e, year_of(&e)).expect("applies");
    assert_eq!(mark_and_size(&store), (302, 302));
    assert_eq!(
        stored_rows(&store),
        ledger_rows(&ledger, &[1, 2, 3], &[year])
    );
    store.audit(|_, _| {}).expect("audit passes");
    store.close();
}

/// PostgreSQL, two writers on one database: one that folds another's entries
/// (stopping, or for a year close) without extending the tree must not leave the
/// other holding sums that are folded already (they would count twice).
#[test]
fn a_fold_by_another_writer_is_seen() {
    if !crate::common::ON_POSTGRES {
        // One SQLite file has one writer process.
        return;
    }
    let (ts, mut ledger, year) = village_with_points();
    large_batch(&ts, &mut ledger, FOLD_INLINE_BELOW + 50);
    let (mark, size) = mark_and_size(&ts);
    assert!(mark < size, "the first writer holds the batch unfolded");
    let database = ts.store.database().clone();
    let other = Store::open_with(ts.dir.path(), &database, ts.clock.clone()).expect("opens");
    other
        .write(|b| b.fold_member_years(&rc(VIL)))
        .expect("the other writer folds");
    other.close();
    assert_eq!(mark_and_size(&ts), (size, size));
    // The first writer's next (small) batch must not fold those sums again.
    post(&ts, &mut ledger, award(1, "MEET", 5, 1));
    assert_eq!(stored_rows(&ts), ledger_rows(&ledger, &[1, 2, 3], &[year]));
    ts.audit(|_, _| {}).expect("audit passes");
}

/// A database from before member years were folded later (every batch folded its
/// own entries) is upgraded by the migration that adds the marks: each region's
/// mark is its log's size, so nothing is counted twice and nothing is missed.
#[test]
fn a_database_from_before_the_marks_is_upgraded() {
    let (ts, mut ledger, year) = village_with_points();
    for m in 1..=3 {
        post(&ts, &mut ledger, award(m, "MEET", 5, 1));
    }
    post(&ts, &mut ledger, redemption(2, 3));
    let (mark, size) = mark_and_size(&ts);
    assert_eq!(mark, size, "small batches fold at once");
    ts.store.close();
    let database = ts.store.database().clone();
    // Back to the schema before the marks: no member_year_folds, an older version,
    // and none of the later migrations (the idempotency digests, the sign-in attempts,
    // the data access log, the attributes, the region settings, the review reasons and member codes, the shop's pictures, the witnesses, the agreements and transfers, the recognized scores).
    let raw = ts.raw_conn();
    raw.execute_batch(match &database {
        Database::Sqlite => {
            "DROP TABLE recognized_scores; DROP TABLE transfers_in; DROP TABLE transfers_out; DROP TABLE recognition_agreements; DROP TABLE witnessed_logs; DROP TABLE region_witnesses; DROP TABLE cosignatures; \
             ALTER TABLE regions DROP COLUMN witness_quorum; \
             DROP TABLE reward_pictures; ALTER TABLE rewards DROP COLUMN category; \
             DROP TABLE member_codes; ALTER TABLE claim_reviews DROP COLUMN reason; \
             ALTER TABLE regions DROP COLUMN review_days; \
             ALTER TABLE accounts DROP COLUMN lang; ALTER TABLE regions DROP COLUMN default_lang; \
             ALTER TABLE regions DROP COLUMN stations_run_events; \
             DROP TABLE member_attributes; DROP TABLE data_access; DROP TABLE sign_ins; DROP INDEX http_idempotency_created; \
             ALTER TABLE http_idempotency DROP COLUMN request; \
             DROP TABLE member_year_folds; PRAGMA user_version = 4"
        }
        Database::Postgres(_) => {
            "DROP TABLE recognized_scores; DROP TABLE transfers_in; DROP TABLE transfers_out; DROP TABLE recognition_agreements; DROP TABLE witnessed_logs; DROP TABLE region_witnesses; DROP TABLE cosignatures; \
             ALTER TABLE regions DROP COLUMN witness_quorum; \
             DROP TABLE reward_pictures; ALTER TABLE rewards DROP COLUMN category; \
             DROP TABLE member_codes; ALTER TABLE claim_reviews DROP COLUMN reason; \
             ALTER TABLE regions DROP COLUMN review_days; \
             ALTER TABLE accounts DROP COLUMN lang; ALTER TABLE regions DROP COLUMN default_lang; \
             ALTER TABLE regions DROP COLUMN stations_run_events; \
             DROP TABLE member_attributes; DROP TABLE data_access; DROP TABLE sign_ins; DROP INDEX http_idempotency_created; \
             ALTER TABLE http_idempotency DROP COLUMN request; \
             DROP TABLE member_year_folds; UPDATE jifen_schema SET version = 5"
        }
    })
    .expect("downgraded");
    drop(raw);
    let store = Store::open_with(ts.dir.path(), &database, ts.clock.clone()).expect("upgrades");
    assert_eq!(
        mark_and_size(&store),
        (size, size),
        "the mark is the log's size"
    );
    let all = store
        .read(|c| jifen_store::member_years::all(c, &rc(VIL)))
        .expect("read");
    assert_eq!(all, ledger_rows(&ledger, &[1, 2, 3], &[year]));
    assert_members_match(&store, &ledger, year);
    store
        .audit(|_, _| {})
        .expect("audit passes after the upgrade");
    // And the store goes on as before.
    let e = store
        .append(append_req(VIL, award(3, "MEET", 5, 1)))
        .expect("posted");
    ledger.apply(&e, year_of(&e)).expect("applies");
    assert_eq!(
        stored_rows(&store),
        ledger_rows(&ledger, &[1, 2, 3], &[year])
    );
    store.audit(|_, _| {}).expect("audit passes");
    store.close();
}
