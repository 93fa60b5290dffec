//! Imports: many members or entries in one command, all of them or, on the first
//! refusal, none. A row's refusal names its line when the caller gives one.

use std::collections::HashMap;

use jifen_core::{
    EntryKind, HouseholdId, IndicatorCode, IndicatorRef, MemberId, NewEntry, OperatorId, Points,
    Reason, RegionCode, Source,
};

use crate::admin::{self, NewMember};
use crate::attributes::{self, Attributes};
use crate::command::Command;
use crate::error::{Result, StoreError};
use crate::params;
use crate::sequencer::{Append, Batch};
use crate::workflow::{self, NewClaim};

/// A row's refusal, with the line it came from when there is one.
fn at(line: Option<u64>, e: impl std::fmt::Display) -> StoreError {
    match line {
        Some(l) => StoreError::Rejected(format!("line {l}: {e}")),
        None => StoreError::Rejected(e.to_string()),
    }
}

/// One member of an import: into a household that exists, or one made for them.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// The line of the file it came from, named in its refusal.
    pub line: Option<u64>,
    pub member: Option<MemberId>,
    pub household: HouseholdId,
    /// The label of a household this row makes (`户<number>` when none is given).
    pub household_label: Option<String>,
    pub name: String,
    /// Birth year and residence status, when the file has those columns.
    pub attributes: Attributes,
}

/// Adds many members in one write, making the households that do not exist yet.
/// Answers with their numbers.
#[derive(Debug, Clone)]
pub struct ImportMembers {
    pub region: RegionCode,
    pub rows: Vec<MemberRow>,
}

impl Command for ImportMembers {
    type Output = Vec<MemberId>;
    fn run(self, b: &mut Batch<'_>) -> Result<Vec<MemberId>> {
        let mut out = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            let line = row.line;
            let keep = |e: StoreError| match line {
                Some(_) => at(line, e),
                None => e,
            };
            if !household_exists(b, &self.region, row.household)? {
                let label = row
                    .household_label
                    .unwrap_or_else(|| format!("户{}", row.household));
                admin::insert_household(b, &self.region, Some(row.household), &label)
                    .map_err(keep)?;
            }
            let m = NewMember {
                region: self.region.clone(),
                id: row.member,
                household: row.household,
                name: row.name,
            };
            let id = admin::insert_member(b, &m).map_err(keep)?;
            if !row.attributes.is_empty() {
                attributes::put_in(b, &self.region, id, &row.attributes).map_err(keep)?;
            }
            out.push(id);
        }
        Ok(out)
    }
}

fn household_exists(b: &Batch<'_>, region: &RegionCode, household: HouseholdId) -> Result<bool> {
    let found: Option<i64> = b.conn().query_opt(
        "SELECT household FROM households WHERE region = ?1 AND household = ?2",
        params![region.as_str(), household.get()],
        |r| r.get(0),
    )?;
    Ok(found.is_some())
}

/// One entry of an import, as the file gives it.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub line: Option<u64>,
    pub member: MemberId,
    /// Award, deduction or base grant; other kinds are refused.
    pub kind: EntryKind,
    /// The points, as a whole number; its sign is the kind's.
    pub amount: i64,
    pub quantity: u32,
    /// The indicator and, when the file names one, its version (else the current).
    pub indicator: Option<(IndicatorCode, Option<u32>)>,
}

/// Imports entries under `operator`. A row whose indicator needs review becomes
/// a claim that someone other than the operator approves (four eyes).
#[derive(Debug, Clone)]
pub struct ImportEntries {
    pub region: RegionCode,
    pub operator: OperatorId,
    pub rows: Vec<EntryRow>,
}

/// What an import made: entries posted, and claims waiting for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub entries: usize,
    pub claims: usize,
}

impl Command for ImportEntries {
    type Output = Imported;
    fn run(self, b: &mut Batch<'_>) -> Result<Imported> {
        let region = &self.region;
        let mut latest: HashMap<String, u32> = HashMap::new();
        let mut done = Imported {
            entries: 0,
            claims: 0,
        };
        for row in self.rows {
            let (line, kind, amount, quantity) = (row.line, row.kind, row.amount, row.quantity);
            if !matches!(
                kind,
                EntryKind::Award | EntryKind::Deduction | EntryKind::BaseGrant
            ) {
                return Err(at(
                    line,
                    format!(
                        "a {kind} cannot be imported; only award, deduction and base-grant rows can"
                    ),
                ));
            }
            let indicator = match row.indicator {
                None => None,
                Some((code, Some(version))) => Some(IndicatorRef { code, version }),
                Some((code, None)) => {
                    let version = match latest.get(code.as_str()) {
                        Some(v) => *v,
                        None => {
                            let v = workflow::current_indicator(b.conn(), b.now(), region, &code)
                                .map_err(|e| at(line, e))?
                                .version;
                            latest.insert(code.as_str().to_owned(), v);
                            v
                        }
                    };
                    Some(IndicatorRef { code, version })
                }
            };
            if kind != EntryKind::BaseGrant {
                let Some(ind) = &indicator else {
                    return Err(at(
                        line,
                        format!(
                            "an {kind} row must name its indicator: points are granted and deducted only under the rulebook, with its review"
                        ),
                    ));
                };
                // Four eyes: under an indicator that needs review, the row is a claim
                // that someone other than the importing operator approves.
                let current = workflow::current_indicator(b.conn(), b.now(), region, &ind.code)
                    .map_err(|e| at(line, e))?;
                let total = current
                    .points
                    .abs()
                    .and_then(|p| p.checked_mul(i64::from(quantity)))
                    .unwrap_or(Points::ZERO);
                if current.review.approvals_needed(total) > 0 {
                    if ind.version != current.version {
                        return Err(at(
                            line,
                            format!(
                                "indicator {} needs review, so the row becomes a claim under its current version {}, not version {}",
                                ind.code, current.version, ind.version
                            ),
                        ));
                    }
                    if amount.checked_abs() != Some(total.get()) {
                        return Err(at(
                            line,
                            format!(
                                "amount {amount} is not {} points × quantity {quantity} = {} for indicator {}",
                                current.points.get().abs(),
                                total.get(),
                                ind.code
                            ),
                        ));
                    }
                    let claim = NewClaim {
                        region: region.clone(),
                        member: row.member,
                        indicator: ind.code.clone(),
                        quantity,
                        note: line
                            .map_or_else(|| "import".to_owned(), |l| format!("import line {l}")),
                        source: Source::Import,
                        submitted_by: self.operator,
                        by_staff: true,
                    };
                    workflow::submit_claim_in(b, claim).map_err(|e| at(line, e))?;
                    done.claims += 1;
                    continue;
                }
            }
            let entry = NewEntry {
                kind,
                member: row.member,
                amount: Points::new(
                    amount
                        .checked_abs()
                        .ok_or_else(|| at(line, "amount out of range"))?,
                ),
                indicator,
                quantity,
                reason: Reason::new(Source::Import, line.unwrap_or(0)),
                operator: self.operator,
                reverses: None,
                sponsor: None,
                counts_annual: false,
            };
            b.append(Append {
                region: region.clone(),
                entry,
                idempotency_key: None,
            })
            .map_err(|e| at(line, e))?;
            done.entries += 1;
        }
        Ok(done)
    }
}
