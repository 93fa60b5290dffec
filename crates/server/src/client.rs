//! A plain HTTP/1.1 client on the hyper that axum already brings in: the server submits
//! its checkpoints to witnesses with it, and the programs that drive a server over
//! loopback (`jifen bench`, `jifen drill`) use it. No TLS: a witness far away is reached
//! through a TLS proxy on this machine's side.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;

/// The largest answer the client reads, in bytes; a longer one is an error.
pub const ANSWER_BYTES_MAX: usize = 16 << 20;

/// What the client's calls return: failures as I/O errors, saying what failed.
pub type Result<T> = std::result::Result<T, std::io::Error>;

fn failed(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

/// A new keep-alive HTTP/1.1 connection; its driver runs as its own task.
pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| failed(&format!("connecting to {addr}"), e))?;
    // Requests are small and answered one at a time: do not wait to coalesce.
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed("HTTP handshake", e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "client connection closed");
        }
    });
    Ok(sender)
}

/// Sends one request on the connection and reads the whole answer: status and body.
pub async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    idempotency_key: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<(StatusCode, Bytes)> {
    let (status, _, body) =
        exchange(sender, host, method, path, bearer, idempotency_key, body).await?;
    Ok((status, body))
}

/// [`call`], with the answer's headers.
pub async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    idempotency_key: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<(StatusCode, HeaderMap, Bytes)> {
    send(
        sender,
        host,
        method,
        path,
        bearer,
        idempotency_key,
        body,
        "application/json",
    )
    .await
}

/// Posts a text body (`text/plain`), as tlog-witness asks, and reads the whole answer.
pub async fn post_text(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    path: &str,
    body: String,
) -> Result<(StatusCode, HeaderMap, Bytes)> {
    send(
        sender,
        host,
        Method::POST,
        path,
        None,
        None,
        Some(body.into_bytes()),
        "text/plain",
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    idempotency_key: Option<&str>,
    body: Option<Vec<u8>>,
    content_type: &str,
) -> Result<(StatusCode, HeaderMap, Bytes)> {
    sender
        .ready()
        .await
        .map_err(|e| failed("the connection", e))?;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, host);
    if let Some(b) = bearer {
        req = req.header(header::AUTHORIZATION, b);
    }
    if let Some(k) = idempotency_key {
        req = req.header("idempotency-key", k);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(b))),
        None => req.body(Full::new(Bytes::new())),
    }
    .map_err(|e| failed("the request", e))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| failed("sending", e))?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = http_body_util::Limited::new(res.into_body(), ANSWER_BYTES_MAX)
        .collect()
        .await
        .map_err(|e| failed("reading the answer", e))?
        .to_bytes();
    Ok((status, headers, body))
}
