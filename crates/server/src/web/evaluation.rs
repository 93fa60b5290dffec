//! The evaluation pages, for a region's admins and its auditor (aggregates only):
//! the year's participation, inequality, indicators, reviewers, appeals and budget
//! with server-rendered SVG charts and the rules the warnings follow; the what-if
//! for proposed point values; and the third-party export as a download. Each calls
//! the API.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use jifen_core::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx::{Ctx, n, s};
use super::public::region_for;
use crate::AppState;
use crate::api::evaluation::year_of;
use jifen_store::export::K_DEFAULT;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{region}/evaluation", get(evaluation))
        .route(
            "/r/{region}/evaluation/what-if",
            get(what_if_form).post(what_if_post),
        )
        .route("/r/{region}/evaluation/export", get(export))
}

const ROLES: &[Role] = &[Role::Admin, Role::Auditor];
/// Width of a horizontal bar at 100 %, in SVG units.
const BAR_W: f64 = 130.0;
/// Height of one row of a bar chart.
const ROW_H: i64 = 18;
/// Height of the month charts' plot area.
const PLOT_H: f64 = 100.0;

#[derive(Deserialize, Default)]
#[serde(default)]
struct YearQ {
    year: String,
}

/// One bar of a horizontal chart: a group's label, its bar and its value in words.
pub struct HBar {
    pub y: i64,
    pub w: f64,
    pub label: String,
    pub value: String,
}

/// One month of a vertical chart.
pub struct VBar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub month: u32,
    pub value: String,
}

pub struct GroupRow {
    pub label: String,
    pub members: i64,
    pub participation: String,
    pub mean: String,
    pub median: i64,
    pub gini: String,
    pub top10: String,
    pub deductions: i64,
    pub deducted: i64,
}

pub struct IndicatorRow {
    pub code: String,
    pub name: String,
    pub category: String,
    pub entries: i64,
    pub points: i64,
    pub uptake: String,
}

pub struct CategoryRow {
    pub category: String,
    pub points: i64,
    pub share: String,
}

pub struct ReviewerRow {
    pub name: String,
    pub decisions: i64,
    pub rate: String,
    pub hours: String,
    pub points: i64,
    pub same_household: i64,
    pub far: bool,
}

pub struct BudgetRow {
    pub month: String,
    pub issued: i64,
    pub redeemed: i64,
    pub outstanding: i64,
}

/// The budget chart: issued and redeemed bars per month, the liability as a line,
/// what sponsors can still redeem as a level line.
pub struct BudgetChart {
    pub issued: Vec<VBar>,
    pub redeemed: Vec<VBar>,
    pub outstanding: String,
    pub redeemable_y: f64,
    pub top: i64,
}

#[derive(Template)]
#[template(path = "evaluation.html")]
struct EvaluationPage<'a> {
    c: &'a Ctx,
    region: String,
    year: i32,
    /// Set when the year could not be evaluated (no entries): the reason.
    missing: Option<String>,
    tree_size: i64,
    overall: GroupRow,
    warnings: Vec<String>,
    participation: Vec<HBar>,
    participation_h: i64,
    means: Vec<HBar>,
    months: Vec<VBar>,
    lorenz: String,
    groups: Vec<GroupRow>,
    indicators: Vec<IndicatorRow>,
    categories: Vec<CategoryRow>,
    reviewers: Vec<ReviewerRow>,
    reviewer_rule: String,
    appeals: Vec<(String, String)>,
    budget: Vec<BudgetRow>,
    budget_chart: BudgetChart,
    redeemable: i64,
    rules: Vec<String>,
    k_default: usize,
}

/// The items of the list `v[k]` (none when it is not a list).
fn each<'a>(v: &'a Value, k: &str) -> impl Iterator<Item = &'a Value> {
    v[k].as_array().into_iter().flatten()
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}

fn group_label(c: &Ctx, g: &Value) -> String {
    format!(
        "{}: {}",
        c.word("dim", &s(g, "dimension")),
        c.word("band", &s(g, "band"))
    )
}

fn group_row(label: String, g: &Value) -> GroupRow {
    GroupRow {
        label,
        members: n(g, "members"),
        participation: pct(f(g, "participation")),
        mean: format!("{:.1}", f(g, "mean")),
        median: n(g, "median"),
        gini: format!("{:.3}", f(g, "gini")),
        top10: pct(f(g, "top10_share")),
        deductions: n(g, "deductions"),
        deducted: n(g, "deducted"),
    }
}

async fn the_year(c: &Ctx, region: &jifen_core::RegionCode, q: &str) -> Result<i32, String> {
    if q.trim().is_empty() {
        Ok(c.this_year(region).await)
    } else {
        year_of(Some(q)).map_err(|e| e.detail)
    }
}

/// The warnings in words, in the page's language; `names` gives indicators' names.
fn warning_text(c: &Ctx, w: &Value, names: &std::collections::HashMap<String, String>) -> String {
    let group = || {
        format!(
            "{}: {}",
            c.word("dim", &s(w, "dimension")),
            c.word("band", &s(w, "band"))
        )
    };
    match s(w, "kind").as_str() {
        "category-dominates" => c.tr2("eval.warn.category", s(w, "category"), pct(f(w, "share"))),
        "low-uptake" => format!(
            "{} {}",
            c.tr2(
                "eval.warn.uptake",
                group(),
                names
                    .get(&s(w, "indicator"))
                    .cloned()
                    .unwrap_or_else(|| s(w, "indicator"))
            ),
            c.tr2(
                "eval.warn.uptake_figures",
                pct(f(w, "uptake")),
                pct(f(w, "overall"))
            )
        ),
        "reviewer" => c.tr1("eval.warn.reviewer", s(w, "name")),
        "same-household" => c.tr1("eval.warn.household", n(w, "approvals")),
        "liability" => c.tr2(
            "eval.warn.liability",
            n(w, "outstanding"),
            n(w, "redeemable"),
        ),
        other => other.to_owned(),
    }
}

/// Twelve bars of `width` from x = 30, one per month, `offset` to the right.
fn month_bars(values: &[i64], top: i64, width: f64, offset: f64) -> Vec<VBar> {
    let top = top.max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let h = (v.max(0) as f64 * PLOT_H / top).round();
            VBar {
                x: 30.0 + i as f64 * 24.0 + offset,
                y: 10.0 + PLOT_H - h,
                w: width,
                h,
                month: i as u32 + 1,
                value: v.to_string(),
            }
        })
        .collect()
}

async fn evaluation(c: Ctx, Path(r): Path<String>, q: Query<YearQ>) -> Response {
    let code = match region_for(&c, &r, ROLES) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let year = match the_year(&c, &code, &q.year).await {
        Ok(y) => y,
        Err(detail) => {
            return c.error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                c.tr("eval.bad_year"),
                Some(&detail),
            );
        }
    };
    let mut page = EvaluationPage {
        c: &c,
        region: code.to_string(),
        year,
        missing: None,
        tree_size: 0,
        overall: group_row(String::new(), &Value::Null),
        warnings: Vec::new(),
        participation: Vec::new(),
        participation_h: 0,
        means: Vec::new(),
        months: Vec::new(),
        lorenz: String::new(),
        groups: Vec::new(),
        indicators: Vec::new(),
        categories: Vec::new(),
        reviewers: Vec::new(),
        reviewer_rule: String::new(),
        appeals: Vec::new(),
        budget: Vec::new(),
        budget_chart: BudgetChart {
            issued: Vec::new(),
            redeemed: Vec::new(),
            outstanding: String::new(),
            redeemable_y: 0.0,
            top: 0,
        },
        redeemable: 0,
        rules: Vec::new(),
        k_default: K_DEFAULT,
    };
    let e = match c
        .get(&format!("/api/v1/regions/{code}/evaluation?year={year}"))
        .await
    {
        Ok(v) => v,
        Err(p) if p.status == 422 => {
            page.missing = Some(p.detail.clone());
            return c.render(StatusCode::OK, &page);
        }
        Err(p) => return c.problem_page(&p),
    };
    fill(&c, &mut page, &e);
    c.render(StatusCode::OK, &page)
}

fn fill(c: &Ctx, page: &mut EvaluationPage<'_>, e: &Value) {
    page.tree_size = n(e, "tree_size");
    page.overall = group_row(c.tr("eval.everyone").to_owned(), &e["overall"]);
    let names: std::collections::HashMap<String, String> = each(e, "indicators")
        .map(|u| (s(u, "code"), s(u, "name")))
        .collect();
    page.warnings = each(e, "warnings")
        .map(|w| warning_text(c, w, &names))
        .collect();
    let groups: Vec<&Value> = each(e, "groups").collect();
    let shown: Vec<&Value> = groups
        .iter()
        .copied()
        .filter(|g| n(g, "members") > 0)
        .collect();
    let mut bars = vec![HBar {
        y: 0,
        w: (f(&e["overall"], "participation") * BAR_W).round(),
        label: c.tr("eval.everyone").to_owned(),
        value: pct(f(&e["overall"], "participation")),
    }];
    for g in &shown {
        bars.push(HBar {
            y: bars.len() as i64 * ROW_H,
            w: (f(g, "participation") * BAR_W).round(),
            label: group_label(c, g),
            value: pct(f(g, "participation")),
        });
    }
    page.participation_h = bars.len() as i64 * ROW_H + 4;
    page.participation = bars;
    let top_mean = shown
        .iter()
        .map(|g| f(g, "mean"))
        .fold(f(&e["overall"], "mean"), f64::max)
        .max(1.0);
    let mut means = vec![HBar {
        y: 0,
        w: (f(&e["overall"], "mean") / top_mean * BAR_W).round(),
        label: c.tr("eval.everyone").to_owned(),
        value: format!("{:.1}", f(&e["overall"], "mean")),
    }];
    for g in &shown {
        means.push(HBar {
            y: means.len() as i64 * ROW_H,
            w: (f(g, "mean").max(0.0) / top_mean * BAR_W).round(),
            label: group_label(c, g),
            value: format!("{:.1}", f(g, "mean")),
        });
    }
    page.means = means;
    let months: Vec<i64> = each(e, "participants_by_month")
        .map(|m| m.as_i64().unwrap_or(0))
        .collect();
    let top = months.iter().copied().max().unwrap_or(0);
    page.months = month_bars(&months, top, 18.0, 0.0);
    page.lorenz = each(&e["overall"], "lorenz")
        .map(|p| {
            let x = p[0].as_f64().unwrap_or(0.0);
            let y = p[1].as_f64().unwrap_or(0.0);
            format!("{:.1},{:.1}", 20.0 + x * 200.0, 210.0 - y * 200.0)
        })
        .collect::<Vec<_>>()
        .join(" ");
    page.groups = shown
        .iter()
        .map(|g| group_row(group_label(c, g), g))
        .collect();
    page.indicators = each(e, "indicators")
        .filter(|u| n(u, "entries") > 0)
        .map(|u| IndicatorRow {
            code: s(u, "code"),
            name: s(u, "name"),
            category: s(u, "category"),
            entries: n(u, "entries"),
            points: n(u, "points"),
            uptake: pct(f(u, "uptake")),
        })
        .collect();
    page.categories = each(e, "categories")
        .map(|x| CategoryRow {
            category: s(x, "category"),
            points: n(x, "points"),
            share: pct(f(x, "share")),
        })
        .collect();
    page.reviewers = each(e, "reviewers")
        .map(|r| ReviewerRow {
            name: s(r, "name"),
            decisions: n(r, "decisions"),
            rate: pct(f(r, "approval_rate")),
            hours: format!("{:.1}", f(r, "median_decide_hours")),
            points: n(r, "points_approved"),
            same_household: n(r, "same_household"),
            far: r["far_rate"] == true || r["far_points"] == true,
        })
        .collect();
    let rules = &e["rules"];
    page.reviewer_rule = c.tr2(
        "eval.rule.reviewer",
        f(rules, "reviewer_far_mads"),
        n(rules, "reviewer_decisions_min"),
    );
    page.rules = vec![
        c.tr1("eval.rule.category", pct(f(rules, "category_share_warn"))),
        c.tr2(
            "eval.rule.uptake",
            pct(f(rules, "uptake_warn_fraction")),
            n(rules, "warn_group_members_min"),
        ),
        c.tr("eval.rule.participation").to_owned(),
        c.tr("eval.rule.gini").to_owned(),
    ];
    let a = &e["appeals"];
    let hours = |k: &str| {
        a[k].as_f64()
            .map_or_else(|| "–".to_owned(), |h| format!("{h:.1}"))
    };
    page.appeals = vec![
        (
            c.tr("eval.appeals.filed").to_owned(),
            n(a, "filed").to_string(),
        ),
        (
            c.tr("eval.appeals.open").to_owned(),
            n(a, "open").to_string(),
        ),
        (
            c.tr("eval.appeals.upheld").to_owned(),
            n(a, "upheld").to_string(),
        ),
        (
            c.tr("eval.appeals.overturned").to_owned(),
            n(a, "overturned").to_string(),
        ),
        (
            c.tr("eval.appeals.adjusted").to_owned(),
            n(a, "adjusted").to_string(),
        ),
        (
            c.tr("eval.appeals.withdrawn").to_owned(),
            n(a, "withdrawn").to_string(),
        ),
        (
            c.tr("eval.appeals.changed").to_owned(),
            pct(f(a, "changed_share")),
        ),
        (
            c.tr("eval.appeals.median").to_owned(),
            hours("median_decide_hours"),
        ),
        (
            c.tr("eval.appeals.p90").to_owned(),
            hours("p90_decide_hours"),
        ),
        (
            c.tr("eval.appeals.late").to_owned(),
            n(a, "past_deadline").to_string(),
        ),
    ];
    page.budget = each(e, "budget")
        .map(|b| BudgetRow {
            month: s(b, "month"),
            issued: n(b, "issued"),
            redeemed: n(b, "redeemed"),
            outstanding: n(b, "outstanding"),
        })
        .collect();
    page.redeemable = n(e, "redeemable");
    let top = page
        .budget
        .iter()
        .flat_map(|b| [b.issued, b.redeemed, b.outstanding])
        .chain([page.redeemable])
        .max()
        .unwrap_or(0)
        .max(1);
    let issued: Vec<i64> = page.budget.iter().map(|b| b.issued).collect();
    let redeemed: Vec<i64> = page.budget.iter().map(|b| b.redeemed).collect();
    let y = |v: i64| 10.0 + PLOT_H - (v.max(0) as f64 * PLOT_H / top as f64);
    page.budget_chart = BudgetChart {
        issued: month_bars(&issued, top, 10.0, 0.0),
        redeemed: month_bars(&redeemed, top, 10.0, 10.0),
        outstanding: page
            .budget
            .iter()
            .enumerate()
            .map(|(i, b)| format!("{:.1},{:.1}", 40.0 + i as f64 * 24.0, y(b.outstanding)))
            .collect::<Vec<_>>()
            .join(" "),
        redeemable_y: (y(page.redeemable) * 10.0).round() / 10.0,
        top,
    };
}

// ---------------------------------------------------------------- what-if

#[derive(Template)]
#[template(path = "what_if.html")]
struct WhatIfPage<'a> {
    c: &'a Ctx,
    region: String,
    year: i32,
    values: String,
    error: Option<String>,
    /// Filled once a what-if has run.
    result: Option<WhatIfResult>,
}

pub struct ChangeRow {
    pub indicator: String,
    pub name: String,
    pub today: i64,
    pub proposed: i64,
}

/// One figure beside its proposed value.
pub struct Compare {
    pub label: String,
    pub today: String,
    pub proposed: String,
}

pub struct WhatIfResult {
    pub changes: Vec<ChangeRow>,
    pub figures: Vec<Compare>,
    pub groups: Vec<Compare>,
    pub levels: Vec<Compare>,
    pub suggestion_group: String,
    pub suggestion: Vec<ChangeRow>,
    pub suggestion_values: String,
    pub no_suggestion: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WhatIfForm {
    csrf: String,
    year: String,
    values: String,
}

fn change_rows(v: &Value) -> Vec<ChangeRow> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|c| ChangeRow {
            indicator: s(c, "indicator"),
            name: s(c, "name"),
            today: n(c, "today"),
            proposed: n(c, "proposed"),
        })
        .collect()
}

fn what_if_result(c: &Ctx, w: &Value) -> WhatIfResult {
    let (t, p) = (&w["today"], &w["proposed"]);
    let both = |label: &str, k: &dyn Fn(&Value) -> String| Compare {
        label: label.to_owned(),
        today: k(t),
        proposed: k(p),
    };
    let figures = vec![
        both(c.tr("eval.gini"), &|x| {
            format!("{:.3}", f(&x["overall"], "gini"))
        }),
        both(c.tr("eval.participation"), &|x| {
            pct(f(&x["overall"], "participation"))
        }),
        both(c.tr("eval.mean"), &|x| {
            format!("{:.1}", f(&x["overall"], "mean"))
        }),
        both(c.tr("eval.top10"), &|x| {
            pct(f(&x["overall"], "top10_share"))
        }),
        both(c.tr("eval.awarded"), &|x| n(x, "awarded").to_string()),
        both(c.tr("eval.liability"), &|x| n(x, "liability").to_string()),
    ];
    let tg: Vec<&Value> = each(t, "groups").collect();
    let pg: Vec<&Value> = each(p, "groups").collect();
    let groups = tg
        .iter()
        .zip(&pg)
        .filter(|(a, _)| n(a, "members") > 0)
        .map(|(a, b)| Compare {
            label: group_label(c, a),
            today: format!("{:.1} · {}", f(a, "mean"), pct(f(a, "participation"))),
            proposed: format!("{:.1} · {}", f(b, "mean"), pct(f(b, "participation"))),
        })
        .collect();
    let tl: Vec<&Value> = each(t, "levels").collect();
    let pl: Vec<&Value> = each(p, "levels").collect();
    let levels = tl
        .iter()
        .zip(&pl)
        .map(|(a, b)| Compare {
            label: if a["code"].is_null() {
                c.tr("eval.no_level").to_owned()
            } else {
                s(a, "name")
            },
            today: n(a, "members").to_string(),
            proposed: n(b, "members").to_string(),
        })
        .collect();
    let sug = &w["suggested"];
    let suggestion = change_rows(&sug["changes"]);
    let suggestion_values = {
        let mut o = String::from("indicator,points\n");
        for ch in &suggestion {
            o.push_str(&format!("{},{}\n", ch.indicator, ch.proposed));
        }
        o
    };
    WhatIfResult {
        changes: change_rows(&w["changes"]),
        figures,
        groups,
        levels,
        suggestion_group: if sug.is_object() {
            group_label(c, sug)
        } else {
            String::new()
        },
        suggestion,
        suggestion_values,
        no_suggestion: w["no_suggestion"].as_str().map(str::to_owned),
    }
}

async fn what_if_form(c: Ctx, Path(r): Path<String>, q: Query<YearQ>) -> Response {
    let code = match region_for(&c, &r, ROLES) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let year = match the_year(&c, &code, &q.year).await {
        Ok(y) => y,
        Err(detail) => {
            return c.error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                c.tr("eval.bad_year"),
                Some(&detail),
            );
        }
    };
    // The year as it is, with its suggestion, to start from.
    let (result, error) = match c
        .api(
            axum::http::Method::POST,
            &format!("/api/v1/regions/{code}/evaluation/what-if?year={year}"),
            Some(json!({"latest": true})),
            None,
        )
        .await
    {
        Ok(w) => (Some(what_if_result(&c, &w)), None),
        Err(p) if p.status == 422 => (None, Some(p.detail)),
        Err(p) => return c.problem_page(&p),
    };
    c.render(
        StatusCode::OK,
        &WhatIfPage {
            c: &c,
            region: code.to_string(),
            year,
            values: String::new(),
            error,
            result,
        },
    )
}

async fn what_if_post(c: Ctx, Path(r): Path<String>, Form(form): Form<WhatIfForm>) -> Response {
    if let Err(res) = c.check_form(&form.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, ROLES) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let year = match the_year(&c, &code, &form.year).await {
        Ok(y) => y,
        Err(detail) => {
            return c.error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                c.tr("eval.bad_year"),
                Some(&detail),
            );
        }
    };
    let t = form.values.trim();
    let body = if t.starts_with('{') || t.starts_with('[') {
        match serde_json::from_str::<Value>(t) {
            Ok(v) => json!({ "values": v }),
            Err(_) => json!({ "csv": t }),
        }
    } else {
        json!({ "csv": t })
    };
    let answer = c
        .api(
            axum::http::Method::POST,
            &format!("/api/v1/regions/{code}/evaluation/what-if?year={year}"),
            Some(body),
            None,
        )
        .await;
    let (status, result, error) = match answer {
        Ok(w) => (StatusCode::OK, Some(what_if_result(&c, &w)), None),
        Err(p) if p.status == 422 => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(p.detail)),
        Err(p) => return c.problem_page(&p),
    };
    c.render(
        status,
        &WhatIfPage {
            c: &c,
            region: code.to_string(),
            year,
            values: form.values,
            error,
            result,
        },
    )
}

// ---------------------------------------------------------------- export

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExportQ {
    year: String,
    k: String,
}

/// The export as one JSON file: `manifest` (the signed note) and `rows_csv`.
async fn export(c: Ctx, Path(r): Path<String>, q: Query<ExportQ>) -> Response {
    let code = match region_for(&c, &r, ROLES) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let year = match the_year(&c, &code, &q.year).await {
        Ok(y) => y,
        Err(detail) => {
            return c.error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                c.tr("eval.bad_year"),
                Some(&detail),
            );
        }
    };
    let k = if q.k.trim().is_empty() {
        K_DEFAULT.to_string()
    } else {
        super::ctx::url_encode(q.k.trim())
    };
    match c
        .get(&format!(
            "/api/v1/regions/{code}/evaluation/export?year={year}&k={k}"
        ))
        .await
    {
        Ok(v) => c.json_download(&v, &format!("jifen-evaluation-{code}-{year}.json")),
        Err(p) => c.problem_page(&p),
    }
}
