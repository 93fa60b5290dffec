//! Points: a checked `i64` newtype. Overflow is an error, never a wrap.

use std::fmt;

/// An amount of points. Positive or negative; arithmetic is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(i64);

/// Points arithmetic overflowed `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("points arithmetic overflowed")]
pub struct Overflow;

impl Points {
    pub const ZERO: Points = Points(0);

    pub const fn new(value: i64) -> Self {
        Points(value)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Points) -> Result<Points, Overflow> {
        self.0.checked_add(other.0).map(Points).ok_or(Overflow)
    }

    pub fn checked_sub(self, other: Points) -> Result<Points, Overflow> {
        self.0.checked_sub(other.0).map(Points).ok_or(Overflow)
    }

    pub fn checked_neg(self) -> Result<Points, Overflow> {
        self.0.checked_neg().map(Points).ok_or(Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Points, Overflow> {
        self.0.checked_mul(factor).map(Points).ok_or(Overflow)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn abs(self) -> Result<Points, Overflow> {
        self.0.checked_abs().map(Points).ok_or(Overflow)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(Points(i64::MAX).checked_add(Points(1)), Err(Overflow));
        assert_eq!(Points(i64::MIN).checked_sub(Points(1)), Err(Overflow));
        assert_eq!(Points(i64::MIN).checked_neg(), Err(Overflow));
        assert_eq!(Points(3).checked_mul(4), Ok(Points(12)));
        assert_eq!(Points(-2).abs(), Ok(Points(2)));
    }
}
