//! The points supermarket: catalog, reservations, the race for the last item,
//! merchant confirmation, cancellation and timeout refunds, budgets.

use jifen_core::market::{Policy, RedemptionStatus, Reward, RewardKind, Sponsor, SponsorKind};
use jifen_core::{Account, CapPeriod, EntryKind, clock::parse_date};
use jifen_store::market::{RedemptionFilter, Reserve};

use crate::common::{
    Expect, TestStore, VIL, check, entry, levels, mid, op, pts, rc, spawn_village, sponsor,
};

fn reward(name: &str, price: i64, stock: u32) -> Reward {
    Reward {
        name: name.into(),
        description: "村超市货架".into(),
        kind: RewardKind::Goods,
        price: pts(price),
        stock,
        min_level: None,
        limit: None,
        sponsor: sponsor("coop"),
        active_from: parse_date("2026-01-01").expect("date"),
        active_to: None,
        category: None,
    }
}

fn shop(budget: i64) -> TestStore {
    let ts = spawn_village();
    ts.put_sponsor(
        rc(VIL),
        Sponsor {
            code: sponsor("coop"),
            name: "供销社".into(),
            kind: SponsorKind::Merchant,
            budget: pts(budget),
        },
    )
    .expect("sponsor");
    for m in 1..=3 {
        ts.append_ok(VIL, entry(EntryKind::BaseGrant, m, 100));
    }
    ts
}

fn reserve(
    ts: &TestStore,
    reward: u64,
    member: i64,
) -> jifen_store::Result<jifen_store::market::RedemptionView> {
    ts.reserve(Reserve {
        region: rc(VIL),
        reward,
        member: mid(member),
        by: op(500 + member),
    })
}

fn spendable(ts: &TestStore, member: i64) -> i64 {
    ts.balance(&rc(VIL), mid(member), 2026)
        .expect("balance")
        .spendable
        .get()
}

#[test]
fn reserve_confirm_and_the_ledger_agree() {
    let ts = shop(10_000);
    let id = ts
        .add_reward(rc(VIL), reward("大米 5kg", 30, 5))
        .expect("reward");
    let d = reserve(&ts, id, 1).expect("reserved");
    assert_eq!(d.status, RedemptionStatus::Reserved);
    assert_eq!(spendable(&ts, 1), 70);
    let e = ts.receipt(&rc(VIL), d.entry_seq).expect("entry").0;
    assert_eq!(e.kind, EntryKind::Redemption);
    assert_eq!(e.credit, Account::Redemption(sponsor("coop")));
    assert_eq!(
        ts.rewards(&rc(VIL), None).expect("rewards")[0].reward.stock,
        4
    );

    // Another sponsor's merchant cannot see or confirm it; the code reads as unknown.
    let other = ts.confirm_redemption(rc(VIL), d.code.clone(), sponsor("bank"), op(9));
    check("other sponsor", &other, Expect::NotFound("code"));
    let done = ts
        .confirm_redemption(rc(VIL), d.code.clone(), sponsor("coop"), op(9))
        .expect("confirmed");
    assert_eq!(done.status, RedemptionStatus::Fulfilled);
    assert_eq!(done.closed_by, Some(op(9)));
    let again = ts.confirm_redemption(rc(VIL), d.code.clone(), sponsor("coop"), op(9));
    check(
        "confirm twice",
        &again,
        Expect::Conflict("fulfilled already"),
    );
    // Fulfilled cannot be cancelled, and the points stay spent.
    let cancel = ts.cancel_redemption(rc(VIL), d.id, None, op(9));
    check(
        "cancel fulfilled",
        &cancel,
        Expect::Conflict("fulfilled already"),
    );
    assert_eq!(spendable(&ts, 1), 70);
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn two_racing_for_the_last_item_get_it_once() {
    let ts = shop(10_000);
    let id = ts
        .add_reward(rc(VIL), reward("公园年卡", 20, 1))
        .expect("reward");
    // Both reservations are queued at once and land in the same writer batch.
    let (tx, rx) = std::sync::mpsc::channel();
    for m in [1, 2] {
        let tx = tx.clone();
        ts.store
            .write_with(
                move |b| {
                    jifen_store::market::reserve_in(
                        b,
                        Reserve {
                            region: rc(VIL),
                            reward: id,
                            member: mid(m),
                            by: op(500 + m),
                        },
                    )
                },
                move |r| {
                    let _ = tx.send((m, r));
                },
            )
            .expect("queued");
    }
    drop(tx);
    let results: Vec<_> = rx.iter().collect();
    let won: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    let lost = results.iter().find(|(_, r)| r.is_err()).expect("a loser");
    check("the loser", &lost.1, Expect::Rejected("out of stock"));
    // The loser paid nothing; the winner paid once.
    let (winner, loser) = (won[0].0, lost.0);
    assert_eq!(spendable(&ts, winner), 80);
    assert_eq!(spendable(&ts, loser), 100);
    assert_eq!(
        ts.rewards(&rc(VIL), None).expect("rewards")[0].reward.stock,
        0
    );
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn cancellation_and_timeout_refund_and_restock() {
    let ts = shop(10_000);
    ts.set_policy(
        rc(VIL),
        Policy {
            reservation_hours: 48,
            ..Policy::default()
        },
    )
    .expect("policy");
    let id = ts
        .add_reward(rc(VIL), reward("理发券", 10, 2))
        .expect("reward");
    let a = reserve(&ts, id, 1).expect("reserved");
    let b = reserve(&ts, id, 2).expect("reserved");
    assert_eq!(b.expires.millis() - b.reserved.millis(), 48 * 3_600_000);
    // A resident may cancel only their own.
    let theirs = ts.cancel_redemption(rc(VIL), a.id, Some(mid(2)), op(502));
    check("someone else's", &theirs, Expect::NotFound("redemption"));
    let c = ts
        .cancel_redemption(rc(VIL), a.id, Some(mid(1)), op(501))
        .expect("cancelled");
    assert_eq!(c.status, RedemptionStatus::Cancelled);
    let refund = ts
        .receipt(&rc(VIL), c.refund_seq.expect("refund"))
        .expect("entry")
        .0;
    assert_eq!((refund.kind, refund.amount.get()), (EntryKind::Refund, 10));
    assert_eq!(spendable(&ts, 1), 100);

    // Nothing expires before the window ends.
    ts.advance_days(1);
    assert!(ts.expire_reservations().expect("sweep").is_empty());
    ts.advance_days(1);
    let swept = ts.expire_reservations().expect("sweep");
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].status, RedemptionStatus::Expired);
    assert_eq!(spendable(&ts, 2), 100);
    assert_eq!(
        ts.rewards(&rc(VIL), None).expect("rewards")[0].reward.stock,
        2
    );
    // A late confirmation is told the reservation expired.
    let late = ts.confirm_redemption(rc(VIL), b.code.clone(), sponsor("coop"), op(9));
    check("late confirm", &late, Expect::Conflict("expired already"));
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn a_code_confirmed_after_its_window_expires_and_refunds() {
    let ts = shop(10_000);
    let id = ts
        .add_reward(rc(VIL), reward("洗衣粉", 10, 2))
        .expect("reward");
    let d = reserve(&ts, id, 1).expect("reserved");
    ts.advance_days(4);
    // No sweep ran; the confirmation itself finds the reservation stale.
    let r = ts
        .confirm_redemption(rc(VIL), d.code, sponsor("coop"), op(9))
        .expect("answered");
    assert_eq!(r.status, RedemptionStatus::Expired);
    assert_eq!(spendable(&ts, 1), 100);
}

#[test]
fn rules_of_the_shelf_refuse_with_reasons() {
    let ts = shop(10_000);
    ts.set_levels(rc(VIL), levels(&[("voucher", 150)]))
        .expect("levels");
    let mut r = reward("油", 10, 10);
    r.limit = Some((1, CapPeriod::Month));
    let limited = ts.add_reward(rc(VIL), r).expect("reward");
    let mut r = reward("电饭煲", 50, 10);
    r.min_level = Some("voucher".into());
    let gated = ts.add_reward(rc(VIL), r).expect("reward");
    let mut r = reward("春联", 5, 10);
    r.active_to = Some(parse_date("2026-02-28").expect("date"));
    let over = ts.add_reward(rc(VIL), r).expect("reward");
    let pricey = ts
        .add_reward(rc(VIL), reward("自行车", 500, 1))
        .expect("reward");

    reserve(&ts, limited, 1).expect("first this month");
    check(
        "limit",
        &reserve(&ts, limited, 1),
        Expect::Rejected("1 per member per month"),
    );
    check(
        "level",
        &reserve(&ts, gated, 1),
        Expect::Rejected("needs level voucher"),
    );
    check(
        "dates",
        &reserve(&ts, over, 1),
        Expect::Rejected("not on offer"),
    );
    check(
        "balance",
        &reserve(&ts, pricey, 1),
        Expect::Rejected("spendable balance"),
    );
    check(
        "no reward",
        &reserve(&ts, 99, 1),
        Expect::NotFound("reward 99"),
    );
    check(
        "no member",
        &reserve(&ts, limited, 9),
        Expect::NotFound("member 9"),
    );
    // Next month the limit resets.
    ts.advance_days(31);
    reserve(&ts, limited, 1).expect("next month");

    // A reward must name a sponsor and a level that exist.
    let mut r = reward("x", 1, 1);
    r.sponsor = sponsor("nobody");
    check(
        "sponsor",
        &ts.add_reward(rc(VIL), r),
        Expect::Rejected("sponsor nobody"),
    );
    let mut r = reward("x", 1, 1);
    r.min_level = Some("gold".into());
    check(
        "level code",
        &ts.add_reward(rc(VIL), r),
        Expect::Rejected("gold"),
    );
    check(
        "price",
        &ts.add_reward(rc(VIL), reward("x", 0, 1)),
        Expect::Rejected("price"),
    );
    // Nothing refused left a trace in the ledger.
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn two_reservations_in_one_batch_cannot_both_take_the_last_of_a_budget() {
    let ts = shop(50);
    let id = ts
        .add_reward(rc(VIL), reward("米", 30, 10))
        .expect("reward");
    let req = move |member: i64| Reserve {
        region: rc(VIL),
        reward: id,
        member: mid(member),
        by: op(500 + member),
    };
    let (first, second) = ts
        .write(move |b| {
            let first = b.savepoint(|b| jifen_store::market::reserve_in(b, req(1)));
            let second = b.savepoint(|b| jifen_store::market::reserve_in(b, req(2)));
            Ok((first, second))
        })
        .expect("the batch commits");
    first.expect("30 of 50");
    check(
        "the second in the same batch",
        &second,
        Expect::Rejected("has spent its budget: 20 of 50"),
    );
    ts.audit(|_, _| {}).expect("no sponsor above its budget");
}

#[test]
fn redemption_stops_when_the_sponsors_budget_is_spent() {
    let ts = shop(50);
    let id = ts
        .add_reward(rc(VIL), reward("米", 30, 10))
        .expect("reward");
    reserve(&ts, id, 1).expect("30 of 50");
    check(
        "budget",
        &reserve(&ts, id, 2),
        Expect::Rejected("has spent its budget: 20 of 50"),
    );
    // A budget cannot be cut below what was used.
    let cut = ts.put_sponsor(
        rc(VIL),
        Sponsor {
            code: sponsor("coop"),
            name: "供销社".into(),
            kind: SponsorKind::Merchant,
            budget: pts(20),
        },
    );
    check("cut", &cut, Expect::Rejected("30 points are redeemed"));
    let b = ts.budget(&rc(VIL)).expect("budget");
    assert_eq!(b.outstanding.get(), 270);
    assert_eq!(b.reserved.get(), 30);
    let s = &b.sponsors[0];
    assert_eq!((s.sponsor.used.get(), s.sponsor.left().get()), (30, 20));
    assert_eq!(s.reserved.get(), 30);
    assert_eq!(b.months.len(), 12);
    assert_eq!(b.months[11].month, "2026-03");
    assert_eq!(
        (b.months[11].issued.get(), b.months[11].redeemed.get()),
        (300, 30)
    );
    // 30 redeemed this month, averaged over three months: 10 a month, 2 months left.
    assert_eq!(s.per_month.get(), 10);
    assert_eq!(s.months_left, Some(2.0));
}

#[test]
fn listings_filter_by_member_sponsor_and_status() {
    let ts = shop(10_000);
    let id = ts
        .add_reward(rc(VIL), reward("米", 10, 10))
        .expect("reward");
    let a = reserve(&ts, id, 1).expect("reserved");
    reserve(&ts, id, 2).expect("reserved");
    ts.confirm_redemption(rc(VIL), a.code, sponsor("coop"), op(9))
        .expect("confirmed");
    let all = ts
        .redemptions(&rc(VIL), &RedemptionFilter::default(), 0, 50)
        .expect("list");
    assert_eq!(all.len(), 2);
    assert!(all[0].id > all[1].id, "newest first");
    let mine = RedemptionFilter {
        member: Some(mid(2)),
        ..Default::default()
    };
    assert_eq!(
        ts.redemptions(&rc(VIL), &mine, 0, 50).expect("list").len(),
        1
    );
    let open = RedemptionFilter {
        sponsor: Some(sponsor("coop")),
        status: Some(RedemptionStatus::Reserved),
        ..Default::default()
    };
    let open = ts.redemptions(&rc(VIL), &open, 0, 50).expect("list");
    assert_eq!((open.len(), open[0].member), (1, mid(2)));
    let page = ts
        .redemptions(&rc(VIL), &RedemptionFilter::default(), all[0].id, 50)
        .expect("list");
    assert_eq!(page.len(), 1);
}

/// Changes one row behind the store's back and expects the audit to name it.
pub fn tampered(ts: &TestStore, sql: &str, named: &str) {
    ts.audit(|_, _| {}).expect("clean before the change");
    assert_eq!(ts.raw_execute(sql), 1, "{sql}");
    let err = ts.audit(|_, _| {}).expect_err(sql);
    assert!(
        matches!(err, jifen_store::StoreError::Corrupt(_)) && err.to_string().contains(named),
        "{sql}: {err} should name {named:?}"
    );
}

#[test]
fn the_audit_catches_redemptions_changed_by_hand() {
    let cases = [
        (
            "UPDATE redemptions SET price = price - 1 WHERE redemption = 1",
            "redemption 1 does not match",
        ),
        (
            "UPDATE redemptions SET member = 3 WHERE redemption = 1",
            "redemption 1 does not match",
        ),
        (
            "UPDATE redemptions SET status = 'cancelled' WHERE redemption = 1",
            "redemption 1 is cancelled but was not refunded",
        ),
        (
            "UPDATE redemptions SET status = 'reserved' WHERE redemption = 2",
            "redemption 2 is reserved but names refund",
        ),
        (
            "UPDATE sponsors SET budget = 5 WHERE sponsor = 'coop'",
            "more than its budget",
        ),
    ];
    for (sql, named) in cases {
        let ts = shop(10_000);
        let id = ts
            .add_reward(rc(VIL), reward("米", 10, 10))
            .expect("reward");
        reserve(&ts, id, 1).expect("reserved");
        let d = reserve(&ts, id, 2).expect("reserved");
        ts.cancel_redemption(rc(VIL), d.id, None, op(9))
            .expect("cancelled");
        tampered(&ts, sql, named);
    }
}
