//! Appeals (申诉): a resident contests an entry of their own within the region's
//! window; someone other than the original reviewer decides, and the outcome is
//! a new entry (a reversal, or a further one of the same kind), never an edit.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jifen_core::{AppealDecision, AppealId, AppealStatus, MemberId, Points, RegionCode, Role};
use jifen_store::read::AppealView;
use jifen_store::{DecideAppeal, FileAppeal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{Paged, rfc3339};
use super::{Page, region, scoped_id};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealIn {
    /// What is wrong with the entry; kept private, for the decider.
    pub statement: String,
}

#[derive(Serialize, ToSchema)]
pub struct AppealOut {
    /// `<region>:<number>`.
    pub id: String,
    /// The entry appealed against, `<region>:<seq>`.
    pub entry: String,
    pub member: i64,
    /// filed, upheld, overturned, adjusted, withdrawn.
    pub status: String,
    pub filed_at: String,
    /// The end of the window for appealing the entry.
    pub deadline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// The reversal or further entry the decision posted, `<region>:<seq>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_entry: Option<String>,
}

impl AppealOut {
    fn from_view(a: &AppealView, offset: i32) -> Self {
        AppealOut {
            id: format!("{}:{}", a.region, a.id),
            entry: format!("{}:{}", a.region, a.entry_seq),
            member: a.member.get(),
            status: a.status.as_str().to_owned(),
            filed_at: rfc3339(a.filed, offset),
            deadline: rfc3339(a.deadline, offset),
            decided_by: a.decided_by.map(|o| o.get()),
            decided_at: a.decided.map(|t| rfc3339(t, offset)),
            outcome_entry: a.outcome_seq.map(|s| format!("{}:{s}", a.region)),
        }
    }
}

/// uphold: the entry stands; overturn: it is reversed in full; adjust: it should
/// have been `amount` points (a partial reversal, or a further entry).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// uphold, overturn or adjust.
    pub decision: String,
    /// For adjust only: the amount (positive) the entry should have had.
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionOut {
    /// The appeal, `<region>:<number>`.
    pub id: String,
    /// upheld, overturned or adjusted.
    pub status: String,
    /// The reversal or further entry posted, `<region>:<seq>`; absent when upheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

impl DecisionIn {
    fn parse(&self) -> Result<AppealDecision, ApiError> {
        match (self.decision.as_str(), self.amount) {
            ("uphold", None) => Ok(AppealDecision::Uphold),
            ("overturn", None) => Ok(AppealDecision::Overturn),
            ("adjust", Some(n)) if n > 0 => Ok(AppealDecision::Adjust(Points::new(n))),
            ("adjust", _) => Err(ApiError::field(
                "amount",
                "adjust needs the amount (a positive number) the entry should have had",
            )),
            ("uphold" | "overturn", Some(_)) => Err(ApiError::field(
                "amount",
                "amount goes with adjust only; leave it out to uphold or overturn",
            )),
            (d, _) => Err(ApiError::field(
                "decision",
                format!("unknown decision {d:?}: use uphold, overturn or adjust"),
            )),
        }
    }
}

fn appeal_id(s: &str) -> Result<(RegionCode, AppealId), ApiError> {
    let (r, n) = scoped_id("appeal", s)?;
    Ok((
        r,
        AppealId::new(n).map_err(|_| ApiError::not_found(format!("appeal {s:?}")))?,
    ))
}

/// Appeals an entry of one's own, within the region's appeal window (after it: 422).
#[utoipa::path(post, path = "/api/v1/entries/{id}/appeal", tag = "appeals", security(("bearer" = [])),
    params(("id" = String, Path, description = "entry id, <region>:<seq>"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = AppealIn,
    responses((status = 201, body = AppealOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn file(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AppealIn>,
) -> ApiResult<Response> {
    let (code, seq) = scoped_id("entry", &id)?;
    let seq = u64::try_from(seq).map_err(|_| ApiError::not_found(format!("entry {id}")))?;
    who.require(&code, &[Role::Resident])?;
    let member = who
        .member_of(&code)
        .ok_or_else(|| ApiError::forbidden("no member record in this region"))?;
    let key = idempotency_key(&headers)?;
    let c2 = code.clone();
    let entry = read(&state, move |s| Ok(s.entry(&c2, seq)?))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("entry {code}:{seq}")))?;
    if entry.member != member {
        return Err(ApiError::forbidden(
            "a resident can only appeal entries of their own",
        ));
    }
    let path = format!("/api/v1/entries/{code}:{seq}/appeal");
    let offset = state.offset(&code).await?;
    let cmd = FileAppeal {
        region: code,
        seq,
        member,
        statement: body.statement,
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        path,
        StatusCode::CREATED,
        cmd,
        move |a| AppealOut::from_view(a, offset),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct AppealQuery {
    /// filed, upheld, overturned, adjusted, withdrawn.
    status: Option<String>,
    /// Only this member's appeals.
    member: Option<i64>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// Lists appeals: reviewers and admins see the region's (e.g. `status=filed`, the
/// queue to decide); a resident sees their own.
#[utoipa::path(get, path = "/api/v1/regions/{region}/appeals", tag = "appeals", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), AppealQuery),
    responses((status = 200, body = Paged<AppealOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<AppealQuery>,
) -> ApiResult<Json<Paged<AppealOut>>> {
    let code = region(&r)?;
    let page = Page {
        after: q.after,
        limit: q.limit,
    };
    let limit = page.limit()?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            AppealStatus::parse(s)
                .ok_or_else(|| ApiError::field("status", format!("unknown appeal status {s:?}")))
        })
        .transpose()?;
    let staff = who.has(&code, Role::Reviewer) || who.has(&code, Role::Admin);
    let member = if staff {
        q.member
            .map(|m| MemberId::new(m).map_err(|e| ApiError::field("member", e.to_string())))
            .transpose()?
    } else {
        who.require(&code, &[Role::Resident, Role::Reviewer, Role::Admin])?;
        let own = who
            .member_of(&code)
            .ok_or_else(|| ApiError::forbidden("no member record in this region"))?;
        if q.member.is_some_and(|m| m != own.get()) {
            return Err(ApiError::forbidden(
                "a resident sees only their own appeals",
            ));
        }
        Some(own)
    };
    let c2 = code.clone();
    let (views, offset) = read(&state, move |s| {
        let offset = s.region_offset(&c2)?;
        Ok((s.appeals(&c2, status, member, page.after(), limit)?, offset))
    })
    .await?;
    crate::access::record(
        &state,
        &who,
        &code,
        views.iter().map(|v| v.member),
        "GET /api/v1/regions/{region}/appeals",
    )
    .await?;
    let next = (views.len() == limit as usize)
        .then(|| views.last().map(|v| v.id.get()))
        .flatten();
    Ok(Json(Paged {
        items: views
            .iter()
            .map(|v| AppealOut::from_view(v, offset))
            .collect(),
        next,
    }))
}

/// Decides a filed appeal (a reviewer or admin who did not review the entry, and
/// is not the appellant or of their household). Overturning posts a reversal;
/// adjusting posts a partial reversal or a further entry; upholding posts nothing.
/// A second decision is refused with 409.
#[utoipa::path(post, path = "/api/v1/appeals/{id}/decide", tag = "appeals", security(("bearer" = [])),
    params(("id" = String, Path, description = "appeal id, <region>:<number>"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = DecisionIn,
    responses((status = 200, body = DecisionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn decide(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DecisionIn>,
) -> ApiResult<Response> {
    let (code, appeal) = appeal_id(&id)?;
    who.require(&code, &[Role::Reviewer, Role::Admin])?;
    let decision = body.parse()?;
    let key = idempotency_key(&headers)?;
    let path = format!("/api/v1/appeals/{code}:{appeal}/decide");
    // The store keeps out the entry's reviewers and, when the decider lives in the
    // region, their own and their household's appeals.
    let cmd = DecideAppeal {
        region: code.clone(),
        appeal,
        decider: who.id(),
        decider_member: who.member_of(&code),
        decision,
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        path,
        StatusCode::OK,
        cmd,
        move |d| DecisionOut {
            id: format!("{code}:{appeal}"),
            status: d.status.as_str().to_owned(),
            entry: d.entry_seq.map(|seq| format!("{code}:{seq}")),
        },
    )
    .await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(file))
        .routes(routes!(list))
        .routes(routes!(decide))
}
