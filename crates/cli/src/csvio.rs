//! `jifen import` / `jifen export`: members and entries as CSV (UTF-8, header row).
//! An import is one write: a bad row is reported by its line number and reason,
//! and nothing of a failed import is kept.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use jifen_core::{EntryKind, HouseholdId, IndicatorCode, MemberId, OperatorId};
use jifen_store::{EntryRow, ImportEntries, ImportMembers, MemberRow, StoreError};

/// Most rows one import takes (it is one transaction).
pub const IMPORT_ROWS_MAX: usize = 1_000_000;

#[derive(Clone, Copy, ValueEnum)]
pub enum What {
    /// member,household,name[,household_label]
    Members,
    /// member,kind,amount[,indicator,indicator_version,quantity]; kind: award, deduction or base-grant
    Entries,
}

#[derive(Args)]
pub struct ImportArgs {
    what: What,
    #[arg(long)]
    region: String,
    /// The operator the imported entries name (default 1, the admin).
    #[arg(long, default_value_t = 1)]
    operator: i64,
    /// The CSV file; - for standard input.
    file: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    what: What,
    #[arg(long)]
    region: String,
    /// Where to write; standard output if not given.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A parsed CSV: its header's column positions and the rows with their line numbers.
struct Table {
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn read(file: &Path, required: &[&str]) -> Result<Table> {
        let mut input: Box<dyn Read> = if file.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
            )
        };
        let mut text = String::new();
        input
            .read_to_string(&mut text)
            .with_context(|| format!("{}: not UTF-8 text", file.display()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text); // a BOM from spreadsheet programs
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .context("line 1: cannot read the header row")?
            .clone();
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_lowercase(), i))
            .collect();
        for r in required {
            if !columns.contains_key(*r) {
                bail!(
                    "line 1: the header has no column {r:?} (it needs {})",
                    required.join(",")
                );
            }
        }
        let mut rows = Vec::new();
        let mut lines = LineCounter::new(text);
        for rec in reader.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                anyhow!("line {line}: {e}")
            })?;
            let line = rec.position().map_or(0, |p| lines.line_at(p.byte()));
            if rows.len() >= IMPORT_ROWS_MAX {
                bail!("line {line}: more than {IMPORT_ROWS_MAX} rows; split the file");
            }
            rows.push((line, rec));
        }
        if rows.is_empty() {
            bail!("{}: no rows after the header", file.display());
        }
        Ok(Table { columns, rows })
    }

    fn get<'a>(&self, rec: &'a csv::StringRecord, column: &str) -> Option<&'a str> {
        self.columns
            .get(column)
            .and_then(|i| rec.get(*i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Line numbers of byte offsets in a text, counted as a spreadsheet user sees them:
/// a line ends at "\n", "\r\n" or a lone "\r". (The csv reader's own count is one
/// short per "\r\n", the ending every Windows spreadsheet writes.) Offsets are
/// asked in increasing order, so the text is scanned once.
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line that holds byte `byte` (1 for the first).
    fn line_at(&mut self, byte: u64) -> u64 {
        let end = usize::try_from(byte).map_or(self.text.len(), |b| b.min(self.text.len()));
        if end < self.at {
            // Not expected (offsets come in order); count again from the start.
            self.at = 0;
            self.line = 1;
        }
        while self.at < end {
            match self.text[self.at] {
                b'\n' => self.line += 1,
                b'\r' if self.text.get(self.at + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.at += 1;
        }
        self.line
    }
}

fn line_err(line: u64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(format!("line {line}: {e}"))
}

pub fn import(data: &Path, args: ImportArgs) -> Result<ExitCode> {
    let region = crate::parse_region(&args.region)?;
    let operator = OperatorId::new(args.operator).map_err(|e| anyhow!("--operator: {e}"))?;
    let store = crate::open_existing(data)?;
    store.region(&region)?;
    let (what, n) = match args.what {
        What::Members => {
            let t = Table::read(&args.file, &["member", "household", "name"])?;
            let n = t.rows.len();
            store.run(ImportMembers {
                region: region.clone(),
                rows: member_rows(&t)?,
            })?;
            ("members", n)
        }
        What::Entries => {
            let t = Table::read(&args.file, &["member", "kind", "amount"])?;
            let n = t.rows.len();
            let claims = store
                .run(ImportEntries {
                    region: region.clone(),
                    operator,
                    rows: entry_rows(&t)?,
                })?
                .claims;
            store.close();
            if claims > 0 {
                println!(
                    "imported {} entries into {region}; {claims} rows under indicators that need review wait as claims in the review queue (someone other than operator {operator} must approve them)",
                    n - claims
                );
            } else {
                println!("imported {n} entries into {region}");
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    store.close();
    println!("imported {n} {what} into {region}");
    Ok(ExitCode::SUCCESS)
}

/// The members file's rows, parsed; the store checks the rest.
fn member_rows(t: &Table) -> jifen_store::Result<Vec<MemberRow>> {
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, rec) in &t.rows {
        let line = *line;
        let member = t
            .get(rec, "member")
            .map(MemberId::parse)
            .transpose()
            .map_err(|e| line_err(line, e))?;
        let household = HouseholdId::parse(t.get(rec, "household").unwrap_or(""))
            .map_err(|e| line_err(line, e))?;
        let name = t
            .get(rec, "name")
            .ok_or_else(|| line_err(line, "name is empty"))?;
        out.push(MemberRow {
            line: Some(line),
            member,
            household,
            household_label: t.get(rec, "household_label").map(str::to_owned),
            name: name.to_owned(),
        });
    }
    Ok(out)
}

/// The entries file's rows, parsed; the store checks the rest.
fn entry_rows(t: &Table) -> jifen_store::Result<Vec<EntryRow>> {
    let mut out = Vec::with_capacity(t.rows.len());
    for (line, rec) in &t.rows {
        let line = *line;
        let member =
            MemberId::parse(t.get(rec, "member").unwrap_or("")).map_err(|e| line_err(line, e))?;
        let kind =
            EntryKind::parse(t.get(rec, "kind").unwrap_or("")).map_err(|e| line_err(line, e))?;
        let amount: i64 = t
            .get(rec, "amount")
            .unwrap_or("")
            .parse()
            .map_err(|_| line_err(line, "amount is not a whole number"))?;
        let quantity: u32 = match t.get(rec, "quantity") {
            Some(q) => q
                .parse()
                .map_err(|_| line_err(line, "quantity is not a whole number"))?,
            None => 1,
        };
        let indicator = match t.get(rec, "indicator") {
            None => None,
            Some(code) => {
                let code = IndicatorCode::parse(code).map_err(|e| line_err(line, e))?;
                let version = t
                    .get(rec, "indicator_version")
                    .map(|v| {
                        v.parse()
                            .map_err(|_| line_err(line, "indicator_version is not a whole number"))
                    })
                    .transpose()?;
                Some((code, version))
            }
        };
        out.push(EntryRow {
            line: Some(line),
            member,
            kind,
            amount,
            quantity,
            indicator,
        });
    }
    Ok(out)
}

pub fn export(data: &Path, args: ExportArgs) -> Result<ExitCode> {
    let region = crate::parse_region(&args.region)?;
    let store = crate::open_existing(data)?;
    let info = store.region(&region)?;
    let out: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::Writer::from_writer(out);
    let offset = info.region.utc_offset_minutes;
    let fail = |e: csv::Error| StoreError::Io {
        path: "export".into(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut rows = 0u64;
    match args.what {
        What::Members => {
            w.write_record([
                "member",
                "household",
                "household_label",
                "name",
                "commitment",
            ])
            .map_err(fail)?;
            store.each_member(&region, |m| {
                w.write_record([
                    m.member.to_string(),
                    m.household.to_string(),
                    m.household_label,
                    m.name.unwrap_or_default(),
                    jifen_core::leaf::commitment_hex(&m.commitment),
                ])
                .map_err(fail)?;
                rows += 1;
                Ok(())
            })?;
        }
        What::Entries => {
            w.write_record([
                "id",
                "seq",
                "time",
                "kind",
                "member",
                "amount",
                "debit",
                "credit",
                "indicator",
                "indicator_version",
                "quantity",
                "reason",
                "operator",
                "reverses",
                "annual_delta",
            ])
            .map_err(fail)?;
            store.each_entry(&region, |e| {
                w.write_record([
                    format!("{}:{}", e.region, e.seq),
                    e.seq.to_string(),
                    e.time.to_rfc3339(offset),
                    e.kind.as_str().to_owned(),
                    e.member.to_string(),
                    e.amount.to_string(),
                    e.debit.to_key(),
                    e.credit.to_key(),
                    e.indicator
                        .as_ref()
                        .map(|i| i.code.to_string())
                        .unwrap_or_default(),
                    e.indicator
                        .as_ref()
                        .map(|i| i.version.to_string())
                        .unwrap_or_default(),
                    e.quantity.to_string(),
                    e.reason.to_text(),
                    e.operator.to_string(),
                    e.reverses.map(|s| s.to_string()).unwrap_or_default(),
                    e.annual_delta.to_string(),
                ])
                .map_err(fail)?;
                rows += 1;
                Ok(())
            })?;
        }
    }
    w.flush().context("writing the CSV")?;
    if let Some(p) = &args.out {
        eprintln!("exported {rows} rows to {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
