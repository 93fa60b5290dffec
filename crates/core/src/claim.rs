//! Claims (申报) and appeals (申诉) as state machines, with the separation-of-duties rules.

use crate::{HouseholdId, MemberId, OperatorId, Points, Timestamp};

/// Most claims one member may have waiting for review at once (submitted or partly
/// approved), however they were recorded: one resident (or one leaked token) cannot
/// bury the committee's queue. Posting or rejecting one frees a place.
pub const OPEN_CLAIMS_PER_MEMBER_MAX: i64 = 50;

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    /// Waiting for review.
    Submitted,
    /// One of two required approvals given.
    PartlyApproved,
    /// Approved, on the public notice board (公示) until its notice ends.
    InNotice,
    /// Approved and ready to post.
    Approved,
    /// Posted to the ledger: final.
    Posted,
    /// Final.
    Rejected,
    /// Final: the claimant took it back.
    Withdrawn,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 7] = [
        ClaimStatus::Submitted,
        ClaimStatus::PartlyApproved,
        ClaimStatus::InNotice,
        ClaimStatus::Approved,
        ClaimStatus::Posted,
        ClaimStatus::Rejected,
        ClaimStatus::Withdrawn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::PartlyApproved => "partly-approved",
            ClaimStatus::InNotice => "in-notice",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Posted => "posted",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ClaimStatus::Posted | ClaimStatus::Rejected | ClaimStatus::Withdrawn
        )
    }
}

/// Something that happens to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEvent {
    /// A reviewer approves; `approvals` counts distinct approvals including this one.
    Approve {
        approvals: u8,
        needed: u8,
        notice: bool,
    },
    Reject,
    Withdraw,
    /// Someone objected during the notice: back to review.
    Object,
    NoticeEnded,
    Post,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("a claim that is {} cannot be {verb}", .0.as_str(), verb = .1)]
    Transition(ClaimStatus, &'static str),
    #[error("you cannot review a claim of your own")]
    OwnClaim,
    #[error("you cannot review a claim of your own household")]
    OwnHousehold,
    #[error(
        "you recorded this claim, so you cannot approve it: four eyes, a claim needs the review of someone other than whoever recorded it"
    )]
    OwnRecord,
    #[error("this award needs a second, different reviewer; you already approved it")]
    SameReviewerTwice,
    #[error("an appeal is decided by someone other than the original reviewer")]
    AppealByOriginalReviewer,
    #[error("the appeal window closed at {0:?}")]
    AppealWindowClosed(Timestamp),
}

impl ClaimEvent {
    fn verb(self) -> &'static str {
        match self {
            ClaimEvent::Approve { .. } => "approved",
            ClaimEvent::Reject => "rejected",
            ClaimEvent::Withdraw => "withdrawn",
            ClaimEvent::Object => "objected to",
            ClaimEvent::NoticeEnded => "taken off notice",
            ClaimEvent::Post => "posted",
        }
    }
}

impl ClaimStatus {
    /// The state after `event`, or why it cannot happen now.
    pub fn next(self, event: ClaimEvent) -> Result<ClaimStatus, ClaimError> {
        use ClaimStatus as S;
        let to = match (self, event) {
            (
                S::Submitted | S::PartlyApproved,
                ClaimEvent::Approve {
                    approvals,
                    needed,
                    notice,
                },
            ) => {
                if approvals < needed {
                    S::PartlyApproved
                } else if notice {
                    S::InNotice
                } else {
                    S::Approved
                }
            }
            (S::Submitted | S::PartlyApproved, ClaimEvent::Reject) => S::Rejected,
            (S::Submitted | S::PartlyApproved, ClaimEvent::Withdraw) => S::Withdrawn,
            (S::InNotice, ClaimEvent::Object) => S::Submitted,
            (S::InNotice, ClaimEvent::NoticeEnded) => S::Approved,
            (S::Approved, ClaimEvent::Post) => S::Posted,
            (s, e) => return Err(ClaimError::Transition(s, e.verb())),
        };
        Ok(to)
    }
}

/// Who a reviewer is, as far as conflicts of interest go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewer {
    pub operator: OperatorId,
    /// Set when the reviewer is also a resident of the region.
    pub member: Option<MemberId>,
    pub household: Option<HouseholdId>,
}

/// Nobody approves a claim of their own or of their own household, and two
/// approvals must come from two people.
pub fn check_reviewer(
    reviewer: &Reviewer,
    claimant: MemberId,
    claimant_household: HouseholdId,
    earlier_approvals: &[OperatorId],
) -> Result<(), ClaimError> {
    if reviewer.member == Some(claimant) {
        return Err(ClaimError::OwnClaim);
    }
    if reviewer.household == Some(claimant_household) {
        return Err(ClaimError::OwnHousehold);
    }
    if earlier_approvals.contains(&reviewer.operator) {
        return Err(ClaimError::SameReviewerTwice);
    }
    Ok(())
}

/// Four eyes: whoever recorded or submitted a claim (staff for a resident, a station,
/// an import, a partner) gives it none of its approvals, so a claim that needs one
/// review needs one person other than its recorder. Rejecting stays open to the
/// recorder: it posts nothing.
pub fn check_approver(approver: OperatorId, recorder: OperatorId) -> Result<(), ClaimError> {
    if approver == recorder {
        return Err(ClaimError::OwnRecord);
    }
    Ok(())
}

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppealStatus {
    Filed,
    /// The entry stands.
    Upheld,
    /// The entry is reversed in full.
    Overturned,
    /// The entry's amount is changed by a reversal of part of it or a further award.
    Adjusted,
    /// The member took it back.
    Withdrawn,
}

impl AppealStatus {
    pub const ALL: [AppealStatus; 5] = [
        AppealStatus::Filed,
        AppealStatus::Upheld,
        AppealStatus::Overturned,
        AppealStatus::Adjusted,
        AppealStatus::Withdrawn,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            AppealStatus::Filed => "filed",
            AppealStatus::Upheld => "upheld",
            AppealStatus::Overturned => "overturned",
            AppealStatus::Adjusted => "adjusted",
            AppealStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What the decider decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealDecision {
    Uphold,
    Overturn,
    /// The amount the entry should have had.
    Adjust(Points),
}

/// The ledger change a decision calls for; never an edit, always a new entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealOutcome {
    Nothing,
    /// Post a reversal of this much of the original entry.
    Reverse(Points),
    /// Post a further entry of the original's kind for this much.
    Add(Points),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppealError {
    #[error("the appeal is already {}", .0.as_str())]
    Decided(AppealStatus),
    #[error("an adjusted amount must be positive and differ from the original {0}")]
    BadAdjustment(Points),
    #[error(transparent)]
    Claim(#[from] ClaimError),
}

/// The deadline for appealing an entry posted at `posted`.
pub fn appeal_deadline(posted: Timestamp, window_days: u32) -> Timestamp {
    posted.plus_days(i64::from(window_days))
}

/// An appeal may be filed until the window closes.
pub fn check_appeal_window(
    posted: Timestamp,
    now: Timestamp,
    window_days: u32,
) -> Result<(), ClaimError> {
    let deadline = appeal_deadline(posted, window_days);
    if now > deadline {
        return Err(ClaimError::AppealWindowClosed(deadline));
    }
    Ok(())
}

/// Decides a filed appeal against an entry whose unreversed amount is `left`.
pub fn decide_appeal(
    status: AppealStatus,
    decider: OperatorId,
    original_reviewers: &[OperatorId],
    left: Points,
    decision: AppealDecision,
) -> Result<(AppealStatus, AppealOutcome), AppealError> {
    if status != AppealStatus::Filed {
        return Err(AppealError::Decided(status));
    }
    if original_reviewers.contains(&decider) {
        return Err(ClaimError::AppealByOriginalReviewer.into());
    }
    Ok(match decision {
        AppealDecision::Uphold => (AppealStatus::Upheld, AppealOutcome::Nothing),
        AppealDecision::Overturn => (AppealStatus::Overturned, AppealOutcome::Reverse(left)),
        AppealDecision::Adjust(to) => {
            if !to.is_positive() || to == left {
                return Err(AppealError::BadAdjustment(left));
            }
            let outcome = if to < left {
                AppealOutcome::Reverse(Points::new(left.get() - to.get()))
            } else {
                AppealOutcome::Add(Points::new(to.get() - left.get()))
            };
            (AppealStatus::Adjusted, outcome)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(n: i64) -> OperatorId {
        OperatorId::new(n).expect("positive")
    }

    #[test]
    fn claim_paths() {
        let s = ClaimStatus::Submitted;
        let one = ClaimEvent::Approve {
            approvals: 1,
            needed: 2,
            notice: false,
        };
        let two = ClaimEvent::Approve {
            approvals: 2,
            needed: 2,
            notice: true,
        };
        let s = s.next(one).expect("first approval");
        assert_eq!(s, ClaimStatus::PartlyApproved);
        let s = s.next(two).expect("second approval");
        assert_eq!(s, ClaimStatus::InNotice);
        assert_eq!(s.next(ClaimEvent::Object), Ok(ClaimStatus::Submitted));
        let s = s.next(ClaimEvent::NoticeEnded).expect("notice ends");
        assert_eq!(s.next(ClaimEvent::Post), Ok(ClaimStatus::Posted));
        assert!(ClaimStatus::Posted.next(ClaimEvent::Reject).is_err());
        assert!(ClaimStatus::Rejected.next(ClaimEvent::Post).is_err());
        assert!(ClaimStatus::Submitted.next(ClaimEvent::Post).is_err());
        let msg = ClaimStatus::Posted
            .next(ClaimEvent::Withdraw)
            .expect_err("final")
            .to_string();
        assert_eq!(msg, "a claim that is posted cannot be withdrawn");
    }

    #[test]
    fn separation_of_duties() {
        let m = MemberId::new(5).expect("positive");
        let h = HouseholdId::new(2).expect("positive");
        let r = Reviewer {
            operator: op(1),
            member: Some(m),
            household: Some(h),
        };
        assert_eq!(check_reviewer(&r, m, h, &[]), Err(ClaimError::OwnClaim));
        let other = MemberId::new(6).expect("positive");
        assert_eq!(
            check_reviewer(&r, other, h, &[]),
            Err(ClaimError::OwnHousehold)
        );
        let h2 = HouseholdId::new(3).expect("positive");
        assert_eq!(
            check_reviewer(&r, other, h2, &[op(1)]),
            Err(ClaimError::SameReviewerTwice)
        );
        assert!(check_reviewer(&r, other, h2, &[op(2)]).is_ok());
        assert_eq!(check_approver(op(1), op(1)), Err(ClaimError::OwnRecord));
        assert!(check_approver(op(1), op(2)).is_ok());
    }

    #[test]
    fn appeals() {
        let left = Points::new(10);
        assert!(
            decide_appeal(
                AppealStatus::Filed,
                op(1),
                &[op(1)],
                left,
                AppealDecision::Uphold
            )
            .is_err()
        );
        assert_eq!(
            decide_appeal(
                AppealStatus::Filed,
                op(2),
                &[op(1)],
                left,
                AppealDecision::Overturn
            ),
            Ok((AppealStatus::Overturned, AppealOutcome::Reverse(left)))
        );
        assert_eq!(
            decide_appeal(
                AppealStatus::Filed,
                op(2),
                &[op(1)],
                left,
                AppealDecision::Adjust(Points::new(4))
            ),
            Ok((
                AppealStatus::Adjusted,
                AppealOutcome::Reverse(Points::new(6))
            ))
        );
        assert_eq!(
            decide_appeal(
                AppealStatus::Filed,
                op(2),
                &[op(1)],
                left,
                AppealDecision::Adjust(Points::new(15))
            ),
            Ok((AppealStatus::Adjusted, AppealOutcome::Add(Points::new(5))))
        );
        assert!(
            decide_appeal(
                AppealStatus::Upheld,
                op(2),
                &[],
                left,
                AppealDecision::Uphold
            )
            .is_err()
        );
        let t = Timestamp::from_millis(0);
        assert!(check_appeal_window(t, t.plus_days(30), 30).is_ok());
        assert!(check_appeal_window(t, t.plus_days(31), 30).is_err());
    }
}
