//! The yearly close: frozen scores and levels, model households, oldest-first
//! expiry, next year's base grant, idempotence, resumption, the report.

use jifen_core::market::Policy;
use jifen_core::{EntryKind, NewEntry, Reason, Source};
use jifen_store::year::{CloseStatus, report_csv};

use crate::common::{
    CITY, Expect, TestStore, VIL, award, check, entry, indicator, levels, local, mid, op, pts, rc,
    redemption, spawn_store,
};

const ADMIN: i64 = 7;

fn grant(member: i64, amount: i64, year: u64) -> NewEntry {
    NewEntry {
        reason: Reason::new(Source::Year, year),
        ..entry(EntryKind::BaseGrant, member, amount)
    }
}

/// Village with 2025 activity: member 1 ends 2025 with 130 (household 1 with
/// member 2's 100 → 230), member 3 with 100.
fn year_2025() -> TestStore {
    // Everyone joined at the start of 2024.
    let ts = spawn_store();
    ts.set_time(local("2024-01-02", 9, 0));
    ts.add_region(CITY, None);
    ts.add_region(VIL, Some(CITY));
    ts.household(VIL, 1);
    ts.household(VIL, 2);
    ts.member(VIL, 1, 1, "张小三");
    ts.member(VIL, 2, 1, "李四");
    ts.member(VIL, 3, 2, "王五");
    ts.put(indicator(VIL, "MEET", 10));
    ts.set_levels(rc(VIL), levels(&[("voucher", 120), ("model", 200)]))
        .expect("levels");
    ts.set_time(local("2025-01-02", 9, 0));
    for m in 1..=3 {
        ts.append_ok(VIL, grant(m, 100, 2025));
    }
    ts.set_time(local("2025-06-01", 9, 0));
    ts.append_ok(VIL, award(1, "MEET", 10, 3));
    ts.set_time(local("2025-11-01", 9, 0));
    ts.append_ok(VIL, redemption(1, 50));
    ts
}

fn close(ts: &TestStore, year: i32) -> jifen_store::Result<jifen_store::year::CloseSummary> {
    ts.close_year(
        &rc(VIL),
        year,
        jifen_core::OperatorId::new(ADMIN).expect("id"),
        |_| {},
    )
}

#[test]
fn a_year_cannot_close_before_it_ends() {
    let ts = year_2025();
    ts.set_time(local("2025-12-31", 23, 0));
    check(
        "too early",
        &close(&ts, 2025),
        Expect::Rejected("has not ended"),
    );
    check(
        "too old",
        &close(&ts, 1999),
        Expect::Rejected("before 2000"),
    );
    ts.set_time(local("2026-01-01", 0, 5));
    close(&ts, 2025).expect("closes just after midnight, local time");
}

#[test]
fn close_freezes_levels_households_grants_and_is_idempotent() {
    let ts = year_2025();
    ts.set_policy(
        rc(VIL),
        Policy {
            base_grant: pts(100),
            model_household_score: Some(pts(220)),
            ..Policy::default()
        },
    )
    .expect("policy");
    ts.set_time(local("2026-01-02", 9, 0));
    let s = close(&ts, 2025).expect("closed");
    assert_eq!(s.status, CloseStatus::Closed);
    assert!(!s.already);
    assert_eq!((s.members, s.model_households), (3, 1));
    assert_eq!((s.granted_members, s.granted.get()), (3, 300));
    assert_eq!(s.expired.get(), 0);
    let size = ts.entry_count(VIL);

    // The base grant counts in 2026, and the 2025 level carries into 2026.
    let b = ts.balance(&rc(VIL), mid(1), 2026).expect("balance");
    assert_eq!((b.annual_score.get(), b.spendable.get()), (100, 180));
    let lvl = ts.member_level(&rc(VIL), mid(1)).expect("level");
    assert_eq!(lvl.map(|l| l.code), Some("voucher".to_owned()));

    let again = close(&ts, 2025).expect("second run");
    assert!(again.already);
    assert_eq!(ts.entry_count(VIL), size, "the second run posts nothing");
    assert_eq!((again.granted.get(), again.members), (300, 3));

    let r = ts.year_report(&rc(VIL), 2025).expect("report");
    let counts: Vec<(Option<&str>, u64)> = r
        .levels
        .iter()
        .map(|l| (l.code.as_deref(), l.members))
        .collect();
    assert_eq!(
        counts,
        vec![(None, 2), (Some("voucher"), 1), (Some("model"), 0)]
    );
    assert_eq!(r.households, 2);
    assert_eq!(r.model_households.len(), 1);
    assert_eq!(
        (
            r.model_households[0].household,
            r.model_households[0].score.get()
        ),
        (1, 230)
    );
    let meet = r
        .totals
        .iter()
        .find(|t| t.indicator == "MEET")
        .expect("MEET total");
    assert_eq!(
        (meet.entries, meet.points.get(), meet.category.as_str()),
        (1, 30, "自治")
    );
    assert_eq!(r.categories, vec![("自治".to_owned(), 1, pts(30))]);
    let red = r
        .totals
        .iter()
        .find(|t| t.kind == EntryKind::Redemption)
        .expect("redemptions");
    assert_eq!(red.points.get(), -50);
    let csv = report_csv(&r);
    assert!(csv.starts_with("section,code,name,category,count,points\n"));
    assert!(csv.contains("level,voucher,voucher 级,,1,120\n"), "{csv}");
    assert!(csv.contains("household,1,1 号,,2,230\n"), "{csv}");
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn expiry_takes_the_oldest_points_not_spent_in_time() {
    let ts = year_2025();
    // 2024: member 3 earned 40 more, long ago.
    ts.set_time(local("2024-05-01", 9, 0));
    ts.append_ok(VIL, award(3, "MEET", 10, 4));
    ts.set_policy(
        rc(VIL),
        Policy {
            expiry_years: Some(1),
            ..Policy::default()
        },
    )
    .expect("policy");
    ts.set_time(local("2026-01-02", 9, 0));
    // Something earned in 2026 before the close is never expired.
    ts.append_ok(VIL, award(2, "MEET", 10, 1));
    // Closing 2024 with a one-year expiry: points earned up to 2024 and not spent expire.
    let s = close(&ts, 2024).expect("closed 2024");
    // Member 3's 40 from 2024 are all that is that old (2025's grants are newer).
    assert_eq!((s.expired_members, s.expired.get()), (1, 40));
    assert_eq!(
        ts.balance(&rc(VIL), mid(3), 2026)
            .expect("b")
            .spendable
            .get(),
        100
    );
    // Closing 2025 with a one-year expiry: everything earned by 2025 and unspent goes.
    let s = close(&ts, 2025).expect("closed 2025");
    // Member 1: 130 earned, 50 spent → 80; member 2: 100 (+10 of 2026 kept); member 3: 100.
    assert_eq!((s.expired_members, s.expired.get()), (3, 280));
    assert_eq!(
        ts.balance(&rc(VIL), mid(2), 2026)
            .expect("b")
            .spendable
            .get(),
        10
    );
    assert_eq!(
        ts.balance(&rc(VIL), mid(1), 2026)
            .expect("b")
            .spendable
            .get(),
        0
    );
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn a_close_that_stopped_half_way_resumes() {
    let ts = year_2025();
    // More members than one chunk, so the close takes several jobs.
    let extra = i64::try_from(jifen_store::year::CLOSE_CHUNK_MEMBERS).expect("fits") + 10;
    ts.household(VIL, 3);
    let r = rc(VIL);
    ts.store
        .write(move |b| {
            for m in 0..extra {
                jifen_store::admin::insert_member(
                    b,
                    &jifen_store::admin::NewMember {
                        region: r.clone(),
                        id: Some(mid(10 + m)),
                        household: jifen_core::HouseholdId::new(3).expect("id"),
                        name: format!("居民{m}"),
                    },
                )?;
            }
            Ok(())
        })
        .expect("members");
    ts.set_policy(
        rc(VIL),
        Policy {
            base_grant: pts(5),
            ..Policy::default()
        },
    )
    .expect("policy");
    ts.set_time(local("2026-01-02", 9, 0));
    // Begin and one chunk only: as if the process stopped after it.
    let region = rc(VIL);
    let first = ts
        .store
        .write(move |b| {
            jifen_store::year::begin_close_in(b, &region, 2025, op(ADMIN), None)?;
            jifen_store::year::close_chunk_in(b, &region, 2025)
        })
        .expect("first chunk");
    assert_eq!(first.status, CloseStatus::Closing);
    let partial = first.granted_members;
    assert_eq!(
        partial,
        u64::try_from(jifen_store::year::CLOSE_CHUNK_MEMBERS).expect("fits")
    );
    let s = close(&ts, 2025).expect("resumed");
    assert_eq!(s.status, CloseStatus::Closed);
    let total = 3 + u64::try_from(extra).expect("fits");
    assert_eq!(s.granted_members, total, "every member once, none twice");
    assert_eq!(s.granted.get(), 5 * i64::try_from(total).expect("fits"));
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn the_audit_catches_closes_changed_by_hand() {
    let cases = [
        (
            "UPDATE year_scores SET annual_score = 999 WHERE member = 2",
            "froze member 2's annual score at 999",
        ),
        (
            "UPDATE year_closes SET granted = granted + 1",
            "base grants",
        ),
        (
            "UPDATE year_closes SET expired = expired + 1",
            "points expired",
        ),
    ];
    for (sql, named) in cases {
        let ts = year_2025();
        ts.set_policy(
            rc(VIL),
            Policy {
                base_grant: pts(10),
                expiry_years: Some(1),
                ..Policy::default()
            },
        )
        .expect("policy");
        ts.set_time(local("2026-01-02", 9, 0));
        close(&ts, 2025).expect("closed");
        crate::market::tampered(&ts, sql, named);
    }
}

#[test]
fn entries_after_a_taken_scan_are_added_before_the_freeze() {
    let ts = year_2025();
    ts.set_policy(
        rc(VIL),
        Policy {
            expiry_years: Some(1),
            ..Policy::default()
        },
    )
    .expect("policy");
    ts.set_time(local("2026-01-02", 9, 0));
    let region = rc(VIL);
    let now = ts.clock().now();
    let pre = ts
        .read(|c| {
            let w = jifen_store::year::close_window(c, &region, 2025, now)?;
            let size = jifen_store::year::log_size(c, &region)?;
            jifen_store::year::scan(c, &region, w, size)
        })
        .expect("scan");
    // Earned after the scan was taken, before the close froze anything.
    ts.append_ok(VIL, award(2, "MEET", 10, 1));
    let s = ts
        .store
        .write(move |b| {
            let mut s = jifen_store::year::begin_close_in(b, &region, 2025, op(ADMIN), Some(pre))?;
            while s.status == CloseStatus::Closing {
                s = jifen_store::year::close_chunk_in(b, &region, 2025)?;
            }
            Ok(s)
        })
        .expect("closed");
    assert_eq!(s.status, CloseStatus::Closed);
    // Member 2 keeps the 10 earned in 2026; 2025's 100 expire.
    assert_eq!(
        ts.balance(&rc(VIL), mid(2), 2026)
            .expect("b")
            .spendable
            .get(),
        10
    );
    ts.audit(|_, _| {}).expect("audit passes");
}

#[test]
fn entries_between_the_freeze_and_a_members_chunk_count_as_recent() {
    let ts = year_2025();
    ts.set_policy(
        rc(VIL),
        Policy {
            expiry_years: Some(1),
            ..Policy::default()
        },
    )
    .expect("policy");
    ts.set_time(local("2026-01-02", 9, 0));
    let region = rc(VIL);
    let r2 = region.clone();
    ts.store
        .write(move |b| jifen_store::year::begin_close_in(b, &r2, 2025, op(ADMIN), None))
        .expect("frozen");
    // Earned after the freeze, before member 2's chunk ran.
    ts.append_ok(VIL, award(2, "MEET", 10, 1));
    let s = ts
        .store
        .write(move |b| {
            let mut s = jifen_store::year::close_chunk_in(b, &region, 2025)?;
            while s.status == CloseStatus::Closing {
                s = jifen_store::year::close_chunk_in(b, &region, 2025)?;
            }
            Ok(s)
        })
        .expect("closed");
    assert_eq!((s.status, s.expired.get()), (CloseStatus::Closed, 280));
    assert_eq!(
        ts.balance(&rc(VIL), mid(2), 2026)
            .expect("b")
            .spendable
            .get(),
        10
    );
    ts.audit(|_, _| {}).expect("audit passes");
}
