//! Observability of the server itself: its Prometheus metrics (names, descriptions, the
//! request middleware and the scrape); logging is set up by `startup::init_logging`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::model::exchange::SourceFormat;

/// Buckets for latencies measured in seconds: sub-millisecond to tens of seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets for request body sizes in bytes: 256 B to 64 MiB, four times apart.
const BYTE_BUCKETS: &[f64] = &[
    256.0,
    1024.0,
    4096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// Buckets for records per commit: one to the largest batches.
const RECORD_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10_000.0,
];

/// Every metric family the server exports. Names carry the `reconstructor_` prefix and their
/// base unit (`_seconds`, `_bytes`, `_records`, `_connections`); counters end in `_total`.
pub mod names {
    /// Gauge: client connections open.
    pub const HTTP_CONNECTIONS_OPEN: &str = "reconstructor_http_connections_open";
    /// Counter: client connections closed by the server, by reason.
    pub const HTTP_CONNECTIONS_CLOSED: &str = "reconstructor_http_connections_closed_total";
    /// Counter: new connections refused because every open one was busy at the limit.
    pub const HTTP_CONNECTIONS_REFUSED: &str = "reconstructor_http_connections_refused_total";
    /// Counter: errors accepting connections.
    pub const HTTP_ACCEPT_ERRORS: &str = "reconstructor_http_accept_errors_total";
    /// Counter: spec revisions recorded.
    pub const SPEC_REVISIONS: &str = "reconstructor_spec_revisions_total";
    /// Counter: webhook events written to the outbox, by event type.
    pub const WEBHOOK_EVENTS: &str = "reconstructor_webhook_events_total";
    /// Counter: webhook delivery attempts, by event type and outcome.
    pub const WEBHOOK_ATTEMPTS: &str = "reconstructor_webhook_attempts_total";
    /// Histogram: time a webhook receiver took to answer.
    pub const WEBHOOK_DELIVERY_DURATION: &str = "reconstructor_webhook_delivery_duration_seconds";
    /// Gauge: webhook deliveries in the outbox, by status.
    pub const WEBHOOK_DELIVERIES: &str = "reconstructor_webhook_deliveries";
    /// Counter: HTTP requests by route, method and status.
    pub const HTTP_REQUESTS: &str = "reconstructor_http_requests_total";
    /// Histogram: HTTP request latency by route, method and status.
    pub const HTTP_REQUEST_DURATION: &str = "reconstructor_http_request_duration_seconds";
    /// Histogram: ingest request body sizes, after decompression.
    pub const INGEST_REQUEST_BODY: &str = "reconstructor_ingest_request_body_bytes";
    /// Counter: ingest requests refused because the in-flight body budget was used up.
    pub const INGEST_BODY_BUDGET_EXHAUSTED: &str =
        "reconstructor_ingest_body_budget_exhausted_total";
    /// Gauge: bytes of request bodies held in memory right now.
    pub const INGEST_INFLIGHT_BODY: &str = "reconstructor_ingest_inflight_body_bytes";
    /// Gauge: the in-flight body budget.
    pub const INGEST_INFLIGHT_BODY_LIMIT: &str = "reconstructor_ingest_inflight_body_limit_bytes";
    /// Counter: records accepted, by format.
    pub const INGEST_RECORDS_ACCEPTED: &str = "reconstructor_ingest_records_accepted_total";
    /// Counter: records rejected, by format and reason.
    pub const INGEST_RECORDS_REJECTED: &str = "reconstructor_ingest_records_rejected_total";
    /// Counter: requests refused because the write queue was full.
    pub const INGEST_QUEUE_FULL: &str = "reconstructor_ingest_queue_full_total";
    /// Gauge: records queued or being committed.
    pub const INGEST_QUEUE_RECORDS: &str = "reconstructor_ingest_queue_records";
    /// Gauge: the record limit of the write queue.
    pub const INGEST_QUEUE_LIMIT_RECORDS: &str = "reconstructor_ingest_queue_limit_records";
    /// Gauge: approximate bytes queued or being committed.
    pub const INGEST_QUEUE_BYTES: &str = "reconstructor_ingest_queue_bytes";
    /// Gauge: the byte limit of the write queue.
    pub const INGEST_QUEUE_LIMIT_BYTES: &str = "reconstructor_ingest_queue_limit_bytes";
    /// Counter: commits, by outcome.
    pub const INGEST_COMMITS: &str = "reconstructor_ingest_commits_total";
    /// Counter: commits retried after a deadlock or serialization failure.
    pub const INGEST_COMMIT_RETRIES: &str = "reconstructor_ingest_commit_retries_total";
    /// Counter: requests whose records were withdrawn from the queue after `commit.timeout`.
    pub const INGEST_COMMIT_WITHDRAWN: &str = "reconstructor_ingest_commit_withdrawn_total";
    /// Counter: requests past `commit.timeout` that waited for the transaction holding them.
    pub const INGEST_COMMIT_OVERTIME: &str = "reconstructor_ingest_commit_overtime_total";
    /// Histogram: commit latency.
    pub const INGEST_COMMIT_DURATION: &str = "reconstructor_ingest_commit_duration_seconds";
    /// Histogram: records per commit.
    pub const INGEST_COMMIT_RECORDS: &str = "reconstructor_ingest_commit_records";
    /// Counter: endpoints folded into others by the merge.
    pub const DISCOVERY_ENDPOINTS_FOLDED: &str = "reconstructor_discovery_endpoints_folded_total";
    /// Gauge: when this process last completed a merge round as leader (Unix time).
    pub const DISCOVERY_LAST_MERGE_TIMESTAMP: &str =
        "reconstructor_discovery_last_merge_timestamp_seconds";
    /// Gauge: how long that merge round took.
    pub const DISCOVERY_LAST_MERGE_DURATION: &str =
        "reconstructor_discovery_last_merge_duration_seconds";
    /// Gauge: the configured merge interval.
    pub const DISCOVERY_MERGE_INTERVAL: &str = "reconstructor_discovery_merge_interval_seconds";
    /// Counter: merge rounds that failed.
    pub const DISCOVERY_MERGE_FAILURES: &str = "reconstructor_discovery_merge_failures_total";
    /// Histogram: how long a rebuild (reprocess, rules change) held its host's lock.
    pub const DISCOVERY_REBUILD_LOCK_SECONDS: &str = "reconstructor_discovery_rebuild_lock_seconds";
    /// Counter: hosts rebuilt to revise merges made on early traffic.
    pub const DISCOVERY_REVISIONS: &str = "reconstructor_discovery_revisions_total";
    /// Counter: catalog count rows appended by ingest and settled into their endpoints.
    pub const CATALOG_COUNTS_SETTLED: &str = "reconstructor_catalog_counts_settled_total";
    /// Counter: settle rounds that failed.
    pub const CATALOG_SETTLE_FAILURES: &str = "reconstructor_catalog_settle_failures_total";
    /// Gauge: the bytes the database uses on disk, as the disk budget counts them.
    pub const DATABASE_SIZE: &str = "reconstructor_database_size_bytes";
    /// Gauge: whether the database answered a trivial query at the last scrape.
    pub const DATABASE_UP: &str = "reconstructor_database_up";
    /// Gauge: connections open in the pool (idle and in use).
    pub const DATABASE_POOL_CONNECTIONS: &str = "reconstructor_database_pool_connections";
    /// Gauge: idle connections in the pool.
    pub const DATABASE_POOL_IDLE: &str = "reconstructor_database_pool_idle_connections";
    /// Gauge: the pool's connection limit.
    pub const DATABASE_POOL_MAX: &str = "reconstructor_database_pool_max_connections";
    /// Gauge (always 1): the running version, and the source revision when it is known.
    pub const BUILD_INFO: &str = "reconstructor_build_info";
}

/// The kind of a metric family, as Prometheus's `# TYPE` line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (reset on restart).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted into buckets; aggregates across replicas.
    Histogram,
}

impl Kind {
    /// The `# TYPE` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Every family: name, kind, unit and help text. `/metrics` exports exactly these.
pub const FAMILIES: &[(&str, Kind, Option<metrics::Unit>, &str)] = {
    use Kind::{Counter, Gauge, Histogram};
    use metrics::Unit::{Bytes, Count, Seconds};
    use names::*;
    &[
        (
            HTTP_REQUESTS,
            Counter,
            Some(Count),
            "HTTP requests by route, method and status",
        ),
        (
            HTTP_REQUEST_DURATION,
            Histogram,
            Some(Seconds),
            "HTTP request latency by route, method and status",
        ),
        (
            INGEST_REQUEST_BODY,
            Histogram,
            Some(Bytes),
            "Size of ingest request bodies after decompression",
        ),
        (
            INGEST_BODY_BUDGET_EXHAUSTED,
            Counter,
            Some(Count),
            "Ingest requests refused with 503 because the in-flight body budget was used up",
        ),
        (
            INGEST_INFLIGHT_BODY,
            Gauge,
            Some(Bytes),
            "Bytes of request bodies held in memory right now",
        ),
        (
            INGEST_INFLIGHT_BODY_LIMIT,
            Gauge,
            Some(Bytes),
            "Most bytes of request bodies held in memory at once (max_inflight_body_bytes)",
        ),
        (
            INGEST_RECORDS_ACCEPTED,
            Counter,
            Some(Count),
            "Records accepted, by source format",
        ),
        (
            INGEST_RECORDS_REJECTED,
            Counter,
            Some(Count),
            "Records rejected, by source format and reason",
        ),
        (
            INGEST_QUEUE_FULL,
            Counter,
            Some(Count),
            "Ingest requests refused with 503 because the write queue was full",
        ),
        (
            INGEST_QUEUE_RECORDS,
            Gauge,
            Some(Count),
            "Records waiting in the write queue or being committed",
        ),
        (
            INGEST_QUEUE_LIMIT_RECORDS,
            Gauge,
            Some(Count),
            "Records the write queue holds before refusing requests (queue_max_records)",
        ),
        (
            INGEST_QUEUE_BYTES,
            Gauge,
            Some(Bytes),
            "Approximate bytes waiting in the write queue or being committed",
        ),
        (
            INGEST_QUEUE_LIMIT_BYTES,
            Gauge,
            Some(Bytes),
            "Bytes the write queue holds before refusing requests (queue_max_bytes)",
        ),
        (
            INGEST_COMMITS,
            Counter,
            Some(Count),
            "Group commits, by outcome (ok, split into per-request commits, failed)",
        ),
        (
            INGEST_COMMIT_RETRIES,
            Counter,
            Some(Count),
            "Commits retried after a deadlock or serialization failure",
        ),
        (
            INGEST_COMMIT_WITHDRAWN,
            Counter,
            Some(Count),
            "Requests answered 503 after commit.timeout, their records withdrawn unstored",
        ),
        (
            INGEST_COMMIT_OVERTIME,
            Counter,
            Some(Count),
            "Requests past commit.timeout whose records were already in a transaction, answered by its outcome",
        ),
        (
            INGEST_COMMIT_DURATION,
            Histogram,
            Some(Seconds),
            "Latency of successful group commits",
        ),
        (
            INGEST_COMMIT_RECORDS,
            Histogram,
            Some(Count),
            "Records per successful group commit",
        ),
        (
            DISCOVERY_ENDPOINTS_FOLDED,
            Counter,
            Some(Count),
            "Endpoints folded into a templated endpoint by the cardinality merge",
        ),
        (
            DISCOVERY_LAST_MERGE_TIMESTAMP,
            Gauge,
            Some(Seconds),
            "Unix time at which this process last completed a merge round as the leader",
        ),
        (
            DISCOVERY_LAST_MERGE_DURATION,
            Gauge,
            Some(Seconds),
            "Duration of the last merge round this process completed as the leader",
        ),
        (
            DISCOVERY_MERGE_INTERVAL,
            Gauge,
            Some(Seconds),
            "Configured time between merge rounds (discovery.merge_interval)",
        ),
        (
            DISCOVERY_MERGE_FAILURES,
            Counter,
            Some(Count),
            "Merge rounds that failed (the next round retries)",
        ),
        (
            DISCOVERY_REBUILD_LOCK_SECONDS,
            Histogram,
            Some(Seconds),
            "How long a host rebuild (reprocess, rules change) held the host's lock, which its ingest waits on",
        ),
        (
            DISCOVERY_REVISIONS,
            Counter,
            Some(Count),
            "Host catalogs rebuilt from their stored exchanges because their traffic grew fourfold since their merges were last judged on all of it",
        ),
        (
            DATABASE_SIZE,
            Gauge,
            Some(Bytes),
            "Bytes the database uses on disk, read at scrape time (pg_database_size; SQLite pages in use)",
        ),
        (
            CATALOG_COUNTS_SETTLED,
            Counter,
            Some(Count),
            "Count rows appended by ingest (Postgres) and added to their endpoints by a settle round",
        ),
        (
            CATALOG_SETTLE_FAILURES,
            Counter,
            Some(Count),
            "Settle rounds that failed (the next round retries; reads count unsettled rows)",
        ),
        (
            DATABASE_UP,
            Gauge,
            None,
            "1 when the database answered a trivial query during this scrape, else 0",
        ),
        (
            DATABASE_POOL_CONNECTIONS,
            Gauge,
            Some(Count),
            "Database connections open in the pool, idle or in use",
        ),
        (
            DATABASE_POOL_IDLE,
            Gauge,
            Some(Count),
            "Idle database connections in the pool",
        ),
        (
            DATABASE_POOL_MAX,
            Gauge,
            Some(Count),
            "Most database connections the pool opens (database_max_connections)",
        ),
        (
            HTTP_CONNECTIONS_OPEN,
            Gauge,
            Some(Count),
            "Client connections open",
        ),
        (
            HTTP_CONNECTIONS_CLOSED,
            Counter,
            Some(Count),
            "Client connections closed by the server, by reason (header timeout, idle, limit, shutdown)",
        ),
        (
            HTTP_CONNECTIONS_REFUSED,
            Counter,
            Some(Count),
            "New connections refused because every open connection was busy at the limit",
        ),
        (
            HTTP_ACCEPT_ERRORS,
            Counter,
            Some(Count),
            "Errors accepting client connections",
        ),
        (
            SPEC_REVISIONS,
            Counter,
            Some(Count),
            "Revisions of reconstructed documents recorded",
        ),
        (
            WEBHOOK_EVENTS,
            Counter,
            Some(Count),
            "Webhook events written to the outbox, by event type",
        ),
        (
            WEBHOOK_ATTEMPTS,
            Counter,
            Some(Count),
            "Webhook delivery attempts, by event type and outcome",
        ),
        (
            WEBHOOK_DELIVERY_DURATION,
            Histogram,
            Some(Seconds),
            "Time webhook receivers took to answer a delivery",
        ),
        (
            WEBHOOK_DELIVERIES,
            Gauge,
            Some(Count),
            "Webhook deliveries in the outbox, by status",
        ),
        (
            BUILD_INFO,
            Gauge,
            None,
            "Always 1; the labels give the running version and source revision",
        ),
    ]
};

/// The source revision baked in at build time (`RECONSTRUCTOR_REVISION`, e.g. a git commit
/// passed by the image build), or "unknown".
pub fn revision() -> &'static str {
    match option_env!("RECONSTRUCTOR_REVISION") {
        Some(revision) if !revision.trim().is_empty() => revision.trim(),
        _ => "unknown",
    }
}

/// The process-wide Prometheus recorder. `metrics` has one global recorder, so every server
/// instance in a process (several, in tests) shares it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::INGEST_REQUEST_BODY.to_owned()),
                        BYTE_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(names::INGEST_COMMIT_RECORDS.to_owned()),
                        RECORD_BUCKETS,
                    )
                })
                .expect("bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first, in which case ours simply
            // renders nothing; there is no other recorder in this crate.
            let _ = metrics::set_global_recorder(recorder);
            describe_metrics();
            register_metrics();
            handle
        })
        .clone()
}

fn describe_metrics() {
    for &(name, kind, unit, help) in FAMILIES {
        match (kind, unit) {
            (Kind::Counter, Some(unit)) => metrics::describe_counter!(name, unit, help),
            (Kind::Counter, None) => metrics::describe_counter!(name, help),
            (Kind::Gauge, Some(unit)) => metrics::describe_gauge!(name, unit, help),
            (Kind::Gauge, None) => metrics::describe_gauge!(name, help),
            (Kind::Histogram, Some(unit)) => metrics::describe_histogram!(name, unit, help),
            (Kind::Histogram, None) => metrics::describe_histogram!(name, help),
        }
    }
}

/// Registers the families whose series are known in advance, so that they are exported (at 0)
/// from the start: alert expressions such as `rate(...)` then see the series before the first
/// event, rather than an absent one.
fn register_metrics() {
    use names::*;
    for name in [
        HTTP_CONNECTIONS_REFUSED,
        HTTP_ACCEPT_ERRORS,
        SPEC_REVISIONS,
        INGEST_BODY_BUDGET_EXHAUSTED,
        INGEST_QUEUE_FULL,
        INGEST_COMMIT_RETRIES,
        INGEST_COMMIT_WITHDRAWN,
        INGEST_COMMIT_OVERTIME,
        DISCOVERY_ENDPOINTS_FOLDED,
        DISCOVERY_MERGE_FAILURES,
        DISCOVERY_REVISIONS,
        CATALOG_COUNTS_SETTLED,
        CATALOG_SETTLE_FAILURES,
    ] {
        metrics::counter!(name).absolute(0);
    }
    for outcome in ["ok", "split", "failed"] {
        metrics::counter!(INGEST_COMMITS, "outcome" => outcome).absolute(0);
    }
    for format in [SourceFormat::Nta, SourceFormat::Akto] {
        metrics::counter!(INGEST_RECORDS_ACCEPTED, "format" => format.as_str()).absolute(0);
    }
    metrics::gauge!(HTTP_CONNECTIONS_OPEN).set(0.0);
    // Histograms are exported once registered, with empty buckets.
    let _ = metrics::histogram!(WEBHOOK_DELIVERY_DURATION);
    let _ = metrics::histogram!(INGEST_REQUEST_BODY);
    let _ = metrics::histogram!(INGEST_COMMIT_DURATION);
    let _ = metrics::histogram!(INGEST_COMMIT_RECORDS);
    let _ = metrics::histogram!(DISCOVERY_REBUILD_LOCK_SECONDS);
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "revision" => revision()
    )
    .set(1.0);
}

/// The state that gauges report, read when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    /// Records queued or being committed, and the queue's record limit.
    pub queue_records: (usize, usize),
    /// Bytes queued or being committed, and the queue's byte limit.
    pub queue_bytes: (usize, usize),
    /// Request body bytes in memory, and the budget.
    pub inflight_body_bytes: (usize, usize),
    /// The database pool.
    pub pool: crate::store::PoolStatus,
    /// The database's size on disk, when it answered.
    pub database_size: Option<u64>,
    /// The configured merge interval.
    pub merge_interval: std::time::Duration,
}

/// Sets the gauges from `snapshot` and renders every family. The recorder is process-wide, so
/// scrapes are serialised: each one renders the gauges it set itself (several servers share one
/// process in tests).
pub fn render(handle: &PrometheusHandle, snapshot: &Snapshot) -> String {
    static SCRAPE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _scrape = SCRAPE.lock().unwrap_or_else(|e| e.into_inner());
    record_snapshot(snapshot);
    handle.render()
}

fn record_snapshot(snapshot: &Snapshot) {
    use names::*;
    let gauge = |name: &'static str, value: usize| metrics::gauge!(name).set(value as f64);
    gauge(INGEST_QUEUE_RECORDS, snapshot.queue_records.0);
    gauge(INGEST_QUEUE_LIMIT_RECORDS, snapshot.queue_records.1);
    gauge(INGEST_QUEUE_BYTES, snapshot.queue_bytes.0);
    gauge(INGEST_QUEUE_LIMIT_BYTES, snapshot.queue_bytes.1);
    gauge(INGEST_INFLIGHT_BODY, snapshot.inflight_body_bytes.0);
    gauge(INGEST_INFLIGHT_BODY_LIMIT, snapshot.inflight_body_bytes.1);
    gauge(DATABASE_POOL_CONNECTIONS, snapshot.pool.size);
    gauge(DATABASE_POOL_IDLE, snapshot.pool.idle);
    gauge(DATABASE_POOL_MAX, snapshot.pool.max);
    metrics::gauge!(DATABASE_UP).set(if snapshot.database_size.is_some() {
        1.0
    } else {
        0.0
    });
    if let Some(bytes) = snapshot.database_size {
        metrics::gauge!(DATABASE_SIZE).set(bytes as f64);
    }
    metrics::gauge!(DISCOVERY_MERGE_INTERVAL).set(snapshot.merge_interval.as_secs_f64());
}

/// Records a merge round this process completed as the leader.
pub fn record_merge(finished: std::time::SystemTime, duration: std::time::Duration) {
    let timestamp = finished
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64());
    metrics::gauge!(names::DISCOVERY_LAST_MERGE_TIMESTAMP).set(timestamp);
    metrics::gauge!(names::DISCOVERY_LAST_MERGE_DURATION).set(duration.as_secs_f64());
}

/// Counts and times one request, labelled by the matched route template (never the raw URI,
/// which would give one series per ID): started before the request is handled, finished with
/// its response.
#[derive(Debug)]
pub struct RequestTimer {
    start: Instant,
    route: Option<MatchedPath>,
    method: axum::http::Method,
}

impl RequestTimer {
    /// Starts timing `request`.
    pub fn start(request: &Request) -> Self {
        RequestTimer {
            start: Instant::now(),
            // Both are cheap copies: a shared string and, for the usual methods, a constant.
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: request.method().clone(),
        }
    }

    /// Counts the request with the status of `response`, and records how long it took.
    pub fn finish(self, response: &Response) {
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let status = response.status();
        // The usual methods and statuses are labelled with constants, without copies.
        let method = match static_method(&self.method) {
            Some(method) => metrics::Label::from_static_parts("method", method),
            None => metrics::Label::new("method", self.method.as_str().to_owned()),
        };
        let status = match static_status(status) {
            Some(status) => metrics::Label::from_static_parts("status", status),
            None => metrics::Label::new("status", status.as_u16().to_string()),
        };
        let labels = vec![
            metrics::Label::new("route", route.to_owned()),
            method,
            status,
        ];
        metrics::counter!(names::HTTP_REQUESTS, labels.clone()).increment(1);
        metrics::histogram!(names::HTTP_REQUEST_DURATION, labels)
            .record(self.start.elapsed().as_secs_f64());
    }
}

/// The text of a standard method, as a constant.
fn static_method(method: &axum::http::Method) -> Option<&'static str> {
    use axum::http::Method;
    Some(match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => return None,
    })
}

/// The number of the statuses this server sends most, as a constant.
fn static_status(status: axum::http::StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return None,
    })
}

/// Lets one log line through per interval and counts the ones held back, so that an error
/// repeated thousands of times a second (a full disk, a connection flood) costs a line now and
/// then, with the number of lines it stands for.
///
/// ```ignore
/// static FULL: Throttle = Throttle::new(Duration::from_secs(10));
/// if let Some(suppressed) = FULL.allow() {
///     tracing::warn!(suppressed, "the disk is full");
/// }
/// ```
#[derive(Debug)]
pub struct Throttle {
    interval: std::time::Duration,
    state: std::sync::Mutex<ThrottleState>,
}

#[derive(Debug)]
struct ThrottleState {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// At most one line per `interval`.
    pub const fn new(interval: std::time::Duration) -> Self {
        Self {
            interval,
            state: std::sync::Mutex::new(ThrottleState {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// `Some(lines suppressed since the last one written)` when this line should be written,
    /// `None` when it is suppressed (and counted).
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match state.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                state.suppressed += 1;
                None
            }
            _ => {
                state.last = Some(now);
                Some(std::mem::take(&mut state.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use super::{FAMILIES, Kind, Throttle};

    /// Names a PromQL expression (or Grafana query) refers to with the `reconstructor_` prefix,
    /// with a histogram's `_bucket`, `_sum` and `_count` series mapped to their family.
    fn referenced(text: &str) -> BTreeSet<String> {
        let histograms: BTreeSet<&str> = FAMILIES
            .iter()
            .filter(|f| f.1 == Kind::Histogram)
            .map(|f| f.0)
            .collect();
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("reconstructor_") {
            let preceded_by_word = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if !preceded_by_word {
                let name = &tail[..end];
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| histograms.contains(b)))
                    .unwrap_or(name);
                names.insert(family.to_owned());
            }
            rest = &tail[end..];
        }
        names
    }

    fn repository_file(path: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn families_follow_the_naming_conventions() {
        let mut seen = BTreeSet::new();
        for &(name, kind, unit, help) in FAMILIES {
            assert!(seen.insert(name), "{name} listed twice");
            assert!(name.starts_with("reconstructor_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(!help.is_empty() && !help.ends_with('.'), "{name}: {help:?}");
            assert_eq!(kind == Kind::Counter, name.ends_with("_total"), "{name}");
            let base = name.trim_end_matches("_total");
            match unit {
                Some(metrics::Unit::Seconds) => assert!(base.ends_with("_seconds"), "{name}"),
                Some(metrics::Unit::Bytes) => assert!(base.ends_with("_bytes"), "{name}"),
                _ => assert!(
                    !base.ends_with("_seconds") && !base.ends_with("_bytes"),
                    "{name}: unit {unit:?}"
                ),
            }
            // Milliseconds, kilobytes and the like are not base units.
            for scaled in [
                "_ms",
                "_milliseconds",
                "_kb",
                "_kib",
                "_mb",
                "_mib",
                "_minutes",
            ] {
                assert!(!name.contains(scaled), "{name}");
            }
        }
    }

    #[test]
    fn the_extractor_maps_series_to_families() {
        let found = referenced(
            "histogram_quantile(0.9, rate(reconstructor_http_request_duration_seconds_bucket[5m])) \
             / reconstructor_ingest_queue_limit_records{pod=\"x\"} + app-reconstructor_x",
        );
        let expected: BTreeSet<String> = [
            "reconstructor_http_request_duration_seconds",
            "reconstructor_ingest_queue_limit_records",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(found, expected);
    }

    /// The chart's Grafana dashboard and alert rules name only metrics the server exports, and
    /// every family the alerts are about is there.
    #[test]
    fn the_dashboard_and_the_alerts_name_only_exported_metrics() {
        let exported: BTreeSet<String> = FAMILIES.iter().map(|f| f.0.to_owned()).collect();
        let dashboard = repository_file("helm/reconstructor/dashboards/reconstructor.json");
        let parsed: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard JSON");
        let mut queries = String::new();
        for panel in parsed["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                queries.push_str(target["expr"].as_str().unwrap());
                queries.push('\n');
            }
        }
        for variable in parsed["templating"]["list"].as_array().unwrap() {
            if let Some(query) = variable["query"]["query"].as_str() {
                queries.push_str(query);
                queries.push('\n');
            }
        }
        let in_dashboard = referenced(&queries);
        assert!(
            in_dashboard.is_subset(&exported),
            "unknown in the dashboard: {:?}",
            in_dashboard.difference(&exported).collect::<Vec<_>>()
        );
        // Everything the dashboard refers to anywhere (descriptions included) exists too.
        assert_eq!(referenced(&dashboard), in_dashboard);

        let rules = repository_file("helm/reconstructor/templates/prometheusrule.yaml");
        let in_rules = referenced(&rules);
        assert!(
            in_rules.is_subset(&exported),
            "unknown in the alert rules: {:?}",
            in_rules.difference(&exported).collect::<Vec<_>>()
        );
        for needed in [
            super::names::INGEST_RECORDS_REJECTED,
            super::names::INGEST_COMMITS,
            super::names::HTTP_REQUESTS,
            super::names::INGEST_QUEUE_RECORDS,
            super::names::INGEST_QUEUE_LIMIT_RECORDS,
            super::names::DISCOVERY_LAST_MERGE_TIMESTAMP,
            super::names::DATABASE_UP,
        ] {
            assert!(in_rules.contains(needed), "no alert uses {needed}");
        }
    }

    #[test]
    fn throttle_counts_what_it_holds_back() {
        let throttle = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.allow_at(start), Some(0));
        for i in 1..=5 {
            assert_eq!(throttle.allow_at(start + Duration::from_secs(i)), None);
        }
        assert_eq!(throttle.allow_at(start + Duration::from_secs(10)), Some(5));
        assert_eq!(throttle.allow_at(start + Duration::from_secs(11)), None);
        assert_eq!(throttle.allow_at(start + Duration::from_secs(25)), Some(1));
    }
}
