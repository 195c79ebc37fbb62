//! Endpoint summaries between ingest and the spec: read from a sample of each request's
//! exchanges before they are committed, appended to the store in the same transaction as the
//! exchanges, compacted by the leader, and resolved against the catalog when a spec is rendered
//! (so that a summary recorded under a template that has since been folded still lands on its
//! endpoint).
//!
//! The sampler is here; [`read`] resolves stored summaries for rendering and [`compact`] rewrites
//! them as one row per endpoint.
//!
//! Summaries are committed with the exchanges they describe, like hit counts: a crash loses none
//! of what was acknowledged, and nothing needs rebuilding after one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod compact;
mod read;

pub use compact::compact;
pub(crate) use read::host_endpoints;
pub use read::host_spec;

use super::catalog::{Classified, response_fields};
use crate::model::catalog::EndpointKey;
use crate::model::exchange::Exchange;
use crate::openapi::{EndpointSummary, SummaryLimits};

/// How many exchanges of one endpoint and response status are read into its summary. A summary
/// describes the shape of an interface, which a sample shows as well as the whole traffic (hit
/// and status counts stay exact): the first [`SAMPLE_FIRST`] of each endpoint and status are
/// read, then [`SAMPLE_PER_WINDOW`] per [`SAMPLE_WINDOW`], so a busy endpoint costs a few
/// observations a minute and a new status or endpoint is seen at once.
pub const SAMPLE_FIRST: u32 = 32;

/// See [`SAMPLE_FIRST`].
pub const SAMPLE_PER_WINDOW: u32 = 2;

/// See [`SAMPLE_FIRST`].
pub const SAMPLE_WINDOW: Duration = Duration::from_secs(10);

/// Under the `sampled` storage policy, errors (status 400 and above) beyond the summary's sample
/// are kept whole too, as they are what people look at: the first [`ERRORS_FIRST`] of each
/// endpoint and status, then [`ERRORS_PER_WINDOW`] per [`SAMPLE_WINDOW`], so that an error storm
/// (a client retrying a failing call thousands of times a second) stores metadata, not every
/// body.
pub const ERRORS_FIRST: u32 = 256;

/// See [`ERRORS_FIRST`].
pub const ERRORS_PER_WINDOW: u32 = 20;

/// Sample counters kept before they are all forgotten (which only means that every endpoint is
/// sampled generously again for a while).
const SAMPLE_KEYS: usize = 100_000;

/// Response shapes remembered per endpoint (for the `sampled` storage policy); past this many,
/// an endpoint's shapes are no longer told apart.
const SHAPES_PER_ENDPOINT: usize = 32;

/// Which exchanges are read into their endpoint's summary, per process.
#[derive(Debug)]
pub struct Sampler {
    state: Mutex<SamplerState>,
}

#[derive(Debug)]
struct SamplerState {
    /// Exchanges admitted per endpoint and status: in all, and in the current window.
    admitted: HashMap<EndpointKey, Vec<Admitted>>,
    window_started: Instant,
    /// Response shapes (signatures of top-level field names) seen per endpoint.
    shapes: HashMap<EndpointKey, Vec<i64>>,
}

#[derive(Debug, Clone, Copy)]
struct Admitted {
    status: Option<u16>,
    total: u32,
    window: u32,
    /// Errors kept whole beyond the sample: in all, and in the current window.
    errors_total: u32,
    errors_window: u32,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            state: Mutex::new(SamplerState {
                admitted: HashMap::new(),
                window_started: Instant::now(),
                shapes: HashMap::new(),
            }),
        }
    }
}

impl Sampler {
    /// Whether `exchange`, of endpoint `key`, should be read into its summary (see
    /// [`SAMPLE_FIRST`]).
    pub fn admit(&self, key: &EndpointKey, exchange: &Exchange) -> bool {
        self.admit_at(key, exchange, Instant::now())
    }

    fn admit_at(&self, key: &EndpointKey, exchange: &Exchange, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(state.window_started) >= SAMPLE_WINDOW {
            state.window_started = now;
            for counts in state.admitted.values_mut().flatten() {
                counts.window = 0;
                counts.errors_window = 0;
            }
        }
        let admitted = &mut state.admitted;
        if !admitted.contains_key(key) && admitted.len() >= SAMPLE_KEYS {
            admitted.clear();
        }
        let statuses = match admitted.get_mut(key) {
            Some(statuses) => statuses,
            None => admitted.entry(key.clone()).or_default(),
        };
        let counts = match statuses.iter().position(|a| a.status == exchange.status) {
            Some(i) => &mut statuses[i],
            None => {
                statuses.push(Admitted {
                    status: exchange.status,
                    total: 0,
                    window: 0,
                    errors_total: 0,
                    errors_window: 0,
                });
                statuses.last_mut().expect("just pushed")
            }
        };
        if counts.total >= SAMPLE_FIRST && counts.window >= SAMPLE_PER_WINDOW {
            return false;
        }
        counts.total = counts.total.saturating_add(1);
        counts.window += 1;
        true
    }
}

impl Sampler {
    /// Whether `exchange` is kept whole under the `sampled` storage policy, given whether it was
    /// admitted to its endpoint's summary ([`Sampler::admit`], called first): admitted ones,
    /// errors (status 400 and above) within [`ERRORS_FIRST`] and responses of a shape not seen
    /// before on the endpoint are.
    pub fn keep_whole(&self, key: &EndpointKey, exchange: &Exchange, admitted: bool) -> bool {
        if exchange.status.is_some_and(|s| s >= 400) {
            if admitted {
                return true;
            }
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let counts = state
                .admitted
                .get_mut(key)
                .and_then(|statuses| statuses.iter_mut().find(|a| a.status == exchange.status));
            // Counters forgotten since `admit` (a full table was cleared): kept, as at first.
            let Some(counts) = counts else { return true };
            if counts.errors_total >= ERRORS_FIRST && counts.errors_window >= ERRORS_PER_WINDOW {
                return false;
            }
            counts.errors_total = counts.errors_total.saturating_add(1);
            counts.errors_window += 1;
            return true;
        }
        let Some(shape) = response_fields(exchange) else {
            return admitted;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.shapes.contains_key(key) && state.shapes.len() >= SAMPLE_KEYS {
            state.shapes.clear();
        }
        let shapes = match state.shapes.get_mut(key) {
            Some(shapes) => shapes,
            None => state.shapes.entry(key.clone()).or_default(),
        };
        let new = !shapes.contains(&shape) && shapes.len() < SHAPES_PER_ENDPOINT;
        if new {
            shapes.push(shape);
        }
        admitted || new
    }
}

/// The summaries of the sampled exchanges of a batch, per endpoint, to commit with it.
pub fn summarize(records: &Classified) -> Vec<(EndpointKey, EndpointSummary)> {
    if records.sampled.is_empty() {
        return Vec::new();
    }
    let limits = SummaryLimits::default();
    let mut summaries: HashMap<&EndpointKey, EndpointSummary> = HashMap::new();
    for (i, template) in &records.sampled {
        let (Some(key), Some(exchange)) = (records.keys.get(*i), records.exchanges.get(*i)) else {
            continue;
        };
        summaries
            .entry(key)
            .or_default()
            .observe(exchange, template, &limits);
    }
    summaries
        .into_iter()
        .map(|(key, summary)| (key.clone(), summary))
        .collect()
}

/// The summaries of several batches committed together, one row per endpoint, serialised and in
/// key order (so that concurrent commits touch rows in the same order).
pub fn encode<'a>(
    batches: impl IntoIterator<Item = &'a [(EndpointKey, EndpointSummary)]>,
) -> Vec<(EndpointKey, String)> {
    let limits = SummaryLimits::default();
    let mut merged: HashMap<&EndpointKey, Cow<'a, EndpointSummary>> = HashMap::new();
    for (key, summary) in batches.into_iter().flatten() {
        match merged.entry(key) {
            Entry::Occupied(mut seen) => seen.get_mut().to_mut().merge(summary, &limits),
            Entry::Vacant(new) => {
                new.insert(Cow::Borrowed(summary));
            }
        }
    }
    let mut rows: Vec<(EndpointKey, String)> = merged
        .into_iter()
        .map(|(key, summary)| {
            let json = serde_json::to_string(&*summary).unwrap_or_else(|_| "{}".to_owned());
            (key.clone(), json)
        })
        .collect();
    rows.sort();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exchange::{CapturedBody, Message, Producer, Scheme, SourceFormat};

    fn exchange(status: u16) -> Exchange {
        Exchange {
            observed_at: chrono::Utc::now(),
            source: SourceFormat::Nta,
            scheme: Scheme::Https,
            host: "api.example.com".to_owned(),
            port: 443,
            method: "GET".to_owned(),
            raw_path: "/users/1".to_owned(),
            path: "/users/1".to_owned(),
            query: None,
            status: Some(status),
            request: Message::default(),
            response: Some(Message {
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: CapturedBody {
                    bytes: br#"{"id":1}"#.to_vec(),
                    truncated: false,
                },
            }),
            client_address: None,
            producer: Producer::default(),
        }
    }

    fn users_key() -> EndpointKey {
        EndpointKey {
            host: "api.example.com".to_owned(),
            method: "GET".to_owned(),
            template: "/users/{userId:integer}".to_owned(),
        }
    }

    fn admitted(sampler: &Sampler, key: &EndpointKey, status: u16, n: u32, at: Instant) -> u32 {
        (0..n)
            .filter(|_| sampler.admit_at(key, &exchange(status), at))
            .count() as u32
    }

    #[test]
    fn the_sample_is_generous_at_first_then_a_few_per_window_and_per_status() {
        let sampler = Sampler::default();
        let start = Instant::now();
        let key = users_key();
        let other = EndpointKey {
            template: "/orders".to_owned(),
            ..key.clone()
        };
        assert_eq!(admitted(&sampler, &key, 200, 100, start), SAMPLE_FIRST);
        // A status or endpoint not seen yet gets its own sample at once.
        assert_eq!(admitted(&sampler, &key, 404, 3, start), 3);
        assert_eq!(admitted(&sampler, &other, 200, 5, start), 5);
        // Within the window, nothing more of a sampled endpoint and status.
        let later = start + SAMPLE_WINDOW / 2;
        assert_eq!(admitted(&sampler, &key, 200, 10, later), 0);
        // In the next window, a few more per endpoint and status.
        let next = start + SAMPLE_WINDOW;
        assert_eq!(admitted(&sampler, &key, 200, 100, next), SAMPLE_PER_WINDOW);
        assert_eq!(admitted(&sampler, &key, 404, 100, next), SAMPLE_FIRST - 3);
    }

    #[test]
    fn an_error_storm_keeps_a_bounded_number_of_errors_whole() {
        let sampler = Sampler::default();
        let start = Instant::now();
        let key = users_key();
        let kept = |status: u16, n: u32, at: Instant| {
            (0..n)
                .filter(|_| {
                    let e = exchange(status);
                    let admitted = sampler.admit_at(&key, &e, at);
                    sampler.keep_whole(&key, &e, admitted)
                })
                .count() as u32
        };
        // Ten thousand errors in one window: the summary's sample and the first errors beyond it.
        assert_eq!(kept(503, 10_000, start), SAMPLE_FIRST + ERRORS_FIRST);
        // Another status has its own allowance.
        assert_eq!(kept(429, 10, start), 10);
        // Each later window keeps a few more of each.
        let next = start + SAMPLE_WINDOW;
        assert_eq!(
            kept(503, 10_000, next),
            SAMPLE_PER_WINDOW + ERRORS_PER_WINDOW
        );
        // Successes of a shape already seen, past the sample, are metadata only.
        assert_eq!(kept(200, 100, next), SAMPLE_FIRST);
    }

    #[test]
    fn summaries_of_a_group_are_one_row_per_endpoint_in_key_order() {
        let key = |template: &str| EndpointKey {
            host: "api.example.com".to_owned(),
            method: "GET".to_owned(),
            template: template.to_owned(),
        };
        let template = crate::model::template::Template::parse("/users/{id:integer}").unwrap();
        let limits = SummaryLimits::default();
        let observed = |n: usize| {
            let mut summary = EndpointSummary::default();
            for _ in 0..n {
                summary.observe(&exchange(200), &template, &limits);
            }
            summary
        };
        let first = vec![
            (key("/users/{id:integer}"), observed(1)),
            (key("/a"), observed(1)),
        ];
        let second = vec![(key("/users/{id:integer}"), observed(2))];
        let rows = encode([first.as_slice(), second.as_slice()]);
        let keys: Vec<&str> = rows.iter().map(|(k, _)| k.template.as_str()).collect();
        assert_eq!(keys, ["/a", "/users/{id:integer}"]);
        let merged: EndpointSummary = serde_json::from_str(&rows[1].1).unwrap();
        assert_eq!(merged, observed(3));
    }
}
