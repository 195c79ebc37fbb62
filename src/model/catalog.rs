//! The catalog's vocabulary, shared by every layer: host keys, endpoint keys, and the counts one
//! batch of exchanges adds to each host and endpoint.
//!
//! Aggregates are keyed by `(host, method, template)` in a [`BTreeMap`], so the store writes
//! them in one stable order in every replica, which keeps concurrent upserts free of deadlocks.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::exchange::{Exchange, Scheme};
pub use super::template::HostRules;

/// The catalog key of a host: the host name, plus `:port` when the port is not the scheme's
/// default (`api.example.com`, `api.example.com:8443`). IPv6 literals are bracketed.
pub fn host_key(hostname: &str, port: u16, scheme: Scheme) -> String {
    let name = if hostname.contains(':') {
        format!("[{hostname}]")
    } else {
        hostname.to_owned()
    };
    if port == scheme.default_port() {
        name
    } else {
        format!("{name}:{port}")
    }
}

/// Splits a host key back into host name and port (`None` when the key names no port).
pub fn split_host_key(key: &str) -> (&str, Option<u16>) {
    if let Some(rest) = key.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((name, tail)) => (name, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (key, None),
        };
    }
    match key.rsplit_once(':') {
        Some((name, port)) => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (key, None),
        },
        None => (key, None),
    }
}

/// One endpoint of the catalog: host key, method and annotated template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointKey {
    /// The host key ([`host_key`]).
    pub host: String,
    /// Upper-case method.
    pub method: String,
    /// The annotated template (`/users/{userId:integer}`).
    pub template: String,
}

/// A merge's decision about one endpoint: its statistics (and exchanges) move to `to`, an
/// endpoint of the same host and method, and `from` goes away.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fold {
    /// Upper-case method.
    pub method: String,
    /// The annotated template folded away.
    pub from: String,
    /// The annotated template it is folded into.
    pub to: String,
}

/// What one batch adds to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointDelta {
    /// Exchanges.
    pub hits: u64,
    /// Earliest observation.
    pub first_seen: DateTime<Utc>,
    /// Latest observation.
    pub last_seen: DateTime<Utc>,
    /// Whether any exchange looked like an API call (not a page or an asset).
    pub api: bool,
    /// Exchanges per response status.
    pub status_codes: BTreeMap<u16, u64>,
    /// Exchanges per request media type.
    pub request_types: BTreeMap<String, u64>,
    /// Exchanges per response media type.
    pub response_types: BTreeMap<String, u64>,
    /// A response shape signature (see `discovery::catalog::response_fields`), when one was
    /// seen.
    pub fields: Option<i64>,
}

impl EndpointDelta {
    fn new(at: DateTime<Utc>) -> Self {
        EndpointDelta {
            hits: 0,
            first_seen: at,
            last_seen: at,
            api: false,
            status_codes: BTreeMap::new(),
            request_types: BTreeMap::new(),
            response_types: BTreeMap::new(),
            fields: None,
        }
    }

    fn add(&mut self, exchange: &Exchange, api: bool) {
        self.hits += 1;
        self.first_seen = self.first_seen.min(exchange.observed_at);
        self.last_seen = self.last_seen.max(exchange.observed_at);
        self.api |= api;
        if let Some(status) = exchange.status {
            *self.status_codes.entry(status).or_default() += 1;
        }
        if let Some(media) = exchange.request.content_type_ref() {
            count(&mut self.request_types, media);
        }
        if let Some(media) = exchange
            .response
            .as_ref()
            .and_then(|r| r.content_type_ref())
        {
            count(&mut self.response_types, media);
        }
    }

    /// Folds another delta of the same endpoint in.
    pub fn absorb(&mut self, other: &EndpointDelta) {
        self.hits += other.hits;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.api |= other.api;
        add_counts(&mut self.status_codes, &other.status_codes);
        add_counts(&mut self.request_types, &other.request_types);
        add_counts(&mut self.response_types, &other.response_types);
        self.fields = self.fields.or(other.fields);
    }
}

/// Counts one more `key`, copying it only when it is new to `counts`.
fn count(counts: &mut BTreeMap<String, u64>, key: std::borrow::Cow<'_, str>) {
    match counts.get_mut(&*key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.into_owned(), 1);
        }
    }
}

/// Adds the counts of `other` into `into`.
pub fn add_counts<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, other: &BTreeMap<K, u64>) {
    for (key, n) in other {
        *into.entry(key.clone()).or_default() += n;
    }
}

/// What one batch adds to one host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDelta {
    /// The host name (no port).
    pub hostname: String,
    /// The port.
    pub port: u16,
    /// Schemes seen.
    pub schemes: BTreeSet<String>,
    /// Producer namespaces seen (Kubernetes namespaces in NTA telemetry).
    pub namespaces: BTreeSet<String>,
}

impl HostDelta {
    fn absorb(&mut self, other: &HostDelta) {
        self.schemes.extend(other.schemes.iter().cloned());
        self.namespaces.extend(other.namespaces.iter().cloned());
    }
}

/// The catalog side of a batch of exchanges, pre-aggregated: one entry per host and per
/// endpoint, whatever the number of exchanges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogBatch {
    /// Per host key.
    pub hosts: BTreeMap<String, HostDelta>,
    /// Per endpoint, in key order.
    pub endpoints: BTreeMap<EndpointKey, EndpointDelta>,
}

impl CatalogBatch {
    /// Counts one classified exchange.
    ///
    /// A host, scheme or namespace is copied only when it is new to the batch: most exchanges
    /// of a batch share them.
    pub fn add(&mut self, exchange: &Exchange, key: &EndpointKey, api: bool) {
        let at = exchange.observed_at;
        let host = match self.hosts.get_mut(&key.host) {
            Some(host) => host,
            None => self.hosts.entry(key.host.clone()).or_insert(HostDelta {
                hostname: exchange.host.clone(),
                port: exchange.port,
                schemes: BTreeSet::new(),
                namespaces: BTreeSet::new(),
            }),
        };
        let scheme = exchange.scheme.as_str();
        if !host.schemes.contains(scheme) {
            host.schemes.insert(scheme.to_owned());
        }
        if let Some(ns) = &exchange.producer.namespace
            && host.namespaces.len() < 64
            && !host.namespaces.contains(ns)
        {
            host.namespaces.insert(ns.clone());
        }
        match self.endpoints.get_mut(key) {
            Some(delta) => delta.add(exchange, api),
            None => {
                let mut delta = EndpointDelta::new(at);
                delta.add(exchange, api);
                self.endpoints.insert(key.clone(), delta);
            }
        }
    }

    /// Records an endpoint's response shape signature if none is known yet; returns the
    /// signature when this call recorded one.
    pub fn note_fields(
        &mut self,
        key: &EndpointKey,
        fields: impl FnOnce() -> Option<i64>,
    ) -> Option<i64> {
        let delta = self.endpoints.get_mut(key)?;
        if delta.fields.is_some() {
            return None;
        }
        delta.fields = fields();
        delta.fields
    }

    /// Adds the counts of another batch (hosts and endpoint statistics): what the store writes
    /// at commit. The batch is taken by value: a group commit gathers the batches of dozens of
    /// requests, nearly every endpoint of which is new to it, and moving their keys and counts
    /// in spares a copy of each (and freeing the copy afterwards).
    pub fn absorb(&mut self, other: CatalogBatch) {
        if self.hosts.is_empty() && self.endpoints.is_empty() {
            *self = other;
            return;
        }
        for (key, delta) in other.hosts {
            match self.hosts.entry(key) {
                Entry::Occupied(mut mine) => mine.get_mut().absorb(&delta),
                Entry::Vacant(slot) => {
                    slot.insert(delta);
                }
            }
        }
        for (key, delta) in other.endpoints {
            match self.endpoints.entry(key) {
                Entry::Occupied(mut mine) => mine.get_mut().absorb(&delta),
                Entry::Vacant(slot) => {
                    slot.insert(delta);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exchange::{Message, Producer, SourceFormat};

    fn exchange(host: &str, scheme: Scheme, namespace: Option<&str>, status: u16) -> Exchange {
        Exchange {
            observed_at: Utc::now(),
            source: SourceFormat::Nta,
            scheme,
            host: host.into(),
            port: scheme.default_port(),
            method: "GET".into(),
            raw_path: "/a".into(),
            path: "/a".into(),
            query: None,
            status: Some(status),
            request: Message::default(),
            response: None,
            client_address: None,
            producer: Producer {
                namespace: namespace.map(str::to_owned),
                ..Producer::default()
            },
        }
    }

    fn key(host: &str, template: &str) -> EndpointKey {
        EndpointKey {
            host: host.into(),
            method: "GET".into(),
            template: template.into(),
        }
    }

    #[test]
    fn absorbed_batches_count_what_one_batch_counts() {
        let traffic = [
            (
                exchange("a.example", Scheme::Https, Some("x"), 200),
                key("a.example", "/a"),
            ),
            (
                exchange("a.example", Scheme::Http, None, 404),
                key("a.example", "/a"),
            ),
            (
                exchange("a.example", Scheme::Https, Some("y"), 200),
                key("a.example", "/b"),
            ),
            (
                exchange("b.example", Scheme::Https, Some("x"), 500),
                key("b.example", "/a"),
            ),
            (
                exchange("a.example", Scheme::Https, Some("x"), 200),
                key("a.example", "/a"),
            ),
        ];
        let mut whole = CatalogBatch::default();
        for (e, k) in &traffic {
            whole.add(e, k, true);
        }
        // Split in three requests, one empty, absorbed in turn.
        let mut parts = vec![CatalogBatch::default(); 3];
        for (i, (e, k)) in traffic.iter().enumerate() {
            parts[i % 2].add(e, k, true);
        }
        let mut absorbed = CatalogBatch::default();
        for part in parts {
            absorbed.absorb(part);
        }
        assert_eq!(absorbed, whole);
        let a = &whole.hosts["a.example"];
        assert_eq!(a.schemes.iter().collect::<Vec<_>>(), ["http", "https"]);
        assert_eq!(a.namespaces.iter().collect::<Vec<_>>(), ["x", "y"]);
        let delta = &whole.endpoints[&key("a.example", "/a")];
        assert_eq!(delta.hits, 3);
        assert_eq!(delta.status_codes, BTreeMap::from([(200, 2), (404, 1)]));
    }

    #[test]
    fn host_keys_name_the_port_only_when_it_is_not_the_default() {
        assert_eq!(
            host_key("api.example.com", 443, Scheme::Https),
            "api.example.com"
        );
        assert_eq!(
            host_key("api.example.com", 80, Scheme::Http),
            "api.example.com"
        );
        assert_eq!(
            host_key("api.example.com", 8443, Scheme::Https),
            "api.example.com:8443"
        );
        assert_eq!(
            host_key("api.example.com", 443, Scheme::Http),
            "api.example.com:443"
        );
        assert_eq!(host_key("::1", 8080, Scheme::Http), "[::1]:8080");
        assert_eq!(host_key("::1", 443, Scheme::Https), "[::1]");
        assert_eq!(split_host_key("a.example:8443"), ("a.example", Some(8443)));
        assert_eq!(split_host_key("a.example"), ("a.example", None));
        assert_eq!(split_host_key("[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(split_host_key("[::1]"), ("::1", None));
    }
}
