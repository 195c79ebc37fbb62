//! Endpoint summaries between ingest and the spec: buffered per process after each commit,
//! appended to the store every few seconds, compacted by the leader, and resolved against the
//! catalog when a spec is rendered (so that a summary recorded under a template that has since
//! been folded still lands on its endpoint).
//!
//! The buffer is here; [`read`] resolves stored summaries for rendering and [`compact`] rewrites
//! them as one row per endpoint.
//!
//! Summaries are derived data: hit counts are committed with the exchanges, while at most one
//! flush interval of summary observations is lost if a process dies, and `reprocess` rebuilds
//! them from the stored exchanges.

use std::collections::HashMap;
use std::sync::Mutex;

mod compact;
mod read;

pub use compact::compact;
pub(crate) use read::host_endpoints;
pub use read::host_spec;

use super::catalog::Classified;
use crate::model::catalog::EndpointKey;
use crate::model::exchange::Exchange;
use crate::openapi::{EndpointSummary, SummaryLimits};
use crate::store::{Store, StoreError};

/// How many exchanges of one endpoint and response status are read into its summary. A summary
/// describes the shape of an interface, which a sample shows as well as the whole traffic (hit
/// and status counts stay exact): the first [`SAMPLE_FIRST`] of each endpoint and status are
/// read, then [`SAMPLE_PER_FLUSH`] per flush interval (10 s by default), so a busy endpoint
/// costs a few observations a minute and a new status or endpoint is seen at once.
pub const SAMPLE_FIRST: u32 = 32;

/// See [`SAMPLE_FIRST`].
pub const SAMPLE_PER_FLUSH: u32 = 2;

/// Sample counters kept before they are all forgotten (which only means that every endpoint is
/// sampled generously again for a while).
const SAMPLE_KEYS: usize = 100_000;

/// Summaries of committed exchanges not yet written to the store.
#[derive(Debug, Default)]
pub struct SummaryBuffer {
    pending: Mutex<HashMap<EndpointKey, EndpointSummary>>,
    /// Exchanges admitted per endpoint and status: in all, and since the last flush.
    admitted: Mutex<HashMap<EndpointKey, Vec<Admitted>>>,
}

#[derive(Debug, Clone, Copy)]
struct Admitted {
    status: Option<u16>,
    total: u32,
    window: u32,
}

impl SummaryBuffer {
    /// Whether `exchange`, of endpoint `key`, should be read into its summary (see
    /// [`SAMPLE_FIRST`]).
    pub fn admit(&self, key: &EndpointKey, exchange: &Exchange) -> bool {
        let mut admitted = self.admitted.lock().unwrap_or_else(|e| e.into_inner());
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
                });
                statuses.last_mut().expect("just pushed")
            }
        };
        if counts.total >= SAMPLE_FIRST && counts.window >= SAMPLE_PER_FLUSH {
            return false;
        }
        counts.total = counts.total.saturating_add(1);
        counts.window += 1;
        true
    }

    /// Reads the sampled exchanges of a committed batch into their endpoints' summaries.
    pub fn observe(&self, records: &Classified) {
        if records.sampled.is_empty() {
            return;
        }
        let limits = SummaryLimits::default();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for (i, template) in &records.sampled {
            let (Some(key), Some(exchange)) = (records.keys.get(*i), records.exchanges.get(*i))
            else {
                continue;
            };
            let summary = match pending.get_mut(key) {
                Some(summary) => summary,
                None => pending.entry(key.clone()).or_default(),
            };
            summary.observe(exchange, template, &limits);
        }
    }

    /// Starts a new sampling window ([`SAMPLE_PER_FLUSH`]).
    fn new_window(&self) {
        let mut admitted = self.admitted.lock().unwrap_or_else(|e| e.into_inner());
        for counts in admitted.values_mut().flatten() {
            counts.window = 0;
        }
    }

    /// Writes what is pending; on failure it stays pending for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> Result<usize, StoreError> {
        self.new_window();
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if taken.is_empty() {
            return Ok(0);
        }
        let mut rows: Vec<(EndpointKey, String)> = taken
            .iter()
            .map(|(key, summary)| {
                let json = serde_json::to_string(summary).unwrap_or_else(|_| "{}".to_owned());
                (key.clone(), json)
            })
            .collect();
        rows.sort();
        match store.append_summaries(&rows).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                let limits = SummaryLimits::default();
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                for (key, summary) in taken {
                    pending.entry(key).or_default().merge(&summary, &limits);
                }
                Err(e)
            }
        }
    }
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

    fn admitted(buffer: &SummaryBuffer, key: &EndpointKey, status: u16, n: u32) -> u32 {
        (0..n)
            .filter(|_| buffer.admit(key, &exchange(status)))
            .count() as u32
    }

    #[test]
    fn the_sample_is_generous_at_first_then_a_few_per_flush_and_per_status() {
        let buffer = SummaryBuffer::default();
        let key = EndpointKey {
            host: "api.example.com".to_owned(),
            method: "GET".to_owned(),
            template: "/users/{userId:integer}".to_owned(),
        };
        let other = EndpointKey {
            template: "/orders".to_owned(),
            ..key.clone()
        };
        assert_eq!(admitted(&buffer, &key, 200, 100), SAMPLE_FIRST);
        // A status or endpoint not seen yet gets its own sample at once.
        assert_eq!(admitted(&buffer, &key, 404, 3), 3);
        assert_eq!(admitted(&buffer, &other, 200, 5), 5);
        // After a flush, a few more per endpoint and status.
        buffer.new_window();
        assert_eq!(admitted(&buffer, &key, 200, 100), SAMPLE_PER_FLUSH);
        assert_eq!(admitted(&buffer, &key, 404, 100), SAMPLE_FIRST - 3);
    }
}
