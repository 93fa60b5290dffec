//! Claims (申报): submit (a resident for themself, a station operator for a
//! resident who is present, a reviewer recording directly), list, review.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jifen_core::ClaimId;
use jifen_core::{ClaimStatus, IndicatorCode, MemberId, Role, Source};
use jifen_store::workflow::NewClaim;
use jifen_store::{REVIEW_BATCH_MAX, ReviewClaim, ReviewClaims};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{ClaimIn, ClaimOut, Paged};
use super::{Page, claim_id, region};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

/// Submits a claim. A resident claims for themself; a station operator records for
/// a resident who is present (`present: true`); a reviewer or admin records directly.
/// Under an `auto` review policy the claim posts at once.
#[utoipa::path(post, path = "/api/v1/regions/{region}/claims", tag = "claims", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = ClaimIn,
    responses((status = 201, body = ClaimOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn submit(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ClaimIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let key = idempotency_key(&headers)?;
    let member =
        MemberId::new(body.member).map_err(|e| ApiError::field("member", e.to_string()))?;
    let indicator = IndicatorCode::parse(&body.indicator)
        .map_err(|e| ApiError::field("indicator", e.to_string()))?;
    let own = who.member_of(&code) == Some(member);
    // Who is claiming, and as what: for oneself as a resident; for others as staff.
    let source = if own && who.has(&code, Role::Resident) {
        Source::Claim
    } else if who.has(&code, Role::Reviewer) || who.has(&code, Role::Admin) {
        if own {
            return Err(ApiError::forbidden(
                "staff cannot record points for themselves; claim as a resident",
            ));
        }
        Source::Direct
    } else if who.has(&code, Role::Station) {
        if own {
            return Err(ApiError::forbidden(
                "staff cannot record points for themselves; claim as a resident",
            ));
        }
        if !body.present {
            return Err(ApiError::field(
                "present",
                "a station records only for a resident who is present: set present to true",
            ));
        }
        Source::Station
    } else if who.has(&code, Role::Resident) {
        return Err(ApiError::forbidden(
            "a resident can only claim for themself",
        ));
    } else {
        return Err(ApiError::forbidden(format!(
            "this needs the role resident, reviewer, station or admin in region {code}"
        )));
    };
    let account = who.id();
    let claim = NewClaim {
        region: code.clone(),
        member,
        indicator,
        quantity: body.quantity,
        note: body.note,
        source,
        submitted_by: account,
        by_staff: source != Source::Claim,
    };
    let offset = state.offset(&code).await?;
    once(
        &state,
        account,
        key,
        "POST",
        format!("/api/v1/regions/{code}/claims"),
        StatusCode::CREATED,
        claim,
        move |view| ClaimOut::from_view(view, offset),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct ClaimQuery {
    /// submitted, partly-approved, in-notice, approved, posted, rejected, withdrawn.
    status: Option<String>,
    /// Only this member's claims.
    member: Option<i64>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// Lists claims: staff see the region's (e.g. the review queue with `status=submitted`);
/// a resident sees their own.
#[utoipa::path(get, path = "/api/v1/regions/{region}/claims", tag = "claims", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ClaimQuery),
    responses((status = 200, body = Paged<ClaimOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<ClaimQuery>,
) -> ApiResult<Json<Paged<ClaimOut>>> {
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
            ClaimStatus::parse(s)
                .ok_or_else(|| ApiError::field("status", format!("unknown claim status {s:?}")))
        })
        .transpose()?;
    let staff = [Role::Reviewer, Role::Station, Role::Admin]
        .iter()
        .any(|r| who.has(&code, *r));
    let member = if staff {
        q.member
            .map(|m| MemberId::new(m).map_err(|e| ApiError::field("member", e.to_string())))
            .transpose()?
    } else {
        who.require(&code, &[Role::Resident])?;
        let own = who
            .member_of(&code)
            .ok_or_else(|| ApiError::forbidden("no member record in this region"))?;
        if q.member.is_some_and(|m| m != own.get()) {
            return Err(ApiError::forbidden("a resident sees only their own claims"));
        }
        Some(own)
    };
    let c2 = code.clone();
    let (views, offset) = read(&state, move |s| {
        let offset = s.region_offset(&c2)?;
        Ok((s.claims(&c2, status, member, page.after(), limit)?, offset))
    })
    .await?;
    crate::access::record(
        &state,
        &who,
        &code,
        views.iter().map(|v| v.member),
        "GET /api/v1/regions/{region}/claims",
    )
    .await?;
    let next = (views.len() == limit as usize)
        .then(|| views.last().map(|v| v.id.get()))
        .flatten();
    Ok(Json(Paged {
        items: views
            .iter()
            .map(|v| ClaimOut::from_view(v, offset))
            .collect(),
        next,
    }))
}

/// One claim (staff of its region, or the claimant).
#[utoipa::path(get, path = "/api/v1/claims/{id}", tag = "claims", security(("bearer" = [])),
    params(("id" = String, Path, description = "claim id, <region>:<number>")),
    responses((status = 200, body = ClaimOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn one(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ClaimOut>> {
    let (code, claim) = claim_id(&id)?;
    let c2 = code.clone();
    let (view, offset) = read(&state, move |s| {
        Ok((s.claim(&c2, claim)?, s.region_offset(&c2)?))
    })
    .await?;
    let staff = [Role::Reviewer, Role::Station, Role::Admin]
        .iter()
        .any(|r| who.has(&code, *r));
    if !staff && who.member_of(&code) != Some(view.member) {
        return Err(ApiError::forbidden(
            "only staff of the region or the claimant see a claim",
        ));
    }
    crate::access::record(
        &state,
        &who,
        &code,
        [view.member],
        "GET /api/v1/claims/{id}",
    )
    .await?;
    Ok(Json(ClaimOut::from_view(&view, offset)))
}

async fn decide(
    state: AppState,
    who: Principal,
    id: String,
    headers: HeaderMap,
    approve: bool,
) -> ApiResult<Response> {
    let (code, claim) = claim_id(&id)?;
    who.require(&code, &[Role::Reviewer])?;
    let key = idempotency_key(&headers)?;
    let offset = state.offset(&code).await?;
    let verb = if approve { "approve" } else { "reject" };
    let path = format!("/api/v1/claims/{code}:{claim}/{verb}");
    let review = ReviewClaim {
        region: code.clone(),
        claim,
        operator: who.id(),
        member: who.member_of(&code),
        approve,
        reason: None,
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        path,
        StatusCode::OK,
        review,
        move |view| ClaimOut::from_view(view, offset),
    )
    .await
}

/// Approves a claim (a reviewer with no stake in it). The final approval posts the
/// entry, or puts it on public notice when its indicator asks for that; a cap that
/// would be passed refuses the approval with the reason.
#[utoipa::path(post, path = "/api/v1/claims/{id}/approve", tag = "claims", security(("bearer" = [])),
    params(("id" = String, Path, description = "claim id, <region>:<number>"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    responses((status = 200, body = ClaimOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    decide(state, who, id, headers, true).await
}

/// Rejects a claim.
#[utoipa::path(post, path = "/api/v1/claims/{id}/reject", tag = "claims", security(("bearer" = [])),
    params(("id" = String, Path, description = "claim id, <region>:<number>"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    responses((status = 200, body = ClaimOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    decide(state, who, id, headers, false).await
}

/// A committee's decision on several claims at once.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// The claims' numbers in the region (`12`), or their ids (`V:12`); 1 to 100.
    pub claims: Vec<String>,
    /// `approve` or `reject`.
    pub decision: String,
    /// Why, in the committee's words, kept with each decision (the claimant sees
    /// it); up to 500 characters. Optional.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DecisionOut {
    /// Each claim as it now stands, in the order asked.
    pub items: Vec<ClaimOut>,
}

/// Decides several claims at once, with one reason: every one of them, or, when
/// one cannot be decided (decided already, recorded by the reviewer, a cap it
/// would pass), none of them, with an error that names that claim.
#[utoipa::path(post, path = "/api/v1/regions/{region}/claims/decide", tag = "claims", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = DecisionIn,
    responses((status = 200, body = DecisionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn decide_many(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DecisionIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, &[Role::Reviewer])?;
    let key = idempotency_key(&headers)?;
    let approve = match body.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::field(
                "decision",
                format!("decision is {other:?}: say \"approve\" or \"reject\""),
            ));
        }
    };
    if body.claims.is_empty() || body.claims.len() > REVIEW_BATCH_MAX {
        return Err(ApiError::field(
            "claims",
            format!(
                "claims holds {} claims: choose from 1 to {REVIEW_BATCH_MAX}",
                body.claims.len()
            ),
        ));
    }
    let mut claims = Vec::with_capacity(body.claims.len());
    for c in &body.claims {
        let number = match c.split_once(':') {
            Some((rc, n)) if rc == code.as_str() => n,
            Some(_) => {
                return Err(ApiError::field(
                    "claims",
                    format!("claim {c:?} is not of region {code}"),
                ));
            }
            None => c.as_str(),
        };
        let id = number
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|n| ClaimId::new(n).ok())
            .ok_or_else(|| ApiError::field("claims", format!("{c:?} is not a claim number")))?;
        claims.push(id);
    }
    let offset = state.offset(&code).await?;
    let cmd = ReviewClaims {
        region: code.clone(),
        claims,
        operator: who.id(),
        member: who.member_of(&code),
        approve,
        reason: body.reason,
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        format!("/api/v1/regions/{code}/claims/decide"),
        StatusCode::OK,
        cmd,
        move |views| DecisionOut {
            items: views
                .iter()
                .map(|v| ClaimOut::from_view(v, offset))
                .collect(),
        },
    )
    .await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(decide_many))
        .routes(routes!(submit, list))
        .routes(routes!(one))
        .routes(routes!(approve))
        .routes(routes!(reject))
}
