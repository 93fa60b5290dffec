//! Who is signing in from where: the client's address, and the per-address count
//! of recent wrong passwords (in memory; per account they are in the store, so an
//! admin sees them and they outlive a restart). The numbers are core `signin.rs`'s.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jifen_core::Timestamp;
use jifen_core::signin::{ADDRESS_WINDOW_SECS, address_locked_until};

use crate::AppState;

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
}
