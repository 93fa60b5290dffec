//! Time: instants are Unix milliseconds; calendar periods (day, month, year) are
//! taken in the region's own UTC offset, because caps and annual scores follow
//! the local calendar, not UTC.

use time::{Date, OffsetDateTime, UtcOffset};

/// An instant, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Offset of China Standard Time, the default for new regions, in minutes.
pub const CHINA_OFFSET_MINUTES: i32 = 8 * 60;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time {0} ms is outside the supported range")]
    OutOfRange(i64),
    #[error("UTC offset of {0} minutes is not valid (must be within ±18 hours)")]
    BadOffset(i32),
    #[error("date {0:?} is not a valid YYYY-MM-DD date")]
    BadDate(String),
}

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
    pub const fn millis(self) -> i64 {
        self.0
    }
    pub fn plus_days(self, days: i64) -> Self {
        Timestamp(self.0.saturating_add(days.saturating_mul(DAY_MS)))
    }

    fn local(self, offset_minutes: i32) -> Result<OffsetDateTime, TimeError> {
        let offset = UtcOffset::from_whole_seconds(offset_minutes.saturating_mul(60))
            .map_err(|_| TimeError::BadOffset(offset_minutes))?;
        let utc = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .map_err(|_| TimeError::OutOfRange(self.0))?;
        Ok(utc.to_offset(offset))
    }

    /// The calendar date at this instant in a region with the given offset.
    pub fn local_date(self, offset_minutes: i32) -> Result<Date, TimeError> {
        Ok(self.local(offset_minutes)?.date())
    }

    /// The local calendar year, which decides the annual score an entry counts in.
    pub fn local_year(self, offset_minutes: i32) -> Result<i32, TimeError> {
        Ok(self.local_date(offset_minutes)?.year())
    }

    /// RFC 3339 text in the given offset, for people to read.
    pub fn to_rfc3339(self, offset_minutes: i32) -> String {
        match self.local(offset_minutes) {
            Ok(t) => t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| self.0.to_string()),
            Err(_) => self.0.to_string(),
        }
    }

    /// The first instant of a local date.
    pub fn start_of(date: Date, offset_minutes: i32) -> Result<Self, TimeError> {
        let offset = UtcOffset::from_whole_seconds(offset_minutes.saturating_mul(60))
            .map_err(|_| TimeError::BadOffset(offset_minutes))?;
        let t = date.midnight().assume_offset(offset);
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .map(Timestamp)
            .map_err(|_| TimeError::OutOfRange(i64::MAX))
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, TimeError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &format).map_err(|_| TimeError::BadDate(s.to_owned()))
}

/// A source of the current time, passed in so tests control it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
    }
}

/// A clock that says what it is told; for tests and for replaying a demo year.
#[derive(Debug, Default)]
pub struct FixedClock(std::sync::atomic::AtomicI64);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        FixedClock(std::sync::atomic::AtomicI64::new(at.millis()))
    }
    pub fn set(&self, at: Timestamp) {
        self.0
            .store(at.millis(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_calendar_follows_the_offset() {
        // 2025-12-31T17:00:00Z is already 2026-01-01 01:00 in China.
        let t = Timestamp::from_millis(1_767_200_400_000);
        assert_eq!(t.local_year(0), Ok(2025));
        assert_eq!(t.local_year(CHINA_OFFSET_MINUTES), Ok(2026));
        let d = parse_date("2026-01-01").expect("valid date");
        let start = Timestamp::start_of(d, CHINA_OFFSET_MINUTES).expect("in range");
        assert_eq!(start.millis(), 1_767_196_800_000);
        assert!(parse_date("2026-13-01").is_err());
    }
}
