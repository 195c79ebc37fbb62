//! Where synthetic traffic goes, and how the endpoints it produced are read back. The HTTP
//! sink (`crate::server`) posts it to a real server; the library sink calls the discovery code
//! in process, which is faster and shows what the ingest path adds.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use reconstructor::discovery::catalog::response_fields;
use reconstructor::discovery::merge::{MergeSettings, Observed, merge};
use reconstructor::model::exchange::{self as wire, Scheme, SourceFormat};
use reconstructor::model::template::{HostRules, Template, templatize};

/// One exchange of synthetic traffic.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The index of its operation in the spec.
    pub(crate) operation: usize,
    pub(crate) method: String,
    /// A normalized, percent-encoded path.
    pub(crate) path: String,
    /// The query string without `?`.
    pub(crate) query: Option<String>,
    pub(crate) status: u16,
    pub(crate) request: Option<Payload>,
    pub(crate) response: Option<Payload>,
}

/// A body with its media type.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    pub(crate) media_type: String,
    pub(crate) text: String,
}

impl Exchange {
    /// The exchange as the server represents it after ingest, for the functions it runs on it.
    pub(crate) fn to_wire(&self, host: &str) -> wire::Exchange {
        let message = |payload: &Option<Payload>| match payload {
            Some(p) => wire::Message {
                headers: vec![("content-type".to_owned(), p.media_type.clone())],
                body: wire::CapturedBody {
                    bytes: p.text.as_bytes().to_vec(),
                    truncated: false,
                },
            },
            None => wire::Message::default(),
        };
        wire::Exchange {
            observed_at: chrono::Utc::now(),
            source: SourceFormat::Akto,
            scheme: Scheme::Https,
            host: host.to_owned(),
            port: 443,
            method: self.method.clone(),
            raw_path: self.path.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            status: Some(self.status),
            request: message(&self.request),
            response: Some(message(&self.response)),
            client_address: None,
            producer: wire::Producer::default(),
        }
    }

    /// The same exchange with neither body.
    pub(crate) fn without_bodies(&self) -> Exchange {
        Exchange {
            request: None,
            response: None,
            ..self.clone()
        }
    }
}

/// Receives traffic for one host and reports the `(method, template)` endpoints discovered.
pub(crate) trait Sink {
    fn record(&mut self, exchange: &Exchange) -> Result<()>;
    fn endpoints(&mut self) -> Result<BTreeSet<(String, String)>>;
}

/// Templating per request, then the cardinality merge, as the server runs them; each endpoint
/// keeps the first response-shape signature the server's own function finds in its traffic.
#[derive(Debug)]
pub(crate) struct LibrarySink {
    rules: HostRules,
    settings: MergeSettings,
    seen: BTreeMap<(String, String), (u64, Option<u64>)>,
}

impl LibrarySink {
    pub(crate) fn new(settings: MergeSettings) -> LibrarySink {
        LibrarySink {
            rules: HostRules::default(),
            settings,
            seen: BTreeMap::new(),
        }
    }
}

impl Sink for LibrarySink {
    fn record(&mut self, exchange: &Exchange) -> Result<()> {
        let template = templatize(&exchange.path, &self.rules);
        let entry = self
            .seen
            .entry((exchange.method.clone(), template.annotated()))
            .or_insert((0, None));
        entry.0 += 1;
        if entry.1.is_none() {
            entry.1 = response_fields(&exchange.to_wire("accuracy.test")).map(|f| f as u64);
        }
        Ok(())
    }

    fn endpoints(&mut self) -> Result<BTreeSet<(String, String)>> {
        let observed: Vec<Observed> = self
            .seen
            .iter()
            .map(|((method, template), (hits, fields))| Observed {
                method: method.clone(),
                template: template.clone(),
                hits: *hits,
                fields: *fields,
            })
            .collect();
        let changes = merge(&observed, &self.rules, &self.settings);
        let mut renamed: BTreeMap<(String, String), String> = BTreeMap::new();
        for (method, from, to) in changes {
            renamed.insert((method, from), to);
        }
        let mut out = BTreeSet::new();
        for o in observed {
            let key = (o.method.clone(), o.template.clone());
            let text = renamed.get(&key).unwrap_or(&o.template);
            let template = Template::parse(text)
                .ok_or_else(|| anyhow::anyhow!("unparsable template {text}"))?;
            out.insert((o.method, template.as_str().to_owned()));
        }
        Ok(out)
    }
}

/// APIClarity's rule alone: a segment is a parameter when it is all digits, a UUID, or at least
/// 8 characters with at least 3 digits. No merge.
#[derive(Debug, Default)]
pub(crate) struct BaselineSink {
    seen: BTreeSet<(String, String)>,
}

impl Sink for BaselineSink {
    fn record(&mut self, exchange: &Exchange) -> Result<()> {
        let mut template = String::new();
        for segment in exchange.path.split('/').filter(|s| !s.is_empty()) {
            template.push('/');
            if baseline_param(segment) {
                template.push_str("{}");
            } else {
                template.push_str(segment);
            }
        }
        if template.is_empty() {
            template.push('/');
        }
        self.seen.insert((exchange.method.clone(), template));
        Ok(())
    }

    fn endpoints(&mut self) -> Result<BTreeSet<(String, String)>> {
        Ok(self.seen.clone())
    }
}

fn baseline_param(segment: &str) -> bool {
    let digits = segment.bytes().filter(u8::is_ascii_digit).count();
    let all_digits = !segment.is_empty() && digits == segment.len();
    let b = segment.as_bytes();
    let uuid = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    all_digits || uuid || (segment.len() >= 8 && digits >= 3)
}
