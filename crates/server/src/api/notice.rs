//! Public notice (公示): approved awards whose indicator asks for it are shown to
//! the region before they count, with the member's name masked and no member id;
//! anyone holding a role in the region may object while the notice runs; a
//! reviewer or admin posts what has ended.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jifen_core::{ClaimStatus, IndicatorRef, Role, member::mask_name};
use jifen_store::{EndNotices, Object};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{ClaimOut, Paged, rfc3339};
use super::{Page, claim_id, region};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

/// What the public board shows for the name of a member whose data was erased.
pub const ERASED_NAME: &str = "已注销";

/// A claim on the public notice board. Deliberately without the member id, the
/// household or the note: the board is public, the name is masked.
#[derive(Serialize, ToSchema)]
pub struct NoticeOut {
    /// The claim, `<region>:<number>`.
    pub id: String,
    pub indicator: String,
    pub indicator_name: String,
    pub quantity: u32,
    /// The points the claim would post.
    pub points: i64,
    /// Objections are heard until then.
    pub notice_until: String,
    /// Masked (张三 → 张*), or 已注销 once the member's data is erased.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionIn {
    /// Why the award should not stand; goes to the reviewers.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ObjectionOut {
    /// `<region>:<number>`.
    pub id: String,
    /// The claim objected to, `<region>:<number>`.
    pub claim: String,
    /// The claim's status now: back to `submitted` for review.
    pub claim_status: String,
}

/// The public notice board (公示) of a region: claims on notice, oldest first.
/// No sign-in needed; names are masked and no member id is shown.
#[utoipa::path(get, path = "/api/v1/regions/{region}/notice", tag = "notice",
    params(("region" = String, Path, description = "region code"), Page),
    responses((status = 200, body = Paged<NoticeOut>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn board(
    State(state): State<AppState>,
    Path(r): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Paged<NoticeOut>>> {
    let code = region(&r)?;
    let limit = page.limit()?;
    let (items, full, last) = read(&state, move |s| {
        let offset = s.region_offset(&code)?;
        let views = s.claims(
            &code,
            Some(ClaimStatus::InNotice),
            None,
            page.after(),
            limit,
        )?;
        // Versions never change once written, so one look-up per version is enough.
        let mut indicators: HashMap<IndicatorRef, jifen_core::Indicator> = HashMap::new();
        let mut items = Vec::with_capacity(views.len());
        for v in &views {
            if !indicators.contains_key(&v.indicator) {
                let ind = s.indicator_at(&code, &v.indicator)?;
                indicators.insert(v.indicator.clone(), ind);
            }
            let ind = &indicators[&v.indicator];
            let points = ind
                .points
                .checked_mul(i64::from(v.quantity))
                .map_err(ApiError::internal)?;
            let until = v.notice_until.ok_or_else(|| {
                ApiError::internal(format!("claim {code}:{} is in notice without an end", v.id))
            })?;
            items.push(NoticeOut {
                id: format!("{}:{}", v.region, v.id),
                indicator: v.indicator.code.to_string(),
                indicator_name: ind.name.clone(),
                quantity: v.quantity,
                points: points.get(),
                notice_until: rfc3339(until, offset),
                name: v
                    .member_name
                    .as_deref()
                    .map_or_else(|| ERASED_NAME.to_owned(), mask_name),
            });
        }
        Ok((
            items,
            views.len() == limit as usize,
            views.last().map(|v| v.id.get()),
        ))
    })
    .await?;
    Ok(Json(Paged {
        items,
        next: if full { last } else { None },
    }))
}

/// Objects to a claim on public notice: it goes back to review and its approvals
/// no longer count. Anyone holding a role in the region may object while the
/// notice runs; after it ended, 409.
#[utoipa::path(post, path = "/api/v1/claims/{id}/object", tag = "notice", security(("bearer" = [])),
    params(("id" = String, Path, description = "claim id, <region>:<number>"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = ObjectionIn,
    responses((status = 201, body = ObjectionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn object(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ObjectionIn>,
) -> ApiResult<Response> {
    let (code, claim) = claim_id(&id)?;
    if who.grants_for(&code).next().is_none() {
        return Err(ApiError::forbidden(format!(
            "only someone holding a role in region {code} may object to its notices"
        )));
    }
    let key = idempotency_key(&headers)?;
    let account = who.id();
    let path = format!("/api/v1/claims/{code}:{claim}/object");
    let cmd = Object {
        region: code.clone(),
        claim,
        by: account,
        reason: body.reason,
    };
    once(
        &state,
        account,
        key,
        "POST",
        path,
        StatusCode::CREATED,
        cmd,
        move |o| ObjectionOut {
            id: format!("{code}:{}", o.objection),
            claim: format!("{code}:{claim}"),
            claim_status: o.claim_status.as_str().to_owned(),
        },
    )
    .await
}

/// Posts every claim of the region whose public notice has ended, and returns them.
/// A claim that can no longer post (a cap reached meanwhile) stays on notice and is logged.
#[utoipa::path(post, path = "/api/v1/regions/{region}/notice/close", tag = "notice", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    responses((status = 200, body = Vec<ClaimOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn close(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, &[Role::Reviewer, Role::Admin])?;
    let key = idempotency_key(&headers)?;
    let operator = who.id();
    let path = format!("/api/v1/regions/{code}/notice/close");
    let offset = state.offset(&code).await?;
    once(
        &state,
        operator,
        key,
        "POST",
        path,
        StatusCode::OK,
        EndNotices {
            region: code,
            operator,
        },
        move |posted| {
            posted
                .iter()
                .map(|v| ClaimOut::from_view(v, offset))
                .collect::<Vec<_>>()
        },
    )
    .await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(board))
        .routes(routes!(object))
        .routes(routes!(close))
}
