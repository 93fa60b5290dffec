//! `jifen import` / `jifen export`: members and entries as CSV (UTF-8, header row).
//! An import is one write: a bad row is reported by its line number and reason,
//! and nothing of a failed import is kept.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use jifen_core::OperatorId;
use jifen_store::{ImportEntries, ImportMembers, StoreError, entries_from_csv, members_from_csv};

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

/// The import file's text: a path, or - for standard input.
fn read_text(file: &Path) -> Result<String> {
    let mut input: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .with_context(|| format!("{}: not UTF-8 text", file.display()))?;
    Ok(text)
}

/// Refuses a file with no rows after its header, naming the file.
fn some_rows<T>(file: &Path, rows: Vec<T>) -> Result<Vec<T>> {
    if rows.is_empty() {
        bail!("{}: no rows after the header", file.display());
    }
    Ok(rows)
}

pub fn import(data: &Path, args: ImportArgs) -> Result<ExitCode> {
    let region = crate::parse_region(&args.region)?;
    let operator = OperatorId::new(args.operator).map_err(|e| anyhow!("--operator: {e}"))?;
    let store = crate::open_existing(data)?;
    store.region(&region)?;
    let (what, n) = match args.what {
        What::Members => {
            let rows = some_rows(&args.file, members_from_csv(&read_text(&args.file)?)?)?;
            let n = rows.len();
            store.run(ImportMembers {
                region: region.clone(),
                rows,
            })?;
            ("members", n)
        }
        What::Entries => {
            let rows = some_rows(&args.file, entries_from_csv(&read_text(&args.file)?)?)?;
            let n = rows.len();
            let claims = store
                .run(ImportEntries {
                    region: region.clone(),
                    operator,
                    rows,
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
