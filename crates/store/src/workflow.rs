//! Claims (申报) and appeals (申诉): each step is one write job, so a status
//! change and the entry it posts commit together or not at all.

use jifen_core::{
    AppealDecision, AppealId, AppealOutcome, AppealStatus, ClaimEvent, ClaimId, ClaimStatus,
    Claimants, Entry, EntryKind, Evidence, HouseholdId, Indicator, IndicatorCode, IndicatorRef,
    MemberId, NewEntry, OperatorId, Points, Reason, RegionCode, Reviewer, Source, Timestamp,
    claim::{
        OPEN_CLAIMS_PER_MEMBER_MAX, appeal_deadline, check_appeal_window, check_approver,
        check_reviewer, decide_appeal,
    },
    entry::reversible,
    indicator::QUANTITY_MAX,
};

use crate::db::{from_sql_u64, sql_u64};
use crate::error::{Result, StoreError};
use crate::params;
use crate::sequencer::{Append, Batch};
use crate::sql::Conn;
use crate::{Store, rows};

/// Longest claim note or appeal statement, in characters.
pub const NOTE_CHARS_MAX: usize = 2_000;

/// A claim as submitted by a resident, or recorded by staff for one.
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub region: RegionCode,
    pub member: MemberId,
    pub indicator: IndicatorCode,
    pub quantity: u32,
    pub note: String,
    /// Claim (by the resident), Direct (by a reviewer), Station (offline, resident present), Event (check-in).
    pub source: Source,
    pub submitted_by: OperatorId,
    /// Whether the submitter is staff (may record staff-only indicators such as deductions).
    pub by_staff: bool,
}

/// Where a claim stands after a step, and the entry it posted, if it did.
#[derive(Debug, Clone)]
pub struct ClaimOutcome {
    pub region: RegionCode,
    pub claim: ClaimId,
    pub status: ClaimStatus,
    pub entry: Option<Entry>,
}

struct ClaimRow {
    member: MemberId,
    indicator: IndicatorRef,
    quantity: u32,
    status: ClaimStatus,
    source: Source,
    /// Who recorded or submitted it: never one of its approvers.
    submitted_by: OperatorId,
}

fn load_claim(tx: &Conn, region: &RegionCode, claim: ClaimId) -> Result<ClaimRow> {
    let row: Option<(i64, String, u32, u32, String, String, i64)> = tx
        .query_opt(
            "SELECT member, indicator, indicator_version, quantity, status, source, submitted_by FROM claims WHERE region = ?1 AND claim = ?2",
            params![region.as_str(), claim.get()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )?;
    let (member, code, version, quantity, status, source, submitted_by) =
        row.ok_or_else(|| StoreError::NotFound(format!("claim {claim} in region {region}")))?;
    let bad = |w: &str| StoreError::Corrupt(format!("claim {region}/{claim}: bad {w}"));
    Ok(ClaimRow {
        member: MemberId::new(member).map_err(|_| bad("member"))?,
        indicator: IndicatorRef {
            code: IndicatorCode::parse(&code).map_err(|_| bad("indicator"))?,
            version,
        },
        quantity,
        status: ClaimStatus::parse(&status).ok_or_else(|| bad("status"))?,
        source: Source::parse(&source).map_err(|_| bad("source"))?,
        submitted_by: OperatorId::new(submitted_by).map_err(|_| bad("submitter"))?,
    })
}

fn set_status(
    tx: &Conn,
    region: &RegionCode,
    claim: ClaimId,
    status: ClaimStatus,
    now: Timestamp,
) -> Result<()> {
    tx.execute(
        "UPDATE claims SET status = ?3, decided_ms = ?4 WHERE region = ?1 AND claim = ?2",
        params![region.as_str(), claim.get(), status.as_str(), now.millis()],
    )?;
    Ok(())
}

/// One version of an indicator as the region sees it: its own, or an ancestor's.
pub fn indicator_version(tx: &Conn, region: &RegionCode, r: &IndicatorRef) -> Result<Indicator> {
    // The indicator may be the region's own or an ancestor's core one; the sequencer
    // checks visibility again when it posts.
    let lineage = rows::lineage(tx, region)?;
    for reg in lineage {
        if let Some(ind) = tx.query_opt(
            &format!(
                "SELECT {} FROM indicators WHERE region = ?1 AND code = ?2 AND version = ?3",
                rows::INDICATOR_COLUMNS
            ),
            params![reg.code.as_str(), r.code.as_str(), r.version],
            rows::indicator_from_row,
        )? {
            return Ok(ind);
        }
    }
    Err(StoreError::NotFound(format!(
        "indicator {} version {} for region {region}",
        r.code, r.version
    )))
}

/// The latest version of an indicator visible in the region and valid on the date.
pub fn current_indicator(
    tx: &Conn,
    b_now: Timestamp,
    region: &RegionCode,
    code: &IndicatorCode,
) -> Result<Indicator> {
    let lineage = rows::lineage(tx, region)?;
    let offset = lineage.first().map_or(0, |r| r.utc_offset_minutes);
    let today = b_now
        .local_date(offset)
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    for (depth, reg) in lineage.iter().enumerate() {
        if let Some(ind) = tx.query_opt(
            &format!(
                "SELECT {} FROM indicators WHERE region = ?1 AND code = ?2 ORDER BY version DESC LIMIT 1",
                rows::INDICATOR_COLUMNS
            ),
            params![reg.code.as_str(), code.as_str()],
            rows::indicator_from_row,
        )? {
            if depth > 0 && !ind.core {
                continue;
            }
            if !ind.valid_on(today) {
                return Err(StoreError::rejected(format!(
                    "indicator {code} is not valid on {today}"
                )));
            }
            return Ok(ind);
        }
    }
    Err(StoreError::NotFound(format!(
        "indicator {code} in region {region} (its own or inherited)"
    )))
}

pub(crate) fn member_household(
    tx: &Conn,
    region: &RegionCode,
    member: MemberId,
) -> Result<HouseholdId> {
    let h: Option<i64> = tx.query_opt(
        "SELECT household FROM members WHERE region = ?1 AND member = ?2",
        params![region.as_str(), member.get()],
        |r| r.get(0),
    )?;
    let h = h.ok_or_else(|| StoreError::NotFound(format!("member {member} in region {region}")))?;
    HouseholdId::new(h).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Posts an approved claim: the entry and the claim's status commit together.
fn post_claim(
    b: &mut Batch<'_>,
    region: &RegionCode,
    claim: ClaimId,
    c: &ClaimRow,
    operator: OperatorId,
) -> Result<Entry> {
    let ind = indicator_version(b.conn(), region, &c.indicator)?;
    let amount = ind
        .points
        .abs()
        .and_then(|p| p.checked_mul(i64::from(c.quantity)))
        .map_err(|_| StoreError::rejected("points overflow"))?;
    let kind = if ind.is_deduction() {
        EntryKind::Deduction
    } else {
        EntryKind::Award
    };
    let entry = b.append(Append {
        region: region.clone(),
        entry: NewEntry {
            kind,
            member: c.member,
            amount,
            indicator: Some(c.indicator.clone()),
            quantity: c.quantity,
            reason: Reason::new(c.source, u64::try_from(claim.get()).unwrap_or(0)),
            operator,
            reverses: None,
            sponsor: None,
            counts_annual: false,
        },
        idempotency_key: None,
    })?;
    let now = b.now();
    let tx = b.conn();
    tx.execute("UPDATE claims SET status = 'posted', entry_seq = ?3, decided_ms = ?4 WHERE region = ?1 AND claim = ?2", params![region.as_str(), claim.get(), sql_u64(entry.seq)?, now.millis()])?;
    Ok(entry)
}

fn check_text(field: &'static str, s: &str, required: bool) -> Result<String> {
    let t = s.trim();
    jifen_core::text::check(field, t, jifen_core::text::Lines::Many)
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    if t.chars().count() > NOTE_CHARS_MAX {
        return Err(StoreError::rejected(format!(
            "{field} is longer than {NOTE_CHARS_MAX} characters"
        )));
    }
    if required && t.is_empty() {
        return Err(StoreError::rejected(format!("{field} is required")));
    }
    Ok(t.to_owned())
}

impl Store {
    /// Submits a claim. Under an `auto` review policy it posts at once.
    pub fn submit_claim(&self, c: NewClaim) -> Result<ClaimOutcome> {
        self.write(move |b| submit_claim_in(b, c))
    }

    /// A reviewer approves or rejects a claim. The final approval posts the entry,
    /// unless the indicator puts it on public notice first.
    pub fn review_claim(
        &self,
        region: RegionCode,
        claim: ClaimId,
        reviewer: Reviewer,
        approve: bool,
    ) -> Result<ClaimOutcome> {
        self.write(move |b| review_claim_in(b, &region, claim, reviewer, approve, None))
    }

    /// Posts every claim in the region whose public notice has ended.
    pub fn end_notices(
        &self,
        region: RegionCode,
        operator: OperatorId,
    ) -> Result<Vec<ClaimOutcome>> {
        self.write(move |b| end_notices_in(b, region, operator))
    }

    /// Someone objects to a claim on public notice: it goes back to review.
    pub fn object_to_claim(&self, region: RegionCode, claim: ClaimId) -> Result<ClaimStatus> {
        self.write(move |b| {
            let c = load_claim(b.conn(), &region, claim)?;
            let to = c
                .status
                .next(ClaimEvent::Object)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
            check_notice_open(b, &region, claim)?;
            set_status(b.conn(), &region, claim, to, b.now())?;
            // Approvals given before the objection no longer count.
            b.conn().execute(
                "DELETE FROM claim_reviews WHERE region = ?1 AND claim = ?2",
                params![region.as_str(), claim.get()],
            )?;
            Ok(to)
        })
    }

    /// A member appeals an entry of theirs within the region's window.
    pub fn file_appeal(
        &self,
        region: RegionCode,
        seq: u64,
        member: MemberId,
        statement: &str,
    ) -> Result<(AppealId, Timestamp)> {
        let statement = statement.to_owned();
        self.write(move |b| file_appeal_in(b, region, seq, member, statement))
    }

    /// Decides an appeal: someone other than the original reviewer; the outcome
    /// is a new entry (a reversal, or a further award), never an edit.
    pub fn decide_appeal(
        &self,
        region: RegionCode,
        appeal: AppealId,
        decider: OperatorId,
        decision: AppealDecision,
    ) -> Result<(AppealStatus, Option<Entry>)> {
        self.write(move |b| decide_appeal_in(b, region, appeal, decider, decision))
    }
}

pub(crate) fn submit_claim_in(b: &mut Batch<'_>, c: NewClaim) -> Result<ClaimOutcome> {
    // Numbers are allocated per region: writers of other processes wait their turn.
    b.lock_region(&c.region)?;
    if c.quantity == 0 || c.quantity > QUANTITY_MAX {
        return Err(StoreError::rejected(format!(
            "quantity must be between 1 and {QUANTITY_MAX}"
        )));
    }
    let now = b.now();
    let tx = b.conn();
    member_household(tx, &c.region, c.member)?;
    let ind = current_indicator(tx, now, &c.region, &c.indicator)?;
    if ind.claimants == Claimants::StaffOnly && !c.by_staff {
        return Err(StoreError::rejected(format!(
            "indicator {} is recorded by staff only",
            ind.code
        )));
    }
    let note = check_text("the note", &c.note, ind.evidence != Evidence::None)?;
    let amount = ind
        .points
        .abs()
        .and_then(|p| p.checked_mul(i64::from(c.quantity)))
        .unwrap_or(Points::ZERO);
    let reviewed = ind.review.approvals_needed(amount) > 0;
    if reviewed {
        let open: i64 = tx.query_row(
            "SELECT COUNT(*) FROM claims WHERE region = ?1 AND member = ?2 \
             AND status IN (?3, ?4)",
            params![
                c.region.as_str(),
                c.member.get(),
                ClaimStatus::Submitted.as_str(),
                ClaimStatus::PartlyApproved.as_str()
            ],
            |r| r.get(0),
        )?;
        if open >= OPEN_CLAIMS_PER_MEMBER_MAX {
            return Err(StoreError::refused(
                "open-claims",
                format!(
                    "member {} has {open} claims waiting for review, the most one member may; \
                     one must be decided before another is recorded",
                    c.member
                ),
            ));
        }
    }
    let id: i64 = tx.query_row(
        "SELECT COALESCE(MAX(claim), 0) + 1 FROM claims WHERE region = ?1",
        params![c.region.as_str()],
        |r| r.get(0),
    )?;
    let claim = ClaimId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute("INSERT INTO claims (region, claim, member, indicator, indicator_version, quantity, note, status, source, submitted_by, submitted_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'submitted', ?8, ?9, ?10)", params![
        c.region.as_str(),
        id,
        c.member.get(),
        ind.code.as_str(),
        ind.version,
        c.quantity,
        note,
        c.source.as_str(),
        c.submitted_by.get(),
        now.millis()
    ])?;
    if !reviewed {
        let row = load_claim(b.conn(), &c.region, claim)?;
        let entry = post_claim(b, &c.region, claim, &row, c.submitted_by)?;
        return Ok(ClaimOutcome {
            region: c.region.clone(),
            claim,
            status: ClaimStatus::Posted,
            entry: Some(entry),
        });
    }
    Ok(ClaimOutcome {
        region: c.region.clone(),
        claim,
        status: ClaimStatus::Submitted,
        entry: None,
    })
}

/// The longest reason a reviewer gives, in characters.
pub const REVIEW_REASON_CHARS_MAX: usize = 500;

/// A reviewer's reason, checked: `None` when blank.
pub(crate) fn review_reason(reason: Option<&str>) -> Result<Option<&str>> {
    let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let chars = r.chars().count();
    if chars > REVIEW_REASON_CHARS_MAX {
        return Err(StoreError::Field {
            field: "reason",
            detail: format!(
                "reason is {chars} characters long: say it in at most {REVIEW_REASON_CHARS_MAX}"
            ),
        });
    }
    jifen_core::text::check("reason", r, jifen_core::text::Lines::Many).map_err(|e| {
        StoreError::Field {
            field: "reason",
            detail: e.to_string(),
        }
    })?;
    Ok(Some(r))
}

pub(crate) fn review_claim_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    claim: ClaimId,
    reviewer: Reviewer,
    approve: bool,
    reason: Option<&str>,
) -> Result<ClaimOutcome> {
    let now = b.now();
    let tx = b.conn();
    let c = load_claim(tx, region, claim)?;
    let household = member_household(tx, region, c.member)?;
    let earlier: Vec<OperatorId> = {
        let ids: Vec<i64> = tx.query_map("SELECT reviewer FROM claim_reviews WHERE region = ?1 AND claim = ?2 AND decision = 'approve'", params![region.as_str(), claim.get()], |r| r.get(0))?;
        ids.into_iter()
            .filter_map(|i| OperatorId::new(i).ok())
            .collect()
    };
    check_reviewer(&reviewer, c.member, household, &earlier)
        .map_err(|e| StoreError::Forbidden(e.to_string()))?;
    if approve {
        check_approver(reviewer.operator, c.submitted_by)
            .map_err(|e| StoreError::Forbidden(e.to_string()))?;
    }
    let ind = indicator_version(tx, region, &c.indicator)?;
    let amount = ind
        .points
        .abs()
        .and_then(|p| p.checked_mul(i64::from(c.quantity)))
        .unwrap_or(Points::ZERO);
    let event = if approve {
        ClaimEvent::Approve {
            approvals: u8::try_from(earlier.len() + 1).unwrap_or(u8::MAX),
            needed: ind.review.approvals_needed(amount).max(1),
            notice: ind.notice_days > 0 && !ind.is_deduction(),
        }
    } else {
        ClaimEvent::Reject
    };
    let to = c
        .status
        .next(event)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    tx.execute("INSERT INTO claim_reviews (region, claim, reviewer, decision, time_ms, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", params![
            region.as_str(),
            claim.get(),
            reviewer.operator.get(),
            if approve { "approve" } else { "reject" },
            now.millis(),
            reason
        ])?;
    match to {
        ClaimStatus::Approved => {
            let entry = post_claim(b, region, claim, &c, reviewer.operator)?;
            Ok(ClaimOutcome {
                region: region.clone(),
                claim,
                status: ClaimStatus::Posted,
                entry: Some(entry),
            })
        }
        ClaimStatus::InNotice => {
            let until = now.plus_days(i64::from(ind.notice_days));
            b.conn().execute(
                "UPDATE claims SET status = 'in-notice', notice_until_ms = ?3 WHERE region = ?1 AND claim = ?2",
                params![region.as_str(), claim.get(), until.millis()],
            )?;
            Ok(ClaimOutcome {
                region: region.clone(),
                claim,
                status: to,
                entry: None,
            })
        }
        _ => {
            set_status(b.conn(), region, claim, to, now)?;
            Ok(ClaimOutcome {
                region: region.clone(),
                claim,
                status: to,
                entry: None,
            })
        }
    }
}

/// An event (活动) with a check-in window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub region: RegionCode,
    pub id: i64,
    pub name: String,
    pub indicator: IndicatorCode,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub created_by: OperatorId,
}

/// Longest event name, in characters.
pub const EVENT_NAME_CHARS_MAX: usize = 100;

/// Creates an event under a visible indicator, open from `starts` to `ends`.
pub(crate) fn create_event_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    name: &str,
    indicator: &IndicatorCode,
    starts: Timestamp,
    ends: Timestamp,
    by: OperatorId,
) -> Result<Event> {
    // Numbers are allocated per region: writers of other processes wait their turn.
    b.lock_region(region)?;
    let name = name.trim();
    jifen_core::text::check("the event name", name, jifen_core::text::Lines::One)
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    if name.is_empty() || name.chars().count() > EVENT_NAME_CHARS_MAX {
        return Err(StoreError::rejected(format!(
            "event name must be 1 to {EVENT_NAME_CHARS_MAX} characters on one line"
        )));
    }
    if ends <= starts {
        return Err(StoreError::rejected("an event must end after it starts"));
    }
    let now = b.now();
    let tx = b.conn();
    let ind = current_indicator(tx, now, region, indicator)?;
    if ind.is_deduction() {
        return Err(StoreError::rejected(format!(
            "indicator {indicator} deducts points; an event awards them"
        )));
    }
    let id: i64 = tx.query_row(
        "SELECT COALESCE(MAX(event), 0) + 1 FROM events WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO events (region, event, name, indicator, starts_ms, ends_ms, created_by, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![region.as_str(), id, name, indicator.as_str(), starts.millis(), ends.millis(), by.get(), now.millis()],
    )?;
    Ok(Event {
        region: region.clone(),
        id,
        name: name.to_owned(),
        indicator: indicator.clone(),
        starts,
        ends,
        created_by: by,
    })
}

pub fn load_event(c: &Conn, region: &RegionCode, id: i64) -> Result<Event> {
    let row: Option<(String, String, i64, i64, i64)> = c
        .query_opt(
            "SELECT name, indicator, starts_ms, ends_ms, created_by FROM events WHERE region = ?1 AND event = ?2",
            params![region.as_str(), id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let (name, indicator, starts, ends, by) =
        row.ok_or_else(|| StoreError::NotFound(format!("event {id} in region {region}")))?;
    Ok(Event {
        region: region.clone(),
        id,
        name,
        indicator: IndicatorCode::parse(&indicator)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        starts: Timestamp::from_millis(starts),
        ends: Timestamp::from_millis(ends),
        created_by: OperatorId::new(by).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// Checks a member in to an event, once, inside its window; the check-in makes a
/// claim under the event's indicator and its review policy.
pub(crate) fn check_in_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    event: i64,
    member: MemberId,
    by: OperatorId,
) -> Result<ClaimOutcome> {
    let now = b.now();
    let ev = load_event(b.conn(), region, event)?;
    if now < ev.starts {
        return Err(StoreError::rejected(format!(
            "check-in for event {event} has not opened yet"
        )));
    }
    if now > ev.ends {
        return Err(StoreError::rejected(format!(
            "check-in for event {event} has closed"
        )));
    }
    let done: Option<i64> = b.conn().query_opt(
        "SELECT claim FROM checkins WHERE region = ?1 AND event = ?2 AND member = ?3",
        params![region.as_str(), event, member.get()],
        |r| r.get(0),
    )?;
    if let Some(c) = done {
        return Err(StoreError::Conflict(format!(
            "already checked in to event {event} (claim {c})"
        )));
    }
    let outcome = submit_claim_in(
        b,
        NewClaim {
            region: region.clone(),
            member,
            indicator: ev.indicator.clone(),
            quantity: 1,
            note: format!("签到: {}", ev.name),
            source: Source::Event,
            submitted_by: by,
            by_staff: false,
        },
    )?;
    b.conn().execute(
        "INSERT INTO checkins (region, event, member, claim, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            region.as_str(),
            event,
            member.get(),
            outcome.claim.get(),
            now.millis()
        ],
    )?;
    Ok(outcome)
}

/// Records an objection to a claim on public notice and sends it back to review.
pub(crate) fn object_in(
    b: &mut Batch<'_>,
    region: &RegionCode,
    claim: ClaimId,
    account: OperatorId,
    reason: &str,
) -> Result<i64> {
    // Numbers are allocated per region: writers of other processes wait their turn.
    b.lock_region(region)?;
    let reason = check_text("the objection", reason, true)?;
    let c = load_claim(b.conn(), region, claim)?;
    let to = c
        .status
        .next(ClaimEvent::Object)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    check_notice_open(b, region, claim)?;
    set_status(b.conn(), region, claim, to, b.now())?;
    b.conn().execute(
        "DELETE FROM claim_reviews WHERE region = ?1 AND claim = ?2",
        params![region.as_str(), claim.get()],
    )?;
    let id: i64 = b.conn().query_row(
        "SELECT COALESCE(MAX(objection), 0) + 1 FROM objections WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    b.conn().execute(
        "INSERT INTO objections (region, objection, claim, account, reason, time_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![region.as_str(), id, claim.get(), account.get(), reason, b.now().millis()],
    )?;
    Ok(id)
}

/// Objections are heard while the notice runs, not after it ended.
fn check_notice_open(b: &Batch<'_>, region: &RegionCode, claim: ClaimId) -> Result<()> {
    let until: Option<i64> = b
        .conn()
        .query_opt(
            "SELECT notice_until_ms FROM claims WHERE region = ?1 AND claim = ?2",
            params![region.as_str(), claim.get()],
            |r| r.get(0),
        )?
        .flatten();
    if let Some(until) = until
        && b.now().millis() >= until
    {
        return Err(StoreError::Conflict(format!(
            "the public notice of claim {claim} has ended; objections are closed"
        )));
    }
    Ok(())
}

/// [`Store::file_appeal`] on a given connection or batch, so it can be part of a larger write.
pub(crate) fn file_appeal_in(
    b: &mut crate::Batch<'_>,
    region: RegionCode,
    seq: u64,
    member: MemberId,
    statement: String,
) -> Result<(AppealId, Timestamp)> {
    // Numbers are allocated per region: writers of other processes wait their turn.
    b.lock_region(&region)?;
    let statement = check_text("the appeal statement", &statement, true)?;
    let tx = b.conn();
    let entry = b
        .entry(&region, seq)?
        .ok_or_else(|| StoreError::NotFound(format!("entry {region}:{seq}")))?;
    if entry.member != member {
        return Err(StoreError::Forbidden(
            "a member can only appeal entries of their own".into(),
        ));
    }
    if !reversible(entry.kind) {
        return Err(StoreError::rejected(format!(
            "a {} cannot be appealed",
            entry.kind
        )));
    }
    let window: u32 = tx.query_row(
        "SELECT appeal_window_days FROM regions WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    check_appeal_window(entry.time, b.now(), window)
        .map_err(|e| StoreError::rejected(e.to_string()))?;
    let open: Option<i64> = tx.query_opt(
        "SELECT appeal FROM appeals WHERE region = ?1 AND entry_seq = ?2 AND status <> 'withdrawn'",
        params![region.as_str(), sql_u64(seq)?],
        |r| r.get(0),
    )?;
    if let Some(a) = open {
        return Err(StoreError::Conflict(format!(
            "this entry was appealed already (appeal {a}); an entry is appealed once"
        )));
    }
    let next: i64 = tx.query_row(
        "SELECT COALESCE(MAX(appeal), 0) + 1 FROM appeals WHERE region = ?1",
        params![region.as_str()],
        |r| r.get(0),
    )?;
    let deadline = appeal_deadline(entry.time, window);
    tx.execute(
            "INSERT INTO appeals (region, appeal, entry_seq, member, statement, status, filed_ms, deadline_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'filed', ?6, ?7)",
            params![region.as_str(), next, sql_u64(seq)?, member.get(), statement, b.now().millis(), deadline.millis()],
        )?;
    Ok((
        AppealId::new(next).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        deadline,
    ))
}

/// [`Store::decide_appeal`] on a given connection or batch, so it can be part of a larger write.
pub(crate) fn decide_appeal_in(
    b: &mut crate::Batch<'_>,
    region: RegionCode,
    appeal: AppealId,
    decider: OperatorId,
    decision: AppealDecision,
) -> Result<(AppealStatus, Option<Entry>)> {
    let tx = b.conn();
    let (seq, status): (i64, String) = tx
        .query_opt(
            "SELECT entry_seq, status FROM appeals WHERE region = ?1 AND appeal = ?2",
            params![region.as_str(), appeal.get()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .ok_or_else(|| StoreError::NotFound(format!("appeal {appeal} in region {region}")))?;
    let seq = from_sql_u64(seq)?;
    let status =
        AppealStatus::parse(&status).ok_or_else(|| StoreError::Corrupt("appeal status".into()))?;
    let entry = b
        .entry(&region, seq)?
        .ok_or_else(|| StoreError::Corrupt(format!("appeal {appeal} names missing entry {seq}")))?;
    let mut reviewers = vec![entry.operator];
    {
        for r in tx.query_map("SELECT r.reviewer FROM claim_reviews r JOIN claims c ON c.region = r.region AND c.claim = r.claim \
                 WHERE c.region = ?1 AND c.entry_seq = ?2", params![region.as_str(), sql_u64(seq)?], |r| {
            r.get::<i64>(0)
        })? {
            reviewers.push(OperatorId::new(r).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        // Whoever recorded the entry (a reviewer recording directly, a station) is
        // as much its author as whoever approved it.
        for r in tx.query_map(
            "SELECT submitted_by FROM claims WHERE region = ?1 AND entry_seq = ?2",
            params![region.as_str(), sql_u64(seq)?],
            |r| r.get::<i64>(0),
        )? {
            reviewers.push(OperatorId::new(r).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
    }
    let left = entry
        .amount
        .checked_sub(b.reversed_amount(&region, seq)?)
        .map_err(|_| StoreError::rejected("points overflow"))?;
    let (to, outcome) =
        decide_appeal(status, decider, &reviewers, left, decision).map_err(|e| match e {
            jifen_core::claim::AppealError::Claim(c) => StoreError::Forbidden(c.to_string()),
            jifen_core::claim::AppealError::Decided(_) => StoreError::Conflict(e.to_string()),
            e => StoreError::rejected(e.to_string()),
        })?;
    let reason = Reason::new(Source::Appeal, u64::try_from(appeal.get()).unwrap_or(0));
    let posted = match outcome {
        AppealOutcome::Nothing => None,
        AppealOutcome::Reverse(amount) => Some(b.append(Append {
            region: region.clone(),
            entry: NewEntry {
                kind: EntryKind::Reversal,
                member: entry.member,
                amount,
                indicator: entry.indicator.clone(),
                quantity: 1,
                reason,
                operator: decider,
                reverses: Some(seq),
                sponsor: None,
                counts_annual: false,
            },
            idempotency_key: None,
        })?),
        AppealOutcome::Add(amount) => Some(b.append(Append {
            region: region.clone(),
            entry: NewEntry {
                kind: entry.kind,
                member: entry.member,
                amount,
                indicator: entry.indicator.clone(),
                quantity: 1,
                reason,
                operator: decider,
                reverses: None,
                sponsor: None,
                counts_annual: entry.annual_delta != Points::ZERO,
            },
            idempotency_key: None,
        })?),
    };
    b.conn().execute(
            "UPDATE appeals SET status = ?3, decided_by = ?4, decided_ms = ?5, outcome_seq = ?6 WHERE region = ?1 AND appeal = ?2",
            params![
                region.as_str(),
                appeal.get(),
                to.as_str(),
                decider.get(),
                b.now().millis(),
                posted.as_ref().map(|e| sql_u64(e.seq)).transpose()?
            ],
        )?;
    Ok((to, posted))
}

/// [`Store::end_notices`] on a given connection or batch, so it can be part of a larger write.
pub(crate) fn end_notices_in(
    b: &mut crate::Batch<'_>,
    region: RegionCode,
    operator: OperatorId,
) -> Result<Vec<ClaimOutcome>> {
    let now = b.now();
    let due: Vec<i64> = b.conn().query_map("SELECT claim FROM claims WHERE region = ?1 AND status = 'in-notice' AND notice_until_ms <= ?2 ORDER BY claim", params![region.as_str(), now.millis()], |r| r.get(0))?;
    let mut out = Vec::new();
    for id in due {
        let claim = ClaimId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // Each claim on its own: one that cannot post (a cap, say) must not hold up the rest.
        let posted = b.savepoint(|b| {
            let c = load_claim(b.conn(), &region, claim)?;
            c.status
                .next(ClaimEvent::NoticeEnded)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
            post_claim(b, &region, claim, &c, operator)
        });
        match posted {
            Ok(entry) => out.push(ClaimOutcome {
                region: region.clone(),
                claim,
                status: ClaimStatus::Posted,
                entry: Some(entry),
            }),
            Err(e) if e.is_refusal() => {
                tracing::warn!(region = %region, claim = %claim, reason = %e, "claim could not post after its notice");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
