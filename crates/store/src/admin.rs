//! Regions, indicators, levels, households and members: the writes an admin makes.

use jifen_core::{
    HouseholdId, Indicator, Levels, MemberId, Region, RegionCode, RegionTree,
    indicator::{check_new_local, visible_indicators},
    member::check_name,
    member_commitment,
};
use jifen_log::{Checkpoint, NoteSigner};

use crate::error::{Result, StoreError};
use crate::keys::random_secret;
use crate::params;
use crate::sql::Conn;
use crate::{Store, rows};

/// Longest log origin prefix, in bytes.
pub const ORIGIN_PREFIX_BYTES_MAX: usize = 200;

/// What `jifen init` and the demo need to make a region.
#[derive(Debug, Clone)]
pub struct NewRegion {
    pub region: Region,
    /// The log origin is `<prefix>/<region code>`, e.g. `jifen.local/log/tx-gaoqiao`.
    pub origin_prefix: String,
}

/// A new member; `id` None takes the next free number.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub region: RegionCode,
    pub id: Option<MemberId>,
    pub household: HouseholdId,
    pub name: String,
}

fn check_origin_prefix(p: &str) -> Result<()> {
    if p.is_empty()
        || p.len() > ORIGIN_PREFIX_BYTES_MAX
        || !p.bytes().all(|b| b.is_ascii_graphic() && b != b'+')
    {
        return Err(StoreError::rejected(format!(
            "origin prefix {p:?} must be 1 to {ORIGIN_PREFIX_BYTES_MAX} printable ASCII characters without spaces or '+'"
        )));
    }
    Ok(())
}

impl Store {
    /// Creates a region with a new signing key and an empty, signed log. Returns the verifier key.
    pub fn create_region(&self, spec: NewRegion) -> Result<String> {
        check_origin_prefix(&spec.origin_prefix)?;
        let region = spec.region;
        let origin = format!(
            "{}/{}",
            spec.origin_prefix.trim_end_matches('/'),
            region.code
        );
        self.write(move |b| {
            let tx = b.conn();
            let exists: Option<String> = tx
                .query_opt("SELECT region FROM regions WHERE region = ?1", params![region.code.as_str()], |r| r.get(0))?;
            if exists.is_some() {
                return Err(StoreError::Conflict(format!("region {} exists already", region.code)));
            }
            if let Some(parent) = &region.parent {
                let tree = RegionTree::new(rows::load_regions(tx)?);
                if tree.get(parent).is_none() {
                    return Err(StoreError::NotFound(format!("parent region {parent}")));
                }
            }
            let key = b.keys().create(region.code.as_str())?;
            let made = (|| {
                let signer = NoteSigner::new(&origin, key)?;
                let vkey = signer.vkey();
                tx.execute(
                    "INSERT INTO regions (region, name, kind, parent, utc_offset_minutes, appeal_window_days, origin, vkey, created_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        region.code.as_str(),
                        region.name,
                        region.kind.as_str(),
                        region.parent.as_ref().map(RegionCode::as_str),
                        region.utc_offset_minutes,
                        region.appeal_window_days,
                        origin,
                        vkey,
                        b.now().millis()
                    ],
                )?;
                let empty = Checkpoint { origin: origin.clone(), size: 0, root: jifen_log::empty_root(), extensions: vec![] };
                let note = jifen_log::sign_checkpoint_after(&signer, None, &empty, &[])?;
                tx.execute(
                    "INSERT INTO checkpoints (region, size, root, note, time_ms) VALUES (?1, 0, ?2, ?3, ?4)",
                    params![region.code.as_str(), empty.root.as_slice(), note, b.now().millis()],
                )?;
                Ok::<_, StoreError>(vkey)
            })();
            if made.is_err() {
                // The region did not come to be: its key must not linger.
                b.keys().remove(region.code.as_str());
            }
            made
        })
    }

    /// Adds an indicator, or a new version of one; returns the version written.
    /// Old versions stay: entries name the version they were granted under.
    pub fn put_indicator(&self, ind: Indicator) -> Result<u32> {
        self.write(move |b| put_indicator_in(b, ind))
    }

    /// Replaces a region's levels.
    pub fn set_levels(&self, region: RegionCode, levels: Levels) -> Result<()> {
        self.write(move |b| set_levels_in(b, region, levels))
    }

    /// Adds a household; `id` None takes the next free number.
    pub fn add_household(
        &self,
        region: RegionCode,
        id: Option<HouseholdId>,
        label: &str,
    ) -> Result<HouseholdId> {
        let label = check_name("household label", label)
            .map_err(|e| StoreError::rejected(e.to_string()))?;
        self.write(move |b| insert_household(b, &region, id, &label))
    }

    /// Adds a member with a fresh commitment key.
    pub fn add_member(&self, m: NewMember) -> Result<MemberId> {
        self.write(move |b| insert_member(b, &m))
    }

    /// Erases a member's personal data: the name and the commitment key. The
    /// commitment stays, so the log, and every proof, stays verifiable; it no
    /// longer links to anyone.
    pub fn erase_member(&self, region: RegionCode, member: MemberId) -> Result<()> {
        self.write(move |b| {
            let tx = b.conn();
            let n = tx.execute(
                "UPDATE members SET name = NULL WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "member {member} in region {region}"
                )));
            }
            tx.execute(
                "DELETE FROM member_keys WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            // Their own words go too: claim notes and appeal statements are personal data.
            tx.execute(
                "UPDATE claims SET note = '' WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            tx.execute(
                "UPDATE appeals SET statement = '' WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            // What reviewers wrote about their claims, and the code that found them.
            tx.execute(
                "UPDATE claim_reviews SET reason = NULL WHERE region = ?1 AND claim IN \
                 (SELECT claim FROM claims WHERE region = ?1 AND member = ?2)",
                params![region.as_str(), member.get()],
            )?;
            tx.execute(
                "DELETE FROM member_codes WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            tx.execute(
                "DELETE FROM member_attributes WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            // Who read their data is about them too.
            tx.execute(
                "DELETE FROM data_access WHERE region = ?1 AND member = ?2",
                params![region.as_str(), member.get()],
            )?;
            Ok(())
        })
    }

    /// Every version of the indicator `code` as the region sees it (its own, or an
    /// ancestor's core one), oldest first: which rule applied when. `NotFound` when
    /// the region does not see that code.
    pub fn indicator_versions(
        &self,
        region: &RegionCode,
        code: &jifen_core::IndicatorCode,
    ) -> Result<Vec<Indicator>> {
        self.read(|c| {
            let (all, visible) = lineage_indicators(c, region)?;
            let owner = visible
                .into_iter()
                .find(|i| i.code == *code)
                .map(|i| i.region)
                .ok_or_else(|| {
                    StoreError::NotFound(format!("indicator {code} in region {region}"))
                })?;
            let mut versions: Vec<Indicator> = all
                .into_iter()
                .filter(|i| i.region == owner && i.code == *code)
                .collect();
            versions.sort_by_key(|i| i.version);
            Ok(versions)
        })
    }

    /// The indicators a region sees (latest version of each): its own and its ancestors' core ones.
    pub fn visible_indicators(&self, region: &RegionCode) -> Result<Vec<Indicator>> {
        self.read(|c| Ok(lineage_indicators(c, region)?.1))
    }
}

/// Every version of every indicator of the region's lineage, and the latest version
/// of each that the region sees (its own and its ancestors' core ones).
pub(crate) fn lineage_indicators(
    c: &Conn,
    region: &RegionCode,
) -> Result<(Vec<Indicator>, Vec<Indicator>)> {
    let tree = RegionTree::new(rows::load_regions(c)?);
    let lineage: Vec<RegionCode> = tree
        .lineage(region)
        .map_err(|e| StoreError::NotFound(e.to_string()))?
        .iter()
        .map(|r| r.code.clone())
        .collect();
    let refs: Vec<&RegionCode> = lineage.iter().collect();
    let all = rows::load_indicators(c, &refs)?;
    // Keep the latest version of each (region, code): rows come ordered by version.
    let mut latest: Vec<Indicator> = Vec::new();
    for i in all.iter().rev() {
        if !latest
            .iter()
            .any(|l| l.region == i.region && l.code == i.code)
        {
            latest.push(i.clone());
        }
    }
    let visible = visible_indicators(&tree, region, &latest)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?
        .into_iter()
        .cloned()
        .collect();
    Ok((all, visible))
}

pub(crate) fn region_must_exist(tx: &Conn, region: &RegionCode) -> Result<()> {
    let found: Option<String> = tx.query_opt(
        "SELECT region FROM regions WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("region {region}")))
}

/// Adds a household inside a write's batch. Numbers are allocated per region, so on
/// PostgreSQL the batch takes the region's lock first: two servers adding at once
/// wait their turn instead of colliding on the next free number.
pub(crate) fn insert_household(
    b: &mut crate::Batch<'_>,
    region: &RegionCode,
    id: Option<HouseholdId>,
    label: &str,
) -> Result<HouseholdId> {
    let label =
        check_name("household label", label).map_err(|e| StoreError::rejected(e.to_string()))?;
    let label = label.as_str();
    region_must_exist(b.conn(), region)?;
    b.lock_region(region)?;
    let tx = b.conn();
    let id = match id {
        Some(id) => id,
        None => {
            let max: Option<i64> = tx.query_row(
                "SELECT MAX(household) FROM households WHERE region = ?1",
                params![region.as_str()],
                |r| r.get(0),
            )?;
            HouseholdId::new(max.unwrap_or(0) + 1)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
        }
    };
    tx.execute(
        "INSERT INTO households (region, household, label) VALUES (?1, ?2, ?3)",
        params![region.as_str(), id.get(), label],
    )
    .map_err(|e| match e {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("household {id} exists already in {region}"))
        }
        e => e,
    })?;
    Ok(id)
}

pub_for_tests! {
    /// Adds a member with a fresh commitment key inside a write's batch, under the
    /// region's lock as [`insert_household`] does.
    fn insert_member(b: &mut crate::Batch<'_>, m: &NewMember) -> Result<MemberId> {
        let name =
            check_name("member name", &m.name).map_err(|e| StoreError::rejected(e.to_string()))?;
        b.lock_region(&m.region)?;
        let now_ms = b.now().millis();
        let tx = b.conn();
        let household: Option<i64> = tx.query_opt(
            "SELECT household FROM households WHERE region = ?1 AND household = ?2",
            params![m.region.as_str(), m.household.get()],
            |r| r.get(0),
        )?;
        if household.is_none() {
            return Err(StoreError::NotFound(format!(
                "household {} in region {}",
                m.household, m.region
            )));
        }
        let id = match m.id {
            Some(id) => id,
            None => {
                let max: Option<i64> = tx.query_row(
                    "SELECT MAX(member) FROM members WHERE region = ?1",
                    params![m.region.as_str()],
                    |r| r.get(0),
                )?;
                MemberId::new(max.unwrap_or(0) + 1).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
        };
        let key = random_secret()?;
        let commitment = member_commitment(&key, &m.region, id);
        tx.execute("INSERT INTO members (region, member, household, name, commitment, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", params![m.region.as_str(), id.get(), m.household.get(), name, commitment.as_slice(), now_ms])
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict(format!("member {id} exists already in {}", m.region)),
            e => e,
        })?;
        tx.execute(
            "INSERT INTO member_keys (region, member, key) VALUES (?1, ?2, ?3)",
            params![m.region.as_str(), id.get(), key.as_slice()],
        )?;
        Ok(id)
    }
}

/// [`Store::put_indicator`] inside a write's batch, so it commits with the rest of the write.
pub(crate) fn put_indicator_in(b: &mut crate::Batch<'_>, mut ind: Indicator) -> Result<u32> {
    // Numbers are allocated per region: writers of other processes wait their turn.
    b.lock_region(&ind.region)?;
    let tx = b.conn();
    let tree = RegionTree::new(rows::load_regions(tx)?);
    let lineage: Vec<RegionCode> = tree
        .lineage(&ind.region)
        .map_err(|e| StoreError::NotFound(e.to_string()))?
        .iter()
        .map(|r| r.code.clone())
        .collect();
    let refs: Vec<&RegionCode> = lineage.iter().collect();
    let all = rows::load_indicators(tx, &refs)?;
    check_new_local(&tree, &ind.region, &ind.code, &all)
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    if ind.core {
        // A core indicator reaches every descendant: none may define the code already.
        let holders: Vec<String> = tx.query_map(
            "SELECT region FROM indicators WHERE code = ?1 AND region <> ?2",
            params![ind.code.as_str(), ind.region.as_str()],
            |r| r.get(0),
        )?;
        for h in holders {
            let h = RegionCode::parse(&h).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let below = tree
                .lineage(&h)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if below.iter().skip(1).any(|r| r.code == ind.region) {
                return Err(StoreError::rejected(format!(
                    "region {h} below {} defines {} already; a core indicator cannot take a code a descendant uses",
                    ind.region, ind.code
                )));
            }
        }
    }
    let latest: Option<u32> = tx.query_row(
        "SELECT MAX(version) FROM indicators WHERE region = ?1 AND code = ?2",
        params![ind.region.as_str(), ind.code.as_str()],
        |r| r.get(0),
    )?;
    ind.version = latest.map_or(1, |v| v + 1);
    ind.validate()
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    let (review, threshold) = rows::review_text(ind.review);
    tx.execute(
            "INSERT INTO indicators (region, code, version, name, category, points, unit, cap_day, cap_month, cap_year, \
             evidence, review, review_threshold, claimants, valid_from, valid_to, core, notice_days, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            params![
                ind.region.as_str(),
                ind.code.as_str(),
                ind.version,
                ind.name,
                ind.category,
                ind.points.get(),
                ind.unit,
                ind.caps.per_day,
                ind.caps.per_month,
                ind.caps.per_year,
                ind.evidence.as_str(),
                review,
                threshold,
                rows::claimants_text(ind.claimants),
                ind.valid_from.to_string(),
                ind.valid_to.map(|d| d.to_string()),
                ind.core,
                ind.notice_days,
                b.now().millis()
            ],
        )?;
    b.indicators_changed()?;
    Ok(ind.version)
}

/// [`Store::set_levels`] inside a write's batch, so it commits with the rest of the write.
pub(crate) fn set_levels_in(
    b: &mut crate::Batch<'_>,
    region: RegionCode,
    levels: Levels,
) -> Result<()> {
    let tx = b.conn();
    region_must_exist(tx, &region)?;
    tx.execute(
        "DELETE FROM levels WHERE region = ?1",
        params![region.as_str()],
    )?;
    for l in levels.all() {
        tx.execute(
            "INSERT INTO levels (region, code, name, min_score) VALUES (?1, ?2, ?3, ?4)",
            params![region.as_str(), l.code, l.name, l.min_score.get()],
        )?;
    }
    Ok(())
}
