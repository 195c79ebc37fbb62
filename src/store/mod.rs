//! Durable storage behind one trait, with a Postgres (production) and a SQLite (embedded,
//! zero-setup) implementation. All SQL lives in this module's submodules.

pub mod changes;
mod codec;
mod copy;
mod postgres;
mod postgres_changes;
mod settings;
mod sqlite;
mod sqlite_changes;

use std::sync::{Arc, Mutex};

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use postgres::PgStore;
pub use settings::{Backend, DatabaseSettings, DatabaseUrl, ExchangePolicy, StorageSettings};

pub use sqlite::SqliteStore;

use crate::model::catalog::{CatalogBatch, EndpointDelta, EndpointKey, Fold, HostDelta};
use crate::model::exchange::Exchange;
use crate::model::template::HostRules;

/// A storage failure, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The disk under the database is full (SQLite `SQLITE_FULL`, Postgres `53100 disk_full`,
    /// `ENOSPC`): nothing was written; retry once space is freed (HTTP 503).
    #[error("the disk under the database is full: {0}")]
    DiskFull(#[source] sqlx::Error),
    /// Anything else: a bug or a schema problem (HTTP 500).
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be turned back into an exchange.
    #[error("corrupt row {id}: {reason}")]
    Corrupt {
        /// The row's id.
        id: i64,
        /// What was wrong.
        reason: String,
    },
}

impl StoreError {
    /// True when retrying later may succeed (the caller answers 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::DiskFull(_))
    }

    /// True when the write failed because the database's disk is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::DiskFull(_))
    }

    /// True for a deadlock or a serialization failure between concurrent transactions: the
    /// transaction was rolled back and may simply be run again.
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Unavailable(sqlx::Error::Database(db))
            | StoreError::Other(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }
}

/// SQLite `SQLITE_FULL` (13), Postgres `53100 disk_full`, or `ENOSPC` on a socket or file.
fn is_disk_full(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(e) => e.kind() == std::io::ErrorKind::StorageFull,
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("13" | "53100")),
        _ => false,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_disk_full(&error) {
            StoreError::DiskFull(error)
        } else if is_transient(&error) {
            StoreError::Unavailable(error)
        } else {
            StoreError::Other(error)
        }
    }
}

/// Failing to obtain a connection always means the database is unreachable from here, whatever
/// the error says (a proxy in front of a stopped server accepts and then hangs up, which the
/// driver reports as a protocol error).
pub(crate) fn unreachable(error: sqlx::Error) -> StoreError {
    StoreError::Unavailable(error)
}

/// Errors that mean "the database is not there right now" rather than "the query is wrong".
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => match db.code() {
            // Postgres classes: 08 connection exception, 53 insufficient resources,
            // 57P01-57P03 shutdown / cannot connect now, 40001/40P01 serialization / deadlock.
            Some(code) => {
                code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P")
                    || code == "40001"
                    || code == "40P01"
                    // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_FULL (13), SQLITE_IOERR (10)
                    || matches!(code.as_ref(), "5" | "6" | "10" | "13" | "517" | "261")
            }
            None => false,
        },
        _ => false,
    }
}

/// An exchange as read back, with what the store added.
#[derive(Debug, Clone)]
pub struct StoredExchange {
    /// Monotonic id, usable as a pagination cursor.
    pub id: i64,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// The catalog endpoint it was counted in.
    pub endpoint_id: Option<i64>,
    /// Whether it was stored whole; else `exchange` has no headers or bodies, and the sizes
    /// below say what its bodies were.
    pub whole: bool,
    /// The size of the request body as captured (before any cut to the stored limit, when the
    /// producer said so), when known.
    pub request_body_size: Option<u64>,
    /// The size of the response body, when known.
    pub response_body_size: Option<u64>,
    /// The exchange as kept (redacted).
    pub exchange: Exchange,
}

/// A distinct `(host name, port, scheme)` of the stored exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeOrigin {
    /// The host name (no port).
    pub hostname: String,
    /// The port.
    pub port: u16,
    /// `http` or `https`.
    pub scheme: String,
}

/// An endpoint's id and annotated template, for the classifier's cache of learned templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTemplate {
    /// The endpoint's row id (grows with creation).
    pub id: i64,
    /// The annotated template.
    pub template: String,
}

/// How far a classifier has read the catalog: the highest endpoint id and change stamp seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CatalogMarks {
    /// The highest endpoint id.
    pub endpoint: i64,
    /// The highest change stamp of a host (a fold or a rebuild).
    pub change: i64,
}

/// What changed in the catalog after some [`CatalogMarks`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogChanges {
    /// Endpoints added: `(id, host, annotated template)`.
    pub added: Vec<(i64, String, String)>,
    /// Hosts whose templates changed otherwise, with their stamp.
    pub hosts: Vec<(String, i64)>,
}

/// Where listing starts: strictly older than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Exchanges with a smaller id.
    Id(i64),
    /// Exchanges received earlier.
    ReceivedBefore(DateTime<Utc>),
}

/// Filters for [`Store::list_exchanges`].
#[derive(Debug, Clone, Default)]
pub struct ExchangeQuery {
    /// Lower-case host name; matches every port unless `port` is set.
    pub host: Option<String>,
    /// Only this port.
    pub port: Option<u16>,
    /// Upper-case method.
    pub method: Option<String>,
    /// Only exchanges counted in this catalog endpoint.
    pub endpoint_id: Option<i64>,
    /// Start after this point (newest first).
    pub before: Option<Cursor>,
    /// At most this many rows.
    pub limit: u32,
}

/// A connection pool's occupancy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, idle or in use.
    pub size: usize,
    /// Idle connections.
    pub idle: usize,
    /// Most connections the pool opens.
    pub max: usize,
}

impl PoolStatus {
    pub(crate) fn of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Self {
        PoolStatus {
            size: pool.size() as usize,
            idle: pool.num_idle(),
            max: pool.options().get_max_connections() as usize,
        }
    }
}

/// What one [`Store::expire`] round removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Day partitions dropped whole (Postgres).
    pub partitions: u64,
    /// Rows deleted one batch at a time (SQLite, and Postgres's default partition).
    pub rows: u64,
    /// Partitions left for the next round because ingest held their lock.
    pub deferred: u64,
}

/// Rows an [`Store::expire`] deletes per statement: each batch is its own short transaction.
pub(crate) const EXPIRE_BATCH: i64 = 5_000;

/// What every backend provides. Implementations are cheap to share (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Applies pending migrations. Safe to run from several processes at once.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Periodic housekeeping (creating upcoming time partitions); idempotent.
    async fn maintain(&self) -> Result<(), StoreError>;

    /// Deletes the exchanges received before `before`, a bounded amount of work at a time so
    /// that ingest never waits long: whole day partitions are dropped on Postgres (giving their
    /// disk back at once), rows are deleted in small batches elsewhere. Catalog counts and
    /// endpoint summaries are kept. Safe to run from several replicas at once.
    async fn expire(&self, before: DateTime<Utc>) -> Result<Expired, StoreError>;

    /// The bytes the database uses on disk, as the disk budget counts them: Postgres's
    /// `pg_database_size`; SQLite's pages in use (free pages are reused, not given back).
    async fn disk_usage(&self) -> Result<u64, StoreError>;

    /// When the oldest stored exchange was received, if any.
    async fn oldest_exchange(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The connection pool's occupancy right now (for the metrics).
    fn pool_status(&self) -> PoolStatus;

    /// Adds the catalog counts that ingest appended beside their endpoints (Postgres, when
    /// commits contend for an endpoint's row) to those endpoints; returns the rows settled.
    /// Reads count the rows not yet settled, so this only keeps them few. Safe to run from
    /// several replicas at once (one settles, the others skip).
    async fn settle_counts(&self) -> Result<u64, StoreError>;

    /// Appends exchanges and adds their aggregates to the catalog, in one transaction: all of it
    /// is stored, or none. New endpoints are created in key order; on Postgres the counts of an
    /// endpoint whose row another commit holds are appended beside it
    /// ([`Store::settle_counts`]), so that commits counting one endpoint never wait for each
    /// other.
    async fn append(
        &self,
        received_at: DateTime<Utc>,
        batch: &WriteBatch<'_>,
    ) -> Result<(), StoreError>;

    /// The most recent exchanges matching `query`, newest first.
    async fn list_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<Vec<StoredExchange>, StoreError>;

    /// Every distinct `(host name, port, scheme)` of the stored exchanges (what `reprocess`
    /// walks: exchanges stored before the catalog existed have no host row yet).
    async fn exchange_hosts(&self) -> Result<Vec<ExchangeOrigin>, StoreError>;

    /// Every host of the catalog, by host key.
    async fn list_hosts(&self) -> Result<Vec<HostRow>, StoreError>;

    /// One host of the catalog.
    async fn host(&self, host: &str) -> Result<Option<HostRow>, StoreError>;

    /// Endpoints of one host ordered by path, then method, then template.
    async fn list_endpoints(&self, query: &EndpointQuery) -> Result<Vec<EndpointRow>, StoreError>;

    /// Every host's endpoint ids and templates (annotated), for the classifier's cache.
    async fn endpoint_templates(
        &self,
    ) -> Result<HashMap<String, Vec<EndpointTemplate>>, StoreError>;

    /// The highest endpoint id and change stamp, to refresh from ([`Store::catalog_changes`]).
    async fn catalog_marks(&self) -> Result<CatalogMarks, StoreError>;

    /// What changed in the catalog after `since`: endpoints added, and hosts whose templates
    /// changed otherwise (folds, rebuilds).
    async fn catalog_changes(&self, since: CatalogMarks) -> Result<CatalogChanges, StoreError>;

    /// The endpoint templates of `hosts`.
    async fn hosts_templates(
        &self,
        hosts: &[String],
    ) -> Result<HashMap<String, Vec<EndpointTemplate>>, StoreError>;

    /// Rules stored through the API, by host key.
    async fn host_rules(&self) -> Result<HashMap<String, HostRules>, StoreError>;

    /// Stores (replaces) the rules of one host.
    async fn put_host_rules(&self, host: &str, rules: &HostRules) -> Result<(), StoreError>;

    /// Folds endpoints of `host` into others: for each [`Fold`], the statistics of
    /// `from` are added to `to` (created when missing), `from` is deleted and its id becomes an
    /// alias of `to`'s, through which its stored exchanges (never rewritten) are found. Atomic,
    /// safe against concurrent ingest (no increment is lost), and O(endpoints). Returns the
    /// number of endpoints folded away.
    async fn fold_endpoints(&self, host: &str, folds: &[Fold]) -> Result<u64, StoreError>;

    /// Starts rebuilding the catalog of one host (a host key) from its stored exchanges. Until
    /// the rebuild commits or is dropped, ingest for this host waits, so that nothing committed
    /// meanwhile is counted twice or lost.
    async fn rebuild_host(&self, host: &str) -> Result<Box<dyn HostRebuild>, StoreError>;

    /// The summaries of a host's endpoints, `(method, template, json)`, oldest first.
    async fn host_summaries(&self, host: &str) -> Result<Vec<SummaryRow>, StoreError>;

    /// Replaces summaries of one host by `rows`: those with the `replaced` ids (compaction: rows
    /// appended meanwhile stay), or all of them (`None`: a rebuild that holds the host's lock).
    /// Summaries are appended with the exchanges they describe ([`Store::append`]).
    async fn replace_host_summaries(
        &self,
        host: &str,
        replaced: Option<&[i64]>,
        rows: &[(EndpointKey, String)],
    ) -> Result<(), StoreError>;

    /// Change-tracking storage (revisions, reference specs, the webhook outbox).
    fn changes(&self) -> &dyn changes::ChangeStore;

    /// Takes the discovery leader lock if no other process holds it.
    async fn try_lead(&self) -> Result<Option<Leader>, StoreError>;

    /// Closes the pool, waiting for checked-out connections to come back.
    async fn close(&self);
}

/// A catalog rebuild of one host (see [`Store::rebuild_host`]): the exchanges stored before it
/// began are read without any lock; then the host's lock is taken (ingest of the host waits
/// from there until [`HostRebuild::finish`]) for the few stored since, and the new catalog is
/// written. Stored exchanges are never rewritten: the rebuild maps their stored endpoint ids.
#[async_trait]
pub trait HostRebuild: Send + std::fmt::Debug {
    /// Exchanges whose host name is the host key's, stored before the rebuild began and older
    /// than `before` (an id), newest first. The caller keeps those whose host key matches (the
    /// port decides).
    async fn scan(
        &mut self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredExchange>, StoreError>;

    /// Catches up without a lock: returns the exchanges stored since the rebuild began (or
    /// since the last catch-up), newest first, and counts them as read.
    async fn catch_up(&mut self) -> Result<Vec<StoredExchange>, StoreError>;

    /// Takes the host's lock and returns the exchanges stored since the rebuild began (or since
    /// the last catch-up; the same host name), newest first.
    async fn lock(&mut self) -> Result<Vec<StoredExchange>, StoreError>;

    /// Replaces the host's endpoints with `catalog` (a row whose key and counts it keeps stays,
    /// id included: [`RebuildDiff`]), and resolves stored exchanges to them: `aliases` maps
    /// stored endpoint ids whose exchanges all belong to one endpoint, `links` single exchanges
    /// (of a stored endpoint that was split, or of none). The host's exchange count and times
    /// are replaced too. Needs [`HostRebuild::lock`] first.
    async fn write(
        &mut self,
        catalog: &CatalogBatch,
        aliases: &[(i64, &EndpointKey)],
        links: &[(i64, &EndpointKey)],
    ) -> Result<(), StoreError>;

    /// Makes the rebuild visible.
    async fn finish(self: Box<Self>) -> Result<(), StoreError>;
}

/// What one commit writes: exchanges, the catalog endpoint of each, and the aggregates.
#[derive(Debug, Default)]
pub struct WriteBatch<'a> {
    /// The exchanges.
    pub exchanges: Vec<&'a Exchange>,
    /// `keys[i]` is the endpoint of `exchanges[i]`.
    pub keys: Vec<&'a EndpointKey>,
    /// Per host and per endpoint aggregates of the exchanges.
    pub catalog: CatalogBatch,
    /// Endpoint summaries of sampled exchanges, serialised, one per endpoint, in key order.
    pub summaries: Vec<(EndpointKey, String)>,
    /// Whether `exchanges[i]` is stored whole (headers and bodies) or as metadata only; empty
    /// when every exchange is stored whole.
    pub whole: Vec<bool>,
}

impl WriteBatch<'_> {
    /// Whether exchange `i` is stored whole.
    pub fn is_whole(&self, i: usize) -> bool {
        self.whole.get(i).copied().unwrap_or(true)
    }
}

/// The discovery leader lock; held until dropped or released.
#[derive(Debug)]
pub enum Leader {
    /// A session advisory lock on a dedicated Postgres connection.
    Postgres(Option<sqlx::pool::PoolConnection<sqlx::Postgres>>),
    /// SQLite serves one process: an in-process lock is enough.
    Local(tokio::sync::OwnedMutexGuard<()>),
}

impl Leader {
    /// Gives the lock up.
    pub async fn release(mut self) {
        if let Leader::Postgres(conn) = &mut self
            && let Some(mut conn) = conn.take()
        {
            let unlocked = sqlx::query("select pg_advisory_unlock($1)")
                .bind(postgres::LEADER_LOCK)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                // Closing the session releases its locks for sure.
                drop(conn.detach());
            }
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        if let Leader::Postgres(conn) = self
            && let Some(conn) = conn.take()
        {
            // Not released explicitly (a panic or a cancelled task): close the session rather than
            // return a connection that still holds the lock to the pool.
            drop(conn.detach());
        }
    }
}

/// One stored endpoint summary.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SummaryRow {
    /// Row id (grows with time).
    pub id: i64,
    /// Upper-case method.
    pub method: String,
    /// The annotated template it was recorded under (possibly folded since).
    pub template: String,
    /// The summary, as JSON.
    pub summary: String,
}

/// One host of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostRow {
    /// The host key.
    pub host: String,
    /// The host name.
    pub hostname: String,
    /// The port.
    pub port: u16,
    /// Schemes seen, sorted.
    pub schemes: Vec<String>,
    /// Producer namespaces seen, sorted.
    pub namespaces: Vec<String>,
    /// API endpoints (static assets and pages excluded).
    pub endpoints: u64,
    /// Exchanges.
    pub exchanges: u64,
    /// Earliest observation.
    pub first_seen: DateTime<Utc>,
    /// Latest observation.
    pub last_seen: DateTime<Utc>,
}

/// One endpoint of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRow {
    /// Row id (changes when the endpoint is folded into another).
    pub id: i64,
    /// The host key.
    pub host: String,
    /// Upper-case method.
    pub method: String,
    /// The annotated template.
    pub template: String,
    /// The plain template.
    pub path: String,
    /// Whether it looks like an API endpoint.
    pub api: bool,
    /// Exchanges.
    pub hits: u64,
    /// Earliest observation.
    pub first_seen: DateTime<Utc>,
    /// Latest observation.
    pub last_seen: DateTime<Utc>,
    /// Exchanges per response status.
    pub status_codes: BTreeMap<u16, u64>,
    /// Exchanges per request media type.
    pub request_types: BTreeMap<String, u64>,
    /// Exchanges per response media type.
    pub response_types: BTreeMap<String, u64>,
    /// A response shape signature.
    pub fields: Option<i64>,
}

impl From<&EndpointRow> for EndpointDelta {
    fn from(row: &EndpointRow) -> Self {
        EndpointDelta {
            hits: row.hits,
            first_seen: row.first_seen,
            last_seen: row.last_seen,
            api: row.api,
            status_codes: row.status_codes.clone(),
            request_types: row.request_types.clone(),
            response_types: row.response_types.clone(),
            fields: row.fields,
        }
    }
}

/// What a rebuild changes in a host's endpoints ([`HostRebuild::write`]): a row whose key the new
/// catalog keeps with the same counts stays as it is, id included (the exchanges stored with it
/// resolve to it without an alias, and links to it stay valid); the other rows are deleted and
/// the new catalog's other endpoints inserted. A revision that splits one template rewrites
/// the rows of that template, not the host's whole catalog.
#[derive(Debug, Default)]
pub(crate) struct RebuildDiff {
    /// Ids of the rows kept, by key.
    pub kept: HashMap<EndpointKey, i64>,
    /// Ids of the rows to delete.
    pub deleted: Vec<i64>,
    /// The endpoints to insert.
    pub inserted: CatalogBatch,
}

impl RebuildDiff {
    /// Compares the host's `current` rows (every pending count settled into them) with the new
    /// `catalog`. The response-shape signature is not compared: either is one the endpoint
    /// answered with.
    pub(crate) fn of(current: &[EndpointRow], catalog: &CatalogBatch) -> RebuildDiff {
        let mut diff = RebuildDiff::default();
        for row in current {
            let key = EndpointKey {
                host: row.host.clone(),
                method: row.method.clone(),
                template: row.template.clone(),
            };
            let same = catalog.endpoints.get(&key).is_some_and(|new| {
                let old = EndpointDelta::from(row);
                EndpointDelta {
                    fields: new.fields,
                    ..old
                } == *new
            });
            if same {
                diff.kept.insert(key, row.id);
            } else {
                diff.deleted.push(row.id);
            }
        }
        diff.inserted.endpoints = catalog
            .endpoints
            .iter()
            .filter(|(key, _)| !diff.kept.contains_key(*key))
            .map(|(key, delta)| (key.clone(), delta.clone()))
            .collect();
        diff
    }

    /// The `(from, endpoint id)` pairs of `pairs` whose endpoint is written, given the ids of
    /// the rows inserted; an alias of a kept row to itself is left out.
    pub(crate) fn resolve(
        &self,
        inserted: &HashMap<EndpointKey, i64>,
        pairs: &[(i64, &EndpointKey)],
        skip_self: bool,
    ) -> Vec<(i64, i64)> {
        pairs
            .iter()
            .filter_map(|(from, key)| {
                let id = *self.kept.get(*key).or_else(|| inserted.get(*key))?;
                (!(skip_self && *from == id)).then_some((*from, id))
            })
            .collect()
    }
}

/// Filters for [`Store::list_endpoints`].
#[derive(Debug, Clone, Default)]
pub struct EndpointQuery {
    /// The host key.
    pub host: String,
    /// Upper-case method.
    pub method: Option<String>,
    /// Plain templates starting with this text.
    pub path_prefix: Option<String>,
    /// Include static assets and pages.
    pub include_non_api: bool,
    /// Start strictly after this `(path, method, template)`.
    pub after: Option<(String, String, String)>,
    /// At most this many rows.
    pub limit: u32,
}

/// Status codes as stored (`{"200": 3}`) into a map; unparsable keys are skipped.
pub(crate) fn parse_status_counts(json: &str) -> BTreeMap<u16, u64> {
    serde_json::from_str::<BTreeMap<String, u64>>(json)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
        .collect()
}

/// Counts as stored (`{"application/json": 3}`).
pub(crate) fn parse_counts(json: &str) -> BTreeMap<String, u64> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Counts as JSON text.
pub(crate) fn counts_json<K: ToString>(counts: &BTreeMap<K, u64>) -> String {
    let map: BTreeMap<String, u64> = counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned())
}

/// Escapes `%`, `_` and `\` for a `like` pattern with `escape '\'`.
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Connects to `url` with the pool sizing of `settings` (creating the SQLite file and its
/// directory when needed).
pub async fn connect(
    url: &DatabaseUrl,
    settings: &DatabaseSettings,
) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match url.backend() {
        Some(Backend::Postgres) => Arc::new(PgStore::connect(url, settings).await?),
        // `DatabaseSettings::validate` has already refused anything that is neither.
        _ => Arc::new(SqliteStore::connect(url, settings).await?),
    })
}

/// The plain form of an annotated template (`/users/{userId:integer}` → `/users/{userId}`).
pub(crate) fn plain_template(template: &str) -> String {
    crate::model::template::Template::parse(template)
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| template.to_owned())
}

/// Narrows an exchange listing to one endpoint: its own exchanges and those of every endpoint
/// folded into it (through `endpoint_aliases`), or linked to it by a rebuild (`exchange_links`,
/// which wins).
pub(crate) fn push_endpoint_filter<'a, DB>(sql: &mut sqlx::QueryBuilder<'a, DB>, endpoint: i64)
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    sql.push(" and ((exchanges.endpoint_id = ")
        .push_bind(endpoint)
        .push(
            " or exchanges.endpoint_id in \
             (select alias_id from endpoint_aliases where endpoint_id = ",
        )
        .push_bind(endpoint)
        .push(
            ")) and not exists (select 1 from exchange_links l \
             where l.exchange_id = exchanges.id) \
             or exchanges.id in (select exchange_id from exchange_links where endpoint_id = ",
        )
        .push_bind(endpoint)
        .push("))");
}

/// The endpoint an exchange row resolves to (a rebuild's link, else the alias of its stored
/// endpoint id, else that id), as a select-list expression named `endpoint_id`.
pub(crate) const RESOLVED_ENDPOINT: &str = "coalesce(\
     (select l.endpoint_id from exchange_links l where l.exchange_id = exchanges.id), \
     (select a.endpoint_id from endpoint_aliases a where a.alias_id = exchanges.endpoint_id), \
     exchanges.endpoint_id) as endpoint_id";

/// Changes grouped by `(method, target)`, each with the templates folded into it.
pub(crate) fn group_folds(folds: &[Fold]) -> BTreeMap<(String, String), Vec<String>> {
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for Fold { method, from, to } in folds {
        if from != to {
            groups
                .entry((method.clone(), to.clone()))
                .or_default()
                .push(from.clone());
        }
    }
    for froms in groups.values_mut() {
        froms.sort();
        froms.dedup();
    }
    groups
}

/// Rules as stored: `{"templates": ["/repos/{owner}/{repo}"], "literals": ["/users/me"]}`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct StoredRules {
    #[serde(default)]
    pub templates: Vec<String>,
    #[serde(default)]
    pub literals: Vec<String>,
}

impl From<&HostRules> for StoredRules {
    fn from(rules: &HostRules) -> Self {
        StoredRules {
            templates: rules.templates.iter().map(|t| t.annotated()).collect(),
            literals: rules.literals.clone(),
        }
    }
}

impl StoredRules {
    /// The rules, skipping any template that no longer parses.
    pub(crate) fn into_rules(self) -> HostRules {
        HostRules {
            templates: self
                .templates
                .iter()
                .filter_map(|t| crate::model::template::Template::parse(t))
                .collect(),
            literals: self.literals,
        }
    }
}

pub(crate) fn encode_rules(rules: &HostRules) -> String {
    serde_json::to_string(&StoredRules::from(rules)).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) fn decode_rules(rows: Vec<(String, String)>) -> HashMap<String, HostRules> {
    rows.into_iter()
        .filter_map(|(host, json)| {
            let stored: StoredRules = serde_json::from_str(&json).ok()?;
            Some((host, stored.into_rules()))
        })
        .collect()
}

/// Host rows with what is computed from their endpoints (exchanges, first and last sighting,
/// API endpoints); SQLite appends its own conditions. Postgres reads the same figures in a form
/// of its own (`postgres::HOST_SELECT`), which does not go through `endpoint_totals`.
pub(crate) const HOST_SELECT: &str = "select h.host, h.hostname, h.port, h.schemes, h.namespaces, \
     s.exchanges, s.first_seen, s.last_seen, s.endpoints \
     from hosts h join (select host, cast(sum(hits) as bigint) as exchanges, min(first_seen) as first_seen, \
       max(last_seen) as last_seen, sum(case when api then 1 else 0 end) as endpoints \
       from endpoint_totals group by host) s on s.host = h.host";

/// Hosts, with their schemes and namespaces, that this process has written: a batch writes a
/// host row only when it brings something new (a host's counts are its endpoints').
#[derive(Debug, Default)]
pub(crate) struct KnownHosts(Mutex<HashMap<String, HostDelta>>);

impl KnownHosts {
    /// Forgotten beyond this many (which only means writing them again).
    const MAX: usize = 100_000;

    /// The hosts of `catalog` that bring something new, as a batch of their own.
    pub(crate) fn unknown(&self, catalog: &CatalogBatch) -> CatalogBatch {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let hosts = catalog
            .hosts
            .iter()
            .filter(|(key, h)| {
                known.get(*key).is_none_or(|k| {
                    !h.schemes.is_subset(&k.schemes) || !h.namespaces.is_subset(&k.namespaces)
                })
            })
            .map(|(key, h)| (key.clone(), h.clone()))
            .collect();
        CatalogBatch {
            hosts,
            endpoints: BTreeMap::new(),
        }
    }

    /// Notes hosts as written (once their transaction committed).
    pub(crate) fn remember(&self, written: &CatalogBatch) {
        if written.hosts.is_empty() {
            return;
        }
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= Self::MAX {
            known.clear();
        }
        for (key, h) in &written.hosts {
            match known.get_mut(key) {
                Some(k) => {
                    k.schemes.extend(h.schemes.iter().cloned());
                    k.namespaces.extend(h.namespaces.iter().cloned());
                }
                None => {
                    known.insert(key.clone(), h.clone());
                }
            }
        }
    }
}

/// Endpoint templates by host, from `(id, host, template)` rows.
pub(crate) fn group_templates(
    rows: Vec<(i64, String, String)>,
) -> HashMap<String, Vec<EndpointTemplate>> {
    let mut map: HashMap<String, Vec<EndpointTemplate>> = HashMap::new();
    for (id, host, template) in rows {
        map.entry(host)
            .or_default()
            .push(EndpointTemplate { id, template });
    }
    map
}

/// Origins from `(host, port, scheme)` rows; a port out of range is skipped.
pub(crate) fn exchange_origins(rows: Vec<(String, i64, String)>) -> Vec<ExchangeOrigin> {
    rows.into_iter()
        .filter_map(|(hostname, port, scheme)| {
            Some(ExchangeOrigin {
                hostname,
                port: u16::try_from(port).ok()?,
                scheme,
            })
        })
        .collect()
}

/// The part of an endpoint listing both backends write alike: the API filter, the keyset cursor,
/// the order and the limit.
pub(crate) fn push_endpoint_page<DB>(sql: &mut sqlx::QueryBuilder<'_, DB>, query: &EndpointQuery)
where
    DB: sqlx::Database,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    if !query.include_non_api {
        sql.push(" and api");
    }
    if let Some((path, method, template)) = &query.after {
        sql.push(" and (path, method, template) > (")
            .push_bind(path.clone())
            .push(", ")
            .push_bind(method.clone())
            .push(", ")
            .push_bind(template.clone())
            .push(")");
    }
    sql.push(" order by path, method, template limit ")
        .push_bind(i64::from(query.limit));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn batch(hosts: &[(&str, &[&str], &[&str])]) -> CatalogBatch {
        let hosts = hosts
            .iter()
            .map(|(key, schemes, namespaces)| {
                let set = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
                let delta = HostDelta {
                    hostname: (*key).to_owned(),
                    port: 443,
                    schemes: set(schemes),
                    namespaces: set(namespaces),
                };
                ((*key).to_owned(), delta)
            })
            .collect();
        CatalogBatch {
            hosts,
            endpoints: BTreeMap::new(),
        }
    }

    fn keys(batch: &CatalogBatch) -> BTreeSet<&str> {
        batch.hosts.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_host_row_is_written_again_only_for_something_new() {
        let known = KnownHosts::default();
        let first = batch(&[
            ("a.example", &["https"], &[]),
            ("b.example", &["https"], &["x"]),
        ]);
        assert_eq!(keys(&known.unknown(&first)), keys(&first));
        // Nothing is remembered until the caller says the write committed.
        assert_eq!(keys(&known.unknown(&first)), keys(&first));
        known.remember(&known.unknown(&first));
        assert!(known.unknown(&first).hosts.is_empty());

        let later = batch(&[
            ("a.example", &["https"], &[]),
            ("b.example", &["http"], &["x"]),
            ("c.example", &["https"], &[]),
            ("a.example:8443", &["https"], &[]),
        ]);
        let new = known.unknown(&later);
        assert_eq!(
            keys(&new),
            BTreeSet::from(["a.example:8443", "b.example", "c.example"])
        );
        known.remember(&new);
        assert!(known.unknown(&later).hosts.is_empty());
        // A namespace not seen yet counts as new too.
        let namespaced = batch(&[("a.example", &["https"], &["payments"])]);
        assert_eq!(
            keys(&known.unknown(&namespaced)),
            BTreeSet::from(["a.example"])
        );
    }
}
