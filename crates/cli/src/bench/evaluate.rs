//! `jifen bench evaluate`: the evaluation of a year for N members with a year of
//! entries each, and the evaluation page of a smaller region over HTTP. The fixture
//! (members with birth years and residence, awards under three indicators in three
//! categories, posted through the real sequencer month by month) is built first and
//! timed apart; then `Store::evaluate` runs as `jifen evaluate` and the page runs,
//! and the what-if and the export are timed beside them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use jifen_core::fairness::Residence;
use jifen_core::{
    Caps, Claimants, EntryKind, Evidence, FixedClock, Indicator, IndicatorCode, IndicatorRef,
    NewEntry, OperatorId, Points, Reason, Region, RegionCode, RegionKind, ReviewPolicy, Role,
    Source, clock::parse_date,
};
use jifen_store::accounts::Grant;
use jifen_store::admin::NewRegion;
use jifen_store::{Attributes, Store};

use super::at;

pub struct Args {
    pub members: u64,
    pub entries_per_member: u32,
    pub page_members: u64,
    pub page_requests: u32,
    pub dir: Option<std::path::PathBuf>,
}

const USERNAME: &str = "bench-auditor";
/// The three indicators: code, category, points a unit.
const INDICATORS: [(&str, &str, i64); 3] = [
    ("VOLUNTEER", "德治", 5),
    ("COUNCIL", "自治", 3),
    ("WASTE", "法治", 2),
];

fn put_indicators(store: &Store, region: &RegionCode) -> Result<Vec<IndicatorCode>> {
    let mut codes = Vec::new();
    for (code, category, points) in INDICATORS {
        let code = IndicatorCode::parse(code).expect("valid code");
        store.put_indicator(Indicator {
            region: region.clone(),
            code: code.clone(),
            version: 1,
            name: code.as_str().to_lowercase(),
            category: category.into(),
            points: Points::new(points),
            unit: "次".into(),
            caps: Caps::default(),
            evidence: Evidence::None,
            review: ReviewPolicy::One,
            claimants: Claimants::Residents,
            valid_from: parse_date("2000-01-01")?,
            valid_to: None,
            core: false,
            notice_days: 0,
        })?;
        codes.push(code);
    }
    Ok(codes)
}

/// Members 1..=`members` in households of four, with birth years 1930–2005 and one
/// in five working away, one in ten floating.
fn seed(store: &Store, region: &RegionCode, members: u64) -> Result<()> {
    super::seed_members_with(store, region, members, |id| {
        Ok(Attributes {
            birth_year: Some(1930 + i32::try_from(id * 7 % 76)?),
            residence: Some(match id % 10 {
                0 | 1 => Residence::Migrant,
                2 => Residence::Floating,
                _ => Residence::Resident,
            }),
        })
    })
}

/// A region's fixture: indicators, members, a year of awards.
fn fixture(
    store: &Store,
    region: &RegionCode,
    clock: &FixedClock,
    members: u64,
    per_member: u32,
) -> Result<()> {
    let codes = put_indicators(store, region)?;
    seed(store, region, members)?;
    super::post_year(
        store,
        region,
        clock,
        2025,
        members,
        per_member,
        |member, k, seq| {
            // Members who work away take part in fewer kinds of act: always the first.
            let pick = if member.get() % 10 < 2 {
                0
            } else {
                (member.get() as usize + k as usize) % codes.len()
            };
            let points = INDICATORS[pick].2;
            NewEntry {
                kind: EntryKind::Award,
                member,
                amount: Points::new(points),
                indicator: Some(IndicatorRef {
                    code: codes[pick].clone(),
                    version: 1,
                }),
                quantity: 1,
                reason: Reason::new(Source::Direct, seq),
                operator: OperatorId::new(2).expect("positive"),
                reverses: None,
                sponsor: None,
                counts_annual: false,
            }
        },
    )
}

pub fn run(a: Args) -> Result<ExitCode> {
    if a.members == 0 || a.entries_per_member == 0 || a.page_members == 0 || a.page_requests == 0 {
        bail!(
            "--members, --entries-per-member, --page-members and --page-requests must be at least 1"
        );
    }
    let tmp = super::temp_dir("evaluate")?;
    let base = a.dir.clone().unwrap_or_else(|| tmp.0.clone());
    let clock = Arc::new(FixedClock::new(at("2025-01-02", 9)?));
    let (store_dir, store, region) = super::fresh_store_with(&base, clock.clone())?;
    let page_region = RegionCode::parse("bench-page").expect("valid code");
    store.create_region(NewRegion {
        region: Region::new(page_region.clone(), "bench page", RegionKind::Village, None)?,
        origin_prefix: crate::ORIGIN_PREFIX_DEFAULT.into(),
    })?;
    let built = Instant::now();
    eprintln!(
        "fixture in {}: {} members with {} entries each over 2025, and {} for the page ...",
        store_dir.display(),
        a.members,
        a.entries_per_member,
        a.page_members
    );
    fixture(&store, &region, &clock, a.members, a.entries_per_member)?;
    fixture(
        &store,
        &page_region,
        &clock,
        a.page_members,
        a.entries_per_member,
    )?;
    println!(
        "fixture: {} + {} members, {} entries each, in {:.1} s",
        a.members,
        a.page_members,
        a.entries_per_member,
        built.elapsed().as_secs_f64()
    );
    clock.set(at("2026-01-02", 9)?);

    let started = Instant::now();
    let e = store.evaluate(&region, 2025)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "evaluate: {} members, {} entries in {secs:.2} s (Gini {:.3}, {} groups, {} warnings)",
        e.overall.members,
        e.tree_size,
        e.overall.gini,
        e.groups.len(),
        e.warnings.len()
    );
    let started = Instant::now();
    let latest = store.latest_values(&region)?;
    let w = store.what_if(&region, 2025, &latest)?;
    println!(
        "what-if: {} members re-scored twice and a suggestion in {:.2} s ({})",
        w.today.scores.len(),
        started.elapsed().as_secs_f64(),
        match &w.suggested {
            Ok(s) => format!("{} values suggested", s.changes.len()),
            Err(why) => format!("no suggestion: {why}"),
        }
    );
    let started = Instant::now();
    let x = store.evaluation_export(&region, 2025, jifen_store::export::K_DEFAULT)?;
    let csv = x.rows_csv();
    let manifest = store.sign_note(&region, &x.manifest_text(&csv))?;
    println!(
        "export: {} rows ({} coarsened, {} left out), {} bytes, manifest {} bytes, in {:.2} s",
        x.rows.len(),
        x.coarsened,
        x.suppressed,
        csv.len(),
        manifest.len(),
        started.elapsed().as_secs_f64()
    );

    let times = page(&store, &page_region, a.page_requests)?;
    store.close();
    if a.dir.is_some() {
        println!("store kept in {}", store_dir.display());
    }
    println!(
        "page: GET /r/{page_region}/evaluation?year=2025 for {} members, {} requests: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        a.page_members,
        times.len(),
        pct(&times, 0.5),
        pct(&times, 0.9),
        times.last().copied().unwrap_or(0.0)
    );
    println!("evaluate: {secs:.2} s for {} members", a.members);
    Ok(ExitCode::SUCCESS)
}

/// Nearest-rank percentile of sorted milliseconds.
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Serves the store on loopback and asks for the evaluation page `n` times, one at
/// a time on one keep-alive connection, as the region's auditor. Sorted times, ms.
fn page(store: &Store, region: &RegionCode, n: u32) -> Result<Vec<f64>> {
    let password = jifen_server::auth::new_token().map_err(|e| anyhow!("{}", e.detail))?;
    let hash = jifen_server::auth::hash_password(&password).map_err(|e| anyhow!("{}", e.detail))?;
    let auditor = store.create_account(None, USERNAME, "bench auditor", Some(hash))?;
    store.grant_role(
        auditor,
        Grant {
            region: region.clone(),
            role: Role::Auditor,
            member: None,
            sponsor: None,
        },
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("listening on 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = jifen_server::AppState::new(
            store.clone(),
            jifen_store::keys::random_secret()?,
            format!("http://{addr}"),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(jifen_server::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        let host = addr.to_string();
        let mut sender = crate::http::connect(addr).await?;
        let login = serde_json::json!({ "username": USERNAME, "password": password });
        let (status, body) = crate::http::call(
            &mut sender,
            &host,
            hyper::Method::POST,
            "/api/v1/auth/login",
            None,
            None,
            Some(serde_json::to_vec(&login)?),
        )
        .await?;
        if status != hyper::StatusCode::OK {
            bail!(
                "login answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let token: serde_json::Value = serde_json::from_slice(&body)?;
        let token = token["token"]
            .as_str()
            .ok_or_else(|| anyhow!("login answer has no token"))?
            .to_owned();
        let path = format!("/r/{region}/evaluation?year=2025");
        let mut times = Vec::new();
        // One untimed request first: the token is checked and cached, as for anyone
        // who has just signed in.
        for i in 0..=n {
            let req = hyper::Request::builder()
                .method(hyper::Method::GET)
                .uri(&path)
                .header(hyper::header::HOST, &host)
                .header(
                    hyper::header::COOKIE,
                    format!("{}={token}", jifen_server::auth::SESSION_COOKIE),
                )
                .body(Full::new(Bytes::new()))?;
            sender.ready().await?;
            let started = Instant::now();
            let res = sender.send_request(req).await?;
            let status = res.status();
            let body = res.into_body().collect().await?.to_bytes();
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let html = String::from_utf8_lossy(&body);
            if status != hyper::StatusCode::OK || !html.contains("id=\"lorenz-chart\"") {
                bail!("the page answered {status} without its charts: {html}");
            }
            if i > 0 {
                times.push(ms);
            }
        }
        drop(sender);
        let _ = stop_tx.send(());
        server
            .await
            .context("the server task failed")?
            .context("serving")?;
        times.sort_by(f64::total_cmp);
        Ok(times)
    })
}
