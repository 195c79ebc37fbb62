//! Storage for change tracking: spec revisions, reference specs, announced findings and the
//! webhook outbox. Kept beside [`super::Store`] as a trait of its own, reached through
//! [`super::Store::changes`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;

/// One recorded revision of a host's reconstructed document (without the document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevisionRow {
    /// 1, 2, 3… per host.
    pub revision: i64,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// SHA-256 (hex) of the material surface of the document.
    pub surface_hash: String,
    /// Counts of operations added, removed and changed against the previous revision (JSON).
    #[serde(skip)]
    pub summary: String,
}

/// A revision to record.
#[derive(Debug, Clone)]
pub struct NewRevision {
    /// SHA-256 (hex) of the material surface.
    pub surface_hash: String,
    /// Counts against the previous revision (JSON).
    pub summary: String,
    /// The rendered document, JSON compressed with zstd.
    pub document: Vec<u8>,
    /// Older revisions beyond this many are deleted in the same transaction.
    pub keep: u32,
}

/// The reference spec of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRow {
    /// The document as JSON text.
    pub document: String,
    /// Its `openapi` version field.
    pub openapi: String,
    /// SHA-256 (hex) of the uploaded bytes.
    pub sha256: String,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

/// An event for the outbox, fanned out to each matching subscription URL.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    /// The `webhook-id` of every delivery of this event.
    pub message_id: String,
    /// `endpoint.discovered`, `spec.revised` or `drift.detected`.
    pub event_type: String,
    /// The JSON body sent.
    pub payload: String,
    /// The subscription URLs that receive it.
    pub urls: Vec<String>,
}

/// Everything one change writes, atomically: the revision (if any), the findings now announced,
/// and the outbox rows announcing them.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// A new revision of the host's document.
    pub revision: Option<NewRevision>,
    /// `(kind, mark)` pairs now announced.
    pub marks: Vec<(String, String)>,
    /// Events to deliver.
    pub events: Vec<OutboxEvent>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet; retried when due.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Gave up after the last attempt.
    Failed,
}

impl DeliveryStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// From the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One delivery of one event to one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    /// Row id.
    pub id: i64,
    /// The `webhook-id`.
    pub message_id: String,
    /// The event type.
    pub event_type: String,
    /// The host the event is about.
    pub host: String,
    /// The receiver.
    pub url: String,
    /// The body sent.
    #[serde(skip)]
    pub payload: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made (including one in flight).
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// The receiver's last HTTP status.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the event was recorded.
    pub created_at: DateTime<Utc>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Accepted with this status.
    Delivered(u16),
    /// Failed; try again at the given time.
    Retry {
        /// When.
        at: DateTime<Utc>,
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// Failed for the last time.
    GiveUp {
        /// The receiver's status, if it answered.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
}

/// Filters for [`ChangeStore::list_deliveries`].
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only events about this host.
    pub host: Option<String>,
    /// Rows with a smaller id (newest first).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Change-tracking storage; both backends implement it.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Revisions of a host, oldest first.
    async fn list_revisions(&self, host: &str) -> Result<Vec<RevisionRow>, StoreError>;

    /// The newest revision of a host.
    async fn latest_revision(&self, host: &str) -> Result<Option<RevisionRow>, StoreError>;

    /// The compressed document of one revision.
    async fn revision_document(
        &self,
        host: &str,
        revision: i64,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Writes a change set in one transaction; returns the number of the new revision, if any.
    async fn record_changes(
        &self,
        host: &str,
        at: DateTime<Utc>,
        changes: &ChangeSet,
    ) -> Result<Option<i64>, StoreError>;

    /// The marks of one kind already recorded for a host.
    async fn marks(&self, host: &str, kind: &str) -> Result<Vec<String>, StoreError>;

    /// Stores (replaces) the reference spec of a host.
    async fn put_reference(&self, host: &str, reference: &ReferenceRow) -> Result<(), StoreError>;

    /// The reference spec of a host.
    async fn reference(&self, host: &str) -> Result<Option<ReferenceRow>, StoreError>;

    /// Removes the reference spec of a host; false when there was none.
    async fn delete_reference(&self, host: &str) -> Result<bool, StoreError>;

    /// Takes up to `limit` due pending deliveries for `lease`: no other caller gets them until
    /// the lease ends (then they are due again, so a crashed deliverer loses nothing). Each
    /// claim counts as an attempt.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, StoreError>;

    /// Records the outcome of an attempt.
    async fn finish_delivery(
        &self,
        id: i64,
        now: DateTime<Utc>,
        outcome: &AttemptOutcome,
    ) -> Result<(), StoreError>;

    /// Deliveries, newest first.
    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<DeliveryRow>, StoreError>;

    /// Deliveries per status.
    async fn delivery_counts(&self) -> Result<Vec<(DeliveryStatus, u64)>, StoreError>;
}

/// Keeps a lease within what both backends can represent.
pub(crate) fn lease_until(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1))
}
