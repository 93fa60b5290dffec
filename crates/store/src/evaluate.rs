//! The evaluation of a region's year (the seed's sections 3 and 4): who takes part,
//! how unequal the scores are, which indicators carry the points and for whom, how
//! reviewers decide, how appeals end, and whether the budget keeps up with the points
//! issued. Aggregates only: no member id, name or commitment leaves this module.
//!
//! One pass over the year's entries (streamed), plus the members, their attributes,
//! the year's reviews and appeals. The arithmetic is core's [`jifen_core::fairness`].

use std::collections::HashMap;

use jifen_core::fairness::{
    self, AgeBand, HOUSEHOLD_BANDS, Residence, far_from_others, household_band, shares,
};
use jifen_core::{AppealStatus, EntryKind, RegionCode, Timestamp};

use crate::Store;
use crate::attributes::residence_col;
use crate::db::from_sql_u64;
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows::region_offset;
use crate::sql::Conn;

/// A category holding more than this share of all points awarded is warned of.
pub const CATEGORY_SHARE_WARN: f64 = 0.5;
/// A group whose uptake of an indicator is under this fraction of the overall uptake
/// is warned of.
pub const UPTAKE_WARN_FRACTION: f64 = 0.5;
/// Groups smaller than this are shown but not warned of (too few to tell).
pub const WARN_GROUP_MEMBERS_MIN: u64 = 10;
/// Reviewers with fewer decisions than this are shown but not compared.
pub const COMPARE_DECISIONS_MIN: u64 = 10;
/// The least median absolute deviation of approval rates (5 percentage points).
pub const RATE_DEVIATION_FLOOR: f64 = 0.05;
/// The least median absolute deviation of points approved, as a share of their median.
pub const POINTS_DEVIATION_FLOOR: f64 = 0.1;
/// Points of the Lorenz curve (population shares 0, 1/20, …, 1).
pub const LORENZ_STEPS: usize = 20;

/// Which attribute a group is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Age,
    Residence,
    Household,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Age, Dimension::Residence, Dimension::Household];
    pub fn code(self) -> &'static str {
        match self {
            Dimension::Age => "age",
            Dimension::Residence => "residence",
            Dimension::Household => "household",
        }
    }
}

/// The band of members with nothing recorded for a dimension.
pub const UNKNOWN: &str = "unknown";

/// A group of members: one band of one dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group {
    pub dimension: Dimension,
    pub band: &'static str,
}

/// The bands of a dimension, in display order, `unknown` last.
pub fn bands(d: Dimension) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = match d {
        Dimension::Age => AgeBand::ALL.iter().map(|b| b.code()).collect(),
        Dimension::Residence => Residence::ALL.iter().map(|r| r.code()).collect(),
        Dimension::Household => HOUSEHOLD_BANDS.to_vec(),
    };
    if d != Dimension::Household {
        v.push(UNKNOWN);
    }
    v
}

/// Inequality of a set of annual scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub members: u64,
    /// With at least one award in the year.
    pub participants: u64,
    pub mean: f64,
    pub median: i64,
    pub p90: i64,
    pub gini: f64,
    /// Share of all points held by the top 10 % of members.
    pub top10_share: f64,
    /// (population share, points share), [`LORENZ_STEPS`] + 1 points.
    pub lorenz: Vec<(f64, f64)>,
    /// Deductions in the year: how many, and their points (as a positive number).
    pub deductions: u64,
    pub deducted: i64,
}

impl Distribution {
    pub fn participation(&self) -> f64 {
        if self.members == 0 {
            0.0
        } else {
            self.participants as f64 / self.members as f64
        }
    }
}

/// A group's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFigures {
    pub group: Group,
    pub figures: Distribution,
}

/// How an indicator was used in the year.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorUse {
    pub code: String,
    pub name: String,
    pub category: String,
    /// Entries (awards or deductions) under it.
    pub entries: u64,
    /// Their points, signed.
    pub points: i64,
    /// Members with at least one, and that as a share of all members.
    pub members: u64,
    pub uptake: f64,
    /// Uptake per group, in the order of [`Evaluation::groups`].
    pub uptake_by_group: Vec<f64>,
}

/// Points awarded per category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryUse {
    pub category: String,
    pub points: i64,
    pub share: f64,
}

/// One reviewer's year.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewerFigures {
    pub account: i64,
    pub name: String,
    pub decisions: u64,
    pub approvals: u64,
    pub approval_rate: f64,
    /// From the claim's submission to this decision.
    pub median_decide_ms: i64,
    /// Points of the claims this reviewer approved that were posted.
    pub points_approved: i64,
    /// Approvals of a claim by a member of the reviewer's own household.
    pub same_household: u64,
    /// Stands far from the others by the stated rule: its approval rate, its points.
    pub far_rate: bool,
    pub far_points: bool,
}

/// The year's appeals (filed in the year).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppealFigures {
    pub filed: u64,
    pub open: u64,
    pub upheld: u64,
    pub overturned: u64,
    pub adjusted: u64,
    pub withdrawn: u64,
    /// Overturned or adjusted, of those decided.
    pub changed_share: f64,
    pub median_decide_ms: Option<i64>,
    pub p90_decide_ms: Option<i64>,
    /// Decided after their deadline, or still open past it.
    pub past_deadline: u64,
}

/// One month's points against what sponsors can still redeem.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Awards, base grants and recognition in.
    pub issued: i64,
    /// Redemptions less refunds.
    pub redeemed: i64,
    /// Points members hold at the month's end (the liability).
    pub outstanding: i64,
}

/// Something a committee should look at, with the figures that raised it.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// One category carries more than [`CATEGORY_SHARE_WARN`] of the points awarded.
    CategoryDominates { category: String, share: f64 },
    /// A group takes up an indicator at under [`UPTAKE_WARN_FRACTION`] of the overall rate.
    LowUptake {
        indicator: String,
        group: Group,
        uptake: f64,
        overall: f64,
    },
    /// A reviewer stands far from the others.
    Reviewer { account: i64, name: String },
    /// Reviewers approved claims of their own household.
    SameHousehold { approvals: u64 },
    /// Points members hold exceed what sponsors' budgets can still redeem.
    Liability { outstanding: i64, redeemable: i64 },
}

/// The evaluation of one region's year.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub region: RegionCode,
    pub year: i32,
    /// The log's size when the figures were read: the entries they rest on.
    pub tree_size: u64,
    pub overall: Distribution,
    /// Every band of every dimension, in [`Dimension::ALL`] and [`bands`] order.
    pub groups: Vec<GroupFigures>,
    /// Members with at least one award, per month of the year.
    pub participants_by_month: Vec<u64>,
    pub indicators: Vec<IndicatorUse>,
    pub categories: Vec<CategoryUse>,
    pub reviewers: Vec<ReviewerFigures>,
    pub appeals: AppealFigures,
    pub budget: Vec<BudgetMonth>,
    /// What sponsors' budgets can still redeem today.
    pub redeemable: i64,
    pub warnings: Vec<Warning>,
}

#[derive(Default)]
pub(crate) struct MemberAcc {
    pub score: i64,
    pub awards: u32,
    pub months: u16,
    pub deductions: u32,
    pub deducted: i64,
    pub indicators: Vec<u32>,
}

/// The evaluation of `region`'s `year`, read in one read transaction.
/// `now` decides which open appeals are past their deadline.
pub fn evaluate_in(c: &Conn, region: &RegionCode, year: i32, now: Timestamp) -> Result<Evaluation> {
    let month_starts = month_starts(c, region, year)?;
    let (start, end) = (month_starts[0], month_starts[12]);
    let Population {
        index: member_index,
        groups,
        group_pos,
        member_groups,
        in_group,
    } = Population::load(c, region, year, end)?;
    let n = member_groups.len();
    let mut acc: Vec<MemberAcc> = (0..n).map(|_| MemberAcc::default()).collect();

    // Indicators the region sees, for their names and categories.
    let (_, visible) = crate::admin::lineage_indicators(c, region)?;
    let mut indicator_index: HashMap<String, u32> = HashMap::new();
    let mut indicators: Vec<IndicatorUse> = Vec::new();
    let mut index_of = |code: &str, indicators: &mut Vec<IndicatorUse>| -> u32 {
        if let Some(i) = indicator_index.get(code) {
            return *i;
        }
        let i = indicators.len() as u32;
        let found = visible.iter().find(|x| x.code.as_str() == code);
        indicators.push(IndicatorUse {
            code: code.to_owned(),
            name: found.map_or_else(String::new, |x| x.name.clone()),
            category: found.map_or_else(String::new, |x| x.category.clone()),
            entries: 0,
            points: 0,
            members: 0,
            uptake: 0.0,
            uptake_by_group: Vec::new(),
        });
        indicator_index.insert(code.to_owned(), i);
        i
    };
    for x in &visible {
        index_of(x.code.as_str(), &mut indicators);
    }

    // Flows before the year, for the liability at each month's end.
    let before: i64 = c.query_row(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM entries WHERE region = ?1 AND time_ms < ?2",
        params![region.as_str(), start],
        |r| r.get(0),
    )?;
    let mut budget: Vec<BudgetMonth> = (1..=12)
        .map(|m| BudgetMonth {
            month: format!("{year:04}-{m:02}"),
            issued: 0,
            redeemed: 0,
            outstanding: 0,
        })
        .collect();
    let mut net_by_month = [0i64; 12];
    c.query_each(
        "SELECT member, kind, amount, indicator, time_ms, annual_delta FROM entries \
         WHERE region = ?1 AND time_ms >= ?2 AND time_ms < ?3",
        params![region.as_str(), start, end],
        |r| {
            let member: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let amount: i64 = r.get(2)?;
            let indicator: Option<String> = r.get(3)?;
            let t: i64 = r.get(4)?;
            let annual: i64 = r.get(5)?;
            let month = month_starts.partition_point(|s| *s <= t).clamp(1, 12) - 1;
            net_by_month[month] += amount;
            let kind = EntryKind::parse(&kind).map_err(|e| corrupt(e.to_string()))?;
            match kind {
                EntryKind::Award | EntryKind::BaseGrant | EntryKind::RecognitionIn => {
                    budget[month].issued += amount
                }
                EntryKind::Redemption | EntryKind::Refund => budget[month].redeemed -= amount,
                _ => {}
            }
            let Some(&m) = member_index.get(&member) else {
                return Ok(());
            };
            let a = &mut acc[m];
            a.score += annual;
            match kind {
                EntryKind::Award => {
                    a.awards += 1;
                    a.months |= 1 << month;
                }
                EntryKind::Deduction => {
                    a.deductions += 1;
                    a.deducted -= amount;
                }
                _ => {}
            }
            if let (Some(code), EntryKind::Award | EntryKind::Deduction) = (indicator, kind) {
                let i = index_of(&code, &mut indicators);
                let u = &mut indicators[i as usize];
                u.entries += 1;
                u.points += amount;
                if !a.indicators.contains(&i) {
                    a.indicators.push(i);
                }
            }
            Ok(())
        },
    )?;
    let mut outstanding = before;
    for (b, net) in budget.iter_mut().zip(net_by_month) {
        outstanding += net;
        b.outstanding = outstanding;
    }

    let all: Vec<usize> = (0..n).collect();
    let overall = distribution(&acc, &all);
    let group_figures: Vec<GroupFigures> = groups
        .iter()
        .zip(&in_group)
        .map(|(g, ms)| GroupFigures {
            group: g.clone(),
            figures: distribution(&acc, ms),
        })
        .collect();
    let participants_by_month: Vec<u64> = (0..12)
        .map(|month| acc.iter().filter(|a| a.months & (1 << month) != 0).count() as u64)
        .collect();

    // Uptake per indicator, overall and per group.
    let mut takers: Vec<Vec<u64>> = vec![vec![0; groups.len() + 1]; indicators.len()];
    for (m, a) in acc.iter().enumerate() {
        for &i in &a.indicators {
            let t = &mut takers[i as usize];
            t[groups.len()] += 1;
            for &g in &member_groups[m] {
                t[g] += 1;
            }
        }
    }
    let share = |k: u64, of: usize| if of == 0 { 0.0 } else { k as f64 / of as f64 };
    for (u, t) in indicators.iter_mut().zip(&takers) {
        u.members = t[groups.len()];
        u.uptake = share(u.members, n);
        u.uptake_by_group = in_group
            .iter()
            .enumerate()
            .map(|(g, ms)| share(t[g], ms.len()))
            .collect();
    }
    let mut categories: Vec<CategoryUse> = Vec::new();
    for u in indicators.iter().filter(|u| u.points > 0) {
        match categories.iter_mut().find(|c| c.category == u.category) {
            Some(c) => c.points += u.points,
            None => categories.push(CategoryUse {
                category: u.category.clone(),
                points: u.points,
                share: 0.0,
            }),
        }
    }
    let awarded: i64 = categories.iter().map(|c| c.points).sum();
    for c in &mut categories {
        c.share = if awarded == 0 {
            0.0
        } else {
            c.points as f64 / awarded as f64
        };
    }
    categories.sort_by(|a, b| b.points.cmp(&a.points).then(a.category.cmp(&b.category)));

    let reviewers = reviewers_in(c, region, start, end)?;
    let appeals = appeals_in(c, region, start, end, now.millis())?;
    let redeemable: i64 = crate::market::sponsors(c, region)?
        .iter()
        .map(|s| s.left().get())
        .sum();
    let tree_size: i64 = c.query_row(
        "SELECT COUNT(*) FROM entries WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;

    let mut warnings = Vec::new();
    for cat in &categories {
        if cat.share > CATEGORY_SHARE_WARN {
            warnings.push(Warning::CategoryDominates {
                category: cat.category.clone(),
                share: cat.share,
            });
        }
    }
    for u in indicators.iter().filter(|u| u.points > 0 && u.members > 0) {
        for (g, up) in groups.iter().zip(&u.uptake_by_group) {
            let size = in_group[group_pos[&(g.dimension, g.band)]].len() as u64;
            if g.band != UNKNOWN
                && size >= WARN_GROUP_MEMBERS_MIN
                && *up < UPTAKE_WARN_FRACTION * u.uptake
            {
                warnings.push(Warning::LowUptake {
                    indicator: u.code.clone(),
                    group: g.clone(),
                    uptake: *up,
                    overall: u.uptake,
                });
            }
        }
    }
    for r in reviewers.iter().filter(|r| r.far_rate || r.far_points) {
        warnings.push(Warning::Reviewer {
            account: r.account,
            name: r.name.clone(),
        });
    }
    let same: u64 = reviewers.iter().map(|r| r.same_household).sum();
    if same > 0 {
        warnings.push(Warning::SameHousehold { approvals: same });
    }
    if outstanding > redeemable {
        warnings.push(Warning::Liability {
            outstanding,
            redeemable,
        });
    }

    Ok(Evaluation {
        region: region.clone(),
        year,
        tree_size: from_sql_u64(tree_size)?,
        overall,
        groups: group_figures,
        participants_by_month,
        indicators,
        categories,
        reviewers,
        appeals,
        budget,
        redeemable,
        warnings,
    })
}

/// The first instant of each month of `year` in the region's time, and of the next
/// year's January: 13 bounds, as milliseconds.
pub(crate) fn month_starts(c: &Conn, region: &RegionCode, year: i32) -> Result<Vec<i64>> {
    let offset = region_offset(c, region)?;
    (1..=13)
        .map(|m| {
            let (y, m) = if m == 13 { (year + 1, 1) } else { (year, m) };
            let month = time::Month::try_from(m as u8).map_err(|e| corrupt(e.to_string()))?;
            let d = time::Date::from_calendar_date(y, month, 1)
                .map_err(|_| StoreError::field("year", format!("year {year} is out of range")))?;
            Timestamp::start_of(d, offset)
                .map(Timestamp::millis)
                .map_err(|e| StoreError::field("year", e.to_string()))
        })
        .collect()
}

/// The members who existed by a year's end, and the groups each is in.
pub(crate) struct Population {
    /// Member number to its place in the vectors below.
    pub index: HashMap<i64, usize>,
    /// Every band of every dimension, in display order.
    pub groups: Vec<Group>,
    pub group_pos: HashMap<(Dimension, &'static str), usize>,
    /// Per member: its group in each dimension (places in `groups`).
    pub member_groups: Vec<[usize; 3]>,
    /// Per group: its members.
    pub in_group: Vec<Vec<usize>>,
}

impl Population {
    pub(crate) fn load(c: &Conn, region: &RegionCode, year: i32, end: i64) -> Result<Population> {
        let mut index: HashMap<i64, usize> = HashMap::new();
        let mut household_of: Vec<i64> = Vec::new();
        let mut groups_of: Vec<[&'static str; 3]> = Vec::new();
        let mut household_sizes: HashMap<i64, usize> = HashMap::new();
        c.query_each(
            "SELECT m.member, m.household, a.birth_year, a.residence FROM members m \
             LEFT JOIN member_attributes a ON a.region = m.region AND a.member = m.member \
             WHERE m.region = ?1 AND m.created_ms < ?2",
            params![region.as_str(), end],
            |r| {
                let member: i64 = r.get(0)?;
                let household: i64 = r.get(1)?;
                let birth: Option<i64> = r.get(2)?;
                let residence = residence_col(r.get(3)?)?;
                let age = birth
                    .and_then(|b| i32::try_from(b).ok())
                    .and_then(|b| AgeBand::of(b, year))
                    .map_or(UNKNOWN, AgeBand::code);
                index.insert(member, household_of.len());
                household_of.push(household);
                groups_of.push([age, residence.map_or(UNKNOWN, Residence::code), ""]);
                *household_sizes.entry(household).or_default() += 1;
                Ok(())
            },
        )?;
        for (g, h) in groups_of.iter_mut().zip(&household_of) {
            g[2] = household_band(household_sizes[h]);
        }
        let groups: Vec<Group> = Dimension::ALL
            .iter()
            .flat_map(|&d| {
                bands(d)
                    .into_iter()
                    .map(move |band| Group { dimension: d, band })
            })
            .collect();
        let group_pos: HashMap<(Dimension, &'static str), usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| ((g.dimension, g.band), i))
            .collect();
        let member_groups: Vec<[usize; 3]> = groups_of
            .iter()
            .map(|g| {
                [
                    group_pos[&(Dimension::Age, g[0])],
                    group_pos[&(Dimension::Residence, g[1])],
                    group_pos[&(Dimension::Household, g[2])],
                ]
            })
            .collect();
        let mut in_group: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
        for (m, gs) in member_groups.iter().enumerate() {
            for &g in gs {
                in_group[g].push(m);
            }
        }
        Ok(Population {
            index,
            groups,
            group_pos,
            member_groups,
            in_group,
        })
    }
}

pub(crate) fn distribution(acc: &[MemberAcc], members: &[usize]) -> Distribution {
    let scores: Vec<i64> = members.iter().map(|&m| acc[m].score).collect();
    let mut sorted_scores = scores.clone();
    sorted_scores.sort_unstable();
    let s = shares(&scores);
    let total: i128 = scores.iter().map(|&x| x as i128).sum();
    Distribution {
        members: members.len() as u64,
        participants: members.iter().filter(|&&m| acc[m].awards > 0).count() as u64,
        mean: if members.is_empty() {
            0.0
        } else {
            total as f64 / members.len() as f64
        },
        median: fairness::percentile(&sorted_scores, 0.5).unwrap_or(0),
        p90: fairness::percentile(&sorted_scores, 0.9).unwrap_or(0),
        gini: fairness::gini(&s),
        top10_share: fairness::top_share(&s, 0.1),
        lorenz: fairness::lorenz(&s, LORENZ_STEPS),
        deductions: members.iter().map(|&m| u64::from(acc[m].deductions)).sum(),
        deducted: members.iter().map(|&m| acc[m].deducted).sum(),
    }
}

fn reviewers_in(
    c: &Conn,
    region: &RegionCode,
    start: i64,
    end: i64,
) -> Result<Vec<ReviewerFigures>> {
    // The household each staff account lives in, where its role names a member.
    let mut staff_household: HashMap<i64, i64> = HashMap::new();
    c.query_each(
        "SELECT r.account, m.household FROM account_roles r JOIN members m \
         ON m.region = r.region AND m.member = r.member WHERE r.region = ?1",
        params![region.as_str()],
        |r| {
            staff_household.insert(r.get(0)?, r.get(1)?);
            Ok(())
        },
    )?;
    struct Acc {
        name: String,
        decisions: u64,
        approvals: u64,
        times: Vec<i64>,
        points: i64,
        same: u64,
    }
    let mut by: HashMap<i64, Acc> = HashMap::new();
    c.query_each(
        "SELECT v.reviewer, COALESCE(a.display_name, ''), v.decision, v.time_ms - c.submitted_ms, m.household, \
         e.amount FROM claim_reviews v \
         JOIN claims c ON c.region = v.region AND c.claim = v.claim \
         JOIN members m ON m.region = c.region AND m.member = c.member \
         LEFT JOIN accounts a ON a.account = v.reviewer \
         LEFT JOIN entries e ON e.region = c.region AND e.seq = c.entry_seq \
         WHERE v.region = ?1 AND v.time_ms >= ?2 AND v.time_ms < ?3",
        params![region.as_str(), start, end],
        |r| {
            let reviewer: i64 = r.get(0)?;
            let name: String = r.get(1)?;
            let approve = r.get::<String>(2)? == "approve";
            let took: i64 = r.get(3)?;
            let household: i64 = r.get(4)?;
            let amount: Option<i64> = r.get(5)?;
            let a = by.entry(reviewer).or_insert_with(|| Acc {
                name,
                decisions: 0,
                approvals: 0,
                times: Vec::new(),
                points: 0,
                same: 0,
            });
            a.decisions += 1;
            a.times.push(took.max(0));
            if approve {
                a.approvals += 1;
                a.points += amount.unwrap_or(0).max(0);
                if staff_household.get(&reviewer) == Some(&household) {
                    a.same += 1;
                }
            }
            Ok(())
        },
    )?;
    let mut out: Vec<ReviewerFigures> = by
        .into_iter()
        .map(|(account, mut a)| {
            a.times.sort_unstable();
            ReviewerFigures {
                account,
                name: a.name,
                decisions: a.decisions,
                approvals: a.approvals,
                approval_rate: a.approvals as f64 / a.decisions as f64,
                median_decide_ms: fairness::percentile(&a.times, 0.5).unwrap_or(0),
                points_approved: a.points,
                same_household: a.same,
                far_rate: false,
                far_points: false,
            }
        })
        .collect();
    out.sort_by_key(|r| r.account);
    let compared: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].decisions >= COMPARE_DECISIONS_MIN)
        .collect();
    let rates: Vec<f64> = compared.iter().map(|&i| out[i].approval_rate).collect();
    for k in far_from_others(&rates, RATE_DEVIATION_FLOOR) {
        out[compared[k]].far_rate = true;
    }
    let points: Vec<f64> = compared
        .iter()
        .map(|&i| out[i].points_approved as f64)
        .collect();
    let floor = POINTS_DEVIATION_FLOOR * fairness::median(&points).unwrap_or(0.0).max(1.0);
    for k in far_from_others(&points, floor) {
        out[compared[k]].far_points = true;
    }
    Ok(out)
}

fn appeals_in(
    c: &Conn,
    region: &RegionCode,
    start: i64,
    end: i64,
    now: i64,
) -> Result<AppealFigures> {
    let mut f = AppealFigures::default();
    let mut times = Vec::new();
    c.query_each(
        "SELECT status, filed_ms, deadline_ms, decided_ms FROM appeals \
         WHERE region = ?1 AND filed_ms >= ?2 AND filed_ms < ?3",
        params![region.as_str(), start, end],
        |r| {
            let status: String = r.get(0)?;
            let filed: i64 = r.get(1)?;
            let deadline: i64 = r.get(2)?;
            let decided: Option<i64> = r.get(3)?;
            f.filed += 1;
            match AppealStatus::parse(&status).ok_or_else(|| corrupt(status.clone()))? {
                AppealStatus::Filed => f.open += 1,
                AppealStatus::Upheld => f.upheld += 1,
                AppealStatus::Overturned => f.overturned += 1,
                AppealStatus::Adjusted => f.adjusted += 1,
                AppealStatus::Withdrawn => f.withdrawn += 1,
            }
            if let Some(d) = decided {
                times.push((d - filed).max(0));
            }
            if decided.unwrap_or(now) > deadline {
                f.past_deadline += 1;
            }
            Ok(())
        },
    )?;
    times.sort_unstable();
    f.median_decide_ms = fairness::percentile(&times, 0.5);
    f.p90_decide_ms = fairness::percentile(&times, 0.9);
    let decided = f.upheld + f.overturned + f.adjusted;
    f.changed_share = if decided == 0 {
        0.0
    } else {
        (f.overturned + f.adjusted) as f64 / decided as f64
    };
    Ok(f)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt(what)
}

impl Store {
    /// The evaluation of `region`'s `year`. `NotFound` for an unknown region; a
    /// refusal naming `year` when the year has no entries.
    pub fn evaluate(&self, region: &RegionCode, year: i32) -> Result<Evaluation> {
        let now = self.clock().now();
        self.read(|c| {
            let e = evaluate_in(c, region, year, now)?;
            if e.budget.iter().all(|m| m.issued == 0 && m.redeemed == 0)
                && e.overall.deductions == 0
            {
                return Err(StoreError::field(
                    "year",
                    format!("region {region} has no entries in {year}"),
                ));
            }
            Ok(e)
        })
    }
}
