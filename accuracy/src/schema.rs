//! Schema accuracy: how much of each operation's request and response body schema the
//! reconstructed OpenAPI document recovers.
//!
//! A body schema is read as a set of property paths (`items[].owner.login`: `.` between
//! properties, `[]` for array items), each with the JSON types it may take. Both documents are
//! read the same way: `$ref`s resolved in their own document, `allOf` parts united, recursion
//! cut where a `$ref` comes back, paths at most [`MAX_DEPTH`] properties deep. Of a `oneOf` or
//! `anyOf`, the reconstructed document counts every alternative and the ground truth its main
//! variant, the first that is not a bare `null` (Stripe's expandable fields, `anyOf: [string,
//! Customer]`, are ids unless a request asks for more; the whole union is far more than any
//! traffic shows); the types of the property itself are those of all alternatives. The ground
//! truth leaves `readOnly` properties out of requests and `writeOnly` ones out of responses. Properties of a map (`additionalProperties`) have no fixed names and are not
//! counted. Integers and numbers are one type here: `integer` in one document and `number` in
//! the other agree, as a sample cannot tell `3.0` from `3`.
//!
//! For each operation of the spec that the reconstructed document has (matched by method and
//! template, parameter names ignored) and whose body has properties: the share of its paths that
//! the reconstructed operation has, the share that it has with a compatible type, and, as the
//! ceiling the traffic allowed, the share that the generated bodies contained at all (optional
//! properties are sometimes absent, arrays sometimes empty, one variant of a `oneOf` mostly
//! shown), and the share of those seen paths that the reconstructed operation has. A spec's
//! figure is the mean over its operations.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::body::Direction;
use crate::score::{Endpoint, Expected, normalize};
use crate::sink::Exchange;
use crate::spec::{Spec, is_json, resolve};

/// Deepest property path counted.
const MAX_DEPTH: usize = 6;

/// Property paths with the types each may take (empty: the schema does not say).
pub(crate) type Paths = BTreeMap<String, BTreeSet<&'static str>>;

/// Means over the operations of one spec, for one kind of body.
#[derive(Debug, Default, Clone)]
pub(crate) struct Coverage {
    /// Operations with body properties that the reconstructed document has.
    pub(crate) operations: usize,
    /// Operations with body properties that it does not have (not discovered as such).
    pub(crate) unmatched: usize,
    present: f64,
    typed: f64,
    observed: f64,
    /// Operations whose traffic showed some of the spec's paths, and the sum of the shares of
    /// those that the reconstructed operation has.
    with_seen: usize,
    recovered: f64,
    /// `METHOD /path: property` the traffic showed but the reconstructed operation lacks.
    pub(crate) lost: Vec<String>,
    /// `METHOD /path: property (spec types; reconstructed types)` with no type in common.
    pub(crate) mistyped: Vec<String>,
}

impl Coverage {
    fn add(&mut self, label: &str, spec: &Paths, reconstructed: &Paths, observed: &Paths) {
        let n = spec.len() as f64;
        let mut present = 0usize;
        let mut typed = 0usize;
        for (path, types) in spec {
            match reconstructed.get(path) {
                Some(found) => {
                    present += 1;
                    if compatible(types, found) {
                        typed += 1;
                    } else {
                        self.mistyped
                            .push(format!("{label}: {path} ({types:?}; {found:?})"));
                    }
                }
                None if observed.contains_key(path) => {
                    self.lost.push(format!("{label}: {path}"));
                }
                None => {}
            }
        }
        let seen = spec.keys().filter(|p| observed.contains_key(*p)).count();
        if seen > 0 {
            let recovered = spec
                .keys()
                .filter(|p| observed.contains_key(*p) && reconstructed.contains_key(*p))
                .count();
            self.with_seen += 1;
            self.recovered += recovered as f64 / seen as f64;
        }
        self.operations += 1;
        self.present += present as f64 / n;
        self.typed += typed as f64 / n;
        self.observed += seen as f64 / n;
    }

    fn mean(&self, sum: f64) -> Option<f64> {
        (self.operations > 0).then(|| sum / self.operations as f64)
    }

    /// Mean share of the spec's paths present in the reconstructed operation.
    pub(crate) fn present(&self) -> Option<f64> {
        self.mean(self.present)
    }

    /// Mean share present with a compatible type.
    pub(crate) fn typed(&self) -> Option<f64> {
        self.mean(self.typed)
    }

    /// Mean share that the traffic showed at all.
    pub(crate) fn observed(&self) -> Option<f64> {
        self.mean(self.observed)
    }

    /// Mean share, of the paths the traffic showed, that the reconstructed operation has: what
    /// the server made of the evidence it had.
    pub(crate) fn recovered(&self) -> Option<f64> {
        (self.with_seen > 0).then(|| self.recovered / self.with_seen as f64)
    }
}

/// Schema coverage of one spec.
#[derive(Debug, Default, Clone)]
pub(crate) struct SchemaScore {
    pub(crate) response: Coverage,
    pub(crate) request: Coverage,
}

/// Scores the reconstructed document of a spec's traffic. `expected` supplies the literal
/// expansions of enum parameters, under which an operation may have been discovered.
pub(crate) fn score_schemas(
    spec: &Spec,
    traffic: &[Exchange],
    expected: &Expected,
    reconstructed: &Value,
) -> SchemaScore {
    let operations = reconstructed_operations(reconstructed);
    let mut observed: Vec<(Paths, Paths)> = vec![Default::default(); spec.operations.len()];
    for e in traffic {
        let (request, response) = &mut observed[e.operation];
        if let Some(p) = &e.request
            && is_json(&p.media_type)
            && let Ok(v) = serde_json::from_str::<Value>(&p.text)
        {
            value_paths(&v, "", 0, request);
        }
        if let Some(p) = &e.response
            && is_json(&p.media_type)
            && let Ok(v) = serde_json::from_str::<Value>(&p.text)
        {
            value_paths(&v, "", 0, response);
        }
    }
    let mut score = SchemaScore::default();
    for (i, op) in spec.operations.iter().enumerate() {
        let key: Endpoint = (op.method.clone(), normalize(&op.path));
        let found = operations.get(&key).or_else(|| {
            expected
                .endpoints
                .get(&key)?
                .iter()
                .find_map(|alt| operations.get(alt))
        });
        let response_paths = op
            .response
            .body
            .as_ref()
            .filter(|m| m.is_json())
            .and_then(|m| m.schema.as_ref())
            .map(|s| schema_paths(&spec.doc, s, Some(Direction::Response)))
            .unwrap_or_default();
        let request_paths = op
            .request
            .as_ref()
            .filter(|m| m.is_json())
            .and_then(|m| m.schema.as_ref())
            .map(|s| schema_paths(&spec.doc, s, Some(Direction::Request)))
            .unwrap_or_default();
        for (paths, coverage, side) in [
            (&response_paths, &mut score.response, Side::Response),
            (&request_paths, &mut score.request, Side::Request),
        ] {
            if paths.is_empty() {
                continue;
            }
            let Some(found) = found else {
                coverage.unmatched += 1;
                continue;
            };
            let schema = match side {
                Side::Response => response_schema(found, op.response.status),
                Side::Request => request_schema(found),
            };
            let rebuilt = schema
                .map(|s| schema_paths(reconstructed, s, None))
                .unwrap_or_default();
            let seen = match side {
                Side::Response => &observed[i].1,
                Side::Request => &observed[i].0,
            };
            coverage.add(&format!("{} {}", op.method, op.path), paths, &rebuilt, seen);
        }
    }
    score
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Request,
    Response,
}

/// The operations of a reconstructed document by method and normalized template.
fn reconstructed_operations(doc: &Value) -> BTreeMap<Endpoint, &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if matches!(
                method.as_str(),
                "parameters" | "summary" | "description" | "servers"
            ) {
                continue;
            }
            out.insert((method.to_ascii_uppercase(), normalize(path)), op);
        }
    }
    out
}

/// The JSON schema of a reconstructed operation's response with `status`, else of its first
/// successful JSON response.
fn response_schema(op: &Value, status: u16) -> Option<&Value> {
    let responses = op.get("responses")?.as_object()?;
    if let Some(s) = responses.get(&status.to_string()).and_then(json_schema) {
        return Some(s);
    }
    responses
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .find_map(|(_, r)| json_schema(r))
}

/// The schema of a response's (or request body's) JSON content.
fn json_schema(message: &Value) -> Option<&Value> {
    let content = message.get("content")?.as_object()?;
    content
        .iter()
        .find(|(k, _)| is_json(k))
        .and_then(|(_, m)| m.get("schema"))
}

fn request_schema(op: &Value) -> Option<&Value> {
    json_schema(op.get("requestBody")?)
}

/// The property paths of a schema. With a direction, properties marked for the other one
/// (`readOnly` in requests, `writeOnly` in responses) are left out.
pub(crate) fn schema_paths(doc: &Value, schema: &Value, direction: Option<Direction>) -> Paths {
    let mut walker = Walker {
        doc,
        direction,
        active: Vec::new(),
        out: Paths::new(),
    };
    walker.walk(schema, "", 0);
    walker.out
}

struct Walker<'a> {
    doc: &'a Value,
    direction: Option<Direction>,
    active: Vec<String>,
    out: Paths,
}

impl<'a> Walker<'a> {
    /// Follows `$ref`s; `None` when one of them is already being walked (recursion).
    fn enter(&mut self, mut schema: &'a Value) -> Option<(&'a Value, usize)> {
        let mut pushed = 0;
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            if self.active.iter().any(|r| r == reference) {
                self.active.truncate(self.active.len() - pushed);
                return None;
            }
            self.active.push(reference.to_owned());
            pushed += 1;
            let target = resolve(self.doc, schema);
            if std::ptr::eq(target, schema) {
                break;
            }
            schema = target;
        }
        Some((schema, pushed))
    }

    /// Records the properties under `schema`, whose own path is `prefix`.
    fn walk(&mut self, schema: &'a Value, prefix: &str, depth: usize) {
        if depth >= MAX_DEPTH {
            return;
        }
        let Some((schema, pushed)) = self.enter(schema) else {
            return;
        };
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.walk(part, prefix, depth);
        }
        for key in ["oneOf", "anyOf"] {
            let alternatives = schema.get(key).and_then(Value::as_array);
            for (i, part) in alternatives.into_iter().flatten().enumerate() {
                // The ground truth's shape is its main variant: the first alternative that is
                // not a bare null (`anyOf: [string, Customer]`, an expandable field, is a string
                // unless expanded).
                if self.direction.is_some() {
                    let main = alternatives
                        .into_iter()
                        .flatten()
                        .position(|a| a.get("type").and_then(Value::as_str) != Some("null"));
                    if main != Some(i) {
                        continue;
                    }
                }
                self.walk(part, prefix, depth);
            }
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if self.excluded(property) {
                    continue;
                }
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                let types = self.types(property, 0);
                self.out.entry(path.clone()).or_default().extend(types);
                self.walk(property, &path, depth + 1);
            }
        }
        if let Some(items) = schema.get("items") {
            self.walk(items, &format!("{prefix}[]"), depth);
        }
        self.active.truncate(self.active.len() - pushed);
    }

    fn excluded(&self, schema: &Value) -> bool {
        let schema = resolve(self.doc, schema);
        let flag = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
        match self.direction {
            Some(Direction::Request) => flag("readOnly"),
            Some(Direction::Response) => flag("writeOnly"),
            None => false,
        }
    }

    /// The JSON types a schema allows, united over its parts; empty when it does not say.
    fn types(&self, schema: &Value, level: usize) -> BTreeSet<&'static str> {
        let mut out = BTreeSet::new();
        if level > 16 {
            return out;
        }
        let schema = resolve(self.doc, schema);
        match schema.get("type") {
            Some(Value::String(t)) => out.extend(type_class(t)),
            Some(Value::Array(list)) => {
                out.extend(list.iter().filter_map(Value::as_str).filter_map(type_class));
            }
            _ => {}
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for part in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(self.types(part, level + 1));
            }
        }
        if out.is_empty() {
            if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
                out.insert("object");
            } else if schema.get("items").is_some() {
                out.insert("array");
            }
        }
        out
    }
}

fn type_class(t: &str) -> Option<&'static str> {
    Some(match t {
        "object" => "object",
        "array" => "array",
        "string" => "string",
        "integer" | "number" => "number",
        "boolean" => "boolean",
        "null" => "null",
        _ => return None,
    })
}

/// Whether the reconstructed types agree with the spec's: some type in common besides `null`,
/// or a spec that does not say.
fn compatible(spec: &BTreeSet<&'static str>, found: &BTreeSet<&'static str>) -> bool {
    let spec: BTreeSet<&str> = spec.iter().copied().filter(|t| *t != "null").collect();
    spec.is_empty() || spec.iter().any(|t| found.contains(t))
}

/// The property paths of a JSON value, with the type each had.
fn value_paths(value: &Value, prefix: &str, depth: usize, out: &mut Paths) {
    if depth >= MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                out.entry(path.clone()).or_default().insert(value_type(v));
                value_paths(v, &path, depth + 1, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                value_paths(item, &format!("{prefix}[]"), depth, out);
            }
        }
        _ => {}
    }
}

fn value_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_follow_refs_arrays_and_compositions() {
        let doc = json!({"components": {"schemas": {
            "Owner": {"type": "object", "properties": {
                "login": {"type": "string"},
                "id": {"type": "integer"},
                "parent": {"$ref": "#/components/schemas/Owner"}
            }},
            "Repo": {"allOf": [
                {"type": "object", "properties": {"name": {"type": "string"}}},
                {"properties": {
                    "owner": {"$ref": "#/components/schemas/Owner"},
                    "secret": {"type": "string", "writeOnly": true},
                    "size": {"oneOf": [{"type": "integer"}, {"type": "null"}]}
                }}
            ]}
        }}});
        let schema = json!({"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Repo"}}
        }});
        let paths = schema_paths(&doc, &schema, Some(Direction::Response));
        let names: Vec<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "items",
                "items[].name",
                "items[].owner",
                "items[].owner.id",
                "items[].owner.login",
                "items[].owner.parent",
                "items[].size",
            ]
        );
        assert_eq!(paths["items[].size"], BTreeSet::from(["null", "number"]));
        assert_eq!(paths["items"], BTreeSet::from(["array"]));
    }

    #[test]
    fn integers_and_numbers_agree() {
        let spec = BTreeSet::from(["number"]);
        assert!(compatible(&spec, &BTreeSet::from(["number", "null"])));
        assert!(!compatible(&spec, &BTreeSet::from(["string"])));
        assert!(compatible(&BTreeSet::new(), &BTreeSet::from(["string"])));
    }

    #[test]
    fn values_give_their_paths() {
        let mut out = Paths::new();
        value_paths(
            &json!([{"id": 1, "tags": [{"name": "x"}], "owner": null}]),
            "",
            0,
            &mut out,
        );
        let names: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(names, ["[].id", "[].owner", "[].tags", "[].tags[].name"]);
    }
}
