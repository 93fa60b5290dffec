//! A JSON body extractor whose refusals are problem details: malformed JSON is a
//! 400, a wrong type, a missing or unknown field a 422 naming the field, a body
//! that is not JSON a 415, one over the limit a 413. Nothing is changed on refusal.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json")
                    || m.to_ascii_lowercase().ends_with("+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {} bytes", crate::BODY_BYTES_MAX),
                )
            } else {
                ApiError::bad_request(format!("cannot read the body: {e}"))
            }
        })?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let parsed = serde_path_to_error::deserialize::<_, T>(&mut de);
        if parsed.is_ok()
            && let Err(e) = de.end()
        {
            return Err(ApiError::bad_request(format!("malformed JSON: {e}")));
        }
        match parsed {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                match inner.classify() {
                    serde_json::error::Category::Data => {
                        let msg = inner.to_string();
                        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                        // The path ends at an unknown field, but at the object that lacks a
                        // missing one: serde names that field in the message.
                        let missing = msg
                            .starts_with("missing field")
                            .then(|| unknown_field(&msg))
                            .flatten();
                        let field = match (path.as_str(), missing) {
                            (".", Some(f)) => f,
                            (".", None) => unknown_field(&msg).unwrap_or_default(),
                            (p, Some(f)) => format!("{p}.{f}"),
                            (p, None) => p.to_owned(),
                        };
                        if field.is_empty() {
                            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, msg))
                        } else {
                            Err(ApiError::field(&field, format!("{field}: {msg}")))
                        }
                    }
                    _ => Err(ApiError::bad_request(format!("malformed JSON: {inner}"))),
                }
            }
        }
    }
}

/// serde names an unknown or missing field in backquotes.
fn unknown_field(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_owned())
}
