//! Identifiers that parse at the edge, so invalid values cannot exist past it.

use std::fmt;
use std::sync::Arc;

/// Why an identifier or code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} {value:?} is longer than {max} characters")]
    TooLong {
        what: &'static str,
        value: String,
        max: usize,
    },
    #[error(
        "{what} {value:?} may hold only lowercase ASCII letters, digits and '-', and must start with a letter or digit"
    )]
    BadCode { what: &'static str, value: String },
    #[error(
        "{what} {value:?} may hold only ASCII letters, digits, '-', '_' and '.', and must start with a letter or digit"
    )]
    BadIndicator { what: &'static str, value: String },
    #[error("{what} must be a positive whole number, not {value:?}")]
    BadNumber { what: &'static str, value: String },
}

/// Longest region code, in characters.
pub const REGION_CODE_CHARS_MAX: usize = 48;
/// Longest indicator or sponsor code, in characters.
pub const CODE_CHARS_MAX: usize = 32;

fn parse_lower_code(what: &'static str, s: &str, max: usize) -> Result<String, IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { what });
    }
    if s.len() > max {
        return Err(IdError::TooLong {
            what,
            value: s.to_owned(),
            max,
        });
    }
    let first_ok = s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let all_ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !(first_ok && all_ok) {
        return Err(IdError::BadCode {
            what,
            value: s.to_owned(),
        });
    }
    Ok(s.to_owned())
}

/// A region's code, e.g. `tongxiang-gaoqiao`. Lowercase ASCII, digits and '-'.
/// It appears in log origins and URLs, so it is deliberately narrow.
/// Shared (`Arc`): every entry names its region, and clones must not allocate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(Arc<str>);

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        parse_lower_code("region code", s, REGION_CODE_CHARS_MAX).map(|s| RegionCode(s.into()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sponsor's code (a merchant or a budget line that funds rewards).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SponsorCode(String);

impl SponsorCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        parse_lower_code("sponsor code", s, CODE_CHARS_MAX).map(SponsorCode)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An indicator's code, e.g. `TX-MEETING`. Letters, digits, '-', '_' and '.'.
/// Shared (`Arc`), like [`RegionCode`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndicatorCode(Arc<str>);

impl IndicatorCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let what = "indicator code";
        if s.is_empty() {
            return Err(IdError::Empty { what });
        }
        if s.len() > CODE_CHARS_MAX {
            return Err(IdError::TooLong {
                what,
                value: s.to_owned(),
                max: CODE_CHARS_MAX,
            });
        }
        let first_ok = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        let all_ok = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !(first_ok && all_ok) {
            return Err(IdError::BadIndicator {
                what,
                value: s.to_owned(),
            });
        }
        Ok(IndicatorCode(s.into()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Accepts only positive values: 0 and negatives are never ids.
            pub fn new(value: i64) -> Result<Self, IdError> {
                if value > 0 {
                    Ok($name(value))
                } else {
                    Err(IdError::BadNumber { what: $what, value: value.to_string() })
                }
            }
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let value: i64 = s
                    .trim()
                    .parse()
                    .map_err(|_| IdError::BadNumber { what: $what, value: s.to_owned() })?;
                Self::new(value)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

number_id!(
    /// A member (居民), unique within the member's region.
    MemberId,
    "member id"
);
number_id!(
    /// A household (户), unique within its region.
    HouseholdId,
    "household id"
);
number_id!(
    /// A staff account that acted (reviewer, station operator, admin, system job).
    OperatorId,
    "operator id"
);
number_id!(
    /// A claim (申报), unique within its region.
    ClaimId,
    "claim id"
);
number_id!(
    /// An appeal (申诉), unique within its region.
    AppealId,
    "appeal id"
);

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for IndicatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for SponsorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_or_say_why() {
        assert!(RegionCode::parse("tongxiang-gaoqiao").is_ok());
        assert!(RegionCode::parse("Tongxiang").is_err());
        assert!(RegionCode::parse("-x").is_err());
        assert!(RegionCode::parse("").is_err());
        assert!(RegionCode::parse(&"a".repeat(49)).is_err());
        assert!(IndicatorCode::parse("TX-MEETING").is_ok());
        assert!(IndicatorCode::parse("a b").is_err());
        assert!(MemberId::parse("0").is_err());
        assert!(MemberId::parse("x").is_err());
        assert_eq!(MemberId::parse("42").map(MemberId::get), Ok(42));
    }
}
