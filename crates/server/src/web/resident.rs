//! A resident's pages: my points (annual score, spendable points, level, the
//! distance to the next level, the year by month), my history with a proof
//! check per entry, appeals, check-in by an event's link or the phone camera,
//! and export of all my data.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jifen_core::{MemberId, RegionCode, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx::{Ctx, Problem, Refused, items, n, random_token, s};
use super::public::{DoneQuery, region_or_404};
use crate::AppState;

/// Entries shown on the my-points page.
pub const RECENT_ENTRIES: u32 = 10;
/// Entries a history page shows.
pub const HISTORY_PAGE_ENTRIES: u32 = 50;
/// Pages of 200 entries read for the chart of the year (a resident has far fewer).
pub const CHART_PAGES_MAX: usize = 10;
/// Pages of 200 read for an export (200,000 entries at most).
pub const EXPORT_PAGES_MAX: usize = 1000;
/// Height of the tallest bar of the chart, in SVG units.
pub const CHART_BAR_MAX: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{region}/me", get(me))
        .route("/r/{region}/me/code", get(my_card).post(renew_my_card))
        .route("/r/{region}/me/history", get(history))
        .route("/r/{region}/me/export", get(export))
        .route("/r/{region}/entries/{seq}", get(entry))
        .route("/r/{region}/entries/{seq}/appeal", post(appeal))
        .route("/c/{region}/{event}", get(checkin_form).post(checkin))
        // The link in the QR codes the API hands out: the same page. Opening it
        // checks no one in (a link preview or prefetch must not); the button does.
        .route("/checkin/{region}/{event}", get(checkin_form))
        .route("/r/{region}/me/claim", get(claim_form).post(claim))
        .route("/r/{region}/me/transfer", get(transfer_form).post(transfer))
        .route("/r/{region}/me/score-statement", post(score_statement))
        .route(
            "/r/{region}/me/transfers/{transfer}/statement",
            get(transfer_statement),
        )
        .route("/scan", get(scan))
        .route("/scan/go", get(scan_go))
}

/// One ledger entry as a resident reads it.
pub struct EntryRow {
    pub seq: i64,
    pub date: String,
    pub kind: String,
    pub what: String,
    /// Signed: what it did to the spendable balance.
    pub points: String,
    pub plus: bool,
}

impl EntryRow {
    pub fn from(c: &Ctx, e: &Value, names: &HashMap<String, String>) -> Self {
        let amount = n(e, "amount");
        let plus = s(e, "credit").starts_with("member:");
        let code = s(e, "indicator");
        let what = if code.is_empty() {
            s(e, "reason")
        } else {
            names.get(&code).cloned().unwrap_or(code)
        };
        EntryRow {
            seq: n(e, "seq"),
            date: c.time(&s(e, "time")),
            kind: c.word("kind", &s(e, "kind")),
            what,
            points: if plus {
                format!("+{amount}")
            } else {
                format!("−{amount}")
            },
            plus,
        }
    }
}

/// The region's indicator names by code.
pub async fn indicator_names(c: &Ctx, region: &RegionCode) -> HashMap<String, String> {
    c.get(&format!("/api/v1/regions/{region}/indicators"))
        .await
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|i| (s(i, "code"), s(i, "name")))
        .collect()
}

/// The signed-in resident's member number in the region, or the page to show instead.
fn my_member(c: &Ctx, region: &RegionCode) -> Result<MemberId, Refused> {
    c.require_role(region, &[Role::Resident])?;
    c.member_of(region)
        .ok_or_else(|| Box::new(c.error_page(StatusCode::FORBIDDEN, c.tr("err.no_member"), None)))
}

pub struct Bar {
    pub month: u32,
    pub points: i64,
    pub x: i64,
    pub y: i64,
    pub h: i64,
}

pub struct ClaimRow {
    pub id: String,
    pub what: String,
    pub status: String,
    pub date: String,
    /// The reviewer's reason, if one was given.
    pub reason: String,
}

pub struct AppealRow {
    pub id: String,
    pub entry: String,
    pub status: String,
    pub deadline: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct Me<'a> {
    c: &'a Ctx,
    region: String,
    year: i64,
    annual: i64,
    spendable: i64,
    level: String,
    next_level: String,
    missing: i64,
    /// Percent of the way to the next level.
    progress: i64,
    bars: Vec<Bar>,
    chart_label: String,
    entries: Vec<EntryRow>,
    claims: Vec<ClaimRow>,
    appeals: Vec<AppealRow>,
    /// Who among staff read my data lately (PIPL).
    accesses: Vec<AccessRow>,
    notice: &'a str,
    /// My member code and its QR, for staff to scan at the station.
    member_code: String,
    member_qr: String,
}

/// One staff read of my data, as the page shows it.
struct AccessRow {
    date: String,
    who: String,
    what: &'static str,
}

/// Most reads of my data the page lists (the export has up to 200).
const ACCESSES_SHOWN: usize = 10;

/// The words for a route of the access log.
fn access_what(route: &str) -> &'static str {
    match route.rsplit('/').next().unwrap_or_default() {
        "members" => "access.members",
        "claims" => "access.claims",
        "{id}" => "access.claim",
        "balance" => "access.balance",
        "entries" => "access.entries",
        "appeals" => "access.appeals",
        "record" => "access.record",
        "card" | "code" | "{code}" => "access.code",
        "find" => "access.find",
        "reward-refusals" => "access.shop",
        _ => "access.other",
    }
}

/// Sums `annual_delta` by local month over the entries of `year`.
fn by_month(entries: &[Value], year: i64) -> [i64; 12] {
    let mut months = [0i64; 12];
    for e in entries {
        let t = s(e, "time");
        let y: i64 = t.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
        let m: usize = t.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
        if y == year && (1..=12).contains(&m) {
            months[m - 1] = months[m - 1].saturating_add(n(e, "annual_delta"));
        }
    }
    months
}

fn bars(months: &[i64; 12]) -> Vec<Bar> {
    let top = months.iter().map(|m| m.abs()).max().unwrap_or(0).max(1);
    months
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let h = (p.max(0) * CHART_BAR_MAX) / top;
            Bar {
                month: i as u32 + 1,
                points: p,
                x: i as i64 * 25 + 4,
                y: CHART_BAR_MAX - h + 4,
                h,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "member_code.html")]
struct Card<'a> {
    c: &'a Ctx,
    region: String,
    region_name: String,
    member: i64,
    name: String,
    code: String,
    qr: String,
    /// The resident's own card (they renew it here); otherwise a station's print.
    own: bool,
    renewed: bool,
}

/// The member code card: the QR staff scan to open the resident, the code typed
/// where a camera is missing, a print button, and renewal.
pub async fn card_page(
    c: &Ctx,
    code: &RegionCode,
    member: MemberId,
    own: bool,
    renewed: bool,
) -> Response {
    let got = async {
        let mc = c
            .get(&format!("/api/v1/regions/{code}/members/{member}/code"))
            .await?;
        let region = c.get(&format!("/api/v1/regions/{code}")).await?;
        Ok::<_, Problem>((mc, region))
    }
    .await;
    let (mc, region) = match got {
        Ok(x) => x,
        Err(p) => return c.problem_page(&p),
    };
    let c2 = code.clone();
    let name = crate::write::read(&c.state, move |st| Ok(st.member(&c2, member)?))
        .await
        .ok()
        .and_then(|m| m.name)
        .unwrap_or_default();
    // A station printing someone's card reads their name and code: recorded (a
    // member's own card is not).
    if let Some(who) = &c.who
        && let Err(e) =
            crate::access::record(&c.state, who, code, [member], "GET /r/{region}/record/card")
                .await
    {
        return c.problem_page(&Problem::from(e));
    }
    let link = format!("{}{}", c.origin(), s(&mc, "path"));
    let member_code = s(&mc, "code");
    c.render(
        StatusCode::OK,
        &Card {
            c,
            region: code.to_string(),
            region_name: s(&region, "name"),
            member: member.get(),
            name,
            qr: super::ctx::qr_svg(&link, &c.tr1("card.qr_alt", &member_code)),
            code: member_code,
            own,
            renewed,
        },
    )
}

async fn my_card(c: Ctx, Path(r): Path<String>, q: Query<DoneQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    card_page(&c, &code, member, true, q.done == "renewed").await
}

async fn renew_my_card(
    c: Ctx,
    Path(r): Path<String>,
    Form(f): Form<super::public::CsrfForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/members/{member}/code/renew"),
            None,
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/me/code?done=renewed")),
        Err(p) => c.problem_page(&p),
    }
}

async fn me(c: Ctx, Path(r): Path<String>, q: Query<DoneQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match me_page(&c, &code, member, &q.done).await {
        Ok(res) => res,
        Err(p) => c.problem_page(&p),
    }
}

async fn me_page(
    c: &Ctx,
    code: &RegionCode,
    member: MemberId,
    done: &str,
) -> Result<Response, Problem> {
    let base = format!("/api/v1/regions/{code}/members/{member}");
    let bal = c.get(&format!("{base}/balance")).await?;
    let year = n(&bal, "year");
    // The entries of this year, newest first, for the chart and the recent list.
    let mut entries: Vec<Value> = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..CHART_PAGES_MAX {
        let page = match before {
            Some(b) => {
                c.get(&format!("{base}/entries?limit=200&after={b}"))
                    .await?
            }
            None => c.get(&format!("{base}/entries?limit=200")).await?,
        };
        let got = items(&page);
        let older = got.last().is_some_and(|e| {
            s(e, "time").get(..4).and_then(|y| y.parse::<i64>().ok()) < Some(year)
        });
        entries.extend(got);
        match page["next"].as_i64() {
            Some(next) if !older => before = Some(next),
            _ => break,
        }
    }
    let names = indicator_names(c, code).await;
    let months = by_month(&entries, year);
    let chart_label = months
        .iter()
        .enumerate()
        .map(|(i, p)| c.tr2("me.chart_month", i + 1, p))
        .collect::<Vec<_>>()
        .join(c.tr("list.sep"));
    let claims_v = c
        .get(&format!(
            "/api/v1/regions/{code}/claims?member={member}&limit=200"
        ))
        .await?;
    let claims: Vec<ClaimRow> = items(&claims_v)
        .iter()
        .rev()
        .filter(|x| !matches!(s(x, "status").as_str(), "posted" | "withdrawn"))
        .take(RECENT_ENTRIES as usize)
        .map(|x| ClaimRow {
            id: s(x, "id"),
            what: names
                .get(&s(x, "indicator"))
                .cloned()
                .unwrap_or_else(|| s(x, "indicator")),
            status: c.word("status", &s(x, "status")),
            date: c.time(&s(x, "submitted_at")),
            reason: s(x, "reason"),
        })
        .collect();
    let appeals_v = c
        .get(&format!(
            "/api/v1/regions/{code}/appeals?member={member}&limit=200"
        ))
        .await?;
    let appeals = appeal_rows(c, &appeals_v);
    let accesses = c
        .get(&format!("{base}/data-access"))
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .take(ACCESSES_SHOWN)
        .map(|a| AccessRow {
            date: c.time(&s(a, "at")),
            who: s(a, "account_name"),
            what: access_what(&s(a, "what")),
        })
        .collect();
    let annual = n(&bal, "annual_score");
    let next_min = n(&bal["next_level"], "min_score");
    let progress = if next_min > 0 {
        (annual.max(0) * 100 / next_min).clamp(0, 100)
    } else {
        100
    };
    let notice = match done {
        "checked-in" => "me.done_checkin",
        "appealed" => "me.done_appeal",
        "claimed" => "me.done_claim",
        _ => "",
    };
    let mc = c
        .get(&format!("/api/v1/regions/{code}/members/{member}/code"))
        .await?;
    let member_code = s(&mc, "code");
    let member_qr = super::ctx::qr_svg(
        &format!("{}{}", c.origin(), s(&mc, "path")),
        &c.tr1("card.qr_alt", &member_code),
    );
    Ok(c.render(
        StatusCode::OK,
        &Me {
            c,
            member_code,
            member_qr,
            region: code.to_string(),
            year,
            annual,
            spendable: n(&bal, "spendable"),
            level: s(&bal["level"], "name"),
            next_level: s(&bal["next_level"], "name"),
            missing: n(&bal["next_level"], "missing"),
            progress,
            bars: bars(&months),
            chart_label,
            entries: entries
                .iter()
                .take(RECENT_ENTRIES as usize)
                .map(|e| EntryRow::from(c, e, &names))
                .collect(),
            claims,
            appeals,
            accesses,
            notice,
        },
    ))
}

fn appeal_rows(c: &Ctx, v: &Value) -> Vec<AppealRow> {
    items(v)
        .iter()
        .rev()
        .map(|a| AppealRow {
            id: s(a, "id"),
            entry: s(a, "entry")
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_owned(),
            status: c.word("appeal", &s(a, "status")),
            deadline: c.time(&s(a, "deadline")),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "history.html")]
struct History<'a> {
    c: &'a Ctx,
    region: String,
    entries: Vec<EntryRow>,
    next: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BeforeQuery {
    before: Option<i64>,
}

async fn history(c: Ctx, Path(r): Path<String>, q: Query<BeforeQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    let mut path =
        format!("/api/v1/regions/{code}/members/{member}/entries?limit={HISTORY_PAGE_ENTRIES}");
    if let Some(b) = q.before.filter(|b| *b > 0) {
        path.push_str(&format!("&after={b}"));
    }
    let page = match c.get(&path).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let names = indicator_names(&c, &code).await;
    let entries = items(&page)
        .iter()
        .map(|e| EntryRow::from(&c, e, &names))
        .collect();
    c.render(
        StatusCode::OK,
        &History {
            c: &c,
            region: code.to_string(),
            entries,
            next: page["next"].as_i64(),
        },
    )
}

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage<'a> {
    c: &'a Ctx,
    region: String,
    row: EntryRow,
    reason: String,
    leaf: String,
    receipt: String,
    proof_json: String,
    vkey: String,
    witness_vkeys: String,
    quorum: u32,
    auto: bool,
    mine: bool,
    appeal_key: String,
    statement: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VerifyQuery {
    verify: String,
}

async fn entry(c: Ctx, Path((r, seq)): Path<(String, String)>, q: Query<VerifyQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if c.who.is_none() {
        return c.to_login();
    }
    entry_page(&c, &code, &seq, q.verify == "1", "", "", StatusCode::OK).await
}

async fn entry_page(
    c: &Ctx,
    code: &RegionCode,
    seq: &str,
    auto: bool,
    statement: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    let v = match c
        .get(&format!("/api/v1/entries/{code}:{}", seq.trim()))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let region = match c.get(&format!("/api/v1/regions/{code}")).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let names = indicator_names(c, code).await;
    let e = &v["entry"];
    let proof = json!({
        "leaf_base64": v["leaf_base64"],
        "index": v["index"],
        "tree_size": v["tree_size"],
        "inclusion_proof": v["inclusion_proof"],
        "checkpoint": v["checkpoint"],
    });
    let mine =
        c.member_of(code).is_some_and(|m| m.get() == n(e, "member")) && c.has(code, Role::Resident);
    let (witnesses, quorum) = super::public::witness_rows(c, code, "").await;
    c.render(
        status,
        &EntryPage {
            c,
            region: code.to_string(),
            row: EntryRow::from(c, e, &names),
            reason: s(e, "reason"),
            leaf: s(&v, "leaf"),
            receipt: s(&v, "receipt"),
            // Inside <script type="application/json">: keep "</" out of it.
            proof_json: proof.to_string().replace("</", "<\\/"),
            vkey: s(&region, "vkey"),
            witness_vkeys: super::public::witness_vkeys(&witnesses),
            quorum,
            auto,
            mine,
            appeal_key: random_token(),
            statement: statement.to_owned(),
            error: error.to_owned(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AppealForm {
    csrf: String,
    key: String,
    statement: String,
}

async fn appeal(
    c: Ctx,
    Path((r, seq)): Path<(String, String)>,
    Form(f): Form<AppealForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if c.who.is_none() {
        return c.to_login();
    }
    if f.statement.trim().is_empty() {
        return entry_page(
            &c,
            &code,
            &seq,
            false,
            "",
            c.tr("appeal.need_statement"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/entries/{code}:{}/appeal", seq.trim()),
            Some(json!({"statement": f.statement})),
            key,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/me?done=appealed")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            entry_page(&c, &code, &seq, false, &f.statement, &msg, status).await
        }
    }
}

/// All the resident's data the API holds for them, as one JSON file.
async fn export(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match export_json(&c, &code, member).await {
        Ok(v) => c.json_download(&v, &format!("jifen-{code}-{member}.json")),
        Err(p) => c.problem_page(&p),
    }
}

async fn export_json(c: &Ctx, code: &RegionCode, member: MemberId) -> Result<Value, Problem> {
    let base = format!("/api/v1/regions/{code}/members/{member}");
    let account = c.get("/api/v1/auth/me").await?;
    let balance = c.get(&format!("{base}/balance")).await?;
    let mut entries = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..EXPORT_PAGES_MAX {
        let page = match before {
            Some(b) => {
                c.get(&format!("{base}/entries?limit=200&after={b}"))
                    .await?
            }
            None => c.get(&format!("{base}/entries?limit=200")).await?,
        };
        entries.extend(items(&page));
        match page["next"].as_i64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let mut claims = Vec::new();
    let mut after = 0i64;
    for _ in 0..EXPORT_PAGES_MAX {
        let page = c
            .get(&format!(
                "/api/v1/regions/{code}/claims?member={member}&limit=200&after={after}"
            ))
            .await?;
        claims.extend(items(&page));
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    let appeals = items(
        &c.get(&format!(
            "/api/v1/regions/{code}/appeals?member={member}&limit=200"
        ))
        .await?,
    );
    Ok(json!({
        "format": "jifen-member-export@v1",
        "region": code.to_string(),
        "member": member.get(),
        "account": account,
        "balance": balance,
        "entries": entries,
        "claims": claims,
        "appeals": appeals,
        "attributes": c.get(&format!("{base}/attributes")).await?,
        "data_access": c.get(&format!("{base}/data-access")).await?,
    }))
}

// ---------------------------------------------------------------- my own claims

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage<'a> {
    c: &'a Ctx,
    region: String,
    /// (code, label) of the indicators a resident may claim.
    indicators: Vec<(String, String)>,
    f: ClaimForm,
    key: String,
    error_field: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClaimForm {
    csrf: String,
    key: String,
    pub indicator: String,
    pub quantity: String,
    pub note: String,
}

async fn claim_form(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let f = ClaimForm {
        quantity: "1".into(),
        ..ClaimForm::default()
    };
    claim_page(&c, &code, f, "", "", StatusCode::OK).await
}

async fn claim_page(
    c: &Ctx,
    code: &RegionCode,
    f: ClaimForm,
    error_field: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    if let Err(res) = my_member(c, code) {
        return *res;
    }
    let list = match c.get(&format!("/api/v1/regions/{code}/indicators")).await {
        Ok(v) => v.as_array().cloned().unwrap_or_default(),
        Err(p) => return c.problem_page(&p),
    };
    let indicators = list
        .iter()
        .filter(|i| s(i, "claimants") == "residents" && n(i, "points") > 0)
        .map(|i| {
            (
                s(i, "code"),
                c.tr2("record.indicator_label", s(i, "name"), n(i, "points")),
            )
        })
        .collect();
    c.render(
        status,
        &ClaimPage {
            c,
            region: code.to_string(),
            indicators,
            f,
            key: random_token(),
            error_field: error_field.to_owned(),
            error: error.to_owned(),
        },
    )
}

async fn claim(c: Ctx, Path(r): Path<String>, Form(f): Form<ClaimForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    let quantity = if f.quantity.trim().is_empty() {
        Ok(1)
    } else {
        f.quantity.trim().parse::<u32>()
    };
    let Ok(quantity) = quantity else {
        let msg = c.tr("record.bad_quantity");
        return claim_page(
            &c,
            &code,
            f,
            "quantity",
            msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let body = json!({
        "member": member.get(),
        "indicator": f.indicator.trim(),
        "quantity": quantity,
        "note": f.note,
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
        Ok(_) => c.redirect(&format!("/r/{code}/me?done=claimed")),
        Err(p) => {
            let field = p.field.clone().unwrap_or_default();
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            claim_page(&c, &code, f, &field, &msg, status).await
        }
    }
}

// ---------------------------------------------------------------- check-in

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkQuery {
    exp: String,
    sig: String,
}

#[derive(Template)]
#[template(path = "checkin.html")]
struct Checkin<'a> {
    c: &'a Ctx,
    region: String,
    event: String,
    exp: String,
    sig: String,
    key: String,
    name: String,
    error: String,
}

async fn checkin_form(
    c: Ctx,
    Path((r, e)): Path<(String, String)>,
    q: Query<LinkQuery>,
) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if c.who.is_none() {
        return c.to_login();
    }
    // The event's name, when the visitor may see it (anyone with a role in the region).
    let name = c
        .get(&format!("/api/v1/regions/{code}/events/{}", e.trim()))
        .await
        .map(|v| s(&v, "name"))
        .unwrap_or_default();
    c.render(
        StatusCode::OK,
        &Checkin {
            c: &c,
            region: code.to_string(),
            event: e,
            exp: q.exp.clone(),
            sig: q.sig.clone(),
            key: random_token(),
            name,
            error: String::new(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CheckinForm {
    csrf: String,
    key: String,
    exp: String,
    sig: String,
}

async fn checkin(
    c: Ctx,
    Path((r, e)): Path<(String, String)>,
    Form(f): Form<CheckinForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if c.who.is_none() {
        return c.to_login();
    }
    let body = json!({
        "region": code.to_string(),
        "event": e.trim().parse::<i64>().unwrap_or(-1),
        "exp": f.exp.trim().parse::<i64>().unwrap_or(-1),
        "sig": f.sig,
    });
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(Method::POST, "/api/v1/checkin", Some(body), key)
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/me?done=checked-in")),
        Err(p) => {
            let msg = if p.status == 409 {
                c.tr("checkin.already").to_owned()
            } else {
                c.problem_full(&p)
            };
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            c.render(
                status,
                &Checkin {
                    c: &c,
                    region: code.to_string(),
                    event: e,
                    exp: f.exp,
                    sig: f.sig,
                    key: random_token(),
                    name: String::new(),
                    error: msg,
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "scan.html")]
struct Scan<'a> {
    c: &'a Ctx,
}

async fn scan(c: Ctx) -> Response {
    if c.who.is_none() {
        return c.to_login();
    }
    c.render(StatusCode::OK, &Scan { c: &c })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GoQuery {
    link: String,
}

/// The path a scanned or typed code leads to: a check-in link (either form) on this site.
pub fn scanned_path(link: &str) -> Option<String> {
    let link = link.trim();
    let path = match link.find("://") {
        Some(i) => &link[i + 3..][link[i + 3..].find('/')?..],
        None => link,
    };
    // A resident's member code: staff scan it to open the resident.
    if let Some(rest) = path.strip_prefix("/r/")
        && let Some((region, code)) = rest.split_once("/m/")
    {
        let code = jifen_store::find::normalize_code(code)?;
        RegionCode::parse(region).ok()?;
        return Some(format!("/r/{region}/m/{code}"));
    }
    let rest = path
        .strip_prefix("/checkin/")
        .or_else(|| path.strip_prefix("/c/"))?;
    let (route, query) = rest.split_once('?')?;
    let mut parts = route.split('/');
    let (region, event) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || RegionCode::parse(region).is_err() || event.parse::<u64>().is_err()
    {
        return None;
    }
    let ok = query.split('&').all(|p| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=-_".contains(&b))
    });
    ok.then(|| format!("/c/{region}/{event}?{query}"))
}

async fn scan_go(c: Ctx, q: Query<GoQuery>) -> Response {
    match scanned_path(&q.link) {
        Some(p) => c.redirect(&p),
        None => c.error_page(StatusCode::UNPROCESSABLE_ENTITY, c.tr("scan.notlink"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanned_links_lead_to_the_check_in_page_or_a_member_only() {
        assert_eq!(
            scanned_path("http://127.0.0.1:8080/checkin/vil/3?exp=5&sig=a-b_c").as_deref(),
            Some("/c/vil/3?exp=5&sig=a-b_c")
        );
        assert_eq!(
            scanned_path(" /c/vil/3?exp=5&sig=x ").as_deref(),
            Some("/c/vil/3?exp=5&sig=x")
        );
        assert_eq!(scanned_path("https://evil.example/"), None);
        assert_eq!(scanned_path("/c/vil/x?exp=5"), None);
        assert_eq!(scanned_path("/c/vil/3?exp=5&next=//evil"), None);
        assert_eq!(scanned_path(""), None);
        assert_eq!(
            scanned_path("https://jifen.example/r/vil/m/ABCD-EFGH-JKLM-NPQR").as_deref(),
            Some("/r/vil/m/ABCD-EFGH-JKLM-NPQR")
        );
        assert_eq!(
            scanned_path("/r/vil/m/ABCD-EFGH-JKLM-NPQR?next=//evil"),
            None
        );
        assert_eq!(scanned_path("/r/vil/m/../admin"), None);
    }

    #[test]
    fn months_sum_only_the_year_asked() {
        let e = |t: &str, d: i64| json!({"time": t, "annual_delta": d});
        let entries = vec![
            e("2026-03-10T10:00:00+08:00", 5),
            e("2026-03-31T23:59:00+08:00", -2),
            e("2026-12-01T00:00:00+08:00", 7),
            e("2025-03-10T10:00:00+08:00", 100),
            e("garbage", 9),
        ];
        let m = by_month(&entries, 2026);
        assert_eq!(m[2], 3);
        assert_eq!(m[11], 7);
        assert_eq!(m.iter().sum::<i64>(), 10);
        let b = bars(&m);
        assert_eq!(b[11].h, CHART_BAR_MAX, "the largest month fills the chart");
        assert_eq!(b[0].h, 0);
    }
}

// ---------------------------------------------------------------- taking points elsewhere

#[derive(Template)]
#[template(path = "transfer_out.html")]
struct TransferOutPage<'a> {
    c: &'a Ctx,
    region: String,
    /// The agreements that let residents take points there today: (name, label).
    partners: Vec<(String, String)>,
    f: TransferOutForm,
    key: String,
    points: i64,
    transfer: i64,
    secret: String,
    /// The statement's QR code (inline SVG), empty when it is too long for one.
    qr: String,
    /// My transfers out, newest first: (number, when, partner, points).
    mine: Vec<(i64, String, String, i64)>,
    /// A statement of scores just made, and its code (shown this once).
    scores: String,
    scores_secret: String,
    scores_qr: String,
    error: String,
}

/// What a page of transfers shows once: a transfer just made, or a statement of scores.
enum Made<'a> {
    None,
    Transfer(&'a Value, String),
    Scores(&'a Value),
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TransferOutForm {
    csrf: String,
    key: String,
    pub partner: String,
    pub points: String,
}

async fn transfer_out_page(
    c: &Ctx,
    code: &RegionCode,
    f: TransferOutForm,
    made: Made<'_>,
    error: &str,
    status: StatusCode,
) -> Response {
    let (done, statement) = match &made {
        Made::Transfer(v, doc) => (Some(*v), doc.as_str()),
        _ => (None, ""),
    };
    let scores = match made {
        Made::Scores(v) => Some(v),
        _ => None,
    };
    let partners = match c.get(&format!("/api/v1/regions/{code}/agreements")).await {
        Ok(v) => v
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["send"] == true && a["in_force"] == true)
            .map(|a| {
                let label = c.tr2(
                    "tout.partner_label",
                    s(&a, "partner_origin"),
                    format!("{} : {}", n(&a, "rate_num"), n(&a, "rate_den")),
                );
                (s(&a, "partner"), label)
            })
            .collect(),
        Err(p) => return c.problem_page(&p),
    };
    let mine = match my_member(c, code) {
        Ok(m) => match c
            .get(&format!("/api/v1/regions/{code}/members/{m}/transfers"))
            .await
        {
            Ok(v) => v
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    (
                        n(t, "transfer"),
                        c.time(&s(t, "created")),
                        s(t, "partner"),
                        n(t, "points"),
                    )
                })
                .collect(),
            Err(p) => return c.problem_page(&p),
        },
        Err(res) => return *res,
    };
    c.render(
        status,
        &TransferOutPage {
            c,
            region: code.to_string(),
            partners,
            f,
            key: random_token(),
            points: done.map_or(0, |v| n(v, "points")),
            transfer: done.map_or(0, |v| n(v, "transfer")),
            secret: done.map(|v| s(v, "secret")).unwrap_or_default(),
            qr: super::ctx::document_qr_svg(statement, c.tr("tout.qr_alt")),
            mine,
            scores: scores.map(|v| s(v, "statement")).unwrap_or_default(),
            scores_secret: scores.map(|v| s(v, "secret")).unwrap_or_default(),
            scores_qr: scores.map_or_else(String::new, |v| {
                super::ctx::document_qr_svg(&s(v, "statement"), c.tr("tout.qr_alt"))
            }),
            error: error.to_owned(),
        },
    )
}

/// A resident takes points to a region their home region has an agreement with.
async fn transfer_form(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if let Err(res) = my_member(&c, &code) {
        return *res;
    }
    transfer_out_page(
        &c,
        &code,
        TransferOutForm::default(),
        Made::None,
        "",
        StatusCode::OK,
    )
    .await
}

async fn transfer(c: Ctx, Path(r): Path<String>, Form(f): Form<TransferOutForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    let Ok(points) = f.points.trim().parse::<i64>() else {
        let msg = c.tr("tout.bad_points");
        return transfer_out_page(
            &c,
            &code,
            f,
            Made::None,
            msg,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let key = (!f.key.is_empty()).then(|| f.key.clone());
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/members/{member}/transfers"),
            Some(json!({"partner": f.partner, "points": points})),
            key.as_deref(),
        )
        .await
    {
        // The code is shown on this answer only (not after a redirect): it is not
        // kept anywhere a page could show it again.
        Ok(v) => {
            // The statement too, for its QR code (if it cannot be read now, the
            // download link still fetches it).
            let doc = c
                .get_text(&format!(
                    "/api/v1/regions/{code}/transfers/{}/statement",
                    n(&v, "transfer")
                ))
                .await
                .unwrap_or_default();
            transfer_out_page(
                &c,
                &code,
                TransferOutForm::default(),
                Made::Transfer(&v, doc),
                "",
                StatusCode::CREATED,
            )
            .await
        }
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            transfer_out_page(&c, &code, f, Made::None, &msg, status).await
        }
    }
}

/// A statement of my annual scores of past years for a partner region: shown once,
/// with its code and QR code (nothing is kept; another can be made any time).
async fn score_statement(
    c: Ctx,
    Path(r): Path<String>,
    Form(f): Form<TransferOutForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let member = match my_member(&c, &code) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/members/{member}/score-statements"),
            Some(json!({"partner": f.partner})),
            Some(&random_token()),
        )
        .await
    {
        Ok(v) => {
            let f = TransferOutForm::default();
            transfer_out_page(&c, &code, f, Made::Scores(&v), "", StatusCode::CREATED).await
        }
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            transfer_out_page(&c, &code, f, Made::None, &msg, status).await
        }
    }
}

/// The statement of one of my transfers, as a file to take to the other region.
async fn transfer_statement(c: Ctx, Path((r, t)): Path<(String, String)>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    if let Err(res) = my_member(&c, &code) {
        return *res;
    }
    let Ok(transfer) = t.parse::<u64>() else {
        return c.error_page(StatusCode::NOT_FOUND, c.tr("err.notfound"), None);
    };
    match c
        .get_text(&format!(
            "/api/v1/regions/{code}/transfers/{transfer}/statement"
        ))
        .await
    {
        Ok(text) => c.text_download(text, &format!("jifen-statement-{code}-{transfer}.txt")),
        Err(p) => c.problem_page(&p),
    }
}
