//! The material surface of an OpenAPI document: what a revision, a diff and drift compare.
//!
//! Operations, keyed by method and path shape (parameter names do not matter: `/users/{id}` and
//! `/users/{userId}` are one operation), each with its parameters, status codes, media types,
//! security requirements and schema property paths. Counts, examples, descriptions and the
//! `x-reconstructor-*` statistics are left out, so traffic that only adds hits changes nothing.
//!
//! The reader is tolerant (it skips what it cannot read) and bounded: `$ref` chains are followed
//! to a fixed depth, schemas are walked to a fixed depth, and properties per operation are
//! capped, whatever the document.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `$ref` hops followed before giving up (cycles and hostile chains end here).
const MAX_REF_HOPS: usize = 16;
/// Schema nesting walked for property paths.
const MAX_SCHEMA_DEPTH: usize = 8;
/// Property paths kept per operation.
const MAX_PROPERTIES: usize = 2_000;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An operation's identity: upper-case method and path shape (`/users/{}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct OperationKey {
    /// Upper-case method.
    pub method: String,
    /// The path with every parameter written `{}`.
    pub shape: String,
}

/// What matters about one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// The path as written in the document.
    pub path: String,
    /// Marked `deprecated: true`.
    pub deprecated: bool,
    /// Query, header and cookie parameters, as `in:name` (header names lower-case), with
    /// whether each is required. Path parameters are part of the path.
    pub parameters: BTreeMap<String, bool>,
    /// Response keys: `200`, `4XX`, `default`.
    pub status_codes: BTreeSet<String>,
    /// Request body media types.
    pub request_content_types: BTreeSet<String>,
    /// Response media types, over every status.
    pub response_content_types: BTreeSet<String>,
    /// Security requirements, each as its schemes' descriptions joined by ` + `; the empty
    /// string is "no credentials". Empty set: nothing said (the document's default applies
    /// and was resolved already; so empty means none).
    pub security: BTreeSet<String>,
    /// Schema property paths: `request application/json $.user.name`,
    /// `response 200 application/json $[].id`.
    pub properties: BTreeSet<String>,
}

/// Every operation of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Surface {
    /// By key.
    pub operations: BTreeMap<OperationKey, Operation>,
}

impl Surface {
    /// Reads the surface of an OpenAPI 3.0 or 3.1 document.
    pub fn of(document: &Value) -> Surface {
        let reader = Reader { root: document };
        let mut operations = BTreeMap::new();
        let global_security = document.get("security");
        let Some(paths) = document.get("paths").and_then(Value::as_object) else {
            return Surface { operations };
        };
        for (path, item) in paths {
            let Some(item) = reader.resolve(item).and_then(Value::as_object) else {
                continue;
            };
            let shared = item.get("parameters");
            for method in METHODS {
                let Some(op) = item.get(method).and_then(Value::as_object) else {
                    continue;
                };
                let operation = reader.operation(path, op, shared, global_security);
                let key = OperationKey {
                    method: method.to_ascii_uppercase(),
                    shape: path_shape(path),
                };
                operations.insert(key, operation);
            }
        }
        Surface { operations }
    }

    /// A stable hash of the surface: equal hashes mean no material change.
    pub fn hash(&self) -> String {
        let json =
            serde_json::to_vec(&self.operations.iter().collect::<Vec<_>>()).unwrap_or_default();
        hex(&Sha256::digest(json))
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `/users/{id}/posts/{postId}` → `/users/{}/posts/{}`; a trailing slash is dropped.
pub fn path_shape(path: &str) -> String {
    let mut shape = String::with_capacity(path.len());
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    shape.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => shape.push(c),
            _ => {}
        }
    }
    if shape.len() > 1 && shape.ends_with('/') {
        shape.pop();
    }
    shape
}

struct Reader<'a> {
    root: &'a Value,
}

impl<'a> Reader<'a> {
    /// Follows local `$ref`s (`#/components/…`); `None` for a dangling or external one.
    fn resolve(&self, mut value: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Some(value);
            };
            let pointer = reference.strip_prefix('#')?;
            value = self.root.pointer(pointer)?;
        }
        None
    }

    fn operation(
        &self,
        path: &str,
        op: &'a Map<String, Value>,
        shared: Option<&'a Value>,
        global_security: Option<&'a Value>,
    ) -> Operation {
        let mut operation = Operation {
            path: path.to_owned(),
            deprecated: op.get("deprecated").and_then(Value::as_bool) == Some(true),
            ..Operation::default()
        };
        for list in [shared, op.get("parameters")].into_iter().flatten() {
            for parameter in list.as_array().into_iter().flatten() {
                let Some(parameter) = self.resolve(parameter) else {
                    continue;
                };
                let (Some(name), Some(location)) = (
                    parameter.get("name").and_then(Value::as_str),
                    parameter.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                if location == "path" {
                    continue;
                }
                let name = if location == "header" {
                    name.to_ascii_lowercase()
                } else {
                    name.to_owned()
                };
                let required = parameter.get("required").and_then(Value::as_bool) == Some(true);
                // Operation parameters override shared ones of the same name and location.
                operation
                    .parameters
                    .insert(format!("{location}:{name}"), required);
            }
        }
        if let Some(body) = op.get("requestBody").and_then(|b| self.resolve(b))
            && let Some(content) = body.get("content").and_then(Value::as_object)
        {
            for (media, media_type) in content {
                let media = normalize_media(media);
                self.properties(
                    &mut operation.properties,
                    &format!("request {media}"),
                    media_type.get("schema"),
                );
                operation.request_content_types.insert(media);
            }
        }
        if let Some(responses) = op.get("responses").and_then(Value::as_object) {
            for (code, response) in responses {
                if code.starts_with("x-") {
                    continue;
                }
                let code = if code.eq_ignore_ascii_case("default") {
                    "default".to_owned()
                } else {
                    code.to_ascii_uppercase()
                };
                operation.status_codes.insert(code.clone());
                let Some(response) = self.resolve(response) else {
                    continue;
                };
                for (media, media_type) in response
                    .get("content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let media = normalize_media(media);
                    self.properties(
                        &mut operation.properties,
                        &format!("response {code} {media}"),
                        media_type.get("schema"),
                    );
                    operation.response_content_types.insert(media);
                }
            }
        }
        let security = op.get("security").or(global_security);
        for requirement in security.and_then(Value::as_array).into_iter().flatten() {
            let Some(requirement) = requirement.as_object() else {
                continue;
            };
            let mut schemes: Vec<String> =
                requirement.keys().map(|name| self.scheme(name)).collect();
            schemes.sort();
            schemes.dedup();
            operation.security.insert(schemes.join(" + "));
        }
        operation
    }

    /// A security scheme by what it is rather than what it is called: `http bearer`,
    /// `apiKey header x-api-key`, `oauth2`.
    fn scheme(&self, name: &str) -> String {
        let scheme = self
            .root
            .pointer("/components/securitySchemes")
            .and_then(|schemes| schemes.get(name))
            .and_then(|s| self.resolve(s));
        let Some(scheme) = scheme else {
            return format!("unknown {name}");
        };
        let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or("");
        match text("type") {
            "http" => format!("http {}", text("scheme").to_ascii_lowercase()),
            "apiKey" => {
                let location = text("in");
                let key = if location == "header" {
                    text("name").to_ascii_lowercase()
                } else {
                    text("name").to_owned()
                };
                format!("apiKey {location} {key}")
            }
            other => other.to_owned(),
        }
    }

    fn properties(&self, out: &mut BTreeSet<String>, prefix: &str, schema: Option<&'a Value>) {
        if let Some(schema) = schema {
            self.walk(out, &format!("{prefix} $"), schema, 0);
        }
    }

    fn walk(&self, out: &mut BTreeSet<String>, at: &str, schema: &'a Value, depth: usize) {
        if depth >= MAX_SCHEMA_DEPTH || out.len() >= MAX_PROPERTIES {
            return;
        }
        let Some(schema) = self.resolve(schema) else {
            return;
        };
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if out.len() >= MAX_PROPERTIES {
                    return;
                }
                let path = format!("{at}.{name}");
                out.insert(path.clone());
                self.walk(out, &path, property, depth + 1);
            }
        }
        if let Some(items) = schema.get("items") {
            self.walk(out, &format!("{at}[]"), items, depth + 1);
        }
        for combinator in ["allOf", "oneOf", "anyOf"] {
            for part in schema
                .get(combinator)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.walk(out, at, part, depth + 1);
            }
        }
    }
}

/// `Application/JSON; charset=utf-8` → `application/json`.
pub fn normalize_media(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(method: &str, shape: &str) -> OperationKey {
        OperationKey {
            method: method.to_owned(),
            shape: shape.to_owned(),
        }
    }

    #[test]
    fn path_shapes_ignore_parameter_names() {
        assert_eq!(
            path_shape("/users/{id}/posts/{postId}"),
            "/users/{}/posts/{}"
        );
        assert_eq!(path_shape("/users/{userId:integer}"), "/users/{}");
        assert_eq!(path_shape("/users/"), "/users");
        assert_eq!(path_shape("/"), "/");
        assert_eq!(path_shape("/a/{{x}}/b"), "/a/{}/b");
        assert_eq!(path_shape("/a/{unclosed"), "/a/{}");
        assert_eq!(path_shape(""), "");
    }

    #[test]
    fn reads_parameters_statuses_media_security_and_properties_through_refs() {
        let document = json!({
            "openapi": "3.0.3",
            "security": [{"key": []}],
            "components": {
                "securitySchemes": {
                    "key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                    "jwt": {"type": "http", "scheme": "Bearer"}
                },
                "parameters": {"limit": {"name": "limit", "in": "query", "required": true}},
                "schemas": {
                    "User": {"type": "object", "properties": {
                        "id": {"type": "integer"},
                        "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}
                    }},
                    "Tag": {"properties": {"name": {"type": "string"}}}
                }
            },
            "paths": {
                "/users/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true}],
                    "get": {
                        "deprecated": true,
                        "parameters": [
                            {"$ref": "#/components/parameters/limit"},
                            {"name": "X-Trace", "in": "header"}
                        ],
                        "responses": {
                            "200": {"description": "ok", "content": {
                                "application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/User"}}
                            }},
                            "4XX": {"description": "bad"},
                            "x-extension": {}
                        }
                    },
                    "put": {"security": [{"jwt": []}, {}], "responses": {"204": {"description": "done"}}}
                }
            }
        });
        let surface = Surface::of(&document);
        assert_eq!(surface.operations.len(), 2);
        let get = &surface.operations[&key("GET", "/users/{}")];
        assert!(get.deprecated);
        assert_eq!(
            get.parameters,
            BTreeMap::from([
                ("header:x-trace".to_owned(), false),
                ("query:limit".to_owned(), true)
            ])
        );
        assert_eq!(
            get.status_codes,
            BTreeSet::from(["200".to_owned(), "4XX".to_owned()])
        );
        assert_eq!(
            get.response_content_types,
            BTreeSet::from(["application/json".to_owned()])
        );
        assert_eq!(
            get.security,
            BTreeSet::from(["apiKey header x-api-key".to_owned()])
        );
        assert_eq!(
            get.properties,
            BTreeSet::from([
                "response 200 application/json $.id".to_owned(),
                "response 200 application/json $.tags".to_owned(),
                "response 200 application/json $.tags[].name".to_owned(),
            ])
        );
        let put = &surface.operations[&key("PUT", "/users/{}")];
        assert_eq!(
            put.security,
            BTreeSet::from(["".to_owned(), "http bearer".to_owned()])
        );
    }

    #[test]
    fn hostile_documents_end_quietly() {
        // A `$ref` cycle, a self-referencing schema, a dangling and an external reference, and
        // values of the wrong type everywhere.
        let document = json!({
            "components": {
                "parameters": {"a": {"$ref": "#/components/parameters/b"}, "b": {"$ref": "#/components/parameters/a"}},
                "schemas": {"Node": {"properties": {"next": {"$ref": "#/components/schemas/Node"}}}}
            },
            "paths": {
                "/a": {"get": {
                    "parameters": [{"$ref": "#/components/parameters/a"}, {"$ref": "other.yaml#/x"}, 7, {"name": 1}],
                    "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}
                }},
                "/b": "not an object",
                "/c": {"get": "nope", "post": {"responses": []}}
            }
        });
        let surface = Surface::of(&document);
        let a = &surface.operations[&key("GET", "/a")];
        assert!(a.parameters.is_empty());
        assert_eq!(a.properties.len(), MAX_SCHEMA_DEPTH);
        assert!(surface.operations.contains_key(&key("POST", "/c")));
        assert_eq!(surface.operations.len(), 2);
        for empty in [json!(null), json!([]), json!({"paths": []}), json!("x")] {
            assert!(Surface::of(&empty).operations.is_empty());
        }
    }

    #[test]
    fn the_hash_ignores_statistics_and_wording_but_not_material_changes() {
        let base = json!({"paths": {"/a": {"get": {"summary": "one", "x-reconstructor-hits": 1,
            "responses": {"200": {"description": "OK", "x-reconstructor-hits": 1}}}}}});
        let busier = json!({"paths": {"/a": {"get": {"summary": "two", "x-reconstructor-hits": 9,
            "responses": {"200": {"description": "Fine", "x-reconstructor-hits": 9}}}}}});
        let new_status = json!({"paths": {"/a": {"get": {
            "responses": {"200": {"description": "OK"}, "404": {"description": "Not Found"}}}}}});
        let hash = Surface::of(&base).hash();
        assert_eq!(hash, Surface::of(&busier).hash());
        assert_ne!(hash, Surface::of(&new_status).hash());
        assert_eq!(hash.len(), 64);
    }
}
