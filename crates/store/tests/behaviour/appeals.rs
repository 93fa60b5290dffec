//! Appeals: the window, who may file and decide, and what each decision posts.

use jifen_core::{AppealDecision, AppealStatus, ClaimStatus, Entry, EntryKind, Reviewer, Source};
use jifen_store::workflow::NewClaim;

use crate::common::{
    Expect, REVIEWER_A, REVIEWER_B, TestStore, VIL, check, code, deduction, entry, indicator, mid,
    op, pts, rc, redemption, spawn_village,
};

/// A village where member 1 holds an award of `points` × 2 approved by reviewer A.
fn with_reviewed_award(points: i64) -> (TestStore, Entry) {
    let ts = spawn_village();
    ts.put(indicator(VIL, "HELP", points));
    let c = ts
        .submit_claim(NewClaim {
            region: rc(VIL),
            member: mid(1),
            indicator: code("HELP"),
            quantity: 2,
            note: String::new(),
            source: Source::Claim,
            submitted_by: op(51),
            by_staff: false,
        })
        .expect("submitted");
    let reviewer = Reviewer {
        operator: op(REVIEWER_A),
        member: None,
        household: None,
    };
    let out = ts
        .review_claim(rc(VIL), c.claim, reviewer, true)
        .expect("approved");
    assert_eq!(out.status, ClaimStatus::Posted);
    (ts, out.entry.expect("posted"))
}

fn score(ts: &TestStore, member: i64) -> (i64, i64) {
    let b = ts.balance(&rc(VIL), mid(member), 2026).expect("balance");
    (b.spendable.get(), b.annual_score.get())
}

#[test]
fn who_may_appeal_and_until_when() {
    let (ts, award) = with_reviewed_award(10);
    let late_entry = ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 100));
    let shop = ts.append_ok(VIL, redemption(1, 5));
    let cases = [
        (
            "another member's entry",
            award.seq,
            3,
            Expect::Forbidden("of their own"),
        ),
        ("a missing entry", 99, 1, Expect::NotFound("99")),
        (
            "a redemption",
            shop.seq,
            1,
            Expect::Rejected("cannot be appealed"),
        ),
        ("the member's award", award.seq, 1, Expect::Ok),
        (
            "the same entry while the first is open",
            award.seq,
            1,
            Expect::Conflict("appealed once"),
        ),
    ];
    for (label, seq, member, expect) in cases {
        check(
            label,
            &ts.file_appeal(rc(VIL), seq, mid(member), "我没有迟到"),
            expect,
        );
    }
    check(
        "an empty statement",
        &ts.file_appeal(rc(VIL), late_entry.seq, mid(1), " "),
        Expect::Rejected("statement"),
    );

    // The default window is 30 days after posting: the last moment is accepted, the next day is not.
    ts.set_time(late_entry.time.plus_days(30));
    let (_, deadline) = ts
        .file_appeal(rc(VIL), late_entry.seq, mid(1), "基础分少了")
        .expect("on the last day");
    assert_eq!(deadline, late_entry.time.plus_days(30));
    let (ts2, award2) = with_reviewed_award(10);
    ts2.set_time(award2.time.plus_days(31));
    let late = ts2.file_appeal(rc(VIL), award2.seq, mid(1), "太晚了");
    check("after the window", &late, Expect::Rejected("window"));
}

#[test]
fn the_original_reviewer_cannot_decide() {
    let (ts, award) = with_reviewed_award(10);
    ts.put(indicator(VIL, "LITTER", -10));
    let direct = ts.append_ok(VIL, deduction_by(7));
    let (a1, _) = ts
        .file_appeal(rc(VIL), award.seq, mid(1), "不公平")
        .expect("filed");
    let (a2, _) = ts
        .file_appeal(rc(VIL), direct.seq, mid(1), "不公平")
        .expect("filed");
    let by_reviewer = ts.decide_appeal(rc(VIL), a1, op(REVIEWER_A), AppealDecision::Overturn);
    check(
        "the claim's reviewer",
        &by_reviewer,
        Expect::Forbidden("original reviewer"),
    );
    let by_recorder = ts.decide_appeal(rc(VIL), a2, op(7), AppealDecision::Overturn);
    check(
        "whoever recorded the entry",
        &by_recorder,
        Expect::Forbidden("original reviewer"),
    );
    assert_eq!(ts.entry_count(VIL), 2, "nothing posted");
    // Someone else may.
    let (status, _) = ts
        .decide_appeal(rc(VIL), a1, op(REVIEWER_B), AppealDecision::Uphold)
        .expect("decided");
    assert_eq!(status, AppealStatus::Upheld);
}

fn deduction_by(operator: i64) -> jifen_core::NewEntry {
    let mut d = deduction(1, "LITTER", 10, 1);
    d.operator = op(operator);
    d
}

#[test]
fn overturn_reverses_the_whole_entry() {
    let (ts, award) = with_reviewed_award(10);
    assert_eq!(score(&ts, 1), (20, 20));
    let (appeal, _) = ts
        .file_appeal(rc(VIL), award.seq, mid(1), "不是我")
        .expect("filed");
    let (status, posted) = ts
        .decide_appeal(rc(VIL), appeal, op(REVIEWER_B), AppealDecision::Overturn)
        .expect("decided");
    assert_eq!(status, AppealStatus::Overturned);
    let r = posted.expect("a reversal");
    assert_eq!(
        (r.kind, r.amount, r.reverses),
        (EntryKind::Reversal, pts(20), Some(award.seq))
    );
    assert_eq!(r.reason.to_text(), format!("appeal:{appeal}"));
    assert_eq!(r.annual_delta, pts(-20));
    assert_eq!(score(&ts, 1), (0, 0), "balance and annual score return");
    let again = ts.decide_appeal(rc(VIL), appeal, op(REVIEWER_B), AppealDecision::Uphold);
    check(
        "a second decision",
        &again,
        Expect::Conflict("already overturned"),
    );
    assert_eq!(ts.entry_count(VIL), 2);
    // An entry is appealed once: a decided appeal cannot be filed again.
    let second = ts.file_appeal(rc(VIL), award.seq, mid(1), "再议");
    check(
        "a second appeal",
        &second,
        Expect::Conflict("appealed once"),
    );
    assert_eq!(score(&ts, 1), (0, 0));
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn an_overturned_deduction_gives_the_points_back() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "LITTER", -10));
    ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 100));
    let d = ts.append_ok(VIL, deduction(1, "LITTER", 10, 1));
    assert_eq!(score(&ts, 1), (90, 90));
    let (appeal, _) = ts
        .file_appeal(rc(VIL), d.seq, mid(1), "不是我扔的")
        .expect("filed");
    let (_, posted) = ts
        .decide_appeal(rc(VIL), appeal, op(REVIEWER_B), AppealDecision::Overturn)
        .expect("decided");
    assert_eq!(posted.map(|e| e.annual_delta), Some(pts(10)));
    assert_eq!(score(&ts, 1), (100, 100));
}

#[test]
fn adjust_down_reverses_part_and_adjust_up_adds() {
    let (ts, award) = with_reviewed_award(10);
    let (appeal, _) = ts
        .file_appeal(rc(VIL), award.seq, mid(1), "多给了")
        .expect("filed");
    let (status, posted) = ts
        .decide_appeal(
            rc(VIL),
            appeal,
            op(REVIEWER_B),
            AppealDecision::Adjust(pts(12)),
        )
        .expect("decided");
    assert_eq!(status, AppealStatus::Adjusted);
    let r = posted.expect("a partial reversal");
    assert_eq!(
        (r.kind, r.amount, r.reverses),
        (EntryKind::Reversal, pts(8), Some(award.seq))
    );
    assert_eq!(score(&ts, 1), (12, 12));

    ts.audit(|_, _| {}).expect("audit passes");

    // Up, on another award of 20 to 25: a further award of 5 under the same indicator.
    let (ts, award) = with_reviewed_award(10);
    let (up, _) = ts
        .file_appeal(rc(VIL), award.seq, mid(1), "少给了")
        .expect("filed");
    let (_, posted) = ts
        .decide_appeal(rc(VIL), up, op(REVIEWER_B), AppealDecision::Adjust(pts(25)))
        .expect("decided");
    let add = posted.expect("a further award");
    assert_eq!(
        (add.kind, add.amount, add.reverses),
        (EntryKind::Award, pts(5), None)
    );
    assert_eq!(score(&ts, 1), (25, 25));
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn uphold_posts_nothing() {
    let (ts, award) = with_reviewed_award(10);
    let (appeal, _) = ts
        .file_appeal(rc(VIL), award.seq, mid(1), "请复核")
        .expect("filed");
    let (status, posted) = ts
        .decide_appeal(rc(VIL), appeal, op(REVIEWER_B), AppealDecision::Uphold)
        .expect("decided");
    assert_eq!((status, posted), (AppealStatus::Upheld, None));
    assert_eq!(ts.entry_count(VIL), 1);
    assert_eq!(score(&ts, 1), (20, 20));
    let again = ts.decide_appeal(rc(VIL), appeal, op(REVIEWER_B), AppealDecision::Overturn);
    check(
        "a second decision",
        &again,
        Expect::Conflict("already upheld"),
    );
    assert_eq!(ts.entry_count(VIL), 1);
    check(
        "an unknown appeal",
        &ts.decide_appeal(
            rc(VIL),
            jifen_core::AppealId::new(42).expect("id"),
            op(REVIEWER_B),
            AppealDecision::Uphold,
        ),
        Expect::NotFound("appeal 42"),
    );
}
