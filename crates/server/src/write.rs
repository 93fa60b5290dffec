//! Writes with `Idempotency-Key`, and reads off the async runtime.
//!
//! A write runs as one job in the store's writer: it first looks for an earlier
//! answer under the same (account, key); if there is one it is returned as it
//! was and nothing is written; otherwise the work runs and its answer is stored
//! in the same transaction, so the answer is kept exactly when the write is.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jifen_core::OperatorId;
use jifen_store::{Batch, StoreError};
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// Longest idempotency key, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// The `Idempotency-Key` header, if sent, checked.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?
        .trim();
    if s.is_empty()
        || s.len() > IDEMPOTENCY_KEY_BYTES_MAX
        || !s.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ApiError::bad_request(format!(
            "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"
        )));
    }
    Ok(Some(s.to_owned()))
}

fn json_response(status: StatusCode, body: Vec<u8>, replayed: bool) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Runs `f` in the writer as an idempotent write and answers with its JSON.
pub async fn idempotent<T, F>(
    state: &AppState,
    account: OperatorId,
    key: Option<String>,
    method: &'static str,
    path: String,
    status: StatusCode,
    f: F,
) -> Result<Response, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut Batch<'_>) -> Result<T, ApiError> + Send + 'static,
{
    enum Answer {
        Fresh(Vec<u8>),
        Replayed(u16, Vec<u8>),
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let path_for_job = path.clone();
    // Domain refusals travel through the store as `Rejected`, tagged with their status.
    state.store().write_with(
        move |b| -> Result<Answer, StoreError> {
            if let Some(k) = &key
                && let Some((m, p, s, body)) = jifen_store::accounts::lookup_response_in(b, account, k)?
            {
                if m != method || p != path_for_job {
                    return Err(StoreError::Conflict(format!(
                        "Idempotency-Key {k:?} was already used for {m} {p}; use a new key for a new request"
                    )));
                }
                return Ok(Answer::Replayed(s, body));
            }
            let value = f(b).map_err(api_to_store)?;
            let body = serde_json::to_vec(&value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(k) = &key {
                jifen_store::accounts::record_response(b, account, k, method, &path_for_job, status.as_u16(), &body)?;
            }
            Ok(Answer::Fresh(body))
        },
        move |r| {
            let _ = tx.send(r);
        },
    )?;
    match rx.await.map_err(|_| ApiError::from(StoreError::Closed))? {
        Ok(Answer::Fresh(body)) => Ok(json_response(status, body, false)),
        Ok(Answer::Replayed(s, body)) => Ok(json_response(
            StatusCode::from_u16(s).unwrap_or(StatusCode::OK),
            body,
            true,
        )),
        Err(e) => Err(store_to_api(e)),
    }
}

/// An `ApiError` raised inside a write job rides through the store as a tagged `Rejected`.
const TAG: &str = "\u{1}api:";

fn api_to_store(e: ApiError) -> StoreError {
    // A rule's refusal keeps its code (it maps back to the same 422).
    if let Some(code) = e.code
        && e.status == StatusCode::UNPROCESSABLE_ENTITY
        && e.field.is_none()
    {
        return StoreError::Refused {
            code,
            detail: e.detail,
        };
    }
    StoreError::Rejected(format!(
        "{TAG}{}:{}:{}",
        e.status.as_u16(),
        e.field.unwrap_or_default(),
        e.detail
    ))
}

fn store_to_api(e: StoreError) -> ApiError {
    if let StoreError::Rejected(m) = &e
        && let Some(rest) = m.strip_prefix(TAG)
    {
        let mut parts = rest.splitn(3, ':');
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .and_then(|s| StatusCode::from_u16(s).ok());
        let field = parts.next().filter(|f| !f.is_empty()).map(str::to_owned);
        let detail = parts.next().unwrap_or_default().to_owned();
        return ApiError {
            status: status.unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            detail,
            field,
            code: None,
        };
    }
    ApiError::from(e)
}

/// Runs a blocking store read on the blocking pool.
pub async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&jifen_store::Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store().clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(ApiError::internal)?
}
