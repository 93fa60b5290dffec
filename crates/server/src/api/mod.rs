//! The JSON API under `/api/v1`, one module per area. Every handler carries a
//! `#[utoipa::path]`, and routes are registered only through `routes!`, so the
//! OpenAPI document lists exactly the routes that exist.

pub mod admin;
pub mod appeals;
pub mod auth_api;
pub mod claims;
pub mod data_access;
pub mod docs;
pub mod entries;
pub mod evaluation;
pub mod events;
pub mod find;
pub mod market;
pub mod notice;
pub mod recognition;
pub mod regions;
pub mod wire;
pub mod year;

use jifen_core::{ClaimId, RegionCode};
use serde::Deserialize;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::{AppState, PAGE_ITEMS_DEFAULT, PAGE_ITEMS_MAX};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jifen API",
        description = "Community participation points (积分): claims, reviews, balances, appeals, and a verifiable ledger. \
                       Errors are RFC 9457 problem details. Every write accepts an Idempotency-Key header.",
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&Security),
)]
struct ApiDoc;

struct Security;
impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth_api::routes())
        .merge(regions::routes())
        .merge(claims::routes())
        .merge(entries::routes())
        .merge(events::routes())
        .merge(notice::routes())
        .merge(appeals::routes())
        .merge(admin::routes())
        .merge(market::routes())
        .merge(year::routes())
        .merge(data_access::routes())
        .merge(evaluation::routes())
        .merge(find::routes())
        .merge(recognition::routes())
}

/// A region code from a path; an invalid one is simply not found.
pub fn region(s: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(s).map_err(|e| ApiError::not_found(format!("region {s:?}: {e}")))
}

/// A `<region>:<number>` id, as claims and entries are named across regions.
pub fn scoped_id(kind: &str, s: &str) -> Result<(RegionCode, i64), ApiError> {
    let bad = || {
        ApiError::not_found(format!(
            "{kind} {s:?}: an id is <region>:<number>, e.g. tongxiang-yuefeng:12"
        ))
    };
    let (r, n) = s.rsplit_once(':').ok_or_else(bad)?;
    let region = RegionCode::parse(r).map_err(|_| bad())?;
    let n: i64 = n.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    Ok((region, n))
}

pub fn claim_id(s: &str) -> Result<(RegionCode, ClaimId), ApiError> {
    let (r, n) = scoped_id("claim", s)?;
    Ok((
        r,
        ClaimId::new(n).map_err(|_| ApiError::not_found(format!("claim {s:?}")))?,
    ))
}

/// `?after=<id>&limit=<n>`: keyset pagination, bounded.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Return items after this id (from the previous page's `next`).
    pub after: Option<i64>,
    /// At most this many items (default 50, at most 200).
    pub limit: Option<u32>,
}

impl Page {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(PAGE_ITEMS_DEFAULT),
            Some(0) => Err(ApiError::field("limit", "limit must be at least 1")),
            Some(n) if n > PAGE_ITEMS_MAX => Err(ApiError::field(
                "limit",
                format!("limit must be at most {PAGE_ITEMS_MAX}"),
            )),
            Some(n) => Ok(n),
        }
    }
    pub fn after(&self) -> i64 {
        self.after.unwrap_or(0).max(0)
    }
}
