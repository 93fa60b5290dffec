//! Pages anyone can open: home, sign-in, the public notice board (公示) and the
//! transparency page of each region; the language and large-text switches; the
//! static files (CSS and the small scripts), compiled in.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jifen_core::{RegionCode, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ctx::{Ctx, LARGE_COOKIE, PREF_DAYS, Problem, Refused, items, n, s, safe_next};
use crate::AppState;
use crate::auth::SESSION_COOKIE;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/prefs/large", post(large))
        .route("/public", get(public_index))
        .route("/notice/{region}", get(notice))
        .route("/notice/{region}/{claim}/object", post(object))
        .route("/transparency/{region}", get(transparency))
        .route("/transparency/{region}/check", post(check_receipt))
        .route("/static/{file}", get(static_file))
}

/// Parses a region code from a path; unknown codes are 404 pages.
pub fn region_or_404(c: &Ctx, r: &str) -> Result<RegionCode, Refused> {
    RegionCode::parse(r)
        .map_err(|_| Box::new(c.error_page(StatusCode::NOT_FOUND, c.tr("err.notfound"), None)))
}

/// The region a staff page names, for a visitor holding one of `roles` there:
/// 404 for a malformed code, then sign-in or 403 as [`Ctx::require_role`] says.
pub fn region_for(c: &Ctx, r: &str, roles: &[Role]) -> Result<RegionCode, Refused> {
    let code = region_or_404(c, r)?;
    c.require_role(&code, roles)?;
    Ok(code)
}

// ---------------------------------------------------------------- static files

const CSS: &str = include_str!("../../static/jifen.css");
const VERIFY_JS: &str = include_str!("../../static/verify.js");
const SCAN_JS: &str = include_str!("../../static/scan.js");
const PAGE_JS: &str = include_str!("../../static/page.js");
const FIND_JS: &str = include_str!("../../static/find.js");

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, ty) = match file.as_str() {
        "jifen.css" => (CSS, "text/css; charset=utf-8"),
        "verify.js" => (VERIFY_JS, "text/javascript; charset=utf-8"),
        "scan.js" => (SCAN_JS, "text/javascript; charset=utf-8"),
        "page.js" => (PAGE_JS, "text/javascript; charset=utf-8"),
        "find.js" => (FIND_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

// ---------------------------------------------------------------- home

/// What each role can open in region `r`, as (link, message key), for the home
/// page and for a refusal that points to what the visitor can do instead.
/// `stations_run_events`: the region lets station staff run events.
pub fn links_for(
    r: &str,
    roles: &[Role],
    stations_run_events: bool,
) -> Vec<(String, &'static str)> {
    let mut links: Vec<(String, &'static str)> = Vec::new();
    let has = |x: Role| roles.contains(&x);
    if has(Role::Resident) {
        links.push((format!("/r/{r}/me"), "home.my_points"));
        links.push(("/scan".to_owned(), "home.scan"));
        links.push((format!("/r/{r}/shop"), "home.shop"));
    }
    if has(Role::Reviewer) {
        links.push((format!("/r/{r}/review"), "home.review"));
    }
    if has(Role::Reviewer) || has(Role::Station) || has(Role::Admin) {
        links.push((format!("/r/{r}/record"), "home.record"));
    }
    if has(Role::Reviewer) || has(Role::Admin) || (has(Role::Station) && stations_run_events) {
        links.push((format!("/r/{r}/events"), "home.events"));
        links.push((format!("/r/{r}/appeals"), "home.appeals"));
    }
    if has(Role::Admin) {
        links.push((format!("/r/{r}/admin"), "home.admin"));
        links.push((format!("/r/{r}/admin/import"), "home.import"));
        links.push((format!("/r/{r}/admin/rewards"), "home.rewards"));
        links.push((format!("/r/{r}/admin/budget"), "home.budget"));
    }
    if has(Role::Merchant) {
        links.push((format!("/r/{r}/merchant"), "home.merchant"));
    }
    if has(Role::Auditor) || has(Role::Admin) {
        links.push((format!("/r/{r}/privacy"), "home.privacy"));
        links.push((format!("/r/{r}/evaluation"), "home.evaluation"));
    }
    links.push((format!("/notice/{r}"), "home.notice"));
    links.push((format!("/transparency/{r}"), "home.transparency"));
    links
}

/// One region's links on the home page.
pub struct RegionLinks {
    pub region: String,
    pub roles: Vec<String>,
    pub links: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    c: &'a Ctx,
    regions: Vec<RegionLinks>,
}

async fn home(c: Ctx) -> Response {
    let mut by_region: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    if let Some(who) = &c.who {
        for g in &who.account.grants {
            by_region
                .entry(g.region.to_string())
                .or_default()
                .push(g.role);
        }
    }
    let mut regions = Vec::with_capacity(by_region.len());
    for (r, roles) in by_region {
        // Whether the region lets its station staff run events (only asked of stations).
        let stations_run_events = match RegionCode::parse(&r) {
            Ok(code) if roles.contains(&Role::Station) => {
                crate::write::read(&c.state, move |st| Ok(st.region_settings(&code)?))
                    .await
                    .is_ok_and(|s| s.stations_run_events)
            }
            _ => false,
        };
        let links = links_for(&r, &roles, stations_run_events);
        let mut roles: Vec<String> = roles.iter().map(|x| c.word("role", x.as_str())).collect();
        roles.dedup();
        regions.push(RegionLinks {
            region: r,
            roles,
            links,
        });
    }
    c.render(StatusCode::OK, &Home { c: &c, regions })
}

// ---------------------------------------------------------------- sign in and out

#[derive(Template)]
#[template(path = "login.html")]
struct Login<'a> {
    c: &'a Ctx,
    username: &'a str,
    next: &'a str,
    error: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

async fn login_form(c: Ctx, q: axum::extract::Query<NextQuery>) -> Response {
    let next = safe_next(&q.next);
    c.render(
        StatusCode::OK,
        &Login {
            c: &c,
            username: "",
            next: &next,
            error: "",
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    next: String,
}

async fn login(mut c: Ctx, Form(f): Form<LoginForm>) -> Response {
    if let Err(r) = c.check_form(&f.csrf) {
        return *r;
    }
    let next = safe_next(&f.next);
    let res = c
        .api(
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"username": f.username, "password": f.password})),
            None,
        )
        .await;
    match res {
        Ok(v) => {
            let token = s(&v, "token");
            c.set_cookie(format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                crate::auth::SESSION_HOURS * 3600
            ));
            // A resident with one region goes straight to their points.
            let to = if next != "/" {
                next
            } else {
                resident_home(&v["account"]).unwrap_or_else(|| "/".to_owned())
            };
            c.redirect(&to)
        }
        Err(p) => {
            let error = match (p.status, p.code.as_deref()) {
                (401, _) => c.tr("login.wrong").to_owned(),
                (429, Some(code @ ("account-locked" | "address-throttled"))) => c.tr1(
                    &format!("login.{code}"),
                    p.retry_after.unwrap_or(60).div_ceil(60),
                ),
                _ => c.problem_text(&p),
            };
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNAUTHORIZED);
            c.render(
                status,
                &Login {
                    c: &c,
                    username: &f.username,
                    next: &next,
                    error: &error,
                },
            )
        }
    }
}

/// `/r/{region}/me` for an account that is a resident in exactly one region and nothing else.
fn resident_home(account: &Value) -> Option<String> {
    let roles = account["roles"].as_array()?;
    let mut regions: Vec<&str> = roles.iter().filter_map(|g| g["region"].as_str()).collect();
    regions.dedup();
    let only_resident = roles.iter().all(|g| g["role"] == "resident");
    (only_resident && regions.len() == 1).then(|| format!("/r/{}/me", regions[0]))
}

/// A form that carries only its CSRF token (and, for the switches, where to go back).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CsrfForm {
    pub csrf: String,
    back: String,
}

async fn logout(mut c: Ctx, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = c.check_form(&f.csrf) {
        return *r;
    }
    if c.token.is_some() {
        // Already gone is as good as ended.
        let _ = c.api(Method::POST, "/api/v1/auth/logout", None, None).await;
    }
    c.set_cookie(format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ));
    c.redirect("/")
}

async fn large(mut c: Ctx, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = c.check_form(&f.csrf) {
        return *r;
    }
    let on = !c.large;
    if c.token.is_some() {
        // Signed in: the account keeps the choice for every device it signs in on.
        if let Err(p) = c
            .api(
                Method::PUT,
                "/api/v1/auth/me/large-text",
                Some(serde_json::json!({ "on": on })),
                None,
            )
            .await
        {
            return c.problem_page(&p);
        }
    }
    c.set_cookie(format!(
        "{LARGE_COOKIE}={}; Path=/; SameSite=Lax; Max-Age={}",
        if on { "1" } else { "0" },
        PREF_DAYS * 86_400
    ));
    c.redirect(&safe_next(&f.back))
}

// ---------------------------------------------------------------- public pages

pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub entries: i64,
    /// The last twelve months' entries, oldest first, as bars.
    pub months: Vec<MonthBar>,
    pub months_label: String,
    /// No entries in those months.
    pub quiet: bool,
    /// The same months' entries per indicator category, most first.
    pub categories: Vec<CategoryBar>,
}

/// One month of the public chart.
pub struct MonthBar {
    pub x: i64,
    pub y: i64,
    pub h: i64,
    pub month: u8,
    pub entries: u64,
}

/// One category of the public chart.
pub struct CategoryBar {
    pub y: i64,
    pub w: i64,
    pub name: String,
    pub entries: u64,
}

/// Height of the tallest month bar, and width of the longest category bar, in SVG units.
const PUBLIC_BAR_MAX: i64 = 80;
const PUBLIC_CATEGORY_W: i64 = 180;
/// Categories shown per region (the rest are summed as the last one).
const PUBLIC_CATEGORIES_MAX: usize = 8;

/// The first day of the month eleven months before `today`, and the twelve months
/// from it as (year, month).
fn twelve_months(today: time::Date) -> (time::Date, Vec<(i32, u8)>) {
    let mut y = today.year();
    let mut m = u8::from(today.month());
    let mut months = Vec::with_capacity(12);
    for _ in 0..12 {
        months.push((y, m));
        if m == 1 {
            y -= 1;
            m = 12;
        } else {
            m -= 1;
        }
    }
    months.reverse();
    let (fy, fm) = months[0];
    let first = time::Month::try_from(fm)
        .ok()
        .and_then(|mm| time::Date::from_calendar_date(fy, mm, 1).ok())
        .unwrap_or(today);
    (first, months)
}

fn month_bars(a: &jifen_store::Activity, months: &[(i32, u8)]) -> Vec<MonthBar> {
    let mut counts = vec![0u64; months.len()];
    for (day, n) in &a.days {
        let Ok(d) =
            time::Date::from_julian_day(i32::try_from(*day + 2_440_588).unwrap_or(i32::MIN))
        else {
            continue;
        };
        if let Some(i) = months
            .iter()
            .position(|&(y, m)| d.year() == y && u8::from(d.month()) == m)
        {
            counts[i] += n;
        }
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts
        .iter()
        .zip(months)
        .enumerate()
        .map(|(i, (&n, &(_, m)))| {
            let h = i64::try_from(n.saturating_mul(PUBLIC_BAR_MAX as u64) / max).unwrap_or(0);
            MonthBar {
                x: 4 + i64::try_from(i).unwrap_or(0) * 26,
                y: 16 + PUBLIC_BAR_MAX - h,
                h,
                month: m,
                entries: n,
            }
        })
        .collect()
}

fn category_bars(c: &Ctx, a: &jifen_store::Activity) -> Vec<CategoryBar> {
    let mut cats: Vec<(String, u64)> = a.categories.clone();
    if cats.len() > PUBLIC_CATEGORIES_MAX {
        let rest: u64 = cats[PUBLIC_CATEGORIES_MAX - 1..].iter().map(|x| x.1).sum();
        cats.truncate(PUBLIC_CATEGORIES_MAX - 1);
        cats.push((c.tr("public.other").to_owned(), rest));
    }
    let max = cats.iter().map(|x| x.1).max().unwrap_or(0).max(1);
    cats.into_iter()
        .enumerate()
        .map(|(i, (name, n))| CategoryBar {
            // The bar starts where an eight-character name ends; a longer one is cut.
            name: if name.chars().count() > 8 {
                name.chars().take(7).chain(['…']).collect()
            } else {
                name
            },
            y: i64::try_from(i).unwrap_or(0) * 22,
            w: i64::try_from(n.saturating_mul(PUBLIC_CATEGORY_W as u64) / max)
                .unwrap_or(0)
                .max(1),
            entries: n,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "public.html")]
struct PublicIndex<'a> {
    c: &'a Ctx,
    regions: Vec<RegionRow>,
}

async fn public_index(c: Ctx) -> Response {
    let v = match c.get("/api/v1/regions").await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let mut regions = Vec::new();
    for r in v.as_array().cloned().unwrap_or_default() {
        let code_s = s(&r, "code");
        let Ok(code) = RegionCode::parse(&code_s) else {
            continue;
        };
        let offset = match c.state.offset(&code).await {
            Ok(o) => o,
            Err(e) => return c.problem_page(&Problem::from(e)),
        };
        let now = c.state.clock().now();
        let today = match now.local_date(offset) {
            Ok(d) => d,
            Err(_) => continue,
        };
        let (first, months) = twelve_months(today);
        let from_ms = jifen_core::Timestamp::start_of(first, offset)
            .map(|t| t.millis())
            .unwrap_or(0);
        let activity = match c.state.activity(&code, from_ms).await {
            Ok(a) => a,
            Err(e) => return c.problem_page(&Problem::from(e)),
        };
        let bars = month_bars(&activity, &months);
        let months_label = bars
            .iter()
            .map(|b| c.tr2("public.month_entries", b.month, b.entries))
            .collect::<Vec<_>>()
            .join(c.tr("list.sep"));
        regions.push(RegionRow {
            quiet: bars.iter().all(|b| b.entries == 0),
            categories: category_bars(&c, &activity),
            months: bars,
            months_label,
            code: code_s,
            name: s(&r, "name"),
            entries: n(&r, "entries"),
        });
    }
    c.render(StatusCode::OK, &PublicIndex { c: &c, regions })
}

pub struct NoticeRow {
    pub id: String,
    pub number: String,
    pub name: String,
    pub indicator: String,
    pub points: i64,
    pub until: String,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct Notice<'a> {
    c: &'a Ctx,
    region: String,
    region_name: String,
    rows: Vec<NoticeRow>,
    may_object: bool,
    done: bool,
    error_claim: String,
    error: String,
    reason: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    pub done: String,
}

async fn notice(c: Ctx, Path(r): Path<String>, q: axum::extract::Query<DoneQuery>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    notice_page(&c, &code, q.done == "objected", "", "", "", StatusCode::OK).await
}

async fn notice_page(
    c: &Ctx,
    code: &RegionCode,
    done: bool,
    error_claim: &str,
    error: &str,
    reason: &str,
    status: StatusCode,
) -> Response {
    let region = match c.get(&format!("/api/v1/regions/{code}")).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let board = match c
        .get(&format!("/api/v1/regions/{code}/notice?limit=200"))
        .await
    {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let rows = items(&board)
        .iter()
        .map(|i| {
            let id = s(i, "id");
            NoticeRow {
                number: id.rsplit(':').next().unwrap_or_default().to_owned(),
                id,
                name: s(i, "name"),
                indicator: s(i, "indicator_name"),
                points: n(i, "points"),
                until: c.time(&s(i, "notice_until")),
            }
        })
        .collect();
    let may_object = c
        .who
        .as_ref()
        .is_some_and(|w| w.grants_for(code).next().is_some());
    c.render(
        status,
        &Notice {
            c,
            region: code.to_string(),
            region_name: s(&region, "name"),
            rows,
            may_object,
            done,
            error_claim: error_claim.to_owned(),
            error: error.to_owned(),
            reason: reason.to_owned(),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ObjectForm {
    csrf: String,
    key: String,
    reason: String,
}

async fn object(
    c: Ctx,
    Path((r, claim)): Path<(String, String)>,
    Form(f): Form<ObjectForm>,
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
    let path = format!("/api/v1/claims/{code}:{}/object", claim.trim());
    let key = (!f.key.is_empty()).then_some(f.key.as_str());
    match c
        .api(Method::POST, &path, Some(json!({"reason": f.reason})), key)
        .await
    {
        Ok(_) => c.redirect(&format!("/notice/{code}?done=objected")),
        Err(p) => {
            let msg = c.problem_text(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            notice_page(
                &c,
                &code,
                false,
                &format!("{code}:{claim}"),
                &msg,
                &f.reason,
                status,
            )
            .await
        }
    }
}

/// A region's witnesses as its pages show them: name, verifier key, and whether its
/// cosignature on the checkpoint shown verified.
pub struct WitnessRow {
    pub name: String,
    pub vkey: String,
    pub cosigned: bool,
}

/// The region's witnesses and quorum (the public API's), each marked by whether it
/// cosigned `note`.
pub async fn witness_rows(c: &Ctx, code: &RegionCode, note: &str) -> (Vec<WitnessRow>, u32) {
    witness_rows_or_none(c, code, note)
        .await
        .unwrap_or_default()
}

/// [`witness_rows`], or none when the region's witnesses could not be read (a check
/// that needs them must then fail, not pass).
async fn witness_rows_or_none(
    c: &Ctx,
    code: &RegionCode,
    note: &str,
) -> Option<(Vec<WitnessRow>, u32)> {
    let v = c
        .get(&format!("/api/v1/regions/{code}/witnesses"))
        .await
        .ok()?;
    let quorum = u32::try_from(n(&v, "quorum")).unwrap_or(0);
    let rows = v["witnesses"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|w| {
                    let vkey = s(w, "vkey");
                    let cosigned = jifen_log::CosignatureVerifier::from_vkey(&vkey)
                        .ok()
                        .and_then(|k| jifen_log::verify_cosignatures(note, &[k]).ok())
                        .is_some_and(|found| !found.is_empty());
                    WitnessRow {
                        name: s(w, "name"),
                        vkey,
                        cosigned,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Some((rows, quorum))
}

/// The witness keys for the in-browser check: space-separated (a vkey holds no space).
pub fn witness_vkeys(rows: &[WitnessRow]) -> String {
    rows.iter()
        .map(|w| w.vkey.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A recognition agreement half as the transparency page shows it.
pub struct AgreementView {
    pub partner: String,
    pub origin: String,
    pub send: bool,
    pub receive: bool,
    pub categories: String,
    pub rate: String,
    pub cap: i64,
    pub dates: String,
    pub in_force: bool,
    pub ended: bool,
}

fn agreement_views(v: &Value) -> Vec<AgreementView> {
    v.as_array()
        .map(|list| {
            list.iter()
                .map(|a| {
                    let cats: Vec<&str> = a["categories"]
                        .as_array()
                        .map(|c| c.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    AgreementView {
                        partner: s(a, "partner"),
                        origin: s(a, "partner_origin"),
                        send: a["send"].as_bool().unwrap_or(false),
                        receive: a["receive"].as_bool().unwrap_or(false),
                        categories: cats.join("、"),
                        rate: format!("{} : {}", n(a, "rate_num"), n(a, "rate_den")),
                        cap: n(a, "cap_per_member_year"),
                        dates: format!(
                            "{} – {}",
                            s(a, "valid_from"),
                            a["valid_to"].as_str().unwrap_or("…")
                        ),
                        in_force: a["in_force"].as_bool().unwrap_or(false),
                        ended: a["ended"].is_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "transparency.html")]
struct Transparency<'a> {
    c: &'a Ctx,
    region: String,
    agreements: Vec<AgreementView>,
    witnesses: Vec<WitnessRow>,
    witness_vkeys: String,
    quorum: u32,
    cosigned: usize,
    region_name: String,
    origin: String,
    vkey: String,
    checkpoint: String,
    entries: i64,
    receipt: String,
    /// The server's own check of a pasted receipt (no script): a message key and what it proved.
    server_result: Option<(bool, String)>,
}

async fn transparency(c: Ctx, Path(r): Path<String>) -> Response {
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    transparency_page(&c, &code, "", None).await
}

async fn transparency_page(
    c: &Ctx,
    code: &RegionCode,
    receipt: &str,
    server_result: Option<(bool, String)>,
) -> Response {
    let region = match c.get(&format!("/api/v1/regions/{code}")).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let c2 = code.clone();
    let checkpoint = match crate::write::read(&c.state, move |st| Ok(st.checkpoint(&c2)?)).await {
        Ok((_, note)) => note,
        Err(e) => {
            return c.problem_page(&Problem::from(e));
        }
    };
    let (witnesses, quorum) = witness_rows(c, code, &checkpoint).await;
    let agreements = c
        .get(&format!("/api/v1/regions/{code}/agreements"))
        .await
        .map(|v| agreement_views(&v))
        .unwrap_or_default();
    c.render(
        StatusCode::OK,
        &Transparency {
            c,
            region: code.to_string(),
            agreements,
            witness_vkeys: witness_vkeys(&witnesses),
            cosigned: witnesses.iter().filter(|w| w.cosigned).count(),
            witnesses,
            quorum,
            region_name: s(&region, "name"),
            origin: s(&region, "origin"),
            vkey: s(&region, "vkey"),
            checkpoint,
            entries: n(&region, "entries"),
            receipt: receipt.to_owned(),
            server_result,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReceiptForm {
    receipt: String,
}

/// Without a script, the server checks a pasted receipt against the region's key and
/// says so (the page says plainly that this check ran on the server).
async fn check_receipt(c: Ctx, Path(r): Path<String>, Form(f): Form<ReceiptForm>) -> Response {
    // A public, read-only check: no session is involved, so no form token is needed.
    let code = match region_or_404(&c, &r) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let region = match c.get(&format!("/api/v1/regions/{code}")).await {
        Ok(v) => v,
        Err(p) => return c.problem_page(&p),
    };
    let text = f.receipt.replace("\r\n", "\n");
    let Some((witnesses, quorum)) = witness_rows_or_none(&c, &code, "").await else {
        let result = (false, c.tr("tr.witnesses_unread").to_owned());
        return transparency_page(&c, &code, &text, Some(result)).await;
    };
    let keys: Vec<jifen_log::CosignatureVerifier> = witnesses
        .iter()
        .filter_map(|w| jifen_log::CosignatureVerifier::from_vkey(&w.vkey).ok())
        .collect();
    let outcome = jifen_log::NoteVerifier::from_vkey(&s(&region, "vkey"))
        .map_err(|e| e.to_string())
        .and_then(|v| {
            let receipt = jifen_log::Receipt::parse(&text).map_err(|e| e.to_string())?;
            let leaf = receipt
                .extra
                .clone()
                .ok_or_else(|| "the receipt has no extra line with the entry".to_owned())?;
            let cp = receipt.verify(&leaf, &v).map_err(|e| e.to_string())?;
            let by = jifen_log::verify_cosignatures(&receipt.signed_checkpoint, &keys)
                .map_err(|e| e.to_string())?;
            if by.len() < quorum as usize {
                return Err(c.tr2("tr.server_unwitnessed", by.len(), quorum));
            }
            Ok(c.tr2("tr.server_ok", receipt.index, cp.size))
        });
    let result = match outcome {
        Ok(m) => (true, m),
        Err(e) => (false, c.tr1("tr.server_bad", e)),
    };
    transparency_page(&c, &code, &text, Some(result)).await
}

#[cfg(test)]
mod tests {
    use super::super::ctx::local_words;
    use super::super::i18n::Lang;

    #[test]
    fn times_are_written_in_the_pages_language_and_never_split_a_character() {
        let t = "2026-03-10T10:00:00+08:00";
        assert_eq!(local_words(Lang::Zh, t), "2026年3月10日 10:00");
        assert_eq!(local_words(Lang::En, t), "10 Mar 2026, 10:00");
        assert_eq!(
            local_words(Lang::Zh, "二〇二六年三月十日上午十点整"),
            "二〇二六年三月十日上午十点整"
        );
        assert_eq!(
            local_words(Lang::En, "2026-13-10T10:00"),
            "2026-13-10T10:00"
        );
        assert_eq!(local_words(Lang::En, ""), "");
    }
}
