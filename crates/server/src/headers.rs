//! Security headers on every response, in one layer rather than per route: a
//! content security policy (unless the route set a narrower one of its own), no
//! MIME sniffing, no referrer beyond this origin, no framing. A request that came
//! over TLS (jifen itself speaks plain HTTP, so that means a TLS proxy in front
//! whose `X-Forwarded-Proto: https` the operator said to trust) gets its cookies
//! marked `Secure` and a `Strict-Transport-Security` header.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The policy for pages and answers that set none of their own: everything from
/// this origin only, no plugins, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// How long a browser keeps to HTTPS once told, in seconds (one year).
const HSTS_SECONDS: u32 = 31_536_000;

/// Whether the request reached the proxy over TLS, by a header the operator trusts.
fn came_over_tls(state: &AppState, req: &Request) -> bool {
    state.trusts_forwarded_proto()
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let tls = came_over_tls(&state, &req);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if tls {
        let cookies: Vec<HeaderValue> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| {
                let s = v.to_str().unwrap_or_default();
                if s.is_empty() || s.to_ascii_lowercase().contains("; secure") {
                    v.clone()
                } else {
                    HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or_else(|_| v.clone())
                }
            })
            .collect();
        h.remove(header::SET_COOKIE);
        for c in cookies {
            h.append(header::SET_COOKIE, c);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={HSTS_SECONDS}")) {
            h.insert(header::STRICT_TRANSPORT_SECURITY, v);
        }
    }
    res
}
