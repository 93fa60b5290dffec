//! A region's sequencer state: what is committed (tree, last checkpoint, key), the
//! caches an append is checked from (members, indicators, cap counts), and the check.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use jifen_core::{
    CapPeriod, Caps, Commitment, EntryKind, Indicator, MemberId, NewEntry, RegionCode, RegionTree,
    Source, Timestamp, indicator::visible_indicators,
};
use jifen_log::{Appender, Checkpoint, NoteSigner, NoteVerifier};

use super::{
    CAP_BULK_ROWS_MAX, CAP_BULK_TREE_ENTRIES_MAX, CAP_CACHE_MAX, CapKey, MEMBER_BULK_MAX,
    MEMBER_CACHE_MAX,
};
use crate::db::from_sql_u64;
use crate::error::{Result, StoreError};
use crate::keys::KeyDir;
use crate::member_years;
use crate::params;
use crate::rows::{self, SqlTiles};
use crate::sql::Conn;

/// The in-memory state of one region's sequencer: what is committed, plus the
/// entries pending in the current batch (or checked ahead for the next one).
pub(super) struct RegionState {
    pub(super) origin: String,
    pub(super) offset_minutes: i32,
    pub(super) appender: Appender,
    pub(super) last: Checkpoint,
    pub(super) signer: NoteSigner,
    /// Every version of every indicator the region sees (its own and inherited core ones),
    /// by code (kept once, shared by the cap counters), then version.
    indicators: FxHashMap<String, (Arc<str>, FxHashMap<u32, Indicator>)>,
    /// Commitments of members known to exist.
    pub(super) members: FxHashMap<MemberId, [u8; 32]>,
    /// Whether `members` was filled with all of the region's members in one query
    /// (a miss after that is a member created since, looked up alone).
    pub(super) members_loaded: bool,
    /// Units counted against caps: derived from the committed entries on a miss, then
    /// kept up to date by the appends, pending ones included. Never cleared inside a
    /// batch, so a miss means no pending entry counts towards that key.
    pub(super) cap_used: FxHashMap<CapKey, u64>,
    /// (indicator, period kind, period number) whose committed counts for every member
    /// were read into `cap_used` in one query: a miss on such a key counts zero.
    pub(super) cap_loaded: FxHashSet<(Arc<str>, CapPeriod, i32)>,
    /// The local date at the batch time it was last computed for.
    today: Option<(Timestamp, time::Date)>,
    /// Next sequence number: tree size plus entries pending in the current batch (or
    /// checked ahead for the next).
    pub(super) next_seq: u64,
    /// `member_years` holds the entries before this one (as committed).
    pub(super) folded: u64,
    /// Member-year sums of the committed entries from `folded` on, not yet in `member_years`.
    pub(super) unfolded: member_years::YearSums,
}

impl RegionState {
    pub(super) fn load(conn: &Conn, keys: &KeyDir, region: &RegionCode) -> Result<Self> {
        let (origin, offset_minutes, vkey): (String, i32, String) = conn
            .query_opt(
                "SELECT origin, utc_offset_minutes, vkey FROM regions WHERE region = ?1",
                params![region.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
        let signer = NoteSigner::new(&origin, keys.load(region.as_str())?)?;
        if signer.vkey() != vkey {
            return Err(StoreError::Corrupt(format!(
                "region {region}: the key in keys/ does not match the verifier key in the database"
            )));
        }
        let verifier = NoteVerifier::from_vkey(&vkey)?;
        let (size, note): (i64, String) = conn
            .query_opt(
                "SELECT size, note FROM checkpoints WHERE region = ?1 ORDER BY size DESC LIMIT 1",
                params![region.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .ok_or_else(|| StoreError::Corrupt(format!("region {region} has no checkpoint")))?;
        let last = Checkpoint::parse(jifen_log::open_note(
            &note,
            std::slice::from_ref(&verifier),
        )?)?;
        if last.size != from_sql_u64(size)? {
            return Err(StoreError::Corrupt(format!(
                "region {region}: checkpoint row size differs from its note"
            )));
        }
        let mut tiles = SqlTiles {
            conn,
            region: region.as_str(),
        };
        let appender = Appender::resume(last.size, &mut tiles)?;
        if appender.root() != last.root {
            return Err(StoreError::Corrupt(format!(
                "region {region}: the stored tiles do not give the root of checkpoint {}",
                last.size
            )));
        }
        let beyond: Option<i64> = conn.query_row(
            "SELECT MAX(seq) FROM entries WHERE region = ?1",
            params![region.as_str()],
            |r| r.get(0),
        )?;
        if let Some(max) = beyond
            && from_sql_u64(max)? >= last.size
        {
            return Err(StoreError::Corrupt(format!(
                "region {region}: entry {max} is not covered by the latest checkpoint (size {})",
                last.size
            )));
        }
        // A region restored from a backup signs nothing until an operator shows that
        // the old server published nothing after it (see `backup.rs`).
        if keys.restored(region.as_str())?.is_some() {
            return Err(StoreError::Fork(format!(
                "region {region} was restored from a backup at a tree of {} entries, and the old server may have \
                 signed larger checkpoints after it: signing on from here could fork the log. Fetch the latest \
                 checkpoint it published (its /log/{region}/checkpoint, or a copy from `jifen log publish`, an \
                 auditor or a witness) into a file and run `jifen log resume --region {region} --checkpoint FILE`",
                last.size
            )));
        }
        // Refuse to go on from a database that does not extend what this key signed.
        if let Some(signed) = keys.last_signed(region.as_str())? {
            let text =
                jifen_log::open_note(&signed, std::slice::from_ref(&verifier)).map_err(|e| {
                    StoreError::Fork(format!("keys/{region}.last-signed does not verify: {e}"))
                })?;
            let remembered = Checkpoint::parse(text)?;
            if remembered.size > last.size {
                return Err(StoreError::Fork(format!(
                    "region {region}: this key already signed a tree of {} entries, but the database holds {}; \
                     it looks like an older copy of the database. Restore the newest one.",
                    remembered.size, last.size
                )));
            }
            let root = jifen_log::tree_root(&mut tiles, remembered.size)?;
            if root != remembered.root {
                return Err(StoreError::Fork(format!(
                    "region {region}: the database's tree at size {} differs from the one this key signed",
                    remembered.size
                )));
            }
        }
        let mut state = RegionState {
            origin,
            offset_minutes,
            next_seq: appender.size(),
            appender,
            last,
            signer,
            indicators: FxHashMap::default(),
            members: FxHashMap::default(),
            members_loaded: false,
            cap_used: FxHashMap::default(),
            cap_loaded: FxHashSet::default(),
            today: None,
            folded: 0,
            unfolded: member_years::YearSums::default(),
        };
        state.folded = member_years::folded_upto(conn, region)?;
        if state.folded > state.next_seq {
            return Err(StoreError::Corrupt(format!(
                "region {region}: member years are marked folded up to entry {}, beyond the log's {} entries",
                state.folded, state.next_seq
            )));
        }
        if state.folded < state.next_seq {
            state.unfolded = member_years::tail_sums(conn, region, state.folded, offset_minutes)?;
        }
        state.load_indicators(conn, region)?;
        Ok(state)
    }

    /// Writes the unfolded member-year sums into `member_years` and moves the mark to
    /// the tree's size; returns the mark before and the sums folded (for an undo).
    pub(super) fn fold_in(
        &mut self,
        conn: &Conn,
        region: &RegionCode,
    ) -> Result<(u64, member_years::YearSums)> {
        let size = self.appender.size();
        member_years::fold(conn, region, &self.unfolded, size)?;
        Ok((
            std::mem::replace(&mut self.folded, size),
            std::mem::take(&mut self.unfolded),
        ))
    }

    /// Checks a new entry against the region's rules: the member exists, the
    /// indicator is visible and valid, the amount matches it, caps hold. Reads the
    /// database only on a cache miss; with no database at hand (`db` is `None`,
    /// when checking ahead) it stops there with [`Stop::NeedsDb`], having changed
    /// nothing but what its caches hold. Takes no sequence number.
    pub(super) fn check(
        &mut self,
        db: Option<&Conn>,
        region: &RegionCode,
        ne: &NewEntry,
        now: Timestamp,
    ) -> std::result::Result<Checked, Stop> {
        if !self.members_loaded && !self.members.contains_key(&ne.member) {
            // One query for the region's members instead of one round trip per first
            // sight of each (what a remote database charges most for).
            let tx = db.ok_or(Stop::NeedsDb)?;
            self.members_loaded = true;
            let n = rows::member_commitments(tx, region, MEMBER_BULK_MAX, &mut self.members)?;
            if n > MEMBER_BULK_MAX {
                self.members.clear();
            }
        }
        // Once loaded, one lookup an append; the commitment travels with the entry.
        let commitment = match self.members.get(&ne.member) {
            Some(c) => *c,
            None => {
                let tx = db.ok_or(Stop::NeedsDb)?;
                let c = rows::member_commitment(tx, region, ne.member)?.ok_or_else(|| {
                    StoreError::NotFound(format!("member {} in region {region}", ne.member))
                })?;
                if self.members.len() >= MEMBER_CACHE_MAX {
                    self.members.clear();
                }
                self.members.insert(ne.member, c);
                c
            }
        };
        let date = match self.today {
            Some((at, d)) if at == now => d,
            _ => {
                let d = now
                    .local_date(self.offset_minutes)
                    .map_err(|e| StoreError::rejected(e.to_string()))?;
                self.today = Some((now, d));
                d
            }
        };
        // An indicator has at most three caps (day, month, year): no allocation here.
        let mut caps: [Option<(CapKey, u64)>; 3] = [None, None, None];
        if let Some(ir) = &ne.indicator {
            let (code, ind) = self
                .indicators
                .get(ir.code.as_str())
                .and_then(|(code, v)| v.get(&ir.version).map(|i| (code, i)))
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "indicator {} version {} in region {region} (its own or inherited)",
                        ir.code, ir.version
                    ))
                })?;
            let by_rule = matches!(ne.kind, EntryKind::Award | EntryKind::Deduction)
                && !matches!(ne.reason.source, Source::Appeal);
            if ne.kind == EntryKind::Award && ind.points.is_negative()
                || ne.kind == EntryKind::Deduction && ind.points.is_positive()
            {
                return Err(StoreError::rejected(format!(
                    "indicator {} {} points per {}; it cannot be used for a {}",
                    ind.code,
                    if ind.points.is_negative() {
                        "deducts"
                    } else {
                        "awards"
                    },
                    ind.unit,
                    ne.kind
                ))
                .into());
            }
            if by_rule {
                if !ind.valid_on(date) {
                    return Err(StoreError::rejected(format!(
                        "indicator {} version {} is not valid on {date}",
                        ind.code, ind.version
                    ))
                    .into());
                }
                let expect = ind
                    .points
                    .abs()
                    .and_then(|p| p.checked_mul(i64::from(ne.quantity)))
                    .map_err(StoreError::from_overflow)?;
                if ne.amount != expect {
                    return Err(StoreError::rejected(format!(
                        "amount {} does not match indicator {}: {} × {} {}",
                        ne.amount,
                        ind.code,
                        ind.points.abs().unwrap_or_default(),
                        ne.quantity,
                        ind.unit
                    ))
                    .into());
                }
            }
            if ne.kind == EntryKind::Award && by_rule {
                for (period, limit) in ind.caps.limits() {
                    let key: CapKey = (ne.member, code.clone(), period, period.number(date));
                    let used = match self.cap_used.get(&key) {
                        Some(u) => *u,
                        None if self.cap_loaded.contains(&(code.clone(), period, key.3)) => 0,
                        None => {
                            let tx = db.ok_or(Stop::NeedsDb)?;
                            let period_key = (code.clone(), period, key.3);
                            let (from, to) = period.bounds(date);
                            let start = Timestamp::start_of(from, self.offset_minutes);
                            let end = Timestamp::start_of(to, self.offset_minutes);
                            let (start, end) = start
                                .and_then(|s| end.map(|e| (s, e)))
                                .map_err(|e| StoreError::rejected(e.to_string()))?;
                            // Every member's count for this period in one query while the
                            // region's log is small enough to scan; else this member's
                            // alone, by its index.
                            let all = if self.appender.size() <= CAP_BULK_TREE_ENTRIES_MAX {
                                rows::cap_units_by_member(
                                    tx,
                                    region,
                                    &ir.code,
                                    start,
                                    end,
                                    CAP_BULK_ROWS_MAX,
                                )?
                            } else {
                                None
                            };
                            match all {
                                Some(all) if self.cap_used.len() + all.len() <= CAP_CACHE_MAX => {
                                    // Keys with pending units are kept: they already count
                                    // the committed ones (a miss never has pending units).
                                    for (m, u) in all {
                                        self.cap_used
                                            .entry((m, code.clone(), period, key.3))
                                            .or_insert(u);
                                    }
                                    self.cap_loaded.insert(period_key);
                                    self.cap_used.get(&key).copied().unwrap_or(0)
                                }
                                _ => rows::cap_units_used(
                                    tx, region, ne.member, &ir.code, start, end,
                                )?,
                            }
                        }
                    };
                    Caps::check(period, limit, used, ne.quantity).map_err(|e| {
                        StoreError::refused("cap-reached", format!("{}: {e}", ind.code))
                    })?;
                    if let Some(slot) = caps.iter_mut().find(|c| c.is_none()) {
                        *slot = Some((key, used + u64::from(ne.quantity)));
                    }
                }
            }
        }
        Ok(Checked { commitment, caps })
    }

    /// Counts a checked entry against its caps and moves the sequence on; returns
    /// the cap keys it added to when `keep` (to undo them inside a savepoint).
    pub(super) fn accept(&mut self, caps: [Option<(CapKey, u64)>; 3], keep: bool) -> Vec<CapKey> {
        let mut kept = Vec::new();
        for (k, used) in caps.into_iter().flatten() {
            if keep {
                kept.push(k.clone());
            }
            self.cap_used.insert(k, used);
        }
        self.next_seq += 1;
        kept
    }

    pub(super) fn load_indicators(&mut self, conn: &Conn, region: &RegionCode) -> Result<()> {
        let tree = RegionTree::new(rows::load_regions(conn)?);
        let lineage: Vec<RegionCode> = tree
            .lineage(region)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .iter()
            .map(|r| r.code.clone())
            .collect();
        let refs: Vec<&RegionCode> = lineage.iter().collect();
        let all = rows::load_indicators(conn, &refs)?;
        // Visibility is decided on the latest version of each (region, code), as the
        // region sees it; then every version of a visible code may be named.
        let mut latest: Vec<&Indicator> = Vec::new();
        for i in all.iter().rev() {
            if !latest
                .iter()
                .any(|l| l.region == i.region && l.code == i.code)
            {
                latest.push(i);
            }
        }
        let latest: Vec<Indicator> = latest.into_iter().cloned().collect();
        let visible: Vec<(RegionCode, String)> = visible_indicators(&tree, region, &latest)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .iter()
            .map(|i| (i.region.clone(), i.code.as_str().to_owned()))
            .collect();
        self.indicators.clear();
        for i in all.into_iter().filter(|i| {
            visible
                .iter()
                .any(|(r, c)| *r == i.region && c == i.code.as_str())
        }) {
            self.indicators
                .entry(i.code.as_str().to_owned())
                .or_insert_with(|| (Arc::from(i.code.as_str()), FxHashMap::default()))
                .1
                .insert(i.version, i);
        }
        Ok(())
    }
}

/// Why checking an append stopped.
pub(super) enum Stop {
    /// The rules refuse it (or reading the database failed).
    Refused(StoreError),
    /// Checking ahead, with no database at hand: it needs to read the database.
    NeedsDb,
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Refused(e)
    }
}

impl Stop {
    /// For a check made with the database at hand, which never asks for it.
    pub(super) fn into_error(self) -> StoreError {
        match self {
            Stop::Refused(e) => e,
            Stop::NeedsDb => StoreError::Corrupt(
                "an append checked inside a transaction asked for the database".into(),
            ),
        }
    }
}

/// What checking an append found, to post it with.
pub(super) struct Checked {
    pub(super) commitment: Commitment,
    /// The cap counters it adds to, with their new counts (at most day, month, year).
    pub(super) caps: [Option<(CapKey, u64)>; 3],
}

/// Entry kinds that spend a member's balance: checked against the balance, which
/// needs the database.
pub(super) fn spends(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Redemption | EntryKind::Expiry | EntryKind::RecognitionOut
    )
}
