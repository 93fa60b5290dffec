//! One error type for every handler: RFC 9457 problem details
//! (`application/problem+json`) with a human message and, where a field was
//! wrong, which field. Internal causes are logged here, once, and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jifen_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    pub field: Option<String>,
    /// Names the rule that refused, for clients that tell people in their own language.
    pub code: Option<&'static str>,
    /// Seconds until a refused request may be tried again (`Retry-After`).
    pub retry_after: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always "about:blank": the status and title say what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// What was wrong, for a person to read.
    pub detail: String,
    /// The request field that was wrong, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Which rule refused, when a rule did: out-of-stock, not-on-offer, level-too-low,
    /// limit-reached, budget-spent, member-erased, balance-too-low, cap-reached,
    /// open-claims, account-locked, address-throttled or rate-limited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            field: None,
            code: None,
            retry_after: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn field(field: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: detail.into(),
            field: Some(field.to_owned()),
            code: None,
            retry_after: None,
        }
    }
    /// 429 with `Retry-After`: a rule that limits how often refused this for now.
    pub fn too_many(code: &'static str, detail: impl Into<String>, retry_after_secs: u64) -> Self {
        ApiError {
            code: Some(code),
            retry_after: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
        }
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "an internal error occurred; it has been logged",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            StoreError::Rejected(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            StoreError::Refused { code, detail } => ApiError {
                code: Some(code),
                ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
            },
            StoreError::Field { field, detail } => ApiError::field(field, detail),
            StoreError::Forbidden(m) => ApiError::forbidden(m),
            StoreError::Commit(m) => {
                tracing::error!(error = %m, "write did not commit");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the write was not confirmed: send it again with the same Idempotency-Key, \
                     which never applies it twice",
                )
            }
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "the database is unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable for a moment: try again (a write with the same \
                     Idempotency-Key is never applied twice)",
                )
            }
            StoreError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ),
            // Not a secret, and the operator's to resolve: say what it is.
            StoreError::Fork(m) => {
                tracing::error!(error = %m, "the log refuses to sign");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the log refuses to sign a new checkpoint: {m}"),
                )
            }
            e @ (StoreError::Corrupt(_)
            | StoreError::Db(_)
            | StoreError::Unsupported(_)
            | StoreError::Io { .. }) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = Problem {
            kind: "about:blank",
            title,
            status: self.status.as_u16(),
            detail: self.detail,
            field: self.field,
            code: self.code.map(str::to_owned),
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
