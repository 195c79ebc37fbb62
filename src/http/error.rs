//! The one error type handlers return, and its mapping to status codes and JSON bodies.
//!
//! Every error body is `{"error": "<code>", "message": "<sentence>"}` (plus details where a
//! client can act on them). Internals are never sent to clients; 5xx are logged once here, inside
//! the request's span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use std::time::Duration;

use crate::ingest::Rejection;
use crate::observability::Throttle;
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
    /// No route has this path; the message says where the API is.
    #[error("{0}")]
    NoRoute(String),
    /// The route exists but not for this method; the message and `Allow` say which methods.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The disk under the database is full: nothing was stored.
    #[error("{0}")]
    DiskFull(String),
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
            ApiError::NotFound | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::DiskFull(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::NotFound | ApiError::NoRoute(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::DiskFull(_) => "disk_full",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // A full disk or a database outage fails every request the same way, thousands of
        // times a second: one line per interval, with the count of the ones held back.
        static DISK_FULL: Throttle = Throttle::new(Duration::from_secs(10));
        static UNAVAILABLE: Throttle = Throttle::new(Duration::from_secs(10));
        if error.is_disk_full() {
            if let Some(suppressed) = DISK_FULL.allow() {
                tracing::warn!(error = %error, suppressed, "the disk under the database is full");
            }
            ApiError::DiskFull(
                "the disk under the database is full; nothing was stored: free space on the \
                 database volume, then retry"
                    .into(),
            )
        } else if error.is_unavailable() {
            if let Some(suppressed) = UNAVAILABLE.allow() {
                tracing::warn!(error = %error, suppressed, "database unavailable");
            }
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
            ApiError::Unavailable(_) | ApiError::DiskFull(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }
}
