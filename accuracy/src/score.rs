//! Comparing discovered endpoints with a spec's operations, parameter names ignored.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::Spec;

/// An endpoint with its parameters written `{}`: `("GET", "/users/{}/repos")`.
pub(crate) type Endpoint = (String, String);

/// The score of one run on one spec.
#[derive(Debug, Default, Clone)]
pub(crate) struct Score {
    pub(crate) expected: usize,
    pub(crate) discovered: usize,
    pub(crate) true_positives: usize,
    pub(crate) recalled: usize,
    /// Discovered endpoints that put a parameter where the spec has a literal.
    pub(crate) false_merges: Vec<Endpoint>,
    /// Discovered endpoints that keep a value literal where the spec has a parameter.
    pub(crate) unmerged: Vec<Endpoint>,
    /// Other discovered endpoints that are not in the spec.
    pub(crate) other: Vec<Endpoint>,
    /// Spec endpoints not discovered.
    pub(crate) misses: Vec<Endpoint>,
}

impl Score {
    pub(crate) fn precision(&self) -> f64 {
        ratio(self.true_positives, self.discovered)
    }
    pub(crate) fn recall(&self) -> f64 {
        ratio(self.recalled, self.expected)
    }
    pub(crate) fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// `/users/{username}/repos/` → `/users/{}/repos`; prefixes and suffixes around a parameter stay
/// (`{Sid}.json` → `{}.json`).
pub(crate) fn normalize(template: &str) -> String {
    let mut out = String::new();
    for segment in template.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        let mut rest = segment;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push_str(&rest[..open]);
            out.push_str("{}");
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// What a spec expects: each operation's normalized endpoint, with the enum expansions it allows
/// (an enum parameter reported as its literal values counts as found).
pub(crate) struct Expected {
    pub(crate) endpoints: BTreeMap<Endpoint, BTreeSet<Endpoint>>,
}

impl Expected {
    pub(crate) fn of(
        spec: &Spec,
        enum_values: &dyn Fn(usize, &str) -> Option<Vec<String>>,
    ) -> Expected {
        let mut endpoints: BTreeMap<Endpoint, BTreeSet<Endpoint>> = BTreeMap::new();
        for (i, op) in spec.operations.iter().enumerate() {
            let key = (op.method.clone(), normalize(&op.path));
            let expansions = endpoints.entry(key).or_default();
            // Each enum parameter may be reported as a parameter or as its literal values,
            // independently of the others (bounded): `/search/{}/poi/{}.json` is found for
            // `/search/{version}/poi/{query}.{ext}` with `ext` an enum.
            let mut variants = vec![op.path.clone()];
            for p in &op.params {
                let Some(values) = enum_values(i, &p.name) else {
                    continue;
                };
                let placeholder = format!("{{{}}}", p.name);
                let mut next = Vec::new();
                for v in &variants {
                    next.push(v.clone());
                    if !v.contains(&placeholder) {
                        continue;
                    }
                    for value in &values {
                        next.push(v.replace(&placeholder, &crate::encode(value)));
                    }
                }
                if next.len() > 256 {
                    break;
                }
                variants = next;
            }
            for v in variants {
                let n = normalize(&v);
                if n != normalize(&op.path) {
                    expansions.insert((op.method.clone(), n));
                }
            }
        }
        Expected { endpoints }
    }
}

/// Scores discovered endpoints (already normalized) against the expectation.
pub(crate) fn score(expected: &Expected, discovered: &BTreeSet<Endpoint>) -> Score {
    let mut s = Score {
        expected: expected.endpoints.len(),
        discovered: discovered.len(),
        ..Score::default()
    };
    let expansions: BTreeSet<&Endpoint> = expected.endpoints.values().flatten().collect();
    for d in discovered {
        if expected.endpoints.contains_key(d) || expansions.contains(d) {
            s.true_positives += 1;
            continue;
        }
        if expected.endpoints.keys().any(|e| generalizes(d, e)) {
            s.false_merges.push(d.clone());
        } else if expected.endpoints.keys().any(|e| generalizes(e, d)) {
            s.unmerged.push(d.clone());
        } else {
            s.other.push(d.clone());
        }
    }
    for (e, exp) in &expected.endpoints {
        if discovered.contains(e) || (!exp.is_empty() && exp.iter().any(|x| discovered.contains(x)))
        {
            s.recalled += 1;
        } else {
            s.misses.push(e.clone());
        }
    }
    s
}

/// Whether `general` has a parameter wherever `specific` differs from it, and nothing else
/// differs.
fn generalizes(general: &Endpoint, specific: &Endpoint) -> bool {
    if general.0 != specific.0 || general == specific {
        return false;
    }
    let g: Vec<&str> = general.1.split('/').collect();
    let s: Vec<&str> = specific.1.split('/').collect();
    g.len() == s.len() && g.iter().zip(&s).all(|(a, b)| a == b || a.contains("{}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Operation, PathParam};

    fn op(path: &str, params: &[&str]) -> Operation {
        Operation {
            method: "GET".to_owned(),
            path: path.to_owned(),
            params: params
                .iter()
                .map(|name| PathParam {
                    name: (*name).to_owned(),
                    schema: serde_json::Value::Null,
                    example: None,
                    description: String::new(),
                })
                .collect(),
            query: Vec::new(),
            request: None,
            response: crate::spec::Response {
                status: 200,
                body: None,
            },
        }
    }

    #[test]
    fn each_enum_parameter_may_be_literal_on_its_own() {
        let spec = Spec {
            id: "example".to_owned(),
            operations: vec![op(
                "/search/{version}/poi/{query}.{ext}",
                &["version", "query", "ext"],
            )],
            doc: serde_json::Value::Null,
        };
        let enums = |_: usize, name: &str| match name {
            "version" => Some(vec!["2".to_owned()]),
            "ext" => Some(vec!["json".to_owned(), "xml".to_owned()]),
            _ => None,
        };
        let expected = Expected::of(&spec, &enums);
        let found = |paths: &[&str]| -> BTreeSet<Endpoint> {
            paths
                .iter()
                .map(|p| ("GET".to_owned(), (*p).to_owned()))
                .collect()
        };
        for paths in [
            &["/search/{}/poi/{}.{}"][..],
            &["/search/2/poi/{}.{}"],
            &["/search/{}/poi/{}.json", "/search/{}/poi/{}.xml"],
            &["/search/2/poi/{}.json", "/search/2/poi/{}.xml"],
        ] {
            let s = score(&expected, &found(paths));
            assert_eq!((s.f1(), s.true_positives), (1.0, paths.len()), "{paths:?}");
        }
        // A value of a parameter that is not an enum is never a literal.
        let s = score(&expected, &found(&["/search/2/poi/pizza.json"]));
        assert_eq!(s.true_positives, 0);
    }
}
