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
    #[error(
        "{0:?} is neither a YYYY-MM-DD date nor an RFC 3339 time such as 2026-12-31T23:30:00+08:00"
    )]
    BadToday(String),
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

/// The system clock moved by a fixed amount: it starts at a chosen instant and then
/// runs at the system's pace. This is how a whole `jifen` process is given another
/// "today" (`JIFEN_TODAY`) for reproducible demos and date-edge tests, while timeouts
/// and expiry still see time pass.
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    shift_ms: i64,
}

impl ShiftedClock {
    /// A clock that reads `at` now.
    pub fn starting_at(at: Timestamp) -> Self {
        ShiftedClock {
            shift_ms: at.millis().saturating_sub(SystemClock.now().millis()),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp(SystemClock.now().millis().saturating_add(self.shift_ms))
    }
}

/// Parses a "today" for [`ShiftedClock`]: `YYYY-MM-DD` is that date at noon in the
/// given offset (so a run of a few hours stays on that date), and an RFC 3339
/// instant (`2026-12-31T23:30:00+08:00`) is taken as written.
pub fn parse_today(s: &str, offset_minutes: i32) -> Result<Timestamp, TimeError> {
    if let Ok(date) = parse_date(s) {
        let start = Timestamp::start_of(date, offset_minutes)?;
        return Ok(Timestamp(start.0.saturating_add(DAY_MS / 2)));
    }
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| TimeError::BadToday(s.to_owned()))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map(Timestamp)
        .map_err(|_| TimeError::OutOfRange(i64::MAX))
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

    #[test]
    fn a_chosen_today_is_noon_there_or_the_instant_given() {
        let noon = parse_today("2028-02-29", CHINA_OFFSET_MINUTES).expect("a leap day");
        assert_eq!(
            noon.local_date(CHINA_OFFSET_MINUTES),
            parse_date("2028-02-29")
        );
        let start = Timestamp::start_of(parse_date("2028-02-29").expect("valid"), 480).expect("ok");
        assert_eq!(noon.millis() - start.millis(), DAY_MS / 2);
        let late =
            parse_today("2026-12-31T23:30:00+08:00", CHINA_OFFSET_MINUTES).expect("RFC 3339");
        assert_eq!(late.local_year(CHINA_OFFSET_MINUTES), Ok(2026));
        assert_eq!(late.local_year(0), Ok(2026));
        assert_eq!(late.plus_days(1).local_year(CHINA_OFFSET_MINUTES), Ok(2027));
        for bad in ["2027-02-29", "tomorrow", "2026-12-31 23:30"] {
            assert_eq!(
                parse_today(bad, CHINA_OFFSET_MINUTES),
                Err(TimeError::BadToday(bad.to_owned()))
            );
        }
    }

    #[test]
    fn a_shifted_clock_starts_where_told_and_runs_on() {
        let at = parse_today("2027-01-01", CHINA_OFFSET_MINUTES).expect("valid");
        let clock = ShiftedClock::starting_at(at);
        let first = clock.now();
        // Within a minute of the chosen instant, and never behind it by more than rounding.
        assert!(
            (first.millis() - at.millis()).abs() < 60_000,
            "{first:?} vs {at:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > first);
    }
}
