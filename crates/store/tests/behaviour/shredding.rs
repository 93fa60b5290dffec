//! Crypto-shredding: erasing a member removes the name and key; the log stays verifiable.

use jifen_core::EntryKind;
use jifen_log::NoteVerifier;

use crate::common::{Expect, VIL, award, check, entry, indicator, mid, rc, spawn_village};

#[test]
fn erasing_a_member_keeps_the_log_verifiable() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let mine = [
        ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 100)),
        ts.append_ok(VIL, award(1, "MEET", 5, 1)),
    ];
    let other = ts.append_ok(VIL, award(3, "MEET", 5, 1));
    let leaves_before: Vec<Vec<u8>> = mine
        .iter()
        .map(|e| ts.receipt(&rc(VIL), e.seq).expect("receipt").1)
        .collect();

    ts.erase_member(rc(VIL), mid(1)).expect("erased");

    let (name, keys_1, keys_3): (Option<String>, i64, i64) = ts
        .read(|c| {
            Ok((
                c.query_row(
                    "SELECT name FROM members WHERE region = 'vil' AND member = 1",
                    jifen_store::params![],
                    |r| r.get(0),
                )?,
                c.query_row(
                    "SELECT COUNT(*) FROM member_keys WHERE region = 'vil' AND member = 1",
                    jifen_store::params![],
                    |r| r.get(0),
                )?,
                c.query_row(
                    "SELECT COUNT(*) FROM member_keys WHERE region = 'vil' AND member = 3",
                    jifen_store::params![],
                    |r| r.get(0),
                )?,
            ))
        })
        .expect("read");
    assert_eq!(
        (name, keys_1, keys_3),
        (None, 0, 1),
        "name and key gone, others untouched"
    );

    ts.audit(|_, _| {}).expect("the audit still passes");
    let vkey = ts.region(&rc(VIL)).expect("region").vkey;
    let verifier = NoteVerifier::from_vkey(&vkey).expect("vkey");
    for (e, before) in mine.iter().zip(&leaves_before) {
        let (got, leaf, receipt) = ts.receipt(&rc(VIL), e.seq).expect("receipt");
        assert_eq!(&got, e);
        assert_eq!(&leaf, before, "the public leaf did not change");
        receipt
            .verify(&leaf, &verifier)
            .expect("the receipt still verifies");
    }
    let (_, leaf, receipt) = ts.receipt(&rc(VIL), other.seq).expect("receipt");
    receipt
        .verify(&leaf, &verifier)
        .expect("others' receipts verify");
    // Balances are kept: the points are the region's liability still.
    assert_eq!(
        ts.balance(&rc(VIL), mid(1), 2026)
            .expect("balance")
            .spendable
            .get(),
        105
    );
    check(
        "an unknown member",
        &ts.erase_member(rc(VIL), mid(42)),
        Expect::NotFound("member 42"),
    );
}

/// The claim note and the appeal statement are the member's private words (the
/// schema marks them so); erasing the member must not leave them behind.
#[test]
fn erasing_a_member_removes_their_notes_and_statements() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let note = "帮 13800001111 的邻居搬家";
    let c = ts
        .submit_claim(jifen_store::workflow::NewClaim {
            region: rc(VIL),
            member: mid(1),
            indicator: crate::common::code("MEET"),
            quantity: 1,
            note: note.into(),
            source: jifen_core::Source::Claim,
            submitted_by: crate::common::op(51),
            by_staff: false,
        })
        .expect("submitted");
    let reviewer = jifen_core::Reviewer {
        operator: crate::common::op(crate::common::REVIEWER_A),
        member: None,
        household: None,
    };
    let e = ts
        .review_claim(rc(VIL), c.claim, reviewer, true)
        .expect("approved")
        .entry
        .expect("posted");
    let statement = "我住在 3 栋 201，那天在家";
    ts.file_appeal(rc(VIL), e.seq, mid(1), statement)
        .expect("filed");

    ts.erase_member(rc(VIL), mid(1)).expect("erased");

    let (notes, statements): (i64, i64) = ts
        .read(move |c| {
            Ok((
                c.query_row(
                    "SELECT COUNT(*) FROM claims WHERE region = 'vil' AND member = 1 AND note LIKE '%13800001111%'",
                    jifen_store::params![],
                    |r| r.get(0),
                )?,
                c.query_row(
                    "SELECT COUNT(*) FROM appeals WHERE region = 'vil' AND member = 1 AND statement LIKE '%201%'",
                    jifen_store::params![],
                    |r| r.get(0),
                )?,
            ))
        })
        .expect("read");
    assert_eq!(
        (notes, statements),
        (0, 0),
        "the erased member's own words are gone"
    );
    ts.audit(|_, _| {}).expect("the audit still passes");
}
