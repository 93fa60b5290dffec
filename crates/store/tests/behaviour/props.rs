//! Property: any sequence of awards, deductions, grants, reversals and redemptions
//! through the store audits clean, and the stored balances equal a
//! `jifen_core::Ledger` the test derives from the entries the store returned.

use jifen_core::{Entry, EntryKind, Ledger, entry::reversible};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::common::{
    Expect, VIL, append_req, award, check, deduction, entry, indicator, local, mid, rc, redemption,
    reversal, spawn_village, year_of,
};

/// Points per unit of the two indicators.
const MEET: i64 = 5;
const LITTER: i64 = 3;

#[derive(Debug, Clone)]
enum Op {
    Award {
        member: i64,
        quantity: u32,
    },
    Deduct {
        member: i64,
        quantity: u32,
    },
    Grant {
        member: i64,
        amount: i64,
    },
    /// Reverses `percent` of what is left of an earlier entry (at least 1).
    Reverse {
        pick: Index,
        percent: i64,
    },
    /// Tries to reverse one more than is left: must be refused.
    OverReverse {
        pick: Index,
    },
    Redeem {
        member: i64,
        amount: i64,
    },
    Wait {
        hours: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let member = 1i64..=3;
    prop_oneof![
        3 => (member.clone(), 1u32..4).prop_map(|(member, quantity)| Op::Award { member, quantity }),
        2 => (member.clone(), 1u32..3).prop_map(|(member, quantity)| Op::Deduct { member, quantity }),
        1 => (member.clone(), 1i64..200).prop_map(|(member, amount)| Op::Grant { member, amount }),
        2 => (any::<Index>(), 1i64..=100).prop_map(|(pick, percent)| Op::Reverse { pick, percent }),
        1 => any::<Index>().prop_map(|pick| Op::OverReverse { pick }),
        1 => (member.clone(), 1i64..60).prop_map(|(member, amount)| Op::Redeem { member, amount }),
        1 => (1i64..30).prop_map(|hours| Op::Wait { hours }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_store_agrees_with_the_ledger(ops in proptest::collection::vec(op(), 1..30)) {
        let ts = spawn_village();
        ts.put(indicator(VIL, "MEET", MEET));
        ts.put(indicator(VIL, "LITTER", -LITTER));
        // Two days before the local new year, so waits cross it.
        let mut now = local("2026-12-30", 12, 0);
        ts.set_time(now);
        let mut ledger = Ledger::new();
        let mut posted: Vec<(Entry, i64)> = Vec::new();
        for op in ops {
            let (req, expect) = match op {
                Op::Award { member, quantity } => (award(member, "MEET", MEET, quantity), Expect::Ok),
                Op::Deduct { member, quantity } => (deduction(member, "LITTER", LITTER, quantity), Expect::Ok),
                Op::Grant { member, amount } => (entry(EntryKind::BaseGrant, member, amount), Expect::Ok),
                Op::Reverse { pick, percent } => {
                    let open: Vec<usize> = (0..posted.len())
                        .filter(|i| reversible(posted[*i].0.kind) && posted[*i].1 < posted[*i].0.amount.get())
                        .collect();
                    if open.is_empty() {
                        continue;
                    }
                    let (orig, done) = &posted[open[pick.index(open.len())]];
                    let left = orig.amount.get() - done;
                    let amount = (left * percent / 100).max(1);
                    (reversal(orig.member.get(), orig.seq, amount), Expect::Ok)
                }
                Op::OverReverse { pick } => {
                    let any: Vec<usize> = (0..posted.len()).filter(|i| reversible(posted[*i].0.kind)).collect();
                    if any.is_empty() {
                        continue;
                    }
                    let (orig, done) = &posted[any[pick.index(any.len())]];
                    let amount = orig.amount.get() - done + 1;
                    (reversal(orig.member.get(), orig.seq, amount), Expect::Rejected("reverse"))
                }
                Op::Redeem { member, amount } => {
                    let have = ledger.balance(&jifen_core::Account::Member(mid(member))).get();
                    let expect = if amount <= have { Expect::Ok } else { Expect::Rejected("spendable balance") };
                    (redemption(member, amount), expect)
                }
                Op::Wait { hours } => {
                    now = jifen_core::Timestamp::from_millis(now.millis() + hours * 3_600_000);
                    ts.set_time(now);
                    continue;
                }
            };
            let got = ts.append(append_req(VIL, req.clone()));
            check(&format!("{req:?}"), &got, expect);
            if let Ok(e) = got {
                prop_assert_eq!(e.seq, posted.len() as u64);
                ledger.apply(&e, year_of(&e)).expect("no overflow");
                if let Some(of) = e.reverses {
                    posted[usize::try_from(of).expect("small")].1 += e.amount.get();
                }
                posted.push((e, 0));
            }
        }
        prop_assert_eq!(ts.tree_size(VIL), posted.len() as u64);
        ts.assert_balances_match(VIL, &ledger);
        for year in [2026, 2027] {
            for m in 1..=3 {
                let b = ts.balance(&rc(VIL), mid(m), year).expect("balance");
                prop_assert_eq!(b.annual_score, ledger.annual_score(mid(m), year), "member {} in {}", m, year);
            }
        }
        let audit = ts.audit(|_, _| {}).expect("audit passes");
        let vil = audit.iter().find(|a| a.region == rc(VIL)).expect("audited");
        prop_assert_eq!(vil.outstanding, ledger.outstanding().expect("no overflow"));
    }
}
