//! The ingest routes: `POST /api/telemetry` (NTA / APIClarity) and `POST /api/ingestData`
//! (Akto). Both answer only after the accepted records are committed.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, MapOk};
use futures_util::{StreamExt, TryFutureExt};
use serde::Serialize;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::auth::Tokens;
use super::error::ApiError;
use crate::ingest::writer::WriteError;
use crate::ingest::{DecodeError, Format, IngestError, Outcome, Rejection, TelemetryEncoding};
use crate::observability::names;

/// How long an oversized body is drained before the 413 is sent anyway.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Content codings the ingest routes can undo (see the decompression layer in the router).
const SUPPORTED_ENCODINGS: &[&str] = &["identity", "gzip", "x-gzip", "deflate", "br", "zstd"];

#[derive(Debug, Serialize)]
pub(super) struct TelemetryAck {
    message: &'static str,
    accepted: usize,
    rejected: Vec<Rejection>,
}

#[derive(Debug, Serialize)]
pub(super) struct IngestDataAck {
    success: bool,
    accepted: usize,
    rejected: Vec<Rejection>,
}

/// `POST /api/telemetry`: one telemetry object, a JSON array of them, or NDJSON.
///
/// The request is taken whole, not through the `HeaderMap` and `Extension` extractors, which
/// would copy its headers.
pub(super) async fn telemetry(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<TelemetryAck>, ApiError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let compressed = parts.extensions.get::<Compressed>().is_some();
    let encoding = match media_type(headers).as_deref() {
        Some("application/x-ndjson" | "application/jsonl" | "application/x-jsonlines") => {
            TelemetryEncoding::NdJson
        }
        media => {
            accept_json_media(media)?;
            TelemetryEncoding::Json
        }
    };
    let body = read_body(&state, headers, compressed, body).await?;
    let Outcome { accepted, rejected } = state
        .ingestor
        .ingest(body.bytes, Format::Telemetry(encoding), body.budget)
        .await?;
    Ok(Json(TelemetryAck {
        message: "ok",
        accepted,
        rejected,
    }))
}

/// `POST /api/ingestData`: Akto's `{"batchData": [...]}`.
pub(super) async fn ingest_data(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<IngestDataAck>, ApiError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let compressed = parts.extensions.get::<Compressed>().is_some();
    accept_json_media(media_type(headers).as_deref())?;
    let body = read_body(&state, headers, compressed, body).await?;
    let Outcome { accepted, rejected } = state
        .ingestor
        .ingest(body.bytes, Format::IngestData, body.budget)
        .await?;
    Ok(Json(IngestDataAck {
        success: true,
        accepted,
        rejected,
    }))
}

/// The media type without parameters, lower-cased.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next()?.trim().to_ascii_lowercase()).filter(|m| !m.is_empty())
}

/// JSON, or something a producer that forgot its Content-Type ends up sending (a missing
/// header, `text/plain` from `fetch` with a string body, `application/octet-stream`).
fn accept_json_media(media: Option<&str>) -> Result<(), ApiError> {
    match media {
        None
        | Some("application/json" | "text/json" | "text/plain" | "application/octet-stream") => {
            Ok(())
        }
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Ok(()),
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {other} is not supported: send application/json (or \
             application/x-ndjson on /api/telemetry)"
        ))),
    }
}

/// Marks a request whose body arrived compressed: the decompression layer removes the
/// `Content-Encoding` header, but a read error must still be blamed on the compression.
#[derive(Debug, Clone, Copy)]
pub(super) struct Compressed;

/// Middleware of the ingest routes, in front of the decompression layer: refuses a request
/// without an accepted token (401), then answers unsupported codings with a JSON 415 that says
/// which codings work. One layer does both because every layer costs each request a copy of the
/// services behind it; it is a plain service rather than `middleware::from_fn`, whose every call
/// copies and boxes the services behind it once more.
#[derive(Clone, Debug)]
pub(super) struct CheckIngestLayer {
    tokens: Arc<Tokens>,
}

impl CheckIngestLayer {
    pub(super) fn new(tokens: Tokens) -> Self {
        Self {
            tokens: Arc::new(tokens),
        }
    }
}

impl<S> tower::Layer<S> for CheckIngestLayer {
    type Service = CheckIngest<S>;

    fn layer(&self, inner: S) -> CheckIngest<S> {
        CheckIngest {
            tokens: self.tokens.clone(),
            inner,
        }
    }
}

/// The service of [`CheckIngestLayer`].
#[derive(Clone, Debug)]
pub(super) struct CheckIngest<S> {
    tokens: Arc<Tokens>,
    inner: S,
}

impl<S> tower::Service<Request> for CheckIngest<S>
where
    S: tower::Service<Request, Error = Infallible>,
    S::Response: IntoResponse,
{
    type Response = Response;
    type Error = Infallible;
    type Future =
        Either<Ready<Result<Response, Infallible>>, MapOk<S::Future, fn(S::Response) -> Response>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match check_ingest(&self.tokens, &mut request) {
            Err(refusal) => Either::Left(ready(Ok(refusal.into_response()))),
            Ok(()) => Either::Right(
                self.inner
                    .call(request)
                    .map_ok(IntoResponse::into_response as fn(S::Response) -> Response),
            ),
        }
    }
}

/// What [`CheckIngest`] checks; `Err` says why the request is refused.
fn check_ingest(tokens: &Tokens, request: &mut Request) -> Result<(), ApiError> {
    if !tokens.allows(request.headers()) {
        return Err(ApiError::Unauthorized);
    }
    if request.headers().contains_key(header::CONTENT_ENCODING) {
        request.extensions_mut().insert(Compressed);
    }
    for value in request.headers().get_all(header::CONTENT_ENCODING) {
        let supported = value.to_str().is_ok_and(|v| {
            v.split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .all(|c| c.is_empty() || SUPPORTED_ENCODINGS.contains(&c.as_str()))
        });
        if !supported {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {:?} is not supported: use gzip, deflate, br or zstd",
                String::from_utf8_lossy(value.as_bytes())
            )));
        }
    }
    Ok(())
}

/// Reads the (already decompressed) body, never buffering more than the configured limit.
///
/// An oversized body is still read (and discarded) up to the limit again, within a short time,
/// before the 413 goes out: a server that answers and closes while the client is still sending
/// makes the client see a reset instead of the answer. Beyond that budget the connection is
/// simply closed.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    compressed: bool,
    body: axum::body::Body,
) -> Result<ReadBody, ApiError> {
    let limit = state.config.max_body_bytes;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the request body exceeds the limit of {limit} bytes (after decompression)"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // An announced size far over the limit is refused without reading anything.
    if !compressed && declared.is_some_and(|n| n > limit.saturating_mul(2)) {
        return Err(too_large());
    }
    let read_error = |e: axum::Error| {
        if compressed {
            ApiError::BadRequest {
                code: "invalid_encoding",
                message: format!("the request body could not be decompressed: {e}"),
            }
        } else {
            ApiError::BadRequest {
                code: "incomplete_body",
                message: format!("the request body could not be read: {e}"),
            }
        }
    };
    let mut body = body.into_data_stream();
    // A body that arrives in one chunk (most do) is kept as it is; copies start with a second.
    let mut first: Option<bytes::Bytes> = None;
    let mut buffer = bytes::BytesMut::new();
    let mut budget: Option<OwnedSemaphorePermit> = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(read_error)?;
        claim_budget(state, &mut budget, chunk.len())?;
        let held = first.as_ref().map_or(0, bytes::Bytes::len) + buffer.len();
        if held + chunk.len() > limit {
            drop(first);
            drop(buffer);
            let mut discarded = chunk.len();
            let _ = tokio::time::timeout(DRAIN_TIME, async {
                while let Some(Ok(chunk)) = body.next().await {
                    discarded += chunk.len();
                    if discarded > limit {
                        break;
                    }
                }
            })
            .await;
            return Err(too_large());
        }
        if first.is_none() && buffer.is_empty() {
            first = Some(chunk);
            continue;
        }
        if let Some(first) = first.take() {
            buffer.reserve(
                declared
                    .unwrap_or(0)
                    .min(limit)
                    .max(first.len() + chunk.len()),
            );
            buffer.extend_from_slice(&first);
        }
        buffer.extend_from_slice(&chunk);
    }
    let bytes = match first {
        Some(first) => first,
        None => buffer.freeze(),
    };
    metrics::histogram!(names::INGEST_REQUEST_BODY).record(bytes.len() as f64);
    Ok(ReadBody { bytes, budget })
}

/// A request body read into memory, with its share of the in-flight budget.
#[derive(Debug)]
struct ReadBody {
    bytes: bytes::Bytes,
    budget: Option<OwnedSemaphorePermit>,
}

/// Counts `len` more bytes against the budget shared by all requests, refusing (503) rather
/// than letting many slow or abandoned uploads grow memory without bound.
fn claim_budget(
    state: &AppState,
    budget: &mut Option<OwnedSemaphorePermit>,
    len: usize,
) -> Result<(), ApiError> {
    let Ok(len) = u32::try_from(len) else {
        return Err(busy());
    };
    let permit = state
        .body_budget
        .clone()
        .try_acquire_many_owned(len)
        .map_err(|_| busy())?;
    match budget {
        Some(held) => held.merge(permit),
        None => *budget = Some(permit),
    }
    Ok(())
}

fn busy() -> ApiError {
    metrics::counter!(names::INGEST_BODY_BUDGET_EXHAUSTED).increment(1);
    ApiError::Unavailable(
        "the server is holding too many request bodies at once; nothing was stored, retry later"
            .to_owned(),
    )
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Decode(e @ DecodeError::TooManyRecords { .. }) => {
                ApiError::PayloadTooLarge(e.to_string())
            }
            IngestError::Decode(e @ DecodeError::Syntax { .. }) => ApiError::BadRequest {
                code: "invalid_json",
                message: e.to_string(),
            },
            IngestError::Decode(e @ DecodeError::WrongRoute(_)) => ApiError::BadRequest {
                code: "wrong_route",
                message: e.to_string(),
            },
            IngestError::Decode(e @ (DecodeError::Shape(_) | DecodeError::Empty)) => {
                ApiError::BadRequest {
                    code: "invalid_shape",
                    message: e.to_string(),
                }
            }
            IngestError::NoValidRecords(rejected) => ApiError::NoValidRecords(rejected),
            IngestError::Write(e) => ApiError::from(e),
            IngestError::Decoding(e) => ApiError::Internal(e.into()),
        }
    }
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Store(e) => ApiError::from(e),
            WriteError::QueueFull => ApiError::Unavailable(
                "the server is receiving faster than it can commit; nothing was stored, retry \
                 later"
                    .to_owned(),
            ),
            WriteError::Closed => {
                ApiError::Unavailable("the server is shutting down; nothing was stored".to_owned())
            }
            WriteError::Timeout(after) => {
                tracing::warn!(?after, "commit timed out");
                ApiError::Unavailable(format!(
                    "the database did not commit within {}s; retry later",
                    after.as_secs()
                ))
            }
        }
    }
}
