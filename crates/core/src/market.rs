//! The points supermarket (积分超市) and the yearly cycle: rewards, sponsors,
//! redemption codes and their state machine, a region's policy (reservation
//! window, base grant, expiry, model households), and the arithmetic of expiry
//! and of how long a sponsor's budget lasts.

use std::fmt;

use time::Date;

use crate::{CapPeriod, Points, SponsorCode};

/// Longest reward or sponsor name, in characters.
pub const NAME_CHARS_MAX: usize = 100;
/// Longest reward description, in characters.
pub const DESCRIPTION_CHARS_MAX: usize = 2_000;
/// Highest price a reward may have, in points.
pub const PRICE_MAX: i64 = 1_000_000;
/// Most items of a reward in stock.
pub const STOCK_MAX: u32 = 1_000_000;
/// Longest reservation window, in hours (30 days).
pub const RESERVATION_HOURS_MAX: u32 = 720;
/// Longest expiry period, in years.
pub const EXPIRY_YEARS_MAX: u32 = 10;
/// Largest base grant, in points.
pub const BASE_GRANT_MAX: i64 = 100_000;
/// Largest budget a sponsor may commit, in points.
pub const BUDGET_MAX: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketError {
    #[error("{what} must be 1 to {max} characters on one line")]
    BadName { what: &'static str, max: usize },
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
    #[error("the description must be at most {DESCRIPTION_CHARS_MAX} characters")]
    DescriptionTooLong,
    #[error("reward kind {0:?} is not one of goods, voucher, service")]
    BadRewardKind(String),
    #[error("sponsor kind {0:?} is not one of merchant, budget")]
    BadSponsorKind(String),
    #[error("the price must be between 1 and {PRICE_MAX} points, not {0}")]
    BadPrice(i64),
    #[error("the stock must be at most {STOCK_MAX}, not {0}")]
    BadStock(i64),
    #[error("the per-member limit must be at least 1 and name its period (day, month or year)")]
    BadLimit,
    #[error("the reward's last day {to} comes before its first day {from}")]
    BadDates { from: Date, to: Date },
    #[error("the reservation window must be 1 to {RESERVATION_HOURS_MAX} hours, not {0}")]
    BadReservationHours(i64),
    #[error("the base grant must be 0 to {BASE_GRANT_MAX} points, not {0}")]
    BadBaseGrant(i64),
    #[error("points expire after 1 to {EXPIRY_YEARS_MAX} years, not {0}")]
    BadExpiryYears(i64),
    #[error("the model household score must be positive, not {0}")]
    BadModelScore(i64),
    #[error("a budget must be 0 to {BUDGET_MAX} points, not {0}")]
    BadBudget(i64),
    #[error(
        "{0:?} is not a redemption code: 8 letters and digits (no 0, 1, I, L or O), dashes and spaces ignored"
    )]
    BadCode(String),
    #[error("redemption status {0:?} is not one of reserved, fulfilled, cancelled, expired")]
    BadStatus(String),
    #[error("the redemption is {0} already")]
    Closed(RedemptionStatus),
    #[error(
        "the picture is {0} bytes: at most {PICTURE_BYTES_MAX} ({kb} KB) are kept; make it smaller (for example 600 pixels wide)",
        kb = PICTURE_BYTES_MAX / 1024
    )]
    PictureTooLarge(usize),
    #[error("the picture is not a PNG, JPEG or WebP image")]
    PictureNotImage,
    #[error("the picture is empty")]
    PictureEmpty,
}

/// The largest picture of a reward, in bytes (a phone photo made 600 pixels wide
/// fits many times; the admin page makes a chosen photo that small first).
pub const PICTURE_BYTES_MAX: usize = 200 * 1024;

/// A reward's picture checked by its bytes (not by what the sender calls it): its
/// content type, `image/png`, `image/jpeg` or `image/webp`.
pub fn picture_type(bytes: &[u8]) -> Result<&'static str, MarketError> {
    if bytes.is_empty() {
        return Err(MarketError::PictureEmpty);
    }
    if bytes.len() > PICTURE_BYTES_MAX {
        return Err(MarketError::PictureTooLarge(bytes.len()));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok("image/webp")
    } else {
        Err(MarketError::PictureNotImage)
    }
}

/// The longest category name of a reward, in characters.
pub const CATEGORY_CHARS_MAX: usize = 20;

fn check_line(what: &'static str, s: &str, max: usize) -> Result<(), MarketError> {
    crate::text::check(what, s, crate::text::Lines::One)?;
    let n = s.chars().count();
    if s.trim().is_empty() || n > max || s.contains(['\n', '\r']) {
        return Err(MarketError::BadName { what, max });
    }
    Ok(())
}

/// What a reward is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewardKind {
    /// Goods on the supermarket's shelf.
    Goods,
    /// A voucher for a shop or a service fee.
    Voucher,
    /// A service, such as a park pass or a haircut.
    Service,
}

impl RewardKind {
    pub const ALL: [RewardKind; 3] = [RewardKind::Goods, RewardKind::Voucher, RewardKind::Service];
    pub fn as_str(self) -> &'static str {
        match self {
            RewardKind::Goods => "goods",
            RewardKind::Voucher => "voucher",
            RewardKind::Service => "service",
        }
    }
    pub fn parse(s: &str) -> Result<Self, MarketError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| MarketError::BadRewardKind(s.to_owned()))
    }
}

/// Who stands behind the rewards a sponsor funds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SponsorKind {
    /// A partner merchant (合作商家) that gives goods or services for points.
    Merchant,
    /// A line of a government or committee budget.
    Budget,
}

impl SponsorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SponsorKind::Merchant => "merchant",
            SponsorKind::Budget => "budget",
        }
    }
    pub fn parse(s: &str) -> Result<Self, MarketError> {
        match s {
            "merchant" => Ok(SponsorKind::Merchant),
            "budget" => Ok(SponsorKind::Budget),
            _ => Err(MarketError::BadSponsorKind(s.to_owned())),
        }
    }
}

/// A sponsor: who funds rewards, and how many points of redemptions it committed to honour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sponsor {
    pub code: SponsorCode,
    pub name: String,
    pub kind: SponsorKind,
    pub budget: Points,
}

impl Sponsor {
    pub fn validate(&self) -> Result<(), MarketError> {
        check_line("a sponsor's name", &self.name, NAME_CHARS_MAX)?;
        if self.budget.get() < 0 || self.budget.get() > BUDGET_MAX {
            return Err(MarketError::BadBudget(self.budget.get()));
        }
        Ok(())
    }
}

/// A reward (积分超市商品) as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    pub name: String,
    pub description: String,
    pub kind: RewardKind,
    pub price: Points,
    /// Items left to reserve.
    pub stock: u32,
    /// A level code of the region; `None`: anyone may redeem.
    pub min_level: Option<String>,
    /// How many a member may redeem per period.
    pub limit: Option<(u32, CapPeriod)>,
    pub sponsor: SponsorCode,
    pub active_from: Date,
    /// The last day it can be reserved, inclusive.
    pub active_to: Option<Date>,
    /// Where the shop lists it (日用品, 服务…); `None`: with the others.
    pub category: Option<String>,
}

impl Reward {
    pub fn validate(&self) -> Result<(), MarketError> {
        check_line("a reward's name", &self.name, NAME_CHARS_MAX)?;
        if let Some(c) = &self.category {
            check_line("a reward's category", c, CATEGORY_CHARS_MAX)?;
        }
        crate::text::check(
            "a reward's description",
            &self.description,
            crate::text::Lines::Many,
        )?;
        if self.description.chars().count() > DESCRIPTION_CHARS_MAX {
            return Err(MarketError::DescriptionTooLong);
        }
        if !self.price.is_positive() || self.price.get() > PRICE_MAX {
            return Err(MarketError::BadPrice(self.price.get()));
        }
        if self.stock > STOCK_MAX {
            return Err(MarketError::BadStock(i64::from(self.stock)));
        }
        if matches!(self.limit, Some((0, _))) {
            return Err(MarketError::BadLimit);
        }
        if let Some(to) = self.active_to
            && to < self.active_from
        {
            return Err(MarketError::BadDates {
                from: self.active_from,
                to,
            });
        }
        Ok(())
    }

    /// Whether the reward can be reserved on a local date (stock aside).
    pub fn active_on(&self, date: Date) -> bool {
        date >= self.active_from && self.active_to.is_none_or(|to| date <= to)
    }
}

/// Where a redemption stands. Reserved is the only open state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedemptionStatus {
    /// Points taken, item held; waiting for the sponsor's merchant to hand it over.
    Reserved,
    /// The merchant confirmed the code: handed over.
    Fulfilled,
    /// Cancelled by the resident or an admin; points refunded.
    Cancelled,
    /// Not fulfilled within the region's window; points refunded.
    Expired,
}

impl RedemptionStatus {
    pub const ALL: [RedemptionStatus; 4] = [
        RedemptionStatus::Reserved,
        RedemptionStatus::Fulfilled,
        RedemptionStatus::Cancelled,
        RedemptionStatus::Expired,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RedemptionStatus::Reserved => "reserved",
            RedemptionStatus::Fulfilled => "fulfilled",
            RedemptionStatus::Cancelled => "cancelled",
            RedemptionStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Result<Self, MarketError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| MarketError::BadStatus(s.to_owned()))
    }

    /// The state after `to` is asked for: only a reserved redemption moves, and
    /// only to one of the closed states.
    pub fn close(self, to: RedemptionStatus) -> Result<RedemptionStatus, MarketError> {
        match (self, to) {
            (RedemptionStatus::Reserved, RedemptionStatus::Reserved) => {
                Err(MarketError::BadStatus("reserved".into()))
            }
            (RedemptionStatus::Reserved, to) => Ok(to),
            (from, _) => Err(MarketError::Closed(from)),
        }
    }

    /// Whether closing into this state gives the points back.
    pub fn refunds(self) -> bool {
        matches!(
            self,
            RedemptionStatus::Cancelled | RedemptionStatus::Expired
        )
    }
}

impl fmt::Display for RedemptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code a resident shows the merchant: 8 characters from an alphabet without
/// look-alikes (no 0/O, 1/I/L), written `ABCD-2345`. 31^8 ≈ 8.5·10^11 codes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedemptionCode(String);

const CODE_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_CHARS: usize = 8;

impl RedemptionCode {
    /// A code from random bytes (the caller draws them from the OS).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        // 8 bytes → one u64; each character takes a base-31 digit. The bias of
        // 2^64 mod 31^8 over 2^64 is negligible.
        let mut n = u64::from_le_bytes(bytes);
        let mut s = String::with_capacity(CODE_CHARS);
        for _ in 0..CODE_CHARS {
            let i = usize::try_from(n % 31).unwrap_or(0);
            s.push(char::from(CODE_ALPHABET[i]));
            n /= 31;
        }
        RedemptionCode(s)
    }

    /// Parses what a merchant typed or scanned: case, spaces and dashes do not matter.
    pub fn parse(s: &str) -> Result<Self, MarketError> {
        let bad = || MarketError::BadCode(s.chars().take(40).collect());
        let mut out = String::with_capacity(CODE_CHARS);
        for c in s.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let u = c.to_ascii_uppercase();
            if !u.is_ascii() || !CODE_ALPHABET.contains(&(u as u8)) {
                return Err(bad());
            }
            out.push(u);
            if out.len() > CODE_CHARS {
                return Err(bad());
            }
        }
        if out.len() != CODE_CHARS {
            return Err(bad());
        }
        Ok(RedemptionCode(out))
    }

    /// The stored form: 8 characters, no dash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedemptionCode {
    /// `ABCD-2345`, as printed for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.0.split_at(CODE_CHARS / 2);
        write!(f, "{a}-{b}")
    }
}

/// A region's policy for the supermarket and the yearly close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// A reservation not fulfilled within this many hours is cancelled and refunded.
    pub reservation_hours: u32,
    /// Points every member gets at the start of a year (基础分), posted by the year close.
    pub base_grant: Points,
    /// Points not spent within this many years expire at a year close, oldest first.
    pub expiry_years: Option<u32>,
    /// Households whose members' combined annual score reaches this are model households (积分示范户).
    pub model_household_score: Option<Points>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            reservation_hours: 72,
            base_grant: Points::ZERO,
            expiry_years: None,
            model_household_score: None,
        }
    }
}

impl Policy {
    pub fn validate(&self) -> Result<(), MarketError> {
        if self.reservation_hours == 0 || self.reservation_hours > RESERVATION_HOURS_MAX {
            return Err(MarketError::BadReservationHours(i64::from(
                self.reservation_hours,
            )));
        }
        if self.base_grant.get() < 0 || self.base_grant.get() > BASE_GRANT_MAX {
            return Err(MarketError::BadBaseGrant(self.base_grant.get()));
        }
        if let Some(n) = self.expiry_years
            && (n == 0 || n > EXPIRY_YEARS_MAX)
        {
            return Err(MarketError::BadExpiryYears(i64::from(n)));
        }
        if let Some(s) = self.model_household_score
            && !s.is_positive()
        {
            return Err(MarketError::BadModelScore(s.get()));
        }
        Ok(())
    }

    /// Closing `year`: points earned in this year or before and not spent since
    /// expire. `None` when nothing expires.
    pub fn expiry_cut_year(&self, year: i32) -> Option<i32> {
        let n = i32::try_from(self.expiry_years?).ok()?;
        Some(year - n + 1)
    }
}

/// Entry kinds that bring a member new points, for the oldest-first expiry rule:
/// refunds and reversals give back what was there, they do not make points new.
pub fn earns(kind: crate::EntryKind) -> bool {
    matches!(
        kind,
        crate::EntryKind::Award | crate::EntryKind::BaseGrant | crate::EntryKind::RecognitionIn
    )
}

/// How many of a member's points expire, spending oldest first: of the balance,
/// all but what was earned after the cut. `earned_after` is the sum of the
/// member's earning entries (see [`earns`]) dated after the cut year.
///
/// Why: spent points are the oldest ones, so what is left consists of the newest
/// earnings first; whatever part of the balance the recent earnings cannot
/// account for is older than the cut.
pub fn expiry_due(balance: Points, earned_after: Points) -> Points {
    let b = balance.get().max(0);
    let e = earned_after.get().max(0);
    Points::new((b - e).max(0))
}

/// How many months a budget lasts at a monthly rate; `None` when nothing is
/// being redeemed (it lasts as long as redemptions stay at zero).
pub fn months_left(left: Points, per_month: Points) -> Option<f64> {
    if !per_month.is_positive() {
        return None;
    }
    #[allow(clippy::cast_precision_loss, reason = "an estimate for people to read")]
    Some(left.get().max(0) as f64 / per_month.get() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntryKind;
    use proptest::prelude::*;

    #[test]
    fn codes_round_trip_and_normalise() {
        let c = RedemptionCode::from_random([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(c.as_str().len(), 8);
        let printed = c.to_string();
        assert_eq!(printed.len(), 9);
        assert_eq!(RedemptionCode::parse(&printed).expect("parses"), c);
        assert_eq!(
            RedemptionCode::parse(&format!(" {} ", printed.to_lowercase())).expect("parses"),
            c
        );
        for bad in [
            "",
            "ABCD-234",
            "ABCD-23456",
            "ABCD-0000",
            "ABCD-IIII",
            "码码码码码码码码",
        ] {
            assert!(RedemptionCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn every_random_code_parses_back(bytes in any::<[u8; 8]>()) {
            let c = RedemptionCode::from_random(bytes);
            prop_assert_eq!(RedemptionCode::parse(&c.to_string()).expect("parses"), c);
        }

        #[test]
        fn expiry_never_exceeds_the_balance(b in -1000i64..100_000, e in -10i64..100_000) {
            let x = expiry_due(Points::new(b), Points::new(e));
            prop_assert!(x.get() >= 0);
            prop_assert!(x.get() <= b.max(0));
        }
    }

    #[test]
    fn redemption_moves_only_from_reserved() {
        use RedemptionStatus::*;
        assert_eq!(Reserved.close(Fulfilled), Ok(Fulfilled));
        assert_eq!(Reserved.close(Expired), Ok(Expired));
        assert!(Reserved.close(Reserved).is_err());
        assert_eq!(
            Fulfilled.close(Cancelled),
            Err(MarketError::Closed(Fulfilled))
        );
        assert_eq!(
            Cancelled.close(Fulfilled),
            Err(MarketError::Closed(Cancelled))
        );
        assert!(Cancelled.refunds() && Expired.refunds() && !Fulfilled.refunds());
    }

    #[test]
    fn expiry_spends_oldest_first() {
        // 300 earned long ago, 100 this year, 150 spent: 250 left. Oldest first,
        // the 150 came out of the old 300, so 150 old + 100 new remain; 150 expire.
        assert_eq!(
            expiry_due(Points::new(250), Points::new(100)),
            Points::new(150)
        );
        // Spent more than the old earnings: only new points left, nothing expires.
        assert_eq!(expiry_due(Points::new(80), Points::new(100)), Points::ZERO);
        assert_eq!(expiry_due(Points::new(-5), Points::ZERO), Points::ZERO);
        assert!(earns(EntryKind::Award) && earns(EntryKind::BaseGrant));
        assert!(!earns(EntryKind::Refund) && !earns(EntryKind::Reversal));
    }

    #[test]
    fn cut_year_and_policy_checks() {
        let mut p = Policy::default();
        assert_eq!(p.expiry_cut_year(2026), None);
        p.expiry_years = Some(1);
        assert_eq!(p.expiry_cut_year(2026), Some(2026));
        p.expiry_years = Some(2);
        assert_eq!(p.expiry_cut_year(2026), Some(2025));
        assert!(p.validate().is_ok());
        p.expiry_years = Some(0);
        assert!(p.validate().is_err());
        p.expiry_years = None;
        p.reservation_hours = 0;
        assert!(p.validate().is_err());
    }

    #[test]
    fn reward_checks() {
        let d = |s| crate::clock::parse_date(s).expect("date");
        let mut r = Reward {
            category: None,
            name: "大米 5kg".into(),
            description: String::new(),
            kind: RewardKind::Goods,
            price: Points::new(50),
            stock: 10,
            min_level: None,
            limit: Some((1, CapPeriod::Month)),
            sponsor: SponsorCode::parse("coop").expect("code"),
            active_from: d("2026-01-01"),
            active_to: Some(d("2026-12-31")),
        };
        assert!(r.validate().is_ok());
        assert!(r.active_on(d("2026-06-01")) && !r.active_on(d("2027-01-01")));
        r.price = Points::ZERO;
        assert!(matches!(r.validate(), Err(MarketError::BadPrice(0))));
        r.price = Points::new(5);
        r.active_to = Some(d("2025-12-31"));
        assert!(matches!(r.validate(), Err(MarketError::BadDates { .. })));
        r.active_to = None;
        r.limit = Some((0, CapPeriod::Day));
        assert!(matches!(r.validate(), Err(MarketError::BadLimit)));
        r.limit = None;
        r.name = "a\nb".into();
        assert!(r.validate().is_err());
    }

    #[test]
    fn months_left_is_left_over_rate() {
        assert_eq!(months_left(Points::new(600), Points::new(200)), Some(3.0));
        assert_eq!(months_left(Points::new(600), Points::ZERO), None);
    }

    #[test]
    fn a_picture_is_known_by_its_bytes() {
        assert_eq!(picture_type(b"\x89PNG\r\n\x1a\nrest"), Ok("image/png"));
        assert_eq!(picture_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok("image/jpeg"));
        assert_eq!(picture_type(b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert_eq!(picture_type(b"GIF89a"), Err(MarketError::PictureNotImage));
        assert_eq!(
            picture_type(b"<svg onload=x>"),
            Err(MarketError::PictureNotImage)
        );
        assert_eq!(picture_type(b""), Err(MarketError::PictureEmpty));
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(PICTURE_BYTES_MAX + 1, 0);
        assert_eq!(
            picture_type(&big),
            Err(MarketError::PictureTooLarge(PICTURE_BYTES_MAX + 1))
        );
    }

    #[test]
    fn a_category_is_one_short_line() {
        let mut r = Reward {
            name: "肥皂".into(),
            description: String::new(),
            kind: RewardKind::Goods,
            price: Points::new(1),
            stock: 1,
            min_level: None,
            limit: None,
            sponsor: SponsorCode::parse("coop").expect("code"),
            active_from: crate::clock::parse_date("2026-01-01").expect("date"),
            active_to: None,
            category: Some("日用品".into()),
        };
        assert!(r.validate().is_ok());
        r.category = Some("x".repeat(CATEGORY_CHARS_MAX + 1));
        assert!(r.validate().is_err());
        r.category = Some("a\u{202E}b".into());
        assert!(r.validate().is_err());
    }
}
