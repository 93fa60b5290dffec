//! Claims: review, rejection, auto posting, two reviewers, conflicts of interest,
//! public notice with objections, staff-only indicators, caps at approval.

use jifen_core::{Caps, ClaimId, ClaimStatus, EntryKind, Evidence, ReviewPolicy, Reviewer, Source};
use jifen_store::workflow::{ClaimOutcome, NewClaim};

use crate::common::{
    Expect, REVIEWER_A, REVIEWER_B, TestStore, VIL, check, code, hid, indicator, local, mid, op,
    pts, rc, spawn_village,
};

/// A village with one indicator of each kind the claim tests need.
fn claims_village() -> TestStore {
    let ts = spawn_village();
    let with = |c: &str, points: i64, f: &dyn Fn(&mut jifen_core::Indicator)| {
        let mut i = indicator(VIL, c, points);
        f(&mut i);
        ts.put(i);
    };
    with("HELP", 10, &|i| i.evidence = Evidence::Note);
    with("AUTO", 3, &|i| i.review = ReviewPolicy::Auto);
    with("BIG", 10, &|i| i.review = ReviewPolicy::TwoAbove(pts(20)));
    with("NOTICE", 4, &|i| i.notice_days = 3);
    with("STAFF", 6, &|i| {
        i.claimants = jifen_core::Claimants::StaffOnly
    });
    with("CAPPED", 2, &|i| {
        i.caps = Caps {
            per_day: Some(1),
            ..Caps::default()
        }
    });
    ts
}

fn claim(member: i64, c: &str, quantity: u32) -> NewClaim {
    NewClaim {
        region: rc(VIL),
        member: mid(member),
        indicator: code(c),
        quantity,
        note: "在村口帮忙".into(),
        source: Source::Claim,
        submitted_by: op(50 + member),
        by_staff: false,
    }
}

fn staff(operator: i64) -> Reviewer {
    Reviewer {
        operator: op(operator),
        member: None,
        household: None,
    }
}

fn submit(ts: &TestStore, c: NewClaim) -> ClaimOutcome {
    let out = ts.submit_claim(c).expect("claim submitted");
    assert_eq!(out.status, ClaimStatus::Submitted);
    assert!(out.entry.is_none());
    out
}

fn review(
    ts: &TestStore,
    id: ClaimId,
    who: Reviewer,
    approve: bool,
) -> jifen_store::Result<ClaimOutcome> {
    ts.review_claim(rc(VIL), id, who, approve)
}

/// The claim's stored status and how many reviews it holds.
fn stored(ts: &TestStore, id: ClaimId) -> (String, u64, Option<i64>) {
    ts.read(move |c| {
        let (status, seq): (String, Option<i64>) = c.query_row(
            "SELECT status, entry_seq FROM claims WHERE region = 'vil' AND claim = ?1",
            jifen_store::params![id.get()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let reviews: i64 = c.query_row(
            "SELECT COUNT(*) FROM claim_reviews WHERE region = 'vil' AND claim = ?1",
            jifen_store::params![id.get()],
            |r| r.get(0),
        )?;
        Ok((status, u64::try_from(reviews).unwrap_or(0), seq))
    })
    .expect("claim read")
}

#[test]
fn an_approved_claim_posts_its_entry() {
    let ts = claims_village();
    let c = submit(&ts, claim(1, "HELP", 2));
    let out = review(&ts, c.claim, staff(REVIEWER_A), true).expect("approved");
    assert_eq!(out.status, ClaimStatus::Posted);
    let e = out.entry.expect("posted entry");
    assert_eq!(
        (e.kind, e.amount.get(), e.quantity),
        (EntryKind::Award, 20, 2)
    );
    assert_eq!(e.member, mid(1));
    assert_eq!(e.operator, op(REVIEWER_A));
    assert_eq!(e.reason.to_text(), format!("claim:{}", c.claim));
    assert_eq!(stored(&ts, c.claim), ("posted".into(), 1, Some(0)));
    let b = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    assert_eq!(b.spendable.get(), 20);
    // A posted claim is final.
    check(
        "approve again",
        &review(&ts, c.claim, staff(REVIEWER_B), true),
        Expect::Conflict("posted"),
    );
    assert_eq!(ts.entry_count(VIL), 1);
}

#[test]
fn a_rejected_claim_posts_nothing() {
    let ts = claims_village();
    let c = submit(&ts, claim(1, "HELP", 1));
    let out = review(&ts, c.claim, staff(REVIEWER_A), false).expect("rejected");
    assert_eq!((out.status, out.entry), (ClaimStatus::Rejected, None));
    check(
        "approve after rejection",
        &review(&ts, c.claim, staff(REVIEWER_B), true),
        Expect::Conflict("rejected"),
    );
    assert_eq!(stored(&ts, c.claim).0, "rejected");
    assert_eq!(ts.entry_count(VIL), 0);
}

#[test]
fn submission_refusals() {
    let ts = claims_village();
    let mut no_note = claim(1, "HELP", 1);
    no_note.note = "  ".into();
    let mut by_staff = claim(1, "STAFF", 1);
    by_staff.by_staff = true;
    let cases = [
        ("a note is required", no_note, Expect::Rejected("note")),
        (
            "staff-only by a resident",
            claim(1, "STAFF", 1),
            Expect::Rejected("staff only"),
        ),
        ("staff-only by staff", by_staff, Expect::Ok),
        (
            "unknown member",
            claim(9, "HELP", 1),
            Expect::NotFound("member 9"),
        ),
        (
            "unknown indicator",
            claim(1, "NOPE", 1),
            Expect::NotFound("NOPE"),
        ),
        (
            "zero quantity",
            claim(1, "HELP", 0),
            Expect::Rejected("quantity"),
        ),
    ];
    for (label, c, expect) in cases {
        check(label, &ts.submit_claim(c), expect);
    }
    assert_eq!(ts.entry_count(VIL), 0);
}

#[test]
fn an_auto_policy_posts_at_once() {
    let ts = claims_village();
    let out = ts.submit_claim(claim(1, "AUTO", 2)).expect("posted");
    assert_eq!(out.status, ClaimStatus::Posted);
    let e = out.entry.expect("posted entry");
    assert_eq!((e.amount.get(), e.operator), (6, op(51)));
    assert_eq!(stored(&ts, out.claim).0, "posted");
    assert_eq!(
        ts.balance(&rc(VIL), mid(1), 2026)
            .expect("balance")
            .spendable
            .get(),
        6
    );
}

#[test]
fn awards_at_the_threshold_need_two_different_reviewers() {
    let ts = claims_village();
    // Below the threshold (10 < 20): one reviewer is enough.
    let small = submit(&ts, claim(1, "BIG", 1));
    let out = review(&ts, small.claim, staff(REVIEWER_A), true).expect("approved");
    assert_eq!(out.status, ClaimStatus::Posted);

    // At the threshold (20): two.
    let big = submit(&ts, claim(1, "BIG", 2));
    let first = review(&ts, big.claim, staff(REVIEWER_A), true).expect("first approval");
    assert_eq!(
        (first.status, first.entry.is_none()),
        (ClaimStatus::PartlyApproved, true)
    );
    let twice = review(&ts, big.claim, staff(REVIEWER_A), true);
    check(
        "the same reviewer again",
        &twice,
        Expect::Forbidden("second, different reviewer"),
    );
    assert_eq!(stored(&ts, big.claim), ("partly-approved".into(), 1, None));
    assert_eq!(ts.entry_count(VIL), 1);
    let second = review(&ts, big.claim, staff(REVIEWER_B), true).expect("second approval");
    assert_eq!(second.status, ClaimStatus::Posted);
    assert_eq!(second.entry.map(|e| e.amount.get()), Some(20));
    assert_eq!(ts.entry_count(VIL), 2);
}

#[test]
fn reviewers_with_a_stake_are_refused() {
    let ts = claims_village();
    let c = submit(&ts, claim(1, "HELP", 1));
    let cases = [
        (
            "the claimant",
            Reviewer {
                operator: op(201),
                member: Some(mid(1)),
                household: Some(hid(1)),
            },
            Expect::Forbidden("your own"),
        ),
        (
            "the claimant's household",
            Reviewer {
                operator: op(202),
                member: Some(mid(2)),
                household: Some(hid(1)),
            },
            Expect::Forbidden("own household"),
        ),
        (
            "a resident of another household",
            Reviewer {
                operator: op(203),
                member: Some(mid(3)),
                household: Some(hid(2)),
            },
            Expect::Ok,
        ),
    ];
    for (label, who, expect) in cases {
        check(label, &review(&ts, c.claim, who, true), expect);
    }
    assert_eq!(ts.entry_count(VIL), 1);
    assert_eq!(stored(&ts, c.claim), ("posted".into(), 1, Some(0)));
}

#[test]
fn public_notice_objection_and_posting() {
    let ts = claims_village();
    let c = submit(&ts, claim(1, "NOTICE", 1));
    let out = review(&ts, c.claim, staff(REVIEWER_A), true).expect("approved");
    assert_eq!(
        (out.status, out.entry.is_none()),
        (ClaimStatus::InNotice, true)
    );
    assert_eq!(ts.entry_count(VIL), 0, "nothing counts during the notice");

    // An objection sends it back to review, and the approval no longer counts.
    let back = ts.object_to_claim(rc(VIL), c.claim).expect("objection");
    assert_eq!(back, ClaimStatus::Submitted);
    assert_eq!(stored(&ts, c.claim), ("submitted".into(), 0, None));
    check(
        "object again",
        &ts.object_to_claim(rc(VIL), c.claim),
        Expect::Conflict("submitted"),
    );

    // Approved again: a new notice period starts now.
    ts.set_time(local("2026-03-11", 10, 0));
    let again = review(&ts, c.claim, staff(REVIEWER_B), true).expect("approved again");
    assert_eq!(again.status, ClaimStatus::InNotice);
    // Three days from 03-11 10:00 is 03-14 10:00; not yet at 09:59.
    ts.set_time(local("2026-03-14", 9, 59));
    let none = ts.end_notices(rc(VIL), op(1)).expect("ran");
    assert!(none.is_empty(), "still on notice: {none:?}");
    assert_eq!(ts.entry_count(VIL), 0);
    ts.set_time(local("2026-03-14", 10, 0));
    let posted = ts.end_notices(rc(VIL), op(1)).expect("ran");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].status, ClaimStatus::Posted);
    assert_eq!(posted[0].entry.as_ref().map(|e| e.amount.get()), Some(4));
    assert_eq!(stored(&ts, c.claim).0, "posted");
    assert_eq!(
        ts.balance(&rc(VIL), mid(1), 2026)
            .expect("balance")
            .spendable
            .get(),
        4
    );
    assert!(
        ts.end_notices(rc(VIL), op(1)).expect("ran").is_empty(),
        "posted once"
    );
    check(
        "object after posting",
        &ts.object_to_claim(rc(VIL), c.claim),
        Expect::Conflict("posted"),
    );
    assert_eq!(ts.entry_count(VIL), 1);
}

#[test]
fn a_cap_hit_at_approval_rolls_back_the_review() {
    let ts = claims_village();
    let first = submit(&ts, claim(1, "CAPPED", 1));
    let second = submit(&ts, claim(1, "CAPPED", 1));
    review(&ts, first.claim, staff(REVIEWER_A), true).expect("first fits");
    let over = review(&ts, second.claim, staff(REVIEWER_A), true);
    check(
        "second the same day",
        &over,
        Expect::Rejected("at most 1 per day"),
    );
    assert_eq!(
        stored(&ts, second.claim),
        ("submitted".into(), 0, None),
        "the review did not stick"
    );
    assert_eq!(ts.entry_count(VIL), 1);
    // The next day it fits, and the same reviewer may approve it.
    ts.advance_days(1);
    let out = review(&ts, second.claim, staff(REVIEWER_A), true).expect("fits the next day");
    assert_eq!(out.status, ClaimStatus::Posted);
    assert_eq!(ts.entry_count(VIL), 2);
    ts.audit(|_, _| {}).expect("audit passes");
}

/// One claim that no longer fits its cap when its notice ends must not keep every
/// other claim of the region from posting: `end_notices` runs every due claim in one
/// job, so one failure rolls all of them back, on every run after.
#[test]
fn one_claim_over_its_cap_does_not_block_the_notice_board() {
    let ts = claims_village();
    ts.put(jifen_core::Indicator {
        notice_days: 1,
        caps: Caps {
            per_day: Some(1),
            ..Caps::default()
        },
        ..indicator(VIL, "NCAP", 2)
    });
    let ids: Vec<ClaimId> = [1, 1, 3]
        .into_iter()
        .map(|m| submit(&ts, claim(m, "NCAP", 1)).claim)
        .collect();
    for id in &ids {
        let out = review(&ts, *id, staff(REVIEWER_A), true).expect("approved");
        assert_eq!(out.status, ClaimStatus::InNotice);
    }
    ts.advance_days(1);
    let ended = ts.end_notices(rc(VIL), op(1));
    assert!(ended.is_ok(), "end_notices must post what fits: {ended:?}");
    assert_eq!(
        stored(&ts, ids[0]).0,
        "posted",
        "member 1's first claim fits"
    );
    assert_ne!(
        stored(&ts, ids[1]).0,
        "posted",
        "member 1's second claim is over the day cap"
    );
    assert_eq!(
        stored(&ts, ids[2]).0,
        "posted",
        "member 3's claim has nothing to do with it"
    );
    assert_eq!(ts.entry_count(VIL), 2);
    ts.audit(|_, _| {}).expect("audit passes");
}

/// Objections are for the notice period ("anyone may object during that time");
/// once it has ended, the claim is due to post and an objection comes too late.
#[test]
fn an_objection_after_the_notice_ended_is_refused() {
    let ts = claims_village();
    let c = submit(&ts, claim(1, "NOTICE", 1));
    review(&ts, c.claim, staff(REVIEWER_A), true).expect("approved");
    ts.advance_days(4);
    let late = ts.object_to_claim(rc(VIL), c.claim);
    assert!(
        late.is_err(),
        "an objection after the notice ended must be refused, got {late:?}"
    );
    let posted = ts.end_notices(rc(VIL), op(1)).expect("ran");
    assert_eq!(posted.len(), 1, "the claim still posts");
}

/// Answers kept under idempotency keys stay for `IDEMPOTENCY_KEEP_HOURS` and are
/// deleted after; the digest of the request they answered comes back with them. A
/// transfer out's answer loses its one-time code after `CODE_ANSWER_KEEP_MINUTES`.
#[test]
fn idempotent_answers_are_kept_for_their_time_then_deleted() {
    use jifen_store::accounts::{
        IDEMPOTENCY_KEEP_HOURS, StoredResponse, lookup_response_in, record_response,
    };
    let ts = spawn_village();
    let answer = StoredResponse {
        method: "POST".into(),
        path: "/api/v1/regions/vil/claims".into(),
        request: Some(b"digest".to_vec()),
        status: 201,
        body: b"{}".to_vec(),
    };
    let kept = answer.clone();
    ts.store
        .write(move |b| record_response(b, op(REVIEWER_A), "k-1", &kept))
        .expect("recorded");
    let read = |key: &'static str| {
        ts.store
            .write(move |b| lookup_response_in(b, op(REVIEWER_A), key))
            .expect("read")
    };
    assert_eq!(read("k-1"), Some(answer.clone()));
    // Just inside the time: kept.
    ts.advance_days(IDEMPOTENCY_KEEP_HOURS / 24 - 1);
    assert_eq!(ts.store.forget_old_responses().expect("sweep"), 0);
    assert_eq!(read("k-1"), Some(answer));
    // Past it: deleted, and the key is free again.
    ts.advance_days(2);
    assert_eq!(ts.store.forget_old_responses().expect("sweep"), 1);
    assert_eq!(read("k-1"), None);

    // A transfer out's answer keeps its one-time code an hour, then only the rest.
    let transfer = StoredResponse {
        path: "/api/v1/regions/vil/members/1/transfers".into(),
        body: br#"{"transfer":1,"secret":"a1b2c3","statement":"/s"}"#.to_vec(),
        ..answer_like()
    };
    let other = StoredResponse {
        body: br#"{"secret":"not a code"}"#.to_vec(),
        ..answer_like()
    };
    for (key, a) in [("k-2", transfer.clone()), ("k-3", other.clone())] {
        ts.store
            .write(move |b| record_response(b, op(REVIEWER_A), key, &a))
            .expect("recorded");
    }
    let later = |minutes: i64| {
        jifen_core::Timestamp::from_millis(ts.store.clock().now().millis() + minutes * 60_000)
    };
    ts.set_time(later(59));
    ts.store.forget_old_responses().expect("sweep");
    assert_eq!(read("k-2"), Some(transfer.clone()), "inside the hour");
    ts.set_time(later(2));
    ts.store.forget_old_responses().expect("sweep");
    assert_eq!(
        read("k-2").map(|a| a.body),
        Some(br#"{"transfer":1,"secret":"","statement":"/s"}"#.to_vec())
    );
    assert_eq!(read("k-3"), Some(other), "not a transfer's answer");
}

fn answer_like() -> jifen_store::accounts::StoredResponse {
    jifen_store::accounts::StoredResponse {
        method: "POST".into(),
        path: "/api/v1/regions/vil/claims".into(),
        request: Some(b"digest".to_vec()),
        status: 201,
        body: b"{}".to_vec(),
    }
}
