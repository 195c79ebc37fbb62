//! Reading an OpenAPI 3 document of the corpus: its operations, their path parameters and a
//! signature of each operation's JSON response fields.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// One API of the corpus.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) id: String,
    pub(crate) operations: Vec<Operation>,
}

/// One method on one path.
#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) method: String,
    /// The server's base path followed by the spec's path, with anything after `#` or `?`
    /// dropped (some specs key several operations on one path that way).
    pub(crate) path: String,
    pub(crate) params: Vec<PathParam>,
    /// A hash of the sorted field names of the first 2xx JSON response, if it has fields.
    pub(crate) fields: Option<u64>,
}

/// A path parameter with its schema resolved.
#[derive(Debug, Clone)]
pub(crate) struct PathParam {
    pub(crate) name: String,
    pub(crate) schema: Value,
    pub(crate) example: Option<Value>,
    pub(crate) description: String,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

impl Spec {
    /// Loads `<corpus>/<id>.json`.
    pub(crate) fn load(corpus: &Path, id: &str) -> Result<Spec> {
        let file = corpus.join(format!("{id}.json"));
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let doc: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        Ok(Spec::from_document(id, &doc))
    }

    pub(crate) fn from_document(id: &str, doc: &Value) -> Spec {
        let base = base_path(doc);
        let mut operations = Vec::new();
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return Spec {
                id: id.to_owned(),
                operations,
            };
        };
        for (raw_path, item) in paths {
            let item = resolve(doc, item);
            let path = raw_path
                .split(['#', '?'])
                .next()
                .unwrap_or_default()
                .trim_end_matches('/');
            let shared = item.get("parameters").and_then(Value::as_array);
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let mut params: Vec<PathParam> = Vec::new();
                let own = op.get("parameters").and_then(Value::as_array);
                // Operation parameters override path-item ones with the same name.
                for list in [own, shared].into_iter().flatten() {
                    for p in list {
                        let p = resolve(doc, p);
                        if p.get("in").and_then(Value::as_str) != Some("path") {
                            continue;
                        }
                        let Some(name) = p.get("name").and_then(Value::as_str) else {
                            continue;
                        };
                        if params.iter().any(|q| q.name == name) {
                            continue;
                        }
                        let schema = p
                            .get("schema")
                            .map(|s| flatten_schema(doc, s))
                            .unwrap_or(Value::Null);
                        let example = p
                            .get("example")
                            .or_else(|| schema.get("example"))
                            .or_else(|| {
                                p.get("examples")
                                    .and_then(Value::as_object)
                                    .and_then(|m| m.values().next())
                                    .map(|e| resolve(doc, e))
                                    .and_then(|e| e.get("value"))
                            })
                            .cloned();
                        let description = p
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        params.push(PathParam {
                            name: name.to_owned(),
                            schema,
                            example,
                            description,
                        });
                    }
                }
                operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    path: format!("{base}{path}"),
                    params,
                    fields: response_fields(doc, op),
                });
            }
        }
        Spec {
            id: id.to_owned(),
            operations,
        }
    }
}

/// The path of the first server URL (`/v1`, `/api/1.0`, or empty), with server variables
/// replaced by their defaults; operations' paths are prefixed with it, as traffic shows them.
fn base_path(doc: &Value) -> String {
    let Some(server) = doc
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
    else {
        return String::new();
    };
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            let default = var
                .get("default")
                .and_then(Value::as_str)
                .unwrap_or_default();
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let path = if url.contains("://") {
        after_scheme.find('/').map_or("", |i| &after_scheme[i..])
    } else {
        after_scheme
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        String::new()
    } else {
        format!("/{}", segments.join("/"))
    }
}

/// Follows `$ref`s inside the document.
pub(crate) fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return value;
        };
        match doc.pointer(pointer) {
            Some(target) => value = target,
            None => return value,
        }
    }
    value
}

/// A schema with its `$ref` followed and the first alternative of `oneOf`/`anyOf`/`allOf`
/// merged in, enough to read `type`, `format`, `enum`, `pattern` and `example`.
fn flatten_schema(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let mut out = schema.clone();
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            let inner = flatten_schema(doc, first);
            if let (Some(out), Some(inner)) = (out.as_object_mut(), inner.as_object()) {
                for (k, v) in inner {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    out
}

/// The field-name signature of the first 2xx JSON response.
fn response_fields(doc: &Value, op: &Value) -> Option<u64> {
    let responses = op.get("responses")?.as_object()?;
    let mut codes: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
    codes.sort();
    let response = resolve(doc, responses.get(codes.first().copied()?)?);
    let content = response.get("content")?.as_object()?;
    let media = content.get("application/json").or_else(|| {
        content
            .iter()
            .find(|(k, _)| k.contains("json"))
            .map(|(_, v)| v)
    })?;
    let schema = media.get("schema")?;
    let mut names = BTreeSet::new();
    collect_fields(doc, schema, "", &mut names, 0);
    if names.is_empty() {
        return None;
    }
    let joined = names.into_iter().collect::<Vec<_>>().join(",");
    Some(fnv1a(joined.as_bytes()))
}

fn collect_fields(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            collect_fields(doc, s, prefix, out, depth + 1);
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            collect_fields(doc, first, prefix, out, depth + 1);
        }
    }
    if schema.get("type").and_then(Value::as_str) == Some("array")
        && let Some(items) = schema.get("items")
    {
        collect_fields(doc, items, &format!("{prefix}[]"), out, depth + 1);
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for name in props.keys() {
            out.insert(format!("{prefix}{name}"));
        }
    }
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
