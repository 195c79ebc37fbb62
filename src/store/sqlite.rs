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

use std::collections::HashMap;
use std::sync::Arc;

use super::codec::{ExchangeRow, body_size, producer_json, stored_body, stored_headers};
use super::{
    Backend, CatalogChanges, CatalogMarks, Cursor, DatabaseSettings, DatabaseUrl, EndpointQuery,
    EndpointRow, EndpointTemplate, ExchangeOrigin, ExchangeQuery, HostRebuild, HostRow, Leader,
    Store, StoreError, StoredExchange, SummaryRow, WriteBatch,
};
use crate::model::catalog::{CatalogBatch, EndpointKey, Fold};
use crate::model::exchange::Exchange;
use crate::model::template::HostRules;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Exchanges in one SQLite file (WAL mode, full fsync on commit: an acknowledged exchange
/// survives a power cut, not just a crash).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The discovery leader lock: one process uses the file, so it is in-process.
    leader: Arc<tokio::sync::Mutex<()>>,
    known_hosts: Arc<super::KnownHosts>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its directory.
    pub async fn connect(
        url: &DatabaseUrl,
        settings: &DatabaseSettings,
    ) -> Result<Self, StoreError> {
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
        Ok(Self {
            pool,
            leader: Arc::default(),
            known_hosts: Arc::default(),
        })
    }

    /// The underlying pool, for tests and tools that need raw access.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

pub(super) fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(super) fn from_micros(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp {micros} out of range").into()))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn pool_status(&self) -> super::PoolStatus {
        super::PoolStatus::of(&self.pool)
    }

    fn changes(&self) -> &dyn super::changes::ChangeStore {
        self
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn expire(&self, before: DateTime<Utc>) -> Result<super::Expired, StoreError> {
        let mut expired = super::Expired::default();
        loop {
            // One short write transaction per batch: a writer waits at most for one batch.
            let deleted = sqlx::query(
                "delete from exchanges where id in \
                 (select id from exchanges where received_at < ?1 order by id limit ?2)",
            )
            .bind(to_micros(before))
            .bind(super::EXPIRE_BATCH)
            .execute(&self.pool)
            .await?
            .rows_affected();
            expired.rows += deleted;
            if deleted < super::EXPIRE_BATCH as u64 {
                // Links of expired exchanges go too: ids grow with time, so every exchange
                // below the oldest one left is gone.
                sqlx::query(
                    "delete from exchange_links where exchange_id < \
                     coalesce((select min(id) from exchanges), 9223372036854775807)",
                )
                .execute(&self.pool)
                .await?;
                return Ok(expired);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn disk_usage(&self) -> Result<u64, StoreError> {
        let (bytes,): (i64,) = sqlx::query_as(
            "select ((select page_count from pragma_page_count()) \
               - (select freelist_count from pragma_freelist_count())) \
               * (select page_size from pragma_page_size())",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(bytes.max(0) as u64)
    }

    async fn oldest_exchange(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("select received_at from exchanges order by id limit 1")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(micros,)| from_micros(micros))
            .transpose()
            .map_err(Into::into)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("select 1").execute(&mut *conn).await?;
        Ok(())
    }

    async fn settle_counts(&self) -> Result<u64, StoreError> {
        // Ingest adds to the endpoint rows directly: SQLite commits one at a time anyway.
        Ok(0)
    }

    async fn append(
        &self,
        received_at: DateTime<Utc>,
        batch: &WriteBatch<'_>,
    ) -> Result<(), StoreError> {
        if batch.exchanges.is_empty() {
            return Ok(());
        }
        // `begin immediate` takes the write lock up front, so a busy database makes us wait
        // (busy_timeout) instead of failing at the first write inside a deferred transaction.
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        // Host rows only change when a host, scheme or namespace is new to this process.
        let new_hosts = self.known_hosts.unknown(&batch.catalog);
        let result = append_in(&mut conn, received_at, batch, &new_hosts).await;
        let end = if result.is_ok() { "commit" } else { "rollback" };
        let ended = sqlx::query(end).execute(&mut *conn).await;
        result?;
        ended?;
        self.known_hosts.remember(&new_hosts);
        Ok(())
    }

    async fn list_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<Vec<StoredExchange>, StoreError> {
        let mut sql = QueryBuilder::new(format!(
            "select {EXCHANGE_COLUMNS}, {} from exchanges where 1",
            super::RESOLVED_ENDPOINT
        ));
        if let Some(host) = &query.host {
            sql.push(" and host = ").push_bind(host);
        }
        if let Some(port) = query.port {
            sql.push(" and port = ").push_bind(i64::from(port));
        }
        if let Some(method) = &query.method {
            sql.push(" and method = ").push_bind(method);
        }
        if let Some(endpoint) = query.endpoint_id {
            super::push_endpoint_filter(&mut sql, endpoint);
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

    async fn exchange_hosts(&self) -> Result<Vec<ExchangeOrigin>, StoreError> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("select distinct host, port, scheme from exchanges order by 1, 2, 3")
                .fetch_all(&self.pool)
                .await?;
        Ok(super::exchange_origins(rows))
    }

    async fn list_hosts(&self) -> Result<Vec<HostRow>, StoreError> {
        let rows = sqlx::query(&format!("{} order by h.host", super::HOST_SELECT))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_host).collect()
    }

    async fn host(&self, host: &str) -> Result<Option<HostRow>, StoreError> {
        let row = sqlx::query(&format!("{} where h.host = ?", super::HOST_SELECT))
            .bind(host)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_host).transpose()
    }

    async fn list_endpoints(&self, query: &EndpointQuery) -> Result<Vec<EndpointRow>, StoreError> {
        let mut sql = QueryBuilder::new(format!(
            "select {ENDPOINT_ROW_COLUMNS} from endpoints where host = "
        ));
        sql.push_bind(&query.host);
        if let Some(method) = &query.method {
            sql.push(" and method = ").push_bind(method);
        }
        if let Some(prefix) = &query.path_prefix {
            // `like` is case-insensitive in SQLite; `substr` compares exactly.
            sql.push(" and substr(path, 1, ")
                .push_bind(prefix.len() as i64)
                .push(") = ")
                .push_bind(prefix);
        }
        super::push_endpoint_page(&mut sql, query);
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(read_endpoint).collect()
    }

    async fn endpoint_templates(
        &self,
    ) -> Result<HashMap<String, Vec<EndpointTemplate>>, StoreError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("select id, host, template from endpoints order by host, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(super::group_templates(rows))
    }

    async fn catalog_marks(&self) -> Result<CatalogMarks, StoreError> {
        let (endpoint, change): (i64, i64) = sqlx::query_as(
            "select (select coalesce(max(id), 0) from endpoints), \
               (select coalesce(max(seq), 0) from catalog_changes)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(CatalogMarks { endpoint, change })
    }

    async fn catalog_changes(&self, since: CatalogMarks) -> Result<CatalogChanges, StoreError> {
        let added = sqlx::query_as("select id, host, template from endpoints where id > ?")
            .bind(since.endpoint)
            .fetch_all(&self.pool)
            .await?;
        let hosts = sqlx::query_as("select host, seq from catalog_changes where seq > ?")
            .bind(since.change)
            .fetch_all(&self.pool)
            .await?;
        Ok(CatalogChanges { added, hosts })
    }

    async fn hosts_templates(
        &self,
        hosts: &[String],
    ) -> Result<HashMap<String, Vec<EndpointTemplate>>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "select id, host, template from endpoints \
             where host in (select value from json_each(?)) order by host, id",
        )
        .bind(serde_json::to_string(hosts).unwrap_or_else(|_| "[]".to_owned()))
        .fetch_all(&self.pool)
        .await?;
        Ok(super::group_templates(rows))
    }

    async fn host_rules(&self) -> Result<HashMap<String, HostRules>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as("select host, rules from host_rules")
            .fetch_all(&self.pool)
            .await?;
        Ok(super::decode_rules(rows))
    }

    async fn put_host_rules(&self, host: &str, rules: &HostRules) -> Result<(), StoreError> {
        sqlx::query(
            "insert into host_rules (host, rules, updated_at) values (?, ?, ?) \
             on conflict (host) do update set rules = excluded.rules, \
             updated_at = excluded.updated_at",
        )
        .bind(host)
        .bind(super::encode_rules(rules))
        .bind(to_micros(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn fold_endpoints(&self, host: &str, folds: &[Fold]) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        let result = match fold_in(&mut conn, host, folds).await {
            Ok(folded) => stamp_host(&mut conn, host).await.map(|()| folded),
            Err(e) => Err(e),
        };
        let end = if result.is_ok() { "commit" } else { "rollback" };
        let ended = sqlx::query(end).execute(&mut *conn).await;
        let folded = result?;
        ended?;
        Ok(folded)
    }

    async fn rebuild_host(&self, host: &str) -> Result<Box<dyn HostRebuild>, StoreError> {
        let (hostname, _) = crate::model::catalog::split_host_key(host);
        let (through,): (i64,) =
            sqlx::query_as("select coalesce(max(id), 0) from exchanges where host = ?")
                .bind(hostname)
                .fetch_one(&self.pool)
                .await?;
        Ok(Box::new(SqliteRebuild {
            pool: self.pool.clone(),
            conn: None,
            host: host.to_owned(),
            hostname: hostname.to_owned(),
            through,
        }))
    }

    async fn host_summaries(&self, host: &str) -> Result<Vec<SummaryRow>, StoreError> {
        Ok(sqlx::query_as(
            "select id, method, template, summary from endpoint_summaries where host = ? \
             order by id",
        )
        .bind(host)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn replace_host_summaries(
        &self,
        host: &str,
        replaced: Option<&[i64]>,
        rows: &[(EndpointKey, String)],
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        let result = async {
            match replaced {
                Some(ids) => {
                    sqlx::query(
                        "delete from endpoint_summaries where host = ? \
                         and id in (select value from json_each(?))",
                    )
                    .bind(host)
                    .bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned()))
                    .execute(&mut *conn)
                    .await?
                }
                None => {
                    sqlx::query("delete from endpoint_summaries where host = ?")
                        .bind(host)
                        .execute(&mut *conn)
                        .await?
                }
            };
            insert_summaries(&mut conn, rows).await
        }
        .await;
        let end = if result.is_ok() { "commit" } else { "rollback" };
        let ended = sqlx::query(end).execute(&mut *conn).await;
        result?;
        ended?;
        Ok(())
    }

    async fn try_lead(&self) -> Result<Option<Leader>, StoreError> {
        Ok(self.leader.clone().try_lock_owned().ok().map(Leader::Local))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

async fn append_in(
    conn: &mut sqlx::SqliteConnection,
    received_at: DateTime<Utc>,
    batch: &WriteBatch<'_>,
    new_hosts: &CatalogBatch,
) -> Result<(), StoreError> {
    upsert_hosts(conn, new_hosts, false).await?;
    let ids = upsert_endpoints(conn, &batch.catalog).await?;
    for (i, (exchange, key)) in batch.exchanges.iter().zip(&batch.keys).enumerate() {
        // One prepared statement reused for every row: SQLite's fastest bulk path.
        let endpoint = ids.get(*key).copied();
        insert_exchange(conn, received_at, exchange, endpoint, batch.is_whole(i)).await?;
    }
    insert_summaries(conn, &batch.summaries).await?;
    Ok(())
}

/// Writes the batch's hosts: their schemes and namespaces are added to what is stored (or,
/// with `replace`, replace it).
async fn upsert_hosts(
    conn: &mut sqlx::SqliteConnection,
    catalog: &CatalogBatch,
    replace: bool,
) -> Result<(), sqlx::Error> {
    let update = if replace {
        "schemes = excluded.schemes, namespaces = excluded.namespaces"
    } else {
        "schemes = (select json_group_array(value) from (select value from \
           json_each(hosts.schemes) union select value from json_each(excluded.schemes) \
           order by value)), \
         namespaces = (select json_group_array(value) from (select value from \
           json_each(hosts.namespaces) union select value from json_each(excluded.namespaces) \
           order by value))"
    };
    let sql = format!(
        "insert into hosts (host, hostname, port, schemes, namespaces) values (?, ?, ?, ?, ?) \
         on conflict (host) do update set {update}"
    );
    for (key, h) in &catalog.hosts {
        sqlx::query(&sql)
            .bind(key)
            .bind(&h.hostname)
            .bind(i64::from(h.port))
            .bind(serde_json::to_string(&h.schemes).unwrap_or_default())
            .bind(serde_json::to_string(&h.namespaces).unwrap_or_default())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// `{"k": n}` objects summed, in SQL.
fn add_counts_sql(left: &str, right: &str) -> String {
    format!(
        "(select coalesce(json_group_object(key, total), '{{}}') from (select key, \
           sum(value) as total from (select key, value from json_each({left}) union all \
           select key, value from json_each({right})) group by key order by key))"
    )
}

/// Upserts the batch's endpoint aggregates in key order; returns the id of each.
async fn upsert_endpoints(
    conn: &mut sqlx::SqliteConnection,
    catalog: &CatalogBatch,
) -> Result<HashMap<EndpointKey, i64>, sqlx::Error> {
    let sql = format!(
        "insert into endpoints (host, method, template, path, api, hits, first_seen, last_seen, \
           status_codes, request_content_types, response_content_types, fields) \
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         on conflict (host, method, template) do update set \
           api = endpoints.api or excluded.api, \
           hits = endpoints.hits + excluded.hits, \
           first_seen = min(endpoints.first_seen, excluded.first_seen), \
           last_seen = max(endpoints.last_seen, excluded.last_seen), \
           status_codes = {}, request_content_types = {}, response_content_types = {}, \
           fields = coalesce(endpoints.fields, excluded.fields) \
         returning id",
        add_counts_sql("endpoints.status_codes", "excluded.status_codes"),
        add_counts_sql(
            "endpoints.request_content_types",
            "excluded.request_content_types"
        ),
        add_counts_sql(
            "endpoints.response_content_types",
            "excluded.response_content_types"
        ),
    );
    let mut ids = HashMap::with_capacity(catalog.endpoints.len());
    for (key, d) in &catalog.endpoints {
        let (id,): (i64,) = sqlx::query_as(&sql)
            .bind(&key.host)
            .bind(&key.method)
            .bind(&key.template)
            .bind(super::plain_template(&key.template))
            .bind(d.api)
            .bind(d.hits as i64)
            .bind(to_micros(d.first_seen))
            .bind(to_micros(d.last_seen))
            .bind(super::counts_json(&d.status_codes))
            .bind(super::counts_json(&d.request_types))
            .bind(super::counts_json(&d.response_types))
            .bind(d.fields)
            .fetch_one(&mut *conn)
            .await?;
        ids.insert(key.clone(), id);
    }
    Ok(ids)
}

/// Folds endpoints inside an open transaction (SQLite has one writer, so reading, summing and
/// deleting in steps is as atomic as one statement): a handful of statements per target,
/// however many endpoints fold into it, and none that touches exchanges.
/// Marks a host whose templates changed other than by new endpoints, for the classifier's
/// incremental refresh; the last statement of its transaction.
async fn stamp_host(conn: &mut sqlx::SqliteConnection, host: &str) -> Result<(), StoreError> {
    sqlx::query(
        "insert into catalog_changes (host, seq) \
         values (?, (select coalesce(max(seq), 0) + 1 from catalog_changes)) \
         on conflict (host) do update set seq = excluded.seq",
    )
    .bind(host)
    .execute(conn)
    .await?;
    Ok(())
}

async fn fold_in(
    conn: &mut sqlx::SqliteConnection,
    host: &str,
    folds: &[Fold],
) -> Result<u64, StoreError> {
    let mut folded = 0;
    for ((method, to), froms) in super::group_folds(folds) {
        let rows = sqlx::query(&format!(
            "select {ENDPOINT_ROW_COLUMNS} from endpoints where host = ? and method = ? \
             and template in (select value from json_each(?))"
        ))
        .bind(host)
        .bind(&method)
        .bind(serde_json::json!(froms).to_string())
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            continue;
        }
        let key = EndpointKey {
            host: host.to_owned(),
            method: method.clone(),
            template: to.clone(),
        };
        let mut total: Option<crate::model::catalog::EndpointDelta> = None;
        let mut moved = Vec::with_capacity(rows.len());
        for row in &rows {
            let row = read_endpoint(row)?;
            moved.push(row.id);
            let delta = crate::model::catalog::EndpointDelta::from(&row);
            match &mut total {
                Some(total) => total.absorb(&delta),
                None => total = Some(delta),
            }
        }
        let mut batch = CatalogBatch::default();
        batch.endpoints.extend(total.map(|total| (key, total)));
        let ids = upsert_endpoints(conn, &batch).await?;
        let target = ids.values().next().copied().unwrap_or_default();
        let moved_ids = serde_json::json!(moved).to_string();
        sqlx::query("delete from endpoints where id in (select value from json_each(?))")
            .bind(&moved_ids)
            .execute(&mut *conn)
            .await?;
        // Exchanges stay as stored: the folded ids, and the aliases and links that pointed at
        // them, resolve to the target from now on.
        for table in ["endpoint_aliases", "exchange_links"] {
            sqlx::query(&format!(
                "update {table} set endpoint_id = ? \
                 where endpoint_id in (select value from json_each(?))"
            ))
            .bind(target)
            .bind(&moved_ids)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "insert into endpoint_aliases (alias_id, endpoint_id, host) \
             select value, ?, ? from json_each(?) where true \
             on conflict (alias_id) do update set endpoint_id = excluded.endpoint_id",
        )
        .bind(target)
        .bind(host)
        .bind(&moved_ids)
        .execute(&mut *conn)
        .await?;
        folded += moved.len() as u64;
    }
    Ok(folded)
}

async fn insert_summaries(
    conn: &mut sqlx::SqliteConnection,
    rows: &[(EndpointKey, String)],
) -> Result<(), sqlx::Error> {
    let now = to_micros(Utc::now());
    for (key, summary) in rows {
        sqlx::query(
            "insert into endpoint_summaries (host, method, template, summary, created_at) \
             values (?, ?, ?, ?, ?)",
        )
        .bind(&key.host)
        .bind(&key.method)
        .bind(&key.template)
        .bind(summary)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The columns of an exchange row, but its endpoint.
const EXCHANGE_COLUMNS: &str = "id, received_at, observed_at, source_format, scheme, host, \
     port, method, raw_path, path, query, status, request_headers, request_body, \
     request_body_truncated, response_headers, response_body, response_body_truncated, \
     client_address, producer, whole, request_body_size, response_body_size, \
     request_content_type, response_content_type";

/// A host rebuild: reads up to `through` outside any transaction, then one `begin immediate`
/// transaction (SQLite's write lock).
#[derive(Debug)]
struct SqliteRebuild {
    pool: SqlitePool,
    conn: Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>,
    host: String,
    hostname: String,
    /// The highest id of the host's committed exchanges when the rebuild began; a write in
    /// flight then commits higher ids (one writer at a time).
    through: i64,
}

impl SqliteRebuild {
    fn conn(&mut self) -> Result<&mut sqlx::SqliteConnection, StoreError> {
        self.conn
            .as_deref_mut()
            .ok_or_else(|| StoreError::Other(sqlx::Error::Protocol("rebuild not locked".into())))
    }
}

impl Drop for SqliteRebuild {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Dropped without commit: the open transaction must not go back to the pool.
            drop(conn.detach());
        }
    }
}

#[async_trait]
impl HostRebuild for SqliteRebuild {
    async fn scan(
        &mut self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredExchange>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {EXCHANGE_COLUMNS}, endpoint_id from exchanges \
             where host = ? and id <= ? and id < ? order by id desc limit ?"
        ))
        .bind(&self.hostname)
        .bind(self.through)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| read_row(row)?.into_stored())
            .collect()
    }

    async fn catch_up(&mut self) -> Result<Vec<StoredExchange>, StoreError> {
        let (through,): (i64,) =
            sqlx::query_as("select coalesce(max(id), 0) from exchanges where host = ?")
                .bind(&self.hostname)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "select {EXCHANGE_COLUMNS}, endpoint_id from exchanges \
             where host = ? and id > ? and id <= ? order by id desc"
        ))
        .bind(&self.hostname)
        .bind(self.through)
        .bind(through)
        .fetch_all(&self.pool)
        .await?;
        self.through = through;
        rows.iter()
            .map(|row| read_row(row)?.into_stored())
            .collect()
    }

    async fn lock(&mut self) -> Result<Vec<StoredExchange>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("begin immediate").execute(&mut *conn).await?;
        self.conn = Some(conn);
        let hostname = self.hostname.clone();
        let through = self.through;
        let rows = sqlx::query(&format!(
            "select {EXCHANGE_COLUMNS}, endpoint_id from exchanges \
             where host = ? and id > ? order by id desc"
        ))
        .bind(hostname)
        .bind(through)
        .fetch_all(self.conn()?)
        .await?;
        rows.iter()
            .map(|row| read_row(row)?.into_stored())
            .collect()
    }

    async fn write(
        &mut self,
        catalog: &CatalogBatch,
        aliases: &[(i64, &EndpointKey)],
        links: &[(i64, &EndpointKey)],
    ) -> Result<(), StoreError> {
        let host = self.host.clone();
        let conn = self.conn()?;
        let current = sqlx::query(&format!(
            "select {ENDPOINT_ROW_COLUMNS} from endpoints where host = ?"
        ))
        .bind(&host)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(read_endpoint)
        .collect::<Result<Vec<_>, _>>()?;
        let diff = super::RebuildDiff::of(&current, catalog);
        sqlx::query("delete from endpoints where id in (select value from json_each(?))")
            .bind(serde_json::to_string(&diff.deleted).unwrap_or_else(|_| "[]".to_owned()))
            .execute(&mut *conn)
            .await?;
        // What the host's exchanges resolve through is written again below.
        for table in ["endpoint_aliases", "exchange_links"] {
            sqlx::query(&format!("delete from {table} where host = ?"))
                .bind(&host)
                .execute(&mut *conn)
                .await?;
        }
        // A host's counts are those of its endpoints: a host without traffic needs no row update.
        if !catalog.hosts.is_empty() {
            upsert_hosts(conn, catalog, true).await?;
        }
        let inserted = upsert_endpoints(conn, &diff.inserted).await?;
        for (table, key_column, pairs, skip_self) in [
            ("endpoint_aliases", "alias_id", aliases, true),
            ("exchange_links", "exchange_id", links, false),
        ] {
            for chunk in diff.resolve(&inserted, pairs, skip_self).chunks(5_000) {
                sqlx::query(&format!(
                    "insert into {table} ({key_column}, endpoint_id, host) \
                     select value ->> 0, value ->> 1, ? from json_each(?)"
                ))
                .bind(&host)
                .bind(serde_json::to_string(chunk).unwrap_or_else(|_| "[]".to_owned()))
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        let host = self.host.clone();
        stamp_host(self.conn()?, &host).await?;
        sqlx::query("commit").execute(self.conn()?).await?;
        self.conn.take();
        Ok(())
    }
}

/// The columns [`read_endpoint`] reads.
const ENDPOINT_ROW_COLUMNS: &str = "id, host, method, template, path, api, hits, first_seen, \
     last_seen, status_codes, request_content_types, response_content_types, fields";

fn read_host(row: &SqliteRow) -> Result<HostRow, StoreError> {
    let list = |json: String| serde_json::from_str::<Vec<String>>(&json).unwrap_or_default();
    Ok(HostRow {
        host: row.try_get("host")?,
        hostname: row.try_get("hostname")?,
        port: u16::try_from(row.try_get::<i64, _>("port")?).unwrap_or_default(),
        schemes: list(row.try_get("schemes")?),
        namespaces: list(row.try_get("namespaces")?),
        endpoints: row.try_get::<i64, _>("endpoints")? as u64,
        exchanges: row.try_get::<i64, _>("exchanges")? as u64,
        first_seen: from_micros(row.try_get("first_seen")?)?,
        last_seen: from_micros(row.try_get("last_seen")?)?,
    })
}

fn read_endpoint(row: &SqliteRow) -> Result<EndpointRow, StoreError> {
    Ok(EndpointRow {
        id: row.try_get("id")?,
        host: row.try_get("host")?,
        method: row.try_get("method")?,
        template: row.try_get("template")?,
        path: row.try_get("path")?,
        api: row.try_get("api")?,
        hits: row.try_get::<i64, _>("hits")? as u64,
        first_seen: from_micros(row.try_get("first_seen")?)?,
        last_seen: from_micros(row.try_get("last_seen")?)?,
        status_codes: super::parse_status_counts(row.try_get("status_codes")?),
        request_types: super::parse_counts(row.try_get("request_content_types")?),
        response_types: super::parse_counts(row.try_get("response_content_types")?),
        fields: row.try_get("fields")?,
    })
}

async fn insert_exchange(
    conn: &mut sqlx::SqliteConnection,
    received_at: DateTime<Utc>,
    e: &Exchange,
    endpoint_id: Option<i64>,
    whole: bool,
) -> Result<(), sqlx::Error> {
    let response = e.response.as_ref();
    sqlx::query(
        "insert into exchanges (received_at, observed_at, source_format, scheme, host, port, \
         method, raw_path, path, query, status, request_headers, request_body, \
         request_body_truncated, request_content_type, response_headers, response_body, \
         response_body_truncated, response_content_type, client_address, producer, \
         endpoint_id, whole, request_body_size, response_body_size) \
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .bind(stored_headers(&e.request.headers, whole))
    .bind(stored_body(&e.request.body.bytes, whole))
    .bind(e.request.body.truncated)
    .bind(e.request.content_type())
    .bind(response.map(|r| stored_headers(&r.headers, whole)))
    .bind(response.map(|r| stored_body(&r.body.bytes, whole)))
    .bind(response.map(|r| r.body.truncated))
    .bind(response.and_then(|r| r.content_type()))
    .bind(&e.client_address)
    .bind(producer_json(&e.producer))
    .bind(endpoint_id)
    .bind(whole)
    .bind(body_size(&e.request.body.bytes))
    .bind(response.map(|r| body_size(&r.body.bytes)))
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
        endpoint_id: row.try_get("endpoint_id")?,
        whole: row.try_get("whole")?,
        request_content_type: row.try_get("request_content_type")?,
        response_content_type: row.try_get("response_content_type")?,
        request_body_size: row.try_get("request_body_size")?,
        response_body_size: row.try_get("response_body_size")?,
    })
}
