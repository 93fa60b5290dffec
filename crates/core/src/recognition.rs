//! Recognition of points between regions (跨区域积分互认): one region's half of an
//! agreement with another. Each side sets its own half, with its own admin: whether its
//! members may take points to the partner, whether it takes points from the partner,
//! which categories count, the exchange rate, a cap per member and year, and the dates.
//! A transfer needs both halves in force (the home's to send, the receiving side's to
//! take), so either side ends the agreement by ending its half.

use time::Date;

use crate::points::Points;

/// The largest numerator or denominator of an exchange rate.
pub const RATE_TERM_MAX: u32 = 1_000;
/// The most categories an agreement names.
pub const AGREEMENT_CATEGORIES_MAX: usize = 32;
/// The longest category name, in characters (as indicators' categories are).
pub const CATEGORY_CHARS_MAX: usize = 40;
/// The most witnesses a receiving side trusts for the partner's log.
pub const AGREEMENT_WITNESSES_MAX: usize = 16;

/// One region's half of a recognition agreement with `partner_origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The partner region's log origin (where its statements come from).
    pub partner_origin: String,
    /// The partner's log verifier key (signed-note vkey): what its statements and
    /// checkpoints are checked against, offline.
    pub partner_vkey: String,
    /// This region's members may take points to the partner.
    pub send: bool,
    /// This region takes points from the partner's members.
    pub receive: bool,
    /// The indicator categories whose points count (none: every category).
    pub categories: Vec<String>,
    /// Points credited here for `rate_den` points of the partner's: credited =
    /// floor(points × `rate_num` / `rate_den`).
    pub rate_num: u32,
    pub rate_den: u32,
    /// The most points a member may move under this half in a calendar year (0: none).
    pub cap_per_member_year: Points,
    /// The first and last day the half is in force (the region's local dates).
    pub valid_from: Date,
    pub valid_to: Option<Date>,
    /// The witnesses (cosignature/v1 vkeys) whose cosignatures on the partner's
    /// checkpoint a statement must carry, and how many of them.
    pub witnesses: Vec<String>,
    pub quorum: u32,
    /// The region's policy for the partner's statements of annual scores: whether a
    /// member's stated score for last year (at the rate) counts toward the level they
    /// hold here, as a score of their own last year would.
    pub count_scores: bool,
}

/// Why a half is not acceptable; each names its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct AgreementError {
    pub field: &'static str,
    pub detail: String,
}

fn err(field: &'static str, detail: impl Into<String>) -> AgreementError {
    AgreementError {
        field,
        detail: detail.into(),
    }
}

impl Agreement {
    /// Checks everything that needs no store: a half that does nothing, a rate out of
    /// range, dates backwards, categories or witnesses too many or repeated, a quorum
    /// the witnesses cannot meet. (Keys are parsed where the log crate is: the store.)
    pub fn check(&self) -> Result<(), AgreementError> {
        if self.partner_origin.is_empty()
            || self.partner_origin.len() > 200
            || self
                .partner_origin
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '+')
        {
            return Err(err(
                "partner_origin",
                "the partner's log origin is 1 to 200 characters without spaces or '+' (its /api/v1/regions/{code} says it)",
            ));
        }
        if !self.send && !self.receive {
            return Err(err(
                "send",
                "a half that neither sends nor receives does nothing: set send, receive or both",
            ));
        }
        for (field, term) in [("rate_num", self.rate_num), ("rate_den", self.rate_den)] {
            if term == 0 || term > RATE_TERM_MAX {
                return Err(err(
                    field,
                    format!(
                        "{field} is {term}: the exchange rate's terms are 1 to {RATE_TERM_MAX}"
                    ),
                ));
            }
        }
        if self.cap_per_member_year.get() < 0 {
            return Err(err(
                "cap_per_member_year",
                "the cap is a number of points, 0 (no cap) or more",
            ));
        }
        if let Some(to) = self.valid_to
            && to < self.valid_from
        {
            return Err(err(
                "valid_to",
                format!("{to} is before valid_from {}", self.valid_from),
            ));
        }
        if self.categories.len() > AGREEMENT_CATEGORIES_MAX {
            return Err(err(
                "categories",
                format!("at most {AGREEMENT_CATEGORIES_MAX} categories"),
            ));
        }
        for (i, c) in self.categories.iter().enumerate() {
            if c.trim().is_empty()
                || c.chars().count() > CATEGORY_CHARS_MAX
                || c.chars().any(char::is_control)
            {
                return Err(err(
                    "categories",
                    format!(
                        "category {:?} must be 1 to {CATEGORY_CHARS_MAX} characters",
                        c
                    ),
                ));
            }
            if self.categories[..i].contains(c) {
                return Err(err("categories", format!("{c:?} is named twice")));
            }
        }
        if self.witnesses.len() > AGREEMENT_WITNESSES_MAX {
            return Err(err(
                "witnesses",
                format!("at most {AGREEMENT_WITNESSES_MAX} witnesses"),
            ));
        }
        for (i, w) in self.witnesses.iter().enumerate() {
            if self.witnesses[..i].contains(w) {
                return Err(err("witnesses", "a witness is named twice"));
            }
        }
        if self.quorum as usize > self.witnesses.len() {
            return Err(err(
                "quorum",
                format!(
                    "a quorum of {} cannot be met by {} witnesses",
                    self.quorum,
                    self.witnesses.len()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the half is in force on `date` (and not ended).
    pub fn in_force(&self, date: Date, ended: bool) -> bool {
        !ended && date >= self.valid_from && self.valid_to.is_none_or(|to| date <= to)
    }

    /// Whether points of `category` count under this half.
    pub fn counts(&self, category: &str) -> bool {
        self.categories.is_empty() || self.categories.iter().any(|c| c == category)
    }

    /// The points credited here for `points` of the partner's (rounded down).
    pub fn credit(&self, points: Points) -> Points {
        let v = i128::from(points.get()) * i128::from(self.rate_num) / i128::from(self.rate_den);
        Points::new(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_date;

    fn half() -> Agreement {
        Agreement {
            partner_origin: "jifen.sz/log/sz-nanshan".into(),
            partner_vkey: "k".into(),
            send: true,
            receive: true,
            categories: vec!["志愿服务".into()],
            rate_num: 1,
            rate_den: 2,
            cap_per_member_year: Points::new(200),
            valid_from: parse_date("2026-01-01").expect("date"),
            valid_to: Some(parse_date("2026-12-31").expect("date")),
            witnesses: vec![],
            quorum: 0,
            count_scores: false,
        }
    }

    #[test]
    fn a_half_is_checked_field_by_field() {
        assert_eq!(half().check(), Ok(()));
        let field = |a: Agreement| a.check().expect_err("refused").field;
        assert_eq!(
            field(Agreement {
                send: false,
                receive: false,
                ..half()
            }),
            "send"
        );
        assert_eq!(
            field(Agreement {
                rate_den: 0,
                ..half()
            }),
            "rate_den"
        );
        assert_eq!(
            field(Agreement {
                rate_num: 1001,
                ..half()
            }),
            "rate_num"
        );
        assert_eq!(
            field(Agreement {
                cap_per_member_year: Points::new(-1),
                ..half()
            }),
            "cap_per_member_year"
        );
        assert_eq!(
            field(Agreement {
                valid_to: Some(parse_date("2025-12-31").expect("d")),
                ..half()
            }),
            "valid_to"
        );
        assert_eq!(
            field(Agreement {
                categories: vec!["a".into(), "a".into()],
                ..half()
            }),
            "categories"
        );
        assert_eq!(
            field(Agreement {
                quorum: 1,
                ..half()
            }),
            "quorum"
        );
        assert_eq!(
            field(Agreement {
                partner_origin: "a b".into(),
                ..half()
            }),
            "partner_origin"
        );
    }

    #[test]
    fn in_force_counts_and_credit() {
        let a = half();
        let d = |s: &str| parse_date(s).expect("date");
        assert!(a.in_force(d("2026-01-01"), false));
        assert!(a.in_force(d("2026-12-31"), false));
        assert!(!a.in_force(d("2027-01-01"), false));
        assert!(!a.in_force(d("2026-06-01"), true));
        assert!(a.counts("志愿服务") && !a.counts("德治"));
        assert!(
            Agreement {
                categories: vec![],
                ..half()
            }
            .counts("德治")
        );
        assert_eq!(a.credit(Points::new(101)), Points::new(50));
    }
}
