//! The web pages over HTTP (no browser): every page in both languages, message
//! files complete, forms guarded by their CSRF token, errors next to the field
//! with what was typed kept, and the pages' work done through the API's rules.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{App, Res, partner_log, spawn_app};
use jifen_server::web::i18n::{self, EN_SOURCE, Lang, ZH_SOURCE};

/// A browser without a browser: keeps cookies, reads form tokens.
struct Web<'a> {
    app: &'a App,
    cookies: HashMap<String, String>,
}

impl<'a> Web<'a> {
    fn new(app: &'a App) -> Self {
        Web {
            app,
            cookies: HashMap::new(),
        }
    }

    fn keep(&mut self, r: &Res) {
        for (k, v) in &r.headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let pair = v.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() {
                        self.cookies.remove(name);
                    } else {
                        self.cookies.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&mut self, path: &str) -> Res {
        let c = self.cookie_header();
        let r = self.app.request("GET", path, &[("Cookie", &c)], None);
        self.keep(&r);
        r
    }

    fn get_lang(&mut self, path: &str, accept: &str) -> Res {
        let c = self.cookie_header();
        let r = self.app.request(
            "GET",
            path,
            &[("Cookie", &c), ("Accept-Language", accept)],
            None,
        );
        self.keep(&r);
        r
    }

    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Res {
        let c = self.cookie_header();
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let body = body.join("&");
        let r = self.app.request(
            "POST",
            path,
            &[
                ("Cookie", &c),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        );
        self.keep(&r);
        r
    }

    /// The CSRF token a page's forms carry.
    fn csrf(&mut self, path: &str) -> String {
        let r = self.get(path);
        field_value(&r.text(), "csrf")
            .unwrap_or_else(|| panic!("no csrf field on {path}: {}", r.text()))
    }

    fn sign_in(&mut self, user: &str) {
        let csrf = self.csrf("/login");
        let r = self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", user),
                ("password", common::PASSWORD),
                ("next", "/"),
            ],
        );
        assert_eq!(r.status, 303, "sign in {user}: {}", r.text());
        assert!(
            self.cookies.contains_key("jifen_session"),
            "a session cookie is set"
        );
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The value of the first `name="NAME" value="..."` in a page.
fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn location(r: &Res) -> &str {
    r.header("location").unwrap_or("")
}

/// Every key of a message file.
fn keys(src: &str) -> BTreeSet<String> {
    i18n::parse(src)
        .expect("message file parses")
        .keys()
        .map(|k| (*k).to_owned())
        .collect()
}

/// Keys named in templates and page code: `tr("k")`, `tr1("k"`, `tr2("k"`, and
/// the keys the code picks from (`"me.done_checkin"`-style literals ending a match arm).
fn used_keys() -> BTreeSet<String> {
    let prefixes: BTreeSet<String> = keys(ZH_SOURCE)
        .iter()
        .filter_map(|k| k.split_once('.').map(|(p, _)| p.to_owned()))
        .collect();
    let prefixes: BTreeSet<&str> = prefixes.iter().map(String::as_str).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = BTreeSet::new();
    for dir in ["templates", "src/web"] {
        for f in std::fs::read_dir(root.join(dir)).expect("dir") {
            let path = f.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            for pat in [".tr(\"", ".tr1(\"", ".tr2(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    let key = &rest[..rest.find('"').expect("closing quote")];
                    out.insert(key.to_owned());
                }
            }
            // Keys chosen in code and passed on: `=> "me.done_checkin"` and `"home.review")`.
            for (i, _) in text.match_indices("\"") {
                let rest = &text[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let word = &rest[..end];
                let file = [".html", ".js", ".css", ".txt"]
                    .iter()
                    .any(|x| word.ends_with(x));
                let looks_like_key = !file
                    && word.split_once('.').is_some_and(|(p, rest)| {
                        prefixes.contains(p)
                            && !rest.is_empty()
                            && word
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b"._-".contains(&b))
                    });
                if looks_like_key {
                    out.insert(word.to_owned());
                }
            }
        }
    }
    out
}

#[test]
fn message_files_have_the_same_keys_and_every_used_key() {
    let zh = keys(ZH_SOURCE);
    let en = keys(EN_SOURCE);
    let only_zh: Vec<_> = zh.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&zh).collect();
    assert!(only_zh.is_empty(), "keys missing in en.txt: {only_zh:?}");
    assert!(only_en.is_empty(), "keys missing in zh-CN.txt: {only_en:?}");
    let used = used_keys();
    assert!(
        used.len() > 100,
        "the key scan found the pages' keys ({})",
        used.len()
    );
    let unknown: Vec<_> = used.difference(&zh).collect();
    assert!(
        unknown.is_empty(),
        "keys used but in no message file: {unknown:?}"
    );
    // Words built from domain values: every value has its word in both languages.
    let mut domain: Vec<String> = Vec::new();
    domain.extend(
        jifen_core::Role::ALL
            .iter()
            .map(|r| format!("role.{}", r.as_str())),
    );
    domain.extend(
        jifen_core::EntryKind::ALL
            .iter()
            .map(|k| format!("kind.{}", k.as_str())),
    );
    domain.extend(
        jifen_core::Source::ALL
            .iter()
            .map(|s| format!("source.{}", s.as_str())),
    );
    for s in [
        "submitted",
        "partly-approved",
        "in-notice",
        "approved",
        "posted",
        "rejected",
        "withdrawn",
    ] {
        assert!(
            jifen_core::ClaimStatus::parse(s).is_some(),
            "{s} is a claim status"
        );
        domain.push(format!("status.{s}"));
    }
    for s in ["filed", "upheld", "overturned", "adjusted", "withdrawn"] {
        assert!(
            jifen_core::AppealStatus::parse(s).is_some(),
            "{s} is an appeal status"
        );
        domain.push(format!("appeal.{s}"));
    }
    for v in ["none", "note", "attachment"] {
        domain.push(format!("evidence.{v}"));
    }
    for v in ["auto", "one", "two"] {
        domain.push(format!("policy.{v}"));
    }
    for v in ["residents", "staff"] {
        domain.push(format!("claimants.{v}"));
    }
    for v in jifen_core::market::RewardKind::ALL {
        domain.push(format!("reward.{}", v.as_str()));
    }
    for v in jifen_core::market::RedemptionStatus::ALL {
        domain.push(format!("redemption.{}", v.as_str()));
    }
    for v in ["day", "month", "year"] {
        domain.push(format!("period.{v}"));
    }
    for v in ["levels", "account", "role", "indicator", "settings"] {
        domain.push(format!("admin.done_{v}"));
    }
    for d in jifen_store::evaluate::Dimension::ALL {
        domain.push(format!("dim.{}", d.code()));
        for b in jifen_store::evaluate::bands(d) {
            domain.push(format!("band.{b}"));
        }
    }
    for k in &domain {
        for l in Lang::ALL {
            assert!(i18n::has(l, k), "{k} missing in {}", l.tag());
        }
    }
}

/// Pages that must render for a visitor (path, account or none).
const PAGES: &[(&str, Option<&str>)] = &[
    ("/", None),
    ("/login", None),
    ("/public", None),
    ("/notice/vil", None),
    ("/transparency/vil", None),
    ("/r/vil/transfers-in", Some("station")),
    ("/r/vil/me/transfer", Some("resident")),
    ("/", Some("resident")),
    ("/r/vil/me", Some("resident")),
    ("/r/vil/me/history", Some("resident")),
    ("/scan", Some("resident")),
    ("/r/vil/me/claim", Some("resident")),
    ("/r/vil/review", Some("reviewer")),
    ("/r/vil/record", Some("reviewer")),
    ("/r/vil/record", Some("station")),
    ("/r/vil/record?member=1", Some("station")),
    ("/r/vil/record?find=zs", Some("station")),
    ("/r/vil/record/card?member=3", Some("station")),
    ("/r/vil/me/code", Some("resident")),
    ("/r/vil/review?overdue=on&who=zs", Some("reviewer")),
    ("/r/vil/events", Some("reviewer")),
    ("/r/vil/appeals", Some("reviewer")),
    ("/r/vil/admin", Some("admin")),
    ("/r/vil/admin/import", Some("admin")),
    ("/r/vil/admin/accounts/2/sign-ins", Some("admin")),
    ("/r/vil/privacy", Some("auditor")),
    ("/r/vil/evaluation", Some("auditor")),
    ("/r/vil/evaluation?year=2026", Some("admin")),
    ("/r/vil/evaluation/what-if", Some("auditor")),
    ("/r/vil/admin/indicators/TREE", Some("admin")),
    ("/r/vil/admin/indicators/new", Some("admin")),
    ("/r/vil/admin/rewards", Some("admin")),
    ("/r/vil/admin/budget", Some("admin")),
    ("/r/vil/shop", Some("resident")),
    ("/r/vil/shop/codes", Some("resident")),
    ("/r/vil/merchant", Some("merchant")),
];

#[test]
fn every_page_renders_in_both_languages() {
    let app = spawn_app();
    let zh_keys = keys(ZH_SOURCE);
    for (path, user) in PAGES {
        let mut w = Web::new(&app);
        if let Some(u) = user {
            w.sign_in(u);
        }
        for (lang, tag, marker) in [("zh", "zh-CN", "积分"), ("en", "en", "jifen points")] {
            let r = w.get(&format!(
                "{path}{}lang={lang}",
                if path.contains('?') { '&' } else { '?' }
            ));
            assert_eq!(r.status, 200, "{path} as {user:?} in {lang}: {}", r.text());
            let html = r.text();
            assert!(
                html.contains(&format!("<html lang=\"{tag}\">")),
                "{path} {lang}: html lang"
            );
            assert!(
                html.contains(marker),
                "{path} {lang}: the app name in that language"
            );
            for k in &zh_keys {
                assert!(
                    !html.contains(&format!(">{k}<")),
                    "{path} {lang}: raw key {k} shown"
                );
            }
        }
        // The choice sticks (cookie) without the query.
        let r = w.get(path);
        assert!(
            r.text().contains("<html lang=\"en\">"),
            "{path}: the language cookie is kept"
        );
    }
}

#[test]
fn language_follows_accept_language_then_defaults_to_chinese() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    assert!(
        w.get_lang("/login", "en-GB,en;q=0.9")
            .text()
            .contains("<html lang=\"en\">")
    );
    assert!(
        w.get_lang("/login", "fr")
            .text()
            .contains("<html lang=\"zh-CN\">")
    );
    assert!(w.get("/login").text().contains("<html lang=\"zh-CN\">"));
}

#[test]
fn forms_need_the_sessions_token() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    let _ = w.csrf("/login");
    let r = w.post(
        "/login",
        &[
            ("csrf", "forged"),
            ("username", "resident"),
            ("password", common::PASSWORD),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!w.cookies.contains_key("jifen_session"));
    w.sign_in("reviewer");
    let r = w.post(
        "/r/vil/record",
        &[("csrf", "forged"), ("member", "1"), ("indicator", "TREE")],
    );
    assert_eq!(r.status, 403);
    // A token from another session does not carry over.
    let mut other = Web::new(&app);
    other.sign_in("reviewer2");
    let theirs = other.csrf("/r/vil/record");
    let r = w.post(
        "/r/vil/record",
        &[("csrf", &theirs), ("member", "1"), ("indicator", "TREE")],
    );
    assert_eq!(r.status, 403);
}

#[test]
fn a_failed_sign_in_keeps_the_username_and_says_why_by_the_field() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    let csrf = w.csrf("/login?lang=en");
    let r = w.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("username", "resident"),
            ("password", "wrong"),
        ],
    );
    assert_eq!(r.status, 401);
    let html = r.text();
    assert!(html.contains("value=\"resident\""), "the username is kept");
    assert!(
        html.contains("id=\"password-error\""),
        "the error sits by the password"
    );
    assert!(html.contains(i18n::text(Lang::En, "login.wrong")));
}

#[test]
fn next_after_sign_in_stays_on_this_site() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    let csrf = w.csrf("/login");
    let r = w.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("username", "resident"),
            ("password", common::PASSWORD),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        location(&r),
        "/r/vil/me",
        "a resident of one region lands on their points"
    );
}

#[test]
fn recording_errors_keep_what_was_typed_and_success_redirects() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("station");
    let csrf = w.csrf("/r/vil/record?lang=en");
    // Without "present", the API refuses, naming the field: shown by the checkbox.
    let r = w.post(
        "/r/vil/record",
        &[
            ("csrf", &csrf),
            ("key", "k1"),
            ("member", "1"),
            ("indicator", "TREE"),
            ("quantity", "2"),
            ("note", "planted two trees"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let html = r.text();
    assert!(html.contains("planted two trees"), "the note is kept");
    assert!(html.contains("value=\"2\""), "the quantity is kept");
    assert!(
        html.contains("id=\"present\"") && html.contains("aria-invalid=\"true\""),
        "the error is by the field"
    );
    assert!(html.contains(i18n::text(Lang::En, "field.present")));
    // A quantity that is not a number is caught before the API, by its field.
    let r = w.post(
        "/r/vil/record",
        &[
            ("csrf", &csrf),
            ("key", "k2"),
            ("member", "1"),
            ("indicator", "TREE"),
            ("quantity", "two"),
            ("present", "on"),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(
        r.text()
            .contains(i18n::text(Lang::En, "record.bad_quantity"))
    );
    let r = w.post(
        "/r/vil/record",
        &[
            ("csrf", &csrf),
            ("key", "k3"),
            ("member", "1"),
            ("indicator", "TREE"),
            ("quantity", "2"),
            ("present", "on"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        location(&r).starts_with("/r/vil/record?id=vil%3A"),
        "{}",
        location(&r)
    );
    let done = w.get(location(&r).to_owned().as_str());
    assert!(
        done.text().contains("class=\"ok big-ok\""),
        "{}",
        done.text()
    );
    // The same form sent again (same key) replays: still one claim.
    let again = w.post(
        "/r/vil/record",
        &[
            ("csrf", &csrf),
            ("key", "k3"),
            ("member", "1"),
            ("indicator", "TREE"),
            ("quantity", "2"),
            ("present", "on"),
        ],
    );
    assert_eq!(location(&again), location(&r));
    let claims = app
        .store
        .claims(
            &jifen_core::RegionCode::parse("vil").expect("valid"),
            None,
            None,
            0,
            50,
        )
        .expect("claims");
    assert_eq!(claims.len(), 1, "a double submit records once");
}

#[test]
fn pages_refuse_without_the_role_and_send_strangers_to_sign_in() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    let r = w.get("/r/vil/me");
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/login?next=/r/vil/me");
    w.sign_in("resident");
    let r = w.get("/r/vil/review");
    assert_eq!(r.status, 403);
    assert!(
        r.text()
            .contains(&i18n::text(Lang::Zh, "role.reviewer").to_string())
    );
    let r = w.get("/r/no-such-region/me");
    assert_eq!(r.status, 403, "a resident of vil has no role there");
    let r = w.get("/r/vil/entries/999999");
    assert_eq!(r.status, 404);
}

#[test]
fn the_transparency_page_checks_a_receipt_without_script() {
    let app = spawn_app();
    let token = app.login("reviewer");
    let claim = app.post(
        "/api/v1/regions/vil/claims",
        Some(&token),
        &serde_json::json!({"member": 1, "indicator": "WASTE"}),
        None,
    );
    assert_eq!(claim.status, 201, "{}", claim.text());
    let entry = claim.json()["entry"]
        .as_str()
        .expect("auto-posted")
        .to_owned();
    let proven = app
        .get(&format!("/api/v1/entries/{entry}"), Some(&token))
        .json();
    let receipt = proven["receipt"].as_str().expect("receipt").to_owned();
    let mut w = Web::new(&app);
    let r = w.post("/transparency/vil/check?lang=en", &[("receipt", &receipt)]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("class=\"ok\""), "{}", r.text());
    let tampered = receipt.replacen("index ", "index 1", 1);
    let r = w.post("/transparency/vil/check?lang=en", &[("receipt", &tampered)]);
    assert!(
        r.text().contains("class=\"error\""),
        "a changed index fails"
    );
    let r = w.post("/transparency/vil/check", &[("receipt", "nonsense")]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("class=\"error\""));
}

/// A region that names witnesses: the transparency page lists them and says how many
/// cosigned; the server's check of a receipt needs the quorum the region asks for.
#[test]
fn the_transparency_page_shows_the_witnesses_and_the_check_needs_their_quorum() {
    let app = spawn_app();
    let [w1, w2] = app.two_witnesses();
    let token = app.login("reviewer");
    let claim = app.post(
        "/api/v1/regions/vil/claims",
        Some(&token),
        &serde_json::json!({"member": 1, "indicator": "WASTE"}),
        None,
    );
    assert_eq!(claim.status, 201, "{}", claim.text());
    let entry = claim.json()["entry"].as_str().expect("posted").to_owned();
    app.cosign(&w1);
    let receipt = |app: &App| {
        app.get(&format!("/api/v1/entries/{entry}"), Some(&token))
            .json()["receipt"]
            .as_str()
            .expect("receipt")
            .to_owned()
    };
    let one = receipt(&app);
    let mut w = Web::new(&app);
    let page = w.get("/transparency/vil?lang=en").text();
    assert!(
        page.contains("names 2 witnesses and asks readers to require the cosignatures of 2. The latest checkpoint has 1 so far"),
        "{page}"
    );
    assert!(
        page.contains(&w2.vkey()) && page.contains("data-quorum=\"2\""),
        "{page}"
    );
    let r = w.post("/transparency/vil/check?lang=en", &[("receipt", &one)]);
    assert!(
        r.text().contains("carries the cosignatures of 1 of this region&#39;s witnesses, and the region asks for 2"),
        "{}",
        r.text()
    );
    app.cosign(&w2);
    let both = receipt(&app);
    let r = w.post("/transparency/vil/check?lang=en", &[("receipt", &both)]);
    assert!(
        r.text()
            .contains("Checked by the server: entry 0 is in the signed checkpoint"),
        "{}",
        r.text()
    );
}

/// The station's page for a statement from another region: a statement that is none is
/// refused in words, with what was typed kept.
#[test]
fn the_station_page_for_points_from_elsewhere_refuses_a_bad_statement_in_words() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("station");
    let page = w.get("/r/vil/transfers-in?lang=en");
    assert_eq!(page.status, 200);
    let csrf = field_value(&page.text(), "csrf").expect("csrf");
    let r = w.post(
        "/r/vil/transfers-in?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "k1"),
            ("member", "1"),
            ("statement", "not a statement"),
            ("secret", "abc"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let text = r.text();
    assert!(text.contains("This is not a jifen statement"), "{text}");
    assert!(text.contains("not a statement</textarea>"), "{text}");
    let r = w.post(
        "/r/vil/transfers-in?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "k2"),
            ("member", "x"),
            ("statement", "s"),
            ("secret", "abc"),
        ],
    );
    assert!(
        r.text().contains("member number here (digits)"),
        "{}",
        r.text()
    );
    // Not for residents.
    let mut resident = Web::new(&app);
    resident.sign_in("resident");
    assert_eq!(resident.get("/r/vil/transfers-in").status, 403);
}

/// A resident takes points to another region from their own page: the code is shown
/// once, the statement downloads as a file; more than they hold is refused in words.
#[test]
fn a_resident_takes_points_elsewhere_from_their_page() {
    let app = spawn_app();
    let admin = app.login("admin");
    let partner = partner_log();
    let r = app.put(
        "/api/v1/regions/vil/agreements/sz-nanshan",
        &admin,
        &serde_json::json!({"partner_origin": "jifen.sz/log/sz-nanshan", "partner_vkey": partner.vkey(),
                            "send": true, "valid_from": "2026-01-01"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let reviewer = app.login("reviewer");
    let claim = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &serde_json::json!({"member": 1, "indicator": "WASTE"}),
        None,
    );
    assert_eq!(claim.status, 201, "{}", claim.text());
    let mut w = Web::new(&app);
    w.sign_in("resident");
    let page = w.get("/r/vil/me/transfer?lang=en");
    assert_eq!(page.status, 200);
    assert!(
        page.text()
            .contains("jifen.sz/log/sz-nanshan (rate here : there 1 : 1)"),
        "{}",
        page.text()
    );
    let csrf = field_value(&page.text(), "csrf").expect("csrf");
    let r = w.post(
        "/r/vil/me/transfer?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "t-big"),
            ("partner", "sz-nanshan"),
            ("points", "999999"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let r = w.post(
        "/r/vil/me/transfer?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "t-one"),
            ("partner", "sz-nanshan"),
            ("points", "1"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let text = r.text();
    assert!(text.contains("1 points left your balance"), "{text}");
    assert!(text.contains("id=\"tout-secret\">"), "{text}");
    let link = "/r/vil/me/transfers/1/statement";
    assert!(text.contains(link), "{text}");
    let st = w.get(link);
    assert_eq!(st.status, 200);
    assert!(
        st.header("content-disposition")
            .is_some_and(|d| d.contains("attachment"))
    );
    assert!(
        st.text().starts_with("jifen/statement/v1\nfrom "),
        "{}",
        st.text()
    );
    assert!(
        st.text().contains("\nto jifen.sz/log/sz-nanshan\n"),
        "{}",
        st.text()
    );
    // The answer also shows the statement as a QR code.
    assert!(text.contains("id=\"tout-qr\"><svg"), "{text}");
    // Later, the page lists the transfer with its statement, and not the code.
    let page = w.get("/r/vil/me/transfer?lang=en").text();
    assert!(page.contains("id=\"my-transfers\""), "{page}");
    assert!(page.contains(link), "{page}");
    assert!(!page.contains("id=\"tout-secret\""), "{page}");

    // A statement of scores: refused while no year is closed, then made with its code
    // and QR code once 2026 is closed (in January 2027).
    let scores = |w: &mut Web, csrf: &str| {
        w.post(
            "/r/vil/me/score-statement?lang=en",
            &[("csrf", csrf), ("partner", "sz-nanshan")],
        )
    };
    let r = scores(&mut w, &csrf);
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("has no closed year yet"), "{}", r.text());
    app.clock.set(common::fixture_time().plus_days(300));
    let admin = app.login("admin");
    let r = app.post(
        "/api/v1/regions/vil/years/2026/close",
        Some(&admin),
        &serde_json::json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let mut w = Web::new(&app);
    w.sign_in("resident");
    let csrf = w.csrf("/r/vil/me/transfer");
    let r = scores(&mut w, &csrf);
    assert_eq!(r.status, 201, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains(
            "readonly>jifen/scores/v1\nfrom test.local/log/vil\nto jifen.sz/log/sz-nanshan\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nyear 2026 "), "{text}");
    assert!(text.contains("id=\"scores-secret\">"), "{text}");
    assert!(text.contains("id=\"scores-qr\"><svg"), "{text}");
}

/// The station's page takes a statement of scores too: a real one (signed by the
/// partner's key, the region's half receiving) shows each year taken.
#[test]
fn the_station_page_takes_a_statement_of_scores() {
    let app = spawn_app();
    let admin = app.login("admin");
    let partner = partner_log();
    let r = app.put(
        "/api/v1/regions/vil/agreements/sz-nanshan",
        &admin,
        &serde_json::json!({"partner_origin": "jifen.sz/log/sz-nanshan", "partner_vkey": partner.vkey(),
                            "receive": true, "rate_num": 1, "rate_den": 2, "count_scores": true,
                            "valid_from": "2026-01-01"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    use sha2::Digest;
    let secret = "a1b2c3";
    let digest: String = sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let statement = partner
        .sign(&format!(
            "jifen/scores/v1\nfrom jifen.sz/log/sz-nanshan\nto test.local/log/vil\nmade 2026-03-01\n\
             subject 5ub1ec7\nsecret {digest}\nyear 2025 300\nyear 2024 100\n"
        ))
        .expect("signed");
    let mut w = Web::new(&app);
    w.sign_in("station");
    let page = w.get("/r/vil/transfers-in?lang=en");
    let csrf = field_value(&page.text(), "csrf").expect("csrf");
    let r = w.post(
        "/r/vil/transfers-in?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "k1"),
            ("member", "1"),
            ("statement", &statement),
            ("secret", secret),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location").expect("location").to_owned();
    let text = w.get(&format!("{to}&lang=en")).text();
    assert!(
        text.contains("Scores taken: 2025: 150 points at the rate (counts toward the level here), 2024: 50 points at the rate (counts toward the level here), from the agreement sz-nanshan."),
        "{text}"
    );
}

/// The transparency page shows the region's side of its recognition agreements.
#[test]
fn the_transparency_page_lists_the_regions_agreements() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    let page = w.get("/transparency/vil?lang=en").text();
    assert!(
        page.contains("This region has no agreement with another region."),
        "{page}"
    );
    let admin = app.login("admin");
    let partner = partner_log();
    let r = app.put(
        "/api/v1/regions/vil/agreements/sz-nanshan",
        &admin,
        &serde_json::json!({"partner_origin": "jifen.sz/log/sz-nanshan", "partner_vkey": partner.vkey(),
                            "receive": true, "categories": ["志愿服务"], "rate_num": 1, "rate_den": 2,
                            "cap_per_member_year": 200, "valid_from": "2026-01-01"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let page = w.get("/transparency/vil?lang=en").text();
    for said in [
        "jifen.sz/log/sz-nanshan",
        "<span class=\"ok\">in force</span>",
        "Points from there are taken here.",
        "Rate here : there 1 : 2.",
        "At most 200 points a resident a year.",
        "Categories that count: 志愿服务.",
    ] {
        assert!(page.contains(said), "{said}: {page}");
    }
    assert!(!page.contains("Residents may take points there."), "{page}");
}

#[test]
fn inherited_indicators_are_read_only_and_local_ones_get_new_versions() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("admin");
    let r = w.get("/r/vil/admin/indicators/MEET");
    assert_eq!(r.status, 403, "MEET is the city's core indicator");
    let csrf = w.csrf("/r/vil/admin/indicators/TREE");
    let form = |points: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "植树".to_owned()),
            ("category", "自治".to_owned()),
            ("points", points.to_owned()),
            ("unit", "棵".to_owned()),
            ("cap_per_year", "50".to_owned()),
            ("evidence", "none".to_owned()),
            ("review", "one".to_owned()),
            ("claimants", "residents".to_owned()),
            ("valid_from", "2020-01-01".to_owned()),
            ("notice_days", "0".to_owned()),
        ]
    };
    let bad = form("three");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = w.post("/r/vil/admin/indicators/TREE", &bad);
    assert_eq!(r.status, 422);
    assert!(r.text().contains("value=\"three\""), "what was typed stays");
    let good = form("3");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = w.post("/r/vil/admin/indicators/TREE", &good);
    assert_eq!(r.status, 303, "{}", r.text());
    let page = w.get("/r/vil/admin").text();
    assert!(
        page.contains("<td>TREE</td><td>植树"),
        "the new version shows"
    );
    assert!(page.contains("v2"), "as version 2");
    // The indicator's page lists every version, the old one kept as it was.
    let page = w.get("/r/vil/admin/indicators/TREE").text();
    let table = &page[page.find("id=\"versions\"").expect("the versions table")..];
    let v1 = table.find("<tr><td>1</td>").expect("version 1 is listed");
    let v2 = table.find("<tr><td>2</td>").expect("version 2 is listed");
    assert!(v1 < v2, "oldest first");
    assert!(
        table[v2..].contains("<td>3 / 棵</td>") && table[v2..].contains("– / – / 50"),
        "version 2 with its points and caps: {table}"
    );
    assert!(
        !table[v1..v2].contains("<td>3 / 棵</td>"),
        "version 1 keeps its own points: {table}"
    );
    // The same over the API, for anyone (the rules are public).
    let r = app.get("/api/v1/regions/vil/indicators/TREE/versions", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let versions: Vec<i64> = r
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v["version"].as_i64().expect("version"))
        .collect();
    assert_eq!(versions, [1, 2]);
    let r = app.get("/api/v1/regions/vil/indicators/MEET/versions", None);
    assert_eq!(
        r.status, 200,
        "the city's core indicator, as the village sees it"
    );
    assert_eq!(
        app.get("/api/v1/regions/vil/indicators/NOPE/versions", None)
            .status,
        404
    );
}

#[test]
fn csv_import_previews_then_imports_only_the_good_rows_once() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("admin");
    let csrf = w.csrf("/r/vil/admin/import?lang=en");
    let csv =
        "member,household,name,household_label\n,7,王五,7号\n1,7,重复\n,x,赵七\n,7,\"王六\"\n";
    let r = w.post(
        "/r/vil/admin/import",
        &[
            ("csrf", &csrf),
            ("key", "imp1"),
            ("csv", csv),
            ("action", "preview"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("id=\"line-3\""),
        "rows are named by their line"
    );
    assert!(
        html.contains(&i18n::fill(i18n::text(Lang::En, "import.exists"), &[&1])),
        "member 1 exists: {html}"
    );
    assert!(html.contains(i18n::text(Lang::En, "import.bad_household")));
    assert_eq!(html.matches("<tr class=\"bad\"").count(), 2);
    let members_before = app
        .store
        .members(
            &jifen_core::RegionCode::parse("vil").expect("valid"),
            0,
            100,
        )
        .expect("members")
        .len();
    assert_eq!(members_before, 4, "a preview writes nothing");
    let r = w.post(
        "/r/vil/admin/import",
        &[
            ("csrf", &csrf),
            ("key", "imp1"),
            ("csv", csv),
            ("action", "import"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(location(&r), "/r/vil/admin/import?imported=2");
    // Pressing again (same form key) does not import twice.
    let r = w.post(
        "/r/vil/admin/import",
        &[
            ("csrf", &csrf),
            ("key", "imp1"),
            ("csv", csv),
            ("action", "import"),
        ],
    );
    assert_eq!(r.status, 303);
    let members = app
        .store
        .members(
            &jifen_core::RegionCode::parse("vil").expect("valid"),
            0,
            100,
        )
        .expect("members");
    let names: Vec<_> = members.iter().filter_map(|m| m.name.clone()).collect();
    assert_eq!(members.len(), 6, "{names:?}");
    assert!(names.contains(&"王五".to_owned()) && names.contains(&"王六".to_owned()));
    assert_eq!(members[4].household_label, "7号");
    // Nothing importable: said so, nothing written.
    let r = w.post(
        "/r/vil/admin/import",
        &[
            ("csrf", &csrf),
            ("key", "imp2"),
            ("csv", "name\n张\n"),
            ("action", "import"),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains(i18n::text(Lang::En, "import.bad_header")));
}

#[test]
fn a_csv_import_past_the_row_limit_is_refused_whole_and_says_so() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("admin");
    let csrf = w.csrf("/r/vil/admin/import?lang=en");
    let max = jifen_server::web::admin::IMPORT_ROWS_MAX;
    let mut csv = String::from("member,household,name,household_label\n");
    for i in 0..=max {
        csv.push_str(&format!(",7,村民{i},7号\n"));
    }
    let vil = jifen_core::RegionCode::parse("vil").expect("valid");
    let before = app.store.members(&vil, 0, 100).expect("members").len();
    let r = w.post(
        "/r/vil/admin/import",
        &[
            ("csrf", &csrf),
            ("key", "too-many"),
            ("csv", &csv),
            ("action", "import"),
        ],
    );
    assert!(
        r.status == 200 || r.status == 422,
        "{} {}",
        r.status,
        r.text()
    );
    assert!(
        r.text().contains(&i18n::fill(
            i18n::text(Lang::En, "import.too_many"),
            &[&max]
        )),
        "the page names the limit: {}",
        r.text()
    );
    assert_eq!(
        app.store.members(&vil, 0, 100).expect("members").len(),
        before,
        "nothing was imported"
    );
    // A form past the import's body limit is told the same, as a page.
    let huge = csv.repeat(jifen_server::web::admin::IMPORT_BODY_BYTES_MAX / csv.len() + 1);
    let r = w.post(
        "/r/vil/admin/import",
        &[
            ("csrf", &csrf),
            ("key", "too-large"),
            ("csv", &huge),
            ("action", "import"),
        ],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(
        r.text().contains(&i18n::fill(
            i18n::text(Lang::En, "import.too_many"),
            &[&max]
        )),
        "{}",
        r.text()
    );
    assert_eq!(
        app.store.members(&vil, 0, 100).expect("members").len(),
        before
    );
}

#[test]
fn an_admin_sees_a_locked_account_and_unlocks_it_and_the_auditor_sees_who_read_data() {
    let app = spawn_app();
    for _ in 0..5 {
        let r = app.post(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"username": "reviewer", "password": "guess"}),
            None,
        );
        assert_eq!(r.status, 401);
    }
    let mut w = Web::new(&app);
    w.sign_in("admin");
    let page = w.get("/r/vil/admin/accounts/2/sign-ins?lang=en");
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains(i18n::text(Lang::En, "signins.unlock")),
        "{}",
        page.text()
    );
    assert_eq!(
        page.text()
            .matches(&format!(
                "<td>{}</td>",
                i18n::text(Lang::En, "signin.failed")
            ))
            .count(),
        5,
        "{}",
        page.text()
    );
    let csrf = w.csrf("/r/vil/admin/accounts/2/sign-ins?lang=en");
    let r = w.post("/r/vil/admin/accounts/2/unlock", &[("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        location(&r),
        "/r/vil/admin/accounts/2/sign-ins?done=unlocked"
    );
    let page = w.get("/r/vil/admin/accounts/2/sign-ins?done=unlocked&lang=en");
    assert!(
        page.text()
            .contains(i18n::text(Lang::En, "signins.done_unlocked"))
    );
    assert!(
        page.text()
            .contains(i18n::text(Lang::En, "signins.not_locked"))
    );
    app.login("reviewer");
    // The auditor's page counts the admin's reads of members' data: none yet, then the list.
    let mut a = Web::new(&app);
    a.sign_in("auditor");
    let page = a.get("/r/vil/privacy?lang=en");
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text()
            .contains(&i18n::text(Lang::En, "privacy.none").replace('\'', "&#39;")),
        "{}",
        page.text()
    );
    let admin = app.login("admin");
    assert_eq!(
        app.get("/api/v1/regions/vil/members", Some(&admin)).status,
        200
    );
    let page = a.get("/r/vil/privacy?lang=en");
    assert!(page.text().contains("<td>admin</td>"), "{}", page.text());
}

#[test]
fn an_objection_on_the_notice_board_reaches_the_review_queue_with_its_reason() {
    let app = spawn_app();
    let reviewer = app.login("reviewer");
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&reviewer),
        &serde_json::json!({"member": 1, "indicator": "PROPOSAL", "note": "修路提案"}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let number = id.rsplit(':').next().expect("number").to_owned();
    let other = app.login("reviewer2");
    let a = app.post(
        &format!("/api/v1/claims/{id}/approve"),
        Some(&other),
        &serde_json::json!({}),
        None,
    );
    assert_eq!(a.json()["status"], "in-notice", "{}", a.text());

    // The public board shows it with the name masked, to anyone.
    let mut public = Web::new(&app);
    let board = public.get("/notice/vil").text();
    assert!(
        board.contains("张*") && !board.contains("张三"),
        "masked name: {board}"
    );
    assert!(
        !board.contains("/object\""),
        "no objection form without a sign-in"
    );

    // A neighbour objects, signed in.
    let mut w = Web::new(&app);
    w.sign_in("resident2");
    let csrf = w.csrf("/notice/vil");
    let r = w.post(
        &format!("/notice/vil/{number}/object"),
        &[
            ("csrf", &csrf),
            ("key", "obj1"),
            ("reason", "这个提案是别人提的"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(location(&r), "/notice/vil?done=objected");
    assert!(
        !w.get("/notice/vil")
            .text()
            .contains(&format!("id=\"claim-{number}\"")),
        "off the board"
    );

    // The reviewer sees the claim again, with the objection's reason.
    let mut rv = Web::new(&app);
    rv.sign_in("reviewer2");
    let queue = rv.get("/r/vil/review").text();
    assert!(
        queue.contains(&format!("id=\"claim-{number}\"")),
        "back in the queue"
    );
    assert!(
        queue.contains("这个提案是别人提的"),
        "with the reason: {queue}"
    );
}

#[test]
fn events_are_listed_and_their_poster_carries_the_signed_link() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("reviewer");
    let csrf = w.csrf("/r/vil/events");
    let bad = w.post(
        "/r/vil/events",
        &[
            ("csrf", &csrf),
            ("key", "e1"),
            ("name", "议事会"),
            ("indicator", "MEET"),
            ("starts", "2026-03-10"),
            ("ends", ""),
        ],
    );
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("value=\"议事会\""), "the name is kept");
    let r = w.post(
        "/r/vil/events",
        &[
            ("csrf", &csrf),
            ("key", "e2"),
            ("name", "议事会"),
            ("indicator", "MEET"),
            ("starts", "2026-03-10T09:00"),
            ("ends", "2026-03-10T12:00"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let poster = w.get(location(&r)).text();
    assert!(poster.contains("<svg"), "the QR code is on the poster");
    assert!(poster.contains("/c/vil/1?exp="), "the page's check-in link");
    let list = w.get("/r/vil/events").text();
    assert!(list.contains("href=\"/r/vil/events/1\""), "{list}");
    // A resident may not open the poster (the link is for those shown the code).
    let mut res = Web::new(&app);
    res.sign_in("resident");
    assert_eq!(res.get("/r/vil/events/1").status, 403);
}

#[test]
fn the_language_switch_on_a_forms_answer_leads_back_to_the_form() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("station");
    let csrf = w.csrf("/r/vil/record");
    let c = w.cookie_header();
    let body = format!("csrf={}&key=k&member=x&indicator=TREE", enc(&csrf));
    let r = app.request(
        "POST",
        "/r/vil/record",
        &[
            ("Cookie", &c),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Referer", &app.url("/r/vil/record?lang=zh")),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains("href=\"/r/vil/record?lang=en\""),
        "{}",
        r.text()
    );
}

#[test]
fn a_resident_claims_for_themself_and_sees_it_waiting() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("resident");
    let form = w.get("/r/vil/me/claim").text();
    assert!(
        form.contains("value=\"TREE\""),
        "residents' indicators are offered"
    );
    assert!(
        !form.contains("value=\"LITTER\""),
        "a deduction is not claimable"
    );
    let csrf = field_value(&form, "csrf").expect("csrf");
    let r = w.post(
        "/r/vil/me/claim",
        &[
            ("csrf", &csrf),
            ("key", "c1"),
            ("indicator", "TREE"),
            ("quantity", "0"),
            ("note", "种树"),
        ],
    );
    assert_eq!(r.status, 422, "zero trees is refused by the API");
    assert!(r.text().contains("种树"), "the note is kept");
    let r = w.post(
        "/r/vil/me/claim",
        &[
            ("csrf", &csrf),
            ("key", "c2"),
            ("indicator", "TREE"),
            ("quantity", "2"),
            ("note", "种树"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let me = w.get(location(&r)).text();
    assert!(me.contains(i18n::text(Lang::Zh, "me.done_claim")));
    assert!(me.contains("待审核"), "the claim waits for review: {me}");
}

#[test]
fn a_station_switches_large_text_on_for_a_resident_on_every_device() {
    let app = spawn_app();
    let large = |html: &str| html.contains("<body class=\"large\">");
    // The resident's phone, signed in before: normal text.
    let mut phone = Web::new(&app);
    phone.sign_in("resident");
    assert!(!large(&phone.get("/r/vil/me").text()));

    // At the counter the station operator switches it on for member 1.
    let mut station = Web::new(&app);
    station.sign_in("station");
    let csrf = station.csrf("/r/vil/record");
    let r = station.post(
        "/r/vil/record/large",
        &[("csrf", &csrf), ("member", "1"), ("on", "1")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let done = station.get(location(&r)).text();
    assert!(done.contains("已为居民 1 开启大字模式"), "{done}");
    assert!(!large(&done), "the operator's own pages stay as they were");

    // The phone already signed in shows it, and so does a new device.
    assert!(large(&phone.get("/r/vil/me").text()));
    let mut kiosk = Web::new(&app);
    kiosk.sign_in("resident");
    assert!(large(&kiosk.get("/r/vil/me").text()));
    // Other residents are untouched.
    let mut other = Web::new(&app);
    other.sign_in("resident2");
    assert!(!large(&other.get("/r/vil/me").text()));

    // The resident switches it off themself; every device follows.
    let csrf = phone.csrf("/r/vil/me");
    let r = phone.post("/prefs/large", &[("csrf", &csrf), ("back", "/r/vil/me")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(!large(&phone.get("/r/vil/me").text()));
    assert!(!large(&kiosk.get("/r/vil/me").text()));

    // A member no one signs in as: refused with the reason, next to the field.
    let csrf = station.csrf("/r/vil/record");
    let r = station.post(
        "/r/vil/record/large",
        &[("csrf", &csrf), ("member", "4"), ("on", "1")],
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("还没有登录账号"), "{}", r.text());
    // A resident may not switch it for someone else.
    let csrf = other.csrf("/r/vil/me");
    let r = other.post(
        "/r/vil/record/large",
        &[("csrf", &csrf), ("member", "1"), ("on", "1")],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!large(&kiosk.get("/r/vil/me").text()));
}

#[test]
fn an_admin_adds_a_sponsor_and_sees_the_budget_last() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("admin");
    let page = w.get("/r/vil/admin/budget").text();
    assert!(page.contains("还没有赞助方"), "{page}");
    assert!(
        page.contains("id=\"outstanding\""),
        "the liability is shown"
    );
    // The months as a chart with their values on the bars, one pair per table row,
    // and what residents held at each month's end, one column per row.
    assert!(page.contains("id=\"budget-chart\""), "{page}");
    assert!(page.contains("id=\"held-chart\""), "{page}");
    let rows = page.matches("<tr><td>").count();
    let values = page.matches("class=\"value\"").count();
    assert!(
        rows > 0 && values == 3 * rows,
        "{rows} months, {values} values: {page}"
    );
    let csrf = w.csrf("/r/vil/admin/budget");
    let save = |w: &mut Web<'_>, code: &str, budget: &str| {
        w.post(
            "/r/vil/admin/budget",
            &[
                ("csrf", &csrf),
                ("code", code),
                ("name", "供销社"),
                ("kind", "merchant"),
                ("budget", budget),
            ],
        )
    };
    // Bad input: refused next to the field, what was typed kept.
    let r = save(&mut w, "coop", "lots");
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(html.contains("value=\"lots\""), "the budget as typed");
    assert!(html.contains("id=\"budget\" name=\"budget\" inputmode=\"numeric\" value=\"lots\" required aria-invalid=\"true\""), "{html}");
    let r = save(&mut w, "Co op!", "100");
    assert_eq!(r.status, 422);
    assert!(r.text().contains("value=\"Co op!\""));
    let r = save(&mut w, "coop", "-5");
    assert_eq!(r.status, 422, "{}", r.text());
    // A good one is saved and shown with what is left of it.
    let r = save(&mut w, "coop", "1000");
    assert_eq!(r.status, 303, "{}", r.text());
    let page = w.get(location(&r)).text();
    assert!(page.contains("已保存赞助方 coop"), "{page}");
    let table = &page[page.find("id=\"sponsors\"").expect("the sponsors table")..];
    assert!(
        table.contains("<td>1000</td><td>0</td><td>1000</td>"),
        "committed, used, left: {table}"
    );
    // How long it lasts, as a bar: nothing redeemed lately, so no end in sight.
    let lasting = &page[page
        .find("id=\"lasting-chart\"")
        .expect("the months-left chart")..];
    assert!(lasting.contains("近期无兑换"), "{lasting}");
    // The same code changes the budget; the rewards form now offers the sponsor.
    let r = save(&mut w, "coop", "800");
    assert_eq!(r.status, 303, "{}", r.text());
    let page = w.get("/r/vil/admin/budget").text();
    assert!(
        page.contains("<td>800</td><td>0</td><td>800</td>"),
        "{page}"
    );
    let rewards = w.get("/r/vil/admin/rewards").text();
    assert!(rewards.contains("<option value=\"coop\""), "{rewards}");
    // Residents may not see it.
    let mut res = Web::new(&app);
    res.sign_in("resident");
    assert_eq!(res.get("/r/vil/admin/budget").status, 403);
}

#[test]
fn a_refused_redemption_says_why_in_the_pages_language() {
    let app = spawn_app();
    let admin = app.login("admin");
    let body =
        serde_json::json!({"name": "供销社", "kind": "merchant", "budget": 1000}).to_string();
    let r = app.request(
        "PUT",
        "/api/v1/regions/vil/sponsors/coop",
        &[
            ("Authorization", &format!("Bearer {admin}")),
            ("Content-Type", "application/json"),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app.post(
        "/api/v1/regions/vil/rewards",
        Some(&admin),
        &serde_json::json!({"name": "大米 5kg", "description": "", "kind": "goods", "price": 50,
                "stock": 3, "sponsor": "coop", "active_from": "2026-01-01"}),
        Some("reward-1"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let reward = r.json()["id"].as_u64().expect("id");

    // The API names the rule that refused; the page says it in its own language.
    let resident = app.login("resident");
    let r = app.post(
        "/api/v1/regions/vil/redemptions",
        Some(&resident),
        &serde_json::json!({"reward": reward, "member": 1}),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["code"], "balance-too-low", "{}", r.text());
    let mut w = Web::new(&app);
    w.sign_in("resident");
    // Before the click the shop says which: how many points are missing (the
    // resident holds none yet).
    let shop = w.get("/r/vil/shop?lang=en").text();
    assert!(
        shop.contains("<span class=\"muted small why-not\">50 points short</span>"),
        "{shop}"
    );
    assert!(w.get("/r/vil/shop?lang=zh").text().contains("还差 50 分"));
    for (lang, says) in [
        ("zh", "可用积分不够。"),
        ("en", "Not enough spendable points."),
    ] {
        let csrf = w.csrf(&format!("/r/vil/shop?lang={lang}"));
        let r = w.post(
            &format!("/r/vil/shop/{reward}/redeem"),
            &[("csrf", &csrf), ("key", &format!("k-{lang}"))],
        );
        assert_eq!(r.status, 422, "{}", r.text());
        let html = r.text();
        assert!(html.contains(says), "{lang}: {html}");
        assert!(
            html.contains(&format!("id=\"reward-{reward}\"")),
            "next to the reward"
        );
    }
}

/// Four eyes on the pages: a reviewer who records for a resident sees that claim in
/// the queue marked as theirs, with no approve button, and the decision form refuses
/// an approval sent anyway; the other reviewer approves it.
#[test]
fn the_review_queue_shows_the_recorder_and_hides_their_approve_button() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("reviewer");
    let csrf = w.csrf("/r/vil/record?lang=en");
    let r = w.post(
        "/r/vil/record",
        &[
            ("csrf", &csrf),
            ("key", "rec-1"),
            ("member", "4"),
            ("indicator", "TREE"),
            ("quantity", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let queue = w.get("/r/vil/review?lang=en").text();
    let card = &queue[queue.find("id=\"claim-1\"").expect("the claim is queued")..];
    let card = &card[..card.find("</section>").expect("its card ends")];
    assert!(card.contains("class=\"recorder\">reviewer (#2)"), "{card}");
    assert!(
        card.contains(i18n::text(Lang::En, "review.own_record")),
        "{card}"
    );
    assert!(
        !card.contains("value=\"approve\""),
        "no approve button: {card}"
    );
    assert!(card.contains("value=\"reject\""), "{card}");
    let key = field_value(card, "key").expect("a form key");
    let csrf = field_value(card, "csrf").expect("csrf");
    let r = w.post(
        "/r/vil/claims/1/decide",
        &[("csrf", &csrf), ("key", &key), ("decision", "approve")],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("four eyes"), "{}", r.text());

    let mut other = Web::new(&app);
    other.sign_in("reviewer2");
    let queue = other.get("/r/vil/review?lang=en").text();
    let card = &queue[queue.find("id=\"claim-1\"").expect("queued")..];
    let card = &card[..card.find("</section>").expect("ends")];
    assert!(card.contains("value=\"approve\""), "{card}");
    let (key, csrf) = (
        field_value(card, "key").expect("key"),
        field_value(card, "csrf").expect("csrf"),
    );
    let r = other.post(
        "/r/vil/claims/1/decide",
        &[("csrf", &csrf), ("key", &key), ("decision", "approve")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let claims = app
        .store
        .claims(
            &jifen_core::RegionCode::parse("vil").expect("valid"),
            Some(jifen_core::ClaimStatus::Posted),
            None,
            0,
            50,
        )
        .expect("claims");
    assert_eq!(claims.len(), 1, "posted by the second reviewer");
}

/// After five wrong passwords the sign-in page says, in the page's language, that
/// the account is locked for a while and who can unlock it; the right password
/// does not get in meanwhile.
#[test]
fn the_sign_in_page_says_an_account_is_locked_in_both_languages() {
    let app = common::spawn_app();
    let mut w = Web::new(&app);
    let try_as = |w: &mut Web, password: &str, lang: &str| {
        let csrf = w.csrf(&format!("/login?lang={lang}"));
        w.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", "reviewer"),
                ("password", password),
                ("next", "/"),
            ],
        )
    };
    for _ in 0..5 {
        let r = try_as(&mut w, "guess", "zh-CN");
        assert_eq!(r.status, 401, "{}", r.text());
        assert!(r.text().contains("用户名或密码"), "{}", r.text());
    }
    let r = try_as(&mut w, common::PASSWORD, "zh-CN");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text().contains("这个账号在 1 分钟内不能登录") && r.text().contains("管理员解锁"),
        "{}",
        r.text()
    );
    assert!(!w.cookies.contains_key("jifen_session"), "not signed in");
    let r = try_as(&mut w, common::PASSWORD, "en");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(
        r.text()
            .contains("Too many wrong passwords: this account takes no sign-in for 1 min."),
        "{}",
        r.text()
    );
}

#[test]
fn the_auditor_sees_the_evaluation_tries_values_and_downloads_the_export() {
    let app = spawn_app();
    let resident = app.login("resident");
    let reviewer = app.login("reviewer");
    let r = app.post(
        "/api/v1/regions/vil/claims",
        Some(&resident),
        &serde_json::json!({"member": 1, "indicator": "TREE", "quantity": 2}),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let claim = r.json()["id"].as_str().expect("id").to_owned();
    let r = app.post(
        &format!("/api/v1/claims/{claim}/approve"),
        Some(&reviewer),
        &serde_json::json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The resident's year chart carries the month's points on its bar.
    let mut me = Web::new(&app);
    me.sign_in("resident");
    let page = me.get("/r/vil/me?lang=en").text();
    let values: Vec<i64> = page
        .split("class=\"value\">")
        .skip(1)
        .filter_map(|t| t.split('<').next()?.parse().ok())
        .collect();
    assert_eq!(values.len(), 1, "{page}");
    assert!(values[0] > 0, "{page}");
    let mut a = Web::new(&app);
    a.sign_in("auditor");
    let home = a.get("/?lang=en");
    assert!(home.text().contains("/r/vil/evaluation"), "{}", home.text());
    let page = a.get("/r/vil/evaluation?year=2026&lang=en");
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    for id in [
        "participation-chart",
        "months-chart",
        "lorenz-chart",
        "budget-chart",
        "groups",
        "reviewers",
        "export-button",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} in {html}");
    }
    // The month of the award shows its one participant on the bar.
    assert!(
        html.contains("<title>1: 0</title>") || html.contains(": 1</title>"),
        "{html}"
    );
    // A year without entries says so, in words.
    let empty = a.get("/r/vil/evaluation?year=2019&lang=en");
    assert_eq!(empty.status, 200);
    assert!(
        empty.text().contains("no entries in 2019"),
        "{}",
        empty.text()
    );
    let bad = a.get("/r/vil/evaluation?year=20x9&lang=en");
    assert_eq!(bad.status, 422, "{}", bad.text());

    // The what-if: TREE at 9 a unit, as CSV; an unknown indicator says so.
    let csrf = a.csrf("/r/vil/evaluation/what-if?year=2026&lang=en");
    let r = a.post(
        "/r/vil/evaluation/what-if?lang=en",
        &[
            ("csrf", &csrf),
            ("year", "2026"),
            ("values", "indicator,points\nTREE,9"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("id=\"figures\"") && r.text().contains("<td>9</td>"),
        "{}",
        r.text()
    );
    let r = a.post(
        "/r/vil/evaluation/what-if?lang=en",
        &[
            ("csrf", &csrf),
            ("year", "2026"),
            ("values", "{\"NOPE\": 3}"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("unknown indicator &quot;NOPE&quot;")
            || r.text().contains("unknown indicator &#34;NOPE&#34;"),
        "{}",
        r.text()
    );

    // The export downloads as one JSON file with the signed manifest and the rows.
    let x = a.get("/r/vil/evaluation/export?year=2026&k=2");
    assert_eq!(x.status, 200, "{}", x.text());
    assert!(
        x.header("content-disposition")
            .is_some_and(|d| d.contains("jifen-evaluation-vil-2026.json"))
    );
    let v: serde_json::Value = serde_json::from_str(&x.text()).expect("JSON");
    assert!(
        v["manifest"]
            .as_str()
            .expect("manifest")
            .starts_with("jifen evaluation export v1\n")
    );
    assert!(
        v["rows_csv"]
            .as_str()
            .expect("rows")
            .starts_with("age_band,")
    );
    let bad = a.get("/r/vil/evaluation/export?year=2026&k=1&lang=en");
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert!(
        bad.text().contains("k must be at least 2"),
        "{}",
        bad.text()
    );

    // A resident is refused, in words.
    let mut r = Web::new(&app);
    r.sign_in("resident");
    let page = r.get("/r/vil/evaluation?lang=en");
    assert_eq!(page.status, 403, "{}", page.text());
    let page = r.get("/r/vil/evaluation/export?year=2026");
    assert_eq!(page.status, 403, "{}", page.text());
}

#[test]
fn a_station_records_age_and_residence_on_the_record_page() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("station");
    let page = w.get("/r/vil/record?member=1&lang=en");
    assert!(
        page.text().contains("id=\"attributes-form\""),
        "{}",
        page.text()
    );
    let csrf = field_value(&page.text(), "csrf").expect("csrf");
    let r = w.post(
        "/r/vil/record/attributes",
        &[
            ("csrf", &csrf),
            ("member", "2"),
            ("birth_year", "1949"),
            ("residence", "migrant"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let done = w.get("/r/vil/record?attributes=saved&member=2&lang=en");
    assert!(
        done.text().contains("Saved for resident 2."),
        "{}",
        done.text()
    );
    let station = app.login("station");
    let a = app.get("/api/v1/regions/vil/members/2/attributes", Some(&station));
    assert_eq!(
        a.json(),
        serde_json::json!({"birth_year": 1949, "residence": "migrant"})
    );
    // A bad year says what is wrong, and nothing changes.
    let r = w.post(
        "/r/vil/record/attributes?lang=en",
        &[
            ("csrf", &csrf),
            ("member", "2"),
            ("birth_year", "19x9"),
            ("residence", ""),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("19x9 is not a year of birth"),
        "{}",
        r.text()
    );
    let r = w.post(
        "/r/vil/record/attributes?lang=en",
        &[
            ("csrf", &csrf),
            ("member", "2"),
            ("birth_year", "2999"),
            ("residence", ""),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("2999"), "{}", r.text());
    let a = app.get("/api/v1/regions/vil/members/2/attributes", Some(&station));
    assert_eq!(a.json()["birth_year"], 1949);
    // A reviewer records points but not attributes.
    let mut rv = Web::new(&app);
    rv.sign_in("reviewer");
    let page = rv.get("/r/vil/record?lang=en");
    assert!(!page.text().contains("id=\"attributes-form\""));
}

#[test]
fn the_regions_language_beats_the_browsers_and_a_persons_choice_beats_both() {
    let app = spawn_app();
    let admin = app.login("admin");
    let auth = format!("Bearer {admin}");
    let put = |body: &str| {
        app.request(
            "PUT",
            "/api/v1/regions/vil/settings",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        )
    };
    let r = put(r#"{"default_lang": "klingon"}"#);
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("not one of zh, en"), "{}", r.text());
    // The region's pages in Chinese although the browser asks for English.
    assert_eq!(put(r#"{"default_lang": "zh"}"#).status, 200);
    assert_eq!(
        app.get("/api/v1/regions/vil/settings", None).json()["default_lang"],
        "zh"
    );
    let mut w = Web::new(&app);
    let page = w.get_lang("/notice/vil", "en-GB,en;q=0.9");
    assert!(
        page.text().contains("<html lang=\"zh-CN\">"),
        "{}",
        page.text()
    );
    // Pages of no region still follow the browser.
    assert!(
        w.get_lang("/login", "en")
            .text()
            .contains("<html lang=\"en\">")
    );
    // A resident who switches to English keeps it on their account: a new browser
    // (no cookie) that asks for Chinese shows English.
    let mut phone = Web::new(&app);
    phone.sign_in("resident");
    assert!(
        phone
            .get("/r/vil/me?lang=en")
            .text()
            .contains("<html lang=\"en\">")
    );
    let mut other = Web::new(&app);
    other.sign_in("resident");
    other.cookies.remove("jifen_lang");
    let page = other.get_lang("/r/vil/me", "zh-CN,zh");
    assert!(
        page.text().contains("<html lang=\"en\">"),
        "{}",
        page.text()
    );
    let me = app.get("/api/v1/auth/me", Some(&app.login("resident")));
    assert_eq!(me.json()["lang"], "en");
    // The admin sets it on the settings page too.
    let mut a = Web::new(&app);
    a.sign_in("admin");
    let csrf = a.csrf("/r/vil/admin?lang=en");
    let r = a.post("/r/vil/admin/settings", &[("csrf", &csrf), ("lang", "en")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        app.get("/api/v1/regions/vil/settings", None).json(),
        serde_json::json!({"default_lang": "en", "stations_run_events": false, "review_days": 7})
    );
    let mut fresh = Web::new(&app);
    assert!(
        fresh
            .get_lang("/notice/vil", "zh-CN")
            .text()
            .contains("<html lang=\"en\">")
    );
}

#[test]
fn a_refusal_is_a_refusal_that_says_what_the_visitor_can_do() {
    let app = spawn_app();
    let mut w = Web::new(&app);
    w.sign_in("station");
    let r = w.get("/r/vil/events?lang=en");
    assert_eq!(r.status, 403, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains(i18n::text(Lang::En, "refused_page.title")),
        "{html}"
    );
    assert!(!html.contains(i18n::text(Lang::En, "err.title")), "{html}");
    // It says why, names the visitor's roles and links to their work.
    assert!(
        html.contains("only when the region&#39;s admin allows it"),
        "{html}"
    );
    assert!(
        html.contains("Your roles here: station operator."),
        "{html}"
    );
    assert!(html.contains("href=\"/r/vil/record\""), "{html}");
    assert!(!html.contains("href=\"/r/vil/events\""), "{html}");
    // Once the admin lets stations run events, the station opens the page and
    // creates one; the API agrees.
    let station = app.login("station");
    let create = |token: &str| {
        app.post(
            "/api/v1/regions/vil/events",
            Some(token),
            &serde_json::json!({"indicator": "TREE", "name": "植树", "starts_at": "2026-03-20T09:00:00+08:00", "ends_at": "2026-03-20T12:00:00+08:00"}),
            None,
        )
    };
    let r = create(&station);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("has not allowed it"), "{}", r.text());
    let mut a = Web::new(&app);
    a.sign_in("admin");
    let csrf = a.csrf("/r/vil/admin");
    let r = a.post(
        "/r/vil/admin/settings",
        &[("csrf", &csrf), ("lang", ""), ("stations_run_events", "on")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let r = w.get("/r/vil/events?lang=en");
    assert_eq!(r.status, 200, "{}", r.text());
    // A page for other roles names them.
    let r = w.get("/r/vil/review?lang=en");
    assert_eq!(r.status, 403);
    assert!(
        r.text()
            .contains("This page is for: reviewer (region vil)."),
        "{}",
        r.text()
    );
    let r = create(&station);
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Claims of the fixture for the committee's queue: returns their numbers.
fn claims_for_queue(app: &App) -> (Vec<String>, String) {
    let resident = app.login("resident");
    let resident2 = app.login("resident2");
    let claim = |token: &str, member: i64, indicator: &str, quantity: i64| -> String {
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(token),
            &serde_json::json!({"member": member, "indicator": indicator, "quantity": quantity, "note": "queue"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_str().expect("id").to_owned();
        id.rsplit(':').next().expect("number").to_owned()
    };
    let trees = vec![
        claim(&resident, 1, "TREE", 1),
        claim(&resident, 1, "TREE", 2),
        claim(&resident2, 3, "TREE", 1),
    ];
    let mediate = claim(&resident2, 3, "MEDIATE", 2);
    (trees, mediate)
}

fn claim_status(app: &App, number: &str) -> serde_json::Value {
    let r = app.get(
        &format!("/api/v1/claims/vil:{number}"),
        Some(&app.login("reviewer2")),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn a_committee_filters_its_queue_sees_what_is_overdue_and_decides_several_at_once() {
    let app = spawn_app();
    let (trees, mediate) = claims_for_queue(&app);
    // Eight days later (the region gives 7), one more claim comes in.
    app.clock.set(jifen_core::Timestamp::from_millis(
        common::fixture_time().millis() + 8 * 86_400_000,
    ));
    let fresh = {
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(&app.login("resident2")),
            &serde_json::json!({"member": 3, "indicator": "PROPOSAL", "note": "修路"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"]
            .as_str()
            .expect("id")
            .rsplit(':')
            .next()
            .expect("n")
            .to_owned()
    };
    let mut w = Web::new(&app);
    w.sign_in("reviewer");
    let page = w.get("/r/vil/review?lang=en").text();
    assert!(page.contains("5 claims waiting"), "{page}");
    assert!(
        page.contains("4 waiting longer than the region&#39;s 7 days"),
        "{page}"
    );
    let shows = |page: &str, n: &str| page.contains(&format!("id=\"claim-{n}\""));
    // Filters: by indicator, by resident (pinyin initials), past the deadline.
    let only = w.get("/r/vil/review?lang=en&indicator=MEDIATE").text();
    assert!(shows(&only, &mediate) && !shows(&only, &trees[0]), "{only}");
    let zs = w.get("/r/vil/review?lang=en&who=zs").text();
    assert!(shows(&zs, &trees[0]) && shows(&zs, &trees[1]), "{zs}");
    assert!(!shows(&zs, &trees[2]) && !shows(&zs, &mediate), "{zs}");
    let late = w.get("/r/vil/review?lang=en&overdue=on").text();
    assert!(shows(&late, &trees[0]) && !shows(&late, &fresh), "{late}");
    let older = w.get("/r/vil/review?lang=en&older=30").text();
    assert!(
        older.contains(i18n::text(Lang::En, "review.none_match")),
        "{older}"
    );
    // One approval of the mediation (20 points needs two): it needs a second reviewer.
    let r = app.post(
        &format!("/api/v1/claims/vil:{mediate}/approve"),
        Some(&app.login("reviewer")),
        &serde_json::json!({}),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "partly-approved");
    let second = w.get("/r/vil/review?lang=en&second=on").text();
    assert!(
        shows(&second, &mediate) && !shows(&second, &trees[0]),
        "{second}"
    );

    let csrf = w.csrf("/r/vil/review?lang=en");
    let pick = |n: &str| format!("claim-{n}");
    // A rejection without a reason: refused, nothing decided.
    let (a, b) = (pick(&trees[0]), pick(&trees[1]));
    let r = w.post(
        "/r/vil/review/decide?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "b1"),
            (&a, "on"),
            (&b, "on"),
            ("decision", "reject"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text()
            .contains(i18n::text(Lang::En, "review.batch_reason_needed")),
        "{}",
        r.text()
    );
    // With a claim this reviewer cannot decide (they approved it already): nothing
    // is decided, and the message names that claim.
    let m = pick(&mediate);
    let r = w.post(
        "/r/vil/review/decide?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "b2"),
            (&a, "on"),
            (&b, "on"),
            (&m, "on"),
            ("decision", "reject"),
            ("reason", "照片看不清"),
        ],
    );
    assert!(r.status == 403 || r.status == 409, "{}", r.text());
    assert!(r.text().contains("Nothing was decided"), "{}", r.text());
    assert!(
        r.text().contains(&format!("claim vil:{mediate}")),
        "{}",
        r.text()
    );
    for n in [&trees[0], &trees[1]] {
        assert_eq!(
            claim_status(&app, n)["status"],
            "submitted",
            "claim {n} untouched"
        );
    }
    assert_eq!(claim_status(&app, &mediate)["status"], "partly-approved");
    // The two alone, with the reason: both rejected, and member 1 reads why.
    let r = w.post(
        "/r/vil/review/decide?lang=en",
        &[
            ("csrf", &csrf),
            ("key", "b3"),
            (&a, "on"),
            (&b, "on"),
            ("decision", "reject"),
            ("reason", "照片看不清"),
            ("who", "zs"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(location(&r), "/r/vil/review?done=batch-reject&n=2&who=zs");
    for n in [&trees[0], &trees[1]] {
        let c = claim_status(&app, n);
        assert_eq!(c["status"], "rejected");
        assert_eq!(c["reason"], "照片看不清");
    }
    let mut me = Web::new(&app);
    me.sign_in("resident");
    let page = me.get("/r/vil/me?lang=en").text();
    assert!(page.contains("Reviewer&#39;s reason: 照片看不清"), "{page}");
    // The API says what is wrong with a bad batch.
    let token = app.login("reviewer2");
    for (body, field) in [
        (
            serde_json::json!({"claims": [], "decision": "approve"}),
            "claims",
        ),
        (
            serde_json::json!({"claims": ["x"], "decision": "approve"}),
            "claims",
        ),
        (
            serde_json::json!({"claims": ["city:1"], "decision": "approve"}),
            "claims",
        ),
        (
            serde_json::json!({"claims": [fresh], "decision": "maybe"}),
            "decision",
        ),
        (
            serde_json::json!({"claims": [fresh, fresh], "decision": "approve"}),
            "claims",
        ),
        (
            serde_json::json!({"claims": [fresh], "decision": "reject", "reason": "x".repeat(501)}),
            "reason",
        ),
    ] {
        let r = app.post(
            "/api/v1/regions/vil/claims/decide",
            Some(&token),
            &body,
            None,
        );
        assert_eq!(r.status, 422, "{body}: {}", r.text());
        assert_eq!(r.json()["field"], field, "{body}: {}", r.text());
    }
    assert_eq!(claim_status(&app, &fresh)["status"], "submitted");
}

/// The text of the element with this id (up to its first tag).
fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(rest[start..start + end].trim().to_owned())
}

#[test]
fn staff_find_a_resident_by_pinyin_initials_and_open_one_by_their_member_code() {
    let app = spawn_app();
    let mut st = Web::new(&app);
    st.sign_in("station");
    // Typed without script: the page lists the matches.
    let page = st.get("/r/vil/record?lang=en&find=zs").text();
    assert!(
        page.contains("record?member=1\"") && page.contains("record?member=2\""),
        "{page}"
    );
    assert!(!page.contains("record?member=3\""), "{page}");
    let none = st.get("/r/vil/record?lang=en&find=qqq");
    assert!(
        none.text().contains("No resident matches"),
        "{}",
        none.text()
    );
    // The API, as the page's script asks it.
    let token = app.login("station");
    let r = app.get("/api/v1/regions/vil/members/find?q=lw", Some(&token));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["items"][0]["name"], "李五", "{}", r.text());
    let r = app.get("/api/v1/regions/vil/members/find?q=x&limit=0", Some(&token));
    assert_eq!(r.status, 422, "{}", r.text());
    // The resident's own code, and staff opening them with it.
    let mut me = Web::new(&app);
    me.sign_in("resident");
    let card = me.get("/r/vil/me/code?lang=en").text();
    let code = text_of(&card, "member-code").expect("code on the card");
    assert_eq!(code.len(), 19, "{code}");
    assert!(card.contains("<svg"), "the card has its QR");
    let r = st.get(&format!("/r/vil/m/{code}"));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(location(&r), "/r/vil/record?member=1");
    let chosen = st.get("/r/vil/record?member=1&lang=en").text();
    assert!(chosen.contains("id=\"chosen\""), "{chosen}");
    assert!(chosen.contains("张三"), "{chosen}");
    // Typed where there is no camera, in lower case and without dashes.
    let typed = code.replace('-', "").to_lowercase();
    let r = st.get(&format!("/r/vil/record?find={typed}"));
    assert_eq!(location(&r), "/r/vil/record?member=1", "{}", r.text());
    // A scanned link goes through the scan page to the same place.
    let r = st.get(&format!(
        "/scan/go?link={}",
        enc(&format!("https://jifen.example/r/vil/m/{code}"))
    ));
    assert_eq!(location(&r), format!("/r/vil/m/{code}"));
    // The code is no credential: a resident who scans it is refused.
    let r = me.get(&format!("/r/vil/m/{code}?lang=en"));
    assert_eq!(r.status, 403, "{}", r.text());
    let other = app.get(
        "/api/v1/regions/vil/members/1/code",
        Some(&app.login("resident2")),
    );
    assert_eq!(other.status, 403, "{}", other.text());
    // Renewed: the old code finds no one, the new one does.
    let csrf = field_value(&card, "csrf").expect("csrf");
    let r = me.post("/r/vil/me/code", &[("csrf", &csrf)]);
    assert_eq!(r.status, 303, "{}", r.text());
    let renewed = me.get("/r/vil/me/code?done=renewed&lang=en").text();
    let new_code = text_of(&renewed, "member-code").expect("new code");
    assert_ne!(new_code, code);
    let old = st.get(&format!("/r/vil/m/{code}?lang=en"));
    assert_eq!(old.status, 404, "{}", old.text());
    assert!(
        old.text()
            .contains(&i18n::text(Lang::En, "find.unknown_code").replace('\'', "&#39;")),
        "{}",
        old.text()
    );
    let r = st.get(&format!("/r/vil/m/{new_code}"));
    assert_eq!(location(&r), "/r/vil/record?member=1");
    // Station staff print a card for a resident without a phone.
    let print = st.get("/r/vil/record/card?member=3&lang=en");
    assert_eq!(print.status, 200, "{}", print.text());
    assert!(print.text().contains("李五"), "{}", print.text());
}

#[test]
fn the_shop_lists_by_category_with_pictures_and_says_which_rule_stops_a_member() {
    let app = spawn_app();
    let admin = app.login("admin");
    app.coop(&admin, 1000);
    let add = |body: serde_json::Value| {
        let r = app.post("/api/v1/regions/vil/rewards", Some(&admin), &body, None);
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["id"].as_u64().expect("id")
    };
    let soap = add(
        serde_json::json!({"name": "肥皂", "kind": "goods", "price": 5, "stock": 9,
        "sponsor": "coop", "active_from": "2026-01-01", "category": "日用品"}),
    );
    let honour = add(
        serde_json::json!({"name": "荣誉证书", "kind": "goods", "price": 1, "stock": 9,
        "sponsor": "coop", "active_from": "2026-01-01", "category": "荣誉", "min_level": "voucher"}),
    );
    // The admin uploads a picture on the rewards page (multipart), and a file that is
    // no picture is refused there with the reason.
    let mut w = Web::new(&app);
    w.sign_in("admin");
    let page = w.get("/r/vil/admin/rewards?lang=en");
    let csrf = field_value(&page.text(), "csrf").expect("csrf");
    let upload = |w: &mut Web, bytes: &[u8]| {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("--XX\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--XX\r\nContent-Disposition: form-data; name=\"picture\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n--XX--\r\n");
        let c = w.cookie_header();
        w.app.request(
            "POST",
            &format!("/r/vil/admin/rewards/{soap}/picture?lang=en"),
            &[
                ("Cookie", &c),
                ("Content-Type", "multipart/form-data; boundary=XX"),
            ],
            Some(&body),
        )
    };
    let r = upload(&mut w, b"not a picture");
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("not a PNG, JPEG or WebP"), "{}", r.text());
    let png: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52,
    ];
    let r = upload(&mut w, png);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(location(&r).contains("picture=saved"), "{}", location(&r));
    // The resident's shop: categories, the picture, and why the certificate is out of reach.
    let mut me = Web::new(&app);
    me.sign_in("resident");
    let shop = me.get("/r/vil/shop?lang=en").text();
    assert!(shop.contains("id=\"categories\""), "{shop}");
    assert!(
        shop.contains("?category=%E6%97%A5%E7%94%A8%E5%93%81"),
        "{shop}"
    );
    assert!(
        shop.contains(&format!(
            "src=\"/api/v1/regions/vil/rewards/{soap}/picture?v="
        )),
        "{shop}"
    );
    let honour_card = shop
        .split(&format!("id=\"reward-{honour}\""))
        .nth(1)
        .expect("the certificate is listed");
    assert!(
        honour_card
            .split("</li>")
            .next()
            .is_some_and(|c| c
                .contains(&i18n::text(Lang::En, "refused.level-too-low").replace('\'', "&#39;"))),
        "{honour_card}"
    );
    let only = me
        .get("/r/vil/shop?lang=en&category=%E6%97%A5%E7%94%A8%E5%93%81")
        .text();
    assert!(only.contains(&format!("id=\"reward-{soap}\"")), "{only}");
    assert!(!only.contains(&format!("id=\"reward-{honour}\"")), "{only}");
}

#[test]
fn the_public_page_charts_each_regions_entries_by_month_and_category() {
    let app = spawn_app();
    let resident = app.login("resident");
    for _ in 0..1 {
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(&resident),
            &serde_json::json!({"member": 1, "indicator": "WASTE"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["status"], "posted", "{}", r.text());
    }
    let page = app.get("/public?lang=en", None).text();
    let vil = page
        .split("id=\"region-vil\"")
        .nth(1)
        .and_then(|p| p.split("</li>").next())
        .expect("the village is listed")
        .to_owned();
    // March 2026 (the fixture's month) has the one entry, on its bar and in the words.
    assert!(vil.contains("month 3: 1 entries"), "{vil}");
    assert!(vil.contains("class=\"value\">1</text>"), "{vil}");
    assert!(
        vil.contains(&i18n::text(Lang::En, "public.by_category").replace('\'', "&#39;")),
        "{vil}"
    );
    assert!(vil.contains(">自治</text>"), "{vil}");
    // Nothing personal: no member names.
    assert!(!vil.contains("张三"), "{vil}");
}

#[test]
fn a_stations_home_links_to_events_only_when_the_region_lets_stations_run_them() {
    let app = spawn_app();
    let mut st = Web::new(&app);
    st.sign_in("station");
    let home = st.get("/?lang=en").text();
    assert!(!home.contains("href=\"/r/vil/events\""), "{home}");
    let mut a = Web::new(&app);
    a.sign_in("admin");
    let csrf = a.csrf("/r/vil/admin");
    let r = a.post(
        "/r/vil/admin/settings",
        &[
            ("csrf", &csrf),
            ("lang", ""),
            ("stations_run_events", "on"),
            ("review_days", "3"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        app.get("/api/v1/regions/vil/settings", None).json()["review_days"],
        3
    );
    let home = st.get("/?lang=en").text();
    assert!(home.contains("href=\"/r/vil/events\""), "{home}");
    // A deadline that is no number of days is refused with the reason.
    let r = a.post(
        "/r/vil/admin/settings?lang=en",
        &[("csrf", &csrf), ("lang", ""), ("review_days", "soon")],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("is not a number of days"), "{}", r.text());
    let r = a.post(
        "/r/vil/admin/settings?lang=en",
        &[("csrf", &csrf), ("lang", ""), ("review_days", "365")],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("from 1 to 90"), "{}", r.text());
}
