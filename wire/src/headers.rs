//! HTTP headers in the three shapes producers send them in.
//!
//! * NTA/APIClarity: an array of `{"key": ..., "value": ...}` objects, values usually strings but
//!   sometimes numbers or booleans.
//! * Some connectors: a JSON object of name → value, where a value may also be an array of strings
//!   for a repeated header.
//! * Akto: the same object, JSON-encoded into a string (`"{\"host\": \"a.example\"}"`).
//!
//! All three decode into [`Headers`]. Problems with single entries (a missing key, an object where a
//! value should be) and a string that does not hold a JSON object are kept as data rather than
//! failing the record, so the server can name the exact place, e.g.
//! `request.common.headers[3]: missing key` or `requestHeaders: not a JSON object of headers: ...`.

use std::fmt;
use std::slice;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::scalar::Scalar;

/// The headers of one request or response, in the producer's order.
///
/// Serializing writes NTA's array of `{key, value}` objects; [`Headers::to_encoded_object`] gives
/// Akto's JSON-encoded object instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Headers {
    /// The decoded entries, including faulty ones, in the order they were sent.
    Entries(Vec<HeaderEntry>),
    /// The field held something that cannot carry headers: a number, a boolean, or a string that is
    /// not a JSON object. `raw` is what was received, so serializing writes it back unchanged.
    Invalid {
        /// The value as received.
        raw: Scalar,
        /// Why it was refused, suitable for an error message after the field name.
        reason: String,
    },
}

/// One header as received.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderEntry {
    /// A usable header. Numbers and booleans sent as values are already converted to their text.
    Pair {
        /// The name as sent (not lower-cased).
        name: String,
        /// The value as sent.
        value: String,
    },
    /// An entry that cannot be used as a header, kept so the server can report it.
    Faulty {
        /// Where the entry was in the producer's document.
        at: HeaderLocation,
        /// The name, when the entry had a usable one.
        name: Option<String>,
        /// What is wrong with it.
        fault: HeaderFault,
    },
}

/// Where a header entry was in the producer's document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderLocation {
    /// Position in the array form (counting from zero, faulty elements included).
    Index(usize),
    /// Member name in the object forms.
    Name(String),
}

/// What is wrong with one header entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFault {
    /// An element of the array form that is not an object.
    EntryNotObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// No `key`, or `"key": null`.
    MissingKey,
    /// A `key` that is not a string.
    KeyNotString {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// No `value`, or a `null` value.
    MissingValue,
    /// A value that is an array or object (or, inside an array of values, a nested one).
    ValueNotScalar {
        /// The JSON type found instead.
        found: &'static str,
    },
}

/// A problem with a headers field, ready to be reported under the field's name.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderError {
    /// The whole field is unusable (see [`Headers::Invalid`]).
    Invalid {
        /// Why.
        reason: String,
    },
    /// One entry is unusable.
    Entry {
        /// Where the entry was.
        at: HeaderLocation,
        /// What is wrong with it.
        fault: HeaderFault,
    },
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::Entries(Vec::new())
    }

    /// Headers from `(name, value)` pairs, keeping their order and any repeated names.
    pub fn from_pairs<I, N, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        Headers::Entries(
            pairs
                .into_iter()
                .map(|(name, value)| HeaderEntry::Pair {
                    name: name.into(),
                    value: value.into(),
                })
                .collect(),
        )
    }

    /// Appends a header. Appending to an [`Headers::Invalid`] value discards the invalid content
    /// first, since there is nothing to append to.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let entry = HeaderEntry::Pair {
            name: name.into(),
            value: value.into(),
        };
        match self {
            Headers::Entries(entries) => entries.push(entry),
            Headers::Invalid { .. } => *self = Headers::Entries(vec![entry]),
        }
    }

    /// Every entry, faulty ones included; empty for [`Headers::Invalid`].
    pub fn entries(&self) -> &[HeaderEntry] {
        match self {
            Headers::Entries(entries) => entries,
            Headers::Invalid { .. } => &[],
        }
    }

    /// The usable `(name, value)` pairs in order, skipping faulty entries.
    pub fn pairs(&self) -> Pairs<'_> {
        Pairs {
            inner: self.entries().iter(),
        }
    }

    /// The usable `(name, value)` pairs in order, skipping faulty entries, taking them out of
    /// `self` rather than copying them.
    pub fn into_pairs(self) -> impl Iterator<Item = (String, String)> {
        let entries = match self {
            Headers::Entries(entries) => entries,
            Headers::Invalid { .. } => Vec::new(),
        };
        entries.into_iter().filter_map(|entry| match entry {
            HeaderEntry::Pair { name, value } => Some((name, value)),
            HeaderEntry::Faulty { .. } => None,
        })
    }

    /// The first value of the header `name`, compared ASCII case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Number of entries, faulty ones included.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether there are no entries at all (also true for [`Headers::Invalid`]).
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Whether the field was unusable as a whole.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Headers::Invalid { .. })
    }

    /// Every problem, in document order: the whole-field error, or one error per faulty entry.
    pub fn problems(&self) -> impl Iterator<Item = HeaderError> + '_ {
        let invalid = match self {
            Headers::Invalid { reason, .. } => Some(HeaderError::Invalid {
                reason: reason.clone(),
            }),
            Headers::Entries(_) => None,
        };
        let faulty = self.entries().iter().filter_map(|entry| match entry {
            HeaderEntry::Faulty { at, fault, .. } => Some(HeaderError::Entry {
                at: at.clone(),
                fault: *fault,
            }),
            HeaderEntry::Pair { .. } => None,
        });
        invalid.into_iter().chain(faulty)
    }

    /// `Ok` when every entry is usable, else the first problem.
    pub fn check(&self) -> Result<(), HeaderError> {
        self.problems().next().map_or(Ok(()), Err)
    }

    /// Akto's form: a JSON object of name → value, as text.
    ///
    /// Repeated names are written as repeated members, in order, rather than merged: the JSON
    /// grammar allows it, [`Headers`] decodes them back exactly, and no value is lost (a map-based
    /// reader keeps the last one, which is what Akto's own Worker sends anyway). Faulty entries are
    /// left out because the object form has no way to express them.
    pub fn to_encoded_object(&self) -> String {
        // Serializing string pairs into a String cannot fail; the fallback only keeps this total.
        serde_json::to_string(&AsObject(self)).unwrap_or_else(|_| String::from("{}"))
    }
}

impl Default for Headers {
    fn default() -> Self {
        Headers::new()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Headers::from_pairs(iter)
    }
}

impl HeaderEntry {
    /// The entry's name, when it has a usable one.
    pub fn name(&self) -> Option<&str> {
        match self {
            HeaderEntry::Pair { name, .. } => Some(name),
            HeaderEntry::Faulty { name, .. } => name.as_deref(),
        }
    }

    /// The `(name, value)` pair, or `None` for a faulty entry.
    pub fn pair(&self) -> Option<(&str, &str)> {
        match self {
            HeaderEntry::Pair { name, value } => Some((name, value)),
            HeaderEntry::Faulty { .. } => None,
        }
    }
}

/// Iterator over the usable `(name, value)` pairs of [`Headers`], in order.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    inner: slice::Iter<'a, HeaderEntry>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.by_ref().find_map(HeaderEntry::pair)
    }
}

impl HeaderError {
    /// The error as a message under `field`, e.g. `request.common.headers[3]: missing key`.
    pub fn describe(&self, field: &str) -> String {
        match self {
            HeaderError::Invalid { reason } => format!("{field}: {reason}"),
            HeaderError::Entry { at, fault } => format!("{field}{at}: {fault}"),
        }
    }
}

impl fmt::Display for HeaderLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderLocation::Index(i) => write!(f, "[{i}]"),
            HeaderLocation::Name(name) => write!(f, "[{name:?}]"),
        }
    }
}

impl fmt::Display for HeaderFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderFault::EntryNotObject { found } => {
                write!(
                    f,
                    "expected an object with key and value, got {}",
                    Article(found)
                )
            }
            HeaderFault::MissingKey => f.write_str("missing key"),
            HeaderFault::KeyNotString { found } => {
                write!(f, "key is {}, expected a string", Article(found))
            }
            HeaderFault::MissingValue => f.write_str("missing value"),
            HeaderFault::ValueNotScalar { found } => {
                write!(f, "value is {}, expected a string", Article(found))
            }
        }
    }
}

/// A JSON type name with its indefinite article ("an object", "a string"; `null` takes none).
struct Article<'a>(&'a str);

impl fmt::Display for Article<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_bytes().first() {
            _ if self.0 == "null" => f.write_str("null"),
            Some(b'a' | b'e' | b'i' | b'o' | b'u') => write!(f, "an {}", self.0),
            _ => write!(f, "a {}", self.0),
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Invalid { reason } => f.write_str(reason),
            HeaderError::Entry { at, fault } => write!(f, "{at}: {fault}"),
        }
    }
}

impl std::error::Error for HeaderError {}

// ---------------------------------------------------------------------------------------------
// Serialization

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Headers::Entries(entries) => {
                let mut seq = serializer.serialize_seq(Some(entries.len()))?;
                for entry in entries {
                    seq.serialize_element(&KeyValue(entry))?;
                }
                seq.end()
            }
            Headers::Invalid { raw, .. } => raw.serialize(serializer),
        }
    }
}

struct KeyValue<'a>(&'a HeaderEntry);

impl Serialize for KeyValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            HeaderEntry::Pair { name, value } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("key", name)?;
                map.serialize_entry("value", value)?;
                map.end()
            }
            // Only the name survives: the faulty part is what could not be represented.
            HeaderEntry::Faulty { name, .. } => {
                let mut map = serializer.serialize_map(Some(usize::from(name.is_some())))?;
                if let Some(name) = name {
                    map.serialize_entry("key", name)?;
                }
                map.end()
            }
        }
    }
}

struct AsObject<'a>(&'a Headers);

impl Serialize for AsObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.pairs() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Serializes optional headers in Akto's form: a JSON-encoded object, or the invalid value as it
/// was received. For `#[serde(serialize_with = ...)]`.
pub(crate) fn serialize_encoded<S: Serializer>(
    headers: &Option<Headers>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match headers {
        None => serializer.serialize_none(),
        Some(Headers::Invalid { raw, .. }) => raw.serialize(serializer),
        Some(headers) => serializer.serialize_str(&headers.to_encoded_object()),
    }
}

// ---------------------------------------------------------------------------------------------
// Deserialization

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl HeadersVisitor {
    fn wrong_type(raw: Scalar) -> Headers {
        let reason = format!(
            "expected an array of {{key, value}} objects, an object or a JSON-encoded object, got {}",
            Article(raw.kind())
        );
        Headers::Invalid { raw, reason }
    }
}

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = Headers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("headers as an array of {key, value}, an object, or a JSON-encoded object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Headers, A::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
        while let Some(entry) = seq.next_element_seed(ListItemSeed {
            index: entries.len(),
        })? {
            entries.push(entry);
        }
        Ok(Headers::Entries(entries))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Headers, A::Error> {
        collect_object(map).map(Headers::Entries)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Headers, E> {
        Ok(decode_encoded(v).unwrap_or_else(|reason| Headers::Invalid {
            raw: Scalar::Str(v.to_owned()),
            reason,
        }))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Headers, E> {
        Ok(match decode_encoded(&v) {
            Ok(headers) => headers,
            Err(reason) => Headers::Invalid {
                raw: Scalar::Str(v),
                reason,
            },
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Headers, E> {
        Ok(Headers::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Headers, E> {
        Ok(Headers::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Headers, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Headers, E> {
        Ok(Self::wrong_type(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Headers, E> {
        Ok(Self::wrong_type(Scalar::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Headers, E> {
        Ok(Self::wrong_type(Scalar::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Headers, E> {
        Ok(Self::wrong_type(Scalar::Float(v)))
    }
}

/// Decodes Akto's JSON-encoded object. An empty (or blank) string means "no headers": connectors
/// that have none send that rather than `"{}"`, and refusing it would drop the whole exchange.
fn decode_encoded(text: &str) -> Result<Headers, String> {
    if text.trim_matches(JSON_WHITESPACE).is_empty() {
        return Ok(Headers::new());
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = de
        .deserialize_map(EncodedObjectVisitor)
        .and_then(|entries| de.end().map(|()| entries))
        .map_err(|e| format!("not a JSON object of headers: {e}"))?;
    Ok(Headers::Entries(entries))
}

const JSON_WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

// Only an object is accepted inside the string: that is the one shape Akto produces, and anything
// else there is a sign of a different bug worth reporting.
struct EncodedObjectVisitor;

impl<'de> Visitor<'de> for EncodedObjectVisitor {
    type Value = Vec<HeaderEntry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of header names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        collect_object(map)
    }
}

fn collect_object<'de, A: MapAccess<'de>>(mut map: A) -> Result<Vec<HeaderEntry>, A::Error> {
    let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
    while let Some(name) = map.next_key::<String>()? {
        map.next_value_seed(ObjectValueSeed {
            name,
            entries: &mut entries,
        })?;
    }
    Ok(entries)
}

/// Converts one received value to header text, or says why it cannot be one.
fn scalar_to_value(value: Scalar) -> Result<String, HeaderFault> {
    match value {
        Scalar::Str(s) => Ok(s),
        Scalar::Null => Err(HeaderFault::MissingValue),
        Scalar::Composite(_) => Err(HeaderFault::ValueNotScalar {
            found: value.kind(),
        }),
        other => Ok(other.as_str_lossy().into_owned()),
    }
}

/// One element of the array form.
struct ListItemSeed {
    index: usize,
}

impl<'de> DeserializeSeed<'de> for ListItemSeed {
    type Value = HeaderEntry;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<HeaderEntry, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ListItemSeed {
    fn not_object(self, found: &'static str) -> HeaderEntry {
        HeaderEntry::Faulty {
            at: HeaderLocation::Index(self.index),
            name: None,
            fault: HeaderFault::EntryNotObject { found },
        }
    }
}

impl<'de> Visitor<'de> for ListItemSeed {
    type Value = HeaderEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with key and value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderEntry, A::Error> {
        let mut key = None;
        let mut value = None;
        while let Some(field) = map.next_key::<ItemField>()? {
            match field {
                ItemField::Key => key = Some(map.next_value::<Scalar>()?),
                ItemField::Value => value = Some(map.next_value::<Scalar>()?),
                ItemField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let at = HeaderLocation::Index(self.index);
        let name = match key {
            Some(Scalar::Str(name)) => name,
            None | Some(Scalar::Null) => {
                return Ok(HeaderEntry::Faulty {
                    at,
                    name: None,
                    fault: HeaderFault::MissingKey,
                });
            }
            Some(other) => {
                return Ok(HeaderEntry::Faulty {
                    at,
                    name: None,
                    fault: HeaderFault::KeyNotString {
                        found: other.kind(),
                    },
                });
            }
        };
        Ok(match scalar_to_value(value.unwrap_or(Scalar::Null)) {
            Ok(value) => HeaderEntry::Pair { name, value },
            Err(fault) => HeaderEntry::Faulty {
                at,
                name: Some(name),
                fault,
            },
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderEntry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(self.not_object("array"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<HeaderEntry, E> {
        Ok(self.not_object("string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<HeaderEntry, E> {
        Ok(self.not_object("boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<HeaderEntry, E> {
        Ok(self.not_object("integer"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<HeaderEntry, E> {
        Ok(self.not_object("integer"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<HeaderEntry, E> {
        Ok(self.not_object("number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<HeaderEntry, E> {
        Ok(self.not_object("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<HeaderEntry, E> {
        Ok(self.not_object("null"))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<HeaderEntry, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Member names inside an array element, matched without allocating.
enum ItemField {
    Key,
    Value,
    Other,
}

impl<'de> Deserialize<'de> for ItemField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(ItemFieldVisitor)
    }
}

struct ItemFieldVisitor;

impl<'de> Visitor<'de> for ItemFieldVisitor {
    type Value = ItemField;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ItemField, E> {
        Ok(match v {
            "key" => ItemField::Key,
            "value" => ItemField::Value,
            _ => ItemField::Other,
        })
    }
}

/// The value of one member of the object forms; pushes zero or more entries.
struct ObjectValueSeed<'a> {
    name: String,
    entries: &'a mut Vec<HeaderEntry>,
}

impl ObjectValueSeed<'_> {
    fn push(self, value: Result<String, HeaderFault>) {
        self.entries.push(match value {
            Ok(value) => HeaderEntry::Pair {
                name: self.name,
                value,
            },
            Err(fault) => HeaderEntry::Faulty {
                at: HeaderLocation::Name(self.name.clone()),
                name: Some(self.name),
                fault,
            },
        });
    }
}

impl<'de> DeserializeSeed<'de> for ObjectValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a header value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push(Ok(v.to_owned()));
        Ok(())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.push(Ok(v));
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.push(scalar_to_value(Scalar::Bool(v)));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push(scalar_to_value(Scalar::Int(v)));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push(scalar_to_value(Scalar::from(v)));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.push(scalar_to_value(Scalar::Float(v)));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.push(Err(HeaderFault::MissingValue));
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    // A repeated header: one entry per element, all under the same name.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Scalar>()? {
            let value = match item {
                Scalar::Composite(_) => Err(HeaderFault::ValueNotScalar {
                    found: if item.kind() == "array" {
                        "nested array"
                    } else {
                        "nested object"
                    },
                }),
                other => scalar_to_value(other),
            };
            ObjectValueSeed {
                name: self.name.clone(),
                entries: &mut *self.entries,
            }
            .push(value);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.push(Err(HeaderFault::ValueNotScalar { found: "object" }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Headers {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn pairs(h: &Headers) -> Vec<(&str, &str)> {
        h.pairs().collect()
    }

    fn faulty(at: HeaderLocation, name: Option<&str>, fault: HeaderFault) -> HeaderEntry {
        HeaderEntry::Faulty {
            at,
            name: name.map(str::to_owned),
            fault,
        }
    }

    #[test]
    fn decodes_the_three_shapes_to_the_same_pairs_in_order() {
        let want = vec![
            ("host", "a.example"),
            ("accept", "application/json"),
            ("x-b", "2"),
        ];
        for json in [
            r#"[{"key":"host","value":"a.example"},{"key":"accept","value":"application/json"},{"key":"x-b","value":"2"}]"#,
            r#"{"host":"a.example","accept":"application/json","x-b":"2"}"#,
            r#""{\"host\": \"a.example\", \"accept\": \"application/json\", \"x-b\": \"2\"}""#,
        ] {
            let h = decode(json);
            assert_eq!(pairs(&h), want, "{json}");
            assert_eq!(h.check(), Ok(()), "{json}");
        }
    }

    #[test]
    fn array_form_converts_number_and_bool_values_and_ignores_extra_members() {
        let h = decode(
            r#"[{"key":"content-length","value":42},{"key":"x-flag","value":true},
                {"key":"x-f","value":1.5},{"value":"v","key":"x-order","extra":{"a":[1]}}]"#,
        );
        assert_eq!(
            pairs(&h),
            vec![
                ("content-length", "42"),
                ("x-flag", "true"),
                ("x-f", "1.5"),
                ("x-order", "v")
            ]
        );
    }

    #[test]
    fn array_form_keeps_faulty_entries_with_their_index() {
        let h = decode(
            r#"[{"key":"a","value":"1"},"oops",{"value":"x"},{"key":null,"value":"x"},
                {"key":5,"value":"x"},{"key":"b"},{"key":"c","value":null},
                {"key":"d","value":{"x":1}},{"key":"e","value":["x"]},7,null,[],{"key":"f","value":""}]"#,
        );
        use HeaderLocation::Index;
        assert_eq!(
            h.entries(),
            &[
                HeaderEntry::Pair {
                    name: "a".into(),
                    value: "1".into()
                },
                faulty(
                    Index(1),
                    None,
                    HeaderFault::EntryNotObject { found: "string" }
                ),
                faulty(Index(2), None, HeaderFault::MissingKey),
                faulty(Index(3), None, HeaderFault::MissingKey),
                faulty(
                    Index(4),
                    None,
                    HeaderFault::KeyNotString { found: "integer" }
                ),
                faulty(Index(5), Some("b"), HeaderFault::MissingValue),
                faulty(Index(6), Some("c"), HeaderFault::MissingValue),
                faulty(
                    Index(7),
                    Some("d"),
                    HeaderFault::ValueNotScalar { found: "object" }
                ),
                faulty(
                    Index(8),
                    Some("e"),
                    HeaderFault::ValueNotScalar { found: "array" }
                ),
                faulty(
                    Index(9),
                    None,
                    HeaderFault::EntryNotObject { found: "integer" }
                ),
                faulty(
                    Index(10),
                    None,
                    HeaderFault::EntryNotObject { found: "null" }
                ),
                faulty(
                    Index(11),
                    None,
                    HeaderFault::EntryNotObject { found: "array" }
                ),
                HeaderEntry::Pair {
                    name: "f".into(),
                    value: String::new()
                },
            ]
        );
        assert_eq!(pairs(&h), vec![("a", "1"), ("f", "")]);
        assert_eq!(h.len(), 13);
        let messages: Vec<String> = h
            .problems()
            .map(|e| e.describe("request.common.headers"))
            .collect();
        assert_eq!(messages[1], "request.common.headers[2]: missing key");
        assert_eq!(
            messages[0],
            "request.common.headers[1]: expected an object with key and value, got a string"
        );
        assert_eq!(
            messages[3],
            "request.common.headers[4]: key is an integer, expected a string"
        );
        assert_eq!(messages[4], "request.common.headers[5]: missing value");
        assert_eq!(
            messages[6],
            "request.common.headers[7]: value is an object, expected a string"
        );
        assert_eq!(messages.len(), 11);
        assert_eq!(
            h.check(),
            Err(HeaderError::Entry {
                at: Index(1),
                fault: HeaderFault::EntryNotObject { found: "string" }
            })
        );
    }

    #[test]
    fn object_form_expands_arrays_of_values_for_repeated_headers() {
        let h = decode(
            r#"{"set-cookie":["a=1","b=2"],"content-length":12,"x-ok":false,"accept":"*/*","empty":[]}"#,
        );
        assert_eq!(
            pairs(&h),
            vec![
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("content-length", "12"),
                ("x-ok", "false"),
                ("accept", "*/*")
            ]
        );
    }

    #[test]
    fn object_form_keeps_duplicate_members_in_order() {
        let h = decode(r#"{"set-cookie":"a=1","x":"y","set-cookie":"b=2"}"#);
        assert_eq!(
            pairs(&h),
            vec![("set-cookie", "a=1"), ("x", "y"), ("set-cookie", "b=2")]
        );
    }

    #[test]
    fn object_form_reports_faulty_values_by_name() {
        let h = decode(r#"{"a":null,"b":{"c":1},"d":["x",{"y":1},null,["z"]],"e":"ok"}"#);
        use HeaderLocation::Name;
        assert_eq!(
            h.entries(),
            &[
                faulty(Name("a".into()), Some("a"), HeaderFault::MissingValue),
                faulty(
                    Name("b".into()),
                    Some("b"),
                    HeaderFault::ValueNotScalar { found: "object" }
                ),
                HeaderEntry::Pair {
                    name: "d".into(),
                    value: "x".into()
                },
                faulty(
                    Name("d".into()),
                    Some("d"),
                    HeaderFault::ValueNotScalar {
                        found: "nested object"
                    }
                ),
                faulty(Name("d".into()), Some("d"), HeaderFault::MissingValue),
                faulty(
                    Name("d".into()),
                    Some("d"),
                    HeaderFault::ValueNotScalar {
                        found: "nested array"
                    }
                ),
                HeaderEntry::Pair {
                    name: "e".into(),
                    value: "ok".into()
                },
            ]
        );
        assert_eq!(
            h.check().unwrap_err().describe("requestHeaders"),
            r#"requestHeaders["a"]: missing value"#
        );
    }

    #[test]
    fn encoded_string_that_is_not_an_object_is_invalid_not_an_error() {
        for (json, reason_start) in [
            (
                r#""{not json""#,
                "not a JSON object of headers: key must be a string",
            ),
            (
                r#""[1,2]""#,
                "not a JSON object of headers: invalid type: sequence",
            ),
            (
                r#""\"a\"""#,
                "not a JSON object of headers: invalid type: string",
            ),
            (
                r#""{} x""#,
                "not a JSON object of headers: trailing characters",
            ),
            (
                r#""{\"a\": \"b\"""#,
                "not a JSON object of headers: EOF while parsing",
            ),
            (
                r#""host: a.example""#,
                "not a JSON object of headers: expected value",
            ),
        ] {
            let h = decode(json);
            let Headers::Invalid { raw, reason } = &h else {
                panic!("{json}: {h:?}");
            };
            assert!(reason.starts_with(reason_start), "{json}: {reason}");
            let inner: String = serde_json::from_str(json).unwrap();
            assert_eq!(raw, &Scalar::Str(inner), "{json}");
            assert!(h.is_invalid());
            assert!(h.is_empty());
            assert_eq!(h.pairs().count(), 0);
            let err = h.check().unwrap_err();
            assert_eq!(
                err.describe("requestHeaders"),
                format!("requestHeaders: {reason}")
            );
            // Written back exactly as received.
            assert_eq!(serde_json::to_string(&h).unwrap(), json);
        }
    }

    #[test]
    fn encoded_string_reports_faulty_members_by_name() {
        let h = decode(r#""{\"host\": \"a\", \"x\": {}}""#);
        assert_eq!(pairs(&h), vec![("host", "a")]);
        assert_eq!(
            h.check().unwrap_err().describe("requestHeaders"),
            r#"requestHeaders["x"]: value is an object, expected a string"#
        );
    }

    #[test]
    fn blank_encoded_string_and_null_mean_no_headers() {
        for json in [r#""""#, r#"" \n""#, "null", "[]", "{}", r#""{}""#] {
            assert_eq!(decode(json), Headers::new(), "{json}");
        }
    }

    #[test]
    fn wrong_scalar_types_are_invalid_not_an_error() {
        for (json, raw) in [
            ("5", Scalar::Int(5)),
            ("true", Scalar::Bool(true)),
            ("1.5", Scalar::Float(1.5)),
        ] {
            let h = decode(json);
            let Headers::Invalid { raw: got, reason } = &h else {
                panic!("{json}: {h:?}");
            };
            assert_eq!(got, &raw);
            assert!(reason.ends_with(raw.kind()), "{reason}");
            assert_eq!(serde_json::to_string(&h).unwrap(), json);
        }
    }

    #[test]
    fn broken_json_inside_headers_is_still_a_decode_error() {
        // Only the types are tolerated; malformed JSON is not recoverable.
        assert!(serde_json::from_str::<Headers>(r#"[{"key":"a","value":}]"#).is_err());
        assert!(serde_json::from_str::<Headers>(r#"{"a":"b""#).is_err());
    }

    #[test]
    fn serializes_the_nta_array_form() {
        let h = Headers::from_pairs([("host", "a.example"), ("x", "1")]);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"[{"key":"host","value":"a.example"},{"key":"x","value":"1"}]"#
        );
        let h = decode(r#"[{"key":"a"},{"value":"b"}]"#);
        assert_eq!(serde_json::to_string(&h).unwrap(), r#"[{"key":"a"},{}]"#);
        assert_eq!(decode(&serde_json::to_string(&h).unwrap()), h);
    }

    #[test]
    fn encoded_object_keeps_repeated_names_and_drops_faulty_entries() {
        let mut h = decode(
            r#"[{"key":"set-cookie","value":"a=1"},{"key":"x"},{"key":"q\"uote","value":"\n"}]"#,
        );
        h.push("set-cookie", "b=2");
        let text = h.to_encoded_object();
        assert_eq!(
            text,
            r#"{"set-cookie":"a=1","q\"uote":"\n","set-cookie":"b=2"}"#
        );
        assert_eq!(
            pairs(&decode(&serde_json::to_string(&text).unwrap())),
            vec![
                ("set-cookie", "a=1"),
                ("q\"uote", "\n"),
                ("set-cookie", "b=2")
            ]
        );
    }

    #[test]
    fn get_is_case_insensitive_and_returns_the_first_value() {
        let h: Headers = [("Host", "a"), ("host", "b"), ("X", "c")]
            .into_iter()
            .collect();
        assert_eq!(h.get("HOST"), Some("a"));
        assert_eq!(h.get("x"), Some("c"));
        assert_eq!(h.get("y"), None);
        assert_eq!(h.entries()[2].name(), Some("X"));
        assert_eq!(h.entries()[2].pair(), Some(("X", "c")));
    }

    #[test]
    fn push_replaces_invalid_content() {
        let mut h = decode("5");
        h.push("a", "b");
        assert_eq!(h, Headers::from_pairs([("a", "b")]));
        assert!(!h.is_invalid());
    }

    #[test]
    fn location_and_fault_display() {
        assert_eq!(HeaderLocation::Index(3).to_string(), "[3]");
        assert_eq!(
            HeaderLocation::Name("x-a\"b".into()).to_string(),
            r#"["x-a\"b"]"#
        );
        let e = HeaderError::Entry {
            at: HeaderLocation::Index(3),
            fault: HeaderFault::MissingKey,
        };
        assert_eq!(e.to_string(), "[3]: missing key");
        let cases: &[(HeaderFault, &str)] = &[
            (
                HeaderFault::EntryNotObject { found: "null" },
                "expected an object with key and value, got null",
            ),
            (
                HeaderFault::KeyNotString { found: "boolean" },
                "key is a boolean, expected a string",
            ),
            (
                HeaderFault::ValueNotScalar { found: "array" },
                "value is an array, expected a string",
            ),
            (
                HeaderFault::ValueNotScalar {
                    found: "nested object",
                },
                "value is a nested object, expected a string",
            ),
            (HeaderFault::MissingValue, "missing value"),
        ];
        for (fault, want) in cases {
            assert_eq!(fault.to_string(), *want);
        }
        assert_eq!(
            e.describe("request.common.headers"),
            "request.common.headers[3]: missing key"
        );
    }
}
