//! Structured differences between two surfaces: operations added, removed and changed, each
//! change saying what was added or removed.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::surface::{Operation, Surface};

/// One operation, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationRef {
    /// Upper-case method.
    pub method: String,
    /// The path as written.
    pub path: String,
}

/// Aspects of an operation that appeared or disappeared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Aspects {
    /// `in:name`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
    /// Response keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_codes: Vec<String>,
    /// Request media types.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_content_types: Vec<String>,
    /// Response media types.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_content_types: Vec<String>,
    /// Security requirements (`""` is "no credentials").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<String>,
    /// Schema property paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
}

impl Aspects {
    fn is_empty(&self) -> bool {
        self.parameters.is_empty()
            && self.status_codes.is_empty()
            && self.request_content_types.is_empty()
            && self.response_content_types.is_empty()
            && self.security.is_empty()
            && self.properties.is_empty()
    }
}

/// What changed in one operation present on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationChange {
    /// Upper-case method.
    pub method: String,
    /// The path as written on the newer side.
    pub path: String,
    /// What appeared.
    pub added: Aspects,
    /// What disappeared.
    pub removed: Aspects,
}

/// The difference between two revisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Operations only in the newer document.
    pub added: Vec<OperationRef>,
    /// Operations only in the older document.
    pub removed: Vec<OperationRef>,
    /// Operations in both whose surface differs.
    pub changed: Vec<OperationChange>,
}

/// Counts, as recorded with each revision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DiffSummary {
    /// Operations added.
    pub added: usize,
    /// Operations removed.
    pub removed: usize,
    /// Operations changed.
    pub changed: usize,
}

impl Diff {
    /// `to` against `from`.
    pub fn between(from: &Surface, to: &Surface) -> Diff {
        let mut diff = Diff::default();
        for (key, op) in &to.operations {
            match from.operations.get(key) {
                None => diff.added.push(OperationRef {
                    method: key.method.clone(),
                    path: op.path.clone(),
                }),
                Some(old) => {
                    let (added, removed) = (aspects(op, old), aspects(old, op));
                    if !added.is_empty() || !removed.is_empty() {
                        diff.changed.push(OperationChange {
                            method: key.method.clone(),
                            path: op.path.clone(),
                            added,
                            removed,
                        });
                    }
                }
            }
        }
        for (key, op) in &from.operations {
            if !to.operations.contains_key(key) {
                diff.removed.push(OperationRef {
                    method: key.method.clone(),
                    path: op.path.clone(),
                });
            }
        }
        diff
    }

    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The counts.
    pub fn summary(&self) -> DiffSummary {
        DiffSummary {
            added: self.added.len(),
            removed: self.removed.len(),
            changed: self.changed.len(),
        }
    }
}

/// What `a` has that `b` has not.
fn aspects(a: &Operation, b: &Operation) -> Aspects {
    fn only<T: Ord + Clone + ToString>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> Vec<String> {
        a.difference(b).map(ToString::to_string).collect()
    }
    let parameters = |op: &Operation| -> BTreeSet<String> {
        op.parameters
            .iter()
            .map(|(name, required)| {
                if *required {
                    format!("{name} (required)")
                } else {
                    name.clone()
                }
            })
            .collect()
    };
    Aspects {
        parameters: only(&parameters(a), &parameters(b)),
        status_codes: only(&a.status_codes, &b.status_codes),
        request_content_types: only(&a.request_content_types, &b.request_content_types),
        response_content_types: only(&a.response_content_types, &b.response_content_types),
        security: only(&a.security, &b.security),
        properties: only(&a.properties, &b.properties),
    }
}

impl fmt::Display for Diff {
    /// A report for people: one line per operation, indented lines per change.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "no material change");
        }
        for op in &self.added {
            writeln!(f, "+ {} {}", op.method, op.path)?;
        }
        for op in &self.removed {
            writeln!(f, "- {} {}", op.method, op.path)?;
        }
        for op in &self.changed {
            writeln!(f, "~ {} {}", op.method, op.path)?;
            for (sign, aspects) in [('+', &op.added), ('-', &op.removed)] {
                let groups: [(&str, &Vec<String>); 6] = [
                    ("parameter", &aspects.parameters),
                    ("status", &aspects.status_codes),
                    ("request content type", &aspects.request_content_types),
                    ("response content type", &aspects.response_content_types),
                    ("security", &aspects.security),
                    ("property", &aspects.properties),
                ];
                for (label, values) in groups {
                    for value in values {
                        let value = if value.is_empty() { "(none)" } else { value };
                        writeln!(f, "    {sign} {label} {value}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_added_removed_and_changed_operations_with_what_changed() {
        let old = Surface::of(&json!({"paths": {
            "/users/{id}": {"get": {"parameters": [{"name": "fields", "in": "query"}],
                "responses": {"200": {"content": {"application/json": {"schema": {"properties": {"id": {}}}}}}}}},
            "/legacy": {"get": {"responses": {"200": {}}}}
        }}));
        let new = Surface::of(&json!({"paths": {
            "/users/{userId}": {"get": {"security": [{}],
                "responses": {"200": {"content": {"application/json": {"schema": {"properties": {"id": {}, "email": {}}}}}},
                              "404": {}}}},
            "/orders": {"post": {"responses": {"201": {}}}}
        }}));
        let diff = Diff::between(&old, &new);
        assert_eq!(
            diff.added,
            vec![OperationRef {
                method: "POST".into(),
                path: "/orders".into()
            }]
        );
        assert_eq!(
            diff.removed,
            vec![OperationRef {
                method: "GET".into(),
                path: "/legacy".into()
            }]
        );
        assert_eq!(diff.changed.len(), 1);
        let changed = &diff.changed[0];
        assert_eq!(changed.path, "/users/{userId}");
        assert_eq!(changed.added.status_codes, vec!["404"]);
        assert_eq!(
            changed.added.properties,
            vec!["response 200 application/json $.email"]
        );
        assert_eq!(changed.added.security, vec![""]);
        assert_eq!(changed.removed.parameters, vec!["query:fields"]);
        assert_eq!(
            diff.summary(),
            DiffSummary {
                added: 1,
                removed: 1,
                changed: 1
            }
        );
        let text = diff.to_string();
        assert!(text.contains("+ POST /orders\n"), "{text}");
        assert!(text.contains("- GET /legacy\n"), "{text}");
        assert!(text.contains("    + status 404\n"), "{text}");
        assert!(text.contains("    - parameter query:fields\n"), "{text}");
        assert!(text.contains("    + security (none)\n"), "{text}");
    }

    #[test]
    fn a_parameter_becoming_required_is_a_change() {
        let optional = Surface::of(
            &json!({"paths": {"/a": {"get": {"parameters": [{"name": "q", "in": "query"}]}}}}),
        );
        let required = Surface::of(
            &json!({"paths": {"/a": {"get": {"parameters": [{"name": "q", "in": "query", "required": true}]}}}}),
        );
        let diff = Diff::between(&optional, &required);
        assert_eq!(diff.changed[0].added.parameters, vec!["query:q (required)"]);
        assert_eq!(diff.changed[0].removed.parameters, vec!["query:q"]);
        assert!(Diff::between(&required, &required).is_empty());
        assert_eq!(Diff::default().to_string(), "no material change\n");
    }
}
