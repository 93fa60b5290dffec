//! The public leaf: the canonical bytes of an entry as the transparency log
//! holds it. It names the indicator, the reason and the operator, and shows the
//! member only as a keyed commitment, so the public log shows flows without
//! showing who.
//!
//! Format (UTF-8, one `name value` field a line, fixed order, each line ending in `\n`):
//! ```text
//! jifen/entry/v1
//! region tongxiang-gaoqiao
//! seq 41
//! time 1767225600000
//! kind award
//! amount 5
//! debit issuance
//! credit member:<64 hex commitment>
//! indicator TX-MEETING/1        ("-" when none)
//! quantity 1
//! reason claim:812
//! operator 3
//! reverses -                    (sequence number for reversals)
//! annual 5
//! ```
//! A byte string is a valid leaf only if re-encoding what it parses to gives the
//! same bytes, so every entry has exactly one leaf.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{
    Account, Entry, EntryKind, IndicatorCode, IndicatorRef, MemberId, OperatorId, Points, Reason,
    RegionCode, SponsorCode, Timestamp, entry::parse_canonical_u64,
};

/// Leaves are far below the tiles' 65,535-byte limit; this is what we allow.
pub const LEAF_BYTES_MAX: usize = 4096;
const HEADER: &str = "jifen/entry/v1";

/// A member's secret commitment key: random, kept in the private store, deleted to erase the member.
pub type CommitmentKey = [u8; 32];
/// A keyed commitment to a member's identity.
pub type Commitment = [u8; 32];

/// HMAC-SHA256 under the member's own key. Without the key the commitment
/// links to no one; with the key deleted (crypto-shredding) it never can, and
/// the leaf, and so the log, stays as it was.
pub fn member_commitment(key: &CommitmentKey, region: &RegionCode, member: MemberId) -> Commitment {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"jifen member commitment v1\n");
    mac.update(region.as_str().as_bytes());
    mac.update(b"\n");
    mac.update(member.get().to_string().as_bytes());
    mac.finalize().into_bytes().into()
}

/// An account as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicAccount {
    Member(Commitment),
    Issuance,
    Penalty,
    Redemption(SponsorCode),
    Expiry,
    Recognition,
}

impl PublicAccount {
    fn from_account(a: &Account, commitment: &Commitment) -> Self {
        match a {
            Account::Member(_) => PublicAccount::Member(*commitment),
            Account::Issuance => PublicAccount::Issuance,
            Account::Penalty => PublicAccount::Penalty,
            Account::Redemption(s) => PublicAccount::Redemption(s.clone()),
            Account::Expiry => PublicAccount::Expiry,
            Account::Recognition => PublicAccount::Recognition,
        }
    }

    /// Appends the account's text (`issuance`, `member:<hex>`, ...) to `out`.
    fn write_text(&self, out: &mut String) {
        match self {
            PublicAccount::Member(c) => {
                out.push_str("member:");
                push_hex(out, c);
            }
            PublicAccount::Issuance => out.push_str("issuance"),
            PublicAccount::Penalty => out.push_str("penalty"),
            PublicAccount::Redemption(s) => {
                out.push_str("redemption:");
                out.push_str(s.as_str());
            }
            PublicAccount::Expiry => out.push_str("expiry"),
            PublicAccount::Recognition => out.push_str("recognition"),
        }
    }

    fn parse(s: &str) -> Option<Self> {
        if let Some(h) = s.strip_prefix("member:") {
            return unhex32(h).map(PublicAccount::Member);
        }
        if let Some(sp) = s.strip_prefix("redemption:") {
            return SponsorCode::parse(sp).ok().map(PublicAccount::Redemption);
        }
        match s {
            "issuance" => Some(PublicAccount::Issuance),
            "penalty" => Some(PublicAccount::Penalty),
            "expiry" => Some(PublicAccount::Expiry),
            "recognition" => Some(PublicAccount::Recognition),
            _ => None,
        }
    }
}

/// A decoded public leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicLeaf {
    pub region: RegionCode,
    pub seq: u64,
    pub time: Timestamp,
    pub kind: EntryKind,
    pub amount: Points,
    pub debit: PublicAccount,
    pub credit: PublicAccount,
    pub indicator: Option<IndicatorRef>,
    pub quantity: u32,
    pub reason: Reason,
    pub operator: OperatorId,
    pub reverses: Option<u64>,
    pub annual_delta: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error("leaf is {0} bytes, more than {LEAF_BYTES_MAX}")]
    TooLong(usize),
    #[error("leaf is not UTF-8")]
    NotUtf8,
    #[error("leaf line {line}: expected field {field:?}")]
    Field { line: usize, field: &'static str },
    #[error("leaf line {line}: bad value for {field}")]
    Value { line: usize, field: &'static str },
    #[error("leaf is not in canonical form")]
    NotCanonical,
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    push_hex(&mut s, b);
    s
}

fn push_hex(out: &mut String, b: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len() * 2);
    for x in b {
        out.push(char::from(DIGITS[usize::from(x >> 4)]));
        out.push(char::from(DIGITS[usize::from(x & 15)]));
    }
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let d = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = (d(pair[0])? << 4) | d(pair[1])?;
    }
    Some(out)
}

/// Lowercase hex of a commitment, as leaves and exports show it.
pub fn commitment_hex(c: &Commitment) -> String {
    hex(c)
}

impl PublicLeaf {
    /// The public view of a posted entry, given the member's commitment.
    pub fn of_entry(entry: &Entry, commitment: &Commitment) -> Self {
        PublicLeaf {
            region: entry.region.clone(),
            seq: entry.seq,
            time: entry.time,
            kind: entry.kind,
            amount: entry.amount,
            debit: PublicAccount::from_account(&entry.debit, commitment),
            credit: PublicAccount::from_account(&entry.credit, commitment),
            indicator: entry.indicator.clone(),
            quantity: entry.quantity,
            reason: entry.reason,
            operator: entry.operator,
            reverses: entry.reverses,
            annual_delta: entry.annual_delta,
        }
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        use std::fmt::Write;
        let mut s = String::with_capacity(400);
        // Written field by field into one buffer (no string per field): the writer
        // encodes every entry it appends. Writing to a String cannot fail.
        let _ = write!(
            s,
            "{HEADER}\nregion {}\nseq {}\ntime {}\nkind {}\namount {}\ndebit ",
            self.region,
            self.seq,
            self.time.millis(),
            self.kind,
            self.amount,
        );
        self.debit.write_text(&mut s);
        s.push_str("\ncredit ");
        self.credit.write_text(&mut s);
        s.push_str("\nindicator ");
        match &self.indicator {
            Some(i) => {
                let _ = write!(s, "{}/{}", i.code, i.version);
            }
            None => s.push('-'),
        }
        let _ = write!(
            s,
            "\nquantity {}\nreason {}:{}\noperator {}\nreverses ",
            self.quantity,
            self.reason.source.as_str(),
            self.reason.reference,
            self.operator,
        );
        match self.reverses {
            Some(r) => {
                let _ = write!(s, "{r}");
            }
            None => s.push('-'),
        }
        let _ = writeln!(s, "\nannual {}", self.annual_delta);
        debug_assert!(s.len() <= LEAF_BYTES_MAX, "a leaf's fields are all bounded");
        s.into_bytes()
    }

    /// Parses canonical leaf bytes; anything else is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        if bytes.len() > LEAF_BYTES_MAX {
            return Err(LeafError::TooLong(bytes.len()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| LeafError::NotUtf8)?;
        let body = text.strip_suffix('\n').ok_or(LeafError::NotCanonical)?;
        let mut lines = body.split('\n').enumerate();
        let mut next = |field: &'static str| -> Result<(usize, &str), LeafError> {
            let (i, line) = lines.next().ok_or(LeafError::Field { line: 0, field })?;
            let n = i + 1;
            if field == "header" {
                return if line == HEADER {
                    Ok((n, line))
                } else {
                    Err(LeafError::Field { line: n, field })
                };
            }
            let v = line
                .strip_prefix(field)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or(LeafError::Field { line: n, field })?;
            Ok((n, v))
        };
        fn val<T>(r: Option<T>, line: usize, field: &'static str) -> Result<T, LeafError> {
            r.ok_or(LeafError::Value { line, field })
        }
        fn int(s: &str) -> Option<i64> {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let n = parse_canonical_u64(digits)?;
            if s.starts_with('-') {
                if n == 0 {
                    return None;
                }
                0i64.checked_sub_unsigned(n)
            } else {
                i64::try_from(n).ok()
            }
        }
        next("header")?;
        let (l, v) = next("region")?;
        let region = val(RegionCode::parse(v).ok(), l, "region")?;
        let (l, v) = next("seq")?;
        let seq = val(parse_canonical_u64(v), l, "seq")?;
        let (l, v) = next("time")?;
        let time = Timestamp::from_millis(val(int(v), l, "time")?);
        let (l, v) = next("kind")?;
        let kind = val(EntryKind::parse(v).ok(), l, "kind")?;
        let (l, v) = next("amount")?;
        let amount = Points::new(val(int(v).filter(|a| *a > 0), l, "amount")?);
        let (l, v) = next("debit")?;
        let debit = val(PublicAccount::parse(v), l, "debit")?;
        let (l, v) = next("credit")?;
        let credit = val(PublicAccount::parse(v), l, "credit")?;
        let (l, v) = next("indicator")?;
        let indicator = if v == "-" {
            None
        } else {
            let (c, ver) = val(v.rsplit_once('/'), l, "indicator")?;
            let code = val(IndicatorCode::parse(c).ok(), l, "indicator")?;
            let version = val(
                parse_canonical_u64(ver).and_then(|x| u32::try_from(x).ok()),
                l,
                "indicator",
            )?;
            Some(IndicatorRef { code, version })
        };
        let (l, v) = next("quantity")?;
        let quantity = val(
            parse_canonical_u64(v).and_then(|x| u32::try_from(x).ok()),
            l,
            "quantity",
        )?;
        let (l, v) = next("reason")?;
        let reason = val(Reason::parse(v).ok(), l, "reason")?;
        let (l, v) = next("operator")?;
        let operator = val(int(v).and_then(|x| OperatorId::new(x).ok()), l, "operator")?;
        let (l, v) = next("reverses")?;
        let reverses = if v == "-" {
            None
        } else {
            Some(val(parse_canonical_u64(v), l, "reverses")?)
        };
        let (l, v) = next("annual")?;
        let annual_delta = Points::new(val(int(v), l, "annual")?);
        if lines.next().is_some() {
            return Err(LeafError::NotCanonical);
        }
        let leaf = PublicLeaf {
            region,
            seq,
            time,
            kind,
            amount,
            debit,
            credit,
            indicator,
            quantity,
            reason,
            operator,
            reverses,
            annual_delta,
        };
        if leaf.encode() != bytes {
            return Err(LeafError::NotCanonical);
        }
        Ok(leaf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewEntry, Source};
    use proptest::prelude::*;

    fn entry(kind: EntryKind, amount: i64, seq: u64) -> Entry {
        let region = RegionCode::parse("tx-gq").expect("valid");
        NewEntry {
            kind,
            member: MemberId::new(7).expect("positive"),
            amount: Points::new(amount),
            indicator: Some(IndicatorRef {
                code: IndicatorCode::parse("TX-MEETING").expect("valid"),
                version: 2,
            }),
            quantity: 1,
            reason: Reason::new(Source::Claim, 812),
            operator: OperatorId::new(3).expect("positive"),
            reverses: None,
            sponsor: None,
            counts_annual: false,
        }
        .post(
            &region,
            seq,
            Timestamp::from_millis(1_767_225_600_000),
            None,
        )
        .expect("valid entry")
    }

    #[test]
    fn round_trip_and_canonical() {
        let key = [9u8; 32];
        let e = entry(EntryKind::Award, 5, 41);
        let c = member_commitment(&key, &e.region, e.member);
        let leaf = PublicLeaf::of_entry(&e, &c);
        let bytes = leaf.encode();
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(text.contains("credit member:"));
        assert!(
            !text.contains("member:7\n"),
            "the member id must not appear"
        );
        assert_eq!(PublicLeaf::decode(&bytes), Ok(leaf));
        // A non-canonical variant (leading zero) is refused.
        let bad = text.replace("amount 5", "amount 05");
        assert!(PublicLeaf::decode(bad.as_bytes()).is_err());
        let bad = text.replace("\nannual 5\n", "\nannual 5\nextra 1\n");
        assert_eq!(
            PublicLeaf::decode(bad.as_bytes()),
            Err(LeafError::NotCanonical)
        );
        // Another key gives another commitment.
        assert_ne!(member_commitment(&[8u8; 32], &e.region, e.member), c);
    }

    /// The exact bytes of leaves already in published logs: the encoding may never drift.
    #[test]
    fn known_leaf_bytes() {
        let award = PublicLeaf::of_entry(&entry(EntryKind::Award, 5, 41), &[0xab; 32]);
        let hex_ab = "ab".repeat(32);
        assert_eq!(
            String::from_utf8(award.encode()).expect("utf-8"),
            format!(
                "jifen/entry/v1\nregion tx-gq\nseq 41\ntime 1767225600000\nkind award\namount 5\n\
                 debit issuance\ncredit member:{hex_ab}\nindicator TX-MEETING/2\nquantity 1\n\
                 reason claim:812\noperator 3\nreverses -\nannual 5\n"
            )
        );
        let reversal = PublicLeaf {
            seq: 42,
            kind: EntryKind::Reversal,
            debit: PublicAccount::Member([0x01; 32]),
            credit: PublicAccount::Redemption(SponsorCode::parse("shop-1").expect("valid")),
            indicator: None,
            quantity: 3,
            reason: Reason::new(Source::Appeal, 7),
            reverses: Some(40),
            annual_delta: Points::new(-15),
            ..award.clone()
        };
        let hex_01 = "01".repeat(32);
        assert_eq!(
            String::from_utf8(reversal.encode()).expect("utf-8"),
            format!(
                "jifen/entry/v1\nregion tx-gq\nseq 42\ntime 1767225600000\nkind reversal\namount 5\n\
                 debit member:{hex_01}\ncredit redemption:shop-1\nindicator -\nquantity 3\n\
                 reason appeal:7\noperator 3\nreverses 40\nannual -15\n"
            )
        );
        for leaf in [award, reversal] {
            assert_eq!(PublicLeaf::decode(&leaf.encode()), Ok(leaf));
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = PublicLeaf::decode(&bytes);
        }

        #[test]
        fn any_changed_byte_changes_or_breaks_the_leaf(pos in 0usize..300, xor in 1u8..=255) {
            let e = entry(EntryKind::Deduction, 2, 9);
            let leaf = PublicLeaf::of_entry(&e, &[1u8; 32]);
            let mut bytes = leaf.encode();
            let i = pos % bytes.len();
            bytes[i] ^= xor;
            prop_assert_ne!(PublicLeaf::decode(&bytes).ok(), Some(leaf));
        }
    }
}
