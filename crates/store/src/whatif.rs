//! What-if for the rulebook (精准化): a region's year re-scored from its recorded
//! entries with other point values for some indicators, beside the year as it was,
//! and a suggested set of values by one stated rule. Nothing is written: the
//! rulebook changes only when an admin publishes a new indicator version.
//!
//! Re-scoring: an award or deduction under a proposed indicator is worth the proposed
//! points per unit times its recorded quantity; a reversal of one is worth the same
//! share of the new value as it was of the old (a full reversal undoes it exactly).
//! Every other entry, and every entry under an indicator not proposed, counts as
//! recorded. Quantities, caps and review outcomes stay as they were: the what-if
//! asks what the same acts would have scored, not how people would have acted.

use std::collections::HashMap;

use jifen_core::indicator::POINTS_PER_UNIT_MAX;
use jifen_core::{EntryKind, RegionCode};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::evaluate::{
    Distribution, Group, GroupFigures, MemberAcc, Population, UNKNOWN, WARN_GROUP_MEMBERS_MIN,
    distribution, month_starts,
};
use crate::params;
use crate::read::load_levels;
use crate::sql::Conn;

/// The most the suggestion raises the indicators it favours, as a share.
pub const SUGGEST_RAISE: f64 = 0.5;

/// The rule behind [`WhatIf::suggested`], in a sentence (the page and the CLI show it).
pub const SUGGEST_RULE: &str = "For the group with the lowest mean score: each awarding indicator that gives this group more points per member, against all members, than its scores get overall is raised by half (at least 1 point a unit), the group's most used first and as far as the other awarding indicators can pay with at most half of their points above 1; those others give up one common share of their points above 1, so that the points awarded for the year's recorded acts stay about as they were (values rounded to whole points).";

/// One proposed value: an indicator's points per unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposed {
    pub indicator: String,
    pub points: i64,
}

/// A changed indicator, with its value today (the latest version's) and proposed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub indicator: String,
    pub name: String,
    pub today: i64,
    pub proposed: i64,
}

/// Members who reach a level (the lowest-threshold first; `None` below every level).
#[derive(Debug, Clone, PartialEq)]
pub struct LevelCount {
    pub code: Option<String>,
    pub name: String,
    pub members: u64,
}

/// A year scored one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub levels: Vec<LevelCount>,
    pub overall: Distribution,
    /// In [`crate::evaluate::Evaluation::groups`] order.
    pub groups: Vec<GroupFigures>,
    /// Points awarded in the year (awards less their reversals).
    pub awarded: i64,
    /// Points members hold at the year's end.
    pub liability: i64,
    /// Each member's annual score, in member number order (for checks, not shown).
    pub scores: Vec<(i64, i64)>,
}

/// The suggestion: its values, the group it is for, and the year scored with them.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub group: Group,
    pub changes: Vec<Change>,
    pub scenario: Scenario,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WhatIf {
    pub region: RegionCode,
    pub year: i32,
    pub changes: Vec<Change>,
    pub today: Scenario,
    pub proposed: Scenario,
    /// `Err` says why there is none (for example no group is large enough to tell).
    pub suggested: std::result::Result<Suggestion, String>,
}

/// An indicator the region sees: its code, name, category and latest points per unit.
struct Known {
    name: String,
    points: i64,
}

/// One recorded entry of the year, as the re-scoring needs it.
struct Row {
    member: Option<usize>,
    kind: EntryKind,
    /// Signed, as the member's balance sees it.
    amount: i64,
    annual: i64,
    /// The indicator it counts under (for a reversal, the reversed entry's) and the
    /// value it was recorded at: units, and the reversed entry's amount for a reversal.
    indicator: Option<String>,
    quantity: i64,
    original_amount: i64,
}

/// The year of `region` re-scored with `proposed` values. A refusal naming `values`
/// for an indicator the region does not see, a repeated one, or points of the wrong
/// sign or size; naming `year` for a year without entries.
pub fn what_if_in(
    c: &Conn,
    region: &RegionCode,
    year: i32,
    proposed: &[Proposed],
) -> Result<WhatIf> {
    let bounds = month_starts(c, region, year)?;
    let (start, end) = (bounds[0], bounds[12]);
    let pop = Population::load(c, region, year, end)?;
    let (_, visible) = crate::admin::lineage_indicators(c, region)?;
    let known: HashMap<String, Known> = visible
        .iter()
        .map(|i| {
            (
                i.code.as_str().to_owned(),
                Known {
                    name: i.name.clone(),
                    points: i.points.get(),
                },
            )
        })
        .collect();
    let changes = checked_changes(&known, proposed)?;

    let before: i64 = c.query_row(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM entries WHERE region = ?1 AND time_ms < ?2",
        params![region.as_str(), start],
        |r| r.get(0),
    )?;
    let mut rows: Vec<Row> = Vec::new();
    c.query_each(
        "SELECT e.member, e.kind, e.amount, e.annual_delta, COALESCE(e.indicator, o.indicator), \
         CASE WHEN e.reverses IS NULL THEN e.quantity ELSE o.quantity END, o.amount \
         FROM entries e LEFT JOIN entries o ON o.region = e.region AND o.seq = e.reverses \
         WHERE e.region = ?1 AND e.time_ms >= ?2 AND e.time_ms < ?3",
        params![region.as_str(), start, end],
        |r| {
            let member: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            rows.push(Row {
                member: pop.index.get(&member).copied(),
                kind: EntryKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                amount: r.get(2)?,
                annual: r.get(3)?,
                indicator: r.get(4)?,
                quantity: r.get::<Option<i64>>(5)?.unwrap_or(0),
                original_amount: r.get::<Option<i64>>(6)?.unwrap_or(0),
            });
            Ok(())
        },
    )?;
    if rows.is_empty() {
        return Err(StoreError::field(
            "year",
            format!("region {region} has no entries in {year}"),
        ));
    }
    let levels = load_levels(c, region)?;
    let score = |values: &HashMap<&str, i64>| -> Scenario {
        scenario(&pop, &rows, values, before, &levels)
    };
    let today = score(&HashMap::new());
    let proposed_values: HashMap<&str, i64> = changes
        .iter()
        .map(|c| (c.indicator.as_str(), c.proposed))
        .collect();
    let proposed = score(&proposed_values);
    let suggested = suggest(&pop, &rows, &known, &today).map(|(group, changes)| {
        let values: HashMap<&str, i64> = changes
            .iter()
            .map(|c| (c.indicator.as_str(), c.proposed))
            .collect();
        let scenario = score(&values);
        Suggestion {
            group,
            changes,
            scenario,
        }
    });
    Ok(WhatIf {
        region: region.clone(),
        year,
        changes,
        today,
        proposed,
        suggested,
    })
}

fn checked_changes(known: &HashMap<String, Known>, proposed: &[Proposed]) -> Result<Vec<Change>> {
    let mut out: Vec<Change> = Vec::new();
    for p in proposed {
        let Some(k) = known.get(&p.indicator) else {
            return Err(StoreError::field(
                "values",
                format!(
                    "unknown indicator {:?}: the region has no such indicator",
                    p.indicator
                ),
            ));
        };
        if out.iter().any(|c| c.indicator == p.indicator) {
            return Err(StoreError::field(
                "values",
                format!("indicator {} is given twice", p.indicator),
            ));
        }
        if p.points == 0 || p.points.abs() > POINTS_PER_UNIT_MAX {
            return Err(StoreError::field(
                "values",
                format!(
                    "{}: points per unit must be non-zero and at most {POINTS_PER_UNIT_MAX} either way, not {}",
                    p.indicator, p.points
                ),
            ));
        }
        if (p.points > 0) != (k.points > 0) {
            return Err(StoreError::field(
                "values",
                format!(
                    "{}: {} points would turn an {} into a {}; propose a value of the same sign as today's {}",
                    p.indicator,
                    p.points,
                    if k.points > 0 { "award" } else { "deduction" },
                    if k.points > 0 { "deduction" } else { "award" },
                    k.points
                ),
            ));
        }
        out.push(Change {
            indicator: p.indicator.clone(),
            name: k.name.clone(),
            today: k.points,
            proposed: p.points,
        });
    }
    Ok(out)
}

/// The signed amount and annual effect of `r` with `values` (points per unit).
fn rescored(r: &Row, values: &HashMap<&str, i64>) -> (i64, i64) {
    let Some(v) = r.indicator.as_deref().and_then(|i| values.get(i)) else {
        return (r.amount, r.annual);
    };
    let new_abs = match r.kind {
        EntryKind::Award | EntryKind::Deduction => v.abs() * r.quantity,
        EntryKind::Reversal if r.original_amount != 0 => {
            let old_original = r.original_amount.abs() as i128;
            let new_original = (v.abs() * r.quantity) as i128;
            i64::try_from(r.amount.abs() as i128 * new_original / old_original).unwrap_or(i64::MAX)
        }
        _ => return (r.amount, r.annual),
    };
    (r.amount.signum() * new_abs, r.annual.signum() * new_abs)
}

fn scenario(
    pop: &Population,
    rows: &[Row],
    values: &HashMap<&str, i64>,
    before: i64,
    levels: &jifen_core::Levels,
) -> Scenario {
    let n = pop.member_groups.len();
    let mut acc: Vec<MemberAcc> = (0..n).map(|_| MemberAcc::default()).collect();
    let mut liability = before;
    let mut awarded = 0i64;
    for r in rows {
        let (amount, annual) = rescored(r, values);
        liability += amount;
        let awarding = r.indicator.is_some()
            && (r.kind == EntryKind::Award
                || (r.kind == EntryKind::Reversal && amount < 0 && annual < 0));
        if awarding {
            awarded += amount;
        }
        let Some(m) = r.member else { continue };
        let a = &mut acc[m];
        a.score += annual;
        match r.kind {
            EntryKind::Award => a.awards += 1,
            EntryKind::Deduction => {
                a.deductions += 1;
                a.deducted -= amount;
            }
            _ => {}
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let mut by_number: Vec<(i64, usize)> = pop.index.iter().map(|(k, v)| (*k, *v)).collect();
    by_number.sort_unstable();
    let mut counts: Vec<LevelCount> = std::iter::once(LevelCount {
        code: None,
        name: String::new(),
        members: 0,
    })
    .chain(levels.all().iter().map(|l| LevelCount {
        code: Some(l.code.clone()),
        name: l.name.clone(),
        members: 0,
    }))
    .collect();
    for a in &acc {
        let at = levels
            .level_for(jifen_core::Points::new(a.score))
            .and_then(|l| {
                counts
                    .iter()
                    .position(|c| c.code.as_deref() == Some(&l.code))
            })
            .unwrap_or(0);
        counts[at].members += 1;
    }
    Scenario {
        levels: counts,
        overall: distribution(&acc, &all),
        groups: pop
            .groups
            .iter()
            .zip(&pop.in_group)
            .map(|(g, ms)| GroupFigures {
                group: g.clone(),
                figures: distribution(&acc, ms),
            })
            .collect(),
        awarded,
        liability,
        scores: by_number
            .into_iter()
            .map(|(member, m)| (member, acc[m].score))
            .collect(),
    }
}

/// The suggestion of [`SUGGEST_RULE`], or why there is none.
fn suggest(
    pop: &Population,
    rows: &[Row],
    known: &HashMap<String, Known>,
    today: &Scenario,
) -> std::result::Result<(Group, Vec<Change>), String> {
    let (low_pos, low) = today
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.group.band != UNKNOWN && g.figures.members >= WARN_GROUP_MEMBERS_MIN)
        .min_by(|a, b| a.1.figures.mean.total_cmp(&b.1.figures.mean))
        .ok_or_else(|| {
            format!("no group with a known band has {WARN_GROUP_MEMBERS_MIN} members or more")
        })?;
    let group = low.group.clone();
    let in_low: std::collections::HashSet<usize> = pop.in_group[low_pos].iter().copied().collect();
    let (n_all, n_low) = (pop.member_groups.len() as f64, in_low.len() as f64);
    // How the group's scores compare with everyone's, and per awarding indicator how
    // its points per member in the group compare with everyone's.
    let overall_mean = today.overall.mean;
    if overall_mean <= 0.0 || low.figures.mean >= overall_mean {
        return Err("no group scores under the mean of all members".into());
    }
    let group_ratio = low.figures.mean / overall_mean;
    struct Use {
        units: i64,
        points: i64,
        points_low: i64,
    }
    let mut uses: HashMap<&str, Use> = HashMap::new();
    for r in rows.iter().filter(|r| r.kind == EntryKind::Award) {
        let Some(code) = r.indicator.as_deref() else {
            continue;
        };
        if known.get(code).is_none_or(|k| k.points <= 0) {
            continue;
        }
        let u = uses.entry(code).or_insert(Use {
            units: 0,
            points: 0,
            points_low: 0,
        });
        u.units += r.quantity;
        u.points += r.amount;
        if r.member.is_some_and(|m| in_low.contains(&m)) {
            u.points_low += r.amount;
        }
    }
    let ratio = |u: &Use| (u.points_low as f64 / n_low) / (u.points as f64 / n_all).max(1e-9);
    let value = |code: &str| known.get(code).map_or(0, |k| k.points);
    let mut favoured: Vec<(&str, f64)> = uses
        .iter()
        .filter(|(_, u)| ratio(u) > group_ratio)
        .map(|(c, u)| (*c, ratio(u)))
        .collect();
    // The group's most used first; ties by code, so the answer never depends on order.
    favoured.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let mut others: Vec<&str> = uses
        .keys()
        .copied()
        .filter(|c| !favoured.iter().any(|f| f.0 == *c))
        .collect();
    others.sort_unstable();
    if favoured.is_empty() {
        return Err(format!(
            "no awarding indicator gives the lowest-scoring group ({} {}) more than its scores do overall",
            group.dimension.code(),
            group.band
        ));
    }
    // What the others can give up: at most half of their points above 1 a unit.
    let payable: i64 = others
        .iter()
        .map(|c| (value(c) - 1) * uses[c].units / 2)
        .sum();
    let raise_by = |c: &str| ((value(c) as f64 * SUGGEST_RAISE).round() as i64).max(1);
    let mut raised: Vec<&str> = Vec::new();
    let mut added = 0i64;
    for (c, _) in &favoured {
        let cost = raise_by(c) * uses[c].units;
        if added + cost <= payable {
            added += cost;
            raised.push(c);
        }
    }
    if raised.is_empty() {
        return Err(format!(
            "the other indicators cannot pay for raising {} within the same points",
            favoured.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
        ));
    }
    let above_one: i64 = others.iter().map(|c| (value(c) - 1) * uses[c].units).sum();
    let share = added as f64 / above_one as f64;
    let mut changes: Vec<Change> = Vec::new();
    let mut change = |c: &str, proposed: i64| {
        if proposed != value(c) {
            changes.push(Change {
                indicator: c.to_owned(),
                name: known[c].name.clone(),
                today: value(c),
                proposed,
            });
        }
    };
    for c in &raised {
        change(c, (value(c) + raise_by(c)).min(POINTS_PER_UNIT_MAX));
    }
    for c in &others {
        change(
            c,
            (value(c) - ((value(c) - 1) as f64 * share).round() as i64).max(1),
        );
    }
    Ok((group, changes))
}

impl Store {
    /// [`what_if_in`] in one read transaction.
    pub fn what_if(&self, region: &RegionCode, year: i32, proposed: &[Proposed]) -> Result<WhatIf> {
        self.read(|c| what_if_in(c, region, year, proposed))
    }

    /// The proposal that re-scores every entry at its indicator's latest version (a
    /// version published for the next period included): the "draft" to try.
    pub fn latest_values(&self, region: &RegionCode) -> Result<Vec<Proposed>> {
        self.read(|c| {
            let (_, visible) = crate::admin::lineage_indicators(c, region)?;
            Ok(visible
                .iter()
                .map(|i| Proposed {
                    indicator: i.code.as_str().to_owned(),
                    points: i.points.get(),
                })
                .collect())
        })
    }
}
