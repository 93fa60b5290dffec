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
    /// Policy for the partner's statements of annual scores: whether last year's
    /// stated score (at the rate) counts toward a member's level here.
    #[serde(default)]
    pub count_scores: bool,
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
    pub count_scores: bool,
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
        count_scores: a.count_scores,
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
        count_scores: body.count_scores,
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
        .routes(routes!(transfer_out, my_transfers))
        .routes(routes!(statement))
        .routes(routes!(transfer_in, transfers_in))
        .routes(routes!(score_statement))
        .routes(routes!(take_scores))
        .routes(routes!(recognized_scores))
}

// ---------------------------------------------------------------- transfers

/// Points to take to a partner region.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOutIn {
    /// The name this region gives the partner (its agreement's).
    pub partner: String,
    pub points: i64,
}

/// A transfer out: the points left with this entry; `secret` is shown this once, for
/// the resident to give the receiving station with the statement.
#[derive(Serialize, ToSchema)]
pub struct TransferOutOut {
    pub transfer: u64,
    pub entry: String,
    pub points: i64,
    pub secret: String,
    /// Where the statement is (a file to take to the receiving region).
    pub statement: String,
}

/// A resident takes points to a partner region (for themself), or a station or admin
/// for a resident. The points leave at once (a `recognition-out` entry, so they cannot
/// be spent twice); the answer holds the one-time code, shown only now.
#[utoipa::path(post, path = "/api/v1/regions/{region}/members/{member}/transfers", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number"),
           ("Idempotency-Key" = String, Header, description = "required on every write")),
    request_body = TransferOutIn,
    responses((status = 201, body = TransferOutOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn transfer_out(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<TransferOutIn>,
) -> ApiResult<axum::response::Response> {
    let code = region(&r)?;
    let member = m
        .parse::<i64>()
        .ok()
        .and_then(|n| jifen_core::MemberId::new(n).ok())
        .ok_or_else(|| ApiError::not_found(format!("member {m}")))?;
    own_or_staff(&who, &code, member)?;
    let partner = RegionCode::parse(&body.partner)
        .map_err(|e| ApiError::field("partner", format!("the agreement's name: {e}")))?;
    let key = crate::write::idempotency_key(&headers)?;
    let by = who.id();
    let path = format!("/api/v1/regions/{code}/members/{m}/transfers");
    let cmd = jifen_store::transfer::TransferOut {
        region: code.clone(),
        member,
        partner,
        points: Points::new(body.points),
        by,
    };
    crate::write::once(
        &state,
        by,
        key,
        "POST",
        path,
        axum::http::StatusCode::CREATED,
        cmd,
        move |t| TransferOutOut {
            transfer: t.transfer,
            entry: format!("{code}:{}", t.entry.seq),
            points: t.entry.amount.get(),
            secret: t.secret.clone(),
            statement: format!("/api/v1/regions/{code}/transfers/{}/statement", t.transfer),
        },
    )
    .await
}

/// A transfer out, as its member sees it.
#[derive(Serialize, ToSchema)]
pub struct TransferOutRowOut {
    pub transfer: u64,
    /// The agreement's name here.
    pub partner: String,
    pub points: i64,
    pub entry: String,
    pub created: String,
    /// Where its statement is.
    pub statement: String,
}

/// A member's transfers out, newest first, each with where its statement is (to
/// fetch it again). The member, a station or an admin.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/transfers", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number")),
    responses((status = 200, body = Vec<TransferOutRowOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn my_transfers(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, String)>,
) -> ApiResult<Json<Vec<TransferOutRowOut>>> {
    let code = region(&r)?;
    let member = member_of_path(&m)?;
    own_or_staff(&who, &code, member)?;
    let offset = state.offset(&code).await?;
    let c2 = code.clone();
    let rows = read(&state, move |s| Ok(s.transfers_out(&c2, member)?)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| TransferOutRowOut {
                statement: format!("/api/v1/regions/{code}/transfers/{}/statement", t.transfer),
                transfer: t.transfer,
                partner: t.partner,
                points: t.points,
                entry: format!("{code}:{}", t.seq),
                created: rfc3339(Timestamp::from_millis(t.created_ms), offset),
            })
            .collect(),
    ))
}

/// The statement of a transfer out (`text/plain`): the note signed by this region's
/// log key, then the receipt of its entry with the checkpoint's cosignatures. It holds
/// no name and no member number. The member, a station or an admin.
#[utoipa::path(get, path = "/api/v1/regions/{region}/transfers/{transfer}/statement", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("transfer" = u64, Path, description = "transfer number")),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn statement(
    State(state): State<AppState>,
    who: Principal,
    Path((r, t)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let code = region(&r)?;
    let transfer: u64 = t
        .parse()
        .map_err(|_| ApiError::not_found(format!("transfer {t}")))?;
    let c2 = code.clone();
    let (member, doc) = read(&state, move |s| Ok(s.statement(&c2, transfer)?)).await?;
    own_or_staff(&who, &code, member)?;
    Ok(axum::response::IntoResponse::into_response((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        doc,
    )))
}

/// A statement taken at this region's station, the resident present.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInIn {
    /// The member here the points go to.
    pub member: i64,
    /// The statement, as the home region gave it.
    pub statement: String,
    /// The one-time code the resident was shown at home.
    pub secret: String,
}

/// A transfer in: the entry posted here and the home entry it came from.
#[derive(Serialize, ToSchema)]
pub struct TransferInOut {
    pub transfer: u64,
    pub entry: String,
    pub points: i64,
    pub home_origin: String,
    pub home_index: u64,
    pub home_points: i64,
}

/// A station takes a resident's statement from a partner region, checked offline
/// against the partner's key, the witnesses the agreement trusts, the agreement and its
/// cap; then posts a `recognition-in` entry. A statement is taken once. Station, admin.
#[utoipa::path(post, path = "/api/v1/regions/{region}/transfers-in", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write")),
    request_body = TransferInIn,
    responses((status = 201, body = TransferInOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn transfer_in(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<TransferInIn>,
) -> ApiResult<axum::response::Response> {
    let code = region(&r)?;
    who.require(&code, &[Role::Station, Role::Admin])?;
    let member = jifen_core::MemberId::new(body.member)
        .map_err(|e| ApiError::field("member", e.to_string()))?;
    let key = crate::write::idempotency_key(&headers)?;
    let by = who.id();
    let path = format!("/api/v1/regions/{code}/transfers-in");
    let cmd = jifen_store::transfer::TransferIn {
        region: code.clone(),
        member,
        document: body.statement.replace("\r\n", "\n"),
        secret: body.secret,
        by,
    };
    crate::write::once(
        &state,
        by,
        key,
        "POST",
        path,
        axum::http::StatusCode::CREATED,
        cmd,
        move |t| TransferInOut {
            transfer: t.transfer,
            entry: format!("{code}:{}", t.entry.seq),
            points: t.entry.amount.get(),
            home_origin: t.home_origin.clone(),
            home_index: t.home_index,
            home_points: t.home_points.get(),
        },
    )
    .await
}

/// A transfer in as published: the home log's origin, the index and leaf hash of its
/// transfer-out entry, the points there and here, and the entry here. No member.
#[derive(Serialize, ToSchema)]
pub struct TransferInPublic {
    pub transfer: u64,
    pub partner: String,
    pub home_origin: String,
    pub home_index: u64,
    pub home_leaf_sha256: String,
    pub home_points: i64,
    pub points: i64,
    pub entry: u64,
}

/// The transfers this region took in, public: each names the home entry it came from.
#[utoipa::path(get, path = "/api/v1/regions/{region}/transfers-in", tag = "recognition",
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = Vec<TransferInPublic>), (status = 404, body = Problem)))]
async fn transfers_in(
    State(state): State<AppState>,
    Path(r): Path<String>,
) -> ApiResult<Json<Vec<TransferInPublic>>> {
    let code = region(&r)?;
    let rows = read(&state, move |s| Ok(s.transfers_in(&code)?)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| TransferInPublic {
                transfer: t.transfer,
                partner: t.partner,
                home_origin: t.home_origin,
                home_index: t.home_index,
                home_leaf_sha256: t.home_leaf_sha256,
                home_points: t.home_points,
                points: t.points,
                entry: t.seq,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- scores of past years

/// The partner a statement of scores is for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreStatementIn {
    /// The name this region gives the partner (its agreement's).
    pub partner: String,
}

/// One closed year's annual score.
#[derive(Serialize, ToSchema)]
pub struct YearScoreOut {
    pub year: i32,
    pub score: i64,
}

/// A statement of annual scores and its one-time code, shown this once.
#[derive(Serialize, ToSchema)]
pub struct ScoreStatementOut {
    /// The note signed by this region's log key: the two logs, the day, a pseudonymous
    /// subject (no name, no member number), the code's SHA-256 and the scores.
    pub statement: String,
    pub secret: String,
    pub years: Vec<YearScoreOut>,
}

/// The member themself (a resident), or a station or an admin of the region.
fn own_or_staff(who: &Principal, code: &RegionCode, member: jifen_core::MemberId) -> ApiResult<()> {
    if who.member_of(code) == Some(member) && who.has(code, Role::Resident) {
        return Ok(());
    }
    who.require(code, &[Role::Station, Role::Admin])?;
    Ok(())
}

fn member_of_path(m: &str) -> ApiResult<jifen_core::MemberId> {
    m.parse::<i64>()
        .ok()
        .and_then(|n| jifen_core::MemberId::new(n).ok())
        .ok_or_else(|| ApiError::not_found(format!("member {m}")))
}

/// A statement of a member's annual scores of the closed years, for a partner region
/// to count toward levels and honours (no points move, nothing is logged). Each call,
/// a retry too, makes a new statement and code and keeps nothing (the Idempotency-Key
/// every write carries is not looked up): each statement it made still checks. The
/// resident for themself, a station or an admin.
#[utoipa::path(post, path = "/api/v1/regions/{region}/members/{member}/score-statements", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number")),
    request_body = ScoreStatementIn,
    responses((status = 201, body = ScoreStatementOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn score_statement(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, String)>,
    ApiJson(body): ApiJson<ScoreStatementIn>,
) -> ApiResult<(axum::http::StatusCode, Json<ScoreStatementOut>)> {
    let code = region(&r)?;
    let member = member_of_path(&m)?;
    own_or_staff(&who, &code, member)?;
    let partner = RegionCode::parse(&body.partner)
        .map_err(|e| ApiError::field("partner", format!("the agreement's name: {e}")))?;
    let (doc, secret) = read(&state, move |s| {
        Ok(s.score_statement(&code, member, &partner)?)
    })
    .await?;
    let body = doc.split_once("\n\n").map_or("", |(t, _)| t);
    let years = jifen_store::scores::ScoreStatement::parse(&format!("{body}\n"))
        .map(|st| {
            st.years
                .into_iter()
                .map(|(year, s)| YearScoreOut {
                    year,
                    score: s.get(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((
        axum::http::StatusCode::CREATED,
        Json(ScoreStatementOut {
            statement: doc,
            secret,
            years,
        }),
    ))
}

/// A statement of scores taken at this region's station, the resident present.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeScoresIn {
    /// The member here the scores are for.
    pub member: i64,
    /// The statement, as the home region gave it.
    pub statement: String,
    /// The one-time code the resident was shown at home.
    pub secret: String,
}

/// A year's score taken from a partner's statement.
#[derive(Serialize, ToSchema)]
pub struct RecognizedScoreOut {
    /// The agreement's name here.
    pub partner: String,
    pub year: i32,
    /// The score at home.
    pub home_score: i64,
    /// The score at this agreement's rate.
    pub points: i64,
    /// Whether this region's policy counts it toward the member's level.
    pub counts: bool,
}

fn score_out(r: jifen_store::scores::RecognizedScore) -> RecognizedScoreOut {
    RecognizedScoreOut {
        partner: r.partner,
        year: r.year,
        home_score: r.home_score.get(),
        points: r.points.get(),
        counts: r.counts,
    }
}

/// A station takes a resident's statement of scores from a partner region, checked
/// offline against the partner's key and the agreement; each year's score is kept for
/// the member (a newer statement replaces an older). Station, admin.
#[utoipa::path(post, path = "/api/v1/regions/{region}/recognized-scores", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write")),
    request_body = TakeScoresIn,
    responses((status = 201, body = Vec<RecognizedScoreOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn take_scores(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<TakeScoresIn>,
) -> ApiResult<axum::response::Response> {
    let code = region(&r)?;
    who.require(&code, &[Role::Station, Role::Admin])?;
    let member = jifen_core::MemberId::new(body.member)
        .map_err(|e| ApiError::field("member", e.to_string()))?;
    let key = crate::write::idempotency_key(&headers)?;
    let by = who.id();
    let path = format!("/api/v1/regions/{code}/recognized-scores");
    let cmd = jifen_store::scores::TakeScores {
        region: code,
        member,
        document: body.statement.replace("\r\n", "\n"),
        secret: body.secret,
        by,
    };
    crate::write::once(
        &state,
        by,
        key,
        "POST",
        path,
        axum::http::StatusCode::CREATED,
        cmd,
        |rows| rows.iter().cloned().map(score_out).collect::<Vec<_>>(),
    )
    .await
}

/// The scores taken for a member from partners' statements, newest year first. The
/// member, a station or an admin.
#[utoipa::path(get, path = "/api/v1/regions/{region}/members/{member}/recognized-scores", tag = "recognition", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member number")),
    responses((status = 200, body = Vec<RecognizedScoreOut>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn recognized_scores(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, String)>,
) -> ApiResult<Json<Vec<RecognizedScoreOut>>> {
    let code = region(&r)?;
    let member = member_of_path(&m)?;
    own_or_staff(&who, &code, member)?;
    let rows = read(&state, move |s| Ok(s.recognized_scores(&code, member)?)).await?;
    Ok(Json(rows.into_iter().map(score_out).collect()))
}
