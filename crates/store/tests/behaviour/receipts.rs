//! Receipts: each entry's leaf with an inclusion proof against the signed checkpoint.

use jifen_core::{EntryKind, PublicLeaf};
use jifen_log::{NoteVerifier, Receipt};

use crate::common::{CITY, Expect, VIL, award, check, entry, indicator, rc, spawn_village};

#[test]
fn a_receipt_verifies_its_leaf_and_nothing_else() {
    let ts = spawn_village();
    ts.put(indicator(VIL, "MEET", 5));
    let mut posted = vec![ts.append_ok(VIL, entry(EntryKind::BaseGrant, 1, 100))];
    for m in [1, 2, 3, 1, 2, 3, 1] {
        posted.push(ts.append_ok(VIL, award(m, "MEET", 5, 1)));
    }
    let n = posted.len() as u64;
    let info = ts.region(&rc(VIL)).expect("region");
    let verifier = NoteVerifier::from_vkey(&info.vkey).expect("vkey");
    let city = ts.region(&rc(CITY)).expect("region");
    let wrong_key = NoteVerifier::from_vkey(&city.vkey).expect("vkey");

    for e in &posted {
        let (got, leaf, receipt) = ts.receipt(&rc(VIL), e.seq).expect("receipt");
        assert_eq!(&got, e);
        assert_eq!(receipt.index, e.seq);
        let cp = receipt.verify(&leaf, &verifier).expect("verifies");
        assert_eq!((cp.size, cp.origin.as_str()), (n, info.origin.as_str()));
        // The leaf is the entry's public form, and it does not name the member.
        let public = PublicLeaf::decode(&leaf).expect("decodes");
        assert_eq!(
            (public.seq, public.amount, public.kind),
            (e.seq, e.amount, e.kind)
        );
        let text = String::from_utf8(leaf.clone()).expect("UTF-8");
        assert!(!text.contains(&format!("member:{}\n", e.member)), "{text}");
        // Its text form parses back and verifies.
        let parsed = Receipt::parse(&receipt.to_text()).expect("parses");
        parsed
            .verify(&leaf, &verifier)
            .expect("round trip verifies");
        // Any changed byte fails; so does another region's key.
        for i in [0, leaf.len() / 2, leaf.len() - 2] {
            let mut bad = leaf.clone();
            bad[i] ^= 0x01;
            assert!(
                receipt.verify(&bad, &verifier).is_err(),
                "byte {i} of leaf {}",
                e.seq
            );
        }
        assert!(receipt.verify(&leaf, &wrong_key).is_err());
    }
    // Another entry's leaf does not verify at this index.
    let (_, leaf3, _) = ts.receipt(&rc(VIL), 3).expect("receipt");
    let (_, _, receipt4) = ts.receipt(&rc(VIL), 4).expect("receipt");
    assert!(receipt4.verify(&leaf3, &verifier).is_err());
    check(
        "beyond the tree",
        &ts.receipt(&rc(VIL), n),
        Expect::NotFound("entry vil:8"),
    );
    check(
        "unknown region",
        &ts.receipt(&rc("nowhere"), 0),
        Expect::NotFound("nowhere"),
    );
}
