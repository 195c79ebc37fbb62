//! Group commit: records from concurrent requests share one transaction.
//!
//! Handlers hand their records to a queue and wait; writer tasks take everything queued (up to
//! a size limit, lingering a moment for more), commit it in one transaction, and only then
//! answer each waiting request. A request is therefore acknowledged only after the commit that
//! holds its records, and when that commit fails exactly the requests in it are told so.
//!
//! The database work runs in tasks that a client disconnect cannot cancel: dropping a handler
//! mid-transaction would return a broken connection to the pool.
//!
//! A 503 after `commit.timeout` means that nothing of the request is stored: a request still
//! queued when its time is up withdraws its records, which no writer then takes. One whose
//! records a writer has already put in a transaction waits for that transaction's outcome
//! instead, which is then its answer; a retry never stores a record twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::discovery::catalog::Classified;
use crate::discovery::summaries;
use crate::model::catalog::CatalogBatch;
use crate::model::exchange::Exchange;
use crate::observability::names;
use crate::store::{Store, StoreError, WriteBatch};

/// The `[commit]` section of the configuration: the limits of the queue in front of the writers
/// and of each commit, with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommitSettings {
    /// Largest number of records in one commit.
    pub max_records: usize,
    /// How long a writer waits for more records before committing a partial batch.
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
    /// Longest a request waits for its commit before answering 503.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Records waiting or being committed, beyond which requests are refused with 503.
    pub queue_max_records: usize,
    /// Approximate bytes waiting or being committed, beyond which requests are refused.
    #[serde(deserialize_with = "crate::model::size::deserialize")]
    pub queue_max_bytes: usize,
}

impl Default for CommitSettings {
    fn default() -> Self {
        Self {
            max_records: 2000,
            max_delay: Duration::from_millis(2),
            timeout: Duration::from_secs(15),
            queue_max_records: 50_000,
            queue_max_bytes: 64 * 1024 * 1024,
        }
    }
}

impl CommitSettings {
    /// The first unacceptable setting, as `(key within [commit], reason)`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.max_records == 0 {
            return Err(("max_records", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(("timeout", "must be longer than zero"));
        }
        Ok(())
    }
}

/// Writer tasks committing concurrently: more than one overlaps Postgres commits profitably;
/// SQLite has one writer at a time.
pub fn writers_for(backend: crate::store::Backend) -> usize {
    match backend {
        crate::store::Backend::Postgres => 2,
        crate::store::Backend::Sqlite => 1,
    }
}

/// Why records were not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The queue is full: the server is receiving faster than the database commits.
    #[error("the write queue is full; retry later")]
    QueueFull,
    /// The writers are gone (shutdown).
    #[error("the server is shutting down")]
    Closed,
    /// No writer took the records in time; they were withdrawn, and nothing was stored.
    #[error("the database did not commit within {0:?}")]
    Timeout(Duration),
    /// The commit failed; nothing of the request was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Job {
    records: Classified,
    bytes: usize,
    done: oneshot::Sender<Result<(), Arc<StoreError>>>,
    /// [`QUEUED`], then [`TAKEN`] by a writer or [`WITHDRAWN`] by the request; never both.
    state: Arc<AtomicU8>,
}

/// Waiting in the queue.
const QUEUED: u8 = 0;
/// In a writer's transaction: the request waits for its outcome.
const TAKEN: u8 = 1;
/// Given up by the request after `commit.timeout`: writers drop it.
const WITHDRAWN: u8 = 2;

impl Job {
    /// Claims the job for a transaction; `false` when the request has withdrawn it.
    fn take(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// The handle requests use to have their records committed. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    sender: mpsc::UnboundedSender<Job>,
    queued: Arc<Queued>,
    settings: CommitSettings,
}

/// What is queued or being committed, for the backpressure limits. The channel itself is
/// unbounded because these counters bound it, by records and by bytes at once.
#[derive(Debug, Default)]
struct Queued {
    records: AtomicUsize,
    bytes: AtomicUsize,
    commits: AtomicU64,
    /// When the last commit failed because the disk is full; cleared by a commit that works.
    disk_full_since: std::sync::Mutex<Option<Instant>>,
}

impl Queued {
    fn release(&self, records: usize, bytes: usize) {
        self.records.fetch_sub(records, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// The writer tasks; awaiting [`WriterTasks::join`] after every [`Writer`] is dropped drains the
/// queue.
#[derive(Debug)]
pub struct WriterTasks(JoinSet<()>);

impl WriterTasks {
    /// Waits until the writers have committed everything queued and stopped.
    pub async fn join(mut self) {
        while self.0.join_next().await.is_some() {}
    }
}

impl Writer {
    /// Starts the writer tasks.
    pub fn start(
        store: Arc<dyn Store>,
        settings: CommitSettings,
        writers: usize,
    ) -> (Writer, WriterTasks) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queued = Arc::new(Queued::default());
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let mut tasks = JoinSet::new();
        for _ in 0..writers.max(1) {
            tasks.spawn(run_writer(
                store.clone(),
                receiver.clone(),
                queued.clone(),
                settings,
            ));
        }
        let writer = Writer {
            sender,
            queued,
            settings,
        };
        (writer, WriterTasks(tasks))
    }

    /// Commits `records` (all or nothing) and returns once they are durable.
    pub async fn write(&self, records: Classified) -> Result<(), WriteError> {
        if records.exchanges.is_empty() {
            return Ok(());
        }
        let bytes = records.exchanges.iter().map(approximate_size).sum();
        let records_len = records.exchanges.len();
        self.reserve(records_len, bytes)?;
        let records_count = records_len;
        let (done, mut result) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        let job = Job {
            records,
            bytes,
            done,
            state: state.clone(),
        };
        if self.sender.send(job).is_err() {
            self.queued.release(records_count, bytes);
            return Err(WriteError::Closed);
        }
        let outcome = match tokio::time::timeout(self.settings.timeout, &mut result).await {
            Ok(outcome) => outcome,
            Err(_) => {
                let withdrawn = state
                    .compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok();
                if withdrawn {
                    // No writer will take it; the one that meets it releases its room.
                    return Err(WriteError::Timeout(self.settings.timeout));
                }
                // Already in a transaction: only its outcome tells whether it was stored.
                metrics::counter!(names::INGEST_COMMIT_OVERTIME).increment(1);
                result.await
            }
        };
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(WriteError::Store(Arc::try_unwrap(e).unwrap_or_else(|e| {
                // Shared by every request of a failed commit: keep its kind and message.
                if e.is_disk_full() {
                    StoreError::DiskFull(sqlx::Error::Protocol(e.to_string()))
                } else if e.is_unavailable() {
                    StoreError::Unavailable(sqlx::Error::Protocol(e.to_string()))
                } else {
                    StoreError::Other(sqlx::Error::Protocol(e.to_string()))
                }
            }))),
            Err(_) => Err(WriteError::Closed),
        }
    }

    /// Claims queue room for a request, or refuses at once when there is none.
    fn reserve(&self, records: usize, bytes: usize) -> Result<(), WriteError> {
        let previous_records = self.queued.records.fetch_add(records, Ordering::AcqRel);
        let previous_bytes = self.queued.bytes.fetch_add(bytes, Ordering::AcqRel);
        // A request larger than the whole queue is still let in when the queue is empty, so
        // that a single big (but within the body limit) batch is never refused forever.
        let over = (previous_records > 0 || previous_bytes > 0)
            && (previous_records + records > self.settings.queue_max_records
                || previous_bytes + bytes > self.settings.queue_max_bytes);
        if over {
            self.queued.release(records, bytes);
            metrics::counter!(names::INGEST_QUEUE_FULL).increment(1);
            return Err(WriteError::QueueFull);
        }
        Ok(())
    }

    /// Transactions committed since start (each may hold many requests).
    pub fn commits(&self) -> u64 {
        self.queued.commits.load(Ordering::Relaxed)
    }

    /// Since when commits fail because the database's disk is full, if the last one did.
    pub fn disk_full_since(&self) -> Option<Instant> {
        *self
            .queued
            .disk_full_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records currently queued or being committed.
    pub fn queued_records(&self) -> usize {
        self.queued.records.load(Ordering::Relaxed)
    }

    /// Approximate bytes currently queued or being committed.
    pub fn queued_bytes(&self) -> usize {
        self.queued.bytes.load(Ordering::Relaxed)
    }

    /// The queue limits and batching this writer runs with.
    pub fn settings(&self) -> &CommitSettings {
        &self.settings
    }
}

/// Rough in-memory size of an exchange, for the byte limit of the queue.
fn approximate_size(exchange: &Exchange) -> usize {
    let headers =
        |h: &[(String, String)]| -> usize { h.iter().map(|(n, v)| n.len() + v.len() + 16).sum() };
    let response = exchange
        .response
        .as_ref()
        .map(|r| headers(&r.headers) + r.body.bytes.len())
        .unwrap_or(0);
    256 + exchange.raw_path.len()
        + exchange.path.len()
        + exchange.query.as_deref().map_or(0, str::len)
        + headers(&exchange.request.headers)
        + exchange.request.body.bytes.len()
        + response
}

async fn run_writer(
    store: Arc<dyn Store>,
    receiver: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>,
    queued: Arc<Queued>,
    settings: CommitSettings,
) {
    loop {
        let batch = {
            // One writer gathers at a time; the others commit meanwhile.
            let mut receiver = receiver.lock().await;
            let first = loop {
                let Some(job) = receiver.recv().await else {
                    return;
                };
                if let Some(job) = claim(job, &queued) {
                    break job;
                }
            };
            gather(&mut receiver, first, &settings, &queued).await
        };
        commit_batch(&*store, batch, &queued).await;
    }
}

/// The job, now in a transaction; `None` (its queue room released) when its request withdrew it.
fn claim(job: Job, queued: &Queued) -> Option<Job> {
    if job.take() {
        return Some(job);
    }
    queued.release(job.records.exchanges.len(), job.bytes);
    metrics::counter!(names::INGEST_COMMIT_WITHDRAWN).increment(1);
    None
}

/// Takes what is queued behind `first`, waiting at most `max_delay` for more, up to
/// `max_records`.
async fn gather(
    receiver: &mut mpsc::UnboundedReceiver<Job>,
    first: Job,
    settings: &CommitSettings,
    queued: &Queued,
) -> Vec<Job> {
    let mut records = first.records.exchanges.len();
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + settings.max_delay;
    while records < settings.max_records {
        let job = match receiver.try_recv() {
            Ok(job) => job,
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(job)) => job,
                    Ok(None) | Err(_) => break,
                }
            }
        };
        let Some(job) = claim(job, queued) else {
            continue;
        };
        records += job.records.exchanges.len();
        batch.push(job);
    }
    batch
}

/// The catalog counts of jobs committed together, taken out of the jobs rather than copied:
/// a job whose commit must be redone alone counts its exchanges again
/// ([`Classified::recount`]).
fn take_catalogs(jobs: &mut [Job]) -> CatalogBatch {
    let mut catalog = CatalogBatch::default();
    for job in jobs {
        catalog.absorb(std::mem::take(&mut job.records.catalog));
    }
    catalog
}

/// Commits jobs, whose catalog counts together are `catalog`, as one transaction. A deadlock or
/// serialization failure (possible when a discovery merge folds rows this batch touches) is
/// retried a few times before it fails.
async fn append(store: &dyn Store, jobs: &[Job], catalog: CatalogBatch) -> Result<(), StoreError> {
    let mut batch = WriteBatch {
        catalog,
        ..WriteBatch::default()
    };
    let sampled = jobs.iter().any(|j| !j.records.whole.is_empty());
    for job in jobs {
        if sampled {
            let n = job.records.exchanges.len();
            let whole = &job.records.whole;
            batch
                .whole
                .extend((0..n).map(|i| whole.get(i).copied().unwrap_or(true)));
        }
        batch.exchanges.extend(job.records.exchanges.iter());
        batch.keys.extend(job.records.keys.iter());
    }
    batch.summaries = summaries::encode(jobs.iter().map(|j| j.records.summaries.as_slice()));
    let mut attempt = 0;
    loop {
        match store.append(Utc::now(), &batch).await {
            Err(e) if e.is_conflict() && attempt < 3 => {
                attempt += 1;
                metrics::counter!(names::INGEST_COMMIT_RETRIES).increment(1);
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
            result => return result,
        }
    }
}

async fn commit_batch(store: &dyn Store, mut batch: Vec<Job>, queued: &Queued) {
    let records: usize = batch.iter().map(|j| j.records.exchanges.len()).sum();
    let bytes: usize = batch.iter().map(|j| j.bytes).sum();
    let start = Instant::now();
    let catalog = take_catalogs(&mut batch);
    let result = append(store, &batch, catalog).await;
    let elapsed = start.elapsed().as_secs_f64();
    {
        let mut disk_full = queued
            .disk_full_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &result {
            Err(e) if e.is_disk_full() => {
                disk_full.get_or_insert(start);
            }
            Ok(()) => *disk_full = None,
            Err(_) => {}
        }
    }
    match result {
        Ok(()) => {
            queued.commits.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(names::INGEST_COMMITS, "outcome" => "ok").increment(1);
            metrics::histogram!(names::INGEST_COMMIT_DURATION).record(elapsed);
            metrics::histogram!(names::INGEST_COMMIT_RECORDS).record(records as f64);
            queued.release(records, bytes);
            for job in batch {
                let _ = job.done.send(Ok(()));
            }
        }
        Err(e) if !e.is_unavailable() && batch.len() > 1 => {
            // One request's records broke the shared transaction (a bug, or data the database
            // refuses): commit the requests one by one so that only the guilty one fails.
            tracing::warn!(error = %e, requests = batch.len(), "group commit failed; retrying per request");
            metrics::counter!(names::INGEST_COMMITS, "outcome" => "split").increment(1);
            for job in batch {
                let records = job.records.exchanges.len();
                let bytes = job.bytes;
                let catalog = job.records.recount();
                let result = append(store, std::slice::from_ref(&job), catalog).await;
                if result.is_ok() {
                    queued.commits.fetch_add(1, Ordering::Relaxed);
                }
                queued.release(records, bytes);
                let _ = job.done.send(result.map_err(Arc::new));
            }
        }
        Err(e) => {
            metrics::counter!(names::INGEST_COMMITS, "outcome" => "failed").increment(1);
            queued.release(records, bytes);
            let e = Arc::new(e);
            for job in batch {
                let _ = job.done.send(Err(e.clone()));
            }
        }
    }
}
