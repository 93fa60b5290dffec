//! `jifen evaluate`: a region's year evaluated, as text, JSON (the API's form) or CSV;
//! `jifen evaluate what-if` re-scores it with other values; `jifen evaluate export`
//! writes the third-party evaluation export.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use jifen_core::RegionCode;
use jifen_core::fairness::FAR_MADS;
use jifen_server::api::evaluation::{
    WarningOut, evaluation_out, export_files, parse_values, warning_out, what_if_out,
};
use jifen_store::evaluate::{
    CATEGORY_SHARE_WARN, COMPARE_DECISIONS_MIN, Distribution, Evaluation, RATE_DEVIATION_FLOOR,
    UPTAKE_WARN_FRACTION, WARN_GROUP_MEMBERS_MIN,
};
use jifen_store::export::{K_DEFAULT, K_MIN};
use jifen_store::whatif::{SUGGEST_RULE, Scenario, WhatIf};
use jifen_store::year::csv_field;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvaluateArgs {
    #[command(subcommand)]
    cmd: Option<EvaluateCommand>,
    #[arg(long, required = true)]
    region: Option<String>,
    #[arg(long, required = true)]
    year: Option<i32>,
    /// text, json or csv.
    #[arg(long, default_value = "text")]
    format: String,
}

#[derive(Subcommand)]
pub enum EvaluateCommand {
    /// Re-score the year from its recorded entries with other points per unit for
    /// some indicators, beside the year as it was, and a suggestion by a stated
    /// rule. Nothing changes: publish a new indicator version to change the rulebook.
    WhatIf {
        #[arg(long)]
        region: String,
        #[arg(long)]
        year: i32,
        /// A JSON ({"CODE": points}) or CSV (indicator,points) file; - for standard input.
        #[arg(long, conflicts_with = "latest", required_unless_present = "latest")]
        values: Option<PathBuf>,
        /// Every indicator at its latest version's points (one published for the next
        /// period included).
        #[arg(long)]
        latest: bool,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// The third-party evaluation export: DIR/rows.csv (one row per member-year,
    /// coarsened attributes, points per category) and DIR/manifest.txt (signed by
    /// the region's key, naming the checkpoint and the points per indicator).
    Export {
        #[arg(long)]
        region: String,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        out: PathBuf,
        /// Every combination of attributes is shared by at least k rows.
        #[arg(long, default_value_t = K_DEFAULT)]
        k: usize,
    },
}

pub fn run(data: &Path, a: EvaluateArgs) -> Result<ExitCode> {
    match a.cmd {
        Some(EvaluateCommand::WhatIf {
            region,
            year,
            values,
            latest,
            format,
        }) => return what_if(data, &region, year, values.as_deref(), latest, &format),
        Some(EvaluateCommand::Export {
            region,
            year,
            out,
            k,
        }) => return export(data, &region, year, &out, k),
        None => {}
    }
    let (Some(region), Some(year)) = (a.region, a.year) else {
        bail!("--region and --year are required");
    };
    let region = RegionCode::parse(&region).map_err(|e| anyhow!("--region: {e}"))?;
    if !matches!(a.format.as_str(), "text" | "csv" | "json") {
        bail!("--format must be text, json or csv, not {:?}", a.format);
    }
    let store = crate::open_existing(data)?;
    let e = store.evaluate(&region, year);
    store.close();
    let e = e?;
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&evaluation_out(&e))?),
        "csv" => print!("{}", csv(&e)),
        _ => print!("{}", text(&e)),
    }
    Ok(ExitCode::SUCCESS)
}

fn what_if(
    data: &Path,
    region: &str,
    year: i32,
    values: Option<&Path>,
    latest: bool,
    format: &str,
) -> Result<ExitCode> {
    let region = RegionCode::parse(region).map_err(|e| anyhow!("--region: {e}"))?;
    if !matches!(format, "text" | "json") {
        bail!("--format must be text or json, not {format:?}");
    }
    let proposal = match values {
        Some(p) => {
            let text = if p.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
            };
            Some(parse_values(&text).map_err(|e| anyhow!("--values: {}", e.detail))?)
        }
        None => None,
    };
    let store = crate::open_existing(data)?;
    let w = match proposal {
        Some(p) => store.what_if(&region, year, &p),
        None if latest => store
            .latest_values(&region)
            .and_then(|p| store.what_if(&region, year, &p)),
        None => unreachable!("clap requires --values or --latest"),
    };
    store.close();
    let w = w?;
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&what_if_out(&w))?);
    } else {
        print!("{}", what_if_text(&w));
    }
    Ok(ExitCode::SUCCESS)
}

fn scenario_lines(o: &mut String, label: &str, s: &Scenario) {
    let levels: Vec<String> = s
        .levels
        .iter()
        .map(|l| format!("{} {}", l.code.as_deref().unwrap_or("(none)"), l.members))
        .collect();
    let _ = writeln!(
        o,
        "{label}: {}; awarded {} points, members hold {} at the year's end",
        dist_line(&s.overall),
        s.awarded,
        s.liability
    );
    let _ = writeln!(o, "  members per level: {}", levels.join(", "));
}

fn what_if_text(w: &WhatIf) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} {}: what if", w.region, w.year);
    let changes = |o: &mut String, c: &[jifen_store::whatif::Change]| {
        for c in c {
            let _ = writeln!(
                o,
                "  {:<16} {:<20} {:>6} -> {:>6} a unit",
                c.indicator, c.name, c.today, c.proposed
            );
        }
    };
    changes(&mut o, &w.changes);
    scenario_lines(&mut o, "today   ", &w.today);
    scenario_lines(&mut o, "proposed", &w.proposed);
    let _ = writeln!(o, "mean score by group (today -> proposed):");
    for (t, p) in w.today.groups.iter().zip(&w.proposed.groups) {
        let _ = writeln!(
            o,
            "  {:<9} {:<8} {:>8.1} -> {:>8.1}   Gini {:.3} -> {:.3}",
            t.group.dimension.code(),
            t.group.band,
            t.figures.mean,
            p.figures.mean,
            t.figures.gini,
            p.figures.gini
        );
    }
    let _ = writeln!(o, "suggestion: {SUGGEST_RULE}");
    match &w.suggested {
        Ok(s) => {
            let _ = writeln!(o, "  for {} = {}:", s.group.dimension.code(), s.group.band);
            changes(&mut o, &s.changes);
            scenario_lines(&mut o, "suggested", &s.scenario);
        }
        Err(why) => {
            let _ = writeln!(o, "  none: {why}");
        }
    }
    o
}

fn export(data: &Path, region: &str, year: i32, out: &Path, k: usize) -> Result<ExitCode> {
    let region = RegionCode::parse(region).map_err(|e| anyhow!("--region: {e}"))?;
    if k < K_MIN {
        bail!("--k must be at least {K_MIN} (a group of one is a person), not {k}");
    }
    let (rows_path, manifest_path) = (out.join("rows.csv"), out.join("manifest.txt"));
    for p in [&rows_path, &manifest_path] {
        if p.exists() {
            bail!("{} exists already; choose another --out", p.display());
        }
    }
    let store = crate::open_existing(data)?;
    let files = export_files(&store, &region, year, k);
    store.close();
    let files = files.map_err(|e| anyhow!("{}", e.detail))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(&rows_path, &files.rows_csv)
        .with_context(|| format!("writing {}", rows_path.display()))?;
    std::fs::write(&manifest_path, &files.manifest)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    let line = |key: &str| {
        files
            .manifest
            .lines()
            .find_map(|l| l.strip_prefix(key).map(str::trim).map(str::to_owned))
            .unwrap_or_default()
    };
    println!(
        "{region} {year}: {} rows ({} coarsened, {} left out) at log size {}, k = {k}",
        line("rows "),
        line("coarsened "),
        line("suppressed "),
        line("checkpoint-size "),
    );
    println!(
        "wrote {} and {}",
        rows_path.display(),
        manifest_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn dist_line(d: &Distribution) -> String {
    format!(
        "{:>7} members, {:>6} take part ({:>7}), mean {:>8.1}, median {:>6}, p90 {:>6}, Gini {:.3}, top 10 % hold {:>7}, {} deductions ({} points)",
        d.members,
        d.participants,
        pct(d.participation()),
        d.mean,
        d.median,
        d.p90,
        d.gini,
        pct(d.top10_share),
        d.deductions,
        d.deducted
    )
}

fn warning_text(w: &WarningOut) -> String {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let f = |o: Option<f64>| pct(o.unwrap_or(0.0));
    match w.kind.as_str() {
        "category-dominates" => format!(
            "category {} carries {} of the points awarded (over {})",
            s(&w.category),
            f(w.share),
            pct(CATEGORY_SHARE_WARN)
        ),
        "low-uptake" => format!(
            "{} = {} take up {} at {}, under {} of the overall {}",
            s(&w.dimension),
            s(&w.band),
            s(&w.indicator),
            f(w.uptake),
            pct(UPTAKE_WARN_FRACTION),
            f(w.overall)
        ),
        "reviewer" => format!(
            "reviewer {} ({}) stands more than {FAR_MADS} median absolute deviations from the others",
            w.account.unwrap_or(0),
            s(&w.name)
        ),
        "same-household" => format!(
            "{} approvals were of a claim by the reviewer's own household",
            w.approvals.unwrap_or(0)
        ),
        "liability" => format!(
            "members hold {} points; sponsors' budgets can redeem {} more",
            w.outstanding.unwrap_or(0),
            w.redeemable.unwrap_or(0)
        ),
        other => other.to_owned(),
    }
}

fn text(e: &Evaluation) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {}: evaluated at log size {}",
        e.region, e.year, e.tree_size
    );
    let _ = writeln!(o, "overall: {}", dist_line(&e.overall));
    let _ = writeln!(o, "groups:");
    for g in &e.groups {
        let _ = writeln!(
            o,
            "  {:<9} {:<8} {}",
            g.group.dimension.code(),
            g.group.band,
            dist_line(&g.figures)
        );
    }
    let months: Vec<String> = e.participants_by_month.iter().map(u64::to_string).collect();
    let _ = writeln!(o, "taking part by month: {}", months.join(" "));
    let _ = writeln!(o, "categories (points awarded):");
    for c in &e.categories {
        let _ = writeln!(
            o,
            "  {:<12} {:>10} {:>8}",
            c.category,
            c.points,
            pct(c.share)
        );
    }
    let _ = writeln!(o, "indicators:");
    for u in &e.indicators {
        let _ = writeln!(
            o,
            "  {:<16} {:<20} {:<8} {:>8} entries {:>10} points {:>7} members ({})",
            u.code,
            u.name,
            u.category,
            u.entries,
            u.points,
            u.members,
            pct(u.uptake)
        );
    }
    let _ = writeln!(
        o,
        "reviewers (compared when {COMPARE_DECISIONS_MIN}+ decisions; far: over {FAR_MADS} MADs, at least {} for rates):",
        pct(RATE_DEVIATION_FLOOR)
    );
    for r in &e.reviewers {
        let _ = writeln!(
            o,
            "  {:>6} {:<12} {:>6} decisions, {:>7} approved, median {:>6.1} h, {:>8} points, {} own household{}",
            r.account,
            r.name,
            r.decisions,
            pct(r.approval_rate),
            r.median_decide_ms as f64 / 3_600_000.0,
            r.points_approved,
            r.same_household,
            match (r.far_rate, r.far_points) {
                (true, true) => "  FAR (rate, points)",
                (true, false) => "  FAR (rate)",
                (false, true) => "  FAR (points)",
                _ => "",
            }
        );
    }
    let a = &e.appeals;
    let h = |ms: Option<i64>| {
        ms.map_or("-".to_owned(), |m| {
            format!("{:.1} h", m as f64 / 3_600_000.0)
        })
    };
    let _ = writeln!(
        o,
        "appeals: {} filed, {} open, {} upheld, {} overturned, {} adjusted, {} withdrawn; changed {}; median {}, p90 {}; {} past the deadline",
        a.filed,
        a.open,
        a.upheld,
        a.overturned,
        a.adjusted,
        a.withdrawn,
        pct(a.changed_share),
        h(a.median_decide_ms),
        h(a.p90_decide_ms),
        a.past_deadline
    );
    let _ = writeln!(o, "budget (issued, redeemed, held at month end):");
    for b in &e.budget {
        let _ = writeln!(
            o,
            "  {} {:>10} {:>10} {:>12}",
            b.month, b.issued, b.redeemed, b.outstanding
        );
    }
    let _ = writeln!(o, "  sponsors can still redeem {}", e.redeemable);
    let _ = writeln!(
        o,
        "warnings (groups under {WARN_GROUP_MEMBERS_MIN} members are not warned of): {}",
        e.warnings.len()
    );
    for w in &e.warnings {
        let _ = writeln!(o, "  {}", warning_text(&warning_out(w)));
    }
    o
}

/// One figure a line: `section,dimension,band,key,value`.
fn csv(e: &Evaluation) -> String {
    let mut o = String::from("section,dimension,band,key,value\n");
    let mut row = |section: &str, dimension: &str, band: &str, key: &str, value: String| {
        let cols = [section, dimension, band, key, &value];
        o.push_str(
            &cols
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        o.push('\n');
    };
    let dist = |row: &mut dyn FnMut(&str, &str, &str, &str, String),
                d: &str,
                b: &str,
                x: &Distribution| {
        row("distribution", d, b, "members", x.members.to_string());
        row(
            "distribution",
            d,
            b,
            "participants",
            x.participants.to_string(),
        );
        row("distribution", d, b, "mean", format!("{:.3}", x.mean));
        row("distribution", d, b, "median", x.median.to_string());
        row("distribution", d, b, "p90", x.p90.to_string());
        row("distribution", d, b, "gini", format!("{:.6}", x.gini));
        row(
            "distribution",
            d,
            b,
            "top10_share",
            format!("{:.6}", x.top10_share),
        );
        row("distribution", d, b, "deductions", x.deductions.to_string());
        row("distribution", d, b, "deducted", x.deducted.to_string());
        for (p, y) in &x.lorenz {
            row("lorenz", d, b, &format!("{p:.2}"), format!("{y:.6}"));
        }
    };
    row("summary", "", "", "tree_size", e.tree_size.to_string());
    dist(&mut row, "all", "", &e.overall);
    for g in &e.groups {
        dist(&mut row, g.group.dimension.code(), g.group.band, &g.figures);
    }
    for (m, n) in e.participants_by_month.iter().enumerate() {
        row(
            "month",
            "",
            "",
            &format!("{:04}-{:02}", e.year, m + 1),
            n.to_string(),
        );
    }
    for c in &e.categories {
        row("category", "", "", &c.category, c.points.to_string());
    }
    for u in &e.indicators {
        row(
            "indicator",
            "",
            "",
            &format!("{}.entries", u.code),
            u.entries.to_string(),
        );
        row(
            "indicator",
            "",
            "",
            &format!("{}.points", u.code),
            u.points.to_string(),
        );
        row(
            "indicator",
            "",
            "",
            &format!("{}.members", u.code),
            u.members.to_string(),
        );
        for (g, up) in e.groups.iter().zip(&u.uptake_by_group) {
            row(
                "uptake",
                g.group.dimension.code(),
                g.group.band,
                &u.code,
                format!("{up:.6}"),
            );
        }
    }
    for r in &e.reviewers {
        let k = |what: &str| format!("{}.{what}", r.account);
        row("reviewer", "", "", &k("decisions"), r.decisions.to_string());
        row("reviewer", "", "", &k("approvals"), r.approvals.to_string());
        row(
            "reviewer",
            "",
            "",
            &k("median_decide_ms"),
            r.median_decide_ms.to_string(),
        );
        row(
            "reviewer",
            "",
            "",
            &k("points_approved"),
            r.points_approved.to_string(),
        );
        row(
            "reviewer",
            "",
            "",
            &k("same_household"),
            r.same_household.to_string(),
        );
        row(
            "reviewer",
            "",
            "",
            &k("far"),
            (r.far_rate || r.far_points).to_string(),
        );
    }
    let a = &e.appeals;
    for (k, v) in [
        ("filed", a.filed),
        ("open", a.open),
        ("upheld", a.upheld),
        ("overturned", a.overturned),
        ("adjusted", a.adjusted),
        ("withdrawn", a.withdrawn),
        ("past_deadline", a.past_deadline),
    ] {
        row("appeals", "", "", k, v.to_string());
    }
    for b in &e.budget {
        row(
            "budget",
            "",
            "",
            &format!("{}.issued", b.month),
            b.issued.to_string(),
        );
        row(
            "budget",
            "",
            "",
            &format!("{}.redeemed", b.month),
            b.redeemed.to_string(),
        );
        row(
            "budget",
            "",
            "",
            &format!("{}.outstanding", b.month),
            b.outstanding.to_string(),
        );
    }
    row("budget", "", "", "redeemable", e.redeemable.to_string());
    for w in &e.warnings {
        let w = warning_out(w);
        row("warning", "", "", &w.kind, warning_text(&w));
    }
    o
}
