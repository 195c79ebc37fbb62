//! Postgres binary `COPY` encoding of exchange rows.
//!
//! The format (see the Postgres documentation of `COPY … (FORMAT binary)`): a fixed header, then
//! per row a 16-bit field count and per field a 32-bit length (-1 for NULL) followed by the
//! value in the type's binary send format, then a 16-bit -1 trailer.

use chrono::{DateTime, Utc};

use serde::Serialize;

use super::codec::{body_size, stored_body};
use crate::model::exchange::Exchange;

/// The columns written, in the order [`encode_exchanges`] writes them.
pub(super) const COLUMNS: &str = "received_at, observed_at, source_format, scheme, host, port, \
     method, raw_path, path, query, status, request_headers, request_body, \
     request_body_truncated, request_content_type, response_headers, response_body, \
     response_body_truncated, response_content_type, client_address, producer, endpoint_id, \
     whole, request_body_size, response_body_size";

const FIELDS: i16 = 25;

/// Microseconds between the Unix epoch and the Postgres epoch (2000-01-01).
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Encodes rows, header and trailer included, ready to send; `endpoint_ids[i]` is the catalog
/// endpoint of `exchanges[i]`, and `whole(i)` whether its headers and bodies are stored.
pub(super) fn encode_exchanges(
    received_at: DateTime<Utc>,
    exchanges: &[&Exchange],
    endpoint_ids: &[i64],
    whole: impl Fn(usize) -> bool,
) -> Vec<u8> {
    let estimate: usize = exchanges
        .iter()
        .map(|e| {
            512 + e.request.body.bytes.len() + e.response.as_ref().map_or(0, |r| r.body.bytes.len())
        })
        .sum();
    let mut out = Row(Vec::with_capacity(estimate + 32));
    out.0.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.0.extend_from_slice(&0i32.to_be_bytes()); // flags
    out.0.extend_from_slice(&0i32.to_be_bytes()); // header extension length
    for (i, e) in exchanges.iter().enumerate() {
        out.0.extend_from_slice(&FIELDS.to_be_bytes());
        let response = e.response.as_ref();
        let whole = whole(i);
        out.timestamp(received_at);
        out.timestamp(e.observed_at);
        out.text(Some(e.source.as_str()));
        out.text(Some(e.scheme.as_str()));
        out.text(Some(&e.host));
        out.int4(i32::from(e.port));
        out.text(Some(&e.method));
        out.text(Some(&e.raw_path));
        out.text(Some(&e.path));
        out.text(e.query.as_deref());
        // Statuses are validated to 100..=599 on ingest.
        out.int2(e.status.map(|s| s as i16));
        out.headers(&e.request.headers, whole);
        out.bytes(Some(stored_body(&e.request.body.bytes, whole)));
        out.bool(Some(e.request.body.truncated));
        out.text(e.request.content_type_ref().as_deref());
        match response {
            Some(r) => out.headers(&r.headers, whole),
            None => out.null(),
        }
        out.bytes(response.map(|r| stored_body(&r.body.bytes, whole)));
        out.bool(response.map(|r| r.body.truncated));
        out.text(response.and_then(|r| r.content_type_ref()).as_deref());
        out.text(e.client_address.as_deref());
        if e.producer.is_empty() {
            out.null();
        } else {
            out.jsonb_of(&e.producer);
        }
        out.int8(endpoint_ids.get(i).copied());
        out.bool(Some(whole));
        out.int4(body_size(&e.request.body.bytes));
        match response {
            Some(r) => out.int4(body_size(&r.body.bytes)),
            None => out.null(),
        }
    }
    out.0.extend_from_slice(&(-1i16).to_be_bytes());
    out.0
}

struct Row(Vec<u8>);

impl Row {
    fn null(&mut self) {
        self.0.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn field(&mut self, value: &[u8]) {
        // Values are capped far below 2 GiB (bodies by max_stored_body_bytes).
        self.0
            .extend_from_slice(&i32::try_from(value.len()).unwrap_or(i32::MAX).to_be_bytes());
        self.0.extend_from_slice(value);
    }

    fn timestamp(&mut self, at: DateTime<Utc>) {
        self.field(&(at.timestamp_micros() - POSTGRES_EPOCH_MICROS).to_be_bytes());
    }

    fn text(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.field(v.as_bytes()),
            None => self.null(),
        }
    }

    fn bytes(&mut self, value: Option<&[u8]>) {
        match value {
            Some(v) => self.field(v),
            None => self.null(),
        }
    }

    fn int4(&mut self, value: i32) {
        self.field(&value.to_be_bytes());
    }

    fn int8(&mut self, value: Option<i64>) {
        match value {
            Some(v) => self.field(&v.to_be_bytes()),
            None => self.null(),
        }
    }

    fn int2(&mut self, value: Option<i16>) {
        match value {
            Some(v) => self.field(&v.to_be_bytes()),
            None => self.null(),
        }
    }

    fn bool(&mut self, value: Option<bool>) {
        match value {
            Some(v) => self.field(&[u8::from(v)]),
            None => self.null(),
        }
    }

    /// jsonb's binary format is a version byte (1) followed by the JSON text, here written
    /// straight into the row rather than into a string first.
    fn jsonb_of(&mut self, value: &impl Serialize) {
        let at = self.0.len();
        self.0.extend_from_slice(&0i32.to_be_bytes());
        self.0.push(1);
        // Serialising strings and JSON values into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut self.0, value);
        let len = i32::try_from(self.0.len() - at - 4).unwrap_or(i32::MAX);
        self.0[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Headers as stored (see [`super::codec::stored_headers`]): all of them for an exchange
    /// stored whole, none for metadata only.
    fn headers(&mut self, headers: &[(String, String)], whole: bool) {
        let stored: &[(String, String)] = if whole { headers } else { &[] };
        self.jsonb_of(&stored);
    }
}
