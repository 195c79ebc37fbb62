//! The one error type handlers return, and its mapping to status codes and JSON bodies.
//!
//! Every error body is `{"error": "<code>", "message": "<sentence>"}` (plus details where a
//! client can act on them). Internals are never sent to clients; 5xx are logged once here, inside
//! the request's span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ingest::Rejection;
use crate::store::StoreError;

/// Seconds a client is asked to wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the expected shape.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code.
        code: &'static str,
        /// Human sentence saying where the problem is.
        message: String,
    },
    /// A token is configured and the request has none or a wrong one.
    #[error("a valid token is required")]
    Unauthorized,
    /// Body or record count over a configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A Content-Type or Content-Encoding we cannot read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body parsed but no record in it is valid.
    #[error("{}", if .0.is_empty() { "the request holds no records" } else { "no record in the request is valid" })]
    NoValidRecords(Vec<Rejection>),
    /// A query parameter is invalid.
    #[error("{0}")]
    InvalidParameter(String),
    /// Nothing here.
    #[error("not found")]
    NotFound,
    /// The database is unavailable or the write queue is full: nothing was stored.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } | ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NoValidRecords(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::NoValidRecords(_) => "no_valid_records",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::NotFound => "not_found",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(error = %error, "database unavailable");
            ApiError::Unavailable(
                "the database is unavailable; nothing was stored, retry later".into(),
            )
        } else {
            ApiError::Internal(error.into())
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<&'a [Rejection]>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "request failed");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        };
        let rejected = match &self {
            ApiError::NoValidRecords(rejected) => Some(rejected.as_slice()),
            _ => None,
        };
        let body = ErrorBody {
            error: self.code(),
            message,
            rejected,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }
}
