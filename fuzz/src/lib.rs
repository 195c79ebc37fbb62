//! What the fuzz targets share: decoders built once, and the invariants every decoded body must
//! satisfy. A violated invariant panics, which libFuzzer reports as a crash like any other.

use std::net::IpAddr;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use reconstructor::config::Config;
use reconstructor::model::exchange::Exchange;
use reconstructor::ingest::redact::RedactionConfig;
use reconstructor::ingest::{DecodeError, Decoded, Decoder};
use serde_json::value::RawValue;

/// A decoder and the body cap it was built with.
#[derive(Debug)]
pub struct Setup {
    /// The decoder.
    pub decoder: Decoder,
    /// Its `max_stored_body_bytes`.
    pub cap: usize,
}

fn setup(redact: bool, cap: usize) -> Setup {
    let config = Config {
        max_stored_body_bytes: cap,
        max_records: 1000,
        redaction: RedactionConfig {
            enabled: redact,
            ..RedactionConfig::default()
        },
        ..Config::default()
    };
    Setup {
        decoder: Decoder::new(&config.ingest_settings()),
        cap,
    }
}

/// Two configurations: production-like (redaction on) with a small cap so cutting happens all the
/// time, and redaction off with a large cap so bodies pass through whole.
pub static SETUPS: LazyLock<[Setup; 2]> =
    LazyLock::new(|| [setup(true, 64), setup(false, 1 << 20)]);

/// The receive time given to the decoders.
pub fn received_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_763_700_000, 0).expect("a valid time")
}

/// The body without a UTF-8 byte-order mark, as the decoders see it.
fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Records in a `/api/telemetry` JSON body: the array's length, or 1 for an object.
pub fn json_records(body: &[u8]) -> Option<usize> {
    let body = without_bom(body);
    match body.iter().find(|b| !b.is_ascii_whitespace())? {
        b'[' => serde_json::from_slice::<Vec<&RawValue>>(body)
            .ok()
            .map(|r| r.len()),
        b'{' => Some(1),
        _ => None,
    }
}

/// Records in an NDJSON body: its non-blank lines.
pub fn ndjson_records(body: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(without_bom(body)).ok()?;
    Some(text.lines().filter(|l| !l.trim().is_empty()).count())
}

/// Records in an `/api/ingestData` body: the length of `batchData`.
pub fn batch_records(body: &[u8]) -> Option<usize> {
    let envelope: reconstructor_wire::akto::BatchEnvelope<'_> =
        serde_json::from_slice(without_bom(body)).ok()?;
    envelope.batch_data.map(|r| r.len())
}

/// Checks a decoding outcome: when the body was accepted, every record is either an exchange or
/// a rejection (exactly `records` of them when known), rejections are in order, and every
/// exchange is canonical.
pub fn check_outcome(outcome: &Result<Decoded, DecodeError>, records: Option<usize>, cap: usize) {
    let Ok(decoded) = outcome else {
        return;
    };
    if let Some(records) = records {
        assert_eq!(
            decoded.exchanges.len() + decoded.rejected.len(),
            records,
            "accepted + rejected must equal the records sent"
        );
        assert!(decoded.rejected.iter().all(|r| r.index < records));
    }
    assert!(
        decoded.rejected.windows(2).all(|w| w[0].index < w[1].index),
        "rejections out of order: {:?}",
        decoded.rejected
    );
    for exchange in &decoded.exchanges {
        check_exchange(exchange, cap);
    }
}

/// What every stored exchange must look like, whatever the producer sent.
pub fn check_exchange(x: &Exchange, cap: usize) {
    assert!(!x.host.is_empty(), "empty host: {x:?}");
    assert_eq!(x.host, x.host.to_ascii_lowercase(), "host not lower-case");
    assert!(
        !x.host.ends_with('.') && !x.host.contains(['[', ']']),
        "host not normalized: {:?}",
        x.host
    );
    assert!(!x.method.is_empty());
    assert_eq!(
        x.method,
        x.method.to_ascii_uppercase(),
        "method not upper-case"
    );
    assert!(x.path.starts_with('/'), "path {:?}", x.path);
    assert!(!x.path.contains("//"), "path {:?}", x.path);
    assert!(
        x.path.split('/').all(|s| s != "." && s != ".."),
        "path {:?}",
        x.path
    );
    assert!(x.query.as_ref().is_none_or(|q| !q.is_empty()));
    assert_eq!(x.status.is_some(), x.response.is_some());
    assert!(x.status.is_none_or(|s| (100..=599).contains(&s)));
    if let Some(client) = &x.client_address {
        let ip: IpAddr = client.parse().expect("client address is an IP");
        assert_eq!(&ip.to_string(), client, "client address not canonical");
    }
    for message in std::iter::once(&x.request).chain(&x.response) {
        assert!(
            message.body.bytes.len() <= cap,
            "body of {} bytes over the cap of {cap}",
            message.body.bytes.len()
        );
        for (name, value) in &message.headers {
            assert_eq!(
                name,
                &name.to_ascii_lowercase(),
                "header name not lower-case"
            );
            assert!(
                !name.contains('\0') && !value.contains('\0'),
                "NUL in a header"
            );
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
        assert!(
            !text.is_empty() && !text.contains('\0'),
            "producer text {text:?}"
        );
    }
}
