//! The embedded store: a single SQLite file, so the server runs with no setup at all.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};

use super::codec::{ExchangeRow, headers_json, producer_json};
use super::{Cursor, ExchangeQuery, PoolSettings, Store, StoreError, StoredExchange};
use crate::config::{Backend, DatabaseUrl};
use crate::exchange::Exchange;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Exchanges in one SQLite file (WAL mode, full fsync on commit: an acknowledged exchange
/// survives a power cut, not just a crash).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its directory.
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url.expose())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(settings.acquire_timeout.max(Duration::from_secs(1)));
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Other(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The underlying pool, for tests and tools that need raw access.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp {micros} out of range").into()))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("select 1").execute(&mut *conn).await?;
        Ok(())
    }

    async fn append_exchanges(
        &self,
        received_at: DateTime<Utc>,
        exchanges: &[&Exchange],
    ) -> Result<(), StoreError> {
        if exchanges.is_empty() {
            return Ok(());
        }
        // `begin immediate` takes the write lock up front, so a busy database makes us wait
        // (busy_timeout) instead of failing at the first write inside a deferred transaction.
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        let mut result = Ok(());
        for exchange in exchanges {
            // One prepared statement reused for every row: SQLite's fastest bulk path.
            if let Err(e) = insert_exchange(&mut conn, received_at, exchange).await {
                result = Err(e);
                break;
            }
        }
        let end = if result.is_ok() { "commit" } else { "rollback" };
        let ended = sqlx::query(end).execute(&mut *conn).await;
        result?;
        ended?;
        Ok(())
    }

    async fn list_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<Vec<StoredExchange>, StoreError> {
        let mut sql = QueryBuilder::new(
            "select id, received_at, observed_at, source_format, scheme, host, port, method, \
             raw_path, path, query, status, request_headers, request_body, \
             request_body_truncated, response_headers, response_body, response_body_truncated, \
             client_address, producer from exchanges where 1",
        );
        if let Some(host) = &query.host {
            sql.push(" and host = ").push_bind(host);
        }
        if let Some(port) = query.port {
            sql.push(" and port = ").push_bind(i64::from(port));
        }
        if let Some(method) = &query.method {
            sql.push(" and method = ").push_bind(method);
        }
        match query.before {
            Some(Cursor::Id(id)) => {
                sql.push(" and id < ").push_bind(id);
            }
            Some(Cursor::ReceivedBefore(at)) => {
                sql.push(" and received_at < ").push_bind(to_micros(at));
            }
            None => {}
        }
        sql.push(" order by id desc limit ")
            .push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| read_row(row)?.into_stored())
            .collect()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

async fn insert_exchange(
    conn: &mut sqlx::SqliteConnection,
    received_at: DateTime<Utc>,
    e: &Exchange,
) -> Result<(), sqlx::Error> {
    let response = e.response.as_ref();
    sqlx::query(
        "insert into exchanges (received_at, observed_at, source_format, scheme, host, port, \
         method, raw_path, path, query, status, request_headers, request_body, \
         request_body_truncated, request_content_type, response_headers, response_body, \
         response_body_truncated, response_content_type, client_address, producer) \
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(to_micros(received_at))
    .bind(to_micros(e.observed_at))
    .bind(e.source.as_str())
    .bind(e.scheme.as_str())
    .bind(&e.host)
    .bind(i64::from(e.port))
    .bind(&e.method)
    .bind(&e.raw_path)
    .bind(&e.path)
    .bind(&e.query)
    .bind(e.status.map(i64::from))
    .bind(headers_json(&e.request.headers))
    .bind(&e.request.body.bytes)
    .bind(e.request.body.truncated)
    .bind(e.request.content_type())
    .bind(response.map(|r| headers_json(&r.headers)))
    .bind(response.map(|r| &r.body.bytes))
    .bind(response.map(|r| r.body.truncated))
    .bind(response.and_then(|r| r.content_type()))
    .bind(&e.client_address)
    .bind(producer_json(&e.producer))
    .execute(conn)
    .await?;
    Ok(())
}

fn read_row(row: &SqliteRow) -> Result<ExchangeRow, StoreError> {
    Ok(ExchangeRow {
        id: row.try_get("id")?,
        received_at: from_micros(row.try_get("received_at")?)?,
        observed_at: from_micros(row.try_get("observed_at")?)?,
        source_format: row.try_get("source_format")?,
        scheme: row.try_get("scheme")?,
        host: row.try_get("host")?,
        port: row.try_get("port")?,
        method: row.try_get("method")?,
        raw_path: row.try_get("raw_path")?,
        path: row.try_get("path")?,
        query: row.try_get("query")?,
        status: row.try_get("status")?,
        request_headers: row.try_get("request_headers")?,
        request_body: row.try_get("request_body")?,
        request_body_truncated: row.try_get("request_body_truncated")?,
        response_headers: row.try_get("response_headers")?,
        response_body: row.try_get("response_body")?,
        response_body_truncated: row.try_get("response_body_truncated")?,
        client_address: row.try_get("client_address")?,
        producer: row.try_get("producer")?,
    })
}
