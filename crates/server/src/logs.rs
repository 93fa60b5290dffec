//! The live transparency log: `/log/{region}/checkpoint` and `/log/{region}/tile/...`,
//! the same bytes `jifen log publish` writes, in the C2SP tlog-tiles layout.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
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

fn bytes(body: Vec<u8>, content_type: &'static str, immutable: bool) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-store"
        }),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

async fn checkpoint(
    State(state): State<AppState>,
    Path(r): Path<String>,
) -> Result<Response, ApiError> {
    let code = region(&r)?;
    let (_, note) = read(&state, move |s| Ok(s.checkpoint(&code)?)).await?;
    Ok(bytes(note.into_bytes(), "text/plain; charset=utf-8", false))
}

async fn tile(
    State(state): State<AppState>,
    Path((r, rest)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let code = region(&r)?;
    let path = format!("tile/{rest}");
    let tp = jifen_log::parse_tile_path(&path)
        .map_err(|e| ApiError::not_found(format!("{path}: {e}")))?;
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
    Ok(bytes(body, "application/octet-stream", true))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/{region}/checkpoint", get(checkpoint))
        .route("/log/{region}/tile/{*rest}", get(tile))
}
