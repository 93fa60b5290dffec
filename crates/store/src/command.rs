//! The store's commands: one type per act a person or a program asks of it. A
//! command runs in the writer inside its own savepoint (its checks, its writes and
//! its read-back, all or nothing) and is durable when its answer comes back.
//! [`Store::run`] waits for it; [`Store::run_with`] calls back; [`Store::run_once`]
//! runs it at most once per idempotency key and keeps its answer with it.

use jifen_core::market::{RedemptionCode, RedemptionStatus, Reward};
use jifen_core::{
    AppealDecision, AppealId, AppealStatus, ClaimId, ClaimStatus, Entry, HouseholdId, Indicator,
    IndicatorCode, MemberId, OperatorId, RegionCode, Reviewer, SponsorCode, Timestamp,
};

use crate::accounts::{self, StoredResponse};
use crate::admin::{self, NewMember};
use crate::error::{Result, StoreError};
use crate::market::{self, RedemptionView, Reserve, RewardView};
use crate::read::{self, AppealView, ClaimView};
use crate::sequencer::{Append, Batch};
use crate::workflow::{self, Event, NewClaim};
use crate::{Store, rows};

/// One act on the store. Only the store's own types implement it: `run` takes the
/// writer's batch, which no other crate can name.
#[allow(private_interfaces)]
pub trait Command: Send + 'static {
    /// What the act answers with: what it did, read back inside the same write.
    type Output: Send + 'static;
    #[doc(hidden)]
    fn run(self, b: &mut Batch<'_>) -> Result<Self::Output>;
}

/// What makes a write happen at most once: who asks, under which key, for what
/// request. A second command under the same (account, key) gets the first answer
/// if its request is the same, and is refused if it is another.
#[derive(Debug, Clone)]
pub struct Once {
    pub account: OperatorId,
    pub key: String,
    /// What was asked, as the caller names it (for the API: the HTTP method and path).
    pub method: String,
    pub path: String,
    /// A digest of the whole request, so a reused key with another body is told apart.
    pub digest: Vec<u8>,
    /// The status the answer goes out with, kept with it.
    pub status: u16,
}

/// A command's answer under [`Once`]: the bytes the caller made of its output, or
/// the bytes it made the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub replayed: bool,
}

impl Store {
    /// Runs a command and waits until it is durable.
    pub fn run<C: Command>(&self, c: C) -> Result<C::Output> {
        self.write(move |b| c.run(b))
    }

    /// Runs a command and calls `done` with its output once it is durable (or with
    /// the error that stopped it). Commands queued together share batches.
    pub fn run_with<C: Command>(
        &self,
        c: C,
        done: impl FnOnce(Result<C::Output>) + Send + 'static,
    ) -> Result<()> {
        self.write_with(move |b| c.run(b), done)
    }

    /// Runs a command at most once under `once`: `spell` turns its output into the
    /// bytes of the answer, which are kept in the same transaction, so the answer is
    /// kept exactly when the write is. A retry gets those bytes back, unchanged.
    pub fn run_once<C: Command>(
        &self,
        c: C,
        once: Once,
        spell: impl FnOnce(&C::Output) -> std::result::Result<Vec<u8>, String> + Send + 'static,
        done: impl FnOnce(Result<Answer>) + Send + 'static,
    ) -> Result<()> {
        self.write_with(
            move |b| {
                if let Some(earlier) = accounts::lookup_response_in(b, once.account, &once.key)? {
                    let same_request = earlier.method == once.method
                        && earlier.path == once.path
                        && earlier.request.as_ref().is_none_or(|d| *d == once.digest);
                    if !same_request {
                        return Err(StoreError::field(
                            "Idempotency-Key",
                            format!(
                                "Idempotency-Key {:?} was already used for another request ({} {}); a retry must send the same request, and a new request needs a new key",
                                once.key, earlier.method, earlier.path
                            ),
                        ));
                    }
                    return Ok(Answer {
                        status: earlier.status,
                        body: earlier.body,
                        replayed: true,
                    });
                }
                let out = c.run(b)?;
                let body = spell(&out).map_err(StoreError::Corrupt)?;
                let answer = StoredResponse {
                    method: once.method,
                    path: once.path,
                    request: Some(once.digest),
                    status: once.status,
                    body,
                };
                accounts::record_response(b, once.account, &once.key, &answer)?;
                Ok(Answer {
                    status: answer.status,
                    body: answer.body,
                    replayed: false,
                })
            },
            done,
        )
    }
}

/// Appends one entry to its region's log (a base grant, say); answers with it as
/// posted. [`Store::append`] is the same without a savepoint, for bulk posting.
impl Command for Append {
    type Output = Entry;
    fn run(self, b: &mut Batch<'_>) -> Result<Entry> {
        b.append(self)
    }
}

// ---------------------------------------------------------------- claims and notice

/// Submits a claim (a resident's, or staff recording one); under an `auto` review
/// policy it posts at once. Answers with the claim as it stands.
impl Command for NewClaim {
    type Output = ClaimView;
    fn run(self, b: &mut Batch<'_>) -> Result<ClaimView> {
        let o = workflow::submit_claim_in(b, self)?;
        read::claim_in(b.conn(), &o.region, o.claim)
    }
}

/// A reviewer approves or rejects a claim. The reviewer's household, when they
/// live in the region, is looked up here: it may not approve its own.
#[derive(Debug, Clone)]
pub struct ReviewClaim {
    pub region: RegionCode,
    pub claim: ClaimId,
    pub operator: OperatorId,
    /// The reviewer's own member record in the region, if they have one.
    pub member: Option<MemberId>,
    pub approve: bool,
    /// Why, in the reviewer's words (private: the claimant and staff see it).
    pub reason: Option<String>,
}

impl Command for ReviewClaim {
    type Output = ClaimView;
    fn run(self, b: &mut Batch<'_>) -> Result<ClaimView> {
        let reviewer = reviewer_of(b, &self.region, self.operator, self.member)?;
        let reason = workflow::review_reason(self.reason.as_deref())?;
        let o =
            workflow::review_claim_in(b, &self.region, self.claim, reviewer, self.approve, reason)?;
        read::claim_in(b.conn(), &self.region, o.claim)
    }
}

fn reviewer_of(
    b: &mut Batch<'_>,
    region: &RegionCode,
    operator: OperatorId,
    member: Option<MemberId>,
) -> Result<Reviewer> {
    let household = match member {
        Some(m) => Some(workflow::member_household(b.conn(), region, m)?),
        None => None,
    };
    Ok(Reviewer {
        operator,
        member,
        household,
    })
}

/// A committee's decision on several claims at once, with one reason: all of them
/// are decided, or, when one cannot be (decided already, the reviewer's own, a cap
/// it would pass), none is, and the error names that claim.
#[derive(Debug, Clone)]
pub struct ReviewClaims {
    pub region: RegionCode,
    pub claims: Vec<ClaimId>,
    pub operator: OperatorId,
    pub member: Option<MemberId>,
    pub approve: bool,
    pub reason: Option<String>,
}

/// The most claims one batch decision takes.
pub const REVIEW_BATCH_MAX: usize = 100;

impl Command for ReviewClaims {
    type Output = Vec<ClaimView>;
    fn run(self, b: &mut Batch<'_>) -> Result<Vec<ClaimView>> {
        if self.claims.is_empty() || self.claims.len() > REVIEW_BATCH_MAX {
            return Err(StoreError::Field {
                field: "claims",
                detail: format!(
                    "claims holds {} claims: choose from 1 to {REVIEW_BATCH_MAX}",
                    self.claims.len()
                ),
            });
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = self.claims.iter().find(|c| !seen.insert(c.get())) {
            return Err(StoreError::Field {
                field: "claims",
                detail: format!("claims names claim {twice} twice"),
            });
        }
        let reviewer = reviewer_of(b, &self.region, self.operator, self.member)?;
        let reason = workflow::review_reason(self.reason.as_deref())?;
        let mut out = Vec::with_capacity(self.claims.len());
        for &claim in &self.claims {
            let o =
                workflow::review_claim_in(b, &self.region, claim, reviewer, self.approve, reason)
                    .map_err(|e| e.about(&format!("claim {}:{claim}", self.region)))?;
            out.push(read::claim_in(b.conn(), &self.region, o.claim)?);
        }
        Ok(out)
    }
}

/// Someone with a role in the region objects to a claim on public notice.
#[derive(Debug, Clone)]
pub struct Object {
    pub region: RegionCode,
    pub claim: ClaimId,
    pub by: OperatorId,
    pub reason: String,
}

/// An objection made, and where its claim now stands.
#[derive(Debug, Clone)]
pub struct Objected {
    pub objection: i64,
    pub claim_status: ClaimStatus,
}

impl Command for Object {
    type Output = Objected;
    fn run(self, b: &mut Batch<'_>) -> Result<Objected> {
        let objection = workflow::object_in(b, &self.region, self.claim, self.by, &self.reason)?;
        let view = read::claim_in(b.conn(), &self.region, self.claim)?;
        Ok(Objected {
            objection,
            claim_status: view.status,
        })
    }
}

/// Posts every claim of the region whose public notice has ended; answers with them.
#[derive(Debug, Clone)]
pub struct EndNotices {
    pub region: RegionCode,
    pub operator: OperatorId,
}

impl Command for EndNotices {
    type Output = Vec<ClaimView>;
    fn run(self, b: &mut Batch<'_>) -> Result<Vec<ClaimView>> {
        let posted = workflow::end_notices_in(b, self.region, self.operator)?;
        posted
            .iter()
            .map(|o| read::claim_in(b.conn(), &o.region, o.claim))
            .collect()
    }
}

// ---------------------------------------------------------------- appeals

/// A member appeals an entry of theirs within the region's window.
#[derive(Debug, Clone)]
pub struct FileAppeal {
    pub region: RegionCode,
    pub seq: u64,
    pub member: MemberId,
    pub statement: String,
}

impl Command for FileAppeal {
    type Output = AppealView;
    fn run(self, b: &mut Batch<'_>) -> Result<AppealView> {
        let region = self.region.clone();
        let (id, _deadline) =
            workflow::file_appeal_in(b, self.region, self.seq, self.member, self.statement)?;
        one_appeal(b, &region, id)
    }
}

fn one_appeal(b: &Batch<'_>, region: &RegionCode, id: AppealId) -> Result<AppealView> {
    read::appeals_in(b.conn(), region, None, None, id.get() - 1, 1)?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("appeal {region}:{id}")))
}

/// Decides an appeal: someone other than the entry's reviewers, and, when the
/// decider lives in the region, not for themself or their household.
#[derive(Debug, Clone)]
pub struct DecideAppeal {
    pub region: RegionCode,
    pub appeal: AppealId,
    pub decider: OperatorId,
    /// The decider's own member record in the region, if they have one.
    pub decider_member: Option<MemberId>,
    pub decision: AppealDecision,
}

/// An appeal's status after its decision, and the entry the decision posted.
#[derive(Debug, Clone)]
pub struct AppealDecided {
    pub status: AppealStatus,
    pub entry_seq: Option<u64>,
}

impl Command for DecideAppeal {
    type Output = AppealDecided;
    fn run(self, b: &mut Batch<'_>) -> Result<AppealDecided> {
        if let Some(own) = self.decider_member {
            let a = one_appeal(b, &self.region, self.appeal)?;
            let c = b.conn();
            if a.member == own
                || workflow::member_household(c, &self.region, a.member)?
                    == workflow::member_household(c, &self.region, own)?
            {
                return Err(StoreError::Forbidden(
                    "you cannot decide an appeal of your own or of your own household".into(),
                ));
            }
        }
        let (status, entry) =
            workflow::decide_appeal_in(b, self.region, self.appeal, self.decider, self.decision)?;
        Ok(AppealDecided {
            status,
            entry_seq: entry.map(|e| e.seq),
        })
    }
}

// ---------------------------------------------------------------- events

/// Opens an event whose check-in posts claims for `indicator`.
#[derive(Debug, Clone)]
pub struct CreateEvent {
    pub region: RegionCode,
    pub name: String,
    pub indicator: IndicatorCode,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub by: OperatorId,
}

impl Command for CreateEvent {
    type Output = Event;
    fn run(self, b: &mut Batch<'_>) -> Result<Event> {
        workflow::create_event_in(
            b,
            &self.region,
            &self.name,
            &self.indicator,
            self.starts,
            self.ends,
            self.by,
        )
    }
}

/// A resident checks in to an event with a link that is good until `expires`;
/// the time is read inside the write, so the check and the check-in agree.
#[derive(Debug, Clone)]
pub struct CheckIn {
    pub region: RegionCode,
    pub event: i64,
    pub member: MemberId,
    pub by: OperatorId,
    pub expires: Timestamp,
}

impl Command for CheckIn {
    type Output = ClaimView;
    fn run(self, b: &mut Batch<'_>) -> Result<ClaimView> {
        let now = b.now();
        let offset = rows::region_offset(b.conn(), &self.region)?;
        if now > self.expires {
            return Err(StoreError::rejected(format!(
                "this check-in code expired at {}; check-in closes when the event ends",
                self.expires.to_rfc3339(offset)
            )));
        }
        let ev = workflow::load_event(b.conn(), &self.region, self.event)?;
        if now < ev.starts {
            return Err(StoreError::rejected(format!(
                "check-in for \"{}\" opens at {}",
                ev.name,
                ev.starts.to_rfc3339(offset)
            )));
        }
        if now > ev.ends {
            return Err(StoreError::rejected(format!(
                "check-in for \"{}\" closed at {}",
                ev.name,
                ev.ends.to_rfc3339(offset)
            )));
        }
        let o = workflow::check_in_in(b, &self.region, self.event, self.member, self.by)?;
        read::claim_in(b.conn(), &o.region, o.claim)
    }
}

// ---------------------------------------------------------------- market

/// Adds a reward to the region's shop.
#[derive(Debug, Clone)]
pub struct AddReward {
    pub region: RegionCode,
    pub reward: Reward,
}

impl Command for AddReward {
    type Output = RewardView;
    fn run(self, b: &mut Batch<'_>) -> Result<RewardView> {
        let id = market::add_reward_in(b, &self.region, &self.reward)?;
        market::reward(b.conn(), &self.region, id)
    }
}

/// Reserves a reward for a member: the price is held until it is handed over.
impl Command for Reserve {
    type Output = RedemptionView;
    fn run(self, b: &mut Batch<'_>) -> Result<RedemptionView> {
        market::reserve_in(b, self)
    }
}

/// Cancels a reservation (the member, or staff for them): the points come back.
#[derive(Debug, Clone)]
pub struct CancelRedemption {
    pub region: RegionCode,
    pub id: u64,
    /// Set when the member cancels their own: then it must be theirs.
    pub as_member: Option<MemberId>,
    pub by: OperatorId,
}

impl Command for CancelRedemption {
    type Output = RedemptionView;
    fn run(self, b: &mut Batch<'_>) -> Result<RedemptionView> {
        market::cancel_in(b, &self.region, self.id, self.as_member, self.by)
    }
}

/// A merchant confirms a code it is shown: the item is handed over. A reservation
/// past its window is refused (409), and nothing changes.
#[derive(Debug, Clone)]
pub struct ConfirmRedemption {
    pub region: RegionCode,
    pub code: RedemptionCode,
    pub sponsor: SponsorCode,
    pub by: OperatorId,
}

impl Command for ConfirmRedemption {
    type Output = RedemptionView;
    fn run(self, b: &mut Batch<'_>) -> Result<RedemptionView> {
        let d = market::confirm_in(b, &self.region, &self.code, &self.sponsor, self.by)?;
        if d.status != RedemptionStatus::Fulfilled {
            let offset = rows::region_offset(b.conn(), &self.region)?;
            return Err(StoreError::Conflict(format!(
                "redemption {} expired at {}; do not hand it over",
                d.code,
                d.expires.to_rfc3339(offset)
            )));
        }
        Ok(d)
    }
}

// ---------------------------------------------------------------- admin

/// Adds a household (户); answers with its number.
#[derive(Debug, Clone)]
pub struct AddHousehold {
    pub region: RegionCode,
    pub id: Option<HouseholdId>,
    pub label: String,
}

impl Command for AddHousehold {
    type Output = HouseholdId;
    fn run(self, b: &mut Batch<'_>) -> Result<HouseholdId> {
        admin::insert_household(b, &self.region, self.id, &self.label)
    }
}

/// Adds a member to a household that exists, with a fresh commitment key.
impl Command for NewMember {
    type Output = MemberId;
    fn run(self, b: &mut Batch<'_>) -> Result<MemberId> {
        admin::insert_member(b, &self).map_err(|e| match e {
            // The only thing insert_member looks up is the household.
            StoreError::NotFound(what) => {
                StoreError::field("household", format!("{what} does not exist; add it first"))
            }
            e => e,
        })
    }
}

/// Adds an indicator, or a new version of one; answers with the version. What the
/// store refuses about it beyond its own checks is about its code.
#[derive(Debug, Clone)]
pub struct PutIndicator(pub Indicator);

impl Command for PutIndicator {
    type Output = u32;
    fn run(self, b: &mut Batch<'_>) -> Result<u32> {
        admin::put_indicator_in(b, self.0).map_err(|e| match e {
            // It would shadow an ancestor's core indicator, or a descendant's.
            StoreError::Rejected(m) => StoreError::field("code", m),
            e => e,
        })
    }
}

/// Creates an account with no roles; the password arrives hashed (Argon2id is
/// slow on purpose, so the caller hashes off the writer).
#[derive(Debug, Clone)]
pub struct CreateAccount {
    pub username: String,
    pub display_name: String,
    pub password_hash: Option<String>,
}

impl Command for CreateAccount {
    type Output = OperatorId;
    fn run(self, b: &mut Batch<'_>) -> Result<OperatorId> {
        accounts::create_account_in(
            b,
            None,
            self.username,
            self.display_name,
            self.password_hash,
        )
    }
}
