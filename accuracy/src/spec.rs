//! Reading an OpenAPI 3 document of the corpus: its operations, their path and query
//! parameters, request bodies and successful responses.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

/// One API of the corpus.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) id: String,
    pub(crate) operations: Vec<Operation>,
    /// The whole document, for resolving the `$ref`s of body schemas.
    pub(crate) doc: Value,
}

/// One method on one path.
#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) method: String,
    /// The server's base path followed by the spec's path, with anything after `#` or `?`
    /// dropped (some specs key several operations on one path that way).
    pub(crate) path: String,
    pub(crate) params: Vec<PathParam>,
    /// Query parameters, with their schemas as written (`$ref`s unresolved).
    pub(crate) query: Vec<QueryParam>,
    /// The request body, when the operation takes one.
    pub(crate) request: Option<Media>,
    /// The first successful response.
    pub(crate) response: Response,
}

/// A query parameter.
#[derive(Debug, Clone)]
pub(crate) struct QueryParam {
    pub(crate) name: String,
    pub(crate) schema: Value,
    pub(crate) required: bool,
}

/// A body: its media type as the spec names it and its schema as written.
#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub(crate) media_type: String,
    pub(crate) schema: Option<Value>,
}

impl Media {
    /// Whether the body is JSON (`application/json`, `application/vnd.github+json`, …).
    pub(crate) fn is_json(&self) -> bool {
        is_json(&self.media_type)
    }
}

/// The response an operation's synthetic traffic gets.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// The first 2xx status the spec lists (`2XX` reads as 200; 200 when none is listed).
    pub(crate) status: u16,
    pub(crate) body: Option<Media>,
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
        Ok(Spec::from_document(id, doc))
    }

    pub(crate) fn from_document(id: &str, doc: Value) -> Spec {
        let operations = operations(&doc);
        Spec {
            id: id.to_owned(),
            operations,
            doc,
        }
    }
}

/// Every operation of a document, in path order.
fn operations(doc: &Value) -> Vec<Operation> {
    let base = base_path(doc);
    let mut operations = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return operations;
    };
    let collections = collections(paths.keys());
    for (raw_path, item) in paths {
        let item = resolve(doc, item);
        let cleaned = raw_path
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        // `{+name}` (RFC 6570 reserved expansion) is a parameter whose value may hold slashes.
        let reserved: Vec<String> = crate::placeholders(cleaned)
            .into_iter()
            .filter_map(|n| n.strip_prefix('+').map(str::to_owned))
            .collect();
        let path = cleaned.replace("{+", "{");
        let shared = item.get("parameters").and_then(Value::as_array);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let mut reserved = reserved.clone();
            let mut params: Vec<PathParam> = Vec::new();
            let mut query: Vec<QueryParam> = Vec::new();
            let own = op.get("parameters").and_then(Value::as_array);
            // Operation parameters override path-item ones with the same name.
            for list in [own, shared].into_iter().flatten() {
                for p in list {
                    let p = resolve(doc, p);
                    let Some(name) = p.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    match p.get("in").and_then(Value::as_str) {
                        Some("path") => {}
                        Some("query") => {
                            if !query.iter().any(|q| q.name == name) {
                                query.push(QueryParam {
                                    name: name.to_owned(),
                                    schema: p.get("schema").cloned().unwrap_or(Value::Null),
                                    required: p.get("required").and_then(Value::as_bool)
                                        == Some(true),
                                });
                            }
                            continue;
                        }
                        _ => continue,
                    }
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
                    if spans_segments(p, name, &description) {
                        reserved.push(name.to_owned());
                    }
                    params.push(PathParam {
                        name: name.to_owned(),
                        schema,
                        example,
                        description,
                    });
                }
            }
            let path = flatten_resource_names(
                &path,
                &mut params,
                &reserved,
                &collections,
                &format!("{method} {path}"),
            );
            operations.push(Operation {
                method: method.to_ascii_uppercase(),
                path: format!("{base}{path}"),
                params,
                query,
                request: request_body(doc, op),
                response: response(doc, op),
            });
        }
    }
    operations
}

/// Whether a media type is JSON.
pub(crate) fn is_json(media_type: &str) -> bool {
    let media = media_type.split(';').next().unwrap_or_default().trim();
    media == "application/json" || media.ends_with("+json") || media.ends_with("/json")
}

/// The body a `content` map describes: JSON when the spec offers it, else the first media type
/// that is not a wildcard; a wildcard (`*/*`) with a schema is served as JSON.
fn media(content: &serde_json::Map<String, Value>) -> Option<Media> {
    let pick = |key: &String, value: &Value| Media {
        media_type: key.clone(),
        schema: value.get("schema").cloned(),
    };
    if let Some((k, v)) = content.iter().find(|(k, _)| is_json(k)) {
        return Some(pick(k, v));
    }
    if let Some((k, v)) = content.iter().find(|(k, _)| !k.contains('*')) {
        return Some(pick(k, v));
    }
    let (_, v) = content.iter().find(|(_, v)| v.get("schema").is_some())?;
    Some(Media {
        media_type: "application/json".to_owned(),
        schema: v.get("schema").cloned(),
    })
}

fn request_body(doc: &Value, op: &Value) -> Option<Media> {
    let body = resolve(doc, op.get("requestBody")?);
    media(body.get("content")?.as_object()?)
}

/// The first 2xx response, with its body.
fn response(doc: &Value, op: &Value) -> Response {
    let responses = op.get("responses").and_then(Value::as_object);
    let mut codes: Vec<&String> = responses
        .into_iter()
        .flat_map(|r| r.keys())
        .filter(|k| k.starts_with('2'))
        .collect();
    codes.sort();
    let Some(code) = codes.first() else {
        return Response {
            status: 200,
            body: None,
        };
    };
    let status = code.parse().unwrap_or(200);
    let body = responses
        .and_then(|r| r.get(code.as_str()))
        .map(|r| resolve(doc, r))
        .and_then(|r| r.get("content"))
        .and_then(Value::as_object)
        .and_then(media);
    Response {
        status,
        body: if status == 204 { None } else { body },
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
    } else if let Some(rest) = url.strip_prefix("//") {
        // A network-path reference (`//kubernetes.local/api`): the host comes first.
        rest.find('/').map_or("", |i| &rest[i..])
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

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Whether a path parameter of an Azure spec holds a whole resource id, slashes included
/// (`x-ms-skip-url-encoding` on a `scope` or a fully qualified id).
fn spans_segments(param: &Value, name: &str, description: &str) -> bool {
    let skip = param.get("x-ms-skip-url-encoding").and_then(Value::as_bool) == Some(true);
    skip && (is_azure_id(name, description) || name == "scope")
}

fn is_azure_id(name: &str, description: &str) -> bool {
    matches!(name, "resourceUri" | "resourceId")
        || description.to_ascii_lowercase().contains("fully qualified")
}

/// The sub-collections named right after a `{parent}` parameter anywhere in the document
/// (`/v1/{parent}/workstations` → `workstations`), in path order.
fn collections<'a>(paths: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in paths {
        let segments: Vec<&str> = path
            .split(['#', '?'])
            .next()
            .unwrap_or_default()
            .split('/')
            .collect();
        for pair in segments.windows(2) {
            let next = pair[1];
            let plain = !next.is_empty() && !next.contains(['{', ':']);
            if matches!(pair[0], "{parent}" | "{+parent}")
                && plain
                && !out.iter().any(|c| c == next)
            {
                out.push(next.to_owned());
            }
        }
    }
    out
}

/// `{name}` or `{name}:verb` as a whole segment: the name and the suffix.
fn whole_placeholder(segment: &str) -> Option<(&str, &str)> {
    let inner = segment.strip_prefix('{')?;
    let close = inner.find('}')?;
    let (name, rest) = (&inner[..close], &inner[close + 1..]);
    let verb_ok = rest.is_empty()
        || rest
            .strip_prefix(':')
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric()));
    verb_ok.then_some((name, rest))
}

/// `v1`, `v1beta1`, `v2alpha`: a Google API version.
fn is_api_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The regions a cloud API's resource names carry: few, so they may stay literal.
const LOCATIONS: [&str; 9] = [
    "us-central1",
    "us-east1",
    "us-west1",
    "europe-west1",
    "europe-west4",
    "asia-east1",
    "asia-northeast1",
    "australia-southeast1",
    "global",
];

/// Rewrites parameters that stand for a resource name of several segments into the concrete
/// shape traffic shows, with a parameter per variable segment, as Google's `flatPath` does:
/// `/v1/{name}:cancel` → `/v1/projects/{project}/locations/{location}/operations/{operationsId}:cancel`,
/// Azure's `/{scope}/providers/…` → `/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/…`.
/// Such a parameter is one written `{+name}`, an Azure id with `x-ms-skip-url-encoding`
/// (`reserved`), or Google's `name`, `parent` and `resource` right after the version. Both the
/// traffic and the expected endpoints then use the concrete shape.
fn flatten_resource_names(
    path: &str,
    params: &mut Vec<PathParam>,
    reserved: &[String],
    collections: &[String],
    key: &str,
) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let Some((name, verb)) = whole_placeholder(segment) else {
            out.push((*segment).to_owned());
            continue;
        };
        let google = i >= 1
            && is_api_version(segments[i - 1])
            && matches!(name, "name" | "parent" | "resource");
        if !google && !reserved.iter().any(|r| r == name) {
            out.push((*segment).to_owned());
            continue;
        }
        let description = params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.description.to_ascii_lowercase())
            .unwrap_or_default();
        let last = i + 1 == segments.len();
        let mut shape: Vec<(&str, Option<Value>)> = Vec::new();
        let literal = |s: &'static str| (s, None);
        if !google && (name == "scope" || is_azure_id(name, &description)) {
            let uuid = serde_json::json!({"type": "string", "format": "uuid"});
            let text = serde_json::json!({"type": "string"});
            shape.extend([
                literal("subscriptions"),
                ("subscriptionId", Some(uuid)),
                literal("resourceGroups"),
                ("resourceGroupName", Some(text.clone())),
            ]);
            if name != "scope" {
                shape.extend([
                    literal("providers"),
                    literal("Microsoft.Compute"),
                    literal("virtualMachines"),
                    ("vmName", Some(text)),
                ]);
            }
        } else {
            let location = serde_json::json!({"type": "string", "enum": LOCATIONS});
            shape.extend([
                literal("projects"),
                ("project", Some(serde_json::json!({"type": "string"}))),
            ]);
            let next = segments.get(i + 1).copied().unwrap_or_default();
            if next != "locations" || last {
                shape.extend([literal("locations"), ("location", Some(location))]);
            }
            if last && name != "parent" {
                let collection = if description.contains("operation") {
                    Some("operations".to_owned())
                } else {
                    collections
                        .iter()
                        .filter(|c| description.contains(&singular(c).to_ascii_lowercase()))
                        .max_by_key(|c| c.len())
                        .cloned()
                        .or_else(|| {
                            (!description.contains("location") && !collections.is_empty()).then(
                                || {
                                    let pick = fnv1a(key.as_bytes()) as usize % collections.len();
                                    collections[pick].clone()
                                },
                            )
                        })
                };
                if let Some(collection) = collection {
                    let id = format!("{collection}Id");
                    params.push(PathParam {
                        name: id.clone(),
                        schema: Value::Null,
                        example: None,
                        description: String::new(),
                    });
                    let mut flat = render(&shape, params);
                    flat.push('/');
                    flat.push_str(&collection);
                    flat.push_str(&format!("/{{{id}}}{verb}"));
                    params.retain(|p| p.name != name);
                    out.push(flat);
                    continue;
                }
            }
        }
        let mut flat = render(&shape, params);
        flat.push_str(verb);
        params.retain(|p| p.name != name);
        out.push(flat);
    }
    out.join("/")
}

/// Writes a flattened shape as path text and adds its parameters.
fn render(shape: &[(&str, Option<Value>)], params: &mut Vec<PathParam>) -> String {
    let mut parts = Vec::with_capacity(shape.len());
    for (text, schema) in shape {
        match schema {
            None => parts.push((*text).to_owned()),
            Some(schema) => {
                if !params.iter().any(|p| p.name == *text) {
                    params.push(PathParam {
                        name: (*text).to_owned(),
                        schema: schema.clone(),
                        example: None,
                        description: String::new(),
                    });
                }
                parts.push(format!("{{{text}}}"));
            }
        }
    }
    parts.join("/")
}

/// `workstations` → `workstation`, `policies` → `policy`.
fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else {
        plural.strip_suffix('s').unwrap_or(plural).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(path: &str, names: &[(&str, &str)], reserved: &[&str]) -> (String, Vec<String>) {
        let mut params: Vec<PathParam> = names
            .iter()
            .map(|(n, d)| PathParam {
                name: (*n).to_owned(),
                schema: Value::Null,
                example: None,
                description: (*d).to_owned(),
            })
            .collect();
        let reserved: Vec<String> = reserved.iter().map(|s| (*s).to_owned()).collect();
        let collections = vec!["workstations".to_owned(), "workstationConfigs".to_owned()];
        let out = flatten_resource_names(path, &mut params, &reserved, &collections, "k");
        (out, params.into_iter().map(|p| p.name).collect())
    }

    #[test]
    fn resource_names_become_concrete_paths() {
        let (path, names) = flat(
            "/v1/{name}:cancel",
            &[(
                "name",
                "The name of the operation resource to be cancelled.",
            )],
            &[],
        );
        assert_eq!(
            path,
            "/v1/projects/{project}/locations/{location}/operations/{operationsId}:cancel"
        );
        assert_eq!(names, ["operationsId", "project", "location"]);
        let (path, _) = flat(
            "/v1/{name}",
            &[("name", "Name of the workstation to delete.")],
            &[],
        );
        assert_eq!(
            path,
            "/v1/projects/{project}/locations/{location}/workstations/{workstationsId}"
        );
        let (path, _) = flat("/v1/{parent}/workstations", &[("parent", "")], &[]);
        assert_eq!(
            path,
            "/v1/projects/{project}/locations/{location}/workstations"
        );
        let (path, _) = flat("/v1/{name}/locations", &[("name", "")], &[]);
        assert_eq!(path, "/v1/projects/{project}/locations");
        // Elsewhere `name` is one segment.
        let (path, _) = flat("/users/{name}", &[("name", "")], &[]);
        assert_eq!(path, "/users/{name}");
        // Azure scopes and fully qualified ids.
        let (path, names) = flat(
            "/{scope}/providers/Microsoft.Authorization/roleAssignments",
            &[("scope", "")],
            &["scope"],
        );
        assert_eq!(
            path,
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Authorization/roleAssignments"
        );
        assert_eq!(names, ["subscriptionId", "resourceGroupName"]);
    }

    #[test]
    fn a_network_path_server_has_no_base_path() {
        let doc = serde_json::json!({"servers": [{"url": "//kubernetes.local"}]});
        assert_eq!(base_path(&doc), "");
        let doc = serde_json::json!({"servers": [{"url": "//example.com/api/v2"}]});
        assert_eq!(base_path(&doc), "/api/v2");
    }

    #[test]
    fn reserved_expansion_is_read() {
        let doc = serde_json::json!({
            "paths": {"/v1/{+name}:cancel": {"post": {"parameters": [
                {"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
                 "description": "The operation."}
            ]}}}
        });
        let spec = Spec::from_document("x", doc);
        assert_eq!(
            spec.operations[0].path,
            "/v1/projects/{project}/locations/{location}/operations/{operationsId}:cancel"
        );
    }
}
