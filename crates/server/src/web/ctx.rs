//! Who is asking (the session cookie), in which language (`?lang=`, kept on the
//! account; the account's choice or the `jifen_lang` cookie; the region's default;
//! then `Accept-Language`, then Simplified Chinese), with
//! which CSRF token, and whether large text (适老化) is on; plus the in-process
//! client of the JSON API that every page uses to do its work.

use std::fmt::Display;
use std::sync::OnceLock;

use askama::Template;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use jifen_core::{MemberId, RegionCode, Role};
use serde_json::Value;
use sha2::Sha256;
use tower::ServiceExt as _;

use super::i18n::{self, Lang};
use crate::AppState;
use crate::auth::{Principal, SESSION_COOKIE, authenticate};

/// The language cookie.
pub const LANG_COOKIE: &str = "jifen_lang";
/// The large-text cookie (适老化): "1" when on.
pub const LARGE_COOKIE: &str = "jifen_large";
/// A random value that anchors the CSRF token before sign-in (the login form).
pub const PRE_COOKIE: &str = "jifen_pre";
/// How long the language and large-text choices last, in days.
pub const PREF_DAYS: u32 = 365;
/// Largest API answer a page reads, in bytes (a page of 200 items is far less).
pub const API_ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Longest cookie value looked at, in bytes.
const COOKIE_BYTES_MAX: usize = 256;

/// A page to answer with instead (sign in first, not allowed, bad form), boxed
/// because a response is large and the good path is the common one.
pub type Refused = Box<Response>;

/// What every page knows about the request.
pub struct Ctx {
    pub lang: Lang,
    pub who: Option<Principal>,
    /// The session token, to act as the visitor through the API.
    pub token: Option<String>,
    /// The form token for this session (or, before sign-in, this browser).
    pub csrf: String,
    pub large: bool,
    /// The path and query of this page without `lang`, for the language switch and `next`.
    pub here: String,
    pub state: AppState,
    /// The `Host` the visitor used, for absolute links when no public URL is set.
    host: String,
    /// Cookies to set with the answer.
    cookies: Vec<String>,
    /// The visitor's address, for the API's sign-in limits.
    addr: crate::throttle::ClientAddr,
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
        .filter(|v| !v.is_empty() && v.len() <= COOKIE_BYTES_MAX)
}

fn csrf_token(key: &[u8; 32], anchor: &str) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(b"jifen web form\n");
    m.update(anchor.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// A fresh random value, base64url (form keys, the pre-sign-in cookie).
pub fn random_token() -> String {
    crate::auth::new_token().unwrap_or_else(|_| {
        // getrandom failing is a broken host; a time-based value keeps forms working.
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("t{n:x}")
    })
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let mut cookies = Vec::new();
        let query = parts.uri.query().unwrap_or("");
        let asked = query
            .split('&')
            .find_map(|p| p.strip_prefix("lang="))
            .and_then(Lang::parse);
        if let Some(l) = asked {
            cookies.push(format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age={}",
                l.code(),
                PREF_DAYS * 86_400
            ));
        }
        let rest: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("lang="))
            .collect();
        let here = if rest.is_empty() {
            parts.uri.path().to_owned()
        } else {
            format!("{}?{}", parts.uri.path(), rest.join("&"))
        };
        // A form's answer has no address of its own to come back to: the language
        // switch and `next` point at the page the form was on.
        let here = if parts.method == Method::GET {
            here
        } else {
            parts
                .headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(|r| r.find("://").map(|i| &r[i + 3..]))
                .and_then(|r| r.find('/').map(|i| &r[i..]))
                .map(|p| {
                    let p = p
                        .split(['?', '&'])
                        .filter(|x| !x.starts_with("lang="))
                        .collect::<Vec<_>>();
                    match p.split_first() {
                        Some((path, q)) if !q.is_empty() => format!("{path}?{}", q.join("&")),
                        Some((path, _)) => (*path).to_owned(),
                        None => "/".to_owned(),
                    }
                })
                .map_or_else(|| "/".to_owned(), |p| safe_next(&p))
        };
        let token = cookie(parts, SESSION_COOKIE).map(str::to_owned);
        let who = match &token {
            Some(t) => authenticate(state, t).await.ok(),
            None => None,
        };
        let token = if who.is_some() { token } else { None };
        // The person's own choice (`?lang=`, kept on their account when signed in,
        // else in a cookie), then the region's default, then the browser's header.
        if let (Some(l), Some(p)) = (asked, &who)
            && p.account.lang.as_deref() != Some(l.code())
        {
            let (store, id) = (state.store().clone(), p.account.id);
            let code = l.code().to_owned();
            match tokio::task::spawn_blocking(move || store.set_lang(id, Some(code))).await {
                Ok(Ok(())) => state.tokens().forget_account(id),
                Ok(Err(e)) => tracing::warn!(error = %e, "keeping the language on the account"),
                Err(e) => tracing::warn!(error = %e, "keeping the language on the account"),
            }
        }
        let own = asked
            .or_else(|| {
                who.as_ref()
                    .and_then(|p| p.account.lang.as_deref())
                    .and_then(Lang::parse)
            })
            .or_else(|| cookie(parts, LANG_COOKIE).and_then(Lang::parse));
        let lang = match own {
            Some(l) => l,
            None => region_lang(state, parts.uri.path(), who.as_ref())
                .await
                .or_else(|| {
                    parts
                        .headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Lang::from_accept)
                })
                .unwrap_or(Lang::Zh),
        };
        let anchor = match &token {
            Some(t) => t.clone(),
            None => match cookie(parts, PRE_COOKIE) {
                Some(p) => p.to_owned(),
                None => {
                    let p = random_token();
                    cookies.push(format!("{PRE_COOKIE}={p}; Path=/; HttpOnly; SameSite=Lax"));
                    p
                }
            },
        };
        let csrf = csrf_token(state.link_key(), &anchor);
        // This browser's choice, or the signed-in account's own setting (a station
        // operator may have switched it on for the resident).
        let large = cookie(parts, LARGE_COOKIE) == Some("1")
            || who.as_ref().is_some_and(|p| p.account.large_text);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .unwrap_or("127.0.0.1")
            .to_owned();
        Ok(Ctx {
            host,
            lang,
            who,
            token,
            csrf,
            large,
            here,
            state: state.clone(),
            cookies,
            addr: crate::throttle::client_addr(parts, state),
        })
    }
}

/// The default language of the region a page is about: the one its path names
/// (`/r/{region}/…`, `/notice/{region}`, `/transparency/{region}`), else the first
/// region the signed-in account holds a role in.
async fn region_lang(state: &AppState, path: &str, who: Option<&Principal>) -> Option<Lang> {
    let mut parts = path.trim_start_matches('/').split('/');
    let named = match (parts.next(), parts.next()) {
        (Some("r" | "notice" | "transparency"), Some(code)) => RegionCode::parse(code).ok(),
        _ => None,
    };
    let region = named.or_else(|| {
        who.and_then(|p| p.account.grants.first())
            .map(|g| g.region.clone())
    })?;
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || store.region_settings(&region))
        .await
        .ok()?
        .ok()?
        .default_lang
        .as_deref()
        .and_then(Lang::parse)
}

/// A refusal from the API (RFC 9457 problem details), as a page shows it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub detail: String,
    pub field: Option<String>,
    /// The rule that refused, when the API named one (see `refused.*` in the messages).
    pub code: Option<String>,
    /// Seconds until it may be tried again, when the API said (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl Problem {
    fn local(detail: &str) -> Problem {
        Problem {
            status: 500,
            detail: detail.to_owned(),
            field: None,
            code: None,
            retry_after: None,
        }
    }
}

/// An API error from a direct store read, as a page shows it.
impl From<crate::error::ApiError> for Problem {
    fn from(e: crate::error::ApiError) -> Problem {
        Problem {
            status: e.status.as_u16(),
            detail: e.detail,
            field: e.field,
            code: e.code.map(str::to_owned),
            retry_after: e.retry_after,
        }
    }
}

/// The API router, built once; each call gives it the state.
fn api_router() -> Router<AppState> {
    static API: OnceLock<Router<AppState>> = OnceLock::new();
    API.get_or_init(|| {
        crate::api::routes()
            .split_for_parts()
            .0
            .layer(axum::middleware::from_fn(crate::write::require_key))
    })
    .clone()
}

impl Ctx {
    /// The text of a message key in the page's language.
    pub fn tr<'a>(&self, key: &'a str) -> &'a str {
        i18n::text(self.lang, key)
    }
    pub fn tr1(&self, key: &str, a: impl Display) -> String {
        i18n::fill(self.tr(key), &[&a])
    }
    /// A time from the API (`2026-03-10T10:00:00+08:00`, the region's local time) as
    /// the page's language writes it: 2026年3月10日 10:00, or 10 Mar 2026, 10:00.
    /// Anything else is shown as it is.
    pub fn time(&self, rfc3339: &str) -> String {
        local_words(self.lang, rfc3339)
    }
    pub fn tr2(&self, key: &str, a: impl Display, b: impl Display) -> String {
        i18n::fill(self.tr(key), &[&a, &b])
    }
    pub fn tr3(&self, key: &str, a: impl Display, b: impl Display, c: impl Display) -> String {
        i18n::fill(self.tr(key), &[&a, &b, &c])
    }
    /// A domain word (`kind.award`, `status.posted`, `role.station`): the key `prefix.value`.
    pub fn word(&self, prefix: &str, value: &str) -> String {
        let key = format!("{prefix}.{value}");
        if i18n::has(self.lang, &key) {
            self.tr(&key).to_owned()
        } else {
            value.to_owned()
        }
    }

    /// Where links in QR codes point: the configured public URL, else the host asked for.
    pub fn origin(&self) -> String {
        let p = self.state.public_url().trim_end_matches('/');
        if p.is_empty() {
            format!("http://{}", self.host)
        } else {
            p.to_owned()
        }
    }

    pub fn is_signed(&self) -> bool {
        self.who.is_some()
    }
    pub fn name(&self) -> &str {
        self.who
            .as_ref()
            .map_or("", |p| p.account.display_name.as_str())
    }
    pub fn has(&self, region: &RegionCode, role: Role) -> bool {
        self.who.as_ref().is_some_and(|p| p.has(region, role))
    }
    pub fn member_of(&self, region: &RegionCode) -> Option<MemberId> {
        self.who.as_ref().and_then(|p| p.member_of(region))
    }
    /// This page in the other language.
    pub fn switch_url(&self) -> String {
        let sep = if self.here.contains('?') { '&' } else { '?' };
        format!("{}{sep}lang={}", self.here, self.lang.other().code())
    }
    pub fn other_lang_name(&self) -> &'static str {
        match self.lang.other() {
            Lang::Zh => "中文",
            Lang::En => "English",
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_form(&self, token: &str) -> Result<(), Refused> {
        let a = self.csrf.as_bytes();
        let b = token.as_bytes();
        // Constant-time compare: the token is a secret of the session.
        let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0;
        if same {
            Ok(())
        } else {
            Err(Box::new(self.error_page(
                StatusCode::FORBIDDEN,
                self.tr("err.csrf"),
                None,
            )))
        }
    }

    /// Sends the visitor to sign in, coming back here afterwards.
    pub fn to_login(&self) -> Response {
        self.redirect(&format!("/login?next={}", url_encode(&self.here)))
    }

    /// The signed-in principal, or a page that says to sign in.
    pub fn require(&self) -> Result<&Principal, Refused> {
        self.who.as_ref().ok_or_else(|| Box::new(self.to_login()))
    }

    /// A role in the region, or a page that says it is needed.
    pub fn require_role(&self, region: &RegionCode, roles: &[Role]) -> Result<(), Refused> {
        let who = self.require()?;
        if roles.iter().any(|r| who.has(region, *r)) {
            return Ok(());
        }
        let names: Vec<String> = roles
            .iter()
            .map(|r| self.word("role", r.as_str()))
            .collect();
        Err(Box::new(self.refused_page(
            region,
            &self.tr2("err.role", names.join(" / "), region),
        )))
    }

    /// A JSON answer saved as a file named `filename` (never cached).
    /// A text file to download (a statement), never kept by caches.
    pub fn text_download(&self, text: String, filename: &str) -> Response {
        let mut res = text.into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    pub fn json_download(&self, v: &Value, filename: &str) -> Response {
        let body = serde_json::to_vec_pretty(v).unwrap_or_default();
        let mut res = body.into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    /// The current year in the region's time (its offset read off the async runtime:
    /// on PostgreSQL a store read must not run on it).
    pub async fn this_year(&self, region: &RegionCode) -> i32 {
        let store = self.state.store().clone();
        let code = region.clone();
        let offset = tokio::task::spawn_blocking(move || store.region_offset(&code))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        self.state
            .store()
            .clock()
            .now()
            .local_year(offset)
            .unwrap_or(2026)
    }

    /// A page the visitor may not open: what it needs, in plain words, the roles
    /// they hold in the region and links to what those roles can do.
    pub fn refused_page(&self, region: &RegionCode, message: &str) -> Response {
        let held: Vec<Role> = self
            .who
            .as_ref()
            .map(|p| {
                p.account
                    .grants
                    .iter()
                    .filter(|g| &g.region == region)
                    .map(|g| g.role)
                    .collect()
            })
            .unwrap_or_default();
        let mut names: Vec<String> = held.iter().map(|r| self.word("role", r.as_str())).collect();
        names.dedup();
        let page = RefusedPage {
            c: self,
            message,
            held: names.join(self.tr("list.sep")),
            // Whether stations may run events is not read here (a refusal answers
            // at once): a station's events link is on its home page when allowed.
            links: super::public::links_for(region.as_str(), &held, false),
        };
        self.render(StatusCode::FORBIDDEN, &page)
    }

    fn finish(&self, mut res: Response) -> Response {
        let h = res.headers_mut();
        for c in &self.cookies {
            if let Ok(v) = HeaderValue::from_str(c) {
                h.append(header::SET_COOKIE, v);
            }
        }
        // The security headers (CSP, nosniff, referrer, framing) come from the one
        // layer in `headers.rs`, as on every other answer.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }

    pub fn set_cookie(&mut self, c: String) {
        self.cookies.push(c);
    }

    /// Renders a template as the page's answer.
    pub fn render(&self, status: StatusCode, t: &impl Template) -> Response {
        match t.render() {
            Ok(html) => {
                let mut res = (status, html).into_response();
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                self.finish(res)
            }
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                self.finish(
                    (StatusCode::INTERNAL_SERVER_ERROR, self.tr("err.internal")).into_response(),
                )
            }
        }
    }

    /// 303 to a local path.
    pub fn redirect(&self, to: &str) -> Response {
        let to = safe_next(to);
        let mut res = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&to) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(res)
    }

    /// A page that says what went wrong, in the page's language.
    pub fn error_page(&self, status: StatusCode, message: &str, detail: Option<&str>) -> Response {
        let page = ErrorPage {
            c: self,
            message,
            detail: detail.unwrap_or(""),
        };
        self.render(status, &page)
    }

    /// The page for an API refusal.
    pub fn problem_page(&self, p: &Problem) -> Response {
        if p.status == 401 {
            return self.to_login();
        }
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.error_page(status, &self.problem_text(p), Some(&p.detail))
    }

    /// What an API refusal means, in the page's language: by its status, and the
    /// field when one is named (`field.<name>`).
    pub fn problem_text(&self, p: &Problem) -> String {
        // A rule that refused says why in the page's language.
        if let Some(code) = &p.code {
            let key = format!("refused.{code}");
            if i18n::has(self.lang, &key) {
                return self.tr(&key).to_owned();
            }
        }
        let what = match p.status {
            400 | 422 => "err.invalid",
            401 => "err.signin",
            403 => "err.forbidden",
            404 => "err.notfound",
            409 => "err.conflict",
            413 => "err.toolarge",
            503 => "err.unavailable",
            _ => "err.internal",
        };
        match p
            .field
            .as_deref()
            .map(|f| f.trim_start_matches(|c: char| !c.is_ascii_alphabetic()))
        {
            Some(f) if i18n::has(self.lang, &format!("field.{f}")) => self.tr2(
                "err.with_field",
                self.tr(what),
                self.tr(&format!("field.{f}")),
            ),
            _ => self.tr(what).to_owned(),
        }
    }

    /// What an API refusal means and, when the API said more, its own words: the
    /// API's details are English, so a Chinese page labels them as such.
    pub fn problem_full(&self, p: &Problem) -> String {
        let text = self.problem_text(p);
        if p.detail.is_empty() {
            text
        } else {
            format!("{text} {}", self.tr1("err.detail", &p.detail))
        }
    }

    /// Calls the JSON API as the visitor. `key` is an idempotency key for writes.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Result<Value, Problem> {
        self.call(method, path, body, key, true).await
    }

    /// A `GET` of a route that answers text (a statement): the text, as a JSON string.
    pub async fn get_text(&self, path: &str) -> Result<String, Problem> {
        let v = self.call(Method::GET, path, None, None, false).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
        json_answer: bool,
    ) -> Result<Value, Problem> {
        let is_write = method != Method::GET;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .extension(self.addr.clone());
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        // Every write carries a key; a form rendered before keys were (or a page
        // that has none to give) gets a fresh one, which still posts once.
        let fresh;
        let key = match key {
            Some(k) => Some(k),
            None if is_write => {
                fresh = random_token();
                Some(fresh.as_str())
            }
            None => None,
        };
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .map_err(|e| {
            tracing::error!(error = %e, path, "bad internal request");
            Problem::local("bad internal request")
        })?;
        let res = api_router()
            .with_state(self.state.clone())
            .oneshot(req)
            .await
            .map_err(|e| -> Problem { match e {} })?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = to_bytes(res.into_body(), API_ANSWER_BYTES_MAX)
            .await
            .map_err(|_| Problem::local("the answer was too large"))?;
        if status.is_success() && !json_answer {
            return Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        }
        let v: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| Problem::local("the answer was not JSON"))?
        };
        if status.is_success() {
            return Ok(v);
        }
        Err(Problem {
            status: status.as_u16(),
            detail: v["detail"].as_str().unwrap_or_default().to_owned(),
            field: v["field"].as_str().map(str::to_owned),
            code: v["code"].as_str().map(str::to_owned),
            retry_after,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, Problem> {
        self.api(Method::GET, path, None, None).await
    }
}

/// A local path only (no scheme, no `//host`), so `next` cannot send anyone away.
pub fn safe_next(to: &str) -> String {
    if to.starts_with('/')
        && !to.starts_with("//")
        && !to.contains('\\')
        && !to.contains(['\r', '\n'])
    {
        to.to_owned()
    } else {
        "/".to_owned()
    }
}

/// Percent-encodes for a query value.
/// [`Ctx::time`] for a language.
pub fn local_words(lang: Lang, t: &str) -> String {
    let parts = (
        t.get(..4).and_then(|y| y.parse::<i32>().ok()),
        t.get(5..7).and_then(|m| m.parse::<usize>().ok()),
        t.get(8..10).and_then(|d| d.parse::<u32>().ok()),
        t.get(11..16),
    );
    let (Some(y), Some(m @ 1..=12), Some(d), Some(hm)) = parts else {
        return t.to_owned();
    };
    if t.get(4..5) != Some("-") || t.get(10..11) != Some("T") {
        return t.to_owned();
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        Lang::Zh => format!("{y}年{m}月{d}日 {hm}"),
        Lang::En => format!("{d} {} {y}, {hm}", MONTHS[m - 1]),
    }
}

/// A QR code of `text` as inline SVG (for a page), or empty if it cannot be one.
pub fn qr_svg(text: &str, label: &str) -> String {
    qr_svg_at(text, label, qrcode::EcLevel::M)
}

/// A QR code of a document (a statement: up to 2,953 bytes, the most a QR code
/// holds, at the lowest error correction), or empty if it is longer.
pub fn document_qr_svg(text: &str, label: &str) -> String {
    qr_svg_at(text, label, qrcode::EcLevel::L)
}

fn qr_svg_at(text: &str, label: &str, level: qrcode::EcLevel) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), level) {
        Ok(q) => q
            .render::<qrcode::render::svg::Color>()
            .quiet_zone(true)
            .min_dimensions(256, 256)
            .build()
            .split_once("<svg")
            .map(|(_, svg)| {
                format!(
                    "<svg role=\"img\" aria-label=\"{}\"{svg}",
                    label
                        .replace('&', "&amp;")
                        .replace('"', "&quot;")
                        .replace('<', "&lt;")
                )
            })
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "refused.html")]
struct RefusedPage<'a> {
    c: &'a Ctx,
    message: &'a str,
    /// The roles the visitor holds in the region, in words; empty for none.
    held: String,
    links: Vec<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Ctx,
    message: &'a str,
    detail: &'a str,
}

/// A string field of an API answer.
pub fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An integer field of an API answer (0 when absent).
pub fn n(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or(0)
}

/// The items of a paged API answer.
pub fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/r/vil/me?x=1"), "/r/vil/me?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
        assert_eq!(safe_next(""), "/");
    }

    #[test]
    fn url_encoding_keeps_paths_readable() {
        assert_eq!(url_encode("/r/vil/me?a=1&b"), "/r/vil/me%3Fa%3D1%26b");
        assert_eq!(url_encode("张"), "%E5%BC%A0");
    }
}
