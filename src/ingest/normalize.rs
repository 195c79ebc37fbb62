//! From what a producer captured to the canonical [`Exchange`]: one code path for every wire
//! format, so host, port, scheme, path and body rules are written (and tested) once.
//!
//! Each format adapter fills a [`Capture`] with its raw fields (and the names those fields have
//! in its format, so errors name them as the producer knows them); [`normalize`] derives the
//! rest and validates.

use chrono::{DateTime, TimeZone, Utc};

use super::encoding;
use super::redact::Redactor;
use crate::model::exchange::{CapturedBody, Exchange, Message, Producer, Scheme, SourceFormat};

/// Why one record was refused: a stable code (for metrics) and a sentence naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Short stable code, e.g. `missing_host`.
    pub reason: &'static str,
    /// What is wrong, naming the field as the producer's format calls it.
    pub message: String,
}

impl RecordError {
    pub(crate) fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// Limits applied while normalising.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes kept per body; longer bodies are cut and flagged.
    pub max_stored_body_bytes: usize,
    /// Headers per message; more rejects the record.
    pub max_headers: usize,
    /// Bytes of header names and values per message; more rejects the record.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stored_body_bytes: 1024 * 1024,
            max_headers: 500,
            max_header_bytes: 256 * 1024,
        }
    }
}

/// How a producer encoded a body in its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Base64 of the raw bytes (NTA), with raw text tolerated.
    Base64,
    /// The text itself (Akto).
    Text,
}

/// A body as the producer sent it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyInput<'a> {
    pub(crate) text: &'a str,
    pub(crate) transport: Transport,
    /// The producer says it cut the body.
    pub(crate) truncated: bool,
}

impl BodyInput<'_> {
    pub(crate) const EMPTY: BodyInput<'static> = BodyInput {
        text: "",
        transport: Transport::Text,
        truncated: false,
    };
}

/// The response half as the producer sent it, already validated by the adapter.
#[derive(Debug)]
pub(crate) struct ResponseInput<'a> {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: BodyInput<'a>,
}

/// The names a format gives the fields [`normalize`] validates, for error messages.
#[derive(Debug)]
pub(crate) struct FieldNames {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) host: &'static str,
    pub(crate) request_headers: &'static str,
    pub(crate) response_headers: &'static str,
    /// Every place a host is looked for, for the "no host" error.
    pub(crate) host_sources: &'static str,
}

/// Everything a format adapter extracted from one record.
#[derive(Debug)]
pub(crate) struct Capture<'a> {
    pub(crate) source: SourceFormat,
    pub(crate) fields: &'static FieldNames,
    pub(crate) scheme: Option<&'a str>,
    /// An explicit host field (NTA `request.host`).
    pub(crate) host: Option<&'a str>,
    /// NTA `destinationAddress`.
    pub(crate) destination: Option<&'a str>,
    pub(crate) method: Option<&'a str>,
    /// Path and query, or an absolute URL.
    pub(crate) target: Option<&'a str>,
    /// Names as received (lower-cased here).
    pub(crate) request_headers: Vec<(String, String)>,
    pub(crate) request_body: BodyInput<'a>,
    pub(crate) response: Option<ResponseInput<'a>>,
    pub(crate) observed_at: Option<DateTime<Utc>>,
    pub(crate) client_address: Option<&'a str>,
    pub(crate) producer: Producer,
}

/// What normalising needs besides the record.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Used when the producer gave no time.
    pub received_at: DateTime<Utc>,
    /// Size limits.
    pub limits: Limits,
    /// Secrets to remove.
    pub redactor: &'a Redactor,
}

/// Turns a capture into an exchange, or says (naming the field) why it cannot.
pub(crate) fn normalize(capture: Capture<'_>, cx: &Context<'_>) -> Result<Exchange, RecordError> {
    let fields = capture.fields;
    let method = normalize_method(capture.method, fields.method)?;
    let target = parse_target(capture.target, fields.path)?;

    let request_headers =
        clean_headers(capture.request_headers, fields.request_headers, &cx.limits)?;
    let header = |name: &str| {
        request_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    // Host: the explicit field, then the Host header, then HTTP/2's :authority, then the
    // absolute URL, then the destination address.
    let destination = capture
        .destination
        .and_then(wire::address::parse_destination_address);
    let mut authority = None;
    for (field, candidate) in [
        (fields.host, capture.host),
        ("host header", header("host")),
        (":authority header", header(":authority")),
        ("authority header", header("authority")),
    ] {
        let Some(candidate) = candidate.map(str::trim).filter(|c| !c.is_empty()) else {
            continue;
        };
        let parsed = wire::address::parse_authority(candidate).ok_or_else(|| {
            RecordError::new(
                "invalid_host",
                format!("{field}: {candidate:?} is not a valid host"),
            )
        })?;
        authority = Some((parsed.host.to_string(), parsed.port));
        break;
    }
    if authority.is_none() {
        authority = target.authority.clone();
    }
    if authority.is_none() {
        authority = destination
            .as_ref()
            .and_then(|d| Some((d.host?.to_owned(), d.port)))
            .filter(|(host, _)| !host.is_empty());
    }
    let Some((host, host_port)) = authority else {
        return Err(RecordError::new(
            "missing_host",
            format!(
                "cannot determine the host: {} are all missing",
                fields.host_sources
            ),
        ));
    };
    let host = normalize_host(&host);
    let port = host_port.or_else(|| destination.as_ref().and_then(|d| d.port));

    let scheme = capture
        .scheme
        .and_then(Scheme::parse)
        .or(target.scheme)
        .or_else(|| header("x-forwarded-proto").and_then(forwarded_proto))
        .or_else(|| header("cf-visitor").and_then(cf_visitor_scheme))
        .unwrap_or(match port {
            Some(443 | 8443) => Scheme::Https,
            _ => Scheme::Http,
        });
    let port = port.unwrap_or_else(|| scheme.default_port());

    let query = target
        .query
        .map(|q| cx.redactor.query(&q).unwrap_or(q))
        .filter(|q| !q.is_empty());

    let request = build_message(request_headers, capture.request_body, cx);
    let (status, response) = match capture.response {
        Some(r) => {
            let headers = clean_headers(r.headers, fields.response_headers, &cx.limits)?;
            (Some(r.status), Some(build_message(headers, r.body, cx)))
        }
        None => (None, None),
    };

    Ok(Exchange {
        observed_at: capture.observed_at.unwrap_or(cx.received_at),
        source: capture.source,
        scheme,
        host,
        port,
        method,
        raw_path: target.raw_path,
        path: target.path,
        query,
        status,
        request,
        response,
        client_address: capture
            .client_address
            .and_then(wire::address::parse_client_address)
            .map(|client| client.ip.to_string()),
        producer: capture.producer,
    })
}

fn normalize_method(method: Option<&str>, field: &str) -> Result<String, RecordError> {
    let method = method.map(str::trim).unwrap_or_default();
    if method.is_empty() {
        return Err(RecordError::new(
            "missing_method",
            format!("{field} is missing"),
        ));
    }
    // RFC 9110 token characters; real methods are short.
    let valid = method.len() <= 32
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Err(RecordError::new(
            "invalid_method",
            format!("{field}: {method:?} is not an HTTP method"),
        ));
    }
    Ok(method.to_ascii_uppercase())
}

/// A request target split into its parts.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    scheme: Option<Scheme>,
    authority: Option<(String, Option<u16>)>,
    raw_path: String,
    path: String,
    query: Option<String>,
}

fn parse_target(target: Option<&str>, field: &str) -> Result<Target, RecordError> {
    let target = target.map(str::trim).unwrap_or_default();
    if target.is_empty() {
        return Err(RecordError::new(
            "missing_path",
            format!("{field} is missing"),
        ));
    }
    if target.bytes().any(|b| b.is_ascii_control()) {
        return Err(RecordError::new(
            "invalid_path",
            format!("{field}: contains control characters"),
        ));
    }
    // Drop the fragment: it never reaches a server.
    let target = target.split_once('#').map_or(target, |(before, _)| before);
    let (mut scheme, mut authority, mut rest) = (None, None, target);
    if let Some((name, after)) = target.split_once("://")
        && let Some(parsed) = Scheme::parse(name).filter(|_| !name.contains('/'))
    {
        let end = after.find(['/', '?']).unwrap_or(after.len());
        let host = &after[..end];
        // Userinfo never belongs in a stored URL.
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let parsed_host = wire::address::parse_authority(host).ok_or_else(|| {
            RecordError::new(
                "invalid_host",
                format!("{field}: {host:?} in the URL is not a valid host"),
            )
        })?;
        scheme = Some(parsed);
        authority = Some((parsed_host.host.to_string(), parsed_host.port));
        rest = &after[end..];
    }
    let (raw_path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (rest, None),
    };
    let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
    Ok(Target {
        scheme,
        authority,
        raw_path: raw_path.to_owned(),
        path: normalize_path(raw_path),
        query,
    })
}

/// Removes dot segments (RFC 3986 §5.2.4) and empty segments, keeping a trailing slash.
pub(crate) fn normalize_path(raw: &str) -> String {
    // The usual case, a path that is already normal, is kept as it is.
    if let Some(rest) = raw.strip_prefix('/') {
        let mut parts = rest.split('/').peekable();
        let mut normal = true;
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            if (part.is_empty() && !last) || part == "." || part == ".." {
                normal = false;
                break;
            }
        }
        if normal {
            return raw.to_owned();
        }
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut path = String::with_capacity(raw.len() + 1);
    for segment in &segments {
        path.push('/');
        path.push_str(segment);
    }
    let ends_in_directory = raw.ends_with('/') || raw.ends_with("/.") || raw.ends_with("/..");
    if path.is_empty() || (ends_in_directory && !segments.is_empty()) {
        path.push('/');
    }
    path
}

/// Lower-case, no trailing dot, no IPv6 brackets.
fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// `X-Forwarded-Proto` may list one value per proxy; the first is the client's.
fn forwarded_proto(value: &str) -> Option<Scheme> {
    Scheme::parse(value.split(',').next()?.trim())
}

/// Cloudflare's `CF-Visitor: {"scheme":"https"}`.
fn cf_visitor_scheme(value: &str) -> Option<Scheme> {
    #[derive(serde::Deserialize)]
    struct Visitor<'a> {
        scheme: &'a str,
    }
    Scheme::parse(serde_json::from_str::<Visitor<'_>>(value).ok()?.scheme)
}

/// Lower-cases names, replaces NUL characters (which Postgres text cannot hold) and enforces
/// the header limits.
fn clean_headers(
    headers: Vec<(String, String)>,
    field: &str,
    limits: &Limits,
) -> Result<Vec<(String, String)>, RecordError> {
    if headers.len() > limits.max_headers {
        return Err(RecordError::new(
            "too_many_headers",
            format!(
                "{field}: {} headers exceed the limit of {}",
                headers.len(),
                limits.max_headers
            ),
        ));
    }
    let bytes: usize = headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    if bytes > limits.max_header_bytes {
        return Err(RecordError::new(
            "headers_too_large",
            format!(
                "{field}: {bytes} bytes of headers exceed the limit of {}",
                limits.max_header_bytes
            ),
        ));
    }
    Ok(headers
        .into_iter()
        .map(|(name, value)| {
            let mut name = sanitize(name);
            name.make_ascii_lowercase();
            (name, sanitize(value))
        })
        .collect())
}

/// Replaces NUL characters, which neither Postgres text nor jsonb can store.
pub(crate) fn sanitize(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

/// Decodes, decompresses, caps and redacts a body, and redacts the headers.
fn build_message(
    headers: Vec<(String, String)>,
    input: BodyInput<'_>,
    cx: &Context<'_>,
) -> Message {
    let cap = cx.limits.max_stored_body_bytes;
    let raw = match input.transport {
        Transport::Base64 => encoding::decode_transport(input.text),
        Transport::Text => std::borrow::Cow::Borrowed(input.text.as_bytes()),
    };
    let mut truncated = input.truncated;
    let encoding = headers
        .iter()
        .find(|(n, _)| n == "content-encoding")
        .map(|(_, v)| v.as_str());
    let mut bytes = match encoding {
        Some(encoding) if !raw.is_empty() => {
            let decompressed = encoding::decompress(encoding, &raw, cap.saturating_add(1));
            truncated |= decompressed.truncated;
            decompressed.bytes.into_owned()
        }
        _ => raw.into_owned(),
    };
    if bytes.len() > cap {
        bytes.truncate(cap);
        truncated = true;
    }
    let message = Message {
        headers,
        body: CapturedBody { bytes, truncated },
    };
    let mut message = redact_message(message, cx.redactor);
    // A marker can be longer than the secret it replaced; the cap holds for what is stored.
    if message.body.bytes.len() > cap {
        message.body.bytes.truncate(cap);
        message.body.truncated = true;
    }
    message
}

fn redact_message(mut message: Message, redactor: &Redactor) -> Message {
    if let Some(redacted) = redactor.body(message.header("content-type"), &message.body.bytes) {
        message.body.bytes = redacted;
    }
    for (name, value) in &mut message.headers {
        if let Some(redacted) = redactor.header(name, value) {
            *value = redacted;
        }
    }
    message
}

/// Epoch time by magnitude: seconds, milliseconds, microseconds or nanoseconds. Producers
/// disagree (NTA sends milliseconds, Akto seconds), and any plausible date in one unit is
/// implausible in the others.
pub(crate) fn epoch_to_time(value: f64) -> Option<DateTime<Utc>> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let micros = if value < 1e11 {
        value * 1e6
    } else if value < 1e14 {
        value * 1e3
    } else if value < 1e17 {
        value
    } else {
        value / 1e3
    };
    Utc.timestamp_micros(micros as i64).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized() {
        for (raw, normalized) in [
            ("/", "/"),
            ("", "/"),
            ("/a/b", "/a/b"),
            ("/a//b", "/a/b"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../../a", "/a"),
            ("/a/b/", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/a/", "/a/"),
            ("/a//", "/a/"),
            ("/.", "/"),
            ("/a/.", "/a/"),
            ("/a/.b/..c", "/a/.b/..c"),
            ("//a", "/a"),
            ("a/b", "/a/b"),
            ("/%2e%2e/a", "/%2e%2e/a"),
        ] {
            assert_eq!(normalize_path(raw), normalized, "{raw:?}");
        }
    }

    #[test]
    fn targets_split_into_parts() {
        let t = parse_target(Some("/api/v1/users?active=true#frag"), "path").unwrap();
        assert_eq!(
            (t.raw_path.as_str(), t.query.as_deref()),
            ("/api/v1/users", Some("active=true"))
        );
        let t = parse_target(Some("http://User:pw@Host.Example:8080/a/../b?q=1"), "path").unwrap();
        assert_eq!(t.scheme, Some(Scheme::Http));
        assert_eq!(t.authority, Some(("Host.Example".to_owned(), Some(8080))));
        assert_eq!((t.raw_path.as_str(), t.path.as_str()), ("/a/../b", "/b"));
        let t = parse_target(Some("https://h.example"), "path").unwrap();
        assert_eq!(t.path, "/");
        let t = parse_target(Some("/search?q=a://b"), "path").unwrap();
        assert_eq!((t.path.as_str(), t.scheme), ("/search", None));
        assert!(
            parse_target(Some(""), "path")
                .unwrap_err()
                .message
                .contains("path is missing")
        );
        assert!(parse_target(Some("/a\nb"), "path").is_err());
        assert!(parse_target(Some("http://bad host/x"), "path").is_err());
    }

    #[test]
    fn methods_are_tokens() {
        assert_eq!(normalize_method(Some("get"), "m").unwrap(), "GET");
        assert_eq!(normalize_method(Some("PROPFIND"), "m").unwrap(), "PROPFIND");
        assert!(
            normalize_method(None, "m")
                .unwrap_err()
                .message
                .contains("m is missing")
        );
        assert!(normalize_method(Some("GE T"), "m").is_err());
        assert!(normalize_method(Some("<script>"), "m").is_err());
    }

    #[test]
    fn epoch_units_by_magnitude() {
        let expected = Utc.with_ymd_and_hms(2025, 11, 21, 4, 40, 0).unwrap();
        for value in [
            1763700000.0,
            1763700000000.0,
            1763700000000000.0,
            1763700000000000000.0,
        ] {
            assert_eq!(epoch_to_time(value), Some(expected), "{value}");
        }
        assert_eq!(
            epoch_to_time(1763700000.5)
                .unwrap()
                .timestamp_subsec_millis(),
            500
        );
        assert_eq!(epoch_to_time(0.0), None);
        assert_eq!(epoch_to_time(-5.0), None);
        assert_eq!(epoch_to_time(f64::NAN), None);
    }

    #[test]
    fn forwarded_schemes() {
        assert_eq!(forwarded_proto("https, http"), Some(Scheme::Https));
        assert_eq!(
            cf_visitor_scheme(r#"{"scheme":"https"}"#),
            Some(Scheme::Https)
        );
        assert_eq!(cf_visitor_scheme("garbage"), None);
    }

    #[test]
    fn nul_characters_are_replaced() {
        assert_eq!(sanitize("a\0b".to_owned()), "a\u{FFFD}b");
    }
}
