//! The two wire formats, each mapped onto a [`Capture`] with its own field names.

use wire::akto::Record;
use wire::nta::{Common, Telemetry};
use wire::{Headers, Scalar};

use super::normalize::{
    BodyInput, Capture, FieldNames, RecordError, ResponseInput, Transport, epoch_to_time, sanitize,
};
use crate::model::exchange::{Producer, SourceFormat};

static NTA_FIELDS: FieldNames = FieldNames {
    method: "request.method",
    path: "request.path",
    host: "request.host",
    request_headers: "request.common.headers",
    response_headers: "response.common.headers",
    host_sources: "request.host, the host and :authority headers, an absolute request.path and \
                   destinationAddress",
};

static AKTO_FIELDS: FieldNames = FieldNames {
    method: "method",
    path: "path",
    host: "host header",
    request_headers: "requestHeaders",
    response_headers: "responseHeaders",
    host_sources: "the host and :authority headers in requestHeaders, an absolute path and destIp",
};

/// Akto's Cloudflare Worker cuts payloads at this many characters without saying so.
const AKTO_WORKER_PAYLOAD_CAP: usize = 64 * 1024;

/// Collects every problem of a record, so a producer fixing its output sees them all at once.
#[derive(Default)]
struct Problems(Vec<RecordError>);

impl Problems {
    fn push(&mut self, error: RecordError) {
        self.0.push(error);
    }

    fn take<T>(&mut self, result: Result<T, RecordError>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, RecordError> {
        let mut errors = self.0.into_iter();
        match errors.next() {
            None => Ok(value()),
            Some(first) => {
                let message = std::iter::once(first.message)
                    .chain(errors.map(|e| e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Err(RecordError::new(first.reason, message))
            }
        }
    }
}

/// The usable headers of a field, moved out of the decoded record (which is dropped after
/// mapping), or the first problem.
fn headers(headers: Option<Headers>, field: &str) -> Result<Vec<(String, String)>, RecordError> {
    let Some(headers) = headers else {
        return Ok(Vec::new());
    };
    headers
        .check()
        .map_err(|e| RecordError::new("invalid_headers", e.describe(field)))?;
    Ok(headers.into_pairs().collect())
}

fn status(value: Option<&Scalar>, field: &str) -> Result<u16, RecordError> {
    let Some(value) = value else {
        return Err(RecordError::new(
            "missing_status",
            format!("{field} is missing"),
        ));
    };
    value
        .as_i64()
        .filter(|s| (100..=599).contains(s))
        .map(|s| s as u16)
        .ok_or_else(|| {
            RecordError::new(
                "invalid_status",
                format!(
                    "{field}: {} {} is not an HTTP status code (100-599)",
                    value.kind(),
                    shorten(&value.as_str_lossy())
                ),
            )
        })
}

/// A time field: a number (or numeric string) of seconds or milliseconds; `0`/`""` mean unknown.
fn time(
    value: Option<&Scalar>,
    field: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, RecordError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if matches!(value, Scalar::Str(s) if s.trim().is_empty()) {
        return Ok(None);
    }
    let number = value.as_f64().ok_or_else(|| {
        RecordError::new(
            "invalid_time",
            format!(
                "{field}: expected epoch seconds or milliseconds, got {} {}",
                value.kind(),
                shorten(&value.as_str_lossy())
            ),
        )
    })?;
    if number == 0.0 {
        return Ok(None);
    }
    epoch_to_time(number).map(Some).ok_or_else(|| {
        RecordError::new(
            "invalid_time",
            format!("{field}: {number} is not a usable time"),
        )
    })
}

fn flag(value: Option<&Scalar>, field: &str) -> Result<bool, RecordError> {
    match value {
        None => Ok(false),
        Some(value) => value.as_bool().ok_or_else(|| {
            RecordError::new(
                "invalid_field",
                format!(
                    "{field}: expected a boolean, got {} {}",
                    value.kind(),
                    shorten(&value.as_str_lossy())
                ),
            )
        }),
    }
}

/// Quotes a value for an error message without echoing megabytes of it back.
fn shorten(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| sanitize(v.to_owned()))
}

/// Maps one NTA / APIClarity telemetry object; its headers are moved into the capture.
pub(crate) fn nta(telemetry: &mut Telemetry) -> Result<Capture<'_>, RecordError> {
    let request_headers = telemetry
        .request
        .as_mut()
        .and_then(|r| r.common.as_mut())
        .and_then(|c| c.headers.take());
    let response_headers = telemetry
        .response
        .as_mut()
        .and_then(|r| r.common.as_mut())
        .and_then(|c| c.headers.take());
    let telemetry = &*telemetry;
    let Some(request) = &telemetry.request else {
        let message = if telemetry.response.is_some() {
            "request is missing: the telemetry holds only a response, which cannot be tied to \
             an endpoint (the Invicti Worker sends this when it fails to encode a large request \
             body)"
        } else {
            "request is missing: the telemetry holds neither a request nor a response (the \
             Invicti Worker sends {} when it fails to encode large bodies)"
        };
        return Err(RecordError::new("missing_request", message));
    };
    let mut problems = Problems::default();
    let common = request.common.as_ref();
    let request_headers = problems
        .take(headers(request_headers, NTA_FIELDS.request_headers))
        .unwrap_or_default();
    let request_body = problems
        .take(nta_body(common, "request.common"))
        .unwrap_or(BodyInput::EMPTY);
    let request_time = problems
        .take(time(
            common.and_then(|c| c.time.as_ref()),
            "request.common.time",
        ))
        .flatten();

    let mut response_time = None;
    let response = match &telemetry.response {
        None => None,
        Some(response) => {
            let common = response.common.as_ref();
            let status =
                problems.take(status(response.status_code.as_ref(), "response.statusCode"));
            let headers = problems.take(headers(response_headers, NTA_FIELDS.response_headers));
            let body = problems.take(nta_body(common, "response.common"));
            response_time = problems
                .take(time(
                    common.and_then(|c| c.time.as_ref()),
                    "response.common.time",
                ))
                .flatten();
            match (status, headers, body) {
                (Some(status), Some(headers), Some(body)) => Some(ResponseInput {
                    status,
                    headers,
                    body,
                }),
                _ => None,
            }
        }
    };
    let producer = Producer {
        request_id: non_empty(telemetry.request_id.as_deref()),
        namespace: non_empty(telemetry.destination_namespace.as_deref()),
        http_version: common
            .and_then(|c| c.version.as_ref())
            .map(|v| sanitize(v.as_str_lossy().into_owned()))
            .filter(|v| !v.is_empty()),
        ..Producer::default()
    };
    problems.finish(|| Capture {
        source: SourceFormat::Nta,
        fields: &NTA_FIELDS,
        scheme: telemetry.scheme.as_deref(),
        host: request.host.as_deref(),
        destination: telemetry.destination_address.as_deref(),
        method: request.method.as_deref(),
        target: request.path.as_deref(),
        request_headers,
        request_body,
        response,
        observed_at: request_time.or(response_time),
        client_address: telemetry.source_address.as_deref(),
        producer,
    })
}

fn nta_body<'a>(common: Option<&'a Common>, field: &str) -> Result<BodyInput<'a>, RecordError> {
    let Some(common) = common else {
        return Ok(BodyInput::EMPTY);
    };
    Ok(BodyInput {
        text: common.body.as_deref().unwrap_or_default(),
        transport: Transport::Base64,
        truncated: flag(
            common.truncated_body.as_ref(),
            &format!("{field}.truncatedBody"),
        )?,
    })
}

/// Maps one element of Akto's `batchData`; its headers are moved into the capture.
pub(crate) fn akto(record: &mut Record) -> Result<Capture<'_>, RecordError> {
    let mut problems = Problems::default();
    let request_headers = problems
        .take(headers(
            record.request_headers.take(),
            AKTO_FIELDS.request_headers,
        ))
        .unwrap_or_default();
    let response_headers = problems
        .take(headers(
            record.response_headers.take(),
            AKTO_FIELDS.response_headers,
        ))
        .unwrap_or_default();
    let record = &*record;
    let pending = problems
        .take(flag(record.is_pending.as_ref(), "is_pending"))
        .unwrap_or(false);
    // A pending record, or one with no status at all, is a request the agent saw no answer to.
    let status_missing = match &record.status_code {
        None | Some(Scalar::Null) => true,
        Some(Scalar::Str(s)) => s.trim().is_empty(),
        Some(_) => false,
    };
    let status = if pending || status_missing {
        None
    } else {
        problems.take(status(record.status_code.as_ref(), "statusCode"))
    };
    let observed_at = problems.take(time(record.time.as_ref(), "time")).flatten();
    let response = status.map(|status| ResponseInput {
        status,
        headers: response_headers,
        body: akto_payload(record.response_payload.as_deref()),
    });
    let producer = Producer {
        akto_account_id: record
            .akto_account_id
            .as_ref()
            .and_then(|v| non_empty(Some(&v.as_str_lossy()))),
        akto_vxlan_id: record
            .akto_vxlan_id
            .as_ref()
            .and_then(|v| non_empty(Some(&v.as_str_lossy()))),
        akto_source: non_empty(record.source.as_deref()),
        akto_tag: record.tag.as_ref().and_then(tag_value),
        protocol: non_empty(record.r#type.as_deref()),
        ..Producer::default()
    };
    problems.finish(|| Capture {
        source: SourceFormat::Akto,
        fields: &AKTO_FIELDS,
        scheme: None,
        host: None,
        destination: record.dest_ip.as_deref(),
        method: record.method.as_deref(),
        target: record.path.as_deref(),
        request_headers,
        request_body: akto_payload(record.request_payload.as_deref()),
        response,
        observed_at,
        client_address: record.ip.as_deref(),
        producer,
    })
}

/// Akto payloads are text; the Cloudflare Worker cuts them at 64 Ki characters silently, so a
/// payload of exactly that length is flagged as cut.
fn akto_payload(payload: Option<&str>) -> BodyInput<'_> {
    let text = payload.unwrap_or_default();
    let truncated =
        text.len() >= AKTO_WORKER_PAYLOAD_CAP && text.chars().count() == AKTO_WORKER_PAYLOAD_CAP;
    BodyInput {
        text,
        transport: Transport::Text,
        truncated,
    }
}

/// Akto's `tag`: JSON text (`"{\"service\":\"cloudflare\"}"`) or the object itself.
fn tag_value(tag: &Scalar) -> Option<serde_json::Value> {
    let value = match tag {
        Scalar::Null => return None,
        Scalar::Str(text) if text.trim().is_empty() => return None,
        Scalar::Str(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone()))
        }
        Scalar::Composite(value) => (**value).clone(),
        other => serde_json::Value::String(other.as_str_lossy().into_owned()),
    };
    Some(sanitize_json(value))
}

/// jsonb cannot store NUL characters anywhere, keys included.
fn sanitize_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(sanitize(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(sanitize_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (sanitize(k), sanitize_json(v)))
                .collect(),
        ),
        other => other,
    }
}
