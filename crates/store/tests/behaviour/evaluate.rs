//! The evaluation: known answers on a small village, the attributes it rests on
//! (recorded, refused, erased), and the reviewer rule on a built case.

use jifen_core::fairness::Residence;
use jifen_core::{Reviewer, Role, Source};
use jifen_store::accounts::Grant;
use jifen_store::evaluate::{Dimension, UNKNOWN, Warning};
use jifen_store::export::{Combination, anonymise};
use jifen_store::whatif::Proposed;
use jifen_store::workflow::NewClaim;
use jifen_store::{Attributes, SetAttributes, StoreError};

use crate::common::{
    TestStore, VIL, award, code, deduction, indicator, levels, mid, op, rc, reversal, spawn_village,
};

fn set(ts: &TestStore, member: i64, birth_year: Option<i32>, residence: Option<Residence>) {
    ts.run(SetAttributes {
        region: rc(VIL),
        member: mid(member),
        attributes: Attributes {
            birth_year,
            residence,
        },
    })
    .expect("attributes recorded");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_small_village_gives_the_hand_computed_figures() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.put(indicator(VIL, "LITTER", -2));
    // Member 1 (household 1, 76 in 2026, works away): nothing. Member 2 (household 1,
    // 36, lives here): 10. Member 3 (household 2, nothing recorded): 5 − 2 = 3.
    set(&ts, 1, Some(1950), Some(Residence::Migrant));
    set(&ts, 2, Some(1990), Some(Residence::Resident));
    ts.append_ok(VIL, award(2, "MEET", 5, 2));
    ts.append_ok(VIL, award(3, "MEET", 5, 1));
    ts.append_ok(VIL, deduction(3, "LITTER", 2, 1));

    let e = ts.evaluate(&rc(VIL), 2026).expect("evaluated");
    assert_eq!((e.overall.members, e.overall.participants), (3, 2));
    // Sorted 0, 3, 10: Σ(2i − 4)·xᵢ = 0 + 0 + 20; 20 / (3 · 13).
    assert!(close(e.overall.gini, 20.0 / 39.0), "{}", e.overall.gini);
    assert!(close(e.overall.top10_share, 10.0 / 13.0));
    assert_eq!((e.overall.median, e.overall.p90), (3, 10));
    assert_eq!((e.overall.deductions, e.overall.deducted), (1, 2));
    assert_eq!(e.tree_size, 3);
    let group = |d: Dimension, band: &str| {
        e.groups
            .iter()
            .find(|g| g.group.dimension == d && g.group.band == band)
            .unwrap_or_else(|| panic!("group {d:?} {band}"))
            .figures
            .clone()
    };
    assert_eq!(group(Dimension::Age, "75+").members, 1);
    assert_eq!(group(Dimension::Age, "75+").participation(), 0.0);
    assert_eq!(group(Dimension::Age, "30-44").participation(), 1.0);
    assert_eq!(group(Dimension::Age, UNKNOWN).members, 1);
    assert_eq!(group(Dimension::Residence, "migrant").participants, 0);
    assert_eq!(group(Dimension::Household, "2").members, 2);
    assert_eq!(group(Dimension::Household, "1").deducted, 2);
    // The clock stands in March: every award is March's.
    assert_eq!(e.participants_by_month[2], 2);
    assert_eq!(e.participants_by_month.iter().sum::<u64>(), 2);
    let meet = e
        .indicators
        .iter()
        .find(|u| u.code == "MEET")
        .expect("MEET");
    assert_eq!((meet.entries, meet.points, meet.members), (2, 15, 2));
    assert!(close(meet.uptake, 2.0 / 3.0));
    // One category holds every point awarded.
    assert_eq!(e.categories.len(), 1);
    assert!(close(e.categories[0].share, 1.0));
    assert!(
        e.warnings
            .iter()
            .any(|w| matches!(w, Warning::CategoryDominates { share, .. } if close(*share, 1.0))),
        "{:?}",
        e.warnings
    );
    // The liability at March's end is what members hold: 10 + 3.
    assert_eq!(e.budget[2].outstanding, 13);
    assert_eq!(e.budget[2].issued, 15);
}

#[test]
fn an_empty_year_an_unknown_region_and_bad_attributes_are_refused() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.append_ok(VIL, award(2, "MEET", 5, 1));
    match ts.evaluate(&rc(VIL), 2025) {
        Err(StoreError::Field {
            field: "year",
            detail,
        }) => {
            assert!(detail.contains("no entries in 2025"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ts.evaluate(&rc("nowhere"), 2026),
        Err(StoreError::NotFound(_))
    ));
    let bad = ts.run(SetAttributes {
        region: rc(VIL),
        member: mid(1),
        attributes: Attributes {
            birth_year: Some(2027),
            residence: None,
        },
    });
    assert!(
        matches!(&bad, Err(StoreError::Field { field: "birth_year", detail }) if detail.contains("2027")),
        "{bad:?}"
    );
    let missing = ts.run(SetAttributes {
        region: rc(VIL),
        member: mid(99),
        attributes: Attributes::default(),
    });
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

#[test]
fn attributes_are_kept_replaced_and_erased_with_the_member() {
    let ts = spawn_village();
    set(&ts, 1, Some(1960), Some(Residence::Floating));
    assert_eq!(
        ts.attributes(&rc(VIL), mid(1)).expect("read"),
        Attributes {
            birth_year: Some(1960),
            residence: Some(Residence::Floating)
        }
    );
    set(&ts, 1, None, Some(Residence::Resident));
    assert_eq!(
        ts.attributes(&rc(VIL), mid(1)).expect("read").birth_year,
        None
    );
    ts.erase_member(rc(VIL), mid(1)).expect("erased");
    assert_eq!(
        ts.attributes(&rc(VIL), mid(1)).expect("read"),
        Attributes::default()
    );
    let again = ts.run(SetAttributes {
        region: rc(VIL),
        member: mid(1),
        attributes: Attributes {
            birth_year: Some(1960),
            residence: None,
        },
    });
    assert!(
        matches!(&again, Err(StoreError::Rejected(m)) if m.contains("erased")),
        "{again:?}"
    );
}

#[test]
fn the_reviewer_who_approves_everything_stands_out_and_own_household_approvals_show() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "HELP", 4));
    // Reviewer 103 lives in household 1 (member 1's record), which the role says.
    let r103 = ts
        .create_account(Some(op(103)), "r103", "评审甲", None)
        .expect("account");
    ts.grant_role(
        r103,
        Grant {
            region: rc(VIL),
            role: Role::Reviewer,
            member: Some(mid(1)),
            sponsor: None,
        },
    )
    .expect("role");
    // Ten decisions each: approvals 5, 6, 7 and 10 of 10. Rates 0.5 … 1.0: median
    // 0.65, deviations 0.15, 0.05, 0.05, 0.35, their median 0.1; 3 · 0.1 = 0.3 <
    // 0.35: only the last stands far. Member 2 (household 1) claims from reviewer
    // 103's household.
    for (reviewer, approvals) in [(100, 5), (101, 6), (102, 7), (103, 10)] {
        for k in 0..10 {
            let member = if k % 2 == 0 { 2 } else { 3 };
            let c = ts
                .submit_claim(NewClaim {
                    region: rc(VIL),
                    member: mid(member),
                    indicator: code("HELP"),
                    quantity: 1,
                    note: String::new(),
                    source: Source::Claim,
                    submitted_by: op(50 + member),
                    by_staff: false,
                })
                .expect("claim");
            ts.review_claim(
                rc(VIL),
                c.claim,
                Reviewer {
                    operator: op(reviewer),
                    member: None,
                    household: None,
                },
                k < approvals,
            )
            .expect("decided");
        }
    }
    let e = ts.evaluate(&rc(VIL), 2026).expect("evaluated");
    let far: Vec<i64> = e
        .reviewers
        .iter()
        .filter(|r| r.far_rate)
        .map(|r| r.account)
        .collect();
    assert_eq!(far, vec![103]);
    let r = e.reviewers.iter().find(|r| r.account == 103).expect("103");
    assert_eq!((r.decisions, r.approvals, r.points_approved), (10, 10, 40));
    assert_eq!(r.name, "评审甲");
    // Of its ten approvals, the five of member 2 are of its own household.
    assert_eq!(r.same_household, 5);
    assert!(
        e.reviewers
            .iter()
            .filter(|r| r.account != 103)
            .all(|r| r.same_household == 0)
    );
    assert!(
        e.warnings
            .contains(&Warning::SameHousehold { approvals: 5 })
    );
    assert!(
        e.warnings
            .iter()
            .any(|w| matches!(w, Warning::Reviewer { account: 103, .. }))
    );
}

/// A village for the what-if and the export: MEET (5 a unit) and LITTER (−2).
/// Member 2: 2 units of MEET (10) and 1 more (5) reversed in full: 10.
/// Member 3: 1 unit of MEET less 1 of LITTER: 3. Member 1: nothing.
fn rescore_village() -> TestStore {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    ts.put(indicator(VIL, "LITTER", -2));
    ts.set_levels(rc(VIL), levels(&[("bronze", 5), ("silver", 12)]))
        .expect("levels");
    set(&ts, 1, Some(1950), Some(Residence::Migrant));
    set(&ts, 2, Some(1990), Some(Residence::Resident));
    ts.append_ok(VIL, award(2, "MEET", 5, 2));
    let again = ts.append_ok(VIL, award(2, "MEET", 5, 1));
    ts.append_ok(VIL, reversal(2, again.seq, 5));
    ts.append_ok(VIL, award(3, "MEET", 5, 1));
    ts.append_ok(VIL, deduction(3, "LITTER", 2, 1));
    ts
}

fn proposed(list: &[(&str, i64)]) -> Vec<Proposed> {
    list.iter()
        .map(|(c, p)| Proposed {
            indicator: (*c).into(),
            points: *p,
        })
        .collect()
}

#[test]
fn the_what_if_with_todays_values_reproduces_todays_scores() {
    let ts = rescore_village();
    let w = ts
        .what_if(&rc(VIL), 2026, &proposed(&[("MEET", 5), ("LITTER", -2)]))
        .expect("what-if");
    assert_eq!(w.today.scores, vec![(1, 0), (2, 10), (3, 3)]);
    assert_eq!(w.proposed, w.today);
    // And the year as the evaluation reads it.
    let e = ts.evaluate(&rc(VIL), 2026).expect("evaluated");
    assert_eq!(w.today.overall, e.overall);
    assert_eq!(w.today.liability, e.budget[11].outstanding);
}

#[test]
fn other_values_rescore_awards_deductions_and_reversals() {
    let ts = rescore_village();
    let w = ts
        .what_if(&rc(VIL), 2026, &proposed(&[("MEET", 8), ("LITTER", -4)]))
        .expect("what-if");
    // Member 2: 2 × 8, plus 8 reversed in full; member 3: 8 − 4.
    assert_eq!(w.proposed.scores, vec![(1, 0), (2, 16), (3, 4)]);
    assert_eq!(w.proposed.liability, 20);
    assert_eq!(w.today.liability, 13);
    // Awarded: 16 + 8 − 8 + 8 (awards less their reversals).
    assert_eq!((w.today.awarded, w.proposed.awarded), (15, 24));
    let at = |s: &jifen_store::whatif::Scenario, level: Option<&str>| {
        s.levels
            .iter()
            .find(|l| l.code.as_deref() == level)
            .map_or(0, |l| l.members)
    };
    // Today: 0 and 3 below bronze, 10 bronze. Proposed: 16 silver.
    assert_eq!(at(&w.today, None), 2);
    assert_eq!(at(&w.today, Some("bronze")), 1);
    assert_eq!(at(&w.proposed, Some("silver")), 1);
    assert_eq!(at(&w.proposed, Some("bronze")), 0);
    assert_eq!(w.changes[0].today, 5);
    assert_eq!(w.changes[0].proposed, 8);
}

#[test]
fn a_what_if_with_bad_values_or_no_entries_is_refused() {
    let ts = rescore_village();
    for (values, says) in [
        (proposed(&[("NOPE", 3)]), "unknown indicator \"NOPE\""),
        (proposed(&[("MEET", -3)]), "same sign"),
        (proposed(&[("MEET", 0)]), "non-zero"),
        (proposed(&[("MEET", 3), ("MEET", 4)]), "twice"),
    ] {
        match ts.what_if(&rc(VIL), 2026, &values) {
            Err(StoreError::Field {
                field: "values",
                detail,
            }) => assert!(detail.contains(says), "{detail}"),
            other => panic!("{values:?}: {other:?}"),
        }
    }
    assert!(matches!(
        ts.what_if(&rc(VIL), 2025, &[]),
        Err(StoreError::Field { field: "year", .. })
    ));
}

#[test]
fn the_export_hides_rare_combinations_and_its_totals_match_the_log() {
    let ts = rescore_village();
    // k below 2 is refused.
    assert!(matches!(
        ts.evaluation_export(&rc(VIL), 2026, 1),
        Err(StoreError::Field { field: "k", .. })
    ));
    // Three members with three different combinations: only with everything hidden
    // do they share one, so k = 3 puts all three in "* * *".
    let x = ts.evaluation_export(&rc(VIL), 2026, 3).expect("export");
    assert_eq!(x.rows.len() as u64 + x.suppressed, 3);
    for r in &x.rows {
        assert_eq!(r.attributes, ["*", "*", "*"]);
    }
    assert_eq!(x.coarsened, 3);
    let meet = x
        .indicators
        .iter()
        .find(|i| i.code == "MEET")
        .expect("MEET");
    // Three awards; the reversal is not an entry under the indicator.
    assert_eq!((meet.entries, meet.points), (3, 20));
    let litter = x
        .indicators
        .iter()
        .find(|i| i.code == "LITTER")
        .expect("LITTER");
    assert_eq!((litter.entries, litter.points), (1, -2));
    // Rows and the suppressed sum add up to the indicators' totals per category.
    for (ci, cat) in x.categories.iter().enumerate() {
        let rows: i64 = x.rows.iter().map(|r| r.by_category[ci]).sum();
        let log: i64 = x
            .indicators
            .iter()
            .filter(|i| &i.category == cat)
            .map(|i| i.points)
            .sum();
        assert_eq!(rows + x.suppressed_by_category[ci], log, "{cat}");
    }
    assert_eq!(x.checkpoint.size, ts.tree_size(VIL));
    let csv = x.rows_csv();
    let text = x.manifest_text(&csv);
    assert!(
        text.starts_with("jifen evaluation export v1\nregion "),
        "{text}"
    );
    assert!(
        text.contains("\nk 3\n") && text.contains("\nindicator MEET 3 20 "),
        "{text}"
    );
    // Signed with the region's key: it opens with the region's verifier key.
    let note = ts.sign_note(&rc(VIL), &text).expect("signed");
    let info = ts.region(&rc(VIL)).expect("region");
    let v = jifen_log::NoteVerifier::from_vkey(&info.vkey).expect("vkey");
    assert_eq!(jifen_log::open_note(&note, &[v]).expect("opens"), text);
    // No member number, name or commitment in the rows.
    assert!(!csv.contains("member") && !csv.contains("张"), "{csv}");
}

const AGES: [&str; 6] = ["0-29", "30-44", "45-59", "60-74", "75+", "unknown"];
const RESIDENCES: [&str; 4] = ["resident", "migrant", "floating", "unknown"];
const HOUSEHOLDS: [&str; 4] = ["1", "2", "3-4", "5+"];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Whatever the population and k, no combination in an export is shared by
    /// fewer than k rows, and every row is either placed or counted as left out.
    #[test]
    fn no_exported_combination_is_shared_by_fewer_than_k_rows(
        people in proptest::collection::vec((0..6usize, 0..4usize, 0..4usize), 0..200),
        k in 2..8usize,
    ) {
        let rows: Vec<Combination> = people
            .iter()
            .map(|&(a, r, h)| [AGES[a], RESIDENCES[r], HOUSEHOLDS[h]])
            .collect();
        let placed = anonymise(&rows, k);
        proptest::prop_assert_eq!(placed.len(), rows.len());
        let mut count: std::collections::HashMap<Combination, usize> = Default::default();
        for c in placed.iter().flatten() {
            *count.entry(*c).or_default() += 1;
        }
        for (c, n) in &count {
            proptest::prop_assert!(*n >= k, "{:?} is shared by {} rows, k = {}", c, n, k);
        }
        // What is left out is fewer than k rows (k of them would share "* * *").
        let left_out = placed.iter().filter(|p| p.is_none()).count();
        proptest::prop_assert!(left_out < k, "{} rows left out, k = {}", left_out, k);
    }
}
