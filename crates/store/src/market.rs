//! The points supermarket (积分超市): a region's policy, sponsors and their
//! budgets, the rewards catalog, and redemptions.
//!
//! A reservation is one write job: it checks the reward (on offer, in stock,
//! the member's level, the per-member limit), the sponsor's budget, and appends
//! a redemption entry (which checks the spendable balance), takes one item of
//! stock with a guarded `UPDATE ... WHERE stock > 0`, and records the code. The
//! writer runs jobs one at a time, and the guarded update would refuse a second
//! taker even if it did not, so two residents racing for the last item cannot
//! both get it. Cancelling or expiring posts a refund entry and gives the item
//! back; fulfilling is a state change only (the points moved at reservation).

use jifen_core::market::{Policy, RedemptionCode, RedemptionStatus, Reward, RewardKind, Sponsor};
use jifen_core::{
    Account, CapPeriod, EntryKind, Level, MemberId, NewEntry, OperatorId, Points, Reason,
    RegionCode, Source, SponsorCode, Timestamp,
};
use time::Date;

use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows::region_offset;
use crate::sequencer::{Append, Batch};
use crate::sql::{Conn, Row};
use crate::{Store, rows};

/// Most rewards a region may list.
pub const REWARDS_MAX: usize = 10_000;
/// Most sponsors a region may have.
pub const SPONSORS_MAX: usize = 1_000;
/// Reservations expired per region in one sweep job (the rest wait for the next).
pub const EXPIRE_PER_JOB_MAX: usize = 4_096;

/// A sponsor with what its budget has been used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SponsorView {
    pub sponsor: Sponsor,
    /// Points held by open reservations and fulfilled redemptions: the balance of
    /// the ledger account `redemption:<sponsor>`.
    pub used: Points,
}

impl SponsorView {
    /// What is left of the budget (never below zero).
    pub fn left(&self) -> Points {
        Points::new((self.sponsor.budget.get() - self.used.get()).max(0))
    }
}

/// A reward in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardView {
    pub id: u64,
    pub reward: Reward,
    pub updated: Timestamp,
}

/// A redemption as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionView {
    pub region: RegionCode,
    pub id: u64,
    pub reward: u64,
    pub reward_name: String,
    pub reward_kind: RewardKind,
    pub member: MemberId,
    pub sponsor: SponsorCode,
    pub price: Points,
    pub code: RedemptionCode,
    pub status: RedemptionStatus,
    pub reserved_by: OperatorId,
    pub reserved: Timestamp,
    pub expires: Timestamp,
    pub closed_by: Option<OperatorId>,
    pub closed: Option<Timestamp>,
    pub entry_seq: u64,
    pub refund_seq: Option<u64>,
}

/// Which redemptions to list.
#[derive(Debug, Clone, Default)]
pub struct RedemptionFilter {
    pub member: Option<MemberId>,
    pub sponsor: Option<SponsorCode>,
    pub status: Option<RedemptionStatus>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn local_date(now: Timestamp, offset: i32) -> Result<Date> {
    now.local_date(offset)
        .map_err(|e| StoreError::rejected(e.to_string()))
}

// ---------------------------------------------------------------- policy

/// A region's policy; the defaults when none was set.
pub fn policy(c: &Conn, region: &RegionCode) -> Result<Policy> {
    region_offset(c, region)?;
    let row: Option<(i64, i64, Option<i64>, Option<i64>)> = c.query_opt(
        "SELECT reservation_hours, base_grant, expiry_years, model_household_score \
             FROM region_policies WHERE region = ?1",
        params![region.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let Some((hours, base, expiry, model)) = row else {
        return Ok(Policy::default());
    };
    let p = Policy {
        reservation_hours: u32::try_from(hours).map_err(|_| corrupt("reservation hours"))?,
        base_grant: Points::new(base),
        expiry_years: expiry
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt("expiry years"))?,
        model_household_score: model.map(Points::new),
    };
    p.validate()
        .map_err(|e| corrupt(format!("policy of {region}: {e}")))?;
    Ok(p)
}

/// Sets a region's policy (it applies to reservations and closes from now on).
pub(crate) fn set_policy_in(b: &mut Batch<'_>, region: &RegionCode, p: &Policy) -> Result<()> {
    p.validate()
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    region_offset(b.conn(), region)?;
    b.conn().execute(
        "INSERT INTO region_policies (region, reservation_hours, base_grant, expiry_years, model_household_score, updated_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (region) DO UPDATE SET reservation_hours = excluded.reservation_hours, \
         base_grant = excluded.base_grant, expiry_years = excluded.expiry_years, \
         model_household_score = excluded.model_household_score, updated_ms = excluded.updated_ms",
        params![
            region.as_str(),
            p.reservation_hours,
            p.base_grant.get(),
            p.expiry_years,
            p.model_household_score.map(Points::get),
            b.now().millis()
        ],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- sponsors

fn sponsor_from_row(r: &Row<'_>) -> Result<Sponsor> {
    let code: String = r.get(0)?;
    let kind: String = r.get(2)?;
    Ok(Sponsor {
        code: SponsorCode::parse(&code).map_err(corrupt)?,
        name: r.get(1)?,
        kind: jifen_core::market::SponsorKind::parse(&kind).map_err(corrupt)?,
        budget: Points::new(r.get(3)?),
    })
}

/// A region's sponsors, by code, with what each has used.
pub fn sponsors(c: &Conn, region: &RegionCode) -> Result<Vec<SponsorView>> {
    region_offset(c, region)?;
    let mut out = Vec::new();
    c.query_each(
        "SELECT sponsor, name, kind, budget FROM sponsors WHERE region = ?1 ORDER BY sponsor",
        params![region.as_str()],
        |r| {
            let sponsor = sponsor_from_row(r)?;
            let used = crate::member_years::balance(
                c,
                region,
                &Account::Redemption(sponsor.code.clone()),
            )?;
            out.push(SponsorView { sponsor, used });
            Ok(())
        },
    )?;
    Ok(out)
}

/// One sponsor.
pub fn sponsor(c: &Conn, region: &RegionCode, code: &SponsorCode) -> Result<SponsorView> {
    let sponsor = c
        .query_opt(
            "SELECT sponsor, name, kind, budget FROM sponsors WHERE region = ?1 AND sponsor = ?2",
            params![region.as_str(), code.as_str()],
            |r| Ok(sponsor_from_row(r)),
        )?
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("sponsor {code} in region {region}")))?;
    let used = crate::member_years::balance(c, region, &Account::Redemption(code.clone()))?;
    Ok(SponsorView { sponsor, used })
}

/// One sponsor as a write sees it: what it has used counts the redemptions and
/// refunds of the batch the write is in, not only committed ones, so two
/// reservations in one batch cannot both take the last of a budget.
fn sponsor_in(b: &mut Batch<'_>, region: &RegionCode, code: &SponsorCode) -> Result<SponsorView> {
    let mut v = sponsor(b.conn(), region, code)?;
    v.used = b.balance(region, &Account::Redemption(code.clone()))?;
    Ok(v)
}

/// Adds a sponsor or changes its name, kind and budget. A budget cannot go below
/// what has been redeemed already. Returns whether it was new.
pub(crate) fn put_sponsor_in(b: &mut Batch<'_>, region: &RegionCode, s: &Sponsor) -> Result<bool> {
    s.validate()
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    region_offset(b.conn(), region)?;
    let existing = match sponsor_in(b, region, &s.code) {
        Ok(v) => Some(v),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let c = b.conn();
    if let Some(v) = &existing {
        if s.budget < v.used {
            return Err(StoreError::rejected(format!(
                "the budget of sponsor {} cannot be {}: {} points are redeemed or reserved already",
                s.code, s.budget, v.used
            )));
        }
    } else {
        let n: i64 = c.query_row(
            "SELECT COUNT(*) FROM sponsors WHERE region = ?1",
            params![region.as_str()],
            |r| r.get(0),
        )?;
        if usize::try_from(n).unwrap_or(usize::MAX) >= SPONSORS_MAX {
            return Err(StoreError::rejected(format!(
                "region {region} has {SPONSORS_MAX} sponsors, the most it may have"
            )));
        }
    }
    c.execute(
        "INSERT INTO sponsors (region, sponsor, name, kind, budget, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (region, sponsor) DO UPDATE SET name = excluded.name, kind = excluded.kind, budget = excluded.budget",
        params![
            region.as_str(),
            s.code.as_str(),
            s.name,
            s.kind.as_str(),
            s.budget.get(),
            b.now().millis()
        ],
    )?;
    Ok(existing.is_none())
}

// ---------------------------------------------------------------- rewards

const REWARD_COLUMNS: &str = "reward, name, description, kind, price, stock, min_level, \
     limit_count, limit_period, sponsor, active_from, active_to, updated_ms, category";

fn period_parse(s: &str) -> Option<CapPeriod> {
    match s {
        "day" => Some(CapPeriod::Day),
        "month" => Some(CapPeriod::Month),
        "year" => Some(CapPeriod::Year),
        _ => None,
    }
}

fn reward_from_row(r: &Row<'_>) -> Result<RewardView> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(3)?;
    let limit_count: Option<u32> = r.get(7)?;
    let limit_period: Option<String> = r.get(8)?;
    let sponsor: String = r.get(9)?;
    let from: String = r.get(10)?;
    let to: Option<String> = r.get(11)?;
    let bad = |w: &str| corrupt(format!("reward {id}: bad {w}"));
    let limit = match (limit_count, limit_period) {
        (Some(n), Some(p)) => Some((n, period_parse(&p).ok_or_else(|| bad("limit period"))?)),
        (None, None) => None,
        _ => return Err(bad("limit")),
    };
    let date = |s: &str| jifen_core::clock::parse_date(s).map_err(|_| bad("date"));
    Ok(RewardView {
        id: from_sql_u64(id)?,
        reward: Reward {
            name: r.get(1)?,
            description: r.get(2)?,
            kind: RewardKind::parse(&kind).map_err(|_| bad("kind"))?,
            price: Points::new(r.get(4)?),
            stock: r.get(5)?,
            min_level: r.get(6)?,
            limit,
            sponsor: SponsorCode::parse(&sponsor).map_err(|_| bad("sponsor"))?,
            active_from: date(&from)?,
            active_to: to.as_deref().map(date).transpose()?,
            category: r.get(13)?,
        },
        updated: Timestamp::from_millis(r.get(12)?),
    })
}

/// The catalog: every reward, or only those on offer on `on` (stock aside), by id.
pub fn rewards(c: &Conn, region: &RegionCode, on: Option<Date>) -> Result<Vec<RewardView>> {
    region_offset(c, region)?;
    let mut out = Vec::new();
    c.query_each(
        &format!("SELECT {REWARD_COLUMNS} FROM rewards WHERE region = ?1 ORDER BY reward"),
        params![region.as_str()],
        |r| {
            let v = reward_from_row(r)?;
            if on.is_none_or(|d| v.reward.active_on(d)) {
                out.push(v);
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// One reward.
/// A reward id as stored; one past what is stored (a number from outside) is a
/// reward that does not exist.
fn reward_key(region: &RegionCode, id: u64) -> Result<i64> {
    i64::try_from(id).map_err(|_| StoreError::NotFound(format!("reward {id} in region {region}")))
}

pub fn reward(c: &Conn, region: &RegionCode, id: u64) -> Result<RewardView> {
    match c.query_opt(
        &format!("SELECT {REWARD_COLUMNS} FROM rewards WHERE region = ?1 AND reward = ?2"),
        params![region.as_str(), reward_key(region, id)?],
        reward_from_row,
    )? {
        Some(r) => Ok(r),
        None => Err(StoreError::NotFound(format!(
            "reward {id} in region {region}"
        ))),
    }
}

fn check_reward_refs(c: &Conn, region: &RegionCode, r: &Reward) -> Result<()> {
    r.validate()
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    sponsor(c, region, &r.sponsor).map_err(|e| match e {
        StoreError::NotFound(_) => StoreError::rejected(format!(
            "sponsor {} does not exist in region {region}; add it first",
            r.sponsor
        )),
        e => e,
    })?;
    if let Some(code) = &r.min_level {
        let levels = crate::read::load_levels(c, region)?;
        if !levels.all().iter().any(|l| &l.code == code) {
            let known: Vec<&str> = levels.all().iter().map(|l| l.code.as_str()).collect();
            return Err(StoreError::rejected(format!(
                "level {code:?} is not a level of region {region} (its levels: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    Ok(())
}

fn reward_params(r: &Reward) -> (Option<u32>, Option<&'static str>, String, Option<String>) {
    (
        r.limit.map(|(n, _)| n),
        r.limit.map(|(_, p)| p.as_str()),
        r.active_from.to_string(),
        r.active_to.map(|d| d.to_string()),
    )
}

/// Adds a reward to the catalog; returns its id.
pub(crate) fn add_reward_in(b: &mut Batch<'_>, region: &RegionCode, r: &Reward) -> Result<u64> {
    // Numbers are allocated per region: writers of other processes wait their turn.
    b.lock_region(region)?;
    let c = b.conn();
    check_reward_refs(c, region, r)?;
    let (n, max): (i64, Option<i64>) = c.query_row(
        "SELECT COUNT(*), MAX(reward) FROM rewards WHERE region = ?1",
        params![region.as_str()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if usize::try_from(n).unwrap_or(usize::MAX) >= REWARDS_MAX {
        return Err(StoreError::rejected(format!(
            "region {region} lists {REWARDS_MAX} rewards, the most it may"
        )));
    }
    let id = max.unwrap_or(0) + 1;
    let (lc, lp, from, to) = reward_params(r);
    let now = b.now().millis();
    c.execute(
        &format!(
            "INSERT INTO rewards (region, {REWARD_COLUMNS}, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?14)"
        ),
        params![
            region.as_str(),
            id,
            r.name,
            r.description,
            r.kind.as_str(),
            r.price.get(),
            r.stock,
            r.min_level,
            lc,
            lp,
            r.sponsor.as_str(),
            from,
            to,
            now,
            r.category
        ],
    )?;
    from_sql_u64(id)
}

/// Replaces a reward's details (name, price, stock, dates, ...). Redemptions
/// already made keep the price they were made at.
pub(crate) fn update_reward_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    id: u64,
    r: &Reward,
) -> Result<()> {
    let c = b.conn();
    reward(c, region, id)?;
    check_reward_refs(c, region, r)?;
    let (lc, lp, from, to) = reward_params(r);
    c.execute(
        "UPDATE rewards SET name = ?3, description = ?4, kind = ?5, price = ?6, stock = ?7, \
         min_level = ?8, limit_count = ?9, limit_period = ?10, sponsor = ?11, active_from = ?12, \
         active_to = ?13, updated_ms = ?14, category = ?15 WHERE region = ?1 AND reward = ?2",
        params![
            region.as_str(),
            sql_u64(id)?,
            r.name,
            r.description,
            r.kind.as_str(),
            r.price.get(),
            r.stock,
            r.min_level,
            lc,
            lp,
            r.sponsor.as_str(),
            from,
            to,
            b.now().millis(),
            r.category
        ],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- levels

/// The level a member holds now: the highest of what the last closed year gave
/// them, what this year's score so far reaches, and last year's score stated by a
/// partner region whose agreement half counts it (`scores.rs`). Levels follow
/// points earned, never the spendable balance.
pub fn member_level(
    c: &Conn,
    region: &RegionCode,
    member: MemberId,
    now: Timestamp,
) -> Result<Option<Level>> {
    let offset = region_offset(c, region)?;
    let year = local_date(now, offset)?.year();
    let levels = crate::read::load_levels(c, region)?;
    let annual = crate::member_years::annual_score(c, region, member, year)?;
    let frozen: Option<i64> = c.query_opt(
        "SELECT annual_score FROM year_scores WHERE region = ?1 AND member = ?2 AND year = ?3",
        params![region.as_str(), member.get(), year - 1],
        |r| r.get(0),
    )?;
    let stated = crate::scores::counted_score(c, region, member, year - 1)?;
    let score = Points::new(annual.max(frozen.unwrap_or(0)).max(stated));
    Ok(levels.level_for(score).cloned())
}

// ---------------------------------------------------------------- redemptions

const REDEMPTION_COLUMNS: &str = "d.redemption, d.reward, w.name, w.kind, d.member, d.sponsor, \
     d.price, d.code, d.status, d.reserved_by, d.reserved_ms, d.expires_ms, d.closed_by, \
     d.closed_ms, d.entry_seq, d.refund_seq";

fn redemption_from_row(region: &RegionCode, r: &Row<'_>) -> Result<RedemptionView> {
    let id: i64 = r.get(0)?;
    let bad = |w: &str| corrupt(format!("redemption {region}/{id}: bad {w}"));
    let kind: String = r.get(3)?;
    let sponsor: String = r.get(5)?;
    let code: String = r.get(7)?;
    let status: String = r.get(8)?;
    let op = |v: i64| OperatorId::new(v).map_err(|_| bad("operator"));
    Ok(RedemptionView {
        region: region.clone(),
        id: from_sql_u64(id)?,
        reward: from_sql_u64(r.get(1)?)?,
        reward_name: r.get(2)?,
        reward_kind: RewardKind::parse(&kind).map_err(|_| bad("kind"))?,
        member: MemberId::new(r.get(4)?).map_err(|_| bad("member"))?,
        sponsor: SponsorCode::parse(&sponsor).map_err(|_| bad("sponsor"))?,
        price: Points::new(r.get(6)?),
        code: RedemptionCode::parse(&code).map_err(|_| bad("code"))?,
        status: RedemptionStatus::parse(&status).map_err(|_| bad("status"))?,
        reserved_by: op(r.get(9)?)?,
        reserved: Timestamp::from_millis(r.get(10)?),
        expires: Timestamp::from_millis(r.get(11)?),
        closed_by: r.get::<Option<i64>>(12)?.map(op).transpose()?,
        closed: r.get::<Option<i64>>(13)?.map(Timestamp::from_millis),
        entry_seq: from_sql_u64(r.get(14)?)?,
        refund_seq: r.get::<Option<i64>>(15)?.map(from_sql_u64).transpose()?,
    })
}

/// One redemption.
pub fn redemption(c: &Conn, region: &RegionCode, id: u64) -> Result<RedemptionView> {
    match c.query_opt(
        &format!(
            "SELECT {REDEMPTION_COLUMNS} FROM redemptions d JOIN rewards w \
             ON w.region = d.region AND w.reward = d.reward WHERE d.region = ?1 AND d.redemption = ?2"
        ),
        // A number past what is stored is a redemption that does not exist.
        params![
            region.as_str(),
            i64::try_from(id).map_err(|_| StoreError::NotFound(format!(
                "redemption {id} in region {region}"
            )))?
        ],
        |r| redemption_from_row(region, r),
    )? {
        Some(r) => Ok(r),
        None => Err(StoreError::NotFound(format!(
            "redemption {id} in region {region}"
        ))),
    }
}

fn redemption_by_code(
    c: &Conn,
    region: &RegionCode,
    code: &RedemptionCode,
) -> Result<Option<RedemptionView>> {
    c.query_opt(
        &format!(
            "SELECT {REDEMPTION_COLUMNS} FROM redemptions d JOIN rewards w \
             ON w.region = d.region AND w.reward = d.reward WHERE d.region = ?1 AND d.code = ?2"
        ),
        params![region.as_str(), code.as_str()],
        |r| redemption_from_row(region, r),
    )
}

/// Redemptions, newest first, with ids below `before` (0: from the newest).
pub fn redemptions(
    c: &Conn,
    region: &RegionCode,
    f: &RedemptionFilter,
    before: u64,
    limit: u32,
) -> Result<Vec<RedemptionView>> {
    region_offset(c, region)?;
    let mut out = Vec::new();
    c.query_each(
        &format!(
            "SELECT {REDEMPTION_COLUMNS} FROM redemptions d JOIN rewards w \
         ON w.region = d.region AND w.reward = d.reward \
         WHERE d.region = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR d.member = ?2) AND (CAST(?3 AS TEXT) IS NULL OR d.sponsor = ?3) \
         AND (CAST(?4 AS TEXT) IS NULL OR d.status = ?4) AND (?5 = 0 OR d.redemption < ?5) \
         ORDER BY d.redemption DESC LIMIT ?6"
        ),
        params![
            region.as_str(),
            f.member.map(MemberId::get),
            f.sponsor.as_ref().map(SponsorCode::as_str),
            f.status.map(RedemptionStatus::as_str),
            sql_u64(before)?,
            limit
        ],
        |r| {
            out.push(redemption_from_row(region, r)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// A reservation request.
#[derive(Debug, Clone)]
pub struct Reserve {
    pub region: RegionCode,
    pub reward: u64,
    pub member: MemberId,
    /// The account reserving: the resident, or a station operator for a resident who is present.
    pub by: OperatorId,
}

fn random_code() -> Result<RedemptionCode> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| StoreError::Io {
        path: "random source".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(RedemptionCode::from_random(b))
}

/// The rules of a reward that depend on the member: the level it needs, and how
/// many one member may have per period. Used by `reserve_in`, and to tell a
/// resident before they try.
#[allow(clippy::too_many_arguments)]
fn member_may_have(
    c: &Conn,
    region: &RegionCode,
    member: MemberId,
    reward_id: u64,
    r: &Reward,
    now: Timestamp,
    offset: i32,
    today: Date,
) -> Result<()> {
    if let Some(need) = &r.min_level {
        let levels = crate::read::load_levels(c, region)?;
        let need_level = levels.all().iter().find(|l| &l.code == need);
        let have = member_level(c, region, member, now)?;
        let ok = match (need_level, &have) {
            (Some(n), Some(h)) => h.min_score >= n.min_score,
            (Some(_), None) => false,
            // The level was removed since: nobody is held back by a level that is gone.
            (None, _) => true,
        };
        if !ok {
            let n = need_level.map_or_else(
                || need.clone(),
                |l| format!("{} ({}, from {} points)", l.code, l.name, l.min_score),
            );
            return Err(StoreError::refused(
                "level-too-low",
                format!(
                    "reward {reward_id} needs level {n}; member {member} holds {}",
                    have.map_or_else(
                        || "no level yet".to_owned(),
                        |l| format!("level {} ({})", l.code, l.name)
                    )
                ),
            ));
        }
    }
    if let Some((limit, period)) = r.limit {
        let (from, to) = period.bounds(today);
        let start =
            Timestamp::start_of(from, offset).map_err(|e| StoreError::rejected(e.to_string()))?;
        let end =
            Timestamp::start_of(to, offset).map_err(|e| StoreError::rejected(e.to_string()))?;
        let had: i64 = c
            .query_row("SELECT COUNT(*) FROM redemptions WHERE region = ?1 AND member = ?2 AND reward = ?3 \
                 AND reserved_ms >= ?4 AND reserved_ms < ?5 AND status IN ('reserved', 'fulfilled')", params![region.as_str(), member.get(), sql_u64(reward_id)?, start.millis(), end.millis()],
                |row| row.get(0))?;
        if had >= i64::from(limit) {
            return Err(StoreError::refused(
                "limit-reached",
                format!(
                    "reward {reward_id} allows {limit} per member per {}; member {member} has {had} this {}",
                    period.as_str(),
                    period.as_str()
                ),
            ));
        }
    }
    Ok(())
}

pub_for_tests! {
    /// Reserves one item of a reward for a member: checks everything, posts the
    /// redemption entry, takes the item, and returns the redemption with its code.
    fn reserve_in(b: &mut Batch<'_>, req: Reserve) -> Result<RedemptionView> {
        // Numbers are allocated per region: writers of other processes wait their turn.
        b.lock_region(&req.region)?;
        let Reserve {
            region,
            reward: reward_id,
            member,
            by,
        } = req;
        let now = b.now();
        let c = b.conn();
        let offset = region_offset(c, &region)?;
        let today = local_date(now, offset)?;
        let v = reward(c, &region, reward_id)?;
        let r = &v.reward;
        if !r.active_on(today) {
            return Err(StoreError::refused(
                "not-on-offer",
                format!(
                    "reward {reward_id} ({}) is not on offer on {today}: it runs from {}{}",
                    r.name,
                    r.active_from,
                    r.active_to
                        .map_or_else(|| " on".to_owned(), |to| format!(" to {to}"))
                ),
            ));
        }
        if r.stock == 0 {
            return Err(StoreError::refused(
                "out-of-stock",
                format!("reward {reward_id} ({}) is out of stock", r.name),
            ));
        }
        let erased: Option<Option<String>> = c.query_opt(
            "SELECT name FROM members WHERE region = ?1 AND member = ?2",
            params![region.as_str(), member.get()],
            |row| row.get(0),
        )?;
        match erased {
            None => {
                return Err(StoreError::NotFound(format!(
                    "member {member} in region {region}"
                )));
            }
            Some(None) => {
                return Err(StoreError::refused(
                    "member-erased",
                    format!("member {member} was erased and can no longer redeem"),
                ));
            }
            Some(Some(_)) => {}
        }
        member_may_have(c, &region, member, reward_id, r, now, offset, today)?;
        let s = sponsor_in(b, &region, &r.sponsor)?;
        let c = b.conn();
        if s.left() < r.price {
            return Err(StoreError::refused(
                "budget-spent",
                format!(
                    "sponsor {} ({}) has spent its budget: {} of {} points left, the reward costs {}",
                    s.sponsor.code,
                    s.sponsor.name,
                    s.left(),
                    s.sponsor.budget,
                    r.price
                ),
            ));
        }
        let hours = policy(c, &region)?.reservation_hours;
        let id = {
            let max: Option<i64> = c.query_row(
                "SELECT MAX(redemption) FROM redemptions WHERE region = ?1",
                params![region.as_str()],
                |row| row.get(0),
            )?;
            from_sql_u64(max.unwrap_or(0) + 1)?
        };
        let entry = b.append(Append {
            region: region.clone(),
            entry: NewEntry {
                kind: EntryKind::Redemption,
                member,
                amount: r.price,
                indicator: None,
                quantity: 1,
                reason: Reason::new(Source::Shop, id),
                operator: by,
                reverses: None,
                sponsor: Some(r.sponsor.clone()),
                counts_annual: false,
            },
            idempotency_key: None,
        })?;
        let c = b.conn();
        let taken = c.execute(
            "UPDATE rewards SET stock = stock - 1 WHERE region = ?1 AND reward = ?2 AND stock > 0",
            params![region.as_str(), sql_u64(reward_id)?],
        )?;
        if taken != 1 {
            return Err(StoreError::rejected(format!(
                "reward {reward_id} ({}) is out of stock",
                r.name
            )));
        }
        let expires = Timestamp::from_millis(
            now.millis()
                .saturating_add(i64::from(hours).saturating_mul(3_600_000)),
        );
        let mut code = random_code()?;
        for attempt in 0.. {
            let clash: Option<i64> = c.query_opt(
                "SELECT redemption FROM redemptions WHERE region = ?1 AND code = ?2",
                params![region.as_str(), code.as_str()],
                |row| row.get(0),
            )?;
            if clash.is_none() {
                break;
            }
            if attempt >= 8 {
                return Err(StoreError::Conflict(
                    "could not draw an unused redemption code".into(),
                ));
            }
            code = random_code()?;
        }
        c.execute("INSERT INTO redemptions (region, redemption, reward, member, sponsor, price, code, status, \
             reserved_by, reserved_ms, expires_ms, entry_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'reserved', ?8, ?9, ?10, ?11)", params![
            region.as_str(),
            sql_u64(id)?,
            sql_u64(reward_id)?,
            member.get(),
            r.sponsor.as_str(),
            r.price.get(),
            code.as_str(),
            by.get(),
            now.millis(),
            expires.millis(),
            sql_u64(entry.seq)?
        ])?;
        redemption(c, &region, id)
    }
}

/// Closes an open redemption into `to`; for cancelled and expired, posts the
/// refund and gives the item back.
fn close_in(
    b: &mut Batch<'_>,
    d: &RedemptionView,
    to: RedemptionStatus,
    by: OperatorId,
) -> Result<RedemptionView> {
    d.status
        .close(to)
        .map_err(|e| StoreError::Conflict(format!("redemption {}: {e}", d.id)))?;
    let refund_seq = if to.refunds() {
        let e = b.append(Append {
            region: d.region.clone(),
            entry: NewEntry {
                kind: EntryKind::Refund,
                member: d.member,
                amount: d.price,
                indicator: None,
                quantity: 1,
                reason: Reason::new(Source::Shop, d.id),
                operator: by,
                reverses: None,
                sponsor: Some(d.sponsor.clone()),
                counts_annual: false,
            },
            idempotency_key: None,
        })?;
        b.conn().execute(
            "UPDATE rewards SET stock = stock + 1 WHERE region = ?1 AND reward = ?2",
            params![d.region.as_str(), sql_u64(d.reward)?],
        )?;
        Some(sql_u64(e.seq)?)
    } else {
        None
    };
    let n = b.conn().execute(
        "UPDATE redemptions SET status = ?3, closed_by = ?4, closed_ms = ?5, refund_seq = ?6 \
             WHERE region = ?1 AND redemption = ?2 AND status = 'reserved'",
        params![
            d.region.as_str(),
            sql_u64(d.id)?,
            to.as_str(),
            by.get(),
            b.now().millis(),
            refund_seq
        ],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "redemption {} changed while it was being closed",
            d.id
        )));
    }
    redemption(b.conn(), &d.region, d.id)
}

/// Cancels a reservation and refunds it. `as_member`: when the caller is the
/// resident, only their own redemption may be cancelled.
pub(crate) fn cancel_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    id: u64,
    as_member: Option<MemberId>,
    by: OperatorId,
) -> Result<RedemptionView> {
    let d = redemption(b.conn(), region, id)?;
    if let Some(m) = as_member
        && d.member != m
    {
        return Err(StoreError::NotFound(format!(
            "redemption {id} in region {region}"
        )));
    }
    close_in(b, &d, RedemptionStatus::Cancelled, by)
}

/// A merchant confirms a code: the item is handed over. Only the sponsor's own
/// redemptions can be confirmed; any other code reads as unknown, so a merchant
/// learns nothing about other sponsors' redemptions. A reservation past its
/// window is expired and refunded instead, and the merchant is told so.
pub(crate) fn confirm_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    code: &RedemptionCode,
    sponsor: &SponsorCode,
    by: OperatorId,
) -> Result<RedemptionView> {
    let unknown = || {
        StoreError::NotFound(format!(
            "a redemption with code {code} for sponsor {sponsor} in region {region}"
        ))
    };
    let d = redemption_by_code(b.conn(), region, code)?.ok_or_else(unknown)?;
    if &d.sponsor != sponsor {
        return Err(unknown());
    }
    if d.status == RedemptionStatus::Reserved && b.now() >= d.expires {
        return close_in(b, &d, RedemptionStatus::Expired, d.reserved_by);
    }
    close_in(b, &d, RedemptionStatus::Fulfilled, by)
}

/// Expires and refunds reservations past their window, in every region (at most
/// [`EXPIRE_PER_JOB_MAX`] per region per call). Returns those it closed.
pub(crate) fn expire_due_in(b: &mut Batch<'_>) -> Result<Vec<RedemptionView>> {
    let now = b.now();
    let due: Vec<(String, i64)> = {
        b.conn().query_map("SELECT region, redemption FROM redemptions \
             WHERE region IN (SELECT region FROM regions) AND status = 'reserved' AND expires_ms <= ?1 \
             ORDER BY region, redemption", params![now.millis()], |r| Ok((r.get(0)?, r.get(1)?)))?
    };
    let mut out = Vec::new();
    let mut per_region = std::collections::HashMap::<String, usize>::new();
    for (region, id) in due {
        let n = per_region.entry(region.clone()).or_default();
        if *n >= EXPIRE_PER_JOB_MAX {
            continue;
        }
        *n += 1;
        let region = RegionCode::parse(&region).map_err(corrupt)?;
        let d = redemption(b.conn(), &region, from_sql_u64(id)?)?;
        out.push(b.savepoint(|b| close_in(b, &d, RedemptionStatus::Expired, d.reserved_by))?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- budget

/// Points issued and redeemed in one local month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFlow {
    /// `YYYY-MM`.
    pub month: String,
    /// Awards, base grants and recognition in.
    pub issued: Points,
    /// Deductions.
    pub deducted: Points,
    /// Redemptions less refunds.
    pub redeemed: Points,
    pub expired: Points,
    /// Points residents held at the month's end (this month: now), what the
    /// region owes in redemptions.
    pub outstanding: Points,
}

/// A sponsor's budget and how long it lasts.
#[derive(Debug, Clone, PartialEq)]
pub struct SponsorBudget {
    pub sponsor: SponsorView,
    /// Points held by the sponsor's open reservations (owed in goods, not yet handed over).
    pub reserved: Points,
    /// Net points redeemed per month over the last three months (whole or begun).
    pub per_month: Points,
    /// How many months what is left lasts at that rate; `None` when nothing is redeemed.
    pub months_left: Option<f64>,
    /// Net points redeemed in each of the months of the report, oldest first.
    pub months: Vec<(String, Points)>,
}

/// The region's liability and flows, and each sponsor's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub region: RegionCode,
    /// Points members hold (the region's liability): minus the system accounts' sum.
    pub outstanding: Points,
    /// Points held by open reservations.
    pub reserved: Points,
    pub months: Vec<MonthFlow>,
    pub sponsors: Vec<SponsorBudget>,
}

/// Months the budget report covers, the current one included.
pub const BUDGET_MONTHS: usize = 12;
/// Months the redemption rate averages over, the current one included.
pub const RATE_MONTHS: usize = 3;

/// The budget report for a region as of `now`. It reads the entries of the
/// last [`BUDGET_MONTHS`] months.
pub fn budget(c: &Conn, region: &RegionCode, now: Timestamp) -> Result<Budget> {
    let offset = region_offset(c, region)?;
    let today = local_date(now, offset)?;
    // The first day of each month of the report, oldest first.
    let mut firsts = Vec::with_capacity(BUDGET_MONTHS);
    let mut first = CapPeriod::Month.bounds(today).0;
    for _ in 0..BUDGET_MONTHS {
        firsts.push(first);
        first = CapPeriod::Month
            .bounds(first.previous_day().unwrap_or(first))
            .0;
    }
    firsts.reverse();
    let starts: Vec<i64> = firsts
        .iter()
        .map(|d| Timestamp::start_of(*d, offset).map(Timestamp::millis))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    let label = |d: &Date| format!("{:04}-{:02}", d.year(), u8::from(d.month()));
    let mut months: Vec<MonthFlow> = firsts
        .iter()
        .map(|d| MonthFlow {
            month: label(d),
            issued: Points::ZERO,
            deducted: Points::ZERO,
            redeemed: Points::ZERO,
            expired: Points::ZERO,
            outstanding: Points::ZERO,
        })
        .collect();
    // Every entry's amount as residents see it, per month: walking back from what
    // they hold now gives what they held at each month's end.
    let mut net = vec![0i64; months.len()];
    let sponsors = sponsors(c, region)?;
    let mut per_sponsor: std::collections::HashMap<String, Vec<i64>> = sponsors
        .iter()
        .map(|s| {
            (
                format!("redemption:{}", s.sponsor.code),
                vec![0; BUDGET_MONTHS],
            )
        })
        .collect();
    {
        c.query_each("SELECT time_ms, kind, amount, counter FROM entries WHERE region = ?1 AND time_ms >= ?2", params![region.as_str(), starts[0]], |r| {
            let t: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let amount: i64 = r.get(2)?;
            let i = starts.partition_point(|s| *s <= t).saturating_sub(1);
            net[i] = net[i].saturating_add(amount);
            let m = &mut months[i];
            let add = |p: &mut Points, v: i64| *p = Points::new(p.get().saturating_add(v));
            match EntryKind::parse(&kind).map_err(corrupt)? {
                EntryKind::Award | EntryKind::BaseGrant | EntryKind::RecognitionIn => {
                    add(&mut m.issued, amount)
                }
                EntryKind::Deduction => add(&mut m.deducted, -amount),
                EntryKind::Redemption | EntryKind::Refund => {
                    add(&mut m.redeemed, -amount);
                    let counter: String = r.get(3)?;
                    if let Some(v) = per_sponsor.get_mut(&counter) {
                        v[i] = v[i].saturating_sub(amount);
                    }
                }
                EntryKind::Expiry => add(&mut m.expired, -amount),
                EntryKind::Reversal | EntryKind::RecognitionOut => {}
            }
            Ok(())
        })?;
    }
    let system: i64 = c.query_row(
        "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM balances WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    let reserved: i64 = c
        .query_row("SELECT CAST(COALESCE(SUM(price), 0) AS BIGINT) FROM redemptions WHERE region = ?1 AND status = 'reserved'", params![region.as_str()], |r| r.get(0))?;
    let reserved_by: std::collections::HashMap<String, i64> = c
        .query_map(
            "SELECT sponsor, CAST(COALESCE(SUM(price), 0) AS BIGINT) FROM redemptions \
             WHERE region = ?1 AND status = 'reserved' GROUP BY sponsor",
            params![region.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .into_iter()
        .collect();
    let sponsors = sponsors
        .into_iter()
        .map(|s| {
            let v = per_sponsor
                .remove(&format!("redemption:{}", s.sponsor.code))
                .unwrap_or_default();
            let recent: i64 = v.iter().rev().take(RATE_MONTHS).sum();
            let per_month = Points::new(recent / i64::try_from(RATE_MONTHS).unwrap_or(1));
            let months_left = jifen_core::market::months_left(s.left(), per_month);
            SponsorBudget {
                reserved: Points::new(
                    reserved_by
                        .get(s.sponsor.code.as_str())
                        .copied()
                        .unwrap_or(0),
                ),
                months: firsts
                    .iter()
                    .zip(v)
                    .map(|(d, p)| (label(d), Points::new(p)))
                    .collect(),
                sponsor: s,
                per_month,
                months_left,
            }
        })
        .collect();
    let mut held = -system;
    for (m, flow) in months.iter_mut().zip(&net).rev() {
        m.outstanding = Points::new(held);
        held = held.saturating_sub(*flow);
    }
    Ok(Budget {
        region: region.clone(),
        outstanding: Points::new(-system),
        reserved: Points::new(reserved),
        months,
        sponsors,
    })
}

// ---------------------------------------------------------------- audit

/// The audit's part: every redemption's entries exist and say what the row says
/// (member, price, sponsor, reason), a refund exists exactly for cancelled and
/// expired ones, and no sponsor has used more than its budget.
pub fn audit_region(c: &Conn, region: &RegionCode) -> Result<()> {
    let fail = |what: String| StoreError::Corrupt(format!("region {region}: {what}"));
    c.query_each(
        "SELECT redemption, member, sponsor, price, status, entry_seq, refund_seq FROM redemptions \
         WHERE region = ?1 ORDER BY redemption",
        params![region.as_str()],
        |r| {
            let id: i64 = r.get(0)?;
            let member: i64 = r.get(1)?;
            let sponsor: String = r.get(2)?;
            let price: i64 = r.get(3)?;
            let status: String = r.get(4)?;
            let status = RedemptionStatus::parse(&status)
                .map_err(|e| fail(format!("redemption {id}: {e}")))?;
            let check = |seq: i64, kind: EntryKind, signed: i64| -> Result<()> {
                let e = rows::load_entry(c, region, from_sql_u64(seq)?)?.ok_or_else(|| {
                    fail(format!(
                        "redemption {id} names entry {seq}, which does not exist"
                    ))
                })?;
                let sponsor_account = Account::Redemption(
                    SponsorCode::parse(&sponsor)
                        .map_err(|e| fail(format!("redemption {id}: {e}")))?,
                );
                let amount = if e.credit == Account::Member(e.member) {
                    e.amount.get()
                } else {
                    -e.amount.get()
                };
                let touches = e.debit == sponsor_account || e.credit == sponsor_account;
                if e.kind != kind
                    || e.member.get() != member
                    || amount != signed
                    || !touches
                    || e.reason != Reason::new(Source::Shop, from_sql_u64(id)?)
                {
                    return Err(fail(format!(
                        "redemption {id} does not match its {kind} entry {seq}"
                    )));
                }
                Ok(())
            };
            check(r.get(5)?, EntryKind::Redemption, -price)?;
            let refund: Option<i64> = r.get(6)?;
            match (status.refunds(), refund) {
                (true, Some(seq)) => check(seq, EntryKind::Refund, price)?,
                (false, None) => {}
                (true, None) => {
                    return Err(fail(format!(
                        "redemption {id} is {status} but was not refunded"
                    )));
                }
                (false, Some(seq)) => {
                    return Err(fail(format!(
                        "redemption {id} is {status} but names refund entry {seq}"
                    )));
                }
            }
            Ok(())
        },
    )?;
    for s in sponsors(c, region)? {
        if s.used > s.sponsor.budget {
            return Err(fail(format!(
                "sponsor {} has used {} points, more than its budget of {}",
                s.sponsor.code, s.used, s.sponsor.budget
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- Store

impl Store {
    pub fn policy(&self, region: &RegionCode) -> Result<Policy> {
        self.read(|c| policy(c, region))
    }
    pub fn set_policy(&self, region: RegionCode, p: Policy) -> Result<()> {
        self.write(move |b| set_policy_in(b, &region, &p))
    }
    pub fn put_sponsor(&self, region: RegionCode, s: Sponsor) -> Result<bool> {
        self.write(move |b| put_sponsor_in(b, &region, &s))
    }
    pub fn sponsors(&self, region: &RegionCode) -> Result<Vec<SponsorView>> {
        self.read(|c| sponsors(c, region))
    }
    pub fn add_reward(&self, region: RegionCode, r: Reward) -> Result<u64> {
        self.write(move |b| add_reward_in(b, &region, &r))
    }
    pub fn update_reward(&self, region: RegionCode, id: u64, r: Reward) -> Result<()> {
        self.write(move |b| update_reward_in(b, &region, id, &r))
    }
    pub fn reward(&self, region: &RegionCode, id: u64) -> Result<RewardView> {
        self.read(|c| reward(c, region, id))
    }
    pub fn sponsor(&self, region: &RegionCode, code: &SponsorCode) -> Result<SponsorView> {
        self.read(|c| sponsor(c, region, code))
    }
    pub fn rewards(&self, region: &RegionCode, on: Option<Date>) -> Result<Vec<RewardView>> {
        self.read(|c| rewards(c, region, on))
    }
    pub fn reserve(&self, req: Reserve) -> Result<RedemptionView> {
        self.write(move |b| reserve_in(b, req))
    }
    pub fn cancel_redemption(
        &self,
        region: RegionCode,
        id: u64,
        as_member: Option<MemberId>,
        by: OperatorId,
    ) -> Result<RedemptionView> {
        self.write(move |b| cancel_in(b, &region, id, as_member, by))
    }
    pub fn confirm_redemption(
        &self,
        region: RegionCode,
        code: RedemptionCode,
        sponsor: SponsorCode,
        by: OperatorId,
    ) -> Result<RedemptionView> {
        self.write(move |b| confirm_in(b, &region, &code, &sponsor, by))
    }
    /// Expires and refunds every reservation past its window.
    pub fn expire_reservations(&self) -> Result<Vec<RedemptionView>> {
        self.write(expire_due_in)
    }
    pub fn redemptions(
        &self,
        region: &RegionCode,
        f: &RedemptionFilter,
        before: u64,
        limit: u32,
    ) -> Result<Vec<RedemptionView>> {
        self.read(|c| redemptions(c, region, f, before, limit))
    }
    pub fn redemption(&self, region: &RegionCode, id: u64) -> Result<RedemptionView> {
        self.read(|c| redemption(c, region, id))
    }
    pub fn member_level(&self, region: &RegionCode, member: MemberId) -> Result<Option<Level>> {
        let now = self.clock().now();
        self.read(|c| member_level(c, region, member, now))
    }
    pub fn budget(&self, region: &RegionCode) -> Result<Budget> {
        let now = self.clock().now();
        self.read(|c| budget(c, region, now))
    }

    /// For each reward on offer today that the member may not redeem now because of
    /// its stock, its level or its per-member limit: the refusal (`out-of-stock`,
    /// `level-too-low`, `limit-reached`) that reserving would give. The balance and
    /// the sponsor's budget are checked when reserving, as always.
    pub fn member_refusals(
        &self,
        region: &RegionCode,
        member: MemberId,
    ) -> Result<Vec<(u64, StoreError)>> {
        let now = self.clock().now();
        self.read(|c| {
            let offset = region_offset(c, region)?;
            let today = local_date(now, offset)?;
            let mut out = Vec::new();
            for v in rewards(c, region, Some(today))? {
                let refused = if v.reward.stock == 0 {
                    Err(StoreError::refused(
                        "out-of-stock",
                        format!("reward {} ({}) is out of stock", v.id, v.reward.name),
                    ))
                } else {
                    member_may_have(c, region, member, v.id, &v.reward, now, offset, today)
                };
                match refused {
                    Ok(()) => {}
                    Err(e @ StoreError::Refused { .. }) => out.push((v.id, e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    /// Keeps a reward's picture (replacing any before), checked by its bytes.
    pub fn set_reward_picture(
        &self,
        region: RegionCode,
        id: u64,
        bytes: Vec<u8>,
    ) -> Result<String> {
        let content_type =
            jifen_core::market::picture_type(&bytes).map_err(|e| StoreError::Field {
                field: "picture",
                detail: e.to_string(),
            })?;
        let sha = {
            use sha2::Digest;
            let d = sha2::Sha256::digest(&bytes);
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        self.write(move |b| {
            let now = b.now().millis();
            let c = b.conn();
            reward(c, &region, id)?;
            c.execute(
                "DELETE FROM reward_pictures WHERE region = ?1 AND reward = ?2",
                params![region.as_str(), reward_key(&region, id)?],
            )?;
            c.execute(
                "INSERT INTO reward_pictures (region, reward, content_type, bytes, sha256, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![region.as_str(), reward_key(&region, id)?, content_type, bytes, sha.as_str(), now],
            )?;
            Ok(sha)
        })
    }

    /// Removes a reward's picture; `NotFound` when it has none.
    pub fn remove_reward_picture(&self, region: RegionCode, id: u64) -> Result<()> {
        self.write(move |b| {
            let n = b.conn().execute(
                "DELETE FROM reward_pictures WHERE region = ?1 AND reward = ?2",
                params![region.as_str(), reward_key(&region, id)?],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "a picture of reward {id} in region {region}"
                )));
            }
            Ok(())
        })
    }

    /// A reward's picture: its content type, bytes and SHA-256 (hex).
    pub fn reward_picture(&self, region: &RegionCode, id: u64) -> Result<RewardPicture> {
        self.read(|c| {
            c.query_opt(
                "SELECT content_type, bytes, sha256 FROM reward_pictures WHERE region = ?1 AND reward = ?2",
                params![region.as_str(), reward_key(region, id)?],
                |r| {
                    Ok(RewardPicture {
                        content_type: r.get(0)?,
                        bytes: r.get(1)?,
                        sha256: r.get(2)?,
                    })
                },
            )?
            .ok_or_else(|| StoreError::NotFound(format!("a picture of reward {id} in region {region}")))
        })
    }

    /// The SHA-256 of each picture of the region's rewards, by reward.
    pub fn reward_picture_hashes(&self, region: &RegionCode) -> Result<Vec<(u64, String)>> {
        self.read(|c| {
            let rows = c.query_map(
                "SELECT reward, sha256 FROM reward_pictures WHERE region = ?1 ORDER BY reward",
                params![region.as_str()],
                |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
            )?;
            rows.into_iter()
                .map(|(id, sha)| Ok((from_sql_u64(id)?, sha)))
                .collect()
        })
    }
}

/// A reward's picture as stored.
#[derive(Debug, Clone)]
pub struct RewardPicture {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}
