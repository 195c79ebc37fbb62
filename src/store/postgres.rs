//! The production store.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{QueryBuilder, Row};

use super::codec::ExchangeRow;
use super::copy;
use super::{Cursor, ExchangeQuery, PoolSettings, Store, StoreError, StoredExchange};
use crate::config::{Backend, DatabaseUrl};
use crate::exchange::Exchange;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Daily exchange partitions kept ready ahead of the clock.
const PARTITION_DAYS_AHEAD: i32 = 3;

/// Exchanges in Postgres, written in bulk with `UNNEST` arrays.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Opens a pool. Connecting is lazy, so the server starts (and reports not-ready) while the
    /// database is still coming up.
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url.expose())?.application_name("reconstructor");
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(true)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// The underlying pool, for tests and tools that need raw access.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // sqlx holds a Postgres advisory lock while it migrates, so replicas starting together
        // apply each migration exactly once.
        MIGRATOR.run(&self.pool).await?;
        self.maintain().await
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        sqlx::query("select reconstructor_ensure_exchange_partitions($1)")
            .bind(PARTITION_DAYS_AHEAD)
            .execute(&self.pool)
            .await?;
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
        // Encode before taking a connection: the connection is held only for the I/O.
        let rows = copy::encode_exchanges(received_at, exchanges);
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        copy_exchanges(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<Vec<StoredExchange>, StoreError> {
        let mut sql = QueryBuilder::new(
            "select id, received_at, observed_at, source_format, scheme, host, port, method, \
             raw_path, path, query, status, request_headers::text as request_headers, \
             request_body, request_body_truncated, response_headers::text as response_headers, \
             response_body, response_body_truncated, client_address, producer::text as producer \
             from exchanges where true",
        );
        if let Some(host) = &query.host {
            sql.push(" and host = ").push_bind(host);
        }
        if let Some(port) = query.port {
            sql.push(" and port = ").push_bind(i32::from(port));
        }
        if let Some(method) = &query.method {
            sql.push(" and method = ").push_bind(method);
        }
        match query.before {
            Some(Cursor::Id(id)) => {
                sql.push(" and id < ").push_bind(id);
            }
            Some(Cursor::ReceivedBefore(at)) => {
                sql.push(" and received_at < ").push_bind(at);
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

/// Streams pre-encoded rows into `exchanges` with binary `COPY`, the fastest bulk path
/// Postgres has (it skips parsing and planning per row).
async fn copy_exchanges(tx: &mut sqlx::PgConnection, rows: &[u8]) -> Result<(), sqlx::Error> {
    let mut copy = tx
        .copy_in_raw(&format!(
            "copy exchanges ({}) from stdin (format binary)",
            copy::COLUMNS
        ))
        .await?;
    // Sent in slices so one huge batch does not become one huge protocol message.
    for chunk in rows.chunks(1 << 20) {
        if let Err(e) = copy.send(chunk).await {
            let _ = copy.abort("send failed").await;
            return Err(e);
        }
    }
    copy.finish().await?;
    Ok(())
}

fn read_row(row: &PgRow) -> Result<ExchangeRow, StoreError> {
    Ok(ExchangeRow {
        id: row.try_get("id")?,
        received_at: row.try_get("received_at")?,
        observed_at: row.try_get("observed_at")?,
        source_format: row.try_get("source_format")?,
        scheme: row.try_get("scheme")?,
        host: row.try_get("host")?,
        port: i64::from(row.try_get::<i32, _>("port")?),
        method: row.try_get("method")?,
        raw_path: row.try_get("raw_path")?,
        path: row.try_get("path")?,
        query: row.try_get("query")?,
        status: row.try_get::<Option<i16>, _>("status")?.map(i64::from),
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
