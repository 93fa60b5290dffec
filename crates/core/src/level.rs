//! Levels (等级): thresholds on the annual score. Levels follow points earned,
//! never the spendable balance, so redeeming never costs a resident a level.

use crate::Points;

/// Most levels a region may define.
pub const LEVELS_MAX: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub code: String,
    pub name: String,
    pub min_score: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    #[error("at most {LEVELS_MAX} levels")]
    TooMany,
    #[error("level thresholds must rise strictly: {0} comes after a threshold at or above it")]
    NotRising(Points),
    #[error("level code and name must be non-empty single lines")]
    BadText,
}

/// A region's levels, lowest threshold first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Levels(Vec<Level>);

impl Levels {
    pub fn new(levels: Vec<Level>) -> Result<Self, LevelError> {
        if levels.len() > LEVELS_MAX {
            return Err(LevelError::TooMany);
        }
        for l in &levels {
            if l.code.trim().is_empty()
                || l.name.trim().is_empty()
                || l.name.contains('\n')
                || l.code.contains('\n')
            {
                return Err(LevelError::BadText);
            }
        }
        for w in levels.windows(2) {
            if w[1].min_score <= w[0].min_score {
                return Err(LevelError::NotRising(w[1].min_score));
            }
        }
        Ok(Levels(levels))
    }

    pub fn all(&self) -> &[Level] {
        &self.0
    }

    /// The highest level whose threshold the score reaches.
    pub fn level_for(&self, score: Points) -> Option<&Level> {
        self.0.iter().rev().find(|l| score >= l.min_score)
    }

    /// The next level up and how many points are still missing.
    pub fn next_after(&self, score: Points) -> Option<(&Level, Points)> {
        self.0.iter().find(|l| l.min_score > score).map(|l| {
            (
                l,
                Points::new(l.min_score.get().saturating_sub(score.get())),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(code: &str, min: i64) -> Level {
        Level {
            code: code.into(),
            name: code.into(),
            min_score: Points::new(min),
        }
    }

    #[test]
    fn thresholds() {
        let levels = Levels::new(vec![lv("voucher", 800), lv("model", 1000)]).expect("rising");
        assert_eq!(levels.level_for(Points::new(799)), None);
        assert_eq!(
            levels.level_for(Points::new(800)).map(|l| l.code.as_str()),
            Some("voucher")
        );
        assert_eq!(
            levels.level_for(Points::new(1500)).map(|l| l.code.as_str()),
            Some("model")
        );
        let (next, gap) = levels.next_after(Points::new(850)).expect("one above");
        assert_eq!((next.code.as_str(), gap), ("model", Points::new(150)));
        assert!(Levels::new(vec![lv("a", 10), lv("b", 10)]).is_err());
    }
}
