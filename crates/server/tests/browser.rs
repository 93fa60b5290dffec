//! The main journeys in a real browser: Debian's headless Chromium driven over
//! W3C WebDriver (chromedriver, fantoccini), against a real server on a fresh
//! fixture store. Each journey saves screenshots under the test's output folder.
//!
//! Without /usr/bin/chromedriver the tests print one line saying so and pass;
//! with `JIFEN_REQUIRE_BROWSER=1` (CI) a missing browser fails them.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{App, spawn_app};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to listen, in milliseconds.
const DRIVER_START_MS: u64 = 20_000;
/// How long a page element may take to appear, in milliseconds.
const ELEMENT_WAIT_MS: u64 = 15_000;

/// One journey at a time: two cores do not run several browsers well.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Where the screenshots go.
fn screens() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screens");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// Whether the browser is here; without it, say so once and skip (or fail in CI).
/// Where the journeys' browsers save downloads.
fn downloads() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jifen-downloads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("downloads folder");
    dir
}

fn browser_present() -> bool {
    let present = Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists();
    if !present {
        if std::env::var("JIFEN_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "JIFEN_REQUIRE_BROWSER=1 but {CHROMEDRIVER} or {CHROMIUM} is missing: apt-get install chromium chromium-driver"
            );
        }
        eprintln!(
            "skipping browser journeys: {CHROMEDRIVER} not installed (apt-get install chromium chromium-driver)"
        );
    }
    present
}

/// A chromedriver process on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
    profiles: Vec<PathBuf>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium outlives a killed chromedriver (and a test that panicked before closing
        // its sessions): end the browsers started with this driver's profiles, by their ids.
        for p in &self.profiles {
            let flag = format!("--user-data-dir={}", p.display());
            for pid in processes_with_arg(&flag) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Ids of the processes whose command line holds `arg` exactly (Linux /proc).
fn processes_with_arg(arg: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_millis(DRIVER_START_MS),
                "chromedriver did not listen on {port} within {DRIVER_START_MS} ms"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            port,
            profiles: Vec::new(),
        }
    }

    /// A fresh browser session: its own profile, the given window size.
    /// A phone is emulated (Chromium's windows are at least 500 px wide); a PC is a window.
    async fn browser(&mut self, width: u32, height: u32) -> Client {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let profile = std::env::temp_dir().join(format!(
            "jifen-chromium-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        self.profiles.push(profile.clone());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // A phone in China asks for Chinese; the pages must not depend on it, but the journeys read it.
                "prefs": {
                    "intl.accept_languages": "zh-CN,zh",
                    "download.default_directory": downloads().display().to_string(),
                    "download.prompt_for_download": false,
                },
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1", "--lang=zh-CN",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        });
        let mut caps = caps;
        if width < 500 {
            caps["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "touch": true },
            });
        }
        let Value::Object(caps) = caps else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a browser session")
    }
}

/// Runs one journey: a runtime, a driver, the app.
fn journey<F>(f: impl FnOnce(App, Driver) -> F)
where
    F: std::future::Future<Output = ()>,
{
    if !browser_present() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let app = spawn_app();
    let driver = Driver::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(f(app, driver));
}

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_millis(ELEMENT_WAIT_MS))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
}

async fn text_of(c: &Client, css: &str) -> String {
    wait_css(c, css).await.text().await.expect("text")
}

async fn click(c: &Client, css: &str) {
    wait_css(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = wait_css(c, css).await;
    el.clear().await.expect("clear");
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn path_of(c: &Client) -> String {
    let u = c.current_url().await.expect("url");
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    }
}

/// Waits until the page's path starts with `prefix`.
async fn wait_path(c: &Client, prefix: &str) {
    let started = Instant::now();
    loop {
        let p = path_of(c).await;
        if p.starts_with(prefix) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_millis(ELEMENT_WAIT_MS),
            "expected to reach {prefix}, still at {p}: {}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let path = screens().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    println!("screenshot: {}", path.display());
}

/// Adds `n` residents with common names in new households (a demo-sized village).
fn seed_villagers(app: &App, region: &jifen_core::RegionCode, n: usize) {
    const SURNAMES: &[&str] = &[
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    ];
    const GIVEN: &[&str] = &[
        "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
        "明",
    ];
    for i in 0..n {
        let h = app
            .store
            .add_household(
                region.clone(),
                None,
                &format!("{}组{}号", i / 40 + 1, i % 40 + 1),
            )
            .expect("household");
        let name = format!(
            "{}{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()],
            GIVEN[(i / 7) % GIVEN.len()]
        );
        app.store
            .add_member(jifen_store::admin::NewMember {
                region: region.clone(),
                id: None,
                household: h,
                name,
            })
            .expect("member");
    }
}

/// Types `q` into the record page's search box and waits for the list to answer
/// it: the search's own time as the page measured it (request to answer), and
/// the list's text.
async fn find_as_you_type(c: &Client, q: &str) -> (u64, String) {
    type_into(c, "#find", q).await;
    let started = Instant::now();
    loop {
        let list = wait_css(c, "#find-results").await;
        if list.attr("data-query").await.expect("attr").as_deref() == Some(q) {
            let ms = list
                .attr("data-ms")
                .await
                .expect("attr")
                .and_then(|m| m.parse().ok())
                .expect("the page measured the search");
            return (ms, list.text().await.expect("text"));
        }
        assert!(
            started.elapsed() < Duration::from_millis(ELEMENT_WAIT_MS),
            "the search for {q} did not answer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sign_in(c: &Client, app: &App, user: &str) {
    c.goto(&app.url("/login")).await.expect("login page");
    type_into(c, "#username", user).await;
    type_into(c, "#password", common::PASSWORD).await;
    click(c, "form[action='/login'] button[type=submit]").await;
    // Sign-in leaves the login page.
    let started = Instant::now();
    while path_of(c).await.starts_with("/login") {
        assert!(
            started.elapsed() < Duration::from_millis(ELEMENT_WAIT_MS),
            "sign in as {user} did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn resident_checks_in_is_approved_and_verifies_in_the_browser() {
    journey(|app, mut driver| async move {
        // The shop has one item: a sponsor (the fixture merchant's) and a reward, by the API.
        let admin = app.login("admin");
        let auth = format!("Bearer {admin}");
        let r = app.request(
            "PUT",
            "/api/v1/regions/vil/sponsors/coop",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(r#"{"name": "供销社", "kind": "merchant", "budget": 1000}"#.as_bytes()),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let r = app.post(
            "/api/v1/regions/vil/rewards",
            Some(&admin),
            &json!({"name": "食用油 1L", "description": "供销社提供", "kind": "goods", "price": 5,
                    "stock": 3, "sponsor": "coop", "active_from": "2026-01-01"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let reward = r.json()["id"].as_u64().expect("reward id");
        // Other entries around the resident's, so the proof has several levels to climb.
        let staff = app.login("reviewer");
        let other = app.login("reviewer2");
        let post = |member: i64, indicator: &str, approve: bool| {
            let r = app.post(
                "/api/v1/regions/vil/claims",
                Some(&staff),
                &json!({"member": member, "indicator": indicator}),
                None,
            );
            assert_eq!(r.status, 201, "{}", r.text());
            if approve {
                let id = r.json()["id"].as_str().expect("id").to_owned();
                let a = app.post(
                    &format!("/api/v1/claims/{id}/approve"),
                    Some(&other),
                    &json!({}),
                    None,
                );
                assert_eq!(a.status, 200, "{}", a.text());
            }
        };
        for m in [2, 3, 4] {
            post(m, "WASTE", false);
        }

        let resident = driver.browser(390, 844).await;
        let reviewer = driver.browser(1280, 900).await;

        // A reviewer, on an office PC, opens an event and gets its poster.
        sign_in(&reviewer, &app, "reviewer").await;
        reviewer
            .goto(&app.url("/r/vil/events"))
            .await
            .expect("events");
        type_into(&reviewer, "#name", "三月村民议事会").await;
        wait_css(&reviewer, "#indicator")
            .await
            .select_by_value("MEET")
            .await
            .expect("indicator");
        // datetime-local inputs take their value in one fixed form; typing it depends on the locale.
        reviewer
            .execute(
                "document.getElementById('starts').value='2026-03-10T09:00';\
                 document.getElementById('ends').value='2026-03-10T12:00';",
                vec![],
            )
            .await
            .expect("set times");
        click(
            &reviewer,
            "form[action='/r/vil/events'] button[type=submit]",
        )
        .await;
        let link = text_of(&reviewer, "#checkin-link").await;
        assert!(
            link.contains("/c/vil/"),
            "the poster carries the page's check-in link: {link}"
        );
        assert!(
            wait_css(&reviewer, ".poster .qr svg")
                .await
                .is_displayed()
                .await
                .expect("shown")
        );
        shot(&reviewer, "1a-reviewer-event-poster").await;

        // The resident signs in on a phone and opens the link from the poster.
        sign_in(&resident, &app, "resident").await;
        wait_path(&resident, "/r/vil/me").await;
        resident.goto(&link).await.expect("check-in link");
        click(&resident, "form[action^='/c/vil/'] button[type=submit]").await;
        wait_path(&resident, "/r/vil/me?done=checked-in").await;
        let claims = text_of(&resident, "#claims").await;
        assert!(
            claims.contains("待审核"),
            "the check-in waits for review: {claims}"
        );
        assert_eq!(text_of(&resident, "#annual").await, "0");
        shot(&resident, "1b-resident-checked-in").await;

        // In the other session the reviewer approves it from the queue.
        reviewer
            .goto(&app.url("/r/vil/review"))
            .await
            .expect("queue");
        let card = text_of(&reviewer, "section[id^='claim-']").await;
        assert!(
            card.contains("张三") && card.contains("MEET"),
            "the queue shows who and what: {card}"
        );
        shot(&reviewer, "1c-reviewer-queue").await;
        click(&reviewer, "section[id^='claim-'] button[value=approve]").await;
        wait_path(&reviewer, "/r/vil/review?done=approve").await;
        assert!(text_of(&reviewer, "p.ok").await.contains("已批准"));

        for m in [3, 4] {
            post(m, "TREE", true);
        }
        assert_eq!(
            app.store
                .region(&jifen_core::RegionCode::parse("vil").expect("valid"))
                .expect("region")
                .size,
            6
        );

        // The resident sees the points, then verifies the entry in the browser.
        resident
            .goto(&app.url("/r/vil/me"))
            .await
            .expect("my points");
        assert_eq!(text_of(&resident, "#annual").await, "5");
        assert_eq!(text_of(&resident, "#spendable").await, "5");
        assert!(
            resident.find(Locator::Css("#claims")).await.is_err(),
            "nothing is pending any more"
        );
        shot(&resident, "1d-resident-points").await;
        click(&resident, "ul.entries li a.button").await;
        let head = wait_css(&resident, "#verify-ok, #verify-bad").await;
        let all = format!(
            "{}\nproof: {}\nvkey: {:?}",
            text_of(&resident, "#verify-result").await,
            wait_css(&resident, "#proof")
                .await
                .html(true)
                .await
                .expect("proof"),
            wait_css(&resident, "#verify-key")
                .await
                .attr("data-vkey")
                .await
                .expect("vkey"),
        );
        assert_eq!(
            head.attr("id").await.expect("id").as_deref(),
            Some("verify-ok"),
            "{all}"
        );
        // In words: where the entry is in the public ledger; a mark on the entry; the
        // link to check it on the public page.
        let said = head.text().await.expect("text");
        assert!(
            said.starts_with("已核验：这条记录是公开账本的第 ")
                && said.ends_with("与本地区的签名一致。"),
            "{said}"
        );
        // The number is the entry's own, as its card shows it.
        let card = text_of(&resident, "section.card p.muted").await;
        let number = card.rsplit(" · ").next().unwrap_or_default().to_owned();
        assert!(
            number.starts_with('第') && said.contains(&number),
            "{card} / {said}"
        );
        assert_eq!(
            text_of(&resident, "#verified-mark").await,
            "✓ 已在公开账本核验"
        );
        wait_css(&resident, "#verify-result a[href='/transparency/vil']").await;
        let steps = text_of(&resident, "#verify-result ol.checks").await;
        assert!(
            steps.contains("Ed25519") && steps.contains("SHA-256"),
            "says what was checked: {steps}"
        );
        assert_eq!(
            resident
                .find_all(Locator::Css("#verify-result li.fail"))
                .await
                .expect("list")
                .len(),
            0
        );
        shot(&resident, "1e-resident-verified").await;

        // The same proof as a receipt, checked in the browser on the public page; a changed
        // byte in the entry fails it.
        let receipt = wait_css(&resident, "#receipt")
            .await
            .prop("textContent")
            .await
            .expect("receipt")
            .unwrap_or_default();
        assert!(
            receipt.starts_with("c2sp.org/tlog-proof@v1\nextra "),
            "{receipt}"
        );
        resident
            .goto(&app.url("/transparency/vil"))
            .await
            .expect("transparency");
        type_into(&resident, "#receipt", &receipt).await;
        click(&resident, "#receipt-form button[type=submit]").await;
        wait_css(&resident, "#verify-ok").await;
        shot(&resident, "1f-public-receipt-verified").await;
        let extra = receipt.lines().nth(1).expect("extra line");
        // A character in the middle of the base64 always changes the decoded bytes.
        let at = "extra ".len() + 10;
        let was = &extra[at..at + 1];
        let changed = format!(
            "{}{}{}",
            &extra[..at],
            if was == "A" { "B" } else { "A" },
            &extra[at + 1..]
        );
        let tampered = receipt.replacen(extra, &changed, 1);
        assert_ne!(tampered, receipt);
        type_into(&resident, "#receipt", &tampered).await;
        // Clear the first answer, so the wait below sees the second one.
        resident
            .execute(
                "document.getElementById('verify-result').replaceChildren();",
                vec![],
            )
            .await
            .expect("clear");
        click(&resident, "#receipt-form button[type=submit]").await;
        let head = wait_css(&resident, "#verify-result p").await;
        let value = wait_css(&resident, "#receipt")
            .await
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default();
        assert_eq!(value, tampered, "the tampered receipt was typed");
        assert_eq!(
            head.attr("id").await.expect("id").as_deref(),
            Some("verify-bad"),
            "{}",
            text_of(&resident, "#verify-result").await
        );
        assert!(
            !resident
                .find_all(Locator::Css("#verify-result li.fail"))
                .await
                .expect("list")
                .is_empty(),
            "the failing step is marked"
        );
        // The answer names the check that failed.
        let said = head.text().await.expect("text");
        assert!(said.starts_with("核验没有通过："), "{said}");
        assert!(said.len() > "核验没有通过：".len() + 4, "{said}");
        reviewer.close().await.ok();

        // The resident spends the points in the shop and gets a code with its QR code.
        resident.goto(&app.url("/r/vil/shop")).await.expect("shop");
        click(&resident, &format!("#reward-{reward} button[type=submit]")).await;
        wait_path(&resident, "/r/vil/shop/codes/").await;
        let code = text_of(&resident, "#redemption-code").await;
        assert_eq!(code.len(), 9, "a printed code like ABCD-2345: {code}");
        assert_eq!(text_of(&resident, "#code-status").await, "待领取");
        let qr_loaded = resident
            .execute(
                "return document.querySelector('img.qr-img').naturalWidth;",
                vec![],
            )
            .await
            .expect("qr");
        assert!(
            qr_loaded.as_u64().unwrap_or(0) > 0,
            "the QR code image loads"
        );
        shot(&resident, "1g-resident-redemption-code").await;

        // The merchant types the code (as people do, in lower case) and confirms.
        let merchant = driver.browser(390, 844).await;
        sign_in(&merchant, &app, "merchant").await;
        merchant
            .goto(&app.url("/r/vil/merchant"))
            .await
            .expect("merchant");
        type_into(&merchant, "#code", "ZZZZ-9999").await;
        click(&merchant, "#confirm-form button[type=submit]").await;
        let err = text_of(&merchant, "#code-error").await;
        assert!(err.contains("没有这个兑换码"), "{err}");
        assert_eq!(
            wait_css(&merchant, "#code")
                .await
                .prop("value")
                .await
                .expect("v")
                .as_deref(),
            Some("ZZZZ-9999")
        );
        type_into(&merchant, "#code", &code.to_lowercase()).await;
        click(&merchant, "#confirm-form button[type=submit]").await;
        let done = text_of(&merchant, "#confirmed").await;
        assert!(done.contains("食用油 1L") && done.contains(&code), "{done}");
        shot(&merchant, "1h-merchant-confirmed").await;

        resident.refresh().await.expect("reload");
        assert_eq!(text_of(&resident, "#code-status").await, "已领取");
        resident
            .goto(&app.url("/r/vil/me"))
            .await
            .expect("my points");
        assert_eq!(
            text_of(&resident, "#spendable").await,
            "0",
            "the points are spent"
        );
        assert_eq!(
            text_of(&resident, "#annual").await,
            "5",
            "the level's score is not"
        );
        merchant.close().await.ok();
    });
}

#[test]
fn station_records_for_an_elderly_resident_in_large_text() {
    journey(|app, mut driver| async move {
        let station = driver.browser(390, 844).await;
        sign_in(&station, &app, "station").await;
        station
            .goto(&app.url("/r/vil/record"))
            .await
            .expect("record");
        let normal: f64 = wait_css(&station, "body")
            .await
            .css_value("font-size")
            .await
            .expect("size")
            .trim_end_matches("px")
            .parse()
            .expect("px");
        // The operator switches large text on for the resident at the counter.
        click(&station, "form[action='/prefs/large'] button").await;
        wait_css(&station, "body.large").await;
        let large: f64 = wait_css(&station, "body")
            .await
            .css_value("font-size")
            .await
            .expect("size")
            .trim_end_matches("px")
            .parse()
            .expect("px");
        assert!(
            large >= normal * 1.3,
            "large text is larger: {normal}px → {large}px"
        );
        // A village's size: 530 more residents, then 张四 found by typing "zs".
        let vil = jifen_core::RegionCode::parse("vil").expect("valid");
        seed_villagers(&app, &vil, 530);
        let (ms, found) = find_as_you_type(&station, "zs").await;
        assert!(
            found.contains("张四") && found.contains("张三"),
            "pinyin initials find both: {found}"
        );
        assert!(ms < 200, "the search answered in {ms} ms, over 200");
        println!("find as you type (530+ members, 'zs'): {ms} ms");
        shot(&station, "2-station-finds-by-pinyin-initials").await;
        click(&station, "#find-results a[href$='member=2']").await;
        wait_path(&station, "/r/vil/record?member=2").await;
        assert!(text_of(&station, "#chosen").await.contains("张四"));
        wait_css(&station, "#indicator")
            .await
            .select_by_value("TREE")
            .await
            .expect("indicator");
        type_into(&station, "#quantity", "3").await;
        type_into(&station, "#note", "在村口种了三棵树").await;
        // Forgetting to confirm presence is refused, next to the box, keeping what was typed.
        click(&station, "form[action='/r/vil/record'] button[type=submit]").await;
        let err = text_of(&station, "#err").await;
        assert!(err.contains("本人在场"), "the error names the field: {err}");
        assert_eq!(
            wait_css(&station, "#note")
                .await
                .prop("value")
                .await
                .expect("v")
                .as_deref(),
            Some("在村口种了三棵树")
        );
        assert_eq!(
            wait_css(&station, "#quantity")
                .await
                .prop("value")
                .await
                .expect("v")
                .as_deref(),
            Some("3")
        );
        shot(&station, "2a-station-error-kept").await;
        click(&station, "#present").await;
        click(&station, "form[action='/r/vil/record'] button[type=submit]").await;
        wait_path(&station, "/r/vil/record?id=").await;
        let done = text_of(&station, "p.ok").await;
        assert!(done.contains("张四") && done.contains("待审核"), "{done}");
        assert!(
            wait_css(&station, "body")
                .await
                .attr("class")
                .await
                .expect("class")
                .unwrap_or_default()
                .contains("large")
        );
        shot(&station, "2b-station-recorded-large-text").await;
        // The claim exists once, as a station record for member 2.
        let claims = app.store.claims(&vil, None, None, 0, 50).expect("claims");
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].member.get(), 2);
        assert_eq!(claims[0].source.as_str(), "station");
        assert_eq!(claims[0].quantity, 3);
    });
}

#[test]
fn admin_imports_members_from_csv_with_one_bad_row() {
    journey(|app, mut driver| async move {
        let admin = driver.browser(1280, 900).await;
        sign_in(&admin, &app, "admin").await;
        admin
            .goto(&app.url("/r/vil/admin/import"))
            .await
            .expect("import");
        // The language switch: the same page in English, kept by a cookie.
        click(&admin, "header nav a[lang=en]").await;
        wait_css(&admin, "html[lang=en]").await;
        let csv = "member,household,name,household_label\n,5,王五,5组1号\n,5,王六,\n,five,赵七,\n";
        type_into(&admin, "#csv", csv).await;
        click(&admin, "#import-form button[value=preview]").await;
        let summary = text_of(&admin, "#preview > p").await;
        assert!(
            wait_css(&admin, "tr#line-4.bad")
                .await
                .is_displayed()
                .await
                .expect("shown"),
            "the bad row is line 4 of the file"
        );
        assert_eq!(summary, "Ready to import: 2. With errors: 1.");
        let bad = text_of(&admin, "tr.bad").await;
        assert!(
            bad.contains("赵七") && bad.contains("household must be a whole number"),
            "{bad}"
        );
        assert_eq!(
            admin
                .find_all(Locator::Css("tr.good"))
                .await
                .expect("rows")
                .len(),
            2
        );
        shot(&admin, "3a-admin-import-preview").await;
        click(&admin, "#import-button").await;
        wait_path(&admin, "/r/vil/admin/import?imported=2").await;
        assert_eq!(
            text_of(&admin, "#import-done").await,
            "2 residents imported."
        );
        shot(&admin, "3b-admin-imported").await;
        let vil = jifen_core::RegionCode::parse("vil").expect("valid");
        let members = app.store.members(&vil, 0, 100).expect("members");
        let names: Vec<String> = members.iter().filter_map(|m| m.name.clone()).collect();
        assert_eq!(names, ["张三", "张四", "李五", "李六", "王五", "王六"]);
        assert_eq!(members[4].household_label, "5组1号");
    });
}

#[test]
fn auditor_opens_the_evaluation_sees_its_charts_and_downloads_the_export() {
    journey(|app, mut driver| async move {
        // One award in the year, by the API: a resident's claim, approved.
        let resident = app.login("resident");
        let reviewer = app.login("reviewer");
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(&resident),
            &json!({"member": 1, "indicator": "TREE", "quantity": 2}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let claim = r.json()["id"].as_str().expect("id").to_owned();
        let r = app.post(
            &format!("/api/v1/claims/{claim}/approve"),
            Some(&reviewer),
            &json!({}),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());

        let auditor = driver.browser(412, 900).await;
        sign_in(&auditor, &app, "auditor").await;
        auditor.goto(&app.url("/")).await.expect("home");
        click(&auditor, "a[href='/r/vil/evaluation']").await;
        wait_path(&auditor, "/r/vil/evaluation").await;
        wait_css(&auditor, "#lorenz-chart polyline").await;
        for chart in [
            "#participation-chart",
            "#means-chart",
            "#months-chart",
            "#budget-chart",
        ] {
            let bars = auditor
                .find_all(Locator::Css(&format!("{chart} rect")))
                .await
                .expect("bars");
            assert!(!bars.is_empty(), "{chart} has bars");
            assert!(
                bars[0].is_displayed().await.expect("shown"),
                "{chart} is shown"
            );
        }
        // The bars carry their values as text: everyone took part in the month.
        let months = text_of(&auditor, "#months-chart").await;
        assert!(months.contains('1'), "{months}");
        let warnings = text_of(&auditor, "#warnings").await;
        assert!(!warnings.is_empty());
        shot(&auditor, "6a-auditor-evaluation").await;

        // The export, downloaded by the browser.
        let before: Vec<PathBuf> = std::fs::read_dir(downloads())
            .expect("downloads")
            .flatten()
            .map(|e| e.path())
            .collect();
        type_into(&auditor, "#k", "2").await;
        click(&auditor, "#export-button").await;
        let started = Instant::now();
        let file = loop {
            let found = std::fs::read_dir(downloads())
                .expect("downloads")
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    !before.contains(p)
                        && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                            n.starts_with("jifen-evaluation-vil-") && n.ends_with(".json")
                        })
                });
            if let Some(f) = found {
                break f;
            }
            assert!(
                started.elapsed() < Duration::from_millis(ELEMENT_WAIT_MS),
                "no export downloaded to {}",
                downloads().display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let v: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
        let manifest = v["manifest"].as_str().expect("manifest");
        assert!(
            manifest.starts_with("jifen evaluation export v1\nregion vil\n"),
            "{manifest}"
        );
        assert!(manifest.contains("\nk 2\n"), "{manifest}");
        assert!(
            v["rows_csv"]
                .as_str()
                .expect("rows")
                .starts_with("age_band,residence,household_band,score")
        );
        let _ = std::fs::remove_file(&file);
    });
}

#[test]
fn staff_open_a_resident_by_member_code_and_a_committee_decides_two_claims_at_once() {
    journey(|app, mut driver| async move {
        // The resident's card: the QR and the code below it.
        let resident = driver.browser(390, 844).await;
        sign_in(&resident, &app, "resident").await;
        resident
            .goto(&app.url("/r/vil/me/code"))
            .await
            .expect("card");
        let code = text_of(&resident, "#member-code").await;
        assert_eq!(code.len(), 19, "{code}");
        wait_css(&resident, "#member-card svg").await;
        shot(&resident, "20a-resident-member-code").await;
        // The station types it where there is no camera: the resident opens.
        let station = driver.browser(390, 844).await;
        sign_in(&station, &app, "station").await;
        station
            .goto(&app.url("/r/vil/record"))
            .await
            .expect("record");
        type_into(&station, "#find", &code).await;
        click(&station, "#find-form button[type=submit]").await;
        wait_path(&station, "/r/vil/record?member=1").await;
        assert!(text_of(&station, "#chosen").await.contains("张三"));
        shot(&station, "20b-station-opened-by-code").await;
        // Renewed by the resident, the old code finds no one.
        click(&resident, "#renew").await;
        wait_path(&resident, "/r/vil/me/code?done=renewed").await;
        assert_ne!(text_of(&resident, "#member-code").await, code);
        station
            .goto(&app.url(&format!("/r/vil/m/{code}")))
            .await
            .expect("old code");
        assert!(text_of(&station, "#find-err").await.contains("找不到"));

        // Two claims decided together with one reason.
        let token = app.login("resident2");
        for q in [1, 2] {
            let r = app.post(
                "/api/v1/regions/vil/claims",
                Some(&token),
                &json!({"member": 3, "indicator": "TREE", "quantity": q}),
                None,
            );
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let reviewer = driver.browser(390, 844).await;
        sign_in(&reviewer, &app, "reviewer").await;
        reviewer
            .goto(&app.url("/r/vil/review?who=lw"))
            .await
            .expect("queue");
        click(&reviewer, "#pick-1").await;
        click(&reviewer, "#pick-2").await;
        type_into(&reviewer, "#batch-reason", "同一天重复申报").await;
        shot(&reviewer, "20c-committee-batch").await;
        click(&reviewer, "#batch button[value=reject]").await;
        wait_path(&reviewer, "/r/vil/review?done=batch-reject&n=2").await;
        assert!(text_of(&reviewer, "p.ok").await.contains("2"));
        let vil = jifen_core::RegionCode::parse("vil").expect("valid");
        let claims = app.store.claims(&vil, None, None, 0, 50).expect("claims");
        assert!(
            claims.iter().all(|c| c.status.as_str() == "rejected"
                && c.reason.as_deref() == Some("同一天重复申报")),
            "{claims:?}"
        );
    });
}

/// A region that names two witnesses and asks for both: the browser's own check of a
/// receipt fails, saying so, while one has cosigned, and passes once both have.
#[test]
fn the_browser_check_requires_the_witnesses_the_region_asks_for() {
    journey(|app, mut driver| async move {
        let [w1, w2] = app.two_witnesses();
        let staff = app.login("reviewer");
        let claim = app.post(
            "/api/v1/regions/vil/claims",
            Some(&staff),
            &json!({"member": 1, "indicator": "WASTE"}),
            None,
        );
        assert_eq!(claim.status, 201, "{}", claim.text());
        let entry = claim.json()["entry"].as_str().expect("posted").to_owned();
        let receipt = || {
            app.get(&format!("/api/v1/entries/{entry}"), Some(&staff))
                .json()["receipt"]
                .as_str()
                .expect("receipt")
                .to_owned()
        };
        app.cosign(&w1);
        let one = receipt();
        let browser = driver.browser(390, 844).await;
        browser
            .goto(&app.url("/transparency/vil"))
            .await
            .expect("transparency");
        type_into(&browser, "#receipt", &one).await;
        click(&browser, "#receipt-form button[type=submit]").await;
        let head = wait_css(&browser, "#verify-result p").await;
        assert_eq!(
            head.attr("id").await.expect("id").as_deref(),
            Some("verify-bad"),
            "{}",
            text_of(&browser, "#verify-result").await
        );
        let said = head.text().await.expect("text");
        assert!(
            said.contains("只有本地区 1 家见证方会签") && said.contains("要求 2 家"),
            "{said}"
        );
        shot(&browser, "6a-one-witness-of-two").await;
        app.cosign(&w2);
        let both = receipt();
        type_into(&browser, "#receipt", &both).await;
        browser
            .execute(
                "document.getElementById('verify-result').replaceChildren();",
                vec![],
            )
            .await
            .expect("clear");
        click(&browser, "#receipt-form button[type=submit]").await;
        wait_css(&browser, "#verify-ok").await;
        let steps = text_of(&browser, "#verify-result ol.checks").await;
        assert!(steps.contains("有 2 家会签"), "{steps}");
        shot(&browser, "6b-both-witnesses").await;
        browser.close().await.ok();
    });
}

/// A photo as a phone would give it: `w`×`h` pixels of noisy colour, as PNG (too
/// large to keep as it is).
fn photo(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("png header");
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        let mut seed: u32 = 0x2545_F491;
        for y in 0..h {
            for x in 0..w {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let noise = (seed & 0x3f) as u8;
                data.extend_from_slice(&[
                    ((x % 190) as u8).wrapping_add(noise),
                    ((y % 180) as u8).wrapping_add(noise),
                    (((x + y) % 170) as u8).wrapping_add(noise),
                ]);
            }
        }
        writer.write_image_data(&data).expect("png data");
    }
    out
}

#[test]
fn a_shop_with_pictures_and_categories_the_public_charts_and_an_objection_by_its_button() {
    journey(|app, mut driver| async move {
        let admin_token = app.login("admin");
        app.coop(&admin_token, 5000);
        for (name, category, level) in [
            ("食用油 1L", "日用品", None),
            ("理发服务", "服务", None),
            ("荣誉证书", "荣誉", Some("voucher")),
        ] {
            let r = app.post(
                "/api/v1/regions/vil/rewards",
                Some(&admin_token),
                &json!({"name": name, "kind": "goods", "price": 5, "stock": 3, "sponsor": "coop",
                        "active_from": "2026-01-01", "category": category, "min_level": level}),
                None,
            );
            assert_eq!(r.status, 201, "{}", r.text());
        }
        // The admin uploads a large photo: the page makes it 600 pixels wide (JPEG) first.
        let file = std::env::temp_dir().join(format!("jifen-photo-{}.png", std::process::id()));
        let big = photo(1600, 1200);
        assert!(
            big.len() > jifen_core::market::PICTURE_BYTES_MAX,
            "{}",
            big.len()
        );
        std::fs::write(&file, &big).expect("photo");
        let admin = driver.browser(1280, 900).await;
        sign_in(&admin, &app, "admin").await;
        admin
            .goto(&app.url("/r/vil/admin/rewards"))
            .await
            .expect("rewards");
        wait_css(&admin, "#picture-1")
            .await
            .send_keys(&file.display().to_string())
            .await
            .expect("choose the photo");
        // The page has resized it once the input holds a JPEG.
        let started = Instant::now();
        loop {
            let kind = admin
                .execute(
                    "const f = document.getElementById('picture-1').files[0]; return f ? f.type : '';",
                    vec![],
                )
                .await
                .expect("script");
            if kind.as_str() == Some("image/jpeg") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_millis(ELEMENT_WAIT_MS),
                "the photo was not resized: {kind:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        click(&admin, "#reward-1 .picture-form button[type=submit]").await;
        wait_path(&admin, "/r/vil/admin/rewards?picture=saved").await;
        let vil = jifen_core::RegionCode::parse("vil").expect("valid");
        let kept = app.store.reward_picture(&vil, 1).expect("kept");
        assert_eq!(kept.content_type, "image/jpeg");
        assert!(
            kept.bytes.len() < big.len()
                && kept.bytes.len() <= jifen_core::market::PICTURE_BYTES_MAX,
            "{} bytes kept of a {} byte photo",
            kept.bytes.len(),
            big.len()
        );
        let _ = std::fs::remove_file(&file);
        shot(&admin, "21a-admin-reward-picture").await;

        // The resident's shop on a phone: categories, the picture, the reasons.
        let resident = driver.browser(390, 844).await;
        sign_in(&resident, &app, "resident").await;
        resident.goto(&app.url("/r/vil/shop")).await.expect("shop");
        wait_css(&resident, "#categories").await;
        let shown: bool = resident
            .execute(
                "const i = document.querySelector('#reward-1 img.reward-pic'); return !!i && i.complete && i.naturalWidth === 600;",
                vec![],
            )
            .await
            .expect("script")
            .as_bool()
            .unwrap_or(false);
        assert!(shown, "the picture is shown, 600 pixels wide");
        assert!(
            text_of(&resident, "#reward-3 .why-not")
                .await
                .contains("等级")
        );
        shot(&resident, "21b-shop-categories-pictures").await;
        click(&resident, "#categories a:nth-child(3)").await;
        wait_path(&resident, "/r/vil/shop?category=").await;
        let shown = resident
            .execute(
                "return document.querySelectorAll('li.reward').length;",
                vec![],
            )
            .await
            .expect("script");
        assert_eq!(shown.as_u64(), Some(1), "one category, one reward");

        // The public page: each region's months and categories as charts.
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(&app.login("resident")),
            &json!({"member": 1, "indicator": "WASTE"}),
            None,
        );
        assert_eq!(r.json()["status"], "posted", "{}", r.text());
        let public = driver.browser(390, 844).await;
        public.goto(&app.url("/public")).await.expect("public");
        wait_css(&public, "#region-vil svg.months").await;
        wait_css(&public, "#region-vil svg.categories").await;
        shot(&public, "21c-public-charts").await;

        // The notice board: the resident objects with the 异议 button, reading the rules.
        let reviewer = app.login("reviewer");
        let r = app.post(
            "/api/v1/regions/vil/claims",
            Some(&reviewer),
            &json!({"member": 3, "indicator": "PROPOSAL", "note": "修路提案"}),
            None,
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_str().expect("id").to_owned();
        let r = app.post(
            &format!("/api/v1/claims/{id}/approve"),
            Some(&app.login("reviewer2")),
            &json!({}),
            None,
        );
        assert_eq!(r.json()["status"], "in-notice", "{}", r.text());
        let number = id.rsplit(':').next().expect("number").to_owned();
        resident
            .goto(&app.url("/notice/vil"))
            .await
            .expect("notice");
        click(&resident, &format!("#claim-{number} summary")).await;
        assert!(
            text_of(&resident, &format!("#claim-{number} .rules"))
                .await
                .contains("异议规则")
        );
        type_into(
            &resident,
            &format!("#reason-{number}"),
            "这条提案不是他提的",
        )
        .await;
        shot(&resident, "21d-notice-objection").await;
        click(
            &resident,
            &format!("#claim-{number} form button[type=submit]"),
        )
        .await;
        wait_path(&resident, "/notice/vil?done=objected").await;
        let c = app.store.claims(&vil, None, None, 0, 50).expect("claims");
        assert!(
            c.iter()
                .any(|c| c.id.get().to_string() == number && c.status.as_str() == "submitted"),
            "the claim is back in the queue: {c:?}"
        );
    });
}
