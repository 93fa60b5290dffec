//! The yearly close and its report.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jifen_core::Role;
use jifen_store::year::{CloseStatus, CloseSummary, YearReport, report_csv};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::region;
use super::wire::rfc3339;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::write::read;

#[derive(Serialize, ToSchema)]
pub struct CloseOut {
    pub region: String,
    pub year: i32,
    /// closing (stopped half-way; run the close again to finish) or closed.
    pub status: String,
    /// The year had been closed before: nothing changed now.
    pub already: bool,
    pub closed_by: i64,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    pub members: u64,
    /// Base points per member granted for the next year.
    pub base_grant: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_years: Option<u32>,
    pub granted: i64,
    pub granted_members: u64,
    pub expired: i64,
    pub expired_members: u64,
    pub model_households: u64,
}

impl CloseOut {
    fn from_summary(s: &CloseSummary, offset: i32) -> Self {
        CloseOut {
            region: s.region.to_string(),
            year: s.year,
            status: s.status.as_str().to_owned(),
            already: s.already,
            closed_by: s.closed_by.get(),
            started_at: rfc3339(s.started, offset),
            closed_at: s.closed.map(|t| rfc3339(t, offset)),
            members: s.members,
            base_grant: s.base_grant.get(),
            expiry_years: s.expiry_years,
            granted: s.granted.get(),
            granted_members: s.granted_members,
            expired: s.expired.get(),
            expired_members: s.expired_members,
            model_households: s.model_households,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LevelCountOut {
    /// Absent: below the lowest level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_score: Option<i64>,
    pub members: u64,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdOut {
    pub household: i64,
    /// The household's label; admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub members: u64,
    pub score: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TotalOut {
    pub kind: String,
    /// Empty for entries without an indicator.
    pub indicator: String,
    pub name: String,
    pub category: String,
    pub entries: u64,
    /// As the members' accounts see them: awards positive, deductions and redemptions negative.
    pub points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CategoryOut {
    pub category: String,
    pub entries: u64,
    pub points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReportOut {
    pub close: CloseOut,
    pub levels: Vec<LevelCountOut>,
    pub households: u64,
    /// 积分示范户, highest score first.
    pub model_households: Vec<HouseholdOut>,
    pub totals: Vec<TotalOut>,
    pub categories: Vec<CategoryOut>,
}

impl ReportOut {
    fn from_report(r: &YearReport, offset: i32, labels: bool) -> Self {
        ReportOut {
            close: CloseOut::from_summary(&r.close, offset),
            levels: r
                .levels
                .iter()
                .map(|l| LevelCountOut {
                    code: l.code.clone(),
                    name: l.name.clone(),
                    min_score: l.min_score.map(|p| p.get()),
                    members: l.members,
                })
                .collect(),
            households: r.households,
            model_households: r
                .model_households
                .iter()
                .map(|h| HouseholdOut {
                    household: h.household,
                    label: labels.then(|| h.label.clone()),
                    members: h.members,
                    score: h.score.get(),
                })
                .collect(),
            totals: r
                .totals
                .iter()
                .map(|t| TotalOut {
                    kind: t.kind.as_str().to_owned(),
                    indicator: t.indicator.clone(),
                    name: t.name.clone(),
                    category: t.category.clone(),
                    entries: t.entries,
                    points: t.points.get(),
                })
                .collect(),
            categories: r
                .categories
                .iter()
                .map(|(c, n, p)| CategoryOut {
                    category: c.clone(),
                    entries: *n,
                    points: p.get(),
                })
                .collect(),
        }
    }
}

fn year_param(s: &str) -> ApiResult<i32> {
    s.parse::<i32>()
        .ok()
        .filter(|y| (1..=9999).contains(y))
        .ok_or_else(|| ApiError::not_found(format!("year {s:?}: a year is four digits, e.g. 2025")))
}

/// Closes a year (admins): freezes annual scores, assigns levels, names model
/// households, applies the expiry policy and grants next year's base points.
/// Running it again changes nothing (`already: true`); a close that stopped
/// half-way resumes. A year that has not ended in the region's time: 422.
#[utoipa::path(post, path = "/api/v1/regions/{region}/years/{year}/close", tag = "year", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("year" = String, Path, description = "the year, e.g. 2025")),
    responses((status = 200, body = CloseOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn close(
    State(state): State<AppState>,
    who: Principal,
    Path((r, y)): Path<(String, String)>,
) -> ApiResult<Json<CloseOut>> {
    let code = region(&r)?;
    let year = year_param(&y)?;
    who.require(&code, &[Role::Admin])?;
    let offset = state.offset(&code).await?;
    let by = who.id();
    let s = read(&state, move |s| {
        Ok(s.close_year(&code, year, by, |_| {})?)
    })
    .await?;
    debug_assert!(s.status == CloseStatus::Closed);
    Ok(Json(CloseOut::from_summary(&s, offset)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// json (default) or csv.
    format: Option<String>,
}

/// A closed year's report: members per level, model households, totals per
/// indicator and category, what was granted and expired. As JSON, or CSV with
/// `format=csv`. Admins see household labels; auditors see numbers only.
#[utoipa::path(get, path = "/api/v1/regions/{region}/years/{year}/report", tag = "year", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("year" = String, Path, description = "the year"), ReportQuery),
    responses((status = 200, body = ReportOut), (status = 200, description = "format=csv", content_type = "text/csv", body = String),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn report(
    State(state): State<AppState>,
    who: Principal,
    Path((r, y)): Path<(String, String)>,
    Query(q): Query<ReportQuery>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let year = year_param(&y)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let labels = who.has(&code, Role::Admin);
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(f) => {
            return Err(ApiError::field(
                "format",
                format!("format {f:?} is not json or csv"),
            ));
        }
    };
    let offset = state.offset(&code).await?;
    let c = code.clone();
    let mut rep = read(&state, move |s| Ok(s.year_report(&c, year)?)).await?;
    if csv {
        if !labels {
            for h in &mut rep.model_households {
                h.label.clear();
            }
        }
        let mut res = (StatusCode::OK, report_csv(&rep)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{code}-{year}.csv\""))
        {
            res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return Ok(res);
    }
    Ok(Json(ReportOut::from_report(&rep, offset, labels)).into_response())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(close))
        .routes(routes!(report))
}
