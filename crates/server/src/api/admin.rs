//! Configuring a region (admin): households and members (and erasing one),
//! indicators and their versions, levels, accounts and their roles, and API
//! tokens for integrations (a blood bank, a volunteer platform).
//!
//! Households, members, indicator versions and accounts are store commands run
//! through [`once`], so a retry with the same `Idempotency-Key` returns the first
//! answer. Levels, roles, tokens and erasure go through store methods that keep
//! no answer: levels, role grants and erasure are idempotent by nature, the
//! others are not (yet).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jifen_core::clock::parse_date;
use jifen_core::indicator::IndicatorError;
use jifen_core::level::{LEVELS_MAX, LevelError};
use jifen_core::member::check_name;
use jifen_core::{
    Caps, Claimants, Evidence, HouseholdId, Indicator, IndicatorCode, Level, Levels, MemberId,
    OperatorId, Points, RegionCode, ReviewPolicy, Role, SponsorCode,
};
use jifen_store::accounts::RegionSettings;
use jifen_store::accounts::{Grant, SignInOutcome, Token, TokenKind, USERNAME_BYTES_MAX};
use jifen_store::admin::NewMember;
use jifen_store::{AddHousehold, CreateAccount, PutIndicator, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{AccountOut, GrantOut, Paged, SignInsOut, rfc3339};
use super::{Page, region};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

/// Longest an API token lives, in days: integrations renew yearly.
pub const API_TOKEN_DAYS_MAX: u32 = 366;
/// Longest an award may wait on the public notice board, in days.
pub const NOTICE_DAYS_MAX: u32 = 90;
/// Shortest password an admin may set, in bytes.
/// Longest password, in bytes (login refuses longer ones).
pub const PASSWORD_BYTES_MAX: usize = 1024;
/// Longest display name, in characters (the store's limit, checked here to name the field).
pub const DISPLAY_NAME_CHARS_MAX: usize = 64;

// ---------------------------------------------------------------- wire types

/// Large text (适老化) on or off.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LargeTextIn {
    pub on: bool,
}

/// A language for the pages: `zh` or `en`; null for none.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LangIo {
    pub lang: Option<String>,
}

/// A witness a region names (c2sp.org/tlog-witness).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessIo {
    /// Its key name, as in its verifier key.
    pub name: String,
    /// Its Ed25519 `cosignature/v1` verifier key: `<name>+<key ID>+<base64(0x04 || key)>`.
    pub vkey: String,
    /// Its submission prefix, `http://host[:port][/prefix]`: checkpoints are posted to
    /// `<url>/add-checkpoint`.
    pub url: String,
}

/// A region's witnesses, and how many of them a reader should require on a checkpoint.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WitnessesIo {
    pub witnesses: Vec<WitnessIo>,
    /// How many of the witnesses' cosignatures `jifen verify`, `jifen log check` and the
    /// transparency page require (0 to the number of witnesses).
    pub quorum: u32,
}

fn witnesses_io(w: jifen_store::witness::Witnesses) -> WitnessesIo {
    WitnessesIo {
        witnesses: w
            .witnesses
            .into_iter()
            .map(|w| WitnessIo {
                name: w.name,
                vkey: w.vkey,
                url: w.url,
            })
            .collect(),
        quorum: w.quorum,
    }
}

/// A region's settings.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionSettingsIo {
    /// `zh` or `en`: the region's pages come in it unless the person chose another;
    /// null: the browser's language, else Chinese.
    #[serde(default)]
    pub default_lang: Option<String>,
    /// Station staff may create events and show their check-in codes.
    #[serde(default)]
    pub stations_run_events: bool,
    /// The days reviewers have to decide a claim (1 to 90; 7 when left out): the
    /// review queue counts the claims waiting longer.
    #[serde(default = "default_review_days")]
    pub review_days: u32,
}

fn default_review_days() -> u32 {
    jifen_store::accounts::DEFAULT_REVIEW_DAYS
}

/// What switching large text for a resident did.
#[derive(Serialize, ToSchema)]
pub struct MemberLargeTextOut {
    pub on: bool,
    /// The resident's accounts it now applies to.
    pub accounts: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdIn {
    /// e.g. 3组12号.
    pub label: String,
    /// A chosen number; the next free one when absent.
    pub id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct HouseholdOut {
    pub id: i64,
    pub label: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    pub household: i64,
    pub name: String,
    /// A chosen number; the next free one when absent.
    pub id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct IdOut {
    pub id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct MemberOut {
    pub id: i64,
    pub household: i64,
    pub household_label: String,
    /// Absent once the member's personal data is erased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorIn {
    /// Letters, digits, '-', '_' and '.', e.g. TX-COUNCIL. An existing code gets a new version.
    pub code: String,
    pub name: String,
    /// e.g. 自治 / 法治 / 德治.
    pub category: String,
    /// Per unit: positive awards, negative deducts.
    pub points: i64,
    /// e.g. 次, 小时.
    pub unit: String,
    pub cap_per_day: Option<u32>,
    pub cap_per_month: Option<u32>,
    pub cap_per_year: Option<u32>,
    /// none, note or attachment.
    pub evidence: String,
    /// auto, one, or two (two reviewers at or above `review_threshold`).
    pub review: String,
    /// Only with review "two".
    pub review_threshold: Option<i64>,
    /// residents or staff.
    pub claimants: String,
    /// YYYY-MM-DD.
    pub valid_from: String,
    /// YYYY-MM-DD, inclusive.
    pub valid_to: Option<String>,
    /// Inherited by every descendant region.
    pub core: bool,
    /// Days an approved award waits on the public notice board before it posts.
    pub notice_days: u32,
}

#[derive(Serialize, ToSchema)]
pub struct IndicatorVersionOut {
    pub code: String,
    pub version: u32,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelIn {
    pub code: String,
    pub name: String,
    /// Lowest annual score of the level; thresholds rise strictly.
    pub min_score: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// ASCII letters, digits, '-', '_' or '.'.
    pub username: String,
    pub display_name: String,
    /// Absent for accounts that only use API tokens.
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub account: i64,
    /// resident, reviewer, station, admin, merchant or auditor.
    pub role: String,
    /// The member the account is (required for resident).
    pub member: Option<i64>,
    /// The sponsor a merchant fulfils for (required for merchant).
    pub sponsor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    pub account: i64,
    /// The one role the token acts as; the account must hold it in the region.
    pub role: String,
    /// Lifetime, 1 to 366 days.
    pub days: u32,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    /// Send as `Authorization: Bearer <token>`; shown once, only its hash is kept.
    pub token: String,
    pub expires_at: String,
}

// ---------------------------------------------------------------- helpers

const ADMIN: &[Role] = &[Role::Admin];

/// Runs a store call that makes its own write on the blocking pool.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // Same mechanics as a read: the store call blocks, so keep it off the runtime.
    read(state, f).await
}

fn role_field(field: &str, s: &str) -> Result<Role, ApiError> {
    Role::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        ApiError::field(
            field,
            format!("unknown role {s:?}; one of {}", names.join(", ")),
        )
    })
}

fn indicator_error(e: IndicatorError, caps: &Caps) -> ApiError {
    let field = match &e {
        IndicatorError::BadText { field } => *field,
        IndicatorError::Text(t) => t.field(),
        IndicatorError::BadPoints(_) => "points",
        IndicatorError::DeductionClaimable => "claimants",
        IndicatorError::BadValidity { .. } => "valid_to",
        IndicatorError::ZeroCap => {
            if caps.per_day == Some(0) {
                "cap_per_day"
            } else if caps.per_month == Some(0) {
                "cap_per_month"
            } else {
                "cap_per_year"
            }
        }
        IndicatorError::ShadowsCore(_) => "code",
        IndicatorError::BadVersion | IndicatorError::Region(_) => {
            return ApiError::internal(e);
        }
    };
    ApiError::field(field, e.to_string())
}

/// Parses an indicator body into the domain type, naming the field that is wrong.
fn parse_indicator(code: &RegionCode, b: IndicatorIn) -> Result<Indicator, ApiError> {
    let ind_code =
        IndicatorCode::parse(&b.code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let evidence = match b.evidence.as_str() {
        "none" => Evidence::None,
        "note" => Evidence::Note,
        "attachment" => Evidence::Attachment,
        other => {
            return Err(ApiError::field(
                "evidence",
                format!("evidence {other:?} must be none, note or attachment"),
            ));
        }
    };
    let review = match (b.review.as_str(), b.review_threshold) {
        ("auto", None) => ReviewPolicy::Auto,
        ("one", None) => ReviewPolicy::One,
        ("two", Some(t)) if t > 0 => ReviewPolicy::TwoAbove(Points::new(t)),
        ("two", _) => {
            return Err(ApiError::field(
                "review_threshold",
                "review two needs a positive review_threshold: the award at or above which two reviewers approve",
            ));
        }
        ("auto" | "one", Some(_)) => {
            return Err(ApiError::field(
                "review_threshold",
                "review_threshold applies only to review two",
            ));
        }
        (other, _) => {
            return Err(ApiError::field(
                "review",
                format!("review {other:?} must be auto, one or two"),
            ));
        }
    };
    let claimants = match b.claimants.as_str() {
        "residents" => Claimants::Residents,
        "staff" => Claimants::StaffOnly,
        other => {
            return Err(ApiError::field(
                "claimants",
                format!("claimants {other:?} must be residents or staff"),
            ));
        }
    };
    let valid_from = parse_date(&b.valid_from)
        .map_err(|e| ApiError::field("valid_from", format!("{e}; write YYYY-MM-DD")))?;
    let valid_to = b
        .valid_to
        .as_deref()
        .map(|s| {
            parse_date(s).map_err(|e| ApiError::field("valid_to", format!("{e}; write YYYY-MM-DD")))
        })
        .transpose()?;
    if b.notice_days > NOTICE_DAYS_MAX {
        return Err(ApiError::field(
            "notice_days",
            format!("notice_days must be at most {NOTICE_DAYS_MAX}"),
        ));
    }
    let caps = Caps {
        per_day: b.cap_per_day,
        per_month: b.cap_per_month,
        per_year: b.cap_per_year,
    };
    let ind = Indicator {
        region: code.clone(),
        code: ind_code,
        // The store assigns the real version; 1 passes validation.
        version: 1,
        name: b.name,
        category: b.category,
        points: Points::new(b.points),
        unit: b.unit,
        caps,
        evidence,
        review,
        claimants,
        valid_from,
        valid_to,
        core: b.core,
        notice_days: b.notice_days,
    };
    ind.validate().map_err(|e| indicator_error(e, &caps))?;
    Ok(ind)
}

/// Parses levels, naming the entry that is wrong as `[i].field`.
fn parse_levels(body: Vec<LevelIn>) -> Result<Levels, ApiError> {
    if body.len() > LEVELS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("at most {LEVELS_MAX} levels"),
        ));
    }
    let levels: Vec<Level> = body
        .into_iter()
        .map(|l| Level {
            code: l.code,
            name: l.name,
            min_score: Points::new(l.min_score),
        })
        .collect();
    Levels::new(levels.clone()).map_err(|e| {
        let field = match &e {
            LevelError::TooMany => None,
            LevelError::BadText => levels.iter().enumerate().find_map(|(i, l)| {
                if l.code.trim().is_empty() || l.code.contains('\n') {
                    Some(format!("[{i}].code"))
                } else if l.name.trim().is_empty() || l.name.contains('\n') {
                    Some(format!("[{i}].name"))
                } else {
                    None
                }
            }),
            LevelError::NotRising(_) => levels
                .windows(2)
                .position(|w| w[1].min_score <= w[0].min_score)
                .map(|i| format!("[{}].min_score", i + 1)),
        };
        match field {
            Some(f) => ApiError::field(&f, format!("{f}: {e}")),
            None => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        }
    })
}

fn check_username(u: &str) -> Result<(), ApiError> {
    if u.is_empty()
        || u.len() > USERNAME_BYTES_MAX
        || !u
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(ApiError::field(
            "username",
            format!(
                "username must be 1 to {USERNAME_BYTES_MAX} ASCII letters, digits, '-', '_' or '.'"
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- households and members

/// Adds a household (户) to the region.
#[utoipa::path(post, path = "/api/v1/regions/{region}/households", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = HouseholdIn,
    responses((status = 201, body = HouseholdOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_household(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<HouseholdIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let key = idempotency_key(&headers)?;
    let label = check_name("household label", &body.label)
        .map_err(|e| ApiError::field("label", e.to_string()))?;
    let id = body
        .id
        .map(|i| HouseholdId::new(i).map_err(|e| ApiError::field("id", e.to_string())))
        .transpose()?;
    let path = format!("/api/v1/regions/{code}/households");
    let cmd = AddHousehold {
        region: code,
        id,
        label: label.clone(),
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        path,
        StatusCode::CREATED,
        cmd,
        move |id| HouseholdOut {
            id: id.get(),
            label,
        },
    )
    .await
}

/// Lists the region's members with their households (staff: admin, reviewer, station).
#[utoipa::path(get, path = "/api/v1/regions/{region}/members", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), Page),
    responses((status = 200, body = Paged<MemberOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_members(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Paged<MemberOut>>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin, Role::Reviewer, Role::Station])?;
    let limit = page.limit()?;
    let after = page.after();
    let c2 = code.clone();
    let views = read(&state, move |s| Ok(s.members(&c2, after, limit)?)).await?;
    crate::access::record(
        &state,
        &who,
        &code,
        views.iter().map(|v| v.id),
        "GET /api/v1/regions/{region}/members",
    )
    .await?;
    let next = (views.len() == limit as usize)
        .then(|| views.last().map(|v| v.id.get()))
        .flatten();
    Ok(Json(Paged {
        items: views
            .into_iter()
            .map(|m| MemberOut {
                id: m.id.get(),
                household: m.household.get(),
                household_label: m.household_label,
                name: m.name,
            })
            .collect(),
        next,
    }))
}

/// Adds a member (居民) to a household, with a fresh commitment key.
#[utoipa::path(post, path = "/api/v1/regions/{region}/members", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = MemberIn,
    responses((status = 201, body = IdOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_member(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MemberIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let key = idempotency_key(&headers)?;
    let name = check_name("member name", &body.name)
        .map_err(|e| ApiError::field("name", e.to_string()))?;
    let household = HouseholdId::new(body.household)
        .map_err(|e| ApiError::field("household", e.to_string()))?;
    let id = body
        .id
        .map(|i| MemberId::new(i).map_err(|e| ApiError::field("id", e.to_string())))
        .transpose()?;
    let m = NewMember {
        region: code.clone(),
        id,
        household,
        name,
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        format!("/api/v1/regions/{code}/members"),
        StatusCode::CREATED,
        m,
        |id| IdOut { id: id.get() },
    )
    .await
}

/// Erases a member's personal data (crypto-shredding): the name, the commitment
/// key, claim notes and appeal statements go; the log stays verifiable and no
/// longer links to anyone. Idempotent by nature.
#[utoipa::path(post, path = "/api/v1/regions/{region}/members/{member}/erase", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn erase_member(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let member = MemberId::new(m).map_err(|_| ApiError::not_found(format!("member {m}")))?;
    tracing::info!(region = %code, member = m, operator = who.id().get(), "erasing a member's personal data");
    blocking(&state, move |s| Ok(s.erase_member(code, member)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Switches large text (适老化) on or off for a resident, on every account that signs
/// in as them, so each device they use shows it: a station operator (or reviewer or
/// admin) does it at the counter. Idempotent by nature.
#[utoipa::path(put, path = "/api/v1/regions/{region}/members/{member}/large-text", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("member" = i64, Path, description = "member id")),
    request_body = LargeTextIn,
    responses((status = 200, body = MemberLargeTextOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn member_large_text(
    State(state): State<AppState>,
    who: Principal,
    Path((r, m)): Path<(String, i64)>,
    ApiJson(body): ApiJson<LargeTextIn>,
) -> ApiResult<Json<MemberLargeTextOut>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Station, Role::Reviewer, Role::Admin])?;
    let member = MemberId::new(m).map_err(|_| ApiError::not_found(format!("member {m}")))?;
    let on = body.on;
    let accounts = blocking(&state, move |s| {
        Ok(s.set_member_large_text(code, member, on)?)
    })
    .await?;
    for a in &accounts {
        state.tokens().forget_account(*a);
    }
    Ok(Json(MemberLargeTextOut {
        on,
        accounts: accounts.len(),
    }))
}

/// A region's settings (public: they hold nothing personal).
#[utoipa::path(get, path = "/api/v1/regions/{region}/settings", tag = "admin",
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = RegionSettingsIo), (status = 404, body = Problem)))]
async fn get_region_settings(
    State(state): State<AppState>,
    Path(r): Path<String>,
) -> ApiResult<Json<RegionSettingsIo>> {
    let code = region(&r)?;
    let s = blocking(&state, move |s| Ok(s.region_settings(&code)?)).await?;
    Ok(Json(RegionSettingsIo {
        default_lang: s.default_lang,
        stations_run_events: s.stations_run_events,
        review_days: s.review_days,
    }))
}

/// The witnesses a region's log is sent to, and the quorum its readers should require
/// (public: a verifier needs them).
#[utoipa::path(get, path = "/api/v1/regions/{region}/witnesses", tag = "admin",
    params(("region" = String, Path, description = "region code")),
    responses((status = 200, body = WitnessesIo), (status = 404, body = Problem)))]
async fn get_witnesses(
    State(state): State<AppState>,
    Path(r): Path<String>,
) -> ApiResult<Json<WitnessesIo>> {
    let code = region(&r)?;
    let w = blocking(&state, move |s| Ok(s.witnesses(&code)?)).await?;
    Ok(Json(witnesses_io(w)))
}

/// Names the region's witnesses and quorum, replacing the ones before. From then on
/// each new checkpoint is sent to them after its commit; the cosignatures they send back
/// are published with it. Admins.
#[utoipa::path(put, path = "/api/v1/regions/{region}/witnesses", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = WitnessesIo,
    responses((status = 200, body = WitnessesIo), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_witnesses(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    ApiJson(body): ApiJson<WitnessesIo>,
) -> ApiResult<Json<WitnessesIo>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let w = jifen_store::witness::Witnesses {
        witnesses: body
            .witnesses
            .into_iter()
            .map(|w| jifen_store::witness::RegionWitness {
                name: w.name,
                vkey: w.vkey,
                url: w.url,
            })
            .collect(),
        quorum: body.quorum,
    };
    let c2 = code.clone();
    let w = blocking(&state, move |s| {
        s.set_witnesses(c2.clone(), w)?;
        Ok(s.witnesses(&c2)?)
    })
    .await?;
    Ok(Json(witnesses_io(w)))
}

/// Sets the region's settings: its default language (its pages come in it unless the
/// person chose another; it wins over the browser's header), whether its station
/// staff may run events, and the days its reviewers have to decide a claim. Admins.
#[utoipa::path(put, path = "/api/v1/regions/{region}/settings", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = RegionSettingsIo,
    responses((status = 200, body = RegionSettingsIo), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_region_settings(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    ApiJson(body): ApiJson<RegionSettingsIo>,
) -> ApiResult<Json<RegionSettingsIo>> {
    let code = region(&r)?;
    who.require(&code, &[Role::Admin])?;
    let settings = RegionSettings {
        default_lang: body.default_lang.clone(),
        stations_run_events: body.stations_run_events,
        review_days: body.review_days,
    };
    blocking(&state, move |s| Ok(s.set_region_settings(code, settings)?)).await?;
    Ok(Json(body))
}

// ---------------------------------------------------------------- indicators and levels

/// Adds an indicator, or a new version of one when the code exists (old versions
/// stay: entries name the version they were granted under).
#[utoipa::path(post, path = "/api/v1/regions/{region}/indicators", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = IndicatorIn,
    responses((status = 201, body = IndicatorVersionOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn put_indicator(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<IndicatorIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let key = idempotency_key(&headers)?;
    let ind = parse_indicator(&code, body)?;
    let ind_code = ind.code.to_string();
    // Checked above on its own; what the store still refuses is about the code.
    once(
        &state,
        who.id(),
        key,
        "POST",
        format!("/api/v1/regions/{code}/indicators"),
        StatusCode::CREATED,
        PutIndicator(ind),
        move |version| IndicatorVersionOut {
            code: ind_code,
            version: *version,
        },
    )
    .await
}

/// Replaces the region's levels (thresholds on the annual score). Idempotent by nature.
#[utoipa::path(put, path = "/api/v1/regions/{region}/levels", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = Vec<LevelIn>,
    responses((status = 200, body = Vec<LevelIn>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn set_levels(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    ApiJson(body): ApiJson<Vec<LevelIn>>,
) -> ApiResult<Json<Vec<LevelIn>>> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let levels = parse_levels(body)?;
    let out = levels
        .all()
        .iter()
        .map(|l| LevelIn {
            code: l.code.clone(),
            name: l.name.clone(),
            min_score: l.min_score.get(),
        })
        .collect();
    blocking(&state, move |s| Ok(s.set_levels(code, levels)?)).await?;
    Ok(Json(out))
}

// ---------------------------------------------------------------- accounts, roles, tokens

/// Creates an account (an admin of any region may). It has no roles until granted some.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "admin", security(("bearer" = [])),
    request_body = AccountIn,
    responses((status = 201, body = IdOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_account(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AccountIn>,
) -> ApiResult<Response> {
    if !who
        .account
        .grants
        .iter()
        .any(|g| who.has(&g.region, Role::Admin))
    {
        return Err(ApiError::forbidden(
            "creating accounts needs the role admin in some region",
        ));
    }
    check_username(&body.username)?;
    let display = body.display_name.trim().to_owned();
    if display.is_empty() || display.chars().count() > DISPLAY_NAME_CHARS_MAX {
        return Err(ApiError::field(
            "display_name",
            format!("display_name must be 1 to {DISPLAY_NAME_CHARS_MAX} characters"),
        ));
    }
    if let Some(p) = &body.password {
        if p.len() > PASSWORD_BYTES_MAX {
            return Err(ApiError::field(
                "password",
                format!("password must be at most {PASSWORD_BYTES_MAX} bytes"),
            ));
        }
        jifen_core::password::check_password(p, &body.username)
            .map_err(|e| ApiError::field("password", e.to_string()))?;
    }
    let key = idempotency_key(&headers)?;
    // Argon2id is slow on purpose: hash on the blocking pool, not in the writer.
    let password = body.password.clone();
    let hash = blocking(&state, move |_| {
        password
            .as_deref()
            .map(crate::auth::hash_password)
            .transpose()
    })
    .await?;
    let username = body.username;
    let cmd = CreateAccount {
        username,
        display_name: display,
        password_hash: hash,
    };
    once(
        &state,
        who.id(),
        key,
        "POST",
        "/api/v1/accounts".to_owned(),
        StatusCode::CREATED,
        cmd,
        |id| IdOut { id: id.get() },
    )
    .await
}

/// Accounts holding a role in the region, with their roles there (only there).
#[utoipa::path(get, path = "/api/v1/regions/{region}/accounts", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), Page),
    responses((status = 200, body = Paged<AccountOut>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_accounts(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Paged<AccountOut>>> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let limit = page.limit()?;
    let after = page.after();
    let c2 = code.clone();
    let accounts = read(&state, move |s| Ok(s.region_accounts(&c2, after, limit)?)).await?;
    let next = (accounts.len() == limit as usize)
        .then(|| accounts.last().map(|a| a.id.get()))
        .flatten();
    Ok(Json(Paged {
        items: accounts
            .iter()
            .map(|a| AccountOut {
                id: a.id.get(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                large_text: a.large_text,
                lang: a.lang.clone(),
                // An admin of one region does not learn what the account does elsewhere.
                roles: a
                    .grants
                    .iter()
                    .filter(|g| g.region == code)
                    .map(|g| GrantOut {
                        region: g.region.to_string(),
                        role: g.role.as_str().to_owned(),
                        member: g.member.map(|m| m.get()),
                        sponsor: g.sponsor.as_ref().map(|s| s.to_string()),
                    })
                    .collect(),
            })
            .collect(),
        next,
    }))
}

/// An account of the region (one holding a role in it), for an admin there; 404
/// for any other, so an admin learns nothing of accounts elsewhere.
async fn region_account(
    state: &AppState,
    who: &Principal,
    r: &str,
    id: i64,
) -> ApiResult<OperatorId> {
    let code = region(r)?;
    who.require(&code, ADMIN)?;
    let not_here = || ApiError::not_found(format!("account {id} in region {code}"));
    let account = OperatorId::new(id).map_err(|_| not_here())?;
    let found = read(state, move |s| match s.account(account) {
        Ok(a) => Ok(Some(a)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await?;
    match found {
        Some(a) if a.grants.iter().any(|g| g.region == code) => Ok(account),
        _ => Err(not_here()),
    }
}

/// An account's recent sign-in attempts, and until when it refuses sign-ins (an
/// admin of a region where it holds a role).
#[utoipa::path(get, path = "/api/v1/regions/{region}/accounts/{account}/sign-ins", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("account" = i64, Path, description = "account id")),
    responses((status = 200, body = SignInsOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn account_sign_ins(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, i64)>,
) -> ApiResult<Json<SignInsOut>> {
    let account = region_account(&state, &who, &r, id).await?;
    Ok(Json(SignInsOut::read(&state, account).await?))
}

/// Ends an account's run of wrong passwords, so it takes sign-ins again at once
/// (an admin of a region where it holds a role). Unlocking twice changes nothing.
#[utoipa::path(post, path = "/api/v1/regions/{region}/accounts/{account}/unlock", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("account" = i64, Path, description = "account id"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    responses((status = 200, body = SignInsOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn unlock_account(
    State(state): State<AppState>,
    who: Principal,
    Path((r, id)): Path<(String, i64)>,
) -> ApiResult<Json<SignInsOut>> {
    let account = region_account(&state, &who, &r, id).await?;
    let admin = who.id();
    tracing::info!(
        account = id,
        admin = admin.get(),
        "unlocking an account's sign-in"
    );
    blocking(&state, move |s| {
        Ok(s.record_sign_in(account, SignInOutcome::Unlocked, String::new(), Some(admin))?)
    })
    .await?;
    Ok(Json(SignInsOut::read(&state, account).await?))
}

/// Gives an account a role in the region (replacing that role's member or sponsor
/// if it holds it already, so a retry changes nothing).
#[utoipa::path(post, path = "/api/v1/regions/{region}/roles", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = RoleIn,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn grant_role(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    ApiJson(body): ApiJson<RoleIn>,
) -> ApiResult<StatusCode> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let account =
        OperatorId::new(body.account).map_err(|e| ApiError::field("account", e.to_string()))?;
    let role = role_field("role", &body.role)?;
    let member = body
        .member
        .map(|m| MemberId::new(m).map_err(|e| ApiError::field("member", e.to_string())))
        .transpose()?;
    let sponsor = body
        .sponsor
        .as_deref()
        .map(|s| SponsorCode::parse(s).map_err(|e| ApiError::field("sponsor", e.to_string())))
        .transpose()?;
    if role == Role::Resident && member.is_none() {
        return Err(ApiError::field(
            "member",
            "a resident role must name the member the account is",
        ));
    }
    if role == Role::Merchant && sponsor.is_none() {
        return Err(ApiError::field(
            "sponsor",
            "a merchant role must name the sponsor it fulfils for",
        ));
    }
    let grant = Grant {
        region: code,
        role,
        member,
        sponsor,
    };
    blocking(&state, move |s| {
        s.account(account).map_err(|e| match e {
            StoreError::NotFound(what) => {
                ApiError::field("account", format!("{what} does not exist"))
            }
            e => ApiError::from(e),
        })?;
        s.grant_role(account, grant).map_err(|e| match e {
            // The account exists (checked above): what is missing is the member.
            StoreError::NotFound(what) => {
                ApiError::field("member", format!("{what} does not exist"))
            }
            e => ApiError::from(e),
        })
    })
    .await?;
    // Cached tokens carry the account's roles: drop them so the next request sees the new ones.
    state.tokens().forget_account(account);
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a role in the region away from an account. An admin cannot take their own admin role.
#[utoipa::path(delete, path = "/api/v1/regions/{region}/roles/{account}/{role}", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"), ("account" = i64, Path, description = "account id"),
           ("role" = String, Path, description = "role name")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
async fn revoke_role(
    State(state): State<AppState>,
    who: Principal,
    Path((r, a, role)): Path<(String, i64, String)>,
) -> ApiResult<StatusCode> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let account = OperatorId::new(a).map_err(|_| ApiError::not_found(format!("account {a}")))?;
    let role = Role::parse(&role).ok_or_else(|| ApiError::not_found(format!("role {role:?}")))?;
    if account == who.id() && role == Role::Admin {
        // Otherwise a region can be left with no one to configure it.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "you cannot take your own admin role; ask another admin",
        ));
    }
    blocking(&state, move |s| Ok(s.revoke_role(account, code, role)?)).await?;
    state.tokens().forget_account(account);
    Ok(StatusCode::NO_CONTENT)
}

/// Issues an API token for an integration (e.g. a blood bank): it acts only in this
/// region and only as the given role, which the account must hold here.
#[utoipa::path(post, path = "/api/v1/regions/{region}/tokens", tag = "admin", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code")),
    request_body = TokenIn,
    responses((status = 201, body = TokenOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
async fn issue_token(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    ApiJson(body): ApiJson<TokenIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    who.require(&code, ADMIN)?;
    let account =
        OperatorId::new(body.account).map_err(|e| ApiError::field("account", e.to_string()))?;
    let role = role_field("role", &body.role)?;
    if !(1..=API_TOKEN_DAYS_MAX).contains(&body.days) {
        return Err(ApiError::field(
            "days",
            format!("days must be 1 to {API_TOKEN_DAYS_MAX}"),
        ));
    }
    let token = crate::auth::new_token()?;
    let hash = crate::auth::token_hash(&token);
    let expires = state.clock().now().plus_days(i64::from(body.days));
    let c2 = code.clone();
    blocking(&state, move |s| {
        let a = s.account(account).map_err(|e| match e {
            StoreError::NotFound(what) => {
                ApiError::field("account", format!("{what} does not exist"))
            }
            e => ApiError::from(e),
        })?;
        if !a.grants.iter().any(|g| g.region == c2 && g.role == role) {
            return Err(ApiError::field(
                "role",
                format!(
                    "account {account} does not hold the role {} in region {c2}; grant it first",
                    role.as_str()
                ),
            ));
        }
        Ok(s.put_token(
            hash,
            Token {
                account,
                kind: TokenKind::Api,
                scope: Some((c2, role)),
                expires,
            },
        )?)
    })
    .await?;
    let offset = state.offset(&code).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenOut {
            token,
            expires_at: rfc3339(expires, offset),
        }),
    )
        .into_response())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_household))
        .routes(routes!(list_members, add_member))
        .routes(routes!(erase_member))
        .routes(routes!(member_large_text))
        .routes(routes!(get_region_settings, put_region_settings))
        .routes(routes!(get_witnesses, put_witnesses))
        .routes(routes!(put_indicator))
        .routes(routes!(set_levels))
        .routes(routes!(create_account))
        .routes(routes!(list_accounts))
        .routes(routes!(account_sign_ins))
        .routes(routes!(unlock_account))
        .routes(routes!(grant_role))
        .routes(routes!(revoke_role))
        .routes(routes!(issue_token))
}
