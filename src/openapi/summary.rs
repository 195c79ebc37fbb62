//! The per-endpoint observation summary: everything the spec of one operation is made from, kept
//! small and bounded whatever the traffic.
//!
//! A summary is built from exchanges ([`EndpointSummary::observe`]), stored as JSON (one partial
//! summary per endpoint per commit batch) and folded with others at read time
//! ([`EndpointSummary::merge`]). Merging adds counts and unites sets, so partial summaries can be
//! combined in any order and grouping with the same result as long as no bound is reached; at a
//! bound, what is kept favours what was seen most.
//!
//! What it keeps:
//! * the number of requests;
//! * query parameters, non-infrastructure request headers (see the `headers` module), cookies and
//!   the values of free-text path parameters: per name, how many requests had it, how many had it
//!   more than once, and its value statistics (kinds, formats, a few distinct values);
//! * the credentials seen (see the `security` module): how many requests carried each combination,
//!   how many bearer tokens were JWTs, and how many requests without credentials succeeded;
//! * request bodies per media type and responses per status code and media type (see
//!   the `body` module): counts, the inferred schema or form fields, and one example.
//!
//! Every collection is capped by [`SummaryLimits`]; see there for the numbers.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::media::{self, BodyStats};
use super::text::{TextStats, is_zero};
use super::{headers, security};
use crate::model::exchange::Exchange;
use crate::model::segment::{ParamType, percent_decode};
use crate::model::template::{Segment, Template, split_path};

/// The bounds that keep a summary small whatever the traffic. With the defaults a typical summary
/// takes a few kilobytes stored. The worst case, reachable only by traffic built for it (every
/// status code and media type slot filled with bodies of distinct 64-byte keys and values), is
/// about 4 MB: [`SummaryLimits::max_summary_nodes`] schema positions, one example of at most
/// [`SummaryLimits::max_example_bytes`] per media type and status, and
/// [`SummaryLimits::max_params`] names per collection with their few kept values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryLimits {
    /// Properties kept per object position; an object with more distinct keys is a map.
    pub max_fields: usize,
    /// Distinct values kept per text position (enums list at most 5, so more is never needed).
    pub max_values: usize,
    /// Longest value kept as a possible enum member, in bytes.
    pub max_value_len: usize,
    /// Longest object key kept as a property name; a longer key makes the object a map.
    pub max_key_len: usize,
    /// Nesting depth read in JSON bodies; deeper objects and arrays are recorded without content.
    pub max_depth: usize,
    /// Positions (properties, array items, map values) per body schema.
    pub max_schema_nodes: usize,
    /// Positions in all the body schemas of a summary together.
    pub max_summary_nodes: usize,
    /// Names kept per collection: query parameters, headers, cookies, form fields, path
    /// parameters.
    pub max_params: usize,
    /// Media types kept per request side and per response status.
    pub max_media_types: usize,
    /// Response status codes kept.
    pub max_statuses: usize,
    /// Distinct credential combinations kept.
    pub max_credentials: usize,
    /// Bytes of a body read; a longer body is read as if truncated there.
    pub max_body_bytes: usize,
    /// Bodies read per media type and place in one summary; later ones are only counted.
    pub max_bodies: u64,
    /// Largest body kept as an example, in bytes.
    pub max_example_bytes: usize,
}

impl Default for SummaryLimits {
    fn default() -> Self {
        Self {
            max_fields: 128,
            max_values: 5,
            max_value_len: 64,
            max_key_len: 64,
            max_depth: 12,
            max_schema_nodes: 1024,
            max_summary_nodes: 2048,
            max_params: 32,
            max_media_types: 4,
            max_statuses: 16,
            max_credentials: 8,
            max_body_bytes: 64 * 1024,
            max_bodies: 128,
            max_example_bytes: 2048,
        }
    }
}

/// What was seen of one endpoint (method and template), bounded by [`SummaryLimits`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSummary {
    /// Requests observed.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) requests: u64,
    /// Values of free-text path parameters, by parameter name.
    #[serde(rename = "p", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) path: BTreeMap<String, TextStats>,
    #[serde(rename = "q", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) query: Params,
    #[serde(rename = "h", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) headers: Params,
    #[serde(rename = "c", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) cookies: Params,
    /// Requests per combination of credential keys (sorted, space-separated).
    #[serde(rename = "a", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) credentials: BTreeMap<String, u64>,
    /// Bearer tokens that were (or were redacted as) JWTs.
    #[serde(rename = "j", default, skip_serializing_if = "is_zero")]
    pub(crate) jwt: u64,
    /// Requests without credentials that got a response below 400.
    #[serde(rename = "o", default, skip_serializing_if = "is_zero")]
    pub(crate) open: u64,
    /// Request bodies by media type.
    #[serde(rename = "b", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) request: BTreeMap<String, BodyStats>,
    /// Responses by status code.
    #[serde(rename = "r", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) responses: BTreeMap<u16, ResponseStats>,
}

/// The responses of one status code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResponseStats {
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) count: u64,
    /// Bodies by media type (responses without a body are only counted).
    #[serde(rename = "b", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) bodies: BTreeMap<String, BodyStats>,
}

/// Named values (query parameters, headers, cookies, form fields) by name.
pub(crate) type Params = BTreeMap<String, ParamStats>;

/// What was seen of one named value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ParamStats {
    /// Requests (or complete bodies) that had it.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub(crate) present: u64,
    /// Requests that had it more than once (`?tag=a&tag=b`): an array.
    #[serde(rename = "m", default, skip_serializing_if = "is_zero")]
    pub(crate) repeated: u64,
    /// Multipart parts with a file name.
    #[serde(rename = "f", default, skip_serializing_if = "is_zero")]
    pub(crate) files: u64,
    #[serde(rename = "s", default, skip_serializing_if = "is_default_text")]
    pub(crate) values: TextStats,
}

fn is_default_text(t: &TextStats) -> bool {
    *t == TextStats::default()
}

/// One named value of a request or a body.
#[derive(Debug)]
pub(crate) struct Pair<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) value: PairValue<'a>,
}

/// What a named value holds.
#[derive(Debug)]
pub(crate) enum PairValue<'a> {
    /// Text.
    Text(Cow<'a, str>),
    /// Text not looked at (too long, or not UTF-8): counted as a string of unknown content.
    Unknown,
    /// A file (a multipart part with a file name).
    File,
}

/// Adds the named values of one request (or body). Presence is counted once per name, and only
/// when `count_presence` (a body cut short says nothing about what it lacked). Names past
/// [`SummaryLimits::max_params`] are dropped.
pub(crate) fn observe_params(
    params: &mut Params,
    mut pairs: Vec<Pair<'_>>,
    count_presence: bool,
    limits: &SummaryLimits,
) {
    pairs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut i = 0;
    while i < pairs.len() {
        let name = &pairs[i].name;
        let group = pairs[i..].iter().take_while(|p| p.name == *name).count();
        if name.is_empty() {
            i += group;
            continue;
        }
        if !params.contains_key(name.as_ref())
            && params.len() < limits.max_params
            && name.len() <= limits.max_key_len
        {
            params.insert(name.to_string(), ParamStats::default());
        }
        let stats = params.get_mut(name.as_ref());
        if let Some(stats) = stats {
            if count_presence {
                stats.present += 1;
            }
            if group > 1 {
                stats.repeated += 1;
            }
            for pair in &pairs[i..i + group] {
                match &pair.value {
                    PairValue::Text(value) => stats.values.observe(value, limits),
                    PairValue::Unknown => stats.values.observe_unknown(),
                    PairValue::File => stats.files += 1,
                }
            }
        }
        i += group;
    }
}

/// Folds `other` into `params`; past [`SummaryLimits::max_params`] names, the ones present most
/// often stay (then the first by name).
pub(crate) fn merge_params(params: &mut Params, other: &Params, limits: &SummaryLimits) {
    for (name, stats) in other {
        let mine = params.entry(name.clone()).or_default();
        mine.present += stats.present;
        mine.repeated += stats.repeated;
        mine.files += stats.files;
        mine.values.merge(&stats.values, limits);
    }
    keep_most_seen(params, limits.max_params, |s| s.present);
}

/// Keeps the `cap` entries with the highest `weight` (ties: the first keys).
fn keep_most_seen<K: Ord + Clone, V>(
    map: &mut BTreeMap<K, V>,
    cap: usize,
    weight: impl Fn(&V) -> u64,
) {
    if map.len() <= cap {
        return;
    }
    let mut ranked: Vec<(u64, K)> = map.iter().map(|(k, v)| (weight(v), k.clone())).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, key) in ranked.into_iter().skip(cap) {
        map.remove(&key);
    }
}

/// The schema of a named text value: typed from its values, an array when it was repeated, a
/// binary string when it was a file.
pub(crate) fn param_schema(stats: &ParamStats) -> Value {
    let scalar = if stats.files > 0 && stats.values.count == 0 {
        json!({"type": "string", "format": "binary"})
    } else if stats.files > 0 {
        json!({})
    } else {
        Value::Object(stats.values.lexical_schema())
    };
    if stats.repeated > 0 {
        json!({"type": "array", "items": scalar})
    } else {
        scalar
    }
}

impl EndpointSummary {
    /// Adds one exchange (already redacted). `template` is the endpoint's template (for
    /// path-parameter names/types).
    pub fn observe(&mut self, exchange: &Exchange, template: &Template, limits: &SummaryLimits) {
        self.requests += 1;
        self.observe_path(&exchange.path, template, limits);

        let mut credentials: Vec<String> = Vec::new();
        let mut jwt = false;
        if let Some(query) = &exchange.query {
            let mut pairs = Vec::new();
            for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
                if security::is_api_key_query(&name) && !value.is_empty() {
                    credentials.push(format!("query:{name}"));
                } else {
                    pairs.push(Pair {
                        name,
                        value: PairValue::Text(value),
                    });
                }
            }
            observe_params(&mut self.query, pairs, true, limits);
        }

        let mut header_pairs = Vec::new();
        let mut cookie_pairs = Vec::new();
        for (name, value) in &exchange.request.headers {
            let name = name.as_str();
            if name == "authorization" {
                if let Some((key, is_jwt)) = security::authorization(value) {
                    credentials.push(key);
                    jwt |= is_jwt;
                }
            } else if name == "cookie" {
                for (cookie, value) in cookies(value) {
                    if security::is_session_cookie(cookie) && cookie.len() <= limits.max_key_len {
                        credentials.push(format!("cookie:{cookie}"));
                    } else {
                        cookie_pairs.push(Pair {
                            name: Cow::Borrowed(cookie),
                            value: PairValue::Text(Cow::Borrowed(value)),
                        });
                    }
                }
            } else if security::is_api_key_header(name) {
                if !value.trim().is_empty() {
                    credentials.push(format!("header:{name}"));
                }
            } else if !headers::is_infrastructure(name) {
                header_pairs.push(Pair {
                    name: Cow::Borrowed(name),
                    value: PairValue::Text(Cow::Borrowed(value.as_str())),
                });
            }
        }
        observe_params(&mut self.headers, header_pairs, true, limits);
        observe_params(&mut self.cookies, cookie_pairs, true, limits);
        self.observe_credentials(credentials, jwt, exchange.status, limits);

        let room = limits.max_summary_nodes.saturating_sub(self.schema_nodes());
        if !exchange.request.body.bytes.is_empty() {
            observe_body(&mut self.request, &exchange.request, limits, room);
        }
        if let (Some(status), Some(response)) = (exchange.status, &exchange.response) {
            if !self.responses.contains_key(&status) && self.responses.len() >= limits.max_statuses
            {
                return;
            }
            let stats = self.responses.entry(status).or_default();
            stats.count += 1;
            if !response.body.bytes.is_empty() {
                observe_body(&mut stats.bodies, response, limits, room);
            }
        }
    }

    fn observe_path(&mut self, path: &str, template: &Template, limits: &SummaryLimits) {
        if template.params().is_empty() || !template.matches(path) {
            return;
        }
        for (segment, value) in template.segments().iter().zip(split_path(path)) {
            let Segment::Param {
                index,
                prefix,
                suffix,
            } = segment
            else {
                continue;
            };
            let Some(value) = value
                .strip_prefix(prefix.as_str())
                .and_then(|v| v.strip_suffix(suffix.as_str()))
            else {
                continue;
            };
            let param = &template.params()[*index];
            // Only free text can become an enum; typed values are not worth keeping.
            if param.kind != ParamType::String {
                continue;
            }
            let name = &param.name;
            if !self.path.contains_key(name) && self.path.len() >= limits.max_params {
                continue;
            }
            self.path
                .entry(name.clone())
                .or_default()
                .observe(&percent_decode(value), limits);
        }
    }

    fn observe_credentials(
        &mut self,
        mut keys: Vec<String>,
        jwt: bool,
        status: Option<u16>,
        limits: &SummaryLimits,
    ) {
        if keys.is_empty() {
            if status.is_some_and(|s| s < 400) {
                self.open += 1;
            }
            return;
        }
        keys.sort();
        keys.dedup();
        keys.truncate(4);
        let combination = keys.join(" ");
        if self.credentials.contains_key(&combination)
            || self.credentials.len() < limits.max_credentials
        {
            *self.credentials.entry(combination).or_default() += 1;
        }
        if jwt {
            self.jwt += 1;
        }
    }

    /// Folds another summary in (commutative and associative up to the bounds; used when partial
    /// summaries from different batches/replicas, or from endpoints merged by discovery, are
    /// combined).
    pub fn merge(&mut self, other: &EndpointSummary, limits: &SummaryLimits) {
        self.requests += other.requests;
        for (name, stats) in &other.path {
            self.path
                .entry(name.clone())
                .or_default()
                .merge(stats, limits);
        }
        keep_most_seen(&mut self.path, limits.max_params, |s| s.count);
        merge_params(&mut self.query, &other.query, limits);
        merge_params(&mut self.headers, &other.headers, limits);
        merge_params(&mut self.cookies, &other.cookies, limits);
        for (combination, count) in &other.credentials {
            *self.credentials.entry(combination.clone()).or_default() += count;
        }
        keep_most_seen(&mut self.credentials, limits.max_credentials, |c| *c);
        self.jwt += other.jwt;
        self.open += other.open;
        let mut used = self.schema_nodes();
        merge_bodies(&mut self.request, &other.request, limits, &mut used);
        for (status, stats) in &other.responses {
            let mine = self.responses.entry(*status).or_default();
            mine.count += stats.count;
            merge_bodies(&mut mine.bodies, &stats.bodies, limits, &mut used);
        }
        keep_most_seen(&mut self.responses, limits.max_statuses, |r| r.count);
    }

    /// Positions in all body schemas.
    pub(crate) fn schema_nodes(&self) -> usize {
        nodes_of(&self.request)
            + self
                .responses
                .values()
                .map(|r| nodes_of(&r.bodies))
                .sum::<usize>()
    }

    /// Requests observed.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Whether nothing was observed.
    pub fn is_empty(&self) -> bool {
        *self == EndpointSummary::default()
    }

    /// The schema of the values seen for one path parameter, for a parameter whose template type
    /// is free text: an enum when the thresholds are met.
    pub(crate) fn path_enum(&self, name: &str) -> Option<Value> {
        let values = self.path.get(name)?.enum_values()?;
        Some(json!(values))
    }

    /// The credential keys seen, each once.
    pub(crate) fn credential_keys(&self) -> impl Iterator<Item = &str> {
        self.credentials.keys().flat_map(|c| c.split(' '))
    }
}

/// Splits a `Cookie` header into names and values.
fn cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = name.trim();
        (!name.is_empty() && !name.contains(char::is_whitespace)).then_some((name, value.trim()))
    })
}

fn observe_body(
    bodies: &mut BTreeMap<String, BodyStats>,
    message: &crate::model::exchange::Message,
    limits: &SummaryLimits,
    room: usize,
) {
    let media = media::media_type(message);
    if let Some(stats) = bodies.get_mut(&media) {
        stats.observe(&media, message, limits, room);
    } else if bodies.len() < limits.max_media_types {
        let mut stats = BodyStats::default();
        stats.observe(&media, message, limits, room);
        bodies.insert(media, stats);
    }
}

/// Positions in the body schemas of `bodies`.
fn nodes_of(bodies: &BTreeMap<String, BodyStats>) -> usize {
    bodies
        .values()
        .filter_map(|b| b.json.as_ref())
        .map(|j| j.nodes())
        .sum()
}

/// Folds `other` into `bodies`; `used` counts the positions of the whole summary, kept under
/// [`SummaryLimits::max_summary_nodes`].
fn merge_bodies(
    bodies: &mut BTreeMap<String, BodyStats>,
    other: &BTreeMap<String, BodyStats>,
    limits: &SummaryLimits,
    used: &mut usize,
) {
    for (media, stats) in other {
        let room = limits.max_summary_nodes.saturating_sub(*used);
        let mine = bodies.entry(media.clone()).or_default();
        let before = mine.json.as_ref().map_or(0, |j| j.nodes());
        mine.merge(stats, limits, room);
        let after = mine.json.as_ref().map_or(0, |j| j.nodes());
        *used = (*used + after).saturating_sub(before);
    }
    let before = nodes_of(bodies);
    keep_most_seen(bodies, limits.max_media_types, |b| b.count);
    *used = used.saturating_sub(before - nodes_of(bodies));
}

/// A header, query or cookie parameter object.
pub(crate) fn parameter(name: &str, location: &str, stats: &ParamStats, requests: u64) -> Value {
    let mut parameter = Map::new();
    parameter.insert("name".into(), json!(name));
    parameter.insert("in".into(), json!(location));
    if requests > 0 && stats.present >= requests {
        parameter.insert("required".into(), json!(true));
    }
    parameter.insert("schema".into(), param_schema(stats));
    Value::Object(parameter)
}
