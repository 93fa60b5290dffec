//! The points supermarket (积分超市): the region's policy, sponsors and their
//! budgets, the rewards catalog, redemptions (reserve → code → the sponsor's
//! merchant confirms → fulfilled; or cancelled / expired → refunded), the
//! merchant's own view, and the budget report.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jifen_core::market::{
    Policy, RedemptionCode, RedemptionStatus, Reward, RewardKind, Sponsor, SponsorKind,
};
use jifen_core::{CapPeriod, MemberId, Points, RegionCode, Role, SponsorCode, clock::parse_date};
use jifen_store::Store;
use jifen_store::market::{
    Budget, RedemptionFilter, RedemptionView, Reserve, RewardView, SponsorView,
};
use jifen_store::{AddReward, CancelRedemption, ConfirmRedemption};
use qrcode::{EcLevel, QrCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::region;
use super::wire::{Paged, rfc3339};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

/// How often the server expires and refunds reservations past their window.
pub const SWEEP_SECONDS: u64 = 60;

// ---------------------------------------------------------------- wire types

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyIo {
    /// A reservation not fulfilled within this many hours is cancelled and refunded (1..720).
    pub reservation_hours: u32,
    /// Points every member gets at the start of a year, posted by the year close (0: none).
    pub base_grant: i64,
    /// Points not spent within this many years expire at a year close, oldest first; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_years: Option<u32>,
    /// Households whose members' combined annual score reaches this are model households (积分示范户).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_household_score: Option<i64>,
}

impl PolicyIo {
    fn from_policy(p: &Policy) -> Self {
        PolicyIo {
            reservation_hours: p.reservation_hours,
            base_grant: p.base_grant.get(),
            expiry_years: p.expiry_years,
            model_household_score: p.model_household_score.map(Points::get),
        }
    }
    fn to_policy(&self) -> Result<Policy, ApiError> {
        let p = Policy {
            reservation_hours: self.reservation_hours,
            base_grant: Points::new(self.base_grant),
            expiry_years: self.expiry_years,
            model_household_score: self.model_household_score.map(Points::new),
        };
        p.validate().map_err(|e| {
            use jifen_core::market::MarketError as M;
            let field = match e {
                M::BadReservationHours(_) => "reservation_hours",
                M::BadBaseGrant(_) => "base_grant",
                M::BadExpiryYears(_) => "expiry_years",
                _ => "model_household_score",
            };
            ApiError::field(field, e.to_string())
        })?;
        Ok(p)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SponsorIn {
    pub name: String,
    /// merchant (合作商家) or budget (a government or committee budget line).
    pub kind: String,
    /// Points of redemptions the sponsor commits to honour.
    pub budget: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SponsorOut {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub budget: i64,
    /// Points held by open reservations and fulfilled redemptions.
    pub used: i64,
    pub left: i64,
}

impl SponsorOut {
    fn from_view(v: &SponsorView) -> Self {
        SponsorOut {
            code: v.sponsor.code.to_string(),
            name: v.sponsor.name.clone(),
            kind: v.sponsor.kind.as_str().to_owned(),
            budget: v.sponsor.budget.get(),
            used: v.used.get(),
            left: v.left().get(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// goods, voucher or service.
    pub kind: String,
    /// Price in points.
    pub price: i64,
    /// Items available.
    pub stock: i64,
    /// A level code of the region a member must hold to redeem it.
    #[serde(default)]
    pub min_level: Option<String>,
    /// How many one member may redeem per `limit_period`.
    #[serde(default)]
    pub limit_count: Option<u32>,
    /// day, month or year.
    #[serde(default)]
    pub limit_period: Option<String>,
    /// The sponsor's code.
    pub sponsor: String,
    /// First day on offer, YYYY-MM-DD (local).
    pub active_from: String,
    /// Last day on offer, inclusive; absent: open-ended.
    #[serde(default)]
    pub active_to: Option<String>,
    /// Where the shop lists it (日用品, 服务…), up to 20 characters; absent: with the others.
    #[serde(default)]
    pub category: Option<String>,
}

impl RewardIn {
    fn to_reward(&self) -> Result<Reward, ApiError> {
        let date = |f: &str, s: &str| {
            parse_date(s).map_err(|_| ApiError::field(f, format!("{s:?} is not a YYYY-MM-DD date")))
        };
        let limit = match (self.limit_count, self.limit_period.as_deref()) {
            (None, None) => None,
            (Some(n), Some(p)) => Some((
                n,
                match p {
                    "day" => CapPeriod::Day,
                    "month" => CapPeriod::Month,
                    "year" => CapPeriod::Year,
                    _ => {
                        return Err(ApiError::field(
                            "limit_period",
                            format!("{p:?} is not day, month or year"),
                        ));
                    }
                },
            )),
            _ => {
                return Err(ApiError::field(
                    "limit_period",
                    "give limit_count and limit_period together, or neither",
                ));
            }
        };
        let stock = u32::try_from(self.stock).map_err(|_| {
            ApiError::field(
                "stock",
                format!("stock must be 0 or more, not {}", self.stock),
            )
        })?;
        let r = Reward {
            name: self.name.clone(),
            description: self.description.clone(),
            kind: RewardKind::parse(&self.kind)
                .map_err(|e| ApiError::field("kind", e.to_string()))?,
            price: Points::new(self.price),
            stock,
            min_level: self.min_level.clone().filter(|s| !s.is_empty()),
            limit,
            sponsor: SponsorCode::parse(&self.sponsor)
                .map_err(|e| ApiError::field("sponsor", e.to_string()))?,
            active_from: date("active_from", &self.active_from)?,
            active_to: self
                .active_to
                .as_deref()
                .map(|s| date("active_to", s))
                .transpose()?,
            category: self
                .category
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        };
        r.validate().map_err(|e| {
            use jifen_core::market::MarketError as M;
            let field = match e {
                M::BadName {
                    what: "a reward's category",
                    ..
                } => "category",
                M::Text(ref t) if t.field() == "a reward's category" => "category",
                M::BadName { .. } => "name",
                M::DescriptionTooLong => "description",
                M::BadPrice(_) => "price",
                M::BadStock(_) => "stock",
                M::BadLimit => "limit_count",
                M::BadDates { .. } => "active_to",
                _ => "reward",
            };
            ApiError::field(field, e.to_string())
        })?;
        Ok(r)
    }
}

#[derive(Serialize, ToSchema)]
pub struct RewardOut {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub price: i64,
    pub stock: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_period: Option<String>,
    pub sponsor: String,
    pub active_from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Where its picture is served (public, cached: the path changes with the
    /// picture); absent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

impl RewardOut {
    /// With the picture's path, when the reward has one (`sha256` of its bytes).
    fn with_picture(mut self, region: &RegionCode, sha256: Option<&String>) -> Self {
        self.picture = sha256.map(|h| {
            format!(
                "/api/v1/regions/{region}/rewards/{}/picture?v={}",
                self.id,
                h.get(..16).unwrap_or(h)
            )
        });
        self
    }

    pub fn from_view(v: &RewardView) -> Self {
        let r = &v.reward;
        RewardOut {
            id: v.id,
            name: r.name.clone(),
            description: r.description.clone(),
            kind: r.kind.as_str().to_owned(),
            price: r.price.get(),
            stock: r.stock,
            min_level: r.min_level.clone(),
            limit_count: r.limit.map(|l| l.0),
            limit_period: r.limit.map(|l| l.1.as_str().to_owned()),
            sponsor: r.sponsor.to_string(),
            active_from: r.active_from.to_string(),
            active_to: r.active_to.map(|d| d.to_string()),
            category: r.category.clone(),
            picture: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveIn {
    pub reward: u64,
    /// The member redeeming: oneself as a resident, or a resident present at a station.
    pub member: i64,
    /// A station operator sets this: the resident is present.
    #[serde(default)]
    pub present: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionOut {
    pub id: u64,
    pub reward: u64,
    pub reward_name: String,
    pub member: i64,
    pub sponsor: String,
    pub price: i64,
    /// Show this to the merchant, e.g. `ABCD-2345`.
    pub code: String,
    /// reserved, fulfilled, cancelled or expired.
    pub status: String,
    pub reserved_at: String,
    /// Unless fulfilled by then, the reservation is cancelled and refunded.
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// The redemption entry, `<region>:<seq>`.
    pub entry: String,
    /// The refund entry, when cancelled or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_entry: Option<String>,
}

impl RedemptionOut {
    pub fn from_view(d: &RedemptionView, offset: i32) -> Self {
        RedemptionOut {
            id: d.id,
            reward: d.reward,
            reward_name: d.reward_name.clone(),
            member: d.member.get(),
            sponsor: d.sponsor.to_string(),
            price: d.price.get(),
            code: d.code.to_string(),
            status: d.status.as_str().to_owned(),
            reserved_at: rfc3339(d.reserved, offset),
            expires_at: rfc3339(d.expires, offset),
            closed_at: d.closed.map(|t| rfc3339(t, offset)),
            entry: format!("{}:{}", d.region, d.entry_seq),
            refund_entry: d.refund_seq.map(|s| format!("{}:{s}", d.region)),
        }
    }
}

/// What a merchant sees of a redemption: the code and the item, nothing about the resident.
#[derive(Serialize, ToSchema)]
pub struct MerchantRedemptionOut {
    pub id: u64,
    pub code: String,
    pub reward: u64,
    pub reward_name: String,
    pub price: i64,
    pub status: String,
    pub reserved_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
}

impl MerchantRedemptionOut {
    pub fn from_view(d: &RedemptionView, offset: i32) -> Self {
        MerchantRedemptionOut {
            id: d.id,
            code: d.code.to_string(),
            reward: d.reward,
            reward_name: d.reward_name.clone(),
            price: d.price.get(),
            status: d.status.as_str().to_owned(),
            reserved_at: rfc3339(d.reserved, offset),
            expires_at: rfc3339(d.expires, offset),
            closed_at: d.closed.map(|t| rfc3339(t, offset)),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    /// The code the resident shows, typed or scanned; case, spaces and dashes do not matter.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct MonthOut {
    /// YYYY-MM.
    pub month: String,
    pub issued: i64,
    pub deducted: i64,
    /// Redemptions less refunds.
    pub redeemed: i64,
    pub expired: i64,
    /// Points residents held at the month's end (the current month: now).
    pub outstanding: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SponsorBudgetOut {
    pub sponsor: SponsorOut,
    /// Points held by the sponsor's open reservations (not yet handed over).
    pub reserved: i64,
    /// Net points redeemed per month, averaged over the last three months.
    pub per_month: i64,
    /// How many months what is left lasts at that rate; absent when nothing is being redeemed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub months_left: Option<f64>,
    /// Net points redeemed per month, oldest first (same months as the region's).
    pub months: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BudgetOut {
    pub region: String,
    /// Points members hold: the region's liability.
    pub outstanding: i64,
    /// Points held by open reservations.
    pub reserved: i64,
    /// The last twelve months, oldest first.
    pub months: Vec<MonthOut>,
    pub sponsors: Vec<SponsorBudgetOut>,
}

impl BudgetOut {
    fn from_budget(b: &Budget) -> Self {
        BudgetOut {
            region: b.region.to_string(),
            outstanding: b.outstanding.get(),
            reserved: b.reserved.get(),
            months: b
                .months
                .iter()
                .map(|m| MonthOut {
                    month: m.month.clone(),
                    issued: m.issued.get(),
                    deducted: m.deducted.get(),
                    redeemed: m.redeemed.get(),
                    expired: m.expired.get(),
                    outstanding: m.outstanding.get(),
                })
                .collect(),
            sponsors: b
                .sponsors
                .iter()
                .map(|s| SponsorBudgetOut {
                    sponsor: SponsorOut::from_view(&s.sponsor),
                    reserved: s.reserved.get(),
                    per_month: s.per_month.get(),
                    months_left: s.months_left.map(|m| (m * 10.0).round() / 10.0),
                    months: s.months.iter().map(|(_, p)| p.get()).collect(),
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------- policy

/// The region's supermarket and year-close policy (defaults until set).
#[utoipa::path(get, path = "/api/v1/regions/{region}/policy", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = PolicyIo), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_policy(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
) -> ApiResult<Json<PolicyIo>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let p = read(&state, move |s| Ok(s.policy(&code)?)).await?;
    Ok(Json(PolicyIo::from_policy(&p)))
}

/// Sets the region's policy; it applies to reservations and closes from now on.
#[utoipa::path(put, path = "/api/v1/regions/{region}/policy", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = PolicyIo,
    responses((status = 200, body = PolicyIo), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_policy(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    ApiJson(body): ApiJson<PolicyIo>,
) -> ApiResult<Json<PolicyIo>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let p = body.to_policy()?;
    let out = PolicyIo::from_policy(&p);
    read(&state, move |s| Ok(s.set_policy(code, p)?)).await?;
    Ok(Json(out))
}

// ---------------------------------------------------------------- sponsors

/// The region's sponsors with their budgets and what is used.
#[utoipa::path(get, path = "/api/v1/regions/{region}/sponsors", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = Vec<SponsorOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_sponsors(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
) -> ApiResult<Json<Vec<SponsorOut>>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let v = read(&state, move |s| Ok(s.sponsors(&code)?)).await?;
    Ok(Json(v.iter().map(SponsorOut::from_view).collect()))
}

/// Adds a sponsor (201) or changes its name, kind and budget (200). A budget
/// cannot be cut below what is redeemed already (422).
#[utoipa::path(put, path = "/api/v1/regions/{region}/sponsors/{sponsor}", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("sponsor" = String, Path, description = "sponsor code")),
    request_body = SponsorIn,
    responses((status = 200, body = SponsorOut), (status = 201, body = SponsorOut), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_sponsor(
    State(state): State<AppState>,
    who: Principal,
    Path((r, sp)): Path<(String, String)>,
    ApiJson(body): ApiJson<SponsorIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let sponsor = Sponsor {
        code: SponsorCode::parse(&sp)
            .map_err(|e| ApiError::not_found(format!("sponsor {sp:?}: {e}")))?,
        name: body.name,
        kind: SponsorKind::parse(&body.kind).map_err(|e| ApiError::field("kind", e.to_string()))?,
        budget: Points::new(body.budget),
    };
    sponsor.validate().map_err(|e| match e {
        jifen_core::market::MarketError::BadBudget(_) => ApiError::field("budget", e.to_string()),
        e => ApiError::field("name", e.to_string()),
    })?;
    let (created, view) = read(&state, move |s| {
        let sp = sponsor.code.clone();
        let created = s.put_sponsor(code.clone(), sponsor)?;
        let view = s.sponsor(&code, &sp)?;
        Ok((created, view))
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(SponsorOut::from_view(&view))).into_response())
}

// ---------------------------------------------------------------- rewards

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct RewardQuery {
    /// Admins: every reward, also those not on offer today.
    #[serde(default)]
    all: bool,
}

/// The catalog: rewards on offer today (admins may ask for `all`).
#[utoipa::path(get, path = "/api/v1/regions/{region}/rewards", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), RewardQuery),
    responses((status = 200, body = Vec<RewardOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_rewards(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<RewardQuery>,
) -> ApiResult<Json<Vec<RewardOut>>> {
    let code = region(&r)?;
    if q.all {
        who.require(&code, &[Role::Admin, Role::Auditor])?;
    } else if who.grants_for(&code).next().is_none() {
        return Err(ApiError::forbidden(format!(
            "this needs a role in region {code}"
        )));
    }
    let offset = state.offset(&code).await?;
    let today = state
        .clock()
        .now()
        .local_date(offset)
        .map_err(ApiError::internal)?;
    let c2 = code.clone();
    let (v, pictures) = read(&state, move |s| {
        Ok((
            s.rewards(&c2, (!q.all).then_some(today))?,
            s.reward_picture_hashes(&c2)?,
        ))
    })
    .await?;
    let pictures: std::collections::HashMap<u64, String> = pictures.into_iter().collect();
    Ok(Json(
        v.iter()
            .map(|r| RewardOut::from_view(r).with_picture(&code, pictures.get(&r.id)))
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct PictureQuery {
    /// The start of the picture's SHA-256, as `picture` in the rewards list gives it.
    v: Option<String>,
}

/// The largest request body of a picture upload: the picture and a little more.
pub const PICTURE_BODY_BYTES_MAX: usize = jifen_core::market::PICTURE_BYTES_MAX + 16 * 1024;

/// A reward's picture (public: the shop's pictures hold nothing personal). Cached:
/// a path with `?v=` (as `picture` in the rewards list gives it) names these bytes
/// for good; `If-None-Match` with the ETag answers 304.
#[utoipa::path(get, path = "/api/v1/regions/{region}/rewards/{id}/picture", tag = "market",
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "reward id"), PictureQuery),
    responses((status = 200, description = "the picture (PNG, JPEG or WebP)", content_type = "image/*"),
              (status = 304, description = "not modified"), (status = 404, body = Problem)))]
async fn get_picture(
    State(state): State<AppState>,
    Path((r, id)): Path<(String, u64)>,
    Query(q): Query<PictureQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let p = read(&state, move |s| Ok(s.reward_picture(&code, id)?)).await?;
    let etag = format!("\"{}\"", p.sha256);
    // Kept for good only under the path that names these bytes (`?v=` as the rewards
    // list gives it); otherwise checked again each time by its ETag.
    let named =
        q.v.as_deref()
            .is_some_and(|v| !v.is_empty() && p.sha256.starts_with(v));
    let cache = HeaderValue::from_static(if named {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag_v = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    if fresh {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_v), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let ct = HeaderValue::from_str(&p.content_type).map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ct),
            (header::ETAG, etag_v),
            (header::CACHE_CONTROL, cache),
        ],
        p.bytes,
    )
        .into_response())
}

/// Sets a reward's picture (admins): the body is the image itself, a PNG, JPEG or
/// WebP of at most 200 KB, checked by its bytes whatever its `Content-Type`.
#[utoipa::path(put, path = "/api/v1/regions/{region}/rewards/{id}/picture", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "reward id"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body(content = Vec<u8>, content_type = "image/*", description = "the picture"),
    responses((status = 200, body = RewardOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn put_picture(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, u64)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<RewardOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let c2 = code.clone();
    let (v, sha) = read(&state, move |s| {
        let sha = s.set_reward_picture(c2.clone(), id, body.to_vec())?;
        Ok((s.reward(&c2, id)?, sha))
    })
    .await?;
    Ok(Json(
        RewardOut::from_view(&v).with_picture(&code, Some(&sha)),
    ))
}

/// Removes a reward's picture (admins).
#[utoipa::path(delete, path = "/api/v1/regions/{region}/rewards/{id}/picture", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "reward id"),
           ("Idempotency-Key" = String, Header, description = "required on every write")),
    responses((status = 204, description = "removed"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn delete_picture(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, u64)>,
) -> ApiResult<StatusCode> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    read(&state, move |s| Ok(s.remove_reward_picture(code, id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why the member cannot redeem a reward now, before they try.
#[derive(Serialize, ToSchema)]
pub struct RefusalOut {
    pub reward: u64,
    /// out-of-stock, level-too-low or limit-reached.
    pub code: String,
    pub detail: String,
}

/// The rewards on offer that the member cannot redeem now because of stock, level
/// or their per-member limit, and why (the member, station staff). Points short
/// follow from the balance; the sponsor's budget is checked on reserving.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/reward-refusals", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number")),
    responses((status = 200, body = Vec<RefusalOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn reward_refusals(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<Json<Vec<RefusalOut>>> {
    let code = region(&r)?;
    let member = MemberId::new(m).map_err(|e| ApiError::field("member", e.to_string()))?;
    if who.member_of(&code) != Some(member) && !who.has(&code, Role::Station) {
        return Err(ApiError::forbidden(
            "a member's reasons are shown to the member and to station staff",
        ));
    }
    let c2 = code.clone();
    let list = read(&state, move |s| Ok(s.member_refusals(&c2, member)?)).await?;
    crate::access::record(
        &state,
        &who,
        &code,
        [member],
        "GET /api/v1/regions/{region}/members/{member}/reward-refusals",
    )
    .await?;
    Ok(Json(
        list.into_iter()
            .map(|(reward, e)| match e {
                jifen_store::StoreError::Refused { code, detail } => RefusalOut {
                    reward,
                    code: code.to_owned(),
                    detail,
                },
                other => RefusalOut {
                    reward,
                    code: "refused".to_owned(),
                    detail: other.to_string(),
                },
            })
            .collect(),
    ))
}

/// Adds a reward to the catalog.
#[utoipa::path(post, path = "/api/v1/regions/{region}/rewards", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = RewardIn,
    responses((status = 201, body = RewardOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_reward(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RewardIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let key = idempotency_key(&headers)?;
    let reward = body.to_reward()?;
    let path = format!("/api/v1/regions/{code}/rewards");
    once(
        &state,
        who.id(),
        key,
        "POST",
        path,
        StatusCode::CREATED,
        AddReward {
            region: code,
            reward,
        },
        RewardOut::from_view,
    )
    .await
}

/// Replaces a reward's details; redemptions made keep their price.
#[utoipa::path(put, path = "/api/v1/regions/{region}/rewards/{id}", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "reward id")),
    request_body = RewardIn,
    responses((status = 200, body = RewardOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_reward(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, u64)>,
    ApiJson(body): ApiJson<RewardIn>,
) -> ApiResult<Json<RewardOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let reward = body.to_reward()?;
    let v = read(&state, move |s| {
        s.update_reward(code.clone(), id, reward)?;
        Ok(s.reward(&code, id)?)
    })
    .await?;
    Ok(Json(RewardOut::from_view(&v)))
}

// ---------------------------------------------------------------- redemptions

/// Reserves one item: a resident for themself, or a station operator for a
/// resident who is present. Spendable balance, stock, level, the per-member
/// limit and the sponsor's budget are checked in the same write that takes the
/// points; the answer carries the code to show the merchant.
#[utoipa::path(post, path = "/api/v1/regions/{region}/redemptions", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = ReserveIn,
    responses((status = 201, body = RedemptionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reserve(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReserveIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let member =
        MemberId::new(body.member).map_err(|e| ApiError::field("member", e.to_string()))?;
    let own = who.member_of(&code) == Some(member);
    if own && who.has(&code, Role::Resident) {
        // A resident for themself.
    } else if who.has(&code, Role::Station) && !own {
        if !body.present {
            return Err(ApiError::field(
                "present",
                "a station redeems only for a resident who is present: set present to true",
            ));
        }
    } else if who.has(&code, Role::Resident) || who.has(&code, Role::Station) {
        return Err(ApiError::forbidden(
            "a resident redeems only for themself; a station only for someone else who is present",
        ));
    } else {
        return Err(ApiError::forbidden(format!(
            "this needs the role resident or station in region {code}"
        )));
    }
    let key = idempotency_key(&headers)?;
    let offset = state.offset(&code).await?;
    let by = who.id();
    let path = format!("/api/v1/regions/{code}/redemptions");
    let cmd = Reserve {
        region: code,
        reward: body.reward,
        member,
        by,
    };
    once(
        &state,
        by,
        key,
        "POST",
        path,
        StatusCode::CREATED,
        cmd,
        move |d| RedemptionOut::from_view(d, offset),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct RedemptionQuery {
    /// Only this member's (staff); a resident always sees only their own.
    member: Option<i64>,
    /// reserved, fulfilled, cancelled or expired.
    status: Option<String>,
    /// Redemptions with ids below this (from the previous page's `next`).
    before: Option<u64>,
    limit: Option<u32>,
}

fn status_param(s: Option<&str>) -> Result<Option<RedemptionStatus>, ApiError> {
    s.map(|s| RedemptionStatus::parse(s).map_err(|e| ApiError::field("status", e.to_string())))
        .transpose()
}

fn limit_param(l: Option<u32>) -> Result<u32, ApiError> {
    super::Page {
        after: None,
        limit: l,
    }
    .limit()
}

/// Lists redemptions, newest first: a resident their own; admins and auditors all.
#[utoipa::path(get, path = "/api/v1/regions/{region}/redemptions", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), RedemptionQuery),
    responses((status = 200, body = Paged<RedemptionOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_redemptions(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<RedemptionQuery>,
) -> ApiResult<Json<Paged<RedemptionOut>>> {
    let code = region(&r)?;
    let limit = limit_param(q.limit)?;
    let staff = who.has(&code, Role::Admin) || who.has(&code, Role::Auditor);
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
            return Err(ApiError::forbidden(
                "a resident sees only their own redemptions",
            ));
        }
        Some(own)
    };
    let filter = RedemptionFilter {
        member,
        sponsor: None,
        status: status_param(q.status.as_deref())?,
    };
    redemption_page(
        &state,
        code,
        filter,
        q.before,
        limit,
        RedemptionOut::from_view,
    )
    .await
}

/// One page of a region's redemptions (`before` a redemption number, at most
/// `limit`), each shown by `out` in the region's time, with the next page's cursor.
async fn redemption_page<T: ToSchema>(
    state: &AppState,
    code: RegionCode,
    filter: RedemptionFilter,
    before: Option<u64>,
    limit: u32,
    out: fn(&RedemptionView, i32) -> T,
) -> ApiResult<Json<Paged<T>>> {
    let offset = state.offset(&code).await?;
    let before = before.unwrap_or(0);
    let v = read(state, move |s| {
        Ok(s.redemptions(&code, &filter, before, limit)?)
    })
    .await?;
    let next = (v.len() == limit as usize)
        .then(|| v.last().and_then(|d| i64::try_from(d.id).ok()))
        .flatten();
    Ok(Json(Paged {
        items: v.iter().map(|d| out(d, offset)).collect(),
        next,
    }))
}

/// One redemption the caller may see: their own, or any for admins and auditors.
async fn visible_redemption(
    state: &AppState,
    who: &Principal,
    code: &RegionCode,
    id: u64,
) -> ApiResult<RedemptionView> {
    who.require(code, &[Role::Resident, Role::Admin, Role::Auditor])?;
    let c = code.clone();
    let d = read(state, move |s| Ok(s.redemption(&c, id)?)).await?;
    let staff = who.has(code, Role::Admin) || who.has(code, Role::Auditor);
    if staff || who.member_of(code) == Some(d.member) {
        Ok(d)
    } else {
        // Someone else's redemption reads as absent.
        Err(ApiError::not_found(format!(
            "redemption {id} in region {code} not found"
        )))
    }
}

/// One redemption.
#[utoipa::path(get, path = "/api/v1/regions/{region}/redemptions/{id}", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "redemption id")),
    responses((status = 200, body = RedemptionOut), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_redemption(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, u64)>,
) -> ApiResult<Json<RedemptionOut>> {
    let code = region(&r)?;
    let d = visible_redemption(&state, &who, &code, id).await?;
    let offset = state.offset(&code).await?;
    Ok(Json(RedemptionOut::from_view(&d, offset)))
}

/// The redemption code as a QR code (SVG), to show the merchant's scanner.
#[utoipa::path(get, path = "/api/v1/regions/{region}/redemptions/{id}/qr.svg", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "redemption id")),
    responses((status = 200, description = "the code as a QR code", content_type = "image/svg+xml", body = String),
              (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn redemption_qr(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let d = visible_redemption(&state, &who, &code, id).await?;
    let svg = redemption_qr_svg(&d.code)?;
    let mut res = (StatusCode::OK, svg).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// A redemption code as an SVG QR code; it encodes the printed code (`ABCD-2345`).
pub fn redemption_qr_svg(code: &RedemptionCode) -> ApiResult<String> {
    let qr = QrCode::with_error_correction_level(code.to_string().as_bytes(), EcLevel::M)
        .map_err(ApiError::internal)?;
    Ok(qr
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .build())
}

/// Cancels a reservation and refunds it: the resident's own, or any as admin.
#[utoipa::path(post, path = "/api/v1/regions/{region}/redemptions/{id}/cancel", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("id" = u64, Path, description = "redemption id"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    responses((status = 200, body = RedemptionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, u64)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let as_member = if who.has(&code, Role::Admin) {
        None
    } else {
        who.require(&code, &[Role::Resident, Role::Admin])?;
        Some(
            who.member_of(&code)
                .ok_or_else(|| ApiError::forbidden("no member record in this region"))?,
        )
    };
    let key = idempotency_key(&headers)?;
    let offset = state.offset(&code).await?;
    let by = who.id();
    let path = format!("/api/v1/regions/{code}/redemptions/{id}/cancel");
    let cmd = CancelRedemption {
        region: code,
        id,
        as_member,
        by,
    };
    once(
        &state,
        by,
        key,
        "POST",
        path,
        StatusCode::OK,
        cmd,
        move |d| RedemptionOut::from_view(d, offset),
    )
    .await
}

// ---------------------------------------------------------------- merchant

fn merchant_sponsor(who: &Principal, code: &RegionCode) -> ApiResult<SponsorCode> {
    who.require(code, &[Role::Merchant])?;
    who.sponsor_of(code).ok_or_else(|| {
        ApiError::forbidden(format!(
            "this merchant account names no sponsor in region {code}; ask an admin to set it"
        ))
    })
}

/// A merchant confirms a code it is shown: the item is handed over. Only the
/// merchant's own sponsor's redemptions can be confirmed; any other code is
/// unknown (404). A reservation past its window was refunded: 409.
#[utoipa::path(post, path = "/api/v1/regions/{region}/merchant/confirm", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = ConfirmIn,
    responses((status = 200, body = MerchantRedemptionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn confirm(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ConfirmIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    let sponsor = merchant_sponsor(&who, &code)?;
    let rc =
        RedemptionCode::parse(&body.code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let key = idempotency_key(&headers)?;
    // Refund what is past its window first, so a stale code is told so (409).
    read(&state, |s| Ok(s.expire_reservations().map(|_| ())?)).await?;
    let offset = state.offset(&code).await?;
    let by = who.id();
    let path = format!("/api/v1/regions/{code}/merchant/confirm");
    let cmd = ConfirmRedemption {
        region: code,
        code: rc,
        sponsor,
        by,
    };
    once(
        &state,
        by,
        key,
        "POST",
        path,
        StatusCode::OK,
        cmd,
        move |d| MerchantRedemptionOut::from_view(d, offset),
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct MerchantQuery {
    /// reserved (pending), fulfilled, cancelled or expired.
    status: Option<String>,
    before: Option<u64>,
    limit: Option<u32>,
}

/// The merchant's own redemptions (its sponsor's), newest first: code, item and state only.
#[utoipa::path(get, path = "/api/v1/regions/{region}/merchant/redemptions", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), MerchantQuery),
    responses((status = 200, body = Paged<MerchantRedemptionOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn merchant_list(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(q): Query<MerchantQuery>,
) -> ApiResult<Json<Paged<MerchantRedemptionOut>>> {
    let code = region(&r)?;
    let sponsor = merchant_sponsor(&who, &code)?;
    let limit = limit_param(q.limit)?;
    let filter = RedemptionFilter {
        member: None,
        sponsor: Some(sponsor),
        status: status_param(q.status.as_deref())?,
    };
    redemption_page(
        &state,
        code,
        filter,
        q.before,
        limit,
        MerchantRedemptionOut::from_view,
    )
    .await
}

// ---------------------------------------------------------------- budget

/// Outstanding points (the region's liability), points issued, deducted,
/// redeemed and expired per month, and each sponsor's budget: committed, used,
/// left, and how many months it lasts at the recent redemption rate.
#[utoipa::path(get, path = "/api/v1/regions/{region}/budget", tag = "market", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = BudgetOut), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn budget(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
) -> ApiResult<Json<BudgetOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Auditor])?;
    let b = read(&state, move |s| Ok(s.budget(&code)?)).await?;
    Ok(Json(BudgetOut::from_budget(&b)))
}

/// Expires and refunds overdue reservations, and deletes idempotent answers older than
/// the store's `IDEMPOTENCY_KEEP_HOURS` and sign-in attempts older than its
/// `SIGN_INS_KEEP_DAYS`, every [`SWEEP_SECONDS`] until the runtime stops.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(SWEEP_SECONDS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let swept = [
                sweep(&state, "expired and refunded reservations", |s| {
                    s.expire_reservations().map(|d| d.len() as u64)
                })
                .await,
                // Answers kept under idempotency keys past their time go too,
                sweep(
                    &state,
                    "deleted old idempotent answers",
                    Store::forget_old_responses,
                )
                .await,
                // and sign-in attempts past theirs.
                sweep(
                    &state,
                    "deleted old sign-in attempts",
                    Store::forget_old_sign_ins,
                )
                .await,
            ];
            if swept.contains(&Swept::Closed) {
                return;
            }
        }
    });
}

#[derive(PartialEq)]
enum Swept {
    Done,
    Closed,
}

/// One sweep on the blocking pool: `f` returns how many things it swept, logged as `what`.
async fn sweep(
    state: &AppState,
    what: &'static str,
    f: impl FnOnce(&Store) -> jifen_store::Result<u64> + Send + 'static,
) -> Swept {
    let store = state.store().clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(Ok(n)) if n > 0 => tracing::info!(count = n, "{what}"),
        Ok(Ok(_)) => {}
        Ok(Err(jifen_store::StoreError::Closed)) => return Swept::Closed,
        Ok(Err(e)) => tracing::warn!(error = %e, "sweep failed: {what}"),
        Err(e) => tracing::warn!(error = %e, "sweep panicked: {what}"),
    }
    Swept::Done
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_policy, put_policy))
        .routes(routes!(list_sponsors))
        .routes(routes!(put_sponsor))
        .routes(routes!(list_rewards, add_reward))
        .routes(routes!(update_reward))
        .routes(routes!(reward_refusals))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(get_picture, put_picture, delete_picture))
                .layer(axum::extract::DefaultBodyLimit::max(PICTURE_BODY_BYTES_MAX)),
        )
        .routes(routes!(reserve, list_redemptions))
        .routes(routes!(get_redemption))
        .routes(routes!(redemption_qr))
        .routes(routes!(cancel))
        .routes(routes!(confirm))
        .routes(routes!(merchant_list))
        .routes(routes!(budget))
}
