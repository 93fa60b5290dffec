//! Indicators (指标): what earns or costs points, versioned, with caps and a
//! review policy, and the "10+X" rule: a region sees its ancestors' core
//! indicators plus its own.

use time::Date;

use crate::{IndicatorCode, Points, RegionCode, RegionError, RegionTree};

/// Longest indicator name, category or unit, in characters.
pub const INDICATOR_TEXT_CHARS_MAX: usize = 100;
/// Largest quantity one claim or entry may carry.
pub const QUANTITY_MAX: u32 = 10_000;
/// Largest absolute points per unit an indicator may grant or deduct.
pub const POINTS_PER_UNIT_MAX: i64 = 100_000;

/// Caps per member, in units of the indicator, per local calendar period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub per_day: Option<u32>,
    pub per_month: Option<u32>,
    pub per_year: Option<u32>,
}

/// A calendar period a cap counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapPeriod {
    Day,
    Month,
    Year,
}

impl CapPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            CapPeriod::Day => "day",
            CapPeriod::Month => "month",
            CapPeriod::Year => "year",
        }
    }
    /// The first day of the period containing `date`, and the first day after it.
    pub fn bounds(self, date: Date) -> (Date, Date) {
        let (y, m) = (date.year(), date.month());
        let first_of = |y: i32, m: time::Month| Date::from_calendar_date(y, m, 1).unwrap_or(date);
        match self {
            CapPeriod::Day => (date, date.next_day().unwrap_or(date)),
            CapPeriod::Month => {
                let next = if m == time::Month::December {
                    first_of(y + 1, time::Month::January)
                } else {
                    first_of(y, m.next())
                };
                (first_of(y, m), next)
            }
            CapPeriod::Year => (
                first_of(y, time::Month::January),
                first_of(y + 1, time::Month::January),
            ),
        }
    }

    /// A number naming the period that contains `date` among periods of its kind
    /// (the Julian day, the month count, or the year).
    pub fn number(self, date: Date) -> i32 {
        match self {
            CapPeriod::Day => date.to_julian_day(),
            CapPeriod::Month => date.year() * 12 + i32::from(u8::from(date.month())) - 1,
            CapPeriod::Year => date.year(),
        }
    }

    /// A key naming the period that contains `date`, e.g. `d2026-11-29`, `m2026-11`, `y2026`.
    pub fn key(self, date: Date) -> String {
        match self {
            CapPeriod::Day => format!(
                "d{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
            CapPeriod::Month => format!("m{:04}-{:02}", date.year(), u8::from(date.month())),
            CapPeriod::Year => format!("y{:04}", date.year()),
        }
    }
}

impl Caps {
    /// The configured caps, as (period, limit).
    pub fn limits(&self) -> impl Iterator<Item = (CapPeriod, u32)> + '_ {
        [
            (CapPeriod::Day, self.per_day),
            (CapPeriod::Month, self.per_month),
            (CapPeriod::Year, self.per_year),
        ]
        .into_iter()
        .filter_map(|(p, l)| l.map(|l| (p, l)))
    }

    /// Checks that `quantity` more units fit under `limit`, given `used` so far.
    pub fn check(
        period: CapPeriod,
        limit: u32,
        used: u64,
        quantity: u32,
    ) -> Result<(), CapExceeded> {
        if used.saturating_add(u64::from(quantity)) > u64::from(limit) {
            return Err(CapExceeded {
                period,
                limit,
                used,
                requested: quantity,
            });
        }
        Ok(())
    }
}

/// A cap would be passed; says which and by how much, so the reviewer can tell the resident.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cap reached: at most {limit} per {} for this indicator; {used} already counted, {requested} more asked", period.as_str())]
pub struct CapExceeded {
    pub period: CapPeriod,
    pub limit: u32,
    pub used: u64,
    pub requested: u32,
}

/// Who reviews claims under an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewPolicy {
    /// Posted without review (e.g. a verified event check-in).
    Auto,
    /// One reviewer approves.
    One,
    /// One reviewer; two different reviewers when the award is at or above the threshold.
    TwoAbove(Points),
}

impl ReviewPolicy {
    /// How many distinct approvals an award of `amount` needs.
    pub fn approvals_needed(self, amount: Points) -> u8 {
        match self {
            ReviewPolicy::Auto => 0,
            ReviewPolicy::One => 1,
            ReviewPolicy::TwoAbove(t) if amount >= t => 2,
            ReviewPolicy::TwoAbove(_) => 1,
        }
    }
}

/// Who may claim under an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimants {
    /// Residents may claim for themselves (and staff may record for them).
    Residents,
    /// Only staff record it (deductions always are).
    StaffOnly,
}

/// Evidence a claim must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    None,
    /// A written note (what, where, who can confirm).
    Note,
    /// A photo or document attached to the claim.
    Attachment,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::None => "none",
            Evidence::Note => "note",
            Evidence::Attachment => "attachment",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub region: RegionCode,
    pub code: IndicatorCode,
    /// Starts at 1; a change makes a new version, old ones are kept.
    pub version: u32,
    pub name: String,
    /// e.g. 自治 / 法治 / 德治, or 公共参与 / 文明行为 / 创新贡献.
    pub category: String,
    /// Per unit: positive awards, negative deducts. Never zero.
    pub points: Points,
    pub unit: String,
    pub caps: Caps,
    pub evidence: Evidence,
    pub review: ReviewPolicy,
    pub claimants: Claimants,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    /// Core indicators are inherited by every descendant region (the "10" of "10+X").
    pub core: bool,
    /// Days an approved award stays on the public notice board (公示) before it posts.
    pub notice_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndicatorError {
    #[error("{field} must be 1 to {INDICATOR_TEXT_CHARS_MAX} characters without line breaks")]
    BadText { field: &'static str },
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    #[error(
        "points per unit must be non-zero and at most {POINTS_PER_UNIT_MAX} either way, not {0}"
    )]
    BadPoints(i64),
    #[error(
        "a deduction (negative points) can only be recorded by staff, not claimed by residents"
    )]
    DeductionClaimable,
    #[error("valid_to {to} is before valid_from {from}")]
    BadValidity { from: Date, to: Date },
    #[error("a cap must be at least 1 unit")]
    ZeroCap,
    #[error(
        "indicator {0} is inherited as a core indicator from an ancestor region and cannot be redefined here"
    )]
    ShadowsCore(IndicatorCode),
    #[error("version must be at least 1")]
    BadVersion,
    #[error(transparent)]
    Region(#[from] RegionError),
}

fn check_text(field: &'static str, s: &str) -> Result<(), IndicatorError> {
    crate::text::check(field, s, crate::text::Lines::One)?;
    if s.trim().is_empty()
        || s.chars().count() > INDICATOR_TEXT_CHARS_MAX
        || s.contains(['\n', '\r'])
    {
        return Err(IndicatorError::BadText { field });
    }
    Ok(())
}

impl Indicator {
    /// Checks the rules that hold for any indicator on its own.
    pub fn validate(&self) -> Result<(), IndicatorError> {
        check_text("name", &self.name)?;
        check_text("category", &self.category)?;
        check_text("unit", &self.unit)?;
        let p = self.points.get();
        if p == 0 || p.unsigned_abs() > POINTS_PER_UNIT_MAX.unsigned_abs() {
            return Err(IndicatorError::BadPoints(p));
        }
        if p < 0 && self.claimants == Claimants::Residents {
            return Err(IndicatorError::DeductionClaimable);
        }
        if let Some(to) = self.valid_to
            && to < self.valid_from
        {
            return Err(IndicatorError::BadValidity {
                from: self.valid_from,
                to,
            });
        }
        if self.caps.limits().any(|(_, l)| l == 0) {
            return Err(IndicatorError::ZeroCap);
        }
        if self.version == 0 {
            return Err(IndicatorError::BadVersion);
        }
        Ok(())
    }

    pub fn is_deduction(&self) -> bool {
        self.points.is_negative()
    }

    pub fn valid_on(&self, date: Date) -> bool {
        date >= self.valid_from && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// The indicators a region sees: its ancestors' core indicators plus its own ("10+X").
/// `all` holds the latest version of every indicator of every region.
/// A nearer region's definition wins if codes collide, but [`check_new_local`] prevents that.
pub fn visible_indicators<'a>(
    tree: &RegionTree,
    region: &RegionCode,
    all: &'a [Indicator],
) -> Result<Vec<&'a Indicator>, IndicatorError> {
    let lineage = tree.lineage(region)?;
    let mut out: Vec<&Indicator> = Vec::new();
    for (depth, r) in lineage.iter().enumerate() {
        for ind in all.iter().filter(|i| i.region == r.code) {
            let inherited = depth > 0;
            if inherited && !ind.core {
                continue;
            }
            if out.iter().any(|o| o.code == ind.code) {
                continue;
            }
            out.push(ind);
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(out)
}

/// A region may not define a code that an ancestor already defines as core.
pub fn check_new_local(
    tree: &RegionTree,
    region: &RegionCode,
    code: &IndicatorCode,
    all: &[Indicator],
) -> Result<(), IndicatorError> {
    let lineage = tree.lineage(region)?;
    for r in lineage.iter().skip(1) {
        if all
            .iter()
            .any(|i| i.region == r.code && i.core && &i.code == code)
        {
            return Err(IndicatorError::ShadowsCore(code.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Region, RegionKind, clock::parse_date};

    fn rc(s: &str) -> RegionCode {
        RegionCode::parse(s).expect("valid")
    }

    pub(crate) fn ind(region: &str, code: &str, points: i64, core: bool) -> Indicator {
        Indicator {
            region: rc(region),
            code: IndicatorCode::parse(code).expect("valid"),
            version: 1,
            name: code.to_owned(),
            category: "自治".to_owned(),
            points: Points::new(points),
            unit: "次".to_owned(),
            caps: Caps::default(),
            evidence: Evidence::None,
            review: ReviewPolicy::One,
            claimants: if points < 0 {
                Claimants::StaffOnly
            } else {
                Claimants::Residents
            },
            valid_from: parse_date("2020-01-01").expect("valid"),
            valid_to: None,
            core,
            notice_days: 0,
        }
    }

    #[test]
    fn ten_plus_x() {
        let tree = RegionTree::new([
            Region::new(rc("city"), "市", RegionKind::City, None).expect("ok"),
            Region::new(rc("town"), "镇", RegionKind::Town, Some(rc("city"))).expect("ok"),
            Region::new(rc("vil"), "村", RegionKind::Village, Some(rc("town"))).expect("ok"),
            Region::new(rc("other"), "别村", RegionKind::Village, Some(rc("town"))).expect("ok"),
        ]);
        let all = vec![
            ind("city", "C1", 5, true),
            ind("city", "C-LOCAL", 5, false),
            ind("town", "T1", 3, true),
            ind("vil", "X1", 2, false),
            ind("other", "Y1", 2, false),
        ];
        let seen: Vec<_> = visible_indicators(&tree, &rc("vil"), &all)
            .expect("ok")
            .iter()
            .map(|i| i.code.as_str().to_owned())
            .collect();
        assert_eq!(seen, ["C1", "T1", "X1"]);
        let code = IndicatorCode::parse("C1").expect("valid");
        assert_eq!(
            check_new_local(&tree, &rc("vil"), &code, &all),
            Err(IndicatorError::ShadowsCore(code.clone()))
        );
        assert!(check_new_local(&tree, &rc("city"), &code, &all).is_ok());
    }

    #[test]
    fn validation_and_caps() {
        assert!(ind("vil", "A", 5, false).validate().is_ok());
        let mut bad = ind("vil", "A", -5, false);
        bad.claimants = Claimants::Residents;
        assert_eq!(bad.validate(), Err(IndicatorError::DeductionClaimable));
        assert_eq!(
            ind("vil", "A", 0, false).validate(),
            Err(IndicatorError::BadPoints(0))
        );
        assert!(Caps::check(CapPeriod::Day, 3, 2, 1).is_ok());
        let e = Caps::check(CapPeriod::Day, 3, 2, 2).expect_err("over the cap");
        assert!(e.to_string().contains("at most 3 per day"));
        assert_eq!(
            ReviewPolicy::TwoAbove(Points::new(50)).approvals_needed(Points::new(50)),
            2
        );
        assert_eq!(
            ReviewPolicy::TwoAbove(Points::new(50)).approvals_needed(Points::new(49)),
            1
        );
        let d = parse_date("2026-03-09").expect("valid");
        assert_eq!(CapPeriod::Day.key(d), "d2026-03-09");
        assert_eq!(CapPeriod::Month.key(d), "m2026-03");
        assert_eq!(CapPeriod::Year.key(d), "y2026");
        let dec = parse_date("2026-12-31").expect("valid");
        assert_eq!(
            CapPeriod::Month.bounds(dec),
            (
                parse_date("2026-12-01").expect("valid"),
                parse_date("2027-01-01").expect("valid")
            )
        );
        assert_eq!(
            CapPeriod::Day.bounds(dec).1,
            parse_date("2027-01-01").expect("valid")
        );
        assert_eq!(
            CapPeriod::Year.bounds(d),
            (
                parse_date("2026-01-01").expect("valid"),
                parse_date("2027-01-01").expect("valid")
            )
        );
    }
}
