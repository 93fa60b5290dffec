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
    CATEGORY_SHARE_WARN, COMPARE_DECISIONS_MIN, Distribution, Evaluation, Group,
    POINTS_DEVIATION_FLOOR, RATE_DEVIATION_FLOOR, UPTAKE_WARN_FRACTION, WARN_GROUP_MEMBERS_MIN,
    Warning,
};
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
        groups: e
            .groups
            .iter()
            .map(|g| {
                let (dimension, band) = group_label(&g.group);
                GroupOut {
                    dimension,
                    band,
                    figures: distribution_out(&g.figures),
                }
            })
            .collect(),
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

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_attributes, put_attributes))
        .routes(routes!(get_evaluation))
}
