//! jifen's HTTP service: the JSON API under `/api/v1` with its OpenAPI document
//! (generated from the handlers), accounts and roles, the claim → review → post
//! workflow, events and QR check-in, public notice, appeals, and the live
//! transparency log under `/log/` in the C2SP tlog-tiles layout.
//!
//! # Layout
//! - [`error`]: `ApiError`, problem details.
//! - [`json`]: the JSON extractor whose refusals say which field was wrong.
//! - [`auth`]: tokens, sessions, Argon2id, the `Principal` extractor.
//! - [`write`]: idempotent writes (`Idempotency-Key`) and blocking reads.
//! - [`api`]: the handlers, one module per area, and the wire types they speak.
//! - [`logs`]: `/log/{region}/checkpoint` and tiles, served live.
//! - [`metrics`]: `/metrics` in the Prometheus text format.
//!
//! Only this crate serialises: domain types have no serde; wire types here are
//! converted by hand, because a wire format is a compatibility promise.

pub mod access;
pub mod api;
pub mod auth;
pub mod client;
pub mod error;
mod headers;
pub mod json;
pub mod logs;
pub mod metrics;
pub mod throttle;
pub mod web;
pub mod witness;
pub mod witnessing;
pub mod write;

use std::sync::Arc;

use axum::Router;
use jifen_core::Clock;
use jifen_store::Store;

/// Largest request body, in bytes.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest page of a list.
pub const PAGE_ITEMS_MAX: u32 = 200;
/// Page size when the client gives none.
pub const PAGE_ITEMS_DEFAULT: u32 = 50;

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    tokens: auth::TokenCache,
    metrics: metrics::Metrics,
    /// Signs check-in links (HMAC-SHA256); kept in the data folder.
    link_key: [u8; 32],
    /// Where the server is reached, for links in QR codes, e.g. `http://127.0.0.1:8080`.
    public_url: String,
    /// Whether `X-Forwarded-Proto: https` from a proxy in front is believed (the
    /// cookies are then `Secure`); off unless the operator says so.
    trust_forwarded_proto: bool,
    /// Recent wrong passwords per client address.
    sign_in_failures: throttle::AddressFailures,
    /// API writes per account per minute (`None`: no limit).
    write_rate: Option<throttle::WriteRate>,
    /// Regions' UTC offsets (they never change once a region exists).
    offsets: std::sync::RwLock<std::collections::HashMap<jifen_core::RegionCode, i32>>,
    /// The public page's activity per region, with when it was read (Unix ms).
    activity: std::sync::Mutex<ActivityCache>,
    /// The live log's latest checkpoints, as served.
    checkpoints: logs::CheckpointCache,
    /// The live log's full tiles, as served.
    tiles: logs::TileCache,
    witness: Option<witness::WitnessConfig>,
}

type ActivityCache =
    std::collections::HashMap<jifen_core::RegionCode, (i64, Arc<jifen_store::Activity>)>;

/// How long the public page's activity charts are served from memory, in ms.
pub const ACTIVITY_CACHE_MS: i64 = 60_000;

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    pub fn new(store: Store, link_key: [u8; 32], public_url: String) -> Self {
        let clock = store.clock().clone();
        AppState {
            inner: Arc::new(Inner {
                store,
                clock,
                tokens: auth::TokenCache::default(),
                metrics: metrics::Metrics::default(),
                link_key,
                public_url,
                trust_forwarded_proto: false,
                sign_in_failures: Default::default(),
                write_rate: None,
                offsets: Default::default(),
                activity: Default::default(),
                checkpoints: Default::default(),
                tiles: Default::default(),
                witness: None,
            }),
        }
    }
    /// Believe a proxy's `X-Forwarded-Proto: https` (set when jifen runs behind a
    /// TLS proxy that sets the header and strips it from clients).
    pub fn trusting_forwarded_proto(mut self, trust: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.trust_forwarded_proto = trust;
        }
        self
    }
    /// At most `per_minute` API writes per account in any minute (a burst of that many,
    /// then one every `60 / per_minute` s); 0 or `None`: no limit. `jifen serve` sets
    /// [`throttle::ACCOUNT_WRITES_PER_MINUTE`] unless told otherwise.
    pub fn limiting_writes(mut self, per_minute: Option<u32>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.write_rate = per_minute.filter(|n| *n > 0).map(throttle::WriteRate::new);
        }
        self
    }
    /// Makes this server a witness of the logs `config` follows (`/witness/...`).
    pub fn witnessing(mut self, config: witness::WitnessConfig) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.witness = Some(config);
        }
        self
    }
    pub fn witness(&self) -> Option<&witness::WitnessConfig> {
        self.inner.witness.as_ref()
    }
    pub fn write_rate(&self) -> Option<&throttle::WriteRate> {
        self.inner.write_rate.as_ref()
    }
    pub fn trusts_forwarded_proto(&self) -> bool {
        self.inner.trust_forwarded_proto
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
    pub fn tokens(&self) -> &auth::TokenCache {
        &self.inner.tokens
    }
    pub fn sign_in_failures(&self) -> &throttle::AddressFailures {
        &self.inner.sign_in_failures
    }
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }
    pub fn link_key(&self) -> &[u8; 32] {
        &self.inner.link_key
    }
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }
    pub(crate) fn checkpoints(&self) -> &logs::CheckpointCache {
        &self.inner.checkpoints
    }
    pub(crate) fn tiles(&self) -> &logs::TileCache {
        &self.inner.tiles
    }
    /// A region's UTC offset in minutes, cached after the first read; 404 for an unknown region.
    pub async fn offset(&self, code: &jifen_core::RegionCode) -> Result<i32, error::ApiError> {
        if let Some(o) = self
            .inner
            .offsets
            .read()
            .ok()
            .and_then(|m| m.get(code).copied())
        {
            return Ok(o);
        }
        let c = code.clone();
        let o = write::read(self, move |s| Ok(s.region_offset(&c)?)).await?;
        if let Ok(mut m) = self.inner.offsets.write() {
            m.insert(code.clone(), o);
        }
        Ok(o)
    }

    /// A region's entries per day and per category since `from_ms`, read at most
    /// once a minute per region (the public page is open to everyone).
    pub async fn activity(
        &self,
        code: &jifen_core::RegionCode,
        from_ms: i64,
    ) -> Result<Arc<jifen_store::Activity>, error::ApiError> {
        let now = self.clock().now().millis();
        if let Some(a) = self.inner.activity.lock().ok().and_then(|m| {
            m.get(code)
                .filter(|(at, _)| now - *at < ACTIVITY_CACHE_MS && now >= *at)
                .map(|(_, a)| a.clone())
        }) {
            return Ok(a);
        }
        let c = code.clone();
        let a = Arc::new(write::read(self, move |s| Ok(s.activity(&c, from_ms)?)).await?);
        if let Ok(mut m) = self.inner.activity.lock() {
            m.insert(code.clone(), (now, a.clone()));
        }
        Ok(a)
    }
}

/// The whole service: API, OpenAPI document and docs page, live log, health, metrics.
pub fn router(state: AppState) -> Router {
    let (api_router, openapi) = api::routes().split_for_parts();
    let openapi = Arc::new(openapi);
    api_router
        .merge(logs::routes())
        .merge(witness::routes())
        .merge(metrics::routes())
        .merge(api::docs::routes(openapi))
        .merge(web::routes())
        .layer(axum::middleware::from_fn(write::require_key))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
