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
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx::{Ctx, Problem, items, n, random_token, s, url_encode};
use super::public::region_for;
use super::resident::EntryRow;
use crate::AppState;

/// Claims shown in the review queue at once.
pub const QUEUE_CLAIMS_MAX: usize = 30;
/// Entries of a member's history shown beside a claim.
pub const QUEUE_HISTORY_ENTRIES: u32 = 5;
/// Events listed on the events page, newest first.
pub const EVENTS_SHOWN_MAX: u32 = 30;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{region}/review", get(queue))
        .route("/r/{region}/claims/{claim}/decide", post(decide))
        .route("/r/{region}/review/decide", post(decide_batch))
        .route("/r/{region}/record", get(record_form).post(record))
        .route("/r/{region}/record/large", post(member_large))
        .route("/r/{region}/m/{code}", get(member_by_code))
        .route(
            "/r/{region}/record/card",
            get(staff_card).post(staff_card_renew),
        )
        .route("/r/{region}/record/attributes", post(member_attributes))
        .route("/r/{region}/events", get(events).post(create_event))
        .route("/r/{region}/events/{event}", get(event))
        .route(
            "/r/{region}/transfers-in",
            get(transfer_in_form).post(transfer_in),
        )
        .route("/r/{region}/appeals", get(appeals))
        .route("/r/{region}/appeals/{appeal}/decide", post(decide_appeal))
}

/// Unix milliseconds in the region's time, as the page's language writes it.
fn local_time(c: &Ctx, ms: i64, offset: i32) -> String {
    c.time(&jifen_core::Timestamp::from_millis(ms).to_rfc3339(offset))
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
    /// Whole days since it was submitted.
    pub age_days: i64,
    /// Waiting longer than the region gives its reviewers.
    pub overdue: bool,
    pub approvals: usize,
    /// Who recorded it; `own` when that is the signed-in reviewer, who then may
    /// reject it but not approve it (four eyes).
    pub recorder: String,
    pub own: bool,
    pub history: Vec<EntryRow>,
    /// Objections raised on the public notice board: (reason, when).
    pub objections: Vec<(String, String)>,
    /// The end of its public notice, for a claim sent back from the notice board.
    pub notice_until: String,
    pub key: String,
}

/// The filters a committee sets on its queue (all optional).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct QueueFilter {
    /// An indicator's code.
    pub indicator: String,
    /// Only claims waiting at least this many days.
    pub older: String,
    /// "on": only claims that have one approval and need a second reviewer.
    pub second: String,
    /// "on": only claims someone objected to on the notice board.
    pub objected: String,
    /// "on": only claims past the region's review deadline.
    pub overdue: String,
    /// Only this resident's claims: a name, pinyin initials or a member number.
    pub who: String,
    done: String,
    id: String,
    n: String,
}

impl QueueFilter {
    fn is_set(&self) -> bool {
        !self.indicator.is_empty()
            || !self.who.trim().is_empty()
            || !self.older.is_empty()
            || self.second == "on"
            || self.objected == "on"
            || self.overdue == "on"
    }

    fn keeps(&self, x: &QueueItem, approvals_needed_two: bool) -> bool {
        (self.indicator.is_empty() || x.code == self.indicator)
            && self.older.parse::<i64>().map_or(true, |d| x.age_days >= d)
            && (self.second != "on" || (x.approvals > 0 && approvals_needed_two))
            && (self.objected != "on" || !x.objections.is_empty())
            && (self.overdue != "on" || x.overdue)
            && (self.who.trim().is_empty()
                || jifen_core::search::Searchable::new(&x.member_name, "", x.member)
                    .rank(&self.who)
                    .is_some())
    }

    /// The filters that are set, as (name, value).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("indicator", &self.indicator),
            ("older", &self.older),
            ("second", &self.second),
            ("objected", &self.objected),
            ("overdue", &self.overdue),
            ("who", &self.who),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .collect()
    }

    /// The query string that keeps these filters (for redirects after a decision).
    fn query(&self) -> String {
        self.pairs()
            .iter()
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

#[derive(Template)]
#[template(path = "review.html")]
struct Queue<'a> {
    c: &'a Ctx,
    region: String,
    claims: Vec<QueueItem>,
    /// Open claims in all, and how many of them are past the deadline.
    open: usize,
    overdue: usize,
    review_days: u32,
    /// The indicators to filter by: (code, name).
    indicators: Vec<(String, String)>,
    filter: QueueFilter,
    filtered: bool,
    /// The filters set, as hidden fields of the decision forms (kept after deciding).
    hidden: Vec<(&'static str, String)>,
    older_days: Vec<String>,
    done: String,
    error_claim: String,
    error: String,
    batch_key: String,
    batch_reason: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
    id: String,
}

async fn queue(c: Ctx, Path(r): Path<String>, q: Query<QueueFilter>) -> Response {
    let code = match region_for(&c, &r, &[Role::Reviewer]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = match q.done.as_str() {
        "approve" => c.tr1("review.done_approve", &q.id),
        "reject" => c.tr1("review.done_reject", &q.id),
        "batch-approve" => c.tr1("review.done_batch_approve", &q.n),
        "batch-reject" => c.tr1("review.done_batch_reject", &q.n),
        _ => String::new(),
    };
    queue_page(&c, &code, &q.0, done, "", "", String::new(), StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn queue_page(
    c: &Ctx,
    code: &RegionCode,
    filter: &QueueFilter,
    done: String,
    error_claim: &str,
    error: &str,
    batch_reason: String,
    status: StatusCode,
) -> Response {
    match queue_items(c, code, filter).await {
        Ok(q) => c.render(
            status,
            &Queue {
                c,
                region: code.to_string(),
                claims: q.shown,
                open: q.open,
                overdue: q.overdue,
                review_days: q.review_days,
                indicators: q.indicators,
                filtered: filter.is_set(),
                hidden: filter.pairs(),
                older_days: ["1", "3", "7", "14", "30"].map(String::from).to_vec(),
                filter: filter.clone(),
                done,
                error_claim: error_claim.to_owned(),
                error: error.to_owned(),
                batch_key: random_token(),
                batch_reason,
            },
        ),
        Err(p) => c.problem_page(&p),
    }
}

/// Claims read for the queue at most (the open ones, oldest first); filters and
/// the overdue count work on these.
pub const QUEUE_READ_MAX: usize = 500;

struct QueueView {
    shown: Vec<QueueItem>,
    open: usize,
    overdue: usize,
    review_days: u32,
    indicators: Vec<(String, String)>,
}

async fn queue_items(
    c: &Ctx,
    code: &RegionCode,
    filter: &QueueFilter,
) -> Result<QueueView, Problem> {
    let inds = indicators(c, code).await?;
    let by_code: HashMap<String, &Value> = inds.iter().map(|i| (s(i, "code"), i)).collect();
    let names: HashMap<String, String> =
        inds.iter().map(|i| (s(i, "code"), s(i, "name"))).collect();
    let mut claims = Vec::new();
    for status in ["submitted", "partly-approved"] {
        let mut after = 0;
        loop {
            let v = c
                .get(&format!(
                    "/api/v1/regions/{code}/claims?status={status}&limit=200&after={after}"
                ))
                .await?;
            claims.extend(items(&v));
            match v["next"].as_i64() {
                Some(next) if claims.len() < QUEUE_READ_MAX => after = next,
                _ => break,
            }
        }
    }
    let number_of = |x: &Value| -> i64 {
        s(x, "id")
            .rsplit(':')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    claims.sort_by_key(number_of);
    claims.truncate(QUEUE_READ_MAX);
    let offset = c.state.offset(code).await.map_err(Problem::from)?;
    let numbers: Vec<i64> = claims.iter().map(number_of).collect();
    let c2 = code.clone();
    let (objections, settings) = crate::write::read(&c.state, move |st| {
        let mut out = HashMap::new();
        for n in numbers {
            let list = st.objections(&c2, n)?;
            if !list.is_empty() {
                out.insert(n, list);
            }
        }
        Ok((out, st.region_settings(&c2)?))
    })
    .await
    .map_err(Problem::from)?;
    let now_ms = c.state.clock().now().millis();
    let day_ms: i64 = 86_400_000;
    let mut all = Vec::with_capacity(claims.len());
    for x in &claims {
        let code_s = s(x, "indicator");
        let ind = by_code.get(&code_s);
        let info = ind.map(|i| indicator_info(c, i)).unwrap_or(IndicatorInfo {
            name: code_s.clone(),
            points: 0,
            unit: String::new(),
            caps: String::new(),
            review: String::new(),
        });
        let two = ind.is_some_and(|i| s(i, "review") == "two");
        let quantity = n(x, "quantity");
        let id = s(x, "id");
        let number = number_of(x);
        let submitted_at = s(x, "submitted_at");
        let submitted_ms = time::OffsetDateTime::parse(
            &submitted_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(now_ms))
        .unwrap_or(now_ms);
        let waited = now_ms.saturating_sub(submitted_ms);
        let objections = objections
            .get(&number)
            .map(|l| {
                l.iter()
                    .map(|(reason, ms)| (reason.clone(), local_time(c, *ms, offset)))
                    .collect()
            })
            .unwrap_or_default();
        let item = QueueItem {
            objections,
            number: number.to_string(),
            id,
            member: n(x, "member"),
            member_name: s(x, "member_name"),
            total: info.points.saturating_mul(quantity),
            indicator: info,
            code: code_s,
            quantity,
            note: s(x, "note"),
            source: c.word("source", &s(x, "source")),
            status: c.word("status", &s(x, "status")),
            submitted: c.time(&submitted_at),
            age_days: waited / day_ms,
            overdue: waited > i64::from(settings.review_days) * day_ms,
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
            history: Vec::new(),
            notice_until: c.time(&s(x, "notice_until")),
            key: random_token(),
        };
        all.push((item, two));
    }
    let open = all.len();
    let overdue = all.iter().filter(|(x, _)| x.overdue).count();
    let mut shown: Vec<QueueItem> = all
        .into_iter()
        .filter(|(x, two)| filter.keeps(x, *two))
        .map(|(x, _)| x)
        .take(QUEUE_CLAIMS_MAX)
        .collect();
    for x in &mut shown {
        let member = x.member;
        let hist = c
            .get(&format!(
                "/api/v1/regions/{code}/members/{member}/entries?limit={QUEUE_HISTORY_ENTRIES}"
            ))
            .await?;
        x.history = items(&hist)
            .iter()
            .map(|e| EntryRow::from(c, e, &names))
            .collect();
    }
    let mut indicators: Vec<(String, String)> =
        inds.iter().map(|i| (s(i, "code"), s(i, "name"))).collect();
    indicators.sort();
    Ok(QueueView {
        shown,
        open,
        overdue,
        review_days: settings.review_days,
        indicators,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    key: String,
    decision: String,
    reason: String,
    #[serde(flatten)]
    filter: QueueFilter,
}

fn decision_of(d: &str) -> Option<&'static str> {
    match d {
        "approve" => Some("approve"),
        "reject" => Some("reject"),
        _ => None,
    }
}

/// One claim decided from its card, with the reason typed there (if any).
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
    let Some(verb) = decision_of(&f.decision) else {
        return c.error_page(StatusCode::UNPROCESSABLE_ENTITY, c.tr("err.invalid"), None);
    };
    let claim = claim.trim();
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    let body = json!({"claims": [claim], "decision": verb, "reason": f.reason.trim()});
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/claims/decide"),
            Some(body),
            key,
        )
        .await
    {
        Ok(_) => c.redirect(&with_query(
            &format!("/r/{code}/review?done={verb}&id={}", url_encode(claim)),
            &f.filter.query(),
        )),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            queue_page(
                &c,
                &code,
                &f.filter,
                String::new(),
                &format!("{code}:{claim}"),
                &msg,
                String::new(),
                status,
            )
            .await
        }
    }
}

fn with_query(path: &str, more: &str) -> String {
    if more.is_empty() {
        path.to_owned()
    } else {
        format!("{path}&{more}")
    }
}

/// Several claims decided at once with one reason: the ticked ones (`claim-N`),
/// all or none.
async fn decide_batch(
    c: Ctx,
    Path(r): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if let Err(res) = c.check_form(field("csrf")) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Reviewer]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let filter = QueueFilter {
        indicator: field("indicator").to_owned(),
        older: field("older").to_owned(),
        second: field("second").to_owned(),
        objected: field("objected").to_owned(),
        overdue: field("overdue").to_owned(),
        who: field("who").to_owned(),
        ..QueueFilter::default()
    };
    let reason = field("reason").trim().to_owned();
    let mut claims: Vec<i64> = f
        .keys()
        .filter_map(|k| k.strip_prefix("claim-"))
        .filter_map(|n| n.parse().ok())
        .collect();
    claims.sort_unstable();
    let refuse = |msg: String| {
        let c = &c;
        let code = &code;
        let filter = &filter;
        let reason = reason.clone();
        async move {
            queue_page(
                c,
                code,
                filter,
                String::new(),
                "batch",
                &msg,
                reason,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let Some(verb) = decision_of(field("decision")) else {
        return refuse(c.tr("err.invalid").to_owned()).await;
    };
    if claims.is_empty() {
        return refuse(c.tr("review.batch_none").to_owned()).await;
    }
    if verb == "reject" && reason.is_empty() {
        return refuse(c.tr("review.batch_reason_needed").to_owned()).await;
    }
    let key = field("key");
    let body = json!({"claims": claims.iter().map(i64::to_string).collect::<Vec<_>>(),
        "decision": verb, "reason": reason});
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/claims/decide"),
            Some(body),
            (!key.is_empty()).then_some(key),
        )
        .await
    {
        Ok(_) => c.redirect(&with_query(
            &format!("/r/{code}/review?done=batch-{verb}&n={}", claims.len()),
            &filter.query(),
        )),
        Err(p) => {
            let msg = c.tr1("review.batch_failed", c.problem_full(&p));
            queue_page(
                &c,
                &code,
                &filter,
                String::new(),
                "batch",
                &msg,
                reason.clone(),
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
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
    /// The resident the forms act on, once found.
    chosen: Option<Chosen>,
    /// What was typed to find one, and what it found.
    find: String,
    found: Vec<Choice>,
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
    /// What staff typed to find a resident: a name, initials, a household, a
    /// number, or a member code.
    find: String,
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
    // A typed member code opens that resident, as a scanned one does.
    if q.member.is_empty()
        && let Some(typed) = jifen_store::find::normalize_code(&q.find)
    {
        return open_by_code(&c, &code, typed, &q.find).await;
    }
    let f = RecordForm {
        quantity: "1".into(),
        member: if q.id.is_empty() {
            q.member.clone()
        } else {
            String::new()
        },
        ..RecordForm::default()
    };
    record_page(&c, &code, f, &q.find, "", "", done, StatusCode::OK).await
}

/// A scanned (or typed) member code: opens that resident on the record page for
/// the region's staff. Anyone else is told the page is not for them; the code
/// itself says nothing.
async fn member_by_code(c: Ctx, Path((r, typed)): Path<(String, String)>) -> Response {
    let code = match region_for(&c, &r, RECORDERS) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    open_by_code(&c, &code, typed, "").await
}

/// The resident a member code finds, opened on the record page; an unknown or
/// renewed code says so there (404), keeping what was typed in the search box. What
/// was typed in the box may be a name's pinyin that looks like a code: when no code
/// matches and the search finds someone, the matches are listed instead.
async fn open_by_code(c: &Ctx, code: &RegionCode, typed: String, find: &str) -> Response {
    let c2 = code.clone();
    match crate::write::read(&c.state, move |st| Ok(st.member_by_code(&c2, &typed)?)).await {
        Ok(m) => c.redirect(&format!("/r/{code}/record?member={m}")),
        Err(_)
            if !find.is_empty() && {
                let (c2, q) = (code.clone(), find.to_owned());
                crate::write::read(&c.state, move |st| Ok(st.find_members(&c2, &q, 1)?))
                    .await
                    .is_ok_and(|found| !found.is_empty())
            } =>
        {
            let f = RecordForm {
                quantity: "1".into(),
                ..RecordForm::default()
            };
            record_page(c, code, f, find, "", "", String::new(), StatusCode::OK).await
        }
        Err(_) => {
            let f = RecordForm {
                quantity: "1".into(),
                ..RecordForm::default()
            };
            record_page(
                c,
                code,
                f,
                find,
                "find",
                c.tr("find.unknown_code"),
                String::new(),
                StatusCode::NOT_FOUND,
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CardQuery {
    member: String,
    csrf: String,
    done: String,
}

/// A resident's member code card, printed at the station (for a resident without
/// a phone); station staff and admins.
async fn staff_card(c: Ctx, Path(r): Path<String>, q: Query<CardQuery>) -> Response {
    let code = match region_for(&c, &r, &[Role::Station, Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let Some(member) = q
        .member
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|m| jifen_core::MemberId::new(m).ok())
    else {
        return c.error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            c.tr("record.bad_member"),
            None,
        );
    };
    super::resident::card_page(&c, &code, member, false, q.done == "renewed").await
}

/// A new code for a resident whose card was lost.
async fn staff_card_renew(c: Ctx, Path(r): Path<String>, Form(f): Form<CardQuery>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Station, Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = f.member.trim();
    match c
        .api(
            Method::POST,
            &format!(
                "/api/v1/regions/{code}/members/{}/code/renew",
                url_encode(member)
            ),
            None,
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!(
            "/r/{code}/record/card?member={}&done=renewed",
            url_encode(member)
        )),
        Err(p) => c.problem_page(&p),
    }
}

/// The resident the forms act on, once chosen.
pub struct Chosen {
    pub id: i64,
    pub name: String,
    pub household: String,
}

#[allow(clippy::too_many_arguments)]
async fn record_page(
    c: &Ctx,
    code: &RegionCode,
    mut f: RecordForm,
    find: &str,
    error_field: &str,
    error: &str,
    done: String,
    status: StatusCode,
) -> Response {
    let inds = match indicators(c, code).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let mut error_field = error_field.to_owned();
    let mut error = error.to_owned();
    let mut status = status;
    let chosen = match f.member.trim() {
        "" => None,
        m => match m
            .parse::<i64>()
            .ok()
            .and_then(|m| jifen_core::MemberId::new(m).ok())
        {
            Some(id) => {
                let c2 = code.clone();
                match crate::write::read(&c.state, move |st| Ok(st.member(&c2, id)?)).await {
                    Ok(v) if v.name.is_some() => Some(Chosen {
                        id: v.id.get(),
                        name: v.name.unwrap_or_default(),
                        household: v.household_label,
                    }),
                    _ => None,
                }
            }
            None => None,
        },
    };
    // Staff opening a resident read their personal data: recorded, as the API does.
    if let (Some(m), Some(who)) = (&chosen, &c.who)
        && let Ok(id) = jifen_core::MemberId::new(m.id)
        && let Err(e) =
            crate::access::record(&c.state, who, code, [id], "GET /r/{region}/record").await
    {
        return c.problem_page(&Problem::from(e));
    }
    if chosen.is_none() && !f.member.trim().is_empty() && error.is_empty() {
        error_field = "find".into();
        error = c.tr1("find.no_member", f.member.trim());
        status = StatusCode::NOT_FOUND;
        f.member.clear();
    }
    let found: Vec<Choice> = if chosen.is_none() && !find.trim().is_empty() {
        match c
            .get(&format!(
                "/api/v1/regions/{code}/members/find?limit=20&q={}",
                url_encode(find.trim())
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
        }
    } else {
        Vec::new()
    };
    if chosen.is_none() && !find.trim().is_empty() && found.is_empty() && error.is_empty() {
        error_field = "find".into();
        error = c.tr1("find.none", find.trim());
    }
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
            chosen,
            find: find.trim().to_owned(),
            found,
            indicators,
            f,
            key: random_token(),
            error_field,
            error,
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
        member: f.member.trim().to_owned(),
        ..RecordForm::default()
    };
    record_page(&c, &code, blank, "", "large", &msg, String::new(), status).await
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
        member: f.member.trim().to_owned(),
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
                "",
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
            record_page(
                &c,
                &code,
                blank,
                "",
                "attributes",
                &msg,
                String::new(),
                status,
            )
            .await
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
            "",
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
            "",
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
            record_page(&c, &code, f, "", &field, &msg, String::new(), status).await
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
                    local_time(c, e.starts_ms, offset),
                    local_time(c, e.ends_ms, offset),
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
    let qr_svg = super::ctx::qr_svg(&link, "QR");
    c.render(
        StatusCode::OK,
        &EventPage {
            c: &c,
            region: code.to_string(),
            name: s(&v, "name"),
            starts: c.time(&s(&v, "starts_at")),
            ends: c.time(&s(&v, "ends_at")),
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
                filed: c.time(&s(a, "filed_at")),
                deadline: c.time(&s(a, "deadline")),
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

// ---------------------------------------------------------------- points from another region

#[derive(Template)]
#[template(path = "transfer_in.html")]
struct TransferInPage<'a> {
    c: &'a Ctx,
    region: String,
    f: TransferInForm,
    key: String,
    done: String,
    error_field: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TransferInForm {
    csrf: String,
    key: String,
    pub member: String,
    pub statement: String,
    pub secret: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TakenQuery {
    points: String,
    from: String,
    /// A statement of scores taken: its years, as shown.
    scores: String,
}

fn transfer_in_page(
    c: &Ctx,
    code: &RegionCode,
    f: TransferInForm,
    done: String,
    error_field: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    c.render(
        status,
        &TransferInPage {
            c,
            region: code.to_string(),
            f,
            key: random_token(),
            done,
            error_field: error_field.to_owned(),
            error: error.to_owned(),
        },
    )
}

/// A station takes a resident's statement from another region, the resident present
/// with the one-time code they were given at home.
async fn transfer_in_form(c: Ctx, Path(r): Path<String>, Query(q): Query<TakenQuery>) -> Response {
    let code = match region_for(&c, &r, &[Role::Station, Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = if !q.scores.is_empty() {
        c.tr2("tin.scores_done", &q.scores, &q.from)
    } else if q.points.is_empty() {
        String::new()
    } else {
        c.tr2("tin.done", &q.points, &q.from)
    };
    transfer_in_page(
        &c,
        &code,
        TransferInForm::default(),
        done,
        "",
        "",
        StatusCode::OK,
    )
}

async fn transfer_in(c: Ctx, Path(r): Path<String>, Form(f): Form<TransferInForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, &[Role::Station, Role::Admin]) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let Ok(member) = f.member.trim().parse::<i64>() else {
        let msg = c.tr("tin.bad_member");
        return transfer_in_page(
            &c,
            &code,
            f,
            String::new(),
            "member",
            msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let body = json!({"member": member, "statement": f.statement, "secret": f.secret});
    let key = (!f.key.is_empty()).then(|| f.key.clone());
    // A statement of scores of past years goes where those are taken; the rest are
    // statements of a transfer (or not statements: the API says what is wrong).
    let scores = f
        .statement
        .trim_start()
        .starts_with(jifen_store::scores::SCORES_HEADER);
    let path = if scores {
        format!("/api/v1/regions/{code}/recognized-scores")
    } else {
        format!("/api/v1/regions/{code}/transfers-in")
    };
    match c.api(Method::POST, &path, Some(body), key.as_deref()).await {
        Ok(v) if scores => {
            let rows = v.as_array().cloned().unwrap_or_default();
            let years: Vec<String> = rows
                .iter()
                .map(|y| {
                    let counts = if y["counts"] == true {
                        c.tr("tin.counts")
                    } else {
                        c.tr("tin.not_counted")
                    };
                    c.tr3("tin.year_score", n(y, "year"), n(y, "points"), counts)
                })
                .collect();
            let from = rows.first().map(|y| s(y, "partner")).unwrap_or_default();
            c.redirect(&format!(
                "/r/{code}/transfers-in?scores={}&from={}",
                url_encode(&years.join(c.tr("list.sep"))),
                url_encode(&from)
            ))
        }
        Ok(v) => c.redirect(&format!(
            "/r/{code}/transfers-in?points={}&from={}",
            n(&v, "points"),
            url_encode(&s(&v, "home_origin"))
        )),
        Err(p) => {
            let field = p.field.clone().unwrap_or_default();
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            transfer_in_page(&c, &code, f, String::new(), &field, &msg, status)
        }
    }
}
