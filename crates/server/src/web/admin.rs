//! Admin pages: indicators (inherited core ones read-only, the region's own
//! editable as a new version, old versions kept), levels, accounts and roles,
//! and a CSV import of members with a preview and per-row errors.

use std::collections::HashSet;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use jifen_core::fairness::{BIRTH_YEAR_MIN, Residence};
use jifen_core::member::check_name;
use jifen_core::{HouseholdId, MemberId, RegionCode, Role};
use jifen_store::{Attributes, ImportMembers, MemberRow};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ctx::{Ctx, Problem, items, n, random_token, s};
use super::i18n::{self, Lang};
use super::public::region_for;
use crate::AppState;

/// Rows one import takes (it is one transaction).
pub const IMPORT_ROWS_MAX: usize = 2_000;
/// The import form's body, URL-encoded: room for [`IMPORT_ROWS_MAX`] rows of long
/// Chinese names (each character is 9 bytes encoded); other forms keep the server's
/// [`crate::BODY_BYTES_MAX`].
pub const IMPORT_BODY_BYTES_MAX: usize = 1024 * 1024;
/// Accounts listed on the admin page.
pub const ACCOUNTS_SHOWN_MAX: u32 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/r/{region}/admin", get(overview))
        .route("/r/{region}/admin/levels", post(save_levels))
        .route("/r/{region}/admin/settings", post(save_settings))
        .route("/r/{region}/admin/accounts", post(create_account))
        .route("/r/{region}/admin/roles", post(grant_role))
        .route(
            "/r/{region}/admin/indicators/{code}",
            get(indicator_form).post(save_indicator),
        )
        .route(
            "/r/{region}/admin/import",
            get(import_form)
                .post(import)
                .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_BYTES_MAX)),
        )
}

const ADMIN: &[Role] = &[Role::Admin];

pub struct IndicatorRow {
    pub code: String,
    pub version: i64,
    pub name: String,
    pub category: String,
    pub points: i64,
    pub from: String,
    pub editable: bool,
}

pub struct LevelRow {
    pub code: String,
    pub name: String,
    pub min: String,
}

pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub roles: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct Overview<'a> {
    c: &'a Ctx,
    region: String,
    indicators: Vec<IndicatorRow>,
    levels: Vec<LevelRow>,
    accounts: Vec<AccountRow>,
    key: String,
    done: String,
    error_form: String,
    error: String,
    typed: Vec<(String, String)>,
    /// The region's default language (`zh`, `en`), or empty for none.
    default_lang: String,
    stations_run_events: bool,
    review_days: i64,
}

impl Overview<'_> {
    /// What was typed into a field of the form that failed.
    fn typed(&self, form: &str, field: &str) -> &str {
        if self.error_form != form {
            return "";
        }
        self.typed
            .iter()
            .find(|(k, _)| k == field)
            .map_or("", |(_, v)| v.as_str())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

async fn overview(c: Ctx, Path(r): Path<String>, q: Query<DoneQuery>) -> Response {
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = match q.done.as_str() {
        "levels" | "account" | "role" | "indicator" | "settings" => {
            c.tr(&format!("admin.done_{}", q.done)).to_owned()
        }
        _ => String::new(),
    };
    overview_page(&c, &code, done, "", "", Vec::new(), StatusCode::OK).await
}

async fn overview_page(
    c: &Ctx,
    code: &RegionCode,
    done: String,
    error_form: &str,
    error: &str,
    typed: Vec<(String, String)>,
    status: StatusCode,
) -> Response {
    let data = async {
        let inds = c.get(&format!("/api/v1/regions/{code}/indicators")).await?;
        let accounts = c
            .get(&format!(
                "/api/v1/regions/{code}/accounts?limit={ACCOUNTS_SHOWN_MAX}"
            ))
            .await?;
        let balance_levels = levels_of(c, code).await?;
        let settings = c.get(&format!("/api/v1/regions/{code}/settings")).await?;
        Ok::<_, Problem>((inds, accounts, balance_levels, settings))
    }
    .await;
    let (inds, accounts, levels, settings) = match data {
        Ok(d) => d,
        Err(p) => return c.problem_page(&p),
    };
    let indicators = inds
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| IndicatorRow {
            code: s(i, "code"),
            version: n(i, "version"),
            name: s(i, "name"),
            category: s(i, "category"),
            points: n(i, "points"),
            from: s(i, "region"),
            editable: !i["inherited"].as_bool().unwrap_or(true),
        })
        .collect();
    let region = code.to_string();
    let accounts = items(&accounts)
        .iter()
        .map(|a| AccountRow {
            id: n(a, "id"),
            username: s(a, "username"),
            name: s(a, "display_name"),
            roles: a["roles"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|g| s(g, "region") == region)
                .map(|g| c.word("role", &s(g, "role")))
                .collect::<Vec<_>>()
                .join(c.tr("list.sep")),
        })
        .collect();
    c.render(
        status,
        &Overview {
            c,
            region,
            indicators,
            levels,
            accounts,
            key: random_token(),
            done,
            error_form: error_form.to_owned(),
            error: error.to_owned(),
            typed,
            default_lang: s(&settings, "default_lang"),
            stations_run_events: settings["stations_run_events"] == true,
            review_days: n(&settings, "review_days"),
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    csrf: String,
    lang: String,
    /// "on" when the box is ticked.
    stations_run_events: String,
    review_days: String,
}

/// The region's settings: the default language of its pages, whether stations run
/// events, the days reviewers have to decide a claim.
async fn save_settings(c: Ctx, Path(r): Path<String>, Form(f): Form<SettingsForm>) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let lang = match f.lang.trim() {
        "" => serde_json::Value::Null,
        l => serde_json::json!(l),
    };
    // Left blank (an older form): the region keeps its deadline.
    let typed_days = if f.review_days.trim().is_empty() {
        match c.get(&format!("/api/v1/regions/{code}/settings")).await {
            Ok(v) => n(&v, "review_days").to_string(),
            Err(p) => return c.problem_page(&p),
        }
    } else {
        f.review_days.trim().to_owned()
    };
    let Ok(review_days) = typed_days.parse::<u32>() else {
        return overview_page(
            &c,
            &code,
            String::new(),
            "settings",
            &c.tr1("admin.review_days_bad", f.review_days.trim()),
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match c
        .api(
            Method::PUT,
            &format!("/api/v1/regions/{code}/settings"),
            Some(serde_json::json!({
                "default_lang": lang,
                "stations_run_events": f.stations_run_events == "on",
                "review_days": review_days,
            })),
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin?done=settings")),
        Err(p) => {
            let msg = c.problem_full(&p);
            overview_page(
                &c,
                &code,
                String::new(),
                "settings",
                &msg,
                Vec::new(),
                StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            )
            .await
        }
    }
}

/// The region's levels, read through a balance-free path: the levels the admin set.
async fn levels_of(c: &Ctx, code: &RegionCode) -> Result<Vec<LevelRow>, Problem> {
    let c2 = code.clone();
    let levels = crate::write::read(&c.state, move |st| Ok(st.levels(&c2)?))
        .await
        .map_err(Problem::from)?;
    Ok(levels
        .all()
        .iter()
        .map(|l| LevelRow {
            code: l.code.clone(),
            name: l.name.clone(),
            min: l.min_score.get().to_string(),
        })
        .collect())
}

/// Repeated fields in order: `code=a&name=b&min=1&code=…`.
type Pairs = Vec<(String, String)>;

fn field<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn save_levels(c: Ctx, Path(r): Path<String>, Form(pairs): Form<Pairs>) -> Response {
    if let Err(res) = c.check_form(field(&pairs, "csrf")) {
        return *res;
    }
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let codes: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "code")
        .map(|(_, v)| v.as_str())
        .collect();
    let names: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str())
        .collect();
    let mins: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "min")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut levels = Vec::new();
    for ((code_s, name), min) in codes.iter().zip(&names).zip(&mins) {
        if code_s.trim().is_empty() && name.trim().is_empty() && min.trim().is_empty() {
            continue;
        }
        let Ok(m) = min.trim().parse::<i64>() else {
            return overview_page(
                &c,
                &code,
                String::new(),
                "levels",
                c.tr("admin.bad_min"),
                pairs,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        };
        levels.push(json!({"code": code_s.trim(), "name": name.trim(), "min_score": m}));
    }
    match c
        .api(
            Method::PUT,
            &format!("/api/v1/regions/{code}/levels"),
            Some(Value::Array(levels)),
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin?done=levels")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            overview_page(&c, &code, String::new(), "levels", &msg, pairs, status).await
        }
    }
}

async fn create_account(c: Ctx, Path(r): Path<String>, Form(pairs): Form<Pairs>) -> Response {
    if let Err(res) = c.check_form(field(&pairs, "csrf")) {
        return *res;
    }
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let body = json!({
        "username": field(&pairs, "username").trim(),
        "display_name": field(&pairs, "display_name").trim(),
        "password": field(&pairs, "password"),
    });
    let key = Some(field(&pairs, "key")).filter(|k| !k.is_empty());
    match c
        .api(Method::POST, "/api/v1/accounts", Some(body), key)
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin?done=account")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            // Never send a password back into the page.
            let typed = pairs.into_iter().filter(|(k, _)| k != "password").collect();
            overview_page(&c, &code, String::new(), "account", &msg, typed, status).await
        }
    }
}

async fn grant_role(c: Ctx, Path(r): Path<String>, Form(pairs): Form<Pairs>) -> Response {
    if let Err(res) = c.check_form(field(&pairs, "csrf")) {
        return *res;
    }
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let num = |k: &str| field(&pairs, k).trim().parse::<i64>().ok();
    let Some(account) = num("account") else {
        return overview_page(
            &c,
            &code,
            String::new(),
            "role",
            c.tr("admin.bad_account"),
            pairs,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let mut body = json!({"account": account, "role": field(&pairs, "role")});
    if let Some(m) = num("member") {
        body["member"] = json!(m);
    }
    let sponsor = field(&pairs, "sponsor").trim();
    if !sponsor.is_empty() {
        body["sponsor"] = json!(sponsor);
    }
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/roles"),
            Some(body),
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin?done=role")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            overview_page(&c, &code, String::new(), "role", &msg, pairs, status).await
        }
    }
}

// ---------------------------------------------------------------- indicators

/// The indicator form, as typed (every field a string, so a failed form comes back as it was).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct IndicatorForm {
    csrf: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub points: String,
    pub unit: String,
    pub cap_per_day: String,
    pub cap_per_month: String,
    pub cap_per_year: String,
    pub evidence: String,
    pub review: String,
    pub review_threshold: String,
    pub claimants: String,
    pub valid_from: String,
    pub valid_to: String,
    pub core: String,
    pub notice_days: String,
}

#[derive(Template)]
#[template(path = "indicator.html")]
struct IndicatorPage<'a> {
    c: &'a Ctx,
    region: String,
    f: IndicatorForm,
    version: i64,
    is_new: bool,
    error_field: String,
    error: String,
    /// Every version so far, oldest first (none for a new indicator or a failed save).
    versions: Vec<VersionRow>,
}

/// One version of an indicator as the versions table shows it.
pub struct VersionRow {
    pub version: i64,
    pub name: String,
    pub points: i64,
    pub unit: String,
    /// Per day / month / year, "–" where there is none.
    pub caps: String,
    pub valid: String,
}

fn version_row(i: &Value) -> VersionRow {
    let cap = |k: &str| {
        i[k].as_i64()
            .map_or_else(|| "–".to_owned(), |v| v.to_string())
    };
    VersionRow {
        version: n(i, "version"),
        name: s(i, "name"),
        points: n(i, "points"),
        unit: s(i, "unit"),
        caps: format!(
            "{} / {} / {}",
            cap("cap_per_day"),
            cap("cap_per_month"),
            cap("cap_per_year")
        ),
        valid: format!("{} – {}", s(i, "valid_from"), s(i, "valid_to")),
    }
}

impl IndicatorPage<'_> {
    /// The text fields of the form: (name, label key, value as typed).
    fn fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.f;
        vec![
            ("name", "common.name", f.name.as_str()),
            ("category", "admin.category", f.category.as_str()),
            ("points", "admin.points", f.points.as_str()),
            ("unit", "admin.unit", f.unit.as_str()),
            ("cap_per_day", "admin.cap_day", f.cap_per_day.as_str()),
            ("cap_per_month", "admin.cap_month", f.cap_per_month.as_str()),
            ("cap_per_year", "admin.cap_year", f.cap_per_year.as_str()),
            (
                "review_threshold",
                "admin.threshold",
                f.review_threshold.as_str(),
            ),
            ("valid_from", "admin.valid_from", f.valid_from.as_str()),
            ("valid_to", "admin.valid_to", f.valid_to.as_str()),
            ("notice_days", "admin.notice_days", f.notice_days.as_str()),
        ]
    }
}

async fn indicator_form(c: Ctx, Path((r, ind)): Path<(String, String)>) -> Response {
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let list = match c.get(&format!("/api/v1/regions/{code}/indicators")).await {
        Ok(v) => v.as_array().cloned().unwrap_or_default(),
        Err(p) => return c.problem_page(&p),
    };
    let found = list.iter().find(|i| s(i, "code") == ind);
    let (f, version) = match found {
        Some(i) if i["inherited"].as_bool() == Some(true) => {
            return c.error_page(StatusCode::FORBIDDEN, c.tr("admin.inherited"), None);
        }
        Some(i) => {
            let opt = |k: &str| i[k].as_i64().map(|v| v.to_string()).unwrap_or_default();
            (
                IndicatorForm {
                    code: s(i, "code"),
                    name: s(i, "name"),
                    category: s(i, "category"),
                    points: n(i, "points").to_string(),
                    unit: s(i, "unit"),
                    cap_per_day: opt("cap_per_day"),
                    cap_per_month: opt("cap_per_month"),
                    cap_per_year: opt("cap_per_year"),
                    evidence: s(i, "evidence"),
                    review: s(i, "review"),
                    review_threshold: opt("review_threshold"),
                    claimants: s(i, "claimants"),
                    valid_from: s(i, "valid_from"),
                    valid_to: s(i, "valid_to"),
                    core: if i["core"].as_bool() == Some(true) {
                        "on".into()
                    } else {
                        String::new()
                    },
                    notice_days: n(i, "notice_days").to_string(),
                    ..IndicatorForm::default()
                },
                n(i, "version"),
            )
        }
        None if ind == "new" => (
            IndicatorForm {
                evidence: "note".into(),
                review: "one".into(),
                claimants: "residents".into(),
                notice_days: "0".into(),
                ..IndicatorForm::default()
            },
            0,
        ),
        None => return c.error_page(StatusCode::NOT_FOUND, c.tr("err.notfound"), None),
    };
    let versions = if ind == "new" {
        Vec::new()
    } else {
        match c
            .get(&format!("/api/v1/regions/{code}/indicators/{ind}/versions"))
            .await
        {
            Ok(v) => v
                .as_array()
                .map(|a| a.iter().map(version_row).collect())
                .unwrap_or_default(),
            Err(p) => return c.problem_page(&p),
        }
    };
    c.render(
        StatusCode::OK,
        &IndicatorPage {
            c: &c,
            region: code.to_string(),
            f,
            version,
            is_new: ind == "new",
            error_field: String::new(),
            error: String::new(),
            versions,
        },
    )
}

async fn save_indicator(
    c: Ctx,
    Path((r, ind)): Path<(String, String)>,
    Form(f): Form<IndicatorForm>,
) -> Response {
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let again = |field: &str, msg: String, status: StatusCode, f: IndicatorForm| {
        let c = &c;
        let region = code.to_string();
        let is_new = ind == "new";
        let field = field.to_owned();
        async move {
            c.render(
                status,
                &IndicatorPage {
                    c,
                    region,
                    f,
                    version: 0,
                    is_new,
                    error_field: field,
                    error: msg,
                    versions: Vec::new(),
                },
            )
        }
    };
    let int = |k: &str, v: &str| -> Result<Option<i64>, String> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<i64>().map(Some).map_err(|_| k.to_owned())
    };
    let parsed = (|| {
        Ok::<_, String>((
            int("points", &f.points)?.unwrap_or(0),
            int("cap_per_day", &f.cap_per_day)?,
            int("cap_per_month", &f.cap_per_month)?,
            int("cap_per_year", &f.cap_per_year)?,
            int("review_threshold", &f.review_threshold)?,
            int("notice_days", &f.notice_days)?.unwrap_or(0),
        ))
    })();
    let (points, day, month, year, threshold, notice) = match parsed {
        Ok(p) => p,
        Err(field) => {
            return again(
                &field,
                c.tr("admin.bad_number").to_owned(),
                StatusCode::UNPROCESSABLE_ENTITY,
                f.clone(),
            )
            .await;
        }
    };
    let code_field = if ind == "new" {
        f.code.trim().to_owned()
    } else {
        ind.clone()
    };
    let body = json!({
        "code": code_field,
        "name": f.name.trim(),
        "category": f.category.trim(),
        "points": points,
        "unit": f.unit.trim(),
        "cap_per_day": day,
        "cap_per_month": month,
        "cap_per_year": year,
        "evidence": f.evidence,
        "review": f.review,
        "review_threshold": threshold,
        "claimants": f.claimants,
        "valid_from": f.valid_from.trim(),
        "valid_to": Some(f.valid_to.trim()).filter(|v| !v.is_empty()),
        "core": f.core == "on",
        "notice_days": notice,
    });
    match c
        .api(
            Method::POST,
            &format!("/api/v1/regions/{code}/indicators"),
            Some(body),
            None,
        )
        .await
    {
        Ok(_) => c.redirect(&format!("/r/{code}/admin?done=indicator")),
        Err(p) => {
            let msg = c.problem_full(&p);
            let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            again(p.field.as_deref().unwrap_or(""), msg, status, f.clone()).await
        }
    }
}

// ---------------------------------------------------------------- CSV import

/// One row of a members CSV, checked.
pub struct CsvRow {
    pub line: u64,
    pub member: String,
    pub household: String,
    pub name: String,
    pub label: String,
    /// Birth year and residence as written (optional columns).
    pub birth_year: String,
    pub residence: String,
    /// Empty when the row is good; else what is wrong, in the page's language.
    pub error: String,
}

/// A form sends a text box's lines ending in CRLF, and the csv reader counts lines
/// one short on CRLF; with LF only, a row's line number is its line in the file.
fn unify_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Parses and checks a members CSV
/// (`member,household,name[,household_label,birth_year,residence]`, the
/// format of `jifen import members`); `exists` says whether a member number is taken.
/// What is wrong, with the whole file or a row, is said in `lang`. Pure; public for
/// the fuzz target `csv_import`.
pub fn check_members_csv(
    lang: Lang,
    text: &str,
    exists: &HashSet<i64>,
) -> Result<(Vec<CsvRow>, Vec<Option<usize>>), String> {
    let tr1 = |key: &str, a: &dyn std::fmt::Display| i18n::fill(i18n::text(lang, key), &[a]);
    let text = unify_newlines(text);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|_| i18n::text(lang, "import.bad_header").to_owned())?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let (Some(hc), Some(nc)) = (col("household"), col("name")) else {
        return Err(i18n::text(lang, "import.bad_header").to_owned());
    };
    let mc = col("member");
    let lc = col("household_label");
    let bc = col("birth_year");
    let rc = col("residence");
    let mut rows = Vec::new();
    let mut seen: HashSet<i64> = HashSet::new();
    for rec in reader.records() {
        if rows.len() >= IMPORT_ROWS_MAX {
            return Err(tr1("import.too_many", &IMPORT_ROWS_MAX));
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rows.push(CsvRow {
                    line,
                    member: String::new(),
                    household: String::new(),
                    name: String::new(),
                    label: String::new(),
                    birth_year: String::new(),
                    residence: String::new(),
                    error: i18n::text(lang, "import.bad_row").to_owned(),
                });
                continue;
            }
        };
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .map(str::trim)
                .unwrap_or("")
                .to_owned()
        };
        let (member, household, name, label) = (get(mc), get(Some(hc)), get(Some(nc)), get(lc));
        let (birth_year, residence) = (get(bc), get(rc));
        let mut error = String::new();
        let member_id = if member.is_empty() {
            None
        } else {
            match MemberId::parse(&member) {
                Ok(m) => Some(m),
                Err(_) => {
                    error = i18n::text(lang, "import.bad_member").to_owned();
                    None
                }
            }
        };
        if error.is_empty() && HouseholdId::parse(&household).is_err() {
            error = i18n::text(lang, "import.bad_household").to_owned();
        }
        if error.is_empty() && check_name("member name", &name).is_err() {
            error = i18n::text(lang, "import.bad_name").to_owned();
        }
        if error.is_empty() && !label.is_empty() && check_name("household label", &label).is_err() {
            error = i18n::text(lang, "import.bad_label").to_owned();
        }
        if error.is_empty() && row_attributes(&birth_year, &residence).is_none() {
            error = i18n::text(lang, "import.bad_attributes").to_owned();
        }
        if error.is_empty()
            && let Some(m) = member_id
        {
            if exists.contains(&m.get()) {
                error = tr1("import.exists", &m);
            } else if !seen.insert(m.get()) {
                error = tr1("import.duplicate", &m);
            }
        }
        rows.push(CsvRow {
            line: rec.position().map_or(0, |p| p.line()),
            member,
            household,
            name,
            label,
            birth_year,
            residence,
            error,
        });
    }
    if rows.is_empty() {
        return Err(i18n::text(lang, "import.empty").to_owned());
    }
    let good = rows
        .iter()
        .enumerate()
        .map(|(i, r)| r.error.is_empty().then_some(i))
        .collect();
    Ok((rows, good))
}

/// The attributes of a row, `None` when a cell is not a birth year (1900 or later; the
/// store checks it is not in the future) or not a residence status.
fn row_attributes(birth_year: &str, residence: &str) -> Option<Attributes> {
    let birth_year = match birth_year {
        "" => None,
        y => Some(y.parse::<i32>().ok().filter(|y| *y >= BIRTH_YEAR_MIN)?),
    };
    let residence = match residence {
        "" => None,
        r => Some(Residence::parse(r).ok()?),
    };
    Some(Attributes {
        birth_year,
        residence,
    })
}

#[derive(Template)]
#[template(path = "import.html")]
struct Import<'a> {
    c: &'a Ctx,
    region: String,
    csv: String,
    rows: Vec<CsvRow>,
    good: usize,
    key: String,
    error: String,
    done: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ImportDone {
    imported: String,
}

async fn import_form(c: Ctx, Path(r): Path<String>, q: Query<ImportDone>) -> Response {
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let done = q
        .imported
        .parse::<u64>()
        .map(|n| c.tr1("import.done", n))
        .unwrap_or_default();
    c.render(
        StatusCode::OK,
        &Import {
            c: &c,
            region: code.to_string(),
            csv: String::new(),
            rows: Vec::new(),
            good: 0,
            key: random_token(),
            error: String::new(),
            done,
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ImportForm {
    csrf: String,
    key: String,
    csv: String,
    action: String,
}

#[derive(Serialize)]
struct Imported {
    imported: usize,
}

/// Every member number the region has (for the preview's "already exists").
async fn member_numbers(c: &Ctx, code: &RegionCode) -> Result<HashSet<i64>, Problem> {
    let mut out = HashSet::new();
    let mut after = 0i64;
    loop {
        let page = c
            .get(&format!(
                "/api/v1/regions/{code}/members?limit=200&after={after}"
            ))
            .await?;
        out.extend(items(&page).iter().map(|m| n(m, "id")));
        match page["next"].as_i64() {
            Some(next) => after = next,
            None => return Ok(out),
        }
    }
}

async fn import(
    c: Ctx,
    Path(r): Path<String>,
    form: Result<Form<ImportForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let f = match form {
        Ok(Form(f)) => f,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return c.error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                &c.tr1("import.too_many", IMPORT_ROWS_MAX),
                Some(&format!(
                    "the form is larger than {IMPORT_BODY_BYTES_MAX} bytes; nothing was imported"
                )),
            );
        }
        Err(e) => {
            return c.error_page(e.status(), c.tr("err.invalid"), Some(&e.body_text()));
        }
    };
    if let Err(res) = c.check_form(&f.csrf) {
        return *res;
    }
    let code = match region_for(&c, &r, ADMIN) {
        Ok(x) => x,
        Err(res) => return *res,
    };
    let exists = match member_numbers(&c, &code).await {
        Ok(e) => e,
        Err(p) => return c.problem_page(&p),
    };
    let page = |rows: Vec<CsvRow>, good: usize, error: String, status: StatusCode| {
        c.render(
            status,
            &Import {
                c: &c,
                region: code.to_string(),
                csv: f.csv.clone(),
                rows,
                good,
                key: f.key.clone(),
                error,
                done: String::new(),
            },
        )
    };
    let (rows, good) = match check_members_csv(c.lang, &f.csv, &exists) {
        Ok(x) => x,
        Err(e) => return page(Vec::new(), 0, e, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let good_rows: Vec<MemberRow> = good
        .iter()
        .flatten()
        .map(|&i| {
            let r = &rows[i];
            MemberRow {
                line: None,
                member: (!r.member.is_empty())
                    .then(|| MemberId::parse(&r.member).ok())
                    .flatten(),
                household: HouseholdId::parse(&r.household).expect("checked above"),
                household_label: (!r.label.is_empty()).then(|| r.label.clone()),
                name: r.name.clone(),
                attributes: row_attributes(&r.birth_year, &r.residence).unwrap_or_default(),
            }
        })
        .collect();
    let n_good = good_rows.len();
    if f.action != "import" || n_good == 0 {
        let status = if n_good == 0 {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return page(rows, n_good, String::new(), status);
    }
    let Some(who) = c.who.as_ref() else {
        return c.to_login();
    };
    // The good rows in one write, through the store's import command;
    // the form's key makes a second press replay the first answer.
    let key = crate::write::Idem::for_page(
        &f.key,
        &good_rows
            .iter()
            .map(|r| {
                format!(
                    "{:?}\t{}\t{}\t{:?}\n",
                    r.member, r.household, r.name, r.household_label
                )
            })
            .collect::<String>(),
    );
    let cmd = ImportMembers {
        region: code.clone(),
        rows: good_rows,
    };
    let res = crate::write::once(
        &c.state,
        who.id(),
        key,
        "POST",
        format!("/web/regions/{code}/import-members"),
        StatusCode::OK,
        cmd,
        |ids| Imported {
            imported: ids.len(),
        },
    )
    .await;
    match res {
        Ok(_) => c.redirect(&format!("/r/{code}/admin/import?imported={n_good}")),
        Err(e) => {
            let msg = format!("{} {}", c.tr("import.failed"), e.detail);
            page(rows, n_good, msg, e.status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unify_newlines;

    #[test]
    fn csv_positions_count_the_header_line() {
        for text in ["h,name\n1,a\n2,b\n", "h,name\r\n1,a\r\n2,b\r\n"] {
            let text = unify_newlines(text);
            let mut r = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(text.as_bytes());
            let lines: Vec<u64> = r
                .records()
                .map(|x| x.expect("row").position().map_or(0, |p| p.line()))
                .collect();
            assert_eq!(lines, [2, 3], "{text:?}: the first row is line 2");
        }
    }
}
