//! The OpenAPI 3.1 document of one host, from its operations and their summaries.
//!
//! The document is a [`serde_json::Value`] whose maps are sorted, so the same input always gives
//! byte-identical JSON; [`to_yaml`] and [`to_json`] write it with keys in the conventional
//! OpenAPI order instead (`openapi`, `info`, `servers`, `paths`…; `name`, `in`, `required`,
//! `schema`…), user-named keys (paths, properties, status codes) staying sorted.
//!
//! Choices made here:
//! * one operation per method and template; templates that differ only in parameter names (which
//!   OpenAPI forbids as distinct paths) share the path of the first one by text, and operations
//!   that then collide are merged; methods OpenAPI 3.1 has no field for (`CONNECT`, WebDAV…) are
//!   left out;
//! * `operationId` is the method and the path in camel case (`getUsersByUserId`), with `2`, `3`…
//!   appended in path order when two coincide; `summary` is a short phrase from the method and
//!   path (`List orders`, `Get order items`; see `naming::operation_summary`); `tags` holds the
//!   first path segment that is not `api` or a version, and each tag is described with the
//!   number of its operations;
//! * a query parameter, header or cookie is `required` when every observed request had it; the
//!   request body is `required` when every request had one;
//! * security: each combination of credentials seen on an operation is one security requirement,
//!   most frequent first. `{}` (no credentials) is added only when a request *without*
//!   credentials got a response below 400: anonymous requests that were refused say the operation
//!   needs credentials, not that it is optional. An operation seen only without credentials has
//!   `security: []`: none was observed. Every operation carries
//!   `x-reconstructor-security: inferred-from-traffic`, since no document declared it;
//! * responses: every status code seen (from the summary and from the catalog's counts), with the
//!   standard reason phrase as description; codes outside 100–599 become `default`; an operation
//!   with no observed response has only a `default` response saying so;
//! * identical object schemas with 3 properties or more used at 2 places or more move to
//!   `components/schemas` and are referenced with `$ref`; they are named after the property that
//!   holds them (`billing_address` → `BillingAddress`) or, at the top of a body or under a generic
//!   key (`data`, `items`, `results`…), after the path's last literal segment (`/users/{userId}` →
//!   `User`); a nullable one is `oneOf: [$ref, {type: "null"}]`;
//! * `info.license` is left out: the licence of an API is not in its traffic;
//! * extensions: `x-reconstructor-security` (above), `x-reconstructor-hits`, `x-reconstructor-first-seen` and
//!   `x-reconstructor-last-seen` on operations, `x-reconstructor-hits` on responses.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use super::headers;
use super::naming::{operation_summary, pascal_case, type_name};
use super::security;
use super::summary::{EndpointSummary, SummaryLimits, parameter};
use crate::model::exchange::Scheme;
use crate::model::segment::{self, ParamType, SegmentClass, percent_decode};
use crate::model::template::{Param, Segment, Template, is_version_prefix_member};

/// One host's observed API: where it is served and its operations.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// The host key: `hostname` or `hostname:port`.
    pub host: String,
    /// The host name or IP literal (IPv6 without brackets).
    pub hostname: String,
    /// The port clients connected to.
    pub port: u16,
    /// The schemes seen.
    pub schemes: Vec<Scheme>,
    /// The operations, in any order.
    pub operations: Vec<OperationSpec>,
}

/// One endpoint (method and template) with what was observed of it.
#[derive(Debug, Clone)]
pub struct OperationSpec {
    /// The method, in any case.
    pub method: String,
    /// The endpoint's template.
    pub template: Template,
    /// Requests seen.
    pub hits: u64,
    /// First request seen.
    pub first_seen: DateTime<Utc>,
    /// Last request seen.
    pub last_seen: DateTime<Utc>,
    /// Responses seen per status code.
    pub status_codes: BTreeMap<u16, u64>,
    /// The merged observation summary.
    pub summary: EndpointSummary,
}

/// Choices for one rendering.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// `info.title`; the host key when unset.
    pub title: Option<String>,
    /// `info.version`; `1.0.0` when unset.
    pub version: Option<String>,
    /// More request headers to leave out, besides the built-in infrastructure list: lower-case
    /// names, or prefixes ending in `*` (`x-internal-*`).
    pub drop_headers: Vec<String>,
}

/// The OpenAPI `dialect` version written.
const OPENAPI_VERSION: &str = "3.1.0";

/// Methods that have a field in an OpenAPI 3.1 Path Item, in the specification's order.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Property names too generic to name a schema after.
const GENERIC_KEYS: &[&str] = &[
    "attributes",
    "body",
    "content",
    "data",
    "docs",
    "documents",
    "edges",
    "entities",
    "entity",
    "entries",
    "hits",
    "included",
    "items",
    "list",
    "node",
    "nodes",
    "object",
    "objects",
    "payload",
    "record",
    "records",
    "resource",
    "resources",
    "response",
    "result",
    "results",
    "rows",
    "value",
    "values",
];

/// The operations of one method and path, merged when several templates share the path.
#[derive(Debug)]
struct Operation {
    method: &'static str,
    /// The template whose text is the path key (its names are used).
    path: Template,
    /// Parameter types, unified over the merged templates.
    types: Vec<ParamType>,
    /// The first merged template's parameter names, which the summary's path values use.
    summary_names: Vec<String>,
    hits: u64,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    status_codes: BTreeMap<u16, u64>,
    summary: EndpointSummary,
}

/// Renders the OpenAPI 3.1.0 document of a host.
pub fn render(host: &HostSpec, options: &RenderOptions) -> Value {
    let operations = group(host);
    let schemes = security_schemes(&operations);
    let ids = operation_ids(&operations);

    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags: BTreeMap<String, usize> = BTreeMap::new();
    for (operation, id) in operations.iter().zip(ids) {
        let tag = tag(&operation.path);
        if let Some(tag) = &tag {
            *tags.entry(tag.clone()).or_default() += 1;
        }
        let object = operation_object(operation, id, tag, &schemes, options);
        paths
            .entry(operation.path.as_str().to_owned())
            .or_default()
            .insert(operation.method.to_owned(), object);
    }
    let mut paths: Map<String, Value> = paths
        .into_iter()
        .map(|(path, item)| (path, Value::Object(item)))
        .collect();
    let schemas = lift_shared_schemas(&mut paths);

    let mut document = Map::new();
    document.insert("openapi".into(), json!(OPENAPI_VERSION));
    document.insert("info".into(), info(host, &operations, options));
    document.insert("servers".into(), servers(host));
    if !tags.is_empty() {
        let tags: Vec<Value> = tags
            .into_iter()
            .map(
                |(name, count)| json!({"name": name, "description": tag_description(&name, count)}),
            )
            .collect();
        document.insert("tags".into(), Value::Array(tags));
    }
    document.insert("paths".into(), Value::Object(paths));
    let mut components = Map::new();
    if !schemas.is_empty() {
        components.insert("schemas".into(), Value::Object(schemas));
    }
    if !schemes.is_empty() {
        let security_schemes: Map<String, Value> = schemes
            .values()
            .map(|(id, scheme)| (id.clone(), scheme.clone()))
            .collect();
        components.insert("securitySchemes".into(), Value::Object(security_schemes));
    }
    if !components.is_empty() {
        document.insert("components".into(), Value::Object(components));
    }
    Value::Object(document)
}

/// The template text with parameter names blanked: templates equal under it are one OpenAPI path.
fn path_shape(template: &Template) -> String {
    let mut shape = String::new();
    for segment in template.segments() {
        shape.push('/');
        match segment {
            Segment::Literal(text) => shape.push_str(text),
            Segment::Param { prefix, suffix, .. } => {
                shape.push_str(prefix);
                shape.push_str("{}");
                shape.push_str(suffix);
            }
        }
    }
    shape
}

/// Sorts the operations, keeps the methods OpenAPI knows, and merges those that land on the same
/// path and method.
fn group(host: &HostSpec) -> Vec<Operation> {
    let mut sorted: Vec<(&'static str, &OperationSpec)> = host
        .operations
        .iter()
        .filter_map(|op| {
            let method = op.method.to_ascii_lowercase();
            METHODS.iter().find(|m| **m == method).map(|m| (*m, op))
        })
        .collect();
    sorted.sort_by(|a, b| {
        (a.1.template.as_str(), method_rank(a.0)).cmp(&(b.1.template.as_str(), method_rank(b.0)))
    });
    // The path of each shape: the first template by text, then joined with the templates it is
    // ambiguous with.
    let mut paths: HashMap<String, Template> = HashMap::new();
    for (_, op) in &sorted {
        paths
            .entry(path_shape(&op.template))
            .or_insert_with(|| op.template.clone());
    }
    join_ambiguous(&mut paths);
    let limits = SummaryLimits::default();
    let mut grouped: BTreeMap<(String, usize), Operation> = BTreeMap::new();
    for (method, op) in sorted {
        let path = &paths[&path_shape(&op.template)];
        let (types, summary_names) = aligned(&op.template, path);
        match grouped.entry((path.as_str().to_owned(), method_rank(method))) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(Operation {
                    method,
                    path: path.clone(),
                    types,
                    summary_names,
                    hits: op.hits,
                    first_seen: op.first_seen,
                    last_seen: op.last_seen,
                    status_codes: op.status_codes.clone(),
                    summary: op.summary.clone(),
                });
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                let merged = slot.get_mut();
                for (mine, theirs) in merged.types.iter_mut().zip(types) {
                    *mine = mine.unify(theirs);
                }
                merged.hits += op.hits;
                merged.first_seen = merged.first_seen.min(op.first_seen);
                merged.last_seen = merged.last_seen.max(op.last_seen);
                for (code, count) in &op.status_codes {
                    *merged.status_codes.entry(*code).or_default() += count;
                }
                merged.summary.merge(&op.summary, &limits);
            }
        }
    }
    grouped.into_values().collect()
}

/// The type of each parameter of `path` as `template` has it (a literal of `template` at a
/// parameter of `path` is typed by its text), and the name `template` gives it (empty for a
/// literal). `template` has the shape of `path`, or was joined into it.
fn aligned(template: &Template, path: &Template) -> (Vec<ParamType>, Vec<String>) {
    let mut types = Vec::with_capacity(path.params().len());
    let mut names = Vec::with_capacity(path.params().len());
    for (mine, theirs) in template.segments().iter().zip(path.segments()) {
        let Segment::Param { index, .. } = theirs else {
            continue;
        };
        let kind = path.params()[*index].kind;
        match mine {
            Segment::Param { index, .. } => {
                let param = &template.params()[*index];
                types.push(param.kind);
                names.push(param.name.clone());
            }
            Segment::Literal(text) => {
                types.push(literal_type(text).unwrap_or(kind));
                names.push(String::new());
            }
        }
    }
    (types, names)
}

/// The type of a literal that stands where another path has a parameter; `None` for a word, a
/// version or a built-in literal (`me`, `search`), which are never values.
fn literal_type(text: &str) -> Option<ParamType> {
    match segment::classify(text) {
        SegmentClass::Param(kind) => Some(kind),
        SegmentClass::Literal => Some(ParamType::String),
        SegmentClass::Protected => None,
    }
}

/// Whether two templates are ambiguous and can be joined: the same length and number of
/// parameters, and every pair of segments [`joinable_segments`]. The cheap comparisons go first.
fn joinable(a: &Template, b: &Template) -> bool {
    let pairs = || a.segments().iter().zip(b.segments());
    a.len() == b.len()
        && a.params().len() == b.params().len()
        && pairs().all(|(x, y)| joinable_segments(x, y, false))
        && pairs().all(|(x, y)| joinable_segments(x, y, true))
}

/// Whether two segments are the same, or a whole-segment parameter and a literal that can be one
/// of its values (checked only when `classify`). Parameters inside a segment (`{id}.json`) match
/// only the same shape.
fn joinable_segments(a: &Segment, b: &Segment, classify: bool) -> bool {
    let whole = |s: &Segment| matches!(s, Segment::Param { prefix, suffix, .. } if prefix.is_empty() && suffix.is_empty());
    match (a, b) {
        (Segment::Literal(x), Segment::Literal(y)) => x == y,
        (Segment::Literal(text), param) | (param, Segment::Literal(text)) => {
            whole(param) && (!classify || literal_type(text).is_some())
        }
        (
            Segment::Param {
                prefix: pa,
                suffix: sa,
                ..
            },
            Segment::Param {
                prefix: pb,
                suffix: sb,
                ..
            },
        ) => pa == pb && sa == sb,
    }
}

/// Joins paths that OpenAPI tooling cannot tell apart: two templates of the same length and the
/// same number of parameters, each with a literal where the other has a parameter
/// (`/users/alice/repos/{repoId}` and `/users/{userId}/repos/7`). Such literals are values that
/// discovery kept literal at one position only; both paths are instances of the template with a
/// parameter wherever either has one (`/users/{userId}/repos/{repoId}`), which replaces them.
/// Words, versions and built-in literals (`/users/me/repos/{repoId}`) are never joined: they are
/// endpoints of their own. Joining repeats until no pair is left.
fn join_ambiguous(paths: &mut HashMap<String, Template>) {
    loop {
        let mut templates: Vec<&Template> = paths.values().collect();
        templates.sort_by(|a, b| (a.len(), a.as_str()).cmp(&(b.len(), b.as_str())));
        templates.dedup_by(|a, b| a.as_str() == b.as_str());
        // Each template joins at most once per pass; the result may join again in the next.
        let mut joined: HashMap<String, Template> = HashMap::new();
        for (i, a) in templates.iter().enumerate() {
            if joined.contains_key(a.as_str()) {
                continue;
            }
            let partner = templates[i + 1..]
                .iter()
                .take_while(|b| b.len() == a.len())
                .find(|b| !joined.contains_key(b.as_str()) && joinable(a, b));
            if let Some(b) = partner {
                let template = join(a, b);
                joined.insert(a.as_str().to_owned(), template.clone());
                joined.insert(b.as_str().to_owned(), template);
            }
        }
        if joined.is_empty() {
            return;
        }
        for template in paths.values_mut() {
            if let Some(replacement) = joined.get(template.as_str()) {
                *template = replacement.clone();
            }
        }
    }
}

/// The template with a parameter wherever `a` or `b` has one: `a`'s name first, else `b`'s (made
/// unique); the type unified over both (a literal typed by its text).
fn join(a: &Template, b: &Template) -> Template {
    let mut segments = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    for (x, y) in a.segments().iter().zip(b.segments()) {
        let (param, other, owner) = match (x, y) {
            (Segment::Param { index, .. }, other) => (&a.params()[*index], other, x),
            (other, Segment::Param { index, .. }) => (&b.params()[*index], other, y),
            (literal, _) => {
                segments.push(literal.clone());
                continue;
            }
        };
        let other_kind = match other {
            Segment::Param { index, .. } => b.params()[*index].kind,
            Segment::Literal(text) => literal_type(text).unwrap_or(ParamType::String),
        };
        let mut name = param.name.clone();
        let mut n = 2;
        while params.iter().any(|p| p.name == name) {
            name = format!("{}{n}", param.name);
            n += 1;
        }
        let (prefix, suffix) = match owner {
            Segment::Param { prefix, suffix, .. } => (prefix.clone(), suffix.clone()),
            Segment::Literal(_) => (String::new(), String::new()),
        };
        segments.push(Segment::Param {
            index: params.len(),
            prefix,
            suffix,
        });
        params.push(Param {
            name,
            kind: param.kind.unify(other_kind),
        });
    }
    Template::from_parts(segments, params)
}

fn method_rank(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len())
}

/// Security schemes by credential key: the component name and the Security Scheme Object.
fn security_schemes(operations: &[Operation]) -> BTreeMap<String, (String, Value)> {
    let keys: BTreeSet<&str> = operations
        .iter()
        .flat_map(|op| op.summary.credential_keys())
        .collect();
    let jwt = operations.iter().any(|op| op.summary.jwt > 0);
    let mut used = BTreeSet::new();
    let mut schemes = BTreeMap::new();
    for key in keys {
        let Some((base, scheme)) = security::scheme(key, jwt) else {
            continue;
        };
        let id = unique(&base, &mut used);
        schemes.insert(key.to_owned(), (id, scheme));
    }
    schemes
}

/// `base`, or `base2`, `base3`… whichever is not taken yet; records it as taken.
fn unique(base: &str, used: &mut BTreeSet<String>) -> String {
    let mut name = base.to_owned();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}{n}");
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// The operation ids, in the order of `operations` (sorted by path and method).
fn operation_ids(operations: &[Operation]) -> Vec<String> {
    let mut used = BTreeSet::new();
    operations
        .iter()
        .map(|op| unique(&operation_id(op.method, &op.path), &mut used))
        .collect()
}

/// `get` + `/users/{userId}/repos` → `getUsersByUserIdRepos`; `/` → `getRoot`.
fn operation_id(method: &str, template: &Template) -> String {
    let mut id = method.to_owned();
    for segment in template.segments() {
        match segment {
            Segment::Literal(text) => id.push_str(&pascal_case(&percent_decode(text))),
            Segment::Param {
                index,
                prefix,
                suffix,
            } => {
                id.push_str(&pascal_case(&percent_decode(prefix)));
                id.push_str("By");
                id.push_str(&pascal_case(&template.params()[*index].name));
                id.push_str(&pascal_case(&percent_decode(suffix)));
            }
        }
    }
    if id.len() == method.len() {
        id.push_str("Root");
    }
    id
}

/// The first literal segment that is not `api` or a version.
fn tag(template: &Template) -> Option<String> {
    template
        .segments()
        .iter()
        .find_map(|segment| match segment {
            Segment::Literal(text) if !is_version_prefix_member(text) => {
                let decoded = percent_decode(text);
                (!decoded.trim().is_empty()).then(|| decoded.into_owned())
            }
            _ => None,
        })
}

/// `Operations under the path segment \`orders\` (3 observed).`
fn tag_description(tag: &str, operations: usize) -> String {
    format!("Operations under the path segment `{tag}` ({operations} observed).")
}

/// The name bodies of a path are given: the singular of its last literal segment that is not
/// `api` or a version.
fn resource_name(template: &Template) -> Option<String> {
    template
        .segments()
        .iter()
        .rev()
        .find_map(|segment| match segment {
            Segment::Literal(text) if !is_version_prefix_member(text) => {
                let decoded = percent_decode(text);
                let stem = decoded.rsplit_once('.').map_or(&*decoded, |(stem, _)| stem);
                type_name(stem)
            }
            _ => None,
        })
}

fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn operation_object(
    op: &Operation,
    id: String,
    tag: Option<String>,
    schemes: &BTreeMap<String, (String, Value)>,
    options: &RenderOptions,
) -> Value {
    let summary = &op.summary;
    let mut object = Map::new();
    if let Some(tag) = tag {
        object.insert("tags".into(), json!([tag]));
    }
    object.insert(
        "summary".into(),
        json!(operation_summary(op.method, &op.path)),
    );
    object.insert("operationId".into(), json!(id));

    let mut parameters = Vec::new();
    for (i, param) in op.path.params().iter().enumerate() {
        let kind = op.types.get(i).copied().unwrap_or(param.kind);
        let mut schema = Map::new();
        schema.insert("type".into(), json!(kind.openapi_type()));
        if let Some(format) = kind.format() {
            schema.insert("format".into(), json!(format));
        }
        if kind == ParamType::String
            && let Some(values) = op
                .summary_names
                .get(i)
                .and_then(|name| summary.path_enum(name))
        {
            schema.insert("enum".into(), values);
        }
        parameters.push(json!({
            "name": param.name,
            "in": "path",
            "required": true,
            "schema": schema,
        }));
    }
    for (name, stats) in &summary.query {
        parameters.push(parameter(name, "query", stats, summary.requests));
    }
    for (name, stats) in &summary.headers {
        if !headers::is_infrastructure(name) && !dropped(name, &options.drop_headers) {
            parameters.push(parameter(name, "header", stats, summary.requests));
        }
    }
    for (name, stats) in &summary.cookies {
        parameters.push(parameter(name, "cookie", stats, summary.requests));
    }
    if !parameters.is_empty() {
        object.insert("parameters".into(), Value::Array(parameters));
    }

    if !summary.request.is_empty() {
        let content: Map<String, Value> = summary
            .request
            .iter()
            .map(|(media, stats)| (media.clone(), stats.to_media_type(media)))
            .collect();
        let with_body: u64 = summary.request.values().map(|b| b.count).sum();
        let mut body = Map::new();
        body.insert("content".into(), Value::Object(content));
        if summary.requests > 0 && with_body >= summary.requests {
            body.insert("required".into(), json!(true));
        }
        object.insert("requestBody".into(), Value::Object(body));
    }

    object.insert("responses".into(), responses(op));

    let mut combinations: Vec<(&String, &u64)> = summary.credentials.iter().collect();
    combinations.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut security: Vec<Value> = combinations
        .into_iter()
        .filter_map(|(combination, _)| {
            let requirement: Option<Map<String, Value>> = combination
                .split(' ')
                .map(|key| schemes.get(key).map(|(id, _)| (id.clone(), json!([]))))
                .collect();
            requirement.map(Value::Object)
        })
        .collect();
    if !security.is_empty() && summary.open > 0 {
        security.push(json!({}));
    }
    // Seen only without credentials: stated, so that no document-level default applies.
    object.insert("security".into(), Value::Array(security));
    object.insert(
        "x-reconstructor-security".into(),
        json!("inferred-from-traffic"),
    );

    object.insert("x-reconstructor-hits".into(), json!(op.hits));
    object.insert(
        "x-reconstructor-first-seen".into(),
        json!(timestamp(&op.first_seen)),
    );
    object.insert(
        "x-reconstructor-last-seen".into(),
        json!(timestamp(&op.last_seen)),
    );
    Value::Object(object)
}

fn dropped(name: &str, extra: &[String]) -> bool {
    extra.iter().any(|pattern| match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(&prefix.to_ascii_lowercase()),
        None => pattern.eq_ignore_ascii_case(name),
    })
}

fn responses(op: &Operation) -> Value {
    let codes: BTreeSet<u16> = op
        .summary
        .responses
        .keys()
        .chain(op.status_codes.keys())
        .copied()
        .collect();
    let mut responses = Map::new();
    for code in codes {
        let valid = (100..=599).contains(&code);
        let key = if valid {
            code.to_string()
        } else {
            "default".to_owned()
        };
        let hits = op.status_codes.get(&code).copied().unwrap_or(0);
        if let Some(Value::Object(existing)) = responses.get_mut(&key) {
            // A second odd status code: count it under `default`.
            let before = existing
                .get("x-reconstructor-hits")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            existing.insert("x-reconstructor-hits".into(), json!(before + hits));
            continue;
        }
        let description = if valid {
            http::StatusCode::from_u16(code)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map_or_else(|| format!("Status {code}"), str::to_owned)
        } else {
            "Responses with a status code outside 100–599".to_owned()
        };
        let mut response = Map::new();
        response.insert("description".into(), json!(description));
        if valid
            && let Some(stats) = op.summary.responses.get(&code)
            && !stats.bodies.is_empty()
        {
            let content: Map<String, Value> = stats
                .bodies
                .iter()
                .map(|(media, body)| (media.clone(), body.to_media_type(media)))
                .collect();
            response.insert("content".into(), Value::Object(content));
        }
        if hits > 0 {
            response.insert("x-reconstructor-hits".into(), json!(hits));
        }
        responses.insert(key, Value::Object(response));
    }
    if responses.is_empty() {
        responses.insert(
            "default".into(),
            json!({"description": "No response was observed."}),
        );
    }
    Value::Object(responses)
}

fn info(host: &HostSpec, operations: &[Operation], options: &RenderOptions) -> Value {
    let title = options.title.clone().unwrap_or_else(|| host.host.clone());
    let version = options
        .version
        .clone()
        .unwrap_or_else(|| "1.0.0".to_owned());
    let hits: u64 = operations.iter().map(|op| op.hits).sum();
    let first = operations.iter().map(|op| op.first_seen).min();
    let last = operations.iter().map(|op| op.last_seen).max();
    let description = match (first, last) {
        (Some(first), Some(last)) => format!(
            "Reconstructed from {hits} observed requests to {} between {} and {}.",
            host.host,
            timestamp(&first),
            timestamp(&last)
        ),
        _ => format!("No requests to {} were observed.", host.host),
    };
    json!({"title": title, "version": version, "description": description})
}

fn servers(host: &HostSpec) -> Value {
    let mut schemes: Vec<Scheme> = host.schemes.clone();
    if schemes.is_empty() {
        schemes.push(if host.port == 443 {
            Scheme::Https
        } else {
            Scheme::Http
        });
    }
    // HTTPS first.
    schemes.sort_by_key(|s| match s {
        Scheme::Https => 0,
        Scheme::Http => 1,
    });
    schemes.dedup();
    let hostname = if host.hostname.contains(':') {
        format!("[{}]", host.hostname)
    } else {
        host.hostname.clone()
    };
    let servers: Vec<Value> = schemes
        .into_iter()
        .map(|scheme| {
            let url = if host.port == scheme.default_port() {
                format!("{}://{hostname}", scheme.as_str())
            } else {
                format!("{}://{hostname}:{}", scheme.as_str(), host.port)
            };
            json!({"url": url})
        })
        .collect();
    Value::Array(servers)
}

// ---------------------------------------------------------------------------
// Shared schemas
// ---------------------------------------------------------------------------

/// Fewest properties for an object schema to be worth a component.
const LIFT_MIN_PROPERTIES: usize = 3;
/// Fewest places an object schema must appear at to become a component.
const LIFT_MIN_USES: usize = 2;

/// One distinct object schema met in the document.
#[derive(Debug, Default)]
struct Candidate {
    uses: usize,
    /// The order it was first met in.
    first: usize,
    /// Names suggested by where it was met, with how often.
    hints: BTreeMap<String, usize>,
    name: Option<String>,
    built: bool,
}

#[derive(Debug, Default)]
struct Lifter {
    candidates: HashMap<String, Candidate>,
}

/// The body schemas of the paths, in document order, with the name their top objects would get.
fn body_schemas(paths: &mut Map<String, Value>) -> Vec<(&mut Value, Option<String>)> {
    let mut sites = Vec::new();
    for (path, item) in paths.iter_mut() {
        let hint = Template::parse(path).and_then(|t| resource_name(&t));
        let Value::Object(item) = item else { continue };
        for operation in item.values_mut() {
            let Value::Object(operation) = operation else {
                continue;
            };
            let mut contents = Vec::new();
            for (key, value) in operation.iter_mut() {
                match (key.as_str(), value) {
                    ("requestBody", body) => contents.extend(body.get_mut("content")),
                    ("responses", Value::Object(responses)) => {
                        contents
                            .extend(responses.values_mut().filter_map(|r| r.get_mut("content")));
                    }
                    _ => {}
                }
            }
            for content in contents {
                let Value::Object(content) = content else {
                    continue;
                };
                for media in content.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        sites.push((schema, hint.clone()));
                    }
                }
            }
        }
    }
    sites
}

/// Moves object schemas that appear at several places into components; returns the components.
fn lift_shared_schemas(paths: &mut Map<String, Value>) -> Map<String, Value> {
    let mut lifter = Lifter::default();
    let mut sites = body_schemas(paths);
    for (schema, hint) in &sites {
        lifter.count(schema, hint.as_deref());
    }
    lifter.name();
    let mut components = Map::new();
    for (schema, _) in &mut sites {
        lifter.replace(schema, &mut components);
    }
    components
}

/// The canonical text of an object schema worth lifting (nullability set aside), and whether it
/// was nullable.
fn liftable(schema: &Map<String, Value>) -> Option<(String, bool)> {
    let nullable = match schema.get("type")? {
        Value::String(t) if t == "object" => false,
        Value::Array(types) if types.len() == 2 && types[0] == "object" && types[1] == "null" => {
            true
        }
        _ => return None,
    };
    let properties = schema.get("properties")?.as_object()?;
    if properties.len() < LIFT_MIN_PROPERTIES {
        return None;
    }
    let mut plain = schema.clone();
    plain.insert("type".into(), json!("object"));
    Some((serde_json::to_string(&plain).ok()?, nullable))
}

/// The name suggested for an object under `key` in an object suggested as `parent`.
fn child_hint(key: &str, parent: Option<&str>) -> Option<String> {
    if GENERIC_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
        return parent.map(str::to_owned);
    }
    type_name(key).or_else(|| parent.map(str::to_owned))
}

impl Lifter {
    fn count(&mut self, schema: &Value, hint: Option<&str>) {
        let Value::Object(map) = schema else { return };
        if let Some((canonical, _)) = liftable(map) {
            let first = self.candidates.len();
            let candidate = self
                .candidates
                .entry(canonical)
                .or_insert_with(|| Candidate {
                    first,
                    ..Candidate::default()
                });
            candidate.uses += 1;
            if let Some(hint) = hint {
                *candidate.hints.entry(hint.to_owned()).or_default() += 1;
            }
        }
        if let Some(Value::Object(properties)) = map.get("properties") {
            for (key, value) in properties {
                self.count(value, child_hint(key, hint).as_deref());
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = map.get(key) {
                self.count(child, hint);
            }
        }
        if let Some(Value::Array(variants)) = map.get("oneOf") {
            for variant in variants {
                self.count(variant, hint);
            }
        }
    }

    /// Names the candidates used often enough, in the order they were first met: the most
    /// frequent hint (then the first by text), made unique.
    fn name(&mut self) {
        let mut chosen: Vec<(&String, &mut Candidate)> = self
            .candidates
            .iter_mut()
            .filter(|(_, c)| c.uses >= LIFT_MIN_USES)
            .collect();
        chosen.sort_by_key(|(_, c)| c.first);
        let mut used = BTreeSet::new();
        for (_, candidate) in chosen {
            let best = candidate
                .hints
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map_or("Object", |(name, _)| name.as_str());
            candidate.name = Some(unique(best, &mut used));
        }
    }

    fn replace(&mut self, schema: &mut Value, components: &mut Map<String, Value>) {
        let Value::Object(map) = schema else { return };
        if let Some((canonical, nullable)) = liftable(map)
            && let Some(candidate) = self.candidates.get_mut(&canonical)
            && let Some(name) = candidate.name.clone()
        {
            if !candidate.built {
                candidate.built = true;
                let mut body = map.clone();
                body.insert("type".into(), json!("object"));
                let mut body = Value::Object(body);
                self.replace_children(&mut body, components);
                components.insert(name.clone(), body);
            }
            let reference = json!({"$ref": format!("#/components/schemas/{name}")});
            *schema = if nullable {
                json!({"oneOf": [reference, {"type": "null"}]})
            } else {
                reference
            };
            return;
        }
        self.replace_children(schema, components);
    }

    fn replace_children(&mut self, schema: &mut Value, components: &mut Map<String, Value>) {
        let Value::Object(map) = schema else { return };
        if let Some(Value::Object(properties)) = map.get_mut("properties") {
            for value in properties.values_mut() {
                self.replace(value, components);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = map.get_mut(key) {
                self.replace(child, components);
            }
        }
        if let Some(Value::Array(variants)) = map.get_mut("oneOf") {
            for variant in variants {
                self.replace(variant, components);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// The order keys are written in, for objects of the specification; keys not listed follow,
/// sorted, and extensions (`x-…`) come last.
const KEY_ORDER: &[&str] = &[
    "openapi",
    "info",
    "jsonSchemaDialect",
    "servers",
    "tags",
    "paths",
    "components",
    "title",
    "version",
    "summary",
    "description",
    "url",
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "trace",
    "operationId",
    "parameters",
    "requestBody",
    "content",
    "responses",
    "security",
    "$ref",
    "type",
    "scheme",
    "bearerFormat",
    "name",
    "in",
    "format",
    "enum",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "oneOf",
    "schema",
    "example",
    "schemas",
    "securitySchemes",
];

/// Keys whose value is a map keyed by user names (kept sorted, their values are spec objects).
const NAMED_MAPS: &[&str] = &[
    "paths",
    "properties",
    "responses",
    "content",
    "schemas",
    "securitySchemes",
];

/// Keys whose value is data, written as it is.
const RAW_VALUES: &[&str] = &["example", "examples", "enum", "const", "default"];

/// How the keys of an object are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An object of the specification: keys in [`KEY_ORDER`].
    Spec,
    /// A map keyed by names: sorted keys.
    Named,
    /// Data: as it is.
    Raw,
}

fn key_rank(key: &str) -> usize {
    if key.starts_with("x-") {
        return usize::MAX;
    }
    KEY_ORDER
        .iter()
        .position(|k| *k == key)
        .unwrap_or(KEY_ORDER.len())
}

/// The entries of an object in writing order, each with the mode of its value.
fn entries(map: &Map<String, Value>, mode: Mode) -> Vec<(&String, &Value, Mode)> {
    let mut entries: Vec<(&String, &Value, Mode)> = map
        .iter()
        .map(|(key, value)| {
            let child = match mode {
                Mode::Raw => Mode::Raw,
                Mode::Named => Mode::Spec,
                Mode::Spec if RAW_VALUES.contains(&key.as_str()) || key.starts_with("x-") => {
                    Mode::Raw
                }
                Mode::Spec if NAMED_MAPS.contains(&key.as_str()) => Mode::Named,
                Mode::Spec => Mode::Spec,
            };
            (key, value, child)
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    if mode == Mode::Spec {
        entries.sort_by_key(|(key, _, _)| key_rank(key));
    }
    entries
}

/// A document value written with keys in the conventional order.
#[derive(Debug)]
struct Ordered<'a> {
    value: &'a Value,
    mode: Mode,
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(map) => {
                let entries = entries(map, self.mode);
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value, mode) in entries {
                    out.serialize_entry(key, &Ordered { value, mode })?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for value in items {
                    out.serialize_element(&Ordered {
                        value,
                        mode: self.mode,
                    })?;
                }
                out.end()
            }
            value => value.serialize(serializer),
        }
    }
}

/// The document as indented JSON, keys in the conventional OpenAPI order.
pub fn to_json(document: &Value) -> String {
    let ordered = Ordered {
        value: document,
        mode: Mode::Spec,
    };
    serde_json::to_string_pretty(&ordered).unwrap_or_default()
}

/// The document as YAML, keys in the conventional OpenAPI order.
///
/// Block style, two-space indentation, sequences at the indentation of their key. Strings are
/// written plain only when no YAML 1.1 or 1.2 reader can take them for anything but a string
/// (they start with a letter, `/`, `_` or `$`, hold no `:` or `#`, and are not `yes`, `no`,
/// `on`, `null`…); everything else is double-quoted, so dates, versions and numbers in strings
/// stay strings in every reader.
pub fn to_yaml(document: &Value) -> String {
    let mut out = String::new();
    match document {
        Value::Object(map) if !map.is_empty() => yaml_map(&mut out, map, Mode::Spec, 0, false),
        Value::Array(items) if !items.is_empty() => yaml_seq(&mut out, items, Mode::Spec, 0),
        scalar => {
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, width: usize) {
    out.extend(std::iter::repeat_n(' ', width));
}

/// Writes the entries of a non-empty map at column `width`; the first one continues the current
/// line when `inline` (after a sequence dash).
fn yaml_map(out: &mut String, map: &Map<String, Value>, mode: Mode, width: usize, inline: bool) {
    for (i, (key, value, mode)) in entries(map, mode).into_iter().enumerate() {
        if i > 0 || !inline {
            indent(out, width);
        }
        out.push_str(&yaml_string(key));
        out.push(':');
        match value {
            Value::Object(map) if !map.is_empty() => {
                out.push('\n');
                yaml_map(out, map, mode, width + 2, false);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                yaml_seq(out, items, mode, width);
            }
            scalar => {
                out.push(' ');
                out.push_str(&yaml_scalar(scalar));
                out.push('\n');
            }
        }
    }
}

/// Writes a non-empty sequence with its dashes at column `width`.
fn yaml_seq(out: &mut String, items: &[Value], mode: Mode, width: usize) {
    for item in items {
        indent(out, width);
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push_str("- ");
                yaml_map(out, map, mode, width + 2, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                yaml_seq(out, inner, mode, width + 2);
            }
            scalar => {
                out.push_str("- ");
                out.push_str(&yaml_scalar(scalar));
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection, in flow form.
fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            let text = n.to_string();
            // YAML 1.1 wants a dot in a float with an exponent.
            match text.find(['e', 'E']) {
                Some(e) if !text[..e].contains('.') => format!("{}.0{}", &text[..e], &text[e..]),
                _ => text,
            }
        }
        Value::String(s) => yaml_string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// Words that YAML 1.1 reads as booleans or null.
const YAML_RESERVED: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

fn yaml_string(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '_' | '$'))
        && !s.ends_with(' ')
        && s.chars().all(|c| {
            c.is_alphanumeric()
                || matches!(
                    c,
                    ' ' | '_'
                        | '-'
                        | '.'
                        | '/'
                        | '{'
                        | '}'
                        | '('
                        | ')'
                        | '$'
                        | '+'
                        | '='
                        | '@'
                        | ','
                        | ';'
                        | '~'
                )
        })
        && !YAML_RESERVED.iter().any(|w| s.eq_ignore_ascii_case(w));
    if plain {
        return s.to_owned();
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    quoted.push('"');
    for c in s.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            // Not printable in YAML: escaped.
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                quoted.push_str(&format!("\\x{:02x}", c as u32));
            }
            // Line breaks to YAML 1.1 readers, and the byte order mark: escaped.
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                quoted.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
