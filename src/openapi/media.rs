//! Message bodies: their media type, what is read from them per kind, and the media type object
//! they become.
//!
//! | kind | media types | read | schema |
//! |---|---|---|---|
//! | JSON | `application/json`, `*+json`, anything naming `json` | the whole document, into a [`Schema`] | inferred |
//! | form | `application/x-www-form-urlencoded` | field names and values | an object of typed fields |
//! | multipart | `multipart/*` | part names and text values; parts with a file name are files | an object; files are `format: binary` strings |
//! | text | `text/*`, XML, JavaScript, GraphQL | nothing | `type: string` |
//! | binary | anything else | nothing | `type: string, format: binary` |
//!
//! A body without a `Content-Type` is taken for JSON when it starts like JSON, for text when it is
//! UTF-8, and for `application/octet-stream` otherwise.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::schema::Schema;
use super::summary::{Pair, PairValue, Params, SummaryLimits, observe_params, param_schema};
use super::text::is_zero;
use crate::model::exchange::Message;
use crate::model::exchange::boundary_param;

/// What a body is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Json,
    Form,
    Multipart,
    Text,
    Binary,
}

/// The kind of a (lower-case, parameter-free) media type.
pub(crate) fn kind(media: &str) -> Kind {
    if media.contains("json") {
        Kind::Json
    } else if media == "application/x-www-form-urlencoded" {
        Kind::Form
    } else if media.starts_with("multipart/") {
        Kind::Multipart
    } else if media.starts_with("text/")
        || media.contains("xml")
        || media.contains("javascript")
        || media == "application/graphql"
    {
        Kind::Text
    } else {
        Kind::Binary
    }
}

/// The media type a message's body is filed under: its `Content-Type` without parameters when
/// that is a plausible `type/subtype`, or one sniffed from the body.
pub(crate) fn media_type(message: &Message) -> String {
    if let Some(media) = message.content_type()
        && media.len() <= 100
        && media.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty() && !s.is_empty() && media.bytes().all(is_media_char)
        })
    {
        return media;
    }
    let bytes = &message.body.bytes;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{' | b'[')) {
        "application/json".to_owned()
    } else if std::str::from_utf8(bytes).is_ok() {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

fn is_media_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&-^_.+/".contains(&b)
}

/// What was seen of the bodies of one media type at one place.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct BodyStats {
    /// Bodies seen.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) count: u64,
    /// Bodies read (at most [`SummaryLimits::max_bodies`] per summary; the rest are only
    /// counted).
    #[serde(rename = "k", default, skip_serializing_if = "is_zero")]
    pub(crate) read: u64,
    /// JSON bodies.
    #[serde(rename = "j", default, skip_serializing_if = "Option::is_none")]
    pub(crate) json: Option<Schema>,
    /// Form and multipart bodies.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub(crate) form: Option<FormStats>,
    /// An example: the longest complete JSON body of at most
    /// [`SummaryLimits::max_example_bytes`] (ties go to the greater text, so merging is
    /// commutative), as it arrived (redacted).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub(crate) example: Option<String>,
}

/// The fields of form and multipart bodies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct FormStats {
    /// Bodies read to their end; a field is required when present in all of them.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) complete: u64,
    #[serde(rename = "f", default, skip_serializing_if = "Params::is_empty")]
    pub(crate) fields: Params,
}

impl BodyStats {
    /// Adds one non-empty body of media type `media`; its schema may grow by `room` positions
    /// at most.
    pub(crate) fn observe(
        &mut self,
        media: &str,
        message: &Message,
        limits: &SummaryLimits,
        room: usize,
    ) {
        self.count += 1;
        if self.read >= limits.max_bodies {
            return;
        }
        self.read += 1;
        let body = &message.body;
        match kind(media) {
            Kind::Json => {
                let complete = self.json.get_or_insert_default().observe_json_within(
                    &body.bytes,
                    body.truncated,
                    limits,
                    room,
                );
                if complete && !body.truncated {
                    self.offer_example(&body.bytes, limits);
                }
            }
            Kind::Form => {
                let cap = body.bytes.len().min(limits.max_body_bytes);
                let whole = !body.truncated && cap == body.bytes.len();
                let (pairs, complete) = form_fields(&body.bytes[..cap], whole);
                self.form
                    .get_or_insert_default()
                    .observe(pairs, complete, limits);
            }
            Kind::Multipart => {
                let cap = body.bytes.len().min(limits.max_body_bytes);
                let whole = !body.truncated && cap == body.bytes.len();
                let boundary = message
                    .header("content-type")
                    .and_then(boundary_param)
                    .filter(|boundary| boundary.len() <= 200)
                    .map(str::to_owned);
                let (pairs, complete) = match boundary {
                    Some(boundary) => {
                        multipart_fields(&body.bytes[..cap], &boundary, whole, limits)
                    }
                    None => (Vec::new(), false),
                };
                self.form
                    .get_or_insert_default()
                    .observe(pairs, complete, limits);
            }
            Kind::Text | Kind::Binary => {}
        }
    }

    fn offer_example(&mut self, bytes: &[u8], limits: &SummaryLimits) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        let text = text.trim();
        if text.len() > limits.max_example_bytes || !better_example(text, self.example.as_deref()) {
            return;
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            self.example = Some(text.to_owned());
        }
    }

    /// Folds `other` in; the schema may grow by `room` positions at most.
    pub(crate) fn merge(&mut self, other: &BodyStats, limits: &SummaryLimits, room: usize) {
        self.count += other.count;
        self.read += other.read;
        if let Some(json) = &other.json {
            self.json
                .get_or_insert_default()
                .merge_within(json, limits, room);
        }
        if let Some(form) = &other.form {
            let mine = self.form.get_or_insert_default();
            mine.complete += form.complete;
            super::summary::merge_params(&mut mine.fields, &form.fields, limits);
        }
        if let Some(example) = &other.example
            && better_example(example, self.example.as_deref())
        {
            self.example = Some(example.clone());
        }
    }

    /// The Media Type Object: a schema, and an example when one was kept.
    pub(crate) fn to_media_type(&self, media: &str) -> Value {
        let schema = match kind(media) {
            Kind::Json => self
                .json
                .as_ref()
                .map_or_else(|| json!({}), Schema::to_json_schema),
            Kind::Form | Kind::Multipart => self
                .form
                .as_ref()
                .map_or_else(|| json!({"type": "object"}), FormStats::to_json_schema),
            Kind::Text => json!({"type": "string"}),
            Kind::Binary => json!({"type": "string", "format": "binary"}),
        };
        let mut object = Map::new();
        object.insert("schema".into(), schema);
        if let Some(example) = self
            .example
            .as_deref()
            .and_then(|e| serde_json::from_str::<Value>(e).ok())
        {
            object.insert("example".into(), example);
        }
        Value::Object(object)
    }
}

/// Whether `candidate` should replace `current`: longer wins, then the greater text.
fn better_example(candidate: &str, current: Option<&str>) -> bool {
    match current {
        None => true,
        Some(current) => (candidate.len(), candidate) > (current.len(), current),
    }
}

impl FormStats {
    fn observe(&mut self, pairs: Vec<Pair<'_>>, complete: bool, limits: &SummaryLimits) {
        if complete {
            self.complete += 1;
        }
        observe_params(&mut self.fields, pairs, complete, limits);
    }

    fn to_json_schema(&self) -> Value {
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        if self.fields.is_empty() {
            return Value::Object(schema);
        }
        let properties: Map<String, Value> = self
            .fields
            .iter()
            .map(|(name, stats)| (name.clone(), param_schema(stats)))
            .collect();
        schema.insert("properties".into(), Value::Object(properties));
        let required: Vec<&String> = self
            .fields
            .iter()
            .filter(|(_, f)| self.complete > 0 && f.present >= self.complete)
            .map(|(name, _)| name)
            .collect();
        if !required.is_empty() {
            schema.insert("required".into(), json!(required));
        }
        Value::Object(schema)
    }
}

/// The fields of a form body; when the body may have been cut, the last field is dropped (its
/// value may be partial) and the body is incomplete.
fn form_fields(bytes: &[u8], whole: bool) -> (Vec<Pair<'_>>, bool) {
    let mut pairs: Vec<Pair<'_>> = url::form_urlencoded::parse(bytes)
        .map(|(name, value)| Pair {
            name,
            value: PairValue::Text(value),
        })
        .collect();
    if !whole {
        pairs.pop();
    }
    (pairs, whole)
}

/// Longest multipart text value whose formats and values are looked at.
const MAX_PART_TEXT: usize = 1024;

/// The fields of a multipart body: one pair per part, with the text value of a part without a file
/// name (unknown when long or not UTF-8) and no value for a file. A part whose end is not seen is
/// left out, and then the body is incomplete.
fn multipart_fields<'a>(
    body: &'a [u8],
    boundary: &str,
    whole: bool,
    limits: &SummaryLimits,
) -> (Vec<Pair<'a>>, bool) {
    let delimiter = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let mut pairs = Vec::new();
    let Some(first) = finder.find(body) else {
        return (pairs, false);
    };
    let mut pos = first + delimiter.len();
    loop {
        if body[pos..].starts_with(b"--") {
            return (pairs, whole);
        }
        if pairs.len() >= limits.max_params * 4 {
            return (pairs, false);
        }
        // The rest of the delimiter line, then the part's headers.
        let Some(line_end) = memchr::memchr(b'\n', &body[pos..]) else {
            return (pairs, false);
        };
        let head_start = pos + line_end + 1;
        let Some((head_len, sep_len)) = header_block_len(&body[head_start..]) else {
            return (pairs, false);
        };
        let content_start = head_start + head_len + sep_len;
        let Some(next) = finder.find(&body[content_start..]) else {
            return (pairs, false);
        };
        let delimiter_at = content_start + next;
        let mut content_end = delimiter_at;
        if body[..content_end].ends_with(b"\r\n") {
            content_end -= 2;
        } else if body[..content_end].ends_with(b"\n") {
            content_end -= 1;
        }
        let head = String::from_utf8_lossy(&body[head_start..head_start + head_len]);
        if let Some((name, file)) = disposition(&head) {
            let content = &body[content_start..content_end.max(content_start)];
            let value = if file {
                PairValue::File
            } else {
                match std::str::from_utf8(content) {
                    Ok(text) if text.len() <= MAX_PART_TEXT => PairValue::Text(Cow::Borrowed(text)),
                    _ => PairValue::Unknown,
                }
            };
            pairs.push(Pair {
                name: Cow::Owned(name),
                value,
            });
        }
        pos = delimiter_at + delimiter.len();
    }
}

/// The length of a part's header block and of the blank line after it.
fn header_block_len(rest: &[u8]) -> Option<(usize, usize)> {
    if rest.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    if rest.starts_with(b"\n") {
        return Some((0, 1));
    }
    let crlf = memchr::memmem::find(rest, b"\r\n\r\n").map(|i| (i, 4));
    let lf = memchr::memmem::find(rest, b"\n\n").map(|i| (i, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The field name of a part and whether it is a file, from its `Content-Disposition` header.
fn disposition(head: &str) -> Option<(String, bool)> {
    let line = head.lines().find(|l| {
        l.split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    let mut name = None;
    let mut file = false;
    for param in value.split(';').skip(1) {
        let Some((key, v)) = param.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v.to_owned()),
            "filename" | "filename*" => file = true,
            _ => {}
        }
    }
    name.filter(|n| !n.is_empty()).map(|n| (n, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exchange::CapturedBody;

    fn message(content_type: Option<&str>, body: &[u8], truncated: bool) -> Message {
        Message {
            headers: content_type
                .map(|c| vec![("content-type".to_owned(), c.to_owned())])
                .unwrap_or_default(),
            body: CapturedBody {
                bytes: body.to_vec(),
                truncated,
            },
        }
    }

    fn schema_of(content_type: &str, bodies: &[(&[u8], bool)]) -> Value {
        let limits = SummaryLimits::default();
        let mut stats = BodyStats::default();
        let mut media = String::new();
        for (body, truncated) in bodies {
            let m = message(Some(content_type), body, *truncated);
            media = media_type(&m);
            stats.observe(&media, &m, &limits, usize::MAX);
        }
        stats.to_media_type(&media)["schema"].clone()
    }

    #[test]
    fn media_types() {
        let cases: &[(Option<&str>, &[u8], &str)] = &[
            (
                Some("application/json; charset=utf-8"),
                b"{}",
                "application/json",
            ),
            (
                Some("Application/Vnd.Api+JSON"),
                b"{}",
                "application/vnd.api+json",
            ),
            (None, b"  [1]", "application/json"),
            (None, b"hello", "text/plain"),
            (None, b"\xff\xfe", "application/octet-stream"),
            (Some("nonsense"), b"\xff", "application/octet-stream"),
        ];
        for &(content_type, body, expected) in cases {
            assert_eq!(media_type(&message(content_type, body, false)), expected);
        }
        assert_eq!(kind("application/problem+json"), Kind::Json);
        assert_eq!(kind("text/csv"), Kind::Text);
        assert_eq!(kind("image/png"), Kind::Binary);
    }

    #[test]
    fn forms() {
        let schema = schema_of(
            "application/x-www-form-urlencoded",
            &[
                (b"name=alice&age=30&tags=a&tags=b", false),
                (b"name=bob&age=41&remember=true", false),
                (b"name=carol&age=5&remember=fal", true),
            ],
        );
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "age": {"type": "integer"},
                    "name": {"type": "string"},
                    "remember": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["age", "name"]
            })
        );
    }

    #[test]
    fn multipart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHoliday\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\x00\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n3\r\n--XyZ--\r\n";
        let cut = &body[..60];
        let schema = schema_of(
            "multipart/form-data; boundary=XyZ",
            &[(body, false), (cut, true)],
        );
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "count": {"type": "integer"},
                    "photo": {"type": "string", "format": "binary"},
                    "title": {"type": "string"}
                },
                "required": ["count", "photo", "title"]
            })
        );
    }

    #[test]
    fn examples_are_bounded_and_order_free() {
        let limits = SummaryLimits {
            max_example_bytes: 20,
            ..SummaryLimits::default()
        };
        let bodies: [&[u8]; 4] = [
            br#"{"a":1}"#,
            br#"{"a":22}"#,
            br#"{"a":"much too long for it"}"#,
            br#"{"b":33}"#,
        ];
        let observe = |order: &[usize]| {
            let mut stats = BodyStats::default();
            for &i in order {
                stats.observe(
                    "application/json",
                    &message(Some("application/json"), bodies[i], false),
                    &limits,
                    usize::MAX,
                );
            }
            stats.example
        };
        assert_eq!(observe(&[0, 1, 2, 3]).as_deref(), Some(r#"{"b":33}"#));
        assert_eq!(observe(&[3, 2, 1, 0]).as_deref(), Some(r#"{"b":33}"#));
        // Truncated bodies are never examples.
        let mut stats = BodyStats::default();
        stats.observe(
            "application/json",
            &message(Some("application/json"), br#"{"a":1}"#, true),
            &limits,
            usize::MAX,
        );
        assert_eq!(stats.example, None);
    }
}
