//! Request and response bodies generated from an operation's JSON schemas, so the server sees
//! the payloads a real client and a real API would exchange and derives its own response-shape
//! signature (and, later, its reconstructed schemas) from them.
//!
//! A value follows its schema: `$ref`s are resolved inside the document and `allOf` parts
//! merged; the first alternative of a `oneOf`/`anyOf` is taken three times in four, another one
//! otherwise (traffic mostly shows the main variant). Objects carry their required properties
//! always and each optional one with a set probability, drawn per body (serialisers that omit
//! empty fields make the same resource come back with different keys); arrays hold 0–3 items;
//! strings honour `enum`, `format` (date-time, date, email, uuid, uri, hostname, ipv4, ipv6,
//! byte), a simple `pattern` and `maxLength`, and otherwise look like what their property name
//! suggests; numbers stay within `minimum`/`maximum`. `readOnly` properties are left out of
//! requests and `writeOnly` ones out of responses. Recursive schemas are cut: a schema reached
//! again through its own `$ref`, or nested deeper than [`MAX_DEPTH`], yields only its required
//! properties and empty arrays, and nested objects stay empty once a body holds
//! [`VALUE_BUDGET`] values, which keeps bodies the size of real ones.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::generate::{self, Rng};
use crate::spec::resolve;

/// Nesting beyond which objects keep only their required properties.
const MAX_DEPTH: usize = 6;
/// Nesting beyond which nothing more is generated (recursive required properties).
const HARD_DEPTH: usize = 12;
/// Values per body before nested objects are left empty.
const VALUE_BUDGET: usize = 400;

/// Which side of the exchange a body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Request,
    Response,
}

/// Generates bodies for one document.
#[derive(Debug)]
pub(crate) struct BodyGenerator<'a> {
    doc: &'a Value,
    spec_id: &'a str,
    direction: Direction,
    /// Probability that an optional property is present.
    optional_share: f64,
    budget: usize,
    /// The `$ref`s being expanded, outermost first.
    active: Vec<String>,
}

impl<'a> BodyGenerator<'a> {
    pub(crate) fn new(
        doc: &'a Value,
        spec_id: &'a str,
        direction: Direction,
        optional_share: f64,
    ) -> Self {
        BodyGenerator {
            doc,
            spec_id,
            direction,
            optional_share,
            budget: VALUE_BUDGET,
            active: Vec::new(),
        }
    }

    /// A value of `schema`.
    pub(crate) fn generate(&mut self, schema: &Value, rng: &mut Rng) -> Value {
        self.budget = VALUE_BUDGET;
        self.active.clear();
        self.value(schema, "", 0, false, rng)
    }

    fn value(
        &mut self,
        schema: &Value,
        name: &str,
        depth: usize,
        minimal: bool,
        rng: &mut Rng,
    ) -> Value {
        if depth > HARD_DEPTH {
            return Value::Null;
        }
        self.budget = self.budget.saturating_sub(1);
        let entered = self.active.len();
        let (flat, recursive) = self.flatten(schema, rng);
        let minimal = minimal || recursive || depth >= MAX_DEPTH;
        let value = match schema_type(&flat) {
            "object" => self.object(&flat, depth, minimal, rng),
            "array" => self.array(&flat, name, depth, minimal, rng),
            "integer" => integer(&flat, rng),
            "number" => number(&flat, rng),
            "boolean" => Value::Bool(rng.below(2) == 0),
            "null" => Value::Null,
            _ => Value::String(self.string(&flat, name, rng)),
        };
        self.active.truncate(entered);
        value
    }

    /// The schema with its `$ref`s followed, its `allOf` parts merged and one `oneOf`/`anyOf`
    /// alternative merged in; whether a `$ref` already being expanded was met again. The `$ref`s
    /// followed stay on `active` until the caller truncates it.
    fn flatten(&mut self, schema: &Value, rng: &mut Rng) -> (Map<String, Value>, bool) {
        let mut out = Map::new();
        let mut recursive = false;
        self.merge_into(&mut out, schema, &mut recursive, rng, 0, false);
        (out, recursive)
    }

    /// Merges `schema` into `out`. The `$ref`s of what the value is (its own, and those of the
    /// `oneOf`/`anyOf` alternative taken) are tracked for recursion; those of `allOf` parts are
    /// mixins (a common base such as `Resource { id, type }` under many nested objects) and are
    /// not: a recursion through them is cut by the depth limit instead.
    fn merge_into(
        &mut self,
        out: &mut Map<String, Value>,
        schema: &Value,
        recursive: &mut bool,
        rng: &mut Rng,
        level: usize,
        mixin: bool,
    ) {
        if level > 16 {
            return;
        }
        let mut schema = schema;
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if !mixin {
                if self.active.iter().any(|r| r == reference) {
                    *recursive = true;
                }
                self.active.push(reference.to_owned());
            }
            let target = resolve(self.doc, schema);
            if std::ptr::eq(target, schema) {
                return;
            }
            schema = target;
        }
        let Some(object) = schema.as_object() else {
            return;
        };
        for part in object
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.merge_into(out, part, recursive, rng, level + 1, true);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alternatives) = object.get(key).and_then(Value::as_array)
                && !alternatives.is_empty()
            {
                // Prefer alternatives that are not bare nulls.
                let useful: Vec<&Value> = alternatives
                    .iter()
                    .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                    .collect();
                let pool = if useful.is_empty() {
                    alternatives.iter().collect()
                } else {
                    useful
                };
                // Traffic mostly shows the main variant: the first, three times in four.
                let chosen = if pool.len() == 1 || rng.below(4) > 0 {
                    pool[0]
                } else {
                    pool[1 + rng.below(pool.len() - 1)]
                };
                self.merge_into(out, chosen, recursive, rng, level + 1, mixin);
            }
        }
        for (key, value) in object {
            match key.as_str() {
                "allOf" | "oneOf" | "anyOf" | "$ref" => {}
                "properties" => {
                    let into = out
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let (Some(into), Some(props)) = (into.as_object_mut(), value.as_object()) {
                        for (name, s) in props {
                            into.entry(name.clone()).or_insert_with(|| s.clone());
                        }
                    }
                }
                "required" => {
                    let into = out
                        .entry("required")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let (Some(into), Some(names)) = (into.as_array_mut(), value.as_array()) {
                        for n in names {
                            if !into.contains(n) {
                                into.push(n.clone());
                            }
                        }
                    }
                }
                _ => {
                    out.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }

    fn object(
        &mut self,
        flat: &Map<String, Value>,
        depth: usize,
        minimal: bool,
        rng: &mut Rng,
    ) -> Value {
        let mut out = Map::new();
        // Past the budget, nested objects stay empty; the top level stays whole so the response's
        // shape is always the operation's.
        if self.budget == 0 && depth > 1 {
            return Value::Object(out);
        }
        let required: BTreeSet<&str> = flat
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let properties = flat.get("properties").and_then(Value::as_object);
        if let Some(properties) = properties {
            for (name, schema) in properties {
                if self.excluded(schema) {
                    continue;
                }
                // The budget never decides the top level (or a top-level array's items): that
                // shape is what the server's response signature sees.
                let affordable = self.budget > 0 || depth <= 1;
                let wanted = required.contains(name.as_str())
                    || (!minimal && affordable && chance(rng, self.optional_share));
                if wanted {
                    let v = self.value(schema, name, depth + 1, minimal, rng);
                    out.insert(name.clone(), v);
                }
            }
        }
        // Required names without a schema of their own.
        for name in required {
            if !out.contains_key(name) && properties.is_none_or(|p| !p.contains_key(name)) {
                let v = generate::by_name(name, "", self.spec_id, rng);
                out.insert(name.to_owned(), Value::String(v));
            }
        }
        // A map: a few entries under made-up keys.
        if properties.is_none_or(Map::is_empty) && !minimal {
            let extra = match flat.get("additionalProperties") {
                Some(Value::Object(s)) => Some(Value::Object(s.clone())),
                Some(Value::Bool(true)) => Some(Value::Object(Map::new())),
                _ => None,
            };
            if let Some(schema) = extra {
                for _ in 0..rng.below(3) {
                    let key = rng.pick(generate::LABELS).replace(' ', "_");
                    let v = self.value(&schema, &key, depth + 1, minimal, rng);
                    out.insert(key, v);
                }
            }
        }
        Value::Object(out)
    }

    /// Whether a property is absent from this direction's bodies.
    fn excluded(&self, schema: &Value) -> bool {
        let schema = resolve(self.doc, schema);
        let flag = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
        match self.direction {
            Direction::Request => flag("readOnly"),
            Direction::Response => flag("writeOnly"),
        }
    }

    fn array(
        &mut self,
        flat: &Map<String, Value>,
        name: &str,
        depth: usize,
        minimal: bool,
        rng: &mut Rng,
    ) -> Value {
        let min = flat.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = flat.get("maxItems").and_then(Value::as_u64).unwrap_or(3) as usize;
        let count = if minimal || self.budget == 0 {
            0
        } else {
            rng.below(4).max(min.min(3)).min(max)
        };
        let items = flat.get("items").cloned().unwrap_or(Value::Null);
        let singular = name.strip_suffix('s').unwrap_or(name);
        (0..count)
            .map(|_| self.value(&items, singular, depth, minimal, rng))
            .collect::<Vec<_>>()
            .into()
    }

    fn string(&mut self, flat: &Map<String, Value>, name: &str, rng: &mut Rng) -> String {
        if let Some(values) = flat.get("enum").and_then(Value::as_array) {
            let strings: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            if !strings.is_empty() {
                return rng.pick(&strings).to_owned();
            }
        }
        let format = flat.get("format").and_then(Value::as_str).unwrap_or("");
        let text = match format {
            "date-time" => format!(
                "{}T{:02}:{:02}:{:02}Z",
                generate::date(rng),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            ),
            "date" => generate::date(rng),
            "email" => format!(
                "{}@example.com",
                rng.pick(generate::USERS).replace(['.', '-'], "_")
            ),
            "uuid" | "guid" => generate::uuid(rng),
            "uri" | "url" | "uri-reference" | "iri" => format!(
                "https://example.com/{}/{}",
                rng.pick(generate::LABELS).replace(' ', "-"),
                rng.range(1, 100_000)
            ),
            "hostname" => format!("{}.example.com", rng.chars(generate::LOWER, 8)),
            "ipv4" => format!(
                "10.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.range(1, 255)
            ),
            "ipv6" => format!("2001:db8::{:x}", rng.range(1, 65535)),
            "byte" => format!("{}==", rng.chars(generate::ALNUM, 22)),
            _ => {
                let pattern = flat
                    .get("pattern")
                    .and_then(Value::as_str)
                    .and_then(|p| generate::from_pattern(p, rng));
                let example = flat
                    .get("example")
                    .and_then(Value::as_str)
                    .filter(|_| rng.below(2) == 0)
                    .map(str::to_owned);
                match (pattern, example) {
                    (Some(p), _) => p,
                    (None, Some(e)) => e,
                    (None, None) if name.is_empty() => rng.pick(generate::LABELS).to_owned(),
                    (None, None) => generate::by_name(name, "", self.spec_id, rng),
                }
            }
        };
        match flat.get("maxLength").and_then(Value::as_u64) {
            Some(max) => text.chars().take(max.max(1) as usize).collect(),
            None => text,
        }
    }
}

/// The schema's type: `type` (the first non-null one of a list), else what its keywords imply.
fn schema_type(flat: &Map<String, Value>) -> &str {
    match flat.get("type") {
        Some(Value::String(t)) => return t,
        Some(Value::Array(list)) => {
            if let Some(t) = list.iter().filter_map(Value::as_str).find(|t| *t != "null") {
                return t;
            }
        }
        _ => {}
    }
    if flat.contains_key("properties") || flat.contains_key("additionalProperties") {
        return "object";
    }
    if flat.contains_key("items") {
        return "array";
    }
    match flat
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
        Some(Value::Number(_)) => "number",
        Some(Value::Bool(_)) => "boolean",
        _ => "string",
    }
}

fn chance(rng: &mut Rng, p: f64) -> bool {
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit < p
}

fn bounds(flat: &Map<String, Value>) -> (f64, f64) {
    let lo = flat
        .get("minimum")
        .and_then(Value::as_f64)
        .or_else(|| flat.get("exclusiveMinimum").and_then(Value::as_f64))
        .unwrap_or(0.0);
    let hi = flat
        .get("maximum")
        .and_then(Value::as_f64)
        .or_else(|| flat.get("exclusiveMaximum").and_then(Value::as_f64))
        .unwrap_or(lo + 100_000.0);
    (lo, hi.max(lo))
}

fn integer(flat: &Map<String, Value>, rng: &mut Rng) -> Value {
    if let Some(values) = flat.get("enum").and_then(Value::as_array)
        && let Some(v) = values.get(rng.below(values.len()))
        && v.is_number()
    {
        return v.clone();
    }
    let (lo, hi) = bounds(flat);
    let lo = lo.ceil().max(i64::MIN as f64) as i64;
    let hi = hi.floor().min(lo as f64 + 100_000.0) as i64;
    let span = u64::try_from(hi.saturating_sub(lo)).unwrap_or(0);
    Value::from(lo.saturating_add_unsigned(rng.range(0, span + 1)))
}

fn number(flat: &Map<String, Value>, rng: &mut Rng) -> Value {
    let (lo, hi) = bounds(flat);
    let hi = hi.min(lo + 100_000.0);
    let x = lo + (hi - lo) * (rng.below(10_000) as f64 / 10_000.0);
    let x = (x * 100.0).round() / 100.0;
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "components": {"schemas": {
                "User": {
                    "type": "object",
                    "required": ["id", "login"],
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "login": {"type": "string"},
                        "email": {"type": "string", "format": "email"},
                        "secret": {"type": "string", "writeOnly": true},
                        "manager": {"$ref": "#/components/schemas/User"}
                    }
                },
                "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "Team": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Named"},
                        {"type": "object", "required": ["members"], "properties": {
                            "members": {"type": "array", "items": {"$ref": "#/components/schemas/User"}},
                            "created_at": {"type": "string", "format": "date-time"},
                            "kind": {"type": "string", "enum": ["open", "closed"]}
                        }}
                    ]
                }
            }}
        })
    }

    #[test]
    fn required_properties_are_always_there_and_types_follow_the_schema() {
        let doc = doc();
        let mut rng = Rng::new(3);
        let mut g = BodyGenerator::new(&doc, "x", Direction::Response, 0.5);
        for _ in 0..50 {
            let team = g.generate(&json!({"$ref": "#/components/schemas/Team"}), &mut rng);
            assert!(team["name"].is_string(), "{team}");
            let members = team["members"].as_array().expect("members");
            assert!(members.len() <= 3);
            for m in members {
                assert!(m["id"].as_i64().is_some_and(|id| id >= 1), "{m}");
                assert!(m["login"].is_string());
                assert!(
                    m.get("secret").is_none(),
                    "writeOnly stays out of responses"
                );
                if let Some(e) = m.get("email") {
                    assert!(e.as_str().unwrap().contains('@'));
                }
            }
            if let Some(kind) = team.get("kind") {
                assert!(["open", "closed"].contains(&kind.as_str().unwrap()));
            }
        }
    }

    #[test]
    fn recursion_is_cut() {
        let doc = doc();
        let mut rng = Rng::new(5);
        let mut g = BodyGenerator::new(&doc, "x", Direction::Response, 1.0);
        let user = g.generate(&json!({"$ref": "#/components/schemas/User"}), &mut rng);
        // The manager is a user again: only its required properties.
        let manager = &user["manager"];
        assert!(manager["id"].is_number(), "{user}");
        assert!(manager.get("manager").is_none(), "{user}");
    }

    #[test]
    fn one_alternative_of_one_of_is_taken() {
        let doc = json!({});
        let mut rng = Rng::new(9);
        let mut g = BodyGenerator::new(&doc, "x", Direction::Request, 1.0);
        let schema = json!({"oneOf": [{"type": "integer"}, {"type": "null"}]});
        for _ in 0..10 {
            assert!(g.generate(&schema, &mut rng).is_i64());
        }
    }
}
