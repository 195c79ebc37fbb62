//! The production store.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{QueryBuilder, Row};

use super::codec::{ExchangeRow, headers_json, producer_json};
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
        let columns = Columns::from(exchanges);
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        insert_exchanges(&mut tx, received_at, &columns).await?;
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

/// One array per column: `UNNEST` turns them back into rows in a single statement, which is
/// an order of magnitude faster than one `INSERT` per row.
#[derive(Default)]
struct Columns {
    observed_at: Vec<DateTime<Utc>>,
    source_format: Vec<&'static str>,
    scheme: Vec<&'static str>,
    host: Vec<String>,
    port: Vec<i32>,
    method: Vec<String>,
    raw_path: Vec<String>,
    path: Vec<String>,
    query: Vec<Option<String>>,
    status: Vec<Option<i16>>,
    request_headers: Vec<String>,
    request_body: Vec<Vec<u8>>,
    request_body_truncated: Vec<bool>,
    request_content_type: Vec<Option<String>>,
    response_headers: Vec<Option<String>>,
    response_body: Vec<Option<Vec<u8>>>,
    response_body_truncated: Vec<Option<bool>>,
    response_content_type: Vec<Option<String>>,
    client_address: Vec<Option<String>>,
    producer: Vec<Option<String>>,
}

impl From<&[&Exchange]> for Columns {
    fn from(exchanges: &[&Exchange]) -> Self {
        let mut c = Columns::default();
        for e in exchanges {
            c.observed_at.push(e.observed_at);
            c.source_format.push(e.source.as_str());
            c.scheme.push(e.scheme.as_str());
            c.host.push(e.host.clone());
            c.port.push(i32::from(e.port));
            c.method.push(e.method.clone());
            c.raw_path.push(e.raw_path.clone());
            c.path.push(e.path.clone());
            c.query.push(e.query.clone());
            // Statuses are validated to 100..=599 on ingest.
            c.status.push(e.status.map(|s| s as i16));
            c.request_headers.push(headers_json(&e.request.headers));
            c.request_body.push(e.request.body.bytes.clone());
            c.request_body_truncated.push(e.request.body.truncated);
            c.request_content_type.push(e.request.content_type());
            let response = e.response.as_ref();
            c.response_headers
                .push(response.map(|r| headers_json(&r.headers)));
            c.response_body.push(response.map(|r| r.body.bytes.clone()));
            c.response_body_truncated
                .push(response.map(|r| r.body.truncated));
            c.response_content_type
                .push(response.and_then(|r| r.content_type()));
            c.client_address.push(e.client_address.clone());
            c.producer.push(producer_json(&e.producer));
        }
        c
    }
}

async fn insert_exchanges(
    tx: &mut sqlx::PgConnection,
    received_at: DateTime<Utc>,
    c: &Columns,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into exchanges (received_at, observed_at, source_format, scheme, host, port, \
         method, raw_path, path, query, status, request_headers, request_body, \
         request_body_truncated, request_content_type, response_headers, response_body, \
         response_body_truncated, response_content_type, client_address, producer) \
         select $1, observed_at, source_format, scheme, host, port, method, raw_path, path, \
         query, status, request_headers::jsonb, request_body, request_body_truncated, \
         request_content_type, response_headers::jsonb, response_body, response_body_truncated, \
         response_content_type, client_address, producer::jsonb \
         from unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int4[], \
         $7::text[], $8::text[], $9::text[], $10::text[], $11::int2[], $12::text[], \
         $13::bytea[], $14::bool[], $15::text[], $16::text[], $17::bytea[], $18::bool[], \
         $19::text[], $20::text[], $21::text[]) \
         as t(observed_at, source_format, scheme, host, port, method, raw_path, path, query, \
         status, request_headers, request_body, request_body_truncated, request_content_type, \
         response_headers, response_body, response_body_truncated, response_content_type, \
         client_address, producer)",
    )
    .bind(received_at)
    .bind(&c.observed_at)
    .bind(&c.source_format)
    .bind(&c.scheme)
    .bind(&c.host)
    .bind(&c.port)
    .bind(&c.method)
    .bind(&c.raw_path)
    .bind(&c.path)
    .bind(&c.query)
    .bind(&c.status)
    .bind(&c.request_headers)
    .bind(&c.request_body)
    .bind(&c.request_body_truncated)
    .bind(&c.request_content_type)
    .bind(&c.response_headers)
    .bind(&c.response_body)
    .bind(&c.response_body_truncated)
    .bind(&c.response_content_type)
    .bind(&c.client_address)
    .bind(&c.producer)
    .execute(tx)
    .await?;
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
