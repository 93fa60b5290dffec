//! Sign-in throttling: how long an account, or an address, refuses sign-ins after
//! wrong passwords. While it refuses, even the right password is not checked, so a
//! short password cannot be guessed at the speed of the network.

use crate::Timestamp;

/// Wrong passwords in a row an account takes before it refuses sign-ins for a while.
pub const ACCOUNT_FAILURES_FREE: u32 = 5;
/// How long the account refuses after the first failure past the free ones, in
/// seconds; each further failure doubles it.
pub const ACCOUNT_BACKOFF_FIRST_SECS: i64 = 60;
/// The longest an account refuses after one failure, in seconds.
pub const ACCOUNT_BACKOFF_MAX_SECS: i64 = 3_600;
/// Failures from one address (any accounts, known or not) within
/// [`ADDRESS_WINDOW_SECS`] before the address is refused until the oldest ages out.
pub const ADDRESS_FAILURES_MAX: usize = 20;
/// The window of [`ADDRESS_FAILURES_MAX`], in seconds.
pub const ADDRESS_WINDOW_SECS: i64 = 900;

/// Until when an account refuses sign-ins, given its wrong passwords in a row
/// (since its last successful sign-in or unlock) and the time of the latest one.
/// `None`: it takes the next attempt.
pub fn account_locked_until(failures_in_a_row: u32, last_failure: Timestamp) -> Option<Timestamp> {
    let over = failures_in_a_row.checked_sub(ACCOUNT_FAILURES_FREE)?;
    let secs = ACCOUNT_BACKOFF_FIRST_SECS
        .checked_shl(over)
        .filter(|s| *s > 0 && *s <= ACCOUNT_BACKOFF_MAX_SECS)
        .unwrap_or(ACCOUNT_BACKOFF_MAX_SECS);
    Some(Timestamp::from_millis(
        last_failure.millis().saturating_add(secs * 1_000),
    ))
}

/// Until when an address refuses sign-ins, given the times of its recent failures
/// (oldest first). `None`: it takes the next attempt.
pub fn address_locked_until(failures: &[Timestamp], now: Timestamp) -> Option<Timestamp> {
    let window_ms = ADDRESS_WINDOW_SECS * 1_000;
    let recent: Vec<&Timestamp> = failures
        .iter()
        .filter(|t| t.millis() > now.millis() - window_ms)
        .collect();
    if recent.len() < ADDRESS_FAILURES_MAX {
        return None;
    }
    // Refused until enough of them age out that one more may come in.
    let k = recent.len() - ADDRESS_FAILURES_MAX;
    Some(Timestamp::from_millis(recent[k].millis() + window_ms))
}

/// Whole seconds from `now` to `until`, at least one: what `Retry-After` says.
pub fn retry_after_secs(until: Timestamp, now: Timestamp) -> u64 {
    let ms = u64::try_from(until.millis().saturating_sub(now.millis())).unwrap_or(0);
    ms.div_ceil(1_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_millis(1_000_000_000);

    #[test]
    fn an_account_takes_five_wrong_passwords_then_backs_off_doubling_to_an_hour() {
        for n in 0..ACCOUNT_FAILURES_FREE {
            assert_eq!(account_locked_until(n, T), None, "{n} failures");
        }
        let secs = |n| (account_locked_until(n, T).expect("locked").millis() - T.millis()) / 1_000;
        assert_eq!(secs(5), 60);
        assert_eq!(secs(6), 120);
        assert_eq!(secs(7), 240);
        assert_eq!(secs(10), 1_920);
        assert_eq!(secs(11), 3_600, "capped");
        assert_eq!(secs(200), 3_600, "no overflow");
        assert_eq!(secs(u32::MAX), 3_600);
    }

    #[test]
    fn an_address_takes_twenty_failures_in_fifteen_minutes() {
        let now = T;
        let at = |s: i64| Timestamp::from_millis(now.millis() - s * 1_000);
        let mut f: Vec<Timestamp> = (0..19).map(|i| at(100 - i)).collect();
        assert_eq!(address_locked_until(&f, now), None);
        f.push(at(10));
        // The oldest of the twenty (100 s ago) ages out 800 s from now.
        assert_eq!(
            address_locked_until(&f, now),
            Some(Timestamp::from_millis(now.millis() + 800_000))
        );
        // Failures older than the window do not count.
        let old: Vec<Timestamp> = (0..50).map(|i| at(1_000 + i)).collect();
        assert_eq!(address_locked_until(&old, now), None);
    }

    #[test]
    fn retry_after_is_whole_seconds_and_never_zero() {
        assert_eq!(
            retry_after_secs(Timestamp::from_millis(T.millis() + 1), T),
            1
        );
        assert_eq!(
            retry_after_secs(Timestamp::from_millis(T.millis() + 60_000), T),
            60
        );
        assert_eq!(
            retry_after_secs(Timestamp::from_millis(T.millis() + 60_001), T),
            61
        );
        assert_eq!(retry_after_secs(T, T), 1);
    }
}
