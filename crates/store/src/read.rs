//! Queries. Each runs inside one read transaction, so what it returns is one
//! consistent snapshot (a checkpoint and the tiles proving against it agree).

use jifen_core::{Entry, Level, Levels, MemberId, Points, PublicLeaf, Region, RegionCode};
use jifen_log::{Checkpoint, NoteVerifier, Receipt};
use rusqlite::{Connection, OptionalExtension, params};

use crate::Store;
use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::rows::{self, ENTRY_COLUMNS, SqlTiles};

/// A region with its log's public facts.
#[derive(Debug, Clone)]
pub struct RegionInfo {
    pub region: Region,
    pub origin: String,
    pub vkey: String,
    pub size: u64,
    pub members: u64,
}

/// A member's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub spendable: Points,
    pub annual_score: Points,
    pub year: i32,
    pub level: Option<Level>,
}

pub fn latest_checkpoint(c: &Connection, region: &RegionCode) -> Result<(Checkpoint, String)> {
    let (note, vkey): (String, String) = c
        .query_row(
            "SELECT k.note, r.vkey FROM checkpoints k JOIN regions r ON r.region = k.region \
             WHERE k.region = ?1 ORDER BY k.size DESC LIMIT 1",
            params![region.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
    let verifier = NoteVerifier::from_vkey(&vkey)?;
    let cp = Checkpoint::parse(jifen_log::open_note(
        &note,
        std::slice::from_ref(&verifier),
    )?)?;
    Ok((cp, note))
}

pub fn load_levels(c: &Connection, region: &RegionCode) -> Result<Levels> {
    let mut st = c.prepare_cached(
        "SELECT code, name, min_score FROM levels WHERE region = ?1 ORDER BY min_score",
    )?;
    let levels: Vec<Level> = st
        .query_map(params![region.as_str()], |r| {
            Ok(Level {
                code: r.get(0)?,
                name: r.get(1)?,
                min_score: Points::new(r.get(2)?),
            })
        })?
        .collect::<std::result::Result<_, _>>()?;
    Levels::new(levels).map_err(|e| StoreError::Corrupt(format!("levels of {region}: {e}")))
}

/// The public leaf bytes of each entry in `[from, to)`, in order.
pub fn leaves(
    c: &Connection,
    region: &RegionCode,
    from: u64,
    to: u64,
) -> Result<Vec<(Entry, Vec<u8>)>> {
    let cols: Vec<String> = ENTRY_COLUMNS
        .split(", ")
        .map(|s| format!("e.{s}"))
        .collect();
    let mut st = c.prepare_cached(&format!(
        "SELECT {}, m.commitment FROM entries e JOIN members m ON m.region = e.region AND m.member = e.member \
         WHERE e.region = ?1 AND e.seq >= ?2 AND e.seq < ?3 ORDER BY e.seq",
        cols.join(", ")
    ))?;
    let mut rows = st.query(params![region.as_str(), sql_u64(from)?, sql_u64(to)?])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let e = rows::entry_from_row(row)?;
        let c: Vec<u8> = row.get(14)?;
        let c = <[u8; 32]>::try_from(c.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!("member {}: commitment is not 32 bytes", e.member))
        })?;
        let leaf = PublicLeaf::of_entry(&e, &c).encode();
        out.push((e, leaf));
    }
    let expect = to.saturating_sub(from);
    if u64::try_from(out.len()).unwrap_or(0) != expect {
        return Err(StoreError::Corrupt(format!(
            "region {region}: entries {from}..{to} are not all present with their members"
        )));
    }
    Ok(out)
}

impl Store {
    pub fn regions(&self) -> Result<Vec<RegionInfo>> {
        self.read(|c| {
            let regions = rows::load_regions(c)?;
            let mut out = Vec::with_capacity(regions.len());
            for r in regions {
                let (origin, vkey): (String, String) = c.query_row(
                    "SELECT origin, vkey FROM regions WHERE region = ?1",
                    params![r.code.as_str()],
                    |x| Ok((x.get(0)?, x.get(1)?)),
                )?;
                let size: i64 = c.query_row(
                    "SELECT MAX(size) FROM checkpoints WHERE region = ?1",
                    params![r.code.as_str()],
                    |x| x.get(0),
                )?;
                let members: i64 = c.query_row(
                    "SELECT COUNT(*) FROM members WHERE region = ?1",
                    params![r.code.as_str()],
                    |x| x.get(0),
                )?;
                out.push(RegionInfo {
                    region: r,
                    origin,
                    vkey,
                    size: from_sql_u64(size)?,
                    members: from_sql_u64(members)?,
                });
            }
            Ok(out)
        })
    }

    pub fn region(&self, code: &RegionCode) -> Result<RegionInfo> {
        self.regions()?
            .into_iter()
            .find(|r| &r.region.code == code)
            .ok_or_else(|| StoreError::NotFound(format!("region {code}")))
    }

    /// The latest signed checkpoint of a region: parsed, and the note as signed.
    pub fn checkpoint(&self, region: &RegionCode) -> Result<(Checkpoint, String)> {
        self.read(|c| latest_checkpoint(c, region))
    }

    /// A member's spendable balance, annual score in `year`, and level.
    pub fn balance(&self, region: &RegionCode, member: MemberId, year: i32) -> Result<Balance> {
        self.read(|c| {
            if rows::member_commitment(c, region, member)?.is_none() {
                return Err(StoreError::NotFound(format!("member {member} in region {region}")));
            }
            let spendable = rows::balance(c, region, &jifen_core::Account::Member(member))?;
            let annual: Option<i64> = c
                .query_row(
                    "SELECT annual_score FROM member_years WHERE region = ?1 AND member = ?2 AND year = ?3",
                    params![region.as_str(), member.get(), year],
                    |r| r.get(0),
                )
                .optional()?;
            let annual_score = Points::new(annual.unwrap_or(0));
            let levels = load_levels(c, region)?;
            Ok(Balance { spendable, annual_score, year, level: levels.level_for(annual_score).cloned() })
        })
    }

    /// An entry, its public leaf, and a receipt proving it in the latest checkpoint.
    pub fn receipt(&self, region: &RegionCode, seq: u64) -> Result<(Entry, Vec<u8>, Receipt)> {
        self.read(|c| {
            let (cp, note) = latest_checkpoint(c, region)?;
            if seq >= cp.size {
                return Err(StoreError::NotFound(format!("entry {region}:{seq}")));
            }
            let mut found = leaves(c, region, seq, seq + 1)?;
            let (entry, leaf) = found
                .pop()
                .ok_or_else(|| StoreError::NotFound(format!("entry {region}:{seq}")))?;
            let mut tiles = SqlTiles {
                conn: c,
                region: region.as_str(),
            };
            let proof = jifen_log::inclusion_proof(&mut tiles, cp.size, seq)?;
            let receipt = Receipt {
                extra: Some(leaf.clone()),
                index: seq,
                proof,
                signed_checkpoint: note,
            };
            Ok((entry, leaf, receipt))
        })
    }

    /// A stored tile blob, as kept (full, or the widest partial one).
    pub fn tile(&self, region: &RegionCode, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            let mut t = SqlTiles {
                conn: c,
                region: region.as_str(),
            };
            jifen_log::TileReader::read_tile(&mut t, level, index)
        })
    }

    /// Entries of a member, newest first, at most `limit`.
    pub fn member_entries(
        &self,
        region: &RegionCode,
        member: MemberId,
        limit: u32,
    ) -> Result<Vec<Entry>> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE region = ?1 AND member = ?2 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let mut rows = st.query(params![region.as_str(), member.get(), limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(rows::entry_from_row(r)?);
            }
            Ok(out)
        })
    }
}
