//! Appends: the rules an entry must pass, caps in the local calendar, idempotency.

use std::sync::mpsc;

use jifen_core::{Caps, EntryKind, IndicatorRef, Points};
use jifen_store::{Append, StoreError};

use crate::common::{
    Expect, VIL, append_req, award, check, code, deduction, entry, in_one_batch, indicator, local,
    redemption, reversal, spawn_village,
};

#[test]
fn an_entry_must_fit_its_indicator_member_and_kind() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.put(indicator(VIL, "LITTER", -10));
    let first = ts.append_ok(VIL, award(3, "MEET", 5, 1));

    let with_version = |mut e: jifen_core::NewEntry, version: u32| {
        e.indicator = Some(IndicatorRef {
            code: code("MEET"),
            version,
        });
        e
    };
    let no_sponsor = {
        let mut e = redemption(3, 1);
        e.sponsor = None;
        e
    };
    let mut zero_quantity = entry(EntryKind::BaseGrant, 1, 5);
    zero_quantity.quantity = 0;
    let cases: Vec<(&str, &str, jifen_core::NewEntry, Expect)> = vec![
        (
            "amount = points × quantity",
            VIL,
            award(1, "MEET", 5, 3),
            Expect::Ok,
        ),
        (
            "amount one short",
            VIL,
            award(1, "MEET", 5, 3).with_amount(14),
            Expect::Rejected("does not match"),
        ),
        (
            "amount one over",
            VIL,
            award(1, "MEET", 5, 1).with_amount(6),
            Expect::Rejected("does not match"),
        ),
        (
            "award under a deduction indicator",
            VIL,
            award(1, "LITTER", 10, 1),
            Expect::Rejected("deducts"),
        ),
        (
            "deduction under an award indicator",
            VIL,
            deduction(1, "MEET", 5, 1),
            Expect::Rejected("awards"),
        ),
        (
            "deduction under a deduction indicator",
            VIL,
            deduction(1, "LITTER", 10, 2),
            Expect::Ok,
        ),
        (
            "unknown member",
            VIL,
            award(99, "MEET", 5, 1),
            Expect::NotFound("member 99"),
        ),
        (
            "unknown indicator",
            VIL,
            award(1, "NOPE", 5, 1),
            Expect::NotFound("NOPE"),
        ),
        (
            "unknown indicator version",
            VIL,
            with_version(award(1, "MEET", 5, 1), 9),
            Expect::NotFound("version 9"),
        ),
        (
            "award without indicator",
            VIL,
            entry(EntryKind::Award, 1, 5),
            Expect::Rejected("needs an indicator"),
        ),
        (
            "zero amount",
            VIL,
            entry(EntryKind::BaseGrant, 1, 0),
            Expect::Rejected("positive"),
        ),
        (
            "negative amount",
            VIL,
            entry(EntryKind::BaseGrant, 1, -5),
            Expect::Rejected("positive"),
        ),
        (
            "zero quantity",
            VIL,
            zero_quantity,
            Expect::Rejected("quantity"),
        ),
        (
            "unknown region",
            "elsewhere",
            award(1, "MEET", 5, 1),
            Expect::NotFound("elsewhere"),
        ),
        (
            "reversal of a missing entry",
            VIL,
            reversal(1, 999, 1),
            Expect::NotFound("999"),
        ),
        (
            "reversal of another member's entry",
            VIL,
            reversal(1, first.seq, 5),
            Expect::Rejected("another member"),
        ),
        (
            "reversal beyond the entry",
            VIL,
            reversal(3, first.seq, 6),
            Expect::Rejected("exceeds"),
        ),
        (
            "redemption without a sponsor",
            VIL,
            no_sponsor,
            Expect::Rejected("sponsor"),
        ),
        (
            "base grant",
            VIL,
            entry(EntryKind::BaseGrant, 2, 100),
            Expect::Ok,
        ),
    ];
    let accepted = 1 + cases.iter().filter(|c| matches!(c.3, Expect::Ok)).count() as u64;
    for (label, region, e, expect) in cases {
        check(label, &ts.append(append_req(region, e)), expect);
    }
    assert_eq!(
        ts.entry_count(VIL),
        accepted,
        "refused appends post nothing"
    );
    assert_eq!(ts.tree_size(VIL), accepted);
    ts.audit(|_, _| {}).expect("audit passes");
}

fn capped(ts: &crate::common::TestStore, c: &str, caps: Caps) {
    ts.put(jifen_core::Indicator {
        caps,
        ..indicator(VIL, c, 2)
    });
}

#[test]
fn the_day_cap_counts_in_the_local_day() {
    let ts = spawn_village();
    capped(
        &ts,
        "DAILY",
        Caps {
            per_day: Some(2),
            ..Caps::default()
        },
    );
    let try_award = |qty: u32| ts.append(append_req(VIL, award(1, "DAILY", 2, qty)));

    // 23:30 in China is 15:30 UTC: the UTC day goes on past local midnight.
    ts.set_time(local("2026-03-10", 23, 30));
    check("first", &try_award(1), Expect::Ok);
    check("second", &try_award(1), Expect::Ok);
    let third = try_award(1);
    check(
        "third, over the day cap",
        &third,
        Expect::Rejected("at most 2 per day"),
    );
    assert!(
        third
            .as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("DAILY")),
        "the message names the indicator: {third:?}"
    );
    // 00:30 local the next day, still 2026-03-10 in UTC: a new day here.
    ts.set_time(local("2026-03-11", 0, 30));
    check("after local midnight", &try_award(2), Expect::Ok);
    check(
        "the new day is full too",
        &try_award(1),
        Expect::Rejected("per day"),
    );

    // 07:00 and 09:00 local on 03-12 fall on different UTC days but one local day.
    ts.set_time(local("2026-03-12", 7, 0));
    check("early morning", &try_award(2), Expect::Ok);
    ts.set_time(local("2026-03-12", 9, 0));
    check(
        "same local day, next UTC day",
        &try_award(1),
        Expect::Rejected("per day"),
    );
    // Quantity counts, not entries.
    ts.set_time(local("2026-03-13", 9, 0));
    check(
        "three units at once",
        &try_award(3),
        Expect::Rejected("per day"),
    );
    check("two units at once", &try_award(2), Expect::Ok);
    // Another member has their own cap.
    check(
        "another member",
        &ts.append(append_req(VIL, award(2, "DAILY", 2, 2))),
        Expect::Ok,
    );
    assert_eq!(ts.entry_count(VIL), 6);
}

#[test]
fn month_and_year_caps_end_with_the_local_period() {
    let ts = spawn_village();
    capped(
        &ts,
        "MONTHLY",
        Caps {
            per_month: Some(3),
            ..Caps::default()
        },
    );
    capped(
        &ts,
        "YEARLY",
        Caps {
            per_year: Some(2),
            ..Caps::default()
        },
    );
    let try_award = |c: &str, qty: u32| ts.append(append_req(VIL, award(1, c, 2, qty)));

    ts.set_time(local("2026-03-01", 8, 0));
    check("month: two", &try_award("MONTHLY", 2), Expect::Ok);
    ts.set_time(local("2026-03-31", 23, 50));
    check("month: third", &try_award("MONTHLY", 1), Expect::Ok);
    check(
        "month: fourth",
        &try_award("MONTHLY", 1),
        Expect::Rejected("at most 3 per month"),
    );
    ts.set_time(local("2026-04-01", 0, 10));
    check(
        "month: next local month",
        &try_award("MONTHLY", 3),
        Expect::Ok,
    );

    ts.set_time(local("2026-12-31", 23, 50));
    check("year: two", &try_award("YEARLY", 2), Expect::Ok);
    check(
        "year: third",
        &try_award("YEARLY", 1),
        Expect::Rejected("at most 2 per year"),
    );
    // 2027-01-01 00:10 in China is still 2026 in UTC.
    ts.set_time(local("2027-01-01", 0, 10));
    check("year: next local year", &try_award("YEARLY", 2), Expect::Ok);
}

#[test]
fn caps_count_entries_pending_in_the_same_batch() {
    let ts = spawn_village();
    capped(
        &ts,
        "DAILY",
        Caps {
            per_day: Some(2),
            ..Caps::default()
        },
    );
    let (tx, rx) = mpsc::channel();
    in_one_batch(&ts, || {
        for _ in 0..3 {
            let tx = tx.clone();
            ts.append_with(append_req(VIL, award(1, "DAILY", 2, 1)), move |r| {
                let _ = tx.send(r);
            })
            .expect("queued");
        }
    });
    let results: Vec<_> = (0..3).map(|_| rx.recv().expect("answered")).collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 2, "two fit under the cap: {results:?}");
    check("the third", &results[2], Expect::Rejected("per day"));
    assert_eq!(ts.entry_count(VIL), 2);
}

#[test]
fn an_idempotent_retry_returns_the_first_entry() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let keyed = |key: &str, e: jifen_core::NewEntry| Append {
        idempotency_key: Some(key.into()),
        ..append_req(VIL, e)
    };
    let first = ts
        .append(keyed("k1", award(1, "MEET", 5, 1)))
        .expect("posted");
    let again = ts
        .append(keyed("k1", award(1, "MEET", 5, 1)))
        .expect("retried");
    assert_eq!(again, first, "a retry returns the same entry");
    // Even a changed body under the same key returns the first entry.
    let changed = ts
        .append(keyed("k1", award(1, "MEET", 5, 2)))
        .expect("retried");
    assert_eq!(changed.seq, first.seq);
    assert_eq!(ts.entry_count(VIL), 1);
    let b = ts
        .balance(&crate::common::rc(VIL), crate::common::mid(1), 2026)
        .expect("balance");
    assert_eq!(b.spendable.get(), 5, "posted once");

    // Within one batch: both requests answer with one entry.
    let (tx, rx) = mpsc::channel();
    in_one_batch(&ts, || {
        for _ in 0..2 {
            let tx = tx.clone();
            ts.append_with(keyed("k2", award(2, "MEET", 5, 1)), move |r| {
                let _ = tx.send(r);
            })
            .expect("queued");
        }
    });
    let a = rx.recv().expect("answered").expect("posted");
    let b = rx.recv().expect("answered").expect("posted");
    assert_eq!(a, b);
    assert_eq!(a.seq, 1);
    assert_eq!(ts.entry_count(VIL), 2);
    let b2 = ts
        .balance(&crate::common::rc(VIL), crate::common::mid(2), 2026)
        .expect("balance");
    assert_eq!(b2.spendable.get(), 5, "posted once in the batch");

    // A refused request does not use up its key.
    let refused = ts.append(keyed("k3", award(1, "MEET", 5, 9).with_amount(1)));
    check("refused", &refused, Expect::Rejected("does not match"));
    let posted = ts
        .append(keyed("k3", award(1, "MEET", 5, 1)))
        .expect("posted");
    assert_eq!(posted.seq, 2);

    // Keys are checked.
    let empty = ts.append(keyed("", award(1, "MEET", 5, 1)));
    check("empty key", &empty, Expect::Rejected("idempotency key"));
    let long = ts.append(keyed(&"k".repeat(129), award(1, "MEET", 5, 1)));
    check("long key", &long, Expect::Rejected("idempotency key"));
    assert_eq!(ts.entry_count(VIL), 3);
    ts.audit(|_, _| {}).expect("audit passes");
}

trait WithAmount {
    fn with_amount(self, amount: i64) -> Self;
}

impl WithAmount for jifen_core::NewEntry {
    fn with_amount(mut self, amount: i64) -> Self {
        self.amount = Points::new(amount);
        self
    }
}

#[test]
fn a_redemption_needs_the_spendable_balance() {
    let ts = spawn_village();
    ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 10));
    let r = ts.append(append_req(VIL, redemption(1, 11)));
    check(
        "beyond the balance",
        &r,
        Expect::Rejected("spendable balance 10"),
    );
    assert!(
        matches!(
            r,
            Err(StoreError::Refused {
                code: "balance-too-low",
                ..
            })
        ),
        "a refusal people are told in their language: {r:?}"
    );
    check(
        "the whole balance",
        &ts.append(append_req(VIL, redemption(1, 10))),
        Expect::Ok,
    );
    check(
        "nothing left",
        &ts.append(append_req(VIL, redemption(1, 1))),
        Expect::Rejected("spendable"),
    );
}

#[test]
fn an_indicator_is_valid_until_the_end_of_its_last_local_day() {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        valid_to: Some(jifen_core::clock::parse_date("2026-03-10").expect("date")),
        ..indicator(VIL, "OLD", 5)
    });
    ts.set_time(local("2026-03-10", 23, 30));
    check(
        "on its last day",
        &ts.append(append_req(VIL, award(1, "OLD", 5, 1))),
        Expect::Ok,
    );
    // 00:30 on 03-11 in China is still 03-10 in UTC.
    ts.set_time(local("2026-03-11", 0, 30));
    check(
        "the day after",
        &ts.append(append_req(VIL, award(1, "OLD", 5, 1))),
        Expect::Rejected("not valid on 2026-03-11"),
    );
}

#[test]
fn a_batch_counts_its_own_redemptions_and_reversals() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 10));
    let a = ts.append_ok(VIL, award(1, "MEET", 5, 4));
    let (tx, rx) = mpsc::channel();
    in_one_batch(&ts, || {
        // 30 spendable: 20 + 20 does not fit; reversals of 12 + 12 do not fit the award's 20.
        for e in [
            redemption(1, 20),
            redemption(1, 20),
            reversal(1, a.seq, 12),
            reversal(1, a.seq, 12),
        ] {
            let tx = tx.clone();
            ts.append_with(append_req(VIL, e), move |r| {
                let _ = tx.send(r);
            })
            .expect("queued");
        }
    });
    let results: Vec<_> = (0..4).map(|_| rx.recv().expect("answered")).collect();
    check("first redemption", &results[0], Expect::Ok);
    check(
        "second redemption",
        &results[1],
        Expect::Rejected("spendable balance 10"),
    );
    check("first reversal", &results[2], Expect::Ok);
    check("second reversal", &results[3], Expect::Rejected("exceeds"));
    assert_eq!(ts.entry_count(VIL), 4);
    ts.audit(|_, _| {}).expect("audit passes");
}
