//! How an [`Exchange`] maps onto a row, shared by both backends so they store the same thing.

use chrono::{DateTime, Utc};

use super::{StoreError, StoredExchange};
use crate::model::exchange::{CapturedBody, Exchange, Message, Producer, Scheme, SourceFormat};

/// Headers as stored: a JSON array of `[name, value]` pairs, which keeps order and repeats.
pub(super) fn headers_json(headers: &[(String, String)]) -> String {
    // Serialising strings cannot fail.
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

/// Headers as stored: all of them for an exchange stored whole, none for metadata only.
pub(super) fn stored_headers(headers: &[(String, String)], whole: bool) -> String {
    if whole {
        headers_json(headers)
    } else {
        "[]".to_owned()
    }
}

/// A body as stored: whole, or nothing for metadata only.
pub(super) fn stored_body(body: &[u8], whole: bool) -> &[u8] {
    if whole { body } else { &[] }
}

/// A body's size as stored in its size column (bodies are capped far below 2 GiB).
pub(super) fn body_size(body: &[u8]) -> i32 {
    i32::try_from(body.len()).unwrap_or(i32::MAX)
}

/// Producer metadata as stored; `None` when there is nothing to say.
pub(super) fn producer_json(producer: &Producer) -> Option<String> {
    (!producer.is_empty()).then(|| serde_json::to_string(producer).unwrap_or_default())
}

/// The backend-neutral content of one row, as read back.
#[derive(Debug)]
pub(super) struct ExchangeRow {
    pub(super) id: i64,
    pub(super) received_at: DateTime<Utc>,
    pub(super) observed_at: DateTime<Utc>,
    pub(super) source_format: String,
    pub(super) scheme: String,
    pub(super) host: String,
    pub(super) port: i64,
    pub(super) method: String,
    pub(super) raw_path: String,
    pub(super) path: String,
    pub(super) query: Option<String>,
    pub(super) status: Option<i64>,
    pub(super) request_headers: String,
    pub(super) request_body: Vec<u8>,
    pub(super) request_body_truncated: bool,
    pub(super) response_headers: Option<String>,
    pub(super) response_body: Option<Vec<u8>>,
    pub(super) response_body_truncated: Option<bool>,
    pub(super) client_address: Option<String>,
    pub(super) producer: Option<String>,
    pub(super) endpoint_id: Option<i64>,
    pub(super) whole: bool,
    pub(super) request_content_type: Option<String>,
    pub(super) response_content_type: Option<String>,
    pub(super) request_body_size: Option<i64>,
    pub(super) response_body_size: Option<i64>,
}

impl ExchangeRow {
    pub(super) fn into_stored(self) -> Result<StoredExchange, StoreError> {
        let id = self.id;
        let corrupt = |reason: String| StoreError::Corrupt { id, reason };
        let whole = self.whole;
        // Metadata only: the content type, from its column, is the one header there is.
        let headers = |json: &str, content_type: Option<String>| {
            if !whole {
                return Ok(content_type
                    .map(|t| vec![("content-type".to_owned(), t)])
                    .unwrap_or_default());
            }
            serde_json::from_str::<Vec<(String, String)>>(json)
                .map_err(|e| corrupt(format!("headers: {e}")))
        };
        let request = Message {
            headers: headers(&self.request_headers, self.request_content_type)?,
            body: CapturedBody {
                bytes: self.request_body,
                truncated: self.request_body_truncated,
            },
        };
        let response = match self.response_headers {
            Some(json) => Some(Message {
                headers: headers(&json, self.response_content_type)?,
                body: CapturedBody {
                    bytes: self.response_body.unwrap_or_default(),
                    truncated: self.response_body_truncated.unwrap_or(false),
                },
            }),
            None => None,
        };
        let producer = match self.producer {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| corrupt(format!("producer: {e}")))?
            }
            None => Producer::default(),
        };
        let exchange = Exchange {
            observed_at: self.observed_at,
            source: SourceFormat::parse(&self.source_format)
                .ok_or_else(|| corrupt(format!("source format {:?}", self.source_format)))?,
            scheme: Scheme::parse(&self.scheme)
                .ok_or_else(|| corrupt(format!("scheme {:?}", self.scheme)))?,
            host: self.host,
            port: u16::try_from(self.port).map_err(|_| corrupt(format!("port {}", self.port)))?,
            method: self.method,
            raw_path: self.raw_path,
            path: self.path,
            query: self.query,
            status: self
                .status
                .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("status {s}"))))
                .transpose()?,
            request,
            response,
            client_address: self.client_address,
            producer,
        };
        let size = |stored: Option<i64>, body: Option<&Message>| {
            stored
                .and_then(|s| u64::try_from(s).ok())
                .or_else(|| body.map(|m| m.body.bytes.len() as u64))
        };
        Ok(StoredExchange {
            id,
            received_at: self.received_at,
            endpoint_id: self.endpoint_id,
            whole: self.whole,
            request_body_size: size(self.request_body_size, Some(&exchange.request)),
            response_body_size: size(self.response_body_size, exchange.response.as_ref()),
            exchange,
        })
    }
}
