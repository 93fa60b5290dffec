//! Small reads the web pages need that no other part of the store offers.
//! They go through [`Conn`], so they follow the store to any backend.

use jifen_core::{HouseholdId, RegionCode};

use crate::error::Result;
use crate::params;
use crate::sql::Conn;

/// Whether a household exists in the region, inside a write (a CSV import decides
/// whether to create it in the same transaction that adds its members).
pub fn household_exists_in(c: &Conn, region: &RegionCode, household: HouseholdId) -> Result<bool> {
    let found: Option<i64> = c.query_opt(
        "SELECT household FROM households WHERE region = ?1 AND household = ?2",
        params![region.as_str(), household.get()],
        |r| r.get(0),
    )?;
    Ok(found.is_some())
}

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
pub fn events(c: &Conn, region: &RegionCode, limit: u32) -> Result<Vec<EventRow>> {
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
pub fn objections(c: &Conn, region: &RegionCode, claim: i64) -> Result<Vec<(String, i64)>> {
    c.query_map(
        "SELECT reason, time_ms FROM objections WHERE region = ?1 AND claim = ?2 ORDER BY objection",
        params![region.as_str(), claim],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}
