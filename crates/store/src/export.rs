//! The third-party evaluation export: one row per member-year with only coarsened
//! attributes (age band, residence status, household size band) and the year's
//! points per category, no member number, name, phone or commitment; and a manifest
//! signed by the region's key that names the checkpoint the figures were taken at
//! and the points per indicator, which an evaluator checks against the public log.
//!
//! k-anonymity: a combination of attributes shared by fewer than `k` rows is
//! generalised a step at a time, only for the rows that need it: first the age and
//! household bands are merged with their neighbours, then the residence status is
//! hidden, then everything is; rows still in a combination of fewer than `k` are
//! left out (suppressed) and their points are given in the manifest as one sum, so
//! the totals still add up. Each step's values differ from every other step's, so a
//! combination in the file is one step's and holds at least `k` rows.

use std::collections::HashMap;
use std::fmt::Write as _;

use jifen_core::fairness::AgeBand;
use jifen_core::{EntryKind, RegionCode};
use sha2::{Digest, Sha256};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::evaluate::{Population, month_starts};
use crate::keys::KeyDir;
use crate::params;
use crate::read::latest_checkpoint;
use crate::sql::Conn;
use crate::year::csv_field;

/// The least `k` an export may have.
pub const K_MIN: usize = 2;
/// The `k` when none is given.
pub const K_DEFAULT: usize = 5;
/// The first line of a manifest.
pub const MANIFEST_HEADER: &str = "jifen evaluation export v1";
/// What a hidden attribute reads as.
pub const HIDDEN: &str = "*";

/// A member's attributes as exported: age band, residence status, household band.
pub type Combination = [&'static str; 3];

/// One exported member-year.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub attributes: Combination,
    /// The annual score.
    pub score: i64,
    /// Points under each category's indicators, in [`Export::categories`] order.
    pub by_category: Vec<i64>,
}

/// Points under one indicator in the year, as the log shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorTotal {
    pub code: String,
    pub category: String,
    /// Awards and deductions under it.
    pub entries: u64,
    /// Their effect on annual scores, signed.
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub region: RegionCode,
    pub year: i32,
    pub k: usize,
    /// The year's bounds in the region's time, as Unix milliseconds (end excluded).
    pub from_ms: i64,
    pub to_ms: i64,
    /// The checkpoint the figures rest on: entries `0..size` of the log.
    pub checkpoint: jifen_log::Checkpoint,
    pub categories: Vec<String>,
    pub rows: Vec<ExportRow>,
    /// Rows whose attributes were generalised, and rows left out.
    pub coarsened: u64,
    pub suppressed: u64,
    /// The left-out rows' points per category and score, summed.
    pub suppressed_by_category: Vec<i64>,
    pub suppressed_score: i64,
    pub indicators: Vec<IndicatorTotal>,
}

fn coarse_age(code: &'static str) -> &'static str {
    AgeBand::ALL
        .iter()
        .find(|b| b.code() == code)
        .map_or(code, |b| b.coarse_code())
}

fn coarse_household(code: &'static str) -> &'static str {
    match code {
        "1" | "2" => "1-2",
        "3-4" | "5+" => "3+",
        other => other,
    }
}

/// The generalisation steps, finest first.
fn step(level: usize, c: Combination) -> Combination {
    match level {
        0 => c,
        1 => [coarse_age(c[0]), c[1], coarse_household(c[2])],
        2 => [coarse_age(c[0]), HIDDEN, coarse_household(c[2])],
        _ => [HIDDEN, HIDDEN, HIDDEN],
    }
}

/// Generalises `rows`' combinations until each is shared by at least `k` rows.
/// Returns each row's combination, `None` for a row to leave out.
pub fn anonymise(rows: &[Combination], k: usize) -> Vec<Option<Combination>> {
    let mut out: Vec<Option<Combination>> = vec![None; rows.len()];
    let mut left: Vec<usize> = (0..rows.len()).collect();
    for level in 0..4 {
        let mut count: HashMap<Combination, usize> = HashMap::new();
        for &i in &left {
            *count.entry(step(level, rows[i])).or_default() += 1;
        }
        left.retain(|&i| {
            let c = step(level, rows[i]);
            if count[&c] >= k {
                out[i] = Some(c);
                false
            } else {
                true
            }
        });
    }
    out
}

/// The export of `region`'s `year` at the latest checkpoint, with every combination
/// shared by at least `k` rows. A refusal naming `k` below [`K_MIN`], naming `year`
/// for a year without entries.
pub fn export_in(c: &Conn, region: &RegionCode, year: i32, k: usize) -> Result<Export> {
    if k < K_MIN {
        return Err(StoreError::field(
            "k",
            format!("k must be at least {K_MIN} (a group of one is a person), not {k}"),
        ));
    }
    let bounds = month_starts(c, region, year)?;
    let (from_ms, to_ms) = (bounds[0], bounds[12]);
    let (checkpoint, _) = latest_checkpoint(c, region)?;
    let size = i64::try_from(checkpoint.size).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let pop = Population::load(c, region, year, to_ms)?;
    let (_, visible) = crate::admin::lineage_indicators(c, region)?;
    let category_of: HashMap<&str, &str> = visible
        .iter()
        .map(|i| (i.code.as_str(), i.category.as_str()))
        .collect();
    let mut categories: Vec<String> = visible.iter().map(|i| i.category.clone()).collect();
    categories.sort();
    categories.dedup();

    let n = pop.member_groups.len();
    let mut score = vec![0i64; n];
    let mut by_category = vec![vec![0i64; categories.len()]; n];
    let mut indicators: Vec<IndicatorTotal> = Vec::new();
    let mut indicator_pos: HashMap<String, usize> = HashMap::new();
    let mut any = false;
    c.query_each(
        "SELECT member, kind, indicator, annual_delta FROM entries \
         WHERE region = ?1 AND seq < ?2 AND time_ms >= ?3 AND time_ms < ?4",
        params![region.as_str(), size, from_ms, to_ms],
        |r| {
            any = true;
            let member: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let indicator: Option<String> = r.get(2)?;
            let annual: i64 = r.get(3)?;
            let kind = EntryKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let m = pop.index.get(&member).copied();
            if let Some(m) = m {
                score[m] += annual;
            }
            let (Some(code), EntryKind::Award | EntryKind::Deduction) = (indicator, kind) else {
                return Ok(());
            };
            let category = category_of.get(code.as_str()).copied().unwrap_or("");
            let at = match indicator_pos.get(&code) {
                Some(&at) => at,
                None => {
                    indicators.push(IndicatorTotal {
                        code: code.clone(),
                        category: category.to_owned(),
                        entries: 0,
                        points: 0,
                    });
                    indicator_pos.insert(code, indicators.len() - 1);
                    indicators.len() - 1
                }
            };
            indicators[at].entries += 1;
            indicators[at].points += annual;
            if let Some(m) = m {
                let cat = categories.iter().position(|x| x == category);
                match cat {
                    Some(cat) => by_category[m][cat] += annual,
                    None => {
                        categories.push(category.to_owned());
                        for row in &mut by_category {
                            row.push(0);
                        }
                        let last = categories.len() - 1;
                        by_category[m][last] += annual;
                    }
                }
            }
            Ok(())
        },
    )?;
    if !any {
        return Err(StoreError::field(
            "year",
            format!("region {region} has no entries in {year}"),
        ));
    }
    indicators.sort_by(|a, b| a.code.cmp(&b.code));

    let groups = &pop.groups;
    let combos: Vec<Combination> = pop
        .member_groups
        .iter()
        .map(|g| [groups[g[0]].band, groups[g[1]].band, groups[g[2]].band])
        .collect();
    let placed = anonymise(&combos, k);
    let mut rows = Vec::new();
    let (mut coarsened, mut suppressed) = (0u64, 0u64);
    let mut suppressed_by_category = vec![0i64; categories.len()];
    let mut suppressed_score = 0i64;
    for (m, p) in placed.into_iter().enumerate() {
        match p {
            Some(attributes) => {
                if attributes != combos[m] {
                    coarsened += 1;
                }
                rows.push(ExportRow {
                    attributes,
                    score: score[m],
                    by_category: std::mem::take(&mut by_category[m]),
                });
            }
            None => {
                suppressed += 1;
                suppressed_score += score[m];
                for (s, x) in suppressed_by_category.iter_mut().zip(&by_category[m]) {
                    *s += x;
                }
            }
        }
    }
    // Rows sorted by their values, so nothing of the members' order shows.
    rows.sort_by(|a, b| {
        a.attributes
            .cmp(&b.attributes)
            .then(a.score.cmp(&b.score))
            .then(a.by_category.cmp(&b.by_category))
    });
    Ok(Export {
        region: region.clone(),
        year,
        k,
        from_ms,
        to_ms,
        checkpoint,
        categories,
        rows,
        coarsened,
        suppressed,
        suppressed_by_category,
        suppressed_score,
        indicators,
    })
}

impl Export {
    /// The rows as CSV: `age_band,residence,household_band,score`, then one column
    /// per category.
    pub fn rows_csv(&self) -> String {
        let mut out = String::from("age_band,residence,household_band,score");
        for c in &self.categories {
            out.push(',');
            out.push_str(&csv_field(c));
        }
        out.push('\n');
        for r in &self.rows {
            let _ = write!(
                out,
                "{},{},{},{}",
                r.attributes[0], r.attributes[1], r.attributes[2], r.score
            );
            for x in &r.by_category {
                let _ = write!(out, ",{x}");
            }
            out.push('\n');
        }
        out
    }

    /// The manifest's text (before signing): what the export holds, the checkpoint,
    /// the SHA-256 of [`Export::rows_csv`], and the points per indicator and category.
    pub fn manifest_text(&self, rows_csv: &str) -> String {
        let mut out = format!("{MANIFEST_HEADER}\n");
        let body = self.checkpoint.to_text();
        let mut cp = body.lines();
        let _ = writeln!(out, "region {}", self.region);
        let _ = writeln!(out, "year {}", self.year);
        let _ = writeln!(out, "from-ms {}", self.from_ms);
        let _ = writeln!(out, "to-ms {}", self.to_ms);
        let _ = writeln!(out, "checkpoint-origin {}", cp.next().unwrap_or(""));
        let _ = writeln!(out, "checkpoint-size {}", cp.next().unwrap_or(""));
        let _ = writeln!(out, "checkpoint-root {}", cp.next().unwrap_or(""));
        let _ = writeln!(out, "k {}", self.k);
        let _ = writeln!(out, "rows {}", self.rows.len());
        let _ = writeln!(out, "coarsened {}", self.coarsened);
        let _ = writeln!(out, "suppressed {}", self.suppressed);
        let _ = writeln!(out, "suppressed-score {}", self.suppressed_score);
        let digest = Sha256::digest(rows_csv.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "rows-sha256 {hex}");
        for (c, s) in self.categories.iter().zip(&self.suppressed_by_category) {
            let _ = writeln!(out, "suppressed-category {s} {}", one_line(c));
        }
        for i in &self.indicators {
            let _ = writeln!(
                out,
                "indicator {} {} {} {}",
                i.code,
                i.entries,
                i.points,
                one_line(&i.category)
            );
        }
        out
    }
}

fn one_line(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.replace(['\n', '\r'], " ")
    }
}

impl Store {
    /// [`export_in`] in one read transaction.
    pub fn evaluation_export(&self, region: &RegionCode, year: i32, k: usize) -> Result<Export> {
        self.read(|c| export_in(c, region, year, k))
    }

    /// Signs `text` as a signed note with the region's log key (the key its
    /// checkpoints are signed with, under the log's origin), so anyone holding the
    /// region's verifier key can check it. `text` must not be a checkpoint: callers
    /// start it with their own header line.
    pub fn sign_note(&self, region: &RegionCode, text: &str) -> Result<String> {
        let (origin, vkey): (String, String) = self
            .read(|c| {
                c.query_opt(
                    "SELECT origin, vkey FROM regions WHERE region = ?1",
                    params![region.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })?
            .ok_or_else(|| StoreError::NotFound(format!("region {region}")))?;
        let key = KeyDir::new(self.dir())?.load(region.as_str())?;
        let signer = jifen_log::NoteSigner::new(&origin, key)?;
        if signer.vkey() != vkey {
            return Err(StoreError::Corrupt(format!(
                "region {region}: the key in keys/ does not match the verifier key in the database"
            )));
        }
        Ok(signer.sign(text)?)
    }
}
