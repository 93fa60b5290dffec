//! Recognition agreements (积分互认): a region's half, checked when set (the partner's
//! key against its origin, the witnesses' keys, the domain's rules by field), kept,
//! replaced, ended for good.

use ed25519_dalek::SigningKey;
use jifen_core::Points;
use jifen_core::clock::parse_date;
use jifen_core::recognition::Agreement;
use jifen_log::{Cosigner, NoteSigner};
use jifen_store::StoreError;

use crate::common::{VIL, rc, spawn_village};

const ORIGIN: &str = "jifen.sz/log/sz-nanshan";

fn half() -> Agreement {
    Agreement {
        partner_origin: ORIGIN.into(),
        partner_vkey: NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[4; 32]))
            .expect("signer")
            .vkey(),
        send: true,
        receive: true,
        categories: vec!["志愿服务".into()],
        rate_num: 1,
        rate_den: 2,
        cap_per_member_year: Points::new(200),
        valid_from: parse_date("2026-01-01").expect("date"),
        valid_to: None,
        witnesses: vec![
            Cosigner::new("w1.test", SigningKey::from_bytes(&[5; 32]))
                .expect("w")
                .vkey(),
        ],
        quorum: 1,
        count_scores: false,
    }
}

#[test]
fn a_half_is_set_replaced_read_and_ended_for_good() {
    let ts = spawn_village();
    let sz = rc("sz-nanshan");
    let kept = ts.put_agreement(rc(VIL), sz.clone(), half()).expect("set");
    assert_eq!((kept.agreement.clone(), kept.ended_ms), (half(), None));
    let wider = Agreement {
        categories: vec![],
        rate_num: 1,
        rate_den: 1,
        ..half()
    };
    ts.put_agreement(rc(VIL), sz.clone(), wider.clone())
        .expect("replaced");
    assert_eq!(ts.agreement(&rc(VIL), &sz).expect("read").agreement, wider);
    assert_eq!(ts.agreements(&rc(VIL)).expect("list").len(), 1);
    let ended = ts.end_agreement(rc(VIL), sz.clone()).expect("ended");
    assert!(ended.ended_ms.is_some());
    let again = ts.end_agreement(rc(VIL), sz.clone()).expect("ended again");
    assert_eq!(
        again.ended_ms, ended.ended_ms,
        "ending again changes nothing"
    );
    assert!(matches!(
        ts.put_agreement(rc(VIL), sz.clone(), half()),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        ts.end_agreement(rc(VIL), rc("nobody")),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        ts.agreements(&rc("nowhere")),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn a_bad_half_is_refused_naming_its_field_and_nothing_is_kept() {
    let ts = spawn_village();
    let own = ts.region(&rc(VIL)).expect("region");
    let refused = |a: Agreement| match ts.put_agreement(rc(VIL), rc("sz"), a) {
        Err(StoreError::Field { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(Agreement {
            partner_vkey: "nonsense".into(),
            ..half()
        }),
        "partner_vkey"
    );
    let other = NoteSigner::new("elsewhere/log", SigningKey::from_bytes(&[6; 32])).expect("s");
    assert_eq!(
        refused(Agreement {
            partner_vkey: other.vkey(),
            ..half()
        }),
        "partner_vkey"
    );
    assert_eq!(
        refused(Agreement {
            partner_origin: own.origin.clone(),
            partner_vkey: own.vkey.clone(),
            ..half()
        }),
        "partner_origin"
    );
    let w = half().witnesses[0].clone();
    assert_eq!(
        refused(Agreement {
            witnesses: vec![w.clone(), w],
            ..half()
        }),
        "witnesses"
    );
    assert_eq!(
        refused(Agreement {
            witnesses: vec![half().partner_vkey],
            ..half()
        }),
        "witnesses"
    );
    assert_eq!(
        refused(Agreement {
            rate_den: 0,
            ..half()
        }),
        "rate_den"
    );
    assert_eq!(
        refused(Agreement {
            quorum: 2,
            ..half()
        }),
        "quorum"
    );
    assert!(ts.agreements(&rc(VIL)).expect("list").is_empty());
}
