//! Finding a resident at the counter: search as staff type, and the member code
//! (a QR on the resident's page and card) that opens the resident for staff. The
//! code is not a credential: it finds the member only for signed-in staff of the
//! region, and the resident (or station staff, for a lost card) can renew it.

use axum::Json;
use axum::extract::{Path, Query, State};
use jifen_core::{MemberId, RegionCode, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::MemberOut;
use super::region;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::write::read;

const STAFF: &[Role] = &[Role::Admin, Role::Reviewer, Role::Station];

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct FindQuery {
    /// What was typed: part of a name, the initials of its pinyin (`zsf` for
    /// 张三丰), the start of its pinyin, a household label, or a member number.
    q: String,
    /// At most this many (1 to 50; 10 when left out).
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct FoundOut {
    /// Best match first.
    pub items: Vec<MemberOut>,
}

fn member_out(m: jifen_store::read::MemberView) -> MemberOut {
    MemberOut {
        id: m.id.get(),
        household: m.household.get(),
        household_label: m.household_label,
        name: m.name,
    }
}

/// Finds the region's residents as staff type (staff: admin, reviewer, station).
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/find", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), FindQuery),
    responses((status = 200, body = FoundOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn find(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<FindQuery>,
) -> ApiResult<Json<FoundOut>> {
    let code = region(&r)?;
    who.require(&code, STAFF)?;
    let limit = q.limit.unwrap_or(10);
    if !(1..=jifen_store::find::FOUND_MAX).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!(
                "limit is {limit}: ask for 1 to {}",
                jifen_store::find::FOUND_MAX
            ),
        ));
    }
    if q.q.chars().count() > 64 {
        return Err(ApiError::field(
            "q",
            "q is longer than 64 characters: type part of a name, a household or a number",
        ));
    }
    let c2 = code.clone();
    let found = read(&state, move |s| Ok(s.find_members(&c2, &q.q, limit)?)).await?;
    crate::access::record(
        &state,
        &who,
        &code,
        found.iter().map(|m| m.id),
        "GET /api/v1/regions/{region}/members/find",
    )
    .await?;
    Ok(Json(FoundOut {
        items: found.into_iter().map(member_out).collect(),
    }))
}

/// The resident a member code finds (staff: admin, reviewer, station). An unknown
/// code, or one the resident renewed, is 404.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/by-code/{code}", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("code" = String, Path, description = "the member code, as printed (XXXX-XXXX-XXXX-XXXX) or without dashes")),
    responses((status = 200, body = MemberOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn by_code(
    State(state): State<AppState>,
    who: Principal,
    Path((r, typed)): Path<(String, String)>,
) -> ApiResult<Json<MemberOut>> {
    let code = region(&r)?;
    who.require(&code, STAFF)?;
    let c2 = code.clone();
    let m = read(&state, move |s| {
        let id = s.member_by_code(&c2, &typed)?;
        Ok(s.member(&c2, id)?)
    })
    .await?;
    crate::access::record(
        &state,
        &who,
        &code,
        [m.id],
        "GET /api/v1/regions/{region}/members/by-code/{code}",
    )
    .await?;
    Ok(Json(member_out(m)))
}

/// A member's code, and the link its QR holds.
#[derive(Serialize, ToSchema)]
pub struct MemberCodeOut {
    pub member: i64,
    /// As printed: `XXXX-XXXX-XXXX-XXXX`.
    pub code: String,
    /// The path the QR code points to (the server's address in front of it):
    /// staff who open it see the resident; anyone else is told it is not for them.
    pub path: String,
}

/// Who may see or renew a member's code: the member, and station staff or admins
/// of the region (to print a card, or renew a lost one).
fn may_hold(who: &Principal, code: &RegionCode, member: MemberId) -> Result<(), ApiError> {
    if who.member_of(code) == Some(member)
        || who.has(code, Role::Station)
        || who.has(code, Role::Admin)
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a member code is shown to the member and to the region's station staff and admins",
        ))
    }
}

fn member_param(m: i64) -> Result<MemberId, ApiError> {
    MemberId::new(m).map_err(|e| ApiError::field("member", e.to_string()))
}

/// The member's code (made on first asking): for their page's QR and a printed card.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/code", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number")),
    responses((status = 200, body = MemberCodeOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn get_code(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<Json<MemberCodeOut>> {
    member_code(&state, &who, &r, m, false).await
}

/// Renews the member's code: the old one finds no one from now on.
#[utoipa::path(post, path = "/api/v1/regions/{region}/members/{member}/code/renew", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number")),
    responses((status = 200, body = MemberCodeOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn renew_code(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<Json<MemberCodeOut>> {
    member_code(&state, &who, &r, m, true).await
}

/// A member's code for those who may hold it, renewed first when asked.
async fn member_code(
    state: &AppState,
    who: &Principal,
    r: &str,
    m: i64,
    renew: bool,
) -> ApiResult<Json<MemberCodeOut>> {
    let code = region(r)?;
    let member = member_param(m)?;
    may_hold(who, &code, member)?;
    let c2 = code.clone();
    let mc = read(state, move |s| {
        Ok(if renew {
            s.renew_member_code(c2, member)?
        } else {
            s.member_code(&c2, member)?
        })
    })
    .await?;
    crate::access::record(
        state,
        who,
        &code,
        [member],
        "GET /api/v1/regions/{region}/members/{member}/code",
    )
    .await?;
    Ok(Json(code_out(&code, member, mc)))
}

fn code_out(region: &RegionCode, member: MemberId, code: String) -> MemberCodeOut {
    MemberCodeOut {
        member: member.get(),
        path: format!("/r/{region}/m/{code}"),
        code,
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(find))
        .routes(routes!(by_code))
        .routes(routes!(get_code))
        .routes(routes!(renew_code))
}
