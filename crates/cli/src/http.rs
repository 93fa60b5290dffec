//! A plain HTTP/1.1 client on the hyper that axum already brings in, for the
//! programs that drive a server over loopback (`jifen bench api`, `jifen drill`).

use std::net::SocketAddr;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;

/// A new keep-alive HTTP/1.1 connection; its driver runs as its own task.
pub async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    // Requests are small and answered one at a time: do not wait to coalesce.
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
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
    sender.ready().await?;
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
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(b)))?,
        None => req.body(Full::new(Bytes::new()))?,
    };
    let res = sender.send_request(req).await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}
