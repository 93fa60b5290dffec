//! Wire types: what the API sends and takes. Converted from domain types by hand
//! here, because a wire format is a promise to clients.

use base64::Engine as _;
use jifen_core::{Entry, Timestamp};
use jifen_store::read::ClaimView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn rfc3339(t: Timestamp, offset_minutes: i32) -> String {
    t.to_rfc3339(offset_minutes)
}

#[derive(Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct GrantOut {
    pub region: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sponsor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountOut {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Large text (适老化) on every page the account sees.
    pub large_text: bool,
    /// The person's own language for the pages (`zh`, `en`); null: not chosen.
    pub lang: Option<String>,
    pub roles: Vec<GrantOut>,
}

impl From<&jifen_store::accounts::Account> for AccountOut {
    fn from(a: &jifen_store::accounts::Account) -> Self {
        AccountOut {
            id: a.id.get(),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            large_text: a.large_text,
            lang: a.lang.clone(),
            roles: a
                .grants
                .iter()
                .map(|g| GrantOut {
                    region: g.region.to_string(),
                    role: g.role.as_str().to_owned(),
                    member: g.member.map(|m| m.get()),
                    sponsor: g.sponsor.as_ref().map(|s| s.to_string()),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub account: AccountOut,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimIn {
    /// The member the claim is for (a resident claims for themself).
    pub member: i64,
    /// Indicator code, e.g. TX-COUNCIL.
    pub indicator: String,
    /// Units (default 1).
    #[serde(default = "one")]
    pub quantity: u32,
    /// What happened, where, who can confirm (required by most indicators).
    #[serde(default)]
    pub note: String,
    /// Station operators confirm the resident is present.
    #[serde(default)]
    pub present: bool,
}

fn one() -> u32 {
    1
}

#[derive(Serialize, ToSchema)]
pub struct ClaimOut {
    /// `<region>:<number>`.
    pub id: String,
    pub status: String,
    pub member: i64,
    /// Masked unless the caller is staff or the member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_name: Option<String>,
    pub indicator: String,
    pub indicator_version: u32,
    pub quantity: u32,
    pub note: String,
    /// claim, direct, station, event, import.
    pub source: String,
    pub submitted_at: String,
    /// The account that recorded or submitted it: it cannot give the claim any of
    /// its approvals (four eyes).
    pub recorded_by: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_by_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_until: Option<String>,
    pub approvals: Vec<i64>,
    /// The posted entry's id, once posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The reason the latest reviewer who gave one gave (for a rejection, why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ClaimOut {
    pub fn from_view(c: &ClaimView, offset: i32) -> Self {
        ClaimOut {
            id: format!("{}:{}", c.region, c.id),
            status: c.status.as_str().to_owned(),
            member: c.member.get(),
            member_name: c.member_name.clone(),
            indicator: c.indicator.code.to_string(),
            indicator_version: c.indicator.version,
            quantity: c.quantity,
            note: c.note.clone(),
            source: c.source.as_str().to_owned(),
            submitted_at: rfc3339(c.submitted, offset),
            recorded_by: c.submitted_by.get(),
            recorded_by_name: c.submitted_by_name.clone(),
            notice_until: c.notice_until.map(|t| rfc3339(t, offset)),
            approvals: c.approvals.iter().map(|a| a.get()).collect(),
            entry: c.entry_seq.map(|s| format!("{}:{s}", c.region)),
            reason: c.reason.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EntryOut {
    /// `<region>:<seq>`.
    pub id: String,
    pub region: String,
    /// The entry's index in the region's log.
    pub seq: u64,
    pub time: String,
    pub kind: String,
    pub member: i64,
    pub amount: i64,
    pub debit: String,
    pub credit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_version: Option<u32>,
    pub quantity: u32,
    pub reason: String,
    pub operator: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverses: Option<String>,
    pub annual_delta: i64,
}

impl EntryOut {
    pub fn from_entry(e: &Entry, offset: i32) -> Self {
        EntryOut {
            id: format!("{}:{}", e.region, e.seq),
            region: e.region.to_string(),
            seq: e.seq,
            time: rfc3339(e.time, offset),
            kind: e.kind.as_str().to_owned(),
            member: e.member.get(),
            amount: e.amount.get(),
            debit: e.debit.to_key(),
            credit: e.credit.to_key(),
            indicator: e.indicator.as_ref().map(|i| i.code.to_string()),
            indicator_version: e.indicator.as_ref().map(|i| i.version),
            quantity: e.quantity,
            reason: e.reason.to_text(),
            operator: e.operator.get(),
            reverses: e.reverses.map(|r| format!("{}:{r}", e.region)),
            annual_delta: e.annual_delta.get(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProvenEntryOut {
    pub entry: EntryOut,
    /// The public leaf, as the log holds it (UTF-8 text).
    pub leaf: String,
    /// The leaf bytes, base64.
    pub leaf_base64: String,
    /// The leaf's index in the tree (= seq).
    pub index: u64,
    /// The tree size of the checkpoint the proof is against.
    pub tree_size: u64,
    /// RFC 6962 inclusion proof hashes, base64, from the leaf's sibling up.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note), verbatim.
    pub checkpoint: String,
    /// The same as a c2sp.org/tlog-proof@v1 receipt.
    pub receipt: String,
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Serialize, ToSchema)]
pub struct BalanceOut {
    pub region: String,
    pub member: i64,
    pub year: i32,
    /// 年度积分: decides the level.
    pub annual_score: i64,
    /// 可用积分: what can still be redeemed.
    pub spendable: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<LevelOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_level: Option<NextLevelOut>,
}

#[derive(Serialize, ToSchema)]
pub struct LevelOut {
    pub code: String,
    pub name: String,
    pub min_score: i64,
}

#[derive(Serialize, ToSchema)]
pub struct NextLevelOut {
    pub code: String,
    pub name: String,
    pub min_score: i64,
    /// Points still missing.
    pub missing: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RegionOut {
    pub code: String,
    pub name: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The log's origin line.
    pub origin: String,
    /// Verifier key (signed-note vkey).
    pub vkey: String,
    /// Entries in the log.
    pub entries: u64,
    pub appeal_window_days: u32,
    pub utc_offset_minutes: i32,
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorOut {
    pub region: String,
    pub code: String,
    pub version: u32,
    pub name: String,
    pub category: String,
    pub points: i64,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_per_day: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_per_month: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_per_year: Option<u32>,
    pub evidence: String,
    /// auto, one, or two (two reviewers at or above `review_threshold`).
    pub review: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_threshold: Option<i64>,
    /// residents or staff.
    pub claimants: String,
    pub valid_from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
    /// Inherited by descendant regions.
    pub core: bool,
    /// True when the region sees it from an ancestor.
    pub inherited: bool,
    pub notice_days: u32,
}

#[derive(Serialize, ToSchema)]
pub struct SignInOut {
    pub time: String,
    /// failed, succeeded or unlocked (by an admin).
    pub outcome: String,
    /// The client's address as the server saw it (empty for an unlock).
    pub address: String,
    /// For an unlock: the admin's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SignInsOut {
    /// Until when the account takes no sign-in after wrong passwords; absent when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// Newest first, at most `SIGN_INS_SHOWN`.
    pub items: Vec<SignInOut>,
}

/// Sign-in attempts an account's owner or admin sees at once.
pub const SIGN_INS_SHOWN: u32 = 50;

impl SignInsOut {
    /// The account's recent attempts and lock, times in China time (the accounts
    /// table belongs to no region).
    pub async fn read(
        state: &crate::AppState,
        account: jifen_core::OperatorId,
    ) -> Result<SignInsOut, crate::error::ApiError> {
        let now = state.clock().now();
        let (items, until) = crate::write::read(state, move |s| {
            Ok((
                s.sign_ins(account, SIGN_INS_SHOWN)?,
                s.sign_in_locked_until(account)?,
            ))
        })
        .await?;
        Ok(SignInsOut {
            locked_until: until.filter(|u| *u > now).map(|u| rfc3339(u, 480)),
            items: items
                .into_iter()
                .map(|i| SignInOut {
                    time: rfc3339(i.time, 480),
                    outcome: i.outcome.as_str().to_owned(),
                    address: i.address,
                    by: i.by.map(|b| b.get()),
                })
                .collect(),
        })
    }
}
