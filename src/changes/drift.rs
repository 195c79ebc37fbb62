//! Drift: how observed traffic departs from a host's reference spec.
//!
//! Catalog endpoints are matched to reference operations by method and path (a documented
//! `{param}` matches any one segment). Then:
//! * **shadow**: an API endpoint with traffic that no documented operation matches;
//! * **unused**: a documented operation without traffic since `since`;
//! * **zombie**: a `deprecated: true` operation with traffic since `since`;
//! * **mismatch**: per matched operation, what traffic shows that the reference does not say
//!   (status codes, parameters, content types), a documented required parameter not always
//!   sent, or credentials other than documented.
//!
//! Each finding carries hits and first and last sighting: those of its endpoints, or for a status
//! code its own count.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::surface::{Operation, OperationKey, Surface, path_shape};
use crate::model::template::Template;
use crate::store::EndpointRow;

/// One operation-level finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Upper-case method.
    pub method: String,
    /// The documented path (unused, zombie) or the observed one (shadow).
    pub path: String,
    /// Exchanges.
    pub hits: u64,
    /// Earliest sighting, if any.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest sighting, if any.
    pub last_seen: Option<DateTime<Utc>>,
}

/// What kind of mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MismatchKind {
    /// A response status the reference does not list (nor a range or `default` covering it).
    UndocumentedStatusCode,
    /// A query, header or cookie parameter the reference does not list.
    UndocumentedParameter,
    /// A request media type the reference does not list.
    UndocumentedRequestContentType,
    /// A response media type the reference does not list.
    UndocumentedResponseContentType,
    /// A required parameter that traffic does not always send.
    RequiredParameterMissing,
    /// Credentials (or their absence) other than the reference's security requirements.
    SecurityMismatch,
}

/// A per-operation mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Upper-case method.
    pub method: String,
    /// The documented path.
    pub path: String,
    /// What kind.
    pub kind: MismatchKind,
    /// The status code, `in:name` of the parameter, media type or security requirement.
    pub value: String,
    /// A sentence for people.
    pub detail: String,
    /// Exchanges concerned (for a status code, its own count).
    pub hits: u64,
    /// Earliest sighting of the operation.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest sighting of the operation.
    pub last_seen: Option<DateTime<Utc>>,
}

/// Every finding, each list in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// In traffic, not documented.
    pub shadow: Vec<Finding>,
    /// Documented, no traffic since `since`.
    pub unused: Vec<Finding>,
    /// Deprecated, still in traffic.
    pub zombie: Vec<Finding>,
    /// Operation-level differences.
    pub mismatches: Vec<Mismatch>,
}

impl Drift {
    /// Stable keys of what traffic revealed (shadow, zombie, mismatches; unused is an absence),
    /// so each is announced once.
    pub fn marks(&self) -> Vec<String> {
        let mut marks: Vec<String> = Vec::new();
        marks.extend(
            self.shadow
                .iter()
                .map(|f| format!("shadow {} {}", f.method, path_shape(&f.path))),
        );
        marks.extend(
            self.zombie
                .iter()
                .map(|f| format!("zombie {} {}", f.method, path_shape(&f.path))),
        );
        marks.extend(self.mismatches.iter().map(|m| {
            format!(
                "mismatch {} {} {:?} {}",
                m.method,
                path_shape(&m.path),
                m.kind,
                m.value
            )
        }));
        marks
    }
}

/// The statistics of the endpoints matched to one operation.
#[derive(Debug, Default)]
struct Traffic<'a> {
    endpoints: Vec<&'a EndpointRow>,
}

impl Traffic<'_> {
    fn hits(&self) -> u64 {
        self.endpoints.iter().map(|e| e.hits).sum()
    }
    fn first_seen(&self) -> Option<DateTime<Utc>> {
        self.endpoints.iter().map(|e| e.first_seen).min()
    }
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.endpoints.iter().map(|e| e.last_seen).max()
    }
}

/// Compares traffic with the reference. `observed` is the surface of the reconstructed document
/// (for parameters, media types and security), `endpoints` the catalog rows (for statistics).
/// Only endpoints seen at or after `since` count as traffic.
pub fn drift(
    reference: &Surface,
    observed: &Surface,
    endpoints: &[EndpointRow],
    since: Option<DateTime<Utc>>,
) -> Drift {
    let templates: Vec<(&OperationKey, Option<Template>)> = reference
        .operations
        .iter()
        .map(|(key, op)| (key, Template::parse(&op.path)))
        .collect();
    let mut matched: BTreeMap<&OperationKey, Traffic<'_>> = BTreeMap::new();
    // Observed operations (by key in the reconstructed document) per reference operation.
    let mut observed_for: BTreeMap<&OperationKey, BTreeSet<OperationKey>> = BTreeMap::new();
    let mut drift = Drift::default();
    for endpoint in endpoints {
        if !endpoint.api || since.is_some_and(|since| endpoint.last_seen < since) {
            continue;
        }
        let shape = path_shape(&endpoint.path);
        let exact = OperationKey {
            method: endpoint.method.clone(),
            shape: shape.clone(),
        };
        let documented = if reference.operations.contains_key(&exact) {
            templates
                .iter()
                .find(|(key, _)| **key == exact)
                .map(|(k, _)| *k)
        } else {
            templates
                .iter()
                .find(|(key, template)| {
                    key.method == endpoint.method
                        && template.as_ref().is_some_and(|t| t.matches(&endpoint.path))
                })
                .map(|(key, _)| *key)
        };
        match documented {
            Some(key) => {
                matched.entry(key).or_default().endpoints.push(endpoint);
                observed_for.entry(key).or_default().insert(exact);
            }
            None => drift.shadow.push(Finding {
                method: endpoint.method.clone(),
                path: endpoint.path.clone(),
                hits: endpoint.hits,
                first_seen: Some(endpoint.first_seen),
                last_seen: Some(endpoint.last_seen),
            }),
        }
    }
    for (key, documented) in &reference.operations {
        let traffic = matched.get(key);
        let finding = || Finding {
            method: key.method.clone(),
            path: documented.path.clone(),
            hits: traffic.map_or(0, Traffic::hits),
            first_seen: traffic.and_then(Traffic::first_seen),
            last_seen: traffic.and_then(Traffic::last_seen),
        };
        let Some(traffic) = traffic else {
            // Never seen, or not since `since`: its older statistics are still worth showing.
            let older: Vec<&EndpointRow> = endpoints
                .iter()
                .filter(|e| {
                    e.method == key.method
                        && Template::parse(&documented.path)
                            .is_some_and(|t| t.matches(&e.path) || path_shape(&e.path) == key.shape)
                })
                .collect();
            let older = Traffic { endpoints: older };
            drift.unused.push(Finding {
                hits: older.hits(),
                first_seen: older.first_seen(),
                last_seen: older.last_seen(),
                ..finding()
            });
            continue;
        };
        if documented.deprecated {
            drift.zombie.push(finding());
        }
        let keys = observed_for.get(key).cloned().unwrap_or_default();
        for observed_key in &keys {
            if let Some(seen) = observed.operations.get(observed_key) {
                compare(&mut drift.mismatches, key, documented, seen, traffic);
            }
        }
        compare_statuses(&mut drift.mismatches, key, documented, traffic);
    }
    drift
        .shadow
        .sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    drift.mismatches.sort_by(|a, b| {
        (&a.path, &a.method, a.kind, &a.value).cmp(&(&b.path, &b.method, b.kind, &b.value))
    });
    drift.mismatches.dedup_by(|a, b| {
        (&a.path, &a.method, a.kind, &a.value) == (&b.path, &b.method, b.kind, &b.value)
    });
    drift
}

fn compare_statuses(
    out: &mut Vec<Mismatch>,
    key: &OperationKey,
    documented: &Operation,
    traffic: &Traffic<'_>,
) {
    let mut counts: BTreeMap<u16, u64> = BTreeMap::new();
    for endpoint in &traffic.endpoints {
        for (status, n) in &endpoint.status_codes {
            *counts.entry(*status).or_default() += n;
        }
    }
    for (status, hits) in counts {
        if status_documented(&documented.status_codes, status) {
            continue;
        }
        out.push(Mismatch {
            method: key.method.clone(),
            path: documented.path.clone(),
            kind: MismatchKind::UndocumentedStatusCode,
            value: status.to_string(),
            detail: format!("responses with status {status} are not documented"),
            hits,
            first_seen: traffic.first_seen(),
            last_seen: traffic.last_seen(),
        });
    }
}

/// `200` is covered by `200`, `2XX` or `default`.
fn status_documented(documented: &BTreeSet<String>, status: u16) -> bool {
    documented.contains("default")
        || documented.contains(&status.to_string())
        || documented.contains(&format!("{}XX", status / 100))
}

/// `application/json` is covered by itself, `application/*` and `*/*`.
fn media_documented(documented: &BTreeSet<String>, media: &str) -> bool {
    let family = media.split('/').next().unwrap_or_default();
    documented.contains(media)
        || documented.contains(&format!("{family}/*"))
        || documented.contains("*/*")
}

fn compare(
    out: &mut Vec<Mismatch>,
    key: &OperationKey,
    documented: &Operation,
    seen: &Operation,
    traffic: &Traffic<'_>,
) {
    let mut push = |kind: MismatchKind, value: &str, detail: String| {
        out.push(Mismatch {
            method: key.method.clone(),
            path: documented.path.clone(),
            kind,
            value: value.to_owned(),
            detail,
            hits: traffic.hits(),
            first_seen: traffic.first_seen(),
            last_seen: traffic.last_seen(),
        });
    };
    for name in seen.parameters.keys() {
        if !documented.parameters.contains_key(name) {
            push(
                MismatchKind::UndocumentedParameter,
                name,
                format!("parameter {name} is sent but not documented"),
            );
        }
    }
    for (name, required) in &documented.parameters {
        if *required && seen.parameters.get(name) != Some(&true) {
            push(
                MismatchKind::RequiredParameterMissing,
                name,
                format!("required parameter {name} is missing from some or all requests"),
            );
        }
    }
    for media in &seen.request_content_types {
        if !media_documented(&documented.request_content_types, media) {
            push(
                MismatchKind::UndocumentedRequestContentType,
                media,
                format!("request bodies of type {media} are not documented"),
            );
        }
    }
    for media in &seen.response_content_types {
        if !media_documented(&documented.response_content_types, media) {
            push(
                MismatchKind::UndocumentedResponseContentType,
                media,
                format!("responses of type {media} are not documented"),
            );
        }
    }
    // Security: what traffic used against what the reference allows. An operation without
    // requirements allows anonymous calls; `{}` among them does too.
    let allows_anonymous = documented.security.is_empty() || documented.security.contains("");
    let observed: BTreeSet<&str> = if seen.security.is_empty() {
        BTreeSet::from([""])
    } else {
        seen.security.iter().map(String::as_str).collect()
    };
    for requirement in observed {
        if requirement.is_empty() {
            if !allows_anonymous {
                push(
                    MismatchKind::SecurityMismatch,
                    "",
                    format!(
                        "called without credentials; documented as requiring {}",
                        documented
                            .security
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                );
            }
        } else if !documented.security.contains(requirement) && !documented.security.is_empty() {
            push(
                MismatchKind::SecurityMismatch,
                requirement,
                format!(
                    "called with {requirement}, which is not among the documented requirements"
                ),
            );
        } else if documented.security.is_empty() {
            push(
                MismatchKind::SecurityMismatch,
                requirement,
                format!("called with {requirement}; the operation documents no security"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn endpoint(method: &str, path: &str, hits: u64, statuses: &[(u16, u64)]) -> EndpointRow {
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        EndpointRow {
            id: 1,
            host: "shop.example".into(),
            method: method.into(),
            template: path.into(),
            path: path.into(),
            api: true,
            hits,
            first_seen: at,
            last_seen: at + chrono::Duration::hours(1),
            status_codes: statuses.iter().copied().collect(),
            request_types: BTreeMap::new(),
            response_types: BTreeMap::new(),
            fields: None,
        }
    }

    fn reference() -> Surface {
        Surface::of(&json!({
            "components": {"securitySchemes": {"jwt": {"type": "http", "scheme": "bearer"}}},
            "paths": {
                "/users/{id}": {"get": {
                    "parameters": [{"name": "fields", "in": "query", "required": true}],
                    "security": [{"jwt": []}],
                    "responses": {"200": {"content": {"application/json": {}}}, "5XX": {}}
                }},
                "/users": {"get": {"deprecated": true, "responses": {"default": {}}}},
                "/orders": {"post": {"responses": {"201": {}}}}
            }
        }))
    }

    #[test]
    fn finds_shadow_unused_zombie_and_mismatches() {
        let observed = Surface::of(&json!({"paths": {
            "/users/{userId}": {"get": {
                "parameters": [{"name": "verbose", "in": "query"}],
                "responses": {"200": {"content": {"text/html": {}}}}
            }},
            "/users": {"get": {"responses": {"200": {}}}},
            "/admin/debug": {"get": {"responses": {"200": {}}}}
        }}));
        let endpoints = vec![
            endpoint(
                "GET",
                "/users/{userId}",
                10,
                &[(200, 7), (404, 2), (503, 1)],
            ),
            endpoint("GET", "/users", 3, &[(200, 3)]),
            endpoint("GET", "/admin/debug", 1, &[(200, 1)]),
        ];
        let drift = drift(&reference(), &observed, &endpoints, None);
        assert_eq!(drift.shadow.len(), 1);
        assert_eq!(drift.shadow[0].path, "/admin/debug");
        assert_eq!(drift.shadow[0].hits, 1);
        assert_eq!(drift.unused.len(), 1);
        assert_eq!(
            (
                drift.unused[0].method.as_str(),
                drift.unused[0].path.as_str()
            ),
            ("POST", "/orders")
        );
        assert_eq!(drift.unused[0].hits, 0);
        assert_eq!(drift.unused[0].last_seen, None);
        assert_eq!(drift.zombie.len(), 1);
        assert_eq!(drift.zombie[0].path, "/users");
        assert_eq!(drift.zombie[0].hits, 3);
        let found: Vec<(MismatchKind, &str, u64)> = drift
            .mismatches
            .iter()
            .map(|m| (m.kind, m.value.as_str(), m.hits))
            .collect();
        assert_eq!(
            found,
            vec![
                (MismatchKind::UndocumentedStatusCode, "404", 2),
                (MismatchKind::UndocumentedParameter, "query:verbose", 10),
                (
                    MismatchKind::UndocumentedResponseContentType,
                    "text/html",
                    10
                ),
                (MismatchKind::RequiredParameterMissing, "query:fields", 10),
                (MismatchKind::SecurityMismatch, "", 10),
            ]
        );
        assert!(drift.mismatches.iter().all(|m| m.path == "/users/{id}"));
        assert_eq!(drift.marks().len(), 2 + 5);
    }

    #[test]
    fn since_turns_old_traffic_into_unused() {
        let observed = Surface::default();
        let endpoints = vec![endpoint("POST", "/orders", 4, &[(201, 4)])];
        let later = DateTime::parse_from_rfc3339("2026-12-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let all = drift(&reference(), &observed, &endpoints, None);
        assert!(!all.unused.iter().any(|f| f.path == "/orders"));
        let recent = drift(&reference(), &observed, &endpoints, Some(later));
        let orders = recent.unused.iter().find(|f| f.path == "/orders").unwrap();
        assert_eq!(orders.hits, 4);
        assert!(orders.last_seen.is_some());
    }

    #[test]
    fn literal_traffic_matches_documented_templates_and_static_files_are_not_shadow() {
        let observed = Surface::default();
        let mut page = endpoint("GET", "/index.html", 1, &[(200, 1)]);
        page.api = false;
        let endpoints = vec![endpoint("GET", "/users/42", 1, &[(200, 1)]), page];
        let drift = drift(&reference(), &observed, &endpoints, None);
        assert!(drift.shadow.is_empty());
        assert!(!drift.unused.iter().any(|f| f.path == "/users/{id}"));
    }
}
