//! [`ChangeStore`] on Postgres. Deliveries are claimed with `for update skip locked`, so any
//! number of replicas deliver concurrently and each due delivery goes to exactly one of them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::StoreError;
use super::changes::{
    AttemptOutcome, ChangeSet, ChangeStore, DeliveryQuery, DeliveryRow, DeliveryStatus,
    ReferenceRow, RevisionRow, lease_until,
};
use super::postgres::PgStore;

const DELIVERY_COLUMNS: &str = "id, message_id, event_type, host, url, payload, status, attempts, \
     next_attempt_at, last_status, last_error, created_at, delivered_at";

fn revision(row: &PgRow) -> Result<RevisionRow, sqlx::Error> {
    Ok(RevisionRow {
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        surface_hash: row.try_get("surface_hash")?,
        summary: row.try_get("summary")?,
    })
}

fn delivery(row: &PgRow) -> Result<DeliveryRow, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(DeliveryRow {
        id: row.try_get("id")?,
        message_id: row.try_get("message_id")?,
        event_type: row.try_get("event_type")?,
        host: row.try_get("host")?,
        url: row.try_get("url")?,
        payload: row.try_get("payload")?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: row.try_get::<i32, _>("attempts")?.max(0) as u32,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_status: row
            .try_get::<Option<i32>, _>("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
}

#[async_trait]
impl ChangeStore for PgStore {
    async fn list_revisions(&self, host: &str) -> Result<Vec<RevisionRow>, StoreError> {
        let rows = sqlx::query(
            "select revision, created_at, surface_hash, summary from spec_revisions \
             where host = $1 order by revision",
        )
        .bind(host)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(revision).collect::<Result<_, _>>()?)
    }

    async fn latest_revision(&self, host: &str) -> Result<Option<RevisionRow>, StoreError> {
        let row = sqlx::query(
            "select revision, created_at, surface_hash, summary from spec_revisions \
             where host = $1 order by revision desc limit 1",
        )
        .bind(host)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(revision).transpose()?)
    }

    async fn revision_document(
        &self,
        host: &str,
        revision: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar(
            "select document from spec_revisions where host = $1 and revision = $2",
        )
        .bind(host)
        .bind(revision)
        .fetch_optional(self.pool())
        .await?)
    }

    async fn record_changes(
        &self,
        host: &str,
        at: DateTime<Utc>,
        changes: &ChangeSet,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool().begin().await.map_err(super::unreachable)?;
        let mut number = None;
        if let Some(new) = &changes.revision {
            let n: i64 = sqlx::query_scalar(
                "insert into spec_revisions (host, revision, created_at, surface_hash, summary, document) \
                 select $1, coalesce(max(revision), 0) + 1, $2, $3, $4, $5 from spec_revisions where host = $1 \
                 returning revision",
            )
            .bind(host)
            .bind(at)
            .bind(&new.surface_hash)
            .bind(&new.summary)
            .bind(&new.document)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("delete from spec_revisions where host = $1 and revision <= $2")
                .bind(host)
                .bind(n - i64::from(new.keep.max(1)))
                .execute(&mut *tx)
                .await?;
            number = Some(n);
        }
        for (kind, mark) in &changes.marks {
            sqlx::query(
                "insert into change_marks (host, kind, mark, created_at) values ($1, $2, $3, $4) \
                 on conflict do nothing",
            )
            .bind(host)
            .bind(kind)
            .bind(mark)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        for event in &changes.events {
            for url in &event.urls {
                sqlx::query(
                    "insert into webhook_deliveries \
                     (message_id, event_type, host, url, payload, next_attempt_at, created_at) \
                     values ($1, $2, $3, $4, $5, $6, $6) on conflict do nothing",
                )
                .bind(&event.message_id)
                .bind(&event.event_type)
                .bind(host)
                .bind(url)
                .bind(&event.payload)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(number)
    }

    async fn marks(&self, host: &str, kind: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("select mark from change_marks where host = $1 and kind = $2")
                .bind(host)
                .bind(kind)
                .fetch_all(self.pool())
                .await?,
        )
    }

    async fn put_reference(&self, host: &str, reference: &ReferenceRow) -> Result<(), StoreError> {
        sqlx::query(
            "insert into reference_specs (host, document, openapi, sha256, uploaded_at) \
             values ($1, $2, $3, $4, $5) on conflict (host) do update set \
             document = excluded.document, openapi = excluded.openapi, sha256 = excluded.sha256, \
             uploaded_at = excluded.uploaded_at",
        )
        .bind(host)
        .bind(&reference.document)
        .bind(&reference.openapi)
        .bind(&reference.sha256)
        .bind(reference.uploaded_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn reference(&self, host: &str) -> Result<Option<ReferenceRow>, StoreError> {
        let row = sqlx::query(
            "select document, openapi, sha256, uploaded_at from reference_specs where host = $1",
        )
        .bind(host)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ReferenceRow {
            document: row.try_get("document")?,
            openapi: row.try_get("openapi")?,
            sha256: row.try_get("sha256")?,
            uploaded_at: row.try_get("uploaded_at")?,
        }))
    }

    async fn delete_reference(&self, host: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("delete from reference_specs where host = $1")
            .bind(host)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!(
            "update webhook_deliveries set locked_until = $2, attempts = attempts + 1 \
             where id in (select id from webhook_deliveries where status = 'pending' \
               and next_attempt_at <= $1 and (locked_until is null or locked_until <= $1) \
               order by next_attempt_at, id limit $3 for update skip locked) \
             returning {DELIVERY_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(lease_until(now, lease))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        let mut claimed: Vec<DeliveryRow> = rows.iter().map(delivery).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn finish_delivery(
        &self,
        id: i64,
        now: DateTime<Utc>,
        outcome: &AttemptOutcome,
    ) -> Result<(), StoreError> {
        let query = match outcome {
            AttemptOutcome::Delivered(status) => sqlx::query(
                "update webhook_deliveries set status = 'delivered', delivered_at = $2, \
                 last_status = $3, last_error = null, locked_until = null where id = $1",
            )
            .bind(id)
            .bind(now)
            .bind(i32::from(*status)),
            AttemptOutcome::Retry { at, status, error } => sqlx::query(
                "update webhook_deliveries set next_attempt_at = $2, last_status = $3, \
                 last_error = $4, locked_until = null where id = $1",
            )
            .bind(id)
            .bind(*at)
            .bind(status.map(i32::from))
            .bind(error),
            AttemptOutcome::GiveUp { status, error } => sqlx::query(
                "update webhook_deliveries set status = 'failed', last_status = $2, \
                 last_error = $3, locked_until = null where id = $1",
            )
            .bind(id)
            .bind(status.map(i32::from))
            .bind(error),
        };
        query.execute(self.pool()).await?;
        Ok(())
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<DeliveryRow>, StoreError> {
        let mut sql = sqlx::QueryBuilder::new(format!(
            "select {DELIVERY_COLUMNS} from webhook_deliveries where true"
        ));
        if let Some(status) = query.status {
            sql.push(" and status = ").push_bind(status.as_str());
        }
        if let Some(host) = &query.host {
            sql.push(" and host = ").push_bind(host.clone());
        }
        if let Some(before) = query.before {
            sql.push(" and id < ").push_bind(before);
        }
        sql.push(" order by id desc limit ")
            .push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(self.pool()).await?;
        Ok(rows.iter().map(delivery).collect::<Result<_, _>>()?)
    }

    async fn delivery_counts(&self) -> Result<Vec<(DeliveryStatus, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "select status, count(*) from webhook_deliveries group by status order by status",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(s, n)| Some((DeliveryStatus::parse(&s)?, n.max(0) as u64)))
            .collect())
    }
}
