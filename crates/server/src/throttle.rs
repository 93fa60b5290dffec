//! Who is signing in from where: the client's address, and the per-address count
//! of recent wrong passwords (in memory; per account they are in the store, so an
//! admin sees them and they outlive a restart). The numbers are core `signin.rs`'s.
//! Also the API's write rate per account ([`WriteRate`]), in memory.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jifen_core::Timestamp;
use jifen_core::signin::{ADDRESS_WINDOW_SECS, address_locked_until};

use crate::AppState;

/// `jifen serve`'s default limit of API writes per account per minute: far above what
/// a person at a station does, low enough that one leaked token cannot flood the
/// review queue. Bulk loads go through the CSV import.
pub const ACCOUNT_WRITES_PER_MINUTE: u32 = 600;
/// Most accounts whose write rate is tracked at once; past it, the ones with a full
/// allowance are forgotten first (they lose nothing by it).
pub const RATED_ACCOUNTS_MAX: usize = 100_000;

/// Each account's allowance of API writes: a bucket of `per_minute` writes that
/// refills continuously at `per_minute` a minute, on the store's clock.
pub struct WriteRate {
    per_minute: u32,
    /// Account → (writes left, in thousandths; when that was counted, ms).
    map: Mutex<HashMap<i64, (i64, i64)>>,
}

impl WriteRate {
    pub fn new(per_minute: u32) -> Self {
        WriteRate {
            per_minute: per_minute.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one write from `account`'s allowance; `Err(seconds)` to wait when none is left.
    pub fn take(&self, account: i64, now: Timestamp) -> Result<(), u64> {
        let Ok(mut map) = self.map.lock() else {
            return Ok(());
        };
        let full = i64::from(self.per_minute) * 1_000;
        // Thousandths of a write regained per millisecond: per_minute / 60.
        let regained =
            |since_ms: i64| since_ms.max(0).saturating_mul(i64::from(self.per_minute)) / 60;
        if map.len() >= RATED_ACCOUNTS_MAX && !map.contains_key(&account) {
            let now_ms = now.millis();
            map.retain(|_, (left, at)| left.saturating_add(regained(now_ms - *at)) < full);
            if map.len() >= RATED_ACCOUNTS_MAX {
                map.clear();
            }
        }
        let (left, at) = map.entry(account).or_insert((full, now.millis()));
        *left = left.saturating_add(regained(now.millis() - *at)).min(full);
        *at = now.millis();
        if *left >= 1_000 {
            *left -= 1_000;
            return Ok(());
        }
        // Milliseconds until a whole write is regained, rounded up to seconds.
        let short = u64::try_from(1_000 - *left).unwrap_or(1_000);
        let ms = (short * 60).div_ceil(u64::from(self.per_minute));
        Err(ms.div_ceil(1_000).max(1))
    }
}

/// Most addresses whose failures are remembered at once; past it, the ones with no
/// failure inside the window are forgotten first.
pub const ADDRESSES_MAX: usize = 100_000;

/// The client's address: behind a proxy the operator trusts
/// (`--trust-forwarded-proto`), the last one in `X-Forwarded-For` (the one the proxy
/// added); otherwise the connection's. A page's in-process API call passes on its
/// visitor's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(client_addr(parts, state))
    }
}

/// [`ClientAddr`] of a request.
pub fn client_addr(parts: &Parts, state: &AppState) -> ClientAddr {
    if let Some(a) = parts.extensions.get::<ClientAddr>() {
        return a.clone();
    }
    if state.trusts_forwarded_proto()
        && let Some(last) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
    {
        return ClientAddr(last.chars().take(64).collect());
    }
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(a)) => ClientAddr(a.ip().to_string()),
        None => ClientAddr("unknown".to_owned()),
    }
}

/// Recent wrong passwords per address.
#[derive(Default)]
pub struct AddressFailures {
    map: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl AddressFailures {
    /// Until when the address refuses sign-ins; `None` when it takes the next one.
    pub fn locked_until(&self, addr: &ClientAddr, now: Timestamp) -> Option<Timestamp> {
        let map = self.map.lock().ok()?;
        address_locked_until(map.get(&addr.0)?, now)
    }

    /// Counts a wrong password from the address.
    pub fn failed(&self, addr: &ClientAddr, now: Timestamp) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        let oldest = now.millis() - ADDRESS_WINDOW_SECS * 1_000;
        if map.len() >= ADDRESSES_MAX && !map.contains_key(&addr.0) {
            map.retain(|_, ts| ts.last().is_some_and(|t| t.millis() > oldest));
            if map.len() >= ADDRESSES_MAX {
                // Still full of live entries: an attack from many addresses, which
                // the per-account limit still holds back.
                map.clear();
            }
        }
        let ts = map.entry(addr.0.clone()).or_default();
        ts.retain(|t| t.millis() > oldest);
        ts.push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jifen_core::signin::ADDRESS_FAILURES_MAX;

    #[test]
    fn an_address_is_refused_after_its_failures_and_others_are_not() {
        let f = AddressFailures::default();
        let a = ClientAddr("192.0.2.1".into());
        let b = ClientAddr("192.0.2.2".into());
        let now = Timestamp::from_millis(10_000_000);
        for _ in 0..ADDRESS_FAILURES_MAX - 1 {
            f.failed(&a, now);
        }
        assert_eq!(f.locked_until(&a, now), None);
        f.failed(&a, now);
        assert!(f.locked_until(&a, now).is_some());
        assert_eq!(f.locked_until(&b, now), None);
        let later = Timestamp::from_millis(now.millis() + ADDRESS_WINDOW_SECS * 1_000 + 1);
        assert_eq!(f.locked_until(&a, later), None, "aged out");
    }

    #[test]
    fn a_burst_of_the_allowance_then_one_write_per_share_of_the_minute() {
        let rate = WriteRate::new(60);
        let t0 = Timestamp::from_millis(1_000_000);
        for i in 0..60 {
            assert_eq!(rate.take(7, t0), Ok(()), "write {i} of the burst");
        }
        assert_eq!(rate.take(7, t0), Err(1), "the 61st waits a second");
        // Another account has its own allowance.
        assert_eq!(rate.take(8, t0), Ok(()));
        let later = |ms| Timestamp::from_millis(t0.millis() + ms);
        assert_eq!(rate.take(7, later(500)), Err(1), "half a write regained");
        assert_eq!(rate.take(7, later(1_000)), Ok(()), "one a second");
        assert_eq!(rate.take(7, later(1_000)), Err(1));
        // A minute idle refills it, never beyond the allowance.
        for _ in 0..60 {
            assert_eq!(rate.take(7, later(3_600_000)), Ok(()));
        }
        assert!(rate.take(7, later(3_600_000)).is_err());
    }

    #[test]
    fn a_slow_allowance_says_how_long_to_wait() {
        let rate = WriteRate::new(2);
        let t0 = Timestamp::from_millis(0);
        assert_eq!(rate.take(1, t0), Ok(()));
        assert_eq!(rate.take(1, t0), Ok(()));
        assert_eq!(rate.take(1, t0), Err(30));
    }
}
