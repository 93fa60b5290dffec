//! The double-entry ledger: balances per account, annual scores per member and
//! year, and the invariant that a region's accounts sum to zero.

use std::collections::HashMap;

use crate::{Account, Entry, MemberId, Points, entry::EntryError};

/// Balances derived from entries. The sequencer keeps the same sums in the store;
/// the offline audit rebuilds them with this type and compares.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ledger {
    /// Spendable balance of member accounts; balance of system accounts.
    pub balances: HashMap<Account, Points>,
    /// Annual score per (member, local year).
    pub annual: HashMap<(MemberId, i32), Points>,
    /// Net flow into each member's account per local year; their sum is the balance.
    pub flows: HashMap<(MemberId, i32), Points>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one entry; `year` is the entry's local year in its region.
    pub fn apply(&mut self, entry: &Entry, year: i32) -> Result<(), EntryError> {
        debug_assert!(
            entry.amount.is_positive(),
            "posted entries move a positive amount"
        );
        let from = self.balances.entry(entry.debit.clone()).or_default();
        *from = from.checked_sub(entry.amount)?;
        let to = self.balances.entry(entry.credit.clone()).or_default();
        *to = to.checked_add(entry.amount)?;
        if entry.annual_delta != Points::ZERO {
            let a = self.annual.entry((entry.member, year)).or_default();
            *a = a.checked_add(entry.annual_delta)?;
        }
        if let Some(m) = entry.debit.member() {
            let f = self.flows.entry((m, year)).or_default();
            *f = f.checked_sub(entry.amount)?;
        }
        if let Some(m) = entry.credit.member() {
            let f = self.flows.entry((m, year)).or_default();
            *f = f.checked_add(entry.amount)?;
        }
        Ok(())
    }

    /// Sum over all accounts; zero for any ledger built only by [`Ledger::apply`].
    pub fn total(&self) -> Result<Points, EntryError> {
        self.balances
            .values()
            .try_fold(Points::ZERO, |acc, p| acc.checked_add(*p))
            .map_err(EntryError::from)
    }

    pub fn balance(&self, account: &Account) -> Points {
        self.balances.get(account).copied().unwrap_or_default()
    }

    pub fn annual_score(&self, member: MemberId, year: i32) -> Points {
        self.annual
            .get(&(member, year))
            .copied()
            .unwrap_or_default()
    }

    pub fn net_flow(&self, member: MemberId, year: i32) -> Points {
        self.flows.get(&(member, year)).copied().unwrap_or_default()
    }

    /// Points the region owes its residents: the sum of member balances.
    pub fn outstanding(&self) -> Result<Points, EntryError> {
        self.balances
            .iter()
            .filter(|(a, _)| matches!(a, Account::Member(_)))
            .try_fold(Points::ZERO, |acc, (_, p)| acc.checked_add(*p))
            .map_err(EntryError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        EntryKind, IndicatorCode, IndicatorRef, NewEntry, OperatorId, Reason, RegionCode, Source,
        SponsorCode, Timestamp,
    };
    use proptest::prelude::*;

    fn new_entry(kind: EntryKind, member: i64, amount: i64, reverses: Option<u64>) -> NewEntry {
        NewEntry {
            kind,
            member: MemberId::new(member).expect("positive"),
            amount: Points::new(amount),
            indicator: Some(IndicatorRef {
                code: IndicatorCode::parse("X").expect("valid"),
                version: 1,
            }),
            quantity: 1,
            reason: Reason::new(Source::Direct, 1),
            operator: OperatorId::new(1).expect("positive"),
            reverses,
            sponsor: Some(SponsorCode::parse("coop").expect("valid")),
            counts_annual: member % 2 == 0,
        }
    }

    proptest! {
        /// Any sequence of entries, reversals included, keeps the region's sum at zero,
        /// and the annual score equals the sum of annual effects.
        #[test]
        fn sum_is_always_zero(ops in proptest::collection::vec((0usize..9, 1i64..5, 1i64..500, any::<prop::sample::Index>()), 1..200)) {
            let region = RegionCode::parse("r").expect("valid");
            let mut ledger = Ledger::new();
            let mut posted: Vec<(Entry, Points)> = Vec::new();
            let mut annual_expected: HashMap<MemberId, i64> = HashMap::new();
            for (k, member, amount, pick) in ops {
                let kind = EntryKind::ALL[k];
                let seq = posted.len() as u64;
                let t = Timestamp::from_millis(1_767_225_600_000);
                let entry = if kind == EntryKind::Reversal {
                    let candidates: Vec<usize> = (0..posted.len())
                        .filter(|i| crate::entry::reversible(posted[*i].0.kind) && posted[*i].1 < posted[*i].0.amount)
                        .collect();
                    if candidates.is_empty() { continue; }
                    let i = candidates[pick.index(candidates.len())];
                    let (orig, done) = posted[i].clone();
                    let left = orig.amount.get() - done.get();
                    let amt = 1 + (amount - 1) % left;
                    let ne = new_entry(kind, orig.member.get(), amt, Some(orig.seq));
                    let e = ne.post(&region, seq, t, Some((&orig, done))).expect("valid reversal");
                    posted[i].1 = Points::new(done.get() + amt);
                    e
                } else {
                    new_entry(kind, member, amount, None).post(&region, seq, t, None).expect("valid entry")
                };
                let reversed = entry.reverses.map(|s| posted[s as usize].0.clone());
                prop_assert!(entry.check_rules(reversed.as_ref()).is_ok());
                *annual_expected.entry(entry.member).or_default() += entry.annual_delta.get();
                ledger.apply(&entry, 2026).expect("no overflow");
                posted.push((entry, Points::ZERO));
                prop_assert_eq!(ledger.total(), Ok(Points::ZERO));
            }
            for (m, a) in annual_expected {
                prop_assert_eq!(ledger.annual_score(m, 2026).get(), a);
            }
        }
    }

    #[test]
    fn tampered_accounts_fail_the_rules() {
        let region = RegionCode::parse("r").expect("valid");
        let mut e = new_entry(EntryKind::Award, 1, 5, None)
            .post(&region, 0, Timestamp::from_millis(0), None)
            .expect("valid");
        assert!(e.check_rules(None).is_ok());
        e.credit = Account::Penalty;
        assert!(e.check_rules(None).is_err());
        e.credit = Account::Member(MemberId::new(1).expect("positive"));
        e.annual_delta = Points::new(6);
        assert!(e.check_rules(None).is_err());
    }
}
