//! `jifen bench year-close`: closes a year for N members who each have a year of
//! entries. The fixture (members, a year of awards and some redemptions, posted
//! through the real sequencer month by month) is built first and timed apart;
//! then the close runs as `jifen year close` runs it, and its time is printed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use jifen_core::market::Policy;
use jifen_core::{
    Caps, Claimants, EntryKind, Evidence, FixedClock, Indicator, IndicatorCode, IndicatorRef,
    Level, Levels, NewEntry, OperatorId, Points, Reason, ReviewPolicy, Source, SponsorCode,
    clock::parse_date,
};

use super::at;

pub struct Args {
    pub members: u64,
    pub entries_per_member: u32,
    pub expiry_years: Option<u32>,
    pub dir: Option<std::path::PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    if a.members == 0 || a.entries_per_member == 0 {
        bail!("--members and --entries-per-member must be at least 1");
    }
    let tmp = super::temp_dir("year-close")?;
    let base = a.dir.clone().unwrap_or_else(|| tmp.0.clone());
    let clock = Arc::new(FixedClock::new(at("2025-01-02", 9)?));
    let (store_dir, store, region) = super::fresh_store_with(&base, clock.clone())?;
    let built = Instant::now();
    let code = IndicatorCode::parse("VOLUNTEER").expect("valid code");
    store.put_indicator(Indicator {
        region: region.clone(),
        code: code.clone(),
        version: 1,
        name: "志愿服务".into(),
        category: "德治".into(),
        points: Points::new(5),
        unit: "次".into(),
        caps: Caps {
            per_day: None,
            per_month: Some(10),
            per_year: None,
        },
        evidence: Evidence::None,
        review: ReviewPolicy::One,
        claimants: Claimants::Residents,
        valid_from: parse_date("2000-01-01")?,
        valid_to: None,
        core: false,
        notice_days: 0,
    })?;
    let lv = |code: &str, min: i64| Level {
        code: code.into(),
        name: code.into(),
        min_score: Points::new(min),
    };
    store.set_levels(
        region.clone(),
        Levels::new(vec![lv("bronze", 20), lv("silver", 40)])?,
    )?;
    store.set_policy(
        region.clone(),
        Policy {
            reservation_hours: 72,
            base_grant: Points::new(100),
            expiry_years: a.expiry_years,
            model_household_score: Some(Points::new(150)),
        },
    )?;
    super::seed_members(&store, &region, a.members)?;
    eprintln!(
        "fixture in {}: {} members; posting {} entries each over 2025 ...",
        store_dir.display(),
        a.members,
        a.entries_per_member
    );
    let total = a.members * u64::from(a.entries_per_member);
    let coop = SponsorCode::parse("coop").expect("valid code");
    super::post_year(
        &store,
        &region,
        &clock,
        2025,
        a.members,
        a.entries_per_member,
        |member, k, seq| {
            // Every fourth entry of every other member spends points instead of earning.
            if k % 4 == 3 && member.get() % 2 == 0 {
                NewEntry {
                    kind: EntryKind::Redemption,
                    member,
                    amount: Points::new(5),
                    indicator: None,
                    quantity: 1,
                    reason: Reason::new(Source::Shop, seq),
                    operator: OperatorId::new(2).expect("positive"),
                    reverses: None,
                    sponsor: Some(coop.clone()),
                    counts_annual: false,
                }
            } else {
                NewEntry {
                    kind: EntryKind::Award,
                    member,
                    amount: Points::new(5),
                    indicator: Some(IndicatorRef {
                        code: code.clone(),
                        version: 1,
                    }),
                    quantity: 1,
                    reason: Reason::new(Source::Direct, seq),
                    operator: OperatorId::new(2).expect("positive"),
                    reverses: None,
                    sponsor: None,
                    counts_annual: false,
                }
            }
        },
    )?;
    let fixture_secs = built.elapsed().as_secs_f64();
    println!(
        "fixture: {} members, {total} entries over 2025 in {fixture_secs:.1} s",
        a.members
    );

    clock.set(at("2026-01-02", 9)?);
    let bar = indicatif::ProgressBar::new(a.members);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} members closed {per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    let started = Instant::now();
    let mut frozen_at = None;
    let s = store.close_year(&region, 2025, OperatorId::new(1).expect("positive"), |s| {
        frozen_at.get_or_insert_with(|| started.elapsed().as_secs_f64());
        bar.set_position(s.granted_members);
    })?;
    let secs = started.elapsed().as_secs_f64();
    let frozen = frozen_at.unwrap_or(secs);
    bar.finish_and_clear();
    let audit_started = Instant::now();
    store.audit(|_, _| {})?;
    let audit_secs = audit_started.elapsed().as_secs_f64();
    store.close();
    println!(
        "closed: {} members frozen, {} model households, {} base grants ({} points), {} expiries ({} points); audit after the close {audit_secs:.1} s",
        s.members, s.model_households, s.granted_members, s.granted, s.expired_members, s.expired
    );
    #[allow(clippy::cast_precision_loss, reason = "a rate for people to read")]
    let rate = a.members as f64 / secs;
    println!(
        "phases: scan and freeze {frozen:.2} s, expiry and base grants {:.2} s",
        secs - frozen
    );
    println!(
        "year-close: {} members in {secs:.2} s = {rate:.0} members/s",
        a.members
    );
    Ok(ExitCode::SUCCESS)
}
