//! Round-trip and robustness properties of the [`Decoder`].
//!
//! The central property: any canonical [`Exchange`] that a test encoder writes in the shape a real
//! producer uses (NTA/APIClarity telemetry, Akto `batchData`) decodes back to the same
//! [`Exchange`]. The encoders vary every spelling the decoder promises to tolerate (host case and
//! trailing dots, where the port is given, numbers sent as strings, fragments, empty `?`, byte-order
//! marks, array and NDJSON framing, …), so a strategy case covers far more than one wire shape.
//!
//! Where a format cannot carry a field of the canonical exchange, the difference is deliberate and
//! applied to the expected value in the encoder, with a `DEVIATION` comment giving the reason.
//!
//! The other properties: the decoders never panic on arbitrary bytes, on arbitrary JSON or on
//! damaged valid records, and whatever they accept is canonical (lower-case host, normalized
//! path, capped bodies, …); with redaction on, no secret header value survives; compressed bodies
//! come back decompressed and within the cap.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeZone, Utc};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;
use wire::{Headers, Scalar, akto, nta};

use super::redact::{REDACTED, RedactionConfig};
use super::{DecodeError, Decoded, Decoder, TelemetryEncoding};
use crate::ingest::IngestSettings;
use crate::ingest::writer::CommitSettings;
use crate::model::exchange::{CapturedBody, Exchange, Message, Producer, Scheme, SourceFormat};

// ---------------------------------------------------------------------------------------------
// Decoders

/// Large enough that no generated body is ever cut.
const LARGE_CAP: usize = 64 * 1024 * 1024;
/// Small enough that most bodies in the robustness properties are cut.
const SMALL_CAP: usize = 48;

fn decoder(redact: bool, cap: usize) -> Decoder {
    Decoder::new(&IngestSettings {
        redaction: RedactionConfig {
            enabled: redact,
            ..RedactionConfig::default()
        },
        max_records: 10_000,
        max_stored_body_bytes: cap,
        commit: CommitSettings::default(),
        writers: 1,
        exchanges: crate::store::ExchangePolicy::Full,
    })
}

/// Redaction off, large cap: what the round trips use.
static PLAIN: LazyLock<Decoder> = LazyLock::new(|| decoder(false, LARGE_CAP));
/// Redaction on, large cap.
static REDACTING: LazyLock<Decoder> = LazyLock::new(|| decoder(true, LARGE_CAP));
/// Redaction off, small cap.
static PLAIN_SMALL: LazyLock<Decoder> = LazyLock::new(|| decoder(false, SMALL_CAP));
/// Redaction on, small cap: the production configuration with cuts everywhere.
static REDACTING_SMALL: LazyLock<Decoder> = LazyLock::new(|| decoder(true, SMALL_CAP));

/// The receive time given to the decoder when the record carries its own time: outside the range
/// of generated times, so falling back to it by mistake cannot go unnoticed.
fn elsewhere() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Strategies for canonical exchanges

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND",
];

/// RFC 9110 token characters, upper-cased (a canonical method is upper-case).
const METHOD_CHARS: &[char] = &[
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S',
    'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '!', '#',
    '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~',
];

/// Characters a path segment is usually made of (RFC 3986 `pchar`, `%` included unescaped).
const PATH_CHARS: &[char] = &[
    'a', 'b', 'k', 'z', 'A', 'Q', 'Z', '0', '7', '9', '-', '.', '_', '~', '!', '$', '&', '\'', '(',
    ')', '*', '+', ',', ';', '=', ':', '@', '%',
];

/// Characters for query values: anything a client may leave unescaped except `&` and `#`.
const QUERY_CHARS: &[char] = &[
    'a', 'x', 'Z', '0', '5', '-', '.', '_', '~', '!', '$', '\'', '(', ')', '*', '+', ',', ';', '=',
    ':', '@', '/', '?', '%', '[', ']',
];

/// Ordinary query parameter names; none is secret.
const QUERY_NAMES: &[&str] = &[
    "page",
    "limit",
    "q",
    "sort",
    "filter",
    "lang",
    "expand",
    "fields",
    "id",
    "v",
    "cursor",
    "a[b]",
    "name%20x",
    "utm_source",
];

/// Ordinary header names (lower-case, none secret, none that steers host or scheme).
const HEADER_NAMES: &[&str] = &[
    "accept",
    "accept-language",
    "cache-control",
    "content-type",
    "content-length",
    "user-agent",
    "x-request-id",
    "x-trace-id",
    "etag",
    "vary",
    "if-none-match",
    "cf-ray",
    "cf-connecting-ip",
    "traceparent",
    "x-forwarded-for",
    "link",
];

/// Headers the decoder reads to find the host, scheme or content coding; the round trips keep
/// them out of generated exchanges because the encoders write them where needed.
const STEERING_HEADERS: &[&str] = &[
    "host",
    ":authority",
    "authority",
    "content-encoding",
    "x-forwarded-proto",
    "cf-visitor",
];

/// Fragments of header names the redactor treats as secret (folded: no `-`, `_`, `.`).
const SECRET_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "key",
    "pass",
    "pwd",
    "auth",
    "session",
    "sessid",
    "cookie",
    "csrf",
    "xsrf",
    "jwt",
    "bearer",
    "signature",
    "credential",
    "assertion",
];

fn is_steering_or_secret(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect();
    STEERING_HEADERS.contains(&name) || SECRET_FRAGMENTS.iter().any(|f| folded.contains(f))
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![Just(Scheme::Http), Just(Scheme::Https)]
}

fn dns_label() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z0-9][a-z0-9_-]{0,12}",
        1 => select(&["bücher", "xn--bcher-kva", "δοκιμή", "例え", "_dmarc"][..]).prop_map(str::to_owned),
    ]
}

/// A canonical host: a lower-case DNS name without trailing dot, an IPv4 address, or an IPv6
/// address without brackets (as `Ipv6Addr` writes it).
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => vec(dns_label(), 1..4).prop_map(|labels| labels.join(".")),
        2 => any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        2 => any::<Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![Just(80), Just(443), Just(8080), Just(8443), any::<u16>()]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(METHODS).prop_map(str::to_owned),
        1 => vec(select(METHOD_CHARS), 1..=32).prop_map(String::from_iter),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    let char = prop_oneof![
        6 => select(PATH_CHARS),
        1 => any::<char>().prop_filter("a character a path segment can hold", |c| {
            !c.is_whitespace() && !c.is_ascii_control() && !matches!(c, '/' | '?' | '#')
        }),
    ];
    vec(char, 1..10)
        .prop_map(String::from_iter)
        .prop_filter("not a dot segment", |s| s != "." && s != "..")
}

/// What the producer wrote before a segment; none of it survives normalization.
#[derive(Debug, Clone)]
enum Noise {
    None,
    /// `//seg`
    DoubleSlash,
    /// `/./seg`
    Dot,
    /// `/other/../seg`
    Parent(String),
}

fn noise() -> impl Strategy<Value = Noise> {
    prop_oneof![
        6 => Just(Noise::None),
        1 => Just(Noise::DoubleSlash),
        1 => Just(Noise::Dot),
        1 => segment().prop_map(Noise::Parent),
    ]
}

/// `(raw_path, path)`: the path as a producer sent it and its normalized form, built side by side
/// from the segments (so the expectation does not come from the code under test).
fn paths() -> impl Strategy<Value = (String, String)> {
    (vec((segment(), noise()), 0..6), any::<bool>(), 0..3u8).prop_map(
        |(segments, directory, ending)| {
            let mut raw = String::new();
            let mut path = String::new();
            for (segment, noise) in &segments {
                raw.push('/');
                match noise {
                    Noise::None => {}
                    Noise::DoubleSlash => raw.push('/'),
                    Noise::Dot => raw.push_str("./"),
                    Noise::Parent(other) => {
                        raw.push_str(other);
                        raw.push_str("/../");
                    }
                }
                raw.push_str(segment);
                path.push('/');
                path.push_str(segment);
            }
            if directory {
                raw.push_str(["/", "/.", "//"][usize::from(ending)]);
                if !segments.is_empty() {
                    path.push('/');
                }
            }
            if raw.is_empty() {
                raw.push('/');
            }
            if path.is_empty() {
                path.push('/');
            }
            (raw, path)
        },
    )
}

fn query() -> impl Strategy<Value = Option<String>> {
    let char = prop_oneof![
        6 => select(QUERY_CHARS),
        1 => any::<char>().prop_filter("a character a query can hold", |c| {
            !c.is_whitespace() && !c.is_ascii_control() && !matches!(c, '#' | '&')
        }),
    ];
    let pair = (select(QUERY_NAMES), option::of(vec(char, 0..12)));
    option::of(vec(pair, 1..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={}", String::from_iter(value)),
                None => name.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }))
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(HEADER_NAMES).prop_map(str::to_owned),
        1 => "[a-z][a-z0-9-]{0,15}".prop_filter("neither steering nor secret", |n| {
            !is_steering_or_secret(n)
        }),
    ]
}

/// Any text without NUL (which the decoder replaces, since storage cannot hold it).
fn header_value() -> impl Strategy<Value = String> {
    let char = prop_oneof![
        6 => proptest::char::range(' ', '~'),
        1 => any::<char>().prop_filter("not NUL", |c| *c != '\0'),
    ];
    vec(char, 0..24).prop_map(String::from_iter)
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    vec((header_name(), header_value()), 0..6)
}

/// Whether `decode_transport` reads the standard base64 of `bytes` back as those bytes.
///
/// DEVIATION (NTA bodies): producers do not say whether a body is base64, so
/// `encoding::decode_transport` guesses, and by design reads short unpadded base64 of binary bytes
/// (at most 11 bytes, a multiple of 3) as raw text; see `nta_short_binary_bodies_are_ambiguous`.
/// This check is deliberately stricter than the decoder's.
fn transport_unambiguous(bytes: &[u8]) -> bool {
    let encoded = BASE64.encode(bytes);
    let text = std::str::from_utf8(bytes).is_ok()
        && bytes
            .iter()
            .all(|&b| (b >= 0x20 && b != 0x7f) || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c));
    let long_and_not_hex = encoded.len() >= 16
        && encoded
            .bytes()
            .any(|b| !(b.is_ascii_hexdigit() || b == b'-'));
    bytes.is_empty() || encoded.ends_with('=') || text || long_and_not_hex
}

/// NTA bodies: arbitrary bytes (sent as base64).
fn nta_body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..200),
        2 => ".{0,80}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
    ]
    .prop_map(|mut bytes| {
        if !transport_unambiguous(&bytes) {
            // One more byte makes the length no multiple of 3, so the encoding ends with `=`.
            bytes.push(b'!');
        }
        bytes
    })
    .boxed()
}

/// Akto bodies: any text (sent as a JSON string).
fn akto_body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => vec(any::<char>(), 0..80).prop_map(String::from_iter),
        2 => ".{0,80}",
        1 => Just(r#"{"id":7,"name":"ana","tags":["a","b"]}"#.to_owned()),
        1 => Just(String::new()),
    ]
    .prop_map(String::into_bytes)
    .boxed()
}

fn message(body: BoxedStrategy<Vec<u8>>, can_be_cut: bool) -> impl Strategy<Value = Message> {
    let truncated = if can_be_cut {
        any::<bool>().boxed()
    } else {
        Just(false).boxed()
    };
    (headers(), body, truncated).prop_map(|(headers, bytes, truncated)| Message {
        headers,
        body: CapturedBody { bytes, truncated },
    })
}

fn client_address() -> impl Strategy<Value = Option<String>> {
    option::of(prop_oneof![
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ])
}

/// 2000-01-01 to 2100-01-01, at millisecond precision (what NTA's epoch milliseconds carry).
fn nta_time() -> BoxedStrategy<DateTime<Utc>> {
    (946_684_800_000_i64..4_102_444_800_000)
        .prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
        .boxed()
}

/// The same range at second precision (what Akto's epoch seconds carry).
fn akto_time() -> BoxedStrategy<DateTime<Utc>> {
    (946_684_800_i64..4_102_444_800)
        .prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
        .boxed()
}

/// Trimmed, non-empty producer text.
fn meta_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9 ._:/-]{0,30}[A-Za-z0-9])?"
}

fn nta_producer() -> BoxedStrategy<Producer> {
    (
        option::of(meta_text()),
        option::of("[a-z0-9][a-z0-9-]{0,20}"),
        option::of(select(&["1.1", "1.100000", "2", "1.0", "HTTP/2.0"][..])),
    )
        .prop_map(|(request_id, namespace, http_version)| Producer {
            request_id,
            namespace,
            http_version: http_version.map(str::to_owned),
            ..Producer::default()
        })
        .boxed()
}

/// An Akto `tag` object (`{"service":"cloudflare"}`); floats are left out because JSON text does
/// not promise their exact value back.
fn akto_tag() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        "[ -~]{0,12}".prop_map(Value::String),
        any::<i32>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
    ];
    vec(
        (select(&["service", "env", "region", "team"][..]), value),
        1..4,
    )
    .prop_map(|members| {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    })
}

fn akto_producer() -> BoxedStrategy<Producer> {
    (
        option::of("[0-9]{1,10}"),
        option::of("[0-9]{1,5}"),
        option::of(select(&["MIRRORING", "HAR", "BURP", "OTHER"][..])),
        option::of(akto_tag()),
        option::of(select(&["HTTP/1.1", "WebSocket", "HTTP/2"][..])),
    )
        .prop_map(
            |(akto_account_id, akto_vxlan_id, source, akto_tag, protocol)| Producer {
                akto_account_id,
                akto_vxlan_id,
                akto_source: source.map(str::to_owned),
                akto_tag,
                protocol: protocol.map(str::to_owned),
                ..Producer::default()
            },
        )
        .boxed()
}

/// A canonical exchange as the decoder produces it for `format`.
fn exchange(format: SourceFormat) -> BoxedStrategy<Exchange> {
    let (body, can_be_cut, time, producer) = match format {
        SourceFormat::Nta => (nta_body(), true, nta_time(), nta_producer()),
        // Akto has no truncation flag: a payload is only flagged as cut at exactly 64 Ki
        // characters (see `akto_payloads_of_64ki_characters_are_flagged_as_cut`).
        SourceFormat::Akto => (akto_body(), false, akto_time(), akto_producer()),
    };
    let target = (scheme(), host(), port(), method(), paths(), query());
    let rest = (
        option::of((100u16..=599, message(body.clone(), can_be_cut))),
        message(body, can_be_cut),
        time,
        client_address(),
        producer,
    );
    (target, rest)
        .prop_map(
            move |(
                (scheme, host, port, method, (raw_path, path), query),
                (response, request, observed_at, client_address, producer),
            )| Exchange {
                observed_at,
                source: format,
                scheme,
                host,
                port,
                method,
                raw_path,
                path,
                query,
                status: response.as_ref().map(|(status, _)| *status),
                request,
                response: response.map(|(_, message)| message),
                client_address,
                producer,
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Spellings shared by both encoders

#[derive(Debug, Clone, Copy)]
enum Case {
    Lower,
    Upper,
    Alternating,
}

impl Case {
    fn apply(self, s: &str) -> String {
        match self {
            Case::Lower => s.to_owned(),
            Case::Upper => s.to_ascii_uppercase(),
            Case::Alternating => s
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect(),
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        Just(Case::Lower),
        Just(Case::Upper),
        Just(Case::Alternating)
    ]
}

/// How a client address is written; every form names the same IP.
#[derive(Debug, Clone, Copy)]
enum ClientForm {
    Plain,
    /// `1.2.3.4:port`, `[v6]:port`.
    WithPort(u16),
    /// `1.2.3.4:` (Kong), `[v6]:`.
    EmptyPort,
    /// `[v6]`.
    Bracketed,
    /// `v6%eth0`: the zone is dropped.
    Zone,
}

fn client_form() -> impl Strategy<Value = ClientForm> {
    prop_oneof![
        3 => Just(ClientForm::Plain),
        1 => any::<u16>().prop_map(ClientForm::WithPort),
        1 => Just(ClientForm::EmptyPort),
        1 => Just(ClientForm::Bracketed),
        1 => Just(ClientForm::Zone),
    ]
}

fn client_text(ip: &str, form: ClientForm) -> String {
    let ip: IpAddr = ip.parse().expect("generated client addresses are IPs");
    match (ip, form) {
        (IpAddr::V4(_), ClientForm::WithPort(port)) => format!("{ip}:{port}"),
        (IpAddr::V4(_), ClientForm::EmptyPort) => format!("{ip}:"),
        (IpAddr::V4(_), _) | (IpAddr::V6(_), ClientForm::Plain) => ip.to_string(),
        (IpAddr::V6(_), ClientForm::WithPort(port)) => format!("[{ip}]:{port}"),
        (IpAddr::V6(_), ClientForm::EmptyPort) => format!("[{ip}]:"),
        (IpAddr::V6(_), ClientForm::Bracketed) => format!("[{ip}]"),
        (IpAddr::V6(_), ClientForm::Zone) => format!("{ip}%eth0"),
    }
}

fn is_ipv6(host: &str) -> bool {
    host.contains(':')
}

/// The host as a producer may spell it: any ASCII case, DNS names and IPv4 with a trailing dot.
fn spell_host(host: &str, case: Case, trailing_dot: bool) -> String {
    let mut spelled = case.apply(host);
    if trailing_dot && !is_ipv6(host) {
        spelled.push('.');
    }
    spelled
}

/// `host`, `host:port`, `[v6]:port`, `[v6]` or a bare `v6`.
fn authority(host: &str, port: Option<u16>, bracket_v6: bool) -> String {
    match (is_ipv6(host), port) {
        (true, Some(port)) => format!("[{host}]:{port}"),
        (true, None) if bracket_v6 => format!("[{host}]"),
        (_, None) => host.to_owned(),
        (false, Some(port)) => format!("{host}:{port}"),
    }
}

/// The scheme the decoder infers from an explicit port when nothing else names one.
fn scheme_implied_by(port: Option<u16>) -> Scheme {
    match port {
        Some(443 | 8443) => Scheme::Https,
        _ => Scheme::Http,
    }
}

/// Path, query (or a bare `?` when there is none) and fragment, as a request target.
fn request_target(x: &Exchange, query_mark: bool, fragment: Option<&str>) -> String {
    let mut target = x.raw_path.clone();
    match &x.query {
        Some(query) => {
            target.push('?');
            target.push_str(query);
        }
        None if query_mark => target.push('?'),
        None => {}
    }
    if let Some(fragment) = fragment {
        target.push('#');
        target.push_str(fragment);
    }
    target
}

fn fragment() -> impl Strategy<Value = Option<String>> {
    option::of("[a-z0-9/?#=&]{0,8}")
}

fn spelled_headers(headers: &[(String, String)], case: Case) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (case.apply(name), value.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// NTA encoder

/// Where `destinationAddress` points.
#[derive(Debug, Clone, Copy)]
enum Destination {
    Absent,
    /// `host:port`.
    SameHost,
    /// `ip:port` of some other address (the host comes from `request.host`).
    OtherIp(Ipv4Addr),
    /// `:port` (Kong).
    PortOnly,
    /// `host:port:default` (the Invicti Worker appends the scheme's default port).
    Appended,
}

#[derive(Debug, Clone, Copy)]
enum TimeField {
    Request,
    /// Only the response carries a time (falls back to the request when there is no response).
    Response,
    Both,
    /// No time at all: the receive time is used.
    Absent,
}

#[derive(Debug, Clone)]
struct NtaStyle {
    host_case: Case,
    trailing_dot: bool,
    /// No `request.host`: the host comes from `destinationAddress`.
    host_in_destination_only: bool,
    /// Write the port in `request.host` even when the destination has it or it is the default.
    host_port: bool,
    bracket_v6: bool,
    destination: Destination,
    /// `None`: leave `scheme` out whenever the port implies it.
    scheme_case: Option<Case>,
    method_lower: bool,
    query_mark: bool,
    fragment: Option<String>,
    header_case: Case,
    status_as_number: bool,
    time: TimeField,
    time_as_string: bool,
    response_delay_ms: u16,
    client: ClientForm,
    /// Write absent metadata as `""` (as the Worker does) rather than leaving it out.
    blank_absent: bool,
    version_as_number: bool,
}

fn nta_style() -> impl Strategy<Value = NtaStyle> {
    let destination = prop_oneof![
        Just(Destination::Absent),
        Just(Destination::SameHost),
        any::<Ipv4Addr>().prop_map(Destination::OtherIp),
        Just(Destination::PortOnly),
        Just(Destination::Appended),
    ];
    let time = prop_oneof![
        3 => Just(TimeField::Request),
        1 => Just(TimeField::Response),
        1 => Just(TimeField::Both),
        1 => Just(TimeField::Absent),
    ];
    (
        (
            case(),
            any::<bool>(),
            prop::bool::weighted(0.2),
            any::<bool>(),
            any::<bool>(),
            destination,
        ),
        (
            option::of(case()),
            any::<bool>(),
            any::<bool>(),
            fragment(),
            case(),
            any::<bool>(),
        ),
        (
            time,
            any::<bool>(),
            0u16..5000,
            client_form(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (
                    host_case,
                    trailing_dot,
                    host_in_destination_only,
                    host_port,
                    bracket_v6,
                    destination,
                ),
                (scheme_case, method_lower, query_mark, fragment, header_case, status_as_number),
                (time, time_as_string, response_delay_ms, client, blank_absent, version_as_number),
            )| NtaStyle {
                host_case,
                trailing_dot,
                host_in_destination_only,
                host_port,
                bracket_v6,
                destination,
                scheme_case,
                method_lower,
                query_mark,
                fragment,
                header_case,
                status_as_number,
                time,
                time_as_string,
                response_delay_ms,
                client,
                blank_absent,
                version_as_number,
            },
        )
}

/// Writes `x` as NTA telemetry the way the Invicti Worker and Kong's plugin do: path and query
/// in `request.path`, the host in `request.host`, `destinationAddress` as `host:port`, the status
/// as a string, bodies in base64, epoch milliseconds. Returns the receive time to decode with.
///
/// Nothing about the exchange is lost in NTA, so the decoded exchange must equal `x` exactly.
fn encode_nta(x: &Exchange, s: &NtaStyle) -> (nta::Telemetry, DateTime<Utc>) {
    let v6 = is_ipv6(&x.host);
    let host = spell_host(&x.host, s.host_case, s.trailing_dot);
    let bracketed = if v6 {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let default_port = x.port == x.scheme.default_port();
    let destination_form = match (s.host_in_destination_only, s.destination) {
        (true, Destination::Appended) => Destination::Appended,
        (true, _) => Destination::SameHost,
        (false, form) => form,
    };
    let destination = match destination_form {
        Destination::Absent => None,
        Destination::SameHost => Some(format!("{bracketed}:{}", x.port)),
        Destination::OtherIp(ip) => Some(format!("{ip}:{}", x.port)),
        Destination::PortOnly => Some(format!(":{}", x.port)),
        Destination::Appended => Some(format!(
            "{bracketed}:{}:{}",
            x.port,
            x.scheme.default_port()
        )),
    };
    // The port must reach the decoder somewhere unless it is the scheme's default.
    let port_in_host = s.host_port || (destination.is_none() && !default_port);
    let request_host = (!s.host_in_destination_only)
        .then(|| authority(&host, port_in_host.then_some(x.port), s.bracket_v6));
    let port_given = port_in_host || destination.is_some();
    let scheme = match s.scheme_case {
        Some(case) => Some(case.apply(x.scheme.as_str())),
        None if port_given && scheme_implied_by(Some(x.port)) == x.scheme => None,
        None => Some(x.scheme.as_str().to_owned()),
    };

    let millis = x.observed_at.timestamp_millis();
    let time_value = |ms: i64| {
        if s.time_as_string {
            Scalar::Str(ms.to_string())
        } else {
            Scalar::Int(ms)
        }
    };
    let (request_time, response_time) = match (s.time, x.response.is_some()) {
        (TimeField::Request, _) | (TimeField::Response, false) => (Some(millis), None),
        (TimeField::Response, true) => (None, Some(millis)),
        (TimeField::Both, _) => (Some(millis), Some(millis + i64::from(s.response_delay_ms))),
        (TimeField::Absent, _) => (None, None),
    };
    let received_at = match s.time {
        TimeField::Absent => x.observed_at,
        _ => elsewhere(),
    };

    let blank = |value: Option<&String>| match value {
        Some(value) => Some(value.clone()),
        None if s.blank_absent => Some(String::new()),
        None => None,
    };
    let version = match &x.producer.http_version {
        Some(v) if s.version_as_number && v.parse::<i64>().is_ok() => {
            Some(Scalar::Int(v.parse().unwrap()))
        }
        Some(v) => Some(Scalar::Str(v.clone())),
        None if s.blank_absent => Some(Scalar::Str(String::new())),
        None => None,
    };
    let common = |m: &Message, at: Option<i64>| nta::Common {
        version: version.clone(),
        headers: Some(Headers::from_pairs(spelled_headers(
            &m.headers,
            s.header_case,
        ))),
        body: (!m.body.bytes.is_empty() || s.blank_absent).then(|| BASE64.encode(&m.body.bytes)),
        truncated_body: Some(Scalar::Bool(m.body.truncated)),
        time: at.map(time_value),
    };

    let method = if s.method_lower {
        x.method.to_ascii_lowercase()
    } else {
        x.method.clone()
    };
    let mut request = nta::Request::new(
        method,
        request_target(x, s.query_mark, s.fragment.as_deref()),
    )
    .with_common(common(&x.request, request_time));
    request.host = request_host;

    let response = x.response.as_ref().map(|m| {
        let status = x.status.expect("a response has a status");
        let response = if s.status_as_number {
            nta::Response::new(status).with_status_code(Scalar::Int(i64::from(status)))
        } else {
            nta::Response::new(status)
        };
        response.with_common(common(m, response_time))
    });

    let telemetry = nta::Telemetry {
        request_id: blank(x.producer.request_id.as_ref()),
        scheme,
        destination_address: destination,
        destination_namespace: blank(x.producer.namespace.as_ref()),
        source_address: blank(
            x.client_address
                .as_ref()
                .map(|ip| client_text(ip, s.client))
                .as_ref(),
        ),
        request: Some(request),
        response,
    };
    (telemetry, received_at)
}

/// How telemetry records are put into one request body.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// One object per request (only for a single record).
    Object,
    /// A JSON array.
    Array,
    /// One object per line, with blank lines and CRLF line ends.
    NdJson,
    /// A byte-order mark and whitespace around the JSON.
    BomArray,
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Object),
        Just(Framing::Array),
        Just(Framing::NdJson),
        Just(Framing::BomArray),
    ]
}

fn frame_nta(records: &[nta::Telemetry], framing: Framing) -> (Vec<u8>, TelemetryEncoding) {
    match framing {
        Framing::Object if records.len() == 1 => (
            serde_json::to_vec(&records[0]).unwrap(),
            TelemetryEncoding::Json,
        ),
        Framing::Object | Framing::Array => (
            serde_json::to_vec(records).unwrap(),
            TelemetryEncoding::Json,
        ),
        Framing::NdJson => {
            let mut body = Vec::new();
            for (i, record) in records.iter().enumerate() {
                serde_json::to_writer(&mut body, record).unwrap();
                body.extend_from_slice(if i % 2 == 0 { b"\r\n\n" } else { b"\n" });
            }
            (body, TelemetryEncoding::NdJson)
        }
        Framing::BomArray => {
            let mut body = b"\xEF\xBB\xBF \n".to_vec();
            serde_json::to_writer_pretty(&mut body, records).unwrap();
            body.extend_from_slice(b"\n\t ");
            (body, TelemetryEncoding::Json)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Akto encoder

/// How the scheme is told when the port does not imply it.
#[derive(Debug, Clone, Copy)]
enum SchemeHint {
    /// `x-forwarded-proto: https`
    ForwardedProto,
    /// `x-forwarded-proto: https, http` (one value per proxy, the client's first)
    ForwardedProtoList,
    /// `cf-visitor: {"scheme":"https"}`
    CfVisitor,
}

/// How a record without response says so.
#[derive(Debug, Clone, Copy)]
enum NoResponse {
    /// `is_pending: "true"` (with a status and response fields that are then ignored).
    Pending,
    /// No `statusCode`.
    NoStatus,
    /// `statusCode: ""`.
    BlankStatus,
}

#[derive(Debug, Clone)]
struct AktoStyle {
    /// The Go agent's absolute URL in `path`, rather than the Worker's path plus host header.
    absolute_url: bool,
    /// `host`, `Host` or `:authority`.
    authority_header: &'static str,
    host_case: Case,
    trailing_dot: bool,
    host_port: bool,
    bracket_v6: bool,
    userinfo: bool,
    url_scheme_case: Case,
    scheme_hint: SchemeHint,
    method_lower: bool,
    query_mark: bool,
    fragment: Option<String>,
    header_case: Case,
    no_response: NoResponse,
    omit_time: bool,
    client: ClientForm,
    blank_absent: bool,
    pretty_tag: bool,
}

fn akto_style() -> impl Strategy<Value = AktoStyle> {
    let hint = prop_oneof![
        Just(SchemeHint::ForwardedProto),
        Just(SchemeHint::ForwardedProtoList),
        Just(SchemeHint::CfVisitor),
    ];
    let no_response = prop_oneof![
        Just(NoResponse::Pending),
        Just(NoResponse::NoStatus),
        Just(NoResponse::BlankStatus),
    ];
    (
        (
            prop::bool::weighted(0.3),
            select(&["host", "Host", ":authority"][..]),
            case(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<bool>(),
            case(),
            hint,
            any::<bool>(),
            any::<bool>(),
            fragment(),
        ),
        (
            case(),
            no_response,
            prop::bool::weighted(0.2),
            client_form(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (absolute_url, authority_header, host_case, trailing_dot, host_port, bracket_v6),
                (userinfo, url_scheme_case, scheme_hint, method_lower, query_mark, fragment),
                (header_case, no_response, omit_time, client, blank_absent, pretty_tag),
            )| AktoStyle {
                absolute_url,
                authority_header,
                host_case,
                trailing_dot,
                host_port,
                bracket_v6,
                userinfo,
                url_scheme_case,
                scheme_hint,
                method_lower,
                query_mark,
                fragment,
                header_case,
                no_response,
                omit_time,
                client,
                blank_absent,
                pretty_tag,
            },
        )
}

/// Writes `x` as an Akto record the way Akto's Cloudflare Worker (host header, relative path) or
/// Go agent (absolute URL) do: headers as JSON text, every scalar as a string, epoch seconds,
/// payloads as text. Returns the record, the exchange it must decode to, and the receive time to
/// decode with.
fn encode_akto(x: &Exchange, s: &AktoStyle) -> (akto::Record, Exchange, DateTime<Utc>) {
    let mut expected = x.clone();
    let host = spell_host(&x.host, s.host_case, s.trailing_dot);
    let explicit_port = (s.host_port || x.port != x.scheme.default_port()).then_some(x.port);
    let target = request_target(x, s.query_mark, s.fragment.as_deref());
    let mut request_headers = spelled_headers(&x.request.headers, s.header_case);
    let path = if s.absolute_url {
        let userinfo = if s.userinfo { "user:pa%40ss@" } else { "" };
        format!(
            "{}://{userinfo}{}{target}",
            s.url_scheme_case.apply(x.scheme.as_str()),
            authority(&host, explicit_port, true)
        )
    } else {
        // DEVIATION: an Akto record has no host field; the host travels in a request header
        // (`host` from the Worker, `:authority` from HTTP/2 connectors), and the decoder keeps
        // that header like any other, so the decoded exchange has it first.
        let value = authority(&host, explicit_port, s.bracket_v6);
        request_headers.insert(0, (s.authority_header.to_owned(), value.clone()));
        expected
            .request
            .headers
            .insert(0, (s.authority_header.to_ascii_lowercase(), value));
        // DEVIATION: nor has it a scheme field. The decoder infers `https` from ports 443 and 8443
        // and `http` from any other (or no) port; when that would be wrong, the encoder adds the
        // header a proxy in front of the capture point sets, which is kept like any other too.
        if scheme_implied_by(explicit_port) != x.scheme {
            let scheme = x.scheme.as_str();
            let (name, value) = match s.scheme_hint {
                SchemeHint::ForwardedProto => ("x-forwarded-proto", scheme.to_owned()),
                SchemeHint::ForwardedProtoList => ("x-forwarded-proto", format!("{scheme}, http")),
                SchemeHint::CfVisitor => ("cf-visitor", format!(r#"{{"scheme":"{scheme}"}}"#)),
            };
            request_headers.push((s.header_case.apply(name), value.clone()));
            expected.request.headers.push((name.to_owned(), value));
        }
        target
    };
    let method = if s.method_lower {
        x.method.to_ascii_lowercase()
    } else {
        x.method.clone()
    };
    let text = |body: &CapturedBody| {
        String::from_utf8(body.bytes.clone()).expect("generated Akto bodies are text")
    };
    let blank = |value: Option<&String>| match value {
        Some(value) => Some(value.clone()),
        None if s.blank_absent => Some(String::new()),
        None => None,
    };
    let blank_scalar = |value: Option<&String>| blank(value).map(Scalar::Str);

    let mut record =
        akto::Record::new(method, path).with_request_headers(Headers::from_pairs(request_headers));
    record.r#type = blank(x.producer.protocol.as_ref());
    record.request_payload =
        (!x.request.body.bytes.is_empty() || s.blank_absent).then(|| text(&x.request.body));
    record.ip = blank(
        x.client_address
            .as_ref()
            .map(|ip| client_text(ip, s.client))
            .as_ref(),
    );
    record.time = if s.omit_time {
        s.blank_absent.then(|| Scalar::Str(String::new()))
    } else {
        Some(Scalar::Str(x.observed_at.timestamp().to_string()))
    };
    let received_at = if s.omit_time {
        x.observed_at
    } else {
        elsewhere()
    };
    record.akto_account_id = blank_scalar(x.producer.akto_account_id.as_ref());
    record.akto_vxlan_id = blank_scalar(x.producer.akto_vxlan_id.as_ref());
    record.source = blank(x.producer.akto_source.as_ref());
    record.tag = match &x.producer.akto_tag {
        Some(tag) if s.pretty_tag => Some(Scalar::Str(serde_json::to_string_pretty(tag).unwrap())),
        Some(tag) => Some(Scalar::Str(tag.to_string())),
        None if s.blank_absent => Some(Scalar::Str(String::new())),
        None => None,
    };
    match (&x.response, x.status) {
        (Some(response), Some(status)) => {
            record = record
                .with_status(status, "OK")
                .with_response_headers(Headers::from_pairs(spelled_headers(
                    &response.headers,
                    s.header_case,
                )));
            record.is_pending = Some(Scalar::from("false"));
            record.response_payload =
                (!response.body.bytes.is_empty() || s.blank_absent).then(|| text(&response.body));
        }
        _ => match s.no_response {
            NoResponse::Pending => {
                record = record
                    .with_status(200, "OK")
                    .with_response_headers(Headers::from_pairs([("x-ignored", "1")]))
                    .with_response_payload("ignored while pending");
                record.is_pending = Some(Scalar::from("true"));
            }
            NoResponse::NoStatus => {}
            NoResponse::BlankStatus => {
                record.status_code = Some(Scalar::from(""));
                record.is_pending = Some(Scalar::from("false"));
            }
        },
    }
    (record, expected, received_at)
}

fn frame_akto(records: Vec<akto::Record>, bom: bool) -> Vec<u8> {
    let mut body = if bom {
        b"\xEF\xBB\xBF\n".to_vec()
    } else {
        Vec::new()
    };
    serde_json::to_writer(
        &mut body,
        &akto::Batch {
            batch_data: records,
        },
    )
    .unwrap();
    body
}

// ---------------------------------------------------------------------------------------------
// Checks on whatever a decoder accepts

/// What every accepted exchange must look like, whatever the input was.
fn check_canonical(x: &Exchange, cap: usize) -> Result<(), TestCaseError> {
    prop_assert!(!x.host.is_empty(), "empty host: {x:?}");
    prop_assert_eq!(&x.host, &x.host.to_ascii_lowercase());
    prop_assert!(
        !x.host.ends_with('.') && !x.host.contains(['[', ']']),
        "{:?}",
        x.host
    );
    prop_assert!(!x.method.is_empty());
    prop_assert_eq!(&x.method, &x.method.to_ascii_uppercase());
    prop_assert!(x.path.starts_with('/'), "{:?}", x.path);
    prop_assert!(!x.path.contains("//"), "{:?}", x.path);
    prop_assert!(
        x.path.split('/').all(|s| s != "." && s != ".."),
        "{:?}",
        x.path
    );
    prop_assert!(x.query.as_ref().is_none_or(|q| !q.is_empty()));
    prop_assert_eq!(x.status.is_some(), x.response.is_some());
    prop_assert!(x.status.is_none_or(|s| (100..=599).contains(&s)));
    if let Some(client) = &x.client_address {
        let ip: IpAddr = client
            .parse()
            .map_err(|_| TestCaseError::fail(format!("client {client:?} is not an IP")))?;
        prop_assert_eq!(&ip.to_string(), client);
    }
    for message in std::iter::once(&x.request).chain(&x.response) {
        prop_assert!(message.body.bytes.len() <= cap);
        for (name, value) in &message.headers {
            prop_assert_eq!(name, &name.to_ascii_lowercase());
            prop_assert!(!name.contains('\0') && !value.contains('\0'));
        }
    }
    let p = &x.producer;
    for text in [
        &p.request_id,
        &p.namespace,
        &p.http_version,
        &p.akto_account_id,
        &p.akto_vxlan_id,
        &p.akto_source,
        &p.protocol,
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!(!text.is_empty() && !text.contains('\0'), "{text:?}");
    }
    Ok(())
}

/// Checks an outcome: exchanges canonical and, when the record count is known, every record
/// either accepted or rejected once, by index, in order.
fn check_outcome(
    outcome: &Result<Decoded, DecodeError>,
    records: Option<usize>,
    cap: usize,
) -> Result<(), TestCaseError> {
    let Ok(decoded) = outcome else {
        return Ok(());
    };
    for x in &decoded.exchanges {
        check_canonical(x, cap)?;
    }
    let indexes: Vec<usize> = decoded.rejected.iter().map(|r| r.index).collect();
    prop_assert!(
        indexes.windows(2).all(|w| w[0] < w[1]),
        "rejections out of order: {indexes:?}"
    );
    if let Some(records) = records {
        prop_assert_eq!(decoded.exchanges.len() + decoded.rejected.len(), records);
        prop_assert!(indexes.iter().all(|&i| i < records));
    }
    Ok(())
}

fn decoded_ok(outcome: Result<Decoded, DecodeError>) -> Result<Decoded, TestCaseError> {
    let decoded = outcome.map_err(|e| TestCaseError::fail(format!("body refused: {e}")))?;
    prop_assert!(
        decoded.rejected.is_empty(),
        "records rejected: {:?}",
        decoded.rejected
    );
    Ok(decoded)
}

// ---------------------------------------------------------------------------------------------
// Arbitrary JSON, and damage to valid records

/// Member names of both formats, and headers that steer decoding.
const KEYS: &[&str] = &[
    "requestID",
    "requestId",
    "scheme",
    "destinationAddress",
    "destinationNamespace",
    "sourceAddress",
    "request",
    "response",
    "method",
    "path",
    "host",
    "common",
    "version",
    "headers",
    "body",
    "truncatedBody",
    "TruncatedBody",
    "time",
    "statusCode",
    "key",
    "value",
    "batchData",
    "requestHeaders",
    "responseHeaders",
    "requestPayload",
    "responsePayload",
    "ip",
    "type",
    "status",
    "akto_account_id",
    "akto_vxlan_id",
    "is_pending",
    "source",
    "tag",
    "destIp",
    "direction",
    "content-type",
    "content-encoding",
    ":authority",
    "x-forwarded-proto",
    "cf-visitor",
    "authorization",
    "cookie",
];

fn compress(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "raw-deflate" => {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        other => panic!("no test compressor for {other}"),
    }
}

/// Strings that mean something to the decoder, for leaves of arbitrary JSON.
static INTERESTING: LazyLock<Vec<String>> = LazyLock::new(|| {
    let json =
        br#"{"password":"hunter2","token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln","n":1}"#;
    let zeros = vec![0u8; 200_000];
    let mut strings: Vec<String> = [
        "",
        " ",
        "GET",
        "post",
        "/",
        "/a/../b?x=1#f",
        "http://User:pw@Host.Example:8080/a/./b?q=1",
        "wss://h/",
        "*",
        "api.example:8443:443",
        ":8000",
        ":",
        "[::1]:443",
        "[::1]",
        "::1",
        "1.2.3.4:",
        "fe80::1%eth0",
        "bücher.example.",
        "a..b",
        "1763700000000",
        "1763700000",
        "1763700000.5",
        "0",
        "-1",
        "1e400",
        "200",
        "99",
        "600",
        "true",
        "FALSE",
        "gzip",
        "br, gzip",
        "zstd",
        "deflate",
        "identity, gzip, gzip",
        "https, http",
        r#"{"scheme":"https"}"#,
        r#"{"host":"a.example","host":"b.example"}"#,
        "{not json",
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=XyZ",
        "text/plain",
        "Bearer abc.def.ghi",
        "sid=abc; theme=dark",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "password=hunter2&a=b",
        "--XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nx\r\n--XyZ--",
        "eyJhIjoxfQ==",
        "YWJj",
        "/wAB",
        "\u{0}",
        "\u{feff}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    strings.push(String::from_utf8_lossy(json).into_owned());
    for coding in ["gzip", "deflate", "br", "zstd"] {
        strings.push(BASE64.encode(compress(coding, json)));
        strings.push(BASE64.encode(compress(coding, &zeros)));
    }
    strings
});

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        4 => select(INTERESTING.clone()).prop_map(Value::String),
        2 => "\\PC{0,16}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((select(KEYS), inner), 0..8).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// One change to a JSON document: follow `path` (indexes into objects and arrays) and replace
/// what is there, or remove it.
#[derive(Debug, Clone)]
struct Damage {
    path: Vec<Index>,
    replacement: Value,
    remove: bool,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        vec(any::<Index>(), 0..6),
        json_value(),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(path, replacement, remove)| Damage {
            path,
            replacement,
            remove,
        })
}

fn apply_damage(value: &mut Value, path: &[Index], damage: &Damage) {
    let Some((index, rest)) = path.split_first() else {
        *value = damage.replacement.clone();
        return;
    };
    match value {
        Value::Object(members) if !members.is_empty() => {
            let key = members
                .keys()
                .nth(index.index(members.len()))
                .cloned()
                .expect("index in range");
            if rest.is_empty() && damage.remove {
                members.remove(&key);
            } else {
                let member = members.get_mut(&key).expect("key present");
                apply_damage(member, rest, damage);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = index.index(items.len());
            if rest.is_empty() && damage.remove {
                items.remove(i);
            } else {
                apply_damage(&mut items[i], rest, damage);
            }
        }
        _ => *value = damage.replacement.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// A secret value: long and random enough never to appear in an exchange by chance.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_~+/.-]{16,40}"
}

#[derive(Debug, Clone)]
struct Secrets {
    /// `Authorization`: an optional scheme and the credentials.
    authorization: (Option<&'static str>, String),
    /// `Cookie`: name and value pairs, the values secret.
    cookies: Vec<(String, String, bool)>,
    /// `X-Api-Key`.
    api_key: String,
    /// Where the three headers go among the others.
    positions: [Index; 3],
    /// An `X-Api-Key` on the response as well.
    in_response: bool,
}

impl Secrets {
    fn values(&self) -> Vec<&str> {
        let mut values = vec![self.authorization.1.as_str(), self.api_key.as_str()];
        values.extend(self.cookies.iter().map(|(_, value, _)| value.as_str()));
        values
    }

    fn authorization(&self) -> String {
        match self.authorization.0 {
            Some(scheme) => format!("{scheme} {}", self.authorization.1),
            None => self.authorization.1.clone(),
        }
    }

    fn cookie(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value, quoted)| {
                if *quoted {
                    format!("{name}=\"{value}\"")
                } else {
                    format!("{name}={value}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Adds the secret headers to `x` (names in the producer's spelling).
    fn insert_into(&self, x: &mut Exchange) {
        let headers = [
            ("Authorization", self.authorization()),
            ("Cookie", self.cookie()),
            ("X-Api-Key", self.api_key.clone()),
        ];
        for ((name, value), at) in headers.into_iter().zip(&self.positions) {
            let at = at.index(x.request.headers.len() + 1);
            x.request.headers.insert(at, (name.to_owned(), value));
        }
        if let Some(response) = x.response.as_mut().filter(|_| self.in_response) {
            response
                .headers
                .push(("x-api-key".to_owned(), self.api_key.clone()));
        }
    }
}

fn secrets() -> impl Strategy<Value = Secrets> {
    let cookie = ("[a-z_]{1,8}", secret(), any::<bool>());
    (
        (
            option::of(select(
                &["Bearer", "Basic", "Digest", "token", "AWS4-HMAC-SHA256"][..],
            )),
            secret(),
        ),
        vec(cookie, 1..4),
        secret(),
        [any::<Index>(), any::<Index>(), any::<Index>()],
        any::<bool>(),
    )
        .prop_map(
            |(authorization, cookies, api_key, positions, in_response)| Secrets {
                authorization,
                cookies,
                api_key,
                positions,
                in_response,
            },
        )
}

fn check_redacted(decoded: &Decoded, secrets: &Secrets) -> Result<(), TestCaseError> {
    prop_assert_eq!(decoded.exchanges.len(), 1);
    let debug = format!("{decoded:?}");
    for value in secrets.values() {
        prop_assert!(
            !debug.contains(value),
            "secret {value:?} survived redaction: {debug}"
        );
    }
    // The headers are kept, only their values replaced.
    let request = &decoded.exchanges[0].request;
    for name in ["authorization", "cookie", "x-api-key"] {
        let value = request
            .header(name)
            .ok_or_else(|| TestCaseError::fail(format!("{name} is gone")))?;
        prop_assert!(value.contains(REDACTED), "{name}: {value:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// One NTA record, in any framing, decodes to the exchange it was written from.
    #[test]
    fn roundtrip_nta(x in exchange(SourceFormat::Nta), style in nta_style(), framing in framing()) {
        let (telemetry, received_at) = encode_nta(&x, &style);
        let (body, encoding) = frame_nta(&[telemetry], framing);
        let decoded = decoded_ok(PLAIN.decode_telemetry(&body, encoding, received_at))?;
        prop_assert_eq!(decoded.exchanges, vec![x]);
    }

    /// Several NTA records in one body come back in order.
    #[test]
    fn roundtrip_nta_batch(
        records in vec((exchange(SourceFormat::Nta), nta_style()), 2..6),
        framing in framing(),
    ) {
        let (mut telemetry, mut expected) = (Vec::new(), Vec::new());
        for (x, mut style) in records {
            if matches!(style.time, TimeField::Absent) {
                // One receive time serves the whole body.
                style.time = TimeField::Request;
            }
            telemetry.push(encode_nta(&x, &style).0);
            expected.push(x);
        }
        let (body, encoding) = frame_nta(&telemetry, framing);
        let decoded = decoded_ok(PLAIN.decode_telemetry(&body, encoding, elsewhere()))?;
        prop_assert_eq!(decoded.exchanges, expected);
    }

    /// One Akto record decodes to the exchange it was written from, with the documented
    /// differences.
    #[test]
    fn roundtrip_akto(x in exchange(SourceFormat::Akto), style in akto_style(), bom in any::<bool>()) {
        let (record, expected, received_at) = encode_akto(&x, &style);
        let body = frame_akto(vec![record], bom);
        let decoded = decoded_ok(PLAIN.decode_ingest_data(&body, received_at))?;
        prop_assert_eq!(decoded.exchanges, vec![expected]);
    }

    /// Several Akto records in one batch come back in order.
    #[test]
    fn roundtrip_akto_batch(records in vec((exchange(SourceFormat::Akto), akto_style()), 2..6)) {
        let (mut batch, mut expected) = (Vec::new(), Vec::new());
        for (x, mut style) in records {
            style.omit_time = false;
            let (record, x, _) = encode_akto(&x, &style);
            batch.push(record);
            expected.push(x);
        }
        let body = frame_akto(batch, false);
        let decoded = decoded_ok(PLAIN.decode_ingest_data(&body, elsewhere()))?;
        prop_assert_eq!(decoded.exchanges, expected);
    }

    /// With redaction on, no credential from `Authorization`, `Cookie` or `X-Api-Key` survives
    /// in anything the NTA decoder returns.
    #[test]
    fn redaction_removes_secret_headers_nta(
        mut x in exchange(SourceFormat::Nta),
        style in nta_style(),
        secrets in secrets(),
    ) {
        secrets.insert_into(&mut x);
        let (telemetry, received_at) = encode_nta(&x, &style);
        let body = serde_json::to_vec(&telemetry).unwrap();
        let decoded = decoded_ok(REDACTING.decode_telemetry(&body, TelemetryEncoding::Json, received_at))?;
        check_redacted(&decoded, &secrets)?;
    }

    /// The same for Akto records.
    #[test]
    fn redaction_removes_secret_headers_akto(
        mut x in exchange(SourceFormat::Akto),
        style in akto_style(),
        secrets in secrets(),
    ) {
        secrets.insert_into(&mut x);
        let (record, _, received_at) = encode_akto(&x, &style);
        let body = frame_akto(vec![record], false);
        let decoded = decoded_ok(REDACTING.decode_ingest_data(&body, received_at))?;
        check_redacted(&decoded, &secrets)?;
    }

    /// A compressed body (`content-encoding` naming one or two codings) comes back as the
    /// original bytes, and within the cap when the cap is small.
    #[test]
    fn compressed_bodies_decode_within_the_cap(
        mut x in exchange(SourceFormat::Nta),
        style in nta_style(),
        payload in prop_oneof![
            vec(any::<u8>(), 0..400),
            (".{0,40}", 1..200usize).prop_map(|(s, n)| s.repeat(n).into_bytes()),
        ],
        codings in vec(select(&["gzip", "deflate", "raw-deflate", "br", "zstd"][..]), 1..=2),
        in_response in any::<bool>(),
    ) {
        // Codings are applied in the order listed, so the header names them in that order.
        let mut bytes = payload.clone();
        for coding in &codings {
            bytes = compress(coding, &bytes);
            if matches!(*coding, "br" | "raw-deflate") {
                // Signature-less codings are only undone for bytes that cannot be text.
                let probe = &bytes[..bytes.len().min(512)];
                prop_assume!(probe.iter().any(|&b| b < 0x09));
            }
        }
        prop_assume!(transport_unambiguous(&bytes));
        let header = codings
            .iter()
            .map(|c| if *c == "raw-deflate" { "deflate" } else { c })
            .collect::<Vec<_>>()
            .join(", ");
        let message = match x.response.as_mut() {
            Some(response) if in_response => response,
            _ => &mut x.request,
        };
        message.headers.push(("content-encoding".to_owned(), header));
        message.body = CapturedBody { bytes, truncated: false };
        let (telemetry, received_at) = encode_nta(&x, &style);
        let body = serde_json::to_vec(&telemetry).unwrap();
        let pick = |x: &Exchange| -> CapturedBody {
            match &x.response {
                Some(response) if in_response => response.body.clone(),
                _ => x.request.body.clone(),
            }
        };

        let large = decoded_ok(PLAIN.decode_telemetry(&body, TelemetryEncoding::Json, received_at))?;
        let got = pick(&large.exchanges[0]);
        prop_assert_eq!(&got.bytes, &payload);
        prop_assert!(!got.truncated);

        let small = decoded_ok(PLAIN_SMALL.decode_telemetry(&body, TelemetryEncoding::Json, received_at))?;
        let got = pick(&small.exchanges[0]);
        prop_assert!(got.bytes.len() <= SMALL_CAP);
        if payload.len() > SMALL_CAP {
            prop_assert!(got.truncated);
        }
        // Signature-less codings (`br`, raw `deflate`) under a cut outer layer are only undone
        // when their cut stream already yields output; otherwise their compressed bytes are kept
        // (flagged as cut).
        let inner_has_signature = !matches!(codings[0], "br" | "raw-deflate");
        if codings.len() == 1 || inner_has_signature || payload.starts_with(&got.bytes) {
            prop_assert!(payload.starts_with(&got.bytes), "not a prefix of the payload");
        } else {
            prop_assert!(got.truncated, "kept compressed bytes without flagging the body as cut");
        }
        if codings.len() == 1 {
            // One layer: exactly the first `SMALL_CAP` bytes, cut only when there was more.
            prop_assert_eq!(&got.bytes[..], &payload[..payload.len().min(SMALL_CAP)]);
            prop_assert_eq!(got.truncated, payload.len() > SMALL_CAP);
        }
    }

    /// With redaction on, a stored body is still at most `max_stored_body_bytes` long, even when
    /// redaction markers are longer than the secrets they replace (`{"password":"x"}` becomes
    /// `{"password":"<redacted>"}`).
    #[test]
    fn redacted_bodies_stay_within_the_cap(
        mut x in exchange(SourceFormat::Nta),
        style in nta_style(),
        fields in vec((select(&["password", "token", "secret", "pin", "apiKey", "name", "id"][..]), "[a-z0-9]{0,6}"), 1..8),
    ) {
        let json = format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("\"{k}\":\"{v}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        x.request.headers.push(("content-type".to_owned(), "application/json".to_owned()));
        x.request.body = CapturedBody { bytes: json.into_bytes(), truncated: false };
        let (telemetry, received_at) = encode_nta(&x, &style);
        let body = serde_json::to_vec(&telemetry).unwrap();
        let decoded = decoded_ok(REDACTING_SMALL.decode_telemetry(&body, TelemetryEncoding::Json, received_at))?;
        let stored = &decoded.exchanges[0].request.body;
        prop_assert!(
            stored.bytes.len() <= SMALL_CAP,
            "{} bytes stored under a cap of {SMALL_CAP}: {:?}",
            stored.bytes.len(),
            String::from_utf8_lossy(&stored.bytes)
        );
    }

    /// Arbitrary bytes on either route: never a panic, and whatever is accepted is canonical.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..1024)) {
        for (decoder, cap) in [(&*REDACTING_SMALL, SMALL_CAP), (&*PLAIN, LARGE_CAP)] {
            for encoding in [TelemetryEncoding::Json, TelemetryEncoding::NdJson] {
                check_outcome(&decoder.decode_telemetry(&bytes, encoding, elsewhere()), None, cap)?;
            }
            check_outcome(&decoder.decode_ingest_data(&bytes, elsewhere()), None, cap)?;
        }
    }

    /// Arbitrary JSON made of both formats' member names and meaningful strings: never a panic,
    /// every record accepted or rejected exactly once.
    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        let now = elsewhere();
        let decoder = &*REDACTING_SMALL;
        let body = serde_json::to_vec(&value).unwrap();
        let records = match &value {
            Value::Array(items) => Some(items.len()),
            Value::Object(_) => Some(1),
            _ => None,
        };
        check_outcome(&decoder.decode_telemetry(&body, TelemetryEncoding::Json, now), records, SMALL_CAP)?;
        if let Value::Array(items) = &value {
            let lines: Vec<String> = items.iter().map(Value::to_string).collect();
            let ndjson = lines.join("\n");
            let outcome = decoder.decode_telemetry(ndjson.as_bytes(), TelemetryEncoding::NdJson, now);
            check_outcome(&outcome, Some(items.len()), SMALL_CAP)?;
            let batch = serde_json::json!({ "batchData": items });
            let outcome = decoder.decode_ingest_data(&serde_json::to_vec(&batch).unwrap(), now);
            check_outcome(&outcome, Some(items.len()), SMALL_CAP)?;
        }
        check_outcome(&decoder.decode_ingest_data(&body, now), None, SMALL_CAP)?;
    }

    /// Valid NTA records with parts replaced or removed: never a panic, the record is accepted
    /// (canonical) or rejected.
    #[test]
    fn damaged_nta_records_never_panic(
        x in exchange(SourceFormat::Nta),
        style in nta_style(),
        damages in vec(damage(), 1..4),
    ) {
        let (telemetry, received_at) = encode_nta(&x, &style);
        let mut value = serde_json::to_value(&telemetry).unwrap();
        for damage in &damages {
            apply_damage(&mut value, &damage.path, damage);
        }
        let body = serde_json::to_vec(&value).unwrap();
        let records = match &value {
            Value::Array(items) => Some(items.len()),
            Value::Object(_) => Some(1),
            _ => None,
        };
        for (decoder, cap) in [(&*REDACTING_SMALL, SMALL_CAP), (&*PLAIN, LARGE_CAP)] {
            let outcome = decoder.decode_telemetry(&body, TelemetryEncoding::Json, received_at);
            check_outcome(&outcome, records, cap)?;
        }
    }

    /// The same for Akto batches.
    #[test]
    fn damaged_akto_batches_never_panic(
        records in vec((exchange(SourceFormat::Akto), akto_style()), 1..4),
        damages in vec(damage(), 1..4),
    ) {
        let batch: Vec<akto::Record> = records.iter().map(|(x, s)| encode_akto(x, s).0).collect();
        let mut value = serde_json::to_value(akto::Batch { batch_data: batch }).unwrap();
        if let Some(Value::Array(items)) = value.get_mut("batchData") {
            // Damage inside `batchData`, so the envelope survives.
            for damage in &damages {
                let mut items_value = Value::Array(std::mem::take(items));
                apply_damage(&mut items_value, &damage.path, damage);
                *items = match items_value {
                    Value::Array(items) => items,
                    other => vec![other],
                };
            }
        }
        let body = serde_json::to_vec(&value).unwrap();
        let records = value
            .get("batchData")
            .and_then(Value::as_array)
            .map(Vec::len);
        for (decoder, cap) in [(&*REDACTING_SMALL, SMALL_CAP), (&*PLAIN, LARGE_CAP)] {
            let outcome = decoder.decode_ingest_data(&body, elsewhere());
            check_outcome(&outcome, records, cap)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Documented differences, pinned

/// DEVIATION (NTA bodies): base64 of at most 11 binary bytes, unpadded, is indistinguishable from
/// a short raw token, and `decode_transport` keeps such strings as raw text.
#[test]
fn nta_short_binary_bodies_are_ambiguous() {
    let telemetry = nta::Telemetry::new().with_scheme("https").with_request(
        nta::Request::new("POST", "/upload")
            .with_host("h.example")
            .with_common(nta::Common::new().with_body(BASE64.encode([0xff, 0x00, 0x01]))),
    );
    assert!(!transport_unambiguous(&[0xff, 0x00, 0x01]));
    let body = serde_json::to_vec(&telemetry).unwrap();
    let decoded = PLAIN
        .decode_telemetry(&body, TelemetryEncoding::Json, elsewhere())
        .unwrap();
    assert_eq!(decoded.exchanges[0].request.body.bytes, b"/wAB");
}

/// DEVIATION (Akto bodies): Akto has no truncation flag; a payload of exactly 64 Ki characters
/// (where Akto's Worker cuts silently) is taken as cut, one character less is not.
#[test]
fn akto_payloads_of_64ki_characters_are_flagged_as_cut() {
    for (chars, cut) in [(64 * 1024, true), (64 * 1024 - 1, false)] {
        let payload: String = "é".repeat(chars);
        let record = akto::Record::new("POST", "/p")
            .with_request_headers(Headers::from_pairs([("host", "h.example")]))
            .with_request_payload(payload.clone());
        let body = frame_akto(vec![record], false);
        let decoded = PLAIN.decode_ingest_data(&body, elsewhere()).unwrap();
        let got = &decoded.exchanges[0].request.body;
        assert_eq!(got.truncated, cut, "{chars} characters");
        assert_eq!(got.bytes, payload.as_bytes());
    }
}

/// The encoders' own sanity: a fixed exchange written by each encoder, checked by hand against
/// what real producers send.
#[test]
fn encoders_write_what_producers_send() {
    let x = Exchange {
        observed_at: Utc.timestamp_opt(1_763_700_000, 0).unwrap(),
        source: SourceFormat::Nta,
        scheme: Scheme::Https,
        host: "api.shop.example".to_owned(),
        port: 8443,
        method: "POST".to_owned(),
        raw_path: "/api/v1/orders".to_owned(),
        path: "/api/v1/orders".to_owned(),
        query: Some("expand=items".to_owned()),
        status: Some(201),
        request: Message {
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: CapturedBody {
                bytes: br#"{"a":1}"#.to_vec(),
                truncated: false,
            },
        },
        response: Some(Message::default()),
        client_address: Some("203.0.113.7".to_owned()),
        producer: Producer {
            request_id: None,
            http_version: Some("1.1".to_owned()),
            ..Producer::default()
        },
    };
    let style = NtaStyle {
        host_case: Case::Lower,
        trailing_dot: false,
        host_in_destination_only: false,
        host_port: true,
        bracket_v6: false,
        destination: Destination::Appended,
        scheme_case: Some(Case::Lower),
        method_lower: false,
        query_mark: false,
        fragment: None,
        header_case: Case::Lower,
        status_as_number: false,
        time: TimeField::Request,
        time_as_string: false,
        response_delay_ms: 0,
        client: ClientForm::Plain,
        blank_absent: true,
        version_as_number: false,
    };
    let (telemetry, _) = encode_nta(&x, &style);
    assert_eq!(
        serde_json::to_value(&telemetry).unwrap(),
        serde_json::json!({
            "requestID": "",
            "scheme": "https",
            "destinationAddress": "api.shop.example:8443:443",
            "destinationNamespace": "",
            "sourceAddress": "203.0.113.7",
            "request": {
                "method": "POST",
                "path": "/api/v1/orders?expand=items",
                "host": "api.shop.example:8443",
                "common": {
                    "version": "1.1",
                    "headers": [{"key": "content-type", "value": "application/json"}],
                    "body": "eyJhIjoxfQ==",
                    "truncatedBody": false,
                    "time": 1_763_700_000_000_i64
                }
            },
            "response": {
                "statusCode": "201",
                "common": {
                    "version": "1.1",
                    "headers": [],
                    "body": "",
                    "truncatedBody": false
                }
            }
        })
    );

    let x = Exchange {
        source: SourceFormat::Akto,
        port: 443,
        producer: Producer::default(),
        ..x
    };
    let style = AktoStyle {
        absolute_url: false,
        authority_header: "host",
        host_case: Case::Lower,
        trailing_dot: false,
        host_port: false,
        bracket_v6: false,
        userinfo: false,
        url_scheme_case: Case::Lower,
        scheme_hint: SchemeHint::ForwardedProto,
        method_lower: false,
        query_mark: false,
        fragment: None,
        header_case: Case::Lower,
        no_response: NoResponse::NoStatus,
        omit_time: false,
        client: ClientForm::Plain,
        blank_absent: false,
        pretty_tag: false,
    };
    let (record, expected, _) = encode_akto(&x, &style);
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        serde_json::json!({
            "path": "/api/v1/orders?expand=items",
            "method": "POST",
            "requestHeaders": r#"{"host":"api.shop.example","content-type":"application/json","x-forwarded-proto":"https"}"#,
            "responseHeaders": "{}",
            "requestPayload": r#"{"a":1}"#,
            "ip": "203.0.113.7",
            "time": "1763700000",
            "statusCode": "201",
            "status": "OK",
            "is_pending": "false"
        })
    );
    assert_eq!(
        expected.request.headers[0],
        ("host".to_owned(), "api.shop.example".to_owned())
    );
}
