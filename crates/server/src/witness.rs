//! This server as a witness of other logs (c2sp.org/tlog-witness):
//! `POST /witness/add-checkpoint` and `GET /witness/<sha256 of origin>/checkpoint`.
//!
//! A witness follows the logs it is configured with (origin and verifier key, given to
//! `jifen serve --witness-log`). The check of a request and the record of what it holds
//! are one write of the store (`Store::witness_checkpoint`), so it never cosigns a smaller
//! tree, or another tree of a size it cosigned, not even across restarts.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jifen_log::{AddCheckpoint, Cosigner, NoteVerifier, WitnessRefusal};

use sha2::{Digest, Sha256};

use crate::AppState;

/// What this server witnesses, and the key it cosigns with.
pub struct WitnessConfig {
    pub cosigner: Arc<Cosigner>,
    pub logs: Vec<NoteVerifier>,
}

impl WitnessConfig {
    /// A witness named by `cosigner`, following `logs` (each log's origin is its key's
    /// name, as jifen and the C2SP logs sign).
    pub fn new(cosigner: Cosigner, logs: Vec<NoteVerifier>) -> Self {
        WitnessConfig {
            cosigner: Arc::new(cosigner),
            logs,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/witness/add-checkpoint", post(add_checkpoint))
        .route("/witness/{origin_hash}/checkpoint", get(checkpoint))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn refused(r: &WitnessRefusal) -> Response {
    let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
    match r {
        WitnessRefusal::Conflict { held } => (
            status,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{held}\n"),
        )
            .into_response(),
        other => text(status, format!("{other}\n")),
    }
}

/// Checks a checkpoint against the one held for its log and, if it extends it, records
/// and cosigns it. Answers per tlog-witness: 200 with the cosignature line; 400 for a
/// body that does not parse; 403 when the log's key did not sign it; 404 for a log not
/// followed; 409 (`text/x.tlog.size`) with the size held when the old size is another;
/// 422 when it is not consistent with what is held.
async fn add_checkpoint(State(state): State<AppState>, body: String) -> Response {
    let Some(config) = state.witness() else {
        return text(
            StatusCode::NOT_FOUND,
            "this server is not a witness (jifen serve --witness-name)\n".to_owned(),
        );
    };
    let request = match AddCheckpoint::parse(&body) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let origin = match request.unverified_checkpoint() {
        Ok(cp) => cp.origin,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let Some(log) = config.logs.iter().find(|l| l.name() == origin).cloned() else {
        return refused(&WitnessRefusal::UnknownLog(origin));
    };
    // The signature is checked here, outside the writer: a request any client can send
    // must not hold up the ledger's writes.
    let verified = match jifen_log::verify_add_checkpoint(&request, &log) {
        Ok(v) => v,
        Err(refusal) => return refused(&refusal),
    };
    let cosigner = config.cosigner.clone();
    let answer = crate::write::read(&state, move |s| {
        Ok(s.witness_checkpoint(verified, cosigner)?)
    })
    .await;
    match answer {
        Ok(Ok(line)) => text(StatusCode::OK, line),
        Ok(Err(refusal)) => {
            tracing::warn!(origin = %origin, refusal = %refusal, "witness refused a checkpoint");
            refused(&refusal)
        }
        Err(e) => e.into_response(),
    }
}

/// The checkpoint last cosigned for the log whose origin hashes (SHA-256, lowercase hex)
/// to `origin_hash`, with the log's signature and this witness's cosignature.
async fn checkpoint(State(state): State<AppState>, Path(origin_hash): Path<String>) -> Response {
    let Some(config) = state.witness() else {
        return text(
            StatusCode::NOT_FOUND,
            "this server is not a witness\n".to_owned(),
        );
    };
    let Some(origin) = config
        .logs
        .iter()
        .map(|l| l.name().to_owned())
        .find(|o| hex(&Sha256::digest(o.as_bytes())) == origin_hash)
    else {
        return text(
            StatusCode::NOT_FOUND,
            "no log followed has that origin hash\n".to_owned(),
        );
    };
    match crate::write::read(&state, move |s| Ok(s.witnessed_checkpoint(&origin)?)).await {
        Ok(Some((_, note))) => text(StatusCode::OK, note),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            "this witness has cosigned no checkpoint of that log yet\n".to_owned(),
        ),
        Err(e) => e.into_response(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
