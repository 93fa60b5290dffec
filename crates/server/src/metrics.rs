//! `/metrics` in the Prometheus text format: requests by status class, a latency
//! histogram, refused sign-ins, per-region log sizes and regions waiting after a
//! restore.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS_S: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_us: AtomicU64,
    /// Sign-ins: wrong passwords, and refusals by the limits (account, address).
    sign_in_wrong: AtomicU64,
    sign_in_locked: AtomicU64,
    sign_in_throttled: AtomicU64,
}

/// What a sign-in came to, for [`Metrics::sign_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInCount {
    Wrong,
    AccountLocked,
    AddressThrottled,
}

impl Metrics {
    /// Counts a sign-in that did not get in.
    pub fn sign_in(&self, what: SignInCount) {
        let c = match what {
            SignInCount::Wrong => &self.sign_in_wrong,
            SignInCount::AccountLocked => &self.sign_in_locked,
            SignInCount::AddressThrottled => &self.sign_in_throttled,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        for (i, b) in BUCKETS_S.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Middleware: counts and times every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let res = next.run(req).await;
    state
        .metrics()
        .observe(res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}

async fn render(State(state): State<AppState>) -> Response {
    use std::fmt::Write;
    let m = state.metrics();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP jifen_http_requests_total HTTP requests answered, by status class."
    );
    let _ = writeln!(out, "# TYPE jifen_http_requests_total counter");
    for (i, c) in m.by_class.iter().enumerate() {
        let _ = writeln!(
            out,
            "jifen_http_requests_total{{class=\"{}xx\"}} {}",
            i + 1,
            c.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP jifen_http_request_duration_seconds Time to answer a request."
    );
    let _ = writeln!(out, "# TYPE jifen_http_request_duration_seconds histogram");
    for (i, b) in BUCKETS_S.iter().enumerate() {
        let _ = writeln!(
            out,
            "jifen_http_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
            m.buckets[i].load(Ordering::Relaxed)
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "jifen_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "jifen_http_request_duration_seconds_sum {}",
        m.sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "jifen_http_request_duration_seconds_count {count}");
    let _ = writeln!(
        out,
        "# HELP jifen_sign_ins_refused_total Sign-ins that did not get in: a wrong password, an account locked after wrong passwords, an address throttled."
    );
    let _ = writeln!(out, "# TYPE jifen_sign_ins_refused_total counter");
    for (why, c) in [
        ("wrong", &m.sign_in_wrong),
        ("account-locked", &m.sign_in_locked),
        ("address-throttled", &m.sign_in_throttled),
    ] {
        let _ = writeln!(
            out,
            "jifen_sign_ins_refused_total{{why=\"{why}\"}} {}",
            c.load(Ordering::Relaxed)
        );
    }
    let store = state.store().clone();
    if let Ok(Ok((regions, restored))) = tokio::task::spawn_blocking(move || {
        Ok::<_, jifen_store::StoreError>((store.regions()?, store.restored_regions()?))
    })
    .await
    {
        let _ = writeln!(
            out,
            "# HELP jifen_log_entries Entries in each region's log."
        );
        let _ = writeln!(out, "# TYPE jifen_log_entries gauge");
        for r in regions {
            let _ = writeln!(
                out,
                "jifen_log_entries{{region=\"{}\"}} {}",
                r.region.code, r.size
            );
        }
        let _ = writeln!(
            out,
            "# HELP jifen_log_restored Regions restored from a backup that take no write until `jifen log resume` (1)."
        );
        let _ = writeln!(out, "# TYPE jifen_log_restored gauge");
        for r in restored {
            let _ = writeln!(out, "jifen_log_restored{{region=\"{r}\"}} 1");
        }
    }
    let mut res = out.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

async fn healthz() -> &'static str {
    "ok\n"
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(healthz))
}
