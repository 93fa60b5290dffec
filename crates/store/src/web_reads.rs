//! Small reads the web pages need that no other part of the store offers.

use jifen_core::RegionCode;

use crate::Store;
use crate::error::Result;
use crate::params;
use crate::sql::Conn;

/// An event as its list shows it (times in Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: i64,
    pub name: String,
    pub indicator: String,
    pub starts_ms: i64,
    pub ends_ms: i64,
}

/// The region's events, newest first, at most `limit`.
fn events(c: &Conn, region: &RegionCode, limit: u32) -> Result<Vec<EventRow>> {
    c.query_map(
        "SELECT event, name, indicator, starts_ms, ends_ms FROM events WHERE region = ?1 \
         ORDER BY event DESC LIMIT ?2",
        params![region.as_str(), i64::from(limit)],
        |r| {
            Ok(EventRow {
                id: r.get(0)?,
                name: r.get(1)?,
                indicator: r.get(2)?,
                starts_ms: r.get(3)?,
                ends_ms: r.get(4)?,
            })
        },
    )
}

/// The objections raised against a claim on the public notice board, oldest first:
/// (reason, time in Unix milliseconds). Reviewers read them before deciding again.
fn objections(c: &Conn, region: &RegionCode, claim: i64) -> Result<Vec<(String, i64)>> {
    c.query_map(
        "SELECT reason, time_ms FROM objections WHERE region = ?1 AND claim = ?2 ORDER BY objection",
        params![region.as_str(), claim],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

impl Store {
    /// The region's events, newest first, at most `limit`.
    pub fn events(&self, region: &RegionCode, limit: u32) -> Result<Vec<EventRow>> {
        self.read(|c| events(c, region, limit))
    }

    /// The objections raised against a claim on the notice board, oldest first:
    /// (reason, time in Unix milliseconds).
    pub fn objections(&self, region: &RegionCode, claim: i64) -> Result<Vec<(String, i64)>> {
        self.read(|c| objections(c, region, claim))
    }
}
