//! Transfers between two independent stores (each its own folder, keys and log): a
//! statement made at home and taken at the receiving side, checked offline; a wrong
//! code, a changed statement, a replay, a cap, an ended half and missing witnesses
//! refused with their reasons; both audits hold, and catch a changed row.

use ed25519_dalek::SigningKey;
use jifen_core::Points;
use jifen_core::clock::parse_date;
use jifen_core::recognition::Agreement;
use jifen_log::Cosigner;
use jifen_store::StoreError;
use jifen_store::transfer::{TransferIn, TransferOut};

use crate::common::{TestStore, VIL, award, indicator, mid, op, rc, spawn_store, spawn_village};

fn half(partner: &TestStore, region: &str, send: bool) -> Agreement {
    let info = partner.region(&rc(region)).expect("partner region");
    Agreement {
        partner_origin: info.origin,
        partner_vkey: info.vkey,
        send,
        receive: !send,
        categories: vec![],
        rate_num: 1,
        rate_den: 2,
        cap_per_member_year: Points::new(50),
        valid_from: parse_date("2026-01-01").expect("date"),
        valid_to: None,
        witnesses: vec![],
        quorum: 0,
        count_scores: true,
    }
}

fn code(e: &StoreError) -> &'static str {
    match e {
        StoreError::Refused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn points_move_by_statement_once_and_only_as_agreed() {
    let home = spawn_village();
    home.put(indicator(VIL, "MEET", 5));
    home.append_ok(VIL, award(1, "MEET", 5, 12));
    let away = spawn_store();
    away.add_region("sz", None);
    away.household("sz", 1);
    away.member("sz", 7, 1, "来自高桥的居民");
    home.put_agreement(rc(VIL), rc("sz"), half(&away, "sz", true))
        .expect("home half");
    away.put_agreement(rc("sz"), rc("vil"), half(&home, VIL, false))
        .expect("away half");

    let out = home
        .run(TransferOut {
            region: rc(VIL),
            member: mid(1),
            partner: rc("sz"),
            points: Points::new(40),
            by: op(1),
        })
        .expect("transferred out");
    let (member, doc) = home.statement(&rc(VIL), out.transfer).expect("statement");
    assert_eq!(member, mid(1));
    assert!(!doc.contains("张小三"), "no name in a statement: {doc}");
    // More than the cap (40 + 20 > 50) is refused at home.
    let over = home.run(TransferOut {
        region: rc(VIL),
        member: mid(1),
        partner: rc("sz"),
        points: Points::new(20),
        by: op(1),
    });
    assert_eq!(code(&over.expect_err("over the cap")), "agreement-cap");

    let take = |doc: &str, secret: &str| {
        away.run(TransferIn {
            region: rc("sz"),
            member: mid(7),
            document: doc.to_owned(),
            secret: secret.to_owned(),
            by: op(2),
        })
    };
    assert_eq!(
        code(&take(&doc, "0000").expect_err("wrong code")),
        "statement-secret"
    );
    let changed = doc.replacen("points 40", "points 90", 1);
    assert_eq!(
        code(&take(&changed, &out.secret).expect_err("changed")),
        "statement-signature"
    );
    let (note, receipt) = jifen_store::transfer::split_document(&doc).expect("parts");
    let forged_receipt = receipt.replacen("index ", "index 1", 1);
    assert!(take(&format!("{note}{forged_receipt}"), &out.secret).is_err());
    let taken = take(&doc, &out.secret).expect("taken");
    assert_eq!(taken.entry.amount, Points::new(20), "at the rate 1 : 2");
    assert_eq!(
        (taken.home_index, taken.home_points),
        (out.entry.seq, Points::new(40))
    );
    assert_eq!(
        code(&take(&doc, &out.secret).expect_err("again")),
        "statement-used"
    );
    let public = away.transfers_in(&rc("sz")).expect("list");
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].home_index, out.entry.seq);

    // Both sides' audits hold, and the full audit takes the new entries' rules.
    home.audit(|_, _| {}).expect("home audit");
    away.audit(|_, _| {}).expect("away audit");
    assert_eq!(
        home.audit_transfers().expect("home")[0..]
            .iter()
            .map(|a| a.out)
            .sum::<u64>(),
        1
    );
    assert_eq!(
        away.audit_transfers()
            .expect("away")
            .iter()
            .map(|a| a.taken_in)
            .sum::<u64>(),
        1
    );

    // A half that requires a witness refuses a statement no witness cosigned.
    let w = Cosigner::new("w.test", SigningKey::from_bytes(&[3; 32])).expect("w");
    away.put_agreement(
        rc("sz"),
        rc("vil"),
        Agreement {
            witnesses: vec![w.vkey()],
            quorum: 1,
            ..half(&home, VIL, false)
        },
    )
    .expect("now with a witness");
    let second = home
        .run(TransferOut {
            region: rc(VIL),
            member: mid(1),
            partner: rc("sz"),
            points: Points::new(10),
            by: op(1),
        })
        .expect("second");
    let (_, doc2) = home
        .statement(&rc(VIL), second.transfer)
        .expect("statement");
    assert_eq!(
        code(&take(&doc2, &second.secret).expect_err("unwitnessed")),
        "statement-unwitnessed"
    );
    // An ended half takes nothing more.
    away.end_agreement(rc("sz"), rc("vil")).expect("ended");
    assert_eq!(
        code(&take(&doc2, &second.secret).expect_err("ended")),
        "agreement-not-in-force"
    );

    // A changed row is caught by the audit.
    away.raw_execute("UPDATE transfers_in SET points = 99");
    assert!(matches!(
        away.audit_transfers(),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn categories_bound_a_transfer_and_stated_scores_count_toward_a_level() {
    use jifen_core::level::{Level, Levels};
    use jifen_core::{MemberId, Timestamp};
    use jifen_store::scores::TakeScores;

    let home = spawn_village();
    home.put(indicator(VIL, "MEET", 5));
    home.put(jifen_core::Indicator {
        category: "志愿服务".into(),
        ..indicator(VIL, "HELP", 10)
    });
    home.append_ok(VIL, award(1, "MEET", 5, 12));
    home.append_ok(VIL, award(1, "HELP", 10, 2));
    let away = spawn_store();
    away.add_region("sz", None);
    away.household("sz", 1);
    away.member("sz", 7, 1, "来自高桥的居民");
    away.member("sz", 8, 1, "另一位居民");
    let volunteering = vec!["志愿服务".to_owned()];
    home.put_agreement(
        rc(VIL),
        rc("sz"),
        Agreement {
            categories: volunteering.clone(),
            cap_per_member_year: Points::new(0),
            ..half(&away, "sz", true)
        },
    )
    .expect("home half");
    let away_half = |categories: Vec<String>| Agreement {
        categories,
        ..half(&home, VIL, false)
    };
    away.put_agreement(rc("sz"), rc("vil"), away_half(vec!["自治".into()]))
        .expect("away half");

    // Of the 80 points, 20 were earned in 志愿服务: at most 20 can go.
    let out = |points: i64| {
        home.run(TransferOut {
            region: rc(VIL),
            member: mid(1),
            partner: rc("sz"),
            points: Points::new(points),
            by: op(1),
        })
    };
    assert_eq!(
        code(&out(30).expect_err("more than earned there")),
        "agreement-categories"
    );
    let t = out(20).expect("twenty");
    assert_eq!(
        code(&out(1).expect_err("nothing left")),
        "agreement-categories"
    );
    let (_, doc) = home.statement(&rc(VIL), t.transfer).expect("statement");
    assert!(doc.contains("\ncategory 志愿服务\n"), "{doc}");
    let take = || {
        away.run(TransferIn {
            region: rc("sz"),
            member: mid(7),
            document: doc.clone(),
            secret: t.secret.clone(),
            by: op(2),
        })
    };
    // A receiving half that counts only 自治 does not take points of 志愿服务.
    assert_eq!(
        code(&take().expect_err("other category")),
        "statement-categories"
    );
    away.put_agreement(
        rc("sz"),
        rc("vil"),
        away_half(vec!["自治".into(), "志愿服务".into()]),
    )
    .expect("wider");
    assert_eq!(take().expect("taken").entry.amount, Points::new(10));

    // The scores of closed years, stated at home and taken for member 7.
    away.store
        .set_levels(
            rc("sz"),
            Levels::new(vec![Level {
                code: "star".into(),
                name: "星级".into(),
                min_score: Points::new(30),
            }])
            .expect("levels"),
        )
        .expect("set levels");
    assert!(
        home.score_statement(&rc(VIL), mid(1), &rc("sz")).is_err(),
        "no closed year yet"
    );
    let jan = |d: &str| {
        Timestamp::start_of(parse_date(d).expect("date"), 480)
            .expect("time")
            .plus_days(0)
    };
    home.set_time(jan("2027-01-05"));
    away.set_time(jan("2027-01-06"));
    home.close_year(&rc(VIL), 2026, op(1), |_| {})
        .expect("closed");
    let (scores, secret) = home
        .score_statement(&rc(VIL), mid(1), &rc("sz"))
        .expect("statement of scores");
    assert!(scores.contains("\nyear 2026 80\n"), "{scores}");
    assert!(
        !scores.contains("张小三") && !scores.contains("member"),
        "{scores}"
    );
    let take = |member: i64, doc: &str, secret: &str| {
        away.run(TakeScores {
            region: rc("sz"),
            member: mid(member),
            document: doc.to_owned(),
            secret: secret.to_owned(),
            by: op(2),
        })
    };
    let level = |m: i64| {
        away.store
            .member_level(&rc("sz"), MemberId::new(m).expect("id"))
            .expect("level")
            .map(|l| l.code)
    };
    assert_eq!(level(7), None);
    assert_eq!(
        code(&take(7, &scores, "0000").expect_err("wrong code")),
        "statement-secret"
    );
    let changed = scores.replacen("year 2026 80", "year 2026 800", 1);
    assert_eq!(
        code(&take(7, &changed, &secret).expect_err("changed")),
        "statement-signature"
    );
    let taken = take(7, &scores, &secret).expect("taken");
    assert_eq!(
        (taken[0].year, taken[0].home_score, taken[0].points),
        (2026, Points::new(80), Points::new(40))
    );
    assert_eq!(level(7).as_deref(), Some("star"), "40 stated ≥ 30");
    assert_eq!(
        code(&take(8, &scores, &secret).expect_err("another member")),
        "statement-other-member"
    );
    // Nor does member 7 take another home resident's scores.
    let (theirs, their_code) = home
        .score_statement(&rc(VIL), mid(2), &rc("sz"))
        .expect("member 2's");
    assert_eq!(
        code(&take(7, &theirs, &their_code).expect_err("another resident's")),
        "statement-other-resident"
    );
    // The subject is made with the member's secret key: not from their public
    // commitment, and not for an erased member.
    let line = |doc: &str| {
        doc.lines()
            .find_map(|l| l.strip_prefix("subject ").map(str::to_owned))
            .expect("subject")
    };
    assert_ne!(line(&scores), line(&theirs));
    let commitment: Vec<u8> = home
        .raw_conn()
        .query_row(
            "SELECT commitment FROM members WHERE region = ?1 AND member = 1",
            jifen_store::params![VIL],
            |r| r.get(0),
        )
        .expect("commitment");
    let public: String = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"jifen/subject/v1\n");
        h.update(&commitment);
        h.update(away.region(&rc("sz")).expect("sz").origin.as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_ne!(line(&scores), public);
    // Taken again (a newer statement), it replaces; ended, it no longer counts.
    take(7, &scores, &secret).expect("again");
    assert_eq!(
        away.recognized_scores(&rc("sz"), mid(7))
            .expect("list")
            .len(),
        1
    );
    away.end_agreement(rc("sz"), rc("vil")).expect("ended");
    assert_eq!(level(7), None);
    assert!(!away.recognized_scores(&rc("sz"), mid(7)).expect("list")[0].counts);
}
