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

/// What the public page shows of a region's activity: entries per day (local) and
/// per indicator since a time. Counts only; nothing personal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// (local day as days since 1970-01-01, entries).
    pub days: Vec<(i64, u64)>,
    /// (indicator category, entries), most first; entries without an indicator
    /// (redemptions, grants, expiry) are not in it.
    pub categories: Vec<(String, u64)>,
}

/// The first entry of the region at or after `from_ms`, found by halving (entries
/// are appended in time order), so the count below reads only the window.
fn first_seq_from(c: &Conn, region: &RegionCode, from_ms: i64) -> Result<i64> {
    let size = crate::year::log_size(c, region)?;
    let (mut lo, mut hi) = (0i64, i64::try_from(size).unwrap_or(i64::MAX));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let t: Option<i64> = c.query_opt(
            "SELECT time_ms FROM entries WHERE region = ?1 AND seq = ?2",
            params![region.as_str(), mid],
            |r| r.get(0),
        )?;
        if t.is_some_and(|t| t < from_ms) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

fn activity(c: &Conn, region: &RegionCode, from_ms: i64) -> Result<Activity> {
    let offset_ms = i64::from(crate::rows::region_offset(c, region)?) * 60_000;
    let start = first_seq_from(c, region, from_ms)?;
    let rows = c.query_map(
        "SELECT (time_ms + ?3) / 86400000, indicator, COUNT(*) FROM entries \
         WHERE region = ?1 AND seq >= ?2 AND time_ms >= ?4 GROUP BY 1, 2",
        params![region.as_str(), start, offset_ms, from_ms],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<Option<String>>(1)?,
                r.get::<i64>(2)?,
            ))
        },
    )?;
    // Categories of the indicators this region's entries can name: its own and its
    // ancestors' (every version; a later one wins).
    let (all, _) = crate::admin::lineage_indicators(c, region)?;
    let categories: std::collections::HashMap<String, String> = all
        .into_iter()
        .map(|i| (i.code.to_string(), i.category))
        .collect();
    let mut days: std::collections::BTreeMap<i64, u64> = Default::default();
    let mut by_category: std::collections::HashMap<String, u64> = Default::default();
    for (day, indicator, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        *days.entry(day).or_default() += n;
        if let Some(code) = indicator {
            let cat = categories.get(&code).cloned().unwrap_or(code);
            *by_category.entry(cat).or_default() += n;
        }
    }
    let mut categories: Vec<(String, u64)> = by_category.into_iter().collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Activity {
        days: days.into_iter().collect(),
        categories,
    })
}

impl Store {
    /// The region's entries per local day and per indicator category since `from_ms`.
    pub fn activity(&self, region: &RegionCode, from_ms: i64) -> Result<Activity> {
        self.read(|c| activity(c, region, from_ms))
    }

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
