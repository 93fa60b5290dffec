//! Member years: each member's annual score and net flow per local year.
//!
//! `member_years` holds the effect of a region's entries up to a mark
//! (`member_year_folds.upto`); the entries at and after the mark, the tail, are
//! added by every reader here, until the sequencer folds them in. A batch of a
//! few entries folds its own at once, as before; a busy sequencer keeps the sums
//! of large batches in memory and folds them every [`FOLD_ENTRIES_MAX`] entries
//! (and when it stops), so a member who earns many times in that stretch costs
//! one row update instead of one per batch. The entries are the truth either way:
//! what a reader sees never depends on when the fold happens.

use rustc_hash::FxHashMap;

use jifen_core::{Account, MemberId, Points, RegionCode, Timestamp};

use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows::{ROWS_PER_STATEMENT, region_offset};
use crate::sql::{Conn, ToParam};

/// Most entries whose member-year sums a sequencer keeps in memory before it
/// folds them into `member_years` (bounds the tail readers add up, and what a
/// restarted sequencer reads back).
pub const FOLD_ENTRIES_MAX: u64 = 1 << 20;
/// A region's batch with fewer entries than this folds at once (with its
/// unfolded predecessors), so a quiet system keeps `member_years` current.
pub const FOLD_INLINE_BELOW: usize = 1_024;

/// Sums per (member, year): (annual score, net flow).
pub type YearSums = FxHashMap<(i64, i32), (i64, i64)>;

/// Adds `more` to `sums`, (member, year) by (member, year).
pub fn merge(sums: &mut YearSums, more: YearSums) {
    for (k, (annual, flow)) in more {
        let s = sums.entry(k).or_default();
        s.0 += annual;
        s.1 += flow;
    }
}

/// The first entry of a region not yet folded into `member_years`.
pub fn folded_upto(c: &Conn, region: &RegionCode) -> Result<u64> {
    c.query_opt(
        "SELECT upto FROM member_year_folds WHERE region = ?1",
        params![region.as_str()],
        |r| r.get::<i64>(0),
    )?
    .map_or(Ok(0), from_sql_u64)
}

fn year_of(ms: i64, offset: i32) -> Result<i32> {
    Timestamp::from_millis(ms)
        .local_year(offset)
        .map_err(|e| StoreError::Corrupt(format!("entry time {ms}: {e}")))
}

/// The sums of a region's entries from `from` on: what a sequencer holds unfolded.
pub fn tail_sums(c: &Conn, region: &RegionCode, from: u64, offset: i32) -> Result<YearSums> {
    let mut sums = YearSums::default();
    let mut last: Option<(i64, i32)> = None;
    c.query_each(
        "SELECT member, time_ms, annual_delta, amount FROM entries \
         WHERE region = ?1 AND seq >= ?2",
        params![region.as_str(), sql_u64(from)?],
        |r| {
            let ms: i64 = r.get(1)?;
            // The entries of one batch share its time: one calendar computation each.
            let year = match last {
                Some((t, y)) if t == ms => y,
                _ => {
                    let y = year_of(ms, offset)?;
                    last = Some((ms, y));
                    y
                }
            };
            let s = sums.entry((r.get(0)?, year)).or_default();
            s.0 += r.get::<i64>(2)?;
            s.1 += r.get::<i64>(3)?;
            Ok(())
        },
    )?;
    Ok(sums)
}

/// Where a member's entries not folded in yet begin, as a condition on `seq`.
/// They are read by the member index: left to choose, SQLite may scan the whole
/// tail by sequence instead (a planned statement keeps its first plan).
const MEMBER_TAIL: &str = "FROM entries INDEXED BY entries_by_member \
     WHERE region = ?1 AND member = ?2 \
     AND seq >= COALESCE((SELECT upto FROM member_year_folds WHERE region = ?1), 0)";

/// A member's spendable balance: the sum of their net flows over all years.
pub fn member_balance(c: &Conn, region: &RegionCode, member: MemberId) -> Result<i64> {
    let (folded, tail): (Option<i64>, Option<i64>) = c.query_row(
        &format!(
            "SELECT (SELECT CAST(SUM(net_flow) AS BIGINT) FROM member_years \
             WHERE region = ?1 AND member = ?2), (SELECT CAST(SUM(amount) AS BIGINT) {MEMBER_TAIL})"
        ),
        params![region.as_str(), member.get()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    folded
        .unwrap_or(0)
        .checked_add(tail.unwrap_or(0))
        .ok_or_else(|| StoreError::Corrupt(format!("member {member}'s balance overflows")))
}

/// A member's annual score in a local year of the region.
pub fn annual_score(c: &Conn, region: &RegionCode, member: MemberId, year: i32) -> Result<i64> {
    let mut score: i64 = c
        .query_opt(
            "SELECT annual_score FROM member_years WHERE region = ?1 AND member = ?2 AND year = ?3",
            params![region.as_str(), member.get(), year],
            |r| r.get(0),
        )?
        .unwrap_or(0);
    let offset = region_offset(c, region)?;
    c.query_each(
        &format!("SELECT time_ms, annual_delta {MEMBER_TAIL}"),
        params![region.as_str(), member.get()],
        |r| {
            if year_of(r.get(0)?, offset)? == year {
                score += r.get::<i64>(1)?;
            }
            Ok(())
        },
    )?;
    Ok(score)
}

/// Every (member, year) of a region with its annual score and net flow, the tail
/// included, ordered by member and year.
pub fn all(c: &Conn, region: &RegionCode) -> Result<Vec<(i64, i32, i64, i64)>> {
    let mut sums = YearSums::default();
    c.query_each(
        "SELECT member, year, annual_score, net_flow FROM member_years WHERE region = ?1",
        params![region.as_str()],
        |r| {
            sums.insert((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?));
            Ok(())
        },
    )?;
    let from = folded_upto(c, region)?;
    merge(
        &mut sums,
        tail_sums(c, region, from, region_offset(c, region)?)?,
    );
    let mut rows: Vec<(i64, i32, i64, i64)> = sums
        .into_iter()
        .map(|((m, y), (a, f))| (m, y, a, f))
        .collect();
    rows.sort_unstable();
    Ok(rows)
}

/// Adds `sums` to `member_years` and records that entries before `upto` are in.
pub(crate) fn fold(c: &Conn, region: &RegionCode, sums: &YearSums, upto: u64) -> Result<()> {
    let mut rows: Vec<_> = sums.iter().collect();
    rows.sort_unstable();
    let region_str = region.as_str();
    // PostgreSQL: all of the rows in one statement, as arrays.
    if let Some(r) = c.with_pg(|pg| {
        let n = rows.len();
        let (mut m, mut y, mut a, mut f) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((member, year), (annual, flow)) in &rows {
            m.push(*member);
            y.push(i64::from(*year));
            a.push(*annual);
            f.push(*flow);
        }
        let st = pg.statement(
            "INSERT INTO member_years (region, member, year, annual_score, net_flow) \
             SELECT $1::text, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) \
             ON CONFLICT (region, member, year) DO UPDATE SET \
             annual_score = member_years.annual_score + excluded.annual_score, \
             net_flow = member_years.net_flow + excluded.net_flow",
        )?;
        pg.client.execute(&st, &[&region_str, &m, &y, &a, &f])?;
        Ok(())
    }) {
        r?;
    } else {
        // Many rows a statement: one statement per row costs more than the row.
        let sql = |n: usize| {
            let values = vec!["(?, ?, ?, ?, ?)"; n].join(", ");
            format!(
                "INSERT INTO member_years (region, member, year, annual_score, net_flow) VALUES {values} \
                 ON CONFLICT (region, member, year) DO UPDATE SET \
                 annual_score = member_years.annual_score + excluded.annual_score, \
                 net_flow = member_years.net_flow + excluded.net_flow"
            )
        };
        let full = sql(ROWS_PER_STATEMENT);
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let text = if chunk.len() == ROWS_PER_STATEMENT {
                full.clone()
            } else {
                sql(chunk.len())
            };
            let mut params: Vec<&dyn ToParam> = Vec::with_capacity(chunk.len() * 5);
            for ((member, year), (annual, flow)) in chunk {
                params.extend([&region_str as &dyn ToParam, member, year, annual, flow]);
            }
            c.execute(&text, params.as_slice())?;
        }
    }
    c.execute(
        "INSERT INTO member_year_folds (region, upto) VALUES (?1, ?2) \
         ON CONFLICT (region) DO UPDATE SET upto = excluded.upto",
        params![region_str, sql_u64(upto)?],
    )?;
    Ok(())
}

/// An account's balance: a member's is the sum of their yearly net flows.
pub fn balance(conn: &Conn, region: &RegionCode, account: &Account) -> Result<Points> {
    let b: Option<i64> = match account {
        Account::Member(m) => Some(member_balance(conn, region, *m)?),
        _ => conn.query_opt(
            "SELECT balance FROM balances WHERE region = ?1 AND account = ?2",
            params![region.as_str(), account.to_key()],
            |r| r.get(0),
        )?,
    };
    Ok(Points::new(b.unwrap_or(0)))
}
