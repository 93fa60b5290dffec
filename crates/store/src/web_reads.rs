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
