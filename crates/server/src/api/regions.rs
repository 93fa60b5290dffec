//! Regions and their indicators ("10+X"), public.

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::region;
use super::wire::{IndicatorOut, RegionOut};
use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::write::read;

fn region_out(r: jifen_store::read::RegionInfo) -> RegionOut {
    RegionOut {
        code: r.region.code.to_string(),
        name: r.region.name,
        kind: r.region.kind.as_str().to_owned(),
        parent: r.region.parent.map(|p| p.to_string()),
        origin: r.origin,
        vkey: r.vkey,
        entries: r.size,
        appeal_window_days: r.region.appeal_window_days,
        utc_offset_minutes: r.region.utc_offset_minutes,
    }
}

/// Every region with its log's public facts.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions", responses((status = 200, body = Vec<RegionOut>)))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<RegionOut>>> {
    let regions = read(&state, |s| Ok(s.regions()?)).await?;
    Ok(Json(regions.into_iter().map(region_out).collect()))
}

/// One region.
#[utoipa::path(get, path = "/api/v1/regions/{region}", tag = "regions",
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = RegionOut), (status = 404, body = Problem)))]
async fn one(State(state): State<AppState>, Path(r): Path<String>) -> ApiResult<Json<RegionOut>> {
    let code = region(&r)?;
    Ok(Json(region_out(
        read(&state, move |s| Ok(s.region(&code)?)).await?,
    )))
}

/// The indicators the region sees: its ancestors' core ones and its own (latest versions).
#[utoipa::path(get, path = "/api/v1/regions/{region}/indicators", tag = "regions",
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = Vec<IndicatorOut>), (status = 404, body = Problem)))]
async fn indicators(
    State(state): State<AppState>,
    Path(r): Path<String>,
) -> ApiResult<Json<Vec<IndicatorOut>>> {
    let code = region(&r)?;
    let c2 = code.clone();
    let list = read(&state, move |s| {
        s.region(&c2)?;
        Ok(s.visible_indicators(&c2)?)
    })
    .await?;
    Ok(Json(
        list.into_iter().map(|i| indicator_out(i, &code)).collect(),
    ))
}

/// Every version of one indicator the region sees, oldest first: the rule that
/// applied at any time (an entry names the version it was posted under).
#[utoipa::path(get, path = "/api/v1/regions/{region}/indicators/{code}/versions", tag = "regions",
    params(("region" = String, Path, description = "region code"),
           ("code" = String, Path, description = "indicator code")),
    responses((status = 200, body = Vec<IndicatorOut>), (status = 404, body = Problem)))]
async fn indicator_versions(
    State(state): State<AppState>,
    Path((r, ind)): Path<(String, String)>,
) -> ApiResult<Json<Vec<IndicatorOut>>> {
    let code = region(&r)?;
    let ind = jifen_core::IndicatorCode::parse(&ind)
        .map_err(|e| crate::error::ApiError::not_found(format!("indicator {ind}: {e}")))?;
    let c2 = code.clone();
    let list = read(&state, move |s| {
        s.region(&c2)?;
        Ok(s.indicator_versions(&c2, &ind)?)
    })
    .await?;
    Ok(Json(
        list.into_iter().map(|i| indicator_out(i, &code)).collect(),
    ))
}

fn indicator_out(i: jifen_core::Indicator, code: &jifen_core::RegionCode) -> IndicatorOut {
    let (review, threshold) = match i.review {
        jifen_core::ReviewPolicy::Auto => ("auto", None),
        jifen_core::ReviewPolicy::One => ("one", None),
        jifen_core::ReviewPolicy::TwoAbove(t) => ("two", Some(t.get())),
    };
    IndicatorOut {
        inherited: i.region != *code,
        region: i.region.to_string(),
        code: i.code.to_string(),
        version: i.version,
        name: i.name,
        category: i.category,
        points: i.points.get(),
        unit: i.unit,
        cap_per_day: i.caps.per_day,
        cap_per_month: i.caps.per_month,
        cap_per_year: i.caps.per_year,
        evidence: i.evidence.as_str().to_owned(),
        review: review.to_owned(),
        review_threshold: threshold,
        claimants: match i.claimants {
            jifen_core::Claimants::Residents => "residents".into(),
            jifen_core::Claimants::StaffOnly => "staff".into(),
        },
        valid_from: i.valid_from.to_string(),
        valid_to: i.valid_to.map(|d| d.to_string()),
        core: i.core,
        notice_days: i.notice_days,
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(indicators))
        .routes(routes!(indicator_versions))
}
