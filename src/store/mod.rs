//! Durable storage behind one trait, with a Postgres (production) and a SQLite (embedded,
//! zero-setup) implementation. All SQL lives in this module's submodules.

mod codec;
mod copy;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::config::{Backend, Config, DatabaseUrl};
use crate::exchange::Exchange;

/// A storage failure, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
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
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_transient(&error) {
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
    /// The exchange as kept (redacted).
    pub exchange: Exchange,
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
    /// Start after this point (newest first).
    pub before: Option<Cursor>,
    /// At most this many rows.
    pub limit: u32,
}

/// What every backend provides. Implementations are cheap to share (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Which backend this is.
    fn backend(&self) -> Backend;

    /// Applies pending migrations. Safe to run from several processes at once.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Periodic housekeeping (creating upcoming time partitions); idempotent.
    async fn maintain(&self) -> Result<(), StoreError>;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Appends exchanges in one transaction: all of them are stored, or none.
    async fn append_exchanges(
        &self,
        received_at: DateTime<Utc>,
        exchanges: &[&Exchange],
    ) -> Result<(), StoreError>;

    /// The most recent exchanges matching `query`, newest first.
    async fn list_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<Vec<StoredExchange>, StoreError>;

    /// Closes the pool, waiting for checked-out connections to come back.
    async fn close(&self);
}

/// Connects to the configured database (creating the SQLite file and its directory when
/// needed).
pub async fn connect(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    connect_url(&config.effective_database_url(), config).await
}

/// Connects to `url` with the pool settings from `config`.
pub async fn connect_url(url: &DatabaseUrl, config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    let pool = PoolSettings::from(config);
    Ok(match url.backend() {
        Some(Backend::Postgres) => Arc::new(PgStore::connect(url, &pool).await?),
        // `Config::validate` has already refused anything that is neither.
        _ => Arc::new(SqliteStore::connect(url, &pool).await?),
    })
}

/// Pool sizing, explicit so that behaviour under load is a choice, not a library default.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Upper bound on open connections.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// How long a caller waits for a connection before getting [`StoreError::Unavailable`].
    pub acquire_timeout: std::time::Duration,
}

impl From<&Config> for PoolSettings {
    fn from(config: &Config) -> Self {
        Self {
            max_connections: config.database_max_connections,
            min_connections: config.database_min_connections,
            acquire_timeout: config.database_acquire_timeout,
        }
    }
}
