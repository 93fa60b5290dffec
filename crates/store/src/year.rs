//! The yearly close (年度结算): freeze a year's annual scores, assign levels,
//! name the model households (积分示范户), apply the region's expiry policy to
//! spendable points (oldest first), and grant next year's base points, all as
//! ledger entries, so `jifen verify` covers them.
//!
//! A close runs in steps, each one write job: [`begin_close_in`] freezes the
//! scores, households and the year's totals and records the close as
//! `closing`; then [`close_chunk_in`] handles the next [`CLOSE_CHUNK_MEMBERS`]
//! members (expiry, base grant) and records how far it got in the same
//! transaction; the last chunk marks the close `closed`. A close that stopped
//! half-way resumes where it was; a closed year is never closed again, so
//! running it twice changes nothing the second time. Other writes go on between
//! chunks, which is why expiry is worked out per member at its chunk, from the
//! balance then.

use std::collections::HashMap;

use jifen_core::market::{Policy, earns, expiry_due};
use jifen_core::{
    EntryKind, IndicatorCode, IndicatorRef, MemberId, NewEntry, OperatorId, Points, Reason,
    RegionCode, Source, Timestamp,
};

use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows::region_offset;
use crate::sequencer::{Append, Batch};
use crate::sql::{Conn, ToParam, Value};
use crate::{Store, market, read};

/// Members one chunk of a close handles (each may get an expiry and a base grant).
pub const CLOSE_CHUNK_MEMBERS: usize = 4_096;
/// Earliest year a close accepts.
pub const YEAR_MIN: i32 = 2000;

/// Where a close stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseStatus {
    Closing,
    Closed,
}

impl CloseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseStatus::Closing => "closing",
            CloseStatus::Closed => "closed",
        }
    }
}

/// A close's facts and totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseSummary {
    pub region: RegionCode,
    pub year: i32,
    pub status: CloseStatus,
    pub closed_by: OperatorId,
    pub started: Timestamp,
    pub closed: Option<Timestamp>,
    /// Members whose scores were frozen.
    pub members: u64,
    /// Base grant per member, for the next year.
    pub base_grant: Points,
    pub expiry_years: Option<u32>,
    pub granted: Points,
    pub granted_members: u64,
    pub expired: Points,
    pub expired_members: u64,
    pub model_households: u64,
    /// The close had been done before this call: nothing changed now.
    pub already: bool,
}

/// Members per level in a closed year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelCount {
    /// `None`: below the lowest level.
    pub code: Option<String>,
    pub name: String,
    pub min_score: Option<Points>,
    pub members: u64,
}

/// A household's frozen total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdScore {
    pub household: i64,
    pub label: String,
    pub members: u64,
    pub score: Points,
    pub model: bool,
}

/// The year's entries per kind and indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    pub kind: EntryKind,
    /// Empty for entries without an indicator.
    pub indicator: String,
    pub name: String,
    pub category: String,
    pub entries: u64,
    /// As the members' accounts see them: awards positive, deductions negative.
    pub points: Points,
}

/// A closed year's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearReport {
    pub close: CloseSummary,
    pub levels: Vec<LevelCount>,
    /// Households: every household with `model` set, the model ones first, highest score first.
    pub model_households: Vec<HouseholdScore>,
    pub households: u64,
    pub totals: Vec<Total>,
    /// Per category: entries and points (awards and deductions with an indicator).
    pub categories: Vec<(String, u64, Points)>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn year_start(year: i32, offset: i32) -> Result<i64> {
    let d = time::Date::from_calendar_date(year, time::Month::January, 1)
        .map_err(|_| StoreError::rejected(format!("year {year} is out of range")))?;
    Timestamp::start_of(d, offset)
        .map(Timestamp::millis)
        .map_err(|e| StoreError::rejected(e.to_string()))
}

/// The summary of a close, if the year was closed or is closing.
pub fn close_summary(c: &Conn, region: &RegionCode, year: i32) -> Result<Option<CloseSummary>> {
    let row = c.query_opt(
        "SELECT status, closed_by, started_ms, closed_ms, members, base_grant, expiry_years, \
             granted, granted_members, expired, expired_members, model_households \
             FROM year_closes WHERE region = ?1 AND year = ?2",
        params![region.as_str(), year],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<i64>(1)?,
                r.get::<i64>(2)?,
                r.get::<Option<i64>>(3)?,
                r.get::<i64>(4)?,
                r.get::<i64>(5)?,
                r.get::<Option<u32>>(6)?,
                r.get::<i64>(7)?,
                r.get::<i64>(8)?,
                r.get::<i64>(9)?,
                r.get::<i64>(10)?,
                r.get::<i64>(11)?,
            ))
        },
    )?;
    let Some((status, by, started, closed, members, base, expiry, granted, gm, expired, em, model)) =
        row
    else {
        return Ok(None);
    };
    Ok(Some(CloseSummary {
        region: region.clone(),
        year,
        status: match status.as_str() {
            "closing" => CloseStatus::Closing,
            "closed" => CloseStatus::Closed,
            s => return Err(corrupt(format!("close {region}/{year}: status {s:?}"))),
        },
        closed_by: OperatorId::new(by).map_err(corrupt)?,
        started: Timestamp::from_millis(started),
        closed: closed.map(Timestamp::from_millis),
        members: from_sql_u64(members)?,
        base_grant: Points::new(base),
        expiry_years: expiry,
        granted: Points::new(granted),
        granted_members: from_sql_u64(gm)?,
        expired: Points::new(expired),
        expired_members: from_sql_u64(em)?,
        model_households: from_sql_u64(model)?,
        already: false,
    }))
}

/// What a close reads from the entries below a log size: the year's totals per
/// kind and indicator version, and each member's points earned after the expiry
/// cut (only those who earned any). Entries below `size` never change, so the two
/// scans can run at once on two read connections ([`Store::close_year`] does),
/// and the same scan taken again gives the same answer.
#[derive(Debug, Clone, Default)]
pub struct CloseScan {
    pub size: u64,
    pub totals: Vec<TotalGroup>,
    pub recent: Vec<(i64, i64)>,
}

/// Entries of one kind, indicator and version: count and points.
pub type TotalGroup = (String, Option<String>, Option<u32>, i64, i64);

/// The instants that bound a close: the year, and the end of the expiry cut year.
#[derive(Debug, Clone, Copy)]
pub struct CloseWindow {
    pub start: i64,
    pub end: i64,
    /// Points earned from here on are recent; `None`: the region has no expiry.
    pub cut_end: Option<i64>,
}

/// Checks that `year` can close now in the region and returns its window.
pub fn close_window(
    c: &Conn,
    region: &RegionCode,
    year: i32,
    now: Timestamp,
) -> Result<CloseWindow> {
    let offset = region_offset(c, region)?;
    let today = now
        .local_date(offset)
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    if year < YEAR_MIN {
        return Err(StoreError::rejected(format!(
            "year {year} is before {YEAR_MIN}, the earliest year jifen closes"
        )));
    }
    if year >= today.year() {
        return Err(StoreError::rejected(format!(
            "year {year} has not ended in region {region}: it is {today} there"
        )));
    }
    let policy: Policy = market::policy(c, region)?;
    Ok(CloseWindow {
        start: year_start(year, offset)?,
        end: year_start(year + 1, offset)?,
        cut_end: match policy.expiry_cut_year(year) {
            Some(cut) => Some(year_start(cut + 1, offset)?),
            None => None,
        },
    })
}

/// The region's log size as the entries table holds it.
pub fn log_size(c: &Conn, region: &RegionCode) -> Result<u64> {
    let n: i64 = c.query_row(
        "SELECT COALESCE(MAX(seq) + 1, 0) FROM entries WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    from_sql_u64(n)
}

/// Totals of the entries in `[from, to)` dated within the window's year.
pub fn scan_totals(
    c: &Conn,
    region: &RegionCode,
    w: CloseWindow,
    from: u64,
    to: u64,
) -> Result<Vec<TotalGroup>> {
    c.query_map(
        "SELECT kind, indicator, indicator_version, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM entries \
         WHERE region = ?1 AND seq >= ?4 AND seq < ?5 AND time_ms >= ?2 AND time_ms < ?3 \
         GROUP BY kind, indicator, indicator_version",
        params![region.as_str(), w.start, w.end, sql_u64(from)?, sql_u64(to)?],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
}

/// Points each member earned after the cut, among the entries in `[from, to)`.
pub fn scan_recent(
    c: &Conn,
    region: &RegionCode,
    w: CloseWindow,
    from: u64,
    to: u64,
) -> Result<Vec<(i64, i64)>> {
    let Some(cut_end) = w.cut_end else {
        return Ok(Vec::new());
    };
    let kinds = EntryKind::ALL
        .into_iter()
        .filter(|k| earns(*k))
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    c.query_map(
        &format!(
            "SELECT member, CAST(SUM(amount) AS BIGINT) FROM entries \
             WHERE region = ?1 AND seq >= ?3 AND seq < ?4 AND time_ms >= ?2 AND kind IN ({kinds}) AND amount > 0 \
             GROUP BY member"
        ),
        params![region.as_str(), cut_end, sql_u64(from)?, sql_u64(to)?],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Takes a [`CloseScan`] up to `size` on one connection, one scan after the other.
pub fn scan(c: &Conn, region: &RegionCode, w: CloseWindow, size: u64) -> Result<CloseScan> {
    Ok(CloseScan {
        size,
        totals: scan_totals(c, region, w, 0, size)?,
        recent: scan_recent(c, region, w, 0, size)?,
    })
}

/// Members whose recent earnings one UPDATE sets.
const RECENT_PER_STATEMENT: usize = 256;

pub_for_tests! {
    /// Step one of a close: refuses a year that has not ended, returns the close
    /// as it stands if it began before, and otherwise freezes the year. `pre` is a
    /// scan taken beforehand on read connections (entries after it are added here);
    /// without one, the scan runs here.
    fn begin_close_in(
        b: &mut Batch<'_>,
        region: &RegionCode,
        year: i32,
        by: OperatorId,
        pre: Option<CloseScan>,
    ) -> Result<CloseSummary> {
        // The freeze below reads annual scores from member_years alone.
        b.fold_member_years(region)?;
        let c = b.conn();
        let w = close_window(c, region, year, b.now())?;
        if let Some(mut s) = close_summary(c, region, year)? {
            s.already = s.status == CloseStatus::Closed;
            return Ok(s);
        }
        let policy: Policy = market::policy(c, region)?;
        let levels = read::load_levels(c, region)?;
        let size = log_size(c, region)?;
        let mut sc = match pre {
            Some(p) if p.size <= size => p,
            Some(p) => {
                return Err(StoreError::Conflict(format!(
                    "a close scan of {region} up to entry {} is ahead of the log ({size})",
                    p.size
                )));
            }
            None => scan(c, region, w, size)?,
        };
        if sc.size < size {
            // Entries that came after the scan.
            sc.totals.extend(scan_totals(c, region, w, sc.size, size)?);
            sc.recent.extend(scan_recent(c, region, w, sc.size, size)?);
        }
        let start_size = sql_u64(size)?;
        c.execute(
            "INSERT INTO year_scores (region, year, member, household, annual_score, level, recent_earned) \
             SELECT m.region, ?2, m.member, m.household, COALESCE(y.annual_score, 0), NULL, 0 \
             FROM members m \
             LEFT JOIN member_years y ON y.region = m.region AND y.member = m.member AND y.year = ?2 \
             WHERE m.region = ?1 AND m.name IS NOT NULL AND m.created_ms < ?3",
            params![region.as_str(), year, w.end],
        )?;
        // Recent earnings, summed per member (a member may appear in the scan and its top-up).
        let mut recent: HashMap<i64, i64> = HashMap::with_capacity(sc.recent.len());
        for (m, e) in &sc.recent {
            *recent.entry(*m).or_default() += e;
        }
        let mut recent: Vec<(i64, i64)> = recent.into_iter().filter(|(_, e)| *e != 0).collect();
        recent.sort_unstable();
        for chunk in recent.chunks(RECENT_PER_STATEMENT) {
            let mut case = String::from("CASE member");
            let mut list = Vec::with_capacity(chunk.len());
            for i in 0..chunk.len() {
                case.push_str(&format!(" WHEN ?{} THEN ?{}", 3 + 2 * i, 4 + 2 * i));
                list.push(format!("?{}", 3 + 2 * i));
            }
            case.push_str(" ELSE recent_earned END");
            let mut args: Vec<Value<'_>> = vec![Value::Text(region.as_str()), Value::Int(year.into())];
            for (m, e) in chunk {
                args.push(Value::Int(*m));
                args.push(Value::Int(*e));
            }
            let refs: Vec<&dyn ToParam> = args.iter().map(|a| a as &dyn ToParam).collect();
            c.execute(
                &format!(
                    "UPDATE year_scores SET recent_earned = {case} WHERE region = ?1 AND year = ?2 AND member IN ({})",
                    list.join(", ")
                ),
                &refs,
            )?;
        }
        if !levels.all().is_empty() {
            let mut case = String::from("CASE");
            for (i, _) in levels.all().iter().enumerate().rev() {
                case.push_str(&format!(
                    " WHEN annual_score >= ?{} THEN ?{}",
                    3 + 2 * i,
                    4 + 2 * i
                ));
            }
            case.push_str(" END");
            let mut args: Vec<Value<'_>> = vec![Value::Text(region.as_str()), Value::Int(year.into())];
            for l in levels.all() {
                args.push(Value::Int(l.min_score.get()));
                args.push(Value::Text(&l.code));
            }
            let refs: Vec<&dyn ToParam> = args.iter().map(|a| a as &dyn ToParam).collect();
            c.execute(
                &format!("UPDATE year_scores SET level = {case} WHERE region = ?1 AND year = ?2"),
                &refs,
            )?;
        }
        c.execute(
            "INSERT INTO year_households (region, year, household, members, score, model) \
             SELECT region, year, household, COUNT(*), SUM(annual_score), \
             CASE WHEN CAST(?3 AS BIGINT) IS NOT NULL AND CAST(SUM(annual_score) AS BIGINT) >= ?3 THEN 1 ELSE 0 END \
             FROM year_scores WHERE region = ?1 AND year = ?2 GROUP BY region, year, household",
            params![
                region.as_str(),
                year,
                policy.model_household_score.map(Points::get)
            ],
        )?;
        // The year's totals per kind and indicator, named and put in their categories.
        let mut totals: HashMap<(String, String), (String, String, i64, i64)> = HashMap::new();
        for (kind, code, version, n, points) in sc.totals {
            let (name, category) = match (&code, version) {
                (Some(code), Some(version)) => {
                    let r = IndicatorRef {
                        code: IndicatorCode::parse(code).map_err(corrupt)?,
                        version,
                    };
                    match crate::workflow::indicator_version(c, region, &r) {
                        Ok(ind) => (ind.name, ind.category),
                        Err(StoreError::NotFound(_)) => (String::new(), String::new()),
                        Err(e) => return Err(e),
                    }
                }
                _ => (String::new(), String::new()),
            };
            let t = totals
                .entry((kind, code.unwrap_or_default()))
                .or_insert((name, category, 0, 0));
            t.2 += n;
            t.3 = t.3.saturating_add(points);
        }
        for ((kind, code), (name, category, n, points)) in totals {
            c.execute("INSERT INTO year_totals (region, year, kind, indicator, name, category, entries, points) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", params![region.as_str(), year, kind, code, name, category, n, points])?;
        }
        let (members, model): (i64, i64) = c.query_row(
            "SELECT (SELECT COUNT(*) FROM year_scores WHERE region = ?1 AND year = ?2), \
                    (SELECT COUNT(*) FROM year_households WHERE region = ?1 AND year = ?2 AND model = 1)",
            params![region.as_str(), year],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        c.execute(
            "INSERT INTO year_closes (region, year, status, closed_by, started_ms, closed_ms, done_member, \
             start_size, members, base_grant, expiry_years, granted, granted_members, expired, \
             expired_members, model_households) \
             VALUES (?1, ?2, 'closing', ?3, ?4, NULL, 0, ?5, ?6, ?7, ?8, 0, 0, 0, 0, ?9)",
            params![
                region.as_str(),
                year,
                by.get(),
                b.now().millis(),
                start_size,
                members,
                policy.base_grant.get(),
                policy.expiry_years,
                model
            ],
        )?;
        close_summary(b.conn(), region, year)?.ok_or_else(|| corrupt("the close just recorded is gone"))
    }
}

pub_for_tests! {
    /// Step two, repeated: expiry and base grant for the next members, and the
    /// progress, in one transaction. Returns the close as it stands; it is
    /// `Closed` once every member is done.
    fn close_chunk_in(b: &mut Batch<'_>, region: &RegionCode, year: i32) -> Result<CloseSummary> {
        // Balances below are read from member_years alone.
        b.fold_member_years(region)?;
        let c = b.conn();
        let Some(summary) = close_summary(c, region, year)? else {
            return Err(StoreError::NotFound(format!(
                "a close of {year} in region {region}"
            )));
        };
        if summary.status == CloseStatus::Closed {
            return Ok(summary);
        }
        let (done, start_size): (i64, i64) = c.query_row(
            "SELECT done_member, start_size FROM year_closes WHERE region = ?1 AND year = ?2",
            params![region.as_str(), year],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // The next members (erased ones get nothing), with what they had earned after
        // the cut when the close began (`None`: joined after the year).
        let chunk: Vec<(i64, Option<i64>)> = {
            c.query_map("SELECT m.member, s.recent_earned FROM members m \
                 LEFT JOIN year_scores s ON s.region = m.region AND s.year = ?2 AND s.member = m.member \
                 WHERE m.region = ?1 AND m.member > ?3 AND m.name IS NOT NULL \
                 ORDER BY m.member LIMIT ?4", params![region.as_str(), year, done, CLOSE_CHUNK_MEMBERS as i64],
                |r| Ok((r.get(0)?, r.get(1)?)))?
        };
        let expiring = summary.expiry_years.is_some();
        // Earned since the close began, by these members: from the entries table, and
        // from this batch's entries not written yet.
        let mut since: HashMap<i64, i64> = HashMap::new();
        let mut balances: HashMap<i64, i64> = HashMap::new();
        if expiring && let (Some(first), Some(last)) = (chunk.first(), chunk.last()) {
            let kinds: Vec<&str> = EntryKind::ALL
                .into_iter()
                .filter(|k| earns(*k))
                .map(EntryKind::as_str)
                .collect();
            // Which of their entries are newer than the scan: the member index alone
            // answers that (reading each row to check its kind would cost ten times
            // more); then only those rows are read.
            let newer: Vec<i64> = c.query_map(
                "SELECT seq FROM entries INDEXED BY entries_by_member \
                 WHERE region = ?1 AND member >= ?2 AND member <= ?3 AND seq >= ?4",
                params![region.as_str(), first.0, last.0, start_size],
                |r| r.get(0),
            )?;
            for seq in newer {
                let (member, kind, amount): (i64, String, i64) = c.query_row(
                    "SELECT member, kind, amount FROM entries WHERE region = ?1 AND seq = ?2",
                    params![region.as_str(), seq],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                if amount > 0 && kinds.contains(&kind.as_str()) {
                    *since.entry(member).or_default() += amount;
                }
            }
            // Their balances in one range read, then this batch's entries not written yet.
            c.query_each(
                "SELECT member, CAST(SUM(net_flow) AS BIGINT) FROM member_years \
                 WHERE region = ?1 AND member >= ?2 AND member <= ?3 GROUP BY member",
                params![region.as_str(), first.0, last.0],
                |r| {
                    balances.insert(r.get(0)?, r.get(1)?);
                    Ok(())
                },
            )?;
            for e in b.pending_entries() {
                let m = e.member.get();
                if &e.region != region || m < first.0 || m > last.0 {
                    continue;
                }
                if earns(e.kind) && u64::try_from(start_size).is_ok_and(|s| e.seq >= s) {
                    *since.entry(m).or_default() += e.amount.get();
                }
                let flow = if e.credit.member().is_some() {
                    e.amount.get()
                } else {
                    -e.amount.get()
                };
                *balances.entry(m).or_default() += flow;
            }
        }
        let (mut granted, mut granted_members) = (0i64, 0i64);
        let (mut expired, mut expired_members) = (0i64, 0i64);
        // Expiry names the year closed; the base grant names the year it is for.
        let reason = Reason::new(Source::Year, u64::try_from(year).map_err(corrupt)?);
        let grant_reason = Reason::new(Source::Year, u64::try_from(year + 1).map_err(corrupt)?);
        for (member, recent) in &chunk {
            let m = MemberId::new(*member).map_err(corrupt)?;
            if expiring && let Some(recent) = recent {
                let earned = recent.saturating_add(since.get(member).copied().unwrap_or(0));
                let balance = Points::new(balances.get(member).copied().unwrap_or(0));
                let x = expiry_due(balance, Points::new(earned));
                if x.is_positive() {
                    b.append(Append {
                        region: region.clone(),
                        entry: NewEntry {
                            kind: EntryKind::Expiry,
                            member: m,
                            amount: x,
                            indicator: None,
                            quantity: 1,
                            reason,
                            operator: summary.closed_by,
                            reverses: None,
                            sponsor: None,
                            counts_annual: false,
                        },
                        idempotency_key: None,
                    })?;
                    expired = expired.saturating_add(x.get());
                    expired_members += 1;
                }
            }
            if summary.base_grant.is_positive() {
                b.append(Append {
                    region: region.clone(),
                    entry: NewEntry {
                        kind: EntryKind::BaseGrant,
                        member: m,
                        amount: summary.base_grant,
                        indicator: None,
                        quantity: 1,
                        reason: grant_reason,
                        operator: summary.closed_by,
                        reverses: None,
                        sponsor: None,
                        counts_annual: false,
                    },
                    idempotency_key: None,
                })?;
                granted = granted.saturating_add(summary.base_grant.get());
                granted_members += 1;
            }
        }
        let finished = chunk.len() < CLOSE_CHUNK_MEMBERS;
        let last = chunk.last().map_or(done, |m| m.0);
        b.conn()
            .execute(
                "UPDATE year_closes SET done_member = ?3, granted = granted + ?4, \
             granted_members = granted_members + ?5, expired = expired + ?6, \
             expired_members = expired_members + ?7, \
             status = CASE WHEN ?8 THEN 'closed' ELSE status END, \
             closed_ms = CASE WHEN ?8 THEN ?9 ELSE closed_ms END \
             WHERE region = ?1 AND year = ?2 AND status = 'closing' AND done_member = ?10",
                params![
                    region.as_str(),
                    year,
                    last,
                    granted,
                    granted_members,
                    expired,
                    expired_members,
                    finished,
                    b.now().millis(),
                    done
                ],
            )
            .and_then(|n| {
                if n == 1 {
                    Ok(())
                } else {
                    Err(StoreError::Conflict(format!(
                        "the close of {year} in {region} moved on meanwhile"
                    )))
                }
            })?;
        close_summary(b.conn(), region, year)?.ok_or_else(|| corrupt("the close is gone"))
    }
}

/// A closed (or closing) year's report.
pub fn year_report(c: &Conn, region: &RegionCode, year: i32) -> Result<YearReport> {
    let close = close_summary(c, region, year)?.ok_or_else(|| {
        StoreError::NotFound(format!("a close of year {year} in region {region}"))
    })?;
    let levels = read::load_levels(c, region)?;
    let counts: HashMap<Option<String>, i64> = {
        let rows = c.query_map("SELECT level, COUNT(*) FROM year_scores WHERE region = ?1 AND year = ?2 GROUP BY level", params![region.as_str(), year], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        rows.into_iter().collect()
    };
    let mut level_rows = vec![LevelCount {
        code: None,
        name: String::new(),
        min_score: None,
        members: from_sql_u64(counts.get(&None).copied().unwrap_or(0))?,
    }];
    for l in levels.all() {
        level_rows.push(LevelCount {
            code: Some(l.code.clone()),
            name: l.name.clone(),
            min_score: Some(l.min_score),
            members: from_sql_u64(counts.get(&Some(l.code.clone())).copied().unwrap_or(0))?,
        });
    }
    // Levels removed since the close still show what the close gave.
    for (code, n) in &counts {
        if let Some(code) = code
            && !levels.all().iter().any(|l| &l.code == code)
        {
            level_rows.push(LevelCount {
                code: Some(code.clone()),
                name: String::new(),
                min_score: None,
                members: from_sql_u64(*n)?,
            });
        }
    }
    let model_households: Vec<HouseholdScore> = {
        c.query_map("SELECT y.household, COALESCE(h.label, ''), y.members, y.score, y.model FROM year_households y \
             LEFT JOIN households h ON h.region = y.region AND h.household = y.household \
             WHERE y.region = ?1 AND y.year = ?2 AND y.model = 1 ORDER BY y.score DESC, y.household", params![region.as_str(), year], |r| {
            Ok(HouseholdScore {
                household: r.get(0)?,
                label: r.get(1)?,
                members: u64::try_from(r.get::<i64>(2)?).unwrap_or(0),
                score: Points::new(r.get(3)?),
                model: r.get::<i64>(4)? == 1,
            })
        })?
    };
    let households: i64 = c.query_row(
        "SELECT COUNT(*) FROM year_households WHERE region = ?1 AND year = ?2",
        params![region.as_str(), year],
        |r| r.get(0),
    )?;
    let totals: Vec<Total> = {
        let mut out = Vec::new();
        c.query_each(
            "SELECT kind, indicator, name, category, entries, points FROM year_totals \
             WHERE region = ?1 AND year = ?2 ORDER BY kind, indicator",
            params![region.as_str(), year],
            |r| {
                let kind: String = r.get(0)?;
                out.push(Total {
                    kind: EntryKind::parse(&kind).map_err(corrupt)?,
                    indicator: r.get(1)?,
                    name: r.get(2)?,
                    category: r.get(3)?,
                    entries: from_sql_u64(r.get(4)?)?,
                    points: Points::new(r.get(5)?),
                });
                Ok(())
            },
        )?;
        out
    };
    let mut cats: Vec<(String, u64, Points)> = Vec::new();
    for t in totals.iter().filter(|t| {
        !t.category.is_empty() && matches!(t.kind, EntryKind::Award | EntryKind::Deduction)
    }) {
        match cats.iter_mut().find(|c| c.0 == t.category) {
            Some(c) => {
                c.1 += t.entries;
                c.2 = Points::new(c.2.get().saturating_add(t.points.get()));
            }
            None => cats.push((t.category.clone(), t.entries, t.points)),
        }
    }
    cats.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(YearReport {
        close,
        levels: level_rows,
        model_households,
        households: from_sql_u64(households)?,
        totals,
        categories: cats,
    })
}

/// A report as CSV: one table with a `section` column (summary, level,
/// household, indicator, category), UTF-8 with a header row.
/// One CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub fn report_csv(r: &YearReport) -> String {
    let field = csv_field;
    let mut out = String::from("section,code,name,category,count,points\n");
    let mut row =
        |section: &str, code: &str, name: &str, category: &str, count: String, points: String| {
            let cols = [section, code, name, category, &count, &points];
            out.push_str(&cols.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        };
    let c = &r.close;
    row(
        "summary",
        "members",
        "",
        "",
        c.members.to_string(),
        String::new(),
    );
    row(
        "summary",
        "households",
        "",
        "",
        r.households.to_string(),
        String::new(),
    );
    row(
        "summary",
        "model-households",
        "",
        "",
        c.model_households.to_string(),
        String::new(),
    );
    row(
        "summary",
        "granted",
        "",
        "",
        c.granted_members.to_string(),
        c.granted.to_string(),
    );
    row(
        "summary",
        "expired",
        "",
        "",
        c.expired_members.to_string(),
        c.expired.to_string(),
    );
    for l in &r.levels {
        row(
            "level",
            l.code.as_deref().unwrap_or(""),
            &l.name,
            "",
            l.members.to_string(),
            l.min_score.map(|p| p.to_string()).unwrap_or_default(),
        );
    }
    for h in &r.model_households {
        row(
            "household",
            &h.household.to_string(),
            &h.label,
            "",
            h.members.to_string(),
            h.score.to_string(),
        );
    }
    for t in &r.totals {
        let code = if t.indicator.is_empty() {
            t.kind.as_str()
        } else {
            &t.indicator
        };
        row(
            "indicator",
            code,
            &t.name,
            &t.category,
            t.entries.to_string(),
            t.points.to_string(),
        );
    }
    for (cat, n, p) in &r.categories {
        row("category", cat, "", cat, n.to_string(), p.to_string());
    }
    out
}

/// The audit's part: each closed year's frozen scores still match the ledger's
/// annual scores, and the entries its chunks posted add up to its totals.
pub fn audit_region(c: &Conn, region: &RegionCode) -> Result<()> {
    let fail = |what: String| StoreError::Corrupt(format!("region {region}: {what}"));
    let mismatch: Option<(i32, i64, i64, i64)> = if crate::member_years::folded_upto(c, region)?
        < log_size(c, region)?
    {
        // Some entries are not folded into member_years yet: compare with the sums
        // that include them.
        let scores: HashMap<(i64, i32), i64> = crate::member_years::all(c, region)?
            .into_iter()
            .map(|(m, y, annual, _)| ((m, y), annual))
            .collect();
        let mut found = None;
        c.query_each(
            "SELECT year, member, annual_score FROM year_scores WHERE region = ?1",
            params![region.as_str()],
            |r| {
                let (year, member, frozen): (i32, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                let now = scores.get(&(member, year)).copied().unwrap_or(0);
                if found.is_none() && frozen != now {
                    found = Some((year, member, frozen, now));
                }
                Ok(())
            },
        )?;
        found
    } else {
        c.query_opt(
            "SELECT s.year, s.member, s.annual_score, COALESCE(y.annual_score, 0) FROM year_scores s \
             LEFT JOIN member_years y ON y.region = s.region AND y.member = s.member AND y.year = s.year \
             WHERE s.region = ?1 AND s.annual_score != COALESCE(y.annual_score, 0) LIMIT 1",
            params![region.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?
    };
    if let Some((year, member, frozen, now)) = mismatch {
        return Err(fail(format!(
            "the close of {year} froze member {member}'s annual score at {frozen}, but the entries give {now}"
        )));
    }
    let closes: Vec<(i32, i64, i64, i64)> = {
        c.query_map("SELECT year, start_size, granted, expired FROM year_closes WHERE region = ?1 ORDER BY year", params![region.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
    };
    for (year, start, granted, expired) in closes {
        let sum = |kind: &str, for_year: i32| -> Result<i64> {
            c.query_row(
                "SELECT CAST(COALESCE(SUM(ABS(amount)), 0) AS BIGINT) FROM entries WHERE region = ?1 AND seq >= ?2 \
                 AND kind = ?3 AND reason = ?4",
                params![region.as_str(), start, kind, format!("year:{for_year}")],
                |r| r.get(0),
            )
        };
        let g = sum(EntryKind::BaseGrant.as_str(), year + 1)?;
        if g != granted {
            return Err(fail(format!(
                "the close of {year} records {granted} points of base grants, but its entries hold {g}"
            )));
        }
        let x = sum(EntryKind::Expiry.as_str(), year)?;
        if x != expired {
            return Err(fail(format!(
                "the close of {year} records {expired} points expired, but its entries hold {x}"
            )));
        }
    }
    Ok(())
}

impl Store {
    /// Closes a year: freezes it, then works through the members chunk by chunk
    /// (each chunk its own transaction), calling `progress` after each. Resumes a
    /// close that stopped; returns at once, with `already` set, for a closed year.
    pub fn close_year(
        &self,
        region: &RegionCode,
        year: i32,
        by: OperatorId,
        mut progress: impl FnMut(&CloseSummary),
    ) -> Result<CloseSummary> {
        // The heavy reads go first, off the writer and on two connections at once.
        let pre = if self.close_summary(region, year)?.is_none() {
            let now = self.clock().now();
            let (w, size) =
                self.read(|c| Ok((close_window(c, region, year, now)?, log_size(c, region)?)))?;
            let (totals, recent) = std::thread::scope(|s| {
                let t = s.spawn(|| self.read(|c| scan_totals(c, region, w, 0, size)));
                let r = self.read(|c| scan_recent(c, region, w, 0, size));
                (t.join(), r)
            });
            let totals =
                totals.map_err(|_| StoreError::Corrupt("the totals scan panicked".into()))??;
            Some(CloseScan {
                size,
                totals,
                recent: recent?,
            })
        } else {
            None
        };
        let r = region.clone();
        let mut s = self.write(move |b| begin_close_in(b, &r, year, by, pre))?;
        if s.already {
            return Ok(s);
        }
        progress(&s);
        while s.status == CloseStatus::Closing {
            let r = region.clone();
            s = self.write(move |b| close_chunk_in(b, &r, year))?;
            progress(&s);
        }
        Ok(s)
    }

    pub fn close_summary(&self, region: &RegionCode, year: i32) -> Result<Option<CloseSummary>> {
        self.read(|c| {
            region_offset(c, region)?;
            close_summary(c, region, year)
        })
    }

    pub fn year_report(&self, region: &RegionCode, year: i32) -> Result<YearReport> {
        self.read(|c| {
            region_offset(c, region)?;
            year_report(c, region, year)
        })
    }
}
