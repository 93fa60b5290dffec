//! Writes with `Idempotency-Key`, and reads off the async runtime.
//!
//! Every write to the API carries a key ([`require_key`], one layer for all of
//! them; signing in and out excepted): without one it is refused with 400, since a
//! client that retries after a timeout would otherwise post twice. The layer also
//! takes the request's digest (SHA-256 of method, path and body). A handler then
//! hands one store command to [`once`], which runs it under the key with
//! `Store::run_once`: an earlier answer under the same (account, key) for the same
//! digest comes back as it was and nothing is written; for another request it is
//! refused with 422 naming the key; otherwise the command runs and the store keeps
//! its answer, with the digest, in the same transaction. Answers are kept for
//! `IDEMPOTENCY_KEEP_HOURS` (the store's) and then deleted by the server's sweep.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jifen_core::OperatorId;
use jifen_store::{Command, Once, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// Longest idempotency key, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// The header [`require_key`] puts the request's digest in, for the handler's
/// write; a value the client sent under this name is dropped first.
const DIGEST_HEADER: &str = "jifen-request-digest";

/// A write's idempotency key and the digest of the request it came with.
#[derive(Debug, Clone)]
pub struct Idem {
    pub key: String,
    /// SHA-256 of the method, the path with its query, and the body.
    pub digest: Vec<u8>,
}

impl Idem {
    /// A page's own write (not through the API): the form's key, or a fresh one for
    /// a form that has none, with the digest of what the form asks for.
    pub fn for_page(form_key: &str, content: &str) -> Idem {
        let key = if form_key.is_empty() {
            crate::web::ctx::random_token()
        } else {
            form_key.to_owned()
        };
        Idem {
            key,
            digest: hex(&Sha256::digest(content.as_bytes())).into_bytes(),
        }
    }
}

/// Lowercase hex, without a string per byte (this runs on every write).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Writes that need no key: signing in makes a new session each time, and signing
/// out (of one session or of all) twice changes nothing.
fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/auth/login" | "/api/v1/auth/logout" | "/api/v1/auth/logout-everywhere"
    )
}

/// Every API write must carry an `Idempotency-Key`; this layer refuses one without
/// (400) and hands the handler the digest of the request, so a reused key with
/// another request is told apart from a retry.
pub async fn require_key(mut req: Request, next: Next) -> Response {
    req.headers_mut().remove(DIGEST_HEADER);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS)
        || !path.starts_with("/api/v1/")
        || exempt(&path)
    {
        return next.run(req).await;
    }
    if let Err(e) = key_of(req.headers()) {
        return e.into_response();
    }
    // A reward's picture is the one body larger than the rest.
    let max = if path.ends_with("/picture") {
        crate::api::market::PICTURE_BODY_BYTES_MAX
    } else {
        crate::BODY_BYTES_MAX
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over {max} bytes"),
            )
            .into_response();
        }
    };
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(
        parts
            .uri
            .path_and_query()
            .map_or(path.as_str(), |p| p.as_str())
            .as_bytes(),
    );
    h.update(b"\n");
    h.update(&bytes);
    let digest = hex(&h.finalize());
    let mut req = Request::from_parts(parts, Body::from(bytes));
    if let Ok(v) = HeaderValue::from_str(&digest) {
        req.headers_mut().insert(DIGEST_HEADER, v);
    }
    next.run(req).await
}

/// The write's `Idempotency-Key` and request digest; 400 when the key is missing.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Idem, ApiError> {
    let key = key_of(headers)?;
    let digest = headers
        .get(DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.as_bytes().to_vec())
        .ok_or_else(|| {
            ApiError::internal("a write reached its handler without a request digest")
        })?;
    Ok(Idem { key, digest })
}

/// The `Idempotency-Key` header, checked: required, 1 to 128 visible ASCII characters.
fn key_of(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Err(ApiError::bad_request(
            "this write needs an Idempotency-Key header: a value of your choosing, new for each new request and the same when you retry one (for example a UUID)",
        ));
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
    Ok(s.to_owned())
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

/// Runs `cmd` in the store at most once under (account, key) and answers with the
/// JSON of `spell(output)`, or with the first answer when this is a retry.
#[allow(clippy::too_many_arguments)]
pub async fn once<C, T>(
    state: &AppState,
    account: OperatorId,
    key: Idem,
    method: &'static str,
    path: String,
    status: StatusCode,
    cmd: C,
    spell: impl FnOnce(&C::Output) -> T + Send + 'static,
) -> Result<Response, ApiError>
where
    C: Command,
    T: Serialize,
{
    if let Some(rate) = state.write_rate()
        && let Err(wait) = rate.take(account.get(), state.clock().now())
    {
        return Err(ApiError::too_many(
            "rate-limited",
            format!(
                "this account has made {} writes in the last minute, the most it may: \
                 wait {wait} s (nothing of this request was done)",
                rate.per_minute()
            ),
            wait,
        ));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let once = Once {
        account,
        key: key.key,
        method: method.to_owned(),
        path,
        digest: key.digest,
        status: status.as_u16(),
    };
    state.store().run_once(
        cmd,
        once,
        move |out| serde_json::to_vec(&spell(out)).map_err(|e| e.to_string()),
        move |r| {
            let _ = tx.send(r);
        },
    )?;
    let answer = rx.await.map_err(|_| ApiError::from(StoreError::Closed))??;
    Ok(json_response(
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
        answer.body,
        answer.replayed,
    ))
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
