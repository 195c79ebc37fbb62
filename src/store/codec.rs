//! How an [`Exchange`] maps onto a row, shared by both backends so they store the same thing.

use chrono::{DateTime, Utc};

use super::{StoreError, StoredExchange};
use crate::model::exchange::{CapturedBody, Exchange, Message, Producer, Scheme, SourceFormat};

/// Headers as stored: a JSON array of `[name, value]` pairs, which keeps order and repeats.
pub(super) fn headers_json(headers: &[(String, String)]) -> String {
    // Serialising strings cannot fail.
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
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
}

impl ExchangeRow {
    pub(super) fn into_stored(self) -> Result<StoredExchange, StoreError> {
        let id = self.id;
        let corrupt = |reason: String| StoreError::Corrupt { id, reason };
        let headers = |json: &str| {
            serde_json::from_str::<Vec<(String, String)>>(json)
                .map_err(|e| corrupt(format!("headers: {e}")))
        };
        let request = Message {
            headers: headers(&self.request_headers)?,
            body: CapturedBody {
                bytes: self.request_body,
                truncated: self.request_body_truncated,
            },
        };
        let response = match self.response_headers {
            Some(json) => Some(Message {
                headers: headers(&json)?,
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
        Ok(StoredExchange {
            id,
            received_at: self.received_at,
            endpoint_id: self.endpoint_id,
            exchange,
        })
    }
}
