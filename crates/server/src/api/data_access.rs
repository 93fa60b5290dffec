//! Who read a member's personal data (PIPL): the member's own list, and the
//! auditor's counts per staff account. The log is written by `crate::access`.

use axum::Json;
use axum::extract::{Path, Query, State};
use jifen_core::{Role, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::entries::member_path;
use super::region;
use super::wire::rfc3339;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::write::read;

/// Most accesses listed at once (newest first).
pub const ACCESSES_SHOWN_MAX: u32 = 200;
/// Longest window the counts cover, in days.
pub const ACCESS_COUNT_DAYS_MAX: u32 = 3_660;

/// One read of the member's data by staff.
#[derive(Serialize, ToSchema)]
pub struct DataAccessOut {
    pub at: String,
    pub account: i64,
    /// The staff account's display name.
    pub account_name: String,
    /// The route that was read, e.g. `GET /api/v1/regions/{region}/members`.
    pub what: String,
}

#[derive(Serialize, ToSchema)]
pub struct AccessCountOut {
    pub account: i64,
    pub account_name: String,
    /// Reads of one member's data.
    pub reads: u64,
    /// Distinct members read.
    pub members: u64,
}

#[derive(Serialize, ToSchema)]
pub struct AccessSummaryOut {
    pub region: String,
    /// The counts cover reads from this instant on.
    pub since: String,
    pub accounts: Vec<AccessCountOut>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    /// The last this many days (default 30, at most 3660).
    days: Option<u32>,
}

/// Who among staff read this member's personal data, newest first (at most 200):
/// the member themself, the region's admin and its auditor may see it.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/data-access", tag = "privacy", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id")),
    responses((status = 200, body = Vec<DataAccessOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn member_accesses(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<Json<Vec<DataAccessOut>>> {
    let (code, member) = member_path(&r, m)?;
    let own = who.has(&code, Role::Resident) && who.member_of(&code) == Some(member);
    if !(own || who.has(&code, Role::Admin) || who.has(&code, Role::Auditor)) {
        return Err(ApiError::forbidden(
            "only the member, or the region's admin or auditor, see who read a member's data",
        ));
    }
    let c2 = code.clone();
    let (rows, offset) = read(&state, move |s| {
        s.member(&c2, member)?;
        Ok((
            s.data_accesses(&c2, member, ACCESSES_SHOWN_MAX)?,
            s.region_offset(&c2)?,
        ))
    })
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|a| DataAccessOut {
                at: rfc3339(a.time, offset),
                account: a.account.get(),
                account_name: a.account_name,
                what: a.what,
            })
            .collect(),
    ))
}

/// Reads of members' personal data per staff account over the last `days` days,
/// most first: for the auditor (and the region's admin).
#[utoipa::path(get, path = "/api/v1/regions/{region}/data-access/summary", tag = "privacy", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), DaysQuery),
    responses((status = 200, body = AccessSummaryOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn summary(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<DaysQuery>,
) -> ApiResult<Json<AccessSummaryOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Auditor, Role::Admin])?;
    let days = q.days.unwrap_or(30);
    if days == 0 || days > ACCESS_COUNT_DAYS_MAX {
        return Err(ApiError::field(
            "days",
            format!("days must be 1 to {ACCESS_COUNT_DAYS_MAX}"),
        ));
    }
    let since = Timestamp::from_millis(state.clock().now().millis() - i64::from(days) * 86_400_000);
    let c2 = code.clone();
    let (counts, offset) = read(&state, move |s| {
        Ok((s.data_access_counts(&c2, since)?, s.region_offset(&c2)?))
    })
    .await?;
    Ok(Json(AccessSummaryOut {
        region: code.to_string(),
        since: rfc3339(since, offset),
        accounts: counts
            .into_iter()
            .map(|c| AccessCountOut {
                account: c.account.get(),
                account_name: c.account_name,
                reads: c.reads,
                members: c.members,
            })
            .collect(),
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(member_accesses))
        .routes(routes!(summary))
}
