//! The offline audit: clean after everything the store does, and it names what a
//! raw change to the database broke.

use jifen_core::{AppealDecision, EntryKind, Reviewer, Source};
use jifen_store::workflow::NewClaim;

use crate::common::{
    CITY, REVIEWER_A, REVIEWER_B, TestStore, VIL, award, code, deduction, entry, indicator, mid,
    op, rc, redemption, reversal, spawn_village,
};

/// A village after a busy stretch: claims, a grant, deductions, a redemption,
/// a reversal, an overturned appeal, and entries in the parent region too.
fn busy_village() -> TestStore {
    let ts = spawn_village();
    ts.put(jifen_core::Indicator {
        core: true,
        ..indicator(CITY, "CORE", 3)
    });
    ts.put(indicator(VIL, "MEET", 5));
    ts.put(indicator(VIL, "LITTER", -10));
    ts.household(CITY, 1);
    ts.member(CITY, 1, 1, "赵六");
    ts.append_ok(CITY, entry(EntryKind::BaseGrant, 1, 50));
    ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 100)); // seq 0
    ts.append_ok(VIL, award(1, "MEET", 5, 2)); // seq 1
    ts.append_ok(VIL, award(2, "CORE", 3, 1)); // seq 2
    ts.append_ok(VIL, deduction(3, "LITTER", 10, 1)); // seq 3
    ts.append_ok(VIL, redemption(1, 30)); // seq 4
    ts.append_ok(VIL, reversal(1, 1, 5)); // seq 5
    let c = ts
        .submit_claim(NewClaim {
            region: rc(VIL),
            member: mid(2),
            indicator: code("MEET"),
            quantity: 1,
            note: String::new(),
            source: Source::Claim,
            submitted_by: op(52),
            by_staff: false,
        })
        .expect("submitted");
    let reviewer = Reviewer {
        operator: op(REVIEWER_A),
        member: None,
        household: None,
    };
    let posted = ts
        .review_claim(rc(VIL), c.claim, reviewer, true)
        .expect("approved")
        .entry
        .expect("posted"); // seq 6
    let (appeal, _) = ts
        .file_appeal(rc(VIL), posted.seq, mid(2), "记错人了")
        .expect("filed");
    ts.decide_appeal(rc(VIL), appeal, op(REVIEWER_B), AppealDecision::Overturn)
        .expect("decided"); // seq 7
    ts.advance_days(1);
    ts.append_ok(VIL, award(3, "MEET", 5, 1)); // seq 8
    ts
}

#[test]
fn the_audit_passes_after_a_busy_stretch() {
    let ts = busy_village();
    let mut seen = Vec::new();
    let audits = ts
        .audit(|r, n| seen.push((r.as_str().to_owned(), n)))
        .expect("audit passes");
    let vil = audits
        .iter()
        .find(|a| a.region == rc(VIL))
        .expect("audited");
    assert_eq!((vil.entries, vil.members), (9, 3));
    // Outstanding: member 1 has 100 + 10 - 30 - 5, member 2 has 3 + 5 - 5, member 3 has -10 + 5.
    assert_eq!(vil.outstanding.get(), 75 + 3 - 5);
    assert!(
        seen.contains(&(VIL.to_owned(), 9)),
        "progress names the region: {seen:?}"
    );
    let city = audits
        .iter()
        .find(|a| a.region == rc(CITY))
        .expect("audited");
    assert_eq!((city.entries, city.outstanding.get()), (1, 50));
    ts.stored_balances(VIL).assert_sums_to_zero();
}

#[test]
fn raw_changes_are_caught_and_named() {
    let cases = [
        (
            "an entry's amount",
            "UPDATE entries SET amount = amount + 1 WHERE region = 'vil' AND seq = 2",
            "entry 2",
        ),
        (
            "an entry's kind, to one with the same accounts",
            "UPDATE entries SET kind = 'base-grant' WHERE region = 'vil' AND seq = 1",
            "entry 1",
        ),
        (
            "a system balance",
            "UPDATE balances SET balance = balance - 7 WHERE region = 'vil' AND account = 'issuance'",
            "balance of issuance",
        ),
        (
            "a sponsor's balance",
            "UPDATE balances SET balance = 0 WHERE region = 'vil' AND account = 'redemption:coop'",
            "redemption:coop",
        ),
        (
            "an annual score",
            "UPDATE member_years SET annual_score = annual_score + 100 WHERE region = 'vil' AND member = 3",
            "annual score of member 3",
        ),
        (
            "a member's spendable flow",
            "UPDATE member_years SET net_flow = net_flow + 1 WHERE region = 'vil' AND member = 2",
            "member:2",
        ),
        (
            "the last entry, removed",
            "DELETE FROM entries WHERE region = 'vil' AND seq = 8",
            "claims more entries",
        ),
        (
            "a middle entry, removed",
            "DELETE FROM entries WHERE region = 'vil' AND seq = 4",
            "entry 4 is missing",
        ),
    ];
    for (label, sql, named) in cases {
        let ts = busy_village();
        ts.audit(|_, _| {}).expect("clean before the change");
        let changed = ts.raw_execute(sql);
        assert_eq!(changed, 1, "{label}: the change hit one row");
        let err = ts
            .audit(|_, _| {})
            .expect_err(&format!("{label}: the audit must fail"));
        let msg = err.to_string();
        assert!(
            matches!(err, jifen_store::StoreError::Corrupt(_)),
            "{label}: {err:?}"
        );
        assert!(
            msg.contains(named),
            "{label}: {msg:?} should name {named:?}"
        );
        assert!(
            msg.contains("region vil"),
            "{label}: {msg:?} should name the region"
        );
    }
}
