//! Staff pages: the review queue with what a reviewer needs to decide (the
//! evidence, the indicator's points, caps and review policy, the member's recent
//! history), recording points for a resident who is present at an offline
//! station, events with a printable A4 poster carrying the check-in QR code, and
//! appeals to decide. Objections from the public notice send a claim back to the
//! queue, where it is decided again.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jifen_core::{RegionCode, Role};
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx::{Ctx, Problem, items, n, random_token, s};
use super::public::{region_for, short_time};
use super::resident::EntryRow;
use crate::AppState;

/// Claims shown in the review queue at once.
pub const QUEUE_CLAIMS_MAX: usize = 30;
/// Entries of a member's history shown beside a claim.
pub const QUEUE_HISTORY_ENTRIES: u32 = 5;
/// Events listed on the events page, newest first.
pub const EVENTS_SHOWN_MAX: u32 = 30;
/// Members offered in the record form's list (a number can always be typed).
pub const MEMBER_CHOICES_MAX: u32 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{region}/review", get(queue))
        .route("/r/{region}/claims/{claim}/decide", post(decide))
        .route("/r/{region}/record", get(record_form).post(record))
        .route("/r/{region}/record/large", post(member_large))
        .route("/r/{region}/record/attributes", post(member_attributes))
        .route("/r/{region}/events", get(events).post(create_event))
        .route("/r/{region}/events/{event}", get(event))
        .route("/r/{region}/appeals", get(appeals))
        .route("/r/{region}/appeals/{appeal}/decide", post(decide_appeal))
}

/// Unix milliseconds as `2026-03-10 10:00` in the region's time.
fn local_time(ms: i64, offset: i32) -> String {
    short_time(&jifen_core::Timestamp::from_millis(ms).to_rfc3339(offset))
}

/// What an indicator says, for a reviewer.
pub struct IndicatorInfo {
    pub name: String,
    pub points: i64,
    pub unit: String,
    pub caps: String,
    pub review: String,
}

fn indicator_info(c: &Ctx, i: &Value) -> IndicatorInfo {
    let mut caps = Vec::new();
    for (k, key) in [
        ("cap_per_day", "cap.day"),
        ("cap_per_month", "cap.month"),
        ("cap_per_year", "cap.year"),
    ] {
        if let Some(v) = i[k].as_i64() {
            caps.push(c.tr1(key, v));
        }
    }
    let review = match s(i, "review").as_str() {
        "two" => c.tr1("review.two", n(i, "review_threshold")),
        other => c.word("review", other),
    };
    IndicatorInfo {
        name: s(i, "name"),
        points: n(i, "points"),
        unit: s(i, "unit"),
        caps: if caps.is_empty() {
            c.tr("cap.none").to_owned()
        } else {
            caps.join(c.tr("list.sep"))
        },
        review,
    }
}

async fn indicators(c: &Ctx, code: &RegionCode) -> Result<Vec<Value>, Problem> {
    Ok(c.get(&format!("/api/v1/regions/{code}/indicators"))
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default())
}

pub struct QueueItem {
    pub id: String,
    pub number: String,
    pub member: i64,
    pub member_name: String,
    pub indicator: IndicatorInfo,
    pub code: String,
    pub quantity: i64,
    pub total: i64,
    pub note: String,
    pub source: String,
    pub status: String,
    pub submitted: String,
    pub approvals: usize,
    /// Who recorded it; `own` when that is the signed-in reviewer, who then may
    /// reject it but not approve it (four eyes).
    pub recorder: String,
    pub own: bool,
    pub history: Vec<EntryRow>,
    /// Objections raised on the public notice board: (reason, when).
    pub objections: Vec<(String, String)>,
    pub key: String,
}

#[derive(Template)]
#[template(path = "review.html")]
struct Queue<'a> {
    c: &'a Ctx,
    region: String,
    claims: Vec<QueueItem>,
    done: String,
    error_claim: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
    id: String,
}

async fn queue(c: Ctx, Path(r): Path<String>, q: Query<DoneQuery>) -> Response {
    let code = match region_for(&c, &r, &[Role::Reviewer]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = match q.done.as_str() {
        "approve" => c.tr1("review.done_approve", &q.id),
        "reject" => c.tr1("review.done_reject", &q.id),
        _ => String::new(),
    };
    queue_page(&c, &code, done, "", "", StatusCode::OK).await
}

async fn queue_page(
    c: &Ctx,
    code: &RegionCode,
    done: String,
    error_claim: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    match queue_items(c, code).await {
        Ok(claims) => c.render(
            status,
            &Queue {
                c,
                region: code.to_string(),
                claims,
                done,
                error_claim: error_claim.to_owned(),
                error: error.to_owned(),
            },
        ),
        Err(p) => c.problem_page(&p),
    }
}

async fn queue_items(c: &Ctx, code: &RegionCode) -> Result<Vec<QueueItem>, Problem> {
    let inds = indicators(c, code).await?;
    let by_code: HashMap<String, &Value> = inds.iter().map(|i| (s(i, "code"), i)).collect();
    let names: HashMap<String, String> =
        inds.iter().map(|i| (s(i, "code"), s(i, "name"))).collect();
    let mut claims = Vec::new();
    for status in ["submitted", "partly-approved"] {
        let v = c
            .get(&format!(
                "/api/v1/regions/{code}/claims?status={status}&limit={QUEUE_CLAIMS_MAX}"
            ))
            .await?;
        claims.extend(items(&v));
    }
    claims.sort_by_key(|x| {
        s(x, "id")
            .rsplit(':')
            .next()
            .and_then(|n| n.parse::<i64>().ok())
    });
    claims.truncate(QUEUE_CLAIMS_MAX);
    let offset = c.state.offset(code).await.map_err(Problem::from)?;
    let numbers: Vec<i64> = claims
        .iter()
        .filter_map(|x| s(x, "id").rsplit(':').next().and_then(|n| n.parse().ok()))
        .collect();
    let c2 = code.clone();
    let objections = crate::write::read(&c.state, move |st| {
        let mut out = HashMap::new();
        for n in numbers {
            let list = st.objections(&c2, n)?;
            if !list.is_empty() {
                out.insert(n, list);
            }
        }
        Ok(out)
    })
    .await
    .map_err(Problem::from)?;
    let mut out = Vec::with_capacity(claims.len());
    for x in &claims {
        let member = n(x, "member");
        let hist = c
            .get(&format!(
                "/api/v1/regions/{code}/members/{member}/entries?limit={QUEUE_HISTORY_ENTRIES}"
            ))
            .await?;
        let code_s = s(x, "indicator");
        let info = by_code
            .get(&code_s)
            .map(|i| indicator_info(c, i))
            .unwrap_or(IndicatorInfo {
                name: code_s.clone(),
                points: 0,
                unit: String::new(),
                caps: String::new(),
                review: String::new(),
            });
        let quantity = n(x, "quantity");
        let id = s(x, "id");
        let number: i64 = id
            .rsplit(':')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let objections = objections
            .get(&number)
            .map(|l| {
                l.iter()
                    .map(|(reason, ms)| (reason.clone(), local_time(*ms, offset)))
                    .collect()
            })
            .unwrap_or_default();
        out.push(QueueItem {
            objections,
            number: id.rsplit(':').next().unwrap_or_default().to_owned(),
            id,
            member,
            member_name: s(x, "member_name"),
            total: info.points.saturating_mul(quantity),
            indicator: info,
            code: code_s,
            quantity,
            note: s(x, "note"),
            source: c.word("source", &s(x, "source")),
            status: c.word("status", &s(x, "status")),
            submitted: short_time(&s(x, "submitted_at")),
            approvals: x["approvals"].as_array().map_or(0, Vec::len),
            recorder: {
                let name = s(x, "recorded_by_name");
                let id = n(x, "recorded_by");
                if name.is_empty() {
                    format!("#{id}")
                } else {
                    format!("{name} (#{id})")
                }
            },
            own: c
                .who
                .as_ref()
                .is_some_and(|w| w.id().get() == n(x, "recorded_by")),
            history: items(&hist)
                .iter()
                .map(|e| EntryRow::from(c, e, &names))
                .collect(),
            key: random_token(),
        });
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    key: String,
    decision: String,
}

async fn decide(
    c: Ctx,
    Path((r, claim)): Path<(String, String)>,
    Form(f): Form<DecideForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Reviewer]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let verb = match f.decision.as_str() {
        "approve" => "approve",
        "reject" => "reject",
        _ => {
            return c.error_page(StatusCode::UNPROCESSABLE_ENTITY, c.tr("err.invalid"), None);
        }
    };
    let claim = claim.trim();
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/claims/{code}:{claim}/{verb}"),
            None,
            key,
        )
        .await
    {
        Ok(v) => c.redirect(&format!(
            "/r/{code}/review?done={verb}&id={}",
            s(&v, "id").rsplit(':').next().unwrap_or_default()
        )),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            queue_page(
                &c,
                &code,
                String::new(),
                &format!("{code}:{claim}"),
                &msg,
                status,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- recording

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct Record<'a> {
    c: &'a Ctx,
    region: String,
    station: bool,
    members: Vec<Choice>,
    indicators: Vec<Choice>,
    f: RecordForm,
    key: String,
    error_field: String,
    error: String,
    done: String,
    /// Station staff and admins may record the evaluation's attributes.
    attributes: bool,
    this_year: i32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RecordForm {
    csrf: String,
    key: String,
    pub member: String,
    pub indicator: String,
    pub quantity: String,
    pub note: String,
    pub present: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RecordDone {
    id: String,
    status: String,
    name: String,
    /// After switching large text for a resident: "on" or "off", and the member.
    large: String,
    member: String,
    /// After recording a member's attributes: "saved".
    attributes: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AttributesForm {
    csrf: String,
    member: String,
    birth_year: String,
    residence: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LargeForm {
    csrf: String,
    member: String,
    on: String,
}

const RECORDERS: &[Role] = &[Role::Reviewer, Role::Station, Role::Admin];

async fn record_form(c: Ctx, Path(r): Path<String>, q: Query<RecordDone>) -> Response {
    let code = match region_for(&c, &r, RECORDERS) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = if !q.id.is_empty() {
        c.tr2("record.done", &q.name, c.word("status", &q.status))
    } else if q.large == "on" {
        c.tr1("record.large_on_done", &q.member)
    } else if q.large == "off" {
        c.tr1("record.large_off_done", &q.member)
    } else if q.attributes == "saved" {
        c.tr1("record.attributes_done", &q.member)
    } else {
        String::new()
    };
    let f = RecordForm {
        quantity: "1".into(),
        ..RecordForm::default()
    };
    record_page(&c, &code, f, "", "", done, StatusCode::OK).await
}

async fn record_page(
    c: &Ctx,
    code: &RegionCode,
    f: RecordForm,
    error_field: &str,
    error: &str,
    done: String,
    status: StatusCode,
) -> Response {
    let inds = match indicators(c, code).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let members = match c
        .get(&format!(
            "/api/v1/regions/{code}/members?limit={MEMBER_CHOICES_MAX}"
        ))
        .await
    {
        Ok(v) => items(&v)
            .iter()
            .map(|m| Choice {
                value: n(m, "id").to_string(),
                label: format!("{} · {}", s(m, "name"), s(m, "household_label")),
            })
            .collect(),
        Err(p) => return c.problem_page(&p),
    };
    let indicators = inds
        .iter()
        .map(|i| Choice {
            value: s(i, "code"),
            label: c.tr2("record.indicator_label", s(i, "name"), n(i, "points")),
        })
        .collect();
    // A reviewer or admin records directly; only a station operator confirms presence.
    let station =
        c.has(code, Role::Station) && !c.has(code, Role::Reviewer) && !c.has(code, Role::Admin);
    let this_year = c.this_year(code).await;
    c.render(
        status,
        &Record {
            c,
            region: code.to_string(),
            attributes: c.has(code, Role::Station) || c.has(code, Role::Admin),
            this_year,
            station,
            members,
            indicators,
            f,
            key: random_token(),
            error_field: error_field.to_owned(),
            error: error.to_owned(),
            done,
        },
    )
}

/// Large text switched on or off for a resident at the counter (their account keeps it).
async fn member_large(c: Ctx, Path(r): Path<String>, Form(f): Form<LargeForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, RECORDERS) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let on = f.on == "1";
    let refused = match f.member.trim().parse::<i64>() {
        Ok(member) if member > 0 => {
            match c
                .api(
                    Method::PUT,
                    &format!("/api/v1/regions/{code}/members/{member}/large-text"),
                    Some(json!({ "on": on })),
                    None,
                )
                .await
            {
                Ok(_) => {
                    return c.redirect(&format!(
                        "/r/{code}/record?large={}&member={member}",
                        if on { "on" } else { "off" }
                    ));
                }
                Err(p) if p.status == 404 => (
                    StatusCode::NOT_FOUND,
                    c.tr("record.large_no_account").to_owned(),
                ),
                Err(p) => (
                    StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                    c.problem_full(&p),
                ),
            }
        }
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            c.tr("record.bad_member").to_owned(),
        ),
    };
    let (status, msg) = refused;
    let blank = RecordForm {
        quantity: "1".into(),
        ..RecordForm::default()
    };
    record_page(&c, &code, blank, "large", &msg, String::new(), status).await
}

/// A member's birth year and residence status recorded at the counter, for the
/// evaluation (private; the member sees them in their export).
async fn member_attributes(
    c: Ctx,
    Path(r): Path<String>,
    Form(f): Form<AttributesForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Station, Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let blank = RecordForm {
        quantity: "1".into(),
        ..RecordForm::default()
    };
    let checked = match (f.member.trim().parse::<i64>(), f.birth_year.trim()) {
        (Ok(m), "") if m > 0 => Ok((m, Value::Null)),
        (Ok(m), y) if m > 0 => y
            .parse::<i32>()
            .map(|y| (m, json!(y)))
            .map_err(|_| c.tr1("record.bad_birth_year", y)),
        _ => Err(c.tr("record.bad_member").to_owned()),
    };
    let (member, birth_year) = match checked {
        Ok(x) => x,
        Err(msg) => {
            return record_page(
                &c,
                &code,
                blank,
                "attributes",
                &msg,
                String::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let residence = match f.residence.trim() {
        "" => Value::Null,
        x => json!(x),
    };
    match c
        .api(
            Method::PUT,
            &format!("/api/v1/regions/{code}/members/{member}/attributes"),
            Some(json!({ "birth_year": birth_year, "residence": residence })),
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!(
            "/r/{code}/record?attributes=saved&member={member}"
        )),
        Err(p) => {
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let msg = c.problem_full(&p);
            record_page(&c, &code, blank, "attributes", &msg, String::new(), status).await
        }
    }
}

async fn record(c: Ctx, Path(r): Path<String>, Form(f): Form<RecordForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, RECORDERS) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let Ok(member) = f.member.trim().parse::<i64>() else {
        return record_page(
            &c,
            &code,
            f,
            "member",
            c.tr("record.bad_member"),
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let quantity = if f.quantity.trim().is_empty() {
        Ok(1)
    } else {
        f.quantity.trim().parse::<u32>()
    };
    let Ok(quantity) = quantity else {
        return record_page(
            &c,
            &code,
            f,
            "quantity",
            c.tr("record.bad_quantity"),
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let body = json!({
        "member": member,
        "indicator": f.indicator.trim(),
        "quantity": quantity,
        "note": f.note,
        "present": f.present == "on",
    });
    let key = (!f.key.is_empty()).then(|| f.key.clone());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/claims"),
            Some(body),
            key.as_deref(),
        )
        .await
    {
        Ok(v) => c.redirect(&format!(
            "/r/{code}/record?id={}&status={}&name={}",
            super::ctx::url_encode(&s(&v, "id")),
            super::ctx::url_encode(&s(&v, "status")),
            super::ctx::url_encode(&s(&v, "member_name")),
        )),
        Err(p) => {
            let field = p.field.clone().unwrap_or_default();
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            record_page(&c, &code, f, &field, &msg, String::new(), status).await
        }
    }
}

// ---------------------------------------------------------------- events

#[derive(Template)]
#[template(path = "events.html")]
struct Events<'a> {
    c: &'a Ctx,
    region: String,
    /// Recent events: (number, name, starts, ends).
    recent: Vec<(i64, String, String, String)>,
    indicators: Vec<Choice>,
    f: EventForm,
    key: String,
    error_field: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EventForm {
    csrf: String,
    key: String,
    pub name: String,
    pub indicator: String,
    pub starts: String,
    pub ends: String,
}

/// Reviewers and admins run events; station staff where the region's admin allows.
async fn event_staff(c: &Ctx, r: &str) -> Result<RegionCode, super::ctx::Refused> {
    let code = region_for(c, r, &[Role::Reviewer, Role::Admin, Role::Station])?;
    if c.has(&code, Role::Reviewer) || c.has(&code, Role::Admin) {
        return Ok(code);
    }
    let allowed = match c.get(&format!("/api/v1/regions/{code}/settings")).await {
        Ok(v) => v["stations_run_events"] == true,
        Err(p) => return Err(Box::new(c.problem_page(&p))),
    };
    if allowed {
        Ok(code)
    } else {
        Err(Box::new(
            c.refused_page(&code, c.tr("events.stations_not_allowed")),
        ))
    }
}

async fn events(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match event_staff(&c, &r).await {
        Ok(x) => x,
        Err(res) => return *res,
    };
    events_page(&c, &code, EventForm::default(), "", "", StatusCode::OK).await
}

async fn events_page(
    c: &Ctx,
    code: &RegionCode,
    f: EventForm,
    error_field: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    let inds = match indicators(c, code).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let indicators = inds
        .iter()
        .filter(|i| n(i, "points") > 0)
        .map(|i| Choice {
            value: s(i, "code"),
            label: c.tr2("record.indicator_label", s(i, "name"), n(i, "points")),
        })
        .collect();
    let c2 = code.clone();
    let listed = async {
        let offset = c.state.offset(code).await?;
        let rows =
            crate::write::read(&c.state, move |st| Ok(st.events(&c2, EVENTS_SHOWN_MAX)?)).await?;
        Ok::<_, crate::error::ApiError>((rows, offset))
    }
    .await;
    let recent = match listed {
        Ok((rows, offset)) => rows
            .into_iter()
            .map(|e| {
                (
                    e.id,
                    e.name,
                    local_time(e.starts_ms, offset),
                    local_time(e.ends_ms, offset),
                )
            })
            .collect(),
        Err(e) => return c.problem_page(&Problem::from(e)),
    };
    c.render(
        status,
        &Events {
            c,
            region: code.to_string(),
            recent,
            indicators,
            f,
            key: random_token(),
            error_field: error_field.to_owned(),
            error: error.to_owned(),
        },
    )
}

/// `2026-03-10T09:00` from a datetime-local input, in the region's time → RFC 3339.
fn local_to_rfc3339(s: &str, offset_minutes: i32) -> Option<String> {
    let s = s.trim();
    let ok = s.len() == 16 && s.as_bytes()[10] == b'T';
    if !ok {
        return None;
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let o = offset_minutes.unsigned_abs();
    Some(format!("{s}:00{sign}{:02}:{:02}", o / 60, o % 60))
}

async fn create_event(c: Ctx, Path(r): Path<String>, Form(f): Form<EventForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match event_staff(&c, &r).await {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let offset = match c.state.offset(&code).await {
        Ok(o) => o,
        Err(e) => return c.error_page(e.status, c.tr("err.notfound"), Some(&e.detail)),
    };
    let Some(starts) = local_to_rfc3339(&f.starts, offset) else {
        return events_page(
            &c,
            &code,
            f,
            "starts_at",
            c.tr("events.bad_time"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let Some(ends) = local_to_rfc3339(&f.ends, offset) else {
        return events_page(
            &c,
            &code,
            f,
            "ends_at",
            c.tr("events.bad_time"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let body =
        json!({"name": f.name, "indicator": f.indicator, "starts_at": starts, "ends_at": ends});
    let key = (!f.key.is_empty()).then(|| f.key.clone());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/events"),
            Some(body),
            key.as_deref(),
        )
        .await
    {
        Ok(v) => c.redirect(&format!(
            "/r/{code}/events/{}",
            s(&v, "id").rsplit(':').next().unwrap_or_default()
        )),
        Err(p) => {
            let field = p.field.clone().unwrap_or_default();
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            events_page(&c, &code, f, &field, &msg, status).await
        }
    }
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage<'a> {
    c: &'a Ctx,
    region: String,
    name: String,
    starts: String,
    ends: String,
    link: String,
    qr_svg: String,
}

/// The page's check-in link from the API's signed link: same signature, the page's path.
fn page_link(api_link: &str, origin: &str) -> Option<String> {
    let (_, rest) = api_link.split_once("/checkin/")?;
    Some(format!("{origin}/c/{rest}"))
}

async fn event(c: Ctx, Path((r, e)): Path<(String, String)>) -> Response {
    let code = match event_staff(&c, &r).await {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let v = match c
        .get(&format!("/api/v1/regions/{code}/events/{}", e.trim()))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let origin = c.origin();
    let Some(link) = page_link(&s(&v, "checkin_url"), &origin) else {
        return c.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            c.tr("err.internal"),
            None,
        );
    };
    let qr_svg = match QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M) {
        Ok(q) => q
            .render::<qrcode::render::svg::Color>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .build()
            .split_once("<svg")
            .map(|(_, svg)| format!("<svg role=\"img\" aria-label=\"QR\"{svg}"))
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    c.render(
        StatusCode::OK,
        &EventPage {
            c: &c,
            region: code.to_string(),
            name: s(&v, "name"),
            starts: short_time(&s(&v, "starts_at")),
            ends: short_time(&s(&v, "ends_at")),
            link,
            qr_svg,
        },
    )
}

// ---------------------------------------------------------------- appeals

pub struct AppealItem {
    pub id: String,
    pub number: String,
    pub entry: String,
    pub member: i64,
    pub filed: String,
    pub deadline: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "appeals.html")]
struct Appeals<'a> {
    c: &'a Ctx,
    region: String,
    appeals: Vec<AppealItem>,
    done: String,
    error_appeal: String,
    error: String,
}

async fn appeals(c: Ctx, Path(r): Path<String>, q: Query<DoneQuery>) -> Response {
    let code = match event_staff(&c, &r).await {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = if q.done.is_empty() {
        String::new()
    } else {
        c.tr2("appeals.done", &q.id, c.word("appeal", &q.done))
    };
    appeals_page(&c, &code, done, "", "", StatusCode::OK).await
}

async fn appeals_page(
    c: &Ctx,
    code: &RegionCode,
    done: String,
    error_appeal: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    let v = match c
        .get(&format!(
            "/api/v1/regions/{code}/appeals?status=filed&limit=200"
        ))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let appeals = items(&v)
        .iter()
        .map(|a| {
            let id = s(a, "id");
            AppealItem {
                number: id.rsplit(':').next().unwrap_or_default().to_owned(),
                id,
                entry: s(a, "entry")
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                member: n(a, "member"),
                filed: short_time(&s(a, "filed_at")),
                deadline: short_time(&s(a, "deadline")),
                key: random_token(),
            }
        })
        .collect();
    c.render(
        status,
        &Appeals {
            c,
            region: code.to_string(),
            appeals,
            done,
            error_appeal: error_appeal.to_owned(),
            error: error.to_owned(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AppealDecisionForm {
    csrf: String,
    key: String,
    decision: String,
    amount: String,
}

async fn decide_appeal(
    c: Ctx,
    Path((r, appeal)): Path<(String, String)>,
    Form(f): Form<AppealDecisionForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match event_staff(&c, &r).await {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let appeal = appeal.trim().to_owned();
    let mut body = json!({"decision": f.decision});
    if f.decision == "adjust" {
        match f.amount.trim().parse::<i64>() {
            Ok(a) => body["amount"] = json!(a),
            Err(_) => {
                return appeals_page(
                    &c,
                    &code,
                    String::new(),
                    &format!("{code}:{appeal}"),
                    c.tr("appeals.bad_amount"),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    }
    let key = (!f.key.is_empty()).then(|| f.key.clone());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/appeals/{code}:{appeal}/decide"),
            Some(body),
            key.as_deref(),
        )
        .await
    {
        Ok(v) => c.redirect(&format!(
            "/r/{code}/appeals?done={}&id={appeal}",
            s(&v, "status")
        )),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            appeals_page(
                &c,
                &code,
                String::new(),
                &format!("{code}:{appeal}"),
                &msg,
                status,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_carry_the_region_offset() {
        assert_eq!(
            local_to_rfc3339("2026-03-10T09:00", 480).as_deref(),
            Some("2026-03-10T09:00:00+08:00")
        );
        assert_eq!(
            local_to_rfc3339("2026-03-10T09:00", -210).as_deref(),
            Some("2026-03-10T09:00:00-03:30")
        );
        assert_eq!(local_to_rfc3339("2026-03-10 09:00", 0), None);
        assert_eq!(local_to_rfc3339("", 0), None);
    }

    #[test]
    fn page_links_keep_the_signature() {
        assert_eq!(
            page_link("/checkin/vil/3?exp=1&sig=abc", "http://h").as_deref(),
            Some("http://h/c/vil/3?exp=1&sig=abc")
        );
        assert_eq!(page_link("/elsewhere", "http://h"), None);
    }
}
