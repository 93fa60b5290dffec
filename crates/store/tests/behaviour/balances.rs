//! Balances: spendable balance, annual score by local year, levels, and the zero sum.

use jifen_core::{EntryKind, Ledger, NewEntry};

use crate::common::{
    Expect, VIL, append_req, award, check, deduction, entry, indicator, levels, local, mid, rc,
    redemption, reversal, spawn_village, sponsor, year_of,
};

#[test]
fn spendable_annual_score_and_level_follow_the_entries() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.put(indicator(VIL, "LITTER", -10));
    ts.set_levels(rc(VIL), levels(&[("voucher", 80), ("model", 120)]))
        .expect("levels set");
    let mut ledger = Ledger::new();
    let mut post = |e: NewEntry| {
        let posted = ts.append_ok(VIL, e);
        ledger.apply(&posted, year_of(&posted)).expect("applies");
        posted
    };
    post(entry(EntryKind::BaseGrant, 1, 100));
    post(award(1, "MEET", 5, 2));
    post(deduction(1, "LITTER", 10, 1));
    let undone = post(award(1, "MEET", 5, 1));
    post(reversal(1, undone.seq, 5));
    let deducted = post(deduction(1, "LITTER", 10, 1));
    post(reversal(1, deducted.seq, 10));
    post(award(2, "MEET", 5, 1));

    let b = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    assert_eq!((b.spendable.get(), b.annual_score.get()), (100, 100));
    assert_eq!(b.level.as_ref().map(|l| l.code.as_str()), Some("voucher"));

    // Redeeming spends points but never costs the level.
    post(redemption(1, 30));
    let b = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    assert_eq!((b.spendable.get(), b.annual_score.get()), (70, 100));
    assert_eq!(b.level.as_ref().map(|l| l.code.as_str()), Some("voucher"));
    let over = ts.append(append_req(VIL, redemption(1, 71)));
    check(
        "redeem beyond the balance",
        &over,
        Expect::Rejected("spendable balance 70"),
    );
    post(redemption(1, 70));
    // A refund gives spendable points back, not score.
    post(NewEntry {
        sponsor: Some(sponsor("coop")),
        ..entry(EntryKind::Refund, 1, 20)
    });
    let b = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    assert_eq!((b.spendable.get(), b.annual_score.get()), (20, 100));

    // More awards lift the level.
    post(award(1, "MEET", 5, 4));
    let b = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    assert_eq!((b.spendable.get(), b.annual_score.get()), (40, 120));
    assert_eq!(b.level.map(|l| l.code), Some("model".to_owned()));
    let b2 = ts.balance(&rc(VIL), mid(2), 2026).expect("balance");
    assert_eq!(
        (b2.spendable.get(), b2.annual_score.get(), b2.level),
        (5, 5, None)
    );
    check(
        "unknown member",
        &ts.balance(&rc(VIL), mid(99), 2026),
        Expect::NotFound("member 99"),
    );

    ts.assert_balances_match(VIL, &ledger);
    let redeemed = ts
        .stored_balances(VIL)
        .system
        .into_iter()
        .find(|(a, _)| a == "redemption:coop")
        .map(|(_, b)| b);
    assert_eq!(
        redeemed,
        Some(80),
        "the sponsor's account holds what was redeemed, net of refunds"
    );
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn annual_scores_split_by_local_year() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let mut ledger = Ledger::new();
    // 23:30 on New Year's Eve in China.
    ts.set_time(local("2026-12-31", 23, 30));
    let late = ts.append_ok(VIL, award(1, "MEET", 5, 1));
    // 00:30 on New Year's Day in China is still 2026-12-31 in UTC.
    ts.set_time(local("2027-01-01", 0, 30));
    let early = ts.append_ok(VIL, award(1, "MEET", 5, 2));
    assert_eq!((year_of(&late), year_of(&early)), (2026, 2027));
    for e in [&late, &early] {
        ledger.apply(e, year_of(e)).expect("applies");
    }
    let b26 = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    let b27 = ts.balance(&rc(VIL), mid(1), 2027).expect("balance");
    assert_eq!(b26.annual_score.get(), 5);
    assert_eq!(b27.annual_score.get(), 10);
    assert_eq!((b26.spendable.get(), b27.spendable.get()), (15, 15));
    // A reversal in 2027 of a 2026 award counts against 2027's score, where it was posted.
    let r = ts.append_ok(VIL, reversal(1, late.seq, 5));
    ledger.apply(&r, year_of(&r)).expect("applies");
    let b27 = ts.balance(&rc(VIL), mid(1), 2027).expect("balance");
    assert_eq!((b27.annual_score.get(), b27.spendable.get()), (5, 10));
    ts.assert_balances_match(VIL, &ledger);
    ts.audit(|_, _| {}).expect("audit passes");
}
