//! The arithmetic of an evaluation: the few attributes fairness needs (age band,
//! residence status, household size band), inequality (Gini, Lorenz curve, top
//! share), order statistics, and the rule that flags a reviewer who stands far from
//! the others. Pure: numbers in, numbers out; the store gathers them.
//!
//! Conventions, each stated where a page shows the figure:
//! - A score below zero (deductions above awards) counts as zero for inequality: Gini
//!   and Lorenz are defined on non-negative shares.
//! - Percentiles are nearest-rank (the value at rank ⌈p·n⌉ of the sorted values).
//! - A value stands far from the others when it is more than [`FAR_MADS`] median
//!   absolute deviations from their median, the deviation taken at least `floor`.

use std::fmt;

/// How many median absolute deviations from the median make a value stand out.
pub const FAR_MADS: f64 = 3.0;

/// Age bands, from a birth year and the year evaluated. The years are whole years:
/// someone born in 1960 is 66 throughout 2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeBand {
    Under30,
    From30To44,
    From45To59,
    From60To74,
    From75,
}

impl AgeBand {
    pub const ALL: [AgeBand; 5] = [
        AgeBand::Under30,
        AgeBand::From30To44,
        AgeBand::From45To59,
        AgeBand::From60To74,
        AgeBand::From75,
    ];

    /// The band of someone born in `birth_year`, in `year`; `None` when the birth
    /// year is after `year`.
    pub fn of(birth_year: i32, year: i32) -> Option<AgeBand> {
        let age = year.checked_sub(birth_year)?;
        Some(match age {
            a if a < 0 => return None,
            0..=29 => AgeBand::Under30,
            30..=44 => AgeBand::From30To44,
            45..=59 => AgeBand::From45To59,
            60..=74 => AgeBand::From60To74,
            _ => AgeBand::From75,
        })
    }

    /// A stable code for files and message keys.
    pub fn code(self) -> &'static str {
        match self {
            AgeBand::Under30 => "0-29",
            AgeBand::From30To44 => "30-44",
            AgeBand::From45To59 => "45-59",
            AgeBand::From60To74 => "60-74",
            AgeBand::From75 => "75+",
        }
    }

    /// The band one coarser, for an export where a combination is too rare: two
    /// neighbouring bands merged (75 and over stays as it is).
    pub fn coarse_code(self) -> &'static str {
        match self {
            AgeBand::Under30 | AgeBand::From30To44 => "0-44",
            AgeBand::From45To59 | AgeBand::From60To74 => "45-74",
            AgeBand::From75 => "75+",
        }
    }
}

impl fmt::Display for AgeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Residence status: lives here (常住), works away (外出务工), or came from elsewhere
/// (流动人口).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Residence {
    Resident,
    Migrant,
    Floating,
}

impl Residence {
    pub const ALL: [Residence; 3] = [Residence::Resident, Residence::Migrant, Residence::Floating];

    /// The code stored and written in files.
    pub fn code(self) -> &'static str {
        match self {
            Residence::Resident => "resident",
            Residence::Migrant => "migrant",
            Residence::Floating => "floating",
        }
    }

    /// Parses the code, or the Chinese term staff write in a spreadsheet.
    pub fn parse(s: &str) -> Result<Residence, String> {
        match s.trim() {
            "resident" | "常住" => Ok(Residence::Resident),
            "migrant" | "外出务工" => Ok(Residence::Migrant),
            "floating" | "流动人口" => Ok(Residence::Floating),
            other => Err(format!(
                "residence {other:?} is not one of resident (常住), migrant (外出务工), floating (流动人口)"
            )),
        }
    }
}

impl fmt::Display for Residence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The earliest birth year a member may have recorded.
pub const BIRTH_YEAR_MIN: i32 = 1900;

/// Checks a birth year against the year it is recorded in.
pub fn check_birth_year(birth_year: i32, this_year: i32) -> Result<(), String> {
    if birth_year < BIRTH_YEAR_MIN || birth_year > this_year {
        return Err(format!(
            "birth year {birth_year} is not between {BIRTH_YEAR_MIN} and {this_year}"
        ));
    }
    Ok(())
}

/// Household size bands: 1, 2, 3–4, 5 and more.
pub fn household_band(size: usize) -> &'static str {
    match size {
        0 | 1 => "1",
        2 => "2",
        3 | 4 => "3-4",
        _ => "5+",
    }
}

/// The household band one coarser: 1–2 and 3 and more.
pub fn household_coarse_band(size: usize) -> &'static str {
    if size <= 2 { "1-2" } else { "3+" }
}

/// The bands [`household_band`] gives, in order.
pub const HOUSEHOLD_BANDS: [&str; 4] = ["1", "2", "3-4", "5+"];

/// Scores sorted ascending, negatives as zero: the input of the inequality figures.
pub fn shares(scores: &[i64]) -> Vec<i64> {
    let mut v: Vec<i64> = scores.iter().map(|&s| s.max(0)).collect();
    v.sort_unstable();
    v
}

/// The Gini coefficient of `sorted` (ascending, non-negative, as [`shares`] gives):
/// 0 when everyone has the same, towards 1 when one has all. 0 for an empty set or
/// one whose total is 0. Computed as Σ (2i − n − 1)·xᵢ / (n·Σx), i from 1.
pub fn gini(sorted: &[i64]) -> f64 {
    let n = sorted.len();
    let total: i128 = sorted.iter().map(|&x| x as i128).sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut acc: i128 = 0;
    for (i, &x) in sorted.iter().enumerate() {
        let rank = i as i128 + 1;
        acc += (2 * rank - n as i128 - 1) * x as i128;
    }
    acc as f64 / (n as f64 * total as f64)
}

/// The Lorenz curve of `sorted` at `steps` + 1 evenly spaced population shares
/// (0, 1/steps, …, 1): the share of all points held by the lowest part. The share at
/// a population fraction between two members is interpolated linearly.
pub fn lorenz(sorted: &[i64], steps: usize) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let total: i128 = sorted.iter().map(|&x| x as i128).sum();
    let steps = steps.max(1);
    let mut cumulative = Vec::with_capacity(n + 1);
    cumulative.push(0i128);
    for &x in sorted {
        cumulative.push(cumulative.last().copied().unwrap_or(0) + x as i128);
    }
    (0..=steps)
        .map(|k| {
            let p = k as f64 / steps as f64;
            if n == 0 || total == 0 {
                return (p, p);
            }
            let pos = p * n as f64;
            let lo = (pos.floor() as usize).min(n);
            let hi = (lo + 1).min(n);
            let frac = pos - lo as f64;
            let y = cumulative[lo] as f64 + frac * (cumulative[hi] - cumulative[lo]) as f64;
            (p, y / total as f64)
        })
        .collect()
}

/// The share of all points held by the top `fraction` of members (the ⌈fraction·n⌉
/// highest). 0 when the total is 0.
pub fn top_share(sorted: &[i64], fraction: f64) -> f64 {
    let n = sorted.len();
    let total: i128 = sorted.iter().map(|&x| x as i128).sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let k = ((fraction * n as f64).ceil() as usize).clamp(1, n);
    let top: i128 = sorted[n - k..].iter().map(|&x| x as i128).sum();
    top as f64 / total as f64
}

/// The nearest-rank percentile `p` (0 < p ≤ 1) of `sorted` (ascending); `None` when
/// empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The median of `values` (the mean of the middle two when even); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Which of `values` stand far from the others: more than [`FAR_MADS`] times the
/// median absolute deviation (at least `floor`) from the median. Needs three values
/// or more (with two, neither is "the others"); answers their positions.
pub fn far_from_others(values: &[f64], floor: f64) -> Vec<usize> {
    if values.len() < 3 {
        return Vec::new();
    }
    let Some(mid) = median(values) else {
        return Vec::new();
    };
    let deviations: Vec<f64> = values.iter().map(|v| (v - mid).abs()).collect();
    let mad = median(&deviations).unwrap_or(0.0).max(floor);
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| (*v - mid).abs() > FAR_MADS * mad)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn gini_of_hand_computed_distributions() {
        assert_eq!(gini(&shares(&[5, 5, 5, 5])), 0.0);
        // One of four holds everything: (2·4 − 5)·10 / (4·10) = 3/4.
        assert!(close(gini(&shares(&[0, 0, 0, 10])), 0.75));
        // 1, 2, 3, 4: Σ(2i−5)xᵢ = −3 −2 +3 +12 = 10; 10 / (4·10) = 1/4.
        assert!(close(gini(&shares(&[4, 1, 3, 2])), 0.25));
        // Negatives count as zero: the same as 0, 0, 0, 10.
        assert!(close(gini(&shares(&[-7, 0, -1, 10])), 0.75));
        assert_eq!(gini(&[]), 0.0);
        assert_eq!(gini(&[0, 0]), 0.0);
    }

    #[test]
    fn lorenz_of_hand_computed_distributions() {
        let l = lorenz(&shares(&[4, 1, 3, 2]), 4);
        let want = [(0.0, 0.0), (0.25, 0.1), (0.5, 0.3), (0.75, 0.6), (1.0, 1.0)];
        assert_eq!(l.len(), want.len());
        for ((p, y), (wp, wy)) in l.iter().zip(want) {
            assert!(close(*p, wp) && close(*y, wy), "{l:?}");
        }
        // Halfway between the first and the second of two members: half the first's share.
        let l = lorenz(&[2, 8], 4);
        assert!(close(l[1].1, 0.1), "{l:?}");
        // Equal shares lie on the diagonal; so does a total of zero.
        for (p, y) in lorenz(&[3, 3, 3], 6).into_iter().chain(lorenz(&[0, 0], 2)) {
            assert!(close(p, y));
        }
    }

    #[test]
    fn top_share_and_percentiles() {
        let s = shares(&(1..=10).collect::<Vec<i64>>());
        // The top 10 % of ten is one member, who holds 10 of 55.
        assert!(close(top_share(&s, 0.1), 10.0 / 55.0));
        // Of three, the top 10 % is still one.
        assert!(close(top_share(&[1, 1, 2], 0.1), 0.5));
        assert_eq!(percentile(&s, 0.5), Some(5));
        assert_eq!(percentile(&s, 0.9), Some(9));
        assert_eq!(percentile(&s, 0.91), Some(10));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile::<i64>(&[], 0.5), None);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }

    #[test]
    fn the_reviewer_rule_on_a_built_case() {
        // Approval rates of five reviewers: median 0.6, deviations 0.1, 0.05, 0, 0.05,
        // 0.35; their median 0.05; the floor 0.05 keeps it; 3 · 0.05 = 0.15: only 0.95.
        let rates = [0.5, 0.55, 0.6, 0.65, 0.95];
        assert_eq!(far_from_others(&rates, 0.05), vec![4]);
        // All alike: nobody, even with a zero deviation, thanks to the floor.
        assert!(far_from_others(&[0.7, 0.7, 0.7, 0.72], 0.05).is_empty());
        // With a zero deviation and no floor, any difference stands out.
        assert_eq!(far_from_others(&[0.7, 0.7, 0.7, 0.72], 0.0), vec![3]);
        // Two reviewers are no crowd.
        assert!(far_from_others(&[0.1, 0.9], 0.0).is_empty());
    }

    #[test]
    fn bands() {
        assert_eq!(AgeBand::of(1997, 2026), Some(AgeBand::Under30));
        assert_eq!(AgeBand::of(1996, 2026), Some(AgeBand::From30To44));
        assert_eq!(AgeBand::of(1951, 2026), Some(AgeBand::From75));
        assert_eq!(AgeBand::of(2027, 2026), None);
        assert_eq!(household_band(1), "1");
        assert_eq!(household_band(4), "3-4");
        assert_eq!(household_band(9), "5+");
        assert_eq!(Residence::parse("外出务工"), Ok(Residence::Migrant));
        assert!(
            Residence::parse("away")
                .expect_err("not a code")
                .contains("migrant")
        );
        assert!(check_birth_year(1899, 2026).is_err());
        assert!(check_birth_year(2027, 2026).is_err());
        assert!(check_birth_year(1960, 2026).is_ok());
    }
}
