//! Endpoint templates (`/users/{userId}/repos`) and the per-path templating of concrete paths.
//!
//! A template is a list of segments; a segment is a literal or one parameter, optionally between
//! a literal prefix and suffix (`{callId}.json`). Its canonical text ([`Template::as_str`]) has no
//! trailing slash (`/users/` and `/users` are one endpoint) and names its parameters only; the
//! annotated text ([`Template::annotated`]) adds each parameter's type (`/users/{userId:integer}`)
//! so that the type survives a round trip through storage. [`Template::parse`] reads both.
//!
//! Parameter names come from the literal segment right before the parameter, singularised and
//! camel-cased: an identifier is `{orderId}` after `orders`, a slug promoted by the merge is
//! `{order}`; with no literal before it (or a version, `api`…) the name comes from the type:
//! `{id}`, `{uuid}`, `{hash}`, `{token}`, `{date}`, `{dateTime}`, `{email}`, `{ip}`, `{number}`,
//! `{name}`. Names are unique within a template: the second `{id}` is `{id2}`.

use std::fmt;

use super::segment::{self, Kind, ParamType};

/// One parameter of a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// The name, unique within its template.
    pub name: String,
    /// The type of the values seen.
    pub kind: ParamType,
}

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// Fixed text, as it appears in paths (percent-encoded).
    Literal(String),
    /// A parameter (an index into [`Template::params`]) between fixed text: `{callId}.json`.
    Param {
        index: usize,
        prefix: String,
        suffix: String,
    },
}

/// An endpoint template such as `/users/{userId}/repos`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    text: String,
    segments: Vec<Segment>,
    params: Vec<Param>,
}

impl Template {
    /// Parses `/users/{userId}/repos` or its annotated form `/users/{userId:integer}/repos`.
    /// A parameter without a type annotation is a [`ParamType::String`]. A trailing slash is
    /// ignored and empty segments are skipped. Returns `None` when the text does not start with
    /// `/`, a brace is unbalanced, a segment holds two parameters, a name is empty or not made of
    /// letters, digits, `_`, `-`, `.` or `$`, a type is unknown, or two parameters share a name.
    pub fn parse(template: &str) -> Option<Template> {
        let rest = template.strip_prefix('/')?;
        let mut segments = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        for raw in rest.split('/').filter(|s| !s.is_empty()) {
            match parse_param_segment(raw)? {
                None => segments.push(Segment::Literal(raw.to_owned())),
                Some((prefix, name, kind, suffix)) => {
                    if params.iter().any(|p| p.name == name) {
                        return None;
                    }
                    segments.push(Segment::Param {
                        index: params.len(),
                        prefix: prefix.to_owned(),
                        suffix: suffix.to_owned(),
                    });
                    params.push(Param {
                        name: name.to_owned(),
                        kind,
                    });
                }
            }
        }
        Some(Template::from_parts(segments, params))
    }

    /// Builds a template; the caller guarantees unique names and valid indices.
    pub(crate) fn from_parts(segments: Vec<Segment>, params: Vec<Param>) -> Template {
        let text = render(&segments, &params, false);
        Template {
            text,
            segments,
            params,
        }
    }

    /// The canonical text: `/users/{userId}`, `/` for the root.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text with each parameter's type: `/users/{userId:integer}`.
    pub fn annotated(&self) -> String {
        render(&self.segments, &self.params, true)
    }

    /// The parameters in path order; names are unique.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether this is the root template `/`.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether a normalized path (trailing slash ignored) is an instance of this template: the
    /// same number of segments, literals equal, each parameter matching one non-empty segment
    /// with the parameter's prefix and suffix. Parameter types are not checked.
    pub fn matches(&self, path: &str) -> bool {
        let segments = split_path(path);
        segments.len() == self.segments.len() && self.matches_prefix(&segments)
    }

    /// Whether the first segments of `path` are an instance of this whole template.
    fn matches_prefix(&self, path: &[&str]) -> bool {
        path.len() >= self.segments.len()
            && self
                .segments
                .iter()
                .zip(path)
                .all(|(segment, value)| segment_matches(segment, value))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

pub(crate) fn segment_matches(segment: &Segment, value: &str) -> bool {
    match segment {
        Segment::Literal(text) => text == value,
        Segment::Param { prefix, suffix, .. } => {
            value.len() > prefix.len() + suffix.len()
                && value.starts_with(prefix.as_str())
                && value.ends_with(suffix.as_str())
        }
    }
}

fn render(segments: &[Segment], params: &[Param], annotated: bool) -> String {
    if segments.is_empty() {
        return "/".to_owned();
    }
    let len: usize = segments
        .iter()
        .map(|segment| match segment {
            Segment::Literal(literal) => 1 + literal.len(),
            Segment::Param {
                index,
                prefix,
                suffix,
            } => {
                let param = &params[*index];
                let annotation = if annotated {
                    1 + param.kind.as_str().len()
                } else {
                    0
                };
                3 + prefix.len() + param.name.len() + annotation + suffix.len()
            }
        })
        .sum();
    let mut text = String::with_capacity(len);
    for segment in segments {
        text.push('/');
        match segment {
            Segment::Literal(literal) => text.push_str(literal),
            Segment::Param {
                index,
                prefix,
                suffix,
            } => {
                let param = &params[*index];
                text.push_str(prefix);
                text.push('{');
                text.push_str(&param.name);
                if annotated {
                    text.push(':');
                    text.push_str(param.kind.as_str());
                }
                text.push('}');
                text.push_str(suffix);
            }
        }
    }
    text
}

/// `Ok(None)` for a literal segment, `Some(Some((prefix, name, kind, suffix)))` for a parameter,
/// `None` when malformed.
#[allow(clippy::type_complexity)]
fn parse_param_segment(raw: &str) -> Option<Option<(&str, &str, ParamType, &str)>> {
    let Some(open) = raw.find('{') else {
        return (!raw.contains('}')).then_some(None);
    };
    let close = raw.find('}')?;
    if close < open {
        return None;
    }
    let (prefix, inner, suffix) = (&raw[..open], &raw[open + 1..close], &raw[close + 1..]);
    if suffix.contains(['{', '}']) || prefix.contains('}') {
        return None;
    }
    let (name, kind) = match inner.split_once(':') {
        Some((name, kind)) => (name, ParamType::from_name(kind)?),
        None => (inner, ParamType::String),
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
    valid.then_some(Some((prefix, name, kind, suffix)))
}

/// Per-host overrides, from the configuration file or the rules API. Both kinds apply to the path
/// they name and to every path under it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostRules {
    /// "This is a template": `/repos/{owner}/{repo}` makes the first three segments of every path
    /// under `/repos/…/…` take this shape and these names.
    pub templates: Vec<Template>,
    /// "This stays literal": `/users/me` keeps `/users/me` and the first two segments of every
    /// path under it literal, before any merge.
    pub literals: Vec<String>,
}

impl HostRules {
    /// The number of leading segments of `path` that a literal rule keeps literal (0 if none).
    pub(crate) fn literal_prefix(&self, path: &[&str]) -> usize {
        self.literals
            .iter()
            .filter_map(|rule| {
                let rule = split_path(rule);
                (!rule.is_empty() && path.len() >= rule.len() && path[..rule.len()] == rule[..])
                    .then_some(rule.len())
            })
            .max()
            .unwrap_or(0)
    }

    /// The template rule that covers the start of `path`: the longest, then the one with the most
    /// literal segments, then the first listed.
    pub(crate) fn template_for(&self, path: &[&str]) -> Option<&Template> {
        let mut best: Option<(&Template, usize, usize)> = None;
        for rule in &self.templates {
            if rule.is_empty() || !rule.matches_prefix(path) {
                continue;
            }
            let literals = rule.len() - rule.params().len();
            let better = best.is_none_or(|(_, len, lits)| {
                rule.len() > len || (rule.len() == len && literals > lits)
            });
            if better {
                best = Some((rule, rule.len(), literals));
            }
        }
        best.map(|(rule, _, _)| rule)
    }
}

/// Splits a normalized path into its non-empty segments (so a trailing slash is ignored).
pub(crate) fn split_path(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The template of one normalized path. Deterministic, per path, with no shared state (safe in any
/// number of replicas):
/// - a literal rule covering the start of the path keeps those segments literal;
/// - otherwise a template rule covering the start of the path gives those segments (and names);
/// - every other segment is classified by [`segment::classify`]: typed values become parameters
///   (a typed value with a file extension becomes `{id}.json`), protected and unprotected literals
///   stay; a segment already written as a parameter (`{userId}`) stays one, so templating a
///   template changes nothing;
/// - in the version prefix (the first segment and those after it while they are `api`, `rest`,
///   versions, dates or numbers of at most three digits: `/2010-04-01/…`, `/rest/api/3/…`), dates
///   and small numbers are versions and stay literal.
///
/// The trailing slash is not significant (`/users/` gives `/users`).
pub fn templatize(normalized_path: &str, rules: &HostRules) -> Template {
    let path = split_path(normalized_path);
    let mut builder = Builder::default();
    let mut start = 0;
    let literal = rules.literal_prefix(&path);
    if literal > 0 {
        for value in &path[..literal] {
            builder.literal(value);
        }
        start = literal;
    } else if let Some(rule) = rules.template_for(&path) {
        for segment in rule.segments() {
            match segment {
                Segment::Literal(text) => builder.literal(text),
                Segment::Param {
                    index,
                    prefix,
                    suffix,
                } => {
                    let param = &rule.params()[*index];
                    builder.param(prefix, suffix, param.kind, Some(param.name.clone()));
                }
            }
        }
        start = rule.len();
    }
    let mut in_version_prefix = path[..start].iter().all(|s| is_version_prefix_member(s));
    for value in &path[start..] {
        if let Some((prefix, name, kind, suffix)) = parse_param_segment(value).flatten() {
            builder.param(prefix, suffix, kind, Some(name.to_owned()));
            in_version_prefix = false;
            continue;
        }
        in_version_prefix = in_version_prefix && is_version_prefix_member(value);
        if in_version_prefix {
            builder.literal(value);
            continue;
        }
        match segment::kind(value) {
            Kind::Typed(kind) => match segment::typed_suffix(value) {
                Some(suffix) => builder.param("", suffix, kind, None),
                None => builder.param("", "", kind, None),
            },
            kind => builder.literal_of_kind(value, kind),
        }
    }
    builder.finish()
}

/// `api`, `rest`, versions, dates and numbers of at most three digits.
pub(crate) fn is_version_prefix_member(segment: &str) -> bool {
    matches!(segment::kind(segment), Kind::ApiPrefix | Kind::Version)
        || segment::is_version_like_at_start(segment)
}

/// A parameter waiting for its name: its kind, its given name, the literal before it and that
/// literal's [`segment::kind`] when known.
type PendingParam = (ParamType, Option<String>, Option<String>, Option<Kind>);

/// Assembles a template, naming parameters once all are known.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    segments: Vec<Segment>,
    pending: Vec<PendingParam>,
    /// The [`segment::kind`] of the last segment, when it is a literal whose kind is known.
    last_kind: Option<Kind>,
}

impl Builder {
    /// A literal segment; braces that do not form a parameter are percent-encoded so that the
    /// template text parses back.
    pub(crate) fn literal(&mut self, text: &str) {
        let text = if text.contains(['{', '}']) {
            text.replace('{', "%7B").replace('}', "%7D")
        } else {
            text.to_owned()
        };
        self.segments.push(Segment::Literal(text));
        self.last_kind = None;
    }

    /// [`Builder::literal`] for text whose [`segment::kind`] the caller already knows, so that
    /// naming a parameter after it need not classify it again.
    fn literal_of_kind(&mut self, text: &str, kind: Kind) {
        self.literal(text);
        if !text.contains(['{', '}']) {
            self.last_kind = Some(kind);
        }
    }

    pub(crate) fn param(
        &mut self,
        prefix: &str,
        suffix: &str,
        kind: ParamType,
        name: Option<String>,
    ) {
        let (before, before_kind) = match self.segments.last() {
            Some(Segment::Literal(text)) => (Some(text.clone()), self.last_kind),
            _ => (None, None),
        };
        self.segments.push(Segment::Param {
            index: self.pending.len(),
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        });
        self.pending.push((kind, name, before, before_kind));
        self.last_kind = None;
    }

    /// Given names are kept (the first of two equal ones); the others are generated, then made
    /// unique with a number.
    pub(crate) fn finish(self) -> Template {
        let mut pending = self.pending;
        // The given names kept: the first of equal ones.
        let kept: Vec<bool> = (0..pending.len())
            .map(|i| {
                pending[i]
                    .1
                    .as_ref()
                    .is_some_and(|name| !pending[..i].iter().any(|p| p.1.as_ref() == Some(name)))
            })
            .collect();
        let mut params: Vec<Param> = Vec::with_capacity(pending.len());
        for i in 0..pending.len() {
            let (kind, given, before, before_kind) = &mut pending[i];
            let kind = *kind;
            let name = match given.take() {
                Some(name) if kept[i] => name,
                given => {
                    let base =
                        given.unwrap_or_else(|| param_name(before.as_deref(), *before_kind, kind));
                    // Taken: the names of the parameters before this one, and the given names
                    // kept after it.
                    let rest = &pending[i + 1..];
                    let taken = |candidate: &str| {
                        params.iter().any(|p| p.name == candidate)
                            || rest
                                .iter()
                                .zip(&kept[i + 1..])
                                .any(|(p, &kept)| kept && p.1.as_deref() == Some(candidate))
                    };
                    let mut candidate = base.clone();
                    let mut n = 2;
                    while taken(&candidate) {
                        candidate = format!("{base}{n}");
                        n += 1;
                    }
                    candidate
                }
            };
            params.push(Param { name, kind });
        }
        Template::from_parts(self.segments, params)
    }
}

/// The name of a parameter of `kind` right after the literal `before` (if any): `{orderId}` for an
/// identifier after `orders`, `{order}` for a merged slug, otherwise a name from the type.
/// `before_kind` is the [`segment::kind`] of `before` when the caller knows it.
fn param_name(before: Option<&str>, before_kind: Option<Kind>, kind: ParamType) -> String {
    let base = before.and_then(|before| collection_name(before, before_kind));
    match (base, kind) {
        (Some(base), kind) if kind.is_identifier() => format!("{base}Id"),
        (Some(base), ParamType::String) => base,
        (_, ParamType::Integer | ParamType::ObjectId | ParamType::Ulid | ParamType::PrefixedId) => {
            "id".to_owned()
        }
        (_, ParamType::Uuid) => "uuid".to_owned(),
        (_, ParamType::Hex) => "hash".to_owned(),
        (_, ParamType::Token) => "token".to_owned(),
        (_, ParamType::Date) => "date".to_owned(),
        (_, ParamType::DateTime) => "dateTime".to_owned(),
        (_, ParamType::Email) => "email".to_owned(),
        (_, ParamType::Ipv4 | ParamType::Ipv6) => "ip".to_owned(),
        (_, ParamType::Number) => "number".to_owned(),
        (_, ParamType::String) => "name".to_owned(),
    }
}

/// `orders` → `order`, `payment_intents` → `paymentIntent`, `IncomingPhoneNumbers` →
/// `incomingPhoneNumber`, `categories` → `category`; `None` for a version, `api`, a date or text
/// that does not start with a letter.
fn collection_name(literal: &str, kind: Option<Kind>) -> Option<String> {
    // Not a member of a version prefix (see `is_version_prefix_member`), nor a built-in literal.
    let kind = kind.unwrap_or_else(|| segment::kind(literal));
    if matches!(kind, Kind::ApiPrefix | Kind::Version | Kind::Builtin)
        || segment::is_version_like_at_start(literal)
    {
        return None;
    }
    let decoded = segment::percent_decode(literal);
    let stem = segment::split_extension(&decoded).map_or(&*decoded, |(stem, _)| stem);
    let words: Vec<String> = split_words(stem);
    let first = words.first()?;
    if !first.starts_with(|c: char| c.is_ascii_alphabetic()) || words.len() > 6 {
        return None;
    }
    let last = words.len() - 1;
    let mut name = String::new();
    for (i, word) in words.iter().enumerate() {
        let word = if i == last {
            singular(word)
        } else {
            word.clone()
        };
        if i == 0 {
            name.push_str(&word);
        } else {
            let mut chars = word.chars();
            if let Some(c) = chars.next() {
                name.push(c.to_ascii_uppercase());
                name.push_str(chars.as_str());
            }
        }
    }
    Some(name)
}

/// Lower-case ASCII words of an identifier-like text: `payment_intents` → `payment`, `intents`;
/// `IncomingPhoneNumbers` → `incoming`, `phone`, `numbers`; `HTTPServer` → `http`, `server`.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = prev.is_some_and(|p| {
            (p.is_ascii_lowercase() && c.is_ascii_uppercase())
                || (p.is_ascii_uppercase()
                    && c.is_ascii_uppercase()
                    && next.is_some_and(|n| n.is_ascii_lowercase()))
        });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A simple singular: `categories` → `category`, `addresses` → `address`, `boxes` → `box`,
/// `statuses` → `status`, `users` → `user`; `people`, `status`, `analysis` stay. `word` is
/// lower case.
pub(crate) fn singular(word: &str) -> String {
    let w = word;
    if w.len() > 4
        && let Some(stem) = w.strip_suffix("ies")
    {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes", "zzes", "uses"] {
        if let Some(stem) = w.strip_suffix(suffix) {
            return format!("{stem}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if w.len() > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        return w[..w.len() - 1].to_owned();
    }
    w.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(path: &str) -> String {
        templatize(path, &HostRules::default()).as_str().to_owned()
    }

    #[test]
    fn typed_segments_become_named_parameters() {
        let cases = [
            ("/", "/"),
            ("/users", "/users"),
            ("/users/", "/users"),
            ("/users/123", "/users/{userId}"),
            ("/users/123/", "/users/{userId}"),
            ("/users/me", "/users/me"),
            ("/users/alice", "/users/alice"),
            ("/orders/88231/items/7", "/orders/{orderId}/items/{itemId}"),
            ("/categories/12", "/categories/{categoryId}"),
            ("/addresses/12", "/addresses/{addressId}"),
            ("/people/12", "/people/{peopleId}"),
            ("/statuses/12", "/statuses/{statusId}"),
            ("/boxes/12", "/boxes/{boxId}"),
            (
                "/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa",
                "/payment_intents/{paymentIntentId}",
            ),
            ("/check-runs/42", "/check-runs/{checkRunId}"),
            (
                "/files/550e8400-e29b-41d4-a716-446655440000",
                "/files/{fileId}",
            ),
            ("/v1/550e8400-e29b-41d4-a716-446655440000", "/v1/{uuid}"),
            ("/reports/2024-05-01", "/reports/{date}"),
            ("/a/1/2/3", "/a/{aId}/{id}/{id2}"),
            ("/v2/users/42", "/v2/users/{userId}"),
            ("/api/v1/users/42", "/api/v1/users/{userId}"),
            (
                "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA0123456789abcdef0123456789abcdef.json",
                "/2010-04-01/Accounts/{accountId}/Calls/{callId}.json",
            ),
            ("/2/files/list_folder", "/2/files/list_folder"),
            ("/rest/api/3/issue/10001", "/rest/api/3/issue/{issueId}"),
            ("/2.0/folders/123", "/2.0/folders/{folderId}"),
            ("/users/alice%40example.com", "/users/{email}"),
            ("/hosts/10.0.0.1", "/hosts/{ip}"),
            (
                "/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709",
                "/commits/{commitId}",
            ),
            ("/index.html", "/index.html"),
            ("/static/app.js", "/static/app.js"),
            ("/x/{weird", "/x/%7Bweird"),
            ("/users/{userId}/repos", "/users/{userId}/repos"),
            ("/users/{userId:integer}/repos", "/users/{userId}/repos"),
        ];
        for (path, expected) in cases {
            assert_eq!(t(path), expected, "{path}");
        }
    }

    #[test]
    fn parameters_carry_types_and_formats() {
        let tpl = templatize(
            "/users/42/files/550e8400-e29b-41d4-a716-446655440000/at/2024-05-01",
            &HostRules::default(),
        );
        let kinds: Vec<(&str, ParamType)> = tpl
            .params()
            .iter()
            .map(|p| (p.name.as_str(), p.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("userId", ParamType::Integer),
                ("fileId", ParamType::Uuid),
                ("date", ParamType::Date)
            ]
        );
        assert_eq!(tpl.params()[0].kind.openapi_type(), "integer");
        assert_eq!(tpl.params()[0].kind.format(), Some("int64"));
        assert_eq!(tpl.params()[1].kind.format(), Some("uuid"));
        assert_eq!(
            tpl.annotated(),
            "/users/{userId:integer}/files/{fileId:uuid}/at/{date:date}"
        );
        let back = Template::parse(&tpl.annotated()).unwrap();
        assert_eq!(back, tpl);
    }

    #[test]
    fn parse_and_match() {
        let tpl = Template::parse("/users/{userId}/repos/").unwrap();
        assert_eq!(tpl.as_str(), "/users/{userId}/repos");
        assert_eq!(tpl.params()[0].kind, ParamType::String);
        assert!(tpl.matches("/users/42/repos"));
        assert!(tpl.matches("/users/alice/repos/"));
        assert!(!tpl.matches("/users/42"));
        assert!(!tpl.matches("/users/42/gists"));
        let json = Template::parse("/calls/{callId}.json").unwrap();
        assert!(json.matches("/calls/CA123.json"));
        assert!(!json.matches("/calls/.json"));
        assert!(!json.matches("/calls/CA123"));
        assert_eq!(Template::parse("/").unwrap().as_str(), "/");
        for bad in [
            "users",
            "/a/{",
            "/a/}",
            "/a/{}",
            "/a/{x}/{x}",
            "/a/{x}{y}",
            "/a/{x:nope}",
            "/a/{x y}",
        ] {
            assert!(Template::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn rules_win() {
        let rules = HostRules {
            templates: vec![Template::parse("/repos/{owner}/{repo}").unwrap()],
            literals: vec!["/users/42".to_owned(), "/orders/2024-05-01/".to_owned()],
        };
        let t = |p: &str| templatize(p, &rules).as_str().to_owned();
        assert_eq!(t("/repos/octocat/hello-world"), "/repos/{owner}/{repo}");
        assert_eq!(
            t("/repos/octocat/hello-world/issues/7"),
            "/repos/{owner}/{repo}/issues/{issueId}"
        );
        assert_eq!(t("/repos/octocat"), "/repos/octocat");
        assert_eq!(t("/users/42"), "/users/42");
        assert_eq!(t("/users/42/repos"), "/users/42/repos");
        assert_eq!(t("/users/43"), "/users/{userId}");
        assert_eq!(t("/orders/2024-05-01"), "/orders/2024-05-01");
    }

    #[test]
    fn the_most_specific_template_rule_wins() {
        let rules = HostRules {
            templates: vec![
                Template::parse("/a/{x}").unwrap(),
                Template::parse("/a/{x}/{y}").unwrap(),
                Template::parse("/a/special/{z}").unwrap(),
            ],
            literals: vec![],
        };
        let t = |p: &str| templatize(p, &rules).as_str().to_owned();
        assert_eq!(t("/a/b"), "/a/{x}");
        assert_eq!(t("/a/b/c"), "/a/{x}/{y}");
        assert_eq!(t("/a/special/c"), "/a/special/{z}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn segment() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "users",
                    "orders",
                    "me",
                    "v1",
                    "api",
                    "2.0",
                    "search",
                    "repos",
                    "alice",
                    "octocat",
                    "hello-world",
                    "facade",
                    "index.html",
                    "Accounts",
                    "2024-05-01",
                    "2024-05-01T10:00:00Z",
                    "123",
                    "7",
                    "550e8400-e29b-41d4-a716-446655440000",
                    "deadbeefdeadbeef",
                    "507f1f77bcf86cd799439011",
                    "cus_8fJ2kLq9",
                    "SKU-88231",
                    "8fJ2kLq9",
                    "dGVzdA==",
                    "alice%40example.com",
                    "10.0.0.1",
                    "123.json",
                    "{id}",
                    "{userId:integer}",
                    "%7Bx%7D",
                    "a{b",
                    "}",
                    "%",
                    "%zz",
                    "é",
                ])
                .prop_map(str::to_owned),
                "[a-zA-Z0-9._~%@:{}-]{1,14}",
            ]
        }

        fn path() -> impl Strategy<Value = String> {
            (prop::collection::vec(segment(), 0..7), any::<bool>()).prop_map(|(s, slash)| {
                let mut p = format!("/{}", s.join("/"));
                if slash && !s.is_empty() {
                    p.push('/');
                }
                p
            })
        }

        fn sample(kind: ParamType) -> Option<&'static str> {
            Some(match kind {
                ParamType::Integer => "9876543",
                ParamType::Number => "3.14159",
                ParamType::Uuid => "6fd4ff89-8fc1-42cf-8b29-1890dedd26d7",
                ParamType::Hex => "0123456789abcdef0123",
                ParamType::ObjectId => "5f8d0d55b54764421b7156c9",
                ParamType::Ulid => "01ARZ3NDEKTSV4RRFFQ69G5FAV",
                ParamType::Date => "1999-12-31",
                ParamType::DateTime => "1999-12-31T23:59:59Z",
                ParamType::Email => "bob%40example.org",
                ParamType::Ipv4 => "192.168.7.7",
                ParamType::Ipv6 => "2001:db8::7",
                ParamType::PrefixedId => "ord-99120",
                ParamType::Token => "x7k9p2q4z1",
                ParamType::String => return None,
            })
        }

        proptest! {
            #[test]
            fn templating_is_idempotent_and_names_are_unique(p in path()) {
                let rules = HostRules::default();
                let tpl = templatize(&p, &rules);
                // Unique names.
                let mut names: Vec<&str> = tpl.params().iter().map(|p| p.name.as_str()).collect();
                names.sort_unstable();
                let before = names.len();
                names.dedup();
                prop_assert_eq!(before, names.len());
                // Parses back, with and without types.
                let parsed = Template::parse(tpl.as_str());
                prop_assert!(parsed.is_some(), "{}", tpl.as_str());
                prop_assert_eq!(Template::parse(&tpl.annotated()), Some(tpl.clone()));
                // Templating a template changes nothing.
                prop_assert_eq!(templatize(tpl.as_str(), &rules).as_str().to_owned(), tpl.as_str());
                prop_assert_eq!(templatize(&tpl.annotated(), &rules), tpl.clone());
                // Other values of the same types give the same template.
                if !p.contains(['{', '}']) && tpl.params().iter().all(|p| sample(p.kind).is_some()) {
                    let mut concrete = String::new();
                    for segment in tpl.segments() {
                        concrete.push('/');
                        match segment {
                            Segment::Literal(text) => concrete.push_str(text),
                            Segment::Param { index, prefix, suffix } => {
                                concrete.push_str(prefix);
                                concrete.push_str(sample(tpl.params()[*index].kind).unwrap_or(""));
                                concrete.push_str(suffix);
                            }
                        }
                    }
                    if !tpl.as_str().contains("%7B") {
                        prop_assert!(tpl.matches(&concrete));
                        prop_assert_eq!(templatize(&concrete, &rules).as_str().to_owned(), tpl.as_str());
                    }
                }
            }

            #[test]
            fn parsing_never_panics(s in "\\PC{0,40}") {
                if let Some(tpl) = Template::parse(&s) {
                    prop_assert_eq!(Template::parse(&tpl.annotated()), Some(tpl));
                }
            }
        }
    }
}
