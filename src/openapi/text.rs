//! What a scalar text value looks like: the formats and lexical kinds it matches, and the bounded
//! statistics kept for every position that holds strings (a JSON string field, a query parameter,
//! a header, a form field).
//!
//! A value's shape is a bit mask ([`classify`]); a position keeps the AND of the masks of all its
//! known values, so a format survives only when *every* value matched it. Redaction markers
//! (`<redacted>`, `<redacted:jwt>`) are not known values: they hide what was there, so they count
//! as strings but neither confirm nor refute a format, a kind or an enum.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::summary::SummaryLimits;

/// RFC 3339 date and time (`date-time`).
pub(crate) const DATE_TIME: u16 = 1;
/// RFC 3339 full date (`date`).
pub(crate) const DATE: u16 = 1 << 1;
/// An e-mail address (`email`).
pub(crate) const EMAIL: u16 = 1 << 2;
/// A hyphenated UUID (`uuid`).
pub(crate) const UUID: u16 = 1 << 3;
/// An absolute URL with an authority, `scheme://…` (`uri`).
pub(crate) const URI: u16 = 1 << 4;
/// A dotted-quad IPv4 address (`ipv4`).
pub(crate) const IPV4: u16 = 1 << 5;
/// An IPv6 address (`ipv6`).
pub(crate) const IPV6: u16 = 1 << 6;
/// Decimal digits without a leading zero that fit an `i64` (lexical, for text-only positions).
pub(crate) const INTEGER: u16 = 1 << 7;
/// A JSON-style decimal number (lexical); every integer is a number too.
pub(crate) const NUMBER: u16 = 1 << 8;
/// `true` or `false` (lexical).
pub(crate) const BOOLEAN: u16 = 1 << 9;

/// The formats reported in schemas, most specific first: when a value matches two (which the
/// checks below make rare), the first one wins.
const FORMATS: [(u16, &str); 7] = [
    (DATE_TIME, "date-time"),
    (DATE, "date"),
    (UUID, "uuid"),
    (EMAIL, "email"),
    (IPV4, "ipv4"),
    (IPV6, "ipv6"),
    (URI, "uri"),
];

/// The bits of [`FORMATS`].
const FORMAT_BITS: u16 = DATE_TIME | DATE | EMAIL | UUID | URI | IPV4 | IPV6;

/// An enum is reported only after this many known values…
pub(crate) const ENUM_MIN_OBSERVATIONS: u64 = 4;
/// …with at most this many distinct values…
pub(crate) const ENUM_MAX_DISTINCT: usize = 5;
// …and at least two observations per distinct value (checked in `TextStats::enum_values`).

/// Whether a value is a redaction marker written by redaction at ingest: `<redacted>`, or a
/// marker with a hint such as `<redacted:jwt>`.
pub(crate) fn is_redacted(s: &str) -> bool {
    s.len() <= 40 && s.starts_with("<redacted") && s.ends_with('>')
}

/// The formats and lexical kinds `s` matches, as a mask of the constants above.
pub(crate) fn classify(s: &str) -> u16 {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return 0;
    };
    let mut mask = 0;
    if first.is_ascii_digit() || first == b'-' {
        if let Some(integer) = decimal(b) {
            mask |= NUMBER;
            if integer {
                mask |= INTEGER;
            }
        }
        if b.len() == 10 && is_date(b) {
            mask |= DATE;
        } else if b.len() >= 20 && is_date_time(b) {
            mask |= DATE_TIME;
        }
    }
    if b.len() == 36 && is_uuid(b) {
        mask |= UUID;
    }
    if first.is_ascii_digit() && b.len() <= 15 && s.parse::<Ipv4Addr>().is_ok() {
        mask |= IPV4;
    }
    if b.len() <= 45 && s.contains(':') && s.parse::<Ipv6Addr>().is_ok() {
        mask |= IPV6;
    }
    if first.is_ascii_alphabetic() {
        if s == "true" || s == "false" {
            mask |= BOOLEAN;
        } else if is_uri(b) {
            mask |= URI;
        }
    }
    if b.len() <= 254 && memchr::memchr(b'@', b).is_some() && is_email(s) {
        mask |= EMAIL;
    }
    mask
}

/// The `format` name of the first format in `mask`.
pub(crate) fn format_name(mask: u16) -> Option<&'static str> {
    FORMATS
        .iter()
        .find(|(bit, _)| mask & bit != 0)
        .map(|&(_, name)| name)
}

/// `Some(true)` for an integer (`-12`, `0`; no leading zero, at most 18 digits), `Some(false)`
/// for another JSON number (`1.5`, `-0.25`, `1e3`, `007`), `None` for anything else.
fn decimal(b: &[u8]) -> Option<bool> {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 {
        return None;
    }
    let rest = &digits[int_len..];
    if rest.is_empty() {
        let leading_zero = int_len > 1 && digits[0] == b'0';
        return Some(!leading_zero && int_len <= 18);
    }
    let mut rest = rest;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return None;
        }
        rest = &[];
    }
    rest.is_empty().then_some(false)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` naming a real calendar day.
fn is_date(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..10])) else {
        return false;
    };
    chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
}

/// RFC 3339 `date-time`: `2024-05-01T10:00:00Z`, with optional fractional seconds and a `Z` or
/// `±hh:mm` offset (`t`, `z` and a space separator are accepted too).
fn is_date_time(b: &[u8]) -> bool {
    if b.len() < 20 || !is_date(&b[..10]) || !matches!(b[10], b'T' | b't' | b' ') {
        return false;
    }
    let time = &b[11..];
    if time.len() < 9 || time[2] != b':' || time[5] != b':' {
        return false;
    }
    let (Some(h), Some(m), Some(s)) =
        (digits(&time[..2]), digits(&time[3..5]), digits(&time[6..8]))
    else {
        return false;
    };
    if h > 23 || m > 59 || s > 60 {
        return false;
    }
    let mut rest = &time[8..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            matches!((digits(&[*h1, *h2]), digits(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `scheme://something` without whitespace or control characters.
fn is_uri(b: &[u8]) -> bool {
    let scheme_len = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
        .count();
    scheme_len > 0
        && b[scheme_len..].starts_with(b"://")
        && b.len() > scheme_len + 3
        && b.iter()
            .all(|c| !c.is_ascii_whitespace() && !c.is_ascii_control() && *c != b'"')
}

/// `local@domain.tld` with the usual characters: one `@`, a dotted domain of letters, digits and
/// hyphens, and a top-level domain of two letters or more.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&c));
    if !local_ok || !domain.contains('.') {
        return false;
    }
    let mut labels = domain.split('.').peekable();
    while let Some(label) = labels.next() {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-');
        if !ok {
            return false;
        }
        if labels.peek().is_none()
            && (label.len() < 2 || !label.bytes().all(|c| c.is_ascii_alphabetic()))
        {
            return false;
        }
    }
    true
}

pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_mask(n: &u16) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What was seen at one position holding text: counts, the formats and kinds all known values
/// matched, and the distinct values while there are few of them.
///
/// Bounded: at most [`SummaryLimits::max_values`] values of at most
/// [`SummaryLimits::max_value_len`] bytes each; past either bound, or once a value has a format,
/// the values are dropped for good and only `many` is kept, since no enum can come of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TextStats {
    /// Values seen, redacted ones included.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) count: u64,
    /// Redaction markers among them.
    #[serde(rename = "r", default, skip_serializing_if = "is_zero")]
    pub(crate) redacted: u64,
    /// The AND of the masks of all known (not redacted) values; meaningless while there are none.
    #[serde(rename = "m", default, skip_serializing_if = "is_zero_mask")]
    pub(crate) mask: u16,
    /// The distinct known values, sorted, while they are few and short.
    #[serde(rename = "v", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) values: Vec<String>,
    /// True once there were too many distinct values, or a long one, to keep.
    #[serde(rename = "x", default, skip_serializing_if = "is_false")]
    pub(crate) many: bool,
}

impl TextStats {
    /// Values that were not redacted.
    pub(crate) fn known(&self) -> u64 {
        self.count.saturating_sub(self.redacted)
    }

    /// Adds one value.
    pub(crate) fn observe(&mut self, s: &str, limits: &SummaryLimits) {
        self.count += 1;
        if is_redacted(s) {
            self.redacted += 1;
            return;
        }
        let mask = classify(s);
        self.mask = if self.known() == 1 {
            mask
        } else {
            self.mask & mask
        };
        if self.many {
            return;
        }
        // A value with a format is never an enum member (the format is written instead), and such
        // values (addresses, dates, IDs) are the ones least worth keeping.
        if s.len() > limits.max_value_len || mask & FORMAT_BITS != 0 {
            self.give_up_values();
            return;
        }
        if self.values.iter().any(|v| v.len() == s.len() && v == s) {
            return;
        }
        if let Err(at) = self.values.binary_search_by(|v| v.as_str().cmp(s)) {
            if self.values.len() >= limits.max_values {
                self.give_up_values();
            } else {
                self.values.insert(at, s.to_owned());
            }
        }
    }

    /// Adds a string whose content is unknown (cut off or not valid text): it counts as text but
    /// says nothing about formats or values, like a redacted one.
    pub(crate) fn observe_unknown(&mut self) {
        self.count += 1;
        self.redacted += 1;
    }

    fn give_up_values(&mut self) {
        self.many = true;
        self.values = Vec::new();
    }

    /// Folds `other` in; commutative and associative.
    pub(crate) fn merge(&mut self, other: &TextStats, limits: &SummaryLimits) {
        self.mask = match (self.known(), other.known()) {
            (0, _) => other.mask,
            (_, 0) => self.mask,
            _ => self.mask & other.mask,
        };
        self.count += other.count;
        self.redacted += other.redacted;
        if self.many || other.many {
            self.give_up_values();
            return;
        }
        for value in &other.values {
            if let Err(at) = self.values.binary_search(value) {
                self.values.insert(at, value.clone());
            }
        }
        if self.values.len() > limits.max_values {
            self.give_up_values();
        }
    }

    /// The bits of `mask` every known value matched; 0 when no value is known.
    fn confirmed(&self, mask: u16) -> u16 {
        if self.known() == 0 {
            0
        } else {
            self.mask & mask
        }
    }

    /// The format every known value matched, if any.
    pub(crate) fn format(&self) -> Option<&'static str> {
        format_name(self.confirmed(u16::MAX))
    }

    /// The values to list as an enum: at least [`ENUM_MIN_OBSERVATIONS`] known values, at most
    /// [`ENUM_MAX_DISTINCT`] distinct ones, and each distinct value seen twice on average.
    pub(crate) fn enum_values(&self) -> Option<&[String]> {
        let distinct = self.values.len() as u64;
        let known = self.known();
        (!self.many
            && distinct > 0
            && self.values.len() <= ENUM_MAX_DISTINCT
            && known >= ENUM_MIN_OBSERVATIONS
            && distinct * 2 <= known)
            .then_some(&self.values[..])
    }

    /// The schema of JSON strings seen here: `type: string` with a format when every known value
    /// matched one, else an enum when the thresholds are met.
    pub(crate) fn string_schema(&self) -> Map<String, Value> {
        let mut schema = Map::new();
        schema.insert("type".into(), json!("string"));
        if let Some(format) = self.format() {
            schema.insert("format".into(), json!(format));
        } else if let Some(values) = self.enum_values() {
            schema.insert("enum".into(), json!(values));
        }
        schema
    }

    /// The schema of a text-only position (query, header, form field): `integer`, `number` or
    /// `boolean` when every known value reads as one, else as [`TextStats::string_schema`].
    pub(crate) fn lexical_schema(&self) -> Map<String, Value> {
        let kind = self.confirmed(INTEGER | NUMBER | BOOLEAN);
        let name = if kind & INTEGER != 0 {
            "integer"
        } else if kind & NUMBER != 0 {
            "number"
        } else if kind & BOOLEAN != 0 {
            "boolean"
        } else {
            return self.string_schema();
        };
        let mut schema = Map::new();
        schema.insert("type".into(), json!(name));
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let cases: &[(&str, u16)] = &[
            ("", 0),
            ("0", INTEGER | NUMBER),
            ("-12", INTEGER | NUMBER),
            ("007", NUMBER),
            ("1.5", NUMBER),
            ("1e3", NUMBER),
            ("1.", 0),
            ("-", 0),
            ("true", BOOLEAN),
            ("True", 0),
            ("2024-05-01", DATE),
            ("2024-02-30", 0),
            ("2024-05-01T10:00:00Z", DATE_TIME),
            ("2024-05-01T10:00:00.123+02:00", DATE_TIME),
            ("2024-05-01T25:00:00Z", 0),
            ("2024-05-01T10:00:00", 0),
            ("550e8400-e29b-41d4-a716-446655440000", UUID),
            ("alice@example.com", EMAIL),
            ("alice@localhost", 0),
            ("a b@example.com", 0),
            ("https://example.com/x?y=1", URI),
            ("https://", 0),
            ("type:subtype", 0),
            ("10.0.0.1", IPV4),
            ("10.0.0.256", 0),
            ("::1", IPV6),
            ("2001:db8::7", IPV6),
            ("hello", 0),
        ];
        for &(s, mask) in cases {
            assert_eq!(classify(s), mask, "{s:?}");
        }
        assert!(is_redacted("<redacted>"));
        assert!(is_redacted("<redacted:jwt>"));
        assert!(!is_redacted("redacted"));
    }

    #[test]
    fn redacted_values_neither_confirm_nor_refute() {
        let limits = SummaryLimits::default();
        let mut t = TextStats::default();
        for v in ["<redacted>", "2024-05-01", "<redacted>", "2024-05-02"] {
            t.observe(v, &limits);
        }
        assert_eq!(t.format(), Some("date"));
        let mut only_redacted = TextStats::default();
        only_redacted.observe("<redacted>", &limits);
        assert_eq!(only_redacted.format(), None);
        assert_eq!(
            only_redacted.lexical_schema(),
            json!({"type": "string"}).as_object().cloned().unwrap()
        );
    }
}
