//! From exchanges to catalog endpoints: which endpoint each exchange belongs to, whether it is
//! an API call at all, and the learned templates that a new path resolves to.
//!
//! Classification is deterministic per exchange: the host key, then the path's template
//! ([`templatize`] with the host's rules), then — when the host has learned templates (the
//! result of earlier merges) — the most specific learned template that the path fits, so a new
//! username goes straight to `/users/{user}` while `/users/me` stays itself. The learned
//! templates are a cache of the catalog, refreshed from the store; a stale cache only means a
//! row that the next merge folds, never a wrong count.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use serde::de::IgnoredAny;

use crate::model::catalog::{CatalogBatch, EndpointKey, host_key};
use crate::model::exchange::Exchange;
use crate::model::segment::{self, Kind, ParamType};
use crate::model::template::{HostRules, Segment, Template, split_path, templatize};
use crate::openapi::EndpointSummary;
use crate::store::EndpointTemplate;

/// File extensions of static assets: never API endpoints.
const STATIC_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "css", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif",
    "bmp", "tif", "tiff", "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg", "wav",
    "m4a", "mov", "avi", "html", "htm", "txt", "xml", "pdf", "zip", "gz", "wasm", "swf",
];

/// Response media types of pages and assets rather than API answers.
fn is_non_api_media(media: &str) -> bool {
    media == "text/html"
        || media == "application/xhtml+xml"
        || media == "text/css"
        || media == "text/javascript"
        || media == "application/javascript"
        || media.starts_with("image/")
        || media.starts_with("font/")
        || media.starts_with("audio/")
        || media.starts_with("video/")
}

/// Whether a path names a static asset by its extension (`/static/app.3f9a.js`).
pub fn is_static_asset(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    match last.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            let ext = ext.to_ascii_lowercase();
            STATIC_EXTENSIONS.contains(&ext.as_str())
        }
        _ => false,
    }
}

/// Whether an exchange looks like an API call rather than a page or an asset: not a static file
/// by extension, and not answered with HTML, CSS, scripts, images, fonts or media.
pub fn is_api(exchange: &Exchange) -> bool {
    if is_static_asset(&exchange.path) {
        return false;
    }
    match exchange
        .response
        .as_ref()
        .and_then(|r| r.content_type_ref())
    {
        Some(media) => !is_non_api_media(&media),
        None => true,
    }
}

/// A signature of a successful JSON response's shape: its top-level field names (for an array,
/// its first element's, marked as such) as a 64-bit set, one bit per name. The merge compares
/// signatures by overlap to tell values of one parameter (about the same fields, give or take
/// optional ones) from distinct resources (`/faq/related` next to `/faq/{id}`).
pub fn response_fields(exchange: &Exchange) -> Option<i64> {
    let response = exchange.response.as_ref()?;
    if !matches!(exchange.status, Some(200..=299)) || response.body.truncated {
        return None;
    }
    let media = response.content_type_ref()?;
    if !(media == "application/json" || media.ends_with("+json")) {
        return None;
    }
    let bytes = &response.body.bytes;
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let (names, array): (Vec<String>, bool) = match bytes[start] {
        b'{' => (
            serde_json::from_slice::<BTreeMap<String, IgnoredAny>>(bytes)
                .ok()?
                .into_keys()
                .collect(),
            false,
        ),
        b'[' => {
            let items: Vec<serde_json::Value> = serde_json::from_slice(bytes).ok()?;
            let first = items.first()?.as_object()?;
            (first.keys().cloned().collect(), true)
        }
        _ => return None,
    };
    if names.is_empty() {
        return None;
    }
    let mut set = 0u64;
    for name in &names {
        let mut hasher = Fnv64::default();
        array.hash(&mut hasher);
        name.hash(&mut hasher);
        set |= 1 << (hasher.finish() % 64);
    }
    Some(set as i64)
}

/// FNV-1a: stable across processes and versions, unlike the standard library's hasher, which
/// matters because signatures are stored and compared between replicas.
#[derive(Debug)]
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The learned templates of one host, as a segment trie: a path that fits several goes to the
/// most specific (literal segments win over parameters, from left to right).
#[derive(Debug, Default)]
pub struct Resolver {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Default)]
struct TrieNode {
    literals: HashMap<String, usize>,
    /// Parameter segments.
    params: Vec<ParamChild>,
    /// The template ending here, with its endpoint id.
    end: Option<(Template, i64)>,
}

impl Resolver {
    /// A resolver over a host's endpoints, given as `(id, template)` (ids grow with creation
    /// time). Templates with parameters are kept, and so are the literal endpoints that such a
    /// template would otherwise swallow *and that existed before it*: the constants that the merge
    /// left next to a parameter (`/users/me` next to `/users/{user}`). A literal endpoint created
    /// after the parameter that it fits is only a value that arrived before this cache learned
    /// the parameter; it is not kept, and [`Resolver::stale`] names it for folding.
    pub fn new<'a>(endpoints: impl IntoIterator<Item = (i64, &'a str)>) -> Resolver {
        let parsed: Vec<(i64, Template)> = endpoints
            .into_iter()
            .filter_map(|(id, t)| Some((id, Template::parse(t)?)))
            .collect();
        let mut resolver = Resolver {
            nodes: vec![TrieNode::default()],
        };
        for (id, t) in parsed.iter().filter(|(_, t)| !t.params().is_empty()) {
            resolver.insert(t, *id);
        }
        let constants: Vec<(i64, &Template)> = parsed
            .iter()
            .filter(|(_, t)| t.params().is_empty())
            .filter(|(id, t)| resolver.lookup_with_id(t).is_some_and(|(_, p)| p > *id))
            .map(|(id, t)| (*id, t))
            .collect();
        for (id, t) in constants {
            resolver.insert(t, id);
        }
        resolver
    }

    /// The literal endpoints among `endpoints` created after the parameter template they fit,
    /// with that template (annotated): values to fold into it.
    pub fn stale<'a>(
        &self,
        endpoints: impl IntoIterator<Item = (i64, &'a str)>,
    ) -> Vec<(String, String)> {
        endpoints
            .into_iter()
            .filter_map(|(id, text)| {
                let t = Template::parse(text)?;
                let (learned, learned_id) = self.lookup_with_id(&t)?;
                (learned_id < id && learned.annotated() != text)
                    .then(|| (text.to_owned(), learned.annotated()))
            })
            .collect()
    }

    /// Whether there is nothing learned.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    fn insert(&mut self, template: &Template, id: i64) {
        let mut node = 0;
        for segment in template.segments() {
            node = match segment {
                Segment::Literal(text) => match self.nodes[node].literals.get(text) {
                    Some(&child) => child,
                    None => {
                        let child = self.push();
                        self.nodes[node].literals.insert(text.clone(), child);
                        child
                    }
                },
                Segment::Param {
                    index,
                    prefix,
                    suffix,
                } => {
                    let takes_literals = template.params()[*index].kind == ParamType::String;
                    let found = self.nodes[node]
                        .params
                        .iter_mut()
                        .find(|p| &p.prefix == prefix && &p.suffix == suffix);
                    match found {
                        Some(param) => {
                            param.takes_literals |= takes_literals;
                            param.child
                        }
                        None => {
                            let child = self.push();
                            self.nodes[node].params.push(ParamChild {
                                prefix: prefix.clone(),
                                suffix: suffix.clone(),
                                child,
                                takes_literals,
                            });
                            child
                        }
                    }
                }
            };
        }
        // The same template under several methods: keep the newest id, so that a literal is a
        // constant when it is older than the parameter under at least one method.
        match &mut self.nodes[node].end {
            Some((_, existing)) => *existing = (*existing).max(id),
            None => self.nodes[node].end = Some((template.clone(), id)),
        }
    }

    fn push(&mut self) -> usize {
        self.nodes.push(TrieNode::default());
        self.nodes.len() - 1
    }

    /// The most specific learned template that `template` (the path's own template) fits: its
    /// literals equal, its parameters under parameters with the same prefix and suffix, and
    /// literals that may be values (not built-in literals, versions or `api`) under parameters.
    pub fn lookup(&self, template: &Template) -> Option<&Template> {
        self.lookup_with_id(template).map(|(t, _)| t)
    }

    fn lookup_with_id(&self, template: &Template) -> Option<(&Template, i64)> {
        if self.is_empty() {
            return None;
        }
        self.walk(0, template.segments())
    }

    fn walk(&self, node: usize, rest: &[Segment]) -> Option<(&Template, i64)> {
        let n = &self.nodes[node];
        let Some((first, rest)) = rest.split_first() else {
            return n.end.as_ref().map(|(t, id)| (t, *id));
        };
        match first {
            Segment::Literal(text) => {
                if let Some(&child) = n.literals.get(text)
                    && let Some(found) = self.walk(child, rest)
                {
                    return Some(found);
                }
                if !matches!(segment::kind(text), Kind::Literal | Kind::Word) {
                    return None;
                }
                n.params.iter().filter(|p| p.takes_literals).find_map(|p| {
                    let fits = text.len() > p.prefix.len() + p.suffix.len()
                        && text.starts_with(p.prefix.as_str())
                        && text.ends_with(p.suffix.as_str());
                    fits.then(|| self.walk(p.child, rest)).flatten()
                })
            }
            Segment::Param { prefix, suffix, .. } => n
                .params
                .iter()
                .filter(|p| &p.prefix == prefix && &p.suffix == suffix)
                .find_map(|p| self.walk(p.child, rest)),
        }
    }
}

/// A parameter segment of the trie.
#[derive(Debug)]
struct ParamChild {
    prefix: String,
    suffix: String,
    child: usize,
    /// Whether a literal may be taken as a value of it: only string parameters (those the
    /// cardinality merge or a rule made) take words and slugs; a typed parameter (`{id:integer}`,
    /// made per request from the values' type) never swallows a literal sibling.
    takes_literals: bool,
}

/// Rules and learned templates per host, shared by every request of a process.
#[derive(Debug, Default)]
pub struct Classifier {
    /// Rules from the configuration file, by host key.
    configured: HashMap<String, HostRules>,
    state: RwLock<Arc<Learned>>,
}

/// A snapshot of what the classifier knows.
#[derive(Debug, Default)]
struct Learned {
    rules: HashMap<String, HostRules>,
    resolvers: HashMap<String, Arc<Resolver>>,
}

static NO_RULES: std::sync::LazyLock<HostRules> = std::sync::LazyLock::new(HostRules::default);

impl Classifier {
    /// A classifier with the rules of the configuration file.
    pub fn new(configured: HashMap<String, HostRules>) -> Classifier {
        let learned = Learned {
            rules: configured.clone(),
            resolvers: HashMap::new(),
        };
        Classifier {
            configured,
            state: RwLock::new(Arc::new(learned)),
        }
    }

    /// The rules from the configuration file.
    pub fn configured(&self) -> &HashMap<String, HostRules> {
        &self.configured
    }

    /// Replaces what was learned: rules stored in the database (added to the configured ones)
    /// and every host's endpoint templates.
    pub fn update(
        &self,
        stored_rules: HashMap<String, HostRules>,
        templates: &HashMap<String, Vec<EndpointTemplate>>,
    ) {
        let rules = self.rules_with(stored_rules);
        let resolvers = templates
            .iter()
            .filter_map(|(host, list)| Some((host.clone(), Arc::new(resolver_of(list)?))))
            .collect();
        let learned = Arc::new(Learned { rules, resolvers });
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = learned;
    }

    /// Replaces the rules stored in the database, and the learned templates of `hosts` only (by
    /// those in `templates`; a host missing there has none left).
    pub fn update_hosts(
        &self,
        stored_rules: HashMap<String, HostRules>,
        hosts: &[String],
        templates: &HashMap<String, Vec<EndpointTemplate>>,
    ) {
        let rules = self.rules_with(stored_rules);
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut resolvers = state.resolvers.clone();
        for host in hosts {
            match templates.get(host).and_then(|list| resolver_of(list)) {
                Some(resolver) => resolvers.insert(host.clone(), Arc::new(resolver)),
                None => resolvers.remove(host),
            };
        }
        *state = Arc::new(Learned { rules, resolvers });
    }

    /// Whether a new endpoint of `host` (`id`, annotated `template`) changes what the learned
    /// templates resolve, so that the host must be read again: a template with parameters
    /// always does; a literal one only when it fits a learned template (or constant) newer than
    /// itself, which keeps it as a constant beside that template (see [`Resolver::new`]).
    pub fn changed_by(&self, host: &str, id: i64, template: &str) -> bool {
        let Some(parsed) = Template::parse(template) else {
            return false;
        };
        if !parsed.params().is_empty() {
            return true;
        }
        let learned = self.snapshot();
        let Some(resolver) = learned.resolvers.get(host) else {
            return false;
        };
        resolver
            .lookup_with_id(&parsed)
            .is_some_and(|(found, found_id)| found_id > id || found.params().is_empty())
    }

    fn rules_with(&self, stored_rules: HashMap<String, HostRules>) -> HashMap<String, HostRules> {
        let mut rules = self.configured.clone();
        for (host, stored) in stored_rules {
            let entry = rules.entry(host).or_default();
            entry.templates.extend(stored.templates);
            entry.literals.extend(stored.literals);
        }
        rules
    }

    fn snapshot(&self) -> Arc<Learned> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The annotated template that a request of `host` (a host key) to `path` is classified
    /// under now.
    pub fn template_of(&self, host: &str, path: &str) -> String {
        let learned = self.snapshot();
        let rules = learned.rules.get(host).unwrap_or(&NO_RULES);
        let resolver = learned.resolvers.get(host).map(|r| &**r);
        resolve_template(path, rules, resolver).annotated()
    }

    /// The rules in effect for a host.
    pub fn rules(&self, host: &str) -> HostRules {
        self.snapshot().rules.get(host).cloned().unwrap_or_default()
    }

    /// Classifies a batch: the endpoint key of each exchange and the aggregates. Every exchange
    /// is counted; its contents are read only when `admit` says so for its endpoint, which bounds
    /// that work per endpoint whatever the traffic. An admitted exchange gives the endpoint's
    /// response shape signature now and, if it looks like an API call, is listed in
    /// [`Classified::sampled`] and read into [`Classified::summaries`].
    pub fn classify(
        &self,
        exchanges: Vec<Exchange>,
        mut admit: impl FnMut(&EndpointKey, &Exchange) -> bool,
    ) -> Classified {
        let learned = self.snapshot();
        let mut keys = Vec::with_capacity(exchanges.len());
        let mut catalog = CatalogBatch::default();
        let mut sampled = Vec::new();
        let mut fields = Vec::new();
        for (i, exchange) in exchanges.iter().enumerate() {
            let (key, template, api) = learned.classify(exchange);
            catalog.add(exchange, &key, api);
            if admit(&key, exchange) {
                if let Some(signature) = catalog.note_fields(&key, || response_fields(exchange)) {
                    fields.push((i, signature));
                }
                if api {
                    sampled.push((i, template.into_owned()));
                }
            }
            keys.push(key);
        }
        let mut classified = Classified {
            exchanges,
            keys,
            catalog,
            fields,
            sampled,
            summaries: Vec::new(),
            whole: Vec::new(),
        };
        classified.summaries = super::summaries::summarize(&classified);
        classified
    }
}

/// A host's resolver, unless it has nothing learned.
fn resolver_of(list: &[EndpointTemplate]) -> Option<Resolver> {
    let resolver = Resolver::new(list.iter().map(|t| (t.id, t.template.as_str())));
    (!resolver.is_empty()).then_some(resolver)
}

/// Exchanges classified into the catalog ([`Classifier::classify`]).
#[derive(Debug, Default)]
pub struct Classified {
    /// The exchanges.
    pub exchanges: Vec<Exchange>,
    /// `keys[i]` is the endpoint of `exchanges[i]`.
    pub keys: Vec<EndpointKey>,
    /// The aggregates (counts, no summaries). A group commit takes them (see
    /// [`Classified::recount`]).
    pub catalog: CatalogBatch,
    /// The response shape signatures recorded in [`Classified::catalog`], each with the exchange
    /// (by index) it was read from, so that [`Classified::recount`] gives the same catalog.
    pub fields: Vec<(usize, i64)>,
    /// The exchanges (by index) to read into their endpoint's summary, with their template.
    pub sampled: Vec<(usize, Template)>,
    /// What the sampled exchanges show of their endpoints, committed with the exchanges
    /// ([`super::summaries::summarize`]).
    pub summaries: Vec<(EndpointKey, EndpointSummary)>,
    /// Under the `sampled` storage policy, whether `exchanges[i]` is stored whole (else only
    /// its metadata); empty when every exchange is.
    pub whole: Vec<bool>,
}

impl Classified {
    /// [`Classified::catalog`] counted again from the exchanges and their keys: the same batch,
    /// for a commit of these exchanges alone after a group commit that took the catalog failed.
    /// Whether an exchange is an API call depends on the exchange only, and the signatures are
    /// those recorded in [`Classified::fields`].
    pub fn recount(&self) -> CatalogBatch {
        let mut catalog = CatalogBatch::default();
        for (exchange, key) in self.exchanges.iter().zip(&self.keys) {
            catalog.add(exchange, key, is_api(exchange));
        }
        for &(i, signature) in &self.fields {
            if let Some(key) = self.keys.get(i) {
                catalog.note_fields(key, || Some(signature));
            }
        }
        catalog
    }
}

impl Learned {
    /// The endpoint of an exchange, its template (borrowed when it is a learned one) and
    /// whether it looks like an API call.
    fn classify(&self, exchange: &Exchange) -> (EndpointKey, Cow<'_, Template>, bool) {
        let host = host_key(&exchange.host, exchange.port, exchange.scheme);
        let rules = self.rules.get(&host).unwrap_or(&NO_RULES);
        let template = resolve_template_ref(
            &exchange.path,
            rules,
            self.resolvers.get(&host).map(|r| &**r),
        );
        let key = EndpointKey {
            host,
            method: exchange.method.clone(),
            template: template.annotated(),
        };
        (key, template, is_api(exchange))
    }
}

/// The template of a path: its own template, or the learned one it fits. A path under a literal
/// rule keeps its own template.
pub fn resolve_template(path: &str, rules: &HostRules, resolver: Option<&Resolver>) -> Template {
    resolve_template_ref(path, rules, resolver).into_owned()
}

/// [`resolve_template`], borrowing a learned template rather than copying it.
fn resolve_template_ref<'r>(
    path: &str,
    rules: &HostRules,
    resolver: Option<&'r Resolver>,
) -> Cow<'r, Template> {
    let own = templatize(path, rules);
    let learned = resolver
        .filter(|_| rules.literal_prefix(&split_path(path)) == 0)
        .and_then(|r| r.lookup(&own));
    match learned {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(own),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(path: &str, rules: &HostRules, resolver: Option<&Resolver>) -> String {
        resolve_template(path, rules, resolver).annotated()
    }

    #[test]
    fn static_assets_are_recognised_by_extension() {
        for path in [
            "/static/app.3f9a.js",
            "/a/b.CSS",
            "/favicon.ico",
            "/fonts/x.woff2",
        ] {
            assert!(is_static_asset(path), "{path}");
        }
        for path in [
            "/users/42",
            "/calls/123.json",
            "/",
            "/.well-known",
            "/v1/users",
        ] {
            assert!(!is_static_asset(path), "{path}");
        }
    }

    fn resolve_with(templates: &[&str], path: &str) -> String {
        // Listed in creation order.
        let resolver = Resolver::new(templates.iter().enumerate().map(|(i, t)| (i as i64, *t)));
        resolve(path, &HostRules::default(), Some(&resolver))
    }

    #[test]
    fn learned_templates_take_new_values_and_leave_constants() {
        let learned = [
            "/users/{user:string}/repos",
            "/users/{user:string}",
            "/users/me",
        ];
        assert_eq!(resolve_with(&learned, "/users/zed"), "/users/{user:string}");
        assert_eq!(
            resolve_with(&learned, "/users/zed/"),
            "/users/{user:string}"
        );
        assert_eq!(
            resolve_with(&learned, "/users/zed/repos"),
            "/users/{user:string}/repos"
        );
        assert_eq!(resolve_with(&learned, "/users/me"), "/users/me");
        // Built-in literals are never taken as values.
        assert_eq!(resolve_with(&learned, "/users/search"), "/users/search");
        // A typed value goes under the parameter too.
        assert_eq!(resolve_with(&learned, "/users/42"), "/users/{user:string}");
        // A typed parameter never takes a literal: `meta` next to `{attachmentId}` stays.
        let typed = ["/attachments/{attachmentId:integer}"];
        assert_eq!(
            resolve_with(&typed, "/attachments/meta"),
            "/attachments/meta"
        );
        assert_eq!(
            resolve_with(&typed, "/attachments/12"),
            "/attachments/{attachmentId:integer}"
        );
        // Nothing learned for this shape.
        assert_eq!(
            resolve_with(&learned, "/orders/42"),
            "/orders/{orderId:integer}"
        );
    }

    #[test]
    fn the_most_specific_template_wins() {
        let learned = [
            "/{a:string}/{b:string}",
            "/repos/{owner:string}/{repo:string}",
        ];
        assert_eq!(
            resolve_with(&learned, "/repos/octo/hello"),
            "/repos/{owner:string}/{repo:string}"
        );
        assert_eq!(resolve_with(&learned, "/x/y"), "/{a:string}/{b:string}");
    }

    #[test]
    fn literal_rules_win_over_learned_templates() {
        let resolver = Resolver::new([(1, "/users/{user:string}")]);
        let rules = HostRules {
            templates: Vec::new(),
            literals: vec!["/users/alice".to_owned()],
        };
        assert_eq!(
            resolve("/users/alice", &rules, Some(&resolver)),
            "/users/alice"
        );
        assert_eq!(
            resolve("/users/bob", &rules, Some(&resolver)),
            "/users/{user:string}"
        );
    }

    #[test]
    fn a_recount_gives_the_catalog_that_classification_gave() {
        use crate::model::exchange::{CapturedBody, Message, Producer, Scheme, SourceFormat};
        let exchange = |host: &str, path: &str, status: u16, media: &str, body: &str| Exchange {
            observed_at: chrono::Utc::now(),
            source: SourceFormat::Nta,
            scheme: Scheme::Https,
            host: host.into(),
            port: 443,
            method: "GET".into(),
            raw_path: path.into(),
            path: path.into(),
            query: None,
            status: Some(status),
            request: Message::default(),
            response: Some(Message {
                headers: vec![("content-type".into(), media.into())],
                body: CapturedBody {
                    bytes: body.as_bytes().to_vec(),
                    truncated: false,
                },
            }),
            client_address: None,
            producer: Producer {
                namespace: Some("shop".into()),
                ..Producer::default()
            },
        };
        let exchanges = vec![
            // No signature from the first exchange of the endpoint, one from the second.
            exchange("a.example", "/users/1", 200, "text/plain", "hello"),
            exchange(
                "a.example",
                "/users/2",
                200,
                "application/json",
                r#"{"id":2}"#,
            ),
            exchange(
                "a.example",
                "/users/3",
                404,
                "application/json",
                r#"{"error":"x"}"#,
            ),
            exchange("a.example", "/app.js", 200, "text/javascript", "x()"),
            exchange(
                "b.example",
                "/orders/7",
                201,
                "application/json",
                r#"{"id":7,"n":1}"#,
            ),
            // Not admitted below: no signature is read from it.
            exchange(
                "b.example",
                "/items/9",
                200,
                "application/json",
                r#"{"sku":"q"}"#,
            ),
        ];
        let classifier = Classifier::new(HashMap::new());
        let classified = classifier.classify(exchanges, |_, exchange| exchange.path != "/items/9");
        let catalog = &classified.catalog;
        assert_eq!(catalog.hosts.len(), 2);
        assert_eq!(catalog.endpoints.len(), 4);
        let signatures = catalog.endpoints.values().filter(|d| d.fields.is_some());
        assert_eq!(signatures.count(), 2);
        assert_eq!(classified.fields.len(), 2);
        assert_eq!(&classified.recount(), catalog);
    }

    #[test]
    fn fields_signature_depends_on_names_only() {
        use crate::model::exchange::{CapturedBody, Message, Producer, Scheme, SourceFormat};
        let exchange = |body: &str| Exchange {
            observed_at: chrono::Utc::now(),
            source: SourceFormat::Nta,
            scheme: Scheme::Https,
            host: "h".into(),
            port: 443,
            method: "GET".into(),
            raw_path: "/a".into(),
            path: "/a".into(),
            query: None,
            status: Some(200),
            request: Message::default(),
            response: Some(Message {
                headers: vec![("content-type".into(), "application/json".into())],
                body: CapturedBody {
                    bytes: body.as_bytes().to_vec(),
                    truncated: false,
                },
            }),
            client_address: None,
            producer: Producer::default(),
        };
        let a = response_fields(&exchange(r#"{"id":1,"name":"x"}"#));
        let b = response_fields(&exchange(r#"{"name":"y","id":2}"#));
        let c = response_fields(&exchange(r#"{"id":1,"title":"x"}"#));
        let d = response_fields(&exchange(r#"[{"id":1,"name":"x"}]"#));
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        // One bit per name: the overlap of two signatures is the overlap of their fields.
        let (a, c) = (a.unwrap() as u64, c.unwrap() as u64);
        assert_eq!(a.count_ones(), 2);
        assert_eq!((a & c).count_ones(), 1);
        assert_eq!(response_fields(&exchange("not json")), None);
        assert_eq!(response_fields(&exchange("{}")), None);
    }
}
