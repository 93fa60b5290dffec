//! The evaluation of a region's year, for its admins and its auditor (aggregates
//! only), and the attributes it rests on: a member's birth year and residence
//! status, recorded at a station or by the admin, read by them and the member.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jifen_core::Role;
use jifen_core::fairness::{FAR_MADS, Residence};
use jifen_store::evaluate::{
    CATEGORY_SHARE_WARN, COMPARE_DECISIONS_MIN, Distribution, Evaluation, Group, GroupFigures,
    POINTS_DEVIATION_FLOOR, RATE_DEVIATION_FLOOR, UPTAKE_WARN_FRACTION, WARN_GROUP_MEMBERS_MIN,
    Warning,
};
use jifen_store::export::K_DEFAULT;
use jifen_store::whatif::{Change, Proposed, SUGGEST_RULE, Scenario, WhatIf};
use jifen_store::{Attributes, SetAttributes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::entries::member_path;
use super::region;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

// ---------------------------------------------------------------- attributes

/// What is recorded of a member for the evaluation; never published.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AttributesIo {
    /// Shown only as an age band. Null: not recorded.
    #[serde(default)]
    pub birth_year: Option<i32>,
    /// `resident` (常住), `migrant` (外出务工) or `floating` (流动人口); null: not recorded.
    #[serde(default)]
    pub residence: Option<String>,
}

pub fn attributes_out(a: &Attributes) -> AttributesIo {
    AttributesIo {
        birth_year: a.birth_year,
        residence: a.residence.map(|r| r.code().to_owned()),
    }
}

/// A member's birth year and residence status: the member, the station, the
/// reviewer and the admin may read them (staff reads are recorded).
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/attributes", tag = "evaluation", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id")),
    responses((status = 200, body = AttributesIo), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn get_attributes(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<Json<AttributesIo>> {
    let (code, member) = member_path(&r, m)?;
    let own = who.has(&code, Role::Resident) && who.member_of(&code) == Some(member);
    if !own {
        who.require(&code, &[Role::Station, Role::Reviewer, Role::Admin])?;
    }
    let c2 = code.clone();
    let a = read(&state, move |s| {
        s.member(&c2, member)?;
        Ok(s.attributes(&c2, member)?)
    })
    .await?;
    if !own {
        crate::access::record(
            &state,
            &who,
            &code,
            [member],
            "GET /api/v1/regions/{region}/members/{member}/attributes",
        )
        .await?;
    }
    Ok(Json(attributes_out(&a)))
}

/// Records a member's birth year and residence status (both replaced; both null
/// removes them), at a station or by the admin. Private: used only in aggregates.
#[utoipa::path(put, path = "/api/v1/regions/{region}/members/{member}/attributes", tag = "evaluation", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = AttributesIo,
    responses((status = 200, body = AttributesIo), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_attributes(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AttributesIo>,
) -> ApiResult<Response> {
    let (code, member) = member_path(&r, m)?;
    who.require(&code, &[Role::Station, Role::Admin])?;
    let key = idempotency_key(&headers)?;
    let residence = body
        .residence
        .as_deref()
        .map(Residence::parse)
        .transpose()
        .map_err(|e| ApiError::field("residence", e))?;
    let cmd = SetAttributes {
        region: code.clone(),
        member,
        attributes: Attributes {
            birth_year: body.birth_year,
            residence,
        },
    };
    once(
        &state,
        who.id(),
        key,
        "PUT",
        format!("/api/v1/regions/{code}/members/{member}/attributes"),
        StatusCode::OK,
        cmd,
        attributes_out,
    )
    .await
}

// ---------------------------------------------------------------- the evaluation

#[derive(Serialize, ToSchema)]
pub struct DistributionOut {
    pub members: u64,
    /// With at least one award in the year.
    pub participants: u64,
    pub participation: f64,
    pub mean: f64,
    pub median: i64,
    pub p90: i64,
    pub gini: f64,
    pub top10_share: f64,
    /// [population share, points share] pairs from 0 to 1.
    pub lorenz: Vec<[f64; 2]>,
    pub deductions: u64,
    /// Points deducted, as a positive number.
    pub deducted: i64,
}

fn distribution_out(d: &Distribution) -> DistributionOut {
    DistributionOut {
        members: d.members,
        participants: d.participants,
        participation: d.participation(),
        mean: d.mean,
        median: d.median,
        p90: d.p90,
        gini: d.gini,
        top10_share: d.top10_share,
        lorenz: d.lorenz.iter().map(|(p, y)| [*p, *y]).collect(),
        deductions: d.deductions,
        deducted: d.deducted,
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupOut {
    /// `age`, `residence` or `household` (household size).
    pub dimension: String,
    /// The band, e.g. `60-74`, `migrant`, `3-4`; `unknown` where nothing is recorded.
    pub band: String,
    #[serde(flatten)]
    pub figures: DistributionOut,
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorUseOut {
    pub code: String,
    pub name: String,
    pub category: String,
    pub entries: u64,
    pub points: i64,
    pub members: u64,
    pub uptake: f64,
    /// Uptake per group, in the order of `groups`.
    pub uptake_by_group: Vec<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryOut {
    pub category: String,
    pub points: i64,
    pub share: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewerOut {
    pub account: i64,
    pub name: String,
    pub decisions: u64,
    pub approvals: u64,
    pub approval_rate: f64,
    pub median_decide_hours: f64,
    pub points_approved: i64,
    /// Approvals of claims by members of the reviewer's own household.
    pub same_household: u64,
    pub far_rate: bool,
    pub far_points: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AppealsOut {
    pub filed: u64,
    pub open: u64,
    pub upheld: u64,
    pub overturned: u64,
    pub adjusted: u64,
    pub withdrawn: u64,
    /// Overturned or adjusted, of those decided.
    pub changed_share: f64,
    pub median_decide_hours: Option<f64>,
    pub p90_decide_hours: Option<f64>,
    pub past_deadline: u64,
}

#[derive(Serialize, ToSchema)]
pub struct BudgetMonthOut {
    pub month: String,
    pub issued: i64,
    pub redeemed: i64,
    /// Points members hold at the month's end.
    pub outstanding: i64,
}

/// Something to look at. `kind` is one of `category-dominates`, `low-uptake`,
/// `reviewer`, `same-household`, `liability`; the other fields are the figures
/// that raised it.
#[derive(Serialize, ToSchema)]
pub struct WarningOut {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptake: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outstanding: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeemable: Option<i64>,
}

impl WarningOut {
    fn of(kind: &str) -> WarningOut {
        WarningOut {
            kind: kind.to_owned(),
            category: None,
            share: None,
            indicator: None,
            dimension: None,
            band: None,
            uptake: None,
            overall: None,
            account: None,
            name: None,
            approvals: None,
            outstanding: None,
            redeemable: None,
        }
    }
}

pub fn warning_out(w: &Warning) -> WarningOut {
    match w {
        Warning::CategoryDominates { category, share } => WarningOut {
            category: Some(category.clone()),
            share: Some(*share),
            ..WarningOut::of("category-dominates")
        },
        Warning::LowUptake {
            indicator,
            group,
            uptake,
            overall,
        } => WarningOut {
            indicator: Some(indicator.clone()),
            dimension: Some(group.dimension.code().to_owned()),
            band: Some(group.band.to_owned()),
            uptake: Some(*uptake),
            overall: Some(*overall),
            ..WarningOut::of("low-uptake")
        },
        Warning::Reviewer { account, name } => WarningOut {
            account: Some(*account),
            name: Some(name.clone()),
            ..WarningOut::of("reviewer")
        },
        Warning::SameHousehold { approvals } => WarningOut {
            approvals: Some(*approvals),
            ..WarningOut::of("same-household")
        },
        Warning::Liability {
            outstanding,
            redeemable,
        } => WarningOut {
            outstanding: Some(*outstanding),
            redeemable: Some(*redeemable),
            ..WarningOut::of("liability")
        },
    }
}

/// The thresholds the evaluation applies, so every reader can state them.
#[derive(Serialize, ToSchema)]
pub struct RulesOut {
    pub category_share_warn: f64,
    pub uptake_warn_fraction: f64,
    pub warn_group_members_min: u64,
    pub reviewer_far_mads: f64,
    pub reviewer_decisions_min: u64,
    pub rate_deviation_floor: f64,
    pub points_deviation_floor: f64,
}

#[derive(Serialize, ToSchema)]
pub struct EvaluationOut {
    pub region: String,
    pub year: i32,
    /// The log's size when the figures were read.
    pub tree_size: u64,
    pub overall: DistributionOut,
    pub groups: Vec<GroupOut>,
    /// Members with at least one award, January to December.
    pub participants_by_month: Vec<u64>,
    pub indicators: Vec<IndicatorUseOut>,
    pub categories: Vec<CategoryOut>,
    pub reviewers: Vec<ReviewerOut>,
    pub appeals: AppealsOut,
    pub budget: Vec<BudgetMonthOut>,
    /// What sponsors' budgets can still redeem today.
    pub redeemable: i64,
    pub warnings: Vec<WarningOut>,
    pub rules: RulesOut,
}

fn hours(ms: i64) -> f64 {
    ms as f64 / 3_600_000.0
}

fn groups_out(groups: &[GroupFigures]) -> Vec<GroupOut> {
    groups
        .iter()
        .map(|g| {
            let (dimension, band) = group_label(&g.group);
            GroupOut {
                dimension,
                band,
                figures: distribution_out(&g.figures),
            }
        })
        .collect()
}

fn group_label(g: &Group) -> (String, String) {
    (g.dimension.code().to_owned(), g.band.to_owned())
}

/// The wire form of an evaluation (also what `jifen evaluate --format json` prints).
pub fn evaluation_out(e: &Evaluation) -> EvaluationOut {
    EvaluationOut {
        region: e.region.to_string(),
        year: e.year,
        tree_size: e.tree_size,
        overall: distribution_out(&e.overall),
        groups: groups_out(&e.groups),
        participants_by_month: e.participants_by_month.clone(),
        indicators: e
            .indicators
            .iter()
            .map(|u| IndicatorUseOut {
                code: u.code.clone(),
                name: u.name.clone(),
                category: u.category.clone(),
                entries: u.entries,
                points: u.points,
                members: u.members,
                uptake: u.uptake,
                uptake_by_group: u.uptake_by_group.clone(),
            })
            .collect(),
        categories: e
            .categories
            .iter()
            .map(|c| CategoryOut {
                category: c.category.clone(),
                points: c.points,
                share: c.share,
            })
            .collect(),
        reviewers: e
            .reviewers
            .iter()
            .map(|r| ReviewerOut {
                account: r.account,
                name: r.name.clone(),
                decisions: r.decisions,
                approvals: r.approvals,
                approval_rate: r.approval_rate,
                median_decide_hours: hours(r.median_decide_ms),
                points_approved: r.points_approved,
                same_household: r.same_household,
                far_rate: r.far_rate,
                far_points: r.far_points,
            })
            .collect(),
        appeals: AppealsOut {
            filed: e.appeals.filed,
            open: e.appeals.open,
            upheld: e.appeals.upheld,
            overturned: e.appeals.overturned,
            adjusted: e.appeals.adjusted,
            withdrawn: e.appeals.withdrawn,
            changed_share: e.appeals.changed_share,
            median_decide_hours: e.appeals.median_decide_ms.map(hours),
            p90_decide_hours: e.appeals.p90_decide_ms.map(hours),
            past_deadline: e.appeals.past_deadline,
        },
        budget: e
            .budget
            .iter()
            .map(|b| BudgetMonthOut {
                month: b.month.clone(),
                issued: b.issued,
                redeemed: b.redeemed,
                outstanding: b.outstanding,
            })
            .collect(),
        redeemable: e.redeemable,
        warnings: e.warnings.iter().map(warning_out).collect(),
        rules: RulesOut {
            category_share_warn: CATEGORY_SHARE_WARN,
            uptake_warn_fraction: UPTAKE_WARN_FRACTION,
            warn_group_members_min: WARN_GROUP_MEMBERS_MIN,
            reviewer_far_mads: FAR_MADS,
            reviewer_decisions_min: COMPARE_DECISIONS_MIN,
            rate_deviation_floor: RATE_DEVIATION_FLOOR,
            points_deviation_floor: POINTS_DEVIATION_FLOOR,
        },
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The year evaluated, e.g. 2026.
    year: Option<String>,
}

/// Parses a `year` parameter: four digits.
pub fn year_of(s: Option<&str>) -> Result<i32, ApiError> {
    let s = s.ok_or_else(|| ApiError::field("year", "year is required, e.g. year=2026"))?;
    s.parse::<i32>()
        .ok()
        .filter(|y| (1900..=9999).contains(y))
        .ok_or_else(|| ApiError::field("year", format!("year {s:?} is not a year, e.g. 2026")))
}

/// The evaluation of a region's year: participation, inequality, indicators and
/// categories by group, deductions, reviewers, appeals, the budget, and warnings by
/// the rules in `rules`. Aggregates only; admins and the auditor.
#[utoipa::path(get, path = "/api/v1/regions/{region}/evaluation", tag = "evaluation", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), YearQuery),
    responses((status = 200, body = EvaluationOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_evaluation(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<YearQuery>,
) -> ApiResult<Json<EvaluationOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let year = year_of(q.year.as_deref())?;
    let e = read(&state, move |s| Ok(s.evaluate(&code, year)?)).await?;
    Ok(Json(evaluation_out(&e)))
}

// ---------------------------------------------------------------- what-if

/// Proposed points per unit, from a JSON object (`{"CODE": 8}`), a JSON list
/// (`[{"indicator": "CODE", "points": 8}]`) or CSV with an `indicator,points`
/// header. The error names `values` and what is wrong.
pub fn parse_values(text: &str) -> Result<Vec<Proposed>, ApiError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ApiError::field(
            "values",
            "no values given: a JSON object such as {\"YF-MEET\": 8}, or CSV with an indicator,points header",
        ));
    }
    if t.starts_with('{') || t.starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(t)
            .map_err(|e| ApiError::field("values", format!("the values are not JSON: {e}")))?;
        return values_of_json(&v);
    }
    let mut out = Vec::new();
    let mut lines = t.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().unwrap_or_default().replace(' ', "");
    if header != "indicator,points" {
        return Err(ApiError::field(
            "values",
            format!("CSV values need the header indicator,points, not {header:?}"),
        ));
    }
    for (i, line) in lines.enumerate() {
        let (code, points) = line.split_once(',').ok_or_else(|| {
            ApiError::field(
                "values",
                format!("line {}: expected indicator,points", i + 2),
            )
        })?;
        let points = points.trim().parse::<i64>().map_err(|_| {
            ApiError::field(
                "values",
                format!(
                    "line {}: points {:?} is not a whole number",
                    i + 2,
                    points.trim()
                ),
            )
        })?;
        out.push(Proposed {
            indicator: code.trim().to_owned(),
            points,
        });
    }
    Ok(out)
}

fn values_of_json(v: &serde_json::Value) -> Result<Vec<Proposed>, ApiError> {
    let points = |code: &str, p: &serde_json::Value| {
        p.as_i64().ok_or_else(|| {
            ApiError::field(
                "values",
                format!("{code}: points must be a whole number, not {p}"),
            )
        })
    };
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .map(|(code, p)| {
                Ok(Proposed {
                    indicator: code.clone(),
                    points: points(code, p)?,
                })
            })
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| {
                let code = item["indicator"].as_str().ok_or_else(|| {
                    ApiError::field(
                        "values",
                        format!("{item}: expected {{\"indicator\": …, \"points\": …}}"),
                    )
                })?;
                Ok(Proposed {
                    indicator: code.to_owned(),
                    points: points(code, &item["points"])?,
                })
            })
            .collect(),
        other => Err(ApiError::field(
            "values",
            format!("values must be a JSON object or list, not {other}"),
        )),
    }
}

/// What to re-score the year with: exactly one of `values`, `csv` and `latest`.
#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WhatIfIn {
    /// `{"CODE": points}` or `[{"indicator": "CODE", "points": n}]`.
    #[schema(value_type = Object)]
    pub values: Option<serde_json::Value>,
    /// CSV with an `indicator,points` header.
    pub csv: Option<String>,
    /// Every indicator at its latest version's points (a version published for the
    /// next period included).
    pub latest: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ChangeOut {
    pub indicator: String,
    pub name: String,
    /// Points per unit of the latest version.
    pub today: i64,
    pub proposed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LevelCountOut {
    /// Null: below every level.
    pub code: Option<String>,
    pub name: String,
    pub members: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ScenarioOut {
    pub levels: Vec<LevelCountOut>,
    pub overall: DistributionOut,
    pub groups: Vec<GroupOut>,
    /// Points awarded in the year (awards less their reversals).
    pub awarded: i64,
    /// Points members hold at the year's end.
    pub liability: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SuggestionOut {
    /// The lowest-scoring group the suggestion is for.
    pub dimension: String,
    pub band: String,
    pub changes: Vec<ChangeOut>,
    pub scenario: ScenarioOut,
}

#[derive(Serialize, ToSchema)]
pub struct WhatIfOut {
    pub region: String,
    pub year: i32,
    pub changes: Vec<ChangeOut>,
    pub today: ScenarioOut,
    pub proposed: ScenarioOut,
    /// The rule the suggestion follows, in a sentence.
    pub rule: String,
    pub suggested: Option<SuggestionOut>,
    /// Why there is no suggestion, when there is none.
    pub no_suggestion: Option<String>,
}

fn changes_out(c: &[Change]) -> Vec<ChangeOut> {
    c.iter()
        .map(|c| ChangeOut {
            indicator: c.indicator.clone(),
            name: c.name.clone(),
            today: c.today,
            proposed: c.proposed,
        })
        .collect()
}

fn scenario_out(s: &Scenario) -> ScenarioOut {
    ScenarioOut {
        levels: s
            .levels
            .iter()
            .map(|l| LevelCountOut {
                code: l.code.clone(),
                name: l.name.clone(),
                members: l.members,
            })
            .collect(),
        overall: distribution_out(&s.overall),
        groups: groups_out(&s.groups),
        awarded: s.awarded,
        liability: s.liability,
    }
}

/// The wire form of a what-if (also what `jifen evaluate what-if --format json` prints).
pub fn what_if_out(w: &WhatIf) -> WhatIfOut {
    let (suggested, no_suggestion) = match &w.suggested {
        Ok(s) => {
            let (dimension, band) = group_label(&s.group);
            (
                Some(SuggestionOut {
                    dimension,
                    band,
                    changes: changes_out(&s.changes),
                    scenario: scenario_out(&s.scenario),
                }),
                None,
            )
        }
        Err(why) => (None, Some(why.clone())),
    };
    WhatIfOut {
        region: w.region.to_string(),
        year: w.year,
        changes: changes_out(&w.changes),
        today: scenario_out(&w.today),
        proposed: scenario_out(&w.proposed),
        rule: SUGGEST_RULE.to_owned(),
        suggested,
        no_suggestion,
    }
}

/// The proposal a [`WhatIfIn`] names.
pub fn proposal_of(
    body: &WhatIfIn,
    latest: impl FnOnce() -> Result<Vec<Proposed>, ApiError>,
) -> Result<Vec<Proposed>, ApiError> {
    match (&body.values, &body.csv, body.latest) {
        (Some(v), None, false) => values_of_json(v),
        (None, Some(c), false) => parse_values(c),
        (None, None, true) => latest(),
        _ => Err(ApiError::field(
            "values",
            "give exactly one of values, csv and latest",
        )),
    }
}

/// The year re-scored with proposed points per unit, beside the year as recorded:
/// members per level, inequality and scores per group, points awarded and the
/// liability; and a suggestion by the rule in `rule`. Nothing changes: admins
/// publish a new indicator version to change the rulebook. Admins and the auditor.
#[utoipa::path(post, path = "/api/v1/regions/{region}/evaluation/what-if", tag = "evaluation", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), YearQuery),
    request_body = WhatIfIn,
    responses((status = 200, body = WhatIfOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn post_what_if(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<YearQuery>,
    ApiJson(body): ApiJson<WhatIfIn>,
) -> ApiResult<Json<WhatIfOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let year = year_of(q.year.as_deref())?;
    let w = read(&state, move |s| {
        let proposal = proposal_of(&body, || Ok(s.latest_values(&code)?))?;
        Ok(s.what_if(&code, year, &proposal)?)
    })
    .await?;
    Ok(Json(what_if_out(&w)))
}

// ---------------------------------------------------------------- the export

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// The year exported, e.g. 2026.
    year: Option<String>,
    /// Every combination of attributes in the rows is shared by at least k rows (2 or more; 5 when left out).
    k: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportOut {
    /// The manifest: a signed note (C2SP signed-note) by the region's log key.
    pub manifest: String,
    /// The rows, as CSV; the manifest holds their SHA-256.
    pub rows_csv: String,
}

/// Parses a `k` parameter.
pub fn k_of(s: Option<&str>) -> Result<usize, ApiError> {
    match s {
        None => Ok(K_DEFAULT),
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| ApiError::field("k", format!("k {s:?} is not a whole number, e.g. k=5"))),
    }
}

/// The export and its signed manifest, from one read of the store.
pub fn export_files(
    s: &jifen_store::Store,
    code: &jifen_core::RegionCode,
    year: i32,
    k: usize,
) -> Result<ExportOut, ApiError> {
    let x = s.evaluation_export(code, year, k)?;
    let rows_csv = x.rows_csv();
    let manifest = s.sign_note(code, &x.manifest_text(&rows_csv))?;
    Ok(ExportOut { manifest, rows_csv })
}

/// The third-party evaluation export of a year: one row per member-year with only
/// coarsened attributes and points per category, every combination shared by at
/// least `k` rows, and a manifest signed by the region's key that names the
/// checkpoint and the points per indicator. Admins and the auditor.
#[utoipa::path(get, path = "/api/v1/regions/{region}/evaluation/export", tag = "evaluation", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ExportQuery),
    responses((status = 200, body = ExportOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn get_export(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Json<ExportOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let year = year_of(q.year.as_deref())?;
    let k = k_of(q.k.as_deref())?;
    Ok(Json(
        read(&state, move |s| export_files(s, &code, year, k)).await?,
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_attributes, put_attributes))
        .routes(routes!(get_evaluation))
        .routes(routes!(post_what_if))
        .routes(routes!(get_export))
}
