//! `GET /api/exchanges`: what was stored, exactly as kept (redacted), newest first — so that
//! whoever just posted a sample can see what Reconstructor made of it.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use crate::model::exchange::{Message, Producer};
use crate::store::{Cursor, ExchangeQuery, StoredExchange};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 1000;

/// Query parameters.
#[derive(Debug, Deserialize)]
pub(super) struct Params {
    host: Option<String>,
    method: Option<String>,
    limit: Option<String>,
    before: Option<String>,
    endpoint_id: Option<String>,
}

impl super::params::QueryParams for Params {
    const NAMES: &'static [&'static str] = &["host", "method", "limit", "before", "endpoint_id"];
}

impl Params {
    fn into_query(self) -> Result<ExchangeQuery, ApiError> {
        let limit = super::limit_param(self.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
        let before = match self.before.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(parse_cursor(raw)?),
        };
        let (host, port) = match self.host.as_deref().map(str::trim) {
            None | Some("") => (None, None),
            Some(raw) => {
                let authority = wire::address::parse_authority(raw).ok_or_else(|| {
                    ApiError::InvalidParameter(format!("`host` {raw:?} is not a host name"))
                })?;
                let host = authority.host.trim_end_matches('.').to_ascii_lowercase();
                (Some(host), authority.port)
            }
        };
        Ok(ExchangeQuery {
            host,
            port,
            method: self
                .method
                .filter(|m| !m.is_empty())
                .map(|m| m.to_ascii_uppercase()),
            endpoint_id: match self.endpoint_id.as_deref() {
                None | Some("") => None,
                Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                    ApiError::InvalidParameter(format!(
                        "`endpoint_id` must be an endpoint id, got {raw:?}"
                    ))
                })?),
            },
            before,
            limit,
        })
    }
}

/// `before` is an exchange id (as returned in `next_before`) or an RFC 3339 time.
fn parse_cursor(raw: &str) -> Result<Cursor, ApiError> {
    if let Ok(id) = raw.parse::<i64>() {
        return Ok(Cursor::Id(id));
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|at| Cursor::ReceivedBefore(at.with_timezone(&Utc)))
        .map_err(|_| {
            ApiError::InvalidParameter(format!(
                "`before` must be an exchange id or an RFC 3339 time, got {raw:?}"
            ))
        })
}

#[derive(Debug, Serialize)]
pub(super) struct Page {
    exchanges: Vec<ExchangeView>,
    /// Pass as `before` to get the next (older) page; `null` on the last page.
    next_before: Option<i64>,
}

#[derive(Debug, Serialize)]
struct ExchangeView {
    id: i64,
    received_at: DateTime<Utc>,
    observed_at: DateTime<Utc>,
    source: &'static str,
    scheme: &'static str,
    host: String,
    port: u16,
    method: String,
    path: String,
    raw_path: String,
    query: Option<String>,
    status: Option<u16>,
    client_address: Option<String>,
    /// The catalog endpoint it was counted in.
    endpoint_id: Option<i64>,
    /// `whole`, or `metadata` when the `sampled` storage policy kept no headers or bodies (the
    /// body sizes are still given).
    stored: &'static str,
    #[serde(skip_serializing_if = "Producer::is_empty")]
    producer: Producer,
    request: MessageView,
    response: Option<MessageView>,
}

#[derive(Debug, Serialize)]
struct HeaderView {
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct MessageView {
    headers: Vec<HeaderView>,
    content_type: Option<String>,
    /// The body as text when it is UTF-8, else base64 (see `body_encoding`).
    body: String,
    body_encoding: &'static str,
    body_size: usize,
    body_truncated: bool,
}

impl From<Message> for MessageView {
    fn from(message: Message) -> Self {
        let content_type = message.content_type();
        let body_size = message.body.bytes.len();
        let (body, body_encoding) = match String::from_utf8(message.body.bytes) {
            Ok(text) => (text, "utf-8"),
            Err(e) => (
                base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
                "base64",
            ),
        };
        MessageView {
            headers: message
                .headers
                .into_iter()
                .map(|(name, value)| HeaderView { name, value })
                .collect(),
            content_type,
            body,
            body_encoding,
            body_size,
            body_truncated: message.body.truncated,
        }
    }
}

impl From<StoredExchange> for ExchangeView {
    fn from(stored: StoredExchange) -> Self {
        let e = stored.exchange;
        let mut request = MessageView::from(e.request);
        let mut response = e.response.map(MessageView::from);
        if !stored.whole {
            request.body_size = stored.request_body_size.unwrap_or(0) as usize;
            if let Some(response) = &mut response {
                response.body_size = stored.response_body_size.unwrap_or(0) as usize;
            }
        }
        ExchangeView {
            id: stored.id,
            received_at: stored.received_at,
            observed_at: e.observed_at,
            source: e.source.as_str(),
            scheme: e.scheme.as_str(),
            host: e.host,
            port: e.port,
            method: e.method,
            path: e.path,
            raw_path: e.raw_path,
            query: e.query,
            status: e.status,
            client_address: e.client_address,
            endpoint_id: stored.endpoint_id,
            stored: if stored.whole { "whole" } else { "metadata" },
            producer: e.producer,
            request,
            response,
        }
    }
}

/// `GET /api/exchanges?host=&method=&limit=&before=`
pub(super) async fn list(
    State(state): State<AppState>,
    super::params::Strict(params): super::params::Strict<Params>,
) -> Result<Json<Page>, ApiError> {
    let query = params.into_query()?;
    let stored = state.store.list_exchanges(&query).await?;
    let next_before = (stored.len() == query.limit as usize)
        .then(|| stored.last().map(|s| s.id))
        .flatten();
    Ok(Json(Page {
        exchanges: stored.into_iter().map(Into::into).collect(),
        next_before,
    }))
}
