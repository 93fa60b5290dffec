//! Queries. Each runs inside one read transaction, so what it returns is one
//! consistent snapshot (a checkpoint and the tiles proving against it agree).

use jifen_core::{Entry, Level, Levels, MemberId, Points, PublicLeaf, Region, RegionCode};
use jifen_log::{Checkpoint, NoteVerifier, Receipt};

use crate::Store;
use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::rows::{self, ENTRY_COLUMNS, SqlTiles};
use crate::sql::{Conn, Row};

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

pub fn latest_checkpoint(c: &Conn, region: &RegionCode) -> Result<(Checkpoint, String)> {
    let (note, vkey): (String, String) = c
        .query_opt(
            "SELECT k.note, r.vkey FROM checkpoints k JOIN regions r ON r.region = k.region \
             WHERE k.region = ?1 ORDER BY k.size DESC LIMIT 1",
            params![region.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
    published(c, region, note, &vkey)
}

/// A stored checkpoint note as it is published: checked against the region's key, with
/// the cosignatures its witnesses have sent back so far.
fn published(
    c: &Conn,
    region: &RegionCode,
    note: String,
    vkey: &str,
) -> Result<(Checkpoint, String)> {
    let verifier = NoteVerifier::from_vkey(vkey)?;
    let cp = Checkpoint::parse(jifen_log::open_note(
        &note,
        std::slice::from_ref(&verifier),
    )?)?;
    let cosigned = crate::witness::cosignature_lines(c, region, cp.size)?;
    Ok((cp, note + &cosigned))
}

/// The newest checkpoint larger than `seq` with the cosignatures of the quorum of the
/// region's named witnesses, with them; none if the region asks for none, or none of
/// its 256 newest checkpoints has (a bound on the search while witnesses are away).
fn witnessed_checkpoint(
    c: &Conn,
    region: &RegionCode,
    seq: u64,
) -> Result<Option<(Checkpoint, String)>> {
    let witnesses = crate::witness::region_witnesses(c, region)?;
    if witnesses.quorum == 0 {
        return Ok(None);
    }
    let row: Option<(String, String)> = c.query_opt(
        "SELECT k.note, r.vkey FROM checkpoints k JOIN regions r ON r.region = k.region \
         WHERE k.region = ?1 AND k.size > ?2 \
           AND k.size >= COALESCE((SELECT size FROM checkpoints WHERE region = ?1 \
             ORDER BY size DESC LIMIT 1 OFFSET 255), 0) \
           AND (SELECT COUNT(*) FROM cosignatures s \
           JOIN region_witnesses w ON w.region = s.region AND w.name = s.witness \
           WHERE s.region = k.region AND s.size = k.size) >= ?3 \
         ORDER BY k.size DESC LIMIT 1",
        params![region.as_str(), sql_u64(seq)?, i64::from(witnesses.quorum)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    row.map(|(note, vkey)| published(c, region, note, &vkey))
        .transpose()
}

pub fn load_levels(c: &Conn, region: &RegionCode) -> Result<Levels> {
    let levels: Vec<Level> = c.query_map(
        "SELECT code, name, min_score FROM levels WHERE region = ?1 ORDER BY min_score",
        params![region.as_str()],
        |r| {
            Ok(Level {
                code: r.get(0)?,
                name: r.get(1)?,
                min_score: Points::new(r.get(2)?),
            })
        },
    )?;
    Levels::new(levels).map_err(|e| StoreError::Corrupt(format!("levels of {region}: {e}")))
}

/// The public leaf bytes of each entry in `[from, to)`, in order.
pub fn leaves(c: &Conn, region: &RegionCode, from: u64, to: u64) -> Result<Vec<(Entry, Vec<u8>)>> {
    let cols: Vec<String> = ENTRY_COLUMNS
        .split(", ")
        .map(|s| format!("e.{s}"))
        .collect();
    let mut out = Vec::new();
    c.query_each(&format!(
        "SELECT {}, m.commitment FROM entries e JOIN members m ON m.region = e.region AND m.member = e.member \
         WHERE e.region = ?1 AND e.seq >= ?2 AND e.seq < ?3 ORDER BY e.seq",
        cols.join(", ")
    ), params![region.as_str(), sql_u64(from)?, sql_u64(to)?], |row| {
        let e = rows::entry_from_row(row)?;
        let c: Vec<u8> = row.get(14)?;
        let c = <[u8; 32]>::try_from(c.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!("member {}: commitment is not 32 bytes", e.member))
        })?;
        let leaf = PublicLeaf::of_entry(&e, &c).encode();
        out.push((e, leaf));
        Ok(())
    })?;
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
                return Err(StoreError::NotFound(format!(
                    "member {member} in region {region}"
                )));
            }
            let spendable =
                crate::member_years::balance(c, region, &jifen_core::Account::Member(member))?;
            let annual_score =
                Points::new(crate::member_years::annual_score(c, region, member, year)?);
            let levels = load_levels(c, region)?;
            Ok(Balance {
                spendable,
                annual_score,
                year,
                level: levels.level_for(annual_score).cloned(),
            })
        })
    }

    /// An entry, its public leaf, and a receipt proving it in the latest checkpoint; in
    /// a region that asks for a quorum of witnesses, in the latest checkpoint holding the
    /// entry that has that many cosignatures by its witnesses, if one has yet.
    pub fn receipt(&self, region: &RegionCode, seq: u64) -> Result<(Entry, Vec<u8>, Receipt)> {
        self.read(|c| {
            let (latest, latest_note) = latest_checkpoint(c, region)?;
            if seq >= latest.size {
                return Err(StoreError::NotFound(format!("entry {region}:{seq}")));
            }
            let (cp, note) = match witnessed_checkpoint(c, region, seq)? {
                Some(found) => found,
                None => (latest, latest_note),
            };
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

    /// Entries of a member older than `before` (a seq; all when None), newest first.
    pub fn member_entries_before(
        &self,
        region: &RegionCode,
        member: MemberId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Entry>> {
        self.read(|c| {
            let before = before.map(sql_u64).transpose()?.unwrap_or(i64::MAX);
            let mut out = Vec::new();
            c.query_each(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries INDEXED BY entries_by_member WHERE region = ?1 AND member = ?2 \
                 AND seq < ?3 ORDER BY seq DESC LIMIT ?4"
            ), params![region.as_str(), member.get(), before, limit], |r| {
                out.push(rows::entry_from_row(r)?);
                Ok(())
            })?;
            Ok(out)
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
            let mut out = Vec::new();
            c.query_each(&format!(
                "SELECT {ENTRY_COLUMNS} FROM entries WHERE region = ?1 AND member = ?2 ORDER BY seq DESC LIMIT ?3"
            ), params![region.as_str(), member.get(), limit], |r| {
                out.push(rows::entry_from_row(r)?);
                Ok(())
            })?;
            Ok(out)
        })
    }
}

/// A claim as reviewers and claimants see it.
#[derive(Debug, Clone)]
pub struct ClaimView {
    pub region: RegionCode,
    pub id: jifen_core::ClaimId,
    pub member: MemberId,
    /// None once the member is erased.
    pub member_name: Option<String>,
    pub household: jifen_core::HouseholdId,
    pub indicator: jifen_core::IndicatorRef,
    pub quantity: u32,
    pub note: String,
    pub status: jifen_core::ClaimStatus,
    pub source: jifen_core::Source,
    /// Who recorded or submitted it (never one of its approvers), and their name.
    pub submitted_by: jifen_core::OperatorId,
    pub submitted_by_name: Option<String>,
    pub submitted: jifen_core::Timestamp,
    pub notice_until: Option<jifen_core::Timestamp>,
    pub entry_seq: Option<u64>,
    pub approvals: Vec<jifen_core::OperatorId>,
    /// The reason the latest reviewer gave who gave one (private: the claimant and
    /// staff see it).
    pub reason: Option<String>,
}

const CLAIM_COLUMNS: &str = "c.region, c.claim, c.member, m.name, m.household, c.indicator, c.indicator_version, \
     c.quantity, c.note, c.status, c.source, c.submitted_by, c.submitted_ms, c.notice_until_ms, c.entry_seq, a.display_name, \
     (SELECT r.reason FROM claim_reviews r WHERE r.region = c.region AND r.claim = c.claim AND r.reason IS NOT NULL \
      ORDER BY r.time_ms DESC LIMIT 1)";

fn claim_from_row(c: &Conn, row: &Row<'_>) -> Result<ClaimView> {
    let region: String = row.get(0)?;
    let id: i64 = row.get(1)?;
    let bad = |w: &str| StoreError::Corrupt(format!("claim {region}:{id}: bad {w}"));
    let region = RegionCode::parse(&region).map_err(|_| bad("region"))?;
    let code: String = row.get(5)?;
    let status: String = row.get(9)?;
    let source: String = row.get(10)?;
    let entry_seq: Option<i64> = row.get(14)?;
    let approvals: Vec<jifen_core::OperatorId> = c
        .query_map("SELECT reviewer FROM claim_reviews WHERE region = ?1 AND claim = ?2 AND decision = 'approve' ORDER BY time_ms", params![region.as_str(), id], |r| r.get::<i64>(0))?
        .into_iter()
        .filter_map(|v| jifen_core::OperatorId::new(v).ok())
        .collect();
    let submitted_by: i64 = row.get(11)?;
    Ok(ClaimView {
        id: jifen_core::ClaimId::new(id).map_err(|_| bad("id"))?,
        member: MemberId::new(row.get(2)?).map_err(|_| bad("member"))?,
        member_name: row.get(3)?,
        household: jifen_core::HouseholdId::new(row.get(4)?).map_err(|_| bad("household"))?,
        indicator: jifen_core::IndicatorRef {
            code: jifen_core::IndicatorCode::parse(&code).map_err(|_| bad("indicator"))?,
            version: row.get(6)?,
        },
        quantity: row.get(7)?,
        note: row.get(8)?,
        status: jifen_core::ClaimStatus::parse(&status).ok_or_else(|| bad("status"))?,
        source: jifen_core::Source::parse(&source).map_err(|_| bad("source"))?,
        submitted_by: jifen_core::OperatorId::new(submitted_by).map_err(|_| bad("submitter"))?,
        submitted_by_name: row.get(15)?,
        submitted: jifen_core::Timestamp::from_millis(row.get(12)?),
        notice_until: row
            .get::<Option<i64>>(13)?
            .map(jifen_core::Timestamp::from_millis),
        entry_seq: entry_seq.map(from_sql_u64).transpose()?,
        approvals,
        reason: row.get(16)?,
        region,
    })
}

/// A member with their household, as staff see them.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub id: MemberId,
    pub household: jifen_core::HouseholdId,
    pub household_label: String,
    /// None once erased.
    pub name: Option<String>,
}

impl Store {
    /// Claims of a region, optionally of one status and/or one member, by id after `after`.
    pub fn claims(
        &self,
        region: &RegionCode,
        status: Option<jifen_core::ClaimStatus>,
        member: Option<MemberId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ClaimView>> {
        self.read(|c| {
            let mut out = Vec::new();
            c.query_each(&format!(
                "SELECT {CLAIM_COLUMNS} FROM claims c JOIN members m ON m.region = c.region AND m.member = c.member \
                 LEFT JOIN accounts a ON a.account = c.submitted_by \
                 WHERE c.region = ?1 AND (CAST(?2 AS TEXT) IS NULL OR c.status = ?2) AND (CAST(?3 AS BIGINT) IS NULL OR c.member = ?3) AND c.claim > ?4 \
                 ORDER BY c.claim LIMIT ?5"
            ), params![
                region.as_str(),
                status.map(|s| s.as_str()),
                member.map(MemberId::get),
                after,
                limit
            ], |row| {
                out.push(claim_from_row(c, row)?);
                Ok(())
            })?;
            Ok(out)
        })
    }

    pub fn claim(&self, region: &RegionCode, id: jifen_core::ClaimId) -> Result<ClaimView> {
        self.read(|c| claim_in(c, region, id))
    }

    pub fn members(&self, region: &RegionCode, after: i64, limit: u32) -> Result<Vec<MemberView>> {
        self.read(|c| {
            let rows = c.query_map("SELECT m.member, m.household, h.label, m.name FROM members m JOIN households h \
                 ON h.region = m.region AND h.household = m.household WHERE m.region = ?1 AND m.member > ?2 \
                 ORDER BY m.member LIMIT ?3", params![region.as_str(), after, limit], |r| {
                Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?, r.get::<Option<String>>(3)?))
            })?;
            let mut out = Vec::new();
            for (id, h, label, name) in rows {
                out.push(MemberView {
                    id: MemberId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    household: jifen_core::HouseholdId::new(h).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    household_label: label,
                    name,
                });
            }
            Ok(out)
        })
    }

    pub fn member(&self, region: &RegionCode, id: MemberId) -> Result<MemberView> {
        self.members(region, id.get() - 1, 1)?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("member {id} in region {region}")))
    }
}

/// One claim, on any connection (a write's transaction included).
pub(crate) fn claim_in(
    c: &Conn,
    region: &RegionCode,
    id: jifen_core::ClaimId,
) -> Result<ClaimView> {
    let row = c.query_opt(
        &format!(
            "SELECT {CLAIM_COLUMNS} FROM claims c JOIN members m ON m.region = c.region AND m.member = c.member \
                 LEFT JOIN accounts a ON a.account = c.submitted_by \
             WHERE c.region = ?1 AND c.claim = ?2"
        ),
        params![region.as_str(), id.get()],
        |row| claim_from_row(c, row),
    )?;
    match row {
        Some(view) => Ok(view),
        None => Err(StoreError::NotFound(format!("claim {region}:{id}"))),
    }
}

/// An appeal (申诉) as the member and the region's staff see it (without the statement).
#[derive(Debug, Clone)]
pub struct AppealView {
    pub region: RegionCode,
    pub id: jifen_core::AppealId,
    /// The entry appealed against.
    pub entry_seq: u64,
    pub member: MemberId,
    pub status: jifen_core::AppealStatus,
    pub filed: jifen_core::Timestamp,
    pub deadline: jifen_core::Timestamp,
    pub decided_by: Option<jifen_core::OperatorId>,
    pub decided: Option<jifen_core::Timestamp>,
    /// The reversal or further entry the decision posted, if any.
    pub outcome_seq: Option<u64>,
}

impl Store {
    /// Appeals of a region, optionally of one status and/or one member, by id after `after`.
    pub fn appeals(
        &self,
        region: &RegionCode,
        status: Option<jifen_core::AppealStatus>,
        member: Option<MemberId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AppealView>> {
        self.read(|c| appeals_in(c, region, status, member, after, limit))
    }

    /// One version of an indicator as the region sees it: its own, or an ancestor's.
    pub fn indicator_at(
        &self,
        region: &RegionCode,
        r: &jifen_core::IndicatorRef,
    ) -> Result<jifen_core::Indicator> {
        self.read(|c| crate::workflow::indicator_version(c, region, r))
    }
}

/// One region's log in one snapshot: its latest checkpoint, and the tiles and
/// leaves under it, all agreeing.
pub struct LogView<'a> {
    conn: &'a Conn,
    region: &'a RegionCode,
    pub checkpoint: Checkpoint,
    /// The checkpoint as the signed note it was published as.
    pub note: String,
}

impl LogView<'_> {
    /// The stored tile at (level, index), partial or full.
    pub fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        let mut tiles = SqlTiles {
            conn: self.conn,
            region: self.region.as_str(),
        };
        jifen_log::TileReader::read_tile(&mut tiles, level, index)
    }

    /// Entries `from..to` with their leaves.
    pub fn leaves(&self, from: u64, to: u64) -> Result<Vec<(Entry, Vec<u8>)>> {
        leaves(self.conn, self.region, from, to)
    }
}

/// A member as an export lists it: with the household's label and the commitment
/// key (erased members have no name).
#[derive(Debug, Clone)]
pub struct MemberRecord {
    pub member: i64,
    pub household: i64,
    pub household_label: String,
    pub name: Option<String>,
    pub commitment: [u8; 32],
}

impl Store {
    /// Calls `f` with each member of the region, by number, in one snapshot.
    pub fn each_member(
        &self,
        region: &RegionCode,
        mut f: impl FnMut(MemberRecord) -> Result<()>,
    ) -> Result<()> {
        self.read(|c| {
            c.query_each(
                "SELECT m.member, m.household, h.label, m.name, m.commitment FROM members m \
                 JOIN households h ON h.region = m.region AND h.household = m.household \
                 WHERE m.region = ?1 ORDER BY m.member",
                params![region.as_str()],
                |r| {
                    let cm: Vec<u8> = r.get(4)?;
                    f(MemberRecord {
                        member: r.get(0)?,
                        household: r.get(1)?,
                        household_label: r.get(2)?,
                        name: r.get(3)?,
                        commitment: <[u8; 32]>::try_from(cm.as_slice()).unwrap_or([0; 32]),
                    })
                },
            )
        })
    }

    /// Calls `f` with each entry of the region's log, in order, in one snapshot.
    pub fn each_entry(
        &self,
        region: &RegionCode,
        mut f: impl FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        self.read(|c| {
            c.query_each(
                &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE region = ?1 ORDER BY seq"),
                params![region.as_str()],
                |r| f(rows::entry_from_row(r)?),
            )
        })
    }

    /// Runs `f` on one snapshot of the region's log (what `jifen log publish` writes).
    pub fn log_view<T>(
        &self,
        region: &RegionCode,
        f: impl FnOnce(&LogView<'_>) -> Result<T>,
    ) -> Result<T> {
        self.read(|c| {
            let (checkpoint, note) = latest_checkpoint(c, region)?;
            f(&LogView {
                conn: c,
                region,
                checkpoint,
                note,
            })
        })
    }

    /// How many checkpoints the region's log has signed.
    pub fn checkpoint_count(&self, region: &RegionCode) -> Result<u64> {
        let n: i64 = self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM checkpoints WHERE region = ?1",
                params![region.as_str()],
                |r| r.get(0),
            )
        })?;
        from_sql_u64(n)
    }

    /// One entry of a region's log, if the log is that long.
    pub fn entry(&self, region: &RegionCode, seq: u64) -> Result<Option<Entry>> {
        self.read(|c| rows::load_entry(c, region, seq))
    }

    /// The region's levels (thresholds on the annual score).
    pub fn levels(&self, region: &RegionCode) -> Result<Levels> {
        self.read(|c| load_levels(c, region))
    }

    /// Entries `from..to` of a region's log with their leaves, for entry bundles.
    pub fn leaves(&self, region: &RegionCode, from: u64, to: u64) -> Result<Vec<(Entry, Vec<u8>)>> {
        self.read(|c| leaves(c, region, from, to))
    }

    /// One event of a region.
    pub fn event(&self, region: &RegionCode, id: i64) -> Result<crate::workflow::Event> {
        self.read(|c| crate::workflow::load_event(c, region, id))
    }

    /// A region's UTC offset, in minutes: one row, for the many answers that format times.
    pub fn region_offset(&self, code: &RegionCode) -> Result<i32> {
        self.read(|c| rows::region_offset(c, code))
    }
}

/// [`Store::appeals`] on a given connection or batch, so it can be part of a larger write.
pub(crate) fn appeals_in(
    c: &Conn,
    region: &RegionCode,
    status: Option<jifen_core::AppealStatus>,
    member: Option<MemberId>,
    after: i64,
    limit: u32,
) -> Result<Vec<AppealView>> {
    let mut out = Vec::new();
    c.query_each("SELECT appeal, entry_seq, member, status, filed_ms, deadline_ms, decided_by, decided_ms, outcome_seq \
             FROM appeals WHERE region = ?1 AND (CAST(?2 AS TEXT) IS NULL OR status = ?2) AND (CAST(?3 AS BIGINT) IS NULL OR member = ?3) \
             AND appeal > ?4 ORDER BY appeal LIMIT ?5", params![
        region.as_str(),
        status.map(|s| s.as_str()),
        member.map(MemberId::get),
        after,
        limit
    ], |row| {
        let id: i64 = row.get(0)?;
        let bad = |w: &str| StoreError::Corrupt(format!("appeal {region}:{id}: bad {w}"));
        let status: String = row.get(3)?;
        out.push(AppealView {
            region: region.clone(),
            id: jifen_core::AppealId::new(id).map_err(|_| bad("id"))?,
            entry_seq: from_sql_u64(row.get(1)?)?,
            member: MemberId::new(row.get(2)?).map_err(|_| bad("member"))?,
            status: jifen_core::AppealStatus::parse(&status).ok_or_else(|| bad("status"))?,
            filed: jifen_core::Timestamp::from_millis(row.get(4)?),
            deadline: jifen_core::Timestamp::from_millis(row.get(5)?),
            decided_by: row
                .get::<Option<i64>>(6)?
                .map(|v| jifen_core::OperatorId::new(v).map_err(|_| bad("decider")))
                .transpose()?,
            decided: row
                .get::<Option<i64>>(7)?
                .map(jifen_core::Timestamp::from_millis),
            outcome_seq: row
                .get::<Option<i64>>(8)?
                .map(from_sql_u64)
                .transpose()?,
        });
        Ok(())
    })?;
    Ok(out)
}
