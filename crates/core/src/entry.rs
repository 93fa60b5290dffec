//! Entries (积分流水) and the double-entry rules: every entry moves a positive
//! amount from one account to another, and its kind fixes which accounts.

use std::fmt;

use crate::{IndicatorCode, MemberId, OperatorId, Points, RegionCode, SponsorCode, Timestamp};

/// Entry kinds, as BRIEF.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    Award,
    Deduction,
    BaseGrant,
    Redemption,
    Refund,
    Reversal,
    Expiry,
    RecognitionIn,
    RecognitionOut,
}

impl EntryKind {
    pub const ALL: [EntryKind; 9] = [
        EntryKind::Award,
        EntryKind::Deduction,
        EntryKind::BaseGrant,
        EntryKind::Redemption,
        EntryKind::Refund,
        EntryKind::Reversal,
        EntryKind::Expiry,
        EntryKind::RecognitionIn,
        EntryKind::RecognitionOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Award => "award",
            EntryKind::Deduction => "deduction",
            EntryKind::BaseGrant => "base-grant",
            EntryKind::Redemption => "redemption",
            EntryKind::Refund => "refund",
            EntryKind::Reversal => "reversal",
            EntryKind::Expiry => "expiry",
            EntryKind::RecognitionIn => "recognition-in",
            EntryKind::RecognitionOut => "recognition-out",
        }
    }

    pub fn parse(s: &str) -> Result<Self, EntryError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EntryError::BadKind(s.to_owned()))
    }

    /// Kinds whose effect on the annual score is their amount, with this sign.
    /// Reversals take the opposite of what they reverse; recognition-in counts
    /// only when the agreement says so (the entry records which).
    fn annual_sign(self) -> i64 {
        match self {
            EntryKind::Award | EntryKind::BaseGrant => 1,
            EntryKind::Deduction => -1,
            _ => 0,
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ledger account within one region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    Member(MemberId),
    /// Where awards and base grants come from; its balance is minus all points issued.
    Issuance,
    /// Where deductions go.
    Penalty,
    /// Where redeemed points go, per sponsor.
    Redemption(SponsorCode),
    /// Where expired points go.
    Expiry,
    /// The other side of points recognised in from or out to another region.
    Recognition,
}

impl Account {
    /// The stored form, e.g. `member:42`, `issuance`, `redemption:coop`.
    pub fn to_key(&self) -> String {
        self.key().into_owned()
    }

    /// [`Account::to_key`], borrowed for the accounts whose key is fixed.
    pub fn key(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        match self {
            Account::Member(m) => Cow::Owned(format!("member:{m}")),
            Account::Issuance => Cow::Borrowed("issuance"),
            Account::Penalty => Cow::Borrowed("penalty"),
            Account::Redemption(s) => Cow::Owned(format!("redemption:{s}")),
            Account::Expiry => Cow::Borrowed("expiry"),
            Account::Recognition => Cow::Borrowed("recognition"),
        }
    }

    pub fn parse_key(s: &str) -> Result<Self, EntryError> {
        let bad = || EntryError::BadAccount(s.to_owned());
        Ok(match s.split_once(':') {
            Some(("member", m)) => Account::Member(MemberId::parse(m).map_err(|_| bad())?),
            Some(("redemption", sp)) => {
                Account::Redemption(SponsorCode::parse(sp).map_err(|_| bad())?)
            }
            None => match s {
                "issuance" => Account::Issuance,
                "penalty" => Account::Penalty,
                "expiry" => Account::Expiry,
                "recognition" => Account::Recognition,
                _ => return Err(bad()),
            },
            Some(_) => return Err(bad()),
        })
    }

    pub fn member(&self) -> Option<MemberId> {
        match self {
            Account::Member(m) => Some(*m),
            _ => None,
        }
    }
}

/// What produced an entry: a controlled code and a reference number, never free
/// text, so a public leaf cannot leak a note about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A claim (申报) approved by review; reference = claim id.
    Claim,
    /// Recorded directly by a reviewer; reference = claim id of the record.
    Direct,
    /// Recorded at an offline station with the resident present.
    Station,
    /// A QR check-in at an event; reference = event id.
    Event,
    /// An appeal decision; reference = appeal id.
    Appeal,
    /// The yearly cycle (base grant, expiry); reference = the year.
    Year,
    /// The points supermarket; reference = redemption id.
    Shop,
    /// An agreement between regions; reference = agreement id.
    Agreement,
    /// A bulk import; reference = the import batch.
    Import,
}

impl Source {
    pub const ALL: [Source; 9] = [
        Source::Claim,
        Source::Direct,
        Source::Station,
        Source::Event,
        Source::Appeal,
        Source::Year,
        Source::Shop,
        Source::Agreement,
        Source::Import,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Claim => "claim",
            Source::Direct => "direct",
            Source::Station => "station",
            Source::Event => "event",
            Source::Appeal => "appeal",
            Source::Year => "year",
            Source::Shop => "shop",
            Source::Agreement => "agreement",
            Source::Import => "import",
        }
    }
    pub fn parse(s: &str) -> Result<Self, EntryError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EntryError::BadReason(s.to_owned()))
    }
}

/// Why an entry exists: `source:reference`, e.g. `claim:812`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason {
    pub source: Source,
    pub reference: u64,
}

impl Reason {
    pub fn new(source: Source, reference: u64) -> Self {
        Reason { source, reference }
    }
    pub fn to_text(self) -> String {
        format!("{}:{}", self.source.as_str(), self.reference)
    }
    pub fn parse(s: &str) -> Result<Self, EntryError> {
        let (src, r) = s
            .split_once(':')
            .ok_or_else(|| EntryError::BadReason(s.to_owned()))?;
        let reference =
            parse_canonical_u64(r).ok_or_else(|| EntryError::BadReason(s.to_owned()))?;
        Ok(Reason {
            source: Source::parse(src)?,
            reference,
        })
    }
}

/// Parses a decimal with no sign, no leading zeros (except "0"), no spaces.
pub(crate) fn parse_canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// An indicator and the version an entry was granted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndicatorRef {
    pub code: IndicatorCode,
    pub version: u32,
}

/// An entry before the sequencer gives it a place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub member: MemberId,
    /// Always positive; the kind decides the direction.
    pub amount: Points,
    pub indicator: Option<IndicatorRef>,
    pub quantity: u32,
    pub reason: Reason,
    pub operator: OperatorId,
    /// For reversals: the entry being reversed (its sequence number).
    pub reverses: Option<u64>,
    /// For redemptions and refunds: whose redemption account.
    pub sponsor: Option<SponsorCode>,
    /// For recognition in: whether the agreement counts it in the annual score.
    pub counts_annual: bool,
}

/// An entry as posted: immutable, with its place in the region's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub region: RegionCode,
    /// Index of the entry's leaf in the region's Merkle tree, from 0.
    pub seq: u64,
    pub time: Timestamp,
    pub kind: EntryKind,
    pub debit: Account,
    pub credit: Account,
    pub amount: Points,
    pub member: MemberId,
    pub indicator: Option<IndicatorRef>,
    pub quantity: u32,
    pub reason: Reason,
    pub operator: OperatorId,
    pub reverses: Option<u64>,
    /// Effect on the member's annual score in the entry's local year.
    pub annual_delta: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error(
        "entry kind {0:?} is not one of award, deduction, base-grant, redemption, refund, reversal, expiry, recognition-in, recognition-out"
    )]
    BadKind(String),
    #[error("account {0:?} is not a valid account")]
    BadAccount(String),
    #[error("reason {0:?} is not source:number with a known source")]
    BadReason(String),
    #[error("amount must be positive, not {0}")]
    NotPositive(Points),
    #[error("a {0} needs an indicator")]
    NeedsIndicator(EntryKind),
    #[error("a {0} needs a sponsor")]
    NeedsSponsor(EntryKind),
    #[error("a reversal must name the entry it reverses")]
    NeedsReversed,
    #[error("only a reversal may name an entry it reverses")]
    UnexpectedReversed,
    #[error("entry {0} cannot be reversed: {1}")]
    CannotReverse(u64, &'static str),
    #[error("reversal of {amount} exceeds what is left to reverse of entry {seq} ({left})")]
    ReversalTooLarge {
        seq: u64,
        amount: Points,
        left: Points,
    },
    #[error("quantity must be between 1 and {max}, not {0}", max = crate::indicator::QUANTITY_MAX)]
    BadQuantity(u32),
    #[error("entry {seq}: {what}")]
    Inconsistent { seq: u64, what: String },
    #[error("points overflow")]
    Overflow(#[from] crate::points::Overflow),
}

/// The accounts an entry of `kind` moves points between: (debit, credit), i.e. from, to.
/// For reversals, pass the reversed entry's accounts: a reversal swaps them.
pub fn accounts_for(
    kind: EntryKind,
    member: MemberId,
    sponsor: Option<&SponsorCode>,
    reversed: Option<&Entry>,
) -> Result<(Account, Account), EntryError> {
    let m = Account::Member(member);
    let sponsor = || sponsor.cloned().ok_or(EntryError::NeedsSponsor(kind));
    Ok(match kind {
        EntryKind::Award | EntryKind::BaseGrant => (Account::Issuance, m),
        EntryKind::Deduction => (m, Account::Penalty),
        EntryKind::Redemption => (m, Account::Redemption(sponsor()?)),
        EntryKind::Refund => (Account::Redemption(sponsor()?), m),
        EntryKind::Expiry => (m, Account::Expiry),
        EntryKind::RecognitionIn => (Account::Recognition, m),
        EntryKind::RecognitionOut => (m, Account::Recognition),
        EntryKind::Reversal => {
            let r = reversed.ok_or(EntryError::NeedsReversed)?;
            (r.credit.clone(), r.debit.clone())
        }
    })
}

/// Which kinds an appeal may reverse: the ones that change a score by a decision.
pub fn reversible(kind: EntryKind) -> bool {
    matches!(
        kind,
        EntryKind::Award | EntryKind::Deduction | EntryKind::BaseGrant | EntryKind::RecognitionIn
    )
}

/// The effect of an entry on the member's annual score.
/// For a reversal, `reversed` is the original and the effect is the opposite share of it.
pub fn annual_delta(
    kind: EntryKind,
    amount: Points,
    counts_annual: bool,
    reversed: Option<&Entry>,
) -> Result<Points, EntryError> {
    Ok(match kind {
        EntryKind::Reversal => {
            let r = reversed.ok_or(EntryError::NeedsReversed)?;
            if r.annual_delta == Points::ZERO {
                Points::ZERO
            } else if r.annual_delta.is_positive() {
                amount.checked_neg()?
            } else {
                amount
            }
        }
        EntryKind::RecognitionIn if counts_annual => amount,
        k => amount.checked_mul(k.annual_sign())?,
    })
}

impl NewEntry {
    /// Checks the entry on its own and turns it into a posted entry at `seq`.
    /// `reversed` must be given for reversals (the original entry), with
    /// `already_reversed`, the amount reversed of it before.
    pub fn post(
        &self,
        region: &RegionCode,
        seq: u64,
        time: Timestamp,
        reversed: Option<(&Entry, Points)>,
    ) -> Result<Entry, EntryError> {
        if !self.amount.is_positive() {
            return Err(EntryError::NotPositive(self.amount));
        }
        if self.quantity == 0 || self.quantity > crate::indicator::QUANTITY_MAX {
            return Err(EntryError::BadQuantity(self.quantity));
        }
        if matches!(self.kind, EntryKind::Award | EntryKind::Deduction) && self.indicator.is_none()
        {
            return Err(EntryError::NeedsIndicator(self.kind));
        }
        let original = match (self.kind, self.reverses, reversed) {
            (EntryKind::Reversal, Some(seq_r), Some((r, already))) => {
                if r.seq != seq_r || r.region != *region {
                    return Err(EntryError::NeedsReversed);
                }
                if !reversible(r.kind) {
                    return Err(EntryError::CannotReverse(
                        seq_r,
                        "only awards, deductions, base grants and recognition can be reversed",
                    ));
                }
                if r.member != self.member {
                    return Err(EntryError::CannotReverse(
                        seq_r,
                        "it belongs to another member",
                    ));
                }
                let left = r.amount.checked_sub(already)?;
                if self.amount > left {
                    return Err(EntryError::ReversalTooLarge {
                        seq: seq_r,
                        amount: self.amount,
                        left,
                    });
                }
                Some(r)
            }
            (EntryKind::Reversal, _, _) => return Err(EntryError::NeedsReversed),
            (_, Some(_), _) => return Err(EntryError::UnexpectedReversed),
            _ => None,
        };
        let (debit, credit) =
            accounts_for(self.kind, self.member, self.sponsor.as_ref(), original)?;
        let annual_delta = annual_delta(self.kind, self.amount, self.counts_annual, original)?;
        Ok(Entry {
            region: region.clone(),
            seq,
            time,
            kind: self.kind,
            debit,
            credit,
            amount: self.amount,
            member: self.member,
            indicator: self.indicator.clone(),
            quantity: self.quantity,
            reason: self.reason,
            operator: self.operator,
            reverses: self.reverses,
            annual_delta,
        })
    }
}

impl Entry {
    /// Re-derives the accounts and annual effect from the kind and checks they match
    /// what is stored; the offline audit runs this on every entry.
    pub fn check_rules(&self, reversed: Option<&Entry>) -> Result<(), EntryError> {
        let fail = |what: String| EntryError::Inconsistent {
            seq: self.seq,
            what,
        };
        if !self.amount.is_positive() {
            return Err(fail(format!("amount {} is not positive", self.amount)));
        }
        let sponsor = match (&self.debit, &self.credit) {
            (Account::Redemption(s), _) | (_, Account::Redemption(s)) => Some(s.clone()),
            _ => None,
        };
        let (d, c) = accounts_for(self.kind, self.member, sponsor.as_ref(), reversed)?;
        if d != self.debit || c != self.credit {
            return Err(fail(format!(
                "moves {} -> {}, but {} entries move {} -> {}",
                self.debit.to_key(),
                self.credit.to_key(),
                self.kind,
                d.to_key(),
                c.to_key()
            )));
        }
        let counts = self.kind == EntryKind::RecognitionIn && self.annual_delta != Points::ZERO;
        let expect = annual_delta(self.kind, self.amount, counts, reversed)?;
        if expect != self.annual_delta {
            return Err(fail(format!(
                "annual effect {}, but {} entries of {} have {}",
                self.annual_delta, self.kind, self.amount, expect
            )));
        }
        Ok(())
    }
}
