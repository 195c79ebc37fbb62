//! Ingest: decode a request body in either wire format, normalise and validate each record,
//! redact it, and commit the valid ones (group commit, see [`writer`]).
//!
//! Only an unreadable body fails a whole request; a bad record is reported by index and costs
//! its siblings nothing.

pub mod body;
mod formats;
pub mod normalize;
pub mod redact;
pub mod writer;

#[cfg(test)]
mod roundtrip_tests;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::Config;
use crate::discovery::catalog::Classified;
use crate::exchange::{Exchange, SourceFormat};
use crate::store::Store;
use normalize::{Context, Limits, RecordError};
use redact::Redactor;
use writer::{WriteError, Writer, WriterTasks};

use crate::discovery::catalog::Classifier;
use crate::discovery::summaries::SummaryBuffer;

/// One record that could not be accepted, reported by its position in the request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rejection {
    /// Zero-based position of the record (the element of the array or `batchData`, or the
    /// non-blank line of NDJSON).
    pub index: usize,
    /// Why, naming the field.
    pub error: String,
}

/// Why a whole request body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Not valid JSON.
    #[error("the body is not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        /// What the parser found.
        message: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// Valid JSON, but not the shape this route takes.
    #[error("{0}")]
    Shape(String),
    /// A body meant for the other ingest route; the message names it.
    #[error("{0}")]
    WrongRoute(String),
    /// Nothing at all.
    #[error("the body is empty")]
    Empty,
    /// More records than allowed in one request.
    #[error("{count} records exceed the limit of {limit} per request")]
    TooManyRecords {
        /// Records in the request.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl DecodeError {
    fn syntax(e: &serde_json::Error) -> Self {
        DecodeError::Syntax {
            message: description(e),
            line: e.line(),
            column: e.column(),
        }
    }
}

/// serde_json's message without its trailing " at line L column C", which callers report in
/// their own terms (as separate fields, or not at all inside one record).
fn description(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((description, _)) => description.to_owned(),
        None => text,
    }
}

/// The outcome of decoding one request body.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Valid records, normalised and redacted, ready to commit.
    pub exchanges: Vec<Exchange>,
    /// Invalid records, by index.
    pub rejected: Vec<Rejection>,
}

/// Shapes a body can come in on `/api/telemetry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelemetryEncoding {
    /// One JSON object, or a JSON array of them.
    Json,
    /// One JSON object per line.
    NdJson,
}

/// Decodes, normalises, redacts and commits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ingestor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: Writer,
    decoder: Decoder,
    classifier: Arc<Classifier>,
    summaries: Arc<SummaryBuffer>,
}

impl Ingestor {
    /// Starts the writer tasks over `store`.
    pub fn start(config: &Config, store: Arc<dyn Store>) -> (Ingestor, WriterTasks) {
        let summaries = Arc::new(SummaryBuffer::default());
        let (writer, tasks) = Writer::start(store, config.writer_settings(), summaries.clone());
        let ingestor = Ingestor {
            inner: Arc::new(Inner {
                writer,
                decoder: Decoder::new(config),
                classifier: Arc::new(Classifier::new(config.host_rules())),
                summaries,
            }),
        };
        (ingestor, tasks)
    }

    /// The writer, for its counters.
    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// The decoder (pure: no I/O).
    pub fn decoder(&self) -> &Decoder {
        &self.inner.decoder
    }

    /// Summaries of committed exchanges waiting to be written.
    pub fn summaries(&self) -> &Arc<SummaryBuffer> {
        &self.inner.summaries
    }

    /// The classifier that assigns exchanges to catalog endpoints.
    pub fn classifier(&self) -> &Arc<Classifier> {
        &self.inner.classifier
    }

    /// Classifies exchanges into the catalog (CPU work: run it off the async workers for big
    /// batches).
    pub fn classify(&self, exchanges: Vec<Exchange>) -> Classified {
        let summaries = &self.inner.summaries;
        self.inner
            .classifier
            .classify(exchanges, |key, exchange| summaries.admit(key, exchange))
    }

    /// Commits classified exchanges; returns once they are durable.
    pub async fn commit(&self, records: Classified) -> Result<(), WriteError> {
        self.inner.writer.write(records).await
    }
}

/// Turns request bodies into redacted exchanges and rejections. Pure (no I/O), so that fuzzers
/// and property tests can drive it directly.
#[derive(Debug)]
pub struct Decoder {
    redactor: Redactor,
    limits: Limits,
    max_records: usize,
}

impl Decoder {
    /// A decoder with the configured limits and redaction.
    pub fn new(config: &Config) -> Self {
        Decoder {
            redactor: Redactor::new(&config.redaction),
            limits: Limits {
                max_stored_body_bytes: config.max_stored_body_bytes,
                ..Limits::default()
            },
            max_records: config.max_records,
        }
    }

    fn context(&self, received_at: DateTime<Utc>) -> Context<'_> {
        Context {
            received_at,
            limits: self.limits,
            redactor: &self.redactor,
        }
    }

    /// Decodes a `/api/telemetry` body.
    pub fn decode_telemetry(
        &self,
        body: &[u8],
        encoding: TelemetryEncoding,
        received_at: DateTime<Utc>,
    ) -> Result<Decoded, DecodeError> {
        let cx = self.context(received_at);
        let body = strip_bom(body);
        let decode_one = |raw: &str| -> Result<Exchange, RecordError> {
            let telemetry: wire::nta::Telemetry = decode_record(raw)?;
            if telemetry.request.is_none() {
                if let Some(misspelled) = unknown_telemetry_fields(raw) {
                    return Err(misspelled);
                }
            }
            normalize::normalize(formats::nta(&telemetry)?, &cx)
        };
        match encoding {
            TelemetryEncoding::NdJson => {
                let text = std::str::from_utf8(body).map_err(|e| {
                    DecodeError::Shape(format!(
                        "the body is not UTF-8 (at byte {})",
                        e.valid_up_to()
                    ))
                })?;
                let lines: Vec<(usize, &str)> = text
                    .lines()
                    .enumerate()
                    .filter(|(_, line)| !line.trim().is_empty())
                    .collect();
                if lines.is_empty() {
                    return Err(DecodeError::Empty);
                }
                self.check_count(lines.len())?;
                Ok(collect(
                    SourceFormat::Nta,
                    lines.into_iter().map(|(number, line)| {
                        decode_one(line).map_err(|mut e| {
                            e.message = format!("line {}: {}", number + 1, e.message);
                            e
                        })
                    }),
                ))
            }
            TelemetryEncoding::Json => match first_byte(body) {
                None => Err(DecodeError::Empty),
                Some(b'[') => {
                    let records: Vec<&RawValue> =
                        serde_json::from_slice(body).map_err(|e| DecodeError::syntax(&e))?;
                    self.check_count(records.len())?;
                    Ok(collect(
                        SourceFormat::Nta,
                        records.into_iter().map(|raw| decode_one(raw.get())),
                    ))
                }
                Some(b'{') => {
                    let raw: &RawValue =
                        serde_json::from_slice(body).map_err(|e| DecodeError::syntax(&e))?;
                    let decoded =
                        collect(SourceFormat::Nta, std::iter::once(decode_one(raw.get())));
                    if decoded.exchanges.is_empty()
                        && object_keys(raw.get()).is_some_and(|keys| keys.contains("batchData"))
                    {
                        return Err(DecodeError::WrongRoute(
                            "this looks like an Akto batch: send it to /api/ingestData".to_owned(),
                        ));
                    }
                    Ok(decoded)
                }
                Some(_) => {
                    let value: serde_json::Value =
                        serde_json::from_slice(body).map_err(|e| DecodeError::syntax(&e))?;
                    Err(DecodeError::Shape(format!(
                        "expected a telemetry object or an array of them, found {}",
                        json_kind(&value)
                    )))
                }
            },
        }
    }

    /// Decodes a `/api/ingestData` body (`{"batchData": [...]}`).
    pub fn decode_ingest_data(
        &self,
        body: &[u8],
        received_at: DateTime<Utc>,
    ) -> Result<Decoded, DecodeError> {
        let cx = self.context(received_at);
        let body = strip_bom(body);
        match first_byte(body) {
            None => return Err(DecodeError::Empty),
            Some(b'{') => {}
            Some(_) => {
                let value: serde_json::Value =
                    serde_json::from_slice(body).map_err(|e| DecodeError::syntax(&e))?;
                if value.is_array() {
                    return Err(DecodeError::WrongRoute(
                        "expected an object with a `batchData` array, found an array: this looks \
                         like NTA/APIClarity telemetry, send it to /api/telemetry"
                            .to_owned(),
                    ));
                }
                return Err(DecodeError::Shape(format!(
                    "expected an object with a `batchData` array, found {}",
                    json_kind(&value)
                )));
            }
        }
        let envelope: wire::akto::BatchEnvelope<'_> =
            serde_json::from_slice(body).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => DecodeError::Shape(format!(
                    "`batchData` must be an array of records: {}",
                    DecodeError::syntax(&e)
                        .to_string()
                        .trim_start_matches("the body is not valid JSON: ")
                )),
                _ => DecodeError::syntax(&e),
            })?;
        let Some(records) = envelope.batch_data else {
            let keys = std::str::from_utf8(body)
                .ok()
                .and_then(object_keys)
                .unwrap_or_default();
            if keys.contains("request") || keys.contains("response") {
                return Err(DecodeError::WrongRoute(
                    "this looks like NTA/APIClarity telemetry (`request`/`response`, no \
                     `batchData`): send it to /api/telemetry"
                        .to_owned(),
                ));
            }
            let found = if keys.is_empty() {
                String::new()
            } else {
                format!("; found {}", quoted_list(keys.iter()))
            };
            return Err(DecodeError::Shape(format!(
                "`batchData` is missing: expected {{\"batchData\": [ ... ]}}{found}"
            )));
        };
        self.check_count(records.len())?;
        Ok(collect(
            SourceFormat::Akto,
            records.into_iter().map(|raw| {
                let record: wire::akto::Record = decode_record(raw.get())?;
                normalize::normalize(formats::akto(&record)?, &cx)
            }),
        ))
    }

    fn check_count(&self, count: usize) -> Result<(), DecodeError> {
        if count > self.max_records {
            return Err(DecodeError::TooManyRecords {
                count,
                limit: self.max_records,
            });
        }
        Ok(())
    }
}

/// Decodes one record, naming the JSON path of a type error (`request.method: invalid type…`).
/// The member names of a JSON object, or `None` when `raw` is not one.
fn object_keys(raw: &str) -> Option<std::collections::BTreeSet<String>> {
    let members: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        serde_json::from_str(raw).ok()?;
    Some(members.into_keys().collect())
}

/// `a`, `b` and `c` in backquotes, for messages.
fn quoted_list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names
        .map(|n| format!("`{}`", n.chars().take(64).collect::<String>()))
        .take(10)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The members of a telemetry object (`wire::nta::Telemetry`), as producers spell them.
const TELEMETRY_FIELDS: &[&str] = &[
    "requestID",
    "requestId",
    "scheme",
    "destinationAddress",
    "destinationNamespace",
    "sourceAddress",
    "request",
    "response",
];

/// For a telemetry object without `request`: a rejection naming the missing field and the
/// members that are not telemetry fields (a typo such as `reqest`), or `None` when every
/// member is known (the producer really sent no request).
fn unknown_telemetry_fields(raw: &str) -> Option<RecordError> {
    let keys = object_keys(raw)?;
    let unknown: Vec<&String> = keys
        .iter()
        .filter(|k| !TELEMETRY_FIELDS.contains(&k.as_str()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    let hint = unknown
        .iter()
        .find_map(|k| {
            let lower = k.to_ascii_lowercase();
            ["request", "response"]
                .into_iter()
                .find(|known| !keys.contains(*known) && near(&lower, known))
        })
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    Some(RecordError::new(
        "missing_request",
        format!(
            "request is missing; unknown field{} {}{hint}",
            if unknown.len() == 1 { "" } else { "s" },
            quoted_list(unknown.into_iter())
        ),
    ))
}

/// Whether `a` is within one edit (insertion, deletion, substitution or swap) of `b`.
fn near(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match a.len().abs_diff(b.len()) {
        0 => {
            a.len() <= 1
                || a[1..] == b[1..]
                || (a.len() >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        1 if a.len() > b.len() => a[1..] == *b,
        1 => b[1..] == *a,
        _ => false,
    }
}

fn decode_record<'de, T: serde::Deserialize<'de>>(raw: &'de str) -> Result<T, RecordError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = description(e.inner());
        let message = if path == "." || path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        RecordError::new("invalid_record", message)
    })
}

fn collect(
    format: SourceFormat,
    results: impl Iterator<Item = Result<Exchange, RecordError>>,
) -> Decoded {
    let mut decoded = Decoded::default();
    for (index, result) in results.enumerate() {
        match result {
            Ok(exchange) => decoded.exchanges.push(exchange),
            Err(e) => {
                metrics::counter!(
                    "ingest_records_rejected_total",
                    "format" => format.as_str(),
                    "reason" => e.reason
                )
                .increment(1);
                decoded.rejected.push(Rejection {
                    index,
                    error: e.message,
                });
            }
        }
    }
    metrics::counter!("ingest_records_accepted_total", "format" => format.as_str())
        .increment(decoded.exchanges.len() as u64);
    decoded
}

/// Some Windows tools start JSON with a UTF-8 byte-order mark, which JSON parsers refuse.
fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// The first significant byte.
fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
