//! The live transparency log: `/log/{region}/checkpoint` and `/log/{region}/tile/...`,
//! the same bytes `jifen log publish` writes, in the C2SP tlog-tiles layout.
//!
//! Every auditor, witness and resident's browser polls the checkpoint, so it is
//! served from memory, read again from the store at most once a second per region,
//! and may be kept by a proxy for a second (`max-age=1`); a tile never changes once
//! it exists (a partial one is named by its width), so tiles are `immutable`. Both
//! carry an ETag and answer `If-None-Match` with 304.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jifen_core::RegionCode;
use jifen_log::{TILE_WIDTH, TilePath};

use crate::AppState;
use crate::error::ApiError;
use crate::write::read;

fn region(s: &str) -> Result<RegionCode, ApiError> {
    RegionCode::parse(s).map_err(|e| ApiError::not_found(e.to_string()))
}

/// How long the checkpoint is served from memory before the store is asked again.
pub const CHECKPOINT_CACHE: std::time::Duration = std::time::Duration::from_secs(1);

/// A log answer and its ETag (a hash of the bytes).
#[derive(Clone)]
pub struct Served {
    pub body: axum::body::Bytes,
    pub etag: HeaderValue,
}

impl Served {
    fn new(body: Vec<u8>) -> Served {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&body);
        let mut tag = String::with_capacity(2 + 32);
        tag.push('"');
        for b in &d[..16] {
            tag.push_str(&format!("{b:02x}"));
        }
        tag.push('"');
        Served {
            body: axum::body::Bytes::from(body),
            etag: HeaderValue::from_str(&tag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
        }
    }
}

/// Full hash tiles kept in memory at most (8 KiB each: 32 MiB); when full the cache
/// is emptied and fills again with what is asked for.
pub const FULL_TILES_CACHED_MAX: usize = 4096;

/// Full hash tiles as served: they never change, so a hit needs no store read at
/// all. Keyed by region, level and index.
#[derive(Default)]
pub struct TileCache(
    std::sync::RwLock<std::collections::HashMap<(RegionCode, Option<u8>, u64), Served>>,
);

/// The region's latest checkpoints as served, with when each was read.
#[derive(Default)]
pub struct CheckpointCache(
    std::sync::RwLock<std::collections::HashMap<RegionCode, (std::time::Instant, Served)>>,
);

fn answer(
    s: &Served,
    headers: &HeaderMap,
    content_type: &'static str,
    cache: &'static str,
) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().as_bytes() == s.etag.as_bytes() || t.trim() == "*")
        });
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        s.body.clone().into_response()
    };
    let h = res.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    h.insert(header::ETAG, s.etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

async fn checkpoint(
    State(state): State<AppState>,
    Path(r): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let code = region(&r)?;
    let cache = state.checkpoints();
    let hit = cache.0.read().ok().and_then(|m| {
        m.get(&code)
            .filter(|(at, _)| at.elapsed() < CHECKPOINT_CACHE)
            .map(|(_, s)| s.clone())
    });
    let served = match hit {
        Some(s) => s,
        None => {
            let c2 = code.clone();
            let (_, note) = read(&state, move |s| Ok(s.checkpoint(&c2)?)).await?;
            let s = Served::new(note.into_bytes());
            if let Ok(mut m) = cache.0.write() {
                m.insert(code, (std::time::Instant::now(), s.clone()));
            }
            s
        }
    };
    Ok(answer(
        &served,
        &headers,
        "text/plain; charset=utf-8",
        "public, max-age=1",
    ))
}

async fn tile(
    State(state): State<AppState>,
    Path((r, rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let code = region(&r)?;
    let path = format!("tile/{rest}");
    let tp = jifen_log::parse_tile_path(&path)
        .map_err(|e| ApiError::not_found(format!("{path}: {e}")))?;
    let key = match tp {
        TilePath::Hashes {
            level,
            index,
            width,
        } => (u64::from(width) == TILE_WIDTH).then_some((code.clone(), Some(level), index)),
        // Entry bundles vary in size (a leaf's text): not kept, so the bound holds.
        TilePath::Entries { .. } => None,
    };
    let tiles = state.tiles();
    if let Some(k) = &key
        && let Some(s) = tiles.0.read().ok().and_then(|m| m.get(k).cloned())
    {
        return Ok(answer(
            &s,
            &headers,
            "application/octet-stream",
            "public, max-age=31536000, immutable",
        ));
    }
    let body = read(&state, move |s| {
        let (cp, _) = s.checkpoint(&code)?;
        let (level, index, width) = match tp {
            TilePath::Hashes {
                level,
                index,
                width,
            } => (Some(level), index, width),
            TilePath::Entries { index, width } => (None, index, width),
        };
        // What exists at the latest checkpoint: a tile that is not (yet) that wide is 404.
        let nodes = cp.size >> (8 * u32::from(level.unwrap_or(0)));
        let have = nodes.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH);
        let want = u64::from(width);
        let full = want == TILE_WIDTH;
        if have == 0 || (full && have < TILE_WIDTH) || (!full && have < want) {
            return Err(ApiError::not_found(format!(
                "{path} is not in the log (yet)"
            )));
        }
        match level {
            Some(level) => {
                let blob = s.tile(&code, level, index)?.unwrap_or_default();
                let n = usize::try_from(want).unwrap_or(0) * 32;
                blob.get(..n)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| ApiError::internal(format!("tile {level}/{index} too short")))
            }
            None => {
                let leaves = s.leaves(&code, index * TILE_WIDTH, index * TILE_WIDTH + want)?;
                jifen_log::encode_entry_bundle(leaves.iter().map(|(_, l)| l.as_slice()))
                    .map_err(ApiError::internal)
            }
        }
    })
    .await?;
    let served = Served::new(body);
    if let Some(k) = key
        && let Ok(mut m) = tiles.0.write()
    {
        if m.len() >= FULL_TILES_CACHED_MAX {
            m.clear();
        }
        m.insert(k, served.clone());
    }
    Ok(answer(
        &served,
        &headers,
        "application/octet-stream",
        "public, max-age=31536000, immutable",
    ))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/{region}/checkpoint", get(checkpoint))
        .route("/log/{region}/tile/{*rest}", get(tile))
}
