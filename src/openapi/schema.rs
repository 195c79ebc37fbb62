//! The JSON-schema inference lattice.
//!
//! A [`Schema`] is what was seen at the top of a JSON body, merged over every body observed. Each
//! position in the document keeps counts per JSON type, the statistics of its strings, the fields
//! of its objects and the items of its arrays; two summaries of the same position merge by adding
//! counts and uniting fields, so the result does not depend on the order bodies arrived in (up to
//! the bounds), and nothing is decided from the first sample.
//!
//! The rules applied when the schema is written out ([`Schema::to_json_schema`]):
//! * integers and other numbers at one position make a `number`; `null` makes the type nullable
//!   (`type: [T, "null"]`), which is not the same as optional;
//! * an object property is `required` when it was present in every *complete* object seen at that
//!   position; objects cut short (a truncated or malformed body, or the depth cap) add what they
//!   hold but never make a property required;
//! * formats (`date-time`, `date`, `email`, `uuid`, `uri`, `ipv4`, `ipv6`) hold only when every
//!   known string matched, and enums need 4 observations or more, 5 distinct values at most and
//!   twice as many observations as values (see the `text` module); redaction markers count as
//!   strings of unknown content;
//! * different kinds at one position become a `oneOf` with at most one object and one array
//!   variant (objects merge with objects, arrays with arrays);
//! * an object is written as a map (`additionalProperties` with the merged value schema) when it
//!   had more distinct keys than [`SummaryLimits::max_fields`], a key longer than
//!   [`SummaryLimits::max_key_len`], or keys that are mostly identifiers (numbers, UUIDs, hashes,
//!   dates…);
//! * an array that was only ever empty has `items: {}`.
//!
//! Bounds: objects deeper than [`SummaryLimits::max_depth`] are recorded as objects without
//! fields, a schema holds at most [`SummaryLimits::max_schema_nodes`] positions (past that, new
//! fields are dropped and the object is marked as trimmed), and the distinct values of a string
//! position are bounded as in the `text` module.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::json;
use super::summary::SummaryLimits;
use super::text::{TextStats, is_zero};
use crate::model::segment::{ParamType, SegmentClass, classify};

/// The merged observations of the JSON bodies at one place (a request body or a response body of
/// one media type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// What was seen at the top.
    #[serde(rename = "s", default, skip_serializing_if = "Shape::is_empty")]
    pub(crate) shape: Shape,
    /// Positions below the top, kept under [`SummaryLimits::max_schema_nodes`].
    #[serde(rename = "k", default, skip_serializing_if = "is_zero_u32")]
    nodes: u32,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Schema {
    /// Adds one JSON body. At most [`SummaryLimits::max_body_bytes`] are read; a body that is
    /// `truncated`, longer than that, or not valid JSON contributes what it holds up to where it
    /// stops, with the objects left open counted as incomplete. Returns whether the body was read
    /// to the end of one complete JSON value.
    pub fn observe_json(&mut self, body: &[u8], truncated: bool, limits: &SummaryLimits) -> bool {
        self.observe_json_within(body, truncated, limits, usize::MAX)
    }

    /// [`Schema::observe_json`], creating at most `room` new positions.
    pub(crate) fn observe_json_within(
        &mut self,
        body: &[u8],
        truncated: bool,
        limits: &SummaryLimits,
        room: usize,
    ) -> bool {
        let cap = body.len().min(limits.max_body_bytes);
        let whole = !truncated && cap == body.len();
        let budget = self.budget(limits).min(room);
        let walk = json::walk(&mut self.shape, &body[..cap], whole, limits, budget);
        self.nodes = if walk.reshaped {
            self.shape.nodes()
        } else {
            (self.nodes as usize + (budget - walk.budget)) as u32
        };
        walk.complete
    }

    /// Folds `other` in: commutative and associative as long as no bound is reached.
    pub fn merge(&mut self, other: &Schema, limits: &SummaryLimits) {
        self.merge_within(other, limits, usize::MAX);
    }

    /// [`Schema::merge`], creating at most `room` new positions.
    pub(crate) fn merge_within(&mut self, other: &Schema, limits: &SummaryLimits, room: usize) {
        let mut budget = self.budget(limits).min(room);
        self.shape.merge(&other.shape, limits, &mut budget);
        self.nodes = self.shape.nodes();
    }

    /// How many positions may still be created.
    fn budget(&self, limits: &SummaryLimits) -> usize {
        limits.max_schema_nodes.saturating_sub(self.nodes as usize)
    }

    /// Positions below the top.
    pub(crate) fn nodes(&self) -> usize {
        self.nodes as usize
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.shape.is_empty()
    }

    /// The JSON Schema (2020-12, as OpenAPI 3.1 uses it) of what was seen; `{}` when nothing was.
    pub fn to_json_schema(&self) -> Value {
        self.shape.to_json_schema()
    }
}

/// What was seen at one position of a JSON document: counts per type and the details of strings,
/// objects and arrays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Shape {
    #[serde(rename = "z", default, skip_serializing_if = "is_zero")]
    pub(crate) nulls: u64,
    #[serde(rename = "b", default, skip_serializing_if = "is_zero")]
    pub(crate) booleans: u64,
    #[serde(rename = "i", default, skip_serializing_if = "is_zero")]
    pub(crate) integers: u64,
    /// Numbers with a fraction or an exponent.
    #[serde(rename = "f", default, skip_serializing_if = "is_zero")]
    pub(crate) floats: u64,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<Box<TextStats>>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub(crate) object: Option<Box<ObjectShape>>,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub(crate) array: Option<Box<ArrayShape>>,
}

/// The objects seen at one position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ObjectShape {
    /// Objects read to their closing brace.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) complete: u64,
    /// Objects cut short, or not read because of the depth cap.
    #[serde(rename = "p", default, skip_serializing_if = "is_zero")]
    pub(crate) partial: u64,
    /// Fields by key, while the object is a record.
    #[serde(rename = "f", default, skip_serializing_if = "Fields::is_empty")]
    pub(crate) fields: Fields,
    /// The merged values once the object is known to be a map.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub(crate) map: Option<Box<Shape>>,
    /// Whether some keys were dropped because the schema was full.
    #[serde(rename = "t", default, skip_serializing_if = "is_false")]
    pub(crate) trimmed: bool,
}

/// The fields of a record, sorted by key. A sorted vector rather than a map: the JSON reader
/// finds a key with one binary search and then works by index, where a map needs a second lookup
/// to insert. Stored as a JSON object, like a map.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Fields(Vec<(String, Field)>);

impl Fields {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        // Most records are small: comparing lengths first finds a key without calling `memcmp` on
        // the others, which a binary search cannot avoid.
        if self.0.len() <= 16
            && let Some(at) = self
                .0
                .iter()
                .position(|(k, _)| k.len() == key.len() && k == key)
        {
            return Ok(at);
        }
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// The field of `key`; when there is none, one is inserted if `may_insert` says so.
    pub(crate) fn find_or_insert(
        &mut self,
        key: &str,
        may_insert: impl FnOnce() -> bool,
    ) -> Option<&mut Field> {
        let at = match self.position(key) {
            Ok(at) => at,
            Err(at) => {
                if !may_insert() {
                    return None;
                }
                self.0.insert(at, (key.to_owned(), Field::default()));
                at
            }
        };
        Some(&mut self.0[at].1)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Field)> {
        self.0.iter().map(|(k, f)| (k, f))
    }

    pub(crate) fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Field> {
        self.0.iter().map(|(_, f)| f)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Field> {
        self.0.iter_mut().map(|(_, f)| f)
    }

    fn into_values(self) -> impl Iterator<Item = Field> {
        self.0.into_iter().map(|(_, f)| f)
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Field>::deserialize(deserializer)?;
        Ok(Fields(map.into_iter().collect()))
    }
}

/// One field of a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Field {
    /// Complete objects that had this key.
    #[serde(rename = "p", default, skip_serializing_if = "is_zero")]
    pub(crate) present: u64,
    /// Its values.
    #[serde(rename = "s", default)]
    pub(crate) shape: Shape,
    /// Set while the object being read has this key; always false at rest.
    #[serde(skip)]
    pub(crate) seen: bool,
}

/// The arrays seen at one position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ArrayShape {
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) count: u64,
    /// The merged items; `None` while every array was empty (or the schema was full).
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub(crate) items: Option<Box<Shape>>,
}

impl Shape {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Shape::default()
    }

    pub(crate) fn text_mut(&mut self) -> &mut TextStats {
        self.text.get_or_insert_default()
    }

    pub(crate) fn object_mut(&mut self) -> &mut ObjectShape {
        self.object.get_or_insert_default()
    }

    pub(crate) fn array_mut(&mut self) -> &mut ArrayShape {
        self.array.get_or_insert_default()
    }

    /// Positions below this one.
    pub(crate) fn nodes(&self) -> u32 {
        let object = self.object.as_ref().map_or(0, |o| {
            o.fields.values().map(|f| 1 + f.shape.nodes()).sum::<u32>()
                + o.map.as_ref().map_or(0, |m| 1 + m.nodes())
        });
        let array = self
            .array
            .as_ref()
            .and_then(|a| a.items.as_ref())
            .map_or(0, |i| 1 + i.nodes());
        object + array
    }

    /// Folds `other` in. New positions cost one unit of `budget` each; without budget they are
    /// dropped (fields) or left unknown (array items, map values).
    pub(crate) fn merge(&mut self, other: &Shape, limits: &SummaryLimits, budget: &mut usize) {
        self.nulls += other.nulls;
        self.booleans += other.booleans;
        self.integers += other.integers;
        self.floats += other.floats;
        if let Some(text) = &other.text {
            self.text_mut().merge(text, limits);
        }
        if let Some(object) = &other.object {
            self.object_mut().merge(object, limits, budget);
        }
        if let Some(array) = &other.array {
            let mine = self.array_mut();
            mine.count += array.count;
            if let Some(items) = &array.items {
                merge_child(&mut mine.items, items, limits, budget);
            }
        }
    }

    /// The JSON Schema of this position.
    pub(crate) fn to_json_schema(&self) -> Value {
        let mut variants: Vec<Map<String, Value>> = Vec::new();
        if self.booleans > 0 {
            variants.push(typed("boolean"));
        }
        if self.integers > 0 || self.floats > 0 {
            variants.push(typed(if self.floats > 0 { "number" } else { "integer" }));
        }
        if let Some(text) = &self.text {
            variants.push(text.string_schema());
        }
        if let Some(object) = &self.object {
            variants.push(object.to_json_schema());
        }
        if let Some(array) = &self.array {
            let mut schema = typed("array");
            let items = array
                .items
                .as_ref()
                .map_or_else(|| json!({}), |i| i.to_json_schema());
            schema.insert("items".into(), items);
            variants.push(schema);
        }
        let nullable = self.nulls > 0;
        match variants.len() {
            0 if nullable => Value::Object(typed("null")),
            0 => json!({}),
            1 => {
                let mut schema = variants.pop().unwrap_or_default();
                if nullable {
                    make_nullable(&mut schema);
                }
                Value::Object(schema)
            }
            _ => {
                let mut one_of: Vec<Value> = variants.into_iter().map(Value::Object).collect();
                if nullable {
                    one_of.push(Value::Object(typed("null")));
                }
                json!({ "oneOf": one_of })
            }
        }
    }
}

/// Merges `other` into the optional child `slot`, creating it if the budget allows.
fn merge_child(
    slot: &mut Option<Box<Shape>>,
    other: &Shape,
    limits: &SummaryLimits,
    budget: &mut usize,
) {
    if slot.is_none() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
    }
    slot.get_or_insert_default().merge(other, limits, budget);
}

fn typed(name: &str) -> Map<String, Value> {
    let mut schema = Map::new();
    schema.insert("type".into(), json!(name));
    schema
}

/// `type: T` → `type: [T, "null"]`, and `null` joins an enum.
fn make_nullable(schema: &mut Map<String, Value>) {
    if let Some(Value::String(name)) = schema.get("type") {
        let name = name.clone();
        schema.insert("type".into(), json!([name, "null"]));
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
}

impl ObjectShape {
    pub(crate) fn merge(
        &mut self,
        other: &ObjectShape,
        limits: &SummaryLimits,
        budget: &mut usize,
    ) {
        self.complete += other.complete;
        self.partial += other.partial;
        self.trimmed |= other.trimmed;
        let new_keys = other
            .fields
            .keys()
            .filter(|k| !self.fields.contains_key(k))
            .count();
        if self.map.is_some()
            || other.map.is_some()
            || self.fields.len() + new_keys > limits.max_fields
        {
            self.become_map(limits);
            let values = self.map.get_or_insert_default();
            let mut unlimited = usize::MAX;
            for field in other.fields.values() {
                values.merge(&field.shape, limits, &mut unlimited);
            }
            if let Some(map) = &other.map {
                values.merge(map, limits, &mut unlimited);
            }
            return;
        }
        for (key, field) in other.fields.iter() {
            let mine = self.fields.find_or_insert(key, || {
                let room = *budget > 0;
                *budget = budget.saturating_sub(1);
                room
            });
            let Some(mine) = mine else {
                self.trimmed = true;
                continue;
            };
            mine.present += field.present;
            mine.shape.merge(&field.shape, limits, budget);
        }
    }

    /// Turns a record into a map: every field's values merge into one shape. The result never has
    /// more positions than the fields had, so no budget is needed.
    pub(crate) fn become_map(&mut self, limits: &SummaryLimits) {
        if self.map.is_some() {
            return;
        }
        let mut values = Shape::default();
        let mut unlimited = usize::MAX;
        for field in std::mem::take(&mut self.fields).into_values() {
            values.merge(&field.shape, limits, &mut unlimited);
        }
        self.map = Some(Box::new(values));
    }

    fn to_json_schema(&self) -> Map<String, Value> {
        let mut schema = typed("object");
        if let Some(values) = &self.map {
            schema.insert("additionalProperties".into(), values.to_json_schema());
            return schema;
        }
        if self.fields.is_empty() {
            return schema;
        }
        if keys_are_identifiers(self.fields.keys()) {
            let mut values = Shape::default();
            let mut unlimited = usize::MAX;
            let limits = SummaryLimits::default();
            for field in self.fields.values() {
                values.merge(&field.shape, &limits, &mut unlimited);
            }
            schema.insert("additionalProperties".into(), values.to_json_schema());
            return schema;
        }
        let properties: Map<String, Value> = self
            .fields
            .iter()
            .map(|(key, field)| (key.clone(), field.shape.to_json_schema()))
            .collect();
        schema.insert("properties".into(), Value::Object(properties));
        let required: Vec<&String> = self
            .fields
            .iter()
            .filter(|(_, f)| self.complete > 0 && f.present >= self.complete)
            .map(|(k, _)| k)
            .collect();
        if !required.is_empty() {
            schema.insert("required".into(), json!(required));
        }
        schema
    }
}

/// Whether the keys of an object look like data rather than field names: two keys or more, and
/// at least four in five of them numbers, UUIDs, hashes, ObjectIds, ULIDs, prefixed IDs, dates,
/// e-mail or IP addresses.
fn keys_are_identifiers<'a>(keys: impl ExactSizeIterator<Item = &'a String>) -> bool {
    let total = keys.len();
    if total < 2 {
        return false;
    }
    let identifiers = keys
        .filter(|k| {
            matches!(classify(k), SegmentClass::Param(t) if !matches!(t, ParamType::Token | ParamType::String))
        })
        .count();
    identifiers * 5 >= total * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SummaryLimits {
        SummaryLimits::default()
    }

    /// The schema of some bodies, observed in order.
    fn infer(bodies: &[&str]) -> Value {
        infer_with(bodies, &limits())
    }

    fn infer_with(bodies: &[&str], limits: &SummaryLimits) -> Value {
        let mut schema = Schema::default();
        for body in bodies {
            schema.observe_json(body.as_bytes(), false, limits);
        }
        schema.to_json_schema()
    }

    #[test]
    fn merge_rules() {
        let cases: Vec<(&str, Vec<&str>, Value)> = vec![
            ("nothing", vec![], json!({})),
            ("integer", vec!["1", "2"], json!({"type": "integer"})),
            (
                "integer and number make a number",
                vec!["1", "2.5"],
                json!({"type": "number"}),
            ),
            (
                "exponent is a number",
                vec!["1e3"],
                json!({"type": "number"}),
            ),
            ("only null", vec!["null"], json!({"type": "null"})),
            (
                "null makes nullable",
                vec!["1", "null"],
                json!({"type": ["integer", "null"]}),
            ),
            (
                "optional vs nullable",
                vec![
                    r#"{"a": 1, "b": "x", "c": true}"#,
                    r#"{"a": null, "b": "y"}"#,
                ],
                json!({
                    "type": "object",
                    "properties": {
                        "a": {"type": ["integer", "null"]},
                        "b": {"type": "string"},
                        "c": {"type": "boolean"}
                    },
                    "required": ["a", "b"]
                }),
            ),
            (
                "object vs array vs string",
                vec![r#"{"a": 1}"#, "[1, 2]", r#""x""#, r#"{"b": 2}"#, "[]"],
                json!({"oneOf": [
                    {"type": "string"},
                    {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
                    {"type": "array", "items": {"type": "integer"}}
                ]}),
            ),
            (
                "conflict with null",
                vec!["1", r#""x""#, "null"],
                json!({"oneOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}),
            ),
            (
                "empty arrays only",
                vec!["[]", "[]"],
                json!({"type": "array", "items": {}}),
            ),
            (
                "empty arrays do not hide items",
                vec!["[]", r#"[{"id": 1}]"#, "[]"],
                json!({"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}}),
            ),
            (
                "array items merge",
                vec![r#"[{"a": 1}, {"a": 2.5, "b": null}]"#],
                json!({"type": "array", "items": {
                    "type": "object",
                    "properties": {"a": {"type": "number"}, "b": {"type": "null"}},
                    "required": ["a"]
                }}),
            ),
            ("empty object", vec!["{}"], json!({"type": "object"})),
            (
                "nullable enum",
                vec![r#""a""#, r#""b""#, r#""a""#, r#""b""#, "null"],
                json!({"type": ["string", "null"], "enum": ["a", "b", null]}),
            ),
        ];
        for (name, bodies, expected) in cases {
            assert_eq!(infer(&bodies), expected, "{name}");
        }
    }

    #[test]
    fn enum_thresholds() {
        let cases: Vec<(&str, Vec<&str>, Value)> = vec![
            (
                "three observations: no enum",
                vec![r#""a""#, r#""b""#, r#""a""#],
                json!({"type": "string"}),
            ),
            (
                "four observations, two distinct: enum",
                vec![r#""on""#, r#""off""#, r#""on""#, r#""off""#],
                json!({"type": "string", "enum": ["off", "on"]}),
            ),
            (
                "four observations, three distinct: too many per observation",
                vec![r#""a""#, r#""b""#, r#""c""#, r#""a""#],
                json!({"type": "string"}),
            ),
            (
                "five distinct over ten: enum",
                vec![
                    r#""a""#, r#""b""#, r#""c""#, r#""d""#, r#""e""#, r#""a""#, r#""b""#, r#""c""#,
                    r#""d""#, r#""e""#,
                ],
                json!({"type": "string", "enum": ["a", "b", "c", "d", "e"]}),
            ),
            (
                "six distinct: no enum",
                vec![
                    r#""a""#, r#""b""#, r#""c""#, r#""d""#, r#""e""#, r#""f""#, r#""a""#, r#""b""#,
                    r#""c""#, r#""d""#, r#""e""#, r#""f""#,
                ],
                json!({"type": "string"}),
            ),
            (
                "redacted values are ignored",
                vec![
                    r#""on""#,
                    r#""<redacted>""#,
                    r#""off""#,
                    r#""on""#,
                    r#""off""#,
                ],
                json!({"type": "string", "enum": ["off", "on"]}),
            ),
            (
                "integers never become enums",
                vec!["1", "2", "1", "2"],
                json!({"type": "integer"}),
            ),
        ];
        for (name, bodies, expected) in cases {
            assert_eq!(infer(&bodies), expected, "{name}");
        }
    }

    #[test]
    fn format_thresholds() {
        let cases: Vec<(&str, Vec<&str>, Value)> = vec![
            (
                "all date-times",
                vec![
                    r#""2024-05-01T10:00:00Z""#,
                    r#""2024-05-02T11:30:00.5+02:00""#,
                ],
                json!({"type": "string", "format": "date-time"}),
            ),
            (
                "one non-matching value: no format",
                vec![
                    r#""2024-05-01T10:00:00Z""#,
                    r#""2024-05-02T11:30:00Z""#,
                    r#""yesterday""#,
                ],
                json!({"type": "string"}),
            ),
            (
                "redacted values do not refute a format",
                vec![
                    r#""alice@example.com""#,
                    r#""<redacted>""#,
                    r#""<redacted:jwt>""#,
                ],
                json!({"type": "string", "format": "email"}),
            ),
            (
                "only redacted: no format, no enum",
                vec![r#""<redacted>""#; 6],
                json!({"type": "string"}),
            ),
            (
                "uuid",
                vec![r#""550e8400-e29b-41d4-a716-446655440000""#],
                json!({"type": "string", "format": "uuid"}),
            ),
            (
                "uri",
                vec![r#""https://example.com/a""#],
                json!({"type": "string", "format": "uri"}),
            ),
            (
                "ipv4",
                vec![r#""10.1.2.3""#],
                json!({"type": "string", "format": "ipv4"}),
            ),
            (
                "ipv6",
                vec![r#""2001:db8::1""#],
                json!({"type": "string", "format": "ipv6"}),
            ),
            (
                "date",
                vec![r#""2024-05-01""#],
                json!({"type": "string", "format": "date"}),
            ),
            (
                "format wins over enum",
                vec![r#""2024-05-01""#; 4],
                json!({"type": "string", "format": "date"}),
            ),
            (
                "escaped strings are decoded",
                vec![r#""caf\u00e9@example.com""#, r#""a\/b@example.com""#],
                json!({"type": "string"}),
            ),
        ];
        for (name, bodies, expected) in cases {
            assert_eq!(infer(&bodies), expected, "{name}");
        }
    }

    #[test]
    fn maps_and_records() {
        // Identifier keys: a map.
        let ids = infer(&[r#"{"101": {"name": "a"}, "102": {"name": "b"}, "103": {"name": "c"}}"#]);
        assert_eq!(
            ids,
            json!({"type": "object", "additionalProperties": {
                "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]
            }})
        );
        let uuids = infer(&[
            r#"{"550e8400-e29b-41d4-a716-446655440000": 1, "6fd4ff89-8fc1-42cf-8b29-1890dedd26d7": 2}"#,
        ]);
        assert_eq!(
            uuids,
            json!({"type": "object", "additionalProperties": {"type": "integer"}})
        );
        // Ordinary keys: a record, even with many of them.
        let record = infer(&[r#"{"id": 1, "name": "a", "email": "a@example.com"}"#]);
        assert_eq!(record["properties"]["email"]["format"], "email");
        assert_eq!(record["required"], json!(["email", "id", "name"]));
        // Many distinct keys across observations: a map once past the fields cap.
        let limits = SummaryLimits {
            max_fields: 8,
            ..SummaryLimits::default()
        };
        let bodies: Vec<String> = (0..5)
            .map(|i| format!(r#"{{"alpha{i}": 1, "beta{i}": 2, "gamma{i}": 3}}"#))
            .collect();
        let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
        assert_eq!(
            infer_with(&bodies, &limits),
            json!({"type": "object", "additionalProperties": {"type": "integer"}})
        );
        // A very long key is data, not a field name.
        let long_key = format!(r#"{{"{}": true}}"#, "k".repeat(200));
        assert_eq!(
            infer(&[&long_key]),
            json!({"type": "object", "additionalProperties": {"type": "boolean"}})
        );
    }

    #[test]
    fn truncated_and_invalid_json() {
        let limits = limits();
        let mut schema = Schema::default();
        assert!(schema.observe_json(br#"{"id": 1, "name": "a"}"#, false, &limits));
        // Cut in the middle of the second object: `name` stays required, `extra` is seen but
        // optional, and the cut-off string is not read.
        assert!(!schema.observe_json(
            br#"{"id": 2, "extra": true, "name": "unfinis"#,
            true,
            &limits
        ));
        // Cut right after a key, in a number, in a literal.
        for cut in [
            &br#"{"id": 3, "name""#[..],
            br#"{"id": 4"#,
            br#"{"id": 5, "extra": tr"#,
        ] {
            assert!(!schema.observe_json(cut, true, &limits));
        }
        // Not JSON at all; and garbage in the middle.
        assert!(!schema.observe_json(b"<html>oops</html>", false, &limits));
        assert!(!schema.observe_json(br#"{"id": 6, "name": "b", ]"#, false, &limits));
        assert_eq!(
            schema.to_json_schema(),
            json!({
                "type": "object",
                "properties": {
                    "extra": {"type": "boolean"},
                    "id": {"type": "integer"},
                    "name": {"type": "string"}
                },
                "required": ["id", "name"]
            })
        );
        // A number at the very end of a complete body is complete; of a cut one, it is not.
        let mut n = Schema::default();
        assert!(n.observe_json(b"12", false, &limits));
        assert!(!n.observe_json(b"12", true, &limits));
        assert_eq!(n.to_json_schema(), json!({"type": "integer"}));
        // The byte cap makes a long body a truncated one.
        let small = SummaryLimits {
            max_body_bytes: 16,
            ..SummaryLimits::default()
        };
        let mut capped = Schema::default();
        assert!(!capped.observe_json(br#"{"a": 1, "b": 2, "c": 3}"#, false, &small));
        assert_eq!(
            capped.to_json_schema(),
            json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})
        );
    }

    #[test]
    fn deep_nesting_is_capped() {
        let limits = SummaryLimits {
            max_depth: 3,
            ..SummaryLimits::default()
        };
        let deep = format!("{}1{}", r#"{"a":"#.repeat(50), "}".repeat(50));
        let mut schema = Schema::default();
        assert!(schema.observe_json(deep.as_bytes(), false, &limits));
        assert_eq!(
            schema.to_json_schema(),
            json!({"type": "object", "properties": {"a": {"type": "object", "properties": {"a": {
                "type": "object", "properties": {"a": {"type": "object"}}, "required": ["a"]
            }}, "required": ["a"]}}, "required": ["a"]})
        );
        // Deeper than any stack: arrays and objects, complete and cut.
        let defaults = SummaryLimits::default();
        let very_deep = "[{\"x\":".repeat(100_000);
        let mut schema = Schema::default();
        assert!(!schema.observe_json(very_deep.as_bytes(), true, &defaults));
        assert!(serde_json::to_string(&schema).unwrap().len() < 4096);
    }

    #[test]
    fn key_explosion_stays_bounded() {
        let limits = limits();
        let mut schema = Schema::default();
        // Nested objects of distinct keys: each level would add 60 fields.
        for round in 0..50 {
            let mut body = String::from("{");
            for i in 0..60 {
                let inner: Vec<String> = (0..60)
                    .map(|j| format!(r#""k{round}_{i}_{j}": "value {j}""#))
                    .collect();
                body.push_str(&format!(r#""f{round}x{i}": {{{}}},"#, inner.join(",")));
            }
            body.push_str(r#""last": 1}"#);
            schema.observe_json(body.as_bytes(), false, &limits);
        }
        assert!(schema.shape.nodes() as usize <= limits.max_schema_nodes + 1);
        let size = serde_json::to_string(&schema).unwrap().len();
        assert!(size < 64 * 1024, "{size} bytes");
        // Merging many such schemas keeps the bound too.
        let mut merged = Schema::default();
        for _ in 0..10 {
            merged.merge(&schema, &limits);
        }
        assert!(merged.shape.nodes() as usize <= limits.max_schema_nodes + 1);
        // One object with thousands of keys becomes a map at once.
        let mut wide = Schema::default();
        let body: Vec<String> = (0..5000).map(|i| format!(r#""key{i}": {i}"#)).collect();
        wide.observe_json(format!("{{{}}}", body.join(",")).as_bytes(), false, &limits);
        assert_eq!(
            wide.to_json_schema(),
            json!({"type": "object", "additionalProperties": {"type": "integer"}})
        );
        assert!(serde_json::to_string(&wide).unwrap().len() < 200);
    }

    #[test]
    fn merge_is_commutative() {
        let limits = limits();
        let bodies_a = [
            r#"{"a": 1, "b": [1, 2], "c": "2024-05-01"}"#,
            r#"{"a": null, "d": {"x": "y"}}"#,
        ];
        let bodies_b = [r#"{"a": 2.5, "b": [], "c": "nope"}"#, "[1]", r#""s""#];
        let mut a = Schema::default();
        for body in bodies_a {
            a.observe_json(body.as_bytes(), false, &limits);
        }
        let mut b = Schema::default();
        for body in bodies_b {
            b.observe_json(body.as_bytes(), false, &limits);
        }
        let mut ab = a.clone();
        ab.merge(&b, &limits);
        let mut ba = b.clone();
        ba.merge(&a, &limits);
        assert_eq!(ab, ba);
        assert_eq!(ab.to_json_schema(), ba.to_json_schema());
        // Observing everything in one schema gives the same as merging the halves.
        let mut all = Schema::default();
        for body in bodies_a.iter().chain(&bodies_b) {
            all.observe_json(body.as_bytes(), false, &limits);
        }
        assert_eq!(all, ab);
        // And a summary survives a round trip through its stored form.
        let stored = serde_json::to_string(&ab).unwrap();
        assert_eq!(serde_json::from_str::<Schema>(&stored).unwrap(), ab);
    }
}
