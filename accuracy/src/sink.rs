//! Where synthetic traffic goes, and how the endpoints it produced are read back. The library
//! sink calls the discovery code in process; another sink (the real ingest path over HTTP) can
//! implement the same trait.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use reconstructor::discovery::merge::{MergeSettings, Observed, merge};
use reconstructor::discovery::template::{HostRules, Template, templatize};

/// One request of synthetic traffic.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub(crate) method: String,
    /// A normalized, percent-encoded path.
    pub(crate) path: String,
    /// The response's field signature, when the run includes them.
    pub(crate) fields: Option<u64>,
}

/// Receives traffic for one host and reports the `(method, template)` endpoints discovered.
pub(crate) trait Sink {
    fn record(&mut self, exchange: &Exchange) -> Result<()>;
    fn endpoints(&mut self) -> Result<BTreeSet<(String, String)>>;
}

/// Templating per request, then the cardinality merge, as the server runs them.
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
            .or_insert((0, exchange.fields));
        entry.0 += 1;
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
