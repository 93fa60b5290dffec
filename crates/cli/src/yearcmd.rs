//! `jifen year close` and `jifen year report`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use jifen_core::{OperatorId, RegionCode};
use jifen_store::year::{CloseSummary, YearReport, report_csv};

#[derive(Subcommand)]
pub enum YearCommand {
    /// Close a year: freeze annual scores, assign levels, name model households,
    /// apply the expiry policy, and grant next year's base points. Running it again
    /// changes nothing; a close that stopped half-way resumes.
    Close {
        #[arg(long)]
        region: String,
        #[arg(long)]
        year: i32,
        /// The operator the close's entries name (default 1, the admin).
        #[arg(long, default_value_t = 1)]
        operator: i64,
    },
    /// A closed year's report: members per level, model households, totals per
    /// indicator and category.
    Report {
        #[arg(long)]
        region: String,
        #[arg(long)]
        year: i32,
        /// text, csv or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

fn print_summary(s: &CloseSummary) {
    println!(
        "{} {}: {}{}; {} members frozen, {} model households; granted {} points to {} members; expired {} points of {} members",
        s.region,
        s.year,
        s.status.as_str(),
        if s.already {
            " (already; nothing changed)"
        } else {
            ""
        },
        s.members,
        s.model_households,
        s.granted,
        s.granted_members,
        s.expired,
        s.expired_members
    );
}

fn print_text(r: &YearReport) {
    print_summary(&r.close);
    println!("levels:");
    for l in &r.levels {
        println!(
            "  {:<12} {:<16} {:>8} members{}",
            l.code.as_deref().unwrap_or("-"),
            if l.name.is_empty() {
                "(below)"
            } else {
                &l.name
            },
            l.members,
            l.min_score
                .map(|p| format!("  (from {p})"))
                .unwrap_or_default()
        );
    }
    println!(
        "model households: {} of {}",
        r.model_households.len(),
        r.households
    );
    for h in &r.model_households {
        println!(
            "  {:>6} {:<16} {:>3} members {:>8} points",
            h.household, h.label, h.members, h.score
        );
    }
    println!("totals:");
    for t in &r.totals {
        println!(
            "  {:<16} {:<16} {:<20} {:<8} {:>8} entries {:>10} points",
            t.kind.as_str(),
            t.indicator,
            t.name,
            t.category,
            t.entries,
            t.points
        );
    }
    println!("categories:");
    for (c, n, p) in &r.categories {
        println!("  {c:<8} {n:>8} entries {p:>10} points");
    }
}

pub fn run(data: &Path, cmd: YearCommand) -> Result<ExitCode> {
    match cmd {
        YearCommand::Close {
            region,
            year,
            operator,
        } => {
            let region = RegionCode::parse(&region).map_err(|e| anyhow!("--region: {e}"))?;
            let operator = OperatorId::new(operator).map_err(|e| anyhow!("--operator: {e}"))?;
            let store = crate::open_existing(data)?;
            let mut chunks = 0u64;
            let s = store.close_year(&region, year, operator, |s| {
                chunks += 1;
                if chunks.is_multiple_of(50) {
                    eprintln!("  ... {} members granted so far", s.granted_members);
                }
            });
            store.close();
            let s = s?;
            print_summary(&s);
            Ok(ExitCode::SUCCESS)
        }
        YearCommand::Report {
            region,
            year,
            format,
        } => {
            let region = RegionCode::parse(&region).map_err(|e| anyhow!("--region: {e}"))?;
            if !matches!(format.as_str(), "text" | "csv" | "json") {
                bail!("--format must be text, csv or json, not {format:?}");
            }
            let store = crate::open_existing(data)?;
            let r = store.year_report(&region, year);
            store.close();
            let r = r?;
            match format.as_str() {
                "csv" => print!("{}", report_csv(&r)),
                "json" => println!("{}", report_json(&r)),
                _ => print_text(&r),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The report as JSON, with the same fields the API's report has.
fn report_json(r: &YearReport) -> serde_json::Value {
    use serde_json::json;
    let c = &r.close;
    json!({
        "close": {
            "region": c.region.to_string(), "year": c.year, "status": c.status.as_str(),
            "members": c.members, "base_grant": c.base_grant.get(), "expiry_years": c.expiry_years,
            "granted": c.granted.get(), "granted_members": c.granted_members,
            "expired": c.expired.get(), "expired_members": c.expired_members,
            "model_households": c.model_households,
        },
        "levels": r.levels.iter().map(|l| json!({
            "code": l.code, "name": l.name, "min_score": l.min_score.map(|p| p.get()), "members": l.members,
        })).collect::<Vec<_>>(),
        "households": r.households,
        "model_households": r.model_households.iter().map(|h| json!({
            "household": h.household, "label": h.label, "members": h.members, "score": h.score.get(),
        })).collect::<Vec<_>>(),
        "totals": r.totals.iter().map(|t| json!({
            "kind": t.kind.as_str(), "indicator": t.indicator, "name": t.name, "category": t.category,
            "entries": t.entries, "points": t.points.get(),
        })).collect::<Vec<_>>(),
        "categories": r.categories.iter().map(|(c, n, p)| json!({
            "category": c, "entries": n, "points": p.get(),
        })).collect::<Vec<_>>(),
    })
}
