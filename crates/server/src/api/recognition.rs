//! Recognition between regions (积分互认): a region's halves of its agreements with
//! other regions. Public to read (what a region recognises is public policy); set and
//! ended by the region's admin. PUT and DELETE are idempotent by nature: the same
//! request again leaves the same half.

use axum::Json;
use axum::extract::{Path, State};
use jifen_core::clock::parse_date;
use jifen_core::recognition::Agreement;
use jifen_core::{Points, RegionCode, Role, Timestamp};
use jifen_store::recognition::AgreementRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::region;
use super::wire::rfc3339;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::read;

/// One region's half of an agreement with a partner region.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementIn {
    /// The partner region's log origin (its `/api/v1/regions/{code}` says it).
    pub partner_origin: String,
    /// The partner's log verifier key (`jifen log vkey` there): statements and the
    /// partner's checkpoints are checked against it, offline.
    pub partner_vkey: String,
    /// This region's members may take points to the partner.
    #[serde(default)]
    pub send: bool,
    /// This region takes points from the partner's members.
    #[serde(default)]
    pub receive: bool,
    /// The indicator categories whose points count; empty: all.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Points credited here for `rate_den` of the partner's (1 to 1,000 each; 1:1 when
    /// left out).
    #[serde(default = "unit_rate")]
    pub rate_num: u32,
    #[serde(default = "unit_rate")]
    pub rate_den: u32,
    /// The most points a member may move under this half in a year; 0: no cap.
    #[serde(default)]
    pub cap_per_member_year: i64,
    /// First day in force, `YYYY-MM-DD`.
    pub valid_from: String,
    /// Last day in force; none: until ended.
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Witnesses (cosignature/v1 vkeys) whose cosignatures the partner's checkpoints
    /// must carry, and how many of them.
    #[serde(default)]
    pub witnesses: Vec<String>,
    #[serde(default)]
    pub quorum: u32,
}

fn unit_rate() -> u32 {
    1
}

/// A half as kept.
#[derive(Serialize, ToSchema)]
pub struct AgreementOut {
    /// The name this region gives the partner.
    pub partner: String,
    pub partner_origin: String,
    pub partner_vkey: String,
    pub send: bool,
    pub receive: bool,
    pub categories: Vec<String>,
    pub rate_num: u32,
    pub rate_den: u32,
    pub cap_per_member_year: i64,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub witnesses: Vec<String>,
    pub quorum: u32,
    pub updated: String,
    /// When this side ended it.
    pub ended: Option<String>,
    /// In force today (between its dates, not ended).
    pub in_force: bool,
}

fn out(row: AgreementRow, offset: i32, today: time::Date) -> AgreementOut {
    let a = row.agreement;
    AgreementOut {
        partner: row.partner.to_string(),
        in_force: a.in_force(today, row.ended_ms.is_some()),
        partner_origin: a.partner_origin,
        partner_vkey: a.partner_vkey,
        send: a.send,
        receive: a.receive,
        categories: a.categories,
        rate_num: a.rate_num,
        rate_den: a.rate_den,
        cap_per_member_year: a.cap_per_member_year.get(),
        valid_from: a.valid_from.to_string(),
        valid_to: a.valid_to.map(|d| d.to_string()),
        witnesses: a.witnesses,
        quorum: a.quorum,
        updated: rfc3339(Timestamp::from_millis(row.updated_ms), offset),
        ended: row
            .ended_ms
            .map(|ms| rfc3339(Timestamp::from_millis(ms), offset)),
    }
}

fn partner_of(s: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(s).map_err(|e| {
        ApiError::not_found(format!(
            "agreement {s:?}: a partner's name is like a region code ({e})"
        ))
    })
}

async fn today(state: &AppState, code: &RegionCode) -> Result<(i32, time::Date), ApiError> {
    let offset = state.offset(code).await?;
    let date = state
        .clock()
        .now()
        .local_date(offset)
        .map_err(ApiError::internal)?;
    Ok((offset, date))
}

/// The region's halves of its agreements with other regions.
#[utoipa::path(get, path = "/api/v1/regions/{region}/agreements", tag = "recognition",
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = Vec<AgreementOut>), (status = 404, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Path(r): Path<String>,
) -> ApiResult<Json<Vec<AgreementOut>>> {
    let code = region(&r)?;
    let c2 = code.clone();
    let rows = read(&state, move |s| Ok(s.agreements(&c2)?)).await?;
    let (offset, date) = today(&state, &code).await?;
    Ok(Json(
        rows.into_iter().map(|r| out(r, offset, date)).collect(),
    ))
}

/// One half, by the name the region gives the partner.
#[utoipa::path(get, path = "/api/v1/regions/{region}/agreements/{partner}", tag = "recognition",
    params(("region" = String, Path, description = "region code"),
           ("partner" = String, Path, description = "the name this region gives the partner")),
    responses((status = 200, body = AgreementOut), (status = 404, body = Problem)))]
async fn one(
    State(state): State<AppState>,
    Path((r, p)): Path<(String, String)>,
) -> ApiResult<Json<AgreementOut>> {
    let code = region(&r)?;
    let partner = partner_of(&p)?;
    let c2 = code.clone();
    let row = read(&state, move |s| Ok(s.agreement(&c2, &partner)?)).await?;
    let (offset, date) = today(&state, &code).await?;
    Ok(Json(out(row, offset, date)))
}

/// Sets the region's half of its agreement with a partner, replacing what it said
/// before (an ended half stays ended: 409). Admins.
#[utoipa::path(put, path = "/api/v1/regions/{region}/agreements/{partner}", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("partner" = String, Path, description = "the name this region gives the partner")),
    request_body = AgreementIn,
    responses((status = 200, body = AgreementOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put(
    State(state): State<AppState>,
    who: Principal,
    Path((r, p)): Path<(String, String)>,
    ApiJson(body): ApiJson<AgreementIn>,
) -> ApiResult<Json<AgreementOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let partner = partner_of(&p)?;
    let date = |f: &'static str, s: &str| {
        parse_date(s.trim()).map_err(|e| ApiError::field(f, format!("{f}: {e} (YYYY-MM-DD)")))
    };
    let agreement = Agreement {
        partner_origin: body.partner_origin,
        partner_vkey: body.partner_vkey,
        send: body.send,
        receive: body.receive,
        categories: body.categories,
        rate_num: body.rate_num,
        rate_den: body.rate_den,
        cap_per_member_year: Points::new(body.cap_per_member_year),
        valid_from: date("valid_from", &body.valid_from)?,
        valid_to: body
            .valid_to
            .as_deref()
            .map(|s| date("valid_to", s))
            .transpose()?,
        witnesses: body.witnesses,
        quorum: body.quorum,
    };
    let c2 = code.clone();
    let row = read(
        &state,
        move |s| Ok(s.put_agreement(c2, partner, agreement)?),
    )
    .await?;
    let (offset, today) = today(&state, &code).await?;
    Ok(Json(out(row, offset, today)))
}

/// Ends the region's half (kept, marked ended; no transfer passes it from then on).
/// Ending it again changes nothing. Admins.
#[utoipa::path(delete, path = "/api/v1/regions/{region}/agreements/{partner}", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("partner" = String, Path, description = "the name this region gives the partner")),
    responses((status = 200, body = AgreementOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn end(
    State(state): State<AppState>,
    who: Principal,
    Path((r, p)): Path<(String, String)>,
) -> ApiResult<Json<AgreementOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let partner = partner_of(&p)?;
    let c2 = code.clone();
    let row = read(&state, move |s| Ok(s.end_agreement(c2, partner)?)).await?;
    let (offset, today) = today(&state, &code).await?;
    Ok(Json(out(row, offset, today)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one, put, end))
}
