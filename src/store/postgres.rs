//! The production store.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{QueryBuilder, Row};

use std::collections::{BTreeMap, HashMap};

use super::codec::ExchangeRow;
use super::copy;
use super::{
    Backend, CatalogChanges, CatalogMarks, Cursor, DatabaseSettings, DatabaseUrl, EndpointQuery,
    EndpointRow, EndpointTemplate, ExchangeOrigin, ExchangeQuery, HostRebuild, HostRow, Leader,
    Store, StoreError, StoredExchange, SummaryRow, WriteBatch,
};
use crate::model::catalog::{CatalogBatch, EndpointDelta, EndpointKey, Fold};
use crate::model::template::HostRules;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Daily exchange partitions kept ready ahead of the clock.
const PARTITION_DAYS_AHEAD: i32 = 3;

/// Exchanges in Postgres, written in bulk with `UNNEST` arrays.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    known_hosts: Arc<super::KnownHosts>,
}

impl PgStore {
    /// Opens a pool. Connecting is lazy, so the server starts (and reports not-ready) while the
    /// database is still coming up.
    pub async fn connect(
        url: &DatabaseUrl,
        settings: &DatabaseSettings,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url.expose())?.application_name("reconstructor");
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(true)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            known_hosts: Arc::default(),
        })
    }

    /// The underlying pool, for tests and tools that need raw access.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Where a day partition `exchanges_YYYYMMDD` ends (exclusive); `None` for any other table.
fn partition_end(name: &str) -> Option<DateTime<Utc>> {
    let day = name
        .strip_prefix("exchanges_")
        .filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))?;
    let date = chrono::NaiveDate::parse_from_str(day, "%Y%m%d").ok()?;
    let next = date.succ_opt()?.and_hms_opt(0, 0, 0)?;
    Some(DateTime::from_naive_utc_and_offset(next, Utc))
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn pool_status(&self) -> super::PoolStatus {
        super::PoolStatus::of(&self.pool)
    }

    fn changes(&self) -> &dyn super::changes::ChangeStore {
        self
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

    async fn expire(&self, before: DateTime<Utc>) -> Result<super::Expired, StoreError> {
        let mut expired = super::Expired::default();
        let partitions: Vec<(String,)> = sqlx::query_as(
            "select c.relname::text from pg_inherits i join pg_class c on c.oid = i.inhrelid \
             where i.inhparent = 'exchanges'::regclass order by c.relname",
        )
        .fetch_all(&self.pool)
        .await?;
        for (name,) in partitions {
            let Some(end) = partition_end(&name) else {
                continue;
            };
            if end > before {
                continue;
            }
            // Dropping a partition locks the parent table, which every insert also locks: wait
            // briefly, and leave the partition for the next round rather than stall ingest.
            let mut tx = self.pool.begin().await?;
            sqlx::query("set local lock_timeout = '200ms'")
                .execute(&mut *tx)
                .await?;
            match sqlx::query(&format!("drop table if exists \"{name}\""))
                .execute(&mut *tx)
                .await
            {
                Ok(_) => {
                    tx.commit().await?;
                    expired.partitions += 1;
                }
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                    tx.rollback().await?;
                    expired.deferred += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Rows that landed in the default partition (no day partition ready in time).
        loop {
            let deleted = sqlx::query(
                "delete from exchanges_default where ctid = any(array( \
                 select ctid from exchanges_default where received_at < $1 limit $2))",
            )
            .bind(before)
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
        }
    }

    async fn disk_usage(&self) -> Result<u64, StoreError> {
        let (bytes,): (i64,) = sqlx::query_as("select pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await?;
        Ok(bytes.max(0) as u64)
    }

    async fn oldest_exchange(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        // Ids grow with time; each partition's primary key starts with the id.
        let row: Option<(DateTime<Utc>,)> =
            sqlx::query_as("select received_at from exchanges order by id limit 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(at,)| at))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        sqlx::query("select 1").execute(&mut *conn).await?;
        Ok(())
    }

    async fn settle_counts(&self) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        if !lock_counts(&mut tx, false).await? {
            // Another replica, a fold or a rebuild is at it.
            return Ok(0);
        }
        let settled = settle(&mut tx, None).await?;
        tx.commit().await?;
        Ok(settled)
    }

    async fn append(
        &self,
        received_at: DateTime<Utc>,
        batch: &WriteBatch<'_>,
    ) -> Result<(), StoreError> {
        if batch.exchanges.is_empty() {
            return Ok(());
        }
        // The shared host locks keep a rebuild or a fold of these hosts out until this commits.
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        lock_hosts_shared(&mut tx, batch.catalog.hosts.keys().map(String::as_str)).await?;
        // Host rows only change when a host, scheme or namespace is new to this process: their
        // counts are the sums of their endpoints'.
        let new_hosts = self.known_hosts.unknown(&batch.catalog);
        if !new_hosts.hosts.is_empty() {
            upsert_hosts(&mut tx, &new_hosts, false).await?;
        }
        let ids = count_endpoints(&mut tx, &batch.catalog).await?;
        let endpoint_ids: Vec<i64> = batch
            .keys
            .iter()
            .map(|key| ids.get(*key).copied().unwrap_or_default())
            .collect();
        let rows = copy::encode_exchanges(received_at, &batch.exchanges, &endpoint_ids, |i| {
            batch.is_whole(i)
        });
        copy_exchanges(&mut tx, &rows).await?;
        if !batch.summaries.is_empty() {
            insert_summaries(&mut tx, &batch.summaries).await?;
        }
        tx.commit().await?;
        self.known_hosts.remember(&new_hosts);
        Ok(())
    }

    async fn list_exchanges(
        &self,
        query: &ExchangeQuery,
    ) -> Result<Vec<StoredExchange>, StoreError> {
        let mut sql = QueryBuilder::new(format!(
            "select {EXCHANGE_COLUMNS}, {} from exchanges where true",
            super::RESOLVED_ENDPOINT
        ));
        if let Some(host) = &query.host {
            sql.push(" and host = ").push_bind(host);
        }
        if let Some(port) = query.port {
            sql.push(" and port = ").push_bind(i32::from(port));
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

    async fn exchange_hosts(&self) -> Result<Vec<ExchangeOrigin>, StoreError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "select distinct host, port::bigint, scheme from exchanges order by 1, 2, 3",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(super::exchange_origins(rows))
    }

    async fn list_hosts(&self) -> Result<Vec<HostRow>, StoreError> {
        let rows = sqlx::query(&format!("{HOST_SELECT} order by h.host"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_host).collect()
    }

    async fn host(&self, host: &str) -> Result<Option<HostRow>, StoreError> {
        let row = sqlx::query(&format!("{HOST_SELECT} where h.host = $1"))
            .bind(host)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_host).transpose()
    }

    async fn list_endpoints(&self, query: &EndpointQuery) -> Result<Vec<EndpointRow>, StoreError> {
        let mut sql = QueryBuilder::new(&format!(
            "select {ENDPOINT_ROW_COLUMNS} from endpoint_totals where host = "
        ));
        sql.push_bind(&query.host);
        if let Some(method) = &query.method {
            sql.push(" and method = ").push_bind(method);
        }
        if let Some(prefix) = &query.path_prefix {
            sql.push(" and path like ")
                .push_bind(super::like_prefix(prefix))
                .push(" escape '\\'");
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
        let added = sqlx::query_as("select id, host, template from endpoints where id > $1")
            .bind(since.endpoint)
            .fetch_all(&self.pool)
            .await?;
        let hosts = sqlx::query_as("select host, seq from catalog_changes where seq > $1")
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
            "select id, host, template from endpoints where host = any($1) order by host, id",
        )
        .bind(hosts)
        .fetch_all(&self.pool)
        .await?;
        Ok(super::group_templates(rows))
    }

    async fn host_rules(&self) -> Result<HashMap<String, HostRules>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("select host, rules::text from host_rules")
                .fetch_all(&self.pool)
                .await?;
        Ok(super::decode_rules(rows))
    }

    async fn put_host_rules(&self, host: &str, rules: &HostRules) -> Result<(), StoreError> {
        sqlx::query(
            "insert into host_rules (host, rules, updated_at) values ($1, $2::jsonb, now()) \
             on conflict (host) do update set rules = excluded.rules, updated_at = now()",
        )
        .bind(host)
        .bind(super::encode_rules(rules))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn fold_endpoints(&self, host: &str, folds: &[Fold]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        // Exclusive: the commits in flight for this host finish first, so the counts they add
        // to a folded endpoint are visible here and move with it.
        lock_host(&mut tx, host).await?;
        // The host's unsettled counts go into their endpoints first, so that they move with
        // them.
        lock_counts(&mut tx, true).await?;
        settle(&mut tx, Some(host)).await?;
        let mut folded = 0u64;
        for ((method, to), froms) in super::group_folds(folds) {
            let path = super::plain_template(&to);
            // One statement: the rows are deleted (locking them, and seeing any increment
            // committed meanwhile), their sum is added to the target, and their ids (and the
            // aliases and links that pointed at them) resolve to the target. Exchanges stay as
            // stored: O(endpoints), whatever the traffic behind them.
            let (n,): (i64,) = sqlx::query_as(&format!(
                "with moved as ( \
                   delete from endpoints \
                   where host = $1 and method = $2 and template = any($3) and template <> $4 \
                   returning * \
                 ), target as ( \
                   insert into endpoints (host, method, template, path, api, hits, first_seen, \
                     last_seen, status_codes, request_content_types, response_content_types, \
                     fields) \
                   select $1, $2, $4, $5, bool_or(api), sum(hits)::bigint, min(first_seen), \
                     max(last_seen), \
                     reconstructor_sum_counts(status_codes), \
                     reconstructor_sum_counts(request_content_types), \
                     reconstructor_sum_counts(response_content_types), max(fields) \
                   from moved having count(*) > 0 \
                   on conflict (host, method, template) do update set {} \
                   returning id \
                 ), aliased as ( \
                   insert into endpoint_aliases (alias_id, endpoint_id, host) \
                   select id, (select id from target), $1 from moved \
                   on conflict (alias_id) do update set endpoint_id = excluded.endpoint_id \
                   returning 1 \
                 ), repointed as ( \
                   update endpoint_aliases set endpoint_id = (select id from target) \
                   where endpoint_id in (select id from moved) \
                   returning 1 \
                 ), relinked as ( \
                   update exchange_links set endpoint_id = (select id from target) \
                   where endpoint_id in (select id from moved) \
                   returning 1 \
                 ) \
                 select (select count(*) from moved) + 0 * (select count(*) from aliased) \
                   + 0 * (select count(*) from repointed) + 0 * (select count(*) from relinked)",
                add_counts("endpoints", "excluded")
            ))
            .bind(host)
            .bind(&method)
            .bind(&froms)
            .bind(&to)
            .bind(&path)
            .fetch_one(&mut *tx)
            .await?;
            folded += n as u64;
        }
        stamp_host(&mut tx, host).await?;
        tx.commit().await?;
        Ok(folded)
    }

    async fn rebuild_host(&self, host: &str) -> Result<Box<dyn HostRebuild>, StoreError> {
        Ok(Box::new(PgRebuild::start(&self.pool, host).await?))
    }

    async fn host_summaries(&self, host: &str) -> Result<Vec<SummaryRow>, StoreError> {
        Ok(sqlx::query_as(
            "select id, method, template, summary from endpoint_summaries where host = $1 \
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
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        match replaced {
            Some(ids) => {
                sqlx::query("delete from endpoint_summaries where host = $1 and id = any($2)")
                    .bind(host)
                    .bind(ids)
                    .execute(&mut *tx)
                    .await?
            }
            None => {
                sqlx::query("delete from endpoint_summaries where host = $1")
                    .bind(host)
                    .execute(&mut *tx)
                    .await?
            }
        };
        insert_summaries(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_lead(&self) -> Result<Option<Leader>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(super::unreachable)?;
        let (locked,): (bool,) = sqlx::query_as("select pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        Ok(locked.then(|| Leader::Postgres(Some(conn))))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// The columns [`read_endpoint`] reads, from `endpoints` or `endpoint_totals`.
const ENDPOINT_ROW_COLUMNS: &str = "id, host, method, template, path, api, hits, first_seen, \
     last_seen, status_codes::text as status_codes, \
     request_content_types::text as request_content_types, \
     response_content_types::text as response_content_types, fields";

/// [`super::HOST_SELECT`] on Postgres: the endpoints and their `endpoint_counts` rows not yet
/// settled are each aggregated once and joined, rather than read through `endpoint_totals`, which
/// looks up and sums each endpoint's rows (the jsonb counts too) one endpoint at a time. The
/// discovery job lists the hosts every second, so that cost grew with the catalog (~12 ms per
/// listing at 1,400 endpoints, ~4× this form). The figures are the view's: the same sums, and
/// `least`/`greatest` ignore the NULLs of an endpoint without unsettled rows.
const HOST_SELECT: &str = "select h.host, h.hostname, h.port, h.schemes, h.namespaces, \
     s.exchanges, s.first_seen, s.last_seen, s.endpoints \
     from hosts h join (select e.host, \
       cast(sum(e.hits + coalesce(d.hits, 0)) as bigint) as exchanges, \
       min(least(e.first_seen, d.first_seen)) as first_seen, \
       max(greatest(e.last_seen, d.last_seen)) as last_seen, \
       sum(case when e.api or coalesce(d.api, false) then 1 else 0 end) as endpoints \
       from endpoints e left join (select endpoint_id, bool_or(api) as api, sum(hits) as hits, \
         min(first_seen) as first_seen, max(last_seen) as last_seen \
         from endpoint_counts group by endpoint_id) d on d.endpoint_id = e.id \
       group by e.host) s on s.host = h.host";

/// The advisory lock key of the discovery leader.
pub(crate) const LEADER_LOCK: i64 = 0x7265_636f_6e73_7401;

/// Seed of the per-host advisory lock keys (`hashtextextended(host, seed)`).
const HOST_LOCK_SEED: i64 = 0x7265_636f;

/// Ingest holds a shared lock per host of its batch; a rebuild of a host holds it exclusively.
async fn lock_hosts_shared<'a>(
    tx: &mut sqlx::PgConnection,
    hosts: impl Iterator<Item = &'a str>,
) -> Result<(), sqlx::Error> {
    let hosts: Vec<&str> = hosts.collect();
    sqlx::query(
        "select pg_advisory_xact_lock_shared(hashtextextended(h, $2)) from unnest($1::text[]) h",
    )
    .bind(&hosts)
    .bind(HOST_LOCK_SEED)
    .execute(tx)
    .await?;
    Ok(())
}

/// Takes a host's lock exclusively until the end of the transaction.
/// Marks a host whose templates changed other than by new endpoints, for the classifiers'
/// incremental refresh; the last statement of its transaction.
async fn stamp_host(tx: &mut sqlx::PgConnection, host: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into catalog_changes (host, seq) values ($1, nextval('catalog_changes_seq')) \
         on conflict (host) do update set seq = excluded.seq",
    )
    .bind(host)
    .execute(tx)
    .await?;
    Ok(())
}

async fn lock_host(tx: &mut sqlx::PgConnection, host: &str) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, $2))")
        .bind(host)
        .bind(HOST_LOCK_SEED)
        .execute(tx)
        .await?;
    Ok(())
}

/// The advisory lock key that settling counts, folds and rebuilds share: each of them moves
/// `endpoint_counts` rows, and ingest, which only appends them, never takes it.
const COUNTS_LOCK: i64 = 0x7265_636f_6e73_7402;

/// Adds the `endpoint_counts` rows of `host` (or of every host) to their endpoints and deletes
/// them; returns the rows settled. The caller holds [`COUNTS_LOCK`].
///
/// Without a host (the periodic settle), endpoints whose rows a commit holds are left for the
/// next round: waiting for them would make that commit's next rows skip the endpoints the settle
/// holds meanwhile. With a host (before a fold, under the host's lock) nothing holds them, and
/// every row is settled.
async fn settle(tx: &mut sqlx::PgConnection, host: Option<&str>) -> Result<u64, sqlx::Error> {
    let lock = if host.is_some() {
        "for update"
    } else {
        "for update skip locked"
    };
    let (settled,): (i64,) = sqlx::query_as(&format!(
        "with free as ( \
           select id from endpoints where id in (select endpoint_id from endpoint_counts \
             where $1::text is null or host = $1) {lock} \
         ), d as ( \
           delete from endpoint_counts where endpoint_id in (select id from free) \
           returning * \
         ), s as ( \
           select endpoint_id, bool_or(api) as api, sum(hits)::bigint as hits, \
             min(first_seen) as first_seen, max(last_seen) as last_seen, \
             reconstructor_sum_counts(status_codes) as status_codes, \
             reconstructor_sum_counts(request_content_types) as request_content_types, \
             reconstructor_sum_counts(response_content_types) as response_content_types, \
             max(fields) as fields \
           from d group by endpoint_id \
         ), u as ( \
           update endpoints e set {} from s where e.id = s.endpoint_id \
           returning 1 \
         ) \
         select (select count(*) from d) + 0 * (select count(*) from u)",
        add_counts("e", "s")
    ))
    .bind(host)
    .fetch_one(tx)
    .await?;
    Ok(settled as u64)
}

/// Takes [`COUNTS_LOCK`] until the end of the transaction; `false` when `wait` is off and
/// another transaction holds it.
async fn lock_counts(tx: &mut sqlx::PgConnection, wait: bool) -> Result<bool, sqlx::Error> {
    if wait {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(COUNTS_LOCK)
            .execute(tx)
            .await?;
        return Ok(true);
    }
    let (locked,): (bool,) = sqlx::query_as("select pg_try_advisory_xact_lock($1)")
        .bind(COUNTS_LOCK)
        .fetch_one(tx)
        .await?;
    Ok(locked)
}

/// Writes the batch's hosts: their schemes and namespaces are added to what is stored (or,
/// with `replace`, replace it).
async fn upsert_hosts(
    tx: &mut sqlx::PgConnection,
    catalog: &CatalogBatch,
    replace: bool,
) -> Result<(), sqlx::Error> {
    let mut keys = Vec::new();
    let mut hostnames = Vec::new();
    let mut ports = Vec::new();
    let mut schemes = Vec::new();
    let mut namespaces = Vec::new();
    for (key, h) in &catalog.hosts {
        keys.push(key.as_str());
        hostnames.push(h.hostname.as_str());
        ports.push(i32::from(h.port));
        schemes.push(serde_json::to_string(&h.schemes).unwrap_or_default());
        namespaces.push(serde_json::to_string(&h.namespaces).unwrap_or_default());
    }
    let update = if replace {
        "schemes = excluded.schemes, namespaces = excluded.namespaces"
    } else {
        "schemes = array(select distinct s from unnest(hosts.schemes || excluded.schemes) s \
           order by s), \
         namespaces = array(select distinct s from unnest(hosts.namespaces || \
           excluded.namespaces) s order by s)"
    };
    sqlx::query(&format!(
        "insert into hosts (host, hostname, port, schemes, namespaces) \
         select k, n, p, array(select jsonb_array_elements_text(s::jsonb)), \
           array(select jsonb_array_elements_text(ns::jsonb)) \
         from unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[]) \
           as r(k, n, p, s, ns) \
         on conflict (host) do update set {update}"
    ))
    .bind(&keys)
    .bind(&hostnames)
    .bind(&ports)
    .bind(&schemes)
    .bind(&namespaces)
    .execute(tx)
    .await?;
    Ok(())
}

/// Upserts the endpoint aggregates in key order, adding to the rows there; returns the id of
/// each. For rebuilds, which hold the host's lock: ingest uses [`count_endpoints`].
async fn upsert_endpoints(
    tx: &mut sqlx::PgConnection,
    catalog: &CatalogBatch,
) -> Result<HashMap<EndpointKey, i64>, sqlx::Error> {
    let columns = EndpointColumns::of(catalog.endpoints.iter(), Paths::Plain);
    let conflict = format!("do update set {}", add_counts("endpoints", "excluded"));
    insert_endpoints(tx, &columns, &conflict).await
}

/// Inserts the endpoints of `columns` in key order, `on conflict (host, method, template)`
/// doing `conflict`; returns the id of each row written.
async fn insert_endpoints(
    tx: &mut sqlx::PgConnection,
    columns: &EndpointColumns<'_>,
    conflict: &str,
) -> Result<HashMap<EndpointKey, i64>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String)> = columns
        .bind(sqlx::query_as(&format!(
            "insert into endpoints (host, method, template, path, api, hits, first_seen, \
               last_seen, status_codes, request_content_types, response_content_types, fields) \
             select h, m, t, p, a, n, f, l, sc::jsonb, rq::jsonb, rs::jsonb, fi \
             from {ENDPOINT_ROWS} order by o \
             on conflict (host, method, template) {conflict} \
             returning id, host, method, template"
        )))
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, host, method, template)| {
            (
                EndpointKey {
                    host,
                    method,
                    template,
                },
                id,
            )
        })
        .collect())
}

/// The `set` assignments that add the counts of `from` (a row with the endpoint table's count
/// columns) to the endpoint row `to`.
fn add_counts(to: &str, from: &str) -> String {
    format!(
        "api = {to}.api or {from}.api, \
         hits = {to}.hits + {from}.hits, \
         first_seen = least({to}.first_seen, {from}.first_seen), \
         last_seen = greatest({to}.last_seen, {from}.last_seen), \
         status_codes = reconstructor_add_counts({to}.status_codes, {from}.status_codes), \
         request_content_types = reconstructor_add_counts({to}.request_content_types, \
           {from}.request_content_types), \
         response_content_types = reconstructor_add_counts({to}.response_content_types, \
           {from}.response_content_types), \
         fields = coalesce({to}.fields, {from}.fields)"
    )
}

/// Whether the statement an [`EndpointColumns`] is bound to reads the plain templates (`p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paths {
    /// It inserts endpoints: each row's plain template is computed (the annotated one parsed).
    Plain,
    /// It only counts into rows that exist: `p` is bound as an empty array, which `unnest`
    /// pads with NULLs, and no template is parsed for it (one per endpoint and commit).
    Unused,
}

/// A batch's endpoint aggregates as the column arrays the statements below bind, in key order.
struct EndpointColumns<'a> {
    keys: Vec<&'a EndpointKey>,
    hosts: Vec<&'a str>,
    methods: Vec<&'a str>,
    templates: Vec<&'a str>,
    paths: Vec<String>,
    apis: Vec<bool>,
    hits: Vec<i64>,
    firsts: Vec<DateTime<Utc>>,
    lasts: Vec<DateTime<Utc>>,
    statuses: Vec<String>,
    requests: Vec<String>,
    responses: Vec<String>,
    fields: Vec<Option<i64>>,
    /// The key and count of each count object that has exactly one key (NULL otherwise), for
    /// [`add_counts_fast`]: statuses, request media types, response media types.
    single_keys: [Vec<Option<String>>; 3],
    single_counts: [Vec<Option<i64>>; 3],
}

impl<'a> EndpointColumns<'a> {
    fn of(
        endpoints: impl Iterator<Item = (&'a EndpointKey, &'a EndpointDelta)>,
        paths: Paths,
    ) -> Self {
        let (low, _) = endpoints.size_hint();
        let mut c = EndpointColumns {
            keys: Vec::with_capacity(low),
            hosts: Vec::with_capacity(low),
            methods: Vec::with_capacity(low),
            templates: Vec::with_capacity(low),
            paths: Vec::with_capacity(if paths == Paths::Plain { low } else { 0 }),
            apis: Vec::with_capacity(low),
            hits: Vec::with_capacity(low),
            firsts: Vec::with_capacity(low),
            lasts: Vec::with_capacity(low),
            statuses: Vec::with_capacity(low),
            requests: Vec::with_capacity(low),
            responses: Vec::with_capacity(low),
            fields: Vec::with_capacity(low),
            single_keys: Default::default(),
            single_counts: Default::default(),
        };
        for (key, d) in endpoints {
            let singles = [
                single(&d.status_codes),
                single(&d.request_types),
                single(&d.response_types),
            ];
            for (i, s) in singles.into_iter().enumerate() {
                let (key, count) = s.unzip();
                c.single_keys[i].push(key);
                c.single_counts[i].push(count);
            }
            c.keys.push(key);
            c.hosts.push(key.host.as_str());
            c.methods.push(key.method.as_str());
            c.templates.push(key.template.as_str());
            if paths == Paths::Plain {
                c.paths.push(super::plain_template(&key.template));
            }
            c.apis.push(d.api);
            c.hits.push(d.hits as i64);
            c.firsts.push(d.first_seen);
            c.lasts.push(d.last_seen);
            c.statuses.push(super::counts_json(&d.status_codes));
            c.requests.push(super::counts_json(&d.request_types));
            c.responses.push(super::counts_json(&d.response_types));
            c.fields.push(d.fields);
        }
        c
    }

    /// Binds the arrays as `$1`…`$12`, in the order of [`ENDPOINT_ROWS`].
    fn bind<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(&self.hosts)
            .bind(&self.methods)
            .bind(&self.templates)
            .bind(&self.paths)
            .bind(&self.apis)
            .bind(&self.hits)
            .bind(&self.firsts)
            .bind(&self.lasts)
            .bind(&self.statuses)
            .bind(&self.requests)
            .bind(&self.responses)
            .bind(&self.fields)
    }

    /// [`EndpointColumns::bind`], then the single keys and counts as `$13`…`$18`, in the order
    /// of [`COUNTED_ROWS`].
    fn bind_counted<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        let mut query = self.bind(query);
        for i in 0..3 {
            query = query
                .bind(&self.single_keys[i])
                .bind(&self.single_counts[i]);
        }
        query
    }
}

/// The key and count of a count object with exactly one key.
fn single<K: ToString>(counts: &BTreeMap<K, u64>) -> Option<(String, i64)> {
    let mut entries = counts.iter();
    match (entries.next(), entries.next()) {
        (Some((key, count)), None) => Some((key.to_string(), *count as i64)),
        _ => None,
    }
}

/// The rows bound by [`EndpointColumns::bind`], with `o` their position in the batch.
const ENDPOINT_ROWS: &str = "unnest($1::text[], $2::text[], $3::text[], $4::text[], \
     $5::bool[], $6::int8[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], \
     $11::text[], $12::int8[]) with ordinality as r(h, m, t, p, a, n, f, l, sc, rq, rs, fi, o)";

/// [`ENDPOINT_ROWS`] with the single keys and counts of [`EndpointColumns::bind_counted`]:
/// `sk`, `sn` (statuses), `qk`, `qn` (request media types), `pk`, `pn` (response media types).
const COUNTED_ROWS: &str = "unnest($1::text[], $2::text[], $3::text[], $4::text[], \
     $5::bool[], $6::int8[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], \
     $11::text[], $12::int8[], $13::text[], $14::int8[], $15::text[], $16::int8[], $17::text[], \
     $18::int8[]) with ordinality \
     as r(h, m, t, p, a, n, f, l, sc, rq, rs, fi, sk, sn, qk, qn, pk, pn, o)";

/// [`add_counts`] for a row of [`COUNTED_ROWS`]: a count object of one key (nearly every
/// endpoint of a commit counts one exchange) is added with built-in `jsonb_set`, an empty one
/// leaves the column as it is, and only the others call `reconstructor_add_counts` (PL/pgSQL,
/// whose call and key loop cost more than the rest of the row's update).
fn add_counts_fast(to: &str, from: &str) -> String {
    let add = |column: &str, key: &str, count: &str| {
        format!(
            "{column} = case when {from}.{key} is not null \
               then jsonb_set({to}.{column}, array[{from}.{key}], \
                 to_jsonb(coalesce(({to}.{column} ->> {from}.{key})::bigint, 0) + {from}.{count})) \
             when {from}.{column} = '{{}}'::jsonb then {to}.{column} \
             else reconstructor_add_counts({to}.{column}, {from}.{column}) end"
        )
    };
    format!(
        "api = {to}.api or {from}.api, \
         hits = {to}.hits + {from}.hits, \
         first_seen = least({to}.first_seen, {from}.first_seen), \
         last_seen = greatest({to}.last_seen, {from}.last_seen), \
         {}, {}, {}, \
         fields = coalesce({to}.fields, {from}.fields)",
        add("status_codes", "sk", "sn"),
        add("request_content_types", "qk", "qn"),
        add("response_content_types", "pk", "pn"),
    )
}

/// Adds a batch's endpoint aggregates to the catalog without ever waiting for another
/// transaction's lock on an endpoint row: known endpoints whose rows are free are updated (and
/// stay locked until this commits); those another commit holds get an `endpoint_counts` row,
/// settled later; new ones are inserted. Returns the id of each.
///
/// A plain upsert waits for every row another commit holds, so that two commits counting one hot
/// endpoint (two writers, two replicas) ran one after the other, each waiting for the other's
/// fsync. Here only commits creating the same endpoint wait for each other, once; they insert in
/// key order, so they cannot deadlock.
///
/// The ids are keyed by the batch's own keys, borrowed: a commit counts dozens of endpoints,
/// and copying each key (three strings) only to look it up once is most of what this costs
/// the server.
async fn count_endpoints<'a>(
    tx: &mut sqlx::PgConnection,
    catalog: &'a CatalogBatch,
) -> Result<HashMap<&'a EndpointKey, i64>, sqlx::Error> {
    let mut ids: HashMap<&EndpointKey, i64> = HashMap::with_capacity(catalog.endpoints.len());
    let mut pending: Vec<(&EndpointKey, &EndpointDelta)> = catalog.endpoints.iter().collect();
    // Free rows are updated: the usual case, one statement. The `= any(array(…))` condition
    // makes the update reach its rows through the primary key: with the join alone, the planner
    // (which takes the batch for 10 rows) scanned the whole endpoint table on every commit.
    let columns = EndpointColumns::of(pending.iter().copied(), Paths::Unused);
    let updated: Vec<(i64, i64)> = columns
        .bind_counted(sqlx::query_as(&format!(
            "with k as (select (select e.id from endpoints e \
               where e.host = r.h and e.method = r.m and e.template = r.t \
               for update skip locked) as id, o, a as api, n as hits, f as first_seen, \
               l as last_seen, sc::jsonb as status_codes, rq::jsonb as request_content_types, \
               rs::jsonb as response_content_types, fi as fields, sk, sn, qk, qn, pk, pn \
               from {COUNTED_ROWS}) \
             update endpoints e set {} from k \
             where e.id = k.id and e.id = any(array(select id from k)) \
             returning e.id, k.o",
            add_counts_fast("e", "k")
        )))
        .fetch_all(&mut *tx)
        .await?;
    for (id, o) in updated {
        ids.insert(columns.keys[(o - 1) as usize], id);
    }
    pending.retain(|(key, _)| !ids.contains_key(*key));
    // Rows held by another commit are counted beside them; new endpoints are inserted, and one
    // that lost a race with a commit creating it is counted on the next round.
    for _ in 0..3 {
        if pending.is_empty() {
            return Ok(ids);
        }
        let columns = EndpointColumns::of(pending.iter().copied(), Paths::Unused);
        let known: Vec<(i64, i64)> = columns
            .bind(sqlx::query_as(&format!(
                "with k as (select (select e.id from endpoints e \
                   where e.host = r.h and e.method = r.m and e.template = r.t) as id, r.* \
                   from {ENDPOINT_ROWS}), \
                 counted as (insert into endpoint_counts (endpoint_id, host, api, hits, \
                   first_seen, last_seen, status_codes, request_content_types, \
                   response_content_types, fields) \
                   select id, h, a, n, f, l, sc::jsonb, rq::jsonb, rs::jsonb, fi from k \
                   where id is not null) \
                 select id, o from k where id is not null"
            )))
            .fetch_all(&mut *tx)
            .await?;
        for (id, o) in known {
            ids.insert(columns.keys[(o - 1) as usize], id);
        }
        pending.retain(|(key, _)| !ids.contains_key(*key));
        if pending.is_empty() {
            return Ok(ids);
        }
        let columns = EndpointColumns::of(pending.iter().copied(), Paths::Plain);
        for (key, id) in insert_endpoints(tx, &columns, "do nothing").await? {
            if let Some((key, _)) = catalog.endpoints.get_key_value(&key) {
                ids.insert(key, id);
            }
        }
        pending.retain(|(key, _)| !ids.contains_key(*key));
    }
    if pending.is_empty() {
        return Ok(ids);
    }
    // Only an endpoint deleted after each insert lost its race, three times over, gets here.
    Err(sqlx::Error::Protocol(format!(
        "{} endpoints could be neither counted nor created",
        pending.len()
    )))
}

async fn insert_summaries(
    conn: &mut sqlx::PgConnection,
    rows: &[(EndpointKey, String)],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(1_000) {
        let hosts: Vec<&str> = chunk.iter().map(|(k, _)| k.host.as_str()).collect();
        let methods: Vec<&str> = chunk.iter().map(|(k, _)| k.method.as_str()).collect();
        let templates: Vec<&str> = chunk.iter().map(|(k, _)| k.template.as_str()).collect();
        let summaries: Vec<&str> = chunk.iter().map(|(_, s)| s.as_str()).collect();
        sqlx::query(
            "insert into endpoint_summaries (host, method, template, summary) \
             select * from unnest($1::text[], $2::text[], $3::text[], $4::text[])",
        )
        .bind(&hosts)
        .bind(&methods)
        .bind(&templates)
        .bind(&summaries)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The columns of an exchange row, but its endpoint.
const EXCHANGE_COLUMNS: &str = "id, received_at, observed_at, source_format, scheme, host, \
     port, method, raw_path, path, query, status, request_headers::text as request_headers, \
     request_body, request_body_truncated, response_headers::text as response_headers, \
     response_body, response_body_truncated, client_address, producer::text as producer, whole, \
     request_body_size, response_body_size, request_content_type, response_content_type";

/// A host rebuild: reads without a lock up to `through`, then one transaction that holds the
/// host's lock.
#[derive(Debug)]
struct PgRebuild {
    pool: PgPool,
    tx: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
    host: String,
    hostname: String,
    /// The highest id of the host's exchanges when the rebuild began, with no commit of the host
    /// in flight: every exchange of the host up to it is committed, every later one is above.
    through: i64,
}

impl PgRebuild {
    async fn start(pool: &PgPool, host: &str) -> Result<Self, StoreError> {
        let (hostname, _) = crate::model::catalog::split_host_key(host);
        let through = Self::mark(pool, host, hostname).await?;
        Ok(PgRebuild {
            pool: pool.clone(),
            tx: None,
            host: host.to_owned(),
            hostname: hostname.to_owned(),
            through,
        })
    }

    /// The highest id of the host's exchanges, read under the host's lock (for as long as the
    /// commits in flight take): every exchange of the host up to it is committed.
    async fn mark(pool: &PgPool, host: &str, hostname: &str) -> Result<i64, StoreError> {
        let mut tx = pool.begin().await.map_err(super::unreachable)?;
        lock_host(&mut tx, host).await?;
        let (through,): (i64,) =
            sqlx::query_as("select coalesce(max(id), 0) from exchanges where host = $1")
                .bind(hostname)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(through)
    }

    fn tx(&mut self) -> Result<&mut sqlx::PgConnection, StoreError> {
        self.tx
            .as_deref_mut()
            .ok_or_else(|| StoreError::Other(sqlx::Error::Protocol("rebuild not locked".into())))
    }
}

#[async_trait]
impl HostRebuild for PgRebuild {
    async fn scan(
        &mut self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<StoredExchange>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {EXCHANGE_COLUMNS}, endpoint_id from exchanges \
             where host = $1 and id <= $2 and id < $3 order by id desc limit $4"
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
        let through = Self::mark(&self.pool, &self.host, &self.hostname).await?;
        let rows = sqlx::query(&format!(
            "select {EXCHANGE_COLUMNS}, endpoint_id from exchanges \
             where host = $1 and id > $2 and id <= $3 order by id desc"
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
        let mut tx = self.pool.begin().await.map_err(super::unreachable)?;
        lock_host(&mut tx, &self.host).await?;
        let rows = sqlx::query(&format!(
            "select {EXCHANGE_COLUMNS}, endpoint_id from exchanges \
             where host = $1 and id > $2 order by id desc"
        ))
        .bind(&self.hostname)
        .bind(self.through)
        .fetch_all(&mut *tx)
        .await?;
        self.tx = Some(tx);
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
        let tx = self.tx()?;
        // Pending counts are settled into the rows first, so that a row's counts are whole when
        // compared with the new catalog's.
        lock_counts(tx, true).await?;
        settle(tx, Some(&host)).await?;
        let current = sqlx::query(&format!(
            "select {ENDPOINT_ROW_COLUMNS} from endpoints where host = $1"
        ))
        .bind(&host)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(read_endpoint)
        .collect::<Result<Vec<_>, _>>()?;
        let diff = super::RebuildDiff::of(&current, catalog);
        sqlx::query("delete from endpoint_counts where endpoint_id = any($1)")
            .bind(&diff.deleted)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from endpoints where id = any($1)")
            .bind(&diff.deleted)
            .execute(&mut *tx)
            .await?;
        // What the host's exchanges resolve through is written again below.
        for table in ["endpoint_aliases", "exchange_links"] {
            sqlx::query(&format!("delete from {table} where host = $1"))
                .bind(&host)
                .execute(&mut *tx)
                .await?;
        }
        // A host's counts are those of its endpoints: a host without traffic needs no row update.
        if !catalog.hosts.is_empty() {
            upsert_hosts(tx, catalog, true).await?;
        }
        let inserted = upsert_endpoints(tx, &diff.inserted).await?;
        for (table, key_column, pairs, skip_self) in [
            ("endpoint_aliases", "alias_id", aliases, true),
            ("exchange_links", "exchange_id", links, false),
        ] {
            let pairs = diff.resolve(&inserted, pairs, skip_self);
            for chunk in pairs.chunks(10_000) {
                let (from, to): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
                sqlx::query(&format!(
                    "insert into {table} ({key_column}, endpoint_id, host) \
                     select f, t, $3 from unnest($1::int8[], $2::int8[]) as v(f, t)"
                ))
                .bind(&from)
                .bind(&to)
                .bind(&host)
                .execute(&mut *tx)
                .await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        let host = self.host.clone();
        stamp_host(self.tx()?, &host).await?;
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        Ok(())
    }
}

fn read_host(row: &PgRow) -> Result<HostRow, StoreError> {
    Ok(HostRow {
        host: row.try_get("host")?,
        hostname: row.try_get("hostname")?,
        port: u16::try_from(row.try_get::<i32, _>("port")?).unwrap_or_default(),
        schemes: row.try_get("schemes")?,
        namespaces: row.try_get("namespaces")?,
        endpoints: row.try_get::<i64, _>("endpoints")? as u64,
        exchanges: row.try_get::<i64, _>("exchanges")? as u64,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
    })
}

fn read_endpoint(row: &PgRow) -> Result<EndpointRow, StoreError> {
    Ok(EndpointRow {
        id: row.try_get("id")?,
        host: row.try_get("host")?,
        method: row.try_get("method")?,
        template: row.try_get("template")?,
        path: row.try_get("path")?,
        api: row.try_get("api")?,
        hits: row.try_get::<i64, _>("hits")? as u64,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        status_codes: super::parse_status_counts(row.try_get("status_codes")?),
        request_types: super::parse_counts(row.try_get("request_content_types")?),
        response_types: super::parse_counts(row.try_get("response_content_types")?),
        fields: row.try_get("fields")?,
    })
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
        endpoint_id: row.try_get("endpoint_id")?,
        whole: row.try_get("whole")?,
        request_content_type: row.try_get("request_content_type")?,
        response_content_type: row.try_get("response_content_type")?,
        request_body_size: row
            .try_get::<Option<i32>, _>("request_body_size")?
            .map(i64::from),
        response_body_size: row
            .try_get::<Option<i32>, _>("response_body_size")?
            .map(i64::from),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_partitions_end_at_the_next_midnight_utc() {
        let end = super::partition_end("exchanges_20261231").unwrap();
        assert_eq!(end.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(super::partition_end("exchanges_default"), None);
        assert_eq!(super::partition_end("exchanges_2026123"), None);
        assert_eq!(super::partition_end("endpoints"), None);
    }
}
