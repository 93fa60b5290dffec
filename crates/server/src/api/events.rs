//! Events (活动) and QR check-in: a reviewer opens an event under an indicator
//! for a time window and shows its QR code; a resident scans it and checks in
//! once, which makes a claim under the event's indicator and review policy.
//!
//! The QR code carries a link `/checkin/{region}/{event}?exp=<unix ms>&sig=<…>`
//! signed with the server's link key (HMAC-SHA256 over "region\nevent\nexp",
//! base64url), so a link cannot be made up or stretched past the event's end
//! without the key. The link leads to the web page that asks the resident to
//! confirm (opening it checks no one in). The link does not prove presence: it only keeps check-in to
//! the people who were shown the code, during the event.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use jifen_core::{IndicatorCode, RegionCode, Role, Timestamp};
use jifen_store::workflow::Event;
use jifen_store::{CheckIn, CreateEvent};
use qrcode::{Color, EcLevel, QrCode};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::region;
use super::wire::{ClaimOut, rfc3339};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::json::ApiJson;
use crate::write::{idempotency_key, once, read};

type HmacSha256 = Hmac<Sha256>;

/// Longest event, in days: a check-in link stays valid until the event ends, so
/// a link is never good for longer than this.
pub const EVENT_DAYS_MAX: i64 = 31;
/// Longest `sig` accepted, in characters (an HMAC-SHA256 in base64url is 43).
pub const SIG_CHARS_MAX: usize = 64;
/// White border around a QR code, in modules (the QR standard asks for 4).
pub const QR_QUIET_MODULES: usize = 4;
/// Size of one QR module in the PNG, in pixels.
pub const QR_MODULE_PX: usize = 8;
/// Smallest side of the SVG, in pixels.
pub const QR_SVG_PX_MIN: u32 = 256;

/// What a forged or altered link gets.
pub const NOT_GENUINE: &str = "the check-in code is not genuine";

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// What the event is, e.g. "3月村民议事会" (1 to 100 characters, one line).
    pub name: String,
    /// The indicator a check-in claims under; it must award points.
    pub indicator: String,
    /// RFC 3339, e.g. 2026-03-10T09:00:00+08:00.
    pub starts_at: String,
    /// RFC 3339; after `starts_at`, at most 31 days later. The check-in link expires then.
    pub ends_at: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// `<region>:<number>`.
    pub id: String,
    pub name: String,
    pub indicator: String,
    pub starts_at: String,
    pub ends_at: String,
    /// The signed link the QR code carries; relative when the server has no public URL.
    /// Shown to reviewers and admins only: a resident gets it by scanning the code at
    /// the event, so knowing an event exists is not enough to check in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkin_url: Option<String>,
}

/// What a check-in link carries, sent back by the resident's app.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinIn {
    /// Region code.
    pub region: String,
    /// The event's number in the region.
    pub event: i64,
    /// When the link expires, Unix milliseconds.
    pub exp: i64,
    /// The link's signature, base64url.
    pub sig: String,
}

/// The link's signature: HMAC-SHA256 over "region\nevent\nexp".
fn mac(key: &[u8; 32], region: &RegionCode, event: i64, exp: i64) -> HmacSha256 {
    let mut m =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(format!("{region}\n{event}\n{exp}").as_bytes());
    m
}

fn sign(key: &[u8; 32], region: &RegionCode, event: i64, exp: i64) -> String {
    let tag = mac(key, region, event, exp).finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..])
}

/// Whether `sig` is the link key's signature of (region, event, exp); compared in constant time.
/// Public for the fuzz target `checkin_link`.
pub fn genuine(key: &[u8; 32], region: &RegionCode, event: i64, exp: i64, sig: &str) -> bool {
    if sig.len() > SIG_CHARS_MAX {
        return false;
    }
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig.trim()) {
        Ok(bytes) => mac(key, region, event, exp).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// The signed check-in link for an event; it expires when the event ends.
pub fn checkin_link(
    key: &[u8; 32],
    public_url: &str,
    region: &RegionCode,
    event: i64,
    exp: Timestamp,
) -> String {
    let exp = exp.millis();
    format!(
        "{}/checkin/{region}/{event}?exp={exp}&sig={}",
        public_url.trim_end_matches('/'),
        sign(key, region, event, exp)
    )
}

fn parse_time(field: &str, s: &str) -> ApiResult<Timestamp> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
        ApiError::field(
            field,
            format!("{field} must be an RFC 3339 time such as 2026-03-10T09:00:00+08:00 ({e})"),
        )
    })?;
    let ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::field(field, format!("{field} is out of range")))?;
    Ok(Timestamp::from_millis(ms))
}

/// An event from a path: its number, or `<region>:<number>` in the same region.
fn event_number(code: &RegionCode, s: &str) -> ApiResult<i64> {
    let bad = || {
        ApiError::not_found(format!(
            "event {s:?}: an event is named by its number, e.g. 3"
        ))
    };
    let n = match s.rsplit_once(':') {
        Some((r, n)) if r == code.as_str() => n,
        Some(_) => return Err(bad()),
        None => s,
    };
    n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(bad)
}

fn event_out(ev: &Event, offset: i32, key: &[u8; 32], public_url: &str) -> EventOut {
    EventOut {
        id: format!("{}:{}", ev.region, ev.id),
        name: ev.name.clone(),
        indicator: ev.indicator.to_string(),
        starts_at: rfc3339(ev.starts, offset),
        ends_at: rfc3339(ev.ends, offset),
        checkin_url: Some(checkin_link(key, public_url, &ev.region, ev.id, ev.ends)),
    }
}

async fn event_of(state: &AppState, code: &RegionCode, event: i64) -> ApiResult<Event> {
    let code = code.clone();
    read(state, move |s| Ok(s.event(&code, event)?)).await
}

/// Opens an event (reviewer or admin). Its check-in link, for the QR code, is in the answer.
#[utoipa::path(post, path = "/api/v1/regions/{region}/events", tag = "events", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = EventIn,
    responses((status = 201, body = EventOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    who: Principal,
    Path(r): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<EventIn>,
) -> ApiResult<Response> {
    let code = region(&r)?;
    require_event_staff(&state, &who, &code).await?;
    let key = idempotency_key(&headers)?;
    let indicator = IndicatorCode::parse(&body.indicator)
        .map_err(|e| ApiError::field("indicator", e.to_string()))?;
    let starts = parse_time("starts_at", &body.starts_at)?;
    let ends = parse_time("ends_at", &body.ends_at)?;
    if ends <= starts {
        return Err(ApiError::field(
            "ends_at",
            "an event must end after it starts",
        ));
    }
    if ends > starts.plus_days(EVENT_DAYS_MAX) {
        return Err(ApiError::field(
            "ends_at",
            format!(
                "an event lasts at most {EVENT_DAYS_MAX} days; open several for a longer campaign"
            ),
        ));
    }
    let offset = state.offset(&code).await?;
    let link_key = *state.link_key();
    let public_url = state.public_url().to_owned();
    let account = who.id();
    let path = format!("/api/v1/regions/{code}/events");
    let cmd = CreateEvent {
        region: code,
        name: body.name,
        indicator,
        starts,
        ends,
        by: account,
    };
    once(
        &state,
        account,
        key,
        "POST",
        path,
        StatusCode::CREATED,
        cmd,
        move |ev| event_out(ev, offset, &link_key, &public_url),
    )
    .await
}

/// One event with its check-in link (anyone with a role in the region).
#[utoipa::path(get, path = "/api/v1/regions/{region}/events/{event}", tag = "events", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("event" = String, Path, description = "the event's number in the region")),
    responses((status = 200, body = EventOut), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
async fn one(
    State(state): State<AppState>,
    who: Principal,
    Path((r, e)): Path<(String, String)>,
) -> ApiResult<axum::Json<EventOut>> {
    let code = region(&r)?;
    if who.grants_for(&code).next().is_none() {
        return Err(ApiError::forbidden(format!(
            "this needs a role in region {code}"
        )));
    }
    let n = event_number(&code, &e)?;
    let offset = state.offset(&code).await?;
    let ev = event_of(&state, &code, n).await?;
    let mut out = event_out(&ev, offset, state.link_key(), state.public_url());
    if require_event_staff(&state, &who, &code).await.is_err() {
        out.checkin_url = None;
    }
    Ok(axum::Json(out))
}

/// Reviewers and admins run events; station staff too where the region's admin
/// lets them (`stations_run_events`).
pub async fn require_event_staff(
    state: &AppState,
    who: &Principal,
    code: &RegionCode,
) -> ApiResult<()> {
    if who.has(code, Role::Reviewer) || who.has(code, Role::Admin) {
        return Ok(());
    }
    if who.has(code, Role::Station) {
        let c = code.clone();
        let allowed = crate::write::read(state, move |s| Ok(s.region_settings(&c)?))
            .await?
            .stations_run_events;
        if allowed {
            return Ok(());
        }
        return Err(ApiError::forbidden(format!(
            "station staff of {code} may not run events: the region's admin has not allowed it"
        )));
    }
    who.require(code, &[Role::Reviewer, Role::Admin])
        .map(|_| ())
}

/// The event's check-in link as a QR code, for staff to show or print.
async fn qr_for(state: &AppState, who: &Principal, r: &str, e: &str) -> ApiResult<QrCode> {
    let code = region(r)?;
    require_event_staff(state, who, &code).await?;
    let n = event_number(&code, e)?;
    let ev = event_of(state, &code, n).await?;
    let link = checkin_link(state.link_key(), state.public_url(), &code, n, ev.ends);
    QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M).map_err(ApiError::internal)
}

fn image(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The code is as good as the link: keep it out of shared caches.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

/// The check-in QR code as SVG (reviewer or admin).
#[utoipa::path(get, path = "/api/v1/regions/{region}/events/{event}/qr.svg", tag = "events", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("event" = String, Path, description = "the event's number in the region")),
    responses((status = 200, description = "the QR code of the check-in link", content_type = "image/svg+xml", body = String),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn qr_svg(
    State(state): State<AppState>,
    who: Principal,
    Path((r, e)): Path<(String, String)>,
) -> ApiResult<Response> {
    let qr = qr_for(&state, &who, &r, &e).await?;
    let svg = qr
        .render::<qrcode::render::svg::Color>()
        .quiet_zone(true)
        .min_dimensions(QR_SVG_PX_MIN, QR_SVG_PX_MIN)
        .build();
    Ok(image("image/svg+xml", svg.into_bytes()))
}

/// Renders a QR code as an 8-bit grayscale PNG with a quiet zone.
pub fn qr_png(qr: &QrCode) -> ApiResult<Vec<u8>> {
    let modules = qr.width();
    let side_px = (modules + 2 * QR_QUIET_MODULES) * QR_MODULE_PX;
    let side = u32::try_from(side_px).map_err(ApiError::internal)?;
    let mut pixels = vec![255u8; side_px * side_px];
    for (i, c) in qr.to_colors().iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let x = (i % modules + QR_QUIET_MODULES) * QR_MODULE_PX;
        let y = (i / modules + QR_QUIET_MODULES) * QR_MODULE_PX;
        for row in y..y + QR_MODULE_PX {
            let start = row * side_px + x;
            pixels[start..start + QR_MODULE_PX].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side, side);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(ApiError::internal)?;
    w.write_image_data(&pixels).map_err(ApiError::internal)?;
    w.finish().map_err(ApiError::internal)?;
    Ok(out)
}

/// The check-in QR code as PNG (reviewer or admin), 8 pixels a module.
#[utoipa::path(get, path = "/api/v1/regions/{region}/events/{event}/qr.png", tag = "events", security(("bearer" = [])),
    params(("region" = String, Path, description = "region code"),
           ("event" = String, Path, description = "the event's number in the region")),
    responses((status = 200, description = "the QR code of the check-in link", content_type = "image/png", body = Vec<u8>),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn qr_png_handler(
    State(state): State<AppState>,
    who: Principal,
    Path((r, e)): Path<(String, String)>,
) -> ApiResult<Response> {
    let qr = qr_for(&state, &who, &r, &e).await?;
    Ok(image("image/png", qr_png(&qr)?))
}

/// Checks the caller in with what a link carries; answers with the claim as JSON.
async fn record_checkin(
    state: &AppState,
    who: &Principal,
    r: &str,
    event: i64,
    exp: i64,
    sig: &str,
    key: crate::write::Idem,
) -> ApiResult<Response> {
    let code = region(r)?;
    who.require(&code, &[Role::Resident])?;
    let member = who.member_of(&code).ok_or_else(|| {
        ApiError::forbidden(format!(
            "you have no member record in region {code}; ask the committee to add you"
        ))
    })?;
    if !genuine(state.link_key(), &code, event, exp, sig) {
        return Err(ApiError::forbidden(NOT_GENUINE));
    }
    let offset = state.offset(&code).await?;
    let account = who.id();
    let cmd = CheckIn {
        region: code.clone(),
        event,
        member,
        by: account,
        expires: Timestamp::from_millis(exp),
    };
    once(
        state,
        account,
        key,
        "POST",
        // One key checks in to one event: reusing it for another is a conflict.
        format!("/api/v1/checkin {code}:{event}"),
        StatusCode::CREATED,
        cmd,
        move |view| ClaimOut::from_view(view, offset),
    )
    .await
}

/// Checks the signed-in resident in to an event with what its QR link carries.
/// The check-in is a claim under the event's indicator (source `event`); once per event.
#[utoipa::path(post, path = "/api/v1/checkin", tag = "events", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "required on every write: a retry with the same key and request returns the first answer; the same key with another request is refused (422)")),
    request_body = CheckinIn,
    responses((status = 201, body = ClaimOut), (status = 401, body = Problem),
              (status = 403, body = Problem, description = "not a resident here, or the code is not genuine"),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "already checked in"),
              (status = 422, body = Problem, description = "the code expired, or the event is not open")))]
async fn checkin(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CheckinIn>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    record_checkin(
        &state,
        &who,
        &body.region,
        body.event,
        body.exp,
        &body.sig,
        key,
    )
    .await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(one))
        .routes(routes!(qr_svg))
        .routes(routes!(qr_png_handler))
        .routes(routes!(checkin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_signed_over_region_event_and_expiry() {
        let key = [7u8; 32];
        let vil = RegionCode::parse("vil").expect("valid");
        let city = RegionCode::parse("city").expect("valid");
        let link = checkin_link(
            &key,
            "https://jf.example/",
            &vil,
            3,
            Timestamp::from_millis(1_000),
        );
        let sig = link
            .strip_prefix("https://jf.example/checkin/vil/3?exp=1000&sig=")
            .unwrap_or_else(|| panic!("absolute link, one slash: {link}"));
        assert!(genuine(&key, &vil, 3, 1_000, sig));
        assert!(!genuine(&[8u8; 32], &vil, 3, 1_000, sig), "another key");
        assert!(!genuine(&key, &city, 3, 1_000, sig), "another region");
        assert!(!genuine(&key, &vil, 4, 1_000, sig), "another event");
        assert!(!genuine(&key, &vil, 3, 1_001, sig), "another expiry");
        assert!(
            !genuine(&key, &vil, 3, 1_000, &format!("{sig}{sig}")),
            "too long"
        );
        assert!(
            checkin_link(&key, "", &vil, 3, Timestamp::from_millis(1_000))
                .starts_with("/checkin/vil/3?")
        );
    }
}
