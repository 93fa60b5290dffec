//! The offline audit behind `jifen verify`: trusts nothing derived. For each
//! region it rebuilds the Merkle tree from the stored entries, compares every
//! stored tile and checkpoint root with it, checks every checkpoint's signature
//! and the consistency between successive checkpoints, re-derives every balance
//! and annual score from the entries and compares them with the stored ones,
//! and checks that the accounts sum to zero. The first failure is named.

use std::collections::HashMap;

use jifen_core::{Account, Ledger, MemberId, Points, PublicLeaf, RegionCode, member_commitment};
use jifen_log::{Appender, Checkpoint, NoteVerifier, TileReader};

use crate::db::from_sql_u64;
use crate::error::{Result, StoreError};
use crate::rows::{self, ENTRY_COLUMNS, SqlTiles};
use crate::sql::Conn;
use crate::{Store, params};

/// How often (in entries) the audit compares the tiles it rebuilt with the stored ones.
const TILE_CHECK_EVERY_ENTRIES: u64 = 65_536;

/// What the audit checked in one region.
#[derive(Debug, Clone)]
pub struct RegionAudit {
    pub region: RegionCode,
    pub entries: u64,
    pub checkpoints: u64,
    pub members: u64,
    /// Points owed to members (sum of member balances).
    pub outstanding: Points,
}

fn fail(region: &RegionCode, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("region {region}: {what}"))
}

impl Store {
    /// Audits every region; `progress` is told each region's entry count as it goes.
    pub fn audit(&self, mut progress: impl FnMut(&RegionCode, u64)) -> Result<Vec<RegionAudit>> {
        self.read(|c| {
            let regions = rows::load_regions(c)?;
            let mut out = Vec::new();
            for r in regions {
                out.push(audit_region(c, &r.code, &mut progress)?);
                crate::market::audit_region(c, &r.code)?;
                crate::year::audit_region(c, &r.code)?;
            }
            Ok(out)
        })
    }
}

fn compare_tiles(
    c: &Conn,
    region: &RegionCode,
    tiles: Vec<jifen_log::Tile>,
    exact: bool,
) -> Result<()> {
    let mut stored = SqlTiles {
        conn: c,
        region: region.as_str(),
    };
    for t in tiles {
        let have = stored.read_tile(t.level, t.index)?;
        let ok = match &have {
            Some(h) if exact => *h == t.hashes,
            Some(h) => h.len() >= t.hashes.len() && h[..t.hashes.len()] == t.hashes[..],
            None => false,
        };
        if !ok {
            return Err(fail(
                region,
                format!(
                    "stored tile {} differs from the tree rebuilt from the entries",
                    jifen_log::tile_path(t.level, t.index, t.width())
                ),
            ));
        }
    }
    Ok(())
}

fn audit_region(
    c: &Conn,
    region: &RegionCode,
    progress: &mut impl FnMut(&RegionCode, u64),
) -> Result<RegionAudit> {
    let (origin, vkey, offset): (String, String, i32) = c.query_row(
        "SELECT origin, vkey, utc_offset_minutes FROM regions WHERE region = ?1",
        params![region.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let verifier =
        NoteVerifier::from_vkey(&vkey).map_err(|e| fail(region, format!("verifier key: {e}")))?;

    // Members: every commitment whose key is still held must match it.
    let mut commitments: HashMap<i64, [u8; 32]> = HashMap::new();
    {
        c.query_each(
            "SELECT m.member, m.commitment, k.key FROM members m LEFT JOIN member_keys k \
             ON k.region = m.region AND k.member = m.member WHERE m.region = ?1",
            params![region.as_str()],
            |row| {
                let id: i64 = row.get(0)?;
                let cm: Vec<u8> = row.get(1)?;
                let key: Option<Vec<u8>> = row.get(2)?;
                let cm = <[u8; 32]>::try_from(cm.as_slice()).map_err(|_| {
                    fail(region, format!("member {id}: commitment is not 32 bytes"))
                })?;
                if let Some(key) = key {
                    let key = <[u8; 32]>::try_from(key.as_slice())
                        .map_err(|_| fail(region, format!("member {id}: key is not 32 bytes")))?;
                    let m = MemberId::new(id).map_err(|e| fail(region, e))?;
                    if member_commitment(&key, region, m) != cm {
                        return Err(fail(
                            region,
                            format!("member {id}: commitment does not match the member's key"),
                        ));
                    }
                }
                commitments.insert(id, cm);
                Ok(())
            },
        )?;
    }

    // Checkpoints: signatures, and that each note says what its row says.
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    {
        c.query_each(
            "SELECT size, root, note FROM checkpoints WHERE region = ?1 ORDER BY size",
            params![region.as_str()],
            |row| {
                let size = from_sql_u64(row.get(0)?)?;
                let root: Vec<u8> = row.get(1)?;
                let note: String = row.get(2)?;
                let text =
                    jifen_log::open_note(&note, std::slice::from_ref(&verifier)).map_err(|e| {
                        fail(
                            region,
                            format!("checkpoint {size}: signature does not verify: {e}"),
                        )
                    })?;
                let cp = Checkpoint::parse(text)
                    .map_err(|e| fail(region, format!("checkpoint {size}: {e}")))?;
                if cp.size != size || cp.root.as_slice() != root.as_slice() || cp.origin != origin {
                    return Err(fail(
                        region,
                        format!("checkpoint {size}: the stored row differs from its signed note"),
                    ));
                }
                checkpoints.push(cp);
                Ok(())
            },
        )?;
    }
    if checkpoints.is_empty() {
        return Err(fail(region, "no signed checkpoint"));
    }

    // Entries: in order, each checked against the rules, hashed into a fresh tree,
    // compared with the stored leaf hash, and applied to a fresh ledger.
    let mut ledger = Ledger::new();
    let mut tree = Appender::new();
    let mut reversed: HashMap<u64, Points> = HashMap::new();
    let mut next_cp = 0usize;
    let mut leaf_tile: Vec<u8> = Vec::new();
    let mut stored_tiles = SqlTiles {
        conn: c,
        region: region.as_str(),
    };
    let mut count: u64 = 0;
    c.query_each(&format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE region = ?1 ORDER BY seq"
    ), params![region.as_str()], |row| {
        let e = rows::entry_from_row(row)?;
        if e.seq != count {
            return Err(fail(
                region,
                format!("entry {count} is missing (next stored is {})", e.seq),
            ));
        }
        let original = match e.reverses {
            Some(s) => Some(
                rows::load_entry(c, region, s)?
                    .filter(|o| o.seq < e.seq)
                    .ok_or_else(|| {
                        fail(
                            region,
                            format!(
                                "entry {}: reverses entry {s}, which is not before it",
                                e.seq
                            ),
                        )
                    })?,
            ),
            None => None,
        };
        e.check_rules(original.as_ref())
            .map_err(|err| fail(region, err))?;
        if let Some(o) = &original {
            let done = reversed.entry(o.seq).or_default();
            *done = done
                .checked_add(e.amount)
                .map_err(|err| fail(region, err))?;
            if *done > o.amount {
                return Err(fail(
                    region,
                    format!(
                        "entry {}: reverses more of entry {} than it had",
                        e.seq, o.seq
                    ),
                ));
            }
        }
        let cm = commitments.get(&e.member.get()).ok_or_else(|| {
            fail(
                region,
                format!("entry {}: member {} does not exist", e.seq, e.member),
            )
        })?;
        let hash = jifen_log::leaf_hash(&PublicLeaf::of_entry(&e, cm).encode());
        let in_tile = usize::try_from(e.seq % jifen_log::TILE_WIDTH).expect("below 256");
        if in_tile == 0 {
            leaf_tile = stored_tiles
                .read_tile(0, e.seq / jifen_log::TILE_WIDTH)?
                .unwrap_or_default();
        }
        if leaf_tile.get(in_tile * 32..in_tile * 32 + 32) != Some(hash.as_slice()) {
            return Err(fail(
                region,
                format!(
                    "entry {}: its stored data does not hash to the leaf in the log (changed after posting?)",
                    e.seq
                ),
            ));
        }
        tree.append(hash);
        let year = e.time.local_year(offset).map_err(|err| fail(region, err))?;
        ledger.apply(&e, year).map_err(|err| fail(region, err))?;
        count += 1;
        while next_cp < checkpoints.len() && checkpoints[next_cp].size == count {
            if tree.root() != checkpoints[next_cp].root {
                return Err(fail(
                    region,
                    format!(
                        "checkpoint {count}: root differs from the tree rebuilt from the entries"
                    ),
                ));
            }
            next_cp += 1;
        }
        if count.is_multiple_of(TILE_CHECK_EVERY_ENTRIES) {
            compare_tiles(c, region, tree.take_dirty_tiles(), false)?;
            progress(region, count);
        }
        Ok(())
    })?;
    // The empty tree's checkpoint.
    if let Some(cp0) = checkpoints.first()
        && cp0.size == 0
        && cp0.root != jifen_log::empty_root()
    {
        return Err(fail(region, "checkpoint 0: root is not the empty tree's"));
    }
    if let Some(cp) = checkpoints.iter().find(|cp| cp.size > count) {
        return Err(fail(
            region,
            format!(
                "checkpoint {} claims more entries than the {count} stored",
                cp.size
            ),
        ));
    }
    compare_tiles(c, region, tree.take_dirty_tiles(), true)?;
    progress(region, count);

    // Consistency between successive checkpoints, from the stored tiles.
    for w in checkpoints.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.size == 0 {
            continue;
        }
        let proof = jifen_log::consistency_proof(&mut stored_tiles, a.size, b.size)?;
        jifen_log::verify_consistency(a.size, b.size, &a.root, &b.root, &proof).map_err(|e| {
            fail(
                region,
                format!(
                    "checkpoints {} and {} are not consistent: {e}",
                    a.size, b.size
                ),
            )
        })?;
    }

    // Balances: the system accounts' stored balances, and each member's stored
    // annual score and net flow per year, against what the entries give; both ways.
    if ledger.total().map_err(|e| fail(region, e))? != Points::ZERO {
        return Err(fail(region, "the entries do not sum to zero"));
    }
    let mut stored_sum = Points::ZERO;
    let mut system_rows = 0usize;
    {
        c.query_each(
            "SELECT account, balance FROM balances WHERE region = ?1 ORDER BY account",
            params![region.as_str()],
            |row| {
                let key: String = row.get(0)?;
                let stored = Points::new(row.get(1)?);
                let account = Account::parse_key(&key)
                    .map_err(|e| fail(region, format!("balance row {key}: {e}")))?;
                if account.member().is_some() {
                    return Err(fail(
                        region,
                        format!("balance row {key}: member balances are kept per year, not here"),
                    ));
                }
                let derived = ledger.balance(&account);
                if stored != derived {
                    return Err(fail(
                        region,
                        format!("balance of {key} is {stored} but the entries give {derived}"),
                    ));
                }
                stored_sum = stored_sum
                    .checked_add(stored)
                    .map_err(|e| fail(region, e))?;
                system_rows += 1;
                Ok(())
            },
        )?;
    }
    let mut member_rows = 0usize;
    let folded = crate::member_years::folded_upto(c, region)?;
    if folded > count {
        return Err(fail(
            region,
            format!(
                "member years are marked folded up to entry {folded}, beyond the log's {count} entries"
            ),
        ));
    }
    {
        // Stored rows plus the entries not folded into them yet.
        for (m, year, annual, flow) in crate::member_years::all(c, region)? {
            let m = MemberId::new(m).map_err(|e| fail(region, e))?;
            let annual = Points::new(annual);
            let flow = Points::new(flow);
            let (want_annual, want_flow) = (ledger.annual_score(m, year), ledger.net_flow(m, year));
            if annual != want_annual {
                return Err(fail(
                    region,
                    format!(
                        "annual score of member {m} in {year} is {annual} but the entries give {want_annual}"
                    ),
                ));
            }
            if flow != want_flow {
                return Err(fail(
                    region,
                    format!(
                        "balance of member:{m}: its {year} net flow is {flow} but the entries give {want_flow}"
                    ),
                ));
            }
            stored_sum = stored_sum.checked_add(flow).map_err(|e| fail(region, e))?;
            member_rows += 1;
        }
    }
    let derived_system = ledger
        .balances
        .iter()
        .filter(|(a, p)| a.member().is_none() && **p != Points::ZERO)
        .count();
    if system_rows < derived_system {
        return Err(fail(
            region,
            "a system account the entries move has no stored balance",
        ));
    }
    if member_rows < ledger.flows.len() {
        return Err(fail(
            region,
            "a member's year that the entries touch has no stored row",
        ));
    }
    if stored_sum != Points::ZERO {
        return Err(fail(
            region,
            format!("stored balances sum to {stored_sum}, not zero"),
        ));
    }
    Ok(RegionAudit {
        region: region.clone(),
        entries: count,
        checkpoints: u64::try_from(checkpoints.len()).unwrap_or(u64::MAX),
        members: u64::try_from(commitments.len()).unwrap_or(u64::MAX),
        outstanding: ledger.outstanding().map_err(|e| fail(region, e))?,
    })
}
