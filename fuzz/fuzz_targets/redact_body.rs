//! `Redactor::body` under several content types, plus `header` and `query` on the same text.
//!
//! The first byte picks the content type, the rest is the body. Invariants: a disabled redactor
//! changes nothing; a body that is a valid JSON object or array stays valid JSON when it is
//! redacted as JSON.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use reconstructor::ingest::redact::{RedactionConfig, Redactor};

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/vnd.api+json"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=XyZ"),
    Some("multipart/form-data"),
    Some("text/plain"),
    Some("text/html; charset=utf-8"),
    Some("application/xml"),
    Some("application/octet-stream"),
    Some("image/png"),
];

/// Content types under which a JSON object or array is redacted as JSON.
fn json_path(content_type: Option<&str>) -> bool {
    !matches!(content_type, Some(ct) if ct.starts_with("multipart/"))
}

static ON: LazyLock<Redactor> = LazyLock::new(|| Redactor::new(&RedactionConfig::default()));
static OFF: LazyLock<Redactor> = LazyLock::new(|| {
    Redactor::new(&RedactionConfig {
        enabled: false,
        ..RedactionConfig::default()
    })
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];

    assert_eq!(OFF.body(content_type, body), None);
    let redacted = ON.body(content_type, body);

    let starts_structured = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if json_path(content_type)
        && starts_structured
        && serde_json::from_slice::<serde_json::Value>(body).is_ok()
        && let Some(out) = &redacted
    {
        assert!(
            serde_json::from_slice::<serde_json::Value>(out).is_ok(),
            "valid JSON redacted into invalid JSON: {:?}",
            String::from_utf8_lossy(out)
        );
    }

    if let Ok(text) = std::str::from_utf8(body) {
        let name = content_type.unwrap_or("authorization");
        let _ = ON.header(name, text);
        let _ = ON.header("cookie", text);
        let _ = ON.header("set-cookie", text);
        let _ = ON.header("location", text);
        let _ = ON.query(text);
    }
});
