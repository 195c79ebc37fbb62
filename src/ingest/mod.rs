//! Ingest: decode a request body in either wire format, normalise and validate each record,
//! redact it, classify it into the catalog, and commit the valid ones (group commit, see
//! [`writer`]). [`Ingestor::ingest`] is the one entry point.
//!
//! Only an unreadable body fails a whole request; a bad record is reported by index and costs
//! its siblings nothing.

pub mod encoding;
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

use crate::discovery::catalog::{Classified, Classifier};
use crate::discovery::summaries::Sampler;
use crate::model::exchange::{Exchange, SourceFormat};
use crate::observability::names;
use crate::store::{ExchangePolicy, Store};
use normalize::{Context, Limits, RecordError};
use redact::{RedactionConfig, Redactor};
use writer::{CommitSettings, WriteError, Writer, WriterTasks};

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

/// Bodies above this size are decoded on the blocking pool so that a large batch does not
/// stall the other requests sharing its worker thread.
const INLINE_DECODE_LIMIT: usize = 256 * 1024;

/// The wire format of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `/api/telemetry`: NTA / APIClarity telemetry, in one of its encodings.
    Telemetry(TelemetryEncoding),
    /// `/api/ingestData`: Akto's `{"batchData": [...]}`.
    IngestData,
}

impl Format {
    /// The source format the records of this body are stored with.
    pub fn source(self) -> SourceFormat {
        match self {
            Format::Telemetry(_) => SourceFormat::Nta,
            Format::IngestData => SourceFormat::Akto,
        }
    }
}

/// What happened to the records of one request body once it was ingested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Records committed.
    pub accepted: usize,
    /// Records refused, by index, with why.
    pub rejected: Vec<Rejection>,
}

/// Why nothing of a request body was stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body as a whole is unreadable.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Every record was refused.
    #[error("no record in the request is valid")]
    NoValidRecords(Vec<Rejection>),
    /// The records could not be committed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Decoding on the blocking pool failed (a panic).
    #[error("decoding failed: {0}")]
    Decoding(#[from] tokio::task::JoinError),
}

/// What the ingestor takes from the configuration.
#[derive(Debug, Clone)]
pub struct IngestSettings {
    /// What is redacted from stored traffic.
    pub redaction: RedactionConfig,
    /// Most records in one request.
    pub max_records: usize,
    /// Bytes of each request or response body kept per exchange.
    pub max_stored_body_bytes: usize,
    /// Group commit.
    pub commit: CommitSettings,
    /// Writer tasks committing concurrently ([`writer::writers_for`] the backend).
    pub writers: usize,
    /// What is stored of each exchange.
    pub exchanges: ExchangePolicy,
}

/// Decodes, normalises, redacts, classifies and commits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ingestor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: Writer,
    decoder: Decoder,
    classifier: Arc<Classifier>,
    sampler: Arc<Sampler>,
    policy: ExchangePolicy,
}

impl Ingestor {
    /// Starts the writer tasks over `store`; exchanges are classified by `classifier`, and the
    /// samples that `sampler` admits are summarised and committed with them.
    pub fn start(
        settings: &IngestSettings,
        store: Arc<dyn Store>,
        classifier: Arc<Classifier>,
        sampler: Arc<Sampler>,
    ) -> (Ingestor, WriterTasks) {
        let (writer, tasks) = Writer::start(store, settings.commit, settings.writers);
        let ingestor = Ingestor {
            inner: Arc::new(Inner {
                writer,
                decoder: Decoder::new(settings),
                classifier,
                sampler,
                policy: settings.exchanges,
            }),
        };
        (ingestor, tasks)
    }

    /// The writer, for its counters.
    pub fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// Ingests one request body: decodes, normalises and redacts its records, classifies the
    /// valid ones into the catalog and commits them; returns once they are durable.
    ///
    /// `budget` (the body's share of the server's in-flight memory) is held until decoding
    /// ends, even when the caller goes away meanwhile: a blocking decode outlives a client that
    /// hung up, and its memory must stay counted until it ends.
    pub async fn ingest(
        &self,
        body: bytes::Bytes,
        format: Format,
        budget: impl Send + 'static,
    ) -> Result<Outcome, IngestError> {
        let received_at = Utc::now();
        let ingestor = self.clone();
        let small = body.len() <= INLINE_DECODE_LIMIT;
        let run = move || -> Result<(Classified, Vec<Rejection>), DecodeError> {
            let decoded = ingestor.inner.decoder.decode(&body, format, received_at)?;
            let sampler = &ingestor.inner.sampler;
            let sampled = ingestor.inner.policy == ExchangePolicy::Sampled;
            let mut whole = Vec::new();
            let mut records =
                ingestor
                    .inner
                    .classifier
                    .classify(decoded.exchanges, |key, exchange| {
                        let admitted = sampler.admit(key, exchange);
                        if sampled {
                            whole.push(sampler.keep_whole(key, exchange, admitted));
                        }
                        admitted
                    });
            records.whole = whole;
            drop(budget);
            Ok((records, decoded.rejected))
        };
        let (records, rejected) = if small {
            run()?
        } else {
            tokio::task::spawn_blocking(run).await??
        };
        if records.exchanges.is_empty() {
            return Err(IngestError::NoValidRecords(rejected));
        }
        let accepted = records.exchanges.len();
        self.inner.writer.write(records).await?;
        tracing::debug!(
            format = format.source().as_str(),
            accepted,
            rejected = rejected.len(),
            "committed"
        );
        Ok(Outcome { accepted, rejected })
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
    pub fn new(settings: &IngestSettings) -> Self {
        Decoder {
            redactor: Redactor::new(&settings.redaction),
            limits: Limits {
                max_stored_body_bytes: settings.max_stored_body_bytes,
                ..Limits::default()
            },
            max_records: settings.max_records,
        }
    }

    /// Decodes a body of either format.
    pub fn decode(
        &self,
        body: &[u8],
        format: Format,
        received_at: DateTime<Utc>,
    ) -> Result<Decoded, DecodeError> {
        match format {
            Format::Telemetry(encoding) => self.decode_telemetry(body, encoding, received_at),
            Format::IngestData => self.decode_ingest_data(body, received_at),
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
        // `raw` is the record's text, for the messages of a record without `request`.
        let decoded_one =
            |mut telemetry: wire::nta::Telemetry, raw: &str| -> Result<Exchange, RecordError> {
                if telemetry.request.is_none()
                    && let Some(misspelled) = unknown_telemetry_fields(raw)
                {
                    return Err(misspelled);
                }
                normalize::normalize(formats::nta(&mut telemetry)?, &cx)
            };
        let decode_one =
            |raw: &str| -> Result<Exchange, RecordError> { decoded_one(decode_record(raw)?, raw) };
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
                    // Most bodies are one valid record: decoded straight from the body, it needs
                    // no first pass that finds the end of its text. Anything else (not UTF-8, not
                    // JSON, not a valid record) takes the general path, with its messages.
                    let direct = std::str::from_utf8(body)
                        .ok()
                        .and_then(|text| Some((serde_json::from_str(text).ok()?, text)));
                    let (result, raw) = match direct {
                        Some((telemetry, text)) => (decoded_one(telemetry, text), text),
                        None => {
                            let raw: &RawValue = serde_json::from_slice(body)
                                .map_err(|e| DecodeError::syntax(&e))?;
                            (decode_one(raw.get()), raw.get())
                        }
                    };
                    let decoded = collect(SourceFormat::Nta, std::iter::once(result));
                    if decoded.exchanges.is_empty()
                        && object_keys(raw).is_some_and(|keys| keys.contains("batchData"))
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
                let mut record: wire::akto::Record = decode_record(raw.get())?;
                normalize::normalize(formats::akto(&mut record)?, &cx)
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

/// Decodes one record, naming the JSON path of a type error (`request.method: invalid type…`).
///
/// Records are decoded without path tracking first: tracking copies every member name it
/// passes, which costs more than decoding a valid record twice costs an invalid one.
fn decode_record<'de, T: serde::Deserialize<'de>>(raw: &'de str) -> Result<T, RecordError> {
    if let Ok(record) = serde_json::from_str(raw) {
        return Ok(record);
    }
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
                    names::INGEST_RECORDS_REJECTED,
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
    metrics::counter!(names::INGEST_RECORDS_ACCEPTED, "format" => format.as_str())
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
