//! A second traffic model, independent of `generate`: the values of name-like path parameters
//! come from one pool per parameter name, shared by every operation of the API, as in real
//! traffic where the same tenants, owners and projects appear under every route that takes them.
//!
//! - **Hot**: each pool holds 10–15 handles; every operation that takes the parameter is
//!   requested for every handle, so each handle is seen under every route, hundreds of times
//!   over the API. Parameters of several pools pair up the same way everywhere (the `k`-th
//!   owner always with the `k`-th repository), as one tenant's resources do.
//! - **Tail**: each pool holds 40–80 handles drawn with a Zipf-like law: most handles are seen
//!   once to three times, a few are hot.
//! - **Low**: 4–6 distinct values per parameter, for how recall degrades on little traffic.
//!
//! Identifier-like parameters (integers, UUIDs, opaque ids) take fresh values per request in the
//! hot and tail regimes (and come from small pools in the low one). Fixed operations (no path
//! parameter: `/`, collection GETs) get 1–6 requests each.

use serde_json::Value;

use crate::generate::Rng;
use crate::spec::{Operation, PathParam, Spec, fnv1a};

/// Which regime of the pooled model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Regime {
    Hot,
    Tail,
    Low,
}

/// What a parameter's values look like.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Its `enum`, cycled.
    Enum(Vec<String>),
    Integer,
    Uuid,
    Date,
    /// A handle or slug (owners, tenants, projects, branches, names).
    Handle(HandleKind),
    /// An opaque identifier in the API's one style.
    Opaque,
    /// A value matching the schema's pattern.
    Pattern(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandleKind {
    Person,
    Organisation,
    Project,
    Branch,
    Thing,
}

/// Path instances per operation: `(operation index, concrete path)`, in operation order.
pub(crate) fn paths(spec: &Spec, regime: Regime, seed: u64) -> Vec<(usize, String)> {
    let mut pools = Pools::new(spec, regime, seed);
    let mut out = Vec::new();
    for (index, op) in spec.operations.iter().enumerate() {
        let mut rng = Rng::from_parts(&[&spec.id, &op.method, &op.path, "pooled"], seed);
        let names = crate::placeholders(&op.path);
        if names.is_empty() {
            let hits = 1 + rng.below(6);
            for _ in 0..hits {
                out.push((index, clean(&op.path)));
            }
            continue;
        }
        let params: Vec<PathParam> = names.iter().map(|n| param_of(op, n)).collect();
        let shapes: Vec<Shape> = params.iter().map(|p| shape(p, &spec.id, regime)).collect();
        let requests = match regime {
            // Every handle under every route, one to three times each.
            Regime::Hot => {
                let widest = params
                    .iter()
                    .zip(&shapes)
                    .map(|(p, s)| match s {
                        Shape::Handle(_) => pools.handles(&p.name, regime).len(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                let rounds = 1 + rng.below(3);
                if widest == 0 {
                    6 + rng.below(10)
                } else {
                    widest * rounds
                }
            }
            Regime::Tail => 4 + rng.below(12),
            Regime::Low => 4 + rng.below(3),
        };
        for r in 0..requests {
            let mut path = op.path.clone();
            for (p, s) in params.iter().zip(&shapes) {
                let value = pools.value(p, s, regime, r, &mut rng);
                path = path.replace(&format!("{{{}}}", p.name), &crate::encode(&value));
            }
            out.push((index, clean(&path)));
        }
    }
    out
}

/// `//a/b/` → `/a/b`.
fn clean(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segments.join("/"))
}

fn param_of(op: &Operation, name: &str) -> PathParam {
    op.params
        .iter()
        .find(|p| p.name == name)
        .cloned()
        .unwrap_or_else(|| PathParam {
            name: name.to_owned(),
            schema: Value::Null,
            example: None,
            description: String::new(),
        })
}

/// Lowercase words of a parameter name: `repo_owner` and `repoOwner` → `["repo", "owner"]`.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn shape(param: &PathParam, spec_id: &str, regime: Regime) -> Shape {
    let schema = &param.schema;
    if let Some(list) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = list
            .iter()
            .filter_map(|v| match v {
                Value::String(s) if !s.is_empty() && !s.contains('/') => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        if !values.is_empty() {
            return Shape::Enum(values);
        }
    }
    let ty = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    if matches!(ty, "integer" | "number") || matches!(format, "int32" | "int64") {
        return Shape::Integer;
    }
    if matches!(format, "uuid" | "guid") {
        return Shape::Uuid;
    }
    if format == "date" {
        return Shape::Date;
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        return Shape::Pattern(pattern.to_owned());
    }
    let w = words(&param.name);
    let last = w.last().map(String::as_str).unwrap_or("");
    let any = |list: &[&str]| w.iter().any(|x| list.contains(&x.as_str()));
    let id_like = matches!(
        last,
        "id" | "ids" | "sid" | "uid" | "uuid" | "key" | "token"
    );
    if matches!(last, "number" | "num" | "index" | "no" | "page") {
        return Shape::Integer;
    }
    if any(&["uuid", "guid"]) {
        return Shape::Uuid;
    }
    if !id_like {
        if any(&[
            "owner", "user", "username", "login", "member", "author", "person",
        ]) {
            return Shape::Handle(HandleKind::Person);
        }
        if any(&[
            "org",
            "organization",
            "organisation",
            "tenant",
            "team",
            "enterprise",
            "workspace",
            "company",
            "account",
            "customer",
            "namespace",
            "group",
        ]) {
            return Shape::Handle(HandleKind::Organisation);
        }
        if any(&[
            "repo",
            "repository",
            "project",
            "app",
            "site",
            "slug",
            "bucket",
            "package",
            "service",
            "database",
            "domain",
            "space",
            "board",
            "channel",
        ]) {
            return Shape::Handle(HandleKind::Project);
        }
        if any(&["branch", "ref", "tag", "environment", "env"]) {
            return Shape::Handle(HandleKind::Branch);
        }
        if any(&["name", "alias", "handle", "label", "title", "key"]) || ty == "string" {
            return Shape::Handle(HandleKind::Thing);
        }
    }
    // Opaque ids: in the low regime they come from a small pool like every other value.
    let _ = (spec_id, regime);
    Shape::Opaque
}

/// The API's pools, built on first use per parameter name.
struct Pools {
    spec_id: String,
    seed: u64,
    handles: std::collections::HashMap<String, Vec<String>>,
    small: std::collections::HashMap<String, Vec<String>>,
    /// One id style per API.
    style: u64,
}

impl Pools {
    fn new(spec: &Spec, regime: Regime, seed: u64) -> Pools {
        let _ = regime;
        Pools {
            spec_id: spec.id.clone(),
            seed,
            handles: Default::default(),
            small: Default::default(),
            style: fnv1a(format!("{}#style", spec.id).as_bytes()) % 4,
        }
    }

    /// The pool of handles for a parameter name (normalized: `repo_owner` and `repoOwner` share
    /// one).
    fn handles(&mut self, name: &str, regime: Regime) -> &Vec<String> {
        let key = words(name).join("_");
        let spec_id = self.spec_id.clone();
        let seed = self.seed;
        self.handles.entry(key.clone()).or_insert_with(|| {
            let mut rng = Rng::from_parts(&[&spec_id, &key, "pool"], seed);
            let size = match regime {
                Regime::Hot => 10 + rng.below(6),
                Regime::Tail => 40 + rng.below(41),
                Regime::Low => 4 + rng.below(3),
            };
            let kind = kind_of(&key);
            let mut pool: Vec<String> = Vec::with_capacity(size);
            let mut attempts = 0;
            while pool.len() < size && attempts < size * 50 {
                attempts += 1;
                let h = handle(kind, &mut rng);
                if !pool.contains(&h) {
                    pool.push(h);
                }
            }
            pool
        })
    }

    fn value(
        &mut self,
        param: &PathParam,
        shape: &Shape,
        regime: Regime,
        request: usize,
        rng: &mut Rng,
    ) -> String {
        match shape {
            Shape::Enum(values) => values[request % values.len()].clone(),
            Shape::Handle(_) => {
                let pool = self.handles(&param.name, regime).clone();
                match regime {
                    Regime::Hot | Regime::Low => pool[request % pool.len()].clone(),
                    Regime::Tail => pool[zipf(pool.len(), rng)].clone(),
                }
            }
            _ if regime == Regime::Low => {
                let key = format!("{}#{}", words(&param.name).join("_"), self.style);
                let style = self.style;
                let spec_id = self.spec_id.clone();
                let seed = self.seed;
                let pool = self.small.entry(key.clone()).or_insert_with(|| {
                    let mut r = Rng::from_parts(&[&spec_id, &key, "small"], seed);
                    let size = 4 + r.below(3);
                    let mut pool = Vec::new();
                    let mut attempts = 0;
                    while pool.len() < size && attempts < 200 {
                        attempts += 1;
                        let v = fresh(shape, style, &mut r);
                        if !pool.contains(&v) {
                            pool.push(v);
                        }
                    }
                    pool
                });
                pool[request % pool.len()].clone()
            }
            _ => fresh(shape, self.style, rng),
        }
    }
}

fn kind_of(key: &str) -> HandleKind {
    let probe = PathParam {
        name: key.to_owned(),
        schema: Value::Null,
        example: None,
        description: String::new(),
    };
    match shape(&probe, "", Regime::Hot) {
        Shape::Handle(kind) => kind,
        _ => HandleKind::Thing,
    }
}

/// An index in `0..n` with probability proportional to `1 / (rank + 1)`.
fn zipf(n: usize, rng: &mut Rng) -> usize {
    let total: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    let mut x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
    for k in 0..n {
        x -= 1.0 / (k + 1) as f64;
        if x <= 0.0 {
            return k;
        }
    }
    n - 1
}

const GIVEN: &[&str] = &[
    "ana", "bo", "chen", "dario", "elif", "femi", "greta", "hiro", "ines", "jonas", "kasia",
    "liam", "mei", "nadia", "omar", "priya", "quinn", "rafa", "sven", "tariq", "uma", "vlad",
    "wren", "xiu", "yusuf", "zoe",
];
const FAMILY: &[&str] = &[
    "okafor",
    "lindqvist",
    "moreau",
    "tanaka",
    "novak",
    "haddad",
    "kowalski",
    "ferreira",
    "nguyen",
    "schmidt",
    "osei",
    "rossi",
    "ivanova",
    "brennan",
    "castillo",
    "mehta",
];
const BRAND: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "vandelay",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "wonka",
    "soylent",
    "aperture",
    "massive",
    "nimbus",
    "zephyr",
    "quanta",
    "lumen",
    "vertex",
    "orbit",
    "kestrel",
    "fjord",
    "tundra",
    "cobalt",
];
const BRAND_TAIL: &[&str] = &[
    "", "-labs", "-io", "hq", "-inc", "-dev", "-cloud", "-eng", "co",
];
const PROJECT_HEAD: &[&str] = &[
    "web", "api", "infra", "mobile", "billing", "search", "auth", "data", "docs", "ml", "payments",
    "edge", "core", "ui", "sync", "deploy",
];
const PROJECT_TAIL: &[&str] = &[
    "-service",
    "-client",
    "-app",
    "-sdk",
    "-tools",
    "-platform",
    "-worker",
    "-gateway",
    "-v2",
    "-monorepo",
    "",
    "-cli",
];
const BRANCH: &[&str] = &[
    "main", "develop", "staging", "release-", "feature/", "fix/", "hotfix-", "prod", "qa-",
];

/// A realistic handle of the given kind: `elif-okafor`, `hiro42`, `globex-labs`,
/// `billing-service`, `release-4.2`.
fn handle(kind: HandleKind, rng: &mut Rng) -> String {
    match kind {
        HandleKind::Person => match rng.below(4) {
            0 => format!("{}{}", rng.pick(GIVEN), rng.pick(FAMILY)),
            1 => format!("{}-{}", rng.pick(GIVEN), rng.pick(FAMILY)),
            2 => format!("{}{}", rng.pick(GIVEN), rng.range(1, 999)),
            _ => format!("{}{}", &rng.pick(GIVEN)[..1], rng.pick(FAMILY)),
        },
        HandleKind::Organisation => format!("{}{}", rng.pick(BRAND), rng.pick(BRAND_TAIL)),
        HandleKind::Project => match rng.below(3) {
            0 => format!("{}{}", rng.pick(PROJECT_HEAD), rng.pick(PROJECT_TAIL)),
            1 => format!("{}-{}", rng.pick(BRAND), rng.pick(PROJECT_HEAD)),
            _ => format!("{}{}", rng.pick(PROJECT_HEAD), rng.range(2, 99)),
        },
        HandleKind::Branch => {
            let head = rng.pick(BRANCH);
            if head.ends_with(['-', '/']) {
                let tail = if rng.below(2) == 0 {
                    format!("{}.{}", rng.range(1, 9), rng.range(0, 20))
                } else {
                    rng.pick(PROJECT_HEAD).to_owned()
                };
                format!("{head}{tail}")
            } else {
                head.to_owned()
            }
        }
        HandleKind::Thing => match rng.below(3) {
            0 => format!("{}-{}", rng.pick(PROJECT_HEAD), rng.pick(BRAND)),
            1 => format!("{}_{}", rng.pick(BRAND), rng.range(1, 99)),
            _ => format!("{}{}", rng.pick(PROJECT_HEAD), rng.pick(PROJECT_TAIL)),
        },
    }
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// A value of a non-handle shape.
fn fresh(shape: &Shape, style: u64, rng: &mut Rng) -> String {
    match shape {
        Shape::Enum(values) => values[rng.below(values.len())].clone(),
        Shape::Integer => rng.range(1, 5_000_000).to_string(),
        Shape::Uuid => uuid(rng),
        Shape::Date => format!(
            "{}-{:02}-{:02}",
            rng.range(2015, 2027),
            rng.range(1, 13),
            rng.range(1, 29)
        ),
        Shape::Pattern(p) => crate::generate::from_pattern(p, rng)
            .filter(|v| !v.is_empty() && !v.contains('/'))
            .unwrap_or_else(|| rng.range(1, 5_000_000).to_string()),
        Shape::Handle(kind) => handle(*kind, rng),
        Shape::Opaque => match style {
            0 => rng.range(100, 90_000_000).to_string(),
            1 => uuid(rng),
            2 => rng.chars(ALNUM, 12),
            _ => rng.chars(HEX, 24),
        },
    }
}

fn uuid(rng: &mut Rng) -> String {
    let h = rng.chars(HEX, 32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        let doc = serde_json::json!({
            "openapi": "3.0.0",
            "paths": {
                "/": {"get": {}},
                "/repos/{owner}/{repo}": {"get": {}},
                "/repos/{owner}/{repo}/issues": {"get": {}},
                "/repos/{owner}/{repo}/issues/{number}": {"get": {"parameters": [
                    {"name": "number", "in": "path", "schema": {"type": "integer"}}
                ]}},
            }
        });
        Spec::from_document("example.com", doc)
    }

    fn values_at(paths: &[(usize, String)], op: usize, segment: usize) -> Vec<String> {
        paths
            .iter()
            .filter(|(i, _)| *i == op)
            .map(|(_, p)| p.split('/').nth(segment).unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn hot_pools_are_shared_across_operations() {
        let s = spec();
        let paths = paths(&s, Regime::Hot, 3);
        let op = |p: &str| s.operations.iter().position(|o| o.path == p).unwrap();
        let owners = |path| {
            let mut v = values_at(&paths, op(path), 2);
            v.sort();
            v.dedup();
            v
        };
        let a = owners("/repos/{owner}/{repo}");
        let b = owners("/repos/{owner}/{repo}/issues");
        assert!((10..=15).contains(&a.len()), "{a:?}");
        assert_eq!(a, b);
        // Fixed operations get 1–6 hits.
        let root = paths.iter().filter(|(i, _)| *i == op("")).count();
        assert!((1..=6).contains(&root), "{root}");
        // Ids are fresh per request.
        let numbers = values_at(&paths, op("/repos/{owner}/{repo}/issues/{number}"), 5);
        let mut distinct = numbers.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() * 10 >= numbers.len() * 9);
    }

    #[test]
    fn tail_has_mostly_rare_values() {
        let s = spec();
        let paths = paths(&s, Regime::Tail, 5);
        let mut counts: std::collections::HashMap<String, usize> = Default::default();
        for (_, p) in &paths {
            if let Some(owner) = p.split('/').nth(2) {
                *counts.entry(owner.to_owned()).or_default() += 1;
            }
        }
        let rare = counts.values().filter(|&&c| c <= 3).count();
        assert!(rare * 2 >= counts.len(), "{counts:?}");
        assert!(counts.values().any(|&c| c >= 4), "{counts:?}");
    }

    #[test]
    fn low_regime_has_few_values() {
        let s = spec();
        let paths = paths(&s, Regime::Low, 9);
        let op = s
            .operations
            .iter()
            .position(|o| o.path.ends_with("{number}"))
            .expect("the issue operation");
        let mut numbers = values_at(&paths, op, 5);
        assert!(numbers.len() >= 4, "{numbers:?}");
        numbers.sort();
        numbers.dedup();
        assert!((1..=6).contains(&numbers.len()), "{numbers:?}");
    }

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("repoOwner"), ["repo", "owner"]);
        assert_eq!(words("repo_owner"), ["repo", "owner"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(kind_of("org"), HandleKind::Organisation);
    }
}
