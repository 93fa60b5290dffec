//! Mapping between rows and domain types, in one place for the writer and the readers.

use jifen_core::{
    Account, Caps, Claimants, Entry, EntryKind, Evidence, Indicator, IndicatorCode, IndicatorRef,
    MemberId, OperatorId, Points, Reason, Region, RegionCode, RegionKind, ReviewPolicy, Timestamp,
    clock::parse_date,
};

use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::sql::{Conn, Row};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub const ENTRY_COLUMNS: &str = "region, seq, time_ms, kind, member, amount, counter, indicator, \
     indicator_version, quantity, reason, operator, reverses, annual_delta";

/// Reads an entry from a row selected with [`ENTRY_COLUMNS`]; a value that does
/// not parse is reported with the entry it belongs to.
pub fn entry_from_row(row: &Row<'_>) -> Result<Entry> {
    let region: String = row.get(0)?;
    let seq = from_sql_u64(row.get(1)?)?;
    let at = |what: &str, e: &dyn std::fmt::Display| {
        corrupt(format!("entry {region}:{seq}: {what}: {e}"))
    };
    let region_code = RegionCode::parse(&region).map_err(|e| at("region", &e))?;
    let kind: String = row.get(3)?;
    let member: i64 = row.get(4)?;
    let amount: i64 = row.get(5)?;
    let counter: String = row.get(6)?;
    let indicator: Option<String> = row.get(7)?;
    let version: Option<i64> = row.get(8)?;
    let quantity: i64 = row.get(9)?;
    let reason: String = row.get(10)?;
    let operator: i64 = row.get(11)?;
    let reverses: Option<i64> = row.get(12)?;
    let member = MemberId::new(member).map_err(|e| at("member", &e))?;
    let counter = Account::parse_key(&counter).map_err(|e| at("counter", &e))?;
    if counter.member().is_some() || amount == 0 {
        return Err(at(
            "accounts",
            &"a transfer is between the member and a system account, of a non-zero amount",
        ));
    }
    let (debit, credit) = if amount > 0 {
        (counter, Account::Member(member))
    } else {
        (Account::Member(member), counter)
    };
    let indicator = match (indicator, version) {
        (Some(c), Some(v)) => Some(IndicatorRef {
            code: IndicatorCode::parse(&c).map_err(|e| at("indicator", &e))?,
            version: u32::try_from(v).map_err(|e| at("indicator version", &e))?,
        }),
        (None, None) => None,
        _ => {
            return Err(at(
                "indicator",
                &"code and version must both be set or both be empty",
            ));
        }
    };
    Ok(Entry {
        region: region_code,
        seq,
        time: Timestamp::from_millis(row.get(2)?),
        kind: EntryKind::parse(&kind).map_err(|e| at("kind", &e))?,
        debit,
        credit,
        amount: Points::new(
            amount
                .checked_abs()
                .ok_or_else(|| at("amount", &"out of range"))?,
        ),
        member,
        indicator,
        quantity: u32::try_from(quantity).map_err(|e| at("quantity", &e))?,
        reason: Reason::parse(&reason).map_err(|e| at("reason", &e))?,
        operator: OperatorId::new(operator).map_err(|e| at("operator", &e))?,
        reverses: reverses.map(from_sql_u64).transpose()?,
        annual_delta: Points::new(row.get(13)?),
    })
}

/// A region's UTC offset, in minutes (its local calendar decides days and years).
pub fn region_offset(c: &Conn, region: &RegionCode) -> Result<i32> {
    c.query_opt(
        "SELECT utc_offset_minutes FROM regions WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?
    .ok_or_else(|| StoreError::NotFound(format!("region {region}")))
}

/// Rows per multi-row INSERT: one statement per row costs more than the row.
pub const ROWS_PER_STATEMENT: usize = 64;

/// The signed amount (as the member's account sees it) and the other account.
fn member_view(e: &Entry) -> Result<(i64, std::borrow::Cow<'static, str>)> {
    let member = Account::Member(e.member);
    if e.credit == member && e.debit.member().is_none() {
        Ok((e.amount.get(), e.debit.key()))
    } else if e.debit == member && e.credit.member().is_none() {
        Ok((-e.amount.get(), e.credit.key()))
    } else {
        Err(corrupt(format!(
            "entry {}: a transfer must be between its member and a system account",
            e.seq
        )))
    }
}

/// Inserts entries: PostgreSQL by one binary `COPY`, SQLite many rows a statement.
pub fn insert_entries(conn: &Conn, entries: &[&Entry]) -> Result<()> {
    match conn.as_sqlite() {
        Some(c) => insert_entries_sqlite(c, entries),
        None => conn
            .with_pg(|pg| insert_entries_pg(pg, entries))
            .unwrap_or_else(|| Err(corrupt("a connection is either SQLite or PostgreSQL"))),
    }
}

/// SQLite: 64 rows a statement, one prepared statement kept for the whole batch
/// and its parameters bound in place (returning it to the statement cache after
/// each chunk would clear, free and re-allocate every bound text).
fn insert_entries_sqlite(c: &rusqlite::Connection, entries: &[&Entry]) -> Result<()> {
    use std::fmt::Write as _;
    const COLUMNS: usize = 14;
    let sql = |n: usize| {
        let one = format!("({})", vec!["?"; COLUMNS].join(", "));
        format!(
            "INSERT INTO entries (region, seq, time_ms, kind, member, amount, counter, indicator, \
             indicator_version, quantity, reason, operator, reverses, annual_delta) VALUES {}",
            vec![one.as_str(); n].join(", ")
        )
    };
    let mut full = None;
    let mut reason = String::with_capacity(32);
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let mut part;
        let st = if chunk.len() == ROWS_PER_STATEMENT {
            full.get_or_insert(c.prepare_cached(&sql(ROWS_PER_STATEMENT))?)
        } else {
            part = c.prepare(&sql(chunk.len()))?;
            &mut part
        };
        for (i, e) in chunk.iter().enumerate() {
            let at = i * COLUMNS;
            let (amount, counter) = member_view(e)?;
            reason.clear();
            let _ = write!(
                reason,
                "{}:{}",
                e.reason.source.as_str(),
                e.reason.reference
            );
            st.raw_bind_parameter(at + 1, e.region.as_str())?;
            st.raw_bind_parameter(at + 2, sql_u64(e.seq)?)?;
            st.raw_bind_parameter(at + 3, e.time.millis())?;
            st.raw_bind_parameter(at + 4, e.kind.as_str())?;
            st.raw_bind_parameter(at + 5, e.member.get())?;
            st.raw_bind_parameter(at + 6, amount)?;
            st.raw_bind_parameter(at + 7, counter.as_ref())?;
            st.raw_bind_parameter(at + 8, e.indicator.as_ref().map(|i| i.code.as_str()))?;
            st.raw_bind_parameter(at + 9, e.indicator.as_ref().map(|i| i.version))?;
            st.raw_bind_parameter(at + 10, e.quantity)?;
            st.raw_bind_parameter(at + 11, reason.as_str())?;
            st.raw_bind_parameter(at + 12, e.operator.get())?;
            st.raw_bind_parameter(at + 13, e.reverses.map(sql_u64).transpose()?)?;
            st.raw_bind_parameter(at + 14, e.annual_delta.get())?;
        }
        st.raw_execute()?;
    }
    Ok(())
}

/// Stores a batch's changed tiles (each new full tile, and each level's right edge in
/// its latest width, replacing the narrower one). PostgreSQL: all in one statement, as
/// arrays (one round trip a batch instead of one a tile).
pub fn store_tiles(c: &Conn, region: &RegionCode, tiles: &[jifen_log::Tile]) -> Result<()> {
    if let Some(r) = c.with_pg(|pg| {
        let mut levels = Vec::with_capacity(tiles.len());
        let mut indexes = Vec::with_capacity(tiles.len());
        let mut hashes = Vec::with_capacity(tiles.len());
        for t in tiles {
            levels.push(i64::from(t.level));
            indexes.push(sql_u64(t.index)?);
            hashes.push(t.hashes.as_slice());
        }
        let st = pg.statement(
            "INSERT INTO tiles (region, level, idx, hashes) \
             SELECT $1::text, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bytea[]) \
             ON CONFLICT (region, level, idx) DO UPDATE SET hashes = excluded.hashes",
        )?;
        pg.client
            .execute(&st, &[&region.as_str(), &levels, &indexes, &hashes])?;
        Ok(())
    }) {
        return r;
    }
    for t in tiles {
        c.execute(
            "INSERT INTO tiles (region, level, idx, hashes) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (region, level, idx) DO UPDATE SET hashes = excluded.hashes",
            params![region.as_str(), t.level, sql_u64(t.index)?, t.hashes],
        )?;
    }
    Ok(())
}

/// PostgreSQL: every entry of the batch in one binary `COPY`, PostgreSQL's fastest
/// way in (no SQL text per row, no parameter arrays to unpack), inside the batch's
/// transaction like every other write.
fn insert_entries_pg(pg: &mut crate::sql::PgConn, entries: &[&Entry]) -> Result<()> {
    use postgres::binary_copy::BinaryCopyInWriter;
    use postgres::types::{ToSql, Type};
    const TYPES: [Type; 14] = [
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::INT8,
    ];
    let sink = pg.client.copy_in(
        "COPY entries (region, seq, time_ms, kind, member, amount, counter, indicator, \
         indicator_version, quantity, reason, operator, reverses, annual_delta) \
         FROM STDIN (FORMAT binary)",
    )?;
    let mut w = BinaryCopyInWriter::new(sink, &TYPES);
    for e in entries {
        let (amount, counter) = member_view(e)?;
        let counter: &str = &counter;
        let seq = sql_u64(e.seq)?;
        let time = e.time.millis();
        let member = e.member.get();
        let indicator = e.indicator.as_ref().map(|i| i.code.as_str());
        let version = e.indicator.as_ref().map(|i| i64::from(i.version));
        let quantity = i64::from(e.quantity);
        let reason = e.reason.to_text();
        let operator = e.operator.get();
        let reverses = e.reverses.map(sql_u64).transpose()?;
        let annual = e.annual_delta.get();
        let row: [&(dyn ToSql + Sync); 14] = [
            &e.region.as_str(),
            &seq,
            &time,
            &e.kind.as_str(),
            &member,
            &amount,
            &counter,
            &indicator,
            &version,
            &quantity,
            &reason,
            &operator,
            &reverses,
            &annual,
        ];
        w.write(&row)?;
    }
    w.finish()?;
    Ok(())
}

pub fn load_entry(conn: &Conn, region: &RegionCode, seq: u64) -> Result<Option<Entry>> {
    conn.query_opt(
        &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE region = ?1 AND seq = ?2"),
        params![region.as_str(), sql_u64(seq)?],
        entry_from_row,
    )
}

pub const REGION_COLUMNS: &str =
    "region, name, kind, parent, utc_offset_minutes, appeal_window_days";

pub fn region_from_row(row: &Row<'_>) -> Result<Region> {
    let code: String = row.get(0)?;
    let bad =
        |what: &str, e: &dyn std::fmt::Display| corrupt(format!("region {code}: {what}: {e}"));
    let kind: String = row.get(2)?;
    let parent: Option<String> = row.get(3)?;
    Ok(Region {
        code: RegionCode::parse(&code).map_err(|e| bad("code", &e))?,
        name: row.get(1)?,
        kind: RegionKind::parse(&kind).map_err(|e| bad("kind", &e))?,
        parent: parent
            .map(|p| RegionCode::parse(&p))
            .transpose()
            .map_err(|e| bad("parent", &e))?,
        utc_offset_minutes: row.get(4)?,
        appeal_window_days: row.get(5)?,
    })
}

pub fn load_regions(conn: &Conn) -> Result<Vec<Region>> {
    let mut out = Vec::new();
    conn.query_each(
        &format!("SELECT {REGION_COLUMNS} FROM regions ORDER BY region"),
        params![],
        |row| {
            out.push(region_from_row(row)?);
            Ok(())
        },
    )?;
    Ok(out)
}

/// A region and its ancestors, nearest first; an unknown region is not found.
pub fn lineage(conn: &Conn, region: &RegionCode) -> Result<Vec<Region>> {
    let tree = jifen_core::RegionTree::new(load_regions(conn)?);
    let chain = tree
        .lineage(region)
        .map_err(|e| StoreError::NotFound(e.to_string()))?;
    Ok(chain.into_iter().cloned().collect())
}

pub const INDICATOR_COLUMNS: &str = "region, code, version, name, category, points, unit, cap_day, cap_month, \
     cap_year, evidence, review, review_threshold, claimants, valid_from, valid_to, core, notice_days";

pub fn indicator_from_row(row: &Row<'_>) -> Result<Indicator> {
    let region: String = row.get(0)?;
    let code: String = row.get(1)?;
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        corrupt(format!("indicator {region}/{code}: {what}: {e}"))
    };
    let evidence: String = row.get(10)?;
    let review: String = row.get(11)?;
    let threshold: Option<i64> = row.get(12)?;
    let claimants: String = row.get(13)?;
    let valid_from: String = row.get(14)?;
    let valid_to: Option<String> = row.get(15)?;
    Ok(Indicator {
        region: RegionCode::parse(&region).map_err(|e| bad("region", &e))?,
        code: IndicatorCode::parse(&code).map_err(|e| bad("code", &e))?,
        version: row.get(2)?,
        name: row.get(3)?,
        category: row.get(4)?,
        points: Points::new(row.get(5)?),
        unit: row.get(6)?,
        caps: Caps {
            per_day: row.get(7)?,
            per_month: row.get(8)?,
            per_year: row.get(9)?,
        },
        evidence: match evidence.as_str() {
            "none" => Evidence::None,
            "note" => Evidence::Note,
            "attachment" => Evidence::Attachment,
            other => return Err(bad("evidence", &other)),
        },
        review: match (review.as_str(), threshold) {
            ("auto", _) => ReviewPolicy::Auto,
            ("one", _) => ReviewPolicy::One,
            ("two", Some(t)) => ReviewPolicy::TwoAbove(Points::new(t)),
            (other, _) => return Err(bad("review", &other)),
        },
        claimants: match claimants.as_str() {
            "residents" => Claimants::Residents,
            "staff" => Claimants::StaffOnly,
            other => return Err(bad("claimants", &other)),
        },
        valid_from: parse_date(&valid_from).map_err(|e| bad("valid_from", &e))?,
        valid_to: valid_to
            .map(|d| parse_date(&d))
            .transpose()
            .map_err(|e| bad("valid_to", &e))?,
        core: row.get(16)?,
        notice_days: row.get(17)?,
    })
}

pub fn review_text(r: ReviewPolicy) -> (&'static str, Option<i64>) {
    match r {
        ReviewPolicy::Auto => ("auto", None),
        ReviewPolicy::One => ("one", None),
        ReviewPolicy::TwoAbove(t) => ("two", Some(t.get())),
    }
}

pub fn claimants_text(c: Claimants) -> &'static str {
    match c {
        Claimants::Residents => "residents",
        Claimants::StaffOnly => "staff",
    }
}

/// Every version of every indicator of the given regions.
pub fn load_indicators(conn: &Conn, regions: &[&RegionCode]) -> Result<Vec<Indicator>> {
    let mut out = Vec::new();
    for r in regions {
        conn.query_each(&format!(
        "SELECT {INDICATOR_COLUMNS} FROM indicators WHERE region = ?1 ORDER BY code, version"
    ), params![r.as_str()], |row| {
            out.push(indicator_from_row(row)?);
            Ok(())
        })?;
    }
    Ok(out)
}

/// The member's public commitment, if the member exists in the region.
pub fn member_commitment(
    conn: &Conn,
    region: &RegionCode,
    member: MemberId,
) -> Result<Option<[u8; 32]>> {
    let c: Option<Vec<u8>> = conn.query_opt(
        "SELECT commitment FROM members WHERE region = ?1 AND member = ?2",
        params![region.as_str(), member.get()],
        |r| r.get(0),
    )?;
    c.map(|c| {
        <[u8; 32]>::try_from(c.as_slice()).map_err(|_| {
            corrupt(format!(
                "member {region}/{member}: commitment is not 32 bytes"
            ))
        })
    })
    .transpose()
}

/// Adds every member of the region with their commitment to `into`, reading at most
/// `max + 1`; returns how many it read (more than `max`: the region did not fit).
pub fn member_commitments(
    conn: &Conn,
    region: &RegionCode,
    max: usize,
    into: &mut rustc_hash::FxHashMap<MemberId, [u8; 32]>,
) -> Result<usize> {
    let limit = i64::try_from(max).unwrap_or(i64::MAX).saturating_add(1);
    let mut n = 0usize;
    conn.query_each(
        "SELECT member, commitment FROM members WHERE region = ?1 LIMIT ?2",
        params![region.as_str(), limit],
        |r| {
            n += 1;
            let id = MemberId::new(r.get(0)?).map_err(|e| corrupt(format!("member: {e}")))?;
            let c: Vec<u8> = r.get(1)?;
            let c = <[u8; 32]>::try_from(c.as_slice()).map_err(|_| {
                corrupt(format!("member {region}/{id}: commitment is not 32 bytes"))
            })?;
            into.insert(id, c);
            Ok(())
        },
    )?;
    Ok(n)
}

/// [`cap_units_used`] for every member with units in `[start, end)`, or `None` if
/// more than `max` members have.
pub fn cap_units_by_member(
    conn: &Conn,
    region: &RegionCode,
    indicator: &IndicatorCode,
    start: Timestamp,
    end: Timestamp,
    max: usize,
) -> Result<Option<Vec<(MemberId, u64)>>> {
    let limit = i64::try_from(max).unwrap_or(i64::MAX).saturating_add(1);
    let rows: Vec<(i64, i64)> = conn.query_map(
        "SELECT member, CAST(SUM(quantity) AS BIGINT) FROM entries \
         WHERE region = ?1 AND indicator = ?2 AND kind = 'award' AND reason NOT LIKE 'appeal:%' \
         AND time_ms >= ?3 AND time_ms < ?4 GROUP BY member LIMIT ?5",
        params![
            region.as_str(),
            indicator.as_str(),
            start.millis(),
            end.millis(),
            limit
        ],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if rows.len() > max {
        return Ok(None);
    }
    rows.into_iter()
        .map(|(m, u)| {
            Ok((
                MemberId::new(m).map_err(|e| corrupt(format!("member: {e}")))?,
                from_sql_u64(u)?,
            ))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Total reversed so far of an entry.
pub fn reversed_amount(conn: &Conn, region: &RegionCode, seq: u64) -> Result<Points> {
    Ok(Points::new(conn.query_row("SELECT CAST(COALESCE(SUM(ABS(amount)), 0) AS BIGINT) FROM entries WHERE region = ?1 AND reverses = ?2", params![region.as_str(), sql_u64(seq)?],
        |r| r.get(0))?))
}

/// The tiles of a region, read through a connection (inside a transaction for a consistent view).
pub struct SqlTiles<'a> {
    pub conn: &'a Conn,
    pub region: &'a str,
}

impl jifen_log::TileReader for SqlTiles<'_> {
    type Error = StoreError;
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn.query_opt(
            "SELECT hashes FROM tiles WHERE region = ?1 AND level = ?2 AND idx = ?3",
            params![self.region, level, sql_u64(index)?],
            |r| r.get(0),
        )
    }
}

/// Units of an indicator awarded to a member by rule (not by an appeal) in `[start, end)`:
/// what its caps count. Derived from the entries, so caps need no table of their own.
pub fn cap_units_used(
    conn: &Conn,
    region: &RegionCode,
    member: MemberId,
    indicator: &IndicatorCode,
    start: Timestamp,
    end: Timestamp,
) -> Result<u64> {
    let used: i64 = conn.query_row("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM entries INDEXED BY entries_by_member \
         WHERE region = ?1 AND member = ?2 AND indicator = ?3 \
         AND kind = 'award' AND reason NOT LIKE 'appeal:%' AND time_ms >= ?4 AND time_ms < ?5", params![
            region.as_str(),
            member.get(),
            indicator.as_str(),
            start.millis(),
            end.millis()
        ],
        |r| r.get(0))?;
    from_sql_u64(used)
}
